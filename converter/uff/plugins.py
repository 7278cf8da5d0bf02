"""TensorRT plugin nodes in UFF graphs (ops spelled with a leading underscore, e.g. ``_NMS_TRT``)
become ONNX nodes whose op_type is the plugin name, carrying the UFF fields as attributes typed as
the plugin creator reads them, for the modernizer to replace or TensorRT's ONNX parser to load."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from taostream.converter.uff.reader import UffNode
from taostream.converter.uff.context import UffTranslator, Value


# TAO's own ONNX exports put plugin nodes in the default domain, where TensorRT's ONNX parser falls
# back to the plugin registry by op name; onnx.checker rejects such nodes, so a caller that wants to
# check the graph can ask for this custom domain instead.
CHECKABLE_PLUGIN_DOMAIN = "trt.plugins"
_I, _F, _INTS, _FLOATS, _S = "int", "float", "ints", "floats", "string"
# Field types from the TensorRT OSS plugin READMEs / creators; a field not listed keeps its UFF type.
PLUGIN_FIELD_TYPES: dict[str, dict[str, str]] = {
    "BatchTilePlugin_TRT": {},
    "NMS_TRT": {"shareLocation": _I, "varianceEncodedInTarget": _I, "backgroundLabelId": _I, "numClasses": _I,
                "topK": _I, "keepTopK": _I, "confidenceThreshold": _F, "nmsThreshold": _F, "inputOrder": _INTS,
                "confSigmoid": _I, "isNormalized": _I, "codeType": _I, "scoreBits": _I, "isBatchAgnostic": _I},
    "BatchedNMS_TRT": {"shareLocation": _I, "backgroundLabelId": _I, "numClasses": _I, "topK": _I, "keepTopK": _I,
                       "scoreThreshold": _F, "iouThreshold": _F, "isNormalized": _I, "clipBoxes": _I,
                       "scoreBits": _I, "caffeSemantics": _I},
    "Proposal": {"input_height": _I, "input_width": _I, "rpn_stride": _I, "roi_min_size": _F,
                 "nms_iou_threshold": _F, "pre_nms_top_n": _I, "post_nms_top_n": _I,
                 "anchor_sizes": _FLOATS, "anchor_ratios": _FLOATS},
    "CropAndResize": {"crop_width": _I, "crop_height": _I},
    "ResizeNearest_TRT": {"scale": _F},
    "MultilevelProposeROI_TRT": {"prenms_topk": _I, "keep_topk": _I, "fg_threshold": _F, "iou_threshold": _F,
                                 "image_size": _INTS},
    "MultilevelCropAndResize_TRT": {"pooled_size": _I, "image_size": _INTS},
    "GenerateDetection_TRT": {"num_classes": _I, "keep_topk": _I, "score_threshold": _F, "iou_threshold": _F,
                              "image_size": _INTS},
    "SpecialSlice_TRT": {},
    "FlattenConcat_TRT": {"axis": _I, "ignoreBatch": _I},
    "GridAnchor_TRT": {"minSize": _F, "maxSize": _F, "aspectRatios": _FLOATS, "variance": _FLOATS,
                       "featureMapShapes": _INTS, "numLayers": _I},
    "GridAnchorRect_TRT": {"minSize": _F, "maxSize": _F, "aspectRatios": _FLOATS, "variance": _FLOATS,
                           "featureMapShapes": _INTS, "numLayers": _I},
    "EfficientNMS_TRT": {"score_threshold": _F, "iou_threshold": _F, "max_output_boxes": _I, "background_class": _I,
                         "score_activation": _I, "class_agnostic": _I, "box_coding": _I},
}
# Outputs beyond the first are named '<node>_1', '<node>_2', ... as TensorRT named them.
PLUGIN_OUTPUTS = {"NMS_TRT": (np.float32, np.float32),
                  "BatchedNMS_TRT": (np.int32, np.float32, np.float32, np.float32),
                  "EfficientNMS_TRT": (np.int32, np.float32, np.float32, np.int32)}
PLUGIN_ALIASES = {"NMS": "NMS_TRT", "BatchedNMS": "BatchedNMS_TRT", "BatchTilePlugin": "BatchTilePlugin_TRT",
                  "ResizeNearest": "ResizeNearest_TRT", "Proposal_TRT": "Proposal", "CropAndResize_TRT": "CropAndResize"}


def plugin_attribute(t: UffTranslator, node: UffNode, key: str, value, kind: str | None) -> onnx.AttributeProto:
    kind = kind or _uff_kind(value)
    try:
        if kind == _I:
            return helper.make_attribute(key, int(value))
        if kind == _F:
            return helper.make_attribute(key, float(value))
        if kind == _INTS:
            return helper.make_attribute(key, [int(v) for v in _as_list(value)], attr_type=onnx.AttributeProto.INTS)
        if kind == _FLOATS:
            return helper.make_attribute(key, [float(v) for v in _as_list(value)], attr_type=onnx.AttributeProto.FLOATS)
        if kind == "strings":
            return helper.make_attribute(key, [str(v) for v in value], attr_type=onnx.AttributeProto.STRINGS)
        return helper.make_attribute(key, str(value))
    except (TypeError, ValueError):
        raise t.unsupported(node, f"plugin field {key}={value!r} cannot be written as an ONNX {kind} attribute") from None


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _uff_kind(value) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return _I
    if isinstance(value, float):
        return _F
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return "strings"
        return _FLOATS if any(isinstance(v, float) for v in value) else _INTS
    return _S


def translate_plugin(t: UffTranslator, node: UffNode) -> Value:
    name = node.operation.lstrip("_")
    name = PLUGIN_ALIASES.get(name, name)
    if name not in PLUGIN_FIELD_TYPES:
        raise t.unsupported(node, f"'{name}' is not a TensorRT plugin taostream knows "
                                  f"({', '.join(sorted(PLUGIN_FIELD_TYPES))})")
    inputs = [t.tensor(t.values[i]) for i in node.inputs]
    dtypes = PLUGIN_OUTPUTS.get(name, (np.float32,))
    outputs = [node.id] + [f"{node.id}_{k}" for k in range(1, len(dtypes))]
    onnx_node = helper.make_node(name, inputs, outputs, name=t.graph.fresh(f"{node.id}/{name}"),
                                 domain=t.plugin_domain or None)
    types = PLUGIN_FIELD_TYPES[name]
    for key in sorted(node.fields):
        onnx_node.attribute.append(plugin_attribute(t, node, key, node.fields[key], types.get(key)))
    t.graph.nodes.append(onnx_node)
    t.used_plugin_domain = bool(t.plugin_domain)
    shapes = plugin_output_shapes(name, node.fields, [t.values[i] for i in node.inputs], len(outputs))
    for k, extra in enumerate(outputs[1:], start=1):
        if extra in t.by_id:
            raise t.unsupported(node, f"its output {k} would be named '{extra}', which another node already uses")
        t.values[extra] = Value(extra, shapes[k], np.dtype(dtypes[k]))
    return Value(node.id, shapes[0], np.dtype(dtypes[0]))


def plugin_output_shapes(name: str, fields: dict, inputs: list[Value], count: int) -> list[tuple | None]:
    """Output shapes (batch first, None = unknown) of a plugin node, from the plugins' READMEs, so a
    plugin output can be a graph output of known rank. Plugins not listed take their first input's rank."""
    keep = fields.get("keepTopK", fields.get("keep_topk", fields.get("max_output_boxes")))
    keep = None if keep is None else int(keep)
    first = inputs[0].shape if inputs else None
    known = {
        "NMS_TRT": [(None, 1, keep, 7), (None, 1, 1, 1)],
        "BatchedNMS_TRT": [(None, 1), (None, keep, 4), (None, keep), (None, keep)],
        "EfficientNMS_TRT": [(None, 1), (None, keep, 4), (None, keep), (None, keep)],
        "GenerateDetection_TRT": [(None, keep, 6)],
        "MultilevelProposeROI_TRT": [(None, keep, 4)],
        "SpecialSlice_TRT": [(None, None if first is None else first[1], 4)],
        "Proposal": [(None, fields.get("post_nms_top_n"), 4, 1)],
    }
    if name in known:
        return known[name]
    if name == "MultilevelCropAndResize_TRT":
        size = fields.get("pooled_size")
        rois = None if first is None else first[1]
        channels = inputs[1].shape[1] if len(inputs) > 1 and inputs[1].shape else None
        return [(None, rois, channels, size, size)]
    if name == "CropAndResize":
        rois = inputs[1].shape[1] if len(inputs) > 1 and inputs[1].shape else None
        channels = None if first is None else first[1]
        return [(None, rois, channels, fields.get("crop_height"), fields.get("crop_width"))]
    rank = len(first) if first is not None else None
    return [None if rank is None else (None,) * rank] * count
