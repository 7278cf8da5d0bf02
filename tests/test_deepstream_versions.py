"""DeepStream release -> TensorRT per platform (deepstream_configs/versions.py) decides what a bundle
loads, and `taostream check` flags ONNX ops the target's TensorRT parser cannot import
(converter/engine/onnx_ops.py). DeepStream 6.0 x86 runs TensorRT 8.0.1, whose parser has no GatherND /
ScatterND / Mod and only an EXPERIMENTAL padded NonMaxSuppression: the modernized detector graph must
not reach it."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from taostream.cli import main
from taostream.converter.errors import TaostreamError
from taostream.converter.model.loader import load_onnx_model, open_model
from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.converter.engine.onnx_ops import unparsable_ops
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.versions import (
    DEEPSTREAM_VERSIONS, DEFAULT_DEEPSTREAM, deepstream_release, implicit_int8_route, tensorrt_for)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {net: write_sample(net, root / net) for net in ("ssd", "classification")}


def _bundle(info, output, **overrides):
    values = dict(model=info.model, network=info.network, output=output, spec=info.spec, key=SAMPLE_KEY,
                  classmap=info.extra.get("classmap.json"))
    values.update(overrides)
    return create_bundle(BundleRequest(**values))


# Release notes (docs/versions.md): DeepStream 6.0 "supports TensorRT 8.0.1"; 6.1 x86 ships 8.2.5.1;
# 6.1.1 "TensorRT 8.4.1.5 for x86 and Jetson"; 6.2 "8.5.2.2 for x86 and Jetson"; 8.0 "10.9.0.34 for
# x86 and 10.13.2.6 for Jetson"; 9.2 "TensorRT 10.16.0.72 for x86 and TensorRT 10.16.1.7 for Jetson".
@pytest.mark.parametrize("version, x86, jetson", [
    ("6.0", "8.0.1", "8.0.1"), ("6.0.1", "8.0.1", "8.0.1"), ("6.1", "8.2.5.1", "8.4.0"),
    ("6.1.1", "8.4.1.5", "8.4.1.5"), ("6.2", "8.5.2.2", "8.5.2.2"), ("8.0", "10.9.0.34", "10.13.2.6"),
    ("9.2", "10.16.0.72", "10.16.1.7"), ("9.2.0", "10.16.0.72", "10.16.1.7")])
def test_release_table_follows_the_release_notes(version, x86, jetson):
    assert (tensorrt_for(version, "x86"), tensorrt_for(version, "jetson")) == (x86, jetson)


def test_unknown_releases_are_refused_with_the_list():
    assert DEEPSTREAM_VERSIONS[0] == "6.0" and "6.1.1" in DEEPSTREAM_VERSIONS
    for bad in ("5.1", "6.5", "10.0", "latest"):
        with pytest.raises(TaostreamError, match="unsupported DeepStream version; use one of 6.0, 6.1, 6.1.1"):
            deepstream_release(bad)
    # implicit INT8 on TensorRT 8.x everywhere, on Jetson's TensorRT 10, never on x86 TensorRT 10
    assert [implicit_int8_route(v, "x86") for v in ("6.0", "7.0", "7.1", "9.0")] == [True, True, False, False]
    assert [implicit_int8_route(v, "jetson") for v in ("6.0", "7.1", "9.0")] == [True, True, True]


def _ops(problems):
    return {p.op for p in problems}


def test_modernized_detector_ops_per_tensorrt_version(samples, tmp_path):
    _bundle(samples["ssd"], tmp_path / "b", deepstream="9.0")
    modern = onnx.load(str(tmp_path / "b" / "model.onnx"))
    plugin = onnx.load(str(tmp_path / "b" / "model_trt10.onnx"))
    assert _ops(unparsable_ops(modern, "8.0.1")) == {"GatherND", "ScatterND", "ScatterElements", "Mod",
                                                      "NonMaxSuppression"}
    assert _ops(unparsable_ops(modern, "8.2.5.1")) == {"Mod", "NonMaxSuppression"}  # NMS: padded before 8.5
    assert _ops(unparsable_ops(modern, "8.4.1.5")) == {"Mod", "NonMaxSuppression"}
    assert unparsable_ops(modern, "8.5.2.2") == [] and unparsable_ops(modern, "11") == []
    assert unparsable_ops(plugin, "8.0.1") == [] and unparsable_ops(plugin, "10.13") == []
    assert _ops(unparsable_ops(plugin, "11")) == {"BatchTilePlugin_TRT", "NMSDynamic_TRT"}


def test_resize_modes_and_zero_points_the_parser_refuses():
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "s")
    zero = numpy_helper.from_array(np.array(3, np.int8), "z")
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["r"], name="up", mode="cubic"),
             helper.make_node("QuantizeLinear", ["r", "s", "z"], ["q"], name="q"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [scales, scale, zero]))
    problems = {p.op: p.reason for p in unparsable_ops(model, "10.3")}
    assert "mode 'cubic'" in problems["Resize"]
    assert "zero point" in problems["QuantizeLinear"] and "zero point" in problems["DequantizeLinear"]


def test_deepstream_6_0_x86_bundle_loads_the_plugin_graph_and_passes_check(samples, tmp_path, capsys):
    bundle = tmp_path / "ds60"
    result = _bundle(samples["ssd"], bundle, deepstream="6.0", precision="int8",
                     calibration_cache=samples["ssd"].calibration)
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    assert (prop.get("onnx-file"), prop.get("int8-calib-file")) == ("../model_trt10.onnx", "../calibration.bin")
    assert prop.get("model-engine-file") == "../model_trt10.onnx_b1_gpu0_int8.engine"
    x86 = next(t for t in result.manifest["targets"] if t["platform"] == "x86")
    assert (x86["tensorrt"], x86["model"], x86["int8"], x86["configs"]) == ("8.0.1", "model_trt10.onnx",
                                                                          "calibration", True)
    assert "TensorRT 11" not in json.dumps(result.manifest["targets"])
    capsys.readouterr()
    assert main(["check", str(bundle)]) == 0, capsys.readouterr().out
    assert "(DeepStream 6.0)" in capsys.readouterr().out


def test_check_flags_the_ops_the_targets_tensorrt_cannot_parse(samples, tmp_path, capsys):
    bundle = tmp_path / "ds90"
    _bundle(samples["ssd"], bundle, deepstream="9.0")
    config = bundle / "deepstream" / "config_infer_primary.txt"
    assert check_configs([config], deepstream="9.0").errors == []
    # the same config (model.onnx, the TensorRT 10/11 graph) checked for DeepStream 6.0 (TensorRT 8.0.1)
    errors = [str(f) for f in check_configs([config], deepstream="6.0").errors if f.key == "onnx-file"]
    assert len(errors) == 1 and "DeepStream 6.0 on x86 runs TensorRT 8.0.1" in errors[0], errors
    assert all(op in errors[0] for op in ("GatherND", "NonMaxSuppression", "ScatterND")), errors
    # a hand-written config outside a bundle, model given with --model: both platforms of 6.1 fail
    loose = tmp_path / "config.txt"
    loose.write_text(config.read_text().replace("../model.onnx", "/nonexistent/model.onnx"))
    capsys.readouterr()
    assert main(["check", str(loose), "--deepstream", "6.1", "--model", str(bundle / "model.onnx")]) == 1
    out = capsys.readouterr().out
    assert "runs TensorRT 8.2.5.1" in out and "runs TensorRT 8.4.0" in out and "Mod (" in out, out


def _with_mod_node(model: onnx.ModelProto) -> onnx.ModelProto:
    """The classification sample with its softmax passed through fmod(x, 2) (a no-op on [0, 1]):
    an op TensorRT's ONNX parser imports only from 8.5."""
    output = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [f"{output}_raw" if o == output else o for o in node.output]
    model.graph.initializer.append(numpy_helper.from_array(np.array(2.0, np.float32), "two"))
    model.graph.node.append(helper.make_node("Mod", [f"{output}_raw", "two"], [output], name="fmod", fmod=1))
    return model


def test_a_model_no_graph_of_the_target_parses_is_refused_with_the_first_release_that_can(samples, tmp_path):
    info = samples["classification"]
    model = tmp_path / "classifier.onnx"
    onnx.save(_with_mod_node(load_onnx_model(open_model(info.model, SAMPLE_KEY))), str(model))
    for version, platform, trt in (("6.0", "x86", "8.0.1"), ("6.1", "jetson", "8.4.0")):
        with pytest.raises(TaostreamError) as error:
            _bundle(info, tmp_path / "b", model=model, key=None, deepstream=version, platform=platform)
        message = str(error.value)
        assert f"DeepStream {version} on {platform} runs TensorRT {trt}" in message and "Mod (1 node" in message
        assert "target DeepStream 6.2 or newer (--deepstream 6.2)" in message
        assert not (tmp_path / "b").exists()
    _bundle(info, tmp_path / "b", model=model, key=None, deepstream="6.2")
    assert read_ini(tmp_path / "b" / "deepstream" / "config_infer_primary.txt").group("property").get(
        "onnx-file") == "../model.onnx"


def test_topk_with_a_run_time_k_needs_tensorrt_8_6():
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 100])
    values = helper.make_tensor_value_info("v", onnx.TensorProto.FLOAT, None)
    nodes = [helper.make_node("Shape", ["x"], ["n"], name="n"),
             helper.make_node("Slice", ["n", "one", "two"], ["k"], name="k"),
             helper.make_node("TopK", ["x", "k"], ["v", "i"], name="top")]
    starts = [numpy_helper.from_array(np.array([1], np.int64), "one"),
              numpy_helper.from_array(np.array([2], np.int64), "two")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [values], starts))
    assert [p.op for p in unparsable_ops(model, "8.5.2.2")] == ["TopK"]
    assert unparsable_ops(model, "8.6.1.6") == []


# --- DeepStream 9.1 and 9.2 (TensorRT 10.16) ----------------------------------------------------------

def test_the_default_target_is_the_newest_release_deepstream_9_2(samples, tmp_path):
    """NVIDIA's current DeepStream is 9.2: a bundle made without --deepstream targets it, and `9` means it."""
    assert DEFAULT_DEEPSTREAM == DEEPSTREAM_VERSIONS[-1] == "9.2"
    assert deepstream_release("9").version == "9.2"
    assert tensorrt_for("9.1", "x86").startswith("10.16.") and tensorrt_for("9.1", "jetson").startswith("10.16")
    result = _bundle(samples["ssd"], tmp_path / "b")
    assert result.manifest["deepstream"] == "9.2"
    targets = {t["platform"]: t["tensorrt"] for t in result.manifest["targets"]}
    assert targets == {"x86": "10.16.0.72", "jetson": "10.16.1.7"}


@pytest.mark.parametrize("version", ["9.1", "9.2"])
@pytest.mark.parametrize("platform", ["x86", "jetson"])
def test_deepstream_9_1_and_9_2_bundles_load_the_tables_graph_and_pass_check(samples, tmp_path, capsys, version,
                                                                              platform):
    """TensorRT 10.16 on both: x86 loads model.onnx with Q/DQ INT8, Jetson the plugin graph with the cache."""
    bundle = tmp_path / f"ds{version}-{platform}"
    assert main(["bundle", str(samples["ssd"].model), "--network", "ssd", "--spec", str(samples["ssd"].spec),
                 "--key", SAMPLE_KEY, "--deepstream", version, "--platform", platform, "--precision", "int8",
                 "--calibration-cache", str(samples["ssd"].calibration), "-o", str(bundle)]) == 0
    prop = read_ini(bundle / "deepstream" / "config_infer_primary.txt").group("property")
    manifest = json.loads((bundle / "manifest.json").read_text())
    target = next(t for t in manifest["targets"] if t["platform"] == platform)
    if platform == "x86":
        # the cache only makes nvinfer set TensorRT's INT8 flag (test_check's ..._calibration_file_...)
        assert (prop.get("onnx-file"), prop.get("int8-calib-file")) == ("../model.onnx", "../calibration.bin")
        assert (target["model"], target["int8"]) == ("model.onnx", "q/dq")
        qdq = {n.op_type for n in onnx.load(str(bundle / "model.onnx")).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= qdq
    else:
        assert (prop.get("onnx-file"), prop.get("int8-calib-file")) == ("../model_trt10.onnx", "../calibration.bin")
        assert (target["model"], target["int8"]) == ("model_trt10.onnx", "calibration")
    assert manifest["deepstream"] == version and target["tensorrt"] == tensorrt_for(version, platform)
    assert target["configs"] is True
    capsys.readouterr()
    assert main(["check", str(bundle)]) == 0, capsys.readouterr().out
    assert f"(DeepStream {version})" in capsys.readouterr().out


def test_check_accepts_a_deepstream_9_2_config(samples, tmp_path, capsys):
    bundle = tmp_path / "ds92"
    _bundle(samples["ssd"], bundle, deepstream="9.2")
    configs = sorted((bundle / "deepstream").glob("*.txt"))
    report = check_configs(configs, deepstream="9.2")
    assert report.errors == [] and report.warnings == [], [str(f) for f in report.findings]
    capsys.readouterr()
    assert main(["check", *map(str, configs), "--deepstream", "9.2"]) == 0, capsys.readouterr().out


def _one_node_model(op: str, inputs: int) -> onnx.ModelProto:
    names = [f"in{i}" for i in range(inputs)]
    graph_inputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names]
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph([helper.make_node(op, names, ["y"], name=op.lower())], "g",
                                               graph_inputs, [y]))


@pytest.mark.parametrize("op, inputs, older, newer", [
    ("DeformConv", 3, "10.0.1", "10.1.0"),  # onnx-tensorrt 10.1-GA matrix, TensorRT OSS 10.1.0 notes
    ("Attention", 3, "10.13", "10.14.1.48"),  # onnx-tensorrt 10.14 GA notes: "Added support for the Attention operator"
    ("RMSNormalization", 2, "10.14.1.48", "10.16.0.72"),  # in the 10.15 matrix, not the 10.1 one
])
def test_ops_the_tensorrt_10_x_parsers_added(op, inputs, older, newer):
    model = _one_node_model(op, inputs)
    assert [p.op for p in unparsable_ops(model, older)] == [op]
    assert unparsable_ops(model, newer) == [] and unparsable_ops(model, "11") == []


@pytest.mark.parametrize("major, shown", [("6", "6.0, 6.1, 6.1.1, 6.2, 6.3, 6.4"), ("7", "7.0, 7.1")])
def test_a_bare_major_whose_releases_take_different_routes_is_refused(fixtures_dir, tmp_path, capsys, major, shown):
    """'--deepstream 7' silently meant 7.1 (TensorRT 10.3: x86 INT8 as a Q/DQ model.onnx), which DeepStream
    7.0's TensorRT 8.6 nvinfer cannot build from its FP16 fallback; '6' meant 6.4, whose parser imports
    the modernized graph 6.0-6.1.1 cannot. Such a major is refused naming its releases; where every release
    of a major decides alike ('8', '9') it still names the newest."""
    output, labels = tmp_path / "b", tmp_path / "labels.txt"
    labels.write_text("lpd\n")
    code = main(["bundle", str(fixtures_dir / "models" / "lpd_usa_detectnet_v2_pruned.etlt"), "--key", "nvidia_tlt",
                 "--network", "detectnet_v2", "--labels", str(labels), "--deepstream", major,
                 "-o", str(output)])
    err = capsys.readouterr().err
    assert code == 2 and not output.exists() and "Traceback" not in err
    assert f"--deepstream {major} is ambiguous: DeepStream {shown} run TensorRT" in err, err
    assert f"give the release, e.g. --deepstream {shown.split(', ')[-1]}" in err
    assert deepstream_release("9").version == "9.2" and deepstream_release("8").version == "8.0"
    assert deepstream_release("7.0").version == "7.0" and deepstream_release("6.0.1").version == "6.0"
