"""Compile an ONNX graph with TensorRT plugin nodes into a PluginPipeline (plugins/pipeline.py)
once, and save it as a folder the Triton CPU model loads without taostream.

Compiling splits the toposorted graph into maximal runs of standard nodes and single plugin nodes, as
``pluginref.run_with_plugin_references`` does on every call: a run becomes one standalone ONNX model
whose inputs are the tensors it reads from the graph inputs, plugin outputs or earlier runs, and
whose outputs are the tensors later nodes or the graph outputs read. Input types come from the graph
(after ONNX shape inference) or, for tensors an earlier run makes, from that run's ONNX Runtime
session. A run reading a plugin output the graph gives no type stays untyped: it is exported from the
actual inputs when it first runs (as run_with_plugin_references does), and such a pipeline cannot be
saved.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from taostream.converter.errors import TaostreamError, UnsupportedOpError
from taostream.converter.fileio import atomic_directory
from taostream.converter.trt_support import plugin_op
from taostream.plugins import host_calls
from taostream.plugins import pipeline as plugin_pipeline
from taostream.plugins.host import find_plugin_host_library, host_implementation_for
from taostream.plugins.pipeline import (
    CONSTANTS_FILE, PLAN_FILE, PLAN_VERSION, DeclaredTensor, PluginPipeline, PluginStep, ReferenceLookup, StandardSegment,
    segment_file,
)
from taostream.plugins.reference import reference_for as registered_reference

# Reference modules the Triton CPU model carries, by the module name they are copied under.
SERVING_REFERENCE_MODULES = {"taostream.plugins.reference": "taostream_pluginref",
                             "taostream.plugins.maskrcnn": "taostream_pluginref_mrcnn"}
SERVING_PIPELINE_MODULE = "taostream_plugin_pipeline"
SERVING_HOST_CALLS_MODULE = "taostream_plugin_host_calls"  # the ctypes wrappers of the plugin host library
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
              "tensor(bool)": "bool"}


def compile_plugin_pipeline(model, reference_for: ReferenceLookup | None = None) -> PluginPipeline:
    """Split ``model`` (an onnx.ModelProto, plugin nodes allowed) once and build every typed segment's
    ONNX Runtime session. Raises UnsupportedOpError for a plugin op with no registered reference."""
    import onnx_graphsurgeon as gs  # lazy: heavy

    lookup = reference_for or registered_reference
    graph = gs.import_onnx(_with_inferred_types(model))
    graph.toposort()
    declared = {t.name: _declared(t) for t in graph.tensors().values() if isinstance(t, gs.Variable) and t.name}
    constants: dict[str, np.ndarray] = {}
    steps: list = []
    for start, nodes in _runs(graph.nodes, lambda node: _is_plugin(node, lookup)):
        if len(nodes) == 1 and _is_plugin(nodes[0], lookup):
            steps.append(_plugin_step(nodes[0], lookup, declared, constants))
            continue
        segment = _segment(graph, nodes, graph.nodes[start + len(nodes):], declared)
        if segment is not None:
            steps.append(segment)
    outputs = []
    for tensor in graph.outputs:
        if isinstance(tensor, gs.Constant):
            constants[tensor.name] = np.asarray(tensor.values)
        outputs.append(tensor.name)
    inputs = [declared[t.name] for t in graph.inputs]
    return PluginPipeline(inputs, outputs, steps, constants, lookup)


def _with_inferred_types(model):
    """A copy of ``model`` with ONNX shape inference's value_info (plugin nodes are skipped by it)."""
    import onnx  # lazy: heavy

    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception:  # inference fails on some exported graphs; the declared types are enough then
        return model


def _declared(tensor) -> DeclaredTensor:
    dtype = None
    if tensor.dtype is not None:
        try:
            dtype = np.dtype(tensor.dtype).name
        except TypeError:  # an ONNX type numpy has no name for (e.g. bfloat16): left to the first run
            dtype = None
    shape = None if tensor.shape is None else [_dim(d) for d in tensor.shape]
    return DeclaredTensor(tensor.name, dtype, shape)


def _dim(value):
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    return str(value) if value else None


def _is_plugin(node, lookup: ReferenceLookup) -> bool:
    return plugin_op(node.op) is not None or lookup(node.op) is not None


def _runs(nodes: list, is_plugin) -> list[tuple[int, list]]:
    """(start index, nodes): maximal stretches of standard nodes, each plugin node on its own."""
    runs: list[tuple[int, list]] = []
    for index, node in enumerate(nodes):
        if is_plugin(node) or not runs or is_plugin(runs[-1][1][-1]):
            runs.append((index, [node]))
        else:
            runs[-1][1].append(node)
    return runs


def _plugin_step(node, lookup: ReferenceLookup, declared: dict, constants: dict) -> PluginStep:
    import onnx_graphsurgeon as gs  # lazy: heavy

    if lookup(node.op) is None:
        raise UnsupportedOpError(
            f"node '{node.name}' ({node.op}): no numpy reference is registered for this plugin, so the "
            "graph cannot run on the CPU; register one with pluginref.register_reference"
        )
    for tensor in node.inputs:
        if isinstance(tensor, gs.Constant):
            constants[tensor.name] = np.asarray(tensor.values)
    return PluginStep(node.name, node.op, dict(node.attrs), [t.name for t in node.inputs],
                      [declared.get(t.name) or _declared(t) for t in node.outputs])


def _segment(graph, nodes: list, later_nodes: list, declared: dict) -> StandardSegment | None:
    """The standalone ONNX model of one run of standard nodes (None when nothing it makes is read)."""
    import onnx_graphsurgeon as gs  # lazy: heavy

    produced = [t.name for node in nodes for t in node.outputs if t.name]
    wanted = {t.name for node in later_nodes for t in node.inputs} | {t.name for t in graph.outputs}
    outputs = [name for name in dict.fromkeys(produced) if name in wanted]
    if not outputs:
        return None
    made = set(produced)
    inputs = [declared[t.name] for node in nodes for t in node.inputs
              if isinstance(t, gs.Variable) and t.name and t.name not in made]
    inputs = list({t.name: t for t in inputs}.values())

    def export(types: list[tuple[np.dtype, object]]) -> bytes:
        return _export_segment(graph, nodes, inputs, outputs, types)

    if any(t.dtype is None for t in inputs):
        return StandardSegment(inputs, outputs, typed_model=export)
    segment = StandardSegment(inputs, outputs, model=export([(np.dtype(t.dtype), t.shape) for t in inputs]))
    try:
        session = segment.session_for([])
    except Exception as exc:  # onnxruntime's own Fail/InvalidGraph types
        raise TaostreamError(f"ONNX Runtime cannot load the standard nodes '{nodes[0].name}' .. '{nodes[-1].name}' "
                             f"({str(exc).splitlines()[0]})") from None
    for info in session.get_outputs():  # later segments read these types
        shape = [d if isinstance(d, int) else (d or None) for d in info.shape] if info.shape is not None else None
        declared[info.name] = DeclaredTensor(info.name, _ORT_TYPES.get(info.type), shape)
    return segment


def _export_segment(graph, nodes: list, inputs: list[DeclaredTensor], outputs: list[str], types: list) -> bytes:
    import onnx  # lazy: heavy
    import onnx_graphsurgeon as gs  # lazy: heavy

    # Fresh tensors, so the nodes copied into the sub-graph leave ``graph`` untouched.
    fresh = {t.name: gs.Variable(t.name, dtype=dtype, shape=None if shape is None else list(shape))
             for t, (dtype, shape) in zip(inputs, types)}
    sub_inputs = list(fresh.values())

    def mapped(tensor):
        if isinstance(tensor, gs.Constant) or not tensor.name:
            return tensor
        return fresh.setdefault(tensor.name, gs.Variable(tensor.name))

    copies = [node.copy(inputs=[mapped(t) for t in node.inputs], outputs=[mapped(t) for t in node.outputs])
              for node in nodes]
    sub = gs.Graph(nodes=copies, inputs=sub_inputs, outputs=[fresh[name] for name in outputs], opset=graph.opset,
                   import_domains=graph.import_domains)
    proto = gs.export_onnx(sub, do_type_check=False)
    proto.ir_version = min(proto.ir_version, 10)
    return onnx.shape_inference.infer_shapes(proto).SerializeToString()


# ----------------------------------------------------------------------------- saving

def pipeline_plan(pipeline: PluginPipeline, source: str = "<model>") -> dict:
    """The JSON plan PluginPipeline.load reads; segment models are referred to by file name."""
    steps, index = [], 0
    for step in pipeline.steps:
        if isinstance(step, StandardSegment):
            steps.append({"kind": "segment", "file": segment_file(index), "inputs": [t.to_json() for t in step.inputs],
                          "outputs": list(step.outputs)})
            index += 1
        else:
            attrs = {key: _json_attribute(step, key, value, source) for key, value in step.attrs.items()}
            steps.append({"kind": "plugin", "name": step.name, "op": step.op, "attrs": attrs,
                          "inputs": list(step.inputs), "outputs": [t.to_json() for t in step.outputs]})
    return {"plan_version": PLAN_VERSION, "inputs": [t.to_json() for t in pipeline.inputs],
            "outputs": list(pipeline.outputs), "steps": steps}


def _json_attribute(step: PluginStep, key: str, value, source: str):
    """Plugin attributes are ints, floats, strings and lists of them; anything else cannot be saved."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, np.generic)) for v in value):
        return [v.item() if isinstance(v, np.generic) else v for v in value]
    raise TaostreamError(f"{source}: node '{step.name}' ({step.op}): attribute '{key}' is a {type(value).__name__}; "
                         "a saved plugin-reference pipeline keeps only int, float, string and list attributes")


def type_from_run(pipeline: PluginPipeline, feeds: dict[str, np.ndarray], source: str = "<model>") -> None:
    """Run ``pipeline`` on ``feeds`` and give each untyped segment the dtypes and ranks its inputs had
    (every dim left dynamic), so that the pipeline can be saved."""
    try:
        pipeline.run(feeds)
    except Exception as exc:  # a reference's ValueError, onnxruntime's own Fail types
        raise TaostreamError(f"{source}: the trial run that types the plugin outputs failed "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    for step in pipeline.steps:
        if not isinstance(step, StandardSegment) or step.model is not None:
            continue
        dims = [[None] * rank for _, rank in step.observed]
        step.model = step.typed_model([(np.dtype(dtype), shape) for (dtype, _), shape in zip(step.observed, dims)])
        step.inputs = [DeclaredTensor(t.name, dtype, shape) for t, (dtype, _), shape in zip(step.inputs, step.observed, dims)]
        step.typed_model, step.observed = None, None
        step._sessions.clear()


def example_feeds(pipeline: PluginPipeline) -> dict[str, np.ndarray] | None:
    """Zeros for every input, dynamic dims as 1 (a batch of one); None when an input's type or rank
    is unknown or a dynamic dim is not the first (an image size a zero input cannot guess)."""
    feeds = {}
    for tensor in pipeline.inputs:
        if tensor.dtype is None or tensor.shape is None:
            return None
        if any(not isinstance(d, int) for d in tensor.shape[1:]):
            return None
        feeds[tensor.name] = np.zeros([d if isinstance(d, int) else 1 for d in tensor.shape], tensor.dtype)
    return feeds


def is_typed(pipeline: PluginPipeline) -> bool:
    """Every segment has its ONNX model (none waits for its first inputs)."""
    return all(step.model is not None for step in pipeline.steps if isinstance(step, StandardSegment))


def check_savable(pipeline: PluginPipeline, source: str = "<model>") -> None:
    """Raise TaostreamError when a segment has no declared input types or a plugin attribute is not JSON."""
    if not is_typed(pipeline):
        untyped = [t.name for step in pipeline.steps if isinstance(step, StandardSegment) and step.model is None
                   for t in step.inputs if t.dtype is None]
        raise TaostreamError(f"{source}: the graph declares no type for {', '.join(sorted(set(untyped)))} (plugin "
                             "outputs), so its CPU pipeline cannot be saved; add value_info for them or run ONNX shape "
                             "inference with the plugins' schemas")
    pipeline_plan(pipeline, source)


def save_pipeline(pipeline: PluginPipeline, folder: str | os.PathLike, source: str = "<model>") -> list[Path]:
    """Write ``folder`` (plan.json, segment_<n>.onnx, constants.npz) at once; returns the files."""
    check_savable(pipeline, source)
    plan = pipeline_plan(pipeline, source)
    folder = Path(folder)
    with atomic_directory(folder, overwrite=True) as tmp:
        segments = [step for step in pipeline.steps if isinstance(step, StandardSegment)]
        for index, segment in enumerate(segments):
            (tmp / segment_file(index)).write_bytes(segment.model)
        if pipeline.constants:
            buffer = io.BytesIO()
            np.savez(buffer, **pipeline.constants)
            (tmp / CONSTANTS_FILE).write_bytes(buffer.getvalue())
        (tmp / PLAN_FILE).write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    return sorted(folder.iterdir())


def serving_modules(pipeline: PluginPipeline) -> dict[str, Path]:
    """The Python files a server needs beside a saved pipeline: {module name to copy as: source file}.
    Raises UnsupportedOpError when a plugin's reference lives in a module the server does not carry."""
    files = {SERVING_PIPELINE_MODULE: Path(plugin_pipeline.__file__)}
    for op in pipeline.plugin_ops():
        implementation = pipeline.reference_for(op)  # a host implementation is served as its numpy reference
        module = getattr(getattr(implementation, "numpy_reference", implementation), "__module__", None)
        if module not in SERVING_REFERENCE_MODULES:
            raise UnsupportedOpError(f"plugin {op}: its numpy reference lives in {module}, which the Triton CPU model "
                                     f"does not carry (only {', '.join(SERVING_REFERENCE_MODULES)})")
    for module, copy_name in SERVING_REFERENCE_MODULES.items():
        __import__(module)
        files[copy_name] = Path(sys.modules[module].__file__)
    files[SERVING_HOST_CALLS_MODULE] = Path(host_calls.__file__)
    return files


def serving_host_library(pipeline: PluginPipeline) -> Path | None:
    """The plugin host library for the Triton CPU model to carry beside its copies: the one this
    process loads (the checkout's build, or $TAOSTREAM_PLUGINS_HOST_LIBRARY) when it runs one of the
    pipeline's plugins; None otherwise (the model then runs the numpy references)."""
    if not any(host_implementation_for(op) for op in pipeline.plugin_ops()):  # None without a loadable library
        return None
    return find_plugin_host_library()
