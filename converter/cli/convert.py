"""`taostream convert MODEL -o ENGINE ...`: tao-converter's job with friendlier option names.

Both commands build the same BuildSettings and run the same pipeline (tao_converter.convert).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from taostream.converter.engine.adapt import parse_trt_version
from taostream.converter.engine.build import (
    DEFAULT_CALIBRATION_BATCH, DEFAULT_MAX_BATCH, BuildSettings, parse_profile, parse_workspace,
)
from taostream.converter import option_names
from taostream.converter.errors import TaostreamError
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.numeric_inputs import require_batch_size, require_dla_core
from taostream.converter.cli.tao_converter import (
    INPUT_ORDERS, check_profiles, convert, needs_key, parse_dims, parse_precision,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="build a TensorRT engine from a TAO model (.etlt/.onnx/.uff), like tao-converter",
        description="Build a TensorRT engine from a TAO/TLT model; the plan (plugins, flags, INT8 route) "
        "is printed before the build. Without TensorRT, --dry-run --trt-version X shows the plan.",
    )
    parser.add_argument("model", help="the model: .etlt (needs the key), .onnx or .uff")
    parser.add_argument("-o", "--output", required=True, metavar="ENGINE", help="engine file to write")
    add_key_arguments(parser, required=False)
    parser.add_argument("--precision", default="fp32", help="fp32, fp16 or int8 (default fp32)")
    parser.add_argument("--input-dims", metavar="C,H,W", help="per-sample input dims (default: from the model)")
    parser.add_argument("--input-order", default="nchw", choices=INPUT_ORDERS, help="order of --input-dims")
    parser.add_argument("--outputs", metavar="NAMES", help="comma-separated output names to check")
    batch = parser.add_argument_group("batch / optimization profile")
    batch.add_argument("--batch", "--max", dest="max_batch", type=int, default=DEFAULT_MAX_BATCH,
                       help=f"maximum batch (default {DEFAULT_MAX_BATCH})")
    batch.add_argument("--min", dest="min_batch", type=int, default=1, help="minimum batch (default 1)")
    batch.add_argument("--opt", dest="opt_batch", type=int, help="batch to tune for (default: the maximum)")
    batch.add_argument("--profile", action="append", default=[], metavar="NAME,MIN,OPT,MAX",
                       help="explicit profile, e.g. input_1,1x3x544x960,4x3x544x960,16x3x544x960")
    parser.add_argument("--workspace", default="1G", help="workspace limit: bytes, 1<<30 or 1G (default 1G)")
    parser.add_argument("--dla-core", type=int, help="run on this DLA core with GPU fallback (Jetson)")
    parser.add_argument("--strict", action="store_true", help="obey precision constraints (tao-converter -s)")
    parser.add_argument("--strongly-typed", action="store_true", help="strongly typed network (TensorRT 10; always on 11)")
    int8 = parser.add_argument_group("INT8")
    int8.add_argument("--calibration-cache", metavar="CAL", help="calibration cache (cal.bin) to use, or to write")
    int8.add_argument("--calibration-images", metavar="DIR", help="calibrate on these images")
    int8.add_argument("--calibration-batch-size", type=int, default=DEFAULT_CALIBRATION_BATCH, help="images per batch")
    int8.add_argument("--calibration-batches", type=int, metavar="N", help="at most N batches")
    parser.add_argument("--timing-cache", metavar="FILE", help="TensorRT timing cache to read and update")
    parser.add_argument("--plugin-library", action="append", default=[], metavar="LIB", help="plugin library (repeatable)")
    parser.add_argument("--keep-plugins", nargs="+", default=[], metavar="OP",
                        help="keep these plugin ops (their creators come from --plugin-library)")
    parser.add_argument("--network", help="registry network name when it cannot be recognised")
    parser.add_argument("--trt-version", metavar="X.Y", help="plan for this TensorRT version")
    parser.add_argument("--platform", choices=("x86", "jetson"), help="target platform (default: this host)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan only")
    parser.add_argument("--force", action="store_true", help="rebuild even if the existing engine matches")
    parser.set_defaults(func=run)


def settings_from_convert_args(args: argparse.Namespace) -> BuildSettings:
    dims = parse_dims(args.input_dims, args.input_order)
    profiles = tuple(parse_profile(p) for p in args.profile)
    check_profiles(profiles, dims)
    flags = {"max_batch": "--batch", "min_batch": "--min", "opt_batch": "--opt",
             "calibration_batch_size": "--calibration-batch-size"}
    for name, flag in flags.items():
        if getattr(args, name) is not None:
            require_batch_size(getattr(args, name), flag, per_sample=dims)
    require_dla_core(args.dla_core)
    if args.opt_batch and not args.min_batch <= args.opt_batch <= args.max_batch:
        raise TaostreamError(f"need --min <= --opt <= --batch, got {args.min_batch}, {args.opt_batch}, {args.max_batch}")
    if args.min_batch > args.max_batch:
        raise TaostreamError(f"--min {args.min_batch} is larger than --batch {args.max_batch}")
    return BuildSettings(
        model=args.model,
        engine=args.output,
        output_nodes=tuple(o.strip() for o in (args.outputs or "").split(",") if o.strip()),
        input_dims=dims,
        input_order=args.input_order,
        precision=parse_precision(args.precision),
        calibration_cache=args.calibration_cache,
        calibration_images=args.calibration_images,
        calibration_batch_size=args.calibration_batch_size,
        calibration_batches=args.calibration_batches,
        max_batch=args.max_batch,
        min_batch=args.min_batch,
        opt_batch=args.opt_batch,
        workspace=parse_workspace(args.workspace),
        profiles=profiles,
        strict=args.strict,
        strongly_typed=args.strongly_typed,
        dla_core=args.dla_core,
        timing_cache=args.timing_cache,
        plugin_libraries=tuple(args.plugin_library),
        keep_plugins=tuple(args.keep_plugins),
        network=args.network,
        trt_version=args.trt_version,
        platform=args.platform,
        dry_run=args.dry_run,
        force=args.force,
    )


def run(args: argparse.Namespace) -> int:
    with option_names.quoting(option_names.CONVERT):  # messages name --input-dims, not tao-converter's -d
        settings = settings_from_convert_args(args)
        key = resolve_key(args, required=needs_key(settings.model), model=settings.model)
        return convert(settings, key)


PLUGIN_ROUTE_MODEL = "model_trt10.onnx"  # the bundle's plugin graph for TensorRT <= 10 (Jetson)


def engine_file_name(model_stem: str, batch: int, precision: str, dla_core: int | None) -> str:
    """DeepStream's own naming: <model>_b<batch>_<gpu0|dlaN>_<precision>.engine."""
    device = f"dla{dla_core}" if dla_core is not None else "gpu0"
    return f"{model_stem}_b{batch}_{device}_{precision}.engine"


def bundle_convert_argv(manifest: dict, bundle: str, trt_version: str, dla_core: int | None = None,
                        platform: str = "jetson") -> list[str]:
    """`taostream convert` arguments that build a bundle's model on the device running TensorRT
    ``trt_version``: the plugin graph and calibration cache on TensorRT <= 10 (Jetson), the
    modernized model.onnx (Q/DQ for INT8) on TensorRT 11."""
    root = Path(bundle)
    try:
        files = {entry["path"] for entry in manifest["files"]}
        precision, batch = manifest["precision"], int(manifest["batch_size"])
        dims = manifest["input"]["dims_chw"]
        order = manifest["input"].get("order", "NCHW")
    except (KeyError, TypeError, ValueError) as exc:
        raise TaostreamError(f"{root / 'manifest.json'}: missing or malformed field {exc}; recreate the bundle") from None
    legacy = parse_trt_version(trt_version)[0] <= 10
    model = PLUGIN_ROUTE_MODEL if legacy and PLUGIN_ROUTE_MODEL in files else "model.onnx"
    if model not in files:
        raise TaostreamError(f"{root / 'manifest.json'}: lists no {model}; recreate the bundle with `taostream bundle`")
    c, h, w = dims
    argv = [str(root / model), "-o", str(root / "engines" / engine_file_name(Path(model).stem, batch, precision, dla_core)),
            "--precision", precision, "--batch", str(batch), "--trt-version", trt_version,
            "--input-dims", f"{h},{w},{c}" if order == "NHWC" else f"{c},{h},{w}",
            "--input-order", "nhwc" if order == "NHWC" else "nchw"]
    if manifest.get("network"):
        argv += ["--network", manifest["network"]]
    if precision == "int8" and legacy and model == PLUGIN_ROUTE_MODEL:
        if "calibration.bin" not in files:
            raise TaostreamError(f"{root}: an INT8 plugin-graph bundle needs calibration.bin; recreate it with --calibration-cache")
        argv += ["--calibration-cache", str(root / "calibration.bin")]
    if dla_core is not None:
        argv += ["--dla-core", str(dla_core)]
    return argv + ["--platform", platform]
