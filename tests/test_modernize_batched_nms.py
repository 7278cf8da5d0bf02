"""BatchedNMS(Dynamic)_TRT and EfficientNMS_TRT -> standard ONNX: references against hand-worked cases,
rewrites (ONNX Runtime) against the references on random inputs and edge cases."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import modernize_graphs as mg
from taostream.plugins import reference as pluginref
from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.nms import replace_batched_nms, replace_efficient_nms

BATCHED_OPS = ("BatchedNMS_TRT", "BatchedNMSDynamic_TRT")
BATCHED_OUT = ("BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3")
EFFICIENT_OUT = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")


def _compare(model, feeds, rewrite, ops, names, atol=1e-5):
    expected = pluginref.run_with_plugin_references(model, feeds)
    rewritten = mg.apply_rewrite(model, rewrite, ops)
    assert not mg.op_types(rewritten) & set(ops)
    onnx.checker.check_model(rewritten, full_check=True)
    got = mg.run_onnxruntime(rewritten, feeds)
    for name in names:
        assert got[name].dtype == expected[name].dtype and got[name].shape == expected[name].shape, name
        np.testing.assert_allclose(got[name], expected[name], atol=atol, err_msg=name)
    return expected


# ----------------------------------------------------------------------------- BatchedNMS

def test_batched_reference_hand_worked_case():
    """Box 0 and 1 overlap (IoU 0.78 > 0.5); box 2 pokes out of [0, 1]; class 1 ties class 0."""
    boxes = np.array([[[[0.0, 0.0, 0.4, 0.4]], [[0.0, 0.05, 0.4, 0.45]], [[0.5, 0.5, 1.3, 0.9]]]], np.float32)
    scores = np.array([[[0.9, 0.1], [0.8, 0.2], [0.6, 0.6]]], np.float32)
    feeds = {"boxes": boxes, "scores": scores}
    for clip, box2 in ((1, [0.5, 0.5, 1.0, 0.9]), (0, [0.5, 0.5, 1.3, 0.9])):
        model = mg.batched_nms_model(3, 2, 4, clipBoxes=clip, topK=4)
        out = pluginref.run_with_plugin_references(model, feeds)
        assert out["BatchedNMS"].tolist() == [[3]] and out["BatchedNMS"].dtype == np.int32
        np.testing.assert_allclose(out["BatchedNMS_1"][0], [[0, 0, 0.4, 0.4], box2, box2, [0, 0, 0, 0]], atol=1e-6)
        np.testing.assert_allclose(out["BatchedNMS_2"][0], [0.9, 0.6, 0.6, 0], atol=1e-6)
        np.testing.assert_array_equal(out["BatchedNMS_3"][0], [0, 0, 1, -1])
        got = mg.run_onnxruntime(mg.apply_rewrite(model, replace_batched_nms, BATCHED_OPS), feeds)
        np.testing.assert_allclose(got["BatchedNMS_1"], out["BatchedNMS_1"], atol=1e-6)
        np.testing.assert_array_equal(got["BatchedNMS_3"], out["BatchedNMS_3"])


@pytest.mark.parametrize("op", BATCHED_OPS)
@pytest.mark.parametrize("share_location", [1, 0])
def test_batched_random(op, share_location):
    rng = np.random.default_rng(2 * share_location + len(op))
    model = mg.batched_nms_model(80, 3, 20, op=op, shareLocation=share_location, topK=30)
    feeds = mg.batched_nms_feeds(3, 80, 3, rng, share_location=bool(share_location))
    expected = _compare(model, feeds, replace_batched_nms, BATCHED_OPS, BATCHED_OUT)
    assert expected["BatchedNMS"].shape == ((3, 1) if op == "BatchedNMSDynamic_TRT" else (3,))
    assert (expected["BatchedNMS"] == 20).all()  # more candidates than keepTopK


def test_static_plugin_count_keeps_the_declared_rank():
    """The UFF translator declares a static BatchedNMS_TRT count as [N, 1] (the plugin's implicit-batch
    [N] in an explicit-batch graph): the runner and the rewrite both follow the graph."""
    model = mg.batched_nms_model(40, 2, 10, op="BatchedNMS_TRT")
    model.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 1
    feeds = mg.batched_nms_feeds(2, 40, 2, np.random.default_rng(8))
    expected = _compare(model, feeds, replace_batched_nms, BATCHED_OPS, BATCHED_OUT)
    assert expected["BatchedNMS"].shape == (2, 1)


@pytest.mark.parametrize("clip", [1, 0])
def test_batched_clip_boxes_and_background(clip):
    rng = np.random.default_rng(clip)
    feeds = mg.batched_nms_feeds(2, 50, 4, rng)
    feeds["boxes"] = feeds["boxes"] * np.float32(1.5) - np.float32(0.2)  # boxes reach outside [0, 1]
    model = mg.batched_nms_model(50, 4, 15, clipBoxes=clip, backgroundLabelId=2)
    expected = _compare(model, feeds, replace_batched_nms, BATCHED_OPS, BATCHED_OUT)
    inside = (expected["BatchedNMS_1"] >= 0).all() and (expected["BatchedNMS_1"] <= 1).all()
    assert inside == bool(clip)
    assert 2 not in expected["BatchedNMS_3"]


def test_batched_ties_nothing_above_threshold_and_pixel_boxes():
    rng = np.random.default_rng(4)
    feeds = mg.batched_nms_feeds(2, 60, 3, rng, scale=400.0)
    feeds["scores"] = (rng.integers(0, 4, size=feeds["scores"].shape) / 3).astype(np.float32)
    feeds["scores"][1] = 0.1  # image 1: nothing above the threshold
    model = mg.batched_nms_model(60, 3, 25, isNormalized=0, clipBoxes=0, topK=40)
    expected = _compare(model, feeds, replace_batched_nms, BATCHED_OPS, BATCHED_OUT)
    assert expected["BatchedNMS"][1, 0] == 0 and (expected["BatchedNMS_3"][1] == -1).all()


def test_batched_unreproducible_iou_mode_is_refused():
    model = mg.batched_nms_model(10, 2, 5, isNormalized=0, caffeSemantics=0)
    with pytest.raises(UnsupportedOpError, match="caffeSemantics"):
        mg.apply_rewrite(model, replace_batched_nms, BATCHED_OPS)


# ----------------------------------------------------------------------------- EfficientNMS

def _efficient_feeds(rng, batch, anchors, classes, per_class=False, anchors_input=False, coding=0):
    feeds = mg.batched_nms_feeds(batch, anchors, classes, rng)
    boxes = feeds["boxes"].reshape(batch, anchors, 4)
    if per_class:
        boxes = boxes[:, :, None, :] + rng.normal(0, 0.02, (batch, anchors, classes, 4)).astype(np.float32)
    if coding == 1:
        boxes = rng.normal(0, 0.3, boxes.shape).astype(np.float32) if anchors_input else \
            np.concatenate([rng.uniform(0.2, 0.8, (batch, anchors, 2)), rng.uniform(0.05, 0.4, (batch, anchors, 2))], -1)
    feeds["boxes"] = boxes.astype(np.float32)
    if anchors_input:
        anchor_boxes = mg.batched_nms_feeds(1, anchors, 1, rng)["boxes"].reshape(1, anchors, 4)
        if coding == 1:  # centre-size anchors
            anchor_boxes = np.concatenate([(anchor_boxes[..., :2] + anchor_boxes[..., 2:]) / 2,
                                           anchor_boxes[..., 2:] - anchor_boxes[..., :2]], -1)
        feeds["anchors"] = anchor_boxes.astype(np.float32)
    return feeds


def test_efficient_reference_hand_worked_case():
    """IoU exactly 0.5 suppresses (the plugin's >=); a score equal to the threshold is kept (>=);
    padding is 0 (classes too); centre-size boxes come out as corners."""
    boxes = np.array([[[0.5, 0.5, 0.5, 0.5], [0.5, 0.375, 0.5, 0.25], [0.2, 0.2, 0.2, 0.2]]], np.float32)
    scores = np.array([[[0.9], [0.8], [0.3]]], np.float32)
    model = mg.efficient_nms_model(3, 1, 4, box_coding=1, score_threshold=0.3)
    feeds = {"boxes": boxes, "scores": scores}
    out = pluginref.run_with_plugin_references(model, feeds)
    assert out["num_detections"].tolist() == [[2]]
    np.testing.assert_allclose(out["detection_boxes"][0], [[0.25, 0.25, 0.75, 0.75], [0.1, 0.1, 0.3, 0.3], [0] * 4, [0] * 4])
    np.testing.assert_allclose(out["detection_scores"][0], [0.9, 0.3, 0, 0])
    np.testing.assert_array_equal(out["detection_classes"][0], [0, 0, 0, 0])
    got = mg.run_onnxruntime(mg.apply_rewrite(model, replace_efficient_nms, ("EfficientNMS_TRT",)), feeds)
    for name in EFFICIENT_OUT:
        np.testing.assert_allclose(got[name], out[name], atol=1e-6, err_msg=name)


@pytest.mark.parametrize("case", [
    dict(),
    dict(anchors_input=True),
    dict(anchors_input=True, coding=1),
    dict(per_class=True),
    dict(class_agnostic=1),
    dict(score_activation=1, background_class=0),
    dict(background_class=2, max_output=60),
    dict(score_threshold=0.9999),  # nothing above the threshold
])
def test_efficient_random(case):
    rng = np.random.default_rng(len(str(case)))
    case = dict(case)
    anchors_input, coding, per_class = case.pop("anchors_input", False), case.pop("coding", 0), case.pop("per_class", False)
    max_output = case.pop("max_output", 20)
    model = mg.efficient_nms_model(90, 4, max_output, anchors=anchors_input, per_class_boxes=per_class,
                                   box_coding=coding, **case)
    feeds = _efficient_feeds(rng, 3, 90, 4, per_class, anchors_input, coding)
    if case.get("score_activation"):
        feeds["scores"] = rng.normal(-1, 2, feeds["scores"].shape).astype(np.float32)
    expected = _compare(model, feeds, replace_efficient_nms, ("EfficientNMS_TRT",), EFFICIENT_OUT)
    if case.get("score_threshold"):
        assert (expected["num_detections"] == 0).all() and not expected["detection_boxes"].any()
    if case.get("background_class", -1) >= 0:
        valid = np.arange(max_output)[None, :] < expected["num_detections"]
        assert case["background_class"] not in expected["detection_classes"][valid]


def test_efficient_class_agnostic_with_per_class_boxes_is_refused():
    model = mg.efficient_nms_model(10, 3, 5, per_class_boxes=True, class_agnostic=1)
    with pytest.raises(UnsupportedOpError, match="class_agnostic"):
        mg.apply_rewrite(model, replace_efficient_nms, ("EfficientNMS_TRT",))
