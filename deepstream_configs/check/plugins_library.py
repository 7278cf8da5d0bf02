"""`check BUNDLE` for a bundle written with `--plugins taostream`: model.onnx keeps plugin nodes that
only libtaostream_plugins.so provides on TensorRT 11, so the bundle is incomplete without it.

Errors: the library is missing (the finding names the command that builds it), is not one for the
bundle's platform, lacks an op model.onnx keeps, or the nvinfer config's custom-lib-path does not
name it. The library is read (ELF machine, exports, strings), never loaded.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from taostream.converter.errors import TaostreamError
from taostream.deepstream_configs.bundle.plugins_library import check_plugins_library, tensorrt_mismatch
from taostream.deepstream_configs.nvinfer import deepstream_major
from taostream.deepstream_configs.check.run import ERROR, WARNING, CheckReport, Finding
from taostream.deepstream_configs.ini import read_ini
from taostream.plugins.library import LIBRARY_NAME, build_command, library_ops_of

NVINFER_CONFIG = "deepstream/config_infer_primary.txt"


def _model_ops(folder: Path) -> set[str]:
    model = folder / "model.onnx"
    if not model.is_file():
        return set()  # reported by the file checks
    try:
        proto = onnx.load(str(model), load_external_data=False)
    except Exception:  # a damaged model is reported by the file checks (sha256)
        return set()
    return set(library_ops_of(node.op_type for node in proto.graph.node))


def _custom_lib_path(config: Path) -> tuple[str, int] | None:
    """(custom-lib-path, its line) of the nvinfer config's [property] group; None when it has none."""
    if not config.is_file():
        return None
    try:
        group = read_ini(config).group("property")
    except TaostreamError:  # an unreadable config is reported by the config checks
        return None
    entry = group.entry("custom-lib-path") if group is not None else None
    return (entry.value.strip(), entry.line) if entry is not None else None


def _check_tensorrt(folder: Path, manifest: dict, library: Path, report: CheckReport) -> None:
    """The library's TensorRT major against the TensorRT the bundle's configured target runs."""
    platform = manifest.get("platform")
    target = next((t for t in manifest.get("targets") or () if isinstance(t, dict) and t.get("platform") == platform
                   and t.get("tensorrt")), None)
    if target is None:
        return
    mismatch = tensorrt_mismatch(library, str(target["tensorrt"]),
                                 f"DeepStream {manifest.get('deepstream')} on {platform}")
    if mismatch is not None:
        report.findings.append(Finding(ERROR if mismatch[0] else WARNING, library, None, None, None, mismatch[1]))


def check_bundle_plugins(folder: Path, manifest: dict, report: CheckReport) -> None:
    entry = manifest.get("plugins")
    if not isinstance(entry, dict) or entry.get("library") != "taostream":
        return

    relative = str(entry.get("path") or f"lib/{LIBRARY_NAME}")
    try:
        major = deepstream_major(str(manifest.get("deepstream")))
    except TaostreamError:  # an unknown version is reported by the config checks
        major = None
    library = folder / relative
    ops = sorted(set(entry.get("ops") or ()) | _model_ops(folder))
    kept = ", ".join(ops) or "its plugins"

    def error(path: Path, message: str, line: int | None = None, key: str | None = None) -> None:
        report.findings.append(Finding(ERROR, path, line, "property" if key else None, key, message))

    if not library.is_file():
        error(library, f"missing: model.onnx keeps {kept} for it (--plugins taostream) and nvinfer's custom-lib-path "
              "loads it; build it where the bundle runs (the DeepStream container: TensorRT headers under /usr) with "
              f"`{build_command(major)}` and copy build/plugins/{LIBRARY_NAME} here")
    else:
        try:
            check_plugins_library(library, str(manifest.get("platform") or "x86"), ops, option=relative,
                                  deepstream_major=major)
        except TaostreamError as exc:
            error(library, str(exc))
        _check_tensorrt(folder, manifest, library, report)
    config = folder / NVINFER_CONFIG
    named = _custom_lib_path(config)
    if named is not None and (config.parent / named[0]).resolve() != library.resolve():
        error(config, f"{named[0]}, but model.onnx keeps {kept} for ../{relative}, which also holds the "
              f"parsers: set custom-lib-path=../{relative}", line=named[1], key="custom-lib-path")
