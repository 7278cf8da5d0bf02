"""`taostream evaluate --bundle` without the `eval` extra says so before the model runs over the dataset
(a 5,000-image validation set would otherwise run to the end and then fail). The bundle is NVIDIA's real
LPDNet; the dataset one OpenCV-drawn plate with its KITTI label."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from taostream.cli import main


@pytest.fixture()
def no_coco_library(monkeypatch):
    # an environment without the `eval` extra: importing these fails as when they are not installed
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval", "faster_coco_eval"):
        monkeypatch.setitem(sys.modules, name, None)


def test_evaluate_without_pycocotools_fails_before_running_the_model(models_dir, tmp_path, capsys, no_coco_library):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    labels = tmp_path / "usa_lpd_label.txt"
    labels.write_text("lpd\n")
    bundle = tmp_path / "bundle"
    assert main(["bundle", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "--network", "lpdnet",
                 "--labels", str(labels), "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    image = np.full((480, 640, 3), 90, np.uint8)
    cv2.rectangle(image, (250, 300), (390, 340), (255, 255, 255), -1)
    (tmp_path / "val" / "images").mkdir(parents=True)
    (tmp_path / "val" / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "val" / "images" / "000001.jpg"), image)
    (tmp_path / "val" / "labels" / "000001.txt").write_text("lpd 0.00 0 0.00 250 300 390 340 0 0 0 0 0 0 0\n")
    capsys.readouterr()
    code = main(["evaluate", str(tmp_path / "val"), "--bundle", str(bundle)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    # one line: no progress bar of a model run before it
    assert err.splitlines() == [err] and err.startswith("taostream: error:"), err
    assert "'pycocotools'" in err and "pip install 'taostream[eval]'" in err
