"""A file given where a folder goes (the bundle's model.onnx for the bundle, a label file for the dataset or
predictions folder) says it is a file and what to give, not "no such folder" for a path that exists."""

from __future__ import annotations

import pytest

from cli_support import assert_clean_error, run_cli


@pytest.fixture(scope="module")
def lpd_bundle(models_dir, tmp_path_factory):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    root = tmp_path_factory.mktemp("lpd")
    (root / "usa_lpd_label.txt").write_text("lpd\n")
    result = run_cli("bundle", models_dir / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "lpdnet", "--labels",
                     root / "usa_lpd_label.txt", "--key", "nvidia_tlt", "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"


@pytest.mark.parametrize("command", ["infer", "verify", "bench"])
def test_the_bundles_model_for_the_bundle(lpd_bundle, tmp_path, command):
    import cv2
    import numpy as np

    image = tmp_path / "car.jpg"
    cv2.imwrite(str(image), np.full((480, 640, 3), 90, np.uint8))
    args = {"infer": [image, "-o", tmp_path / "out"], "verify": [image], "bench": []}[command]
    err = assert_clean_error(run_cli(command, lpd_bundle / "model.onnx", *args))
    assert err == (f"taostream: error: {lpd_bundle / 'model.onnx'}: is a file, not a bundle folder; give the folder "
                   f"`taostream bundle -o` wrote ({lpd_bundle})")


def test_a_label_file_for_the_dataset_and_predictions_folders(tmp_path):
    labels = tmp_path / "000001.txt"
    labels.write_text("car 0.00 0 0.00 10 20 110 120 0 0 0 0 0 0 0\n")
    err = assert_clean_error(run_cli("dataset", "check", labels, "--network", "detectnet_v2"))
    assert f"{labels}: is a file, not a dataset folder; give the folder holding images/ and labels/" in err
    dataset = tmp_path / "val"
    (dataset / "images").mkdir(parents=True)
    (dataset / "labels").mkdir()
    (dataset / "labels" / labels.name).write_text(labels.read_text())
    import cv2
    import numpy as np

    cv2.imwrite(str(dataset / "images" / "000001.jpg"), np.full((240, 320, 3), 90, np.uint8))
    err = assert_clean_error(run_cli("evaluate", dataset, "--predictions", labels, "--network", "detectnet_v2"))
    assert f"{labels}: is a file; --predictions takes the folder of KITTI prediction files" in err
