"""`taostream inspect`: what is inside a TAO model, and what today's TensorRT will make of it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from taostream.converter import registry, trt_support
from taostream.converter.errors import ModelFormatError, TaostreamError
from taostream.converter.model.loader import ModelFile
from taostream.converter.uff.reader import DTYPES, load_uff

_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64"}


@dataclass
class TensorInfo:
    name: str
    shape: list  # ints, symbolic names (str) or None where unknown
    dtype: str


@dataclass
class PluginInfo:
    op: str
    count: int
    trt: dict  # {"8.6": "present", "10": "deprecated", "11": "removed"}
    replacement: str
    note: str = ""


@dataclass
class ModelReport:
    path: str
    container: str  # "etlt" | "plain"
    format: str  # "onnx" | "uff"
    producer: str
    opset: dict
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    op_histogram: dict
    plugins: list[PluginInfo]
    network: str | None
    network_candidates: list[str] = field(default_factory=list)
    etlt_input_name: str | None = None
    uff_translation: str | None = None  # UFF only: "ok" or why the ONNX translation fails

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def missing_in_trt11(self) -> list[str]:
        return [p.op for p in self.plugins if p.trt.get("11") == "removed"]


def graph_inputs(model) -> list:
    """The graph's real inputs: ONNX lists initializers among the inputs in older IR versions."""
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def _onnx_tensor(value_info) -> TensorInfo:
    ttype = value_info.type.tensor_type
    shape = []
    for dim in ttype.shape.dim:
        if dim.HasField("dim_value"):
            shape.append(dim.dim_value)
        else:
            shape.append(dim.dim_param or None)
    return TensorInfo(value_info.name, shape, _ONNX_DTYPES.get(ttype.elem_type, str(ttype.elem_type)))


def _plugins(histogram: Counter) -> list[PluginInfo]:
    found = []
    for op, count in sorted(histogram.items()):
        name = trt_support.plugin_op(op)
        if name is None:
            continue
        support = trt_support.PLUGINS[name]
        note = ""
        if name in ("GenerateDetection_TRT", "MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT"):
            note = "TensorRT 11 still ships it (deprecated): kept by default, no replacement needed"
        elif support.trt["11"] == "removed":
            note = "removed in TensorRT 11: `taostream modernize --target-trt 11` replaces it"
        found.append(PluginInfo(op, count, dict(support.trt), support.replacement, note))
    return found


def _recognise(inputs, outputs, histogram) -> tuple[str | None, list[str]]:
    net = registry.recognise([t.name for t in inputs], [t.name for t in outputs], set(histogram))
    if net is None:
        return None, []
    out_names = {t.name.split(":")[0] for t in outputs}
    same = [
        n.name
        for n in registry.NETWORKS
        if out_names <= {o.split(":")[0] for o in (*n.outputs_onnx, *n.outputs_uff)}
        and n.input_blob == net.input_blob
        and set(n.plugins_onnx) == set(net.plugins_onnx)
    ]
    return net.name, same if len(same) > 1 else []


def inspect_onnx(model_file: ModelFile) -> ModelReport:
    import onnx  # lazy: heavy

    try:
        model = onnx.load_model_from_string(model_file.data)
    except Exception as exc:
        raise ModelFormatError(f"{model_file.path}: the ONNX model does not parse ({exc})") from None
    graph = model.graph
    inputs = [_onnx_tensor(v) for v in graph_inputs(model)]
    outputs = [_onnx_tensor(v) for v in graph.output]
    histogram = Counter(node.op_type for node in graph.node)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    opset = {op.domain or "ai.onnx": op.version for op in model.opset_import}
    return _report(model_file, producer or "unknown", opset, inputs, outputs, histogram)


def _report(model_file: ModelFile, producer: str, opset: dict, inputs: list[TensorInfo],
            outputs: list[TensorInfo], histogram: Counter, **extra) -> ModelReport:
    network, candidates = _recognise(inputs, outputs, histogram)
    return ModelReport(
        path=str(model_file.path),
        container="etlt" if model_file.encrypted else "plain",
        format=model_file.format,
        producer=producer,
        opset=opset,
        inputs=inputs,
        outputs=outputs,
        op_histogram=dict(histogram.most_common()),
        plugins=_plugins(histogram),
        network=network,
        network_candidates=candidates,
        etlt_input_name=model_file.input_name,
        **extra,
    )


def inspect_uff(model_file: ModelFile) -> ModelReport:
    uff = load_uff(model_file.data, source=str(model_file.path))
    inputs = [
        TensorInfo(n.id, uff.input_shape(n), str(DTYPES.get(n.fields.get("dtype"), "float32")))
        for n in uff.inputs()
    ]
    # UFF stores no output shapes; the ONNX translation infers them.
    outputs = [TensorInfo(name, None, "float32") for name in uff.outputs()]
    translation = "ok"
    try:
        from taostream.converter.uff.to_onnx import uff_to_onnx  # lazy: heavy (loads onnx)

        translated = uff_to_onnx(uff, input_name=model_file.input_name, source=str(model_file.path))
        outputs = [_onnx_tensor(v) for v in translated.graph.output]
    except TaostreamError as exc:
        translation = str(exc)
    histogram = Counter(n.operation for n in uff.nodes)
    producer = ", ".join(f"{d} v{v}" for d, v in uff.descriptors) or "uff"
    return _report(model_file, producer, {"uff": uff.version}, inputs, outputs, histogram, uff_translation=translation)


def inspect_model(model_file: ModelFile) -> ModelReport:
    return inspect_onnx(model_file) if model_file.format == "onnx" else inspect_uff(model_file)


def _shape(shape) -> str:
    if shape is None:
        return "(shape unknown: UFF stores none)"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def format_report(report: ModelReport) -> str:
    lines = [
        f"model:    {report.path}",
        f"payload:  {report.format.upper()}" + (" inside an .etlt container" if report.container == "etlt" else ""),
        f"producer: {report.producer}",
        "opset:    " + ", ".join(f"{k} {v}" for k, v in report.opset.items()),
    ]
    if report.etlt_input_name:
        lines.append(f"etlt header input name: {report.etlt_input_name}")
    lines.append("inputs:")
    lines += [f"  {t.name}  {_shape(t.shape)}  {t.dtype}" for t in report.inputs]
    lines.append("outputs:")
    lines += [f"  {t.name}  {_shape(t.shape)}  {t.dtype}" for t in report.outputs]
    lines.append("ops: " + ", ".join(f"{op} x{n}" for op, n in report.op_histogram.items()))
    if report.plugins:
        lines.append("TensorRT plugin ops:")
        for p in report.plugins:
            status = ", ".join(f"TRT {v}: {s}" for v, s in p.trt.items())
            lines.append(f"  {p.op} x{p.count}  [{status}]")
            if p.note:
                lines.append(f"      {p.note}")
        missing = report.missing_in_trt11
        lines.append(
            "missing in TensorRT 11: " + (", ".join(missing) if missing else "none")
        )
    else:
        lines.append("TensorRT plugin ops: none")
    if report.uff_translation == "ok":
        lines.append("UFF -> ONNX: translates (taostream decode --to-onnx; TensorRT 9+ and DeepStream 8/9 need ONNX)")
    elif report.uff_translation:
        lines.append(f"UFF -> ONNX: not translatable: {report.uff_translation}")
    if report.network:
        text = report.network
        if report.network_candidates:
            text += f" (same graph signature as: {', '.join(report.network_candidates)}; pass --network to choose)"
        lines.append(f"network:  {text}")
    else:
        lines.append("network:  not recognised (pass --network to the commands that need it)")
    return "\n".join(lines)
