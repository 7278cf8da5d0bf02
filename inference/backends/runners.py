"""One runner interface for every backend, after Polygraphy's: ``activate()``/``deactivate()`` (or a
``with`` block), ``input_metadata()`` and ``infer(feed_dict) -> {output name: array}``.

OnnxRuntimeRunner (CPU, the default that works anywhere) lives here, with PluginReferenceRunner for
graphs that keep TensorRT plugins (ONNX Runtime plus the plugins' numpy references; ``cpu_runner``
picks between the two); TensorRTRunner
(inference/backends/trt_runner.py) and TritonRunner (inference/backends/triton_runner.py) are imported from here too,
and their heavy libraries load only when a runner is activated.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.trt_support import plugin_op
from taostream.plugins.pipeline_compile import compile_plugin_pipeline
from taostream.plugins.reference import implementation_for, reference_for


@dataclass(frozen=True)
class TensorMetadata:
    dtype: np.dtype
    shape: tuple  # -1 (or a name) for dynamic dimensions


class Runner(abc.ABC):
    """Base class: subclasses implement _activate, _deactivate, _infer and input_metadata."""

    name = "runner"
    # appended to a feed/model shape mismatch: where the model the runner serves can differ from the bundle's
    mismatch_fix = ""

    def __init__(self) -> None:
        self.is_active = False

    def activate(self) -> "Runner":
        if not self.is_active:
            self._activate()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        if self.is_active:
            self.is_active = False
            self._deactivate()

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    def infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not self.is_active:
            raise TaostreamError(f"{self.name}: call activate() (or use `with`) before infer()")
        check_feed(feed_dict, self.input_metadata(), self.name, self.mismatch_fix)
        return self._infer(feed_dict)

    @abc.abstractmethod
    def input_metadata(self) -> dict[str, TensorMetadata]: ...

    @abc.abstractmethod
    def _activate(self) -> None: ...

    @abc.abstractmethod
    def _deactivate(self) -> None: ...

    @abc.abstractmethod
    def _infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def check_feed(feed_dict: dict[str, np.ndarray], metadata: dict[str, TensorMetadata], runner: str,
               fix: str = "") -> None:
    """Names and static dimensions of the feed against the model's inputs (clear error, not a crash
    deep inside a backend)."""
    missing = set(metadata) - set(feed_dict)
    unknown = set(feed_dict) - set(metadata)
    if missing or unknown:
        raise TaostreamError(f"{runner}: inputs {sorted(feed_dict)} do not match the model's {sorted(metadata)}"
                             + (f"; {fix}" if fix else ""))
    for name, array in feed_dict.items():
        expected = metadata[name].shape
        shape = np.shape(array)
        fixed = [(e, s) for e, s in zip(expected, shape) if isinstance(e, int) and e >= 0]
        if len(shape) != len(expected) or any(e != s for e, s in fixed):
            raise TaostreamError(f"{runner}: input '{name}' has shape {list(shape)}, the model expects "
                                 f"{list(expected)} (-1 = any)" + (f"; {fix}" if fix else ""))


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int32)": np.int32,
              "tensor(int64)": np.int64, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
              "tensor(bool)": np.bool_, "tensor(double)": np.float64}


class OnnxRuntimeRunner(Runner):
    """ONNX Runtime on the CPU. ``model``: a path, serialized bytes or an onnx.ModelProto."""

    name = "onnxruntime"

    def __init__(self, model, providers: tuple[str, ...] = ("CPUExecutionProvider",), threads: int | None = None):
        super().__init__()
        self.model = model
        self.providers = providers
        self.threads = threads
        self.session = None
        if isinstance(model, (str, os.PathLike)):  # --onnx FILE: another network's graph, or another input size
            self.mismatch_fix = (f"{os.fspath(model)} is not a graph of this bundle's model (another network or input "
                                 "size): give --onnx this bundle's model.onnx (or one modernized from its model)")

    def _model_bytes_or_path(self):
        if isinstance(self.model, (str, os.PathLike)):
            if not Path(self.model).is_file():
                raise TaostreamError(f"{self.model}: ONNX model not found")
            return os.fspath(self.model)
        if isinstance(self.model, bytes):
            return self.model
        return self.model.SerializeToString()

    def _activate(self) -> None:
        import onnxruntime  # lazy: heavy (a core dependency)

        options = onnxruntime.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        # ONNX Runtime's intra-op threads spin-wait after each parallel section by default. On a host
        # whose cores are shared (other processes, or this process's own decode and preprocessing
        # between calls) the spinning takes CPU from the work that matters: `taostream bench` measured
        # the facemask DetectNet_v2 ~25% slower per call with it on this project's 2-core CI host
        # (docs/evaluate.md). Off, an idle thread sleeps until the next section.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(self._model_bytes_or_path(), options, providers=list(self.providers))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            source = self.model if isinstance(self.model, (str, os.PathLike)) else "<model>"
            raise TaostreamError(f"{source}: ONNX Runtime cannot load the model ({str(exc).splitlines()[0]}); "
                                 "TensorRT plugin nodes need `taostream modernize --target ort` first") from None
        # Read once: every infer() checks the feed against them (rebuilding them per call cost ~1% of a run).
        self._inputs = {i.name: TensorMetadata(np.dtype(_ORT_TYPES.get(i.type, np.float32)),
                                               tuple(d if isinstance(d, int) else -1 for d in i.shape))
                        for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]

    def _deactivate(self) -> None:
        self.session = None

    def input_metadata(self) -> dict[str, TensorMetadata]:
        return self._inputs

    def output_names(self) -> list[str]:
        return list(self._outputs)

    def _infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        meta = self._inputs
        feed = {name: np.ascontiguousarray(array, dtype=meta[name].dtype) for name, array in feed_dict.items()}
        return dict(zip(self._outputs, self.session.run(None, feed)))


def plugin_nodes(model) -> list[tuple[str, str]]:
    """(node name, op) of the TensorRT plugin nodes in an onnx.ModelProto (ops named in
    converter/trt_support.py or with a registered numpy reference)."""
    return [(node.name, node.op_type) for node in model.graph.node
            if plugin_op(node.op_type) is not None or reference_for(node.op_type) is not None]


def _load_onnx(model):
    import onnx  # lazy: heavy

    source = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "<model>"
    if isinstance(model, (str, os.PathLike)) and not Path(model).is_file():
        raise TaostreamError(f"{source}: ONNX model not found")
    try:
        return onnx.load(source) if isinstance(model, (str, os.PathLike)) else (
            onnx.load_from_string(model) if isinstance(model, bytes) else model)
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise TaostreamError(f"{source}: not a readable ONNX model ({exc}); re-export or recreate the bundle") from None


class PluginReferenceRunner(Runner):
    """A graph that keeps TensorRT plugin nodes, on the CPU: standard nodes in ONNX Runtime, plugin
    nodes with their numpy references (plugins/reference.py), or the C++ host library's implementation
    where it is built (plugins/host.py). Slower than ONNX Runtime alone, but it
    runs graphs no plugin-free rewrite exists for (MaskRCNN). ``model``: a path, bytes or a ModelProto.
    The graph is split into ONNX Runtime segments once, on activate (plugins/pipeline.py)."""

    name = "onnxruntime+plugin references"

    def __init__(self, model, source: str | None = None):
        super().__init__()
        self.model = model
        self.source = source or (os.fspath(model) if isinstance(model, (str, os.PathLike)) else "<model>")
        self.proto = None
        self.pipeline = None

    def _activate(self) -> None:
        proto = _load_onnx(self.model)
        missing = [(name, op) for name, op in plugin_nodes(proto) if reference_for(op) is None]
        if missing:
            listed = ", ".join(f"'{name}' ({op})" for name, op in missing)
            raise TaostreamError(f"{self.source}: ONNX Runtime cannot load the model: plugin node(s) {listed} have no "
                                 "CPU reference; run `taostream modernize --target ort` first or use --backend trt")
        try:
            self.pipeline = compile_plugin_pipeline(proto, implementation_for)
        except TaostreamError:
            raise
        except Exception as exc:  # onnxruntime rejects a standard stretch (its own Fail/InvalidGraph types)
            raise TaostreamError(f"{self.source}: ONNX Runtime cannot load a part of the model "
                                 f"({str(exc).splitlines()[0]}); re-export the model or use --backend trt") from None
        self.proto = proto

    def _deactivate(self) -> None:
        self.proto = None
        self.pipeline = None

    def input_metadata(self) -> dict[str, TensorMetadata]:
        from onnx import helper  # lazy: heavy

        initializers = {t.name for t in self.proto.graph.initializer}
        return {i.name: TensorMetadata(np.dtype(helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)),
                                       tuple(d.dim_value if d.HasField("dim_value") else -1
                                             for d in i.type.tensor_type.shape.dim))
                for i in self.proto.graph.input if i.name not in initializers}

    def output_names(self) -> list[str]:
        return [o.name for o in self.proto.graph.output]

    def _infer(self, feed_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        meta = self.input_metadata()
        feed = {name: np.ascontiguousarray(array, dtype=meta[name].dtype) for name, array in feed_dict.items()}
        try:
            outputs = self.pipeline.run(feed)
        except ValueError as exc:  # a plugin node's attributes or input shapes the reference rejects
            raise TaostreamError(f"{self.source}: {exc}") from None
        return {name: outputs[name] for name in self.output_names()}


def cpu_runner(model) -> Runner:
    """The CPU runner for ``model``: ONNX Runtime for a plugin-free graph, the plugin-reference runner
    when the graph keeps TensorRT plugin nodes (it names any plugin without a reference on activate)."""
    try:
        proto = _load_onnx(model)
    except TaostreamError:
        return OnnxRuntimeRunner(model)  # activate() reports the missing or damaged file
    if not plugin_nodes(proto):
        return OnnxRuntimeRunner(model)
    return PluginReferenceRunner(proto, os.fspath(model) if isinstance(model, (str, os.PathLike)) else None)


def __getattr__(name: str):
    # The GPU and Triton runners live in their own modules; importing them stays cheap (their
    # libraries load on activate()), but keeping them apart keeps this module small.
    if name == "TensorRTRunner":
        # lazy: cycle (inference.backends.trt_runner imports this one)
        from taostream.inference.backends.trt_runner import TensorRTRunner

        return TensorRTRunner
    if name == "TritonRunner":
        # lazy: cycle (inference.backends.triton_runner imports this one)
        from taostream.inference.backends.triton_runner import TritonRunner

        return TritonRunner
    raise AttributeError(name)
