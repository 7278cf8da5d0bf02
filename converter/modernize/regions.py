"""Regions of a TAO graph that deployment settings refer to by layer name.

``decode_layers``: the box/class decode between a detector's last weighted layers and its NMS plugin.
NVIDIA's YOLOv3/v4 nvinfer configs keep exactly this part in FP32 under implicit INT8
(`layer-device-precision`), because INT8 there shifts boxes and scores visibly. TensorRT names the
layers of an ONNX network after its nodes, so the node names are the layer names.
"""

from __future__ import annotations

import onnx

from taostream.converter.trt_support import plugin_op

NMS_PLUGINS = frozenset({"NMS_TRT", "NMSDynamic_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT", "EfficientNMS_TRT"})
# Nodes whose inputs give only a batch size (BatchTile repeats constant priors per image): the walk
# includes them but does not follow their inputs into the backbone.
SHAPE_ONLY = frozenset({"BatchTilePlugin_TRT"})
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})


def node_label(node: onnx.NodeProto) -> str:
    """The layer name TensorRT gives an ONNX node: its name, or its first output's when unnamed."""
    return node.name or node.output[0]


def decode_layers(model: onnx.ModelProto) -> list[str]:
    """Layers feeding the NMS plugin(s), walking back from them and stopping at (and including) the
    first weighted layer on each path; file order. Empty when the graph has no NMS plugin."""
    producers = {output: node for node in model.graph.node for output in node.output}
    stack = [node for node in model.graph.node if plugin_op(node.op_type) in NMS_PLUGINS]
    nms = {id(node) for node in stack}
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        for name in node.input:
            producer = producers.get(name)
            if producer is None or id(producer) in seen or id(producer) in nms:
                continue
            seen.add(id(producer))
            if producer.op_type not in WEIGHTED_OPS and plugin_op(producer.op_type) not in SHAPE_ONLY:
                stack.append(producer)
    # Plugin layers keep their own precision; only standard layers are named.
    return [node_label(node) for node in model.graph.node if id(node) in seen and plugin_op(node.op_type) is None]
