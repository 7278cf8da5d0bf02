"""How many class ids a TAO model outputs, read from its graph.

labels.txt must have exactly one line per class id the model can output (line k names id k) and
nvinfer's num-detected-classes must equal that count: a label list from the wrong spec shifts or
invents names silently. This module reads the count from the graph itself, per output layout of the
registry (FACTS.md sections 2 and 3):

- DetectNet_v2: the coverage output's channels ([N, C, H/16, W/16]);
- classification: the softmax output's width;
- SSD/DSSD/RetinaNet/FasterRCNN (NMS_TRT, NMSDynamic_TRT) and YOLOv3/v4 (BatchedNMS_TRT,
  BatchedNMSDynamic_TRT): the plugin's ``numClasses`` (background included where it has one);
- TLT 2.0 FasterRCNN (UFF, no NMS): the class softmax's width (background last);
- MaskRCNN: GenerateDetection_TRT's ``num_classes``, else the mask output's channels;
- EfficientDet: the width of EfficientNMS_TRT's scores input;
- LPRNet: the characters, i.e. the width of the softmax the ArgMax output reduces, minus the CTC blank;
- a graph `taostream modernize` rewrote (the plugin nodes are gone): the count it recorded in the
  model's metadata (METADATA_KEY).
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import helper

from taostream.converter.registry import Network, get_network, recognise

METADATA_KEY = "taostream.class_count"
_NMS_OPS = ("NMS_TRT", "NMSDynamic_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT")


@dataclass(frozen=True)
class ModelClasses:
    """``count`` class ids 0..count-1 (what labels.txt and num-detected-classes must match);
    ``where``: what in the graph says so, for messages; ``background_id``: the id the model keeps
    for background (never reported as a detection), or None."""

    count: int
    where: str
    background_id: int | None = None


def model_classes(model: onnx.ModelProto, network: Network | str | None = None) -> ModelClasses | None:
    """The class count of ``model`` (a TAO export, its UFF translation, or a modernized graph);
    ``network`` as the registry names it, or None to recognise it from the graph. None when the
    graph does not say (dynamic dims, an unfamiliar head)."""
    net = _network(model, network)
    found = _from_plugins(model)
    if found is None and net is not None:
        found = _from_outputs(model, net)
    if found is None and net is not None and net.output_layout == "efficient_nms":
        found = _efficient_nms_scores(model)
    return found if found is not None else _from_metadata(model)


def record_model_classes(model: onnx.ModelProto, classes: ModelClasses | None) -> None:
    """Keep the count in ``model``'s metadata (for graphs whose plugin nodes a rewrite removes)."""
    if classes is None:
        return
    for entry in list(model.metadata_props):
        if entry.key == METADATA_KEY:
            model.metadata_props.remove(entry)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, f"{classes.count};{'' if classes.background_id is None else classes.background_id};{classes.where}"


def _network(model: onnx.ModelProto, network: Network | str | None) -> Network | None:
    if isinstance(network, Network):
        return network
    if network:
        return get_network(network)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v.name for v in model.graph.input if v.name not in initializers]
    return recognise(inputs, [o.name for o in model.graph.output], {n.op_type for n in model.graph.node})


def _attributes(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _from_plugins(model: onnx.ModelProto) -> ModelClasses | None:
    for node in model.graph.node:
        op = node.op_type.lstrip("_")
        attrs = _attributes(node)
        if op in _NMS_OPS and "numClasses" in attrs:
            count, background = int(attrs["numClasses"]), int(attrs.get("backgroundLabelId", -1))
            where = f"its {op} node '{node.name}' has numClasses={count}"
            return ModelClasses(count, where, background if 0 <= background < count else None)
        if op == "GenerateDetection_TRT" and "num_classes" in attrs:
            count = int(attrs["num_classes"])
            return ModelClasses(count, f"its {op} node '{node.name}' has num_classes={count}", 0)
    return None


def value_dims(value: onnx.ValueInfoProto) -> list[int]:
    """A graph input/output's dims, -1 where symbolic or unknown."""
    return [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim]


def _output(model: onnx.ModelProto, *prefixes: str) -> onnx.ValueInfoProto | None:
    for output in model.graph.output:
        if any(output.name.split(":")[0].endswith(p) for p in prefixes):
            return output
    return None


def _channel(output: onnx.ValueInfoProto | None, axis: int, what: str) -> ModelClasses | None:
    if output is None:
        return None
    dims = value_dims(output)
    if len(dims) <= abs(axis) or dims[axis] <= 0:
        return None
    return ModelClasses(dims[axis], f"its output {output.name} {_shape(dims)} has {dims[axis]} {what}")


def _shape(dims: list[int]) -> str:
    return "[" + ",".join("N" if d < 0 else str(d) for d in dims) + "]"


def _from_outputs(model: onnx.ModelProto, net: Network) -> ModelClasses | None:
    layout = net.output_layout
    if layout == "detectnet_v2_grid":
        only = model.graph.output[0] if len(model.graph.output) else None
        return _channel(_output(model, "output_cov/Sigmoid") or only, 1, "coverage channel(s)")
    if layout == "softmax":
        output = _output(model, "predictions/Softmax") or (model.graph.output[0] if len(model.graph.output) == 1 else None)
        if output is None:
            return None
        dims = [d for d in value_dims(output)[1:] if d != 1]
        if len(dims) != 1 or dims[0] <= 0:
            return None
        return ModelClasses(dims[0], f"its softmax output {output.name} {_shape(value_dims(output))} has {dims[0]} class(es)")
    if layout == "nms7":  # TLT 2.0 FasterRCNN: no NMS node, the class softmax [N, R, C] (background last)
        found = _channel(_output(model, "dense_class_td/Softmax"), -1, "class score(s)")
        return ModelClasses(found.count, found.where, found.count - 1) if found else None
    if layout == "mask_rcnn":
        found = _channel(_output(model, "mask_fcn_logits/BiasAdd"), 2, "mask channel(s)")
        return ModelClasses(found.count, found.where, 0) if found else None
    if layout == "lprnet_ctc":
        return _lpr_characters(model)
    return None


_PASS_THROUGH = ("Cast", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Flatten")


def _lpr_characters(model: onnx.ModelProto) -> ModelClasses | None:
    """LPRNet: the ArgMax behind tf_op_layer_ArgMax (through casts and reshapes) reduces the
    character softmax; its width is the characters + the CTC blank (which has no label line)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    output = _output(model, "tf_op_layer_ArgMax")
    node = producers.get(output.name) if output is not None else None
    while node is not None and node.op_type in _PASS_THROUGH:
        node = producers.get(node.input[0])
    if node is None or node.op_type != "ArgMax":
        return None
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - a graph ONNX cannot infer says nothing here
        return None
    shapes = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    source = shapes.get(node.input[0])
    if source is None:
        return None
    dims = value_dims(source)
    axis = int(_attributes(node).get("axis", 0))
    if not -len(dims) <= axis < len(dims) or dims[axis] <= 1:
        return None
    width = dims[axis]
    return ModelClasses(width - 1, f"its ArgMax '{node.name}' reduces {width} classes ({width - 1} characters + "
                                   "the CTC blank)")


def _efficient_nms_scores(model: onnx.ModelProto) -> ModelClasses | None:
    node = next((n for n in model.graph.node if n.op_type == "EfficientNMS_TRT" and len(n.input) > 1), None)
    if node is None:
        return None
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - inference is best effort; the metadata may still say
        return None
    shapes = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    scores = shapes.get(node.input[1])
    found = _channel(scores, -1, "class score(s)") if scores is not None else None
    if found is None:
        return None
    background = int(_attributes(node).get("background_class", -1))
    where = f"the scores input {node.input[1]} of its EfficientNMS_TRT node is {_shape(value_dims(scores))}"
    return ModelClasses(found.count, where, background if 0 <= background < found.count else None)


def _from_metadata(model: onnx.ModelProto) -> ModelClasses | None:
    entry = next((e for e in model.metadata_props if e.key == METADATA_KEY), None)
    if entry is None:
        return None
    count, background, where = (entry.value.split(";", 2) + ["", ""])[:3]
    try:
        return ModelClasses(int(count), f"{where}, recorded before `taostream modernize` replaced its plugin nodes",
                            int(background) if background else None)
    except ValueError:
        return None
