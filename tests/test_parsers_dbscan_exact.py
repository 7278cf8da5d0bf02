"""The C++ DetectNet_v2 DBSCAN (grid index, per-thread workspace) equals the numpy/scikit-learn
reference on busy frames: the same clusters in the same order (count, class ids), boxes and
confidences within the parser tests' tolerance (the reference sums the weighted mean with numpy's
pairwise float64 summation, the C++ sequentially: last-bit differences of the float64 mean, never
of the clustering). Covers the cases where an index could drift from the
all-pairs definition: crowded overlapping objects, duplicate boxes (ties), a pair exactly at eps
and just beyond it, cells exactly at the pre-cluster threshold, non-core border points, eps >= 1
(every pair) and eps <= 0, and the same thread reusing its buffers across frames of different
sizes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy.sparse.csgraph import minimum_spanning_tree

from taostream.parsers import reference as ref

from parsers_support import (DETECTNET, DNV2_NAMES, assert_same_detections, detectnet_v2_outputs,  # noqa: F401
                             native_parsers, random_objects)

NET_W, NET_H, CLASSES = 960, 544, 3


def busy_frame(rng, objects: int, threshold: float, noise_px: float = 3.0):
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, objects, NET_W, NET_H, CLASSES), CLASSES, NET_W, NET_H,
                                     noise_px=noise_px, background=0.1)
    # Cells exactly at the threshold (kept: coverage >= threshold) and one float step below it.
    flat = cov.reshape(-1)
    picks = rng.choice(flat.size, 60, replace=False)
    flat[picks[:30]] = np.float32(threshold)
    flat[picks[30:]] = np.nextafter(np.float32(threshold), np.float32(0))
    # Duplicate boxes: some cells repeat another cell's box and coverage exactly (distance ties).
    gh, gw = cov.shape[1:]
    for c in range(CLASSES):
        src = rng.integers(0, gh * gw, 20)
        dst = rng.integers(0, gh * gw, 20)
        for s, d in zip(src, dst):
            sy, sx, dy, dx = s // gw, s % gw, d // gw, d % gw
            cov[c, dy, dx] = cov[c, sy, sx]
            # Same decoded box: the offsets are relative to the cell centre.
            shift = np.float32((dx - sx) * 16 / 35.0), np.float32((dy - sy) * 16 / 35.0)
            bbox[4 * c, dy, dx] = bbox[4 * c, sy, sx] + shift[0]
            bbox[4 * c + 1, dy, dx] = bbox[4 * c + 1, sy, sx] + shift[1]
            bbox[4 * c + 2, dy, dx] = bbox[4 * c + 2, sy, sx] - shift[0]
            bbox[4 * c + 3, dy, dx] = bbox[4 * c + 3, sy, sx] - shift[1]
    return cov, bbox


def check_exact(native, monkeypatch, cov, bbox, threshold, **clustering):
    config = ref.DetectNetV2Clustering(mode=clustering.pop("mode", "dbscan"), **clustering)
    params = ref.DecodeParams.uniform(CLASSES, threshold, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, NET_W, NET_H, params)
    got = native.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), NET_W, NET_H, CLASSES, [threshold] * CLASSES)
    assert_same_detections(got, expected)
    assert [d.class_id for d in got] == [d.class_id for d in expected]
    return expected


@pytest.mark.parametrize("seed", range(12))
def test_busy_frames_equal_reference_exactly(native_parsers, monkeypatch, seed):
    rng = np.random.default_rng(1000 + seed)
    threshold = float(np.float32(rng.choice([0.1, 0.2, 0.35])))
    cov, bbox = busy_frame(rng, objects=16 + 2 * seed, threshold=threshold, noise_px=rng.choice([1.0, 3.0, 8.0]))
    assert int((cov >= threshold).sum()) >= 500, "a busy frame"
    eps = float(rng.choice([0.05, 0.2, 0.3, 0.5, 0.7, 0.9]))
    min_samples = float(rng.choice([0.05, 1.0, 2.0, 4.0]))
    found = check_exact(native_parsers, monkeypatch, cov, bbox, threshold, eps=eps, min_samples=min_samples,
                        confidence_threshold=0.0, min_height=0.0, mode=["dbscan", "dbscan_nms"][seed % 2])
    assert found


def test_pair_exactly_at_eps_is_a_neighbour_and_one_ulp_beyond_is_not(native_parsers, monkeypatch):
    rng = np.random.default_rng(7)
    cov, bbox = busy_frame(rng, objects=20, threshold=0.2)
    params = ref.DecodeParams.uniform(CLASSES, 0.2)
    cand, _ = ref.decode_detectnet_v2_candidates(cov, bbox, NET_W, NET_H, params)[0]
    # The distance of a real pair of candidates, as the reference computes it (float64).
    distances = ref.tao_distance_one_to_many(cand[0], cand[1:])
    eps = float(np.min(distances[distances > 0.05]))
    results = []
    for e in (eps, float(np.nextafter(eps, 0.0))):
        results.append(check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=e, min_samples=1.0,
                                   confidence_threshold=0.0, min_height=0.0))
    assert len(results[0]) != len(results[1]) or results[0] != results[1], "the pair at exactly eps must matter"


@pytest.mark.parametrize("eps", [-0.5, 0.0, 1.0, 3.0])
def test_degenerate_eps(native_parsers, monkeypatch, eps):
    rng = np.random.default_rng(11)
    cov, bbox = busy_frame(rng, objects=10, threshold=0.2)
    check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=eps, min_samples=1.0, confidence_threshold=0.0,
                min_height=0.0)


def test_buffers_reused_across_frames_of_different_sizes(native_parsers, monkeypatch):
    # One thread parses a busy frame, a nearly empty one, then a busy one again: the reused
    # workspace must not leak state from the previous frame.
    rng = np.random.default_rng(5)
    frames = [busy_frame(rng, 24, 0.2), busy_frame(rng, 1, 0.2), busy_frame(rng, 18, 0.2)]
    for cov, bbox in frames + frames[::-1]:
        check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.3, min_samples=1.0, confidence_threshold=0.1,
                    min_height=4.0)


def test_threads_calling_at_once_get_their_own_workspaces(native_parsers, monkeypatch):
    # nvinfer may run several parser calls at once (one per GIE/stream thread); each thread has
    # its own clustering workspace, so concurrent frames of different sizes give what one call
    # alone gives. ctypes releases the GIL for the calls, so they do overlap.
    rng = np.random.default_rng(9)
    frames = [busy_frame(rng, objects, 0.2) for objects in (2, 24, 8, 30, 14, 20, 5, 26)]
    config = ref.DetectNetV2Clustering(eps=0.3, min_samples=1.0, confidence_threshold=0.1, min_height=4.0)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())

    def parse(frame):
        return native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, frame)), NET_W, NET_H, CLASSES, [0.2] * CLASSES)

    alone = [parse(frame) for frame in frames]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(parse, frames * 2)) == alone * 2


# --- the grid index's shortcuts (cell bound, division-free decisions, skipped expansions) ---------
# A cell is skipped when its edge ranges bound every box's intersection with the expanding box below
# (1 - eps) * its area (float bound with margins, only for areas >= 1 px and 0 < eps < 0.999); a
# pair is decided without the division unless its IoU quotient lies within 1e-9 of 1 - eps. These
# frames sit where such shortcuts could go wrong: noise-free objects (near-identical boxes whose
# distance 0.01 / (area + 0.01) is about eps = 1e-6), eps where the cell bound switches off, boxes
# under 1 px, boxes with x2 < x1 (garbage offsets), boxes that share an edge (zero intersection).


def noise_free_frame(rng, objects: int, scale: float = 1.0):
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, objects, NET_W, NET_H, CLASSES), CLASSES, NET_W, NET_H,
                                     noise_px=0.0, background=0.1)
    return cov, (bbox * np.float32(scale)).astype(np.float32)


@pytest.mark.parametrize("eps", [1e-6, 2e-6, 1e-4, 0.05, 0.998, 0.9989, 0.9991, 0.9995])
def test_noise_free_objects_across_eps(native_parsers, monkeypatch, eps):
    rng = np.random.default_rng(int(eps * 1e6) % 1000 + 21)
    cov, bbox = noise_free_frame(rng, 20)
    found = check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=eps, min_samples=1.0,
                        confidence_threshold=0.0, min_height=0.0)
    assert found


@pytest.mark.parametrize("scale", [0.02, 0.002])
def test_boxes_under_one_pixel_among_larger_ones(native_parsers, monkeypatch, scale):
    # Scaled offsets decode to boxes of a few px and under 1 px around each cell centre.
    rng = np.random.default_rng(31)
    cov, bbox = noise_free_frame(rng, 20, scale)
    check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.3, min_samples=1.0, confidence_threshold=0.0,
                min_height=0.0)


def test_inverted_and_degenerate_boxes(native_parsers, monkeypatch):
    rng = np.random.default_rng(41)
    cov = rng.random((CLASSES, NET_H // 16, NET_W // 16)).astype(np.float32)
    bbox = (rng.normal(0, 1, (4 * CLASSES, NET_H // 16, NET_W // 16)) * 3.0).astype(np.float32)
    candidates = ref.decode_detectnet_v2_candidates(cov, bbox, NET_W, NET_H, ref.DecodeParams.uniform(CLASSES, 0.2))
    boxes = np.concatenate([c[0] for c in candidates])
    assert (boxes[:, 2] < boxes[:, 0]).sum() > 100 and (boxes[:, 2] > boxes[:, 0]).sum() > 100
    for eps in (0.3, 0.7):
        check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=eps, min_samples=2.0, confidence_threshold=0.0,
                    min_height=0.0)


def test_boxes_sharing_edges(native_parsers, monkeypatch):
    # A lattice of equal boxes that touch (x2 of one is x1 of the next): zero intersections, equal
    # edges on every cell border of the index.
    rng = np.random.default_rng(51)
    objects = [(x, y, x + 80.0, y + 64.0, (x // 80 + y // 64) % CLASSES) for x in range(0, 880, 80)
               for y in range(0, 448, 64)]
    cov, bbox = detectnet_v2_outputs(rng, objects, CLASSES, NET_W, NET_H, noise_px=0.0, background=0.1)
    for eps in (0.3, 0.6):
        check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=eps, min_samples=1.0, confidence_threshold=0.0,
                    min_height=0.0)


def test_empty_frame_and_an_empty_class(native_parsers, monkeypatch):
    rng = np.random.default_rng(61)
    cov, bbox = busy_frame(rng, 20, 0.2)
    empty = np.zeros_like(cov)
    assert check_exact(native_parsers, monkeypatch, empty, bbox, 0.2, eps=0.3, min_samples=1.0) == []
    cov[1] = 0.0  # class 1 has no cell above the threshold, classes 0 and 2 are busy
    found = check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.3, min_samples=1.0,
                        confidence_threshold=0.0, min_height=0.0)
    assert {d.class_id for d in found} == {0, 2}


def test_settings_changed_between_calls_are_used(native_parsers, monkeypatch):
    # The parser keeps the parsed $TAOSTREAM_DETECTNET_V2 while its text is unchanged: a new text
    # (or a malformed one, or none) must take effect at the next call of the same thread.
    rng = np.random.default_rng(71)
    cov, bbox = busy_frame(rng, 20, 0.2)
    layers = dict(zip(DNV2_NAMES, (cov, bbox)))
    first = check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.3, min_samples=1.0)
    second = check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.05, min_samples=1.0)
    assert first != second
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", "eps=0.3 mode=kmeans")
    assert native_parsers.parse(DETECTNET, layers, NET_W, NET_H, CLASSES, [0.2] * CLASSES) is None
    monkeypatch.delenv("TAOSTREAM_DETECTNET_V2")
    defaults = ref.decode_detectnet_v2(cov, bbox, NET_W, NET_H, ref.DecodeParams.uniform(CLASSES, 0.2))
    assert_same_detections(native_parsers.parse(DETECTNET, layers, NET_W, NET_H, CLASSES, [0.2] * CLASSES), defaults)
    assert check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=0.3, min_samples=1.0) == first


def test_real_pairs_exactly_at_eps_and_one_ulp_below(native_parsers, monkeypatch):
    # eps set to the distance of real candidate pairs of a busy frame (the test above lands on the
    # degenerate 1.0): pairs of the distances' minimum spanning tree, which join groups of boxes. At
    # eps the pair is a neighbour, one float64 step below it is not, whatever shortcut the index
    # takes to decide it (the IoU quotient is then within 1e-16 of 1 - eps).
    rng = np.random.default_rng(81)
    cov, bbox = busy_frame(rng, objects=30, threshold=0.2, noise_px=8.0)
    cand, _ = ref.decode_detectnet_v2_candidates(cov, bbox, NET_W, NET_H, ref.DecodeParams.uniform(CLASSES, 0.2))[1]
    tree = minimum_spanning_tree(ref.tao_distance_matrix(cand)).data
    bridges = np.unique(tree[(tree > 0.1) & (tree < 0.95)])
    assert len(bridges) >= 8
    changed = 0
    for eps in bridges[np.linspace(0, len(bridges) - 1, 8).astype(int)]:
        at, below = (check_exact(native_parsers, monkeypatch, cov, bbox, 0.2, eps=float(e), min_samples=1.0,
                                 confidence_threshold=0.0, min_height=0.0) for e in (eps, np.nextafter(eps, 0.0)))
        changed += at != below
    assert changed >= 3, "pairs at exactly eps must change the clusters"
