"""Triton model repositories for a TAO model.

GPU hosts: ``<model>/config.pbtxt`` with platform ``tensorrt_plan`` and the registry's tensor specs,
``<model>/1/model.plan`` built on the host (`taostream convert`). Hosts without a GPU: ``<model>_cpu``,
a python-backend model that runs the ONNX with ONNX Runtime and post-processes with the parsers'
Python reference, returning boxes (``num_detections`` + ``detections`` [K, 6] = x1, y1, x2, y2, score,
class in network pixels) or, for classifiers, the softmax.

A graph no plugin-free rewrite exists for (MaskRCNN) is served as a plugin-reference pipeline instead
of model.onnx: ``1/pipeline/`` (plugins/pipeline_compile.py) with the pipeline runtime and the
plugins' numpy references copied beside model.py (taostream_plugin_pipeline.py, taostream_pluginref*.py).
Instance-segmentation models also return ``masks`` [K, H, W] (the detected class's mask logits, box
relative, in the model's mask resolution).
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_bytes, atomic_write_text
from taostream.converter.registry import Network, TensorSpec
from taostream.deepstream_configs.triton.pbtxt import Enum, format_pbtxt
from taostream.plugins import host_calls
from taostream.plugins.pipeline_compile import save_pipeline, serving_modules

CPU_MAX_DETECTIONS = 100
PIPELINE_FOLDER = "pipeline"  # python_model.py looks for this folder in its version folder
INSTANCE_SEGMENTATION = 3  # nvinfer network-type
_TRITON_TYPES = {"FP32": "TYPE_FP32", "INT32": "TYPE_INT32", "FP16": "TYPE_FP16", "INT64": "TYPE_INT64"}


@dataclass
class TritonModelOptions:
    network: Network
    model_name: str
    dims: tuple[int, int, int]  # (C, H, W)
    num_classes: int  # classes the model outputs (incl. background where the layout has it)
    max_batch_size: int = 8
    instance_count: int = 1
    gpus: tuple[int, ...] = (0,)
    input_name: str | None = None  # default: the registry's input blob
    # The model's real outputs: name -> dims without batch (-1 unknown); registry's otherwise.
    model_outputs: dict[str, tuple[int, ...]] | None = None
    pre_cluster_threshold: float | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def resolve_dims(spec: TensorSpec, options: TritonModelOptions) -> list[int]:
    """The registry's symbolic dims (C, 4C, K, GH, GW) made concrete for one deployment."""
    _, height, width = options.dims
    stride = options.network.grid_stride or 1
    symbols = {
        "C": options.num_classes,
        "4C": 4 * options.num_classes,
        "K": options.network.keep_top_k or -1,
        "GH": math.ceil(height / stride),
        "GW": math.ceil(width / stride),
        "T": width // 4,  # LPRNet's time steps (NVIDIA's parser: network width / 4)
    }
    return [int(symbols[d]) if isinstance(d, str) else int(d) for d in spec.dims]


def output_tensors(options: TritonModelOptions) -> list[dict]:
    """Output specs: names and dims from the model when known, data types from the registry."""
    registry = list(options.network.outputs)
    if options.model_outputs:
        tensors = []
        for index, (name, dims) in enumerate(options.model_outputs.items()):
            dtype = registry[index].dtype if index < len(registry) else "FP32"
            tensors.append({"name": name, "data_type": Enum(_TRITON_TYPES[dtype]), "dims": list(dims) or [1]})
        return tensors
    names = options.network.outputs_onnx
    names = names if len(names) == len(registry) else [spec.name for spec in registry]
    return [
        {"name": name, "data_type": Enum(_TRITON_TYPES[spec.dtype]), "dims": resolve_dims(spec, options)}
        for name, spec in zip(names, registry)
    ]


def input_tensor(options: TritonModelOptions) -> dict:
    c, h, w = options.dims
    nhwc = options.network.input_order == "NHWC"
    return {
        "name": options.input_name or options.network.input_blob,
        "data_type": Enum("TYPE_FP32"),
        "format": Enum("FORMAT_NHWC" if nhwc else "FORMAT_NCHW"),
        "dims": [h, w, c] if nhwc else [c, h, w],
    }


def _check(options: TritonModelOptions) -> None:
    if options.max_batch_size < 1:
        raise TaostreamError("Triton max_batch_size must be at least 1 (TAO models batch on dim 0)")
    if options.instance_count < 1:
        raise TaostreamError("Triton instance count must be at least 1")


def _gpu_model(options: TritonModelOptions, platform: str, filename: str) -> dict:
    """What every GPU model's config.pbtxt holds: the platform and file, tensors, batching, instances."""
    _check(options)
    return {
        "name": options.model_name,
        "platform": platform,
        "default_model_filename": filename,
        "max_batch_size": options.max_batch_size,
        "input": [input_tensor(options)],
        "output": output_tensors(options),
        "dynamic_batching": {},
        "instance_group": [{"count": options.instance_count, "kind": Enum("KIND_GPU"), "gpus": list(options.gpus)}],
    }


def gpu_model_config(options: TritonModelOptions) -> dict:
    return _gpu_model(options, "tensorrt_plan", "model.plan")


TRT_CACHE = "/trt-cache"  # where the ONNX Runtime TensorRT accelerator keeps its engines (compose/k8s mount it)
TRT_WORKSPACE_BYTES = 2 << 30  # the accelerator's max workspace (2 GiB)
GPU_VARIANTS = ("onnx-trt", "plan", "both")
_ORT_PRECISION = {"fp32": "FP32", "fp16": "FP16", "int8": "INT8"}


def onnx_trt_model_config(options: TritonModelOptions, precision: str) -> dict:
    """The GPU model that needs no separate build: Triton's ONNX Runtime backend with the TensorRT
    execution accelerator (TensorRT builds the engine on first load with the container's TensorRT, at the
    bundle's precision; INT8 from the graph's Q/DQ nodes; engines cached in TRT_CACHE, so a restart with
    the cache kept loads them instead of rebuilding). Nodes TensorRT cannot take run in ONNX Runtime's CUDA
    provider."""
    if precision not in _ORT_PRECISION:
        raise TaostreamError(f"precision '{precision}': use fp32, fp16 or int8")
    parameters = {"precision_mode": _ORT_PRECISION[precision], "max_workspace_size_bytes": str(TRT_WORKSPACE_BYTES),
                  "trt_engine_cache_enable": "1", "trt_engine_cache_path": TRT_CACHE}
    accelerator = {"name": "tensorrt", "parameters": [{"key": k, "value": v} for k, v in parameters.items()]}
    return {**_gpu_model(options, "onnxruntime_onnx", "model.onnx"),
            "optimization": {"execution_accelerators": {"gpu_execution_accelerator": [accelerator]}}}


def gpu_model_names(model_name: str, variant: str) -> dict[str, str]:
    """Triton model name -> GPU variant ("onnx-trt" | "plan"): the bundle's model name is the one the
    nvinferserver config and clients use (the ONNX Runtime model unless only the plan is asked for);
    with both, the plan variant is ``<name>_plan``."""
    if variant not in GPU_VARIANTS:
        raise TaostreamError(f"--triton-gpu {variant}: use {', '.join(GPU_VARIANTS)}")
    if variant == "both":
        return {model_name: "onnx-trt", f"{model_name}_plan": "plan"}
    return {model_name: variant}


def mask_resolution(options: TritonModelOptions) -> tuple[int, int]:
    """(H, W) of an instance-segmentation model's masks: the last two dims of its [K, C, H, W] output
    (the model's own when known, else the registry's)."""
    shapes = [list(d) for d in options.model_outputs.values()] if options.model_outputs else []
    shapes += [resolve_dims(spec, options) for spec in options.network.outputs]
    for dims in shapes:
        if len(dims) == 4 and dims[-1] > 0 and dims[-2] > 0:
            return dims[-2], dims[-1]
    raise TaostreamError(f"{options.model_name}: no [K, C, H, W] mask output among the model's outputs; the CPU "
                         "Triton model of an instance-segmentation network needs it")


def cpu_outputs(network: Network, num_classes: int, mask_size: tuple[int, int] | None = None) -> list[dict]:
    if network.output_layout == "lprnet_ctc":
        # What NvDsInferParseCustomNVPlate attaches: the plate ("" under 3 characters) and its confidence.
        return [{"name": "plate", "data_type": Enum("TYPE_STRING"), "dims": [1]},
                {"name": "plate_confidence", "data_type": Enum("TYPE_FP32"), "dims": [1]}]
    if network.network_type == 1:
        return [{"name": "probabilities", "data_type": Enum("TYPE_FP32"), "dims": [num_classes]}]
    outputs = [
        {"name": "num_detections", "data_type": Enum("TYPE_INT32"), "dims": [1]},
        {"name": "detections", "data_type": Enum("TYPE_FP32"), "dims": [CPU_MAX_DETECTIONS, 6]},
    ]
    if mask_size is not None:
        outputs.append({"name": "masks", "data_type": Enum("TYPE_FP32"), "dims": [CPU_MAX_DETECTIONS, *mask_size]})
    return outputs


def cpu_model_config(options: TritonModelOptions) -> dict:
    _check(options)
    net = options.network
    threshold = options.pre_cluster_threshold if options.pre_cluster_threshold is not None else net.pre_cluster_threshold
    parameters = {
        "network": net.name,
        "output_layout": net.output_layout,
        "input_name": options.input_name or net.input_blob,
        "num_classes": str(options.num_classes),
        "confidence_threshold": repr(float(threshold)),
        "nms_iou_threshold": repr(float(net.nms_iou_threshold or 0.5)),
        "max_detections": str(CPU_MAX_DETECTIONS),
        **options.parameters,
    }
    return {
        "name": f"{options.model_name}_cpu",
        "backend": "python",
        "max_batch_size": options.max_batch_size,
        "input": [input_tensor(options)],
        "output": cpu_outputs(net, options.num_classes,
                              mask_resolution(options) if net.network_type == INSTANCE_SEGMENTATION else None),
        "instance_group": [{"count": options.instance_count, "kind": Enum("KIND_CPU")}],
        "parameters": [{"key": k, "value": {"string_value": v}} for k, v in parameters.items()],
    }


def python_model_source() -> str:
    """The python-backend model.py (kept as a plain module beside this one)."""
    return (Path(__file__).with_name("python_model.py")).read_text(encoding="utf-8")


def reference_source() -> str | None:
    """The parsers' numpy reference, copied beside model.py so the Triton stub needs only numpy and
    onnxruntime, not taostream."""
    try:
        from taostream.parsers import reference  # lazy: optional (a build without taostream.parsers)
    except ImportError:
        return None
    return Path(reference.__file__).read_text(encoding="utf-8")


def write_triton_repository(root: str | os.PathLike, options: TritonModelOptions,
                            onnx_model: str | os.PathLike | bytes | None = None,
                            gpu: bool = True, cpu: bool = True, pipeline=None, gpu_variant: str = "plan",
                            gpu_onnx: bytes | None = None, precision: str = "fp16",
                            host_library: Path | None = None) -> list[Path]:
    """Write the GPU model(s) (``gpu_variant``: "plan", a TensorRT plan built on the serving host;
    "onnx-trt", ``gpu_onnx`` in ONNX Runtime with the TensorRT accelerator at ``precision``; "both") and
    ``root/<model>_cpu`` (ONNX Runtime); returns the files written. ``onnx_model`` (a path or serialized
    bytes, plugin-free) is the CPU model's ONNX; or ``pipeline``, a compiled PluginPipeline of a graph
    that keeps plugin nodes; ``host_library``, the plugin host library (libtaostream_plugins_host.so)
    its CPU model loads beside the pipeline, for the server's platform (the numpy references run
    without it)."""
    root = Path(root)
    written: list[Path] = []
    for name, variant in (gpu_model_names(options.model_name, gpu_variant).items() if gpu else ()):
        folder = root / name
        named = replace(options, model_name=name)
        if variant == "onnx-trt":
            if gpu_onnx is None:
                raise TaostreamError("the onnx-trt Triton model needs the ONNX graph to serve")
            written.append(atomic_write_text(folder / "config.pbtxt",
                                             format_pbtxt(onnx_trt_model_config(named, precision))))
            written.append(_write_onnx(folder / "1" / "model.onnx", gpu_onnx))
            continue
        written.append(atomic_write_text(folder / "config.pbtxt", format_pbtxt(gpu_model_config(named))))
        (folder / "1").mkdir(parents=True, exist_ok=True)
        written.append(atomic_write_text(folder / "1" / "README.txt",
                                         "Put model.plan here: build it with the TensorRT of the Triton container "
                                         "that serves it (README.md beside triton/ gives the command).\n"))
    if cpu:
        if onnx_model is None and pipeline is None:
            raise TaostreamError("the CPU Triton model needs the ONNX model (or plugin pipeline) to serve")
        folder = root / f"{options.model_name}_cpu"
        written.append(atomic_write_text(folder / "config.pbtxt", format_pbtxt(cpu_model_config(options))))
        version = folder / "1"
        version.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write_text(version / "model.py", python_model_source()))
        reference = reference_source()
        if reference is not None:
            written.append(atomic_write_text(version / "taostream_reference.py", reference))
        if pipeline is not None:
            written.extend(_write_pipeline(version, pipeline, options.model_name, host_library))
        else:
            written.append(_write_onnx(version / "model.onnx", onnx_model))
    return written


def _write_onnx(target: Path, onnx_model: str | os.PathLike | bytes) -> Path:
    if isinstance(onnx_model, bytes):
        return atomic_write_bytes(target, onnx_model)
    shutil.copyfile(onnx_model, target)
    return target


def _write_pipeline(version: Path, pipeline, model_name: str, host_library: Path | None) -> list[Path]:
    """The saved pipeline plus the modules (and plugin host library) that run it, copied so the server
    needs no taostream."""
    modules = serving_modules(pipeline)
    written = save_pipeline(pipeline, version / PIPELINE_FOLDER, source=model_name)
    for module, source in modules.items():
        written.append(atomic_write_text(version / f"{module}.py", source.read_text(encoding="utf-8")))
    if host_library is not None:
        written.append(atomic_write_bytes(version / host_calls.LIBRARY_NAME, Path(host_library).read_bytes()))
    return written
