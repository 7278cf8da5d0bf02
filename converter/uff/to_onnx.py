"""Translate a UFF graph (TLT 2.0/3.0 exports) into an equivalent ONNX model.

TensorRT 9 removed the UFF parser and DeepStream 8/9 load only ONNX, so a UFF .etlt is deployable on
today's stack only after this translation. The op handlers live in converter/uff/ops.py (standard
ops) and converter/uff/plugins.py (TensorRT plugin nodes); this module walks the graph and builds the
model. Anything not understood is an UnsupportedOpError naming the node, never a guess.
"""

from __future__ import annotations

import onnx
from onnx import helper

from taostream.converter.errors import ModelFormatError, UnsupportedOpError
from taostream.converter.uff.reader import UffModel, UffNode, load_uff
from taostream.converter.uff.context import UffTranslator, _onnx_type
from taostream.converter.uff.ops import OP_HANDLERS, SUPPORTED_OPS
from taostream.converter.uff.plugins import CHECKABLE_PLUGIN_DOMAIN, PLUGIN_FIELD_TYPES, translate_plugin

__all__ = ["uff_to_onnx", "SUPPORTED_OPS", "SUPPORTED_PLUGINS", "CHECKABLE_PLUGIN_DOMAIN"]

MIN_OPSET, MAX_OPSET = 13, 21
SUPPORTED_PLUGINS = tuple(sorted(PLUGIN_FIELD_TYPES))


def dependency_order(t: UffTranslator, outputs: list[str]) -> list[UffNode]:
    """Nodes the outputs depend on, inputs before users (iterative: ResNets are deep)."""
    order, state = [], {}
    for root in outputs:
        stack = [(root, False)]
        while stack:
            node_id, expanded = stack.pop()
            if expanded:
                state[node_id] = "done"
                order.append(t.by_id[node_id])
                continue
            if state.get(node_id) == "done":
                continue
            if state.get(node_id) == "open":
                raise ModelFormatError(f"{t.source}: the UFF graph has a cycle through node '{node_id}'")
            if node_id not in t.by_id:
                raise ModelFormatError(f"{t.source}: the UFF graph refers to a node '{node_id}' that it does not define")
            state[node_id] = "open"
            stack.append((node_id, True))
            stack.extend((inp, False) for inp in reversed(t.by_id[node_id].inputs) if state.get(inp) != "done")
    return order


def translate_node(t: UffTranslator, node: UffNode) -> None:
    handler = OP_HANDLERS.get(node.operation)
    if handler is None and node.operation.startswith("_"):
        handler = translate_plugin
    if handler is None:
        raise t.unsupported(node, "this UFF operation is not supported by the translator")
    value = handler(t, node)
    if value.const is not None and not value.name and not value.node_id:
        value.node_id = node.id
    t.values[node.id] = value


# ---- the public entry point ---------------------------------------------------------------------
def _ir_version(opset: int) -> int:
    # The oldest IR version that carries the opset, so older ONNX Runtime / TensorRT parsers load it.
    return 7 if opset <= 12 else 8 if opset <= 18 else 9 if opset <= 20 else 10


def _graph_output(t: UffTranslator, out_id: str) -> onnx.ValueInfoProto:
    value = t.values[out_id]
    if value.const is not None and value.node_id == out_id and not value.name:
        value.node_id = ""  # a constant output: an Identity over the initializer, which some parsers want
    if t.tensor(value) != out_id:  # an alias of another node's tensor, or a constant
        t.graph.op("Identity", [value.name], out_id, outputs=[out_id])
    dims = None
    if value.shape is not None:
        dims = [t.batch_dim if i == 0 and d is None else d for i, d in enumerate(value.shape)]
    return helper.make_tensor_value_info(out_id, _onnx_type(value.dtype), dims)


def uff_to_onnx(uff: bytes | UffModel, *, input_name: str | None = None, opset: int = 17, batch_dim: str = "N",
                source: str = "<uff>", plugin_domain: str = "") -> onnx.ModelProto:
    """Translate a UFF model (serialized bytes or a loaded UffModel) into an ONNX ModelProto.

    Input and output names stay those of the UFF graph (e.g. ``input_1``, ``output_cov/Sigmoid``);
    the input keeps the layout the UFF declares with a dynamic first dimension named ``batch_dim``.
    ``input_name``, when given, must name one of the UFF Input nodes (the .etlt header's name).
    TensorRT plugin nodes go to ``plugin_domain``: "" as TAO exports write them (TensorRT's parser
    finds the plugin by op name), or e.g. CHECKABLE_PLUGIN_DOMAIN so that onnx.checker accepts them.
    Raises UnsupportedOpError naming the node for anything it cannot translate exactly.
    """
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UnsupportedOpError(f"ONNX opset {opset} is not supported for UFF translation; use {MIN_OPSET}..{MAX_OPSET}")
    model = uff if isinstance(uff, UffModel) else load_uff(uff, source)
    t = UffTranslator(model, source, opset, batch_dim)
    t.plugin_domain = plugin_domain
    inputs = [n.id for n in model.inputs()]
    if input_name is not None and input_name not in inputs:
        raise ModelFormatError(f"{source}: the UFF graph has no Input node '{input_name}' (its inputs: {inputs}); "
                               "check the input name given with the model")
    outputs = model.outputs()
    if not outputs:
        raise ModelFormatError(f"{source}: the UFF graph marks no output (no MarkOutput node)")
    # An output such as 'NMS_1' is a plugin node's second output: translating 'NMS' defines it.
    roots = [o if o in t.by_id else o.rsplit("_", 1)[0] for o in outputs]
    for node in dependency_order(t, [r for r in roots if r in t.by_id]):
        translate_node(t, node)
    missing = [o for o in outputs if o not in t.values]
    if missing:
        raise ModelFormatError(f"{source}: the UFF graph marks output(s) {missing} that no node produces")
    graph_outputs = [_graph_output(t, o) for o in outputs]
    graph = helper.make_graph(t.graph.nodes, "uff_graph", t.graph_inputs, graph_outputs, t.graph.initializers)
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(plugin_domain, 1)] if t.used_plugin_domain else [])
    onnx_model = helper.make_model(graph, opset_imports=imports, producer_name="taostream.uff_to_onnx")
    onnx_model.ir_version = _ir_version(opset)
    _infer_missing_output_shapes(onnx_model, source)
    return onnx_model


def _infer_missing_output_shapes(model: onnx.ModelProto, source: str) -> None:
    """An ONNX graph output needs a known rank; ask ONNX shape inference where tracking lost it."""
    missing = [o for o in model.graph.output if not o.type.tensor_type.HasField("shape")]
    if not missing:
        return
    inferred = onnx.shape_inference.infer_shapes(model)
    found = {v.name: v for v in inferred.graph.value_info}
    found.update({v.name: v for v in inferred.graph.output})
    for output in missing:
        guess = found.get(output.name)
        if guess is None or not guess.type.tensor_type.HasField("shape"):
            raise UnsupportedOpError(f"{source}: the rank of output '{output.name}' cannot be determined; "
                                     "give the UFF graph static shapes for it or report the model to taostream")
        output.type.tensor_type.shape.CopyFrom(guess.type.tensor_type.shape)
