"""decode_layers: the part of a detector between its head convolutions and its NMS plugin."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.modernize.regions import decode_layers


def _weights(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def yolo_like():
    """backbone conv -> relu -> head conv -> reshape -> sigmoid -> mul -> BatchedNMS, with priors tiled
    by BatchTile from the backbone feature (a batch-size-only input)."""
    nodes = [
        helper.make_node("Conv", ["Input", "w0"], ["feat"], name="backbone/conv"),
        helper.make_node("Relu", ["feat"], ["feat_relu"], name="backbone/relu"),
        helper.make_node("Conv", ["feat_relu", "w1"], ["head"], name="conv_big_object"),
        helper.make_node("Reshape", ["head", "shape"], ["flat"], name="bg_reshape"),
        helper.make_node("Sigmoid", ["flat"], ["prob"], name="cls/Sigmoid"),
        helper.make_node("Mul", ["prob", "prob"], ["score"], name="cls/mul"),
        helper.make_node("BatchTilePlugin_TRT", ["feat_relu", "anchors"], ["tiled"], name="anchor_tile"),
        helper.make_node("Add", ["tiled", "flat"], ["boxes"]),  # unnamed: TensorRT names it after its output
        helper.make_node("BatchedNMSDynamic_TRT", ["boxes", "score"], ["BatchedNMS"], name="nms"),
    ]
    inits = [_weights("w0", [4, 3, 3, 3]), _weights("w1", [4, 4, 1, 1]), _weights("anchors", [1, 4]),
             numpy_helper.from_array(np.array([0, -1], np.int64), "shape")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("Input", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("BatchedNMS", TensorProto.INT32, ["N", 1])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_decode_region_stops_at_the_head_convs_and_skips_the_backbone():
    assert decode_layers(yolo_like()) == ["conv_big_object", "bg_reshape", "cls/Sigmoid", "cls/mul", "boxes"]


def test_no_nms_plugin_means_no_region():
    model = yolo_like()
    for node in model.graph.node:
        if node.name == "nms":
            node.op_type = "Identity"
    assert decode_layers(model) == []


def test_yolo_samples_keep_box_and_class_decode():
    from taostream.converter.samples.write import make_sample_model

    for network in ("yolo_v3", "yolo_v4"):
        layers = decode_layers(make_sample_model(network))
        assert {"cls/mul", "box/Exp", "encoded_detections/concat"} <= set(layers), network
        assert not any(name.startswith("block_") for name in layers), network  # no backbone layer
