"""The numpy references of the MaskRCNN plugins (plugins/maskrcnn.py) against cases worked
out by hand from the TensorRT OSS kernels (maskRCNNKernels.cu), and the whole MaskRCNN sample on the CPU."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from taostream.plugins import maskrcnn as mrcnn
from taostream.plugins.reference import reference_for, run_with_plugin_references


def test_the_references_are_registered():
    for op in ("MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT", "GenerateDetection_TRT", "SpecialSlice_TRT"):
        assert reference_for(op) is mrcnn.MASK_RCNN_REFERENCES[op]


# ----------------------------------------------------------------------------- anchors and decode

def test_anchors_are_built_from_the_image_size_in_y_x_ratio_order():
    anchors = mrcnn.level_anchors(2, 8, 8)  # stride 4: centres 2 and 6 on each axis, scale 32
    assert anchors.shape == (2 * 2 * 3, 4)
    np.testing.assert_allclose(anchors[0], [-14, -14, 18, 18])  # (y 2, x 2), ratio (1, 1)
    np.testing.assert_allclose(anchors[1], [2 - 11.2, 2 - 22.4, 2 + 11.2, 2 + 22.4], rtol=1e-6)  # w 44.8, h 22.4
    np.testing.assert_allclose(anchors[2], [2 - 22.4, 2 - 11.2, 2 + 22.4, 2 + 11.2], rtol=1e-6)
    np.testing.assert_allclose(anchors[3], [-14, -10, 18, 22])  # next centre along x: (2, 6)
    np.testing.assert_allclose(anchors[6], [-10, -14, 22, 18])  # then (6, 2)
    assert [len(a) for a in mrcnn.pyramid_anchors(832, 1344)] == [208 * 336 * 3, 104 * 168 * 3, 52 * 84 * 3,
                                                                    26 * 42 * 3, 13 * 21 * 3]


def test_decode_uses_the_plus_one_convention_and_the_weights():
    anchor = np.array([[10, 20, 29, 59]], np.float32)  # h 20, w 40, centre (20, 40)
    delta = np.array([[1.0, -0.5, math.log(2.0), 0.0]], np.float32)
    np.testing.assert_allclose(mrcnn.decode_boxes(anchor, delta, (1, 1, 1, 1), 100, 100),
                               [[20, 0, 59, 39]], atol=1e-4)  # centre (40, 20), size 40 x 40, end = start + size - 1
    scaled = delta * np.array([10, 10, 5, 5], np.float32)
    np.testing.assert_allclose(mrcnn.decode_boxes(anchor, scaled, mrcnn.DETECTION_REG_WEIGHTS, 100, 100),
                               [[20, 0, 59, 39]], atol=1e-4)
    np.testing.assert_allclose(mrcnn.decode_boxes(anchor, delta, (1, 1, 1, 1), 50, 30),
                               [[20, 0, 49, 29]], atol=1e-4)  # clipped to [0, H - 1] x [0, W - 1]
    huge = np.array([[0, 0, 100, 100]], np.float32)  # log-size deltas are capped at log(1000 / 16):
    box = mrcnn.decode_boxes(anchor, huge, (1, 1, 1, 1), 10_000, 10_000)[0]  # h 62.5 * 20, w 62.5 * 40
    np.testing.assert_allclose(box, [0, 0, 20 - 625 + 1250 - 1, 40 - 1250 + 2500 - 1], rtol=1e-5)
    zero = mrcnn.decode_boxes(anchor, np.zeros((1, 4), np.float32), (1, 1, 1, 1), 100, 100)
    np.testing.assert_allclose(zero, anchor, atol=1e-4)


# ----------------------------------------------------------------------------- MultilevelCropAndResize

def test_level_assignment_uses_the_canonical_224_thresholds():
    sides = [(112, 112, 2), (113, 112, 3), (224, 224, 3), (225, 224, 4), (448, 448, 4), (449, 448, 5),
             (896, 896, 5), (897, 896, 6), (3000, 3000, 6), (1, 1, 2)]
    rois = np.array([[0, 0, h, w] for h, w, _ in sides], np.float32)
    assert mrcnn.roi_levels(rois).tolist() == [level for *_, level in sides]


def _ramp_pyramid(size: int) -> list[np.ndarray]:
    """Level k, channel 0: 1000 k + 100 y + x; channel 1: its negative (bilinear is exact on a ramp)."""
    maps = []
    for level in range(2, 7):
        side = size // 2 ** level
        y, x = np.mgrid[0:side, 0:side].astype(np.float32)
        ramp = 1000 * level + 100 * y + x
        maps.append(np.stack([ramp, -ramp])[None])
    return maps


def _crop(rois, size: int, pooled: int = 2) -> np.ndarray:
    attrs = {"pooled_size": pooled, "image_size": [3, size, size]}
    return mrcnn.crop_and_resize_reference(attrs, [np.asarray(rois, np.float32)[None], *_ramp_pyramid(size)])[0][0]


def test_roi_align_samples_bin_centres_on_the_chosen_level():
    out = _crop([[8, 4, 24, 36],  # P2 (area 512), /4: y 2..6, x 1..9 -> samples y 3, 5 and x 3, 7
                 [9, 4, 25, 36],  # y 2.25..6.25 -> 3.25, 5.25 (fractional rows)
                 [0, 0, 128, 128]],  # area 16384 > 112^2 -> P3, /8: 0..16 -> samples 4, 12
                256)
    assert out.shape == (3, 2, 2, 2)
    np.testing.assert_allclose(out[0, 0], [[2303, 2307], [2503, 2507]], rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], -out[0, 0])
    np.testing.assert_allclose(out[1, 0], [[2328, 2332], [2528, 2532]], rtol=1e-6)
    np.testing.assert_allclose(out[2, 0], [[3404, 3412], [1204 + 3000, 1212 + 3000]], rtol=1e-6)


def test_roi_align_clamps_samples_to_the_map_and_skips_invalid_rois():
    out = _crop([[56, 56, 64, 64],  # P2 of a 64-pixel image (16 x 16): samples 14.5 and 15.5 -> clamped to 15
                 [0, 0, 0, 0], [10, 10, 5, 20], [0, 0, 10, 65]], 64)
    np.testing.assert_allclose(out[0, 0], [[2000 + 1450 + 14.5, 2000 + 1450 + 15], [2000 + 1514.5, 2000 + 1515]],
                               rtol=1e-6)
    assert not out[1:].any(), "zero, inverted and out-of-image rois are not written"


# ----------------------------------------------------------------------------- the refine step

def test_sort_keys_quantize_scores_like_the_kernel():
    keys = mrcnn.sort_keys(np.array([0.5, 0.25, 1e-8], np.float32), np.array([1, 2, 2]), 3)
    np.testing.assert_array_equal(keys, np.float32([2.5 + 0.5 + 1, 0.25 + 1, 1.0]))
    scores, labels = mrcnn.scores_from_keys(keys, 3)
    assert labels.tolist() == [1, 2, -1]  # a key of 1 (score lost to rounding) is no candidate
    np.testing.assert_allclose(scores, [0.5, 0.25, 0.0])


def test_scores_from_keys_of_huge_scores_decode_to_no_label_without_an_integer_overflow():
    # Scores of 1e30 and FLT_MAX make keys whose group (key / 2.5) is past int64: converting it was
    # undefined in C++ and CPU-dependent in numpy (x86: INT64_MIN, with a RuntimeWarning). A group of
    # num_classes or more decodes to no label, as every such group did before (a negative label).
    top = np.finfo(np.float32).max
    keys = mrcnn.sort_keys(np.float32([1e30, top, 0.5, 2.0, 1e-45, -1e30]), np.array([1, 2, 2, 2, 2, 2]), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores, labels = mrcnn.scores_from_keys(keys, 3)
        # a group of exactly num_classes (key 8.0, 3.2 groups) and one just below (key 7.25, label 0)
        edge_scores, edge_labels = mrcnn.scores_from_keys(np.float32([8.0, 7.25]), 3)
    assert labels.tolist() == [-1, -1, 2, 1, -1, -1]  # score 2.0 of label 2 is key 3.0: group 1, label 1
    np.testing.assert_array_equal(scores, np.float32([0, 0, 0.5, 0, 0, 0]))  # 3.0 - 2.5 - 1 clamped
    assert edge_labels.tolist() == [-1, 0] and edge_scores.tolist() == [0.0, 1.0]


def test_gather_order_breaks_ties_in_cub_blocked_order():
    # Equal scores at positions 0..5 with 4 threads: position p is thread p % 4's item p // 4, and the
    # blocked order is thread-major: 0, 4, 1, 5, 2, 3.
    scores = np.full(6, 0.5, np.float32)
    assert mrcnn.gather_order(scores, np.ones(6, bool), threads=4).tolist() == [0, 4, 1, 5, 2, 3]
    kept = np.array([True, False, True, True, False, True])
    order = mrcnn.gather_order(np.float32([0.9, 0.8, 0.7, 0.95, 0.6, 0.7]), kept, threads=4)
    assert order.tolist() == [3, 0, 5, 2, -1, -1]  # the 0.7 ties: position 5 ranks 3, position 2 ranks 4


def _detection_inputs():
    """Five rois, three classes (0 background), zero deltas (the box is the roi) except roi 4."""
    rois = np.array([[0, 0, 10, 10],  # A: class 1, 0.9
                     [1, 1, 11, 11],  # B: class 1, 0.8, IoU with A 81 / 119 = 0.68 -> suppressed
                     [50, 50, 60, 60],  # C: class 2, 0.7
                     [0, 0, 10, 10],  # D: class 2, 0.95, A's box in another class -> kept
                     [100, 100, 119, 139]], np.float32)  # G: class 2, 0.6, decoded with (10, 10, 5, 5)
    scores = np.array([[0.05, 0.9, 0.05], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7], [0.0, 0.05, 0.95], [0.3, 0.1, 0.6]],
                      np.float32)
    deltas = np.zeros((5, 3, 4), np.float32)
    deltas[4, 2] = [10 * 0.5, 10 * 0.25, 5 * math.log(2.0), 5 * math.log(0.5)]  # h 20 -> 40, w 40 -> 20
    deltas[4, 1] = [50, 50, 5, 5]  # another class's delta: ignored
    return [deltas.reshape(1, 5, 12, 1, 1), scores.reshape(1, 5, 3, 1, 1), rois[None]]


def _detect(inputs, keep_topk=6, score_threshold=0.0, iou_threshold=0.5):
    attrs = {"num_classes": 3, "keep_topk": keep_topk, "score_threshold": score_threshold,
             "iou_threshold": iou_threshold, "image_size": [3, 200, 200]}
    return mrcnn.generate_detection_reference(attrs, inputs)[0][0]


def test_generate_detection_nms_topk_order_decode_and_padding():
    out = _detect(_detection_inputs())
    assert out.shape == (6, 6)
    expected = [[0, 0, 10, 10, 2, 0.95],  # D
                [0, 0, 10, 10, 1, 0.9],  # A (B suppressed by A: same class, IoU 0.68 > 0.5)
                [50, 50, 60, 60, 2, 0.7],  # C
                [100, 120, 139, 139, 2, 0.6],  # G: centre (110, 120) + (10, 10), size 40 x 20
                [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0]]
    np.testing.assert_allclose(out, expected, atol=2e-4)
    np.testing.assert_allclose(_detect(_detection_inputs(), keep_topk=2), expected[:2], atol=2e-4)
    loose = _detect(_detection_inputs(), iou_threshold=0.7)  # 0.68 is no longer > the threshold
    assert loose[:5, 5].tolist() == pytest.approx([0.95, 0.9, 0.8, 0.7, 0.6], abs=1e-5)


def test_generate_detection_thresholds_background_and_min_score():
    inputs = _detection_inputs()
    out = _detect(inputs, score_threshold=0.7)  # inclusive: C at exactly 0.7 stays
    assert out[:, 5].tolist() == pytest.approx([0.95, 0.9, 0.7, 0, 0, 0], abs=1e-5)
    scores = inputs[1].copy()
    scores[0, :, :, 0, 0] = [[0.99, 0.005, 0.0], [0.99, 0.0, 0.0], [0.7, 0.3, 0.0], [0.5, 0.25, 0.25], [0.9, 0, 0.02]]
    out = _detect([inputs[0], scores, inputs[2]])
    # the background never wins the argmax; no positive foreground score (roi 1) -> no candidate;
    # equal maxima take the higher class (roi 3: CUB keeps the higher lane on ties); a kept score
    # <= 0.01 (roi 0, 0.005) is not written (MinValidScore), 0.02 is
    np.testing.assert_allclose(out[:3], [[50, 50, 60, 60, 1, 0.3], [0, 0, 10, 10, 2, 0.25],
                                         [100, 120, 139, 139, 2, 0.02]], atol=2e-4)
    assert (out[3:, 4] == -1).all() and not out[3:, 5].any()


def test_foreground_argmax_ties_follow_the_warp_reduce():
    scores = np.zeros((3, 40), np.float32)  # classes 1..32 are one group, 33..39 the next
    scores[0, [5, 9]] = 0.4  # same group: the higher class
    scores[1, [5, 37]] = 0.4  # a later group must be strictly greater
    scores[2, [0, 37]] = [0.9, 0.1]  # the background is not a candidate
    value, label = mrcnn.foreground_argmax(scores)
    assert label.tolist() == [9, 5, 37]
    np.testing.assert_allclose(value, [0.4, 0.4, 0.1])


# ----------------------------------------------------------------------------- MultilevelProposeROI

def _proposal_inputs(size: int, scores_by_level: dict[int, dict[int, float]]) -> list[np.ndarray]:
    inputs = []
    for level, anchors in enumerate(mrcnn.pyramid_anchors(size, size), start=2):
        score = np.zeros((1, len(anchors), 1, 1), np.float32)
        for index, value in scores_by_level.get(level, {}).items():
            score[0, index] = value
        inputs += [np.zeros((1, len(anchors), 4, 1), np.float32), score]
    return inputs


def _propose(inputs, size, prenms_topk, keep_topk=3):
    attrs = {"prenms_topk": prenms_topk, "keep_topk": keep_topk, "fg_threshold": 0.0, "iou_threshold": 0.7,
             "image_size": [3, size, size]}
    return mrcnn.propose_rois_reference(attrs, inputs)[0][0]


def test_propose_rois_nms_per_level_prenms_topk_and_padding():
    # 64 x 64 image: P2 is 16 x 16 cells of 3 anchors. Zero deltas give back the (clipped) anchors.
    p2 = {((7 * 16) + 7) * 3: 0.9,  # centre (30, 30), 32 x 32: (14, 14, 46, 46)
          ((7 * 16) + 8) * 3: 0.8,  # centre (30, 34): (14, 18, 46, 50), IoU 896 / 1152 = 0.78 -> suppressed
          ((1 * 16) + 1) * 3: 0.7}  # centre (6, 6): (-10, -10, 22, 22) clipped to (0, 0, 22, 22)
    p3 = {((3 * 8) + 3) * 3: 0.85}  # P3 centre (28, 28), 64 x 64: clipped to (0, 0, 60, 60); other level, kept
    inputs = _proposal_inputs(64, {2: p2, 3: p3})
    np.testing.assert_allclose(_propose(inputs, 64, prenms_topk=3),
                               [[14, 14, 46, 46], [0, 0, 60, 60], [0, 0, 22, 22]], atol=1e-4)
    # prenms_topk 2 keeps only 0.9 and 0.8 of P2 for its NMS; zero scores are no candidates -> a zero row
    np.testing.assert_allclose(_propose(inputs, 64, prenms_topk=2),
                               [[14, 14, 46, 46], [0, 0, 60, 60], [0, 0, 0, 0]], atol=1e-4)


def test_propose_rois_rejects_inputs_that_do_not_match_the_image_size():
    inputs = _proposal_inputs(64, {})
    with pytest.raises(ValueError, match="anchors"):
        _propose(inputs, 128, prenms_topk=4)
    with pytest.raises(ValueError, match="prenms_topk"):
        _propose(inputs, 64, prenms_topk=5000)


def test_special_slice_keeps_the_box_coordinates():
    detections = np.arange(2 * 3 * 6, dtype=np.float32).reshape(2, 3, 6)
    out = mrcnn.special_slice_reference({}, [detections])[0]
    np.testing.assert_array_equal(out, detections[..., :4])


# ----------------------------------------------------------------------------- the whole sample

def test_the_mask_rcnn_sample_runs_on_the_cpu():
    from taostream.converter.samples.write import make_sample_model

    model = make_sample_model("mask_rcnn")
    name = model.graph.input[0].name
    image = np.random.default_rng(0).standard_normal((1, 3, 832, 1344)).astype(np.float32)
    outputs = run_with_plugin_references(model, {name: image})
    detections, masks = outputs["generate_detections"], outputs["mask_fcn_logits/BiasAdd"]
    assert detections.shape == (1, 100, 6) and masks.shape == (1, 100, 4, 28, 28)
    assert np.isfinite(detections).all() and np.isfinite(masks).all()
    rows = detections[0]
    written = rows[:, 4] >= 0
    assert written.any(), "random weights still give detections above the 0.01 floor"
    assert set(rows[written, 4].tolist()) <= {1.0, 2.0, 3.0}
    assert (np.diff(rows[written, 5]) <= 0).all() and (rows[written, 5] > 0.01).all()
    boxes = rows[written, :4]
    assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= 831).all() and (boxes[:, [1, 3]] <= 1343).all()
    assert (boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 1] <= boxes[:, 3]).all()


def test_each_image_of_a_batch_is_refined_on_its_own():
    first = _detection_inputs()
    second = [a.copy() for a in first]
    second[1][0, :, :, 0, 0] = [[1, 0, 0]] * 4 + [[0.2, 0.8, 0]]  # only roi 4, as class 1 (its class-1 delta)
    batch = [np.concatenate([a, b]) for a, b in zip(first, second)]
    attrs = {"num_classes": 3, "keep_topk": 6, "score_threshold": 0.0, "iou_threshold": 0.5, "image_size": [3, 200, 200]}
    out = mrcnn.generate_detection_reference(attrs, batch)[0]
    np.testing.assert_allclose(out[0], _detect(first))
    # roi (100, 100, 119, 139) with class 1's delta (50, 50, 5, 5) / (10, 10, 5, 5): centre (110, 120)
    # moves by (5 * 20, 5 * 40) to (210, 320), size exp(1) * (20, 40): y1 = 210 - 10 e = 182.8 stays,
    # x1 = 320 - 20 e, y2 and x2 lie past the 200 x 200 image and clip to 199
    np.testing.assert_allclose(out[1, 0], [210 - 10 * math.e, 199, 199, 199, 1, 0.8], atol=2e-4)
    assert (out[1, 1:, 4] == -1).all()


# ----------------------------------------------------------------------------- vectorized = the plain loops

def _loop_nms(boxes, labels, iou_threshold):
    """Greedy per-class NMS one kept box at a time (the reference's earlier form), box_iou per box."""
    kept = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if kept[i]:
            suppressed = (mrcnn.box_iou(boxes[i], boxes) > np.float32(iou_threshold)) & (labels == labels[i])
            kept[i + 1:] &= ~suppressed[i + 1:]
    return kept


def _clustered_boxes(rng, count, size=60.0):
    """Boxes in a few clusters (many overlaps above any threshold), some exact duplicates and some
    degenerate (zero width)."""
    centres = rng.random((4, 2)) * size
    centre = centres[rng.integers(0, 4, count)] + rng.standard_normal((count, 2)) * 3
    half = rng.random((count, 2)) * 8 + 1
    boxes = np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
    if count:
        boxes[::9] = boxes[0]
        boxes[5::13, 3] = boxes[5::13, 1]
    return boxes


@pytest.mark.parametrize("count", [0, 1, 37, 300, 600])
def test_nms_in_class_order_equals_the_box_by_box_loop(count):
    # 600 boxes span three of the 256-row blocks the vectorized NMS works in
    rng = np.random.default_rng(count)
    boxes = _clustered_boxes(rng, count)
    for labels in (np.zeros(count, np.int64), rng.integers(1, 4, count)):
        for threshold in (0.3, 0.7):
            expected = _loop_nms(boxes, labels, threshold)
            np.testing.assert_array_equal(mrcnn.nms_in_class_order(boxes, labels, threshold), expected)
    assert count < 300 or not _loop_nms(boxes, np.zeros(count), 0.3).all(), "the clusters give suppressions"


def test_iou_matrix_equals_box_iou_bit_for_bit():
    rng = np.random.default_rng(5)
    boxes = _clustered_boxes(rng, 50)
    matrix = mrcnn.iou_matrix(boxes, boxes)
    for i in range(len(boxes)):
        np.testing.assert_array_equal(matrix[i], mrcnn.box_iou(boxes[i], boxes))


def test_top_scores_is_the_stable_descending_sort_with_ties_at_the_cut():
    rng = np.random.default_rng(3)
    scores = (np.round(rng.random(5000) * 20) / 20).astype(np.float32)  # 21 values: ties across the cut
    for count in (1, 7, 300, 4096, 5000, 6000):
        expected = np.argsort(-scores.astype(np.float64), kind="stable")[:count]
        np.testing.assert_array_equal(mrcnn.top_scores(scores, count), expected)
    with_nan = scores.copy()
    with_nan[[3, 40]] = np.nan
    np.testing.assert_array_equal(mrcnn.top_scores(with_nan, 10),
                                  np.argsort(-with_nan.astype(np.float64), kind="stable")[:10])


def test_a_tiny_positive_size_delta_grows_the_box():
    # exp(6e-8) is 1.00000012 rounded to float32; numpy's float32 exp gives 1.0 (the box kept its size).
    # The reference computes exp in double and rounds it, as the C++ host implementation does.
    anchor, delta = np.float32([[10, 10, 1009, 1009]]), np.float32([[0, 0, 5.9604645e-08, 0]])
    box = mrcnn.decode_boxes(anchor, delta, mrcnn.RPN_REG_WEIGHTS, 2000, 2000)[0]
    assert box[0] < 10 and box[2] > 1009  # height grew
    assert box[1] == 10 and box[3] == 1009  # width (dw 0) did not
