"""nvinferserver configs (protobuf text) in `taostream check`: syntax and the files they name."""

from __future__ import annotations

from pathlib import Path

from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import parse_spec
from taostream.deepstream_configs.check.run import (
    ERROR, WARNING, CheckReport, Finding, library_built_on_device, library_machine_finding, nearest,
)
from taostream.deepstream_configs.elf_symbols import ElfError, abi_mismatch, exported_functions

_PATH_FIELDS = (
    "infer_config.backend.triton.model_repo.root",
    "infer_config.backend.trt_is.model_repo.root",
    "infer_config.postprocess.labelfile_path",
    "infer_config.custom_lib.path",
)


def check_nvinferserver(path: Path, report: CheckReport, deepstream_major: int = 9) -> None:
    try:
        spec = parse_spec(path.read_text(encoding="utf-8"), source=str(path))
    except SpecError as exc:
        report.findings.append(Finding(ERROR, path, None, None, None, f"not valid protobuf text: {exc}"))
        return
    for dotted in _PATH_FIELDS:
        for value in spec.get_all(dotted):
            target = Path(str(value))
            target = target if target.is_absolute() else path.parent / target
            pending = library_built_on_device(path, target) if dotted == "infer_config.custom_lib.path" else None
            if pending and not target.exists():
                report.findings.append(Finding(WARNING, path, None, None, dotted, pending))
            elif not target.exists():
                relative = "" if Path(str(value)).is_absolute() else " (relative to the config's folder)"
                report.findings.append(Finding(ERROR, path, None, None, dotted,
                                               f"file not found: {target}{relative}; fix the path"))
            elif target.is_dir() and not dotted.endswith("model_repo.root"):  # the others name a file
                report.findings.append(Finding(ERROR, path, None, None, dotted,
                                               f"{target} is a folder; name the file in it (or fix the path)"))
    _check_parse_function(path, spec, report, deepstream_major)
    # DeepStream 5 named the block trt_is; later releases read it still (BackendParams' trt_is and triton
    # are one oneof) but write triton
    backend = "trt_is" if spec.get_all("infer_config.backend.trt_is") else "triton"
    if backend == "trt_is":
        report.findings.append(Finding(WARNING, path, None, None, "infer_config.backend.trt_is",
                                       "DeepStream 5's name of the block; DeepStream 6 and later write it as "
                                       "triton: rename trt_is to triton"))
    if not spec.get(f"infer_config.backend.{backend}.model_name"):
        report.findings.append(Finding(ERROR, path, None, None, f"infer_config.backend.{backend}.model_name",
                                       "missing: name the Triton model to run"))


def _check_parse_function(path: Path, spec, report: CheckReport, deepstream_major: int) -> None:
    key = "infer_config.postprocess.detection.custom_parse_bbox_func"
    function = spec.get(key)
    if not function:
        key = "infer_config.postprocess.classification.custom_parse_classifier_func"
        function = spec.get(key)
    library = spec.get("infer_config.custom_lib.path")
    if function and not library:
        report.findings.append(Finding(ERROR, path, None, None, key, "names a parser but infer_config.custom_lib.path "
                                       "is not set: point it at the library that exports it"))
        return
    target = Path(str(library)) if library else None
    if target is None:
        return
    target = target if target.is_absolute() else path.parent / target
    if not function or not target.is_file():
        return
    try:
        exported = exported_functions(target)
    except ElfError as exc:
        report.findings.append(Finding(ERROR, path, None, None, "infer_config.custom_lib.path", str(exc)))
        return
    mismatch = abi_mismatch(target, deepstream_major)
    if mismatch:
        report.findings.append(Finding(ERROR, path, None, None, "infer_config.custom_lib.path", mismatch))
    machine = library_machine_finding(path, target)
    if machine is not None:
        report.findings.append(Finding(machine[0], path, None, None, "infer_config.custom_lib.path", machine[1]))
    if function not in exported:
        hint = nearest(str(function), exported)
        fix = f"did you mean '{hint}'?" if hint else "export it with extern \"C\" or fix the name"
        report.findings.append(Finding(ERROR, path, None, None, key, f"'{function}' is not exported by {library}; {fix}"))
