"""TensorRT engine building from ONNX with Polygraphy's loaders, plus the engine's metadata.

The pure parts (settings, optimization profiles, workspace sizes, metadata and the reuse check,
calibration batching, progress text) work anywhere. ``build_engine`` needs the `gpu` extra
(tensorrt, polygraphy, cuda-python) and an NVIDIA GPU; tensorrt is imported inside the functions.
The decisions (flags, INT8 route, plugins) come from trt_adapt.plan_build; this module only executes.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform as host_platform
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from taostream import __version__
from taostream.converter.engine import cuda_runtime
from taostream.converter.errors import TaostreamError, require
from taostream.converter.fileio import atomic_write_bytes, atomic_write_text
from taostream.converter.option_names import flag
from taostream.converter.engine.adapt import BuildPlan

DEFAULT_WORKSPACE = 1 << 30  # tao-converter's default (-w)
DEFAULT_MAX_BATCH = 16  # tao-converter's -m default
DEFAULT_CALIBRATION_BATCH = 8  # tao-converter's -b default
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
METADATA_SUFFIX = ".json"
METADATA_FORMAT = 1


@dataclass(frozen=True)
class OptimizationProfile:
    """min/opt/max shapes (batch included) of one input, as tao-converter's -p and trtexec take them."""

    input_name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self) -> None:
        shapes = (self.min, self.opt, self.max)
        if not self.input_name:
            raise TaostreamError(f"optimization profile: the input name is empty; write {flag('profile')} NAME,MIN,OPT,MAX")
        if len({len(s) for s in shapes}) != 1:
            raise TaostreamError(
                f"optimization profile for {self.input_name}: min, opt and max must have the same rank "
                f"(got {_fmt(self.min)}, {_fmt(self.opt)}, {_fmt(self.max)})"
            )
        if any(d <= 0 for s in shapes for d in s):
            raise TaostreamError(f"optimization profile for {self.input_name}: every dimension must be positive")
        if not all(a <= b <= c for a, b, c in zip(*shapes)):
            raise TaostreamError(
                f"optimization profile for {self.input_name}: need min <= opt <= max in every dimension "
                f"(got {_fmt(self.min)}, {_fmt(self.opt)}, {_fmt(self.max)})"
            )

    def __str__(self) -> str:
        return f"{self.input_name},{_fmt(self.min)},{_fmt(self.opt)},{_fmt(self.max)}"


def _fmt(shape: Iterable[int]) -> str:
    return "x".join(str(d) for d in shape)


def parse_shape(text: str, what: str = "shape") -> tuple[int, ...]:
    """'1x3x544x960' -> (1, 3, 544, 960)."""
    parts = text.strip().lower().split("x")
    if not all(p.strip().isdigit() for p in parts):
        raise TaostreamError(f"{what} {text!r} is not a shape; write dimensions joined by 'x', e.g. 1x3x544x960")
    return tuple(int(p) for p in parts)


def parse_profile(text: str) -> OptimizationProfile:
    """tao-converter's -p: 'input_1,1x3x544x960,4x3x544x960,16x3x544x960'."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise TaostreamError(
            f"optimization profile {text!r} ({flag('profile')}) needs 4 comma-separated fields: "
            "<input name>,<min shape>,<opt shape>,<max shape>, e.g. input_1,1x3x544x960,4x3x544x960,16x3x544x960"
        )
    name, *shapes = parts
    mn, opt, mx = (parse_shape(s, f"{flag('profile')} {name}") for s in shapes)
    return OptimizationProfile(name, mn, opt, mx)


def batch_profile(input_name: str, dims: tuple[int, ...], max_batch: int, min_batch: int = 1,
                  opt_batch: int | None = None) -> OptimizationProfile:
    """Dynamic-batch profile over fixed per-sample ``dims``; opt defaults to max (as DeepStream builds)."""
    if max_batch < 1 or min_batch < 1:
        raise TaostreamError(f"batch sizes must be 1 or more (got min {min_batch}, max {max_batch})")
    opt = max_batch if opt_batch is None else opt_batch
    return OptimizationProfile(input_name, (min_batch, *dims), (opt, *dims), (max_batch, *dims))


_SIZE = re.compile(r"^\s*(\d+)\s*(?:<<\s*(\d+)|([kmgt]i?b?)?)\s*$", re.IGNORECASE)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_workspace(text: str | int) -> int:
    """Bytes from '1073741824', '1<<30' (tao-converter's documented default) or '1G' / '512MiB'."""
    match = _SIZE.match(str(text))
    if not match:
        raise TaostreamError(
            f"workspace size {text!r} (-w / --workspace) is not a size; write bytes (1073741824), 1<<30 or 1G"
        )
    value, shift, unit = match.groups()
    size = int(value) << int(shift) if shift else int(value) * (_UNITS[unit[0].lower()] if unit else 1)
    if size <= 0:
        raise TaostreamError(f"workspace size {text!r} (-w / --workspace) must be positive")
    return size


@dataclass(frozen=True)
class BuildSettings:
    """Everything a build needs except the model key (a secret that never enters settings or metadata)."""

    model: str
    engine: str = "saved.engine"
    output_nodes: tuple[str, ...] = ()
    input_dims: tuple[int, ...] | None = None  # per-sample dims, in input_order
    input_order: str = "nchw"
    precision: str = "fp32"
    calibration_cache: str | None = None
    calibration_images: str | None = None
    calibration_batch_size: int = DEFAULT_CALIBRATION_BATCH
    calibration_batches: int | None = None  # None = every full batch of images
    max_batch: int = DEFAULT_MAX_BATCH
    min_batch: int = 1
    opt_batch: int | None = None
    workspace: int = DEFAULT_WORKSPACE
    profiles: tuple[OptimizationProfile, ...] = ()
    strict: bool = False
    strongly_typed: bool = False
    dla_core: int | None = None
    timing_cache: str | None = None
    plugin_libraries: tuple[str, ...] = ()
    keep_plugins: tuple[str, ...] = ()
    network: str | None = None
    trt_version: str | None = None  # plan for this version instead of the installed one
    platform: str | None = None  # x86 | jetson; None = this host
    dry_run: bool = False
    force: bool = False

    def fingerprint(self) -> dict:
        """The settings that shape the engine (compared before an engine is reused)."""
        return {
            "precision": self.precision,
            "profiles": [str(p) for p in self.profiles],
            "max_batch": self.max_batch,
            "workspace": self.workspace,
            "strict": self.strict,
            "strongly_typed": self.strongly_typed,
            "dla_core": self.dla_core,
            "plugin_libraries": [os.path.basename(p) for p in self.plugin_libraries],
            "keep_plugins": sorted(self.keep_plugins),
        }


def host_platform_name() -> str:
    """'jetson' on an aarch64 Tegra board, else 'x86' (SBSA servers build like x86 dGPU hosts)."""
    tegra = Path("/etc/nv_tegra_release").exists() or Path("/sys/module/tegra_fuse").exists()
    return "jetson" if host_platform.machine() == "aarch64" and tegra else "x86"


# ---- metadata beside the engine -------------------------------------------------------------------


def metadata_path(engine_path: str | os.PathLike) -> Path:
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + METADATA_SUFFIX)


def engine_metadata(plan: BuildPlan, settings: BuildSettings, environment: dict, model_sha256: str,
                    calibration_sha256: str | None = None) -> dict:
    return {
        "format": METADATA_FORMAT,
        "taostream_version": __version__,
        "trt_version": environment.get("trt_version"),
        "gpu_name": environment.get("gpu_name"),
        "compute_capability": environment.get("compute_capability"),
        "platform": plan.platform,
        "precision": plan.precision,
        "model_sha256": model_sha256,
        "calibration_sha256": calibration_sha256,
        "build": settings.fingerprint(),
        "plan": plan.to_dict(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def engine_reusable(meta: dict | None, current_env: dict) -> tuple[bool, str]:
    """May an engine built as ``meta`` describes be used for ``current_env``? Returns (ok, reason).

    ``current_env`` holds trt_version, gpu_name, compute_capability, model_sha256, precision, build
    (a BuildSettings.fingerprint()) and optionally calibration_sha256. Engines are tied to the exact
    TensorRT version and GPU model; any change in the model or build settings means a rebuild.
    """
    if not isinstance(meta, dict) or meta.get("format") != METADATA_FORMAT:
        return False, "no readable taostream metadata beside the engine; rebuilding"
    checks = (
        ("trt_version", "TensorRT version"),
        ("compute_capability", "GPU compute capability"),
        ("gpu_name", "GPU"),
        ("model_sha256", "model (sha256)"),
        ("precision", "precision"),
        ("calibration_sha256", "calibration cache (sha256)"),
    )
    for key, label in checks:
        if key in current_env and meta.get(key) != current_env[key]:
            return False, f"{label} differs: engine built for {meta.get(key)!r}, now {current_env[key]!r}"
    built, wanted = meta.get("build", {}), current_env.get("build", {})
    changed = sorted(k for k in set(built) | set(wanted) if built.get(k) != wanted.get(k))
    if changed:
        return False, "build settings differ: " + ", ".join(f"{k} {built.get(k)!r} -> {wanted.get(k)!r}" for k in changed)
    return True, (
        f"engine matches TensorRT {meta.get('trt_version')}, {meta.get('gpu_name')} "
        f"(sm {meta.get('compute_capability')}), {meta.get('precision')} and the same model"
    )


def read_metadata(engine_path: str | os.PathLike) -> dict | None:
    try:
        return json.loads(metadata_path(engine_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_engine(engine_path: str | os.PathLike, engine_bytes: bytes, meta: dict) -> Path:
    """Engine first, metadata second, each atomically: metadata never describes a half-written engine."""
    path = atomic_write_bytes(engine_path, engine_bytes)
    atomic_write_text(metadata_path(path), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


# ---- calibration data -----------------------------------------------------------------------------


def list_calibration_images(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TaostreamError(f"{folder}: calibration image folder (--calibration-images) does not exist")
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise TaostreamError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images for INT8 calibration")
    return images


def calibration_batches(paths: list[Path], batch_size: int, max_batches: int | None = None) -> list[list[Path]]:
    """Full batches only: TensorRT's calibrator always reads batch_size samples per batch."""
    if batch_size < 1:
        raise TaostreamError(f"calibration batch size ({flag('calibration_batch_size')}) must be 1 or more, got {batch_size}")
    if len(paths) < batch_size:
        raise TaostreamError(
            f"{len(paths)} calibration images are fewer than one batch of {batch_size}; add images or lower -b"
        )
    count = len(paths) // batch_size
    if max_batches is not None:
        count = min(count, max_batches)
    return [paths[i * batch_size:(i + 1) * batch_size] for i in range(count)]


def preprocess_batches(batches: list[list[Path]], network, dims: tuple[int, int, int]) -> Iterator:
    """Yield float32 NCHW/NHWC arrays made with the registry's preprocessing (converter.preprocess)."""
    try:
        # lazy: optional (a build without converter.model.preprocess)
        from taostream.converter.model.preprocess import preprocess_image
    except ModuleNotFoundError as exc:
        if exc.name != "taostream.converter.model.preprocess":
            raise
        raise TaostreamError(
            "image calibration needs taostream.converter.model.preprocess, which this build lacks; "
            f"use a calibration cache ({flag('calibration_cache')}) instead"
        ) from None
    for batch in batches:
        yield np.stack([np.asarray(preprocess_image(str(p), network, dims), dtype=np.float32) for p in batch])


# ---- progress display -----------------------------------------------------------------------------


def format_progress(phases: dict[str, tuple[int, int]], order: list[str]) -> str:
    """'Building engine 1/3 > Tactic selection 12/40' from {phase: (steps done, steps)} in start order."""
    return " > ".join(f"{name} {phases[name][0]}/{phases[name][1]}" for name in order if name in phases)


class ProgressState:
    """Thread-safe phase bookkeeping for TensorRT's IProgressMonitor callbacks."""

    def __init__(self, stream=None) -> None:
        self.phases: dict[str, tuple[int, int]] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()
        self._stream = stream if stream is not None else sys.stderr
        self._last = 0.0

    def start(self, name: str, steps: int) -> None:
        with self._lock:
            self.phases[name] = (0, max(int(steps), 1))
            self.order.append(name)
            self._show(force=True)

    def step(self, name: str, step: int) -> bool:
        with self._lock:
            if name in self.phases:
                self.phases[name] = (int(step) + 1, self.phases[name][1])
            self._show()
        return True  # never cancel the build

    def finish(self, name: str) -> None:
        with self._lock:
            self.phases.pop(name, None)
            if name in self.order:
                self.order.remove(name)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last > 0.5:
            self._last = now
            end = "\r" if getattr(self._stream, "isatty", lambda: False)() else "\n"
            print(f"building: {format_progress(self.phases, self.order)}", end=end, file=self._stream, flush=True)


def make_progress_monitor(trt, state: ProgressState):
    class BuildProgress(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            state.start(phase_name, num_steps)

        def step_complete(self, phase_name, step):
            return state.step(phase_name, step)

        def phase_finish(self, phase_name):
            state.finish(phase_name)

    return BuildProgress()


# ---- TensorRT (lazy) ------------------------------------------------------------------------------


def _tensorrt():
    return require("tensorrt", "tensorrt", "gpu", "building a TensorRT engine")


def installed_trt_version() -> str | None:
    try:
        import tensorrt  # lazy: optional (gpu)
    except ImportError:
        return None
    return str(tensorrt.__version__)


def gpu_environment(device: int = 0) -> dict:
    """TensorRT version, GPU name and compute capability of this host (needs the gpu extra and a GPU)."""
    trt = _tensorrt()
    cudart = cuda_runtime.runtime()
    count = cuda_runtime.check(cudart.cudaGetDeviceCount(), "device count")
    if count < 1:
        raise TaostreamError("no CUDA device is visible; check the driver and CUDA_VISIBLE_DEVICES")
    props = cuda_runtime.check(cudart.cudaGetDeviceProperties(device), f"properties of GPU {device}")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return {
        "trt_version": str(trt.__version__),
        "gpu_name": name.rstrip("\x00"),
        "compute_capability": f"{props.major}.{props.minor}",
    }


def make_calibrator(trt, batches: Iterable | None, cache_path: str | None, batch_shape: tuple[int, ...]):
    """IInt8EntropyCalibrator2 fed from host arrays through one cuda-python device buffer.

    With ``batches`` None it only replays ``cache_path`` (TensorRT skips calibration when
    read_calibration_cache returns data); otherwise it calibrates and writes the cache there.
    """
    cudart = cuda_runtime.runtime()
    nbytes = int(np.prod(batch_shape)) * 4

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches) if batches is not None else iter(())
            self._device = cuda_runtime.check(cudart.cudaMalloc(nbytes), "cudaMalloc (calibration batch)") if batches is not None else None
            self._replay = batches is None

        def get_batch_size(self):
            return int(batch_shape[0])

        def get_batch(self, names):
            batch = next(self._batches, None)
            if batch is None or self._device is None:
                return None
            host = np.ascontiguousarray(batch, dtype=np.float32)
            if host.nbytes != nbytes:
                raise TaostreamError(f"calibration batch has shape {host.shape}, expected {batch_shape}")
            kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            cuda_runtime.check(cudart.cudaMemcpy(self._device, host.ctypes.data, nbytes, kind), "copy of a calibration batch")
            return [int(self._device)]

        def read_calibration_cache(self):
            if self._replay and cache_path and os.path.exists(cache_path):
                return Path(cache_path).read_bytes()
            return None

        def write_calibration_cache(self, cache):
            if cache_path and not self._replay:
                atomic_write_bytes(cache_path, bytes(cache))

        def free(self) -> None:
            if self._device is not None:
                cudart.cudaFree(self._device)
                self._device = None

    return EntropyCalibrator()


def plugin_loading_method(exported_symbols: set[str]) -> str:
    """'registry' for IPluginV3 libraries (export getCreators: IPluginRegistry.load_library), else
    'dlopen' (libraries that register creators from static initialisers, e.g. TensorRT OSS builds)."""
    return "registry" if {"getCreators", "getPluginCreators"} & exported_symbols else "dlopen"


def load_plugin_libraries(trt, plan: BuildPlan, logger) -> list:
    """TensorRT's own plugins, then the user's libraries; returns handles to keep them loaded."""
    if plan.load_trt_plugins:
        trt.init_libnvinfer_plugins(logger, "")
    handles = []
    for library in plan.plugin_libraries:
        if not Path(library).is_file():
            raise TaostreamError(f"{library}: plugin library (--plugin-library) does not exist")
        lib = ctypes.CDLL(str(Path(library).resolve()), mode=ctypes.RTLD_GLOBAL)
        symbols = {s for s in ("getCreators", "getPluginCreators") if hasattr(lib, s)}
        if plugin_loading_method(symbols) == "registry":
            handles.append(trt.get_plugin_registry().load_library(str(Path(library).resolve())))
        handles.append(lib)
    return handles


def _calibration_profile_setter(input_name: str, shape: tuple[int, ...]):
    def set_profile(builder, network, config) -> None:
        profile = builder.create_optimization_profile()
        profile.set_shape(input_name, shape, shape, shape)
        config.set_calibration_profile(profile)

    return set_profile


def create_config_arguments(plan: BuildPlan, settings: BuildSettings, *, calibrator=None, profiles=None,
                            workspace_pool="WORKSPACE", progress_monitor=None) -> dict:
    """Polygraphy CreateConfig's keyword arguments for ``plan`` (pure; the TensorRT objects are passed in)."""
    timing_cache = settings.timing_cache if settings.timing_cache and os.path.exists(settings.timing_cache) else None
    return {
        "tf32": "TF32" in plan.builder_flags,
        "fp16": "FP16" in plan.builder_flags,
        "int8": "INT8" in plan.builder_flags,
        "calibrator": calibrator,
        "profiles": profiles,
        "memory_pool_limits": {workspace_pool: settings.workspace},
        "precision_constraints": plan.precision_constraints,
        "load_timing_cache": timing_cache,
        "use_dla": plan.dla_core is not None,
        "allow_gpu_fallback": "GPU_FALLBACK" in plan.builder_flags,
        "progress_monitor": progress_monitor,
    }


def build_engine(onnx_path: str | os.PathLike, plan: BuildPlan, settings: BuildSettings,
                 calibration: Iterable | None = None, calibration_shape: tuple[int, ...] | None = None) -> bytes:
    """Build a serialized engine from ``onnx_path`` as ``plan`` says (Polygraphy loaders)."""
    trt = _tensorrt()
    require("polygraphy", "polygraphy", "gpu", "building a TensorRT engine")
    from polygraphy.backend.trt import (  # lazy: optional (gpu)
        CreateConfig, EngineBytesFromNetwork, NetworkFromOnnxPath, PostprocessConfig, Profile,
    )
    from polygraphy.backend.trt import util as trt_util  # lazy: optional (gpu)

    handles = load_plugin_libraries(trt, plan, trt_util.get_trt_logger())
    network = NetworkFromOnnxPath(str(onnx_path), strongly_typed=True if "STRONGLY_TYPED" in plan.network_flags else None)
    profiles = [Profile().add(p.input_name, min=p.min, opt=p.opt, max=p.max) for p in settings.profiles]
    calibrator = None
    if plan.int8_mode in ("calibration_cache", "calibrator_images"):
        shape = calibration_shape or (settings.profiles[0].opt if settings.profiles else None)
        calibrator = make_calibrator(trt, calibration if plan.int8_mode == "calibrator_images" else None,
                                     settings.calibration_cache, shape)
    state = ProgressState()
    config = CreateConfig(**create_config_arguments(
        plan, settings, calibrator=calibrator, profiles=profiles or None,
        workspace_pool=trt.MemoryPoolType.WORKSPACE,
        progress_monitor=make_progress_monitor(trt, state) if plan.progress_monitor else None,
    ))
    if plan.dla_core is not None:
        core = plan.dla_core
        config = PostprocessConfig(config, lambda builder, net, cfg: setattr(cfg, "DLA_core", core))
    if plan.int8_mode == "calibrator_images" and calibration_shape is not None:
        # Polygraphy calibrates at the last profile's opt shape (batch = max batch); the image
        # batches have -b samples, so the calibration profile must say so.
        name = settings.profiles[0].input_name
        config = PostprocessConfig(config, _calibration_profile_setter(name, tuple(calibration_shape)))
    try:
        engine = EngineBytesFromNetwork(network, config=config, save_timing_cache=settings.timing_cache)()
    finally:
        if calibrator is not None:
            calibrator.free()
        del handles
    if engine is None:
        raise TaostreamError(f"{onnx_path}: TensorRT could not build the engine; see the TensorRT log above")
    return bytes(engine)


def settings_summary(settings: BuildSettings) -> dict:
    """Settings as plain data for printing (the key is never part of settings)."""
    data = asdict(settings)
    data["profiles"] = [str(p) for p in settings.profiles]
    return data
