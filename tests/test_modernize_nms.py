"""NMS_TRT / NMSDynamic_TRT -> standard ONNX: the numpy reference against hand-worked cases, then the
rewrite (run in ONNX Runtime) against the reference on random inputs and edge cases."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import modernize_graphs as mg
from taostream.plugins import reference as pluginref
from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.nms import replace_nms

NMS_OPS = ("NMS_TRT", "NMSDynamic_TRT")


def _hand_inputs():
    """3 priors, classes (background, 1, 2), CORNER code with unit variances and zero offsets, so the
    decoded boxes are the priors. Image 0: A and B overlap (IoU 0.77), C reaches y2 = 1.2 and ties at
    0.5 between classes 1 and 2. Image 1: every score under the threshold."""
    boxes = np.array([[0.1, 0.1, 0.4, 0.4], [0.12, 0.12, 0.42, 0.42], [0.6, 0.6, 0.9, 1.2]], np.float32)
    prior = np.stack([boxes.reshape(-1), np.ones(12, np.float32)])[None, :, :, None]
    prior = np.repeat(prior, 2, axis=0)
    conf = np.array([[[0.1, 0.8, 0.1], [0.1, 0.7, 0.2], [0.0, 0.5, 0.5]],
                     [[0.9, 0.1, 0.0], [0.9, 0.0, 0.1], [0.8, 0.2, 0.0]]], np.float32)
    feeds = {"prior": prior, "loc": np.zeros((2, 12, 1, 1), np.float32), "conf": conf.reshape(2, 9, 1, 1)}
    attrs = dict(codeType=0, numClasses=3, topK=4, keepTopK=4, confidenceThreshold=0.3, nmsThreshold=0.5)
    return feeds, attrs


def test_reference_hand_worked_case():
    feeds, attrs = _hand_inputs()
    model = mg.nms_model(3, 3, 4, **attrs)
    out = pluginref.run_with_plugin_references(model, feeds)
    expected = np.array([
        [0, 1, 0.8, 0.1, 0.1, 0.4, 0.4],  # A, class 1; B suppressed by A
        [0, 1, 0.5, 0.6, 0.6, 0.9, 1.0],  # C, class 1 (tie at 0.5: lower class first), y2 clamped
        [0, 2, 0.5, 0.6, 0.6, 0.9, 1.0],  # C, class 2 (NMS is per class)
        [0, -1, 0, 0, 0, 0, 0],           # padding row
    ], np.float32)
    np.testing.assert_allclose(out["NMS"][0, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(out["NMS"][1, 0], [[1, -1, 0, 0, 0, 0, 0]] * 4)
    assert out["NMS_1"].dtype == np.float32 and out["NMS_1"].shape == (2, 1, 1, 1)
    assert out["NMS_1"].view(np.int32).ravel().tolist() == [3, 0]  # int32 bits in an FP32 tensor


def test_rewrite_matches_hand_worked_case():
    feeds, attrs = _hand_inputs()
    model = mg.apply_rewrite(mg.nms_model(3, 3, 4, **attrs), replace_nms, NMS_OPS)
    out = mg.run_onnxruntime(model, feeds)
    assert out["NMS_1"].view(np.int32).ravel().tolist() == [3, 0]
    assert out["NMS"][0, 0, 2].tolist() == pytest.approx([0, 2, 0.5, 0.6, 0.6, 0.9, 1.0])


def test_decode_center_size_against_formula():
    """CENTER_SIZE (codeType 1, TAO's): centre += var * t * prior size, size *= exp(var * t)."""
    prior = np.array([0.2, 0.2, 0.6, 0.4], np.float32)  # centre (0.4, 0.3), size (0.4, 0.2)
    loc = np.array([1.0, -1.0, np.log(2) / 0.2, 0.0], np.float32)
    box = pluginref.decode_ssd_boxes(loc, prior, np.array([0.1, 0.1, 0.2, 0.2], np.float32), 1, False)
    # centre x 0.4 + 0.1*1*0.4 = 0.44, y 0.3 - 0.1*0.2 = 0.28, w 0.8, h 0.2
    np.testing.assert_allclose(box, [0.04, 0.18, 0.84, 0.38], atol=1e-6)


def _compare(model: onnx.ModelProto, feeds: dict, atol: float = 1e-5) -> dict:
    expected = pluginref.run_with_plugin_references(model, feeds)
    rewritten = mg.apply_rewrite(model, replace_nms, NMS_OPS)
    assert not mg.op_types(rewritten) & set(NMS_OPS)
    onnx.checker.check_model(rewritten, full_check=True)
    got = mg.run_onnxruntime(rewritten, feeds)
    np.testing.assert_array_equal(got["NMS_1"].view(np.int32), expected["NMS_1"].view(np.int32))
    np.testing.assert_allclose(got["NMS"], expected["NMS"], atol=atol)
    assert got["NMS"].dtype == np.float32 and got["NMS"].shape == expected["NMS"].shape
    return expected


@pytest.mark.parametrize("share_location", [1, 0])
@pytest.mark.parametrize("background", [0, -1, 3])
def test_share_location_and_background(share_location, background):
    rng = np.random.default_rng(10 * share_location + background + 1)
    model = mg.nms_model(60, 4, 12, shareLocation=share_location, backgroundLabelId=background,
                         confidenceThreshold=0.2, topK=20)
    expected = _compare(model, mg.nms_feeds(3, 60, 4, rng, share_location=bool(share_location)))
    counts = expected["NMS_1"].view(np.int32).ravel()
    assert (counts == 12).all()  # more candidates than keepTopK
    labels = expected["NMS"][..., 1]
    assert background not in labels[labels >= 0]


@pytest.mark.parametrize("code_type", [0, 1, 2, 3])
@pytest.mark.parametrize("variance_in_target", [0, 1])
def test_code_types(code_type, variance_in_target):
    rng = np.random.default_rng(code_type * 2 + variance_in_target)
    feeds = mg.nms_feeds(2, 40, 3, rng)
    feeds["loc"] *= np.float32(0.3)
    model = mg.nms_model(40, 3, 10, codeType=code_type, varianceEncodedInTarget=variance_in_target)
    _compare(model, feeds)


def test_equal_scores_keep_the_plugins_stable_order():
    """Scores on a 0.25 grid: many ties within and across classes. Rule: equal scores order by class,
    then by prior index (the plugin's stable radix sorts); NMS visits tied boxes by prior index."""
    rng = np.random.default_rng(7)
    feeds = mg.nms_feeds(2, 50, 4, rng)
    feeds["conf"] = (rng.integers(0, 5, size=feeds["conf"].shape) / 4).astype(np.float32)
    expected = _compare(mg.nms_model(50, 4, 30, confidenceThreshold=0.3, topK=40), feeds)
    rows = expected["NMS"][0, 0]
    valid = rows[rows[:, 1] >= 0]
    for earlier, later in zip(valid, valid[1:]):  # the rule itself, on the reference output
        assert earlier[2] > later[2] or (earlier[2] == later[2] and earlier[1] <= later[1])


def test_no_box_above_threshold():
    rng = np.random.default_rng(3)
    expected = _compare(mg.nms_model(30, 3, 8, confidenceThreshold=0.999), mg.nms_feeds(2, 30, 3, rng))
    assert expected["NMS_1"].view(np.int32).ravel().tolist() == [0, 0]
    np.testing.assert_array_equal(expected["NMS"][1, 0, :, 1:], [[-1, 0, 0, 0, 0, 0]] * 8)


def test_conf_sigmoid_and_pixel_boxes_with_caffe_iou():
    """confSigmoid on raw logits; isNormalized 0: the +1-pixel IoU (boxes in pixels, then clamped)."""
    rng = np.random.default_rng(5)
    feeds = mg.nms_feeds(2, 40, 3, rng, normalized=False, softmax=False)
    _compare(mg.nms_model(40, 3, 10, confSigmoid=1, isNormalized=0, confidenceThreshold=0.5), feeds)


def test_static_plugin_with_one_prior_set_for_the_batch():
    """NMS_TRT (static, batch-agnostic) reads one prior set for every image of the batch."""
    rng = np.random.default_rng(9)
    feeds = mg.nms_feeds(3, 30, 3, rng)
    feeds["prior"] = feeds["prior"][:1]
    model = mg.nms_model(30, 3, 10, op="NMS_TRT")
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    _compare(model, feeds)


def test_dynamic_batch_one_file_many_batch_sizes():
    rewritten = mg.apply_rewrite(mg.nms_model(30, 3, 10), replace_nms, NMS_OPS)
    for batch in (1, 4):
        feeds = mg.nms_feeds(batch, 30, 3, np.random.default_rng(batch))
        expected = pluginref.run_with_plugin_references(mg.nms_model(30, 3, 10), feeds)
        got = mg.run_onnxruntime(rewritten, feeds)
        assert got["NMS"].shape == (batch, 1, 10, 7)
        np.testing.assert_allclose(got["NMS"], expected["NMS"], atol=1e-5)


def test_opset_11_graph():
    rng = np.random.default_rng(11)
    _compare(mg.nms_model(30, 3, 10, opset=11), mg.nms_feeds(2, 30, 3, rng))


def test_keep_top_k_above_top_k_is_refused():
    model = mg.nms_model(30, 3, 10, topK=5)
    with pytest.raises(UnsupportedOpError, match="keepTopK"):
        mg.apply_rewrite(model, replace_nms, NMS_OPS)


def test_prior_count_unknown_to_the_graph():
    """No static prior count: the per-class TopK takes k = min(topK, P) at run time."""
    model = mg.nms_model(30, 3, 10, topK=50)
    for tensor in model.graph.input:
        tensor.type.tensor_type.shape.dim[1 if tensor.name != "prior" else 2].dim_param = "unknown"
    rng = np.random.default_rng(12)
    _compare(model, mg.nms_feeds(2, 30, 3, rng))
    _compare(mg.nms_model(30, 3, 10, topK=12), mg.nms_feeds(2, 30, 3, rng))


def test_keep_top_k_larger_than_all_candidates():
    """keepTopK 8 with 3 priors x 2 classes: every slot past the candidates is padding."""
    rng = np.random.default_rng(13)
    feeds = mg.nms_feeds(2, 3, 2, rng)
    feeds["conf"][:] = 0.6
    expected = _compare(mg.nms_model(3, 2, 8, topK=8, backgroundLabelId=-1, nmsThreshold=1.0), feeds)
    assert expected["NMS_1"].view(np.int32).ravel().tolist() == [6, 6]
    assert (expected["NMS"][:, 0, 6:, 1] == -1).all()


def test_score_equal_to_the_threshold_is_not_a_candidate():
    """sortScoresPerClass keeps score > confidenceThreshold: a score equal to it is dropped."""
    feeds, attrs = _hand_inputs()
    feeds["conf"] = np.where(feeds["conf"] == np.float32(0.5), np.float32(0.3), feeds["conf"]).astype(np.float32)
    expected = _compare(mg.nms_model(3, 3, 4, **attrs), feeds)
    assert expected["NMS_1"].view(np.int32).ravel().tolist() == [1, 0]  # only A (0.8); C's 0.3s are out
