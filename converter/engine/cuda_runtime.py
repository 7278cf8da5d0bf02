"""cuda-python's CUDA runtime, shared by the engine builder (calibration buffers, GPU facts) and the
TensorRT runner (device buffers, streams). No pycuda.

cuda-python calls return ``(cudaError_t, *values)`` instead of raising; ``check`` turns a failure into
a TaostreamError that says what failed and what to do, for the errors users actually meet.
"""

from __future__ import annotations

from taostream.converter.errors import TaostreamError, require

# cudaError_t name -> what it means for the user and the fix.
_ADVICE = {
    "cudaErrorInsufficientDriver": "no NVIDIA driver is loaded, or it is older than this CUDA runtime; "
                                   "check `nvidia-smi` and update the driver",
    "cudaErrorNoDevice": "no CUDA GPU is visible; check `nvidia-smi` and CUDA_VISIBLE_DEVICES",
    "cudaErrorInvalidDevice": "that GPU index does not exist; check CUDA_VISIBLE_DEVICES",
    "cudaErrorMemoryAllocation": "the GPU is out of memory; lower the batch size or free the GPU",
    "cudaErrorDevicesUnavailable": "the GPU is busy in exclusive mode; stop the other process",
}


def runtime():
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (12.6+/13) or the older ``cuda.cudart``."""
    try:
        from cuda.bindings import runtime as cudart  # lazy: optional (gpu)
    except ImportError:
        cudart = require("cuda.cudart", "cuda-python", "gpu", "CUDA buffers for TensorRT")
    return cudart


def error_name(error) -> str:
    return getattr(error, "name", None) or str(error)


def describe(error) -> str:
    name = error_name(error)
    advice = _ADVICE.get(name)
    return f"{name}: {advice}" if advice else f"{name} (code {int(error)})"


def check(result, what: str):
    """``(error, *values)`` -> the values (one value unwrapped); a TaostreamError when error != 0."""
    error, *values = result if isinstance(result, tuple) else (result,)
    if int(error) != 0:
        raise TaostreamError(f"CUDA {what} failed: {describe(error)}")
    return values[0] if len(values) == 1 else values
