"""The real exported symbols of libnvds_infercustomparser_taostream.so (built by CMake, called
through the C++ harness that builds nvinfer's std::vector arguments) against parsers/reference.py,
on generated tensors and on malformed ones. Tolerance: parsers_support.BOX_TOLERANCE_PX (1e-3 px)
and CONFIDENCE_TOLERANCE (1e-5 relative)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from taostream.converter.registry import NETWORKS
from taostream.parsers import reference as ref
from taostream.parsers.native import OutputLayer

from parsers_support import (
    DETECTNET,
    DNV2_NAMES,
    assert_same_detections,
    encode_boxes_on_grid,
    batched_nms_outputs,
    detectnet_v2_outputs,
    frcnn_tlt2_outputs,
    mask_rcnn_outputs,
    native_parsers,  # noqa: F401  (session fixture)
    nms7_outputs,
    random_objects,
)



def test_abi_layout_is_deepstreams(native_parsers):
    # FACTS §4: NvDsInferDims 40 bytes, NvDsInferLayerInfo 72 with offsets 0/4/44/48/56/64,
    # NvDsInferObjectDetectionInfo 24 (DeepStream < 9 layout in this build).
    assert native_parsers.abi_layout() == {
        "sizeof_dims": 40, "sizeof_layer_info": 72, "offset_infer_dims": 4, "offset_binding_index": 44,
        "offset_layer_name": 48, "offset_buffer": 56, "offset_is_input": 64, "sizeof_network_info": 12,
        "sizeof_object_detection_info": 24, "sizeof_instance_mask_info": 48, "offset_mask": 24,
        "sizeof_attribute": 24,
    }


def test_library_exports_every_registry_parser_name(native_parsers):
    library = ctypes.CDLL(native_parsers.library.decode())
    names = ({n.parser_function for n in NETWORKS} | {n.legacy_parser_function for n in NETWORKS}) - {""}
    names |= {"NvDsInferParseCustomFrcnnTLT", "NvDsInferParseCustomSSDTLT", "NvDsInferParseCustomYOLOV3TLT",
              "NvDsInferParseCustomMrcnnTLT", "NvDsInferParseCustomMrcnnTLTV2"}
    for name in sorted(names):
        assert hasattr(library, name), name


# --- generated tensors: C++ == reference ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["dbscan", "nms", "dbscan_nms", "none"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detectnet_v2_matches_reference(native_parsers, monkeypatch, mode, seed):
    rng = np.random.default_rng(seed)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 4 + 4 * seed, 960, 544, 3), 3, 960, 544)
    config = ref.DetectNetV2Clustering(mode=mode, eps=0.25 + 0.05 * seed, top_k=20 if seed == 2 else 0)
    params = ref.DecodeParams.uniform(3, 0.2 + 0.1 * seed, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 960, 544, params)
    assert expected, "the generator must produce detections"
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 960, 544, 3, list(params.pre_cluster_threshold))
    assert_same_detections(got, expected)


def test_detectnet_v2_per_class_clustering_settings(native_parsers, monkeypatch):
    # TAO's clustering_config is per class (the face-mask spec: eps 0.2 for mask, 0.15 for no-mask).
    rng = np.random.default_rng(11)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 12, 960, 544, 3), 3, 960, 544)
    per_class = ref.DetectNetV2Clustering(eps=(0.05, 0.6), min_height=(4.0, 30.0), confidence_threshold=(0.1, 0.5, 2.0))
    params = ref.DecodeParams.uniform(3, 0.2, detectnet_v2=per_class)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", per_class.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 960, 544, params)
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 960, 544, 3, [0.2] * 3)
    assert_same_detections(got, expected)
    # each class really clusters with its own settings: class 2 (last eps repeats) differs from a
    # uniform run with class 0's values
    uniform = ref.decode_detectnet_v2(cov, bbox, 960, 544, ref.DecodeParams.uniform(3, 0.2, detectnet_v2=per_class.for_class(0)))
    assert [d for d in expected if d.class_id == 0] == [d for d in uniform if d.class_id == 0]
    assert [d for d in expected if d.class_id != 0] != [d for d in uniform if d.class_id != 0]


def test_detectnet_v2_settings_round_trip_through_the_environment_string():
    settings = ref.DetectNetV2Clustering(mode="dbscan_nms", eps=(0.2, 0.15), min_samples=0.05, min_height=20.0, top_k=7)
    assert ref.DetectNetV2Clustering.from_env(settings.to_env()) == settings
    assert ref.DetectNetV2Clustering.from_env(None) == ref.DetectNetV2Clustering()
    with pytest.raises(ValueError, match="takes one number"):
        ref.DetectNetV2Clustering.from_env("nms_iou=0.5,0.4")


def test_detectnet_v2_list_for_a_scalar_key_is_rejected(native_parsers, monkeypatch, capfd):
    rng = np.random.default_rng(3)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 3, 640, 480, 1), 1, 640, 480)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", "nms_iou=0.5,0.4")
    assert native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 640, 480, 1, [0.2]) is None
    assert "nms_iou takes one number" in capfd.readouterr().err


def test_detectnet_v2_fp16_layers_and_batch_dim(native_parsers, monkeypatch):
    rng = np.random.default_rng(5)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 6, 640, 480, 2), 2, 640, 480)
    cov16, bbox16 = cov.astype(np.float16)[None], bbox.astype(np.float16)[None]  # [1,C,H,W]
    params = ref.DecodeParams.uniform(2, 0.3)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", params.detectnet_v2.to_env())
    expected = ref.decode_detectnet_v2(cov16, bbox16, 640, 480, params)
    assert expected
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov16, bbox16))), 640, 480, 2, [0.3, 0.3])
    assert_same_detections(got, expected)


def test_detectnet_v2_fewer_configured_classes_and_onnx_names(native_parsers, monkeypatch):
    rng = np.random.default_rng(9)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 9, 960, 544, 4), 4, 960, 544)
    params = ref.DecodeParams.uniform(2, 0.25)  # nvinfer num-detected-classes=2 on a 4-class model
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", params.detectnet_v2.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 960, 544, params)
    got = native_parsers.parse(DETECTNET, {"output_bbox/BiasAdd:0": bbox, "output_cov/Sigmoid:0": cov}, 960, 544, 2, [0.25, 0.25])
    assert_same_detections(got, expected)
    assert {d.class_id for d in got} <= {0, 1}


@pytest.mark.parametrize("function", ["NvDsInferParseCustomNMSTLT", "NvDsInferParseCustomSSDTLT"])
@pytest.mark.parametrize("seed", [0, 1])
def test_nms7_matches_reference(native_parsers, function, seed):
    rng = np.random.default_rng(seed)
    rows, keep = nms7_outputs(rng, 200, 150, 5)
    rows[0, :10, 3:7] += 0.5  # some boxes leave the frame
    params = ref.DecodeParams.uniform(4, 0.3)  # class 4 is out of range
    expected = ref.decode_nms7(rows, keep, 1248, 384, params)
    got = native_parsers.parse(function, {"NMS": rows, "NMS_1": keep}, 1248, 384, 4, [0.3] * 4)
    assert_same_detections(got, expected)
    assert 0 < len(expected) < 150


def test_faster_rcnn_onnx_names_and_legacy_name_route_to_nms(native_parsers):
    rows, keep = nms7_outputs(np.random.default_rng(3), 100, 40, 3)
    params = ref.DecodeParams.uniform(3, 0.6)
    expected = ref.decode_nms7(rows, keep, 1248, 384, params)
    layers = {"nms_out": rows, "nms_out_1": keep}
    assert_same_detections(native_parsers.parse("NvDsInferParseCustomNMSTLT", layers, 1248, 384, 3, [0.6] * 3), expected)
    assert_same_detections(native_parsers.parse("NvDsInferParseCustomFrcnnTLT", layers, 1248, 384, 3, [0.6] * 3), expected)


@pytest.mark.parametrize("function", ["NvDsInferParseCustomBatchedNMSTLT", "NvDsInferParseCustomYOLOV3TLT"])
def test_batched_nms_matches_reference(native_parsers, function):
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(4), 200, 120, 4)
    params = ref.DecodeParams.uniform(4, 0.3)
    expected = ref.decode_batched_nms(num, boxes, scores, classes, 1248, 384, params)
    layers = {"BatchedNMS": num, "BatchedNMS_1": boxes, "BatchedNMS_2": scores, "BatchedNMS_3": classes}
    assert_same_detections(native_parsers.parse(function, layers, 1248, 384, 4, [0.3] * 4), expected)


def test_efficient_nms_matches_reference(native_parsers):
    rng = np.random.default_rng(6)
    num, boxes, scores, classes = batched_nms_outputs(rng, 100, 60, 6)
    pixels = (boxes[:, [1, 0, 3, 2]] * np.array([512, 512, 512, 512], np.float32)).astype(np.float32)
    params = ref.DecodeParams.uniform(6, 0.4)
    expected = ref.decode_efficient_nms(num, pixels, scores, classes.astype(np.int32), 512, 512, params)
    layers = {"num_detections": num, "detection_boxes": pixels, "detection_scores": scores,
              "detection_classes": classes.astype(np.int32)}
    assert_same_detections(native_parsers.parse("NvDsInferParseCustomEfficientDetTAO", layers, 512, 512, 6, [0.4] * 6), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frcnn_tlt2_matches_reference(native_parsers, seed):
    proposals, probs, deltas = frcnn_tlt2_outputs(np.random.default_rng(seed), 300, 5)
    params = ref.DecodeParams.uniform(4, 0.3)
    expected = ref.decode_frcnn_tlt2(proposals, probs, deltas, 1248, 384, params)
    layers = [OutputLayer("dense_regress_td/BiasAdd", deltas.reshape(300, 16, 1, 1)),
              OutputLayer("proposal", proposals),
              OutputLayer("dense_class_td/Softmax", probs.reshape(300, 5, 1, 1))]
    got = native_parsers.parse("NvDsInferParseCustomFrcnnTLT", layers, 1248, 384, 4, [0.3] * 4)
    assert_same_detections(got, expected)
    assert 0 < len(expected) <= 100


@pytest.mark.parametrize("function, mask_name", [
    ("NvDsInferParseCustomMrcnnTLTV2", "mask_fcn_logits/BiasAdd"),
    ("NvDsInferParseCustomMrcnnTLT", "mask_head/mask_fcn_logits/BiasAdd"),
])
def test_mask_rcnn_matches_reference_with_masks(native_parsers, function, mask_name):
    det, masks = mask_rcnn_outputs(np.random.default_rng(8), 100, 3, 960, 576)
    params = ref.DecodeParams.uniform(3, 0.5)
    expected = ref.decode_mask_rcnn(det, masks, 960, 576, params)
    got = native_parsers.parse(function, {"generate_detections": det, mask_name: masks}, 960, 576, 3, [0.5] * 3, masks=True)
    assert_same_detections(got, expected, masks=True)
    assert got[0].mask.shape == (28, 28)


def test_classifier_one_attribute_per_softmax_layer(native_parsers):
    probs = [np.array([0.1, 0.8, 0.1], np.float32).reshape(3, 1, 1), np.array([0.5, 0.45, 0.05], np.float32)]
    got = native_parsers.classify("NvDsInferClassifierParseCustomTAO",
                                  [OutputLayer("predictions/Softmax", probs[0]), OutputLayer("age", probs[1])], 0.6)
    expected = [a for i, p in enumerate(probs) if (a := ref.classify_softmax(p, 0.6, index=i))]
    assert got == [ref.Attribute(0, 1, pytest.approx(0.8))] == expected


# --- malformed outputs: never crash, clear message, false ------------------------------------


def bad_values_nms7():
    rows, _ = nms7_outputs(np.random.default_rng(0), 20, 20, 3)
    rows[0, 0, 2] = np.nan
    rows[0, 1, 3] = np.inf
    rows[0, 2, 1] = 1e20  # class id
    rows[0, 3, 1] = -7
    rows[0, 4, 1] = np.nan
    return rows


@pytest.mark.parametrize("keep_value", [np.int32(-5), np.int32(2**31 - 1), np.float32(np.nan), np.float32(-1e30), np.float32(1e30)])
def test_nms7_bad_values_and_keep_counts(native_parsers, keep_value):
    rows = bad_values_nms7()
    keep = np.array([keep_value]).view(np.float32).reshape(1, 1, 1) if keep_value.dtype == np.int32 else np.array([keep_value], np.float32)
    params = ref.DecodeParams.uniform(3, 0.1)
    expected = ref.decode_nms7(rows, keep, 300, 300, params)
    got = native_parsers.parse("NvDsInferParseCustomNMSTLT", {"NMS": rows, "NMS_1": keep}, 300, 300, 3, [0.1] * 3)
    assert_same_detections(got, expected)
    assert all(np.isfinite([d.left, d.top, d.right, d.bottom, d.confidence]).all() for d in got)


def test_detectnet_v2_nan_inf_coverage_and_offsets(native_parsers, monkeypatch):
    rng = np.random.default_rng(11)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 5, 480, 272, 2), 2, 480, 272)
    cov.reshape(-1)[::7] = np.nan
    cov.reshape(-1)[3::11] = np.inf
    bbox.reshape(-1)[::13] = np.nan
    bbox.reshape(-1)[5::17] = -np.inf
    params = ref.DecodeParams.uniform(2, 0.3)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", params.detectnet_v2.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 480, 272, params)
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 480, 272, 2, [0.3, 0.3])
    assert_same_detections(got, expected)


def test_out_of_range_class_ids_in_every_layout(native_parsers):
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(2), 50, 50, 3)
    classes[::3] = 77
    classes[1::3] = -2
    classes[2] = np.nan
    layers = {"BatchedNMS": num, "BatchedNMS_1": boxes, "BatchedNMS_2": scores, "BatchedNMS_3": classes}
    got = native_parsers.parse("NvDsInferParseCustomBatchedNMSTLT", layers, 100, 100, 3, [0.0] * 3)
    assert got and all(d.class_id in (0, 1, 2) for d in got)
    det, masks = mask_rcnn_outputs(np.random.default_rng(2), 10, 2, 100, 100)
    det[:, 4] = 5  # beyond both num_classes and the mask channels
    assert native_parsers.parse("NvDsInferParseCustomMrcnnTLTV2", {"generate_detections": det, "mask_fcn_logits/BiasAdd": masks},
                                100, 100, 8, [0.0] * 8, masks=True) == []


def check_rejected(native_parsers, capfd, function, layers, message, masks=False):
    assert native_parsers.parse(function, layers, 960, 544, 3, [0.2] * 3, masks=masks) is None
    err = capfd.readouterr().err
    assert f"ERROR: taostream {function}:" in err and message in err, err


def test_zero_sized_layers_return_false_with_message(native_parsers, capfd):
    empty = np.zeros((0,), np.float32)
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomNMSTLT", {"NMS": empty, "NMS_1": np.zeros(1, np.float32)}, "'NMS'")
    check_rejected(native_parsers, capfd, DETECTNET, {"output_cov/Sigmoid": np.zeros((3, 0, 60), np.float32),
                                                      "output_bbox/BiasAdd": np.zeros((12, 0, 60), np.float32)}, "is empty")
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomBatchedNMSTLT",
                   {"BatchedNMS": np.zeros(1, np.int32), "BatchedNMS_1": empty, "BatchedNMS_2": empty, "BatchedNMS_3": empty}, "is empty")
    assert native_parsers.classify("NvDsInferClassifierParseCustomTAO", {"predictions/Softmax": empty}, 0.5) is None


def test_missing_layers_are_named(native_parsers, capfd):
    rows, keep = nms7_outputs(np.random.default_rng(0), 10, 5, 3)
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomBatchedNMSTLT", {"BatchedNMS": np.zeros(1, np.int32), "BatchedNMS_1": rows},
                   "output layer 'BatchedNMS_2' (scores) not found; the engine's outputs are: BatchedNMS, BatchedNMS_1")
    check_rejected(native_parsers, capfd, DETECTNET, {"output_cov/Sigmoid": np.zeros((3, 34, 60), np.float32)}, "'output_bbox/BiasAdd'")
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomMrcnnTLTV2", {"generate_detections": np.zeros((100, 6), np.float32)},
                   "mask logits", masks=True)


def test_malformed_dims_types_and_sizes(native_parsers, capfd):
    rows, keep = nms7_outputs(np.random.default_rng(0), 10, 5, 3)
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomNMSTLT",
                   [OutputLayer("NMS", rows, dims=(1, 11, 7)), OutputLayer("NMS_1", keep)], "dims product 77 != numElements 70")
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomNMSTLT",
                   [OutputLayer("NMS", rows, data_type=42), OutputLayer("NMS_1", keep)], "unknown data type 42")
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomNMSTLT",
                   [OutputLayer("NMS", rows, dims=(1, 1, 1, 1, 1, 1, 1, 1, 1)), OutputLayer("NMS_1", keep)], "dims (max 8)")
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomNMSTLT",
                   [OutputLayer("NMS", rows.reshape(-1)[:69], dims=(69,)), OutputLayer("NMS_1", keep)], "not a multiple of 7")
    cov = np.zeros((3, 34, 60), np.float32)
    check_rejected(native_parsers, capfd, DETECTNET, {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": np.zeros((8, 34, 60), np.float32)},
                   "[4C,H,W]")
    proposals, probs, deltas = frcnn_tlt2_outputs(np.random.default_rng(0), 10, 4)
    check_rejected(native_parsers, capfd, "NvDsInferParseCustomFrcnnTLT",
                   {"proposal": proposals, "dense_class_td/Softmax": probs, "dense_regress_td/BiasAdd": deltas[:, :8]}, "FasterRCNN layers disagree")


def test_bad_detectnet_environment_is_reported(native_parsers, capfd, monkeypatch):
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", "mode=kmeans")
    cov, bbox = detectnet_v2_outputs(np.random.default_rng(0), [], 1, 320, 160)
    check_rejected(native_parsers, capfd, DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), "mode must be none, dbscan, nms or dbscan_nms")


def test_unnamed_layers_are_read_by_position(native_parsers):
    num, boxes, scores, classes = batched_nms_outputs(np.random.default_rng(12), 30, 20, 2)
    params = ref.DecodeParams.uniform(2, 0.2)
    expected = ref.decode_batched_nms(num, boxes, scores, classes, 640, 640, params)
    got = native_parsers.parse("NvDsInferParseCustomBatchedNMSTLT", {"o0": num, "o1": boxes, "o2": scores, "o3": classes}, 640, 640, 2, [0.2] * 2)
    assert_same_detections(got, expected)
    assert expected == ref.decode("yolov3", {"o0": num, "o1": boxes, "o2": scores, "o3": classes}, 640, 640, params, batched=False)


@pytest.mark.parametrize("eps, min_samples", [(0.05, 1), (0.5, 2), (0.95, 3), (1.0, 2), (2.0, 1)])
def test_detectnet_v2_dbscan_border_points_and_extreme_eps(native_parsers, monkeypatch, eps, min_samples):
    # Weak coverage and noisy boxes leave many non-core (border and noise) cells, which is where
    # the C++ neighbour index and cluster numbering could drift from scikit-learn's order.
    rng = np.random.default_rng(int(eps * 100) + min_samples)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 8, 480, 272, 2), 2, 480, 272, noise_px=12.0)
    cov = np.where(cov > 0.3, rng.uniform(0.2, 0.6, cov.shape), cov).astype(np.float32)
    config = ref.DetectNetV2Clustering(mode="dbscan", eps=eps, min_samples=min_samples, confidence_threshold=0.0, min_height=0.0)
    params = ref.DecodeParams.uniform(2, 0.2, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 480, 272, params)
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 480, 272, 2, [0.2, 0.2])
    assert_same_detections(got, expected)
    assert expected


def shared_border_case(rng):
    """Random overlapping boxes along a line until a non-core point touches cores of two clusters
    (scikit-learn gives it to the lower-numbered one)."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn (the dev extra) is the oracle")
    while True:
        n = 40
        x1 = np.sort(rng.uniform(0, 800, n)).astype(np.float32)
        boxes = np.stack([x1, np.full(n, 100), x1 + rng.uniform(60, 120, n), np.full(n, 200)], 1).astype(np.float32)
        covs = rng.uniform(0.2, 1.0, n).astype(np.float32)
        cov, bbox = encode_boxes_on_grid(boxes, covs, 960, 544)
        params = ref.DecodeParams.uniform(1, 0.1)
        (cand, weights), = ref.decode_detectnet_v2_candidates(cov, bbox, 960, 544, params)
        distance = np.stack([ref.tao_distance_one_to_many(b, cand) for b in cand])
        db = sklearn_cluster.DBSCAN(eps=0.4, min_samples=2, metric="precomputed").fit(distance, sample_weight=weights)
        core = np.zeros(len(cand), bool)
        core[db.core_sample_indices_] = True
        for p in np.flatnonzero(~core & (db.labels_ >= 0)):
            touching = {db.labels_[j] for j in np.flatnonzero((distance[p] <= 0.4) & core)}
            if len(touching) > 1:
                return cov, bbox, db.labels_, cand, weights


def test_dbscan_border_point_between_two_clusters(native_parsers, monkeypatch):
    cov, bbox, sklearn_labels, cand, weights = shared_border_case(np.random.default_rng(21))
    np.testing.assert_array_equal(ref.dbscan_labels(cand, weights, 0.4, 2), sklearn_labels)
    config = ref.DetectNetV2Clustering(eps=0.4, min_samples=2, confidence_threshold=0.0, min_height=0.0)
    params = ref.DecodeParams.uniform(1, 0.1, detectnet_v2=config)
    monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
    expected = ref.decode_detectnet_v2(cov, bbox, 960, 544, params)
    got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 960, 544, 1, [0.1])
    assert_same_detections(got, expected)


def test_dbscan_distance_regulariser_decides_tiny_boxes(native_parsers, monkeypatch):
    # Two identical 0.1 x 0.1 px boxes: IoU = 0.01 / (0.01 + 0.01) = 0.5 with TAO's +0.01, so the
    # distance is 0.5: neighbours at eps 0.55 (one cluster, coverage 1.2), not at eps 0.45.
    boxes = np.array([[100, 100, 100.1, 100.1], [100, 100, 100.1, 100.1]], np.float32)
    cov, bbox = encode_boxes_on_grid(boxes, np.array([0.6, 0.6], np.float32), 960, 544)
    for eps, clusters in ((0.55, 1), (0.45, 0)):
        config = ref.DetectNetV2Clustering(eps=eps, min_samples=1, confidence_threshold=0.0, min_height=0.0)
        monkeypatch.setenv("TAOSTREAM_DETECTNET_V2", config.to_env())
        got = native_parsers.parse(DETECTNET, dict(zip(DNV2_NAMES, (cov, bbox))), 960, 544, 1, [0.1])
        assert len(got) == clusters
        assert got == ref.decode_detectnet_v2(cov, bbox, 960, 544, ref.DecodeParams.uniform(1, 0.1, detectnet_v2=config))
        if clusters:
            assert got[0].confidence == pytest.approx(1.2)
