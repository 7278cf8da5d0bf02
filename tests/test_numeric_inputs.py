"""Numbers are validated where they enter: a DLA core, a batch size, a confidence threshold, a GPU
list; each bad value is one `taostream: error:` line with exit code 2, before anything is read or
written. And `--precision fp16` with a calibration cache says the cache is unused and does not ship it."""

from __future__ import annotations

import json
import math

import pytest

from taostream.cli import main
from taostream.converter.cli import tao_converter
from taostream.converter.errors import TaostreamError
from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.deepstream_configs.check.run import check_configs


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    return write_sample("ssd", tmp_path_factory.mktemp("ssd") / "sample")


def _one_error_line(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "error:" in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def _bundle_args(info, out, *extra):
    return ["bundle", str(info.model), "--network", "ssd", "--spec", str(info.spec), "--key", SAMPLE_KEY,
            "-o", str(out), *extra]


@pytest.mark.parametrize("core", ["-1", "-7"])
def test_bundle_refuses_a_negative_dla_core(core, ssd, tmp_path, capsys):
    code = main(_bundle_args(ssd, tmp_path / "b", "--platform", "jetson", "--dla-core", core))
    _one_error_line(capsys, code, f"--dla-core {core}", "numbered from 0")
    assert not (tmp_path / "b").exists()


def _sample_elements(info) -> int:
    from taostream.converter.model.loader import load_onnx_model, open_model

    model = load_onnx_model(open_model(info.model, SAMPLE_KEY))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    assert all(d > 0 for d in dims)
    return math.prod(dims)


def test_bundle_batch_size_must_fit_a_tensorrt_tensor(ssd, tmp_path, capsys):
    code = main(_bundle_args(ssd, tmp_path / "b", "--batch-size", "0"))
    _one_error_line(capsys, code, "--batch-size 0", "1 or more")
    largest = (2**31 - 1) // _sample_elements(ssd)
    code = main(_bundle_args(ssd, tmp_path / "b", "--batch-size", str(largest + 1)))
    _one_error_line(capsys, code, f"--batch-size {largest + 1}", f"at most {largest}", "2^31-1")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("value, fragment", [("0", "1 or more"), ("2147483648", "at most 2147483647")])
def test_tao_converter_max_batch_limits(value, fragment, ssd, capsys):
    code = tao_converter.main([str(ssd.model), "-k", SAMPLE_KEY, "-m", value, "--dry-run"])
    _one_error_line(capsys, code, "-m", fragment)


def test_tao_converter_max_batch_times_input_dims_over_int32_is_refused(ssd, capsys):
    # 2000 x 3x544x960 = 3,133,440,000 elements > 2^31-1: TensorRT cannot index the input tensor.
    code = tao_converter.main([str(ssd.model), "-k", SAMPLE_KEY, "-d", "3,544,960", "-m", "2000", "--dry-run"])
    _one_error_line(capsys, code, "(-m) 2000", "3133440000 elements", "at most 1370")


@pytest.mark.parametrize("value", ["nan", "NaN", "-0.1", "inf"])
def test_infer_threshold_outside_0_1_is_refused_before_running(value, tmp_path, capsys):
    image = tmp_path / "x.jpg"
    image.write_bytes(b"not read")
    code = main(["infer", str(tmp_path / "no-bundle"), str(image), "-o", str(tmp_path / "out"), "--threshold", value])
    _one_error_line(capsys, code, f"--threshold {value.lower()}", "between 0 and 1")
    assert not (tmp_path / "out").exists()


def test_infer_threshold_above_1_is_refused_unless_confidences_are_summed_coverage(ssd, tmp_path, capsys):
    # A final confidence filter above 1 is meaningless for scores, but DetectNet_v2's DBSCAN clusters
    # report their summed coverage (the facemask model's face: 68.8), which it can filter.
    image = tmp_path / "x.png"
    image.write_bytes(b"not read")
    bundle = tmp_path / "b"
    assert main(_bundle_args(ssd, bundle)) == 0
    capsys.readouterr()
    code = main(["infer", str(bundle), str(image), "-o", str(tmp_path / "out"), "--threshold", "1.5"])
    _one_error_line(capsys, code, "--threshold 1.5", "between 0 and 1")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["-1", "0,a", "0;1", "1,1", ""])
def test_tao_mounts_gpu_index_must_be_a_list_of_gpu_numbers(value, tmp_path, capsys):
    out = tmp_path / "mounts.json"
    code = main(["tao-mounts", "--mount", f"{tmp_path}:/workspace", "--gpu-index", value, "-o", str(out), "--no-user"])
    _one_error_line(capsys, code, "--gpu-index")
    assert not out.exists()


def test_tao_mounts_gpu_index_list_is_normalised(tmp_path, capsys):
    out = tmp_path / "mounts.json"
    assert main(["tao-mounts", "--mount", f"{tmp_path}:/workspace", "--gpu-index", "0, 2", "-o", str(out),
                 "--no-user"]) == 0
    envs = json.loads(out.read_text())["Envs"]
    assert {"variable": "CUDA_VISIBLE_DEVICES", "value": "0,2"} in envs


def test_check_does_not_also_claim_use_dla_core_is_missing(tmp_path):
    config = tmp_path / "config_infer.txt"
    config.write_text("[property]\ngie-unique-id=1\nonnx-file=/opt/nvidia/deepstream/deepstream/m.onnx\n"
                      "network-type=1\nenable-dla=1\nuse-dla-core=-1\n")
    report = check_configs([config], deepstream="6.4")
    about_dla = [f for f in report.findings if f.key == "use-dla-core"]
    assert [(f.severity, "must not be negative" in f.message) for f in about_dla] == [("error", True)]
    config.write_text(config.read_text().replace("use-dla-core=-1\n", ""))
    missing = [f for f in check_configs([config], deepstream="6.4").findings if f.key == "use-dla-core"]
    assert [f.severity for f in missing] == ["warning"]


def test_fp16_bundle_with_a_calibration_cache_says_it_is_unused_and_does_not_ship_it(ssd, tmp_path, capsys):
    bundle = tmp_path / "b"
    code = main(_bundle_args(ssd, bundle, "--precision", "fp16", "--calibration-cache", str(ssd.calibration)))
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert f"{ssd.calibration}: --calibration-cache is unused with --precision fp16" in err
    assert not (bundle / "calibration.bin").exists()
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert all(not t.get("calibration") for t in manifest["targets"])
    assert "calibration.bin" not in {f["path"] for f in manifest["files"]}


@pytest.mark.parametrize("core", ["2", "3"])
def test_bundle_refuses_a_dla_core_no_jetson_has(core, ssd, tmp_path, capsys):
    code = main(_bundle_args(ssd, tmp_path / "b", "--platform", "jetson", "--dla-core", core))
    _one_error_line(capsys, code, f"--dla-core {core}", f"no Jetson has DLA core {core}", "use 0 or 1")
    assert not (tmp_path / "b").exists()


def test_tao_converter_refuses_a_dla_core_no_jetson_has():
    with pytest.raises(TaostreamError, match="no Jetson has it"):
        tao_converter.parse_dla_core("2")
    assert tao_converter.parse_dla_core("1") == 1 and tao_converter.parse_dla_core("-1") is None


def test_check_flags_use_dla_core_no_jetson_has(tmp_path):
    config = tmp_path / "config_infer.txt"
    config.write_text("[property]\ngie-unique-id=1\nonnx-file=/opt/nvidia/deepstream/deepstream/m.onnx\n"
                      "network-type=1\nenable-dla=1\nuse-dla-core=2\n")
    (finding,) = [f for f in check_configs([config], deepstream="6.4").findings if f.key == "use-dla-core"]
    assert finding.severity == "error" and "no Jetson has DLA core 2" in finding.message
    assert "use-dla-core=0 or 1" in finding.message
    config.write_text(config.read_text().replace("use-dla-core=2", "use-dla-core=1"))
    assert not [f for f in check_configs([config], deepstream="6.4").findings if f.key == "use-dla-core"]


def test_check_flags_dla_in_an_x86_bundle(models_dir, tmp_path, capsys):
    # NVIDIA's real LPDNet bundled for x86, its nvinfer config then edited to run on a DLA
    labels = tmp_path / "usa_lpd_label.txt"
    labels.write_text("lpd\n")
    bundle = tmp_path / "bundle"
    assert main(["bundle", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "--network", "lpdnet", "--labels",
                 str(labels), "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    config = bundle / "deepstream" / "config_infer_primary.txt"
    config.write_text(config.read_text().replace("gie-unique-id=1\n", "gie-unique-id=1\nenable-dla=1\nuse-dla-core=0\n"))
    (finding,) = [f for f in check_configs([config], deepstream="9.2").errors if f.key == "enable-dla"]
    assert "the bundle bundle is for x86" in finding.message and "set enable-dla=0" in finding.message
    assert "--platform jetson --dla-core N" in finding.message
