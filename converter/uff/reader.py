"""UFF (TensorRT's Universal Framework Format) reader.

The `uff` package no longer installs, so the uff.MetaGraph schema is declared here (proto2, package
``uff``) and the message classes are built at import time from that declaration with protobuf's
descriptor API: no protoc step and no generated code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from taostream.converter.errors import ModelFormatError

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# message -> [(field name, number, type, label, message/enum type name or None)]
_SCHEMA: dict[str, list[tuple]] = {
    "MetaGraph": [
        ("version", 1, _F.TYPE_INT64, _OPT, None),
        ("descriptor_core_version", 2, _F.TYPE_INT64, _OPT, None),
        ("descriptors", 3, _F.TYPE_MESSAGE, _REP, ".uff.Descriptor"),
        ("graphs", 4, _F.TYPE_MESSAGE, _REP, ".uff.Graph"),
        ("referenced_data", 5, _F.TYPE_MESSAGE, _REP, ".uff.MetaGraph.ReferencedDataEntry"),
        ("extra_fields", 100, _F.TYPE_MESSAGE, _REP, ".uff.MetaGraph.ExtraFieldsEntry"),
    ],
    "Descriptor": [
        ("id", 1, _F.TYPE_STRING, _OPT, None),
        ("version", 2, _F.TYPE_INT64, _OPT, None),
        ("optional", 3, _F.TYPE_BOOL, _OPT, None),
    ],
    "Graph": [
        ("id", 1, _F.TYPE_STRING, _OPT, None),
        ("nodes", 2, _F.TYPE_MESSAGE, _REP, ".uff.Node"),
        ("extra_fields", 100, _F.TYPE_MESSAGE, _REP, ".uff.Graph.ExtraFieldsEntry"),
    ],
    "Node": [
        ("id", 1, _F.TYPE_STRING, _OPT, None),
        ("inputs", 2, _F.TYPE_STRING, _REP, None),
        ("operation", 3, _F.TYPE_STRING, _OPT, None),
        ("fields", 4, _F.TYPE_MESSAGE, _REP, ".uff.Node.FieldsEntry"),
        ("extra_fields", 100, _F.TYPE_MESSAGE, _REP, ".uff.Node.ExtraFieldsEntry"),
    ],
    "Data": [
        ("s", 1, _F.TYPE_STRING, _OPT, None),
        ("s_list", 2, _F.TYPE_MESSAGE, _OPT, ".uff.ListString"),
        ("d", 3, _F.TYPE_DOUBLE, _OPT, None),
        ("d_list", 4, _F.TYPE_MESSAGE, _OPT, ".uff.ListDouble"),
        ("b", 5, _F.TYPE_BOOL, _OPT, None),
        ("b_list", 6, _F.TYPE_MESSAGE, _OPT, ".uff.ListBool"),
        ("i", 7, _F.TYPE_INT64, _OPT, None),
        ("i_list", 8, _F.TYPE_MESSAGE, _OPT, ".uff.ListInt64"),
        ("blob", 9, _F.TYPE_BYTES, _OPT, None),
        ("ref", 100, _F.TYPE_STRING, _OPT, None),
        ("dtype", 101, _F.TYPE_INT32, _OPT, None),
        ("dtype_list", 102, _F.TYPE_MESSAGE, _OPT, ".uff.ListDataType"),
        ("dim_orders", 103, _F.TYPE_MESSAGE, _OPT, ".uff.DimensionOrders"),
        ("dim_orders_list", 104, _F.TYPE_MESSAGE, _OPT, ".uff.ListDimensionOrders"),
    ],
    "DimensionOrders": [
        ("orders", 1, _F.TYPE_MESSAGE, _REP, ".uff.DimensionOrders.OrdersEntry"),
    ],
    "ListString": [("val", 1, _F.TYPE_STRING, _REP, None)],
    "ListDouble": [("val", 1, _F.TYPE_DOUBLE, _REP, None)],
    "ListBool": [("val", 1, _F.TYPE_BOOL, _REP, None)],
    "ListInt64": [("val", 1, _F.TYPE_INT64, _REP, None)],
    "ListDataType": [("val", 1, _F.TYPE_INT32, _REP, None)],
    "ListDimensionOrders": [("val", 1, _F.TYPE_MESSAGE, _REP, ".uff.DimensionOrders")],
}

# Map entries (key, value) nested in their owner: owner -> [(entry name, key type, value type name)]
_MAP_ENTRIES = {
    "MetaGraph": [("ReferencedDataEntry", _F.TYPE_STRING, ".uff.Data"), ("ExtraFieldsEntry", _F.TYPE_STRING, ".uff.Data")],
    "Graph": [("ExtraFieldsEntry", _F.TYPE_STRING, ".uff.Data")],
    "Node": [("FieldsEntry", _F.TYPE_STRING, ".uff.Data"), ("ExtraFieldsEntry", _F.TYPE_STRING, ".uff.Data")],
    "DimensionOrders": [("OrdersEntry", _F.TYPE_INT32, ".uff.ListInt64")],
}

# uff.DataType enum values: (kind << 16) | bits
DTYPES = {
    65544: np.dtype(np.int8),
    65552: np.dtype(np.int16),
    65568: np.dtype(np.int32),
    65600: np.dtype(np.int64),
    131088: np.dtype(np.float16),
    131104: np.dtype(np.float32),
}
DT_FLOAT32 = 131104
# uff.OrderEnum special values inside DimensionOrders keys
ORDER_ZERO, ORDER_SPECIAL, ORDER_INCREMENT, ORDER_DECREMENT = 0, -1, 2147483647, -2147483648


def _add_field(msg, name, number, ftype, label, type_name):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name


def _build_classes():
    fdp = descriptor_pb2.FileDescriptorProto(name="taostream_uff.proto", package="uff", syntax="proto2")
    for name, fields in _SCHEMA.items():
        msg = fdp.message_type.add(name=name)
        for spec in fields:
            _add_field(msg, *spec)
        for entry_name, key_type, value_type in _MAP_ENTRIES.get(name, []):
            entry = msg.nested_type.add(name=entry_name)
            entry.options.map_entry = True
            _add_field(entry, "key", 1, key_type, _OPT, None)
            _add_field(entry, "value", 2, _F.TYPE_MESSAGE, _OPT, value_type)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"uff.{name}")) for name in _SCHEMA}


_CLASSES = _build_classes()
MetaGraph = _CLASSES["MetaGraph"]
Data = _CLASSES["Data"]
Node = _CLASSES["Node"]
Graph = _CLASSES["Graph"]


def parse_metagraph(data: bytes, source: str = "<uff>"):
    """Parse serialized UFF bytes into a ``uff.MetaGraph`` message."""
    meta = MetaGraph()
    try:
        meta.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError (and others) on malformed input
        raise ModelFormatError(f"{source}: not a UFF model: the protobuf does not parse ({exc}); a truncated or "
                               "damaged copy (an interrupted download or scp)? copy the model again or export it "
                               "again") from None
    if not meta.graphs:
        raise ModelFormatError(f"{source}: not a UFF model: the MetaGraph holds no graph")
    return meta


def data_value(value):
    """Turn a ``uff.Data`` into a plain Python value (str, float, bool, int, list, bytes, ...)."""
    for name in ("s", "d", "b", "i", "blob", "ref", "dtype"):
        if value.HasField(name):
            return getattr(value, name)
    for name in ("s_list", "d_list", "b_list", "i_list", "dtype_list"):
        if value.HasField(name):
            return list(getattr(value, name).val)
    if value.HasField("dim_orders"):
        return {k: list(v.val) for k, v in value.dim_orders.orders.items()}
    if value.HasField("dim_orders_list"):
        return [{k: list(v.val) for k, v in o.orders.items()} for o in value.dim_orders_list.val]
    return None


@dataclass
class UffNode:
    id: str
    operation: str
    inputs: list[str]
    fields: dict = field(default_factory=dict)


@dataclass
class UffModel:
    """A decoded UFF graph in plain Python: nodes in file order, referenced data as raw bytes."""

    version: int
    nodes: list[UffNode]
    referenced_data: dict[str, bytes]
    descriptors: list[tuple[str, int]]

    def inputs(self) -> list[UffNode]:
        return [n for n in self.nodes if n.operation == "Input"]

    def outputs(self) -> list[str]:
        """Names of the tensors marked as outputs (MarkOutput nodes' inputs)."""
        return [inp for n in self.nodes if n.operation == "MarkOutput" for inp in n.inputs]

    def node(self, node_id: str) -> UffNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def const_array(self, node: UffNode) -> np.ndarray:
        """The value of a Const node (its ``values`` refers into referenced_data)."""
        values = node.fields.get("values")
        blob = self.referenced_data[values] if isinstance(values, str) else values
        dtype = DTYPES.get(node.fields.get("dtype", DT_FLOAT32), np.dtype(np.float32))
        shape = [int(d) for d in node.fields.get("shape", [])]
        arr = np.frombuffer(blob, dtype=dtype)
        return arr.reshape(shape) if shape and int(np.prod(shape)) == arr.size else arr

    def input_shape(self, node: UffNode) -> list[int]:
        return [int(d) for d in node.fields.get("shape", [])]


def load_uff(data: bytes, source: str = "<uff>") -> UffModel:
    meta = parse_metagraph(data, source)
    graph = meta.graphs[0]
    nodes = [
        UffNode(
            id=n.id,
            operation=n.operation,
            inputs=list(n.inputs),
            fields={k: data_value(v) for k, v in n.fields.items()},
        )
        for n in graph.nodes
    ]
    referenced = {k: (v.blob if v.HasField("blob") else data_value(v)) for k, v in meta.referenced_data.items()}
    return UffModel(
        version=meta.version,
        nodes=nodes,
        referenced_data=referenced,
        descriptors=[(d.id, d.version) for d in meta.descriptors],
    )
