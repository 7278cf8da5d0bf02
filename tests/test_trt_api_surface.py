"""taostream's TensorRT-facing code against the real Python bindings of TensorRT 8.6, 10.x and 11.x.

No TensorRT library can be installed on a machine without NVIDIA's package index, but each release's
Python bindings are a wheel of their own on PyPI; tests/trt_bindings.py makes them importable (stub
entry points stand in for libnvinfer, which nothing here calls). What this proves, per release:
- the version-adaptation tables (converter/engine/adapt.py) say exactly which builder and network flags
  exist, and no plan ever sets a flag the release lacks;
- every class, method, property and enum member the engine builder and the TensorRT runner touch exists;
- the Python side of the build runs on the real base classes: the INT8 calibrator replays a cache,
  the progress monitor reports phases, nptype maps engine types;
- without a GPU, cuda-python's failures become one clear error naming the cause and the fix.
What it cannot prove: anything libnvinfer does (parsing, building, running); tests/test_engine.py and
tests/test_runners.py hold those real-GPU tests.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from taostream.converter.engine.adapt import (
    BUILDER_FLAGS, NETWORK_FLAGS, BuildRequest, builder_flag_exists, network_flag_exists, parse_trt_version,
    plan_build,
)

sys.path.insert(0, str(Path(__file__).parent))
import trt_bindings  # noqa: E402

PROBE = Path(__file__).parent / "trt_api_probe.py"

# What converter/engine/build.py and inference/backends/trt_runner.py call, by TensorRT class. Keep this in step with
# the code: a name used there and missing in a release fails at run time on that release's GPUs.
ENGINE_API = {
    "module": ["init_libnvinfer_plugins", "get_plugin_registry", "Logger", "Runtime", "MemoryPoolType",
               "TensorIOMode", "nptype", "__version__"],
    "Builder": ["create_optimization_profile"],
    "IOptimizationProfile": ["set_shape"],
    "IBuilderConfig": ["DLA_core", "default_device_type", "set_flag", "set_memory_pool_limit"],
    "IPluginRegistry": ["load_library"],
}
CALIBRATION_API = {
    "IBuilderConfig": ["set_calibration_profile", "int8_calibrator"],
    "IInt8EntropyCalibrator2": ["get_batch_size", "get_batch", "read_calibration_cache", "write_calibration_cache"],
}
PROGRESS_API = {
    "IBuilderConfig": ["progress_monitor"],
    "IProgressMonitor": ["phase_start", "step_complete", "phase_finish"],
}
RUNNER_API = {
    "Runtime": ["deserialize_cuda_engine"],
    "ICudaEngine": ["num_io_tensors", "get_tensor_name", "get_tensor_mode", "get_tensor_dtype", "get_tensor_shape",
                    "get_tensor_profile_shape", "num_optimization_profiles", "create_execution_context"],
    "IExecutionContext": ["set_input_shape", "set_tensor_address", "execute_async_v3", "get_tensor_shape",
                          "set_optimization_profile_async"],
}
ENUM_MEMBERS = {"MemoryPoolType": ["WORKSPACE"], "TensorIOMode": ["INPUT", "OUTPUT"],
                "DeviceType": ["DLA", "GPU"]}


@pytest.fixture(scope="module", params=list(trt_bindings.RELEASES))
def release(request, tmp_path_factory):
    """(version, probe output) for one TensorRT release."""
    version = request.param
    try:
        env = trt_bindings.environment(version)
    except trt_bindings.BindingsUnavailable as exc:
        pytest.skip(f"TensorRT {version} Python bindings could not be prepared here ({exc})")
    workdir = tmp_path_factory.mktemp(f"trt-{version}")
    done = subprocess.run([sys.executable, str(PROBE), str(workdir)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"probe of TensorRT {version} failed:\n{done.stderr[-3000:]}"
    return version, json.loads(done.stdout)


def _missing(surface: dict, wanted: dict[str, list[str]]) -> list[str]:
    missing = []
    for owner, names in wanted.items():
        have = set(surface["module"]) | {"__version__"} if owner == "module" else set(surface["classes"].get(owner, ()))
        if owner != "module" and owner not in surface["classes"]:
            missing.append(f"class {owner}")
            continue
        missing += [f"{owner}.{name}" for name in names if name not in have]
    return missing


def test_the_probe_loaded_the_release_asked_for(release):
    version, out = release
    assert out["surface"]["version"] == version
    assert out["checks"]["installed_trt_version"] == {"value": version}


@pytest.mark.parametrize("enum, table, exists", [
    ("BuilderFlag", BUILDER_FLAGS, builder_flag_exists),
    ("NetworkDefinitionCreationFlag", NETWORK_FLAGS, network_flag_exists),
], ids=["builder-flags", "network-flags"])
def test_flag_tables_are_the_release_s_enums(release, enum, table, exists):
    version, out = release
    members = set(out["surface"]["enums"][enum])
    v = parse_trt_version(version)
    wrong = {flag: ("exists" if flag in members else "absent") for flag in table if exists(flag, v) != (flag in members)}
    assert not wrong, f"trt_adapt's {enum} table disagrees with TensorRT {version}: really {wrong}"


def _plans(version: str):
    """Every plan the CLI can ask for on this release (precision x strict x platform/DLA x typing)."""
    major = parse_trt_version(version)[0]
    platforms = [("x86", None)] + ([("jetson", None), ("jetson", 0)] if major < 11 else [])
    typing = [False, True] if major == 10 else [False]
    for precision, strict, (platform, dla), strongly_typed, int8_source in itertools.product(
            ("fp32", "fp16", "int8"), (False, True), platforms, typing, ("cache", "images", "qdq")):
        if precision != "int8" and int8_source != "cache":
            continue
        yield plan_build(BuildRequest(
            trt_version=version, precision=precision, platform=platform, dla_core=dla, strict=strict,
            strongly_typed=strongly_typed, model_has_qdq=precision == "int8" and int8_source == "qdq",
            calibration_cache=int8_source == "cache", calibration_images=int8_source == "images",
            model_ops=frozenset({"BatchedNMSDynamic_TRT", "BatchTilePlugin_TRT"})))


def test_every_plan_sets_only_flags_the_release_has(release):
    version, out = release
    builder = set(out["surface"]["enums"]["BuilderFlag"])
    network = set(out["surface"]["enums"]["NetworkDefinitionCreationFlag"])
    plans = list(_plans(version))
    assert len(plans) >= 8
    for plan in plans:
        assert set(plan.builder_flags) <= builder, (plan.precision, plan.builder_flags)
        assert set(plan.network_flags) <= network, (plan.precision, plan.network_flags)


def test_int8_route_and_progress_follow_what_the_release_offers(release):
    version, out = release
    classes = out["surface"]["classes"]
    has_calibrator = "IInt8EntropyCalibrator2" in classes and "int8_calibrator" in classes["IBuilderConfig"]
    has_monitor = "IProgressMonitor" in classes and "progress_monitor" in classes["IBuilderConfig"]
    modes = {plan.int8_mode for plan in _plans(version)} - {"none"}
    implicit = {"calibration_cache", "calibrator_images"}
    if has_calibrator:
        assert implicit <= modes
    else:  # TensorRT 11: the cache and the images must become Q/DQ nodes
        assert not modes & implicit and {"qdq_from_cache", "qdq_from_images", "qdq_in_model"} <= modes
    assert {plan.progress_monitor for plan in _plans(version)} == {has_monitor}


def test_every_api_the_builder_and_runner_call_exists(release):
    version, out = release
    surface = out["surface"]
    wanted = {**ENGINE_API}
    for extra in (RUNNER_API,):
        for owner, names in extra.items():
            wanted[owner] = wanted.get(owner, []) + names
    missing = _missing(surface, wanted)
    classes = surface["classes"]
    if "IInt8EntropyCalibrator2" in classes:  # used only where the plan calibrates implicitly
        missing += _missing(surface, CALIBRATION_API)
    if parse_trt_version(version) >= (10, 0, 0):  # plan.progress_monitor is on from 10.0
        missing += _missing(surface, PROGRESS_API)
    for enum, members in ENUM_MEMBERS.items():
        missing += [f"{enum}.{m}" for m in members if m not in surface["enums"].get(enum, ())]
    assert "WARNING" in surface["logger_levels"]
    assert not missing, f"TensorRT {version} lacks {missing}"


def test_calibrator_replays_a_cache_on_the_real_base_class(release):
    version, out = release
    if "calibrator_replay" not in out["checks"]:
        assert parse_trt_version(version) >= (11, 0, 0), "only TensorRT 11 dropped the calibrator classes"
        return
    result = out["checks"]["calibrator_replay"]
    assert "value" in result, result
    assert result["value"] == {"is_int8_calibrator": True, "is_entropy2": True, "batch_size": 4,
                               "cache_replayed": True, "batch_when_replaying": None, "cache_untouched": True}


def test_progress_monitor_reports_phases_on_the_real_base_class(release):
    version, out = release
    if parse_trt_version(version) < (10, 0, 0):
        assert "progress_monitor" not in out["checks"]
        return
    result = out["checks"]["progress_monitor"]
    assert "value" in result, result
    value = result["value"]
    assert value["is_monitor"] and value["keep_going"] is True
    assert value["shown"].startswith("building: Building engine") and value["phases_after_finish"] == []


def test_runner_picks_named_tensors_and_maps_engine_types(release):
    _, out = release
    checks = out["checks"]
    assert checks["execution_api"] == {"value": "named_tensors"}
    assert checks["logger"] == {"value": "Logger"}
    types = {name: r.get("value") for name, r in checks["nptype"].items()}
    for name in ("float32", "float16", "int8", "int32", "bool", "uint8"):
        assert types[name] == name
    if "int64" in types:  # TensorRT 10+: NonMaxSuppression indices
        assert types["int64"] == "int64"


def test_without_a_gpu_cuda_failures_are_one_clear_error(release):
    _, out = release
    checks = out["checks"]
    results = [checks["gpu_environment"], checks["device_buffer"]]
    if "calibrator_with_images" in checks:
        results.append(checks["calibrator_with_images"])
    if "value" in checks["gpu_environment"]:
        pytest.skip("a CUDA GPU is visible here: the no-GPU errors cannot happen")
    for result in results:
        assert result.get("error") == "TaostreamError", result
        message = result["message"]
        if "cuda-python" in message:  # the gpu extra is not installed: that is the error users get
            assert "pip install" in message or "extra" in message
            continue
        assert message.startswith("CUDA ") and "failed: cudaError" in message, message
        assert "nvidia-smi" in message, message


def test_the_rewrites_respect_the_release_s_topk_and_nms_limits(release):
    """The limits the modernizer designs for are the ones each release documents in its bindings."""
    import re

    from taostream.converter.modernize.apply import TOPK_LIMIT_BY_TARGET
    from taostream.converter.modernize.basic import TRT_NMS_TOPK_BOX_LIMIT, TRT_TOPK_MAX
    from taostream.converter.engine.adapt import track

    version, out = release
    docs = out["surface"]["docs"]
    topk = re.search(r"values up to (\d+) are supported", docs["ITopKLayer"])
    assert topk, docs["ITopKLayer"]
    assert int(topk.group(1)) == TRT_TOPK_MAX == TOPK_LIMIT_BY_TARGET[track(parse_trt_version(version))]
    nms = re.search(r"Default is (\d+) for SM 5\.3 and 6\.2 devices, and (\d+) otherwise", docs["INMSLayer"])
    assert nms, docs["INMSLayer"]
    assert int(nms.group(2)) == TRT_NMS_TOPK_BOX_LIMIT
