"""`taostream check BUNDLE` compares each Triton config's tensors with its model file: NVIDIA's real
LPDNet (.etlt, NGC labels form) bundled, then its Triton config edited the ways users edit it."""

from __future__ import annotations

import shutil

import pytest

from taostream.cli import main

pytest.importorskip("tritonclient.grpc", reason="the `triton` extra is not installed")

MODEL = "lpd_usa_detectnet_v2_pruned.etlt"  # input_1 3x480x640; outputs output_cov/Sigmoid, output_bbox/BiasAdd


@pytest.fixture(scope="module")
def lpd_bundle(models_dir, tmp_path_factory):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    folder = tmp_path_factory.mktemp("lpd")
    labels = folder / "usa_lpd_label.txt"
    labels.write_text("lpd\n")
    bundle = folder / "bundle"
    assert main(["bundle", str(models_dir / MODEL), "--network", "lpdnet", "--labels", str(labels),
                 "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    return bundle


def _edited(bundle, tmp_path, model, old, new):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    config = copy / "triton" / model / "config.pbtxt"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    return copy, config


def test_the_bundle_as_written_has_matching_tensors(lpd_bundle, capsys):
    assert main(["check", str(lpd_bundle)]) == 0
    assert "Triton refuses" not in capsys.readouterr().out


@pytest.mark.parametrize("model, effect", [
    ("lpd_usa_detectnet_v2_pruned", "Triton refuses to load the model"),
    # the python backend loads (its model.py runs the ONNX), then refuses requests of the model's shape;
    # `taostream infer --backend triton` against `taostream serve` of such a bundle fails every image
    ("lpd_usa_detectnet_v2_pruned_cpu", "Triton refuses every request with the model's own input shape"),
])
def test_input_dims_of_the_old_deepstream_config_are_an_error(lpd_bundle, tmp_path, capsys, model, effect):
    # the DeepStream 5 config's uff-input-dims=3;544;960 copied into the Triton config of a 480x640 model
    bundle, config = _edited(lpd_bundle, tmp_path, model, "dims: [3, 480, 640]", "dims: [3, 544, 960]")
    assert main(["check", str(bundle)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "input.dims" in line)
    assert line.startswith(f"{config}: error: input.dims: input 'input_1' has dims [3, 544, 960]")
    assert f"{effect}; set dims: [3, 480, 640]" in line


def test_an_output_the_model_lacks_is_an_error(lpd_bundle, tmp_path, capsys):
    bundle, config = _edited(lpd_bundle, tmp_path, "lpd_usa_detectnet_v2_pruned",
                             'name: "output_cov/Sigmoid"', 'name: "output_cov"')
    assert main(["check", str(bundle)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "output.name" in line)
    assert line.startswith(f"{config}: error: output.name: 'output_cov' is not an output of 1/model.onnx")
    assert "output_cov/Sigmoid, output_bbox/BiasAdd" in line


def test_output_dims_of_another_class_count_are_an_error(lpd_bundle, tmp_path, capsys):
    # a config from a 4-class DetectNet_v2 (output_cov [4, 30, 40]) over the 1-class LPDNet
    bundle, _ = _edited(lpd_bundle, tmp_path, "lpd_usa_detectnet_v2_pruned", "dims: [1, 30, 40]", "dims: [4, 30, 40]")
    assert main(["check", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "output.dims: output 'output_cov/Sigmoid' has dims [4, 30, 40]" in out and "set dims: [1, 30, 40]" in out
