"""`taostream check` on an INT8 nvinfer config (network-mode=1 + int8-calib-file) whose model TensorRT
calibrates implicitly from the cache: the cache must be one TensorRT can read and the calibration of
this model. NVIDIA's DeepStream 5 DetectNet_v2 config over the real LPDNet .etlt (DeepStream 6.0 still
loads it), and the bundle a Jetson deployment of that model gets, with NVIDIA's real caches."""

from __future__ import annotations

import shutil

import pytest

from cli_support import run_cli
from conftest import FIXTURES
from migrate_support import config_tree

CONFIG = "pgie_detectnet_v2_tlt_config.txt"
LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"  # key nvidia_tlt, 1 class, 3x480x640
CAL = FIXTURES / "calibration"


@pytest.fixture(autouse=True)
def _uff_translator():
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")


def _int8_config(tmp_path, cache_source):
    config = config_tree(tmp_path, CONFIG, LPD_USA, ["lpd"])
    text = (config.read_text().replace("num-detected-classes=4", "num-detected-classes=1")
            .replace("uff-input-dims=3;544;960;0", "uff-input-dims=3;480;640;0")
            .replace("network-mode=2", "network-mode=1\nint8-calib-file=cal.bin"))
    config.write_text(text)
    if isinstance(cache_source, str):
        (tmp_path / "cal.bin").write_text(cache_source)
    else:
        shutil.copyfile(cache_source, tmp_path / "cal.bin")
    return config


def test_the_models_own_cache_passes(tmp_path):
    config = _int8_config(tmp_path, CAL / "lpd_usa_cal.bin")
    result = run_cli("check", config, "--deepstream", "6.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "int8-calib-file" not in result.stdout


def test_another_models_cache_is_an_error(tmp_path):
    # the SSD sample's cache: 225 entries, none of which is an input of LPDNet's convolutions, so
    # TensorRT would build INT8 from scales of another network (or none at all)
    config = _int8_config(tmp_path, CAL / "ssd_tlt_cal.bin")
    result = run_cli("check", config, "--deepstream", "6.0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "int8-calib-file" in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"{config}:") and ": error: [property] int8-calib-file: " in lines[0]
    assert "cal.bin" in lines[0] and "no Conv/Gemm/MatMul input" in lines[0]
    assert "tao export --cal_cache_file" in lines[0] and "network-mode=2" in lines[0]


def test_a_mostly_foreign_cache_is_a_warning_naming_the_model_and_the_configs_fix(tmp_path):
    # PeopleNet's TensorRT 10 cache: 292 of its 403 entries name no tensor of LPDNet; the engine still builds.
    # The warning named 'this graph' and told to 'calibrate afresh with images', which nvinfer cannot do.
    # Its 111 entries that do reach a tensor name it 'x:0' (tf2onnx) where the .etlt's UFF graph has 'x':
    # TensorRT matches a cache by exact name, so that is an error of its own (no layer would run in INT8).
    config = _int8_config(tmp_path, CAL / "peoplenet_resnet34_trt10_cal.txt")
    result = run_cli("check", config, "--deepstream", "6.0")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "int8-calib-file" in line]
    assert len(lines) == 2 and ": warning: [property] int8-calib-file: cal.bin: 292 of 403 calibration cache entries " \
        "match no tensor of detectnetv2_resnet18.etlt" in lines[1], result.stdout
    assert lines[1].endswith("it is probably another model's cache; point int8-calib-file at the cache "
                             "`tao export --cal_cache_file` wrote with this model, or use network-mode=2 (FP16)")
    assert ": error: [property] int8-calib-file: 111 of 111 entries name a tensor of detectnetv2_resnet18.etlt in " \
        "another form (e.g. 'input_1:0' for 'input_1')" in lines[0] and "no layer runs in INT8" in lines[0]


def test_a_file_that_is_no_calibration_cache_is_an_error(tmp_path):
    config = _int8_config(tmp_path, "<html>404 Not Found</html>\n")  # a failed download saved as cal.bin
    result = run_cli("check", config, "--deepstream", "6.0")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "int8-calib-file" in line]
    assert len(lines) == 1 and "error" in lines[0] and "not a TensorRT calibration cache" in lines[0], result.stdout


def test_a_jetson_bundle_with_another_models_cache_is_an_error(tmp_path):
    # the ONNX route: a Jetson bundle's config loads model_trt10.onnx + calibration.bin; a user who
    # swaps in another cache (and checks the config alone, without the manifest) is told
    bundle = tmp_path / "bundle"
    labels = tmp_path / "labels.txt"
    labels.write_text("lpd\n")
    result = run_cli("bundle", LPD_USA, "--network", "lpdnet", "--labels", labels, "--key", "nvidia_tlt",
                     "--platform", "jetson", "--precision", "int8", "--calibration-cache", CAL / "lpd_usa_cal.bin",
                     "-o", bundle)
    assert result.returncode == 0, result.stderr
    config = bundle / "deepstream" / "config_infer_primary.txt"
    assert run_cli("check", config).returncode == 0
    shutil.copyfile(CAL / "ssd_tlt_cal.bin", bundle / "calibration.bin")
    result = run_cli("check", config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ": error: [property] int8-calib-file: " in result.stdout and "no Conv/Gemm/MatMul input" in result.stdout


@pytest.mark.parametrize("renamed, severity", [("all", "error"), ("half", "warning")])
def test_cache_names_tensorrt_would_not_match_exactly_are_found(tmp_path, renamed, severity):
    """LPDNet's own cache with its names written as tf2onnx writes them ('input_1:0') for the .etlt's UFF
    graph ('input_1'): `bundle` maps such a cache (and restates it), but TensorRT's implicit INT8 matches
    cache entries to tensors by exact name, so nvinfer would calibrate nothing from it; check passed it."""
    header, *entries = (CAL / "lpd_usa_cal.bin").read_text().splitlines()
    cut = len(entries) if renamed == "all" else len(entries) // 2
    lines = [f"{name}:0:{value}" for name, value in (e.rsplit(":", 1) for e in entries[:cut])] + entries[cut:]
    config = _int8_config(tmp_path, "\n".join([header, *lines]) + "\n")
    result = run_cli("check", config, "--deepstream", "6.0")
    assert result.returncode == (1 if severity == "error" else 0), result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "int8-calib-file" in line]
    assert f": {severity}: [property] int8-calib-file: " in line
    assert f"{cut} of {len(entries)} entries name a tensor of detectnetv2_resnet18.etlt in another form " \
        f"(e.g. '{entries[0].rsplit(':', 1)[0]}:0' for '{entries[0].rsplit(':', 1)[0]}')" in line, line
    assert "TensorRT reads a calibration cache by exact tensor name" in line
