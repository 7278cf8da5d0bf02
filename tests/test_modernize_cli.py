"""`taostream modernize` end to end: .onnx and .etlt in, a modernized ONNX and a report out; user
errors are one line with exit code 2 and leave nothing behind."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import modernize_graphs as mg
from cli_support import assert_clean_error, run_cli
from taostream.cli import main
from taostream.converter.model.etlt import encode_etlt_bytes
from taostream.plugins.reference import run_with_plugin_references

KEY = "tlt_encode"


@pytest.fixture(scope="module")
def ssd_model() -> onnx.ModelProto:
    return mg.ssd_with_batch_tile_model(40, 3, 10)


def _outputs_match_reference(original: onnx.ModelProto, modernized_path) -> None:
    rng = np.random.default_rng(0)
    feeds = {"loc": rng.normal(size=(2, 160, 1, 1)).astype(np.float32),
             "conf": rng.uniform(0, 1, size=(2, 120, 1, 1)).astype(np.float32)}
    modernized = onnx.load(modernized_path)
    assert not mg.op_types(modernized) & {"BatchTilePlugin_TRT", "NMSDynamic_TRT"}
    expected = run_with_plugin_references(original, feeds)
    got = mg.run_onnxruntime(modernized, feeds)
    np.testing.assert_allclose(got["NMS"], expected["NMS"], atol=1e-5)
    np.testing.assert_array_equal(got["NMS_1"].view(np.int32), expected["NMS_1"].view(np.int32))


def test_modernize_onnx_prints_the_report(tmp_path, ssd_model, capsys):
    source, out = tmp_path / "ssd.onnx", tmp_path / "ssd_trt11.onnx"
    onnx.save(ssd_model, source)
    assert main(["modernize", str(source), "-o", str(out), "--target-trt", "11"]) == 0
    report = capsys.readouterr().out
    assert "2 plugin node(s) replaced, 0 kept" in report
    assert "replaced BatchTilePlugin_TRT 'batch_tile': TensorRT 11 removed it" in report
    assert "replaced NMSDynamic_TRT 'NMS'" in report and "onnx.checker: passed" in report
    _outputs_match_reference(ssd_model, out)


def test_modernize_etlt_in_a_subprocess(tmp_path, ssd_model):
    source, out = tmp_path / "ssd.etlt", tmp_path / "ssd.onnx"
    source.write_bytes(encode_etlt_bytes(ssd_model.SerializeToString(), KEY))
    result = run_cli("modernize", source, "-o", out, "--target-trt", "ort", "--json", "--key", KEY)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["op"] for s in report["replaced"]] == ["BatchTilePlugin_TRT", "NMSDynamic_TRT"]
    assert report["outputs"] == ["NMS", "NMS_1"] and report["checker"] == "passed"
    assert KEY not in result.stdout + result.stderr
    _outputs_match_reference(ssd_model, out)


def test_keep_plugins_on_the_command_line(tmp_path, ssd_model, capsys):
    source, out = tmp_path / "ssd.onnx", tmp_path / "kept.onnx"
    onnx.save(ssd_model, source)
    assert main(["modernize", str(source), "-o", str(out), "--keep-plugins", "NMSDynamic_TRT", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["op"] for s in report["kept"]] == ["NMSDynamic_TRT"]
    assert "NMSDynamic_TRT" in mg.op_types(onnx.load(out))


@pytest.mark.parametrize("extra, fragments", [
    (["--key", "wrong_key"], ["wrong key"]),
    ([], ["ssd.etlt: an encrypted .etlt model needs its key", "--key"]),
    (["--key", KEY, "--target-trt", "ort", "--keep-plugins", "NoSuchOp"], ["--keep-plugins NoSuchOp"]),
    (["--key", KEY, "--write-cache", "x.cal"], ["--write-cache", "--calibrate-images"]),
])
def test_user_errors_are_one_line(tmp_path, ssd_model, capsys, monkeypatch, extra, fragments):
    monkeypatch.delenv("TAOSTREAM_KEY", raising=False)
    source, out = tmp_path / "ssd.etlt", tmp_path / "out.onnx"
    source.write_bytes(encode_etlt_bytes(ssd_model.SerializeToString(), KEY))
    assert main(["modernize", str(source), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("taostream: error:")
    assert all(f in err for f in fragments), err
    assert not out.exists() and list(tmp_path.iterdir()) == [source]


def test_unreplaceable_plugin_for_the_target(tmp_path):
    source, out = tmp_path / "mrcnn.onnx", tmp_path / "out.onnx"
    onnx.save(mg.mask_rcnn_like_model(), source)
    result = run_cli("modernize", source, "-o", out, "--target-trt", "ort")
    assert result.returncode == 2
    assert_clean_error(result, "MultilevelProposeROI_TRT", "--target-trt 10 or 11")
    assert not out.exists()


# ----------------------------------------------------------------------------- INT8 options

def test_calibration_cache_becomes_qdq(tmp_path, capsys):
    from taostream.converter.int8.calib_cache import CalibrationCache, header_for, write_calibration_cache

    source, cache, out = tmp_path / "tiny.onnx", tmp_path / "cal.bin", tmp_path / "int8.onnx"
    onnx.save(mg.tiny_ssd_model(), source)
    # a TensorRT cache holds every layer's output too: TensorRT runs a layer in INT8 only with both ranges
    write_calibration_cache(cache, CalibrationCache(header_for("8.6.1"), {"Input": 100.0 / 127, "loc_data": 5.0 / 127,
                                                                         "conf_raw": 5.0 / 127}))
    assert main(["modernize", str(source), "-o", str(out), "--calibration-cache", str(cache)]) == 0
    report = capsys.readouterr().out
    assert f"INT8 from calibration cache {cache}" in report and "2 weighted ops quantized" in report
    ops = mg.op_types(onnx.load(out))
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "NMSDynamic_TRT" not in ops


def test_calibrate_images_and_write_cache(tmp_path, capsys):
    import cv2

    from taostream.converter.int8.calib_cache import read_calibration_cache

    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.png"), np.random.default_rng(i).integers(0, 255, (40, 50, 3), dtype=np.uint8))
    source, out, cache = tmp_path / "tiny.onnx", tmp_path / "int8.onnx", tmp_path / "fresh.cal"
    onnx.save(mg.tiny_ssd_model(), source)
    args = ["modernize", str(source), "-o", str(out), "--calibrate-images", str(images), "--batches", "1",
            "--batch-size", "2", "--network", "ssd", "--write-cache", str(cache), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["int8"][0].startswith("INT8 from fresh calibration")
    written = read_calibration_cache(cache)
    assert written.header == "TRT-100300-EntropyCalibration2"
    assert {"Input", "loc_data", "conf_data"} <= set(written.scales)
    assert "NMS" not in written.scales  # calibration runs on the body, before the NMS plugin
    assert {"QuantizeLinear", "DequantizeLinear"} <= mg.op_types(onnx.load(out))


def test_real_nvidia_uff_etlt(tmp_path, models_dir, capsys):
    """A real NVIDIA .etlt with a UFF payload goes through the UFF translator; DetectNet_v2 has no
    plugins, so the graph is only translated, checked and written."""
    out = tmp_path / "lpd.onnx"
    source = models_dir / "lpd_usa_detectnet_v2_pruned.etlt"
    assert main(["modernize", str(source), "-o", str(out), "--key", "nvidia_tlt", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network"] == "detectnet_v2" and report["replaced"] == [] and report["checker"] == "passed"
    model = onnx.load(out)
    assert [i.name for i in model.graph.input] == ["input_1"]
    feeds = {"input_1": np.zeros((1, 3, 480, 640), np.float32)}
    outputs = mg.run_onnxruntime(model, feeds)
    assert set(outputs) == {"output_cov/Sigmoid", "output_bbox/BiasAdd"}


# ----------------------------------------------------------------------------- taostream calibration

def test_calibration_summarizes_every_real_cache(fixtures_dir, capsys):
    caches = sorted((fixtures_dir / "calibration").glob("*.bin"))
    assert len(caches) >= 9
    assert main(["calibration", *map(str, caches), "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    for path in caches:
        lines = [line for line in path.read_text().splitlines()[1:] if line.strip()]
        summary = summaries[str(path)]
        assert summary["tensors"] == len(lines)  # counted here from the file itself
        assert summary["header"] == path.read_text().splitlines()[0].strip()
        assert 0 < summary["scale_min"] <= summary["scale_max"]


def test_calibration_bad_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.cal"
    bad.write_text("not a cache\n")
    assert main(["calibration", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "TRT-<version>-<algorithm>" in err
