"""UFF op handlers for the UFF -> ONNX translation: one function per UFF operation, turning the
node's TensorFlow semantics (kernel layouts from ``inputs_orders``, TensorFlow padding, NumPy
broadcasting, shapes counted with the batch) into standard ONNX ops. Constants are folded as they
are met, so batch norm spelled as Reshape/Binary/Unary chains over Const nodes collapses to one Mul
and one Add."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from taostream.converter.errors import ModelFormatError
from taostream.converter.uff.reader import DT_FLOAT32, DTYPES, UffNode
from taostream.converter.uff.context import (
    INT64_MAX,
    INT64_MIN,
    UffTranslator,
    Value,
    _norm_axis,
    _onnx_type,
    broadcast_shape,
    from_nchw,
    layout_permutation,
    out_name,
    parse_orders,
    to_nchw,
)


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
        if in_dims[i] is None:
            out.append(None)
        elif pads is None:  # auto SAME
            out.append(-(-in_dims[i] // strides[i]))
        else:
            eff = (kernel[i] - 1) * dilation[i] + 1
            out.append((in_dims[i] + pads[i] + pads[i + spatial] - eff) // strides[i] + 1)
    return tuple(out)


def conv_weights(t: UffTranslator, node: UffNode, kernel: np.ndarray, order: str, groups: int, channels) -> np.ndarray:
    """Kernel in ONNX Conv layout [K, C/groups, spatial...]. A TensorFlow depthwise kernel
    (H, W, C, multiplier) with number_groups == C becomes [C*multiplier, 1, H, W]."""
    w = kernel.transpose(layout_permutation(t, node, order, "KC+", kernel.ndim))
    if channels is None and groups > 1:
        raise t.unsupported(node, f"a conv with {groups} groups needs the input's channel count, which is unknown")
    if channels is None or w.shape[1] * groups == channels:
        return np.ascontiguousarray(w)
    if w.shape[1] == groups == channels:
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
    node before the MaxPool would say the same, but ONNX Runtime 1.31 (PadFusion) folds it into the
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
    t.check_fields(node, {"epsilon", "eps", "inputs_orders"})
    epsilon = node.fields.get("epsilon", node.fields.get("eps"))
    if epsilon is None:
        raise t.unsupported(node, "the BatchNorm has no epsilon field")
    x = t.input_value(node, 0)
    gamma, beta, mean, var = (t.const_input(node, i, label).astype(np.float64).reshape(-1)
                              for i, label in ((1, "gamma"), (2, "beta"), (3, "mean"), (4, "variance")))
    scale = gamma / np.sqrt(var + float(epsilon))
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
    tensor a leading 1 becomes 0 (ONNX: copy the input's dimension) so the batch stays dynamic
    (e.g. [1, -1] -> [0, -1], not a reshape that folds the batch into the features)."""
    target = [int(v) for v in shape.reshape(-1)]
    batched = x.shape is not None and len(x.shape) > 0 and x.shape[0] is None
    if batched and target and target[0] == 1:
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
