"""Build small UFF MetaGraphs in tests, with converter.uff's message classes, the way the TensorFlow
to UFF converter wrote them: typed fields, weights in referenced data, inputs_orders as references to
'orders_<layout>_<layout>' entries."""

from __future__ import annotations

import numpy as np

from taostream.converter.uff.reader import DTYPES, MetaGraph

_DTYPE_CODES = {dtype: code for code, dtype in DTYPES.items()}


def _set_data(data, value) -> None:
    if isinstance(value, bool):
        data.b = value
    elif isinstance(value, (int, np.integer)):
        data.i = int(value)
    elif isinstance(value, float):
        data.d = value
    elif isinstance(value, str):
        data.s = value
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        data.s_list.val.extend(value)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, float) for v in value):
        data.d_list.val.extend(float(v) for v in value)
    elif isinstance(value, (list, tuple)):
        data.i_list.val.extend(int(v) for v in value)
    else:
        raise TypeError(f"no UFF encoding for {value!r}")


class UffGraphBuilder:
    """``b.input('x', [-1, 3, 8, 8]); b.node('Conv', 'c', ['x', b.const('w', k)], strides=[1, 1],
    inputs_orders='NC+,+CK'); b.output('c'); data = b.to_bytes()``"""

    def __init__(self) -> None:
        self.meta = MetaGraph(version=1, descriptor_core_version=1)
        self.meta.descriptors.add(id="uff", version=0x1)
        self.meta.descriptors.add(id="tensorflow_extension", version=0x1)
        self.graph = self.meta.graphs.add(id="main")
        self.outputs = 0

    def node(self, operation: str, node_id: str, inputs: list[str] = (), **fields) -> str:
        node = self.graph.nodes.add(id=node_id, operation=operation)
        node.inputs.extend(inputs)
        for key, value in fields.items():
            if key == "inputs_orders":
                self._orders_field(node, value)
            elif key == "dtype":
                node.fields[key].dtype = value
            elif value is not None:
                _set_data(node.fields[key], value)
        return node_id

    def _orders_field(self, node, layouts: str) -> None:
        name = "orders_" + "_".join(layouts.split(","))
        node.fields["inputs_orders"].ref = name
        if name not in self.meta.referenced_data:
            entry = self.meta.referenced_data[name]
            entry.dim_orders_list.val.add()  # the layouts' index lists are not read by taostream

    def input(self, node_id: str, shape: list[int], dtype=np.float32) -> str:
        return self.node("Input", node_id, shape=list(shape), dtype=_DTYPE_CODES[np.dtype(dtype)])

    def const(self, node_id: str, array) -> str:
        array = np.asarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        ref = f"weights_{node_id}"
        self.meta.referenced_data[ref].blob = array.tobytes()
        node = self.graph.nodes.add(id=node_id, operation="Const")
        _set_data(node.fields["shape"], list(array.shape)) if array.shape else node.fields["shape"].i_list.SetInParent()
        node.fields["dtype"].dtype = _DTYPE_CODES[array.dtype]
        node.fields["values"].ref = ref
        return node_id

    def output(self, node_id: str) -> None:
        self.node("MarkOutput", f"MarkOutput_{self.outputs}", [node_id])
        self.outputs += 1

    def to_bytes(self) -> bytes:
        return self.meta.SerializeToString()
