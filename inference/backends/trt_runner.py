"""TensorRT runner: a serialized engine (model.plan / .engine) run with cuda-python buffers and a
CUDA stream (no pycuda).

Two TensorRT execution APIs exist. The bindings API (binding indices, set_binding_shape,
execute_async_v2) is the only one before TensorRT 8.5 and is gone in 10. The named-tensor API
(num_io_tensors/get_tensor_name, set_input_shape, set_tensor_address, execute_async_v3) exists
from 8.5 on and is the only one in 10 and 11. The choice and the dynamic-shape decisions (which
optimization profile admits a shape) are pure functions below, tested without a GPU; the thin
part that touches TensorRT and CUDA runs on GPU hosts only.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from taostream.converter.engine import cuda_runtime
from taostream.converter.errors import TaostreamError, require
from taostream.inference.backends.runners import Runner, TensorMetadata

NAMED_TENSOR_API = "named_tensors"
BINDINGS_API = "bindings"


def parse_trt_version(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise TaostreamError(f"TensorRT version '{version}' is not of the form MAJOR.MINOR[.PATCH]") from None


def execution_api(version: str) -> str:
    """Which execution API a TensorRT Python module offers: named tensors from 8.5, bindings before."""
    return NAMED_TENSOR_API if parse_trt_version(version) >= (8, 5) else BINDINGS_API


def shape_fits(shape: Sequence[int], low: Sequence[int], high: Sequence[int]) -> bool:
    return len(shape) == len(low) == len(high) and all(lo <= s <= hi for s, lo, hi in zip(shape, low, high))


def select_profile(shapes: dict[str, tuple[int, ...]], profiles: list[dict[str, tuple]], source: str = "engine") -> int:
    """The first optimization profile whose [min, max] range admits every input shape.

    ``profiles[i][name] = (min, opt, max)``. Raises a TaostreamError naming the input and the ranges
    when none does (the fix: rebuild the engine with a profile covering that batch/size)."""
    for index, profile in enumerate(profiles):
        if all(shape_fits(shapes[name], profile[name][0], profile[name][2]) for name in shapes):
            return index
    ranges = "; ".join(f"profile {i}: " + ", ".join(f"{n} {list(p[n][0])}..{list(p[n][2])}" for n in shapes)
                       for i, p in enumerate(profiles))
    wanted = ", ".join(f"{n} {list(s)}" for n, s in shapes.items())
    raise TaostreamError(f"{source}: no optimization profile admits {wanted} ({ranges}); rebuild the engine "
                         "with a profile covering this shape (taostream convert --min/--opt/--max-shapes)")


def concrete_shape(engine_shape: Sequence[int], requested: Sequence[int], name: str) -> tuple[int, ...]:
    """The engine's static dims must match; dynamic ones (-1) take the requested value."""
    if len(engine_shape) != len(requested):
        raise TaostreamError(f"input '{name}': rank {len(requested)} given, the engine expects {len(engine_shape)}")
    for e, r in zip(engine_shape, requested):
        if e >= 0 and e != r:
            raise TaostreamError(f"input '{name}': shape {list(requested)} does not match the engine's {list(engine_shape)}")
    return tuple(int(r) for r in requested)


def buffer_bytes(shape: Sequence[int], dtype) -> int:
    if any(d < 0 for d in shape):
        raise TaostreamError(f"output shape {list(shape)} is not known before execution (data-dependent); "
                             "this runner needs static output shapes")
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


class _DeviceBuffer:
    def __init__(self, cudart, nbytes: int):
        self.cudart, self.nbytes = cudart, max(nbytes, 1)
        self.pointer = int(cuda_runtime.check(cudart.cudaMalloc(self.nbytes), "cudaMalloc"))

    def free(self) -> None:
        if self.pointer:
            cuda_runtime.check(self.cudart.cudaFree(self.pointer), "cudaFree")
            self.pointer = 0


class TensorRTRunner(Runner):
    """Runs a serialized TensorRT engine. ``plugin_libraries`` are loaded (ctypes) before
    deserializing, for engines that use plugins from a library."""

    name = "tensorrt"

    def __init__(self, engine_path: str | os.PathLike, plugin_libraries: Sequence[str] = (), api: str | None = None):
        super().__init__()
        self.engine_path = Path(engine_path)
        self.plugin_libraries = tuple(plugin_libraries)
        self.api = api
        self.trt = self.cudart = self.engine = self.context = self.stream = None
        self.buffers: dict[str, _DeviceBuffer] = {}

    def _activate(self) -> None:
        if not self.engine_path.is_file():
            raise TaostreamError(f"{self.engine_path}: engine file not found; build it with `taostream convert`")
        self.trt = require("tensorrt", "tensorrt", "gpu", "running TensorRT engines")
        self.cudart = cuda_runtime.runtime()
        for library in self.plugin_libraries:
            ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
        logger = self.trt.Logger(self.trt.Logger.WARNING)
        self.trt.init_libnvinfer_plugins(logger, "")
        runtime = self.trt.Runtime(logger)
        self.engine = runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            raise TaostreamError(f"{self.engine_path}: TensorRT {self.trt.__version__} cannot deserialize this engine "
                                 "(built by another TensorRT version or for another GPU); rebuild it on this host")
        self.context = self.engine.create_execution_context()
        self.stream = cuda_runtime.check(self.cudart.cudaStreamCreate(), "cudaStreamCreate")
        self.api = self.api or execution_api(self.trt.__version__)
        if self.api == BINDINGS_API and self.engine.num_optimization_profiles > 1:
            # Each profile has its own binding indices in the old API; not worth supporting for < 8.5.
            raise TaostreamError(f"{self.engine_path}: engines with several optimization profiles need TensorRT "
                                 ">= 8.5 here (named-tensor API); rebuild with one profile for this TensorRT")

    def _deactivate(self) -> None:
        for buffer in self.buffers.values():
            buffer.free()
        self.buffers.clear()
        if self.stream is not None:
            cuda_runtime.check(self.cudart.cudaStreamDestroy(self.stream), "cudaStreamDestroy")
        self.context = self.engine = self.stream = None

    # --- engine description, per API -------------------------------------------------------------
    def _io(self) -> list[tuple[str, bool]]:
        """(name, is_input) for every I/O tensor, in engine order."""
        if self.api == NAMED_TENSOR_API:
            names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
            return [(n, self.engine.get_tensor_mode(n) == self.trt.TensorIOMode.INPUT) for n in names]
        return [(self.engine.get_binding_name(i), self.engine.binding_is_input(i)) for i in range(self.engine.num_bindings)]

    def _dtype(self, name: str) -> np.dtype:
        if self.api == NAMED_TENSOR_API:
            return np.dtype(self.trt.nptype(self.engine.get_tensor_dtype(name)))
        return np.dtype(self.trt.nptype(self.engine.get_binding_dtype(self.engine.get_binding_index(name))))

    def _engine_shape(self, name: str) -> tuple[int, ...]:
        if self.api == NAMED_TENSOR_API:
            return tuple(self.engine.get_tensor_shape(name))
        return tuple(self.engine.get_binding_shape(self.engine.get_binding_index(name)))

    def _profiles(self, inputs: list[str]) -> list[dict[str, tuple]]:
        profiles = []
        for p in range(self.engine.num_optimization_profiles):
            if self.api == NAMED_TENSOR_API:
                profiles.append({n: tuple(tuple(s) for s in self.engine.get_tensor_profile_shape(n, p)) for n in inputs})
            else:
                profiles.append({n: tuple(tuple(s) for s in self.engine.get_profile_shape(p, n)) for n in inputs})
        return profiles

    def input_metadata(self) -> dict[str, TensorMetadata]:
        return {name: TensorMetadata(self._dtype(name), self._engine_shape(name)) for name, is_input in self._io() if is_input}

    # --- execution ---------------------------------------------------------------------------------
    def _buffer(self, name: str, nbytes: int) -> _DeviceBuffer:
        buffer = self.buffers.get(name)
        if buffer is None or buffer.nbytes < nbytes:
            if buffer is not None:
                buffer.free()
            buffer = self.buffers[name] = _DeviceBuffer(self.cudart, nbytes)
        return buffer

    def _set_shapes(self, feed: dict[str, np.ndarray]) -> None:
        shapes = {n: concrete_shape(self._engine_shape(n), a.shape, n) for n, a in feed.items()}
        dynamic = any(d < 0 for n in feed for d in self._engine_shape(n))
        if dynamic and self.engine.num_optimization_profiles > 1:
            profile = select_profile(shapes, self._profiles(list(feed)), str(self.engine_path))
            self.context.set_optimization_profile_async(profile, self.stream)
        for name, shape in shapes.items():
            if self.api == NAMED_TENSOR_API:
                self.context.set_input_shape(name, shape)
            else:
                self.context.set_binding_shape(self.engine.get_binding_index(name), shape)

    def _output_shape(self, name: str) -> tuple[int, ...]:
        if self.api == NAMED_TENSOR_API:
            return tuple(self.context.get_tensor_shape(name))
        return tuple(self.context.get_binding_shape(self.engine.get_binding_index(name)))

    def _infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cudart = self.cudart
        meta = self.input_metadata()
        feed = {n: np.ascontiguousarray(a, dtype=meta[n].dtype) for n, a in feed_dict.items()}
        self._set_shapes(feed)
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        outputs: dict[str, np.ndarray] = {}
        addresses: list[int] = []
        for name, is_input in self._io():
            if is_input:
                array = feed[name]
                buffer = self._buffer(name, array.nbytes)
                cuda_runtime.check(cudart.cudaMemcpyAsync(buffer.pointer, array.ctypes.data, array.nbytes, h2d, self.stream), "copy in")
            else:
                outputs[name] = np.empty(self._output_shape(name), dtype=self._dtype(name))
                buffer = self._buffer(name, buffer_bytes(outputs[name].shape, outputs[name].dtype))
            addresses.append(buffer.pointer)
            if self.api == NAMED_TENSOR_API:
                self.context.set_tensor_address(name, buffer.pointer)
        ok = (self.context.execute_async_v3(int(self.stream)) if self.api == NAMED_TENSOR_API
              else self.context.execute_async_v2(addresses, int(self.stream)))
        if not ok:
            raise TaostreamError(f"{self.engine_path}: TensorRT execution failed (see the TensorRT log above)")
        for name, array in outputs.items():
            cuda_runtime.check(cudart.cudaMemcpyAsync(array.ctypes.data, self.buffers[name].pointer, array.nbytes, d2h, self.stream), "copy out")
        cuda_runtime.check(cudart.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
        return outputs
