"""`taostream check BUNDLE`: do the bundle's two DeepStream paths (nvinfer and nvinferserver) feed the
model the same pixels? Scaling filter, net scale factor, offsets, color format and aspect-ratio
handling must agree, or the Triton path detects differently from the nvinfer path with the same
model. The nvinferserver config's class count is compared with the model's graph too (the nvinfer
config's is, by the nvinfer rules)."""

from __future__ import annotations

from pathlib import Path

from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import parse_spec
from taostream.deepstream_configs.check.run import ERROR, CheckReport, Finding, UnreadableModel, read_model_facts
from taostream.deepstream_configs.ini import read_ini

NVINFER = "deepstream/config_infer_primary.txt"
NVINFERSERVER = "deepstream/config_infer_primary_nvinferserver.txt"
_COLORS = {"IMAGE_FORMAT_RGB": 0, "IMAGE_FORMAT_BGR": 1, "IMAGE_FORMAT_GRAY": 2}
_PRE = "infer_config.preprocess."


def _offsets(values) -> list[float]:
    """Offsets with 'none' and 'all zero' alike (both subtract nothing)."""
    numbers = [float(v) for v in values]
    return [] if not any(numbers) else numbers


def _pairs(prop, server) -> list[tuple[str, str, object, object]]:
    """(nvinfer key, nvinferserver field, nvinfer value, nvinferserver value), both with defaults."""
    offsets = server.get_all(_PRE + "normalize.channel_offsets")
    return [
        ("scaling-filter", "frame_scaling_filter", int(prop.get("scaling-filter", "0")),
         int(server.get(_PRE + "frame_scaling_filter", 0))),
        ("net-scale-factor", "normalize.scale_factor", float(prop.get("net-scale-factor", "1")),
         float(server.get(_PRE + "normalize.scale_factor", 1.0))),
        ("offsets", "normalize.channel_offsets", _offsets(v for v in prop.get("offsets", "").split(";") if v.strip()),
         _offsets(offsets)),
        ("model-color-format", "network_format", int(prop.get("model-color-format", "0")),
         _COLORS.get(str(server.get(_PRE + "network_format", "")), -1)),
        ("maintain-aspect-ratio", "maintain_aspect_ratio", int(prop.get("maintain-aspect-ratio", "0")),
         int(server.get(_PRE + "maintain_aspect_ratio", 0))),
        ("symmetric-padding", "symmetric_padding", int(prop.get("symmetric-padding", "0")),
         int(server.get(_PRE + "symmetric_padding", 0))),
    ]


def _same(a, b) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


def check_bundle_paths_agree(folder: Path, report: CheckReport) -> None:
    """Findings where the bundle's nvinferserver config preprocesses unlike its nvinfer config, or
    names another class count than its model.onnx outputs."""
    nvinfer, server_path = folder / NVINFER, folder / NVINFERSERVER
    if not nvinfer.is_file() or not server_path.is_file():
        return  # a missing file is already an error of the manifest check
    try:
        prop = read_ini(nvinfer).group("property")
        server = parse_spec(server_path.read_text(encoding="utf-8"), source=str(server_path))
        pairs = _pairs(prop, server)
    except (SpecError, OSError, ValueError, AttributeError, TypeError):
        return  # unreadable or mistyped values: the configs' own checks (or the manifest check) report them
    for key, field, ours, theirs in pairs:
        if not _same(ours, theirs):
            report.findings.append(Finding(ERROR, server_path, None, None, _PRE + field,
                                           f"{theirs} but {nvinfer.name} has {key}={ours}: the Triton path would "
                                           f"preprocess unlike the nvinfer path; set {field} to match {key}"))
    _check_server_classes(folder, server, server_path, report)


def _check_server_classes(folder: Path, server, server_path: Path, report: CheckReport) -> None:
    detected = server.get("infer_config.postprocess.detection.num_detected_classes")
    if detected is None:
        return
    try:
        facts = read_model_facts(folder / "model.onnx")
    except UnreadableModel:
        return  # reported by the manifest check
    classes = facts.classes if facts is not None else None
    if classes is not None and int(detected) != classes.count:
        report.findings.append(Finding(
            ERROR, server_path, None, None, "infer_config.postprocess.detection.num_detected_classes",
            f"is {detected} but model.onnx outputs {classes.count} class id(s) ({classes.where}); set it to "
            f"{classes.count} with a labels.txt of {classes.count} line(s)"))
