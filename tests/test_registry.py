"""The networks registry holds FACTS.md section 2 and 3 facts, once."""

from __future__ import annotations

import pytest

from taostream.converter import registry, trt_support
from taostream.converter.errors import UnknownNetworkError

ALL = ["classification", "detectnet_v2", "faster_rcnn", "ssd", "dssd", "retinanet", "yolo_v3", "yolo_v4", "mask_rcnn", "efficientdet",
       "lprnet"]


def test_every_network_of_the_facts_is_registered():
    assert sorted(registry.network_names()) == sorted(ALL)


@pytest.mark.parametrize(
    "spelling, name",
    [
        ("yolov3", "yolo_v3"), ("YOLO_V3", "yolo_v3"), ("yolov4", "yolo_v4"), ("yolo_v4_tiny", "yolo_v4"),
        ("frcnn", "faster_rcnn"), ("FasterRCNN", "faster_rcnn"), ("faster-rcnn", "faster_rcnn"),
        ("detectnet_v2", "detectnet_v2"), ("DetectNet_v2", "detectnet_v2"), ("mask_rcnn", "mask_rcnn"),
        ("maskrcnn", "mask_rcnn"), ("retinanet", "retinanet"), ("efficientdet_tf1", "efficientdet"),
        ("classification_tf1", "classification"), ("ssd", "ssd"), ("dssd", "dssd"),
    ],
)
def test_tao_and_tlt_spellings(spelling, name):
    assert registry.get_network(spelling).name == name


def test_unknown_network_names_the_choices():
    with pytest.raises(UnknownNetworkError, match="yolo_v3"):
        registry.get_network("yolov9")


@pytest.mark.parametrize(
    "name, blob, outputs_onnx, color, scale, offsets",
    [
        ("detectnet_v2", "input_1", ("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"), "RGB", 1 / 255, ()),
        ("ssd", "Input", ("NMS", "NMS_1"), "BGR", 1.0, (103.939, 116.779, 123.68)),
        ("yolo_v3", "Input", ("BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"), "BGR", 1.0, (103.939, 116.779, 123.68)),
        ("faster_rcnn", "input_image", ("nms_out", "nms_out_1"), "BGR", 1.0, (103.939, 116.779, 123.68)),
        ("mask_rcnn", "Input", ("generate_detections", "mask_fcn_logits/BiasAdd"), "RGB", 0.017507, (123.675, 116.28, 103.53)),
        ("classification", "input_1", ("predictions/Softmax",), "BGR", 1.0, (103.939, 116.779, 123.68)),
    ],
)
def test_input_and_output_facts(name, blob, outputs_onnx, color, scale, offsets):
    net = registry.get_network(name)
    assert (net.input_blob, net.outputs_onnx, net.color) == (blob, outputs_onnx, color)
    assert net.net_scale_factor == pytest.approx(scale, rel=1e-6)
    assert net.offsets == pytest.approx(offsets)


@pytest.mark.parametrize(
    "name, parser, cluster_mode, network_type",
    [
        ("yolo_v3", "NvDsInferParseCustomBatchedNMSTLT", 3, 0),
        ("yolo_v4", "NvDsInferParseCustomBatchedNMSTLT", 3, 0),
        ("ssd", "NvDsInferParseCustomNMSTLT", None, 0),
        ("retinanet", "NvDsInferParseCustomNMSTLT", None, 0),
        ("faster_rcnn", "NvDsInferParseCustomNMSTLT", None, 0),
        ("mask_rcnn", "NvDsInferParseCustomMrcnnTLTV2", 4, 3),
        ("efficientdet", "NvDsInferParseCustomEfficientDetTAO", 4, 0),
        ("detectnet_v2", "NvDsInferParseCustomDetectNetV2TAO", 2, 0),
    ],
)
def test_parser_and_clustering(name, parser, cluster_mode, network_type):
    net = registry.get_network(name)
    assert net.parser_function == parser
    assert net.network_type == network_type
    if cluster_mode is not None:
        assert net.cluster_mode == cluster_mode


def test_legacy_tlt2_parser_names():
    assert registry.get_network("ssd").legacy_parser_function == "NvDsInferParseCustomSSDTLT"
    assert registry.get_network("yolo_v3").legacy_parser_function == "NvDsInferParseCustomYOLOV3TLT"
    assert registry.get_network("faster_rcnn").legacy_parser_function == "NvDsInferParseCustomFrcnnTLT"
    assert registry.get_network("mask_rcnn").legacy_parser_function == "NvDsInferParseCustomMrcnnTLT"


@pytest.mark.parametrize("name", ALL)
def test_plugins_agree_with_the_tensorrt_table(name):
    net = registry.get_network(name)
    for op in (*net.plugins_onnx, *net.plugins_uff):
        support = trt_support.PLUGINS[trt_support.plugin_op(op)]
        assert name in support.needed_by, (op, name)


@pytest.mark.parametrize(
    "op, version, removed",
    [
        ("BatchTilePlugin_TRT", "11", True), ("BatchTilePlugin_TRT", "10.3.0", False), ("NMSDynamic_TRT", "11.4", True),
        ("BatchedNMSDynamic_TRT", "8.6.1", False), ("ProposalDynamic", "11", True), ("CropAndResizeDynamic", "11", True),
        ("ResizeNearest_TRT", "11", False), ("GenerateDetection_TRT", "11", False), ("EfficientNMS_TRT", "11", False),
        ("_BatchTilePlugin_TRT", "11", True), ("Conv", "11", False),
    ],
)
def test_plugin_removal_by_version(op, version, removed):
    assert trt_support.removed_in(op, version) is removed


def test_recognise_graph_signatures():
    assert registry.recognise(["input_1"], ["output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"]).name == "detectnet_v2"
    assert registry.recognise(["input_image"], ["nms_out", "nms_out_1"]).name == "faster_rcnn"
    assert registry.recognise(["input_image"], ["dense_class_td/Softmax", "dense_regress_td/BiasAdd", "proposal"]).name == "faster_rcnn"
    assert registry.recognise(["Input"], ["generate_detections", "mask_fcn_logits/BiasAdd"]).name == "mask_rcnn"
    assert registry.recognise(["x"], ["y"]) is None


def test_label_rules_and_background():
    assert registry.get_network("ssd").background_position == "first"
    assert registry.get_network("faster_rcnn").background_position == "last"
    assert registry.get_network("yolo_v4").background_position == "none"
    assert {n.label_rule for n in registry.NETWORKS} == {
        "classmap", "detectnet_v2", "faster_rcnn", "ssd", "yolo", "mask_rcnn", "efficientdet", "characters"
    }


def test_recognise_prefers_the_exact_plugin_set():
    outputs = ["BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"]
    assert registry.recognise(["Input"], outputs, {"BatchedNMSDynamic_TRT"}).name == "yolo_v4"
    assert registry.recognise(["Input"], outputs, {"BatchTilePlugin_TRT", "ResizeNearest_TRT", "BatchedNMSDynamic_TRT"}).name == "yolo_v3"


def test_only_yolo_pins_its_decode_in_fp32_under_int8():
    assert {n.name for n in registry.NETWORKS if n.int8_fp32_decode} == {"yolo_v3", "yolo_v4"}
