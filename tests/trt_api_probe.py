"""Run in a subprocess whose ``import tensorrt`` loads one release's real bindings (tests/trt_bindings.py).

Prints one JSON object: the release's API surface (enum members, class attributes, module names)
and the results of taostream's own TensorRT-facing code run against those bindings wherever that
code does not call into libnvinfer (calibrator and progress-monitor subclasses, nptype, the
no-GPU errors of cuda-python). Usage: python trt_api_probe.py WORKDIR
"""

from __future__ import annotations

import io
import json
import sys
import traceback
from pathlib import Path

import numpy as np
import tensorrt as trt

ENUMS = ("BuilderFlag", "NetworkDefinitionCreationFlag", "MemoryPoolType", "TensorIOMode", "DeviceType",
         "DataType", "PreviewFeature")
CLASSES = ("Builder", "IBuilderConfig", "INetworkDefinition", "IOptimizationProfile", "ICudaEngine",
           "IExecutionContext", "Runtime", "Logger", "IPluginRegistry", "OnnxParser", "IInt8Calibrator",
           "IInt8EntropyCalibrator2", "IProgressMonitor", "ITimingCache")


def surface() -> dict:
    enums = {name: sorted(getattr(trt, name).__members__) for name in ENUMS if hasattr(trt, name)}
    classes = {name: sorted(a for a in dir(getattr(trt, name)) if not a.startswith("__"))
               for name in CLASSES if hasattr(trt, name)}
    logger_levels = sorted(trt.Logger.Severity.__members__) if hasattr(trt.Logger, "Severity") else []
    # Layer limits are documented in the classes' docstrings (":ivar k: ... up to 3840").
    docs = {name: getattr(trt, name).__doc__ or "" for name in ("ITopKLayer", "INMSLayer") if hasattr(trt, name)}
    return {"version": trt.__version__, "enums": enums, "classes": classes, "logger_levels": logger_levels,
            "module": sorted(a for a in dir(trt) if not a.startswith("__")), "docs": docs}


def attempt(function) -> dict:
    """{'value': ...} or {'error': type, 'message': ...}: what the real code did."""
    try:
        return {"value": function()}
    except Exception as exc:  # the probe reports every outcome; the tests judge it
        return {"error": type(exc).__name__, "message": str(exc), "trace": traceback.format_exc(limit=3)}


def calibrator_replay(workdir: Path) -> dict:
    from taostream.converter.engine import build as engine

    cache = workdir / "cal.bin"
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\ninput_1: 3c010a14\n")
    calibrator = engine.make_calibrator(trt, None, str(cache), (4, 3, 16, 16))
    result = {
        "is_int8_calibrator": isinstance(calibrator, trt.IInt8Calibrator),
        "is_entropy2": isinstance(calibrator, trt.IInt8EntropyCalibrator2),
        "batch_size": calibrator.get_batch_size(),
        "cache_replayed": calibrator.read_calibration_cache() == cache.read_bytes(),
        "batch_when_replaying": calibrator.get_batch(["input_1"]),
    }
    calibrator.write_calibration_cache(b"must not be written when replaying")
    result["cache_untouched"] = cache.read_bytes().startswith(b"TRT-8601")
    calibrator.free()
    return result


def calibrator_with_images(workdir: Path) -> dict:
    from taostream.converter.engine import build as engine

    batches = [np.zeros((2, 3, 8, 8), np.float32)]
    calibrator = engine.make_calibrator(trt, batches, str(workdir / "new.bin"), (2, 3, 8, 8))
    return {"batch_size": calibrator.get_batch_size()}


def progress_monitor() -> dict:
    from taostream.converter.engine import build as engine

    stream = io.StringIO()
    state = engine.ProgressState(stream)
    monitor = engine.make_progress_monitor(trt, state)
    monitor.phase_start("Building engine", None, 4)
    keep_going = monitor.step_complete("Building engine", 1)
    shown = stream.getvalue()
    monitor.phase_finish("Building engine")
    return {"is_monitor": isinstance(monitor, trt.IProgressMonitor), "keep_going": keep_going,
            "shown": shown, "phases_after_finish": list(state.phases)}


def nptypes() -> dict:
    out = {}
    for name in ("float32", "float16", "int8", "int32", "int64", "bool", "uint8", "bfloat16"):
        if hasattr(trt, name):
            out[name] = attempt(lambda n=name: str(np.dtype(trt.nptype(getattr(trt, n)))))
    return out


def main(workdir: Path) -> None:
    from taostream.converter.engine import build as engine
    from taostream.converter.engine import cuda_runtime
    from taostream.inference.backends import trt_runner

    checks = {
        "logger": attempt(lambda: type(trt.Logger(trt.Logger.WARNING)).__name__),
        "installed_trt_version": attempt(engine.installed_trt_version),
        "execution_api": attempt(lambda: trt_runner.execution_api(trt.__version__)),
        "nptype": nptypes(),
        "gpu_environment": attempt(engine.gpu_environment),
        "device_buffer": attempt(lambda: trt_runner._DeviceBuffer(cuda_runtime.runtime(), 64).pointer),
    }
    if hasattr(trt, "IInt8EntropyCalibrator2"):
        checks["calibrator_replay"] = attempt(lambda: calibrator_replay(workdir))
        checks["calibrator_with_images"] = attempt(lambda: calibrator_with_images(workdir))
    if hasattr(trt, "IProgressMonitor"):
        checks["progress_monitor"] = attempt(progress_monitor)
    print(json.dumps({"surface": surface(), "checks": checks}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
