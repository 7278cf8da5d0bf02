"""A compiled plugin-reference pipeline: a graph with TensorRT plugin nodes, split once into standard
segments (each a standalone ONNX model with its ONNX Runtime session built once) and plugin steps (op,
attributes, input and output names, run by the plugins' numpy references).

This module is the serving half: it imports numpy (and onnxruntime when a session is first needed)
and nothing of taostream, so the Triton CPU model copies it beside its model.py and loads a
pipeline folder with ``PluginPipeline.load``. Compiling a graph and saving the folder
(onnx-graphsurgeon, taostream) live in plugins/pipeline_compile.py.

Folder layout (``PLAN_VERSION`` 1): ``plan.json`` (inputs, outputs, steps), ``segment_<n>.onnx`` for
each standard segment, ``constants.npz`` for initializers that plugin steps read or the graph outputs
directly (absent when there are none).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

PLAN_FILE = "plan.json"
CONSTANTS_FILE = "constants.npz"
PLAN_VERSION = 1

Reference = Callable[[dict, list], list]
ReferenceLookup = Callable[[str], "Reference | None"]


def segment_file(index: int) -> str:
    return f"segment_{index}.onnx"


def conform_to_declared(result: np.ndarray, declared) -> np.ndarray:
    """Give a reference's result the rank the graph declares for that tensor when only the rank
    differs (e.g. a static BatchedNMS_TRT count: [N] from the plugin, [N, 1] in the graph)."""
    if declared is None or len(declared) == result.ndim:
        return result
    dims = [d if isinstance(d, (int, np.integer)) and d >= 0 else -1 for d in declared]
    if dims.count(-1) > 1:
        return result
    known = int(np.prod([d for d in dims if d != -1])) if dims else 1
    if known and result.size % known == 0:
        return result.reshape(dims)
    return result


@dataclass(frozen=True)
class DeclaredTensor:
    """A tensor as the graph declares it: dtype (numpy name, None when unknown) and shape (None: unknown
    rank; per dim an int, a symbolic name or None)."""

    name: str
    dtype: str | None = None
    shape: list | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": self.shape}

    @classmethod
    def from_json(cls, data: Mapping) -> "DeclaredTensor":
        return cls(str(data["name"]), data.get("dtype"), data.get("shape"))


def _session(model: bytes | str):
    import onnxruntime  # lazy: heavy (a pipeline is described and checked without sessions)

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # Plugin steps run on the same cores right after a segment: ONNX Runtime's worker threads must not
    # spin-wait for more work meanwhile (they took ~10x the proposal plugin's own time from it).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@dataclass
class StandardSegment:
    """Consecutive standard nodes as one ONNX model. ``model`` is the serialized ONNX; a segment whose
    input types the graph does not declare has ``typed_model`` instead (compile time only): a function
    from the inputs' (dtype, shape) to the serialized ONNX, one session per distinct input signature;
    ``observed`` keeps the first run's input (dtype name, rank)."""

    inputs: list[DeclaredTensor]
    outputs: list[str]
    model: bytes | None = None
    typed_model: Callable[[list[tuple]], bytes] | None = None
    observed: list[tuple[str, int]] | None = None
    _sessions: dict = field(default_factory=dict, repr=False)

    @property
    def needs_inputs(self) -> list[str]:
        return [t.name for t in self.inputs]

    def session_for(self, arrays: Sequence[np.ndarray]):
        if self.model is not None:
            key = None
        else:
            key = tuple((a.dtype.str, a.shape) for a in arrays)
            if self.observed is None:
                self.observed = [(a.dtype.name, a.ndim) for a in arrays]
        if key not in self._sessions:
            model = self.model if self.model is not None else self.typed_model([(a.dtype, a.shape) for a in arrays])
            self._sessions[key] = _session(model)
        return self._sessions[key]

    def run(self, values: dict[str, np.ndarray], reference_for: ReferenceLookup) -> None:
        arrays = [values[t.name] for t in self.inputs]
        results = self.session_for(arrays).run(self.outputs, {t.name: a for t, a in zip(self.inputs, arrays)})
        values.update(zip(self.outputs, results))


@dataclass
class PluginStep:
    """One plugin node: ``reference_for(op)(attrs, inputs)`` gives its outputs."""

    name: str
    op: str
    attrs: dict
    inputs: list[str]
    outputs: list[DeclaredTensor]

    @property
    def needs_inputs(self) -> list[str]:
        return [name for name in self.inputs if name]

    def run(self, values: dict[str, np.ndarray], reference_for: ReferenceLookup) -> None:
        reference = reference_for(self.op)
        if reference is None:
            raise LookupError(f"node '{self.name}' ({self.op}): no numpy reference is registered for this plugin")
        results = reference(dict(self.attrs), [values[name] if name else None for name in self.inputs])
        for tensor, result in zip(self.outputs, results):
            values[tensor.name] = conform_to_declared(np.asarray(result), tensor.shape)


class PluginPipeline:
    """``run(feeds) -> {output name: array}`` for a graph that keeps plugin nodes. ``constants``:
    initializer values that plugin steps or the graph outputs read directly."""

    def __init__(self, inputs: list[DeclaredTensor], outputs: list[str], steps: list, constants: dict[str, np.ndarray],
                 reference_for: ReferenceLookup):
        self.inputs, self.outputs, self.steps = inputs, outputs, steps
        self.constants, self.reference_for = constants, reference_for
        self._release = self._release_after_each_step()

    def _release_after_each_step(self) -> list[list[str]]:
        """Per step, the values no later step (nor the result) reads: dropped to bound memory."""
        last_use: dict[str, int] = {}
        for index, step in enumerate(self.steps):
            for name in step.needs_inputs:
                last_use[name] = index
        release: list[list[str]] = [[] for _ in self.steps]
        for name, index in last_use.items():
            if name not in self.outputs:
                release[index].append(name)
        return release

    def plugin_ops(self) -> list[str]:
        return sorted({step.op for step in self.steps if isinstance(step, PluginStep)})

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = dict(self.constants)
        for tensor in self.inputs:
            if tensor.name not in feeds:
                raise ValueError(f"no value fed for the graph input '{tensor.name}'")
            values[tensor.name] = np.asarray(feeds[tensor.name])
        for step, release in zip(self.steps, self._release):
            step.run(values, self.reference_for)
            for name in release:
                values.pop(name, None)
        return {name: values[name] for name in self.outputs}

    @classmethod
    def load(cls, folder: str | os.PathLike, reference_for: ReferenceLookup) -> "PluginPipeline":
        """A pipeline saved by plugin_pipeline_compile.save_pipeline. Sessions are built here, once."""
        folder = Path(folder)
        plan = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))
        if plan.get("plan_version") != PLAN_VERSION:
            raise ValueError(f"{folder / PLAN_FILE}: plan_version {plan.get('plan_version')} is not {PLAN_VERSION}; "
                             "recreate the bundle with this taostream version")
        constants: dict[str, np.ndarray] = {}
        if (folder / CONSTANTS_FILE).is_file():
            with np.load(folder / CONSTANTS_FILE, allow_pickle=False) as archive:
                constants = {name: archive[name] for name in archive.files}
        steps = [_load_step(folder, data) for data in plan["steps"]]
        for step in steps:
            if isinstance(step, StandardSegment):
                step.session_for([])
            elif reference_for(step.op) is None:
                raise LookupError(f"{folder / PLAN_FILE}: plugin '{step.op}' (node '{step.name}') has no numpy reference "
                                  "among the modules loaded beside the pipeline")
        return cls([DeclaredTensor.from_json(t) for t in plan["inputs"]], list(plan["outputs"]), steps, constants,
                   reference_for)


def _load_step(folder: Path, data: Mapping):
    if data["kind"] == "segment":
        return StandardSegment([DeclaredTensor.from_json(t) for t in data["inputs"]], list(data["outputs"]),
                               model=(folder / data["file"]).read_bytes())
    return PluginStep(data["name"], data["op"], dict(data["attrs"]), list(data["inputs"]),
                      [DeclaredTensor.from_json(t) for t in data["outputs"]])
