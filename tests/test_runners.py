"""The runner interface: ONNX Runtime for real, TensorRT's pure decisions, Triton client helpers."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.errors import MissingDependencyError, TaostreamError
from taostream.inference.backends.runners import OnnxRuntimeRunner, TensorMetadata
from taostream.inference.backends.trt_runner import (
    BINDINGS_API, NAMED_TENSOR_API, TensorRTRunner, buffer_bytes, concrete_shape, execution_api, select_profile)
from taostream.inference.backends.triton_runner import TritonRunner, split_batches


def affine_model(batch="N") -> onnx.ModelProto:
    """y = 2 * x + 1 over [batch, 3]; z = sum(x, axis 1)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, 1])
    two = numpy_helper.from_array(np.array(2, np.float32), "two")
    one = numpy_helper.from_array(np.array(1, np.float32), "one")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    nodes = [helper.make_node("Mul", ["x", "two"], ["x2"]), helper.make_node("Add", ["x2", "one"], ["y"]),
             helper.make_node("ReduceSum", ["x", "axes"], ["z"], keepdims=1)]
    graph = helper.make_graph(nodes, "affine", [x], [y, z], initializer=[two, one, axes])
    # onnxruntime 1.31 rejects IR version 14, onnx 1.23's default.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def test_onnxruntime_runner_computes_the_graph(tmp_path):
    path = tmp_path / "affine.onnx"
    onnx.save(affine_model(), path)
    x = np.array([[1, 2, 3], [-1, 0, 0.5]], np.float32)
    with OnnxRuntimeRunner(path) as runner:
        assert runner.input_metadata() == {"x": TensorMetadata(np.dtype(np.float32), (-1, 3))}
        out = runner.infer({"x": x})
    np.testing.assert_array_equal(out["y"], [[3, 5, 7], [-1, 1, 2]])
    np.testing.assert_array_equal(out["z"], [[6], [-0.5]])
    assert not runner.is_active


def test_onnxruntime_runner_accepts_a_model_proto_and_casts_the_feed():
    with OnnxRuntimeRunner(affine_model()) as runner:
        out = runner.infer({"x": np.array([[1, 2, 3]], np.float64)})
    assert out["y"].dtype == np.float32
    np.testing.assert_array_equal(out["y"], [[3, 5, 7]])


def test_onnxruntime_runner_threads_sleep_between_parallel_sections():
    # Spinning intra-op threads took ~25% of a facemask DetectNet_v2 call on a shared 2-core host
    # (docs/evaluate.md); the session the runner builds has spinning off, and a thread count still applies.
    with OnnxRuntimeRunner(affine_model(), threads=1) as runner:
        options = runner.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 1
        np.testing.assert_array_equal(runner.infer({"x": np.ones((1, 3), np.float32)})["y"], [[3, 3, 3]])


def test_runner_rejects_wrong_feeds_with_a_clear_error():
    with OnnxRuntimeRunner(affine_model()) as runner:
        with pytest.raises(TaostreamError, match=r"inputs \['image'\] do not match the model's \['x'\]"):
            runner.infer({"image": np.zeros((1, 3), np.float32)})
        with pytest.raises(TaostreamError, match=r"input 'x' has shape \[1, 4\], the model expects \[-1, 3\]"):
            runner.infer({"x": np.zeros((1, 4), np.float32)})


def test_runner_must_be_activated():
    runner = OnnxRuntimeRunner(affine_model())
    with pytest.raises(TaostreamError, match="activate"):
        runner.infer({"x": np.zeros((1, 3), np.float32)})


def test_missing_and_plugin_models_are_clear_errors(tmp_path):
    with pytest.raises(TaostreamError, match="ONNX model not found"):
        OnnxRuntimeRunner(tmp_path / "nope.onnx").activate()
    model = affine_model()
    model.graph.node.append(helper.make_node("BatchedNMS_TRT", ["y"], ["nms"]))
    with pytest.raises(TaostreamError, match="modernize --target ort"):
        OnnxRuntimeRunner(model).activate()


# --- TensorRT: the pure decisions ------------------------------------------------------------------


@pytest.mark.parametrize("version, api", [
    ("8.4.3.1", BINDINGS_API), ("8.5.1", NAMED_TENSOR_API), ("8.6.1.6", NAMED_TENSOR_API),
    ("10.3.0", NAMED_TENSOR_API), ("11.0.0", NAMED_TENSOR_API), ("7.2.3", BINDINGS_API)])
def test_execution_api_by_version(version, api):
    assert execution_api(version) == api


def test_bad_version_string():
    with pytest.raises(TaostreamError, match="MAJOR.MINOR"):
        execution_api("ten")


def test_select_profile_picks_the_first_admitting_profile():
    profiles = [{"input": ((1, 3, 544, 960), (1, 3, 544, 960), (1, 3, 544, 960))},
                {"input": ((1, 3, 544, 960), (4, 3, 544, 960), (8, 3, 544, 960))},
                {"input": ((1, 3, 272, 480), (8, 3, 544, 960), (16, 3, 1088, 1920))}]
    assert select_profile({"input": (1, 3, 544, 960)}, profiles) == 0
    assert select_profile({"input": (6, 3, 544, 960)}, profiles) == 1
    assert select_profile({"input": (12, 3, 544, 960)}, profiles) == 2
    with pytest.raises(TaostreamError, match=r"no optimization profile admits input \[32, 3, 544, 960\].*rebuild"):
        select_profile({"input": (32, 3, 544, 960)}, profiles, "model.plan")


def test_concrete_shape_keeps_static_dims():
    assert concrete_shape((-1, 3, 544, 960), (4, 3, 544, 960), "input_1") == (4, 3, 544, 960)
    with pytest.raises(TaostreamError, match="does not match the engine's"):
        concrete_shape((-1, 3, 544, 960), (4, 3, 960, 544), "input_1")
    with pytest.raises(TaostreamError, match="rank 3 given"):
        concrete_shape((-1, 3, 544, 960), (3, 544, 960), "input_1")


def test_buffer_bytes():
    assert buffer_bytes((2, 3, 4), np.float32) == 96
    assert buffer_bytes((5,), np.int32) == 20
    with pytest.raises(TaostreamError, match="data-dependent"):
        buffer_bytes((-1, 4), np.float32)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_tensorrt_runner_names_the_gpu_extra(tmp_path):
    engine = tmp_path / "model.plan"
    engine.write_bytes(b"not an engine")
    with pytest.raises(MissingDependencyError, match=r"taostream\[gpu\]"):
        TensorRTRunner(engine).activate()


def test_tensorrt_runner_missing_engine(tmp_path):
    with pytest.raises(TaostreamError, match="engine file not found"):
        TensorRTRunner(tmp_path / "model.plan").activate()


def _tensorrt_with_gpu() -> bool:
    if importlib.util.find_spec("tensorrt") is None:
        return False
    try:
        from cuda.bindings import runtime

        error, count = runtime.cudaGetDeviceCount()
        return int(error) == 0 and count > 0
    except Exception:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _tensorrt_with_gpu(), reason="needs TensorRT and an NVIDIA GPU (absent on this host)")
def test_tensorrt_runner_matches_onnxruntime(tmp_path):
    from polygraphy.backend.trt import CreateConfig, Profile, engine_from_network, network_from_onnx_path, save_engine

    onnx_path = tmp_path / "affine.onnx"
    onnx.save(affine_model(), onnx_path)
    profile = Profile().add("x", (1, 3), (2, 3), (4, 3))
    engine = engine_from_network(network_from_onnx_path(str(onnx_path)), config=CreateConfig(profiles=[profile]))
    save_engine(engine, str(tmp_path / "affine.plan"))
    x = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32)
    with TensorRTRunner(tmp_path / "affine.plan") as runner:
        out = runner.infer({"x": x})
    np.testing.assert_allclose(out["y"], 2 * x + 1)
    np.testing.assert_allclose(out["z"], x.sum(axis=1, keepdims=True))


# --- Triton client pieces --------------------------------------------------------------------------


def test_split_batches():
    x = np.arange(10)
    assert [c.tolist() for c in split_batches(x, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [c.tolist() for c in split_batches(x, 0)] == [list(range(10))]
    assert len(split_batches(x, 10)) == 1


def test_triton_runner_unreachable_server_is_a_clear_error():
    pytest.importorskip("tritonclient.http", reason="the `triton` extra is not installed")
    from taostream.inference.backends.triton_server import free_port

    runner = TritonRunner(f"127.0.0.1:{free_port()}", "model", timeout_s=2)
    with pytest.raises(TaostreamError, match="not reachable.*taostream serve"):
        runner.activate()


def test_triton_runner_rejects_unknown_protocol():
    with pytest.raises(TaostreamError, match="use http or grpc"):
        TritonRunner("127.0.0.1:1", "m", protocol="ftp").activate()


class _ServerHoldingRegions:
    """A Triton client whose server reports a region as in use for its first ``busy`` unregister
    calls, as the real server does for a moment after the response that used the region."""

    def __init__(self, busy: int, error: str = "Cannot unregister shared memory region 'r', it is currently in use."):
        self.busy, self.error, self.calls = busy, error, 0

    def unregister_system_shared_memory(self, region):
        self.calls += 1
        if self.calls <= self.busy:
            raise RuntimeError(self.error)


def test_shared_memory_unregister_waits_for_the_server_to_release_the_region():
    runner = TritonRunner("127.0.0.1:1", "m", protocol="grpc", shared_memory=True)
    runner.client = _ServerHoldingRegions(busy=3)
    runner._unregister_region("r", pause_s=0.001)
    assert runner.client.calls == 4
    runner.client = _ServerHoldingRegions(busy=10)
    with pytest.raises(RuntimeError, match="in use"):
        runner._unregister_region("r", attempts=5, pause_s=0.001)
    runner.client = _ServerHoldingRegions(busy=1, error="region 'r' does not exist")
    with pytest.raises(RuntimeError, match="does not exist"):
        runner._unregister_region("r", pause_s=0.001)
    assert runner.client.calls == 1
