"""`taostream inspect` on real NVIDIA models and on graphs with TensorRT plugin nodes."""

from __future__ import annotations

import json

import onnx
from onnx import TensorProto, helper

from cli_support import assert_clean_error, run_cli


def plugin_graph(path):
    """An SSD-shaped graph with the two plugins TAO's SSD export carries."""
    inp = helper.make_tensor_value_info("Input", TensorProto.FLOAT, ["N", 3, 300, 300])
    outs = [
        helper.make_tensor_value_info("NMS", TensorProto.FLOAT, ["N", 1, 200, 7]),
        helper.make_tensor_value_info("NMS_1", TensorProto.FLOAT, ["N", 1, 1, 1]),
    ]
    nodes = [
        helper.make_node("BatchTilePlugin_TRT", ["Input", "priors"], ["tiled"], name="tile"),
        helper.make_node("NMSDynamic_TRT", ["Input", "Input", "tiled"], ["NMS", "NMS_1"], name="nms", keepTopK=200),
    ]
    priors = helper.make_tensor("priors", TensorProto.FLOAT, [1, 2, 4, 1], [0.0] * 8)
    graph = helper.make_graph(nodes, "ssd", [inp], outs, initializer=[priors])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    onnx.save(model, path)


def test_inspect_real_etlt_text(models_dir):
    result = run_cli("inspect", models_dir / "lpd_usa_detectnet_v2_pruned.etlt", "--key", "nvidia_tlt")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "UFF inside an .etlt container" in out
    assert "input_1  [-1, 3, 480, 640]" in out
    assert "output_cov/Sigmoid" in out and "output_bbox/BiasAdd" in out
    assert "network:  detectnet_v2" in out
    assert "TensorRT plugin ops: none" in out
    assert "nvidia_tlt" not in out


def test_inspect_json_has_op_histogram(models_dir):
    result = run_cli("inspect", models_dir / "facemask_detectnet_v2_resnet18.etlt", "--key", "tlt_encode", "--json")
    report = json.loads(result.stdout)
    assert report["format"] == "uff" and report["container"] == "etlt"
    assert report["op_histogram"]["Conv"] == 23
    assert report["inputs"] == [{"name": "input_1", "shape": [-1, 3, 544, 960], "dtype": "float32"}]
    assert report["network"] == "detectnet_v2"
    # UFF stores no output shapes; the ONNX translation supplies them (960x544 / 16 = 60x34).
    assert [o["shape"] for o in report["outputs"]] == [["N", 2, 34, 60], ["N", 8, 34, 60]]
    assert report["uff_translation"] == "ok"


def test_inspect_plain_uff_needs_no_key(models_dir):
    result = run_cli("inspect", models_dir / "ppo_hil_fc.uff")
    assert result.returncode == 0, result.stderr
    assert "input_state_placeholder  [-1, 67]" in result.stdout
    assert "not recognised" in result.stdout


def test_inspect_reports_plugins_missing_in_trt11(tmp_path):
    path = tmp_path / "ssd.onnx"
    plugin_graph(path)
    result = run_cli("inspect", path, "--json")
    report = json.loads(result.stdout)
    ops = {p["op"]: p for p in report["plugins"]}
    assert set(ops) == {"BatchTilePlugin_TRT", "NMSDynamic_TRT"}
    assert ops["NMSDynamic_TRT"]["trt"] == {"8.6": "present", "10": "deprecated", "11": "removed"}
    text = run_cli("inspect", path).stdout
    assert "missing in TensorRT 11: BatchTilePlugin_TRT, NMSDynamic_TRT" in text
    assert "same graph signature as: ssd, dssd, retinanet" in text


def test_inspect_encrypted_without_key_fails_cleanly(models_dir):
    result = run_cli("inspect", models_dir / "facemask_detectnet_v2_resnet18.etlt")
    assert_clean_error(result, "--key")


def test_inspect_missing_file(tmp_path):
    assert_clean_error(run_cli("inspect", tmp_path / "nope.onnx"), "nope.onnx", "cannot read")
