"""Which ONNX ops each TensorRT version's ONNX parser imports, and the graph nodes a given TensorRT
cannot parse.

Source: the operator support matrix of onnx/onnx-tensorrt (docs/operators.md) on its release
branches 8.0-GA, 8.2-GA, 8.4-GA, 8.5-GA, 8.6-GA, 10.0-GA, 10.1-GA and the 10.15 matrix (the newest
seen; TensorRT 10.16, DeepStream 9.1/9.2's, is taken to parse what 10.15 lists: no 10.16 matrix was
found); the onnx-tensorrt 10.14 GA notes date Attention. docs/versions.md lists the ops the modernized
TAO graphs use and the version that first parses each. TensorRT 11 is taken to parse everything 10.x
does (its parser only added ops). TAO plugin nodes are judged by
trt_support.PLUGINS (shipped or removed), not by this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import onnx
from onnx import numpy_helper

from taostream.converter.engine.adapt import parse_trt_version
from taostream.converter.trt_support import PLUGINS, plugin_op

_Version = tuple[int, int]

# Supported ("Y") in TensorRT 8.0's matrix, the oldest TensorRT a targeted DeepStream (6.0) ships.
_OPS_8_0 = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast Ceil Celu
Clip Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DepthToSpace DequantizeLinear Div
Dropout Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements Gemm GlobalAveragePool
GlobalLpPool GlobalMaxPool Greater GreaterOrEqual HardSigmoid Identity If ImageScaler InstanceNormalization
LRN LSTM LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul Max MaxPool Mean Min
Mul Neg NonMaxSuppression Not Or PRelu Pad ParametricSoftplus Pow QuantizeLinear RNN RandomUniform
RandomUniformLike Range ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence ScaledTanh Scan Selu Shape Sigmoid
Sin Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh
ThresholdedRelu Tile TopK Transpose Unsqueeze Upsample Where
""".split())

# Ops the matrix first marks supported in a later release.
_ADDED: dict[_Version, tuple[str, ...]] = {
    (8, 2): ("Einsum", "GatherND", "IsNaN", "Round", "Scatter", "ScatterElements", "ScatterND", "Sign"),
    (8, 4): ("HardSwish", "RandomNormal", "RandomNormalLike", "Reciprocal", "Shrink", "Xor"),
    (8, 5): ("GridSample", "MeanVarianceNormalization", "Mod", "NonZero", "OneHot", "RoiAlign", "Trilu"),
    (8, 6): ("GroupNormalization", "IsInf", "LayerNormalization"),
    (10, 0): ("CastLike", "Gelu", "Hardmax", "Mish"),
    (10, 1): ("DeformConv",),
    (10, 14): ("Attention",),
    # First seen in the 10.15 matrix; the release between 10.2 and 10.15 that added each is not dated
    # by a source seen, so they count from 10.15 (an older target is told it cannot parse them).
    (10, 15): ("BlackmanWindow", "HammingWindow", "HannWindow", "RMSNormalization", "RotaryEmbedding", "STFT",
               "TensorScatter"),
}

OP_SINCE: dict[str, _Version] = {op: (8, 0) for op in _OPS_8_0}
for _since, _ops in _ADDED.items():
    OP_SINCE.update({op: _since for op in _ops})

# Listed as supported earlier, but not with the ONNX semantics the modernized graphs rely on.
SEMANTICS_SINCE: dict[str, tuple[_Version, str]] = {
    "NonMaxSuppression": ((8, 5), "before TensorRT 8.5 the parser maps it to the EXPERIMENTAL "
                                  "EfficientNMS_ONNX_TRT plugin, whose output is padded to a fixed "
                                  "[max_output_boxes_per_class, 3] instead of ONNX's [N, 3] of real selections"),
}

# Resize attributes every matrix from 8.0 to 10.x lists as supported.
RESIZE_MODES = frozenset({"nearest", "linear"})
RESIZE_COORDINATE_MODES = frozenset({"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric",
                                     "align_corners"})
RESIZE_NEAREST_MODES = frozenset({"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"})


@dataclass(frozen=True)
class OpProblem:
    """One op a TensorRT version cannot parse (as the graph uses it), with the nodes that use it."""

    op: str
    reason: str
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        count = len(self.nodes)
        return f"{self.op} ({count} node{'s' if count != 1 else ''}, e.g. '{self.nodes[0]}'): {self.reason}"


def _version(text: str) -> tuple[int, int, int]:
    return parse_trt_version(text)


def _label(node: onnx.NodeProto) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def iter_nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node of ``graph`` and of the subgraphs (If/Loop/Scan bodies) inside it."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from iter_nodes(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for sub in attribute.graphs:
                    yield from iter_nodes(sub)


def _text_attribute(node: onnx.NodeProto, name: str, default: str) -> str:
    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else str(value)
    return default


def _int_attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(onnx.helper.get_attribute_value(attribute))
    return default


def _resize_problem(node: onnx.NodeProto) -> str | None:
    mode = _text_attribute(node, "mode", "nearest")
    if mode not in RESIZE_MODES:
        return f"mode '{mode}' (TensorRT's parser supports {', '.join(sorted(RESIZE_MODES))})"
    coordinates = _text_attribute(node, "coordinate_transformation_mode", "half_pixel")
    if coordinates not in RESIZE_COORDINATE_MODES:
        return f"coordinate_transformation_mode '{coordinates}' (supported: {', '.join(sorted(RESIZE_COORDINATE_MODES))})"
    nearest = _text_attribute(node, "nearest_mode", "round_prefer_floor")
    if mode == "nearest" and nearest not in RESIZE_NEAREST_MODES:
        return f"nearest_mode '{nearest}' (supported: {', '.join(sorted(RESIZE_NEAREST_MODES))})"
    if _int_attribute(node, "antialias", 0):
        return "antialias=1 (antialiasing is not supported)"
    return None


def _zero_point_problem(node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto]) -> str | None:
    """Q/DQ: TensorRT requires a zero point of 0 (symmetric quantization)."""
    if len(node.input) < 3 or node.input[2] not in initializers:
        return None
    if np.any(numpy_helper.to_array(initializers[node.input[2]]) != 0):
        return "a non-zero zero point (TensorRT quantizes symmetrically: zero points must be 0)"
    return None


def _node_problem(node: onnx.NodeProto, version: tuple[int, int, int], initializers, constants,
                  provided=frozenset()) -> str | None:
    name = plugin_op(node.op_type)
    if name is not None:
        if PLUGINS[name].shipped_in(".".join(map(str, version))) or name in provided:
            return None
        replacement = PLUGINS[name].replacement
        return (f"TensorRT plugin removed in TensorRT {version[0]}"
                + (f" (replaced by {replacement} in the modernized graph)" if replacement else ""))
    if node.domain not in ("", "ai.onnx"):
        return f"op of domain '{node.domain}': TensorRT's ONNX parser needs a plugin that registers it"
    since = OP_SINCE.get(node.op_type)
    if since is None:
        return "not in TensorRT's ONNX operator support matrix: it needs a plugin that registers it"
    if version[:2] < since:
        return f"TensorRT's ONNX parser imports it from TensorRT {since[0]}.{since[1]}"
    semantics = SEMANTICS_SINCE.get(node.op_type)
    if semantics and version[:2] < semantics[0]:
        return semantics[1]
    if node.op_type == "Resize":
        return _resize_problem(node)
    if node.op_type == "TopK" and (8, 2) <= version[:2] < (8, 6) and len(node.input) > 1 \
            and node.input[1] not in initializers and node.input[1] not in constants:
        return "K computed at run time (the 8.2-8.5 parsers need K as an initializer)"
    if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
        return _zero_point_problem(node, initializers)
    return None


def unparsable_ops(model: onnx.ModelProto, trt_version: str, provided=frozenset()) -> list[OpProblem]:
    """The ops of ``model`` (subgraphs included) that TensorRT ``trt_version``'s ONNX parser cannot
    import as the graph uses them, one OpProblem per (op, reason); empty when it parses. ``provided``:
    plugin ops a loaded plugin library registers (libtaostream_plugins.so), which then parse."""
    version = _version(trt_version)
    initializers = {init.name: init for init in model.graph.initializer}
    constants = {out for node in iter_nodes(model.graph) if node.op_type == "Constant" for out in node.output}
    found: dict[tuple[str, str], list[str]] = {}
    for node in iter_nodes(model.graph):
        reason = _node_problem(node, version, initializers, constants, provided)
        if reason:
            found.setdefault((node.op_type, reason), []).append(_label(node))
    return [OpProblem(op, reason, tuple(nodes)) for (op, reason), nodes in found.items()]


def describe(problems: list[OpProblem], limit: int = 4) -> str:
    """'Mod (2 nodes, e.g. ...): ...; NonMaxSuppression (...): ...' for a one-line message."""
    shown = "; ".join(str(p) for p in problems[:limit])
    return shown + (f"; and {len(problems) - limit} more op(s)" if len(problems) > limit else "")
