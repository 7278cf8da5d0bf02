"""Make the ONNX ready for the planned build: modernize plugins the target lacks, turn INT8 scales into
Q/DQ nodes and FP16 into a mixed-precision graph where the network is strongly typed (TensorRT 11).

The plugin rewrites, Q/DQ insertion and image calibration belong to other modules (converter.modernize,
converter.qdq, converter.calibrate); they are imported lazily so a build without them still plans.
"""

from __future__ import annotations

import importlib
import sys

from taostream.converter.errors import TaostreamError, require
from taostream.converter.option_names import flag
from taostream.converter.engine.adapt import FP32_OPS, BuildPlan
from taostream.converter.int8.calib_cache import (
    CalibrationCache, format_calibration_cache, header_for, read_calibration_cache, write_calibration_cache,
)
from taostream.converter.trt_support import plugin_op
from taostream.converter.wording import plural

STANDARD_DOMAINS = ("", "ai.onnx")


def _import(module: str, name: str, purpose: str):
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise TaostreamError(
            f"{purpose} needs {module}.{name}, which this taostream build lacks; upgrade taostream "
            "or build for a TensorRT that does not need it (--trt-version)"
        ) from None


def prepare_model(model, plan: BuildPlan, settings, network=None, out=None):
    """Apply the plan's graph changes in order: plugins, then INT8 Q/DQ, then FP16 mixed precision."""
    out = out if out is not None else sys.stdout
    if plan.plugins_to_replace:
        modernize = _import("taostream.converter.modernize.apply", "modernize",
                            f"replacing {', '.join(plan.plugins_to_replace)} for TensorRT {plan.track}")
        keep = set(settings.keep_plugins) or False
        model, report = modernize(model, target=plan.track, keep_plugins=keep)
        print("\n".join(report.lines()) if hasattr(report, "lines") else str(report), file=out)
    if plan.int8_mode in ("qdq_from_cache", "qdq_from_images"):
        model = _insert_qdq(model, plan, settings, network, out)
    if plan.fp16_mode == "mixed_precision_onnx":
        model = to_mixed_precision(model)
        print("converted the ONNX to mixed precision (FP16 compute, FP32 I/O and post-processing)", file=out)
    return model


def _insert_qdq(model, plan: BuildPlan, settings, network, out):
    insert_qdq_from_cache = _import("taostream.converter.int8.qdq", "insert_qdq_from_cache", "INT8 on TensorRT 11")
    if plan.int8_mode == "qdq_from_cache":
        cache = read_calibration_cache(settings.calibration_cache)
    else:
        calibrate_images = _import("taostream.converter.int8.calibrate", "calibrate_images", "INT8 image calibration")
        batches = settings.calibration_batches or 10
        scales = calibrate_images(model, network, settings.calibration_images, batches, settings.calibration_batch_size)
        cache = CalibrationCache(header=header_for(plan.trt_version), scales=dict(scales))
        if settings.calibration_cache:
            write_calibration_cache(settings.calibration_cache, cache)  # reusable on TensorRT 10 / Jetson
    source = (f"calibration cache {settings.calibration_cache}" if plan.int8_mode == "qdq_from_cache"
              else "the scales calibrated on the images")
    qdq_error = _import("taostream.converter.int8.qdq", "QdqError", "INT8 on TensorRT 11")
    try:
        model, report = insert_qdq_from_cache(model, cache, network=network, source=source)
    except qdq_error as exc:
        raise _refused(exc) from None
    print("INT8 scales inserted as Q/DQ nodes:", file=out)
    print("\n".join(report.lines()) if hasattr(report, "lines") else str(report), file=out)
    return model


def _refused(exc) -> TaostreamError:
    """A QdqError in this command's words (its advice names bundle's --calibrate-images)."""
    return TaostreamError(f"{exc.problem}; is it the cache of this model? Give the cache written with it "
                          f"({flag('calibration_cache')}), or calibrate afresh with --calibration-images DIR")


def check_cache_fits(model, cache_path) -> None:
    """Refuse a calibration cache none of whose scales reaches a convolution of ``model`` (another
    model's cache), whichever route reads it: TensorRT's implicit calibrator would build with no INT8
    scales or another network's, where the Q/DQ route refuses it (same mapping, converter/int8/qdq.py)."""
    cache_fit = _import("taostream.converter.int8.qdq", "cache_fit", "the cache check")
    qdq_error = _import("taostream.converter.int8.qdq", "QdqError", "the cache check")
    try:
        cache_fit(model, read_calibration_cache(cache_path), source=f"calibration cache {cache_path}")
    except qdq_error as exc:
        raise _refused(exc) from None


def implicit_route_cache(model, cache_path, trt_version: str) -> tuple[str, list[tuple[str, str]]]:
    """The cache text TensorRT's implicit calibrator replays for ``model``, and the entries renamed: the
    given cache restated as `bundle` writes calibration.bin (each tensor under the model's own name,
    since TensorRT matches a cache by exact tensor name: NVIDIA's TRT 7 caches name a TAO 5 export's
    'input_1:0' 'input_1'; the header of the TensorRT that builds; unusable scales left out)."""
    restate_for_graph = _import("taostream.converter.int8.qdq", "restate_for_graph", "the calibration cache")
    cache = read_calibration_cache(cache_path)
    scales, renamed = restate_for_graph(model, cache.scales)
    header = header_for(trt_version, cache.algorithm or "EntropyCalibration2")
    return format_calibration_cache(CalibrationCache(header=header, scales=scales)), renamed


def describe_renamed(renamed: list[tuple[str, str]], cache_path) -> str:
    name, tensor = renamed[0]
    return (f"calibration cache {cache_path}: {plural(len(renamed), 'entry', 'entries')} renamed to the model's tensor names (e.g. "
            f"'{name}' -> '{tensor}'), which TensorRT matches exactly")


def fp32_op_types(model) -> list[str]:
    """Op types kept in FP32: post-processing (FP32_OPS) and any non-standard (plugin) op."""
    custom = {n.op_type for n in model.graph.node if n.domain not in STANDARD_DOMAINS}
    plugins = {n.op_type for n in model.graph.node if plugin_op(n.op_type)}
    return sorted(set(FP32_OPS) | custom | plugins)


def to_mixed_precision(model):
    """FP16 weights and compute with FP32 inputs/outputs and FP32 post-processing (onnxconverter-common).

    TensorRT 11 removed BuilderFlag.FP16; a strongly typed network runs each layer in its ONNX type,
    so FP16 has to be in the graph itself.
    """
    require("onnxconverter_common", "onnxconverter-common", "gpu", "FP16 on TensorRT 11 (mixed-precision ONNX)")
    import onnx  # lazy: heavy
    from onnxconverter_common import float16  # lazy: optional (gpu)

    named = onnx.ModelProto()
    named.CopyFrom(model)
    taken = {n.name for n in named.graph.node}
    for index, node in enumerate(named.graph.node):
        if not node.name:  # the converter names its Casts after the node: unnamed nodes collide
            node.name = f"{node.op_type}_{index}"
            while node.name in taken:
                node.name += "_"
            taken.add(node.name)
    converted = float16.convert_float_to_float16(
        named, keep_io_types=True, op_block_list=fp32_op_types(named) + list(float16.DEFAULT_OP_BLOCK_LIST)
    )
    return _restore_fp32_outputs(model, converted)


def _restore_fp32_outputs(original, converted):
    """keep_io_types misses outputs made by blocked (FP32) nodes: the converter casts them to FP16 at
    the very end. Turn that last Cast back into a cast to FLOAT (its input is already FP32)."""
    import onnx  # lazy: heavy
    from onnx import TensorProto, helper  # lazy: heavy

    was_float = {o.name for o in original.graph.output if o.type.tensor_type.elem_type == TensorProto.FLOAT}
    producers = {out: node for node in converted.graph.node for out in node.output}
    for output in converted.graph.output:
        if output.name not in was_float or output.type.tensor_type.elem_type != TensorProto.FLOAT16:
            continue
        node = producers.get(output.name)
        if node is not None and node.op_type == "Cast":
            node.ClearField("attribute")
            node.attribute.append(helper.make_attribute("to", TensorProto.FLOAT))
        else:
            fp16_name = output.name + "_fp16"
            for candidate in converted.graph.node:
                candidate.output[:] = [fp16_name if o == output.name else o for o in candidate.output]
            converted.graph.node.append(helper.make_node("Cast", [fp16_name], [output.name], to=TensorProto.FLOAT))
        output.type.tensor_type.elem_type = TensorProto.FLOAT
    onnx.checker.check_model(converted)
    return converted
