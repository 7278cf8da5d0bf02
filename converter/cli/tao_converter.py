"""`tao-converter`: NVIDIA's documented command line, doing the same job on today's TensorRT.

    tao-converter [-h] -k KEY [-d DIMS] [-o OUTPUTS] [-c CAL] [-e ENGINE] [-b CAL_BATCH] [-m MAX_BATCH]
                  [-t fp32|fp16|int8] [-w WORKSPACE] [-i nchw|nhwc|nc] [-p NAME,MIN,OPT,MAX]... [-s] [-u DLA]
                  input_file

(TLT 2.0 guide section 13.2; -p, -s and -u from later tao-converter releases.) Extras: --key-file and
$TAOSTREAM_KEY for the key, --calibration-images, --timing-cache, --plugin-library, --trt-version
(plan without TensorRT), --dry-run (print the plan, build nothing), --force (rebuild a reusable engine).

The pipeline, shared with `taostream convert`: decode the .etlt, translate UFF to ONNX, check the
outputs and shapes, plan for the TensorRT at hand (trt_adapt), modernize plugins it lacks, turn INT8
scales into Q/DQ or FP16 into a mixed-precision graph where TensorRT 11 needs it, build with
Polygraphy, and write the engine with its metadata. Every step before the build runs without a GPU.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from taostream.converter.engine import build as engine_module
from taostream.converter.engine.build import (
    DEFAULT_CALIBRATION_BATCH, DEFAULT_MAX_BATCH, DEFAULT_WORKSPACE, BuildSettings, OptimizationProfile, batch_profile,
    host_platform_name, installed_trt_version, parse_profile, parse_workspace,
)
from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import check_output_file, sha256_file
from taostream.converter.keys import KEY_ENV, add_key_arguments, resolve_key
from taostream.converter.model.etlt import ONNX, UFF, detect_payload_format, read_etlt
from taostream.converter.numeric_inputs import MAX_DLA_CORE, require_batch_size
from taostream.converter.option_names import flag
from taostream.converter.engine.adapt import PRECISIONS, BuildPlan, BuildRequest, parse_trt_version, plan_build, track
from taostream.converter.registry import get_network, recognise, require_model_network
from taostream.converter.trt_support import plugin_op

INPUT_ORDERS = ("nchw", "nhwc", "nc")
PROG = "tao-converter"


# ---- command line -> BuildSettings (pure) ---------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build a TensorRT engine from a TAO/TLT model (.etlt, .onnx or .uff), "
        "accepting tao-converter's command line.",
    )
    parser.add_argument("input_file", help="the model exported by tao/tlt export (.etlt), or .onnx/.uff")
    add_key_arguments(parser, required=False)
    parser.add_argument("-d", dest="input_dims", help="input dimensions, comma separated, e.g. 3,544,960")
    parser.add_argument("-o", dest="outputs", help="comma-separated output blob names, e.g. output_cov/Sigmoid,output_bbox/BiasAdd")
    parser.add_argument("-c", dest="cal_cache", help="INT8 calibration cache (default ./cal.bin)")
    parser.add_argument("-e", dest="engine", default="./saved.engine", help="engine to write (default ./saved.engine)")
    parser.add_argument("-b", dest="cal_batch", default=str(DEFAULT_CALIBRATION_BATCH), help="calibration batch size (default 8)")
    parser.add_argument("-m", dest="max_batch", help=f"maximum batch size of the engine (default {DEFAULT_MAX_BATCH})")
    parser.add_argument("-t", dest="data_type", default="fp32", help="engine data type: fp32, fp16 or int8 (default fp32)")
    parser.add_argument("-w", dest="workspace", default=str(DEFAULT_WORKSPACE), help="maximum workspace in bytes (default 1<<30)")
    parser.add_argument("-i", dest="input_order", default="nchw", help="input dimension ordering: nchw, nhwc or nc")
    parser.add_argument("-p", dest="profiles", action="append", default=[], metavar="NAME,MIN,OPT,MAX",
                        help="optimization profile, e.g. input_1,1x3x544x960,4x3x544x960,16x3x544x960 (repeat per input)")
    parser.add_argument("-s", dest="strict", action="store_true", help="strict type constraints (INT8)")
    parser.add_argument("-u", dest="dla_core", default="-1", help="DLA core to use (default -1: none; GPU fallback allowed)")
    extras = parser.add_argument_group("taostream extensions")
    extras.add_argument("--calibration-images", metavar="DIR", help="calibrate INT8 on these images instead of a cache")
    extras.add_argument("--calibration-batches", type=int, metavar="N", help="use at most N calibration batches")
    extras.add_argument("--timing-cache", metavar="FILE", help="TensorRT timing cache to read and update")
    extras.add_argument("--plugin-library", action="append", default=[], metavar="LIB", help="plugin library to load (repeatable)")
    extras.add_argument("--network", help="the network (registry name) when it cannot be recognised from the model")
    extras.add_argument("--trt-version", metavar="X.Y", help="plan for this TensorRT version (no TensorRT needed with --dry-run)")
    extras.add_argument("--platform", choices=("x86", "jetson"), help="target platform (default: this host)")
    extras.add_argument("--dry-run", action="store_true", help="print the build plan and exit without building")
    extras.add_argument("--force", action="store_true", help="rebuild even if the existing engine matches")
    return parser


def parse_dims(text: str | None, order: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise TaostreamError(f"input dimensions {text!r} ({flag('input_dims')}) must be positive integers, comma separated, e.g. 3,544,960")
    expected = 1 if order == "nc" else 3
    if len(parts) != expected:
        raise TaostreamError(
            f"input dimensions {text!r} ({flag('input_dims')}) have {len(parts)} values; {flag('input_order')} {order} "
            f"needs {expected} "
            f"({'C' if order == 'nc' else 'C,H,W' if order == 'nchw' else 'H,W,C'}, without the batch)"
        )
    return tuple(int(p) for p in parts)


def parse_precision(text: str) -> str:
    value = text.strip().lower()
    if value not in PRECISIONS:
        raise TaostreamError(f"unknown engine data type {text!r} ({flag('precision')}): use one of {', '.join(PRECISIONS)}")
    return value


def parse_positive(text: str | int, what: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise TaostreamError(f"{what} must be a whole number, got {text!r}") from None
    if value < 1:
        raise TaostreamError(f"{what} must be 1 or more, got {value}")
    return value


def parse_dla_core(text: str | int | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise TaostreamError(f"DLA core ({flag('dla_core')}) must be a number (0, 1, or -1 for none), got {text!r}") from None
    if value < -1:
        raise TaostreamError(f"DLA core ({flag('dla_core')}) must be 0 or more, or -1 for none; got {value}")
    if value > MAX_DLA_CORE:
        raise TaostreamError(f"DLA core ({flag('dla_core')}) {value}: no Jetson has it (Xavier and Orin have cores 0 "
                             "and 1); use 0 or 1, or -1 for none")
    return None if value == -1 else value


def check_profiles(profiles: tuple[OptimizationProfile, ...], dims: tuple[int, ...] | None) -> None:
    """-p shapes must describe the same per-sample dims as -d, and name each input once."""
    names = [p.input_name for p in profiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TaostreamError(f"optimization profile ({flag('profile')}) given twice for input {', '.join(duplicates)}")
    if dims is None:
        return
    for profile in profiles:
        for label, shape in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
            if tuple(shape[1:]) != tuple(dims):
                raise TaostreamError(
                    f"optimization profile for {profile.input_name} ({flag('profile')}): {label} shape "
                    f"{'x'.join(map(str, shape))} does not match the input dimensions {flag('input_dims')} "
                    f"{','.join(map(str, dims))} (a profile shape is the batch followed by exactly those dims)"
                )


def settings_from_args(args: argparse.Namespace) -> BuildSettings:
    """tao-converter's arguments -> BuildSettings (pure: reads no file)."""
    order = args.input_order.strip().lower()
    if order not in INPUT_ORDERS:
        raise TaostreamError(f"unknown input dimension ordering {args.input_order!r} (-i): use nchw, nhwc or nc")
    dims = parse_dims(args.input_dims, order)
    precision = parse_precision(args.data_type)
    profiles = tuple(parse_profile(p) for p in args.profiles)
    check_profiles(profiles, dims)
    max_batch = parse_positive(args.max_batch, "maximum batch size (-m)") if args.max_batch else DEFAULT_MAX_BATCH
    require_batch_size(max_batch, "maximum batch size (-m)", per_sample=dims)
    if profiles and args.max_batch and all(p.max[0] != max_batch for p in profiles):
        raise TaostreamError(
            f"maximum batch size -m {max_batch} disagrees with the optimization profile's max batch "
            f"{profiles[0].max[0]} (-p); drop -m or make them equal"
        )
    cal_cache = args.cal_cache
    if precision == "int8" and cal_cache is None and not args.calibration_images:
        cal_cache = "./cal.bin"  # tao-converter's documented default
    return BuildSettings(
        model=args.input_file,
        engine=args.engine,
        output_nodes=tuple(o.strip() for o in (args.outputs or "").split(",") if o.strip()),
        input_dims=dims,
        input_order=order,
        precision=precision,
        calibration_cache=cal_cache,
        calibration_images=args.calibration_images,
        calibration_batch_size=parse_positive(args.cal_batch, "calibration batch size (-b)"),
        calibration_batches=args.calibration_batches,
        max_batch=max_batch,
        workspace=parse_workspace(args.workspace),
        profiles=profiles,
        strict=bool(args.strict),
        dla_core=parse_dla_core(args.dla_core),
        timing_cache=args.timing_cache,
        plugin_libraries=tuple(args.plugin_library),
        network=args.network,
        trt_version=args.trt_version,
        platform=args.platform,
        dry_run=bool(args.dry_run),
        force=bool(args.force),
    )


def parse_command_line(argv: list[str]) -> tuple[BuildSettings, argparse.Namespace]:
    args = build_parser().parse_args(argv)
    return settings_from_args(args), args


# ---- the pipeline ---------------------------------------------------------------------------------


@dataclass
class LoadedModel:
    model: object  # onnx.ModelProto
    source_format: str  # onnx | uff
    sha256: str  # of the file the user gave


def needs_key(path: str) -> bool:
    return Path(path).suffix.lower() in (".etlt", ".tlt")


def load_model(settings: BuildSettings, key: str | None) -> LoadedModel:
    """Decode/translate the input into an ONNX ModelProto."""
    import onnx  # lazy: heavy

    path = Path(settings.model)
    if not path.is_file():
        raise TaostreamError(f"{path}: the input model does not exist")
    if needs_key(str(path)):
        payload = read_etlt(path, key or "", key_flag=flag("key"))  # -k, or --key in `taostream convert`
        fmt, data, input_name = payload.format, payload.data, payload.input_name
    else:
        data = path.read_bytes()
        fmt, input_name = detect_payload_format(data), None
        if fmt is None:
            raise TaostreamError(f"{path}: neither an .etlt, an ONNX model nor a UFF graph")
    if fmt == UFF:
        model = translate_uff(data, input_name, source=str(path))
    else:
        try:
            model = onnx.load_from_string(data)
        except Exception as exc:  # protobuf raises several types for corrupt input
            raise TaostreamError(f"{path}: the ONNX model does not parse ({exc})") from None
    return LoadedModel(model=model, source_format=fmt if fmt in (ONNX, UFF) else ONNX, sha256=sha256_file(path))


def translate_uff(data: bytes, input_name: str | None, source: str):
    try:
        uff_to_onnx = importlib.import_module("taostream.converter.uff.to_onnx").uff_to_onnx
    except (ModuleNotFoundError, AttributeError) as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name != "taostream.converter.uff.to_onnx":
            raise
        raise TaostreamError(
            f"{source}: this is a UFF model (TLT 2.0/3.0) and TensorRT 9+ has no UFF parser; it must be "
            "translated to ONNX, but this taostream build lacks the UFF translator "
            "(taostream.converter.uff.to_onnx). Upgrade taostream, or re-export the model to ONNX with TAO 4+"
        ) from None
    return uff_to_onnx(data, input_name=input_name, source=source)


def graph_summary(model) -> tuple[dict[str, list], list[str], frozenset[str], bool]:
    """(inputs name -> shape with None for dynamic dims, output names, op types, has Q/DQ)."""
    from taostream.converter.model.inspection import graph_inputs  # lazy: CLI start-up

    inputs = {}
    for value in graph_inputs(model):
        dims = value.type.tensor_type.shape.dim
        inputs[value.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    outputs = [o.name for o in model.graph.output]
    ops = frozenset(n.op_type for n in model.graph.node)
    has_qdq = bool({"QuantizeLinear", "DequantizeLinear"} & ops)
    return inputs, outputs, ops, has_qdq


def check_outputs(requested: tuple[str, ...], outputs: list[str], source: str) -> None:
    def bare(name: str) -> str:
        return name.split(":")[0]

    available = {bare(o) for o in outputs}
    missing = [r for r in requested if bare(r) not in available]
    if missing:
        raise TaostreamError(
            f"{source}: output blob(s) {', '.join(missing)} ({flag('outputs')}) are not outputs of the model; "
            f"its outputs are {', '.join(outputs)}"
        )


def resolve_profiles(settings: BuildSettings, inputs: dict[str, list], source: str) -> tuple[OptimizationProfile, ...]:
    """Profiles from -p, else a dynamic-batch profile from -d (or the model's dims) and -m."""
    for profile in settings.profiles:
        if profile.input_name not in inputs:
            raise TaostreamError(
                f"{source}: optimization profile input {profile.input_name!r} ({flag('profile')}) is not an input of the model; "
                f"its inputs are {', '.join(inputs)}"
            )
        _check_against_model(profile.input_name, profile.max, inputs[profile.input_name], source)
    if settings.profiles:
        return settings.profiles
    if len(inputs) != 1:
        raise TaostreamError(f"{source}: the model has {len(inputs)} inputs; give one {flag('profile')} profile per input")
    (name, shape), = inputs.items()
    if settings.input_order == "nhwc" and len(shape) == 4 and shape[1] in (1, 3) and shape[3] not in (1, 3):
        raise TaostreamError(  # -d is compared in the model's own layout: an NHWC reading of it misleads
            f"{source}: {flag('input_order')} nhwc, but input {name} is NCHW {shape}: drop {flag('input_order')} "
            f"(or give {flag('input_order')} nchw) and give {flag('input_dims')} as C,H,W, e.g. "
            f"{','.join(str(d) for d in shape[1:])}")
    dims = settings.input_dims or tuple(shape[1:])
    if settings.input_dims is not None:
        _check_against_model(name, (1, *settings.input_dims), shape, source, dims=True)
    if any(d is None for d in dims):
        raise TaostreamError(
            f"{source}: input {name} has dynamic dimensions {shape}; give them with {flag('input_dims')} C,H,W or "
            f"{flag('profile')}"
        )
    if shape and shape[0] is not None and shape[0] < settings.max_batch:
        raise TaostreamError(
            f"{source}: input {name} has a fixed batch of {shape[0]}, so the engine cannot take batch "
            f"{settings.max_batch} ({flag('max_batch')}); re-export with a dynamic batch or pass {flag('max_batch')} {shape[0]}"
        )
    max_batch = settings.max_batch if not shape or shape[0] is None else shape[0]
    return (batch_profile(name, tuple(dims), max_batch, min(settings.min_batch, max_batch),
                          min(settings.opt_batch, max_batch) if settings.opt_batch else None),)


def _check_against_model(name, shape, model_shape, source, dims=False):
    """``shape`` (batch first) from a profile, or from the input dimensions when ``dims``."""
    option = flag("input_dims") if dims else flag("profile")
    if len(shape) != len(model_shape):
        raise TaostreamError(
            f"{source}: input {name} has rank {len(model_shape)} ({model_shape}) but {option} gives "
            f"{len(shape) - 1 if dims else len(shape)} dimensions"
        )
    for axis, (want, have) in enumerate(zip(shape, model_shape)):
        if axis == 0 and dims:
            continue
        if have is not None and want != have:
            raise TaostreamError(
                f"{source}: input {name} dimension {axis} is {have} in the model but {want} in {option}; "
                f"the model's input shape is {model_shape}"
            )


def target_version(settings: BuildSettings, platform: str) -> tuple[str, str]:
    """(version to plan for, where it came from)."""
    if settings.trt_version:
        return settings.trt_version, "--trt-version"
    installed = installed_trt_version()
    if installed:
        return installed, "installed"
    default = "10.3" if platform == "jetson" else "11.0"
    return default, "the default: TensorRT is not installed; pass --trt-version to choose"


def modernization_rows(model, target: str, keep_plugins: tuple[str, ...] = ()) -> tuple:
    """converter.modernize's plan, (node, op, action, reason) rows, when that module exists; else ()
    and trt_support's table decides."""
    try:
        # lazy: optional (a build without converter.modernize)
        from taostream.converter.modernize.apply import plan_modernization
    except ModuleNotFoundError as exc:
        if exc.name != "taostream.converter.modernize.apply":
            raise
        return ()
    return tuple(plan_modernization(model, target, keep_plugins=set(keep_plugins) or False))


def make_plan(settings: BuildSettings, loaded: LoadedModel, ops, has_qdq: bool, out) -> BuildPlan:
    platform = settings.platform or host_platform_name()
    version, origin = target_version(settings, platform)
    cache_ok = bool(settings.calibration_cache) and Path(settings.calibration_cache).is_file()
    if (settings.precision == "int8" and settings.calibration_cache and not cache_ok
            and not settings.calibration_images and not has_qdq):
        raise TaostreamError(
            f"{settings.calibration_cache}: the INT8 calibration cache ({flag('calibration_cache')}) does not exist; give the cal.bin "
            "written by `tao export --cal_cache_file`, or images with --calibration-images DIR"
        )
    rows = ()
    if any(_is_plugin(op) for op in ops):
        rows = modernization_rows(loaded.model, track(parse_trt_version(version)), settings.keep_plugins)
    request = BuildRequest(
        trt_version=version, precision=settings.precision, platform=platform, model_ops=frozenset(ops),
        model_has_qdq=has_qdq, source_format=loaded.source_format, calibration_cache=cache_ok,
        calibration_images=bool(settings.calibration_images), strict=settings.strict,
        strongly_typed=settings.strongly_typed, dla_core=settings.dla_core,
        plugin_libraries=settings.plugin_libraries, keep_plugins=frozenset(settings.keep_plugins),
        modernization=rows,
    )
    plan = plan_build(request)
    print(f"TensorRT version: {plan.trt_version} ({origin})", file=out)
    mismatch = bundle_tensorrt_mismatch(Path(settings.model), platform, plan.trt_version)
    if mismatch:
        print(f"taostream: warning: {mismatch}", file=sys.stderr)
    return plan


def bundle_tensorrt_mismatch(model: Path, platform: str, trt_version: str) -> str | None:
    """Why an engine of ``model`` (a file of a `taostream bundle` folder) built for TensorRT ``trt_version``
    would not load where the bundle deploys it on ``platform``, or None. An engine runs only on the
    TensorRT release that built it; the bundle's manifest.json lists its targets' TensorRT versions."""
    manifest_file = model.parent / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        targets = [t for t in manifest["targets"] if t.get("platform") == platform and t.get("model") == model.name]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # not a bundle's model (or not one taostream can read): nothing to compare
    for target in targets:
        wanted = str(target.get("tensorrt", ""))
        if wanted and wanted.split(".")[:2] != str(trt_version).split(".")[:2]:
            short = ".".join(wanted.split(".")[:2])
            on_device = f", or on the device: scripts/jetson_build.sh --bundle {model.parent}" if platform == "jetson" else ""
            return (f"{model}: the bundle targets DeepStream {target.get('deepstream')} on {platform}, which runs "
                    f"TensorRT {wanted}; an engine built for TensorRT {trt_version} does not load there: build with "
                    f"--trt-version {short}{on_device}")
    return None


def _is_plugin(op: str) -> bool:
    return plugin_op(op) is not None


def choose_network(settings: BuildSettings, inputs, outputs, ops):
    if settings.network:
        return require_model_network(get_network(settings.network), list(inputs), outputs, set(ops),
                                     source=str(settings.model))
    network = recognise(list(inputs), outputs, set(ops))
    if network is None:
        raise TaostreamError(
            f"{settings.model}: cannot tell which network this is (needed for calibration preprocessing); "
            "pass --network NAME (e.g. detectnet_v2, yolo_v4)"
        )
    return network


def convert(settings: BuildSettings, key: str | None, out=None) -> int:
    """Run the whole pipeline; returns the exit code (0 also for --dry-run and a reused engine)."""
    out = out if out is not None else sys.stdout
    # the engine is replaced (or reused) as before, but never a folder, the model itself or an unwritable place
    check_output_file(settings.engine, force=True, option=flag("engine"), inputs=(settings.model,))
    loaded = load_model(settings, key)
    inputs, outputs, ops, has_qdq = graph_summary(loaded.model)
    check_outputs(settings.output_nodes, outputs, settings.model)
    # A --network the model contradicts is refused before anything else happens.
    named = choose_network(settings, inputs, outputs, ops) if settings.network else None
    settings = replace(settings, profiles=resolve_profiles(settings, inputs, settings.model))
    plan = make_plan(settings, loaded, ops, has_qdq, out)
    print(plan.explain(), file=out)
    print("optimization profiles: " + "; ".join(str(p) for p in settings.profiles), file=out)
    if plan.int8_mode == "calibration_cache" or (settings.dry_run and plan.int8_mode == "qdq_from_cache"):
        from taostream.converter.engine.prep import check_cache_fits  # lazy: CLI start-up

        check_cache_fits(loaded.model, settings.calibration_cache)  # the Q/DQ route checks it as it inserts
    if plan.int8_mode == "calibration_cache":
        from taostream.converter.engine.prep import describe_renamed, implicit_route_cache  # lazy: CLI start-up

        renamed = implicit_route_cache(loaded.model, settings.calibration_cache, plan.trt_version)[1]
        if renamed:
            print(describe_renamed(renamed, settings.calibration_cache), file=out)
    if settings.dry_run:
        print(f"dry run: would write {settings.engine} and {settings.engine}.json", file=out)
        return 0
    from taostream.converter.engine.prep import prepare_model  # lazy: CLI start-up

    network = None
    if plan.int8_mode in ("calibrator_images", "qdq_from_images"):
        network = named or choose_network(settings, inputs, outputs, ops)
    model = prepare_model(loaded.model, plan, settings, network, out)
    environment = engine_module.gpu_environment()  # fails here, naming the gpu extra, without TensorRT
    check_planned_version(plan, environment["trt_version"])
    calibration_sha = (
        sha256_file(settings.calibration_cache)
        if settings.precision == "int8" and settings.calibration_cache and os.path.isfile(settings.calibration_cache)
        else None
    )
    current = dict(environment, model_sha256=loaded.sha256, precision=plan.precision,
                   calibration_sha256=calibration_sha, build=settings.fingerprint())
    if Path(settings.engine).exists() and not settings.force:
        ok, reason = engine_module.engine_reusable(engine_module.read_metadata(settings.engine), current)
        print(("reusing " if ok else "rebuilding ") + f"{settings.engine}: {reason}", file=out)
        if ok:
            return 0
    engine_bytes = _build(model, plan, settings, network, engine_module)
    meta = engine_module.engine_metadata(plan, settings, environment, loaded.sha256, calibration_sha)
    engine_module.write_engine(settings.engine, engine_bytes, meta)
    print(f"wrote {settings.engine} ({len(engine_bytes)} bytes) and {engine_module.metadata_path(settings.engine)}", file=out)
    return 0


def chw_dims(sample_shape, network) -> tuple[int, int, int]:
    """The (C, H, W) preprocess_image wants, from the per-sample input shape in the model's order."""
    shape = tuple(sample_shape)
    if len(shape) != 3:
        raise TaostreamError(f"image calibration needs a 3-D image input per sample, got {shape}")
    return (shape[2], shape[0], shape[1]) if network.input_order == "NHWC" else shape


def check_planned_version(plan: BuildPlan, installed: str) -> None:
    """A plan made with --trt-version for another TensorRT line cannot be built with this one."""
    if track(parse_trt_version(installed)) != plan.track:
        raise TaostreamError(
            f"the plan is for TensorRT {plan.trt_version} (--trt-version) but TensorRT {installed} is installed; "
            "drop --trt-version to build here, or use --dry-run to only plan for the other version"
        )


def _build(model, plan: BuildPlan, settings: BuildSettings, network, engine_module) -> bytes:
    import onnx  # lazy: heavy

    calibration = shape = None
    if plan.int8_mode == "calibrator_images":
        profile = settings.profiles[0]
        shape = (settings.calibration_batch_size, *profile.opt[1:])
        images = engine_module.list_calibration_images(settings.calibration_images)
        batches = engine_module.calibration_batches(images, settings.calibration_batch_size, settings.calibration_batches)
        calibration = engine_module.preprocess_batches(batches, network, chw_dims(profile.opt[1:], network))
    with tempfile.TemporaryDirectory(prefix="taostream-build-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        onnx.save(model, str(onnx_path))  # a path lets TensorRT's parser find external weights
        return engine_module.build_engine(onnx_path, plan, replay_settings(model, plan, settings, Path(tmp)),
                                          calibration, shape)


def replay_settings(model, plan: BuildPlan, settings: BuildSettings, folder: Path) -> BuildSettings:
    """``settings`` whose calibration cache, on the implicit route, is the given one restated for
    ``model`` in ``folder`` (prep.implicit_route_cache): the calibrator replays that file."""
    if plan.int8_mode != "calibration_cache":
        return settings
    from taostream.converter.engine.prep import implicit_route_cache  # lazy: CLI start-up

    path = folder / "calibration.cache"
    path.write_text(implicit_route_cache(model, settings.calibration_cache, plan.trt_version)[0])
    return replace(settings, calibration_cache=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        key = resolve_key(args, required=needs_key(settings.model), model=settings.model,
                          key_flag=flag("key"))
        return convert(settings, key)
    except TaostreamError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["BuildSettings", "build_parser", "settings_from_args", "parse_command_line", "convert", "main", "KEY_ENV"]
