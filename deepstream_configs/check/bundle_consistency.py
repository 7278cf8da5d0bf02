"""`taostream check BUNDLE`: do the bundle's two DeepStream paths (nvinfer and nvinferserver) feed the
model the same pixels? Scaling filter, net scale factor, offsets, color format and aspect-ratio
handling must agree, or the Triton path detects differently from the nvinfer path with the same
model. And do they hand the parser the same per-class thresholds and cluster alike (NMS IoU, topk)?
The nvinferserver config's class count is compared with the model's graph too (the nvinfer config's
is, by the nvinfer rules)."""

from __future__ import annotations

from pathlib import Path

from taostream.converter.errors import SpecError
from taostream.converter.tao_spec import parse_spec
from taostream.deepstream_configs.check.run import ERROR, WARNING, CheckReport, Finding, UnreadableModel, read_model_facts
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
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    except (TypeError, ValueError):  # a value against a missing one ("unset", "no threshold")
        return False


def check_bundle_paths_agree(folder: Path, report: CheckReport) -> None:
    """Findings where the bundle's nvinferserver config preprocesses or post-processes unlike its nvinfer
    config, or names another class count than its model.onnx outputs."""
    nvinfer, server_path = folder / NVINFER, folder / NVINFERSERVER
    if not nvinfer.is_file() or not server_path.is_file():
        return  # a missing file is already an error of the manifest check
    try:
        ini = read_ini(nvinfer)
        prop = ini.group("property")
        server = parse_spec(server_path.read_text(encoding="utf-8"), source=str(server_path))
        pairs = _pairs(prop, server)
    except (SpecError, OSError, ValueError, AttributeError, TypeError):
        return  # unreadable or mistyped values: the configs' own checks (or the manifest check) report them
    try:
        post_pairs = _post_pairs(ini, server)
    except (ValueError, AttributeError, TypeError):
        post_pairs = []  # mistyped values: the configs' own checks report them
    for key, field, ours, theirs in pairs:
        if not _same(ours, theirs):
            report.findings.append(Finding(ERROR, server_path, None, None, _PRE + field,
                                           f"{theirs} but {nvinfer.name} has {key}={ours}: the Triton path would "
                                           f"preprocess unlike the nvinfer path; set {field} to match {key}"))
    for key, field, ours, theirs, fix in post_pairs:
        if not _same(ours, theirs):
            report.findings.append(Finding(ERROR, server_path, None, None, _POST + field,
                                           f"{theirs} but {nvinfer.name} has {key}={ours}: the Triton path would "
                                           f"report other detections than the nvinfer path; {fix}"))
    _check_server_classes(folder, server, server_path, report)
    _check_cpu_model_clustering(folder, nvinfer, report)


def _check_cpu_model_clustering(folder: Path, nvinfer: Path, report: CheckReport) -> None:
    """The CPU Triton model (`taostream serve`, `infer --backend triton`) must cluster the parser's list
    as nvinfer does with this config (its ``nvinfer_clustering`` parameter); a bundle made before
    taostream wrote that parameter reports detections nvinfer's NMS or topk drops."""
    from taostream.deepstream_configs.nvinfer_clustering import nvinfer_clustering  # lazy: CLI start-up
    from taostream.parsers.reference import NvinferClustering  # lazy: CLI start-up

    try:
        from google.protobuf import text_format  # lazy: optional (triton)
        from tritonclient.grpc import model_config_pb2  # lazy: optional (triton)

        expected = nvinfer_clustering(nvinfer)
    except (ImportError, OSError, ValueError):
        return  # no Triton extra (check_triton_configs says so), or values the config's own checks report
    if expected is None or (expected.mode == 4 and all(k < 0 for k in expected.top_k)):
        return  # nvinfer keeps the parser's list as it is
    for path in sorted((folder / "triton").glob("*_cpu/config.pbtxt")):
        try:
            config = text_format.Parse(path.read_text(encoding="utf-8"), model_config_pb2.ModelConfig())
        except (OSError, text_format.ParseError, UnicodeDecodeError):
            continue  # check_triton_configs reports it
        if config.backend != "python":
            continue
        given = config.parameters["nvinfer_clustering"].string_value if "nvinfer_clustering" in config.parameters else None
        try:
            served = NvinferClustering.from_text(given) if given else None
        except ValueError:
            served = None
        if served == expected:
            continue
        what = (f"cluster-mode={expected.mode}" + (", nms-iou-threshold" if expected.mode in (2, 3) else "")
                + (", topk" if any(k >= 0 for k in expected.top_k) else ""))
        if given is None:  # made before the parameter existed: its model.py cannot apply it either
            message = (f"missing, but {nvinfer.name} has nvinfer cluster the parser's list again ({what}): this CPU "
                       "Triton model (serve, infer --backend triton) reports detections DeepStream drops; re-create "
                       "the bundle with this taostream")
        else:
            message = (f"'{given}' but {nvinfer.name} gives '{expected.to_text()}' ({what}): the CPU Triton model "
                       "clusters unlike nvinfer; set it to that, or re-create the bundle")
        report.findings.append(Finding(WARNING, path, None, None, "parameters.nvinfer_clustering", message))

_POST = "infer_config.postprocess.detection."


def _post_pairs(ini, server) -> list[tuple[str, str, object, object, str]]:
    """(nvinfer key, nvinferserver field, nvinfer value, nvinferserver value, fix) of a detector's
    post-processing: each class's pre-cluster threshold (nvinferserver: per_class_params' pre_threshold,
    else its clustering policy's threshold) and, where nvinfer runs NMS (cluster-mode 2/3), the NMS IoU
    and topk. Both with the defaults their DeepStream plugin applies."""
    from taostream.deepstream_configs.nvinfer_clustering import class_value  # lazy: CLI start-up
    from taostream.deepstream_configs.specs.access import as_spec_dict, spec_map, spec_value  # lazy: CLI start-up

    prop = ini.group("property")
    if server.get(_POST + "num_detected_classes") is None or prop.get("num-detected-classes") is None:
        return []  # a classifier (or a config without a class count: its own check says so)
    classes = int(prop.get("num-detected-classes"))
    policies = [name for name in ("nms", "simple_cluster", "dbscan", "group_rectangle") if server.get(_POST + name) is not None]
    policy = policies[0] if len(policies) == 1 else None
    threshold = None
    for key in ("confidence_threshold", "threshold", "pre_threshold"):
        if policy is not None and server.get(f"{_POST}{policy}.{key}") is not None:
            threshold = float(server.get(f"{_POST}{policy}.{key}"))
    per_class = {int(k): v for k, v in spec_map(as_spec_dict(server), _POST + "per_class_params")}
    pairs = []
    for class_id in range(classes):
        entry = per_class.get(class_id)
        given = spec_value(entry, "pre_threshold") if isinstance(entry, dict) else None
        theirs = float(given) if given is not None else threshold
        ours = class_value(ini, class_id, "pre-cluster-threshold")
        group = f"class-attrs-{class_id}" if ini.group(f"class-attrs-{class_id}") is not None else "class-attrs-all"
        pairs.append((f"[{group}] pre-cluster-threshold", f"per_class_params[{class_id}]", ours,
                      theirs if theirs is not None else "no threshold",
                      f"set per_class_params {{ key: {class_id} value {{ pre_threshold: {ours} }} }} (taostream bundle "
                      "writes one per class)"))
    if int(prop.get("cluster-mode", "0")) in (2, 3):
        if policy != "nms":
            pairs.append(("cluster-mode", "nms", prop.get("cluster-mode"), policy or "no clustering policy",
                          "give detection an nms { } block with nvinfer's nms-iou-threshold and topk"))
        else:
            for key, field, kind in (("nms-iou-threshold", "iou_threshold", float), ("topk", "topk", int)):
                values = {class_value(ini, c, key, kind) for c in range(classes)}
                ours = values.pop() if len(values) == 1 else sorted(values)
                theirs = server.get(f"{_POST}nms.{field}")
                pairs.append((key, f"nms.{field}", ours, kind(theirs) if theirs is not None else "unset",
                              f"set nms.{field} to {ours}" if not isinstance(ours, list) else
                              "nvinferserver takes one value for every class: give the classes one value"))
    return pairs


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
