"""Shared pieces of the parser tests: the built library (session fixture), tensor generators that
produce realistic raw outputs for every layout, and box comparison with a stated tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from taostream.parsers import build
from taostream.parsers.native import NativeParsers
from taostream.parsers.reference import Detection

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent / "benchmarks"

# C++ and the numpy reference do the same float32/float64 operations in the same order; the only
# differences left are libm's exp vs numpy's exp (FasterRCNN, 1 ulp) and summation order in the
# DBSCAN cluster means (1e-16 relative). Boxes must agree to 1e-3 px, confidences to 1e-5.
BOX_TOLERANCE_PX = 1e-3
CONFIDENCE_TOLERANCE = 1e-5
DETECTNET = "NvDsInferParseCustomDetectNetV2TAO"
DNV2_NAMES = ("output_cov/Sigmoid", "output_bbox/BiasAdd")  # DetectNet_v2's coverage and bbox layers


@pytest.fixture(scope="session")
def native_parsers() -> NativeParsers:
    """Builds build/ (Release, reusing an existing build) and loads the real library."""
    library = build.build_parser_library(build.DEFAULT_BUILD_DIR)
    return NativeParsers(library, build.harness_library(build.DEFAULT_BUILD_DIR))


def assert_same_detections(native: list[Detection] | None, expected: list[Detection], masks: bool = False) -> None:
    assert native is not None, "the C++ parser returned false"
    assert len(native) == len(expected), f"C++ gave {len(native)} boxes, reference {len(expected)}"
    for got, want in zip(native, expected):
        assert got.class_id == want.class_id
        np.testing.assert_allclose([got.left, got.top, got.right, got.bottom],
                                   [want.left, want.top, want.right, want.bottom], atol=BOX_TOLERANCE_PX, rtol=0)
        assert abs(got.confidence - want.confidence) <= CONFIDENCE_TOLERANCE * max(1.0, abs(want.confidence))
        if masks:
            np.testing.assert_array_equal(got.mask, want.mask)


# --- generators -------------------------------------------------------------------------------


def random_objects(rng: np.random.Generator, count: int, net_w: int, net_h: int, classes: int):
    """Ground-truth-like boxes (x1, y1, x2, y2, class) inside the network."""
    w = rng.uniform(0.05, 0.4, count) * net_w
    h = rng.uniform(0.05, 0.5, count) * net_h
    x1 = rng.uniform(0, net_w - w)
    y1 = rng.uniform(0, net_h - h)
    return np.stack([x1, y1, x1 + w, y1 + h, rng.integers(0, classes, count)], axis=1)


def detectnet_v2_outputs(rng, objects, classes: int, net_w: int, net_h: int, stride: int = 16,
                         noise_px: float = 2.0, background: float = 0.05):
    """Coverage [C,H,W] and bbox [4C,H,W] as a trained DetectNet_v2 emits them for ``objects``:
    cells whose centre lies in a box get high coverage and that box (plus noise) encoded."""
    gh, gw = -(-net_h // stride), -(-net_w // stride)
    cov = (rng.random((classes, gh, gw)) * background).astype(np.float32)
    bbox = rng.normal(0, 0.5, (4 * classes, gh, gw)).astype(np.float32)
    cx = (np.arange(gw) * stride + 0.5) / 35.0
    cy = (np.arange(gh) * stride + 0.5) / 35.0
    for x1, y1, x2, y2, c in objects:
        c = int(c)
        gx = np.flatnonzero((cx * 35 >= x1) & (cx * 35 <= x2))
        gy = np.flatnonzero((cy * 35 >= y1) & (cy * 35 <= y2))
        for j in gy:
            for i in gx:
                cov[c, j, i] = rng.uniform(0.4, 1.0)
                n = rng.normal(0, noise_px, 4)
                bbox[4 * c + 0, j, i] = cx[i] - (x1 + n[0]) / 35.0
                bbox[4 * c + 1, j, i] = cy[j] - (y1 + n[1]) / 35.0
                bbox[4 * c + 2, j, i] = (x2 + n[2]) / 35.0 - cx[i]
                bbox[4 * c + 3, j, i] = (y2 + n[3]) / 35.0 - cy[j]
    return cov, bbox


def nms7_outputs(rng, keep_top_k: int, kept: int, classes: int):
    """[1,K,7] NMS rows (normalized) and the keep count as int32 bits in an FP32 [1,1,1] tensor."""
    rows = np.zeros((keep_top_k, 7), np.float32)
    rows[:, 1] = -1
    x1, y1 = rng.uniform(0, 0.8, kept), rng.uniform(0, 0.8, kept)
    rows[:kept, 1] = rng.integers(0, classes, kept)
    rows[:kept, 2] = np.sort(rng.uniform(0.05, 1.0, kept))[::-1]
    rows[:kept, 3:7] = np.stack([x1, y1, x1 + rng.uniform(0.01, 0.3, kept), y1 + rng.uniform(0.01, 0.3, kept)], 1)
    keep = np.array([kept], np.int32).view(np.float32).reshape(1, 1, 1)
    return rows.reshape(1, keep_top_k, 7), keep


def batched_nms_outputs(rng, keep_top_k: int, kept: int, classes: int):
    boxes = np.zeros((keep_top_k, 4), np.float32)
    x1, y1 = rng.uniform(-0.05, 0.8, kept), rng.uniform(-0.05, 0.8, kept)
    boxes[:kept] = np.stack([x1, y1, x1 + rng.uniform(0.01, 0.3, kept), y1 + rng.uniform(0.01, 0.3, kept)], 1)
    scores = np.zeros(keep_top_k, np.float32)
    scores[:kept] = np.sort(rng.uniform(0.05, 1.0, kept))[::-1]
    cls = np.zeros(keep_top_k, np.float32)
    cls[:kept] = rng.integers(0, classes, kept)
    return np.array([kept], np.int32), boxes, scores, cls


def frcnn_tlt2_outputs(rng, rois: int, classes_with_background: int):
    y1, x1 = rng.uniform(0, 0.8, rois), rng.uniform(0, 0.8, rois)
    proposals = np.stack([y1, x1, y1 + rng.uniform(0.02, 0.2, rois), x1 + rng.uniform(0.02, 0.2, rois)], 1)
    logits = rng.normal(0, 2, (rois, classes_with_background))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    deltas = rng.normal(0, 1, (rois, (classes_with_background - 1) * 4))
    return proposals.astype(np.float32), probs.astype(np.float32), deltas.astype(np.float32)


def mask_rcnn_outputs(rng, n: int, classes: int, net_w: int, net_h: int, mask: int = 28):
    y1, x1 = rng.uniform(0, net_h * 0.8, n), rng.uniform(0, net_w * 0.8, n)
    det = np.stack([y1, x1, y1 + rng.uniform(5, net_h * 0.2, n), x1 + rng.uniform(5, net_w * 0.2, n),
                    rng.integers(0, classes, n), rng.uniform(0, 1, n)], 1).astype(np.float32)
    masks = rng.normal(0, 3, (n, classes, mask, mask)).astype(np.float32)
    return det.reshape(n, 6, 1, 1), masks


def encode_boxes_on_grid(boxes: np.ndarray, coverages: np.ndarray, net_w: int, net_h: int, stride: int = 16):
    """DetectNet_v2 outputs (one class) whose k-th grid cell, row-major, predicts boxes[k] with
    coverage coverages[k]; the other cells have zero coverage. Lets a test choose the exact
    candidate list (and its order) the clustering sees."""
    gh, gw = -(-net_h // stride), -(-net_w // stride)
    assert len(boxes) <= gh * gw
    cov = np.zeros((1, gh * gw), np.float32)
    bbox = np.zeros((4, gh * gw), np.float32)
    for k, ((x1, y1, x2, y2), c) in enumerate(zip(boxes, coverages)):
        cx, cy = ((k % gw) * stride + 0.5) / 35.0, ((k // gw) * stride + 0.5) / 35.0
        cov[0, k] = c
        bbox[:, k] = [cx - x1 / 35.0, cy - y1 / 35.0, x2 / 35.0 - cx, y2 / 35.0 - cy]
    return cov.reshape(1, gh, gw), bbox.reshape(4, gh, gw)
