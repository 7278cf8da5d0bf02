"""`taostream convert` on a bundle's model warns when the engine's TensorRT is not the one the bundle's
DeepStream runs there (an engine loads only on the TensorRT release that built it): NVIDIA's real LPDNet
with its real INT8 cache, bundled for Jetson (DeepStream 9.2: TensorRT 10.16.1.7) and for x86."""

from __future__ import annotations

import json

import pytest

from taostream.cli import main


@pytest.fixture(scope="module")
def lpd_bundles(models_dir, fixtures_dir, tmp_path_factory):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    folder = tmp_path_factory.mktemp("lpd_convert")
    labels = folder / "usa_lpd_label.txt"
    labels.write_text("lpd\n")
    made = {}
    for platform in ("jetson", "x86"):
        bundle = folder / platform
        assert main(["bundle", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "--network", "lpdnet",
                     "--labels", str(labels), "--key", "nvidia_tlt", "--precision", "int8", "--calibration-cache",
                     str(fixtures_dir / "calibration" / "lpd_usa_cal.bin"), "--platform", platform,
                     "-o", str(bundle)]) == 0
        made[platform] = bundle
    return made


def _dry_run(bundle, model, platform, trt, capsys):
    capsys.readouterr()
    args = [str(bundle / model), "-o", str(bundle / "engines" / "m.engine"), "--precision", "int8",
            "--platform", platform, "--trt-version", trt, "--dry-run"]
    if model == "model_trt10.onnx":
        args += ["--calibration-cache", str(bundle / "calibration.bin")]
    assert main(["convert", *args]) == 0
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("taostream: warning:")]


def test_jetson_engine_for_another_tensorrt_is_a_warning(lpd_bundles, capsys):
    bundle = lpd_bundles["jetson"]
    target = next(t for t in json.loads((bundle / "manifest.json").read_text())["targets"] if t["platform"] == "jetson")
    assert target["tensorrt"] == "10.16.1.7" and target["model"] == "model_trt10.onnx"
    (warning,) = _dry_run(bundle, "model_trt10.onnx", "jetson", "10.3", capsys)
    assert f"{bundle / 'model_trt10.onnx'}: the bundle targets DeepStream 9.2 on jetson, which runs TensorRT 10.16.1.7" \
        in warning
    assert "build with --trt-version 10.16" in warning and "scripts/jetson_build.sh --bundle" in warning
    assert _dry_run(bundle, "model_trt10.onnx", "jetson", "10.16", capsys) == []


def test_x86_engine_for_tensorrt_11_of_a_tensorrt_10_bundle_is_a_warning(lpd_bundles, capsys):
    bundle = lpd_bundles["x86"]
    (warning,) = _dry_run(bundle, "model.onnx", "x86", "11.0", capsys)
    assert "DeepStream 9.2 on x86, which runs TensorRT 10.16.0.72" in warning and "--trt-version 10.16" in warning
    assert _dry_run(bundle, "model.onnx", "x86", "10.16", capsys) == []


def test_a_model_outside_a_bundle_is_not_judged(lpd_bundles, tmp_path, capsys):
    model = tmp_path / "model.onnx"
    model.write_bytes((lpd_bundles["x86"] / "model.onnx").read_bytes())
    capsys.readouterr()
    assert main(["convert", str(model), "-o", str(tmp_path / "m.engine"), "--precision", "int8", "--platform",
                 "x86", "--trt-version", "11.0", "--dry-run"]) == 0
    assert "taostream: warning:" not in capsys.readouterr().err
