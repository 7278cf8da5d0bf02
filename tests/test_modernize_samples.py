"""Every sample network (taostream.converter.samples.write) modernized for TensorRT 11 (and ONNX Runtime):
no plugin the target lacks remains, onnx.checker passes, the graph runs, and its outputs match the
ORIGINAL graph run with the numpy plugin references."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import modernize_graphs as mg
from taostream.plugins import reference as pluginref
from taostream.converter.modernize.apply import modernize, tensorrt_topk_violations
from taostream.converter.registry import NETWORKS, get_network
from taostream.converter.samples.write import make_sample_model
from taostream.converter.trt_support import PLUGINS, plugin_op
from taostream.parsers.reference import DecodeParams, decode

NAMES = [net.name for net in NETWORKS]
# FasterRCNN's Proposal/CropAndResize rewrites are part B's (tests/test_modernize_frcnn.py); here its
# NMS is checked on the tensors that reach it in the modernized graph.
END_TO_END = [name for name in NAMES if name not in ("faster_rcnn", "mask_rcnn")]


@pytest.fixture(scope="module")
def samples() -> dict[str, onnx.ModelProto]:
    return {name: make_sample_model(name) for name in NAMES}


def _feeds(model: onnx.ModelProto, batch: int = 2) -> dict[str, np.ndarray]:
    (inp,) = model.graph.input
    shape = [batch if d.dim_param else d.dim_value for d in inp.type.tensor_type.shape.dim]
    return {inp.name: np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)}


def _assert_same(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
        if name.startswith("NMS_1") or name == "nms_out_1":  # int32 bits in an FP32 tensor
            np.testing.assert_array_equal(got[name].view(np.int32), value.view(np.int32), err_msg=name)
        else:
            np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("name", NAMES)
def test_trt11_has_no_removed_plugin_and_passes_the_checker(samples, name):
    model, report = modernize(samples[name], "11")
    removed = [n.op_type for n in model.graph.node
               if plugin_op(n.op_type) and not PLUGINS[plugin_op(n.op_type)].shipped_in("11")]
    assert not removed
    assert report.checker.startswith("passed")
    assert tensorrt_topk_violations(model) == []  # every TopK builds on TensorRT (k <= 3840)
    assert not any("TopK" in note for note in report.notes)
    assert [o.name for o in model.graph.output] == [o.name for o in samples[name].graph.output]
    for before, after in zip(samples[name].graph.output, model.graph.output):
        assert before.type.tensor_type.elem_type == after.type.tensor_type.elem_type
    if name == "mask_rcnn":
        assert {s.op for s in report.kept} >= {"GenerateDetection_TRT", "MultilevelProposeROI_TRT"}


@pytest.mark.parametrize("name", END_TO_END)
def test_outputs_match_the_plugin_references(samples, name):
    """TensorRT 11 graph (kept plugins run with their references) and the all-standard ONNX Runtime
    graph, both against the original graph."""
    original, feeds = samples[name], _feeds(samples[name])
    expected = pluginref.run_with_plugin_references(original, feeds)
    trt11, _ = modernize(original, "11")
    _assert_same(pluginref.run_with_plugin_references(trt11, feeds), expected)
    portable, report = modernize(original, "ort")
    assert not report.kept
    assert tensorrt_topk_violations(portable) == []  # EfficientDet's top 5000: TopKs of 3840 + 1160
    _assert_same(mg.run_onnxruntime(portable, feeds), expected)


def test_faster_rcnn_nms_on_the_tensors_that_reach_it(samples):
    original = samples["faster_rcnn"]
    nms = next(n for n in original.graph.node if n.op_type == "NMSDynamic_TRT")
    modernized, _ = modernize(original, "11")
    assert not mg.op_types(modernized) & {"NMSDynamic_TRT", "ProposalDynamic", "CropAndResizeDynamic"}
    for name in nms.input:
        modernized.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    got = mg.run_onnxruntime(modernized, _feeds(original))
    attrs = {a.name: helper.get_attribute_value(a) for a in nms.attribute}
    detections, count = pluginref.nms_reference(attrs, [got[name] for name in nms.input])
    np.testing.assert_allclose(got["nms_out"], detections, atol=2e-5)
    np.testing.assert_array_equal(got["nms_out_1"].view(np.int32), count.view(np.int32))


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Real photos (scikit-image's public-domain astronaut and coffee), BGR as a user's files load."""
    import cv2

    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the public-domain test photos")
    return [cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR), cv2.cvtColor(skimage_data.coffee(), cv2.COLOR_RGB2BGR)]


# the networks whose TAO export holds plugins the modernizer rewrites (MaskRCNN keeps its own)
REWRITTEN = [net.name for net in NETWORKS if net.plugins_onnx and net.name != "mask_rcnn"]


@pytest.mark.parametrize("name", REWRITTEN)
def test_outputs_match_the_plugin_references_on_real_photos(samples, photos, name):
    """The same comparison on what a deployment feeds the model: two real photos preprocessed as the
    network's nvinfer config says (scale, offsets, colour order, letterbox), one batch. Random inputs in
    [-1, 1] are far from these (BGR means subtracted from 0..255 pixels)."""
    from taostream.converter.model.preprocess import preprocess_image

    original = samples[name]
    feeds = {original.graph.input[0].name: np.stack([preprocess_image(photo, name) for photo in photos])}
    expected = pluginref.run_with_plugin_references(original, feeds)
    portable, report = modernize(original, "ort")
    assert not report.kept
    got = mg.run_onnxruntime(portable, feeds)
    if name == "faster_rcnn":  # its rewrite's own tolerance (test_modernize_frcnn): crops on the border
        assert set(got) == set(expected)
        for output in got:
            np.testing.assert_allclose(got[output], expected[output], atol=1e-4, err_msg=output)
    else:
        _assert_same(got, expected)
    # Not vacuous: the plugin graph's outputs hold detections (random weights: confidence 0.05 and up).
    net = get_network(name)
    _, height, width = net.default_dims
    found = decode(net, expected, width, height, DecodeParams.uniform(1024, 0.05), batched=True)
    assert sum(map(len, found)) >= 1, name
