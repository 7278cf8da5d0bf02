"""`taostream check BUNDLE` judges the bundle's own calibration.bin against the model it calibrates
(model_trt10.onnx, the TensorRT <= 10 / Jetson route) even where no config of the bundle loads them (an
x86 bundle's configs run model.onnx with Q/DQ). Before, a mostly foreign cache gave one warning at
bundle time and `check` then said 0 warnings. The real LPDNet .etlt with NVIDIA's real caches."""

from __future__ import annotations

import shutil

import pytest

from cli_support import run_cli
from conftest import FIXTURES

LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"  # key nvidia_tlt, 1 class
CAL = FIXTURES / "calibration"


@pytest.fixture(autouse=True)
def _uff_translator():
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")


def _int8_bundle(tmp_path, cache):
    labels = tmp_path / "labels.txt"
    labels.write_text("lpd\n")
    bundle = tmp_path / "b"
    result = run_cli("bundle", LPD_USA, "--network", "lpdnet", "--labels", labels, "--key", "nvidia_tlt",
                     "--precision", "int8", "--calibration-cache", cache, "-o", bundle)
    assert result.returncode == 0, result.stderr
    return bundle, result


def test_a_bundle_with_a_mostly_foreign_cache_is_a_warning_in_check(tmp_path):
    # PeopleNet's TensorRT 10 cache: 292 of its 403 entries name no tensor of LPDNet
    bundle, made = _int8_bundle(tmp_path, CAL / "peoplenet_resnet34_trt10_cal.txt")
    assert "292 of 403" in made.stderr
    result = run_cli("check", bundle)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning: the engine still builds
    lines = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"{bundle / 'calibration.bin'}: warning: 292 of 403 calibration cache entries "
                               "match no tensor of model_trt10.onnx")
    assert "--calibration-cache" in lines[0] and "--calibrate-images" in lines[0]
    assert result.stdout.splitlines()[-1].startswith("0 error(s), 1 warning(s) in 4 config(s) and 1 bundle(s)")


def test_a_bundle_with_its_models_cache_has_no_warning(tmp_path):
    bundle, _ = _int8_bundle(tmp_path, CAL / "lpd_usa_cal.bin")
    result = run_cli("check", bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("0 error(s), 0 warning(s) in 4 config(s) and 1 bundle(s)")


def test_another_models_cache_swapped_into_a_bundle_is_an_error(tmp_path):
    # the SSD sample's cache names no convolution input of LPDNet; the file list also flags the change
    bundle, _ = _int8_bundle(tmp_path, CAL / "lpd_usa_cal.bin")
    shutil.copyfile(CAL / "ssd_tlt_cal.bin", bundle / "calibration.bin")
    result = run_cli("check", bundle)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"{bundle / 'calibration.bin'}: error: ")]
    assert any("no Conv/Gemm/MatMul input" in line and "not this model's calibration" in line for line in lines), \
        result.stdout
