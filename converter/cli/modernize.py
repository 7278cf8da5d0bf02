"""`taostream modernize`: a TAO model (.onnx or .etlt) -> an ONNX graph TensorRT 8.6/10/11 or ONNX
Runtime can run, plugins the target lacks replaced by standard ops, optionally INT8 as Q/DQ.
`taostream calibration`: summarize TensorRT calibration caches (version, tensors, scale range)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_bytes, check_input_file, check_output_file
from taostream.converter.int8.calib_cache import (
    CalibrationCache, header_for, read_calibration_cache, write_calibration_cache,
)
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.model.loader import load_onnx_model, needs_key, open_model
from taostream.converter.registry import get_network, recognise, require_model_network
from taostream.converter.trt_support import PLUGINS, plugin_op

TARGET_CHOICES = ("8.6", "10", "11", "ort")
# The TensorRT version whose header a --write-cache file gets, per target (a classic cache is for
# TensorRT <= 10; TensorRT 11 itself only takes Q/DQ, but Jetson stays on 10.x).
CACHE_TRT_VERSION = {"8.6": "8.6.1", "10": "10.3.0", "11": "10.3.0", "ort": "10.3.0"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "modernize",
        help="replace the TensorRT plugins a target lacks by standard ONNX ops (same tensor names)",
        description="Turn a TAO ONNX (or .etlt) into a graph the target runs: plugin nodes the target "
        "TensorRT version removed become standard ONNX ops with the same output names, shapes, dtypes and "
        "layouts; optionally INT8 as QuantizeLinear/DequantizeLinear from a calibration cache or images.",
    )
    p.add_argument("model", metavar="IN", help="the model: .onnx or .etlt (ONNX or UFF payload)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the modernized ONNX file")
    p.add_argument("--target-trt", default="11", choices=TARGET_CHOICES,
                   help="TensorRT major version to run on, or 'ort' for ONNX Runtime (replaces every plugin)")
    p.add_argument("--keep-plugins", nargs="*", metavar="OP",
                   help="keep these plugin ops (all plugins when no OP is given) even if the target lacks them")
    p.add_argument("--plugins", choices=("tensorrt", "taostream"), default="tensorrt",
                   help="whose plugin library runs the kept plugins: tensorrt (the target's own; default) or "
                        "taostream (keep every plugin libtaostream_plugins.so provides: NMS, BatchedNMS and the "
                        "MaskRCNN plugins; TensorRT 10/11)")
    add_key_arguments(p, required=False)
    int8 = p.add_argument_group("INT8 (explicit quantization: Q/DQ nodes)")
    int8.add_argument("--calibration-cache", metavar="CAL", help="TensorRT calibration cache whose scales become Q/DQ")
    int8.add_argument("--calibrate-images", metavar="DIR", help="compute fresh scales from the images in DIR")
    int8.add_argument("--batches", type=int, default=10, help="calibration batches (default 10)")
    int8.add_argument("--batch-size", type=int, default=8, help="images per calibration batch (default 8)")
    int8.add_argument("--network", help="network for preprocessing (default: recognised from the graph)")
    int8.add_argument("--write-cache", metavar="OUT.cal", help="also write the fresh scales as a classic cache file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_modernize)

    p = subparsers.add_parser("calibration", help="summarize TensorRT calibration caches (any version header)")
    p.add_argument("caches", nargs="+", metavar="CAL", help="calibration cache files (cal.bin)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_calibration)


def _check_options(args) -> None:
    if args.calibration_cache and args.calibrate_images:
        raise TaostreamError("give --calibration-cache or --calibrate-images, not both")
    if args.write_cache and not args.calibrate_images:
        raise TaostreamError("--write-cache writes the scales of --calibrate-images; add --calibrate-images DIR")
    if args.calibration_cache:
        check_input_file(args.calibration_cache, "--calibration-cache", "the calibration cache file (cal.bin)")
    if args.calibrate_images and not Path(args.calibrate_images).is_dir():
        raise TaostreamError(f"{args.calibrate_images}: not a folder of images (--calibrate-images)")
    # modernize replaces an existing output (as it always has); never the input, a folder or an unwritable place
    check_output_file(args.output, force=True, inputs=(args.model,))
    if args.plugins == "taostream":
        from taostream.converter.modernize.apply import normalise_target, plugin_library_ops  # lazy: CLI start-up

        plugin_library_ops(args.plugins, normalise_target(args.target_trt))  # before the slow decode
    if args.write_cache:
        check_output_file(args.write_cache, force=True, option="--write-cache", inputs=(args.model, args.output))

    unknown = [op for op in args.keep_plugins or () if plugin_op(op) is None]
    if unknown:
        raise TaostreamError(f"--keep-plugins {' '.join(unknown)}: not a TensorRT plugin op taostream knows; "
                             f"use names such as {', '.join(sorted(PLUGINS)[:4])}")


def _load(args):
    key = resolve_key(args, required=needs_key(args.model), model=args.model)
    return load_onnx_model(open_model(args.model, key))


def _network(args, model):
    ops = {n.op_type for n in model.graph.node if plugin_op(n.op_type)}
    inputs, outputs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    if not args.network:
        return recognise(inputs, outputs, ops)
    return require_model_network(get_network(args.network), inputs, outputs, ops, source=str(args.model))


def _calibrator(args, network, collected: dict):
    """The ``calibrate`` callable for modernize(): fresh scales from images, kept for --write-cache."""
    if not args.calibrate_images:
        return None
    if network is None:
        raise TaostreamError(f"{args.model}: cannot tell which network this is, so its preprocessing is unknown; "
                             "pass --network (e.g. ssd, yolo_v4, detectnet_v2)")
    from taostream.converter.int8.calibrate import calibrate_images  # lazy: CLI start-up

    def calibrate(model):
        scales = calibrate_images(model, network, args.calibrate_images, args.batches, args.batch_size,
                                  progress=not args.json)
        collected.update(scales)
        return scales

    return calibrate


def _write_cache(path: str, scales: dict, target: str) -> None:
    header = header_for(CACHE_TRT_VERSION[target])
    write_calibration_cache(path, CalibrationCache(header=header, scales={k: v for k, v in scales.items() if v > 0}))


def run_modernize(args) -> int:
    from taostream.converter.modernize.apply import modernize  # lazy: CLI start-up

    _check_options(args)
    model = _load(args)
    network = _network(args, model)
    keep = True if args.keep_plugins == [] else set(args.keep_plugins or ())
    scales: dict[str, float] = {}
    result, report = modernize(
        model, args.target_trt, keep or False,
        calibration_cache=args.calibration_cache, calibrate=_calibrator(args, network, scales),
        network=network, source=args.model, plugins=args.plugins,
    )
    atomic_write_bytes(args.output, result.SerializeToString())
    if args.write_cache:
        _write_cache(args.write_cache, scales, args.target_trt)
    for line in report.int8:
        if line.startswith("warning: "):
            print(f"taostream: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps({"output": str(args.output), "network": network.name if network else None,
                          **report.to_dict()}, indent=2))
    else:
        print("\n".join(report.lines()))
        print(f"wrote {args.output}" + (f" and {args.write_cache}" if args.write_cache else ""))
    return 0


def run_calibration(args) -> int:
    """One line per cache: TensorRT version, algorithm, tensor count and scale (and amax) range."""
    summaries = {}
    for path in args.caches:
        summaries[path] = read_calibration_cache(path).summary()
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    for path, s in summaries.items():
        unusable = f", {s['unusable']} unusable (inf, NaN or 0)" if s["unusable"] else ""
        if s["scale_min"] is None:
            print(f"{path}: TensorRT {s['trt_version']} {s['algorithm']}, {s['tensors']} tensors{unusable}, no usable scale")
            continue
        print(f"{path}: TensorRT {s['trt_version']} {s['algorithm']}, {s['tensors']} tensors{unusable}, usable scales "
              f"{s['scale_min']:.6g} .. {s['scale_max']:.6g} (amax {s['scale_min'] * 127:.6g} .. {s['scale_max'] * 127:.6g})")
    return 0
