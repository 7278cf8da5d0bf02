"""Version adaptation: what building a TAO model on a given TensorRT takes (pure, no TensorRT import).

Given the TensorRT version, the plugin ops in the model, the requested precision and the platform,
``plan_build`` decides which plugins are replaced by the modernizer or loaded (from TensorRT's own
plugin library or a user's), which builder and network-creation flags exist and are set, how INT8
and FP16 are done, and says why in plain sentences. engine/build.py executes the plan; nothing here needs
TensorRT, so every decision is tested on any machine.

Sources (FACTS.md section 3; TensorRT 10.x -> 11.x migration guide, Python API reference):
- TensorRT 11 removed every precision builder flag (FP16, INT8, BF16, FP8, OBEY/PREFER_PRECISION_
  CONSTRAINTS; DIRECT_IO stays), IBuilderConfig.int8_calibrator, the calibrator classes and implicit
  INT8: networks are always strongly typed; FP16 = a mixed-precision ONNX, INT8 = Q/DQ nodes.
- Implicit INT8 calibration is deprecated since 10.1 and still works on 10.x (Jetson's TensorRT).
- NetworkDefinitionCreationFlag.EXPLICIT_BATCH is needed on 8.x, deprecated and ignored on 10.x and
  gone in 11.0.
- STRONGLY_TYPED exists from 10.0 (opt-in there); BuilderFlag.STRICT_TYPES is gone from 10.0
  (OBEY_PRECISION_CONSTRAINTS replaces it from 8.2).
- IProgressMonitor exists from 10.0. JetPack (so DLA on Jetson) is not supported by TensorRT 11.
The flag tables below are checked against the real bindings of 8.6.1, 10.3, 10.16, 11.0 and 11.4
(tests/test_trt_api_surface.py imports each release's published Python bindings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from taostream.converter import trt_support
from taostream.converter.errors import TaostreamError
from taostream.converter.option_names import flag

PRECISIONS = ("fp32", "fp16", "int8")
PLATFORMS = ("x86", "jetson")
OLDEST_SUPPORTED = (8, 6, 0)
NEWEST_MAJOR = 11

# name -> (first version that has it, first version that no longer has it); None = open end.
_V = tuple[int, int, int]
BUILDER_FLAGS: dict[str, tuple[_V | None, _V | None]] = {
    "FP16": (None, (11, 0, 0)),
    "INT8": (None, (11, 0, 0)),
    "TF32": ((7, 1, 0), None),
    "STRICT_TYPES": (None, (10, 0, 0)),
    "OBEY_PRECISION_CONSTRAINTS": ((8, 2, 0), (11, 0, 0)),
    "PREFER_PRECISION_CONSTRAINTS": ((8, 2, 0), (11, 0, 0)),
    "DIRECT_IO": ((8, 2, 0), None),
    "GPU_FALLBACK": (None, None),
    "REFIT": (None, None),
}
NETWORK_FLAGS: dict[str, tuple[_V | None, _V | None]] = {
    "EXPLICIT_BATCH": (None, (11, 0, 0)),  # deprecated and ignored on 10.x: set only before 10.0
    "STRONGLY_TYPED": ((10, 0, 0), None),
}

# Ops whose outputs must stay FP32 in a mixed-precision graph: box decoding, NMS and friends lose
# accuracy or overflow in FP16 (the same reason NVIDIA's YOLO configs pin those layers to FP32).
FP32_OPS = (
    "NonMaxSuppression", "TopK", "RoiAlign", "GridSample", "Resize", "Range", "CumSum", "Min", "Max",
    "Upsample", "Exp", "Softmax", "Sigmoid", "ReduceMax", "ReduceSum", "Gather", "GatherElements",
    "GatherND", "ScatterND", "NonZero", "Where",
)


def parse_trt_version(text: str) -> tuple[int, int, int]:
    """'10.3.0.26' -> (10, 3, 0); '8.6' -> (8, 6, 0); '11' -> (11, 0, 0)."""
    match = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.\d+)*(?:[.+-]?[A-Za-z].*)?\s*", str(text))
    if not match:
        raise TaostreamError(
            f"TensorRT version {text!r} is not a version number; write it as MAJOR[.MINOR[.PATCH]], e.g. 10.3 or 11"
        )
    return tuple(int(g) if g else 0 for g in match.groups())  # type: ignore[return-value]


def check_supported(version: tuple[int, int, int]) -> None:
    if version < OLDEST_SUPPORTED:
        raise TaostreamError(
            f"TensorRT {format_version(version)} is older than 8.6, the oldest taostream builds for; "
            "upgrade TensorRT (JetPack 6 ships 10.3) or use NVIDIA's tao-converter for that release"
        )
    if version[0] > NEWEST_MAJOR:
        raise TaostreamError(
            f"TensorRT {format_version(version)} is newer than taostream knows (up to {NEWEST_MAJOR}.x); "
            "upgrade taostream or pass --trt-version 11 to plan as for TensorRT 11"
        )


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(v) for v in version)


def track(version: tuple[int, int, int]) -> str:
    """The trt_support/modernizer target for a version: '8.6', '10' or '11'."""
    return "8.6" if version[0] < 10 else str(version[0])


def _exists(span: tuple[_V | None, _V | None], version: tuple[int, int, int]) -> bool:
    first, gone = span
    return (first is None or version >= first) and (gone is None or version < gone)


def builder_flag_exists(flag: str, version: tuple[int, int, int]) -> bool:
    return _exists(BUILDER_FLAGS[flag], version)


def network_flag_exists(flag: str, version: tuple[int, int, int]) -> bool:
    return _exists(NETWORK_FLAGS[flag], version)


def available_builder_flags(version: tuple[int, int, int]) -> tuple[str, ...]:
    return tuple(flag for flag in BUILDER_FLAGS if builder_flag_exists(flag, version))


@dataclass(frozen=True)
class PluginAction:
    op: str
    action: str  # "load_trt" (TensorRT's libnvinfer_plugin) | "replace" (modernizer) | "load_library"
    source: str  # where the implementation comes from
    reason: str


@dataclass(frozen=True)
class BuildRequest:
    """What the user asked for and what the model contains: the inputs of every decision."""

    trt_version: str
    precision: str = "fp32"
    platform: str = "x86"
    model_ops: frozenset[str] = frozenset()
    model_has_qdq: bool = False
    source_format: str = "onnx"  # the decoded payload: onnx | uff
    calibration_cache: bool = False  # a readable cache file was given
    calibration_images: bool = False  # an image folder was given
    strict: bool = False
    strongly_typed: bool = False  # opt in on 10.x; always on for 11
    dla_core: int | None = None
    plugin_libraries: tuple[str, ...] = ()
    keep_plugins: frozenset[str] = frozenset()  # removed plugins the user's libraries provide
    modernization: tuple = ()  # plan_modernization() rows (node, op, action, reason), when available


@dataclass(frozen=True)
class BuildPlan:
    trt_version: str
    track: str
    precision: str
    platform: str
    network_flags: tuple[str, ...]
    builder_flags: tuple[str, ...]
    int8_mode: str  # none | calibration_cache | calibrator_images | qdq_in_model | qdq_from_cache | qdq_from_images
    fp16_mode: str  # none | builder_flag | mixed_precision_onnx
    strongly_typed: bool
    precision_constraints: str | None  # "obey" | None (Polygraphy's CreateConfig argument)
    dla_core: int | None
    plugin_actions: tuple[PluginAction, ...]
    plugin_libraries: tuple[str, ...]
    load_trt_plugins: bool
    progress_monitor: bool
    translate_uff: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def plugins_to_replace(self) -> tuple[str, ...]:
        return tuple(a.op for a in self.plugin_actions if a.action == "replace")

    @property
    def plugins_to_load(self) -> tuple[str, ...]:
        return tuple(a.op for a in self.plugin_actions if a.action != "replace")

    def explain(self) -> str:
        lines = [
            f"TensorRT {self.trt_version} ({self.platform}), precision {self.precision}",
            f"  network flags: {', '.join(self.network_flags) or 'none'}",
            f"  builder flags: {', '.join(self.builder_flags) or 'none'}",
        ]
        lines += [f"  plugin {a.op}: {a.action} ({a.source})" for a in self.plugin_actions]
        lines += [f"  - {reason}" for reason in self.reasons]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "trt_version": self.trt_version,
            "precision": self.precision,
            "platform": self.platform,
            "network_flags": list(self.network_flags),
            "builder_flags": list(self.builder_flags),
            "int8_mode": self.int8_mode,
            "fp16_mode": self.fp16_mode,
            "strongly_typed": self.strongly_typed,
            "dla_core": self.dla_core,
            "plugins": {a.op: a.action for a in self.plugin_actions},
            "plugin_libraries": list(self.plugin_libraries),
        }


class _Notes:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.warnings: list[str] = []


def plan_build(request: BuildRequest) -> BuildPlan:
    """Decide how to build ``request`` on its TensorRT; raise TaostreamError for impossible asks."""
    version = parse_trt_version(request.trt_version)
    check_supported(version)
    _check_request(request, version)
    notes = _Notes()
    strongly_typed = _strongly_typed(request, version, notes)
    int8_mode = _int8_mode(request, version, notes)
    fp16_mode = _fp16_mode(request, version, strongly_typed, notes)
    builder_flags, constraints = _builder_flags(request, version, strongly_typed, notes)
    network_flags = _network_flags(version, strongly_typed, notes)
    actions = _plugin_actions(request, version, notes)
    _platform_notes(request, version, notes)
    translate_uff = request.source_format == "uff"
    if translate_uff:
        notes.reasons.append(
            "the model is UFF: it is translated to ONNX first (TensorRT removed its UFF parser in 9.0; "
            "taostream always builds from ONNX)"
        )
    progress = version >= (10, 0, 0)
    notes.reasons.append(
        "build progress from TensorRT's IProgressMonitor" if progress
        else "no IProgressMonitor before TensorRT 10: progress is shown from the builder log"
    )
    return BuildPlan(
        trt_version=format_version(version),
        track=track(version),
        precision=request.precision,
        platform=request.platform,
        network_flags=network_flags,
        builder_flags=builder_flags,
        int8_mode=int8_mode,
        fp16_mode=fp16_mode,
        strongly_typed=strongly_typed,
        precision_constraints=constraints,
        dla_core=request.dla_core,
        plugin_actions=actions,
        plugin_libraries=tuple(request.plugin_libraries),
        load_trt_plugins=any(a.action == "load_trt" for a in actions),
        progress_monitor=progress,
        translate_uff=translate_uff,
        reasons=tuple(notes.reasons),
        warnings=tuple(notes.warnings),
    )


# The one TensorRT 11 release with a JetPack build: 11.4.1 "supports NVIDIA JetPack 7.2.2 or later on Jetson AGX
# Orin and Jetson Thor" (its Jetson migration page); 11.0-11.4.0 and 11.5.0 do not (theirs), so Jetson stays
# on 10.x or takes exactly this one (docs/versions.md).
JETPACK_TENSORRT_11 = (11, 4, 1)


def _check_request(request: BuildRequest, version: tuple[int, int, int]) -> None:
    if request.precision not in PRECISIONS:
        raise TaostreamError(
            f"unknown engine data type {request.precision!r} (-t / --precision): use one of {', '.join(PRECISIONS)}"
        )
    if request.platform not in PLATFORMS:
        raise TaostreamError(f"unknown platform {request.platform!r}: use one of {', '.join(PLATFORMS)}")
    if request.platform == "jetson" and version[0] >= 11 and version[:2] != JETPACK_TENSORRT_11[:2]:
        raise TaostreamError(
            f"TensorRT {format_version(version)} does not support JetPack: Jetson builds need TensorRT 10.x "
            "(JetPack 6 ships 10.3), or 11.4.1 on JetPack 7.2.2 or later; pass --trt-version 10.3 or build on the "
            "device (see docs/jetson.md)"
        )
    if request.platform == "jetson" and version[:2] == JETPACK_TENSORRT_11[:2] and version < JETPACK_TENSORRT_11:
        raise TaostreamError(
            f"TensorRT {format_version(version)} does not support JetPack; 11.4.1 (JetPack 7.2.2 or later) does: "
            "pass --trt-version 11.4.1 or 10.3"
        )
    if request.dla_core is not None:
        if request.dla_core < 0:
            raise TaostreamError(f"DLA core {request.dla_core} (-u / --dla-core) must be 0 or more")
        if request.platform != "jetson":
            raise TaostreamError(
                f"DLA core {request.dla_core} requested (-u / --dla-core) but the platform is {request.platform}: "
                f"only Jetson Xavier/Orin have DLA; drop {flag('dla_core')} or build on the Jetson"
            )
    if request.strongly_typed and version < (10, 0, 0):
        raise TaostreamError(
            f"strongly typed networks need TensorRT 10.0 or later (this is {format_version(version)}); "
            "drop --strongly-typed"
        )
    if request.precision == "int8" and not (
        request.model_has_qdq or request.calibration_cache or request.calibration_images
    ):
        how = "Q/DQ nodes on TensorRT 11" if version[0] >= 11 else "implicit calibration"
        raise TaostreamError(
            f"INT8 on TensorRT {format_version(version)} ({how}) needs scales: give an existing calibration "
            "cache (-c / --calibration-cache cal.bin, written by `tao export --cal_cache_file`) or a folder of "
            "calibration images (--calibration-images DIR)"
        )
    if request.keep_plugins and not request.plugin_libraries:
        raise TaostreamError(
            f"keeping plugins {', '.join(sorted(request.keep_plugins))} needs the library that provides them: "
            "pass --plugin-library lib.so"
        )


def _strongly_typed(request: BuildRequest, version, notes: _Notes) -> bool:
    if version[0] >= 11:
        notes.reasons.append("TensorRT 11 networks are always strongly typed: tensor types come from the ONNX")
        return True
    if request.strongly_typed:
        notes.reasons.append("strongly typed network requested (STRONGLY_TYPED, opt-in on TensorRT 10.x)")
        return True
    return False


def _int8_mode(request: BuildRequest, version, notes: _Notes) -> str:
    if request.precision != "int8":
        if request.calibration_cache:
            notes.warnings.append(f"the calibration cache is unused with precision {request.precision} "
                                  "(only INT8 reads it)")
        return "none"
    if request.model_has_qdq:
        notes.reasons.append("INT8: the model already carries Q/DQ nodes (explicit quantization); no calibrator")
        return "qdq_in_model"
    if version[0] >= 11:
        source = "cache" if request.calibration_cache else "images"
        notes.reasons.append(
            f"INT8 on TensorRT 11: implicit calibration is gone, so the {source} scales become "
            "QuantizeLinear/DequantizeLinear nodes in the ONNX (explicit quantization)"
        )
        return "qdq_from_cache" if request.calibration_cache else "qdq_from_images"
    if request.calibration_cache:
        notes.reasons.append("INT8: implicit calibration from the given cache (IInt8EntropyCalibrator2 reads it)")
        mode = "calibration_cache"
    else:
        notes.reasons.append(
            "INT8: implicit calibration over the images (IInt8EntropyCalibrator2), cache written to -c"
        )
        mode = "calibrator_images"
    if version >= (10, 1, 0):
        notes.warnings.append(
            "implicit INT8 calibration is deprecated since TensorRT 10.1 and removed in 11; "
            "the same cache becomes Q/DQ nodes for TensorRT 11"
        )
    return mode


def _fp16_mode(request: BuildRequest, version, strongly_typed: bool, notes: _Notes) -> str:
    if request.precision != "fp16":
        return "none"
    if strongly_typed:
        notes.reasons.append(
            "FP16 on a strongly typed network: the ONNX is converted to mixed precision first "
            f"(inputs, outputs and post-processing such as {', '.join(FP32_OPS[:2])} stay FP32); BuilderFlag.FP16 "
            + ("no longer exists" if version[0] >= 11 else "has no effect there")
        )
        return "mixed_precision_onnx"
    notes.reasons.append("FP16: BuilderFlag.FP16 lets TensorRT pick FP16 kernels where faster")
    return "builder_flag"


def _builder_flags(request: BuildRequest, version, strongly_typed: bool, notes: _Notes):
    # TF32 stays on as TensorRT's default (Polygraphy clears it unless asked), as tao-converter had it.
    flags: list[str] = ["TF32"]
    constraints = None
    if not strongly_typed:
        if request.precision == "fp16":
            flags.append("FP16")
        if request.precision == "int8":
            flags.append("INT8")  # as tao-converter and nvinfer do: layers without INT8 kernels run FP32
    if request.strict:
        if strongly_typed:
            notes.reasons.append(
                "strict types (-s): strongly typed networks already run every layer in its ONNX type; "
                "OBEY_PRECISION_CONSTRAINTS " + ("no longer exists" if version[0] >= 11 else "is not needed")
            )
        else:
            flags.append("OBEY_PRECISION_CONSTRAINTS")
            constraints = "obey"
            notes.reasons.append(
                "strict types (-s): OBEY_PRECISION_CONSTRAINTS (STRICT_TYPES was deprecated in 8.2 and "
                "removed in 10.0)"
            )
    if request.dla_core is not None:
        flags.append("GPU_FALLBACK")
        notes.reasons.append(
            f"DLA core {request.dla_core} as the default device, GPU_FALLBACK for layers DLA cannot run"
        )
        if request.precision == "fp32":
            notes.warnings.append("DLA runs FP16 and INT8 only: with fp32 every layer falls back to the GPU")
    missing = [f for f in flags if not builder_flag_exists(f, version)]
    if missing:  # a bug in this table, not a user error
        raise AssertionError(f"flags {missing} do not exist in TensorRT {format_version(version)}")
    return tuple(dict.fromkeys(flags)), constraints


def _network_flags(version, strongly_typed: bool, notes: _Notes) -> tuple[str, ...]:
    flags = []
    if version < (10, 0, 0):
        flags.append("EXPLICIT_BATCH")
        notes.reasons.append("EXPLICIT_BATCH network (required for ONNX on TensorRT 8.x; implied from 10.0)")
    if strongly_typed and version[0] == 10:
        flags.append("STRONGLY_TYPED")
    return tuple(flags)


def _plugin_actions(request: BuildRequest, version, notes: _Notes) -> tuple[PluginAction, ...]:
    target = track(version)
    replaced = _modernizer_replacements(request.modernization)
    actions = []
    for raw_op in sorted(request.model_ops):
        op = trt_support.plugin_op(raw_op)
        if op is None:
            continue
        info = trt_support.PLUGINS[op]
        status = info.trt.get(target, "removed")
        if op in request.keep_plugins or raw_op in request.keep_plugins:
            libs = ", ".join(request.plugin_libraries)
            actions.append(PluginAction(op, "load_library", libs, f"kept as asked; its creator must come from {libs}"))
        elif status == "removed" or op in replaced:
            why = replaced.get(op) or (
                f"TensorRT {target} no longer ships {op}; the modernizer rewrites it with standard ONNX ops"
                + (f" ({info.replacement})" if info.replacement else "")
            )
            actions.append(PluginAction(op, "replace", "taostream.converter.modernize.apply", why))
        else:
            why = f"TensorRT {target} ships {op} in libnvinfer_plugin ({status})"
            actions.append(PluginAction(op, "load_trt", "libnvinfer_plugin (trt.init_libnvinfer_plugins)", why))
            if status == "deprecated":
                notes.warnings.append(f"{op} is deprecated in TensorRT {target}; `taostream modernize` can replace it")
    for action in actions:
        notes.reasons.append(f"{action.op}: {action.reason}")
    for library in request.plugin_libraries:
        notes.reasons.append(f"plugin library {library} is loaded before parsing (IPluginRegistry.load_library)")
    return tuple(actions)


def _modernizer_replacements(rows) -> dict[str, str]:
    """op -> reason for the rows of plan_modernization() whose action replaces the node."""
    replaced = {}
    for row in rows or ():
        op, action, reason = row[1], str(row[2]), str(row[3])
        if action.startswith("replace"):
            replaced[trt_support.plugin_op(op) or op] = reason
    return replaced


def _platform_notes(request: BuildRequest, version, notes: _Notes) -> None:
    if request.platform == "jetson":
        notes.reasons.append(
            f"Jetson: TensorRT {format_version(version)} from JetPack; the engine only runs on the same "
            "JetPack/TensorRT and Jetson module it was built on"
        )
    elif version[0] == 10 and request.precision == "int8" and not request.model_has_qdq:
        notes.reasons.append("keep the plugin graph and cache for Jetson; TensorRT 11 hosts need the Q/DQ graph")
