"""`taostream check BUNDLE`: is a bundle folder still what `taostream bundle` wrote?

A bundle travels (scp to a Jetson, a container image, a Triton host). manifest.json lists every file
with its size and sha256; this compares the folder with it. A missing file, or a changed model,
calibration cache, parser library or Triton model file, is an error: DeepStream or Triton would load
something else than what was verified. A changed text config or labels.txt is a warning (editing
them by hand is normal; labels.txt's order still decides every class name). Files added later
(the Jetson parser library, engines built on the device) are not judged.
"""

from __future__ import annotations

from pathlib import Path

from taostream.converter.fileio import sha256_file
from taostream.deepstream_configs.check.run import (
    ERROR, WARNING, CheckReport, Finding, is_readable, note_unreadable,
)
from taostream.deepstream_configs.bundle.manifest import MANIFEST_FILE as MANIFEST, ManifestError, load_manifest

# Hand-editable text: a change is worth a warning, not an error.
EDITABLE_SUFFIXES = (".txt", ".env", ".pbtxt", ".yml", ".yaml", ".md")


def is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def read_manifest(folder: Path, report: CheckReport) -> dict | None:
    """The bundle's manifest (manifest.load_manifest), or None with an error finding when it is missing,
    unreadable, of another version or has no file list."""
    try:
        manifest = load_manifest(folder / MANIFEST)
    except ManifestError as exc:
        report.findings.append(Finding(ERROR, exc.path, None, None, exc.field, exc.problem))
        return None
    if not isinstance(manifest.get("files"), list):
        report.findings.append(Finding(ERROR, folder / MANIFEST, None, None, "files",
                                       "no file list; this is not a taostream bundle manifest: re-create the bundle"))
        return None
    return manifest


def check_bundle_files(folder: Path, manifest: dict, report: CheckReport) -> int:
    """Compare the folder with the manifest's file list; returns how many files were checked."""
    checked = 0
    for entry in manifest["files"]:
        relative = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        path = folder / relative
        if not relative or Path(relative).is_absolute() or ".." in Path(relative).parts:
            report.findings.append(Finding(ERROR, folder / MANIFEST, None, None, "files",
                                           f"entry {entry!r} is not a path inside the bundle; re-create the bundle"))
            continue
        checked += 1
        if not path.is_file():
            report.findings.append(Finding(ERROR, path, None, None, None,
                                           "missing: the bundle lists it; copy the whole bundle folder again"))
            continue
        try:
            if path.stat().st_size == entry.get("size") and sha256_file(path) == entry.get("sha256"):
                continue
        except PermissionError:
            note_unreadable(report, path)
            continue
        if path.suffix.lower() in EDITABLE_SUFFIXES:
            report.findings.append(Finding(WARNING, path, None, None, None,
                                           "edited since the bundle was written (sha256 differs from manifest.json)"))
        else:
            report.findings.append(Finding(
                ERROR, path, None, None, None,
                "changed since the bundle was written (size or sha256 differs from manifest.json): a damaged or "
                "partial copy, or another file; copy the bundle again or re-create it with `taostream bundle`"))
    return checked


def bundle_configs(folder: Path, report: CheckReport | None = None) -> list[Path]:
    """The DeepStream configs a bundle carries (nvinfer, deepstream-app, nvinferserver). With
    ``report``: one this user may not read is left out, reported once (check_bundle_files may have)."""
    configs = sorted((folder / "deepstream").glob("*.txt"))
    if report is None:
        return configs
    readable = []
    for config in configs:
        if is_readable(config):
            readable.append(config)
        else:
            note_unreadable(report, config)
    return readable
