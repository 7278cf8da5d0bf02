"""`taostream evaluate`: TAO's AP rules on hand-computed cases, COCO figures equal to pycocotools' own
on generated datasets, bad-input reporting, and the real facemask DetectNet_v2 (FP32 against NVIDIA's
INT8 calibration as a Q/DQ graph) on public-domain photos with an OpenCV face box as ground truth."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli_support import assert_clean_error, run_cli, sample_bundle
from taostream.cli import main
from taostream.inference.evaluate.tao import BoxLimits, ImageBoxes, TaoRules, evaluate_tao

pycocotools = pytest.importorskip("pycocotools", reason="the `eval` extra (pycocotools) is not installed")


def image(gt=(), preds=(), width=1000, height=1000, difficult=None):
    """gt: (class, x1, y1, x2, y2); preds: (class, x1, y1, x2, y2, score)."""
    g = np.asarray([r[1:] for r in gt], float).reshape(-1, 4)
    p = np.asarray([r[1:5] for r in preds], float).reshape(-1, 4)
    return ImageBoxes(width, height, np.asarray([r[0] for r in gt], int), g,
                      np.asarray(difficult if difficult is not None else [False] * len(gt), bool),
                      np.asarray([r[0] for r in preds], int), p, np.asarray([r[5] for r in preds], float))


# Four ground-truth boxes over two images; in descending score: TP, FP, TP, FP; two boxes missed.
# precision 1, 1/2, 2/3, 1/2 at recall 1/4, 1/4, 1/2, 1/2.
FOUR = [
    image(gt=[(0, 0, 0, 100, 100), (0, 200, 200, 300, 300)],
          preds=[(0, 0, 0, 100, 100, 0.9), (0, 600, 600, 700, 700, 0.8)]),
    image(gt=[(0, 0, 0, 100, 100), (0, 400, 400, 500, 500)],
          preds=[(0, 1, 1, 101, 101, 0.7), (0, 800, 800, 900, 900, 0.6)]),
]


@pytest.mark.parametrize("family,mode,expected", [
    # 11 points: 1.0 at recall 0, .1, .2; 2/3 at .3, .4, .5; nothing beyond.
    ("ap_evaluator", "sample", (3 * 1 + 3 * 2 / 3) / 11),
    ("detectnet_v2", "sample", (3 * 1 + 3 * 2 / 3) / 11),
    ("faster_rcnn", "sample", (3 * 1 + 3 * 2 / 3) / 11),
    # VOC area: 1/4 * 1 + 1/4 * 2/3.
    ("ap_evaluator", "integrate", 0.25 + 0.25 * 2 / 3),
    ("faster_rcnn", "integrate", 0.25 + 0.25 * 2 / 3),
    # DetectNet_v2: distinct recalls 1/4, 1/2; only the step 1/4 -> 1/2 carries area, at precision 1.
    ("detectnet_v2", "integrate", 0.25),
])
def test_hand_computed_ap(family, mode, expected):
    mean, curves = evaluate_tao(FOUR, ["car"], TaoRules(family, mode))
    assert curves[0].ap == pytest.approx(expected, abs=1e-12) and mean == pytest.approx(expected, abs=1e-12)
    assert curves[0].ground_truth == 4 and curves[0].true_positives == 2 and curves[0].false_positives == 2


def test_detectnet_v2_integrate_gives_a_lone_perfect_detection_no_area():
    one = [image(gt=[(0, 10, 10, 60, 60)], preds=[(0, 10, 10, 60, 60, 0.9)])]
    assert evaluate_tao(one, ["car"], TaoRules("detectnet_v2", "integrate"))[0] == 0.0
    assert evaluate_tao(one, ["car"], TaoRules("detectnet_v2", "sample"))[0] == 1.0
    assert evaluate_tao(one, ["car"], TaoRules("ap_evaluator", "integrate"))[0] == 1.0


def test_a_duplicate_takes_the_next_box_only_in_ap_evaluator():
    # Two overlapping ground-truth boxes (IoU 0.82) and two predictions on the first one.
    data = [image(gt=[(0, 0, 0, 100, 100), (0, 10, 0, 110, 100)],
                  preds=[(0, 0, 0, 100, 100, 0.9), (0, 0, 0, 100, 100, 0.8)])]
    ssd = evaluate_tao(data, ["car"], TaoRules("ap_evaluator", "sample"))[1][0]
    dnv2 = evaluate_tao(data, ["car"], TaoRules("detectnet_v2", "sample"))[1][0]
    frcnn = evaluate_tao(data, ["car"], TaoRules("faster_rcnn", "sample"))[1][0]
    assert (ssd.true_positives, ssd.false_positives, ssd.ap) == (2, 0, 1.0)
    # the best-overlap box is taken: a false positive; recall 1/2 at precision 1 -> 6 of 11 points
    assert (dnv2.true_positives, dnv2.false_positives) == (1, 1) and dnv2.ap == pytest.approx(6 / 11)
    assert (frcnn.true_positives, frcnn.false_positives) == (1, 1) and frcnn.ap == pytest.approx(6 / 11)


def test_detectnet_v2_box_limits_and_per_class_iou():
    data = [image(gt=[(0, 0, 0, 100, 15), (0, 200, 200, 300, 300), (1, 0, 500, 100, 600)],
                  preds=[(0, 0, 0, 100, 15, 0.9), (0, 200, 200, 300, 300, 0.8), (1, 0, 540, 100, 640, 0.7)])]
    rules = TaoRules("detectnet_v2", "sample", iou={"b": 0.7},
                     box_limits={"a": BoxLimits(minimum_height=20)})
    _, (a, b) = evaluate_tao(data, ["a", "b"], rules)
    assert (a.ground_truth, a.true_positives, a.false_positives, a.ap) == (1, 1, 0, 1.0)  # the 15-px box is out
    # IoU with border pixels: 61*101 / (2*101*101 - 61*101) = 0.4357 < 0.7: a false positive, AP 0
    assert (b.ground_truth, b.true_positives, b.false_positives, b.ap) == (1, 0, 1, 0.0)
    loose = TaoRules("detectnet_v2", "sample", iou={"b": 0.4})
    assert evaluate_tao(data, ["a", "b"], loose)[1][1].true_positives == 1


def test_difficult_boxes_count_neither_way():
    data = [image(gt=[(0, 0, 0, 100, 100), (0, 300, 300, 400, 400)], difficult=[True, False],
                  preds=[(0, 0, 0, 100, 100, 0.9), (0, 300, 300, 400, 400, 0.8)])]
    curve = evaluate_tao(data, ["car"], TaoRules("ap_evaluator", "sample"))[1][0]
    assert (curve.ground_truth, curve.true_positives, curve.false_positives, curve.ap) == (1, 1, 0, 1.0)


# --- generated datasets against pycocotools itself ---------------------------------------------------

CLASSES = ("car", "pedestrian", "cyclist", "truck")  # truck: predicted, never labelled


def _write_dataset(root: Path, seed: int, crowded: int = 0):
    """A KITTI folder and a prediction folder; returns (gt rows, prediction rows) per image for
    the test's own COCO documents. Predictions are ground truth moved by known amounts (IoU 1, 0.8,
    0.6, 0.3), plus misses, false positives, empty images and ``crowded`` images with 60 objects."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "pred").mkdir()
    png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    all_gt, all_pred = [], []
    for n in range(40):
        count = 0 if n % 7 == 0 else 60 if n < crowded else int(rng.integers(1, 8))
        gt, pred = [], []
        for _ in range(count):
            c = CLASSES[int(rng.integers(0, 3))]
            x, y, w, h = rng.uniform(0, 800), rng.uniform(0, 400), rng.uniform(20, 150), rng.uniform(20, 150)
            gt.append((c, x, y, x + w, y + h))
            shift = rng.choice([0.0, 0.1111, 0.25, 0.5385, None])  # IoU 1, 0.8, 0.6, 0.3 (x shift), missed
            if shift is not None:
                dx = shift * w
                pred.append((c, x + dx, y, x + w + dx, y + h, float(np.round(rng.uniform(0.05, 1.0), 3))))
        for _ in range(int(rng.integers(0, 3))):
            c = CLASSES[int(rng.integers(0, 4))]
            x, y = rng.uniform(0, 800), rng.uniform(0, 400)
            pred.append((c, x, y, x + 60, y + 40, float(np.round(rng.uniform(0.05, 0.7), 3))))
        stem = f"{n:06d}"
        (root / "images" / f"{stem}.png").write_bytes(png)
        (root / "labels" / f"{stem}.txt").write_text(
            "".join(f"{c.title()} 0.00 0 0.00 {a:.2f} {b:.2f} {cc:.2f} {d:.2f} 0 0 0 0 0 0 0\n" for c, a, b, cc, d in gt))
        (root / "pred" / f"{stem}.txt").write_text(
            "".join(f"{c} 0.00 0 0.00 {a:.2f} {b:.2f} {cc:.2f} {d:.2f} 0 0 0 0 0 0 0 {s:.3f}\n" for c, a, b, cc, d, s in pred))
        all_gt.append([(c, round(a, 2), round(b, 2), round(cc, 2), round(d, 2)) for c, a, b, cc, d in gt])
        all_pred.append([(c, round(a, 2), round(b, 2), round(cc, 2), round(d, 2), s) for c, a, b, cc, d, s in pred])
    spec = root / "spec.txt"
    spec.write_text("dataset_config {\n" + "".join(
        f'  target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in CLASSES) + "}\n")
    return all_gt, all_pred, spec


def _pycocotools_reference(all_gt, all_pred):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cats = {c: i + 1 for i, c in enumerate(sorted(CLASSES))}
    gt_doc = {"images": [{"id": i + 1} for i in range(len(all_gt))], "categories": [{"id": v} for v in cats.values()],
              "annotations": []}
    results = []
    for i, (gts, preds) in enumerate(zip(all_gt, all_pred)):
        for c, x1, y1, x2, y2 in gts:
            gt_doc["annotations"].append({"id": len(gt_doc["annotations"]) + 1, "image_id": i + 1, "category_id": cats[c],
                                          "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        for c, x1, y1, x2, y2, s in preds:
            results.append({"image_id": i + 1, "category_id": cats[c], "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt_doc
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


@pytest.mark.parametrize("engine", ["pycocotools", "faster-coco-eval"])
@pytest.mark.parametrize("seed,crowded", [(1, 0), (2, 5)])
def test_coco_figures_equal_pycocotools(tmp_path, seed, crowded, engine):
    if engine == "faster-coco-eval":
        pytest.importorskip("faster_coco_eval", reason="faster-coco-eval is not installed")
    all_gt, all_pred, spec = _write_dataset(tmp_path / "ds", seed, crowded)
    result = run_cli("evaluate", tmp_path / "ds", "--predictions", tmp_path / "ds/pred", "--spec", spec,
                     "--coco-engine", engine, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    coco = report["results"][0]["coco"]
    stats = _pycocotools_reference(all_gt, all_pred)
    assert coco["AP"] == pytest.approx(stats[0], abs=1e-12)
    assert coco["AP50"] == pytest.approx(stats[1], abs=1e-12)
    assert coco["AP75"] == pytest.approx(stats[2], abs=1e-12)
    assert 0.1 < stats[0] < stats[1] < 1.0  # a meaningful case: neither empty nor perfect
    assert coco["per_class"]["truck"]["AP"] == -1.0  # no ground truth: pycocotools leaves it out
    tao = {c["class"]: c for c in report["results"][0]["tao"]["per_class"]}
    assert tao["truck"]["ground_truth"] == 0 and tao["truck"]["AP"] == 0.0 and tao["truck"]["false_positives"] > 0
    assert report["dataset"]["images_evaluated"] == 40 and "COCO AP" in result.stdout
    assert coco["evaluated_by"] == engine


def test_coco_annotation_file_input(tmp_path):
    all_gt, all_pred, spec = _write_dataset(tmp_path / "ds", 3)
    cats = {c: i + 1 for i, c in enumerate(CLASSES)}
    doc = {"images": [{"id": 100 + i, "file_name": f"{i:06d}.png", "width": 1000, "height": 600} for i in range(len(all_gt))],
           "categories": [{"id": v, "name": k} for k, v in cats.items()], "annotations": []}
    for i, gts in enumerate(all_gt):
        for c, x1, y1, x2, y2 in gts:
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": 100 + i, "category_id": cats[c],
                                       "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    result = run_cli("evaluate", tmp_path / "ann.json", "--predictions", tmp_path / "ds/pred", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    coco = json.loads((tmp_path / "r.json").read_text())["results"][0]["coco"]
    stats = _pycocotools_reference(all_gt, all_pred)
    assert (coco["AP"], coco["AP50"]) == (pytest.approx(stats[0], abs=1e-12), pytest.approx(stats[1], abs=1e-12))


def test_bad_input_is_counted_and_named(tmp_path):
    _, _, spec = _write_dataset(tmp_path / "ds", 4)
    ds = tmp_path / "ds"
    (ds / "images/000003.png").unlink()  # a label without its image
    (ds / "labels/000005.txt").unlink()  # an image without labels
    (ds / "labels/000006.txt").write_text("Pedestrain 0.00 0 0.00 1 2 30 40 0 0 0 0 0 0 0\n"
                                          "DontCare 0.00 0 0.00 1 2 30 40 0 0 0 0 0 0 0\n")
    (ds / "pred/999999.txt").write_text("")  # a prediction without an image
    (ds / "pred/000008.txt").unlink()  # an image without predictions
    (ds / "pred/000009.txt").write_text("cyclst 0.00 0 0.00 1 2 30 40 0 0 0 0 0 0 0 0.9\n")
    result = run_cli("evaluate", ds, "--predictions", ds / "pred", "--spec", spec, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    problems = report["dataset"]
    assert problems["labels_without_images"] == 1 and problems["labels_without_images_examples"] == ["000003"]
    assert problems["images_without_labels"] == 1 and problems["images_without_labels_examples"] == ["000005"]
    assert problems["unknown_classes"] == [{"name": "pedestrain", "count": 1, "could_be": ["pedestrian"]}]
    assert problems["ignored_classes"] == {"dontcare": 1}
    # 999999 has no image; 000003 lost its image and 000005 its labels: none of them is evaluated
    assert report["predictions"]["prediction_files_without_labelled_image_examples"] == ["000003", "000005", "999999"]
    assert report["predictions"]["images_without_prediction_files"] == 1
    assert report["predictions"]["unknown_classes"] == [{"name": "cyclst", "count": 1, "could_be": ["cyclist"]}]
    assert problems["images_evaluated"] == 38
    # counts of one are singular (the report said "1 boxes", "1 images", "1 label files")
    assert "  unknown class 'pedestrain' (1 box, not evaluated); did you mean pedestrian?\n" in result.stdout
    assert "  1 image without a label file (not evaluated), e.g. 000005\n" in result.stdout
    assert "  1 label file without an image (not evaluated), e.g. 000003\n" in result.stdout
    assert "  predictions: unknown class 'cyclst' (1 box); did you mean cyclist?\n" in result.stdout
    assert f"dataset {ds} (kitti): 38 images, " in result.stdout


def test_user_errors_are_one_line(tmp_path):
    _write_dataset(tmp_path / "ds", 5)
    ds = tmp_path / "ds"
    assert_clean_error(run_cli("evaluate", tmp_path / "nope", "--predictions", ds / "pred"), "not a KITTI dataset folder")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", ds / "labels"), "need a 16th field")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", ds / "pred", "--against", "fp32"), "--against fp32 needs --bundle")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", ds / "pred", "--max-drop", "nan"), "--max-drop nan")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", ds / "pred", "--iou", "1.5"), "--iou 1.5")
    (ds / "pred/000001.txt").write_text("car 0 0 0 10 10 5 5 0 0 0 0 0 0 0 0.5\n")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", ds / "pred"), "000001.txt:1", "x2<x1")


@pytest.mark.parametrize("iou", ["0", "-0.5"])
def test_a_matching_iou_of_zero_is_refused_not_scored_as_perfect(tmp_path, iou, capsys):
    """--iou 0 was taken: every prediction then "matched", so a box nowhere near the object made the
    hand-made case below score mAP 1.0 instead of 0.8333 (TP 0.9, FP 0.8, TP 0.7 over two boxes)."""
    ds = tmp_path / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "labels").mkdir()
    (ds / "pred").mkdir()
    cv2.imwrite(str(ds / "images/a.png"), np.zeros((480, 640, 3), np.uint8))
    (ds / "labels/a.txt").write_text("Car 0.00 0 0.00 10 10 110 110 0 0 0 0 0 0 0\n"
                                     "Car 0.00 0 0.00 200 200 300 300 0 0 0 0 0 0 0\n")
    (ds / "pred/a.txt").write_text("car 0.00 0 0.00 10 10 110 110 0 0 0 0 0 0 0 0.9\n"
                                   "car 0.00 0 0.00 400 400 450 450 0 0 0 0 0 0 0 0.8\n"
                                   "car 0.00 0 0.00 200 200 300 300 0 0 0 0 0 0 0 0.7\n")
    args = ["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd", "--ap-mode", "integrate"]
    assert main([*args, "--iou", "0.5", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["tao"]["mAP"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    capsys.readouterr()
    assert main([*args, "--iou", iou]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("taostream: error:") and f"--iou {float(iou)}" in err and "above 0" in err, err


def _one_image_set(root: Path, gt: str, pred: str) -> Path:
    for sub in ("images", "labels", "pred"):
        (root / sub).mkdir(parents=True)
    cv2.imwrite(str(root / "images/a.png"), np.zeros((544, 960, 3), np.uint8))
    (root / "labels/a.txt").write_text(f"{gt} 0.00 0 0.00 100 100 300 300 0 0 0 0 0 0 0\n")
    (root / "pred/a.txt").write_text(f"{pred} 0.00 0 0.00 100 100 300 300 0 0 0 0 0 0 0 0.9\n")
    return root


def test_class_names_that_match_nothing_are_refused_not_scored_zero(tmp_path, fixtures_dir, capsys):
    """Ground truth labelled "Face" for the facemask model (classes mask, no-mask), or predictions of
    "vehicle" against ground truth of "car": no box was evaluated, yet evaluate printed mAP 0 and exited 0
    (and an --against drop of 0 passed). Now one line naming the folder, the classes found and the fix."""
    spec = fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"
    ds = _one_image_set(tmp_path / "face", "Face", "no-mask")
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "detectnet_v2",
                 "--spec", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: {ds}: no ground-truth box"), err
    assert "(mask, no-mask)" in err and "'face' (1 box)" in err and "target_class_mapping" in err, err
    ds = _one_image_set(tmp_path / "car", "Car", "vehicle")
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: {ds / 'pred'}: no prediction box"), err
    assert "'vehicle' (1 box)" in err, err
    # the same files with the names right are scored: one box found exactly, AP 1 (11-point)
    (ds / "pred/a.txt").write_text((ds / "pred/a.txt").read_text().replace("vehicle", "car"))
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["tao"]["mAP"] == pytest.approx(1.0)


@pytest.mark.parametrize("labels,fragment", [("", "every label file is empty"),
                                               ("DontCare 0.00 0 0.00 1 1 50 50 0 0 0 0 0 0 0\n", "only 1 DontCare box")])
def test_ground_truth_without_a_box_is_refused_not_scored_zero(tmp_path, capsys, labels, fragment):
    """Label files that are all empty (or hold only DontCare) were scored mAP 0 with exit 0: nothing was
    measured, and an --against fp32 drop of 0 passed whatever the candidate found."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    (ds / "labels/a.txt").write_text(labels)
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: {ds}: no ground-truth box"), err
    assert fragment in err, err


def test_images_with_a_kitti_dataset_is_refused_not_ignored(tmp_path, capsys):
    """--images (a COCO file's image folder) given with a KITTI dataset was silently ignored: the user's
    other folder of images was never used."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    assert main(["evaluate", str(ds), "--images", str(tmp_path), "--predictions", str(ds / "pred"), "--network", "ssd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: --images {tmp_path}:"), err
    assert f"images in {ds / 'images'}" in err, err


def test_lprnet_is_refused_not_scored_as_a_detector(tmp_path, capsys):
    """LPRNet (label rule 'characters') fell through to the SSD/YOLO rules: an LPRNet bundle was run as a
    detector that finds nothing (mAP 0, exit 0), and --network lprnet scored KITTI boxes by ap_evaluator."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "lprnet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("taostream: error: --network lprnet: LPRNet reads plate"), err


def test_predictions_given_as_the_dataset_are_refused_not_scored_as_ground_truth(tmp_path, capsys):
    """`evaluate results/ --bundle B` (infer's output folder: images/ and labels/ with a 16th confidence field)
    scored the model against its own predictions as ground truth (mAP 0.23 on the facemask photos)."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    (ds / "labels/a.txt").write_text((ds / "pred/a.txt").read_text())
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: {ds / 'labels/a.txt'}: 16 fields"), err


COCO_DOC = {"images": [{"id": "astro", "file_name": "a.png", "width": 960, "height": 544}],
            "annotations": [{"id": 7, "image_id": "astro", "category_id": 3, "bbox": [100, 100, 200, 200],
                             "area": 40000, "iscrowd": 0}],
            "categories": [{"id": 3, "name": "Car"}, {"id": 9, "name": "person"}]}


@pytest.mark.parametrize("damage,fragment", [
    (lambda d: d["annotations"][0].pop("bbox"), "annotation 7 has no 'bbox' field"),
    (lambda d: d["annotations"][0].pop("image_id"), "annotation 7 has no 'image_id' field"),
    (lambda d: d["annotations"][0].pop("category_id"), "annotation 7 has no 'category_id' field"),
    (lambda d: d["categories"][0].pop("name"), "category 3 has no 'name' field"),
    (lambda d: d["images"][0].pop("file_name"), "image astro has no 'file_name' field"),
    (lambda d: d["images"][0].pop("id"), "image 1 has no 'id' field"),
    (lambda d: d["annotations"][0].update(bbox=[100, 100, 200]), "four numbers [x, y, width, height]"),
    (lambda d: d["annotations"][0].update(bbox=[100, 100, 50, -20]), "width, height >= 0"),
    (lambda d: d.update(images=None), "field 'images' is missing"),
    (lambda d: d["images"][0].update(id=["astro"]), 'image 1 has id ["astro"]; a COCO id is a number or a string'),
    (lambda d: d["annotations"][0].update(category_id={"id": 3}), 'annotation 7 has category_id {"id": 3}'),
    (lambda d: d["images"][0].update(file_name=7), "image astro has file_name 7"),
    (lambda d: d["images"][0].update(width="wide"), 'image astro has width "wide"'),
])
def test_a_coco_file_missing_a_field_is_one_line_naming_the_entry(tmp_path, capsys, damage, fragment):
    """COCO files as users hold them (string image ids, category ids 3 and 9) load and score; one missing
    a field or with a bbox that is not [x, y, w, h] ended in a KeyError/ValueError traceback, or (a
    negative width) was scored as a box that matches nothing."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    doc = json.loads(json.dumps(COCO_DOC))
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    args = ["--images", str(ds / "images"), "--predictions", str(ds / "pred"), "--network", "ssd"]
    assert main(["evaluate", str(tmp_path / "ok.json"), *args, "--json", str(tmp_path / "r.json")]) == 0
    # the prediction 100,100,300,300 is the ground truth [100, 100, 200, 200] exactly: AP 1 (person has no ground truth)
    report = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert report["tao"]["per_class"][0] == {"class": "car", "AP": pytest.approx(1.0), "ground_truth": 1, "true_positives": 1,
                                            "false_positives": 0, "counted_in_mAP": True}
    assert report["coco"]["AP"] == pytest.approx(1.0)
    damage(doc)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "bad.json"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"taostream: error: {tmp_path / 'bad.json'}: ") and fragment in err, err


def test_a_coco_image_without_its_size_and_mixed_category_ids_load(tmp_path):
    """width/height null (left for the image to say) and category ids of both kinds ended in a TypeError
    traceback (int(None); sorting 3 with 'person')."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    doc = json.loads(json.dumps(COCO_DOC))
    doc["images"][0].update(width=None, height=None)
    doc["categories"][1]["id"] = "person"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    assert main(["evaluate", str(tmp_path / "c.json"), "--images", str(ds / "images"), "--predictions",
                 str(ds / "pred"), "--network", "ssd", "--json", str(tmp_path / "r.json")]) == 0
    tao = json.loads((tmp_path / "r.json").read_text())["results"][0]["tao"]
    assert tao["per_class"][0]["class"] == "car" and tao["per_class"][0]["AP"] == pytest.approx(1.0)


def test_a_byte_order_mark_is_not_part_of_the_first_class_name(tmp_path, capsys):
    """KITTI files saved by a Windows editor as "UTF-8 with BOM": the first line's class was read as
    '\\ufeffcar', a class of its own, so the found box scored nothing (mAP 0.5 here instead of 1.0)."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    for path in (ds / "labels/a.txt", ds / "pred/a.txt"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd",
                 "--json", str(tmp_path / "r.json")]) == 0
    tao = json.loads((tmp_path / "r.json").read_text())["results"][0]["tao"]
    assert [c["class"] for c in tao["per_class"]] == ["car"] and tao["mAP"] == pytest.approx(1.0)
    (ds / "pred/a.txt").write_bytes((ds / "pred/a.txt").read_bytes()[3:])  # only the ground truth has one
    assert main(["evaluate", str(ds), "--predictions", str(ds / "pred"), "--network", "ssd",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["tao"]["mAP"] == pytest.approx(1.0)


@pytest.mark.parametrize("images", ["nothere", "ds/images/a.png"])
def test_coco_images_that_are_not_a_folder_are_named(tmp_path, capsys, images):
    """--images of a COCO file given as a missing folder or an image file was reported as
    "nothere/a.png: image listed in ann.json does not exist" (or ".../a.png/a.png"), not as the option."""
    ds = _one_image_set(tmp_path / "ds", "car", "car")
    (tmp_path / "ok.json").write_text(json.dumps(COCO_DOC))
    assert main(["evaluate", str(tmp_path / "ok.json"), "--images", str(tmp_path / images), "--predictions",
                 str(ds / "pred"), "--network", "ssd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"taostream: error: --images {tmp_path / images}: "), err


def test_label_files_users_save_wrongly_are_named_with_the_line(tmp_path):
    """A ground-truth file saved by Notepad as "Unicode" (UTF-16), a prediction with a NaN confidence
    and a box running to infinity (a broken exporter): each is one line naming the file (and line),
    exit 2; before, the first named no file and the other two were scored as if they were numbers."""
    _write_dataset(tmp_path / "ds", 5)
    ds = tmp_path / "ds"
    labels = ds / "labels/000002.txt"
    labels.write_bytes(labels.read_text().encode("utf-16"))
    result = run_cli("evaluate", ds, "--predictions", ds / "pred")
    assert result.returncode == 2
    assert_clean_error(result, f"{labels}:", "UTF-8")
    _write_dataset(tmp_path / "ds2", 5)
    ds = tmp_path / "ds2"
    for line, fragment in (("car 0.00 0 0.00 10 10 50 50 0 0 0 0 0 0 0 nan\n", "000001.txt:1"),
                           ("car 0.00 0 0.00 10 10 inf 50 0 0 0 0 0 0 0 0.5\n", "000001.txt:1")):
        (ds / "pred/000001.txt").write_text(line)
        result = run_cli("evaluate", ds, "--predictions", ds / "pred")
        assert result.returncode == 2, result.stdout
        assert_clean_error(result, fragment, "finite")


# --- the real facemask model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def facemask_set(tmp_path_factory):
    """Public-domain photos: the astronaut in five framings (mirrored, cropped, scaled, darker), her face
    box from OpenCV's bundled frontal-face detector as 'no-mask' ground truth, and scikit-image photos
    without a face (empty label files)."""
    from skimage import data

    from test_uff_to_onnx import astronaut_photo

    root = tmp_path_factory.mktemp("facemask_set")
    (root / "images").mkdir()
    (root / "labels").mkdir()
    astronaut = cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR)
    variants = {"astronaut": astronaut, "astronaut_mirrored": astronaut[:, ::-1],
                "astronaut_crop": astronaut[20:400, 60:500], "astronaut_small": cv2.resize(astronaut, (384, 384)),
                "astronaut_dark": (astronaut * 0.6).astype(np.uint8)}
    detector = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    for name, photo in variants.items():
        photo = np.ascontiguousarray(photo)
        faces = detector.detectMultiScale(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), 1.1, 5, minSize=(40, 40))
        assert len(faces) == 1, (name, faces)
        x, y, w, h = (int(v) for v in faces[0])
        cv2.imwrite(str(root / f"images/{name}.png"), photo)
        (root / f"labels/{name}.txt").write_text(f"no-mask 0.00 0 0.00 {x} {y} {x + w} {y + h} 0 0 0 0 0 0 0\n")
    for name in ("coffee", "rocket", "chelsea"):
        cv2.imwrite(str(root / f"images/{name}.png"), cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR))
        (root / f"labels/{name}.txt").write_text("")
    return root


@pytest.fixture(scope="module")
def facemask_bundle(tmp_path_factory, fixtures_dir):
    bundle = tmp_path_factory.mktemp("facemask") / "bundle"
    result = run_cli("bundle", fixtures_dir / "models/facemask_detectnet_v2_resnet18.etlt", "--network", "detectnet_v2",
                     "--spec", fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "--key", "tlt_encode",
                     "--precision", "int8", "--calibration-cache", fixtures_dir / "calibration/facemask_detectnet_v2_cal.bin",
                     "-o", bundle)
    assert result.returncode == 0, result.stderr
    return bundle


def test_real_facemask_int8_against_fp32(tmp_path, fixtures_dir, facemask_set, facemask_bundle):
    spec = fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"
    result = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--against", "fp32", "--spec", spec,
                     "--no-progress", "--json", tmp_path / "r.json", "--plots", tmp_path / "plots")
    report = json.loads((tmp_path / "r.json").read_text())
    fp32, int8 = report["results"]
    assert fp32["source"] == "fp32" and int8["source"] == "onnx:int8"
    assert report["family"] == "detectnet_v2" and report["rules"]["average_precision_mode"] == "INTEGRATE"  # the spec's
    assert report["rules"]["box_limits"]["mask"]["minimum_height"] == 20
    assert report["dataset"]["images_evaluated"] == 8 and report["dataset"]["ground_truth_boxes"] == 5
    per_class = {c["class"]: c for c in fp32["tao"]["per_class"]}
    # The model finds all five unmasked faces, ranked above its false detections on the other photos
    # (COCO AP50 1.0); DetectNet_v2's INTEGRATE then gives the area from recall 1/5 to 1: 0.8.
    assert per_class["no-mask"]["true_positives"] == 5 and per_class["mask"]["ground_truth"] == 0
    assert fp32["coco"]["per_class"]["no-mask"]["AP50"] == 1.0 and per_class["no-mask"]["AP"] == pytest.approx(0.8)
    assert fp32["tao"]["mAP"] == pytest.approx(0.4)  # TAO averages every target class: mask has no ground truth
    against = report["against"]
    assert against["map_drop"] == pytest.approx(fp32["tao"]["mAP"] - int8["tao"]["mAP"])
    assert against["passed"] == (against["map_drop"] <= 0.01)
    assert result.returncode == (0 if against["passed"] else 1), result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("PASS" if against["passed"] else "FAIL")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["pr_mask.png", "pr_no-mask.png"]
    # The exit status follows --max-drop: a budget as large as the whole mAP always passes.
    loose = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--against", "fp32", "--spec", spec,
                    "--no-progress", "--max-drop", "1")
    assert loose.returncode == 0 and loose.stdout.strip().splitlines()[-1].startswith("PASS")


def test_infer_predictions_score_like_the_bundle_run(tmp_path, facemask_set, facemask_bundle):
    """`infer`'s KITTI output, evaluated with --predictions, gives the same AP as the model run."""
    assert run_cli("infer", facemask_bundle, facemask_set / "images", "-o", tmp_path / "out", "--no-annotate",
                   "--no-progress").returncode == 0
    ran = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--onnx", next(facemask_bundle.glob("triton/*_cpu/1/model.onnx")),
                  "--no-progress", "--json", tmp_path / "a.json")
    read = run_cli("evaluate", facemask_set, "--predictions", tmp_path / "out", "--network", "detectnet_v2",
                   "--json", tmp_path / "b.json")
    assert ran.returncode == 0 and read.returncode == 0, ran.stderr + read.stderr
    a, b = (json.loads((tmp_path / f).read_text())["results"][0] for f in ("a.json", "b.json"))
    assert b["coco"]["AP50"] == pytest.approx(a["coco"]["AP50"], abs=1e-9)


def test_another_models_spec_is_named_not_silently_half_applied(tmp_path, fixtures_dir, facemask_set, facemask_bundle):
    """TAO's default DetectNet_v2 spec (car, pedestrian) given with the facemask bundle: its INTEGRATE mode was
    used and its per-class overlaps / box limits applied to nothing, without a word."""
    foreign = fixtures_dir / "specs/tao_detectnet_v2_default_spec.txt"
    result = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--spec", foreign, "--no-progress",
                     "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert f"--spec {foreign}: its evaluation rules name car, pedestrian, none of the evaluated classes " \
           "(mask, no-mask)" in result.stdout, result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["notes"], result.stdout
    own = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--spec",
                  fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt", "--no-progress")
    assert own.returncode == 0 and "evaluation rules name" not in own.stdout, own.stdout + own.stderr


# --- classification -----------------------------------------------------------------------------------


def test_classification_scores_by_hand():
    from taostream.inference.evaluate.classification import scores

    truth = np.array([0, 0, 1, 2, 2])
    probs = np.array([[0.7, 0.2, 0.1],   # right
                      [0.2, 0.5, 0.3],   # wrong (1), second guess wrong too (2)
                      [0.3, 0.6, 0.1],   # right
                      [0.5, 0.1, 0.4],   # wrong (0), right in top 2
                      [0.1, 0.2, 0.7]])  # right
    s = scores(truth, probs, ["a", "b", "c"], k=2)
    assert s["top1"] == pytest.approx(3 / 5) and s["top_k"] == pytest.approx(4 / 5) and s["k"] == 2
    assert s["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert s["per_class"][1] == {"class": "b", "images": 1, "recall": 1.0, "precision": 0.5}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    from skimage import data

    root = tmp_path_factory.mktemp("classifier")
    sample_bundle(root, "classification", "--classmap", root / "sample/classmap.json", spec=False)
    photos = {"Dog": ["astronaut", "coffee", "camera"], "zebra": ["chelsea"], "bird": ["rocket", "coffee"], "kat": ["chelsea"]}
    for folder, names in photos.items():
        (root / "set" / folder).mkdir(parents=True)
        for name in names:
            photo = getattr(data, name)()
            photo = cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR if photo.ndim == 2 else cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(root / "set" / folder / f"{name}.jpg"), photo)
    (root / "set/Dog/notes.txt").write_text("not an image")
    return root


def test_classification_top1_topk_and_confusion(tmp_path, classifier):
    import onnxruntime

    from taostream.converter.model.preprocess import preprocess_image
    from taostream.inference.bundle_info import load_bundle

    result = run_cli("evaluate", classifier / "set", "--bundle", classifier / "bundle", "--against", "fp32",
                     "--top-k", "2", "--no-progress", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    labels = load_bundle(classifier / "bundle").labels  # Dog Zebra bird cat (the classmap's order)
    assert report["dataset"]["classes"] == [name.lower() for name in labels]
    assert report["dataset"]["unknown_classes"] == [{"name": "kat", "count": 1, "could_be": ["cat"]}]
    assert report["dataset"]["non_image_files"] == 1 and report["dataset"]["images_evaluated"] == 6
    # The same numbers straight from ONNX Runtime on the bundle's graph.
    session = onnxruntime.InferenceSession(str(classifier / "bundle/model.onnx"), providers=["CPUExecutionProvider"])
    confusion, top1, top2 = np.zeros((4, 4), int), 0, 0
    for folder, truth in (("Dog", 0), ("zebra", 1), ("bird", 2)):
        for image in sorted((classifier / "set" / folder).glob("*.jpg")):
            x = preprocess_image(cv2.imread(str(image)), "classification", (3, 224, 224), interpolation="nearest")[None]
            p = session.run(None, {session.get_inputs()[0].name: x})[0].reshape(-1)
            ranked = np.argsort(-p, kind="stable")
            confusion[truth, ranked[0]] += 1
            top1 += ranked[0] == truth
            top2 += truth in ranked[:2]
    fp32, candidate = report["results"]
    assert candidate["source"] == "onnx:fp32" and candidate["confusion"] == confusion.tolist()
    assert candidate["top1"] == pytest.approx(top1 / 6) and candidate["top_k"] == pytest.approx(top2 / 6)
    assert report["against"]["top1_drop"] == pytest.approx(fp32["top1"] - candidate["top1"])
    assert "  folder 'kat' matches no class (1 image, not evaluated); did you mean cat?\n" in result.stdout
    assert "confusion (rows: true class, columns: predicted)" in result.stdout


# --- MaskRCNN: mask AP -------------------------------------------------------------------------------


def test_mask_rcnn_mask_ap_by_the_coco_library(tmp_path):
    """Ground truth = the synthetic MaskRCNN's own detections, their masks pasted into the frame by
    this test by the documented rule; evaluate must then find every box and every mask (AP 1.0): the
    RLE encoding, ids, category mapping (BG left out) and COCOeval's segm mode line up."""
    from pycocotools import mask as mask_utils
    from skimage import data

    from taostream.inference.bundle_info import load_bundle
    from taostream.inference.detector import Detector
    from taostream.inference.backends.runners import cpu_runner

    assert run_cli("sample", "--network", "mask_rcnn", "-o", tmp_path / "sample").returncode == 0
    assert run_cli("bundle", tmp_path / "sample/model.etlt", "--network", "mask_rcnn", "--spec", tmp_path / "sample/spec.txt",
                   "--key", "nvidia_tlt", "-o", tmp_path / "bundle").returncode == 0
    # The synthetic model's random scores stay under MaskRCNN's published 0.8: lower the bundle's own
    # threshold (its CPU Triton model's confidence_threshold, which every backend decodes with).
    config = next((tmp_path / "bundle/triton").glob("*_cpu/config.pbtxt"))
    text, found = re.subn(r'(key: "confidence_threshold"\s*value \{\s*string_value: ")[^"]*"', r'\g<1>0.0"',
                          config.read_text())
    assert found == 1
    config.write_text(text)
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(tmp_path / "astronaut.png"), photo)
    bundle = load_bundle(tmp_path / "bundle")
    with cpu_runner(bundle.onnx_for_cpu()) as runner:
        detections = Detector(bundle, runner, threshold=0.0).detect([photo])[0].detections
    assert len(detections) >= 5 and all(d.mask is not None for d in detections)
    names = bundle.labels  # BG, person, bicycle, car
    doc = {"images": [{"id": 7, "file_name": "astronaut.png", "width": 512, "height": 512}],
           "categories": [{"id": 10 + i, "name": n} for i, n in enumerate(names[1:])], "annotations": []}
    for n, d in enumerate(detections):
        # The documented pasting: box edges floor(x1, y1), ceil(x2, y2) (as the annotated images draw
        # masks), bilinear resize of the 28x28 probabilities, >= 0.5.
        x1, y1 = max(int(np.floor(d.left)), 0), max(int(np.floor(d.top)), 0)
        x2, y2 = min(int(np.ceil(d.right)), 512), min(int(np.ceil(d.bottom)), 512)
        full = np.zeros((512, 512), np.uint8)
        if x2 > x1 and y2 > y1:
            full[y1:y2, x1:x2] = cv2.resize(np.asarray(d.mask, np.float32), (x2 - x1, y2 - y1),
                                            interpolation=cv2.INTER_LINEAR) >= 0.5
        rle = mask_utils.encode(np.asfortranarray(full))
        rle["counts"] = rle["counts"].decode()
        doc["annotations"].append({"id": n + 1, "image_id": 7, "category_id": 10 + d.class_id - 1, "iscrowd": 0,
                                   "bbox": [d.left, d.top, d.right - d.left, d.bottom - d.top],
                                   "area": float(full.sum()), "segmentation": rle})
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    result = run_cli("evaluate", tmp_path / "ann.json", "--bundle", tmp_path / "bundle", "--threshold", "0",
                     "--no-progress", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["family"] == "coco" and report["dataset"]["classes"] == ["person", "bicycle", "car"]  # no BG
    scores = report["results"][0]
    assert scores["coco"]["AP50"] == 1.0 and scores["coco"]["AP"] == 1.0
    assert scores["coco_mask"]["AP50"] == 1.0 and scores["coco_mask"]["AP"] == 1.0
    assert scores["tao"]["mAP"] == scores["coco"]["AP"]  # TAO evaluates MaskRCNN with COCO's AP
    assert "mask AP" in result.stdout


def test_real_facemask_served_by_triton_scores_like_fp32(tmp_path, fixtures_dir, facemask_set, facemask_bundle):
    """--backend triton: a real tritonserver on 127.0.0.1 serves the bundle's CPU model (the FP32
    graph, post-processed on the server): the same AP, TP and FP per class as the local reference."""
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    spec = fixtures_dir / "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"
    result = run_cli("evaluate", facemask_set, "--bundle", facemask_bundle, "--backend", "triton", "--against", "fp32",
                     "--max-drop", "0", "--spec", spec, "--no-progress", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    fp32, served = json.loads((tmp_path / "r.json").read_text())["results"]
    assert served["source"] == "triton:fp32"
    assert served["tao"] == fp32["tao"] and served["coco"]["AP"] == pytest.approx(fp32["coco"]["AP"], abs=1e-9)


def test_deepstream_kitti_output_frames_tracks_and_mux_size(tmp_path):
    """deepstream-app's gie-kitti-output-dir / kitti-track-output-dir files: <app>_<stream>_<frame>.txt,
    boxes in nvstreammux pixels, the tracker's object id as field 2 (17 fields). The same detections
    written that way score exactly like the same detections named after the images."""
    all_gt, all_pred, spec = _write_dataset(tmp_path / "ds", 6)
    ds = tmp_path / "ds"
    for i in range(len(all_gt)):  # the images are 1000x600 for this test, the muxer 2000x1200
        cv2.imwrite(str(ds / f"images/{i:06d}.png"), np.zeros((600, 1000, 3), np.uint8))
    track = tmp_path / "track"
    track.mkdir()
    for frame, preds in enumerate(all_pred):
        lines = [f"{c} {100 + k} 0.0 0 0.0 {2 * a:f} {2 * b:f} {2 * cc:f} {2 * d:f} 0.0 0.0 0.0 0.0 0.0 0.0 0.0 {s:f}\n"
                 for k, (c, a, b, cc, d, s) in enumerate(preds)]
        (track / f"00_000_{frame:06d}.txt").write_text("".join(lines))
    (track / "00_000_000040.txt").write_text("")  # one frame more than there are images
    named = run_cli("evaluate", ds, "--predictions", ds / "pred", "--spec", spec, "--json", tmp_path / "a.json")
    framed = run_cli("evaluate", ds, "--predictions", track, "--spec", spec, "--mux-size", "2000x1200",
                     "--json", tmp_path / "b.json")
    assert named.returncode == 0 and framed.returncode == 0, named.stderr + framed.stderr
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert b["results"][0]["tao"] == a["results"][0]["tao"]
    assert b["results"][0]["coco"]["AP"] == pytest.approx(a["results"][0]["coco"]["AP"], abs=1e-6)
    assert b["predictions"]["deepstream_frame_files"]["stream"] == 0
    assert b["predictions"]["deepstream_frame_files"]["frames_matched"] == 40
    assert b["predictions"]["prediction_files_without_labelled_image_examples"] == ["00_000_000040"]
    assert "DeepStream frame files of stream 0, 40 matched" in framed.stdout
    (track / "00_001_000000.txt").write_text("")
    assert_clean_error(run_cli("evaluate", ds, "--predictions", track, "--spec", spec), "--stream N")


@pytest.mark.parametrize("line, field", [
    ("car x 0 0 10 10 15 15 0 0 0 0 0 0 0\n", "field 2 (truncated) must be a number, found 'x'"),
    ("car 0 partly 0 10 10 15 15 0 0 0 0 0 0 0\n", "field 3 (occluded) must be a number, found 'partly'"),
    ("car 0 0 - 10 10 15 15 0 0 0 0 0 0 0\n", "field 4 (alpha) must be a number, found '-'"),
])
def test_a_label_line_with_a_non_numeric_field_before_the_box_is_named(tmp_path, line, field):
    # before, a word in the truncated or alpha field was read past and the line scored
    _write_dataset(tmp_path / "ds", 5)
    ds = tmp_path / "ds"
    labels = ds / "labels/000001.txt"
    labels.write_text(labels.read_text() + line)
    number = len(labels.read_text().splitlines())
    result = run_cli("evaluate", ds, "--predictions", ds / "pred")
    assert result.returncode == 2, result.stdout
    assert_clean_error(result, f"{labels}:{number}: {field}; fix or delete the line")
