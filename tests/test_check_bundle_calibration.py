"""`taostream check BUNDLE` judges the bundle's own calibration.bin against the model it calibrates
(model_trt10.onnx, the TensorRT <= 10 / Jetson route) even where no config of the bundle loads them (an
x86 bundle's configs run model.onnx with Q/DQ). Before, a mostly foreign cache gave one warning at
bundle time and `check` then said 0 warnings. `check APP` judges every bundle of a pipeline folder the
same way. The real LPDNet .etlt with NVIDIA's real caches."""

from __future__ import annotations

import contextlib
import io
import shutil
from types import SimpleNamespace

import onnx
import pytest
from onnx import TensorProto, helper

from cli_support import run_cli
from conftest import FIXTURES
from taostream.cli import main

LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"  # key nvidia_tlt, 1 class
CAL = FIXTURES / "calibration"


@pytest.fixture(autouse=True)
def _uff_translator():
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")


def _int8_bundle(root, cache):
    labels = root / "labels.txt"
    labels.write_text("lpd\n")
    bundle = root / "b"
    result = run_cli("bundle", LPD_USA, "--network", "lpdnet", "--labels", labels, "--key", "nvidia_tlt",
                     "--precision", "int8", "--calibration-cache", cache, "-o", bundle)
    assert result.returncode == 0, result.stderr
    return bundle, result


@pytest.fixture(scope="module")
def own_cache_bundle(tmp_path_factory):
    """An x86 INT8 bundle of LPDNet with its own cache (copy it before changing it)."""
    return _int8_bundle(tmp_path_factory.mktemp("own"), CAL / "lpd_usa_cal.bin")[0]


@pytest.fixture(scope="module")
def foreign_cache_bundle(tmp_path_factory):
    """An x86 INT8 bundle of LPDNet made with PeopleNet's TensorRT 10 cache: 292 of its 403 entries name no
    tensor of LPDNet (bundle warns once; the bundle's files are as written)."""
    return _int8_bundle(tmp_path_factory.mktemp("foreign"), CAL / "peoplenet_resnet34_trt10_cal.txt")


def _taostream(*args) -> SimpleNamespace:
    """The command run in this process (a second faster than run_cli's new interpreter): exit code, stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([str(a) for a in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _copy(bundle, tmp_path):
    return shutil.copytree(bundle, tmp_path / bundle.name, symlinks=True)


def _calibration_lines(stdout, cache, severity):
    return [line for line in stdout.splitlines() if line.startswith(f"{cache}: {severity}: ")]


def test_a_bundle_with_a_mostly_foreign_cache_is_a_warning_in_check(foreign_cache_bundle):
    bundle, made = foreign_cache_bundle
    assert "292 of 403" in made.stderr
    result = _taostream("check", bundle)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning: the engine still builds
    lines = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"{bundle / 'calibration.bin'}: warning: 292 of 403 calibration cache entries "
                               "match no tensor of model_trt10.onnx")
    assert "--calibration-cache" in lines[0] and "--calibrate-images" in lines[0]
    assert result.stdout.splitlines()[-1].startswith("0 error(s), 1 warning(s) in 4 config(s) and 1 bundle(s)")


def test_a_bundle_with_its_models_cache_has_no_warning(own_cache_bundle):
    result = _taostream("check", own_cache_bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("0 error(s), 0 warning(s) in 4 config(s) and 1 bundle(s)")


def test_another_models_cache_swapped_into_a_bundle_is_an_error(own_cache_bundle, tmp_path):
    # the SSD sample's cache names no convolution input of LPDNet; the file list also flags the change
    bundle = _copy(own_cache_bundle, tmp_path)
    shutil.copyfile(CAL / "ssd_tlt_cal.bin", bundle / "calibration.bin")
    result = _taostream("check", bundle)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = _calibration_lines(result.stdout, bundle / "calibration.bin", "error")
    assert any("no Conv/Gemm/MatMul input" in line and "not this model's calibration" in line for line in lines), \
        result.stdout


def test_a_cache_is_not_judged_against_a_model_with_nothing_to_calibrate(own_cache_bundle, tmp_path):
    # model_trt10.onnx replaced by a graph with no Conv/Gemm/MatMul (a post-processing graph copied over
    # it): the model is what changed, and the bundle's own cache was called another model's calibration
    bundle = _copy(own_cache_bundle, tmp_path)
    node = helper.make_node("Sigmoid", ["input_1"], ["output_cov/Sigmoid"], name="output_cov/Sigmoid")
    graph = helper.make_graph([node], "post", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 3, 480, 640])],
                              [helper.make_tensor_value_info("output_cov/Sigmoid", TensorProto.FLOAT, [1, 3, 480, 640])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), bundle / "model_trt10.onnx")
    result = _taostream("check", bundle)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{bundle / 'model_trt10.onnx'}: error: changed since the bundle was written" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith(f"{bundle / 'calibration.bin'}:")], \
        result.stdout


def test_check_app_judges_the_cache_of_the_bundle_a_pipeline_references(foreign_cache_bundle, tmp_path):
    bundle, _ = foreign_cache_bundle
    assert _taostream("pipeline", "-o", tmp_path / "app", "--primary", bundle).returncode == 0
    result = _taostream("check", tmp_path / "app")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _calibration_lines(result.stdout, bundle / "calibration.bin", "warning")
    assert len(lines) == 1 and "292 of 403 calibration cache entries match no tensor of model_trt10.onnx" in lines[0], \
        result.stdout
    assert result.stdout.splitlines()[-1].startswith("0 error(s), 1 warning(s) in 2 config(s) and 1 bundle(s)")


def test_check_app_judges_the_cache_of_a_bundle_copied_into_the_pipeline(own_cache_bundle, tmp_path):
    app = tmp_path / "app"
    assert _taostream("pipeline", "-o", app, "--primary", own_cache_bundle, "--copy").returncode == 0
    assert _taostream("check", app).returncode == 0
    cache = app / "bundles" / own_cache_bundle.name / "calibration.bin"
    shutil.copyfile(CAL / "ssd_tlt_cal.bin", cache)  # another model's cache swapped into the copy
    result = _taostream("check", app)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = _calibration_lines(result.stdout, cache, "error")
    assert any("no Conv/Gemm/MatMul input of model_trt10.onnx" in line and "not this model's calibration" in line
               for line in lines), result.stdout


@pytest.mark.parametrize("platform", ["x86", "jetson"])
def test_an_unusable_input_scale_in_the_models_own_cache_is_named_by_check_not_called_another_models(
        tmp_path, platform):
    """LPDNet's own real cache with its input_1 entry made +inf (a QAT export's, or a hand edit): bundle leaves
    that entry out of calibration.bin, so check saw no input scale and asked 'is it the cache of this model?',
    sending the user after another cache. The manifest records the entry left out; check names it and the fix.
    x86: the bundle's own calibration.bin check; Jetson: the nvinfer config that loads it."""
    lines = (CAL / "lpd_usa_cal.bin").read_text().splitlines()
    assert lines[1].startswith("input_1: ")
    lines[1] = "input_1: 7f800000"
    cache = tmp_path / "lpd_cal_qat.bin"
    cache.write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.txt").write_text("lpd\n")
    bundle = tmp_path / "b"
    made = _taostream("bundle", LPD_USA, "--network", "lpdnet", "--labels", tmp_path / "labels.txt", "--key",
                      "nvidia_tlt", "--precision", "int8", "--calibration-cache", cache, "--platform", platform,
                      "-o", bundle)
    assert made.returncode == 0, made.stderr
    result = _taostream("check", bundle)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning: the engine builds, input in float
    lines = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert len(lines) == 1, result.stdout
    assert ("the input tensor 'input_1' has no scale here because its entry 'input_1' in lpd_cal_qat.bin, the cache "
            "this bundle was made from, has the scale inf, which no INT8 build can use") in lines[0]
    assert "--calibrate-images" in lines[0] and "fix that entry of lpd_cal_qat.bin" in lines[0]
    assert "is it the cache of this model" not in result.stdout
