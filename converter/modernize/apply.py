"""Modernize a TAO ONNX graph for a TensorRT version (or ONNX Runtime): replace exactly the plugin
nodes the target lacks by standard ONNX ops, keep the rest, and report why for each.

The target policy reads converter/trt_support.py (which TensorRT major ships which plugin); the
rewrites are named functions looked up lazily in ``REWRITES``. The result keeps the input and output
names (and their shapes, dtypes and layouts), so DeepStream parsers, nvinfer and Triton configs keep
working. Optional INT8: a calibration cache (or fresh scales) becomes Q/DQ nodes (converter/int8/qdq.py).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
import onnx
import onnx.numpy_helper
import onnx_graphsurgeon as gs

from taostream.converter.errors import TaostreamError, UnsupportedOpError
from taostream.converter.int8.calib_cache import CalibrationCache, read_calibration_cache
from taostream.converter.int8.qdq import insert_qdq_from_cache
from taostream.converter.model.classes import model_classes, record_model_classes
from taostream.converter.modernize.basic import TRT_TOPK_MAX
from taostream.converter.trt_support import PLUGINS, major, plugin_op
from taostream.plugins.library import LIBRARY_NAME, LIBRARY_OPS, LIBRARY_TARGETS, PLUGIN_CHOICES

log = logging.getLogger(__name__)

TARGETS = ("8.6", "10", "11", "ort")
DEFAULT_TARGET = "11"

# op name -> "module:function"; imported only when a graph needs it.
REWRITES: dict[str, str] = {
    "BatchTilePlugin_TRT": "taostream.converter.modernize.basic:replace_batch_tile",
    "ResizeNearest_TRT": "taostream.converter.modernize.basic:replace_resize_nearest",
    "NMS_TRT": "taostream.converter.modernize.nms:replace_nms",
    "NMSDynamic_TRT": "taostream.converter.modernize.nms:replace_nms",
    "BatchedNMS_TRT": "taostream.converter.modernize.nms:replace_batched_nms",
    "BatchedNMSDynamic_TRT": "taostream.converter.modernize.nms:replace_batched_nms",
    "EfficientNMS_TRT": "taostream.converter.modernize.nms:replace_efficient_nms",
    "ProposalDynamic": "taostream.converter.modernize.frcnn:replace_proposal",
    "Proposal": "taostream.converter.modernize.frcnn:replace_proposal",
    "CropAndResizeDynamic": "taostream.converter.modernize.frcnn:replace_crop_and_resize",
    "CropAndResize": "taostream.converter.modernize.frcnn:replace_crop_and_resize",
}
MASK_RCNN_OPS = frozenset({"MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT", "GenerateDetection_TRT"})
# Domain the checker sees kept plugin nodes in: ONNX's default domain has no schema for them.
PLUGIN_CHECK_DOMAIN = "taostream.trt_plugin"

REPLACE, KEEP = "replace", "keep"


class PlanStep(NamedTuple):
    """One plugin node and what modernize does with it."""

    node: str  # node name (or its first output's name when the node has none)
    op: str
    action: str  # "replace" | "keep"
    reason: str


@dataclass
class ModernizeReport:
    target: str
    steps: list[PlanStep] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    opset: int | None = None
    checker: str = ""
    int8: list[str] = field(default_factory=list)  # lines of the Q/DQ report, when INT8 was asked for
    notes: list[str] = field(default_factory=list)
    plugins: str = "tensorrt"  # --plugins: whose plugin library the kept nodes are for

    @property
    def replaced(self) -> list[PlanStep]:
        return [s for s in self.steps if s.action == REPLACE]

    @property
    def kept(self) -> list[PlanStep]:
        return [s for s in self.steps if s.action == KEEP]

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "replaced": [s._asdict() for s in self.replaced],
            "kept": [s._asdict() for s in self.kept],
            "inputs": self.input_names,
            "outputs": self.output_names,
            "opset": self.opset,
            "checker": self.checker,
            "int8": self.int8,
            "notes": self.notes,
            "plugins": self.plugins,
        }

    def lines(self) -> list[str]:
        target = "ONNX Runtime" if self.target == "ort" else f"TensorRT {self.target}"
        out = [f"modernized for {target}: {len(self.replaced)} plugin node(s) replaced, {len(self.kept)} kept"]
        out += [f"  replaced {s.op} '{s.node}': {s.reason}" for s in self.replaced]
        out += [f"  kept     {s.op} '{s.node}': {s.reason}" for s in self.kept]
        if not self.steps:
            out.append("  the graph has no TensorRT plugin nodes")
        out.append(f"inputs:  {', '.join(self.input_names)}")
        out.append(f"outputs: {', '.join(self.output_names)} (names, shapes, dtypes and layouts unchanged)")
        out.append(f"onnx.checker: {self.checker}")
        out += self.int8 + [f"note: {n}" for n in self.notes]
        return out


# ----------------------------------------------------------------------------- policy

def normalise_target(target: str) -> str:
    text = str(target).strip().lower()
    if text in ("ort", "onnxruntime", "onnx-runtime"):
        return "ort"

    version = major(text) if text else ""
    if version not in TARGETS:
        raise TaostreamError(f"--target-trt {target}: use one of {', '.join(TARGETS)} (ort = ONNX Runtime)")
    return version


def _node_op(node) -> str:
    """The op of a gs.Node or an onnx.NodeProto."""
    return node.op if isinstance(node, gs.Node) else node.op_type


def _node_label(node) -> str:
    if node.name:
        return node.name
    if isinstance(node, gs.Node):
        return node.outputs[0].name if node.outputs else node.op
    return node.output[0] if node.output else node.op_type


def _keep_set(keep_plugins) -> set[str] | bool:
    if keep_plugins is True:
        return True
    names = set()
    for name in keep_plugins or ():
        names.add(plugin_op(name) or name)
    return names


def _is_standard(op: str, domain: str) -> bool:
    return domain in ("", "ai.onnx", "ai.onnx.ml") and onnx.defs.has(op, domain or "") and plugin_op(op) is None


def _decide(node, target: str, keep, library=frozenset()) -> PlanStep | None:
    """The plan step of one node, None for a standard op; raises UnsupportedOpError when the target
    cannot run the node and nothing can replace it. ``library``: the ops libtaostream_plugins.so
    provides when --plugins taostream asked for it (kept as they are), else empty."""
    label, op, domain = _node_label(node), _node_op(node), getattr(node, "domain", "") or ""
    name = plugin_op(op)
    where = "ONNX Runtime" if target == "ort" else f"TensorRT {target}"
    if name is None:
        if _is_standard(op, domain):
            return None
        if target == "ort":
            raise UnsupportedOpError(
                f"node '{label}' ({op}{', domain ' + domain if domain else ''}): not a standard ONNX op and not a "
                "TAO plugin taostream can replace; ONNX Runtime cannot run it. Target a TensorRT version whose "
                "plugin library provides it"
            )
        return PlanStep(label, op, KEEP, f"not a TAO plugin taostream knows; {where} needs a plugin library for it")
    shipped = target != "ort" and PLUGINS[name].shipped_in(target)
    status = PLUGINS[name].trt.get(target, "removed") if target != "ort" else "absent"
    if name in library or op in library:
        also = f"; {where} also ships it ({status}) and its own registration serves first" if shipped else ""
        return PlanStep(label, op, KEEP, f"kept for {LIBRARY_NAME} (--plugins taostream){also}")
    if keep is True or name in keep:
        if shipped:
            return PlanStep(label, op, KEEP, f"kept as asked (--keep-plugins); {where} ships it ({status})")
        return PlanStep(label, op, KEEP, f"kept as asked (--keep-plugins) although {where} lacks it: "
                                         "load a plugin library that provides it")
    if shipped:
        why = f"{where} still ships it ({status})"
        if name in MASK_RCNN_OPS:
            why += "; the MaskRCNN plugins are kept by default"
        return PlanStep(label, op, KEEP, why)
    lacks = "ONNX Runtime has no TensorRT plugins" if target == "ort" else f"TensorRT {target} removed it"
    if name in REWRITES or op in REWRITES:
        function = (REWRITES.get(op) or REWRITES[name]).split(":")[1]
        return PlanStep(label, op, REPLACE, f"{lacks}; replaced by standard ONNX ops ({function})")
    raise UnsupportedOpError(
        f"node '{label}' ({op}): {lacks} and taostream has no standard-op replacement for it; "
        + ("use --target-trt 10 or 11, which still ship the MaskRCNN plugins" if name in MASK_RCNN_OPS
           else "target a TensorRT version that ships it")
    )


def _plan(nodes, target: str, keep, library=frozenset()) -> list[tuple[object, PlanStep]]:
    steps = []
    for node in nodes:
        step = _decide(node, target, keep, library)
        if step is not None:
            steps.append((node, step))
    return steps


def plan_modernization(model: onnx.ModelProto, target: str = DEFAULT_TARGET,
                       keep_plugins=False, plugins: str = "tensorrt") -> list[PlanStep]:
    """What modernize would do with each plugin node of ``model`` for ``target``: (node, op, action, reason)."""
    target = normalise_target(target)
    return [step for _, step in _plan(model.graph.node, target, _keep_set(keep_plugins),
                                      plugin_library_ops(plugins, target))]


def plugin_library_ops(plugins: str, target: str) -> frozenset[str]:
    """The ops kept for a plugin library: libtaostream_plugins.so's with ``plugins="taostream"`` (TensorRT
    10 or 11 only: the library's plugins are IPluginV3), none with the default "tensorrt"."""
    if plugins in (None, "tensorrt"):
        return frozenset()
    if plugins not in PLUGIN_CHOICES:
        raise TaostreamError(f"--plugins {plugins}: use one of {', '.join(PLUGIN_CHOICES)}")
    if target not in LIBRARY_TARGETS:
        where = "ONNX Runtime runs no TensorRT plugin library" if target == "ort" else \
            f"TensorRT {target} has no IPluginV3 and ships these plugins itself"
        raise TaostreamError(f"--plugins taostream with --target-trt {target}: {where}; "
                             f"use --target-trt {' or '.join(LIBRARY_TARGETS)}, or --plugins tensorrt")
    return LIBRARY_OPS


# ----------------------------------------------------------------------------- rewriting

def resolve_rewrite(op: str) -> Callable:
    """Import the rewrite function of ``op`` named in REWRITES."""
    return _import_function(REWRITES.get(op) or REWRITES[plugin_op(op)], op)


def _import_function(spec: str, op: str) -> Callable:
    """The function a "module:function" spec of REWRITES / TENSORRT_LIMITS names."""
    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnsupportedOpError(f"{op}: its rewrite ({module_name}) is not part of this taostream build") from None
    return getattr(module, function_name)


# op -> "module:function" giving the notes on where a TensorRT engine of the op's rewrite can differ
# from the plugin (TensorRT's NMS box limit), imported only when a graph has the op.
TENSORRT_LIMITS: dict[str, str] = {
    "Proposal": "taostream.converter.modernize.frcnn:tensorrt_limits",
    "ProposalDynamic": "taostream.converter.modernize.frcnn:tensorrt_limits",
    **{op: "taostream.converter.modernize.nms:tensorrt_limits"
       for op in ("NMS_TRT", "NMSDynamic_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT")},
}


def _tensorrt_limits(node: gs.Node) -> list[str]:
    """Where a TensorRT engine of this node's rewrite can differ from the plugin although ONNX Runtime
    runs it exactly; empty for nodes without such a limit."""
    spec = TENSORRT_LIMITS.get(plugin_op(node.op) or node.op)
    return _import_function(spec, node.op)(node) if spec is not None else []


# TensorRT's TopK limit per target: "only values up to 3840 are supported" in the ITopKLayer.k
# docstring of the 8.6.1, 10.x and 11.x Python bindings (tests/test_trt_api_surface.py reads it there).
TOPK_LIMIT_BY_TARGET = {"8.6": 3840, "10": 3840, "11": 3840}


def tensorrt_topk_violations(model: onnx.ModelProto, limit: int | None = None) -> list[str]:
    """One line per TopK node (subgraphs included) whose k can exceed TensorRT's TopK limit
    (``limit``, TRT_TOPK_MAX = 3840 by default): a constant k above it, or a k computed at run time
    with no constant bound. The rewrites never emit one (modernize.basic.top_k); a graph body can."""
    limit = limit or TRT_TOPK_MAX
    problems = []
    for node, constants in _nodes_with_constants(model.graph, {}):
        if node.op_type != "TopK":
            continue
        label = node.name or (node.output[0] if node.output else "TopK")
        bound = _topk_k_bound(node, constants)
        if bound is None:
            problems.append(f"TopK node '{label}': k is computed at run time and has no constant bound; "
                            f"TensorRT builds TopK only for k <= {limit}")
        elif bound > limit:
            problems.append(f"TopK node '{label}': k = {bound} exceeds TensorRT's TopK limit of {limit}; "
                            "TensorRT cannot build this graph (reduce k in the model, or run it with ONNX Runtime)")
    return problems


def _nodes_with_constants(graph: onnx.GraphProto, outer: dict):
    """(node, {tensor name: its initializer or producing node}) for every node of ``graph`` and its
    subgraphs; a subgraph sees its outer graph's names."""
    scope = {**outer, **{out: node for node in graph.node for out in node.output},
             **{t.name: t for t in graph.initializer}}
    for node in graph.node:
        yield node, scope
        for attribute in node.attribute:
            for sub in ([attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs)):
                yield from _nodes_with_constants(sub, scope)


def _topk_k_bound(node: onnx.NodeProto, sources: dict) -> int | None:
    """The largest k a TopK node can take: its constant K, the smallest constant bound of a Min
    chain (how rewrites cap k by a dimension), or the opset < 10 attribute; None when unknown."""
    if len(node.input) < 2:
        k = next((a.i for a in node.attribute if a.name == "k"), None)
        return int(k) if k is not None else None
    return _constant_bound(node.input[1], sources, depth=0)


_BOUND_PASS_THROUGH = ("Cast", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Flatten")


def _constant_bound(name: str, sources: dict, depth: int) -> int | None:
    source = sources.get(name)
    if source is None or depth > 16:
        return None
    if isinstance(source, onnx.TensorProto):
        return int(onnx.numpy_helper.to_array(source).max())
    if source.op_type == "Constant":
        value = next((a for a in source.attribute if a.name in ("value", "value_int", "value_ints")), None)
        if value is None:
            return None
        array = onnx.numpy_helper.to_array(value.t) if value.name == "value" else onnx.helper.get_attribute_value(value)
        return int(max(np.asarray(array).reshape(-1)))
    if source.op_type in _BOUND_PASS_THROUGH:
        return _constant_bound(source.input[0], sources, depth + 1)
    if source.op_type == "Min":
        bounds = [b for b in (_constant_bound(i, sources, depth + 1) for i in source.input) if b is not None]
        return min(bounds) if bounds else None
    return None


def _with_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Shape inference where possible, so rewrites can use static sizes (TensorRT prefers them)."""
    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # a graph onnx cannot infer is still modernizable without static sizes
        log.info("shape inference failed (%s); rewriting with dynamic sizes", exc)
        return model


def modernize(model: onnx.ModelProto, target: str = DEFAULT_TARGET, keep_plugins=False, *,
              calibration_cache=None, calibrate: Callable | None = None, network=None,
              source: str = "<model>", plugins: str = "tensorrt") -> tuple[onnx.ModelProto, "ModernizeReport"]:
    """Return (modernized model, report). ``keep_plugins``: False, True (keep all) or op names.
    ``plugins``: "tensorrt" (the target's own plugin library) or "taostream" (every op
    libtaostream_plugins.so provides is kept as it is, its attributes being the creator's fields).
    ``calibration_cache``: a CalibrationCache (or path) whose scales become Q/DQ nodes;
    ``calibrate``: a callable ``(model) -> dict[tensor, scale]`` computing fresh scales instead; it
    gets ``calibration_model(model)``, the network body before its NMS plugins."""
    target = normalise_target(target)
    keep = _keep_set(keep_plugins)
    library = plugin_library_ops(plugins, target)
    graph = gs.import_onnx(_with_shapes(model))
    inputs, outputs = [t.name for t in graph.inputs], [t.name for t in graph.outputs]
    report = ModernizeReport(target, input_names=inputs, output_names=outputs, opset=graph.opset,
                             plugins=plugins or "tensorrt")
    planned = _plan(graph.nodes, target, keep, library)
    report.steps = [step for _, step in planned]
    for node, step in planned:
        if step.action == REPLACE:
            if target != "ort":
                report.notes += _tensorrt_limits(node)
            resolve_rewrite(node.op)(graph, node)
    graph.cleanup().toposort()
    result = gs.export_onnx(graph)
    _carry_model_fields(model, result)
    _fill_output_shapes(result)
    if [i.name for i in result.graph.input] != inputs or [o.name for o in result.graph.output] != outputs:
        raise TaostreamError(f"{source}: modernizing changed the graph's input/output names; this is a taostream bug")
    report.checker = check_modernized(result, source)
    if target != "ort":
        report.notes += tensorrt_topk_violations(result, TOPK_LIMIT_BY_TARGET.get(target))
    if calibration_cache is not None or calibrate is not None:
        # Nodes a rewrite created are named "<plugin node>/..." and are post-processing: no Q/DQ there.
        replaced = [step.node for step in report.steps if step.action == REPLACE]
        result, report.int8 = _quantize(result, model, calibration_cache, calibrate, network, replaced)
    # The rewrites drop the plugin attributes that say how many classes the model outputs.
    record_model_classes(result, model_classes(model, network))
    return result, report


def _carry_model_fields(original: onnx.ModelProto, result: onnx.ModelProto) -> None:
    result.ir_version = original.ir_version or result.ir_version
    result.producer_name = original.producer_name or "taostream"
    result.producer_version = original.producer_version
    result.doc_string = original.doc_string
    del result.metadata_props[:]
    result.metadata_props.extend(original.metadata_props)
    entry = result.metadata_props.add()
    entry.key, entry.value = "taostream.modernized", "true"


def _fill_output_shapes(model: onnx.ModelProto) -> None:
    """Declare the type and shape of graph outputs that have none (TAO's exporters leave NMS outputs
    without a shape, which onnx.checker rejects) when shape inference knows them."""
    missing = [o for o in model.graph.output
               if not o.type.tensor_type.HasField("shape") or not o.type.tensor_type.elem_type]
    if not missing:
        return
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # inference is a bonus here
        return
    known = {v.name: v.type for v in (*inferred.graph.value_info, *inferred.graph.output)}
    for output in missing:
        found = known.get(output.name)
        if found is not None and found.tensor_type.HasField("shape"):
            output.type.CopyFrom(found)


def check_modernized(model: onnx.ModelProto, source: str = "<model>") -> str:
    """Run onnx.checker (full check with shape inference). Kept plugin nodes are checked in a custom
    domain, since ONNX's default domain has no schema for them. Returns a one-line verdict."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    kept = 0
    for node in copy.graph.node:
        if plugin_op(node.op_type) is not None or not onnx.defs.has(node.op_type, node.domain or ""):
            node.domain = PLUGIN_CHECK_DOMAIN
            kept += 1
    if kept:
        copy.opset_import.add(domain=PLUGIN_CHECK_DOMAIN, version=1)
        # An output made by a kept plugin may have no declared shape; only TensorRT knows it. The
        # checker copy gets an empty shape so the rest of the graph can still be checked.
        for output in copy.graph.output:
            if not output.type.tensor_type.HasField("shape"):
                output.type.tensor_type.shape.SetInParent()
    try:
        onnx.checker.check_model(copy, full_check=not kept)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0]
        raise TaostreamError(f"{source}: the modernized graph fails onnx.checker ({first}); this is a taostream bug") from None
    return "passed" if not kept else f"passed ({kept} kept plugin node(s) checked as custom ops)"


def _quantize(modernized: onnx.ModelProto, original: onnx.ModelProto, calibration_cache, calibrate, network,
              exclude_nodes=()):
    """Q/DQ into ``modernized`` from a cache, or from fresh scales of ``calibrate(network body)``."""
    if calibrate is not None:
        scales = {name: scale for name, scale in calibrate(calibration_model(original)).items() if scale > 0}
        cache, origin = CalibrationCache(scales=scales), f"fresh calibration ({len(scales)} tensors)"
    elif isinstance(calibration_cache, CalibrationCache):
        cache, origin = calibration_cache, "the calibration cache"
    else:
        cache, origin = read_calibration_cache(calibration_cache), f"calibration cache {calibration_cache}"
    quantized, qdq_report = insert_qdq_from_cache(modernized, cache, network=network, exclude_nodes=exclude_nodes,
                                                  source=origin)
    return quantized, [f"INT8 from {origin}"] + list(qdq_report.lines())


POST_PROCESSING_OPS = frozenset({"NMS_TRT", "NMSDynamic_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT",
                                 "EfficientNMS_TRT"})


def calibration_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The network body INT8 calibration runs on: ``model`` cut at the inputs of its NMS plugins (the
    post-processing is not quantized, and its -3e38 fill values would wreck histograms) with every
    other plugin replaced so ONNX Runtime can run it."""
    graph = gs.import_onnx(_with_shapes(model))
    post = [n for n in graph.nodes if plugin_op(n.op) in POST_PROCESSING_OPS]
    if post:
        made_by_post = {t.name for n in post for t in n.outputs}
        cut = {t.name: t for n in post for t in n.inputs if isinstance(t, gs.Variable)}
        graph.outputs = list(cut.values()) + [t for t in graph.outputs if t.name not in made_by_post]
        graph.cleanup()
    try:
        planned = _plan(list(graph.nodes), "ort", set())
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(
            f"INT8 calibration runs the network in ONNX Runtime, which cannot run this graph ({exc}); "
            "use --calibration-cache with the cache TAO exported instead"
        ) from None
    for node, _ in planned:
        resolve_rewrite(node.op)(graph, node)
    graph.cleanup().toposort()
    body = gs.export_onnx(graph)
    body.ir_version = model.ir_version
    _fill_output_shapes(body)
    return body
