"""TensorRT calibration cache -> explicit quantization: QuantizeLinear/DequantizeLinear pairs in the ONNX.

TensorRT 11 removed implicit INT8 (calibration caches); INT8 there means Q/DQ nodes in the graph.
This module reads the scales of a classic cache and places Q/DQ the way TensorRT's explicit
quantization guide recommends:

- quantize the INPUTS of the weighted ops (Conv, ConvTranspose, Gemm, MatMul): the activation with the
  cache's per-tensor scale, the weights with per-output-channel symmetric scales computed from the
  weights themselves (opset >= 13; per-tensor below); zero points are 0 (symmetric, int8);
- do not quantize outputs, and nothing else but the residual Add inputs below: NMS, TopK and the
  other post-processing stay in float;
- an op whose activation has no scale in the cache stays in float and is reported, never guessed;
- so does an op whose output has no scale, neither directly nor after the bias, batch norm,
  activation and residual add TensorRT fuses into it: TensorRT's implicit INT8 needs the fused
  layer's output range and runs such a layer in higher precision. QAT caches (TAO's QAT leaves a
  model's output layers unquantized) have no entries for the output convolutions;
- quantize the residual input of an Add that TensorRT fuses into a quantized convolution (the
  other input's producer): TensorRT reads it in INT8. When both inputs come from convolutions (a
  ResNet block with a projection shortcut) TensorRT fuses the Add into the shallower one, the
  shortcut convolution, and reads the main branch's output in INT8 (NVIDIA/TensorRT#4020 shows the
  layers of a ResNet-18 INT8 engine); an identity shortcut is the residual input of the block's last
  convolution.

Mapping cache names to ONNX tensors. The real TLT caches (shared/fixtures/calibration) name tensors
as the UFF/TensorFlow graph did: ``conv1/convolution``, ``bn_conv1/batchnorm/add_1``,
``activation_1/Relu``. ONNX exports of the same graph name the tensor ``<name>:0`` (tf2onnx) or
``<name>`` (taostream's UFF translator), or name the producing node ``<name>``. Layout-only ops
(Transpose, Reshape, Flatten, ...) between a named tensor and a Conv input do not change the range,
so the scale is looked up through them. TensorRT's own names (``(Unnamed Layer* 12) [Shuffle]_output``)
and tensors TensorRT fused away have no ONNX counterpart: they are reported as unmapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
import onnx_graphsurgeon as gs
from onnx import version_converter

from taostream.converter.int8.calib_cache import CalibrationCache, scale_usable
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import get_network

WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
# ops that move or reshape values without changing their range
RANGE_PRESERVING_OPS = ("Transpose", "Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze")
# ops TensorRT fuses into the weighted op before them (bias, batch norm as a scale, the activation,
# a residual add): the fused layer's output is the last of them, and an INT8 layer needs its scale
FUSED_AFTER_WEIGHTED = ("Add", "Sub", "Mul", "Div", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu",
                        "Sigmoid", "Tanh", "Elu", "Selu", "HardSigmoid", "Softplus", "HardSwish")
PER_CHANNEL_MIN_OPSET = 13
QDQ_MIN_OPSET = 10
NO_SCALE = "no cache scale for input"
NO_OUTPUT_SCALE = "no cache scale for its output"


class QdqError(TaostreamError):
    """A calibration cache that cannot be applied to this graph. ``problem`` is the finding alone, for a
    command that words its own fix (migrate has no --calibrate-images)."""

    def __init__(self, problem: str, advice: str = ""):
        super().__init__(f"{problem}; {advice}" if advice else problem)
        self.problem = problem


@dataclass
class QdqReport:
    """What insert_qdq_from_cache did (or cache_fit found it would do)."""

    mapped: dict[str, str] = field(default_factory=dict)  # cache tensor -> ONNX tensor
    unmapped: list[str] = field(default_factory=list)  # cache tensors with no ONNX tensor
    unusable: dict[str, float] = field(default_factory=dict)  # cache tensors with an inf/NaN/0/absurd scale
    quantized_nodes: list[str] = field(default_factory=list)
    float_nodes: dict[str, str] = field(default_factory=dict)  # node -> why it stays float
    per_channel_weights: bool = True
    converted_opset: tuple[int, int] | None = None  # (from, to) when the graph was converted for per-channel
    per_tensor_reason: str = ""  # why weights are per tensor (when they are)
    residual_inputs: dict[str, str] = field(default_factory=dict)  # Add node -> its input read in INT8
    # Signs that the cache belongs to another model (its input has no scale, most names match nothing).
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"Q/DQ: {len(self.quantized_nodes)} weighted ops quantized, {len(self.float_nodes)} kept in float",
            f"cache tensors: {len(self.mapped)} mapped to ONNX tensors, {len(self.unmapped)} unmapped, "
            f"{len(self.unusable)} with unusable scales",
        ]
        out += [f"  float: {node} ({why})" for node, why in self.float_nodes.items()]
        if self.unmapped:
            shown = ", ".join(self.unmapped[:8]) + (" ..." if len(self.unmapped) > 8 else "")
            out.append(f"  unmapped cache tensors: {shown}")
        if self.converted_opset:
            out.append(f"  graph opset {self.converted_opset[0]} converted to {self.converted_opset[1]} (onnx version "
                       "converter) so that weights are quantized per channel, as TensorRT's implicit INT8 does")
        if self.residual_inputs:
            out.append(f"  {len(self.residual_inputs)} residual Add input(s) quantized: TensorRT fuses the Add into the "
                       "convolution that produces its other input and reads this one in INT8")
        if not self.per_channel_weights:
            out.append(f"  weights quantized per tensor: {self.per_tensor_reason}")
        return out + [f"warning: {w}" for w in self.warnings]


def name_candidates(name: str) -> list[str]:
    """Spellings under which a cache tensor may appear in an ONNX graph."""
    base = name[:-2] if name.endswith(":0") else name
    return [name, base, f"{base}:0"]


def map_cache_names(graph: gs.Graph, cache_names, network=None) -> tuple[dict[str, gs.Variable], list[str]]:
    """Cache tensor name -> ONNX variable, and the names that match nothing."""
    tensors = {t.name: t for t in graph.tensors().values() if isinstance(t, gs.Variable)}
    node_outputs = {n.name: n.outputs[0] for n in graph.nodes if n.name and n.outputs}
    mapped: dict[str, gs.Variable] = {}
    unmapped: list[str] = []
    for name in cache_names:
        match = next((tensors[c] for c in name_candidates(name) if c in tensors), None)
        if match is None:
            match = next((node_outputs[c] for c in name_candidates(name) if c in node_outputs), None)
        if match is None and network is not None and name == network.input_blob and len(graph.inputs) == 1:
            match = graph.inputs[0]  # the input blob, renamed by the exporter
        if match is None:
            unmapped.append(name)
        else:
            mapped[name] = match
    return mapped, unmapped


def restate_for_graph(model: onnx.ModelProto, scales: dict[str, float], network=None) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """``scales`` (a cache's) as TensorRT's implicit calibration must read them for ``model``: each entry
    under the name the model gives the tensor (TensorRT matches a cache by exact name; map_cache_names
    finds 'x' for 'x:0' and the like), unusable scales left out. Returns (scales, [(cache name, tensor
    name) renamed])."""
    usable = {name: scale for name, scale in scales.items() if scale_usable(scale)}
    mapped, _ = map_cache_names(gs.import_onnx(model), usable, network)
    restated: dict[str, float] = {}
    renamed = []
    for name, scale in usable.items():
        tensor = mapped[name].name if name in mapped else name
        if tensor != name:
            renamed.append((name, tensor))
        restated.setdefault(tensor, scale)
    return restated, renamed


def unusable_input_entries(model: onnx.ModelProto, scales: dict[str, float], network=None) -> list[tuple[str, str, float]]:
    """(cache entry, graph input, scale) for each input of ``model`` whose entry in ``scales`` (a cache's)
    has a scale no INT8 build can use (inf from a QAT export, NaN, 0): restate_for_graph leaves those out."""
    unusable = {name: scale for name, scale in scales.items() if not scale_usable(scale)}
    return _unusable_inputs(gs.import_onnx(model), unusable, network)


def _unusable_inputs(graph: gs.Graph, unusable: dict[str, float], network=None) -> list[tuple[str, str, float]]:
    """(cache entry, graph input, scale) for each entry of ``unusable`` (unusable scales only) naming an
    input of ``graph``."""
    inputs = {t.name for t in graph.inputs}
    mapped, _ = map_cache_names(graph, unusable, network)
    return [(name, var.name, unusable[name]) for name, var in mapped.items() if var.name in inputs]


def _scale_through_layout(tensor: gs.Variable, scales: dict[str, float]) -> float | None:
    """The tensor's scale, or that of the tensor a chain of range-preserving ops came from."""
    seen = 0
    while tensor is not None and seen < 16:
        if tensor.name in scales:
            return scales[tensor.name]
        producers = tensor.inputs
        if len(producers) != 1 or producers[0].op not in RANGE_PRESERVING_OPS:
            return None
        tensor = producers[0].inputs[0] if producers[0].inputs else None
        seen += 1
    return None


def output_scale_tensor(node: gs.Node, scales: dict[str, float]) -> str | None:
    """The tensor after ``node`` that carries its INT8 output scale: its output, or a tensor further
    down the chain of ops TensorRT fuses into it (bias, batch norm, activation, residual add,
    layout ops), each the only consumer of the one before. None when the chain has no scale: TensorRT
    then has no range for the fused layer's output and runs it in higher precision (the network
    outputs of a QAT model's cache, e.g. LPDNet's output_cov/output_bbox convolutions)."""
    tensor = node.outputs[0] if node.outputs else None
    for _ in range(16):
        if tensor is None:
            return None
        if tensor.name in scales:
            return tensor.name
        consumers = tensor.outputs
        if len(consumers) != 1 or consumers[0].op not in FUSED_AFTER_WEIGHTED + RANGE_PRESERVING_OPS:
            return None
        tensor = consumers[0].outputs[0] if consumers[0].outputs else None
    return None


def _fused_producer(tensor) -> gs.Node | None:
    """The weighted op whose fused layer (the op, then bias / batch norm / activation ops each read
    only by the next) ends in ``tensor``, or None."""
    for _ in range(16):
        producers = getattr(tensor, "inputs", [])
        if len(producers) != 1 or len(tensor.outputs) != 1:
            return None
        node = producers[0]
        if node.op in WEIGHTED_OPS:
            return node
        if node.op not in FUSED_AFTER_WEIGHTED + RANGE_PRESERVING_OPS:
            return None
        activations = [t for t in node.inputs if not isinstance(t, gs.Constant)]
        if len(activations) != 1:
            return None  # another residual Add: not part of one fused layer
        tensor = activations[0]
    return None


def weighted_depths(graph: gs.Graph) -> dict[int, tuple[int, int]]:
    """Per weighted op (by id): (weighted ops on the longest path to its activation input, its position
    in topological order). Read before any Q/DQ goes in."""
    depth: dict[str, int] = {}
    found = {}
    for index, node in enumerate(graph.nodes):  # toposorted
        before = max((depth.get(t.name, 0) for t in node.inputs if not isinstance(t, gs.Constant)), default=0)
        if node.op in WEIGHTED_OPS:
            found[id(node)] = (before, index)
        for out in node.outputs:
            depth[out.name] = before + (node.op in WEIGHTED_OPS)
    return found


def _residual_inputs(graph: gs.Graph, scales: dict[str, float], report: QdqReport, excluded: set[str],
                     depths: dict[int, tuple[int, int]]) -> list[tuple[gs.Node, int, float]]:
    """(Add, input position, scale) for each input TensorRT reads in INT8 when it fuses the Add into a
    quantized convolution; recorded in ``report.residual_inputs``."""
    quantized = set(report.quantized_nodes)
    found = []
    for add in [n for n in graph.nodes if n.op == "Add" and len(n.inputs) == 2]:
        if any(isinstance(t, gs.Constant) for t in add.inputs) or _excluded(add.name or add.outputs[0].name, excluded):
            continue
        convs = [_fused_producer(t) for t in add.inputs]
        fused = [i for i, conv in enumerate(convs) if conv is not None and (conv.name or conv.outputs[0].name) in quantized]
        if not fused:
            continue
        # both from convolutions: the shallower one (the shortcut); the same depth: the later one
        into = min(fused, key=lambda i: (depths[id(convs[i])][0], -depths[id(convs[i])][1]))
        residual = 1 - into
        scale = _scale_through_layout(add.inputs[residual], scales)
        if scale is None:
            continue
        found.append((add, residual, scale))
        report.residual_inputs[add.name or add.outputs[0].name] = add.inputs[residual].name
    return found


def _weight_axis(node: gs.Node, weight: np.ndarray) -> int | None:
    """The output-channel axis of a weighted op's weights, or None for per-tensor."""
    if node.op == "Conv":
        return 0
    if node.op == "ConvTranspose":
        return 1 if int(node.attrs.get("group", 1)) == 1 else None
    if node.op == "Gemm":
        return 0 if int(node.attrs.get("transB", 0)) else 1
    if node.op == "MatMul":
        return 1 if weight.ndim == 2 else None
    return None


def weight_scales(weight: np.ndarray, axis: int | None) -> np.ndarray:
    """Symmetric int8 scales amax/127, per channel along axis (or one scale); all-zero channels get 1."""
    w = np.abs(np.asarray(weight, dtype=np.float32))
    if axis is None:
        amax = np.array(w.max() if w.size else 0.0, dtype=np.float32)
    else:
        amax = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).max(axis=1)
    return np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)


class _QdqInserter:
    def __init__(self, graph: gs.Graph, per_channel: bool):
        self.graph = graph
        self.per_channel = per_channel
        self.activation_qdq: dict[str, gs.Variable] = {}

    def _pair(self, tensor, scale: gs.Constant, zero: gs.Constant, axis: int | None, tag: str) -> gs.Variable:
        attrs = {} if axis is None else {"axis": axis}
        q = gs.Variable(f"{tag}_quantized", dtype=np.int8)
        dq = gs.Variable(f"{tag}_dequantized", dtype=np.float32)
        self.graph.nodes.append(gs.Node("QuantizeLinear", f"{tag}/QuantizeLinear", attrs, [tensor, scale, zero], [q]))
        self.graph.nodes.append(gs.Node("DequantizeLinear", f"{tag}/DequantizeLinear", attrs, [q, scale, zero], [dq]))
        return dq

    def activation(self, tensor: gs.Variable, scale: float) -> gs.Variable:
        """One shared Q/DQ pair per activation tensor."""
        if tensor.name not in self.activation_qdq:
            tag = tensor.name
            s = gs.Constant(f"{tag}_scale", np.array(scale, dtype=np.float32))
            z = gs.Constant(f"{tag}_zero_point", np.array(0, dtype=np.int8))
            self.activation_qdq[tensor.name] = self._pair(tensor, s, z, None, tag)
        return self.activation_qdq[tensor.name]

    def weight(self, node: gs.Node, weight: gs.Constant) -> gs.Variable:
        axis = _weight_axis(node, weight.values) if self.per_channel else None
        scales = weight_scales(weight.values, axis)
        tag = f"{node.name or weight.name}/weight"
        s = gs.Constant(f"{tag}_scale", scales)
        z = gs.Constant(f"{tag}_zero_point", np.zeros(scales.shape, dtype=np.int8))
        return self._pair(weight, s, z, axis, tag)


# ops whose float output is really a mask, an index or a count: a weighted op fed by them is
# post-processing arithmetic (e.g. a MatMul with ones counting kept boxes), not a network layer
NON_NETWORK_PRODUCERS = ("Cast", "Equal", "Greater", "Less", "Not", "And", "Or", "NonMaxSuppression", "TopK", "ArgMax")


def _fed_by_non_network(tensor) -> bool:
    for _ in range(16):
        producers = getattr(tensor, "inputs", [])
        if len(producers) != 1:
            return False
        op = producers[0].op
        if op in NON_NETWORK_PRODUCERS:
            return True
        if op not in RANGE_PRESERVING_OPS or not producers[0].inputs:
            return False
        tensor = producers[0].inputs[0]
    return False


def _excluded(label: str, excluded: set[str]) -> bool:
    """Exact node names, or the name of a replaced plugin node: rewrites name their nodes '<plugin>/...'."""
    return label in excluded or any(label.startswith(f"{prefix}/") for prefix in excluded)


def _activation_inputs(node: gs.Node) -> list[int]:
    """Input positions of a weighted op that carry activations (not constant weights, not bias)."""
    positions = [0]
    if node.op in ("MatMul", "Gemm") and len(node.inputs) > 1 and not isinstance(node.inputs[1], gs.Constant):
        positions.append(1)
    return positions


def to_per_channel_opset(model: onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """``model`` at opset >= 13 (per-channel QuantizeLinear needs it), converted with onnx's version
    converter when below; returns (model, "") or (the unconverted model, why it could not be)."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= PER_CHANNEL_MIN_OPSET:
        return model, ""

    try:
        converted = version_converter.convert_version(model, PER_CHANNEL_MIN_OPSET)
        onnx.checker.check_model(converted)
    except Exception as exc:  # the converter raises RuntimeError/ValidationError/... for ops it cannot adapt
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        return model, f"the graph opset is {opset} and onnx's converter cannot take it to 13 ({first[:160]})"
    converted.ir_version = max(model.ir_version, 7)  # IR 7 is the first that carries opset 13
    return converted, ""


@dataclass
class _Placement:
    """Where the Q/DQ pairs go: the weighted ops quantized with their activation inputs' scales, and the
    residual Add inputs. Found on the graph before any node goes in (``_fit``), then inserted as found."""

    weighted: list[tuple[gs.Node, dict[int, float]]] = field(default_factory=list)  # node, input position -> scale
    residuals: list[tuple[gs.Node, int, float]] = field(default_factory=list)  # Add, input position, scale


def _fit(graph: gs.Graph, cache: CalibrationCache, report: QdqReport, network, exclude_nodes) -> _Placement:
    """Map ``cache`` onto ``graph`` (toposorted, unchanged) into ``report`` (mapped, unmapped, unusable,
    quantized and float nodes, residual inputs, foreign-cache warnings); returns the Q/DQ placement."""
    usable = {}
    for name, scale in cache.scales.items():
        if scale_usable(scale):
            usable[name] = scale
        else:
            report.unusable[name] = scale
    mapped, report.unmapped = map_cache_names(graph, usable, network)
    report.mapped = {name: var.name for name, var in mapped.items()}
    scales = {var.name: usable[name] for name, var in mapped.items()}
    excluded = set(exclude_nodes)
    placement = _Placement()
    for node in graph.nodes:
        if node.op not in WEIGHTED_OPS:
            continue
        label = node.name or node.outputs[0].name
        if _excluded(label, excluded):
            report.float_nodes[label] = "excluded by the caller"
            continue
        if any(_fed_by_non_network(node.inputs[i]) for i in _activation_inputs(node)):
            report.float_nodes[label] = "post-processing arithmetic on a mask/index/count: kept in float"
            continue
        act = {i: _scale_through_layout(node.inputs[i], scales) for i in _activation_inputs(node)}
        missing = [node.inputs[i].name for i, s in act.items() if s is None]
        if missing:
            report.float_nodes[label] = f"{NO_SCALE} {', '.join(missing)}"
            continue
        if output_scale_tensor(node, scales) is None:
            report.float_nodes[label] = (f"{NO_OUTPUT_SCALE} {node.outputs[0].name} (nor after the ops TensorRT fuses "
                                         "into it): TensorRT's implicit INT8 runs it in higher precision too")
            continue
        placement.weighted.append((node, act))
        report.quantized_nodes.append(label)
    placement.residuals = _residual_inputs(graph, scales, report, excluded, weighted_depths(graph))
    report.warnings = foreign_cache_warnings(graph, cache, report, network)
    return placement


def cache_fit(model: onnx.ModelProto, cache: CalibrationCache, *, network=None, exclude_nodes=(),
              strict: bool = False, source: str = "the calibration cache") -> QdqReport:
    """What ``insert_qdq_from_cache`` reports for ``model`` and ``cache`` (which tensors the cache
    reaches and misses, the weighted ops it quantizes, the foreign-cache warnings) and the QdqError it
    raises for another model's cache, without building the Q/DQ graph: for the commands that need the
    verdict only (check, tao-converter's implicit calibration). No weights are quantized, so the report's
    weight fields (per_channel_weights, converted_opset) say nothing; nor is the opset judged (TensorRT's
    implicit calibration needs no QuantizeLinear)."""
    if isinstance(network, str):
        network = get_network(network)
    graph = gs.import_onnx(model)
    graph.toposort()
    report = QdqReport()
    _fit(graph, cache, report, network, exclude_nodes)
    _check_outcome(report, strict, cache, source)
    return report


def insert_qdq_from_cache(model: onnx.ModelProto, cache: CalibrationCache, *, network=None,
                          exclude_nodes=(), strict: bool = False,
                          source: str = "the calibration cache",
                          per_channel: bool = True) -> tuple[onnx.ModelProto, QdqReport]:
    """Return a copy of ``model`` with Q/DQ pairs from ``cache`` and a report of what mapped.

    ``exclude_nodes``: node names to keep in float (e.g. box-decoding layers, as NVIDIA's
    layer-device-precision settings do); a name also excludes every node named '<name>/...', which
    is how the plugin rewrites name their nodes, so passing the replaced plugin nodes' names keeps
    their post-processing in float. ``strict``: raise when any weighted op stays in float
    (the caller's exclusions and post-processing arithmetic do not count). Weights are quantized
    per output channel, as TensorRT's implicit INT8 does; a graph below opset 13 (tf2onnx exports
    use 12) is converted to 13 for that. ``per_channel=False`` quantizes them per tensor (for
    comparisons: docs/int8.md). The placement is ``cache_fit``'s (``_fit``), so the verdict a check
    gives and what this inserts cannot differ.
    """
    if isinstance(network, str):  # `taostream bundle` passes the registry name
        network = get_network(network)
    original_opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if original_opset < QDQ_MIN_OPSET:
        raise QdqError(f"graph opset {original_opset}: QuantizeLinear/DequantizeLinear need opset >= {QDQ_MIN_OPSET} "
                       "(13 for per-channel weights); re-export the model with opset 13")
    why_not = "per-tensor weights were asked for"
    if per_channel:
        model, why_not = to_per_channel_opset(model)
    graph = gs.import_onnx(model)
    opset = graph.opset or 0
    report = QdqReport(per_channel_weights=per_channel and opset >= PER_CHANNEL_MIN_OPSET,
                       converted_opset=(original_opset, opset) if opset != original_opset else None)
    if not report.per_channel_weights:
        report.per_tensor_reason = why_not
    graph.toposort()
    placement = _fit(graph, cache, report, network, exclude_nodes)
    _check_outcome(report, strict, cache, source)
    inserter = _QdqInserter(graph, report.per_channel_weights)
    for node, act in placement.weighted:
        for i, s in act.items():
            node.inputs[i] = inserter.activation(node.inputs[i], s)
        if len(node.inputs) > 1 and isinstance(node.inputs[1], gs.Constant):
            node.inputs[1] = inserter.weight(node, node.inputs[1])
    for add, position, scale in placement.residuals:
        add.inputs[position] = inserter.activation(add.inputs[position], scale)
    graph.cleanup().toposort()
    out = gs.export_onnx(graph)
    out.ir_version = model.ir_version
    return out, report


MOSTLY_UNMAPPED = 0.5  # more than this share of the usable entries mapping nothing: another model's cache


def foreign_cache_warnings(graph: gs.Graph, cache: CalibrationCache, report: QdqReport, network=None) -> list[str]:
    """Why ``cache`` looks like another model's: the graph input has no scale (so the first layers
    stay in float), or most of its usable entries name no tensor of this graph. An input whose entry
    is there with an unusable scale (inf, NaN, 0) is named as such: that cache is this model's."""
    found = []
    mapped_tensors = set(report.mapped.values())
    inputs = [t.name for t in graph.inputs if isinstance(t, gs.Variable)]
    unusable_inputs = _unusable_inputs(graph, report.unusable, network)
    if inputs and not any(name in mapped_tensors for name in inputs) and unusable_inputs:
        entry, tensor, scale = unusable_inputs[0]
        found.append(f"the calibration cache's scale for the input tensor {tensor!r} (entry {entry!r}) is "
                     f"{scale!r}, which no INT8 build can use: the input and the layers reading it "
                     "stay in float; regenerate it for this model or calibrate afresh with images")
    elif inputs and not any(name in mapped_tensors for name in inputs):
        found.append(f"the calibration cache has no scale for the input tensor {', '.join(repr(n) for n in inputs)}: "
                     "the input and the layers reading it stay in float; is it the cache of this model? "
                     "Regenerate it for this model or calibrate afresh with images")
    usable = len(report.mapped) + len(report.unmapped)
    if usable and len(report.unmapped) > MOSTLY_UNMAPPED * usable:
        sample = ", ".join(repr(n) for n in report.unmapped[:3])
        found.append(f"{len(report.unmapped)} of {usable} calibration cache entries match no tensor of this graph "
                     f"(e.g. {sample}): it is probably another model's cache; regenerate it for this model or "
                     "calibrate afresh with images")
    return found


def _check_outcome(report: QdqReport, strict: bool, cache: CalibrationCache, source: str) -> None:
    """``source`` names the cache (its file, or the fresh calibration) in messages."""
    if not report.quantized_nodes:
        if not cache.scales:
            raise QdqError(f"{source} holds no tensor scales", "regenerate it for this model (`tao export "
                           "--cal_cache_file`), or calibrate afresh with --calibrate-images")
        sample = ", ".join(list(cache.scales)[:3])
        raise QdqError(
            f"{source} ({len(cache.scales)} tensors, e.g. {sample}): no Conv/Gemm/MatMul input of this "
            "graph has a scale in it", "is it the cache of this model? Regenerate it for this model, or "
            "calibrate afresh with --calibrate-images"
        )
    missing = {node: why for node, why in report.float_nodes.items() if why.startswith(NO_SCALE)}
    if strict and missing:
        node, why = next(iter(missing.items()))
        raise QdqError(
            f"{len(missing)} weighted op(s) would stay in float, e.g. '{node}' ({why}); "
            "calibrate afresh with --calibrate-images, or accept mixed precision without --strict"
        )
