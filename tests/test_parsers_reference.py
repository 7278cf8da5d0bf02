"""The numpy reference post-processors (parsers/reference.py) on hand-built tensors whose expected
boxes are worked out in the test, plus scikit-learn as an independent oracle for the DBSCAN."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from taostream.converter.registry import NETWORKS, get_network
from taostream.parsers import reference as ref
from parsers_support import BENCHMARKS_DIR, detectnet_v2_outputs, random_objects


def params(num_classes=4, threshold=0.3, **kwargs) -> ref.DecodeParams:
    return ref.DecodeParams.uniform(num_classes, threshold, **kwargs)


# --- keep counts and class ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    "array, upper, expected",
    [
        (np.array([5], np.int32).view(np.float32), 200, 5),  # int32 bits in an FP32 binding
        (np.array([5.0], np.float32), 200, 5),  # a real float count (modernized graphs)
        (np.array([-3], np.int32), 200, 0),
        (np.array([-3.0], np.float32), 200, 0),
        (np.array([np.nan], np.float32), 200, 0),
        (np.array([1e30], np.float32), 200, 200),
        (np.array([2**31 - 1], np.int32), 200, 200),
        (np.array([], np.float32), 200, 0),
    ],
)
def test_count_value_reads_bits_floats_and_clamps(array, upper, expected):
    assert ref.count_value(array, upper) == expected


def test_nms7_scales_filters_and_clips():
    rows = np.array(
        [
            [0, 1, 0.9, 0.1, 0.2, 0.5, 0.6],  # kept
            [0, 2, 0.2, 0.1, 0.1, 0.2, 0.2],  # below threshold
            [0, 9, 0.9, 0.1, 0.1, 0.2, 0.2],  # class id out of range
            [0, 0, 0.8, -0.5, 0.5, 1.5, 0.75],  # clipped to the frame
            [0, 1, np.nan, 0.1, 0.1, 0.2, 0.2],  # NaN confidence
            [0, 1, 0.9, np.inf, 0.1, 0.2, 0.2],  # inf coordinate
            [0, 1, 0.9, 0.1, 0.1, 0.2, 0.2],  # beyond the keep count
        ],
        np.float32,
    ).reshape(1, 7, 7)
    keep = np.array([6], np.int32).view(np.float32).reshape(1, 1, 1)
    found = ref.decode_nms7(rows, keep, 300, 200, params())
    assert [(d.class_id, round(d.left, 3), round(d.top, 3), round(d.right, 3), round(d.bottom, 3)) for d in found] == [
        (1, 30.0, 40.0, 150.0, 120.0),
        (0, 0.0, 100.0, 300.0, 150.0),
    ]
    assert found[0].confidence == pytest.approx(0.9)


def test_nms7_without_keep_count_reads_every_row():
    rows = np.zeros((1, 3, 7), np.float32)
    rows[0, :, 1] = -1  # the plugin's empty rows
    rows[0, 2] = [0, 0, 0.5, 0, 0, 0.5, 0.5]
    found = ref.decode_nms7(rows, None, 100, 100, params())
    assert len(found) == 1 and found[0].right == pytest.approx(50.0)


def test_batched_and_efficient_nms_coordinate_orders():
    boxes = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    found = ref.decode_batched_nms(np.array([1], np.int32), boxes, np.array([0.5], np.float32),
                                   np.array([2.0], np.float32), 100, 50, params())
    assert (found[0].left, found[0].top, found[0].right, found[0].bottom) == pytest.approx((10, 10, 30, 20))
    pixels = np.array([[10, 20, 30, 40]], np.float32)  # y1, x1, y2, x2
    found = ref.decode_efficient_nms(np.array([1], np.int32), pixels, np.array([0.5], np.float32),
                                     np.array([3], np.int32), 100, 50, params())
    assert (found[0].class_id, found[0].left, found[0].top, found[0].right, found[0].bottom) == (3, 20, 10, 40, 30)


def test_four_output_layout_rejects_inconsistent_sizes():
    with pytest.raises(ref.MalformedOutputError, match="inconsistent"):
        ref.decode_batched_nms(np.array([1], np.int32), np.zeros((3, 4), np.float32),
                               np.zeros(2, np.float32), np.zeros(2, np.float32), 10, 10, params())


# --- DetectNet_v2 -------------------------------------------------------------------------------


def one_cell_grid(gx: int, gy: int, box, cov_value=0.9, classes=1, grid=(4, 6)):
    """A grid where one cell predicts ``box`` (x1,y1,x2,y2) with the TAO encoding."""
    gh, gw = grid
    cov = np.zeros((classes, gh, gw), np.float32)
    bbox = np.zeros((4 * classes, gh, gw), np.float32)
    cx, cy = (gx * 16 + 0.5) / 35, (gy * 16 + 0.5) / 35
    x1, y1, x2, y2 = box
    cov[0, gy, gx] = cov_value
    bbox[0:4, gy, gx] = [cx - x1 / 35, cy - y1 / 35, x2 / 35 - cx, y2 / 35 - cy]
    return cov, bbox


def test_detectnet_v2_decode_inverts_the_tao_encoding():
    cov, bbox = one_cell_grid(2, 1, (10.0, 5.0, 60.0, 50.0))
    found = ref.decode_detectnet_v2(cov, bbox, 96, 64, params(1, 0.5, detectnet_v2=ref.DetectNetV2Clustering(mode="none")))
    assert len(found) == 1
    d = found[0]
    assert (d.left, d.top, d.right, d.bottom) == pytest.approx((10, 5, 60, 50), abs=1e-4)
    assert d.confidence == pytest.approx(0.9)


def test_detectnet_v2_stride_is_ceil_of_network_over_grid_and_boxes_clip():
    cov, bbox = one_cell_grid(5, 3, (70.0, 40.0, 200.0, 90.0))  # beyond a 90x60 network
    found = ref.decode_detectnet_v2(cov, bbox, 90, 60, params(1, 0.5, detectnet_v2=ref.DetectNetV2Clustering(mode="none")))
    # 90/6 -> stride 15 (not 16): the decoded box moves by (16-15)*5 px in x and (16-15)*3 in y
    # relative to the encoding above, then clips to 90x60.
    d = found[0]
    assert d.left == pytest.approx(70.0 - 5 * (16 - 15), abs=1e-3)
    assert d.top == pytest.approx(40.0 - 3 * (16 - 15), abs=1e-3)
    assert (d.right, d.bottom) == (90.0, 60.0)


def test_dbscan_merges_overlapping_cells_with_coverage_weights():
    # Three cells predicting nearly the same box and one far away; min_samples 1 means a core
    # point needs summed coverage >= 1 in its neighbourhood.
    boxes = np.array([[10, 10, 50, 50], [12, 10, 52, 50], [10, 12, 50, 52], [200, 200, 240, 240]], np.float32)
    covs = np.array([0.6, 0.3, 0.3, 0.9], np.float32)
    config = ref.DetectNetV2Clustering(eps=0.3, min_samples=0.05, confidence_threshold=0.1, min_height=4)
    out_boxes, conf = ref.dbscan_clusters(boxes, covs, config)
    assert len(out_boxes) == 1  # the lone box (0.9 < 1) is noise
    assert conf[0] == pytest.approx(1.2)
    expected = (boxes[:3] * (covs[:3, None] / 1.2)).sum(0)
    np.testing.assert_allclose(out_boxes[0], expected, atol=1e-4)


def test_dbscan_labels_match_scikit_learn():
    sklearn_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn (the dev extra) is the oracle")
    rng = np.random.default_rng(7)
    objects = random_objects(rng, 15, 960, 544, 1)
    cov, bbox = detectnet_v2_outputs(rng, objects, 1, 960, 544)
    (boxes, covs), = ref.decode_detectnet_v2_candidates(cov, bbox, 960, 544, params(1, 0.2))
    assert len(boxes) > 200
    distance = np.stack([ref.tao_distance_one_to_many(b, boxes) for b in boxes])
    for eps, min_samples in ((0.3, 1), (0.5, 2), (0.1, 1)):
        expected = sklearn_cluster.DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(
            distance, sample_weight=covs)
        np.testing.assert_array_equal(ref.dbscan_labels(boxes, covs, eps, min_samples), expected)


def load_tao_baseline():
    spec = importlib.util.spec_from_file_location("tao_sklearn_dbscan", BENCHMARKS_DIR / "tao_sklearn_dbscan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detectnet_v2_dbscan_matches_tao_sklearn_postprocessor():
    pytest.importorskip("sklearn", reason="scikit-learn (the dev extra) runs TAO's post-processor")
    tao = load_tao_baseline()
    rng = np.random.default_rng(3)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 10, 960, 544, 3), 3, 960, 544)
    config = ref.DetectNetV2Clustering(eps=0.3, min_samples=1, confidence_threshold=0.1, min_height=4)
    found = ref.decode_detectnet_v2(cov, bbox, 960, 544, params(3, 0.2, detectnet_v2=config))
    expected = tao.tao_postprocess(cov, bbox, 960, 544, 0.2, 0.3, 1, 0.1, 4)
    assert len(found) == len(expected) >= 8
    for got, (class_id, box, confidence) in zip(found, expected):
        assert got.class_id == class_id
        # TAO averages in float32, the reference in float64: 0.01 px.
        np.testing.assert_allclose([got.left, got.top, got.right, got.bottom], box, atol=1e-2)
        assert got.confidence == pytest.approx(confidence, rel=1e-5)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.5, 0.9, 0.4, 0.9], np.float32)
    assert ref.nms_keep(boxes, scores, 0.5) == [1, 2]  # 3 ties with 1 and is suppressed by it
    assert ref.nms_keep(boxes, scores, 0.5, top_k=1) == [1]


# --- FasterRCNN (TLT 2.0), MaskRCNN, classifier ----------------------------------------------


def test_frcnn_tlt2_applies_deltas_background_last_and_class_nms():
    proposals = np.array([[0.1, 0.2, 0.5, 0.6], [0.1, 0.2, 0.5, 0.6]], np.float32)  # y1,x1,y2,x2
    probs = np.array([[0.7, 0.1, 0.2], [0.6, 0.0, 0.4]], np.float32)  # last column = background
    deltas = np.zeros((2, 8), np.float32)
    deltas[0, 0:4] = [1.0, 0.0, 0.0, 0.0]  # tx = 1/10 of the width
    found = ref.decode_frcnn_tlt2(proposals, probs, deltas, 100, 100, params(3, 0.5))
    # roi 0 -> x 20..60 shifted by 0.1*40 = 4; roi 1 unshifted; IoU 36/44 > 0.3 -> one survives
    assert len(found) == 1
    d = found[0]
    assert (d.class_id, d.left, d.top, d.right, d.bottom) == pytest.approx((0, 24, 10, 64, 50))
    assert d.confidence == pytest.approx(0.7)


def test_frcnn_tlt2_huge_deltas_stay_finite():
    proposals = np.array([[0.1, 0.1, 0.2, 0.2]], np.float32)
    probs = np.array([[0.9, 0.1]], np.float32)
    deltas = np.array([[0, 0, 1e30, np.inf]], np.float32)
    found = ref.decode_frcnn_tlt2(proposals, probs, deltas, 100, 100, params(1, 0.5))
    assert len(found) == 1 and all(np.isfinite([found[0].left, found[0].right]))


def test_mask_rcnn_returns_the_detected_class_channel():
    det = np.array([[10, 20, 40, 80, 2, 0.9], [0, 0, 5, 5, 1, 0.1]], np.float32)
    masks = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    found = ref.decode_mask_rcnn(det, masks, 100, 100, params(3, 0.5))
    assert len(found) == 1
    assert (found[0].left, found[0].top, found[0].right, found[0].bottom) == (20, 10, 80, 40)
    np.testing.assert_array_equal(found[0].mask, masks[0, 2])


def test_classify_softmax_argmax_threshold_and_nan():
    assert ref.classify_softmax(np.array([0.1, 0.7, 0.2], np.float32), 0.5) == ref.Attribute(0, 1, pytest.approx(0.7))
    assert ref.classify_softmax(np.array([0.4, 0.3, 0.3], np.float32), 0.5) is None
    assert ref.classify_softmax(np.array([np.nan, 0.6], np.float32), 0.5).value == 1


# --- network-level decode() ----------------------------------------------------------------------


def test_every_registry_network_has_a_reference_decoder_and_names():
    for net in NETWORKS:
        assert net.output_layout in ref.LAYOUT_OUTPUTS, net.name
        known = {n for names in ref.LAYOUT_OUTPUTS[net.output_layout] for n in names}
        for name in (*net.outputs_onnx, *net.outputs_uff):
            assert name.split(":")[0] in known, (net.name, name)


def test_decode_batched_detectnet_v2_by_name_and_by_position():
    rng = np.random.default_rng(1)
    images = [detectnet_v2_outputs(rng, random_objects(rng, 3, 480, 272, 2), 2, 480, 272) for _ in range(2)]
    cov = np.stack([c for c, _ in images])
    bbox = np.stack([b for _, b in images])
    p = params(2, 0.3)
    by_name = ref.decode("detectnet_v2", {"output_cov/Sigmoid:0": cov, "output_bbox/BiasAdd:0": bbox}, 480, 272, p)
    by_position = ref.decode("peoplenet", {"a": cov, "b": bbox}, 480, 272, p)
    assert len(by_name) == 2 and by_name == by_position
    assert by_name[1] == ref.decode_detectnet_v2(cov[1], bbox[1], 480, 272, p)
    assert by_name[0] and by_name[0] != by_name[1]


def test_decode_picks_tlt2_faster_rcnn_from_its_outputs():
    proposals = np.array([[0.1, 0.2, 0.5, 0.6]], np.float32)
    probs = np.array([[0.9, 0.1]], np.float32)
    outputs = {"proposal": proposals, "dense_class_td/Softmax": probs, "dense_regress_td/BiasAdd": np.zeros((1, 4), np.float32)}
    assert ref.layout_of(get_network("frcnn"), outputs) == "frcnn_tlt2"
    found = ref.decode("frcnn", outputs, 100, 100, params(1, 0.5), batched=False)
    assert len(found) == 1 and found[0].left == pytest.approx(20)


def test_decode_missing_output_names_the_layer():
    with pytest.raises(ref.MalformedOutputError, match="'BatchedNMS_2' not found"):
        ref.decode("yolov4", {"BatchedNMS": np.zeros(1, np.int32), "BatchedNMS_1": np.zeros((5, 4), np.float32)}, 10, 10)


def test_dbscan_row_by_row_path_equals_the_matrix_path(monkeypatch):
    sklearn_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn (the dev extra) is the oracle")
    rng = np.random.default_rng(4)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 12, 480, 272, 1), 1, 480, 272, noise_px=10.0)
    cov = np.where(cov > 0.3, rng.uniform(0.2, 0.7, cov.shape), cov).astype(np.float32)
    (boxes, covs), = ref.decode_detectnet_v2_candidates(cov, bbox, 480, 272, params(1, 0.2))
    dense = ref.dbscan_labels(boxes, covs, 0.5, 2)
    assert (dense == -1).any() and dense.max() >= 2  # noise and several clusters
    monkeypatch.setattr(ref, "_DENSE_DBSCAN_LIMIT", 0)
    np.testing.assert_array_equal(ref.dbscan_labels(boxes, covs, 0.5, 2), dense)
    distance = ref.tao_distance_matrix(boxes)
    expected = sklearn_cluster.DBSCAN(eps=0.5, min_samples=2, metric="precomputed").fit_predict(distance, sample_weight=covs)
    np.testing.assert_array_equal(dense, expected)
