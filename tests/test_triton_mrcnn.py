"""MaskRCNN on a CPU Triton host: the compiled plugin-reference pipeline (plugins/pipeline*.py)
against the per-call oracle ``run_with_plugin_references``, its saved folder running where taostream
is not importable, and `taostream serve` on the MaskRCNN sample bundle returning the detections and
masks that `taostream infer`'s CPU runner computes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from taostream.converter.errors import TaostreamError
from taostream.plugins.pipeline import PluginPipeline, StandardSegment
from taostream.plugins.pipeline_compile import (
    compile_plugin_pipeline, example_feeds, save_pipeline, type_from_run)
from taostream.plugins.reference import reference_for, run_with_plugin_references
from taostream.converter.samples.write import make_sample_model
from test_infer_support import make_bundle, noise_images, start_serve, stop_serve

SERVED_THRESHOLD = 0.5  # the sample's spec says 0.8: too few detections of random weights to compare


@pytest.fixture(scope="module")
def sample_model() -> onnx.ModelProto:
    return make_sample_model("mask_rcnn")


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Two network inputs: the sample's random weights give detections on normal noise."""
    return np.random.default_rng(3).standard_normal((2, 3, 832, 1344)).astype(np.float32)


@pytest.fixture(scope="module")
def pipeline_outputs(sample_model, images) -> dict[str, np.ndarray]:
    return compile_plugin_pipeline(sample_model).run({"Input": images})


# ----------------------------------------------------------------------------- the pipeline

def test_the_pipeline_equals_the_per_call_runner_on_the_sample(sample_model, images, pipeline_outputs):
    expected = run_with_plugin_references(sample_model, {"Input": images})
    assert set(pipeline_outputs) == set(expected) == {"generate_detections", "mask_fcn_logits/BiasAdd"}
    for name, array in expected.items():
        np.testing.assert_array_equal(pipeline_outputs[name], array, err_msg=name)
    rows = pipeline_outputs["generate_detections"]
    assert rows.shape == (2, 100, 6) and (rows[:, :, 4] >= 1).sum(axis=1).min() > 10
    assert not np.array_equal(rows[0], rows[1]), "each image of the batch is its own"


def test_the_split_is_made_once(sample_model):
    pipeline = compile_plugin_pipeline(sample_model)
    segments = [s for s in pipeline.steps if isinstance(s, StandardSegment)]
    ops = [s.op for s in pipeline.steps if not isinstance(s, StandardSegment)]
    assert ops == ["ResizeNearest_TRT"] * 3 + ["MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT",
                                               "GenerateDetection_TRT", "MultilevelCropAndResize_TRT"]
    assert all(s.model is not None for s in segments), "every segment is typed from the graph"
    sessions = [id(s.session_for([])) for s in segments]
    pipeline.run({"Input": np.zeros((1, 3, 832, 1344), np.float32)})
    assert [id(s.session_for([])) for s in segments] == sessions


def test_saved_pipeline_loads_and_gives_the_same_outputs(sample_model, images, pipeline_outputs, tmp_path):
    files = save_pipeline(compile_plugin_pipeline(sample_model), tmp_path / "pipeline")
    assert {f.name for f in files} == {"plan.json", *(f"segment_{i}.onnx" for i in range(7))}
    loaded = PluginPipeline.load(tmp_path / "pipeline", reference_for)
    outputs = loaded.run({"Input": images[:1]})
    for name, array in outputs.items():
        np.testing.assert_array_equal(array, pipeline_outputs[name][:1], err_msg=name)


def _untyped_plugin_graph() -> onnx.ModelProto:
    """x -> ResizeNearest_TRT (output type not declared) -> Relu -> y, plus a constant output."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 4, 4])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [2])
    nodes = [helper.make_node("ResizeNearest_TRT", ["x"], ["up"], scale=2.0), helper.make_node("Neg", ["up"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y, k], initializer=[helper.make_tensor("k", TensorProto.INT64, [2], [7, 9])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def test_an_untyped_plugin_output_is_typed_by_a_trial_run_before_saving(tmp_path):
    model = _untyped_plugin_graph()
    pipeline = compile_plugin_pipeline(model)
    x = np.array([[[[1, -2], [3, 4]]]], np.float32)
    out = pipeline.run({"x": x})
    np.testing.assert_array_equal(out["y"][0, 0], -np.array([[1, 1, -2, -2], [1, 1, -2, -2], [3, 3, 4, 4], [3, 3, 4, 4]]))
    np.testing.assert_array_equal(out["k"], [7, 9])
    twice = pipeline.run({"x": np.concatenate([x, 2 * x])})  # another input shape: a session of its own
    np.testing.assert_array_equal(twice["y"][1], 2 * out["y"][0])
    with pytest.raises(TaostreamError, match=r"model.onnx: the graph declares no type for up \(plugin outputs\)"):
        save_pipeline(pipeline, tmp_path / "pipeline", source="model.onnx")
    assert not (tmp_path / "pipeline").exists()
    with pytest.raises(ValueError, match="no value fed for the graph input 'x'"):
        pipeline.run({})
    fresh = compile_plugin_pipeline(model)
    type_from_run(fresh, example_feeds(fresh))  # a batch of one zero image
    save_pipeline(fresh, tmp_path / "pipeline")
    loaded = PluginPipeline.load(tmp_path / "pipeline", reference_for)
    batch = np.random.default_rng(1).standard_normal((3, 1, 2, 2)).astype(np.float32)  # any batch: dims stay dynamic
    expected = run_with_plugin_references(model, {"x": batch})
    for name, array in loaded.run({"x": batch}).items():
        np.testing.assert_array_equal(array, expected[name], err_msg=name)


STANDALONE_SCRIPT = textwrap.dedent("""
    import importlib.util, json, sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]  # the model's version folder, then numpy's site-packages
    assert importlib.util.find_spec("taostream") is None, "taostream must not be importable here"
    import numpy as np
    import model
    pipeline = model.load_plugin_pipeline(sys.argv[1] + "/pipeline")
    outputs = pipeline.run({"Input": np.load(sys.argv[3])})
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("taostream", "onnx", "onnx_graphsurgeon"))
    assert not leaked, leaked
    np.savez(sys.argv[4], **{name.replace("/", "|"): array for name, array in outputs.items()})
    ran = {op: pipeline.reference_for(op).__module__ for op in pipeline.plugin_ops()}
    print("RAN", json.dumps(ran))
""")


def _run_standalone(version: Path, images: np.ndarray, tmp_path: Path) -> tuple[dict, dict[str, str]]:
    """The bundled CPU model's pipeline run by a Python that cannot import taostream: its outputs, and
    the module that ran each plugin op."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "standalone.py"
    script.write_text(STANDALONE_SCRIPT)
    np.save(tmp_path / "input.npy", images)
    site_packages = Path(np.__file__).parent.parent
    # -S: no site module, so the editable install's path hook never loads; cwd outside the checkout
    run = subprocess.run([sys.executable, "-S", str(script), str(version), str(site_packages),
                          str(tmp_path / "input.npy"), str(tmp_path / "out.npz")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    ran = json.loads(run.stdout.split("RAN ", 1)[1])  # op -> the module that ran it, as the script printed
    with np.load(tmp_path / "out.npz") as saved:
        return {name: saved[name] for name in saved.files}, ran


def test_the_bundled_pipeline_runs_without_taostream(mask_bundle, images, pipeline_outputs, tmp_path):
    version = mask_bundle / "triton" / "mask_rcnn_cpu" / "1"
    assert not (version / "model.onnx").exists()
    saved, _ = _run_standalone(version, images[1:], tmp_path)
    for name, array in pipeline_outputs.items():
        np.testing.assert_array_equal(saved[name.replace("/", "|")], array[1:], err_msg=name)


def test_the_cpu_model_runs_the_plugins_by_the_host_library_it_carries(mask_bundle, images, pipeline_outputs,
                                                                        tmp_path):
    """The bundle copies the plugin host library beside the CPU model (x86 bundle, x86 host): the model
    runs MaskRCNN's plugins in C++ with the same outputs, bit for bit, as the numpy references; a
    copy without the library runs the references."""
    from taostream.plugins.host import HOST_IMPLEMENTATIONS, LIBRARY_NAME, find_plugin_host_library, load_plugin_host

    if find_plugin_host_library() is None or load_plugin_host() is None:
        pytest.skip("the plugin host library is not built in this checkout (cmake --build build)")
    version = mask_bundle / "triton" / "mask_rcnn_cpu" / "1"
    assert (version / LIBRARY_NAME).is_file() and (version / "taostream_plugin_host_calls.py").is_file()
    with_library, ran = _run_standalone(version, images[:1], tmp_path / "host")
    assert {"MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT", "GenerateDetection_TRT"} <= set(ran)
    assert ran == {op: "taostream_plugin_host_calls" if op in HOST_IMPLEMENTATIONS else ran[op] for op in ran}
    assert {ran[op] for op in ran if op not in HOST_IMPLEMENTATIONS} <= {"taostream_pluginref",
                                                                           "taostream_pluginref_mrcnn"}
    without = tmp_path / "numpy" / "1"
    shutil.copytree(version, without, ignore=shutil.ignore_patterns(LIBRARY_NAME))
    references, ran = _run_standalone(without, images[:1], tmp_path / "numpy")
    assert set(ran.values()) <= {"taostream_pluginref", "taostream_pluginref_mrcnn"}
    for name, array in pipeline_outputs.items():
        key = name.replace("/", "|")
        np.testing.assert_array_equal(with_library[key], array[:1], err_msg=name)
        np.testing.assert_array_equal(references[key], array[:1], err_msg=name)


# ----------------------------------------------------------------------------- served by Triton

@pytest.fixture(scope="module")
def mask_bundle(tmp_path_factory) -> Path:
    bundle = make_bundle(tmp_path_factory.mktemp("triton_mrcnn"), "mask_rcnn")
    config = bundle / "triton" / "mask_rcnn_cpu" / "config.pbtxt"
    text, count = re.subn(r'(key: "confidence_threshold"\s*value \{\s*string_value: )"[^"]*"',
                          rf'\1"{SERVED_THRESHOLD}"', config.read_text())
    assert count == 1
    config.write_text(text)
    return bundle


@pytest.fixture(scope="module")
def served(mask_bundle):
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    from taostream.inference.backends.triton_server import find_tritonserver, free_port

    try:
        find_tritonserver()
    except TaostreamError as exc:
        pytest.skip(f"no tritonserver here: {exc}")
    http_port, grpc_port = free_port(), free_port()
    process, lines = start_serve(mask_bundle, http_port, grpc_port)
    yield f"127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", lines
    stop_serve(process, lines)


@pytest.fixture(scope="module")
def cpu_detections(mask_bundle):
    """`taostream infer --backend ort`'s path: the bundle's plugin graph in PluginReferenceRunner,
    decoded by the parsers' reference (network pixels, masks of the detected class)."""
    from taostream.inference.bundle_info import load_bundle
    from taostream.inference.detector import Detector, sort_and_cap
    from taostream.inference.backends.runners import PluginReferenceRunner, cpu_runner

    bundle = load_bundle(mask_bundle)
    assert bundle.threshold == SERVED_THRESHOLD
    frames = noise_images(2, seed=5)
    with cpu_runner(bundle.onnx_for_cpu()) as runner:
        assert isinstance(runner, PluginReferenceRunner)
        detector = Detector(bundle, runner)
        batch, _ = detector.preprocess(frames)
        detections = [sort_and_cap(detector.decode(runner.infer({"Input": batch[i : i + 1]}), 1)[0], 100)
                      for i in range(len(batch))]
    return bundle, batch, detections


def _assert_same_detections(got: list, expected: list) -> None:
    assert [d.class_id for d in got] == [d.class_id for d in expected]
    for actual, wanted in zip(got, expected):
        np.testing.assert_allclose([actual.left, actual.top, actual.right, actual.bottom, actual.confidence],
                                   [wanted.left, wanted.top, wanted.right, wanted.bottom, wanted.confidence], atol=1e-4)
        assert actual.mask.shape == wanted.mask.shape == (28, 28)
        np.testing.assert_allclose(actual.mask, wanted.mask, atol=1e-4)


def test_serve_loads_the_mask_rcnn_cpu_model(served):
    printed = "".join(served[2])
    assert "serving mask_rcnn_cpu" in printed and "not serving mask_rcnn_cpu" not in printed


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_served_detections_and_masks_equal_the_cpu_runner(served, cpu_detections, protocol):
    from taostream.inference.backends.triton_runner import TritonRunner, server_detections

    bundle, batch, expected = cpu_detections
    assert sum(len(d) for d in expected) >= 5, "the synthetic weights give detections above the threshold"
    url = served[0] if protocol == "http" else served[1]
    images = range(len(batch)) if protocol == "http" else range(1)
    with TritonRunner(url, bundle.cpu_model_name, protocol=protocol) as runner:
        assert {o["name"]: o["shape"] for o in runner.outputs}["masks"] == [-1, 100, 28, 28]
        for i in images:
            got = server_detections(runner.infer({"Input": batch[i : i + 1]}), 0)
            _assert_same_detections(got, expected[i])
            assert all(np.abs(d.mask).max() > 0 for d in got)


def test_a_reference_the_server_does_not_carry_is_named(tmp_path):
    from taostream.converter.errors import UnsupportedOpError
    from taostream.plugins.pipeline_compile import serving_modules

    def doubled(attrs, inputs):
        return [inputs[0] * 2]

    model = _untyped_plugin_graph()
    model.graph.node[0].op_type = "Doubler_TRT"
    pipeline = compile_plugin_pipeline(model, reference_for=lambda op: doubled if op == "Doubler_TRT" else None)
    np.testing.assert_array_equal(pipeline.run({"x": np.ones((1, 1, 2, 2), np.float32)})["y"], -2 * np.ones((1, 1, 2, 2)))
    with pytest.raises(UnsupportedOpError, match=r"plugin Doubler_TRT: its numpy reference lives in test_triton_mrcnn"):
        serving_modules(pipeline)


def test_a_graph_without_plugin_output_types_still_gets_a_cpu_triton_model(tmp_path, images, pipeline_outputs):
    """UFF translations declare no value_info for plugin outputs: the bundle types them by a trial run."""
    from taostream.converter.samples.write import write_sample
    from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle

    sample = write_sample("mask_rcnn", tmp_path / "sample")
    model = make_sample_model("mask_rcnn")
    del model.graph.value_info[:]
    onnx.save(model, tmp_path / "peoplesegnet.onnx")
    assert not compile_plugin_pipeline(model).steps[2].model, "the segment after the first plugin is untyped"
    result = create_bundle(BundleRequest(model=tmp_path / "peoplesegnet.onnx", network="mask_rcnn",
                                         output=tmp_path / "bundle", spec=sample.spec, precision="fp32"))
    assert not [w for w in result.warnings if "CPU Triton model" in w]
    loaded = PluginPipeline.load(tmp_path / "bundle" / "triton" / "peoplesegnet_cpu" / "1" / "pipeline", reference_for)
    for name, array in loaded.run({"Input": images[:1]}).items():
        np.testing.assert_array_equal(array, pipeline_outputs[name][:1], err_msg=name)


def test_infer_and_verify_through_the_server_keep_the_masks(served, mask_bundle, tmp_path):
    """`infer --backend triton` writes the served masks, and `verify` finds the served model equal to
    the CPU reference, masks included (exact tolerance: the same graph, served)."""
    import json

    from cli_support import run_cli
    from test_infer_support import write_images

    inputs = write_images(tmp_path / "images", noise_images(1, seed=5))
    out = tmp_path / "out"
    result = run_cli("infer", mask_bundle, *inputs, "-o", out, "--backend", "triton", "--url", served[0], "--no-progress")
    assert result.returncode == 0, result.stderr
    detections = json.loads((out / "results.json").read_text())["images"][0]["detections"]
    assert detections and all(d.get("mask_shape") == [28, 28] for d in detections)
    report_path = tmp_path / "verify.json"
    result = run_cli("verify", mask_bundle, *inputs, "--backend", "triton", "--url", served[0], "--no-progress",
                     "--json", report_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["tolerance"]["name"] == "exact" and report["totals"]["matched"] == len(detections)
