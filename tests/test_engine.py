"""Engine building: profiles, sizes, metadata and the reuse check, calibration batching, progress,
the TensorRT 11 FP16 route (mixed-precision ONNX run in ONNX Runtime), and the real build where a
GPU with TensorRT exists (skipped with the reason otherwise)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.engine.build import (
    BuildSettings,
    OptimizationProfile,
    ProgressState,
    batch_profile,
    calibration_batches,
    create_config_arguments,
    engine_metadata,
    engine_reusable,
    format_progress,
    list_calibration_images,
    metadata_path,
    parse_profile,
    parse_shape,
    parse_workspace,
    plugin_loading_method,
    read_metadata,
    write_engine,
)
from taostream.converter.errors import TaostreamError
from taostream.converter.engine.adapt import BuildRequest, plan_build


def gpu_with_tensorrt() -> str | None:
    """None when a real build can run here, else the reason it cannot."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT (the `gpu` extra) is not installed"
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError:
            return "cuda-python is not installed"
    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0 or count < 1:
        return f"no CUDA device is visible ({err})"
    return None


NO_GPU = gpu_with_tensorrt()
needs_gpu = pytest.mark.skipif(NO_GPU is not None, reason=f"real TensorRT build skipped: {NO_GPU}")


def conv_sigmoid_topk_model() -> onnx.ModelProto:
    """Conv -> Relu -> Conv -> Sigmoid, plus a TopK branch standing in for post-processing."""
    rng = np.random.RandomState(1)
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 3, 16, 16])
    cov = helper.make_tensor_value_info("cov", TensorProto.FLOAT, ["N", 4, 4, 4])
    top = helper.make_tensor_value_info("top", TensorProto.FLOAT, ["N", 4, 4, 2])
    inits = [
        numpy_helper.from_array((rng.randn(8, 3, 3, 3) * 0.2).astype(np.float32), "w1"),
        numpy_helper.from_array((rng.randn(4, 8, 4, 4) * 0.1).astype(np.float32), "w2"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "k"),
    ]
    nodes = [
        helper.make_node("Conv", ["input_1", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[4, 4]),
        helper.make_node("Sigmoid", ["c2"], ["cov"]),
        helper.make_node("TopK", ["c2", "k"], ["top", "top_idx"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "mixed", [x], [cov, top], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


# ---- shapes and sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [("1024", 1024), ("1<<30", 1 << 30), ("1 << 28", 1 << 28), ("1G", 1 << 30), ("512MiB", 512 << 20),
     ("2gb", 2 << 30), ("64k", 64 << 10), (100000000, 100000000)],
)
def test_parse_workspace(text, expected):
    assert parse_workspace(text) == expected


@pytest.mark.parametrize("text", ["", "-5", "1<<", "a lot", "0", "1.5G"])
def test_parse_workspace_rejects(text):
    with pytest.raises(TaostreamError, match="workspace"):
        parse_workspace(text)


def test_parse_profile_and_shape():
    profile = parse_profile("input_1,1x3x544x960,4x3x544x960,16x3x544x960")
    assert profile == OptimizationProfile("input_1", (1, 3, 544, 960), (4, 3, 544, 960), (16, 3, 544, 960))
    assert str(profile) == "input_1,1x3x544x960,4x3x544x960,16x3x544x960"
    assert parse_shape("8X3x384x1248") == (8, 3, 384, 1248)
    with pytest.raises(TaostreamError, match="not a shape"):
        parse_shape("8x3xHx1248")
    with pytest.raises(TaostreamError, match="same rank"):
        parse_profile("x,1x3,1x3x4,1x3x4")
    with pytest.raises(TaostreamError, match="positive"):
        parse_profile("x,0x3,1x3,1x3")
    with pytest.raises(TaostreamError, match="input name is empty"):
        parse_profile(",1x3,1x3,1x3")


def test_batch_profile():
    assert batch_profile("Input", (3, 384, 1248), 16) == OptimizationProfile(
        "Input", (1, 3, 384, 1248), (16, 3, 384, 1248), (16, 3, 384, 1248))
    assert batch_profile("Input", (3, 8, 8), 8, min_batch=2, opt_batch=4).opt == (4, 3, 8, 8)
    with pytest.raises(TaostreamError):
        batch_profile("Input", (3, 8, 8), 4, opt_batch=8)


# ---- metadata and reuse ---------------------------------------------------------------------------


ENV = {"trt_version": "10.3.0.26", "gpu_name": "Orin", "compute_capability": "8.7"}


def built_meta(settings: BuildSettings | None = None) -> dict:
    settings = settings or BuildSettings(model="m.onnx", precision="fp16", max_batch=4)
    plan = plan_build(BuildRequest(trt_version="10.3", precision="fp16", platform="jetson"))
    return engine_metadata(plan, settings, ENV, model_sha256="ab" * 32)


def current(**changes) -> dict:
    env = dict(ENV, model_sha256="ab" * 32, precision="fp16",
               build=BuildSettings(model="m.onnx", precision="fp16", max_batch=4).fingerprint())
    env.update(changes)
    return env


def test_metadata_records_what_the_engine_depends_on():
    meta = built_meta()
    assert meta["trt_version"] == "10.3.0.26"
    assert meta["gpu_name"] == "Orin" and meta["compute_capability"] == "8.7"
    assert meta["precision"] == "fp16" and meta["platform"] == "jetson"
    assert meta["model_sha256"] == "ab" * 32
    assert meta["build"]["max_batch"] == 4
    json.dumps(meta)  # plain JSON


def test_same_everything_is_reusable():
    ok, reason = engine_reusable(built_meta(), current())
    assert ok, reason
    assert "TensorRT 10.3.0.26" in reason


@pytest.mark.parametrize(
    "change, words",
    [
        ({"trt_version": "10.3.0.30"}, "TensorRT version differs"),
        ({"compute_capability": "7.2"}, "compute capability differs"),
        ({"gpu_name": "Xavier"}, "GPU differs"),
        ({"model_sha256": "cd" * 32}, "model (sha256) differs"),
        ({"precision": "int8"}, "precision differs"),
        ({"calibration_sha256": "ef" * 32}, "calibration cache (sha256) differs"),
        ({"build": BuildSettings(model="m.onnx", precision="fp16", max_batch=8).fingerprint()}, "max_batch 4 -> 8"),
        ({"build": BuildSettings(model="m.onnx", precision="fp16", max_batch=4, dla_core=0).fingerprint()}, "dla_core"),
    ],
)
def test_any_difference_means_rebuild(change, words):
    ok, reason = engine_reusable(built_meta(), current(**change))
    assert not ok
    assert words in reason


@pytest.mark.parametrize("meta", [None, {}, {"format": 99}, "garbage"])
def test_missing_or_foreign_metadata_means_rebuild(meta):
    ok, reason = engine_reusable(meta, current())
    assert not ok and "metadata" in reason


def test_write_engine_puts_metadata_beside_it(tmp_path):
    engine = tmp_path / "out" / "model_b4_gpu0_fp16.engine"
    write_engine(engine, b"\x00plan", built_meta())
    assert engine.read_bytes() == b"\x00plan"
    assert metadata_path(engine) == tmp_path / "out" / "model_b4_gpu0_fp16.engine.json"
    assert read_metadata(engine)["precision"] == "fp16"
    assert sorted(p.name for p in engine.parent.iterdir()) == [engine.name, engine.name + ".json"]


def test_settings_never_hold_the_key():
    assert not any("key" in name.lower() and "plugin" not in name for name in BuildSettings.__dataclass_fields__)


# ---- calibration data -----------------------------------------------------------------------------


def test_calibration_images_and_batches(tmp_path):
    import cv2

    for i in range(7):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((8, 8, 3), i * 30, dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    images = list_calibration_images(tmp_path)
    assert [p.name for p in images] == [f"img{i}.png" for i in range(7)]
    batches = calibration_batches(images, 3)
    assert [len(b) for b in batches] == [3, 3]  # the incomplete last batch is dropped
    assert len(calibration_batches(images, 2, max_batches=2)) == 2
    with pytest.raises(TaostreamError, match="fewer than one batch"):
        calibration_batches(images, 8)
    with pytest.raises(TaostreamError, match="no .jpg"):
        list_calibration_images(_empty_dir(tmp_path))
    with pytest.raises(TaostreamError, match="does not exist"):
        list_calibration_images(tmp_path / "missing")


def _empty_dir(base: Path) -> Path:
    path = base / "empty"
    path.mkdir()
    return path


# ---- progress and plugins -------------------------------------------------------------------------


def test_progress_display():
    stream = io.StringIO()
    state = ProgressState(stream)
    state.start("Building engine", 3)
    state.start("Tactic selection", 40)
    state.step("Tactic selection", 11)
    assert format_progress(state.phases, state.order) == "Building engine 0/3 > Tactic selection 12/40"
    state.finish("Tactic selection")
    state.step("Building engine", 0)
    assert format_progress(state.phases, state.order) == "Building engine 1/3"
    assert "building: Building engine 0/3 > Tactic selection 0/40" in stream.getvalue()
    assert state.step("Building engine", 1) is True  # never asks TensorRT to cancel


def test_plugin_loading_method():
    assert plugin_loading_method({"getCreators"}) == "registry"
    assert plugin_loading_method({"getPluginCreators"}) == "registry"
    assert plugin_loading_method(set()) == "dlopen"


@pytest.mark.parametrize("version, precision, extra", [
    ("8.6.1", "int8", {"calibration_cache": True, "strict": True}),
    ("10.3.0", "fp16", {"platform": "jetson", "dla_core": 0}),
    ("11.4.0", "int8", {"calibration_cache": True}),
])
def test_create_config_arguments_are_polygraphy_s(tmp_path, version, precision, extra):
    """Every keyword the builder passes exists in the installed Polygraphy's CreateConfig."""
    import inspect

    pytest.importorskip("polygraphy", reason="Polygraphy (dev extra) is not installed")
    from polygraphy.backend.trt import CreateConfig

    accepted = set()
    for cls in CreateConfig.__mro__:
        if "__init__" in vars(cls):
            accepted |= {name for name, p in inspect.signature(cls.__init__).parameters.items()
                         if p.kind is p.POSITIONAL_OR_KEYWORD and name != "self"}
    plan = plan_build(BuildRequest(trt_version=version, precision=precision, **extra))
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"x")
    arguments = create_config_arguments(plan, BuildSettings(model="m.onnx", timing_cache=str(cache), workspace=1 << 30))
    assert set(arguments) <= accepted, set(arguments) - accepted
    assert arguments["load_timing_cache"] == str(cache)
    assert arguments["memory_pool_limits"] == {"WORKSPACE": 1 << 30}
    assert arguments["int8"] is (version != "11.4.0" and precision == "int8")
    assert arguments["fp16"] is (precision == "fp16")
    assert arguments["use_dla"] is arguments["allow_gpu_fallback"] is ("dla_core" in extra)
    assert arguments["precision_constraints"] == ("obey" if extra.get("strict") else None)


# ---- FP16 on TensorRT 11: mixed-precision ONNX ----------------------------------------------------


def test_mixed_precision_keeps_io_and_post_processing_fp32():
    pytest.importorskip("onnxconverter_common", reason="onnxconverter-common (gpu extra) is not installed")
    import onnxruntime as ort

    from taostream.converter.engine.prep import prepare_model

    model = conv_sigmoid_topk_model()
    plan = plan_build(BuildRequest(trt_version="11.0", precision="fp16"))
    mixed = prepare_model(model, plan, BuildSettings(model="m.onnx", precision="fp16"), out=io.StringIO())
    onnx.checker.check_model(mixed)
    io_types = {v.name: v.type.tensor_type.elem_type for v in (*mixed.graph.input, *mixed.graph.output)}
    assert set(io_types.values()) == {TensorProto.FLOAT}
    weights = {i.name: i.data_type for i in mixed.graph.initializer}
    assert weights["w1"] == TensorProto.FLOAT16 and weights["w2"] == TensorProto.FLOAT16
    # TopK is blocked: its data input must be FP32, i.e. produced by a Cast back to float.
    producers = {out: node for node in mixed.graph.node for out in node.output}
    topk = next(n for n in mixed.graph.node if n.op_type == "TopK")
    feeding = producers[topk.input[0]]
    assert feeding.op_type == "Cast" and helper.get_attribute_value(feeding.attribute[0]) == TensorProto.FLOAT
    x = np.random.RandomState(2).rand(2, 3, 16, 16).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input_1": x})
    got = ort.InferenceSession(mixed.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input_1": x})
    for a, b in zip(ref, got):
        assert b.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=2e-2, rtol=2e-2)


def test_prepare_model_leaves_fp32_plans_alone():
    from taostream.converter.engine.prep import prepare_model

    model = conv_sigmoid_topk_model()
    plan = plan_build(BuildRequest(trt_version="10.3", precision="fp16"))  # FP16 by builder flag
    assert prepare_model(model, plan, BuildSettings(model="m.onnx"), out=io.StringIO()) is model


# ---- the real build (GPU + TensorRT) --------------------------------------------------------------


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_build_writes_engine_metadata_and_reuses_it(tmp_path, precision, capsys):
    import tensorrt as trt

    from taostream.converter.cli.tao_converter import main

    model = tmp_path / "m.onnx"
    onnx.save(conv_sigmoid_topk_model(), str(model))
    engine = tmp_path / f"m_{precision}.engine"
    argv = ["-t", precision, "-m", "4", "-e", str(engine), "--timing-cache", str(tmp_path / "timing.cache"), str(model)]
    assert main(argv) == 0, capsys.readouterr().err
    meta = read_metadata(engine)
    assert meta["trt_version"] == trt.__version__ and meta["precision"] == precision
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    deserialized = runtime.deserialize_cuda_engine(engine.read_bytes())
    assert deserialized is not None
    assert main(argv) == 0
    assert "reusing" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "timing.cache")


@needs_gpu
@pytest.mark.gpu
def test_real_int8_build_from_a_cache_where_implicit_int8_exists(tmp_path, capsys):
    import tensorrt as trt

    from taostream.converter.cli.tao_converter import main

    if int(trt.__version__.split(".")[0]) >= 11:
        pytest.skip("TensorRT 11 has no implicit INT8; the Q/DQ route is covered by converter.qdq's tests")
    model = tmp_path / "m.onnx"
    onnx.save(conv_sigmoid_topk_model(), str(model))
    cache = tmp_path / "cal.bin"
    names = ["input_1", "c1", "r1", "c2", "cov"]
    cache.write_text("TRT-8601-EntropyCalibration2\n" + "".join(f"{n}: 3c010204\n" for n in names))
    assert main(["-t", "int8", "-c", str(cache), "-m", "2", "-e", str(tmp_path / "m.engine"), str(model)]) == 0, capsys.readouterr().err


def test_progress_monitor_forwards_tensorrt_callbacks():
    """The IProgressMonitor subclass only forwards to ProgressState; TensorRT's base class is stood in
    for by a plain class (the real one is exercised by the GPU build tests)."""
    import types

    from taostream.converter.engine.build import make_progress_monitor

    class BaseMonitor:
        def __init__(self) -> None:
            self.initialised = True

    state = ProgressState(io.StringIO())
    monitor = make_progress_monitor(types.SimpleNamespace(IProgressMonitor=BaseMonitor), state)
    assert monitor.initialised
    monitor.phase_start("Building engine", None, 2)
    assert monitor.step_complete("Building engine", 0) is True
    assert state.phases == {"Building engine": (1, 2)}
    monitor.phase_finish("Building engine")
    assert state.phases == {}


def test_calibration_batches_use_the_registry_preprocessing(tmp_path):
    """Images -> float32 NCHW batches as DetectNet_v2 expects them (RGB, x/255, plain resize)."""
    import cv2

    pytest.importorskip("taostream.converter.model.preprocess", reason="converter.preprocess is not in this build")
    from taostream.converter.engine.build import preprocess_batches
    from taostream.converter.registry import get_network

    for i in range(4):
        image = np.zeros((20, 30, 3), np.uint8)
        image[:, :, 2] = 255  # OpenCV writes BGR: a pure red picture
        cv2.imwrite(str(tmp_path / f"red{i}.png"), image)
    batches = calibration_batches(list_calibration_images(tmp_path), 2)
    arrays = list(preprocess_batches(batches, get_network("detectnet_v2"), (3, 16, 24)))
    assert len(arrays) == 2
    for array in arrays:
        assert array.shape == (2, 3, 16, 24) and array.dtype == np.float32
        np.testing.assert_allclose(array[:, 0], 1.0, atol=1e-6)  # R plane first, scaled to 1
        np.testing.assert_allclose(array[:, 1:], 0.0, atol=1e-6)


def test_fp16_for_tensorrt_11_is_prepared_before_the_build_step(tmp_path, capsys):
    pytest.importorskip("onnxconverter_common", reason="onnxconverter-common (gpu extra) is not installed")
    from taostream.converter.engine.build import installed_trt_version
    from taostream.converter.cli.tao_converter import main

    if installed_trt_version():
        pytest.skip("TensorRT is installed here; this test shows the pipeline stopping at the build")
    model = tmp_path / "m.onnx"
    onnx.save(conv_sigmoid_topk_model(), str(model))
    assert main(["-t", "fp16", "-m", "2", "-e", str(tmp_path / "m.engine"), "--trt-version", "11", str(model)]) == 2
    captured = capsys.readouterr()
    assert "converted the ONNX to mixed precision" in captured.out
    assert "taostream[gpu]" in captured.err
