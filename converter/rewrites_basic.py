"""Replace BatchTilePlugin_TRT and ResizeNearest_TRT by standard ONNX ops, in place (onnx-graphsurgeon).

Also holds ``GraphBuilder``, the small node-adding helper the NMS rewrites share. Every rewrite keeps
the plugin's output tensor object (same name, dtype, layout), works with a dynamic batch and uses only
ops whose signature is the same from opset 11 to the newest (no Squeeze/Unsqueeze/Reduce*, whose axes
moved from attributes to inputs), so the inserted nodes fit the graph's own opset.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx_graphsurgeon as gs

from taostream.converter.errors import UnsupportedOpError

MIN_OPSET = 11
INT64_MAX = np.iinfo(np.int64).max


class GraphBuilder:
    """Adds nodes to ``graph``; every new name starts with ``prefix`` (the replaced node's name)."""

    def __init__(self, graph: gs.Graph, prefix: str):
        self.graph = graph
        self.prefix = prefix
        self._numbers = itertools.count()  # per builder: the same graph gets the same names every run

    def __call__(self, op: str, *inputs, attrs: dict | None = None, outputs=None, n_out: int = 1):
        tag = f"{self.prefix}/{op}_{next(self._numbers)}"
        ins = [self.const(x) if isinstance(x, (np.ndarray, np.generic, float, int)) else x for x in inputs]
        if outputs is None:
            outputs = [gs.Variable(f"{tag}:{i}") for i in range(n_out)]
        self.graph.layer(op=op, name=tag, inputs=ins, outputs=outputs, attrs=attrs or {})
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, value) -> gs.Constant:
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        return gs.Constant(f"{self.prefix}/const_{next(self._numbers)}", array)

    def i64(self, *values) -> gs.Constant:
        return self.const(np.array(values, dtype=np.int64))

    def f32(self, *values) -> gs.Constant:
        return self.const(np.array(values, dtype=np.float32))

    def dim(self, tensor, axis: int):
        """tensor.shape[axis] as an int64 tensor of shape [1]."""
        end = INT64_MAX if axis == -1 else axis + 1
        return self("Slice", self("Shape", tensor), self.i64(axis), self.i64(end))

    def shape_from(self, tensor, start: int):
        """tensor.shape[start:] as an int64 tensor."""
        return self("Slice", self("Shape", tensor), self.i64(start), self.i64(INT64_MAX))

    def last(self, tensor, index: int):
        """tensor[..., index:index+1] (the last axis kept)."""
        return self("Slice", tensor, self.i64(index), self.i64(index + 1), self.i64(-1))

    def cast(self, tensor, onnx_type: int):
        return self("Cast", tensor, attrs={"to": onnx_type})


FLOAT, INT32, INT64, BOOL = 1, 6, 7, 9


def static_dim(tensor, axis: int) -> int | None:
    """The tensor's size along ``axis`` when the graph knows it as a number, else None."""
    shape = getattr(tensor, "shape", None)
    if shape is None or len(shape) <= axis or axis < -len(shape):
        return None
    value = shape[axis]
    return int(value) if isinstance(value, (int, np.integer)) and value >= 0 else None


def check_node(graph: gs.Graph, node: gs.Node, ops: tuple[str, ...], n_inputs: tuple[int, ...], n_outputs: int) -> None:
    """Refuse a node the rewrite cannot handle, with a message naming the node and the fix."""
    if node.op not in ops:
        raise UnsupportedOpError(f"node '{node.name}' is a {node.op}, not one of {', '.join(ops)}")
    if graph.opset is not None and graph.opset < MIN_OPSET:
        raise UnsupportedOpError(
            f"graph opset {graph.opset}: replacing {node.op} node '{node.name}' needs opset >= {MIN_OPSET}; "
            "re-export the model with opset 11 or newer"
        )
    if len(node.inputs) not in n_inputs or len(node.outputs) != n_outputs:
        raise UnsupportedOpError(
            f"{node.op} node '{node.name}' has {len(node.inputs)} inputs and {len(node.outputs)} outputs; "
            f"the plugin takes {' or '.join(map(str, n_inputs))} inputs and gives {n_outputs} outputs"
        )


def detach(node: gs.Node) -> list[gs.Variable]:
    """Disconnect the plugin node; return its output tensors, which the rewrite will produce."""
    outputs = list(node.outputs)
    node.inputs.clear()
    node.outputs.clear()
    return outputs


def builder_for(graph: gs.Graph, node: gs.Node, kind: str, builder: type[GraphBuilder] | None = None) -> GraphBuilder:
    """A builder (``builder`` class, GraphBuilder by default) whose names start with the node's
    name, made unique within the graph."""
    base = node.name or (node.outputs[0].name if node.outputs else kind)
    taken = set(graph.tensors())
    prefix, number = base, 1
    while any(name.startswith(prefix + "/") for name in taken):
        number += 1
        prefix = f"{base}_{number}"
    return (builder or GraphBuilder)(graph, prefix)


# ----------------------------------------------------------------------------- BatchTilePlugin_TRT

def replace_batch_tile(graph: gs.Graph, node: gs.Node) -> None:
    """BatchTilePlugin_TRT(batch_source, tensor) -> Expand(tensor[0:1], [N] + tensor.shape[1:]),
    N = batch_source.shape[0]: every item is a copy of the second input's first item."""
    check_node(graph, node, ("BatchTilePlugin_TRT", "BatchTilePlugin"), (2,), 1)
    batch_source, tensor = node.inputs
    (out,) = detach(node)
    b = builder_for(graph, node, "batch_tile")
    first = b("Slice", tensor, b.i64(0), b.i64(1), b.i64(0))
    shape = b("Concat", b.dim(batch_source, 0), b.shape_from(first, 1), attrs={"axis": 0})
    out.dtype = out.dtype or tensor.dtype
    b("Expand", first, shape, outputs=[out])
    graph.cleanup().toposort()


# ----------------------------------------------------------------------------- ResizeNearest_TRT

def replace_resize_nearest(graph: gs.Graph, node: gs.Node) -> None:
    """ResizeNearest_TRT(scale) -> Resize(nearest, asymmetric, floor) with scales [1, .., s, s]:
    output size int(d * s) and source index floor(out_index / s), exactly the plugin's kernel."""
    check_node(graph, node, ("ResizeNearest_TRT", "ResizeNearest"), (1,), 1)
    scale = node.attrs.get("scale", 2.0)
    scale = float(np.asarray(scale).reshape(-1)[0])
    if scale <= 0:
        raise UnsupportedOpError(f"ResizeNearest_TRT node '{node.name}': scale {scale} must be positive")
    (x,) = node.inputs
    rank = len(x.shape) if x.shape is not None else 4
    (out,) = detach(node)
    b = builder_for(graph, node, "resize_nearest")
    scales = b.f32(*([1.0] * (rank - 2) + [scale, scale]))
    roi = b.const(np.zeros(0, dtype=np.float32))
    out.dtype = out.dtype or x.dtype
    b("Resize", x, roi, scales, outputs=[out],
      attrs={"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"})
    graph.cleanup().toposort()
