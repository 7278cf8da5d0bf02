"""`taostream check BUNDLE`: do a Triton config's input and output tensors match its model file?

Triton refuses to load a model whose config.pbtxt names a tensor the ONNX graph lacks or gives it other
dims ("unexpected inference output", "the model expects 4 dimensions (shape [-1,3,480,640]) but the model
configuration specifies ..."). A hand edit (dims copied from an old DeepStream config, an output renamed)
would only show when the server starts on the GPU host; this compares them here. The ONNX Runtime model
is checked in full; the CPU (python backend) model post-processes, so only its input is the graph's (Triton
loads it, then refuses requests shaped like the model's input).
"""

from __future__ import annotations

from pathlib import Path

from taostream.converter.model.classes import value_dims
from taostream.deepstream_configs.check.run import (
    ERROR, CheckReport, Finding, UnreadableModel, is_readable, note_unreadable, read_model_facts,
)


def _agrees(config_dims: list[int], model_dims: list[int]) -> bool:
    return len(config_dims) == len(model_dims) and all(
        c == m or c == -1 or m == -1 for c, m in zip(config_dims, model_dims))


def _dims_text(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def check_triton_tensors(path: Path, config, report: CheckReport) -> None:
    """Findings where config (a parsed ModelConfig at path) and its 1/<model>.onnx disagree on tensors."""
    if config.platform == "onnxruntime_onnx":
        filename, kinds = config.default_model_filename or "model.onnx", ("input", "output")
        effect = "Triton refuses to load the model"
    elif config.backend == "python":
        filename, kinds = "model.onnx", ("input",)
        effect = "Triton refuses every request with the model's own input shape"
    else:
        return
    model_path = path.parent / "1" / filename
    if not is_readable(model_path):
        note_unreadable(report, model_path)
        return
    try:
        facts = read_model_facts(model_path)
    except UnreadableModel as exc:
        report.findings.append(Finding(ERROR, model_path, None, None, None, f"{exc}; {exc.fix or 'copy the bundle again'}"))
        return
    if facts is None or facts.proto is None:
        return
    graph = facts.proto.graph
    batched = config.max_batch_size > 0
    for kind in kinds:
        tensors = {v.name: value_dims(v) for v in graph.output} if kind == "output" else \
            {name: list(dims) for name, dims in facts.inputs.items()}
        for tensor in (config.output if kind == "output" else config.input):
            if tensor.name not in tensors:
                report.findings.append(Finding(
                    ERROR, path, None, None, f"{kind}.name",
                    f"'{tensor.name}' is not an {kind} of 1/{filename} (its {kind}s: {', '.join(tensors)}): {effect}; "
                    f"use the model's {kind} name"))
                continue
            if tensor.HasField("reshape"):
                continue
            model_dims = tensors[tensor.name]
            wanted = model_dims[1:] if batched and model_dims else model_dims
            if not _agrees(list(tensor.dims), wanted):
                batch = " after the batch dimension (max_batch_size > 0)" if batched else ""
                report.findings.append(Finding(
                    ERROR, path, None, None, f"{kind}.dims",
                    f"{kind} '{tensor.name}' has dims {_dims_text(tensor.dims)} but 1/{filename} gives it "
                    f"{_dims_text(model_dims)}: {effect}; set dims: {_dims_text(wanted)}"
                    f"{batch}"))
