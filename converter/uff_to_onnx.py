"""Translate a UFF graph (TLT 2.0/3.0 exports) into an equivalent ONNX model.

TensorRT 9 removed the UFF parser and DeepStream 8/9 load only ONNX, so a UFF .etlt is deployable on
today's stack only after this translation. The UFF graph keeps TensorFlow's conventions (kernels in
the layout its ``inputs_orders`` names, NumPy broadcasting, shapes that include the batch); each handler
below turns one UFF op into standard ONNX ops with those conventions made explicit. TensorRT plugin
nodes (ops spelled with a leading underscore) become ONNX nodes of the same plugin name carrying the
fields as attributes, for the modernizer to replace. Anything not understood is an UnsupportedOpError,
never a guess.

Constants are folded while translating (batch norm spelled as Reshape/Binary/Unary chains over Const
nodes collapses to one Mul and one Add), so the ONNX graph holds only the ops that touch the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.errors import ModelFormatError, UnsupportedOpError
from taostream.converter.uff import DT_FLOAT32, DTYPES, UffModel, UffNode, load_uff

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)
MIN_OPSET = 13
_FIX = "re-export the model with TAO/TLT using supported layers, or report the op to taostream"


@dataclass
class Value:
    """What the translator knows about one UFF node's output: its ONNX name, its shape as far as
    known (None for an unknown dimension such as the batch; None for an unknown rank), its element
    type, and its value when it is a constant."""

    name: str
    shape: tuple | None
    dtype: np.dtype
    const: np.ndarray | None = None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


def _onnx_type(dtype: np.dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class _Graph:
    """Accumulates ONNX nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.names: set[str] = set()

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def initializer(self, array: np.ndarray, base: str) -> str:
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], base: str, outputs: list[str] | None = None, **attrs) -> list[str]:
        """Add a node. ``outputs`` are exact names (a UFF node's own id, reserved up front);
        without them one fresh name is derived from ``base``."""
        names = outputs if outputs is not None else [self.fresh(base)]
        node = helper.make_node(op_type, inputs, names, name=self.fresh(f"{base}/{op_type}"))
        for key, value in attrs.items():
            if value is not None:
                node.attribute.append(helper.make_attribute(key, value))
        self.nodes.append(node)
        return names


class UffTranslator:
    """One translation: walks the UFF nodes the outputs depend on, in dependency order."""

    def __init__(self, model: UffModel, source: str, opset: int, batch_dim: str) -> None:
        self.model = model
        self.source = source
        self.opset = opset
        self.batch_dim = batch_dim
        self.graph = _Graph()
        self.values: dict[str, Value] = {}
        self.graph_inputs: list[onnx.ValueInfoProto] = []
        self.used_plugin_domain = False
        self.by_id = {n.id: n for n in model.nodes}
        self.graph.names.update(self.by_id)  # UFF ids name their own outputs; helpers never take them

    # ---- errors and small helpers -------------------------------------------------------------
    def unsupported(self, node: UffNode, what: str, fix: str = _FIX) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.source}: UFF node '{node.id}' (op {node.operation}): {what}; {fix}")

    def check_fields(self, node: UffNode, allowed: set[str]) -> None:
        unknown = sorted(set(node.fields) - allowed)
        if unknown:
            raise self.unsupported(node, f"field(s) {unknown} are not understood (known: {sorted(allowed)})")

    def input_value(self, node: UffNode, index: int) -> Value:
        if index >= len(node.inputs):
            raise self.unsupported(node, f"expects at least {index + 1} inputs, has {len(node.inputs)}")
        return self.values[node.inputs[index]]

    def const_input(self, node: UffNode, index: int, what: str) -> np.ndarray:
        value = self.input_value(node, index)
        if value.const is None:
            raise self.unsupported(node, f"its {what} (input '{node.inputs[index]}') must be a constant")
        return value.const

    def tensor(self, value: Value) -> str:
        """The ONNX name of a value, materialising a folded constant as an initializer on first use."""
        if value.const is not None and not value.name:
            value.name = self.graph.initializer(value.const, "const")
        return value.name

    def int64(self, array, base: str) -> str:
        return self.graph.initializer(np.asarray(array, dtype=np.int64), base)

    # ---- driver -------------------------------------------------------------------------------
    def dependency_order(self, outputs: list[str]) -> list[UffNode]:
        """Nodes the outputs depend on, inputs before users (iterative: ResNets are deep)."""
        order, state = [], {}
        for root in outputs:
            stack = [(root, False)]
            while stack:
                node_id, expanded = stack.pop()
                if expanded:
                    state[node_id] = "done"
                    order.append(self.by_id[node_id])
                    continue
                if state.get(node_id) == "done":
                    continue
                if state.get(node_id) == "open":
                    raise ModelFormatError(f"{self.source}: the UFF graph has a cycle through node '{node_id}'")
                if node_id not in self.by_id:
                    raise ModelFormatError(f"{self.source}: the UFF graph refers to a node '{node_id}' that it does not define")
                state[node_id] = "open"
                stack.append((node_id, True))
                stack.extend((inp, False) for inp in reversed(self.by_id[node_id].inputs) if state.get(inp) != "done")
        return order

    def translate_node(self, node: UffNode) -> None:
        handler = OP_HANDLERS.get(node.operation)
        if handler is None and node.operation.startswith("_"):
            handler = translate_plugin
        if handler is None:
            raise self.unsupported(node, "this UFF operation is not supported by the translator")
        self.values[node.id] = handler(self, node)


# ---- shape helpers ------------------------------------------------------------------------------
def broadcast_shape(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None or b is None:
        return None
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        out.append(y if x == 1 else x if y == 1 else x if x is not None else y)
    return tuple(reversed(out))


def _norm_axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def parse_orders(t: UffTranslator, node: UffNode, expected: int | None) -> list[str]:
    """``inputs_orders`` names the layout of each input, e.g. 'orders_NC+_+CK': data N,C,spatial;
    kernel spatial,C(in),K(out). (The referenced data holds the same orders as index lists.)"""
    ref = node.fields.get("inputs_orders")
    if ref is None:
        return []
    if not isinstance(ref, str) or not ref.startswith("orders_"):
        raise t.unsupported(node, f"inputs_orders {ref!r} is not an 'orders_...' reference")
    orders = ref[len("orders_"):].split("_")
    if expected is not None and len(orders) != expected:
        raise t.unsupported(node, f"inputs_orders {ref!r} names {len(orders)} layouts, expected {expected}")
    return orders


def layout_permutation(t: UffTranslator, node: UffNode, order: str, canonical: str, rank: int) -> list[int]:
    """Permutation taking a tensor stored in ``order`` (letters + '+' for the spatial dims) to the
    ``canonical`` order (e.g. 'NC+' for ONNX data, 'KC+' for ONNX Conv weights)."""
    spatial = rank - (len(order) - 1)
    if sorted(order) != sorted(canonical) or order.count("+") != 1 or spatial < 0:
        raise t.unsupported(node, f"layout '{order}' cannot be mapped to '{canonical}' for a rank-{rank} tensor")

    def axes_of(layout: str) -> dict[str, list[int]]:
        axes, pos = {}, 0
        for letter in layout:
            width = spatial if letter == "+" else 1
            axes[letter] = list(range(pos, pos + width))
            pos += width
        return axes

    stored = axes_of(order)
    return [axis for letter in canonical for axis in stored[letter]]


def to_nchw(t: UffTranslator, node: UffNode, value: Value, order: str) -> tuple[str, tuple | None, list[int] | None]:
    """Bring a data tensor to N,C,spatial; returns (name, shape, inverse permutation or None)."""
    if order in ("", "NC+"):
        return t.tensor(value), value.shape, None
    if value.rank is None:
        raise t.unsupported(node, f"data layout '{order}' needs the input's rank, which is unknown")
    perm = layout_permutation(t, node, order, "NC+", value.rank)
    name = t.graph.op("Transpose", [t.tensor(value)], f"{node.id}/to_nchw", perm=perm)[0]
    shape = tuple(value.shape[p] for p in perm)
    return name, shape, list(np.argsort(perm))


def from_nchw(t: UffTranslator, node: UffNode, name: str, shape, inverse: list[int] | None, dtype) -> Value:
    if inverse is None:
        return Value(name, shape, dtype)
    out = t.graph.op("Transpose", [name], node.id, outputs=[node.id], perm=[int(p) for p in inverse])[0]
    return Value(out, None if shape is None else tuple(shape[p] for p in inverse), dtype)


def out_name(t: UffTranslator, node: UffNode, final: bool) -> list[str] | None:
    """Exact output name for the op that produces a UFF node's value, else None (a fresh name)."""
    return [node.id] if final else None


# ---- sources and sinks --------------------------------------------------------------------------
def translate_input(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"shape", "dtype"})
    dims = [int(d) for d in node.fields.get("shape", [])]
    dtype = DTYPES.get(node.fields.get("dtype", DT_FLOAT32))
    if not dims or dtype is None:
        raise t.unsupported(node, f"an Input needs a shape and a known dtype (got {node.fields})")
    # TensorFlow exports declare the batch as -1 (or 1 when frozen at batch 1); a shape without it
    # (TensorRT style C,H,W) gets one prepended. Either way the ONNX batch is dynamic.
    shape = [None] + dims[1:] if dims[0] in (-1, 0, 1) and len(dims) >= 2 else [None] + dims
    shape = [None if (d is None or d < 0) else d for d in shape]
    onnx_dims = [t.batch_dim if i == 0 else (d if d is not None else f"{node.id}_dim{i}") for i, d in enumerate(shape)]
    t.graph_inputs.append(helper.make_tensor_value_info(node.id, _onnx_type(dtype), onnx_dims))
    return Value(node.id, tuple(shape), dtype)


def translate_const(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"shape", "dtype", "values"})
    values = node.fields.get("values")
    if isinstance(values, str) and values not in t.model.referenced_data:
        raise ModelFormatError(f"{t.source}: UFF Const '{node.id}' refers to missing data '{values}' (truncated file?)")
    if node.fields.get("dtype", DT_FLOAT32) not in DTYPES:
        raise t.unsupported(node, f"Const dtype code {node.fields.get('dtype')} is not supported")
    array = t.model.const_array(node)
    shape = [int(d) for d in node.fields.get("shape", [])]
    if int(np.prod(shape)) != array.size:
        raise ModelFormatError(f"{t.source}: UFF Const '{node.id}' declares shape {shape} but holds {array.size} values")
    array = array.reshape(shape).copy()
    return Value("", array.shape, array.dtype, const=array)


def translate_identity(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, set())
    return t.input_value(node, 0)


def translate_mark_output(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, set())
    return t.input_value(node, 0)


# ---- convolution and pooling --------------------------------------------------------------------
CONV_FIELDS = {"strides", "padding", "implicit_padding", "dilation", "number_groups", "inputs_orders"}


def _spatial_list(t: UffTranslator, node: UffNode, name: str, spatial: int, default: int) -> list[int]:
    value = node.fields.get(name)
    if value is None:
        return [default] * spatial
    value = [int(v) for v in (value if isinstance(value, list) else [value])]
    if len(value) == 1:
        value = value * spatial
    if len(value) != spatial:
        raise t.unsupported(node, f"{name} {value} does not match {spatial} spatial dimensions")
    return value


def same_pads(in_dims, kernel, strides, dilation) -> list[int] | None:
    """TensorFlow 'SAME': output = ceil(in / stride), the odd pixel of padding at the end."""
    if any(d is None for d in in_dims):
        return None
    begin, end = [], []
    for size, k, s, d in zip(in_dims, kernel, strides, dilation):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def window_pads(t: UffTranslator, node: UffNode, in_dims, kernel, strides, dilation) -> tuple[list[int] | None, bool]:
    """ONNX pads for a Conv/Pool node: (pads or None for auto SAME_UPPER, is_implicit_same)."""
    spatial = len(kernel)
    implicit = node.fields.get("implicit_padding")
    if implicit not in (None, "same"):
        raise t.unsupported(node, f"implicit_padding {implicit!r} is not supported (only 'same')")
    if implicit == "same":
        if node.fields.get("padding") not in (None, [0] * spatial):
            raise t.unsupported(node, "both implicit_padding 'same' and an explicit padding are set")
        return same_pads(in_dims, kernel, strides, dilation), True
    padding = _spatial_list(t, node, "padding", spatial, 0)
    return padding + padding, False  # the UFF converter fuses only symmetric Pad nodes


def conv_output_dims(in_dims, kernel, strides, dilation, pads) -> tuple:
    spatial = len(kernel)
    out = []
    for i in range(spatial):
        if in_dims[i] is None or pads is None:
            out.append(None if pads is not None or in_dims[i] is None else -(-in_dims[i] // strides[i]))
            continue
        eff = (kernel[i] - 1) * dilation[i] + 1
        out.append((in_dims[i] + pads[i] + pads[i + spatial] - eff) // strides[i] + 1)
    return tuple(out)


def conv_weights(t: UffTranslator, node: UffNode, kernel: np.ndarray, order: str, groups: int, channels) -> np.ndarray:
    """Kernel in ONNX Conv layout [K, C/groups, spatial...]. A TensorFlow depthwise kernel
    (H, W, C, multiplier) with number_groups == C becomes [C*multiplier, 1, H, W]."""
    w = kernel.transpose(layout_permutation(t, node, order, "KC+", kernel.ndim))
    if groups == 1 or (channels is not None and w.shape[1] * groups == channels):
        return np.ascontiguousarray(w)
    if w.shape[1] == groups and channels in (None, groups):
        multiplier = w.shape[0]
        return np.ascontiguousarray(w.transpose(1, 0, *range(2, w.ndim)).reshape(groups * multiplier, 1, *w.shape[2:]))
    raise t.unsupported(node, f"kernel {kernel.shape} does not fit {groups} groups over {channels} input channels")


def translate_conv(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, CONV_FIELDS)
    orders = parse_orders(t, node, 2)
    if not orders:
        raise t.unsupported(node, "the Conv has no inputs_orders, so its kernel layout is unknown")
    data = t.input_value(node, 0)
    kernel = t.const_input(node, 1, "kernel")
    x, x_shape, inverse = to_nchw(t, node, data, orders[0])
    spatial = kernel.ndim - 2
    groups = int(node.fields.get("number_groups") or 1)
    channels = None if x_shape is None else x_shape[1]
    w = conv_weights(t, node, kernel, orders[1], groups, channels)
    strides = _spatial_list(t, node, "strides", spatial, 1)
    dilation = _spatial_list(t, node, "dilation", spatial, 1)
    in_dims = (None,) * spatial if x_shape is None else tuple(x_shape[2:])
    pads, _ = window_pads(t, node, in_dims, list(w.shape[2:]), strides, dilation)
    w_name = t.graph.initializer(w.astype(data.dtype), f"{node.id}/kernel")
    attrs = dict(kernel_shape=list(w.shape[2:]), strides=strides, dilations=dilation, group=groups)
    attrs.update(pads=pads) if pads is not None else attrs.update(auto_pad="SAME_UPPER")
    y = t.graph.op("Conv", [x, w_name], f"{node.id}/nchw", outputs=out_name(t, node, inverse is None), **attrs)[0]
    shape = (x_shape[0] if x_shape else None, w.shape[0]) + conv_output_dims(in_dims, list(w.shape[2:]), strides, dilation, pads)
    return from_nchw(t, node, y, shape, inverse, data.dtype)


def translate_conv_transpose(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, CONV_FIELDS)
    orders = parse_orders(t, node, None)
    if len(orders) < 2:
        raise t.unsupported(node, "the ConvTranspose has no inputs_orders, so its kernel layout is unknown")
    data = t.input_value(node, 0)
    kernel = t.const_input(node, 1, "kernel")
    groups = int(node.fields.get("number_groups") or 1)
    w = np.ascontiguousarray(kernel.transpose(layout_permutation(t, node, orders[1], "CK+", kernel.ndim)))
    x, x_shape, inverse = to_nchw(t, node, data, orders[0])
    spatial = kernel.ndim - 2
    strides = _spatial_list(t, node, "strides", spatial, 1)
    dilation = _spatial_list(t, node, "dilation", spatial, 1)
    if x_shape is None or any(d is None for d in x_shape[2:]):
        raise t.unsupported(node, "a ConvTranspose needs the input's spatial size, which is unknown here")
    out_dims = transpose_output_dims(t, node, orders, x_shape[2:], list(w.shape[2:]), strides, dilation)
    pads, extra = [], []
    for size, out, k, s, d in zip(x_shape[2:], out_dims, w.shape[2:], strides, dilation):
        total = (size - 1) * s + (k - 1) * d + 1 - out
        pads.append(max(total, 0))
        extra.append(max(-total, 0))
    begin = [p // 2 for p in pads]
    attrs = dict(kernel_shape=list(w.shape[2:]), strides=strides, dilations=dilation, group=groups,
                 pads=begin + [p - b for p, b in zip(pads, begin)], output_padding=extra)
    w_name = t.graph.initializer(w.astype(data.dtype), f"{node.id}/kernel")
    y = t.graph.op("ConvTranspose", [x, w_name], f"{node.id}/nchw", outputs=out_name(t, node, inverse is None), **attrs)[0]
    return from_nchw(t, node, y, (x_shape[0], w.shape[1] * groups) + tuple(out_dims), inverse, data.dtype)


def transpose_output_dims(t, node, orders, in_dims, kernel, strides, dilation) -> list[int]:
    """Output size of a ConvTranspose: from its output-shape input when constant, else implied."""
    if len(node.inputs) > 2 and t.values[node.inputs[2]].const is not None:
        full = [int(v) for v in t.values[node.inputs[2]].const.reshape(-1)]
        order = orders[0] if orders[0] else "NC+"
        perm = layout_permutation(t, node, order, "NC+", len(full))
        return [full[p] for p in perm][2:]
    if node.fields.get("implicit_padding") == "same":
        return [size * s for size, s in zip(in_dims, strides)]
    padding = _spatial_list(t, node, "padding", len(kernel), 0)
    return [(size - 1) * s + (k - 1) * d + 1 - 2 * p for size, k, s, d, p in zip(in_dims, kernel, strides, dilation, padding)]


def translate_pool(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"func", "kernel", "strides", "padding", "implicit_padding", "inputs_orders"})
    func = node.fields.get("func")
    if func not in ("max", "avg"):
        raise t.unsupported(node, f"pooling func {func!r} is not supported (max, avg)")
    orders = parse_orders(t, node, 1) or ["NC+"]
    data = t.input_value(node, 0)
    x, x_shape, inverse = to_nchw(t, node, data, orders[0])
    kernel = [int(k) for k in node.fields.get("kernel", [])]
    if not kernel:
        raise t.unsupported(node, "the Pool has no kernel field")
    spatial = len(kernel)
    strides = _spatial_list(t, node, "strides", spatial, 1)
    in_dims = (None,) * spatial if x_shape is None else tuple(x_shape[2:])
    pads, implicit = window_pads(t, node, in_dims, kernel, strides, [1] * spatial)
    attrs = dict(kernel_shape=kernel, strides=strides)
    attrs.update(pads=pads) if pads is not None else attrs.update(auto_pad="SAME_UPPER")
    # Explicit padding is a fused TensorFlow Pad of zeros: avg counts those zeros, max sees them.
    zero_padded_max = func == "max" and not implicit and any(pads)
    if func == "avg":
        attrs["count_include_pad"] = 0 if implicit else 1
    out_shape = conv_output_dims(in_dims, kernel, strides, [1] * spatial, pads)
    final = inverse is None and not zero_padded_max
    op_type = "MaxPool" if func == "max" else "AveragePool"
    y = t.graph.op(op_type, [x], f"{node.id}/nchw", outputs=out_name(t, node, final), **attrs)[0]
    if zero_padded_max:
        y = max_with_zero_padding(t, node, y, in_dims, kernel, strides, pads, out_shape, inverse is None, data.dtype)
    shape = None if x_shape is None else x_shape[:2] + out_shape
    return from_nchw(t, node, y, shape, inverse, data.dtype)


def max_with_zero_padding(t: UffTranslator, node: UffNode, pooled: str, in_dims, kernel, strides, pads, out_dims,
                          final: bool, dtype) -> str:
    """ONNX MaxPool pads with -inf; a window that overlaps TensorFlow's zero padding must also see 0.
    Max(pooled, floor) with floor = 0 on those windows and the lowest float elsewhere does that. (A Pad
    node before the MaxPool would say the same, but ONNX Runtime 1.23's PadFusion folds it into the
    MaxPool's -inf pads and gives wrong results.)"""
    spatial = len(kernel)
    if any(d is None for d in in_dims):
        raise t.unsupported(node, "max pooling with explicit padding needs the input's spatial size")
    touches = np.zeros(out_dims, dtype=bool)
    for axis in range(spatial):
        start = np.arange(out_dims[axis]) * strides[axis] - pads[axis]
        edge = (start < 0) | (start + kernel[axis] > in_dims[axis])
        touches |= edge.reshape([-1 if a == axis else 1 for a in range(spatial)])
    floor = np.where(touches, 0.0, np.finfo(dtype).min).astype(dtype).reshape((1, 1) + tuple(out_dims))
    floor_name = t.graph.initializer(floor, f"{node.id}/zero_padding_floor")
    return t.graph.op("Max", [pooled, floor_name], f"{node.id}/zero_padded", outputs=out_name(t, node, final))[0]


def translate_fully_connected(t: UffTranslator, node: UffNode) -> Value:
    """TensorFlow MatMul: data 'NC' (or 'CN' for transpose_a), weights 'CK' (or 'KC')."""
    t.check_fields(node, {"inputs_orders"})
    lhs_order, rhs_order = parse_orders(t, node, 2) or ["NC", "CK"]
    if lhs_order not in ("NC", "CN", "NC+") or rhs_order not in ("CK", "KC"):
        raise t.unsupported(node, f"inputs_orders {lhs_order}/{rhs_order} are not supported (NC|CN, CK|KC)")
    data, weights = t.input_value(node, 0), t.input_value(node, 1)
    x, x_shape = t.tensor(data), data.shape
    if lhs_order == "CN":
        x = t.graph.op("Transpose", [x], f"{node.id}/lhs", perm=[1, 0])[0]
        x_shape = None if x_shape is None else x_shape[::-1]
    elif data.rank is None or data.rank > 2:
        x = t.graph.op("Flatten", [x], f"{node.id}/flatten", axis=1)[0]
        x_shape = None
    if weights.const is not None:
        w = weights.const.T if rhs_order == "KC" else weights.const
        w_name, k = t.graph.initializer(np.ascontiguousarray(w).astype(data.dtype), f"{node.id}/weights"), w.shape[1]
    else:
        w_name, k = t.tensor(weights), None
        if rhs_order == "KC":
            w_name = t.graph.op("Transpose", [w_name], f"{node.id}/rhs", perm=[1, 0])[0]
    y = t.graph.op("MatMul", [x, w_name], node.id, outputs=[node.id])[0]
    return Value(y, (None if x_shape is None else x_shape[0], k), data.dtype)


# ---- element-wise -------------------------------------------------------------------------------
BINARY_OPS = {"add": ("Add", np.add), "sub": ("Sub", np.subtract), "mul": ("Mul", np.multiply),
              "div": ("Div", np.divide), "min": ("Min", np.minimum), "max": ("Max", np.maximum),
              "pow": ("Pow", np.power)}


def translate_binary(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"func"})
    func = node.fields.get("func")
    if func not in BINARY_OPS:
        raise t.unsupported(node, f"Binary func {func!r} is not supported ({sorted(BINARY_OPS)})")
    op_type, fold = BINARY_OPS[func]
    a, b = t.input_value(node, 0), t.input_value(node, 1)
    if a.const is not None and b.const is not None:
        result = np.asarray(fold(a.const, b.const)).astype(np.result_type(a.const, b.const))
        return Value("", result.shape, result.dtype, const=result)
    dtype = a.dtype if a.const is None else b.dtype
    # A constant takes the other operand's type (TensorFlow would have rejected a real mismatch).
    a_name = t.tensor(a) if a.const is None or a.dtype == dtype else t.graph.initializer(a.const.astype(dtype), "const")
    b_name = t.tensor(b) if b.const is None or b.dtype == dtype else t.graph.initializer(b.const.astype(dtype), "const")
    y = t.graph.op(op_type, [a_name, b_name], node.id, outputs=[node.id])[0]
    return Value(y, broadcast_shape(a.shape, b.shape), dtype)


def _rsqrt(x):
    return 1.0 / np.sqrt(x)


# func -> (ONNX ops applied in turn, numpy function for folding constants)
UNARY_OPS = {
    "neg": (["Neg"], np.negative), "abs": (["Abs"], np.abs), "exp": (["Exp"], np.exp), "log": (["Log"], np.log),
    "sqrt": (["Sqrt"], np.sqrt), "rsqrt": (["Sqrt", "Reciprocal"], _rsqrt), "square": (["Square"], np.square),
    "floor": (["Floor"], np.floor), "ceil": (["Ceil"], np.ceil), "sin": (["Sin"], np.sin), "cos": (["Cos"], np.cos),
    "tan": (["Tan"], np.tan), "asin": (["Asin"], np.arcsin), "acos": (["Acos"], np.arccos),
    "atan": (["Atan"], np.arctan), "sinh": (["Sinh"], np.sinh), "cosh": (["Cosh"], np.cosh),
    "asinh": (["Asinh"], np.arcsinh), "acosh": (["Acosh"], np.arccosh), "atanh": (["Atanh"], np.arctanh),
    "recip": (["Reciprocal"], np.reciprocal), "reciprocal": (["Reciprocal"], np.reciprocal),
}


def translate_unary(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"func"})
    func = node.fields.get("func")
    if func not in UNARY_OPS:
        raise t.unsupported(node, f"Unary func {func!r} is not supported ({sorted(UNARY_OPS)})")
    ops, fold = UNARY_OPS[func]
    x = t.input_value(node, 0)
    if x.const is not None:
        result = np.asarray(fold(x.const)).astype(x.const.dtype)
        return Value("", result.shape, result.dtype, const=result)
    name = t.tensor(x)
    for i, op_type in enumerate(ops):
        if op_type == "Square":
            name = t.graph.op("Mul", [name, name], node.id, outputs=out_name(t, node, i == len(ops) - 1))[0]
        else:
            name = t.graph.op(op_type, [name], f"{node.id}/{op_type}", outputs=out_name(t, node, i == len(ops) - 1))[0]
    return Value(name, x.shape, x.dtype)


ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "elu": "Elu", "selu": "Selu",
               "softsign": "Softsign", "softplus": "Softplus"}


def translate_activation(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"func", "alpha"})
    func = node.fields.get("func")
    x = t.input_value(node, 0)
    name = t.tensor(x)
    if func == "relu6":
        low, high = (t.graph.initializer(np.asarray(v, dtype=x.dtype), f"{node.id}/{label}") for v, label in ((0, "min"), (6, "max")))
        y = t.graph.op("Clip", [name, low, high], node.id, outputs=[node.id])[0]
    elif func in ("leaky_relu", "lrelu"):
        y = t.graph.op("LeakyRelu", [name], node.id, outputs=[node.id], alpha=float(node.fields.get("alpha", 0.2)))[0]
    elif func in ACTIVATIONS:
        if "alpha" in node.fields and func != "elu":
            raise t.unsupported(node, f"an alpha field on activation {func!r} is not understood")
        attrs = {"alpha": float(node.fields["alpha"])} if "alpha" in node.fields else {}
        y = t.graph.op(ACTIVATIONS[func], [name], node.id, outputs=[node.id], **attrs)[0]
    else:
        raise t.unsupported(node, f"Activation func {func!r} is not supported ({sorted([*ACTIVATIONS, 'relu6', 'leaky_relu'])})")
    return Value(y, x.shape, x.dtype)


def translate_leaky_relu(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"alpha"})
    x = t.input_value(node, 0)
    y = t.graph.op("LeakyRelu", [t.tensor(x)], node.id, outputs=[node.id], alpha=float(node.fields.get("alpha", 0.2)))[0]
    return Value(y, x.shape, x.dtype)


def translate_softmax(t: UffTranslator, node: UffNode) -> Value:
    """TensorFlow's Softmax op normalises over the last axis and has no axis of its own; the UFF
    converter then writes ``axis: 0`` (an axis is only taken from a second input TensorFlow's op never
    has). So the ONNX Softmax is over the last axis; any other axis value is refused, not guessed."""
    t.check_fields(node, {"axis", "inputs_orders", "data_format"})
    x = t.input_value(node, 0)
    if int(node.fields.get("axis", 0)) not in (0, -1):
        raise t.unsupported(node, f"softmax axis {node.fields['axis']} has no known meaning (TensorFlow exports write 0)")
    y = t.graph.op("Softmax", [t.tensor(x)], node.id, outputs=[node.id], axis=-1)[0]
    return Value(y, x.shape, x.dtype)


def translate_batchnorm(t: UffTranslator, node: UffNode) -> Value:
    """y = (x - mean) / sqrt(var + eps) * gamma + beta, folded to one Mul and one Add."""
    t.check_fields(node, {"epsilon", "inputs_orders"})
    x = t.input_value(node, 0)
    gamma, beta, mean, var = (t.const_input(node, i, label).astype(np.float64).reshape(-1)
                              for i, label in ((1, "gamma"), (2, "beta"), (3, "mean"), (4, "variance")))
    scale = gamma / np.sqrt(var + float(node.fields.get("epsilon", 1e-3)))
    shift = beta - mean * scale
    orders = parse_orders(t, node, None) or ["NC+"]
    if x.rank is None:
        raise t.unsupported(node, "batch norm needs the input's rank, which is unknown")
    shape = [-1] + [1] * (x.rank - 2) if orders[0] in ("NC+", "NC") else [-1]
    scale_name = t.graph.initializer(scale.reshape(shape).astype(x.dtype), f"{node.id}/scale")
    shift_name = t.graph.initializer(shift.reshape(shape).astype(x.dtype), f"{node.id}/shift")
    scaled = t.graph.op("Mul", [t.tensor(x), scale_name], f"{node.id}/mul")[0]
    y = t.graph.op("Add", [scaled, shift_name], node.id, outputs=[node.id])[0]
    return Value(y, x.shape, x.dtype)


# ---- shape manipulation -------------------------------------------------------------------------
def _fold(value: np.ndarray) -> Value:
    return Value("", value.shape, value.dtype, const=value)


def reshape_target(x: Value, shape: np.ndarray) -> list[int]:
    """TensorFlow reshapes spell the batch: -1, or 1 when exported at batch 1. For a batch-carrying
    tensor a leading 1 becomes 0 (ONNX: copy the input's dimension) so the batch stays dynamic."""
    target = [int(v) for v in shape.reshape(-1)]
    batched = x.shape is not None and len(x.shape) > 0 and x.shape[0] is None
    if batched and target and target[0] == 1 and -1 not in target[1:]:
        target[0] = 0
    return target


def reshaped_shape(x: Value, target: list[int]) -> tuple:
    copied = [x.shape[i] if x.shape is not None and i < len(x.shape) else None for i in range(len(target))]
    out = [copied[i] if v == 0 else v for i, v in enumerate(target)]
    if -1 in out:
        known = x.shape is not None and all(d is not None for d in x.shape) and None not in out
        rest = int(np.prod([d for d in out if d not in (-1, None)]))
        out[out.index(-1)] = int(np.prod(x.shape)) // max(rest, 1) if known else None
    return tuple(out)


def translate_reshape(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, set())
    x, shape = t.input_value(node, 0), t.input_value(node, 1)
    if shape.const is None:
        shape_name = t.graph.op("Cast", [t.tensor(shape)], f"{node.id}/shape", to=TensorProto.INT64)[0]
        y = t.graph.op("Reshape", [t.tensor(x), shape_name], node.id, outputs=[node.id])[0]
        rank = shape.shape[0] if shape.shape is not None and len(shape.shape) == 1 else None
        return Value(y, None if rank is None else (None,) * rank, x.dtype)
    if x.const is not None:
        return _fold(x.const.reshape([int(v) for v in shape.const.reshape(-1)]))
    target = reshape_target(x, shape.const)
    y = t.graph.op("Reshape", [t.tensor(x), t.int64(target, f"{node.id}/shape")], node.id, outputs=[node.id])[0]
    return Value(y, reshaped_shape(x, target), x.dtype)


def translate_flatten(t: UffTranslator, node: UffNode) -> Value:
    """The UFF converter turns Keras Flatten into this op and ignores its axis: [N, everything]."""
    t.check_fields(node, {"axis"})
    x = t.input_value(node, 0)
    if x.const is not None:
        return _fold(x.const.reshape(x.const.shape[0], -1))
    y = t.graph.op("Flatten", [t.tensor(x)], node.id, outputs=[node.id], axis=1)[0]
    known = x.shape is not None and all(d is not None for d in x.shape[1:])
    return Value(y, (x.shape[0] if x.shape else None, int(np.prod(x.shape[1:])) if known else None), x.dtype)


def _axes_field(node: UffNode, name: str) -> list[int]:
    value = node.fields.get(name)
    if value is None:
        return []
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def translate_squeeze(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"axis"})
    x = t.input_value(node, 0)
    axes = _axes_field(node, "axis")
    if not axes:
        # Squeezing "every 1" must not squeeze a dynamic batch that happens to be 1 at run time.
        if x.shape is None or any(d is None for d in x.shape[1:]):
            raise t.unsupported(node, "a Squeeze without axes needs the input's static shape")
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    if x.const is not None:
        return _fold(np.squeeze(x.const, axis=tuple(axes)))
    rank = x.rank
    y = t.graph.op("Squeeze", [t.tensor(x), t.int64(axes, f"{node.id}/axes")], node.id, outputs=[node.id])[0]
    shape = None if rank is None else tuple(d for i, d in enumerate(x.shape) if i not in {_norm_axis(a, rank) for a in axes})
    return Value(y, shape, x.dtype)


def translate_expand_dims(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"axis"})
    x = t.input_value(node, 0)
    axes = _axes_field(node, "axis")
    if len(axes) != 1:
        raise t.unsupported(node, f"ExpandDims needs exactly one axis, got {axes}")
    if x.const is not None:
        return _fold(np.expand_dims(x.const, axes[0]))
    y = t.graph.op("Unsqueeze", [t.tensor(x), t.int64(axes, f"{node.id}/axes")], node.id, outputs=[node.id])[0]
    shape = None
    if x.shape is not None:
        shape = list(x.shape)
        shape.insert(_norm_axis(axes[0], len(shape) + 1), 1)
    return Value(y, None if shape is None else tuple(shape), x.dtype)


def translate_transpose(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"permutation"})
    x = t.input_value(node, 0)
    perm = _axes_field(node, "permutation")
    if not perm and len(node.inputs) > 1:
        perm = [int(v) for v in t.const_input(node, 1, "permutation").reshape(-1)]
    if not perm:
        raise t.unsupported(node, "the Transpose has no permutation")
    if x.const is not None:
        return _fold(np.ascontiguousarray(x.const.transpose(perm)))
    y = t.graph.op("Transpose", [t.tensor(x)], node.id, outputs=[node.id], perm=perm)[0]
    return Value(y, None if x.shape is None else tuple(x.shape[p] for p in perm), x.dtype)


def translate_pad(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"mode"})
    if node.fields.get("mode", "constant") not in ("constant", "CONSTANT"):
        raise t.unsupported(node, f"Pad mode {node.fields.get('mode')!r} is not supported (constant)")
    x = t.input_value(node, 0)
    paddings = t.const_input(node, 1, "paddings").astype(np.int64).reshape(-1, 2)
    pads = list(paddings[:, 0]) + list(paddings[:, 1])
    y = t.graph.op("Pad", [t.tensor(x), t.int64(pads, f"{node.id}/pads")], node.id, outputs=[node.id])[0]
    shape = None if x.shape is None else tuple(None if d is None else d + int(a + b) for d, (a, b) in zip(x.shape, paddings))
    return Value(y, shape, x.dtype)


def translate_concat(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"axis"})
    parts = [t.values[i] for i in node.inputs]
    axis = int(node.fields.get("axis", 0))
    if all(p.const is not None for p in parts):
        return _fold(np.concatenate([p.const for p in parts], axis=axis))
    dtype = next(p.dtype for p in parts if p.const is None)
    names = [t.tensor(p) if p.const is None else t.graph.initializer(p.const.astype(dtype), "const") for p in parts]
    y = t.graph.op("Concat", names, node.id, outputs=[node.id], axis=axis)[0]
    shape = None
    if all(p.shape is not None for p in parts):
        rank = len(parts[0].shape)
        shape = list(parts[0].shape)
        sizes = [p.shape[_norm_axis(axis, rank)] for p in parts]
        shape[_norm_axis(axis, rank)] = None if None in sizes else sum(sizes)
    return Value(y, None if shape is None else tuple(shape), dtype)


def translate_stack(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"axis"})
    parts = [t.values[i] for i in node.inputs]
    axis = int(node.fields.get("axis", 0))
    if all(p.const is not None for p in parts):
        return _fold(np.stack([p.const for p in parts], axis=axis))
    dtype = next(p.dtype for p in parts if p.const is None)
    axes = t.int64([axis], f"{node.id}/axes")
    names = []
    for p in parts:
        name = t.tensor(p) if p.const is None else t.graph.initializer(p.const.astype(dtype), "const")
        names.append(t.graph.op("Unsqueeze", [name, axes], f"{node.id}/unsqueeze")[0])
    y = t.graph.op("Concat", names, node.id, outputs=[node.id], axis=axis)[0]
    shape = None
    if parts[0].shape is not None:
        shape = list(parts[0].shape)
        shape.insert(_norm_axis(axis, len(shape) + 1), len(parts))
    return Value(y, None if shape is None else tuple(shape), dtype)


REDUCE_OPS = {"sum": "ReduceSum", "prod": "ReduceProd", "min": "ReduceMin", "max": "ReduceMax", "mean": "ReduceMean"}


def translate_reduce(t: UffTranslator, node: UffNode) -> Value:
    """TensorFlow reduction over ``axes`` (counted with the batch); ``keepdims`` as the field says.
    (The UFF converter warned that TensorRT's parser ignored keepdims; the ONNX follows the model.)"""
    t.check_fields(node, {"func", "axes", "keepdims"})
    func = node.fields.get("func")
    if func not in REDUCE_OPS:
        raise t.unsupported(node, f"Reduce func {func!r} is not supported ({sorted(REDUCE_OPS)})")
    x = t.input_value(node, 0)
    axes = _axes_field(node, "axes")
    keepdims = int(bool(node.fields.get("keepdims", False)))
    attrs = {"keepdims": keepdims}
    inputs = [t.tensor(x)]
    if axes and (t.opset >= 18 or func == "sum"):
        inputs.append(t.int64(axes, f"{node.id}/axes"))
    elif axes:
        attrs["axes"] = axes
    y = t.graph.op(REDUCE_OPS[func], inputs, node.id, outputs=[node.id], **attrs)[0]
    shape = None
    if x.shape is not None:
        reduced = {_norm_axis(a, len(x.shape)) for a in axes} if axes else set(range(len(x.shape)))
        shape = tuple(1 if i in reduced else d for i, d in enumerate(x.shape) if keepdims or i not in reduced)
    return Value(y, shape, x.dtype)


def slice_bounds(begin, end, strides, begin_mask: int, end_mask: int, shrink_mask: int):
    """TensorFlow StridedSlice masks -> ONNX Slice starts/ends/steps and the axes to squeeze."""
    starts, ends, shrink = [], [], []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if shrink_mask >> i & 1:
            starts.append(b)
            ends.append(INT64_MAX if b == -1 else b + 1)
            shrink.append(i)
            continue
        starts.append((0 if s > 0 else INT64_MAX) if begin_mask >> i & 1 else b)
        ends.append((INT64_MAX if s > 0 else INT64_MIN) if end_mask >> i & 1 else e)
    steps = [1 if i in shrink else s for i, s in enumerate(strides)]
    return starts, ends, steps, shrink


def translate_strided_slice(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"begin_mask", "end_mask", "shrink_axis_mask", "ellipsis_mask", "new_axis_mask"})
    for mask in ("ellipsis_mask", "new_axis_mask"):
        if int(node.fields.get(mask, 0)):
            raise t.unsupported(node, f"{mask} is not supported (the UFF converter rejected it too)")
    x = t.input_value(node, 0)
    begin, end, strides = ([int(v) for v in t.const_input(node, i, label).reshape(-1)]
                           for i, label in ((1, "begin"), (2, "end"), (3, "strides")))
    if 0 in strides:
        raise t.unsupported(node, "a StridedSlice stride of 0 is invalid")
    starts, ends, steps, shrink = slice_bounds(begin, end, strides, int(node.fields.get("begin_mask", 0)),
                                               int(node.fields.get("end_mask", 0)), int(node.fields.get("shrink_axis_mask", 0)))
    axes = list(range(len(starts)))
    final = not shrink
    sliced = t.graph.op("Slice", [t.tensor(x), t.int64(starts, f"{node.id}/starts"), t.int64(ends, f"{node.id}/ends"),
                                  t.int64(axes, f"{node.id}/axes"), t.int64(steps, f"{node.id}/steps")],
                        f"{node.id}/slice", outputs=out_name(t, node, final))[0]
    if shrink:
        sliced = t.graph.op("Squeeze", [sliced, t.int64(shrink, f"{node.id}/shrink")], node.id, outputs=[node.id])[0]
    shape = None
    if x.shape is not None:
        dims = [slice_length(d, b, e, s) for d, b, e, s in zip(x.shape, starts, ends, steps)] + list(x.shape[len(starts):])
        shape = tuple(d for i, d in enumerate(dims) if i not in shrink)
    return Value(sliced, shape, x.dtype)


def slice_length(size, start, end, step) -> int | None:
    return None if size is None else len(range(size)[start:end:step])


def translate_shape(t: UffTranslator, node: UffNode) -> Value:
    """TensorFlow's Shape is int32 (its default out_type); ONNX computes int64, so cast."""
    t.check_fields(node, set())
    x = t.input_value(node, 0)
    if x.shape is not None and all(d is not None for d in x.shape):
        return _fold(np.asarray(x.shape, dtype=np.int32))
    shape = t.graph.op("Shape", [t.tensor(x)], f"{node.id}/int64")[0]
    y = t.graph.op("Cast", [shape], node.id, outputs=[node.id], to=TensorProto.INT32)[0]
    return Value(y, (x.rank,), np.dtype(np.int32))


def translate_gather(t: UffTranslator, node: UffNode) -> Value:
    t.check_fields(node, {"axis", "indices_dtype", "params_dtype", "validate_indices"})
    params, indices = t.input_value(node, 0), t.input_value(node, 1)
    axis = int(node.fields.get("axis", 0))
    if params.const is not None and indices.const is not None:
        return _fold(np.take(params.const, indices.const, axis=axis))
    y = t.graph.op("Gather", [t.tensor(params), t.tensor(indices)], node.id, outputs=[node.id], axis=axis)[0]
    shape = None
    if params.shape is not None and indices.shape is not None:
        a = _norm_axis(axis, len(params.shape))
        shape = params.shape[:a] + indices.shape + params.shape[a + 1:]
    return Value(y, shape, params.dtype)


# ---- TensorRT plugin nodes ----------------------------------------------------------------------
PLUGIN_DOMAIN = "trt.plugins"
_I, _F, _INTS, _FLOATS, _S = "int", "float", "ints", "floats", "string"
# Field types from the TensorRT OSS plugin READMEs / creators; a field not listed keeps its UFF type.
PLUGIN_FIELD_TYPES: dict[str, dict[str, str]] = {
    "BatchTilePlugin_TRT": {},
    "NMS_TRT": {"shareLocation": _I, "varianceEncodedInTarget": _I, "backgroundLabelId": _I, "numClasses": _I,
                "topK": _I, "keepTopK": _I, "confidenceThreshold": _F, "nmsThreshold": _F, "inputOrder": _INTS,
                "confSigmoid": _I, "isNormalized": _I, "codeType": _I, "scoreBits": _I, "isBatchAgnostic": _I},
    "BatchedNMS_TRT": {"shareLocation": _I, "backgroundLabelId": _I, "numClasses": _I, "topK": _I, "keepTopK": _I,
                       "scoreThreshold": _F, "iouThreshold": _F, "isNormalized": _I, "clipBoxes": _I,
                       "scoreBits": _I, "caffeSemantics": _I},
    "Proposal": {"input_height": _I, "input_width": _I, "rpn_stride": _I, "roi_min_size": _F,
                 "nms_iou_threshold": _F, "pre_nms_top_n": _I, "post_nms_top_n": _I,
                 "anchor_sizes": _FLOATS, "anchor_ratios": _FLOATS},
    "CropAndResize": {"crop_width": _I, "crop_height": _I},
    "ResizeNearest_TRT": {"scale": _F},
    "MultilevelProposeROI_TRT": {"prenms_topk": _I, "keep_topk": _I, "fg_threshold": _F, "iou_threshold": _F,
                                 "image_size": _INTS},
    "MultilevelCropAndResize_TRT": {"pooled_size": _I, "image_size": _INTS},
    "GenerateDetection_TRT": {"num_classes": _I, "keep_topk": _I, "score_threshold": _F, "iou_threshold": _F,
                              "image_size": _INTS},
    "SpecialSlice_TRT": {},
    "FlattenConcat_TRT": {"axis": _I, "ignoreBatch": _I},
    "GridAnchor_TRT": {"minSize": _F, "maxSize": _F, "aspectRatios": _FLOATS, "variance": _FLOATS,
                       "featureMapShapes": _INTS, "numLayers": _I},
    "GridAnchorRect_TRT": {"minSize": _F, "maxSize": _F, "aspectRatios": _FLOATS, "variance": _FLOATS,
                           "featureMapShapes": _INTS, "numLayers": _I},
    "EfficientNMS_TRT": {"score_threshold": _F, "iou_threshold": _F, "max_output_boxes": _I, "background_class": _I,
                         "score_activation": _I, "class_agnostic": _I, "box_coding": _I},
}
# Outputs beyond the first are named '<node>_1', '<node>_2', ... as TensorRT named them.
PLUGIN_OUTPUTS = {"NMS_TRT": (np.float32, np.float32),
                  "BatchedNMS_TRT": (np.int32, np.float32, np.float32, np.float32),
                  "EfficientNMS_TRT": (np.int32, np.float32, np.float32, np.int32)}
PLUGIN_ALIASES = {"NMS": "NMS_TRT", "BatchedNMS": "BatchedNMS_TRT", "BatchTilePlugin": "BatchTilePlugin_TRT",
                  "ResizeNearest": "ResizeNearest_TRT", "Proposal_TRT": "Proposal", "CropAndResize_TRT": "CropAndResize"}


def plugin_attribute(t: UffTranslator, node: UffNode, key: str, value, kind: str | None) -> onnx.AttributeProto:
    kind = kind or _uff_kind(value)
    try:
        if kind == _I:
            return helper.make_attribute(key, int(value))
        if kind == _F:
            return helper.make_attribute(key, float(value))
        if kind == _INTS:
            return helper.make_attribute(key, [int(v) for v in _as_list(value)], attr_type=onnx.AttributeProto.INTS)
        if kind == _FLOATS:
            return helper.make_attribute(key, [float(v) for v in _as_list(value)], attr_type=onnx.AttributeProto.FLOATS)
        if kind == "strings":
            return helper.make_attribute(key, [str(v) for v in value], attr_type=onnx.AttributeProto.STRINGS)
        return helper.make_attribute(key, str(value))
    except (TypeError, ValueError):
        raise t.unsupported(node, f"plugin field {key}={value!r} cannot be written as an ONNX {kind} attribute") from None


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _uff_kind(value) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return _I
    if isinstance(value, float):
        return _F
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return "strings"
        return _FLOATS if any(isinstance(v, float) for v in value) else _INTS
    return _S


def translate_plugin(t: UffTranslator, node: UffNode) -> Value:
    name = node.operation.lstrip("_")
    name = PLUGIN_ALIASES.get(name, name)
    if name not in PLUGIN_FIELD_TYPES:
        raise t.unsupported(node, f"'{name}' is not a TensorRT plugin taostream knows "
                                  f"({', '.join(sorted(PLUGIN_FIELD_TYPES))})")
    inputs = [t.tensor(t.values[i]) for i in node.inputs]
    dtypes = PLUGIN_OUTPUTS.get(name, (np.float32,))
    outputs = [node.id] + [f"{node.id}_{k}" for k in range(1, len(dtypes))]
    onnx_node = helper.make_node(name, inputs, outputs, name=t.graph.fresh(f"{node.id}/{name}"), domain=PLUGIN_DOMAIN)
    types = PLUGIN_FIELD_TYPES[name]
    for key in sorted(node.fields):
        onnx_node.attribute.append(plugin_attribute(t, node, key, node.fields[key], types.get(key)))
    t.graph.nodes.append(onnx_node)
    t.used_plugin_domain = True
    shapes = plugin_output_shapes(name, node.fields, [t.values[i] for i in node.inputs], len(outputs))
    for k, extra in enumerate(outputs[1:], start=1):
        if extra in t.by_id:
            raise t.unsupported(node, f"its output {k} would be named '{extra}', which another node already uses")
        t.values[extra] = Value(extra, shapes[k], np.dtype(dtypes[k]))
    return Value(node.id, shapes[0], np.dtype(dtypes[0]))


def plugin_output_shapes(name: str, fields: dict, inputs: list[Value], count: int) -> list[tuple | None]:
    """Output shapes (batch first, None = unknown) of a plugin node, from the plugins' READMEs, so a
    plugin output can be a graph output of known rank. Plugins not listed take their first input's rank."""
    keep = fields.get("keepTopK", fields.get("keep_topk", fields.get("max_output_boxes")))
    keep = None if keep is None else int(keep)
    first = inputs[0].shape if inputs else None
    known = {
        "NMS_TRT": [(None, 1, keep, 7), (None, 1, 1, 1)],
        "BatchedNMS_TRT": [(None, 1), (None, keep, 4), (None, keep), (None, keep)],
        "EfficientNMS_TRT": [(None, 1), (None, keep, 4), (None, keep), (None, keep)],
        "GenerateDetection_TRT": [(None, keep, 6)],
        "MultilevelProposeROI_TRT": [(None, keep, 4)],
        "SpecialSlice_TRT": [(None, None if first is None else first[1], 4)],
        "Proposal": [(None, fields.get("post_nms_top_n"), 4, 1)],
    }
    if name in known:
        return known[name]
    if name == "MultilevelCropAndResize_TRT":
        size = fields.get("pooled_size")
        rois = None if first is None else first[1]
        channels = inputs[1].shape[1] if len(inputs) > 1 and inputs[1].shape else None
        return [(None, rois, channels, size, size)]
    if name == "CropAndResize":
        rois = inputs[1].shape[1] if len(inputs) > 1 and inputs[1].shape else None
        channels = None if first is None else first[1]
        return [(None, rois, channels, fields.get("crop_height"), fields.get("crop_width"))]
    rank = len(first) if first is not None else None
    return [None if rank is None else (None,) * rank] * count


OP_HANDLERS = {
    "Input": translate_input, "Const": translate_const, "Identity": translate_identity,
    "MarkOutput": translate_mark_output, "Conv": translate_conv, "ConvTranspose": translate_conv_transpose,
    "Pool": translate_pool, "FullyConnected": translate_fully_connected, "Binary": translate_binary,
    "Unary": translate_unary, "Activation": translate_activation, "LeakyRelu": translate_leaky_relu,
    "Softmax": translate_softmax, "BatchNorm": translate_batchnorm, "Reshape": translate_reshape,
    "Flatten": translate_flatten, "Squeeze": translate_squeeze, "ExpandDims": translate_expand_dims,
    "Transpose": translate_transpose, "Pad": translate_pad, "Concat": translate_concat, "Stack": translate_stack,
    "Reduce": translate_reduce, "StridedSlice": translate_strided_slice, "Shape": translate_shape,
    "Gather": translate_gather, "GatherV2": translate_gather,
}
SUPPORTED_OPS = tuple(sorted(OP_HANDLERS))


# ---- the public entry point ---------------------------------------------------------------------
def _ir_version(opset: int) -> int:
    # The oldest IR version that carries the opset, so older ONNX Runtime / TensorRT parsers load it.
    return 7 if opset <= 12 else 8 if opset <= 18 else 9 if opset <= 20 else 10


def _graph_output(t: UffTranslator, out_id: str) -> onnx.ValueInfoProto:
    value = t.values[out_id]
    if value.name != out_id:  # an output that is an alias, a constant or another node's tensor
        t.graph.op("Identity", [t.tensor(value)], out_id, outputs=[out_id])
    dims = None
    if value.shape is not None:
        dims = [t.batch_dim if i == 0 and d is None else d for i, d in enumerate(value.shape)]
    return helper.make_tensor_value_info(out_id, _onnx_type(value.dtype), dims)


def uff_to_onnx(uff: bytes | UffModel, *, input_name: str | None = None, opset: int = 17, batch_dim: str = "N",
                source: str = "<uff>") -> onnx.ModelProto:
    """Translate a UFF model (serialized bytes or a loaded UffModel) into an ONNX ModelProto.

    Input and output names stay those of the UFF graph (e.g. ``input_1``, ``output_cov/Sigmoid``);
    the input keeps the layout the UFF declares with a dynamic first dimension named ``batch_dim``.
    ``input_name``, when given, must name one of the UFF Input nodes (the .etlt header's name).
    Raises UnsupportedOpError naming the node for anything it cannot translate exactly.
    """
    if not MIN_OPSET <= opset <= 21:
        raise UnsupportedOpError(f"ONNX opset {opset} is not supported for UFF translation; use {MIN_OPSET}..21")
    model = uff if isinstance(uff, UffModel) else load_uff(uff, source)
    t = UffTranslator(model, source, opset, batch_dim)
    inputs = [n.id for n in model.inputs()]
    if input_name is not None and input_name not in inputs:
        raise ModelFormatError(f"{source}: the UFF graph has no Input node '{input_name}' (its inputs: {inputs}); "
                               "check the input name given with the model")
    outputs = model.outputs()
    if not outputs:
        raise ModelFormatError(f"{source}: the UFF graph marks no output (no MarkOutput node)")
    # An output such as 'NMS_1' is a plugin node's second output: translating 'NMS' defines it.
    roots = [o if o in t.by_id else o.rsplit("_", 1)[0] for o in outputs]
    for node in t.dependency_order([r for r in roots if r in t.by_id]):
        t.translate_node(node)
    missing = [o for o in outputs if o not in t.values]
    if missing:
        raise ModelFormatError(f"{source}: the UFF graph marks output(s) {missing} that no node produces")
    graph_outputs = [_graph_output(t, o) for o in outputs]
    graph = helper.make_graph(t.graph.nodes, "uff_graph", t.graph_inputs, graph_outputs, t.graph.initializers)
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(PLUGIN_DOMAIN, 1)] if t.used_plugin_domain else [])
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
