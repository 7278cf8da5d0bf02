"""The class count a model's graph outputs (converter.model_classes), and the commands that compare
label lists with it: `bundle` and `labels --model` refuse a mismatch, `check` (a config with
--model, or a bundle folder) reports it. Real NVIDIA DetectNet_v2 .etlt files (UFF, translated) and
the synthetic TAO export of every network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_support import assert_clean_error, run_cli
from conftest import FIXTURES, REAL_ETLT
from taostream.converter.model.classes import model_classes
from taostream.converter.model.loader import load_onnx_model, open_model
from taostream.converter.modernize.apply import modernize
from taostream.converter.registry import NETWORKS
from taostream.converter.samples.write import make_sample_model
from taostream.converter.samples.specs import sample_spec

FACEMASK_SPEC = "specs/facemask_detectnet_v2_train_resnet18_kitti.txt"
ONE_CLASS_SPEC = """cost_function_config {
  target_classes {
    name: "lpd"
    class_weight: 1.0
    coverage_foreground_weight: 0.05
  }
}
"""


@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_every_network_export_says_how_many_classes_it_outputs(net, tmp_path):
    """The sample's head is built for its spec's classes (labels.txt lines, background included
    where the network has it); the count survives `modernize` replacing the plugin nodes."""
    model = make_sample_model(net.name)
    expected = len(sample_spec(net.name, net.default_dims, tmp_path).labels)
    found = model_classes(model, net)
    assert found is not None and found.count == expected, found
    assert model_classes(model) == found  # the network recognised from the graph alone
    modern, _ = modernize(model, target="11", network=net.name)
    assert model_classes(modern, net).count == expected


@pytest.mark.parametrize("name,count", [("lpd_usa_detectnet_v2_pruned.etlt", 1), ("lpd_ccpd_detectnet_v2_pruned.etlt", 1),
                                        ("facemask_detectnet_v2_resnet18.etlt", 2)])
def test_real_detectnet_v2_etlt_class_count(models_dir, name, count):
    proto = load_onnx_model(open_model(models_dir / name, REAL_ETLT[name][0]))
    found = model_classes(proto, "detectnet_v2")
    assert found.count == count and "output_cov/Sigmoid" in found.where and found.background_id is None


def test_ssd_nms_background_id(tmp_path):
    found = model_classes(make_sample_model("ssd"))
    assert (found.count, found.background_id) == (5, 0) and "numClasses=5" in found.where
    assert model_classes(make_sample_model("faster_rcnn")).background_id == 4  # background last
    assert model_classes(make_sample_model("yolo_v4")).background_id is None


def test_bundle_refuses_a_two_class_spec_for_a_one_class_model(models_dir, fixtures_dir, tmp_path):
    out = tmp_path / "b"
    result = run_cli("bundle", models_dir / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "detectnet_v2",
                     "--key", "nvidia_tlt", "--spec", fixtures_dir / FACEMASK_SPEC, "-o", out)
    assert_clean_error(result, f"--spec {fixtures_dir / FACEMASK_SPEC}", "2 label(s) (mask, no-mask)",
                       "outputs 1 class id(s)", "output_cov/Sigmoid [N,1,30,40]", "labels.txt needs 1 line(s)")
    assert "nvidia_tlt" not in result.stderr
    assert not out.exists()


def test_tlt2_labels_refused_for_a_model_with_a_background_id(tmp_path):
    sample = tmp_path / "ssd"
    assert run_cli("sample", "--network", "ssd", "-o", sample).returncode == 0
    result = run_cli("bundle", sample / "model.etlt", "--network", "ssd", "--spec", sample / "spec.txt",
                     "--key", "nvidia_tlt", "--tlt2-labels", "-o", tmp_path / "b")
    assert_clean_error(result, "4 label(s)", "numClasses=5", "drop --tlt2-labels")
    assert not (tmp_path / "b").exists()


def test_labels_command_checks_the_model(models_dir, fixtures_dir, tmp_path):
    spec = fixtures_dir / FACEMASK_SPEC
    wrong = run_cli("labels", spec, "--network", "detectnet_v2", "--model", models_dir / "lpd_ccpd_detectnet_v2_pruned.etlt",
                    "--key", "nvidia_tlt")
    assert_clean_error(wrong, "2 label(s)", "outputs 1 class id(s)", "[N,1,73,45]")
    right = run_cli("labels", spec, "--network", "detectnet_v2", "--model", models_dir / "facemask_detectnet_v2_resnet18.etlt",
                    "--key", "tlt_encode")
    assert right.returncode == 0 and right.stdout == "mask\nno-mask\n"


@pytest.fixture(scope="module")
def lpd_bundle(tmp_path_factory):
    """The US plate detector bundled with a one-class spec (what its training spec declares)."""
    root = tmp_path_factory.mktemp("lpd")
    spec = root / "lpd_spec.txt"
    spec.write_text(ONE_CLASS_SPEC)
    result = run_cli("bundle", FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt", "--network", "detectnet_v2",
                     "--key", "nvidia_tlt", "--spec", spec, "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"


def _relabel(bundle: Path, names: list[str], old_count: int) -> None:
    (bundle / "labels.txt").write_text("".join(f"{n}\n" for n in names))
    config = bundle / "deepstream" / "config_infer_primary.txt"
    text = config.read_text()
    assert f"num-detected-classes={old_count}\n" in text
    config.write_text(text.replace(f"num-detected-classes={old_count}\n", f"num-detected-classes={len(names)}\n"))


def test_check_bundle_compares_labels_with_the_graph(lpd_bundle, tmp_path):
    assert run_cli("check", lpd_bundle).returncode == 0
    bundle = tmp_path / "copy"
    shutil.copytree(lpd_bundle, bundle)
    _relabel(bundle, ["mask", "no-mask"], 1)  # consistent with each other, not with the model
    result = run_cli("check", bundle)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, result.stdout
    assert any("num-detected-classes: is 2 but model.onnx outputs 1 class id(s)" in e for e in errors)
    assert any("labels.txt has 2 class(es) but model.onnx outputs 1" in e for e in errors)


def test_check_with_model_option(lpd_bundle, tmp_path):
    folder = tmp_path / "configs"
    shutil.copytree(lpd_bundle / "deepstream", folder)
    (tmp_path / "labels.txt").write_text("mask\nno-mask\n")
    config = folder / "config_infer_primary.txt"
    config.write_text(config.read_text().replace("num-detected-classes=1\n", "num-detected-classes=2\n"))
    result = run_cli("check", config, "--model", lpd_bundle / "model.onnx")
    assert result.returncode == 1 and "is 2 but model.onnx outputs 1 class id(s)" in result.stdout, result.stdout


def test_check_bundle_reads_the_count_a_modernized_graph_recorded(tmp_path):
    sample = tmp_path / "ssd"
    assert run_cli("sample", "--network", "ssd", "-o", sample).returncode == 0
    bundle = tmp_path / "b"
    assert run_cli("bundle", sample / "model.etlt", "--network", "ssd", "--spec", sample / "spec.txt",
                   "--key", "nvidia_tlt", "-o", bundle).returncode == 0
    names = (bundle / "labels.txt").read_text().splitlines()
    _relabel(bundle, names[1:], len(names))  # the background line dropped: every name shifts by one
    result = run_cli("check", bundle)
    assert result.returncode == 1
    assert "is 4 but model.onnx outputs 5 class id(s) (its NMSDynamic_TRT node 'NMS' has numClasses=5, " \
           "recorded before `taostream modernize` replaced its plugin nodes)" in result.stdout, result.stdout


def test_infer_refuses_a_bundle_whose_labels_no_longer_fit_the_model(lpd_bundle, tmp_path):
    import json

    import cv2
    import numpy as np

    manifest = json.loads((lpd_bundle / "manifest.json").read_text())
    assert manifest["model_classes"]["count"] == 1 and "output_cov/Sigmoid" in manifest["model_classes"]["from"]
    image = tmp_path / "frame.jpg"
    cv2.imwrite(str(image), np.full((480, 640, 3), 90, np.uint8))
    bundle = tmp_path / "copy"
    shutil.copytree(lpd_bundle, bundle)
    assert run_cli("infer", bundle, image, "-o", tmp_path / "ok", "--no-progress").returncode == 0
    (bundle / "labels.txt").write_text("mask\nno-mask\n")
    result = run_cli("infer", bundle, image, "-o", tmp_path / "out", "--no-progress")
    assert_clean_error(result, "labels.txt: 2 class name(s) but the bundle's model outputs 1 class id(s)")
    assert not (tmp_path / "out").exists()


def _graph_with_outputs(outputs: dict[str, list], input_name: str = "input_image") -> "onnx.ModelProto":
    """A graph whose outputs have these shapes (Identity nodes from one input): what model_classes
    reads is the declared output shape, as a TAO export or its UFF translation declares it."""
    import onnx
    from onnx import TensorProto, helper

    first = next(iter(outputs.values()))
    nodes = [helper.make_node("Identity", [input_name], [name]) for name in outputs]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, first)],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()])
    return helper.make_model(graph)


def test_tlt2_faster_rcnn_class_softmax_counts_background_last():
    model = _graph_with_outputs({"dense_class_td/Softmax": ["N", 300, 5], "dense_regress_td/BiasAdd": ["N", 300, 16],
                                 "proposal": ["N", 300, 4]})
    found = model_classes(model)
    assert (found.count, found.background_id) == (5, 4) and "dense_class_td/Softmax [N,300,5]" in found.where


def test_mask_rcnn_without_detection_attributes_reads_the_mask_channels():
    model = _graph_with_outputs({"generate_detections": ["N", 100, 6],
                                 "mask_fcn_logits/BiasAdd": ["N", 100, 3, 28, 28]}, "Input")
    found = model_classes(model, "mask_rcnn")
    assert (found.count, found.background_id) == (3, 0) and "mask channel" in found.where


def test_classifier_softmax_of_rank_two_and_dynamic_dims():
    assert model_classes(_graph_with_outputs({"predictions/Softmax": ["N", 7]}, "input_1"), "classification").count == 7
    assert model_classes(_graph_with_outputs({"predictions/Softmax": ["N", "C"]}, "input_1"), "classification") is None
    assert model_classes(_graph_with_outputs({"output_cov/Sigmoid": ["N", "C", 34, 60],
                                              "output_bbox/BiasAdd": ["N", "B", 34, 60]}, "input_1")) is None
