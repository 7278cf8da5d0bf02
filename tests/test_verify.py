"""`taostream verify`: a candidate deployment against the bundle's FP32 reference.

The matcher is checked on hand-built detections whose IoU and score differences are worked out
here; the command on real bundles: NVIDIA's facemask DetectNet_v2 (real weights, NVIDIA's own INT8
calibration cache) as a Q/DQ graph against FP32 on a real photo, a synthetic SSD against the
plugin graph and a real Triton server, and a damaged graph that must fail."""

from __future__ import annotations

import json
import struct

import numpy as np
import onnx
import pytest

from cli_support import assert_clean_error, run_cli, sample_bundle
from taostream.inference.verify import (
    TOLERANCES,
    compare_classification,
    compare_detections,
    score_delta,
    with_reference_membership,
)
from taostream.parsers.reference import Attribute, Detection
from test_uff_to_onnx import astronaut_photo

EXACT, FP16, INT8 = TOLERANCES["exact"], TOLERANCES["fp16"], TOLERANCES["int8"]


def det(class_id, left, top, right, bottom, confidence, mask=None):
    return Detection(class_id, left, top, right, bottom, confidence, mask)


def test_identical_lists_match_exactly():
    boxes = [det(0, 10, 10, 50, 60, 0.9), det(1, 100, 20, 180, 90, 0.7), det(0, 200, 200, 260, 280, 0.45)]
    report = compare_detections(boxes, list(reversed(boxes)), EXACT, threshold=0.3)
    assert report.passed and report.matched == 3 and report.worst_iou == 1.0 and report.worst_score_delta == 0.0


def test_shifted_box_is_judged_by_iou():
    # 100x100 boxes 10 px apart: intersection 90*100, union 2*10000 - 9000 -> IoU 9/11 = 0.818
    ref, cand = [det(2, 0, 0, 100, 100, 0.8)], [det(2, 10, 0, 110, 100, 0.8)]
    exact = compare_detections(ref, cand, EXACT, threshold=0.3)
    assert not exact.passed and exact.matched == 1 and exact.out_of_tolerance[0].iou == pytest.approx(9 / 11, abs=1e-5)
    assert compare_detections(ref, cand, INT8, threshold=0.3).passed  # int8 allows IoU >= 0.75


def test_score_drift_is_judged_by_precision():
    ref, cand = [det(0, 0, 0, 50, 50, 0.80)], [det(0, 0, 0, 50, 50, 0.75)]
    assert not compare_detections(ref, cand, FP16, threshold=0.3).passed  # 0.05 > 0.03
    assert compare_detections(ref, cand, INT8, threshold=0.3).passed  # 0.05 <= 0.1


def test_summed_scores_are_compared_relatively():
    # DetectNet_v2's clustered confidence is a sum of coverages: 68.8 vs 65.5 is a 4.8 % change
    assert score_delta(68.8, 65.5) == pytest.approx(3.3 / 68.8)
    assert score_delta(0.8, 0.75) == pytest.approx(0.05)


def test_grid_cells_that_cross_the_pre_cluster_threshold_by_a_small_change_are_clustered_as_in_fp32():
    # One class, 2x3 grid, pre-cluster threshold 0.3, INT8 tolerance 0.1 (cells worked out by hand):
    ref = np.array([[[[0.345, 0.31, 0.60], [0.25, 0.29, 0.10]]]], np.float32)
    cand = np.array([[[[0.26, 0.18, 0.55], [0.31, 0.41, 0.10]]]], np.float32)
    bbox = np.zeros((1, 4, 2, 3), np.float32)
    out, cells = with_reference_membership({"output_cov/Sigmoid": ref, "output_bbox/BiasAdd": bbox},
                                           {"output_cov/Sigmoid": cand, "output_bbox/BiasAdd": bbox}, [0.3], INT8.score)
    got = out["output_cov/Sigmoid"][0, 0]
    assert got[0, 0] == np.float32(0.3)  # 0.345 -> 0.26 (moved 0.085): kept in the cluster, at the threshold
    assert got[1, 0] < np.float32(0.3) and got[1, 0] == pytest.approx(0.3)  # 0.25 -> 0.31: left out, as in FP32
    assert got[0, 1] == np.float32(0.18) and got[1, 1] == np.float32(0.41)  # moved 0.13 and 0.12: real changes
    assert got[0, 2] == np.float32(0.55) and got[1, 2] == np.float32(0.10)  # same side: untouched
    assert list(cells) == [2] and out["output_bbox/BiasAdd"] is bbox and cand[0, 0, 0, 0] == np.float32(0.26)
    # a server that decodes (the CPU Triton model) has no grid: its outputs pass through
    served = {"num_detections": np.ones((1, 1), np.int32), "detections": np.zeros((1, 100, 6), np.float32)}
    assert with_reference_membership({"output_cov/Sigmoid": ref, "output_bbox/BiasAdd": bbox}, served, [0.3],
                                     INT8.score)[0] is served


def test_class_flip_is_one_missing_and_one_extra():
    report = compare_detections([det(0, 0, 0, 50, 50, 0.9)], [det(1, 0, 0, 50, 50, 0.9)], INT8, threshold=0.3)
    assert not report.passed and report.matched == 0
    assert report.missing == [{"class_id": 0, "box": (0.0, 0.0, 50.0, 50.0), "confidence": 0.9}]
    assert [d["class_id"] for d in report.extra] == [1]


def test_detections_at_the_threshold_may_appear_on_one_side():
    near, far = det(0, 0, 0, 50, 50, 0.32), det(1, 100, 100, 150, 150, 0.5)
    report = compare_detections([near, far], [far], FP16, threshold=0.3)
    assert report.passed and report.borderline == 1  # 0.32 < 0.3 + 0.03
    report = compare_detections([near, far], [far], EXACT, threshold=0.3)
    assert not report.passed and report.missing[0]["confidence"] == 0.32  # 0.32 >= 0.3 + 0.0001


def test_the_last_kept_rank_counts_as_a_threshold():
    # Both sides keep at most 3; the candidate's third is another box scored a hair higher.
    common = [det(0, 0, 0, 10, 10, 0.9), det(0, 20, 0, 30, 10, 0.8)]
    ref = [*common, det(0, 40, 0, 50, 10, 0.600)]
    cand = [*common, det(0, 60, 0, 70, 10, 0.605)]
    report = compare_detections(ref, cand, FP16, threshold=0.3, cap=3)
    assert report.passed and report.borderline == 2 and report.matched == 2
    assert not compare_detections(ref, cand, FP16, threshold=0.3, cap=0).passed


def test_masks_are_compared():
    mask = np.full((28, 28), 0.5, np.float32)
    ref = [det(1, 0, 0, 50, 50, 0.9, mask)]
    assert compare_detections(ref, [det(1, 0, 0, 50, 50, 0.9, mask + 0.01)], FP16, threshold=0.3).passed
    report = compare_detections(ref, [det(1, 0, 0, 50, 50, 0.9, mask + 0.2)], FP16, threshold=0.3)
    assert not report.passed and report.out_of_tolerance[0].mask_delta == pytest.approx(0.2, abs=1e-6)


def test_classifier_results():
    assert compare_classification(Attribute(0, 3, 0.90), Attribute(0, 3, 0.89), FP16, 0.5).passed
    flipped = compare_classification(Attribute(0, 3, 0.90), Attribute(0, 4, 0.90), INT8, 0.5)
    assert not flipped.passed and "class 3" in flipped.classification and "vs 4" in flipped.classification
    assert compare_classification(Attribute(0, 3, 0.51), None, FP16, 0.5).passed  # borderline
    assert not compare_classification(Attribute(0, 3, 0.9), None, FP16, 0.5).passed


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR))
    return path


def test_real_facemask_int8_graph_agrees_with_fp32(tmp_path, fixtures_dir, photo):
    bundle = tmp_path / "bundle"
    assert run_cli("bundle", fixtures_dir / "models/facemask_detectnet_v2_resnet18.etlt", "--network", "detectnet_v2",
                   "--spec", fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "--key", "tlt_encode",
                   "--precision", "int8", "--calibration-cache", fixtures_dir / "calibration/facemask_detectnet_v2_cal.bin",
                   "-o", bundle).returncode == 0
    result = run_cli("verify", bundle, photo, "--no-progress", "--json", tmp_path / "report.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tolerance int8" in result.stdout and result.stdout.strip().splitlines()[-1].startswith("PASS")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] and report["totals"]["matched"] >= 1  # the astronaut's face
    # The Q/DQ graph really is another computation: it differs, within INT8's tolerance.
    assert 0 < report["totals"]["worst_score_delta"] <= TOLERANCES["int8"].score
    assert TOLERANCES["int8"].min_iou <= report["totals"]["worst_iou"] < 1.0


@pytest.fixture(scope="module")
def ssd_bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssd")
    return sample_bundle(root, "ssd", "--precision", "int8", "--calibration-cache", root / "sample/cal.bin")


def test_plugin_graph_and_served_model_agree(ssd_bundle, photo):
    plugin_graph = run_cli("verify", ssd_bundle, photo, "--onnx", ssd_bundle / "model_trt10.onnx", "--no-progress")
    assert plugin_graph.returncode == 0 and "tolerance fp32" in plugin_graph.stdout
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    served = run_cli("verify", ssd_bundle, photo, "--backend", "triton", "--no-progress")
    assert served.returncode == 0, served.stdout + served.stderr
    assert "Triton model" in served.stdout and "tolerance exact" in served.stdout


def test_a_damaged_graph_fails(ssd_bundle, photo, tmp_path):
    model = onnx.load(str(ssd_bundle / "model_trt10.onnx"))
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    weight = next(t for t in model.graph.initializer if t.name == conv.input[1])
    weight.CopyFrom(onnx.numpy_helper.from_array(-onnx.numpy_helper.to_array(weight), weight.name))
    damaged = tmp_path / "damaged.onnx"
    onnx.save(model, str(damaged))
    result = run_cli("verify", ssd_bundle, photo, "--onnx", damaged, "--no-progress", "--json", tmp_path / "r.json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("FAIL")
    totals = json.loads((tmp_path / "r.json").read_text())["totals"]
    assert totals["failed_images"] == 1 and totals["missing"] + totals["extra"] > 0
    assert "every detection was found" not in result.stdout  # lost or invented objects: not a score-only failure


def test_bad_requests_are_clean_errors(ssd_bundle, photo, tmp_path):
    assert_clean_error(run_cli("verify", ssd_bundle, photo, "--onnx", tmp_path / "nope.onnx"), "nope.onnx: no such file")
    assert_clean_error(run_cli("verify", ssd_bundle, photo, "--backend", "trt"), "no TensorRT engine")
    assert_clean_error(run_cli("verify", tmp_path / "nobundle", photo), "no such bundle folder")


@pytest.mark.parametrize("command", ["verify", "infer", "bench"])
def test_a_missing_engine_file_is_named_as_the_engine_option(command, ssd_bundle, photo, tmp_path):
    """README: `taostream infer bundle/ images/ -o results/ --backend trt --engine model.engine`. An --engine
    that is not there is that option's missing file, not "no TensorRT engine ... or pass --engine"."""
    engine = tmp_path / "model.engine"
    args = {"verify": [photo], "infer": [photo, "-o", tmp_path / "out"], "bench": ["--images", photo]}[command]
    err = assert_clean_error(run_cli(command, ssd_bundle, *args, "--backend", "trt", "--engine", engine),
                             f"{engine}: no such file; check the path given to --engine")
    assert "or pass --engine" not in err and not (tmp_path / "out").exists()
    (tmp_path / "engines").mkdir()
    assert_clean_error(run_cli(command, ssd_bundle, *args, "--backend", "trt", "--engine", tmp_path / "engines"),
                       f"{tmp_path / 'engines'}: is a folder; --engine takes")


def test_a_threshold_under_the_bundles_pre_cluster_threshold_means_the_same_on_every_backend(ssd_bundle, photo, tmp_path):
    # --threshold is a final filter: every backend decodes with the bundle's pre-cluster-threshold (0.3
    # here), so a lower --threshold changes nothing anywhere and says so; ort and the CPU Triton model
    # write the same detections (verify used to refuse, and `infer --backend ort` decoded at 0.1).
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    verify = run_cli("verify", ssd_bundle, photo, "--backend", "triton", "--threshold", "0.1", "--no-progress")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    runs = {}
    for backend in ("triton", "ort"):
        result = run_cli("infer", ssd_bundle, photo, "--backend", backend, "--threshold", "0.1", "-o",
                         tmp_path / backend, "--no-progress")
        assert result.returncode == 0, result.stderr
        assert "warning: --threshold 0.1 is below the bundle's pre-cluster-threshold (0.3)" in result.stderr
        runs[backend] = json.loads((tmp_path / backend / "results.json").read_text())
    assert runs["ort"]["images"][0]["detections"] == runs["triton"]["images"][0]["detections"]
    assert min(d["confidence"] for d in runs["ort"]["images"][0]["detections"]) >= 0.3
    assert runs["ort"]["thresholds"] == {"pre_cluster_threshold": [0.3] * len(runs["ort"]["thresholds"]["pre_cluster_threshold"]),
                                         "final_confidence_threshold": 0.1}

def test_images_where_neither_model_finds_anything_prove_nothing(tmp_path, fixtures_dir):
    """NVIDIA's real US licence-plate detector (INT8 Q/DQ from its own cache) on photos without a plate:
    0 matched, 0 missing, 0 extra was printed as PASS with exit 0, an all-clear that compared nothing."""
    import cv2

    from test_infer_support import noise_images, write_images

    images = write_images(tmp_path / "images", noise_images(2, seed=5, sizes=((480, 640), (300, 451))))
    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR))
    (tmp_path / "labels.txt").write_text("lpd\n")
    bundle = tmp_path / "bundle"
    assert run_cli("bundle", fixtures_dir / "models/lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet",
                   "--labels", tmp_path / "labels.txt", "--key", "nvidia_tlt", "--precision", "int8",
                   "--calibration-cache", fixtures_dir / "calibration/lpd_usa_cal.bin", "-o", bundle).returncode == 0
    result = run_cli("verify", bundle, photo, *images, "--no-progress", "--json", tmp_path / "report.json")
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("NOTHING COMPARED") and "3 image(s)" in last, result.stdout
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is False


def test_a_facemask_cache_with_scales_times_ten_fails_on_its_score_alone(tmp_path, fixtures_dir, photo):
    # NVIDIA's facemask cache with every scale x10: the face is still found (IoU ~0.90, within INT8's
    # 0.75) but its summed coverage rises ~18% (docs/int8.md); only the score check catches this break.
    lines = (fixtures_dir / "calibration/facemask_detectnet_v2_cal.bin").read_text().splitlines()
    scaled = [lines[0]]
    for line in lines[1:]:
        name, value = line.rsplit(": ", 1)
        scale = struct.unpack(">f", bytes.fromhex(value))[0] * 10
        scaled.append(f"{name}: {struct.pack('>f', scale).hex()}")
    cache = tmp_path / "cal_x10.bin"
    cache.write_text("\n".join(scaled) + "\n")
    bundle = tmp_path / "bundle"
    assert run_cli("bundle", fixtures_dir / "models/facemask_detectnet_v2_resnet18.etlt", "--network", "detectnet_v2",
                   "--spec", fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "--key", "tlt_encode",
                   "--precision", "int8", "--calibration-cache", cache, "-o", bundle).returncode == 0
    result = run_cli("verify", bundle, photo, "--no-progress", "--json", tmp_path / "report.json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("FAIL")
    # the line before the verdict says what kind of failure this is: boxes all found, only scores out
    assert result.stdout.strip().splitlines()[-2].startswith("every detection was found where the reference has it")
    totals = json.loads((tmp_path / "report.json").read_text())["totals"]
    assert totals["matched"] == 1 and totals["missing"] == totals["extra"] == 0 and totals["out_of_tolerance"] == 1
    assert totals["worst_iou"] >= TOLERANCES["int8"].min_iou and totals["worst_score_delta"] > TOLERANCES["int8"].score
