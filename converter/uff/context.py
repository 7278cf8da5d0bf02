"""Shared pieces of the UFF -> ONNX translation (converter/uff/to_onnx.py): what is known about each
translated tensor, the ONNX graph being built, the per-translation context handlers work through, and
the layout and shape helpers the op handlers share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from taostream.converter.errors import UnsupportedOpError
from taostream.converter.uff.reader import UffModel, UffNode

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)
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
    node_id: str = ""  # the UFF node a folded constant comes from: its initializer's name


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
    """The state of one translation, handed to every op handler."""

    def __init__(self, model: UffModel, source: str, opset: int, batch_dim: str) -> None:
        self.model = model
        self.source = source
        self.opset = opset
        self.batch_dim = batch_dim
        self.graph = _Graph()
        self.values: dict[str, Value] = {}
        self.graph_inputs: list[onnx.ValueInfoProto] = []
        self.used_plugin_domain = False
        self.plugin_domain = ""
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
            if value.node_id:  # the UFF id is reserved for this very tensor
                self.graph.initializers.append(numpy_helper.from_array(value.const, value.node_id))
                value.name = value.node_id
            else:
                value.name = self.graph.initializer(value.const, "const")
        return value.name

    def int64(self, array, base: str) -> str:
        return self.graph.initializer(np.asarray(array, dtype=np.int64), base)


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
