"""A small NumPy interpreter of UFF graphs: the test oracle for converter/uff/to_onnx.py.

It shares nothing with the translator except converter/uff/reader.py's reading of the file, and computes
the TensorFlow semantics the UFF nodes record in a different way: data is brought to channels-last
(N, H, W, C) and kernels to TensorFlow's (H, W, C_in, C_out) whatever their declared orders, and
convolutions are sums over kernel taps of NumPy matrix products. Slow but plain.
"""

from __future__ import annotations

import numpy as np

from taostream.converter.uff.reader import DTYPES, UffModel, UffNode


def _letters_to_perm(order: str, target: str, rank: int) -> list[int]:
    """Axis permutation from a layout string ('NC+', '+CK', ...) to another, '+' = spatial axes."""
    spatial = rank - len(order) + 1
    position, index = {}, 0
    for letter in order:
        count = spatial if letter == "+" else 1
        position[letter] = list(range(index, index + count))
        index += count
    return [a for letter in target for a in position[letter]]


def _orders(node: UffNode) -> list[str]:
    ref = node.fields.get("inputs_orders")
    return ref.split("_")[1:] if isinstance(ref, str) else []


def _tf_same(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _window_padding(node: UffNode, sizes, kernel, strides, dilation) -> tuple[list[tuple[int, int]], bool]:
    if node.fields.get("implicit_padding") == "same":
        return [_tf_same(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)], True
    pad = node.fields.get("padding") or [0] * len(kernel)
    return [(int(p), int(p)) for p in pad], False


def _taps(x_nhwc: np.ndarray, kh: int, kw: int, strides, dilation, out_hw):
    """Yield (i, j, strided window of the padded input) for each kernel tap."""
    (sh, sw), (dh, dw), (oh, ow) = strides, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, x_nhwc[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :]


def conv2d_nhwc(x: np.ndarray, k_hwio: np.ndarray, strides, dilation, padding, groups: int) -> np.ndarray:
    x = np.pad(x, [(0, 0), padding[0], padding[1], (0, 0)])
    kh, kw, cin_k, cout = k_hwio.shape
    oh = (x.shape[1] - ((kh - 1) * dilation[0] + 1)) // strides[0] + 1
    ow = (x.shape[2] - ((kw - 1) * dilation[1] + 1)) // strides[1] + 1
    channels = x.shape[3]
    depthwise = groups > 1 and cin_k == channels == groups
    out = np.zeros((x.shape[0], oh, ow, channels * cout if depthwise else cout), dtype=np.float64)
    for i, j, window in _taps(x, kh, kw, strides, dilation, (oh, ow)):
        tap = k_hwio[i, j].astype(np.float64)
        if depthwise:  # TensorFlow depthwise: out channel c*M + m = x[c] * k[c, m]
            out += (window[..., :, None] * tap[None, None, None]).reshape(out.shape)
            continue
        per_group_in, per_group_out = channels // groups, cout // groups
        for g in range(groups):
            xs = window[..., g * per_group_in:(g + 1) * per_group_in]
            out[..., g * per_group_out:(g + 1) * per_group_out] += xs @ tap[:, g * per_group_out:(g + 1) * per_group_out]
    return out.astype(np.float32)


class UffInterpreter:
    """Evaluate a UffModel on NumPy inputs: ``run({input: array}) -> {output: array}``."""

    def __init__(self, model: UffModel) -> None:
        self.model = model
        self.nodes = {n.id: n for n in model.nodes}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        for node in self._schedule():
            args = [values[i] for i in node.inputs]
            result = getattr(self, f"op_{node.operation}", None)
            if result is None:
                raise NotImplementedError(f"interpreter: no op {node.operation}")
            values[node.id] = result(node, args, feeds)
        return {name: values[name] for name in self.model.outputs()}

    def _schedule(self) -> list[UffNode]:
        """Kahn's algorithm over every node (no recursion)."""
        pending = {n.id: len(n.inputs) for n in self.model.nodes}
        users: dict[str, list[str]] = {}
        for n in self.model.nodes:
            for i in n.inputs:
                users.setdefault(i, []).append(n.id)
        ready = [n for n, count in pending.items() if count == 0]
        order = []
        while ready:
            node_id = ready.pop()
            order.append(self.nodes[node_id])
            for user in users.get(node_id, []):
                pending[user] -= 1
                if pending[user] == 0:
                    ready.append(user)
        return order

    # ---- sources ----
    def op_Input(self, node, args, feeds):
        return np.asarray(feeds[node.id], dtype=DTYPES[node.fields.get("dtype", 131104)])

    def op_Const(self, node, args, feeds):
        return self.model.const_array(node).reshape([int(d) for d in node.fields.get("shape", [])])

    def op_MarkOutput(self, node, args, feeds):
        return args[0]

    op_Identity = op_MarkOutput

    # ---- convolution family ----
    def op_Conv(self, node, args, feeds):
        data_order, kernel_order = _orders(node)[:2]
        x = args[0].transpose(_letters_to_perm(data_order, "N+C", args[0].ndim))
        k = args[1].transpose(_letters_to_perm(kernel_order, "+CK", args[1].ndim))
        strides = node.fields.get("strides", [1, 1])
        dilation = node.fields.get("dilation", [1, 1])
        padding, _ = _window_padding(node, x.shape[1:3], k.shape[:2], strides, dilation)
        y = conv2d_nhwc(x, k, strides, dilation, padding, int(node.fields.get("number_groups") or 1))
        return y.transpose(np.argsort(_letters_to_perm(data_order, "N+C", y.ndim)))

    def op_ConvTranspose(self, node, args, feeds):
        """Scatter form: every input pixel adds kernel * value into the (uncropped) output."""
        data_order, kernel_order = _orders(node)[:2]
        x = args[0].transpose(_letters_to_perm(data_order, "N+C", args[0].ndim)).astype(np.float64)
        k = args[1].transpose(_letters_to_perm(kernel_order, "+KC", args[1].ndim)).astype(np.float64)
        (sh, sw), (kh, kw) = node.fields.get("strides", [1, 1]), k.shape[:2]
        n, h, w, _ = x.shape
        full = np.zeros((n, (h - 1) * sh + kh, (w - 1) * sw + kw, k.shape[2]))
        for i in range(kh):
            for j in range(kw):
                full[:, i:i + (h - 1) * sh + 1:sh, j:j + (w - 1) * sw + 1:sw, :] += x @ k[i, j].T
        out_hw = self._transpose_out_size(node, args, data_order, (h, w), (kh, kw), (sh, sw))
        crop = [max(full.shape[1 + a] - out_hw[a], 0) for a in range(2)]
        y = full[:, crop[0] // 2: crop[0] // 2 + out_hw[0], crop[1] // 2: crop[1] // 2 + out_hw[1], :]
        y = np.pad(y, [(0, 0), (0, out_hw[0] - y.shape[1]), (0, out_hw[1] - y.shape[2]), (0, 0)]).astype(np.float32)
        return y.transpose(np.argsort(_letters_to_perm(data_order, "N+C", 4)))

    def _transpose_out_size(self, node, args, data_order, in_hw, k_hw, strides):
        if len(args) > 2:
            full = [int(v) for v in args[2].reshape(-1)]
            return [full[a] for a in _letters_to_perm(data_order, "N+C", 4)[1:3]]
        if node.fields.get("implicit_padding") == "same":
            return [n * s for n, s in zip(in_hw, strides)]
        pad = node.fields.get("padding") or [0, 0]
        return [(n - 1) * s + k - 2 * p for n, s, k, p in zip(in_hw, strides, k_hw, pad)]

    def op_Pool(self, node, args, feeds):
        order = (_orders(node) or ["NC+"])[0]
        x = args[0].transpose(_letters_to_perm(order, "N+C", args[0].ndim)).astype(np.float64)
        kernel, strides = node.fields["kernel"], node.fields.get("strides", [1, 1])
        padding, implicit = _window_padding(node, x.shape[1:3], kernel, strides, [1, 1])
        fill = (-np.inf if node.fields["func"] == "max" else 0.0) if implicit else 0.0
        xp = np.pad(x, [(0, 0), padding[0], padding[1], (0, 0)], constant_values=fill)
        ones = np.pad(np.ones(x.shape[1:3]), padding, constant_values=0.0 if implicit else 1.0)[None, :, :, None]
        oh = (xp.shape[1] - kernel[0]) // strides[0] + 1
        ow = (xp.shape[2] - kernel[1]) // strides[1] + 1
        windows = [w for _, _, w in _taps(xp, kernel[0], kernel[1], strides, (1, 1), (oh, ow))]
        if node.fields["func"] == "max":
            y = np.max(windows, axis=0)
        else:
            counts = np.sum([c for _, _, c in _taps(ones, kernel[0], kernel[1], strides, (1, 1), (oh, ow))], axis=0)
            y = np.sum(windows, axis=0) / counts
        return y.astype(np.float32).transpose(np.argsort(_letters_to_perm(order, "N+C", 4)))

    def op_FullyConnected(self, node, args, feeds):
        lhs, rhs = _orders(node) or ["NC", "CK"]
        x, w = args
        x = x.T if lhs == "CN" else x.reshape(x.shape[0], -1)
        w = w.T if rhs == "KC" else w
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)

    # ---- element-wise ----
    _BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
               "min": np.minimum, "max": np.maximum, "pow": np.power}
    _UNARY = {"neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
              "rsqrt": lambda v: np.reciprocal(np.sqrt(v)), "square": lambda v: v * v, "floor": np.floor,
              "ceil": np.ceil, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin,
              "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh,
              "acosh": np.arccosh, "atanh": np.arctanh, "recip": np.reciprocal, "reciprocal": np.reciprocal}

    def op_Binary(self, node, args, feeds):
        a, b = args
        dtype = a.dtype if node.inputs[0] not in self._constants() else b.dtype
        return self._BINARY[node.fields["func"]](a.astype(dtype), b.astype(dtype)).astype(dtype)

    def _constants(self) -> set[str]:
        return {n.id for n in self.model.nodes if n.operation == "Const"}

    def op_Unary(self, node, args, feeds):
        return self._UNARY[node.fields["func"]](args[0]).astype(args[0].dtype)

    def op_Activation(self, node, args, feeds):
        x = args[0].astype(np.float64)
        func, alpha = node.fields["func"], node.fields.get("alpha")
        table = {
            "relu": lambda: np.maximum(x, 0), "relu6": lambda: np.minimum(np.maximum(x, 0), 6),
            "sigmoid": lambda: 1 / (1 + np.exp(-x)), "tanh": lambda: np.tanh(x),
            "elu": lambda: np.where(x > 0, x, (1.0 if alpha is None else alpha) * (np.exp(x) - 1)),
            "selu": lambda: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
            "softsign": lambda: x / (1 + np.abs(x)), "softplus": lambda: np.log1p(np.exp(x)),
            "leaky_relu": lambda: np.where(x >= 0, x, (0.2 if alpha is None else alpha) * x),
        }
        return table[func]().astype(args[0].dtype)

    def op_LeakyRelu(self, node, args, feeds):
        x = args[0]
        return np.where(x >= 0, x, np.float32(node.fields.get("alpha", 0.2)) * x).astype(x.dtype)

    def op_Softmax(self, node, args, feeds):
        axis = -1  # TensorFlow's Softmax op: always the last axis
        x = args[0].astype(np.float64)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)

    def op_BatchNorm(self, node, args, feeds):
        x, gamma, beta, mean, var = args
        order = (_orders(node) or ["NC+"])[0]
        shape = [-1] + [1] * (x.ndim - 2) if order in ("NC+", "NC") else [-1]
        eps = node.fields.get("epsilon", node.fields.get("eps"))
        y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(shape)
        return y.astype(np.float32)

    # ---- shapes ----
    def op_Reshape(self, node, args, feeds):
        x, target = args[0], [int(v) for v in args[1].reshape(-1)]
        batched = node.inputs[0] not in self._constants() and self._is_batched(node.inputs[0])
        if batched and target and target[0] == 1:
            target[0] = x.shape[0]  # exported at batch 1: the batch stays the input's
        return x.reshape(target)

    def _is_batched(self, node_id: str) -> bool:
        """Whether a tensor depends on a graph Input (so its first axis is the batch)."""
        stack, seen = [node_id], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            node = self.nodes[current]
            if node.operation == "Input":
                return True
            if node.operation != "Shape":
                stack.extend(node.inputs)
        return False

    def op_Flatten(self, node, args, feeds):
        return args[0].reshape(args[0].shape[0], -1)

    def op_Squeeze(self, node, args, feeds):
        axis = node.fields.get("axis")
        if axis in (None, []):
            axes = tuple(i for i, d in enumerate(args[0].shape) if d == 1 and i > 0)
        else:
            axes = tuple(axis) if isinstance(axis, list) else (axis,)
        return np.squeeze(args[0], axis=axes)

    def op_ExpandDims(self, node, args, feeds):
        axis = node.fields["axis"]
        return np.expand_dims(args[0], axis[0] if isinstance(axis, list) else axis)

    def op_Transpose(self, node, args, feeds):
        perm = node.fields.get("permutation")
        return np.transpose(args[0], perm if perm else [int(v) for v in args[1].reshape(-1)])

    def op_Pad(self, node, args, feeds):
        return np.pad(args[0], [(int(a), int(b)) for a, b in args[1].reshape(-1, 2)])

    def op_Concat(self, node, args, feeds):
        return np.concatenate(args, axis=int(node.fields.get("axis", 0)))

    def op_Stack(self, node, args, feeds):
        return np.stack(args, axis=int(node.fields.get("axis", 0)))

    def op_Reduce(self, node, args, feeds):
        funcs = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max, "mean": np.mean}
        axes = node.fields.get("axes")
        axes = tuple(axes) if isinstance(axes, list) and axes else (axes if isinstance(axes, int) else None)
        out = funcs[node.fields["func"]](args[0], axis=axes, keepdims=bool(node.fields.get("keepdims", False)))
        return np.asarray(out, dtype=args[0].dtype)

    def op_StridedSlice(self, node, args, feeds):
        x, begin, end, strides = args[0], *(a.reshape(-1).tolist() for a in args[1:4])
        bmask, emask, smask = (int(node.fields.get(k, 0)) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
        index = []
        for i, (b, e, s) in enumerate(zip(begin, end, strides)):
            if smask >> i & 1:
                index.append(b)
            else:
                index.append(slice(None if bmask >> i & 1 else b, None if emask >> i & 1 else e, s))
        return x[tuple(index)]

    def op_Shape(self, node, args, feeds):
        return np.asarray(args[0].shape, dtype=np.int32)

    def op_Gather(self, node, args, feeds):
        return np.take(args[0], args[1], axis=int(node.fields.get("axis", 0)))

    op_GatherV2 = op_Gather
