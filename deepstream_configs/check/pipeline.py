"""`taostream check APP` on a `taostream pipeline` folder: its files against pipeline.json, the bundles
it references against their manifests (and each bundle's calibration cache against its model, as `check
BUNDLE` judges it), then its deepstream-app config(s), which pull in every GIE's nvinfer config, the
tracker YAML and the label files (check_app)."""

from __future__ import annotations

import json
from pathlib import Path

from taostream.deepstream_configs.bundle.manifest import MANIFEST_FILE, manifest_or_none
from taostream.deepstream_configs.check.bundle import check_bundle_files, read_manifest
from taostream.deepstream_configs.check.calibration import check_bundle_calibration
from taostream.deepstream_configs.check.run import ERROR, CheckReport, Finding

MANIFEST = "pipeline.json"


def is_pipeline(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def pipeline_configs(folder: Path, report: CheckReport) -> tuple[list[Path], str | None]:
    """(the app configs to check, the DeepStream version pipeline.json names); findings go to report."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.findings.append(Finding(ERROR, path, None, None, None, f"unreadable ({exc}); re-create the pipeline "
                                       "with `taostream pipeline`"))
        return sorted(folder.glob("deepstream_app*.txt")), None
    app = str(manifest.get("app_config") or "deepstream_app.txt")
    if isinstance(manifest.get("files"), list):
        # A missing GIE config or tracker YAML is reported where the app config names it (one line with the
        # key to fix); the file list covers the rest (a changed config, a missing parser env file).
        listed = [e for e in manifest["files"] if not (isinstance(e, dict) and str(e.get("path", "")) != app
                  and Path(str(e.get("path", ""))).suffix in (".txt", ".yml") and "/" not in str(e.get("path", ""))
                  and not (folder / str(e.get("path", ""))).exists())]
        check_bundle_files(folder, {**manifest, "files": listed}, report)
    entries = [manifest.get("primary") or {}, *(manifest.get("secondaries") or [])]
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("path"):
            continue
        bundle = Path(entry["path"]) if Path(entry["path"]).is_absolute() else folder / entry["path"]
        if not (bundle / MANIFEST_FILE).is_file():
            report.findings.append(Finding(ERROR, path, None, None, None, f"bundle {bundle} is missing (no "
                                           "manifest.json there): copy it back, or re-create the pipeline with --copy"))
            continue
        if not entry.get("copied"):
            bundle_manifest = read_manifest(bundle, report)
            if bundle_manifest is not None:
                check_bundle_files(bundle, bundle_manifest, report)
        else:  # its files are the pipeline's (checked above, a changed manifest.json included)
            bundle_manifest = manifest_or_none(bundle)
        if bundle_manifest is not None:  # its cache, as `check BUNDLE` judges it
            check_bundle_calibration(bundle, bundle_manifest, report)
    configs = [folder / app] + [p for p in sorted(folder.glob("deepstream_app*.txt")) if p.name != app]
    # nvinferserver configs (--triton); the app check, which comes first, also opens its plugin-type=1 configs
    # and marks them done, so each is checked once
    configs += sorted(folder.glob("config_infer_*_nvinferserver.txt"))
    # each GIE's nvinfer config: the app check opens those its groups name (and marks them done); listed
    # here so that the count check prints is the pipeline's, and one no group names is still checked
    configs += [p for p in sorted(folder.glob("config_infer_*.txt")) if p not in configs]
    return configs, manifest.get("deepstream")


def pipeline_bundle_count(folder: Path) -> int:
    """How many bundles pipeline.json references (primary and secondaries); 1 when it is unreadable."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return 1  # reported by pipeline_configs
    entries = [manifest.get("primary") or {}, *(manifest.get("secondaries") or [])]
    return max(1, sum(1 for e in entries if isinstance(e, dict) and e.get("path")))
