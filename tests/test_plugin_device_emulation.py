"""The GPU enqueues of the NMS-family plugins, emulated on the host, against the host implementations,
byte for byte. No GPU runs here: libtaostream_plugins_host.so exports, beside each host implementation,
an ``*_emulated`` function that runs the GPU path's own step functions (plugins/common/perClassNmsSteps.h
and the plugin's gather step, the ones the CUDA kernels call per thread) in the kernels' order, with
std::stable_sort on the same keys standing in for CUB's radix sort. Equal outputs on the generated cases
of plugins/checks.py (ties, keepTopK overflow, background class, shareLocation both ways, batches, empty
images) and on NaN / infinite inputs (that image: no detections, the others theirs) is what ties the
device path's order and arithmetic to the host implementation's."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from taostream.converter import native_build
from taostream.plugins import checks
from taostream.plugins import frcnn
from taostream.plugins import host as plugin_host
from taostream.plugins import host_calls
from taostream.plugins import maskrcnn as mrcnn
from taostream.plugins import reference as pluginref

from plugin_support import sanitized_plugin_host_env

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="CMake builds the plugin host library")

_I32P = ctypes.POINTER(ctypes.c_int32)
_F32P = ctypes.POINTER(ctypes.c_float)


@pytest.fixture(scope="module")
def library():
    # $TAOSTREAM_PLUGINS_HOST_LIBRARY: the sanitized build of the last test
    path = os.environ.get(plugin_host.LIBRARY_ENV) or plugin_host.build_plugin_host_library()
    library = plugin_host.load_plugin_host(str(path))
    emulated = library.taostream_batched_nms_emulated
    emulated.argtypes, emulated.restype = host_calls.FUNCTIONS["taostream_batched_nms"]
    return library


def _batched(library, function, p, boxes, scores):
    n, count, k = boxes.shape[0], boxes.shape[1], p.keep_top_k
    boxes, scores = np.ascontiguousarray(boxes, np.float32), np.ascontiguousarray(scores, np.float32)
    # every output byte must be written: start from a pattern no output holds
    num = np.full(n, -7, np.int32)
    out_boxes, out_scores, out_classes = (np.full((n, k, 4), np.nan, np.float32), np.full((n, k), np.nan, np.float32),
                                          np.full((n, k), np.nan, np.float32))
    status = function(n, count, p.num_classes, int(p.share_location), p.background_label_id, p.top_k, k,
                      p.score_threshold, p.iou_threshold, int(p.is_normalized), int(p.caffe_semantics),
                      int(p.clip_boxes), boxes.ctypes.data_as(_F32P), scores.ctypes.data_as(_F32P),
                      num.ctypes.data_as(_I32P), out_boxes.ctypes.data_as(_F32P), out_scores.ctypes.data_as(_F32P),
                      out_classes.ctypes.data_as(_F32P))
    return status, [num, out_boxes, out_scores, out_classes]


def _host_per_image(library, p, boxes, scores):
    """What the plugin's host-staged enqueue writes: the host implementation per image; an image it
    refuses as not finite gets num 0 and padding rows (zeros, class -1)."""
    rows = []
    for image in range(boxes.shape[0]):
        status, out = _batched(library, library.taostream_batched_nms, p, boxes[image:image + 1],
                               scores[image:image + 1])
        if status == host_calls.NON_FINITE:
            k = p.keep_top_k
            out = [np.zeros(1, np.int32), np.zeros((1, k, 4), np.float32), np.zeros((1, k), np.float32),
                   np.full((1, k), -1.0, np.float32)]
        else:
            assert status == host_calls.OK
        rows.append(out)
    return [np.concatenate([r[i] for r in rows]) for i in range(4)]


def _assert_emulation_equals_host(library, attrs, boxes, scores):
    p = pluginref.batched_nms_parameters(attrs)
    expected = _host_per_image(library, p, boxes, scores)
    finite = all(np.isfinite(boxes[i]).all() and np.isfinite(scores[i]).all() for i in range(boxes.shape[0]))
    status, emulated = _batched(library, library.taostream_batched_nms_emulated, p, boxes, scores)
    assert status == (host_calls.OK if finite else host_calls.NON_FINITE)
    for index, (got, want) in enumerate(zip(emulated, expected)):
        assert got.tobytes() == want.tobytes(), f"output {index}: {got} vs the host's {want}"
    return emulated


BATCHED_CASES = [case for case in checks.CASES if case.op in checks.PLUGIN_FOLDERS["BatchedNMS"]]


@pytest.mark.parametrize("case", BATCHED_CASES, ids=[case.name for case in BATCHED_CASES])
def test_batched_nms_device_emulation_equals_the_host_on_the_check_cases(library, case):
    boxes, scores = case.inputs()
    emulated = _assert_emulation_equals_host(library, case.attrs, boxes, scores)
    assert emulated[0].sum() > 0 or "empty" in case.name


def test_batched_nms_device_emulation_ties_signed_zeros_and_negative_scores(library):
    # every score one of -0.5, -0.0, +0.0, 0.5 with a threshold below them all: equal scores in every
    # class, -0.0 == +0.0 (the host's `>` ties them; the keys must too), kept boxes tied across classes
    rng = np.random.default_rng(5)
    boxes, _ = checks.nms_boxes(5, 2, 70, 1, 3)
    scores = rng.choice(np.array([-0.5, -0.0, 0.0, 0.5], np.float32), size=(2, 70, 3))
    attrs = dict(shareLocation=1, backgroundLabelId=-1, scoreThreshold=-1.0, iouThreshold=0.3, topK=60, keepTopK=60,
                 numClasses=3, clipBoxes=1, isNormalized=1)
    emulated = _assert_emulation_equals_host(library, attrs, boxes, scores)
    assert (emulated[0] == 60).all()
    assert np.signbit(emulated[2][emulated[2] == 0]).any()  # a -0.0 score was kept and written as it is


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["boxes", "scores"])
def test_batched_nms_device_emulation_gives_a_non_finite_image_no_detections(library, value, where):
    boxes, scores = checks.nms_boxes(8, 3, 40, 3, 3)
    (boxes if where == "boxes" else scores)[1, 7, 0] = value
    attrs = dict(shareLocation=0, backgroundLabelId=0, scoreThreshold=0.3, iouThreshold=0.5, topK=30, keepTopK=20,
                 numClasses=3, clipBoxes=0, isNormalized=1)
    emulated = _assert_emulation_equals_host(library, attrs, boxes, scores)
    assert emulated[0][1] == 0 and emulated[0][0] > 0 and emulated[0][2] > 0


def test_batched_nms_device_emulation_more_candidates_than_one_mask_word_and_top_k_cut(library):
    # 300 boxes, heavy overlap: the suppression rows span 4 words of 64, topK cuts the candidates
    boxes, scores = checks.nms_boxes(9, 2, 300, 2, 2, scale=0.3)
    attrs = dict(shareLocation=0, backgroundLabelId=-1, scoreThreshold=0.05, iouThreshold=0.4, topK=250,
                 keepTopK=100, numClasses=2, clipBoxes=1, isNormalized=1)
    emulated = _assert_emulation_equals_host(library, attrs, boxes, scores)
    assert (emulated[0] > 0).all()


def test_batched_nms_device_emulation_no_boxes(library):
    boxes, scores = np.zeros((2, 0, 1, 4), np.float32), np.zeros((2, 0, 3), np.float32)
    attrs = dict(shareLocation=1, backgroundLabelId=-1, scoreThreshold=0.3, iouThreshold=0.5, topK=10, keepTopK=5,
                 numClasses=3, clipBoxes=1, isNormalized=1)
    emulated = _assert_emulation_equals_host(library, attrs, boxes, scores)
    assert (emulated[0] == 0).all() and (emulated[3] == -1).all()


# ----------------------------------------------------------------------------- EfficientNMS_TRT

def _efficient(library, function, p, inputs):
    boxes, scores = (np.ascontiguousarray(a, np.float32) for a in inputs[:2])
    anchors = np.ascontiguousarray(inputs[2], np.float32) if len(inputs) > 2 else None
    n, count, classes = scores.shape
    k = p.max_output_boxes
    num = np.full((n, 1), -7, np.int32)
    out_boxes, out_scores = np.full((n, k, 4), np.nan, np.float32), np.full((n, k), np.nan, np.float32)
    out_classes = np.full((n, k), -7, np.int32)
    status = function(n, count, classes, boxes.size // (n * count * 4), 0 if anchors is None else anchors.shape[0],
                      p.box_coding, p.background_class, int(p.class_agnostic), int(p.score_activation),
                      float(p.sort_threshold()), p.iou_threshold, k, pluginref.EFFICIENT_NMS_SELECTED_BOXES,
                      boxes.ctypes.data_as(_F32P), scores.ctypes.data_as(_F32P),
                      None if anchors is None else anchors.ctypes.data_as(_F32P), num.ctypes.data_as(_I32P),
                      out_boxes.ctypes.data_as(_F32P), out_scores.ctypes.data_as(_F32P),
                      out_classes.ctypes.data_as(_I32P))
    return status, [num, out_boxes, out_scores, out_classes]


def _assert_efficient_emulation_equals_host(library, attrs, inputs, finite=None):
    """The emulation on the whole batch against the host implementation per image (as the plugin's
    host-staged path calls it: an image it refuses as not finite gets zero rows); ``finite``: which
    images the host accepts, when the test knows."""
    p = pluginref.efficient_nms_parameters(attrs)
    n = inputs[1].shape[0]
    expected, accepted = [], []
    for image in range(n):
        one = [inputs[0][image:image + 1], inputs[1][image:image + 1]]
        if len(inputs) > 2:
            one.append(inputs[2][image:image + 1] if inputs[2].shape[0] == n else inputs[2])
        status, out = _efficient(library, library.taostream_efficient_nms, p, one)
        accepted.append(status == host_calls.OK)
        if status == host_calls.NON_FINITE:
            out = [np.zeros_like(out[0]), np.zeros_like(out[1]), np.zeros_like(out[2]), np.zeros_like(out[3])]
        else:
            assert status == host_calls.OK
        expected.append(out)
    expected = [np.concatenate([e[i] for e in expected]) for i in range(4)]
    if finite is not None:
        assert accepted == finite
    status, emulated = _efficient(library, library.taostream_efficient_nms_emulated, p, inputs)
    assert status == (host_calls.OK if all(accepted) else host_calls.NON_FINITE)
    for index, (got, want) in enumerate(zip(emulated, expected)):
        assert got.tobytes() == want.tobytes(), f"output {index}: {got} vs the host's {want}"
    return emulated


@pytest.fixture(scope="module")
def efficient_library(library):
    emulated = library.taostream_efficient_nms_emulated
    emulated.argtypes, emulated.restype = host_calls.FUNCTIONS["taostream_efficient_nms"]
    return library


EFFICIENT_CASES = [case for case in checks.CASES if case.op == "EfficientNMS_TRT"]


@pytest.mark.parametrize("case", EFFICIENT_CASES, ids=[case.name for case in EFFICIENT_CASES])
def test_efficient_nms_device_emulation_equals_the_host_on_the_check_cases(efficient_library, case):
    emulated = _assert_efficient_emulation_equals_host(efficient_library, case.attrs, case.inputs())
    assert emulated[0].sum() > 0 or "nothing" in case.name


def test_efficient_nms_device_emulation_signed_zero_ties_and_infinite_scores(efficient_library):
    # scores -inf, -0.0, +0.0, 0.5, +inf with a threshold below zero: equal scores by element, +inf
    # candidates first (infinite scores are valid inputs), -inf never a candidate
    rng = np.random.default_rng(3)
    boxes, _ = checks.efficient_inputs(3, 2, 60, 3)
    scores = rng.choice(np.array([-np.inf, -0.0, 0.0, 0.5, np.inf], np.float32), size=(2, 60, 3))
    attrs = dict(score_threshold=-0.5, iou_threshold=0.9, max_output_boxes=120, background_class=-1,
                 score_activation=0, box_coding=0, plugin_version="1")
    emulated = _assert_efficient_emulation_equals_host(efficient_library, attrs, [boxes, scores], [True, True])
    assert np.isinf(emulated[2]).any() and np.signbit(emulated[2][emulated[2] == 0]).any()


def test_efficient_nms_device_emulation_non_finite_inputs_and_decoded_boxes(efficient_library):
    # image 0: a NaN score; image 1: an infinite anchor; image 2: exp overflow in the decoder for the
    # best candidate (visited: no detections); image 3: exp overflow only for a candidate past
    # max_output (never visited: its detections stay)
    boxes, scores, anchors = checks.efficient_inputs(4, 4, 50, 2, anchor_batch=4, coding=1)
    scores[0, 10, 1] = np.nan
    anchors[1, 20, 2] = np.inf
    best = np.unravel_index(np.argmax(scores[2]), scores[2].shape)
    boxes[2, best[0], 2] = 200.0
    boxes[3, 7, 3] = 200.0
    scores[3, 7] = [0.31, 0.305]  # candidates, but after the first 5 kept ones: never decoded
    attrs = dict(score_threshold=0.3, iou_threshold=0.5, max_output_boxes=5, background_class=-1,
                 score_activation=0, box_coding=1, plugin_version="1")
    emulated = _assert_efficient_emulation_equals_host(efficient_library, attrs, [boxes, scores, anchors],
                                                       [False, False, False, True])
    assert emulated[0].ravel().tolist() == [0, 0, 0, 5]


# ----------------------------------------------------------------------------- NMS_TRT

def _nms(function, p, loc, conf, prior):
    n, prior_batch = loc.shape[0], prior.shape[0]
    priors = prior.size // (prior_batch * 8)
    detections = np.full((n, 1, p.keep_top_k, 7), np.nan, np.float32)
    counts = np.full(n, -7, np.int32)
    status = function(n, priors, p.num_classes, prior_batch, int(p.share_location), p.background_label_id, p.top_k,
                      p.keep_top_k, p.score_threshold, p.iou_threshold, int(p.is_normalized), int(p.conf_sigmoid),
                      int(p.variance_encoded_in_target), p.code_type, loc.ctypes.data_as(_F32P),
                      conf.ctypes.data_as(_F32P), prior.ctypes.data_as(_F32P), detections.ctypes.data_as(_F32P),
                      counts.ctypes.data_as(_I32P))
    return status, [detections, counts]


def _assert_nms_emulation_equals_host(library, attrs, inputs, finite):
    """The emulation on the whole batch against the host implementation per image, as the plugin
    writes it (the image index in column 0; an image with NaN/inf inputs: count 0, padding rows)."""
    p = pluginref.nms_parameters(attrs)
    loc, conf, prior = (np.ascontiguousarray(np.asarray(inputs[i], np.float32)) for i in p.input_order)
    n = loc.shape[0]
    detections, counts = [], []
    for image in range(n):
        one_prior = prior if prior.shape[0] == 1 else prior[image:image + 1]
        status, (rows, count) = _nms(library.taostream_nms, p, loc[image:image + 1], conf[image:image + 1],
                                     np.ascontiguousarray(one_prior))
        assert status == (host_calls.OK if finite[image] else host_calls.NON_FINITE)
        if not finite[image]:
            rows[:], count[:] = 0, 0
            rows[..., 1] = -1
        rows[..., 0] = image
        detections.append(rows)
        counts.append(count)
    status, (rows, count) = _nms(library.taostream_nms_emulated, p, loc, conf, prior)
    assert status == (host_calls.OK if all(finite) else host_calls.NON_FINITE)
    assert rows.tobytes() == np.concatenate(detections).tobytes()
    assert count.tobytes() == np.concatenate(counts).tobytes()
    return rows, count


@pytest.fixture(scope="module")
def nms_library(library):
    emulated = library.taostream_nms_emulated
    emulated.argtypes, emulated.restype = host_calls.FUNCTIONS["taostream_nms"]
    return library


NMS_CASES = [case for case in checks.CASES if case.op in checks.PLUGIN_FOLDERS["NMS"]]


@pytest.mark.parametrize("case", NMS_CASES, ids=[case.name for case in NMS_CASES])
def test_nms_device_emulation_equals_the_host_on_the_check_cases(nms_library, case):
    inputs = case.inputs()
    _, count = _assert_nms_emulation_equals_host(nms_library, case.attrs, inputs, [True] * inputs[0].shape[0])
    assert count.sum() > 0 or "nothing" in case.name


def test_nms_device_emulation_gives_a_non_finite_image_no_detections(nms_library):
    case = next(case for case in NMS_CASES if case.name == "shareLocation 0, background 3")
    loc, conf, prior = case.inputs()
    loc[1, 5] = np.nan
    conf[2, 9] = np.inf  # no confSigmoid: an infinite score
    _, count = _assert_nms_emulation_equals_host(nms_library, case.attrs, [loc, conf, prior], [True, False, False])
    assert count[0] > 0 and (count[1:] == 0).all()


# ----------------------------------------------------------------------------- MultilevelCropAndResize_TRT

def _crop(function, attrs, inputs):
    rois, features = np.ascontiguousarray(inputs[0], np.float32), [np.ascontiguousarray(f, np.float32)
                                                                     for f in inputs[1:]]
    n, r, channels, pooled = rois.shape[0], rois.shape[1], features[0].shape[1], attrs["pooled_size"]
    out = np.full((n, r, channels, pooled, pooled), np.nan, np.float32)  # every value must be written
    status = function(n, r, channels, pooled, attrs["image_size"][1], attrs["image_size"][2],
                      rois.ctypes.data_as(_F32P), (_F32P * 5)(*(f.ctypes.data_as(_F32P) for f in features)),
                      (ctypes.c_int32 * 5)(*(f.shape[2] for f in features)),
                      (ctypes.c_int32 * 5)(*(f.shape[3] for f in features)), out.ctypes.data_as(_F32P))
    assert status == host_calls.OK
    return out


@pytest.fixture(scope="module")
def crop_library(library):
    for name in ("taostream_multilevel_crop_and_resize", "taostream_multilevel_crop_and_resize_emulated"):
        function = getattr(library, name)
        function.argtypes, function.restype = host_calls.FUNCTIONS["taostream_multilevel_crop_and_resize"]
    return library


def _assert_crop_emulation_equals_host(library, attrs, inputs):
    host = _crop(library.taostream_multilevel_crop_and_resize, attrs, inputs)
    emulated = _crop(library.taostream_multilevel_crop_and_resize_emulated, attrs, inputs)
    assert emulated.tobytes() == host.tobytes()
    return emulated


CROP_CASES = [case for case in checks.CASES if case.op == "MultilevelCropAndResize_TRT"]


@pytest.mark.parametrize("case", CROP_CASES, ids=[case.name for case in CROP_CASES])
def test_multilevel_crop_and_resize_device_emulation_equals_the_host_on_the_check_cases(crop_library, case):
    emulated = _assert_crop_emulation_equals_host(crop_library, case.attrs, case.inputs())
    assert emulated.any()


@pytest.mark.parametrize("seed, batch, rois, channels, pooled, options", [
    (2, 2, 100, 4, 14, {"integral": True}),  # bin centres on sample points, areas on the level thresholds
    (3, 2, 100, 3, 7, {"outside": True}),  # rois past the image: zeros
    (4, 3, 50, 2, 1, {}),  # pooled 1, three images
])
def test_multilevel_crop_and_resize_device_emulation_edges(crop_library, seed, batch, rois, channels, pooled, options):
    inputs = checks.roi_align_inputs(seed, batch, rois, channels, 832, 1344, **options)
    attrs = {"pooled_size": pooled, "image_size": [3, 832, 1344]}
    emulated = _assert_crop_emulation_equals_host(crop_library, attrs, inputs)
    assert set(mrcnn.roi_levels(inputs[0].reshape(-1, 4)).tolist()) >= {2, 6}
    if options.get("outside"):
        assert not emulated.reshape(batch * rois, -1).any(axis=1).all() and emulated.any()


def test_multilevel_crop_and_resize_device_emulation_odd_maps_nan_rois_and_non_finite_features(crop_library):
    # feature maps smaller than the image's pyramid (a centre clamped to the last row and column), a NaN
    # and an infinite roi (not valid: zeros), NaN / inf feature values (carried through the blend as on
    # the host), empty-area rois (y1 == y2: not valid)
    inputs = checks.roi_align_inputs(6, 2, 40, 3, 200, 300)
    inputs[1:] = [f[:, :, : max(1, f.shape[2] - 3), : max(1, f.shape[3] - 2)].copy() for f in inputs[1:]]
    rois = inputs[0]
    rois[0, 5, 1], rois[1, 6, 2], rois[1, 7] = np.nan, np.inf, [10, 10, 10, 40]
    rois[0, 8], rois[1, 8] = [0, 0, 8, 8], [0, 0, 60, 60]  # P2 rois whose first bins read (0, 0), (2, 2)
    inputs[1][0, 1, 0, 0], inputs[1][1, 2, 2, 2] = np.nan, np.inf
    for f in inputs[2:]:
        f[0, 1, 0, 0], f[1, 2, -1, -1] = np.nan, np.inf
    attrs = {"pooled_size": 5, "image_size": [3, 200, 300]}
    emulated = _assert_crop_emulation_equals_host(crop_library, attrs, inputs)
    assert not emulated[0, 5].any() and not emulated[1, 6].any() and not emulated[1, 7].any()
    assert np.isnan(emulated[0, 8, 1, 0, 0]) and np.isposinf(emulated[1, 8, 2, 0, 0])


# ----------------------------------------------------------------------------- Proposal / ProposalDynamic

def _proposal(function, attrs, scores, deltas):
    p = frcnn.proposal_attributes(attrs)
    sizes = np.ascontiguousarray(np.asarray(p["anchor_sizes"], np.float32).reshape(-1))
    ratios = np.ascontiguousarray(np.asarray(p["anchor_ratios"], np.float32).reshape(-1))
    scores, deltas = np.ascontiguousarray(scores, np.float32), np.ascontiguousarray(deltas, np.float32)
    n, a, h, w = scores.shape
    rois = np.full((n, p["post_nms_top_n"], 4), np.nan, np.float32)  # every byte must be written
    status = function(n, a, h, w, p["input_height"], p["input_width"], p["rpn_stride"], p["roi_min_size"],
                      p["nms_iou_threshold"], p["pre_nms_top_n"], p["post_nms_top_n"], sizes.size,
                      sizes.ctypes.data_as(_F32P), ratios.size, ratios.ctypes.data_as(_F32P),
                      scores.ctypes.data_as(_F32P), deltas.ctypes.data_as(_F32P), rois.ctypes.data_as(_F32P))
    return status, rois


def _assert_proposal_emulation_equals_host(library, attrs, inputs, finite):
    """The emulation on the whole batch against the host implementation per image, as the plugin's
    host-staged path calls it (an image with a NaN score: zero rois)."""
    scores, deltas = (np.asarray(a, np.float32) for a in inputs)
    expected = []
    for image in range(scores.shape[0]):
        status, rois = _proposal(library.taostream_proposal, attrs, scores[image:image + 1], deltas[image:image + 1])
        assert status == (host_calls.OK if finite[image] else host_calls.NON_FINITE)
        expected.append(np.zeros_like(rois) if status == host_calls.NON_FINITE else rois)
    status, emulated = _proposal(library.taostream_proposal_emulated, attrs, scores, deltas)
    assert status == (host_calls.OK if all(finite) else host_calls.NON_FINITE)
    assert emulated.tobytes() == np.concatenate(expected).tobytes()
    return emulated


@pytest.fixture(scope="module")
def proposal_library(library):
    emulated = library.taostream_proposal_emulated
    emulated.argtypes, emulated.restype = host_calls.FUNCTIONS["taostream_proposal"]
    return library


PROPOSAL_CASES = [case for case in checks.CASES if case.op in checks.PLUGIN_FOLDERS["Proposal"]]


@pytest.mark.parametrize("case", PROPOSAL_CASES, ids=[case.name for case in PROPOSAL_CASES])
def test_proposal_device_emulation_equals_the_host_on_the_check_cases(proposal_library, case):
    # includes pre_nms_top_n 6000 (above TensorRT's NMS layer limit: every candidate reaches the NMS)
    inputs = case.inputs()
    emulated = _assert_proposal_emulation_equals_host(proposal_library, case.attrs, inputs, [True] * len(inputs[0]))
    assert np.abs(emulated).sum() > 0


def test_proposal_device_emulation_signed_zero_and_infinite_score_ties(proposal_library):
    # scores from -inf, -0.0, +0.0, 0.25, +inf on a 6x8 grid, 9 anchors (432 candidates, 7 mask words),
    # roi_min_size 8 adds -inf scores: every score tied with many others, +0.0 and -0.0 the same score
    rng = np.random.default_rng(11)
    attrs = dict(checks.PROPOSAL_FIELDS, anchor_sizes=[16.0, 32.0, 64.0], roi_min_size=8.0, pre_nms_top_n=400,
                 post_nms_top_n=150, nms_iou_threshold=0.6)
    scores = rng.choice(np.array([-np.inf, -0.0, 0.0, 0.25, np.inf], np.float32), size=(2, 9, 6, 8))
    deltas = (rng.standard_normal((2, 36, 6, 8)) * 0.5).astype(np.float32)
    emulated = _assert_proposal_emulation_equals_host(proposal_library, attrs, [scores, deltas], [True, True])
    assert np.abs(emulated).sum() > 0


def test_proposal_device_emulation_nan_scores_and_non_finite_deltas(proposal_library):
    # image 0: a NaN score (zero rois); image 1: NaN and infinite deltas (clipped, rois as the host's);
    # image 2: clean
    case = next(case for case in PROPOSAL_CASES if case.name == "random, batch 3")
    scores, deltas = case.inputs()
    scores[0, 2, 1, 3] = np.nan
    deltas[1, 0, 0, 0], deltas[1, 6, 2, 2], deltas[1, 11, 3, 5] = np.nan, np.inf, -np.inf
    emulated = _assert_proposal_emulation_equals_host(proposal_library, case.attrs, [scores, deltas],
                                                      [False, True, True])
    assert not emulated[0].any() and emulated[1].any() and emulated[2].any()


def test_proposal_device_emulation_empty_grid_and_one_candidate(proposal_library):
    attrs = dict(checks.PROPOSAL_FIELDS, anchor_sizes=[16.0], anchor_ratios=[1.0])
    empty = [np.zeros((2, 1, 0, 6), np.float32), np.zeros((2, 4, 0, 6), np.float32)]
    assert not _assert_proposal_emulation_equals_host(proposal_library, attrs, empty, [True, True]).any()
    one = checks.rpn_inputs(3, 1, 1, 1, 1)
    emulated = _assert_proposal_emulation_equals_host(proposal_library, attrs, one, [True])
    assert emulated[0, 0].any() and not emulated[0, 1:].any()


# ----------------------------------------------------------------------------- MultilevelProposeROI_TRT

def _propose_roi(library, function, attrs, inputs):
    prenms, keep = int(attrs["prenms_topk"]), int(attrs["keep_topk"])
    height, width = int(attrs["image_size"][1]), int(attrs["image_size"][2])
    deltas = [np.ascontiguousarray(a, np.float32) for a in inputs[0::2]]
    scores = [np.ascontiguousarray(a, np.float32) for a in inputs[1::2]]
    n = scores[0].shape[0]
    counts = (ctypes.c_int64 * 5)(*[s.shape[1] for s in scores])
    rois = np.full((n, keep, 4), np.nan, np.float32)  # every byte must be written
    status = function(n, height, width, prenms, keep, float(attrs["fg_threshold"]), float(attrs["iou_threshold"]),
                      (_F32P * 5)(*[d.ctypes.data_as(_F32P) for d in deltas]),
                      (_F32P * 5)(*[s.ctypes.data_as(_F32P) for s in scores]), counts, rois.ctypes.data_as(_F32P))
    return status, rois


def _assert_propose_roi_emulation_equals_host(library, attrs, inputs, finite):
    """The emulation on the whole batch against the host implementation per image, as the plugin's
    host-staged path calls it (an image with NaN/inf inputs: zero rois)."""
    n = inputs[1].shape[0]
    expected = []
    for image in range(n):
        one = [a[image:image + 1] for a in inputs]
        status, rois = _propose_roi(library, library.taostream_multilevel_propose_roi, attrs, one)
        assert status == (host_calls.OK if finite[image] else host_calls.NON_FINITE)
        expected.append(np.zeros_like(rois) if status == host_calls.NON_FINITE else rois)
    status, emulated = _propose_roi(library, library.taostream_multilevel_propose_roi_emulated, attrs, inputs)
    assert status == (host_calls.OK if all(finite) else host_calls.NON_FINITE)
    assert emulated.tobytes() == np.concatenate(expected).tobytes()
    return emulated


@pytest.fixture(scope="module")
def propose_roi_library(library):
    emulated = library.taostream_multilevel_propose_roi_emulated
    emulated.argtypes, emulated.restype = host_calls.FUNCTIONS["taostream_multilevel_propose_roi"]
    return library


PROPOSE_ROI_CASES = [case for case in checks.CASES if case.op == "MultilevelProposeROI_TRT"]


@pytest.mark.parametrize("case", PROPOSE_ROI_CASES, ids=[case.name for case in PROPOSE_ROI_CASES])
def test_multilevel_propose_roi_device_emulation_equals_the_host_on_the_check_cases(propose_roi_library, case):
    # per-level top-k (ties at the cut), more candidates than one gather block (CUB's blocked order of
    # tied kept scores), keep_topk above the candidates, batches
    inputs = case.inputs()
    emulated = _assert_propose_roi_emulation_equals_host(propose_roi_library, case.attrs, inputs,
                                                         [True] * inputs[1].shape[0])
    assert np.abs(emulated).sum() > 0 or "drops everything" in case.name


def test_multilevel_propose_roi_device_emulation_signed_zeros_and_non_finite_images(propose_roi_library):
    # scores from {-0.0, +0.0, 0.5, 1.0} at fg_threshold 0 (signed zeros are candidates, tied with each
    # other at every sort); image 1: an infinite delta, image 2: a NaN score (zero rois), image 0 clean
    rng = np.random.default_rng(21)
    inputs = checks.proposal_inputs(8, 128, 96, batch=3)
    for level in range(5):
        inputs[2 * level + 1] = rng.choice(np.array([-0.0, 0.0, 0.5, 1.0], np.float32),
                                           size=inputs[2 * level + 1].shape)
    inputs[2][1, 3, 2, 0] = np.inf
    inputs[5][2, 0, 0, 0] = np.nan
    attrs = {"prenms_topk": 200, "keep_topk": 150, "fg_threshold": 0.0, "iou_threshold": 0.6,
             "image_size": [3, 128, 96]}
    emulated = _assert_propose_roi_emulation_equals_host(propose_roi_library, attrs, inputs, [True, False, False])
    assert emulated[0].any() and not emulated[1:].any()


# ----------------------------------------------------------------------------- GenerateDetection_TRT

def _detect(function, attrs, inputs):
    deltas, scores, rois = (np.ascontiguousarray(a, np.float32) for a in inputs)
    n, count, classes = rois.shape[0], rois.shape[1], attrs["num_classes"]
    keep = attrs["keep_topk"]
    out = np.full((n, keep, 6), np.nan, np.float32)  # every value must be written
    status = function(n, count, classes, keep, float(attrs.get("score_threshold", 0.0)),
                      float(attrs.get("iou_threshold", 0.5)), attrs["image_size"][1], attrs["image_size"][2],
                      deltas.ctypes.data_as(_F32P), scores.ctypes.data_as(_F32P), rois.ctypes.data_as(_F32P),
                      out.ctypes.data_as(_F32P))
    return status, out


@pytest.fixture(scope="module")
def detection_library(library):
    for name in ("taostream_generate_detection", "taostream_generate_detection_emulated"):
        function = getattr(library, name)
        function.argtypes, function.restype = host_calls.FUNCTIONS["taostream_generate_detection"]
    return library


def _assert_detection_emulation_equals_host(library, attrs, inputs, finite):
    """The emulation on the whole batch against the host implementation per image, as the plugin's
    host-staged path calls it (an image it refuses as not finite: padding rows, zeros and class -1)."""
    expected = []
    for image in range(inputs[2].shape[0]):
        status, out = _detect(library.taostream_generate_detection, attrs, [a[image:image + 1] for a in inputs])
        assert status == (host_calls.OK if finite[image] else host_calls.NON_FINITE)
        if not finite[image]:
            out[:] = 0
            out[..., 4] = -1
        expected.append(out)
    status, emulated = _detect(library.taostream_generate_detection_emulated, attrs, inputs)
    assert status == (host_calls.OK if all(finite) else host_calls.NON_FINITE)
    assert emulated.tobytes() == np.concatenate(expected).tobytes()
    return emulated


DETECTION_CASES = [case for case in checks.CASES if case.op == "GenerateDetection_TRT"]


@pytest.mark.parametrize("case", DETECTION_CASES, ids=[case.name for case in DETECTION_CASES])
def test_generate_detection_device_emulation_equals_the_host_on_the_check_cases(detection_library, case):
    inputs = case.inputs()
    emulated = _assert_detection_emulation_equals_host(detection_library, case.attrs, inputs,
                                                       [True] * inputs[2].shape[0])
    assert (emulated[..., 4] >= 1).any()


def test_generate_detection_device_emulation_ties_zero_scores_thresholds_and_keep_cut(detection_library):
    # scores from {0, 0.25, 0.5, 1}: equal keys across rois and classes, rois without a foreground score
    # (label -1), suppressed and kept boxes tied at score 0 in TopKGather (its blocked-rank order), a
    # negative iou threshold (only overlapping boxes of one label suppress), keep_topk below the kept
    rng = np.random.default_rng(11)
    deltas, _, rois = checks.detection_inputs(12, 3, 300, 5)
    scores = rng.choice(np.array([0.0, 0.25, 0.5, 1.0], np.float32), size=(3, 300, 5, 1, 1))
    for iou, keep, threshold in ((0.5, 100, 0.0), (-0.1, 300, 0.0), (0.3, 7, 0.5)):
        attrs = dict(num_classes=5, keep_topk=keep, score_threshold=threshold, iou_threshold=iou,
                     image_size=[3, 200, 220])
        emulated = _assert_detection_emulation_equals_host(detection_library, attrs, [deltas, scores, rois],
                                                           [True] * 3)
        assert (emulated[..., 4] >= 1).any()


def test_generate_detection_device_emulation_non_finite_images_and_no_rois(detection_library):
    # image 1: a NaN delta, image 2: an infinite score, image 3: an infinite roi: padding rows; 0 and 4 theirs
    deltas, scores, rois = checks.detection_inputs(13, 5, 120, 3)
    deltas[1, 7, 2], scores[2, 9, 1], rois[3, 4, 0] = np.nan, np.inf, -np.inf
    attrs = dict(num_classes=3, keep_topk=50, score_threshold=0.1, iou_threshold=0.5, image_size=[3, 200, 220])
    emulated = _assert_detection_emulation_equals_host(detection_library, attrs, [deltas, scores, rois],
                                                       [True, False, False, False, True])
    assert (emulated[[0, 4], 0, 4] >= 1).all() and (emulated[1:4, :, 4] == -1).all()
    empty = [np.zeros((2, 0, 12, 1, 1), np.float32), np.zeros((2, 0, 3, 1, 1), np.float32),
             np.zeros((2, 0, 4), np.float32)]
    emulated = _assert_detection_emulation_equals_host(detection_library, attrs, empty, [True, True])
    assert (emulated[..., 4] == -1).all()


def test_the_emulations_under_address_and_undefined_behaviour_sanitizers():
    """Every test above again with the host library built with ASan + UBSan (-fno-sanitize-recover): an
    index out of its array in a step function, which on the GPU would read or write some other
    buffer, aborts here."""
    env = sanitized_plugin_host_env()  # the same build tests/test_plugin_host.py runs `plugins check` with
    result = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-k",
                             "not sanitizers"], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in result.stderr and "runtime error" not in result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
