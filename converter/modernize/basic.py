"""Replace BatchTilePlugin_TRT and ResizeNearest_TRT by standard ONNX ops, in place (onnx-graphsurgeon).

Also holds ``GraphBuilder``, the small node-adding helper the NMS rewrites share, and ``top_k``, the
TopK every rewrite emits (exact for any k, in TopKs TensorRT can build). Every rewrite keeps
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
# TensorRT's TopK layer takes k <= 3840 (TensorRT operator docs, TopK: "k must obey k<=d, k<=3840").
TRT_TOPK_MAX = 3840
# TensorRT's NMS layer considers at most this many boxes per NMS batch item, the highest scores first
# (INMSLayer::setTopKBoxLimit: 5000, 2000 on SM 5.3/6.2). The ONNX parser's NonMaxSuppression importer
# (onnx-tensorrt 10.1) never calls setTopKBoxLimit, so every NonMaxSuppression node gets that default.
TRT_NMS_TOPK_BOX_LIMIT = 5000
FLOAT32_LOWEST = np.finfo(np.float32).min


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


# ----------------------------------------------------------------------------- TopK

def top_k(b: GraphBuilder, x, k: int, axis: int, length: int | None = None, *, k_fits: bool = False):
    """ONNX TopK(largest=1, sorted=1) of float32 ``x`` along ``axis``: (values, int64 indices) of its
    top min(k, length) elements, ties by the lower index first, built from TopKs of at most
    TRT_TOPK_MAX each so that TensorRT can build it for any k.

    ``length``: x.shape[axis] when the caller knows it (else read from x's static shape);
    ``k_fits``: the caller guarantees length >= k (e.g. it padded x), so K stays the constant k.
    k <= TRT_TOPK_MAX gives the plain single TopK, exactly the node the rewrites always emitted.
    NaN has no place in ONNX TopK's order; the chain does not define one either."""
    length = length if length is not None else static_dim(x, axis)
    attrs = {"axis": axis, "largest": 1, "sorted": 1}
    if length is not None:
        k = min(k, length)
    fits = length is not None or k_fits  # K can be the constant k
    if k <= TRT_TOPK_MAX:
        count = b.i64(k) if fits else b("Min", b.i64(k), b.dim(x, axis))
        return b("TopK", x, count, attrs=attrs, n_out=2)
    if fits:
        indices = _top_k_chain_indices(b, _chain_key(b, x), k, axis)
    else:
        indices = _top_k_unknown_length(b, x, k, axis)
    return b("GatherElements", x, indices, attrs={"axis": axis}), indices


def _chain_key(b: GraphBuilder, x):
    """x with -inf raised to float32's lowest finite value, so that -inf stays free to mark taken
    positions strictly below every element. Order-preserving except that -inf and the lowest float
    (-3.4028235e38) tie; the rewrites' fill values are -inf and -3e38, never the lowest float."""
    lowest = b.const(np.array(FLOAT32_LOWEST, dtype=np.float32))
    return b("Where", b("Less", x, lowest), lowest, x)


def _top_k_chain_indices(b: GraphBuilder, key, k: int, axis: int):
    """Indices of the top k of ``key`` (k <= its length) as TopKs of <= TRT_TOPK_MAX, concatenated.

    Why this equals one TopK(k), ties included: ONNX TopK returns a prefix of the sequence S of all
    positions sorted by (value descending, index ascending). The first chunk is S[:c1]. Writing -inf
    (below every key) at those positions leaves the relative order of the other positions unchanged
    and puts the taken ones after all of them, so the next chunk is S[c1:c1+c2], and so on while
    c1 + c2 + ... <= length. Even where a TopK orders ties differently (TensorRT does not document
    its tie order), no position is taken twice and the values stay sorted."""
    chunks, taken = [], 0
    attrs = {"axis": axis, "largest": 1, "sorted": 1}
    while taken < k:
        size = min(TRT_TOPK_MAX, k - taken)
        _, index = b("TopK", key, b.i64(size), attrs=attrs, n_out=2)
        chunks.append(index)
        taken += size
        if taken < k:
            mask = b("Expand", b.const(np.array(-np.inf, dtype=np.float32)), b("Shape", index))
            key = b("ScatterElements", key, index, mask, attrs={"axis": axis})
    return b("Concat", *chunks, attrs={"axis": axis})


def _top_k_unknown_length(b: GraphBuilder, x, k: int, axis: int):
    """The chain when x.shape[axis] is known only at run time: pad the key with k entries of -inf
    (they come after every real element, whose keys are above -inf, and after the taken positions,
    whose indices are lower), take k, keep the first min(k, length): whatever the chain takes past
    the real elements is cut off, and each K stays a constant <= TRT_TOPK_MAX."""
    key = _chain_key(b, x)
    pad_shape = b("ScatterElements", b("Shape", key), b.i64(axis), b.i64(k), attrs={"axis": 0})
    pad = b("Expand", b.const(np.array(-np.inf, dtype=np.float32)), pad_shape)
    indices = _top_k_chain_indices(b, b("Concat", key, pad, attrs={"axis": axis}), k, axis)
    count = b("Min", b.i64(k), b.dim(x, axis))
    return b("Slice", indices, b.i64(0), count, b.i64(axis))


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
