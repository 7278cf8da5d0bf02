"""Synthetic TAO sample models: the project's test fixtures and demo input.

``write_sample(network, out_dir)`` writes, for any network of the registry, a folder with what
``tao export`` hands a deployment engineer: ``model.etlt`` (an ONNX payload in the exact layout of
TAO's export: input, plugin nodes and their attributes, output names/shapes/dtypes), the matching
experiment ``spec.txt``, ``labels.txt`` (the network's label rule applied to the spec's classes),
``cal.bin`` (a TensorRT 8.6 entropy calibration cache naming the graph's real tensors), extra class
sources where the rule needs them (``classmap.json``, a COCO ``instances_val.json``) and a README.

The weights are random (seeded per network): the models detect nothing. The ONNX bytes are the same
on every run; the .etlt differs only by its random nonce.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from taostream.converter.samples import networks as graphs
from taostream.converter.int8.calib_cache import CalibrationCache, header_for, write_calibration_cache
from taostream.converter.errors import TaostreamError
from taostream.converter.model.etlt import encode_etlt_bytes
from taostream.converter.keys import SAMPLE_KEY  # re-exported: tests and benchmarks import it from here
from taostream.converter.fileio import atomic_directory, atomic_write_bytes, atomic_write_text, check_output_folder
from taostream.converter.label_file import label_file_text
from taostream.converter.registry import Network, get_network
from taostream.converter.samples.onnx_graphs import PLUGIN_FIELDS, GraphBuilder, plugin_schemas
from taostream.converter.samples.specs import LPR_PLATE, sample_spec

CALIBRATION_TRT_VERSION = "8.6.1"
MODEL_FILE, SPEC_FILE, LABELS_FILE, CALIBRATION_FILE, README_FILE = (
    "model.etlt", "spec.txt", "labels.txt", "cal.bin", "README.md")

_BUILDERS = {
    "classification": graphs.build_classification,
    "detectnet_v2": graphs.build_detectnet_v2,
    "faster_rcnn": graphs.build_faster_rcnn,
    "ssd": lambda b, x, dims, n: graphs.build_ssd_like(b, x, dims, n, "ssd"),
    "dssd": lambda b, x, dims, n: graphs.build_ssd_like(b, x, dims, n, "dssd"),
    "retinanet": lambda b, x, dims, n: graphs.build_ssd_like(b, x, dims, n, "retinanet"),
    "yolo_v3": lambda b, x, dims, n: graphs.build_yolo(b, x, dims, n, "yolo_v3"),
    "yolo_v4": lambda b, x, dims, n: graphs.build_yolo(b, x, dims, n, "yolo_v4"),
    "mask_rcnn": graphs.build_mask_rcnn,
    "efficientdet": graphs.build_efficientdet,
    "lprnet": graphs.build_lprnet,
}


@dataclass(frozen=True)
class SampleInfo:
    network: str  # canonical registry name
    directory: Path
    model: Path
    spec: Path
    labels: Path
    calibration: Path
    readme: Path
    extra: dict[str, Path] = field(default_factory=dict)  # classmap.json / instances_val.json
    input_name: str = ""
    input_shape: tuple = ()  # with the batch dimension, e.g. ("N", 3, 300, 300)
    output_names: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    labels_list: tuple[str, ...] = ()


def _seed(network: str) -> int:
    return zlib.crc32(f"taostream-sample-{network}".encode())


def make_sample_model(network: str | Network, *, batch: int | None = None) -> onnx.ModelProto:
    """The synthetic ONNX graph of ``network`` (any TAO/TLT spelling); batch None = dynamic ``N``."""
    net = network if isinstance(network, Network) else get_network(network)
    spec = sample_spec(net.name, net.default_dims, Path("."))
    builder = GraphBuilder(_seed(net.name), input_gain=1.0 / _input_amax(net))
    model_input = helper.make_tensor_value_info(net.input_blob, TensorProto.FLOAT, [graphs.BATCH, *net.input_shape])
    outputs = _BUILDERS[net.name](builder, net.input_blob, net.default_dims, spec.num_classes)
    model = builder.model(
        f"taostream_sample_{net.name}", [model_input], outputs,
        doc=f"taostream synthetic {net.name} sample in TAO export layout; weights are random",
    )
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    with plugin_schemas():  # a sample whose plugin attributes TensorRT would misread is a bug here
        onnx.checker.check_model(model)
    if batch is not None:
        _fix_batch(model, batch)
    return model


def _fix_batch(model: onnx.ModelProto, batch: int) -> None:
    if batch < 1:
        raise TaostreamError(f"batch must be >= 1, got {batch}")
    graph = model.graph
    for info in (*graph.input, *graph.output, *graph.value_info):
        for dim in info.type.tensor_type.shape.dim:
            if dim.dim_param == graphs.BATCH:
                dim.dim_value = batch


def plugin_ops(model: onnx.ModelProto) -> list[str]:
    """The TensorRT plugin op types in ``model``, in first-use order."""
    seen: list[str] = []
    for node in model.graph.node:
        if node.op_type in PLUGIN_FIELDS and node.op_type not in seen:
            seen.append(node.op_type)
    return seen


def _input_amax(net: Network) -> float:
    """Largest |value| the network's preprocessing gives an 8-bit image (what calibration sees)."""
    offsets = net.offsets or (0.0,)
    return net.net_scale_factor * max(255.0 - min(offsets), max(offsets))


def sample_calibration_cache(net: Network, model: onnx.ModelProto) -> CalibrationCache:
    """Plausible entropy-calibration scales (amax / 127) for every tensor the graph computes:
    the input's range from its preprocessing, 1.0 for Sigmoid/Softmax outputs, seeded values
    elsewhere. Tensor names are the graph's own, in graph order, as TensorRT writes them."""
    rng = np.random.default_rng(_seed(net.name) + 1)
    amax = {net.input_blob: _input_amax(net)}
    for node in model.graph.node:
        for tensor in node.output:
            bounded = node.op_type in ("Sigmoid", "Softmax")
            amax.setdefault(tensor, 1.0 if bounded else float(rng.uniform(0.5, 16.0)))
    return CalibrationCache(header=header_for(CALIBRATION_TRT_VERSION),
                            scales={name: float(np.float32(value / 127.0)) for name, value in amax.items()})


def _readme(net: Network, key_is_default: bool, model: onnx.ModelProto, labels, extra: list[str]) -> str:
    key_line = (f"The .etlt is encrypted with NVIDIA's public sample key `{SAMPLE_KEY}`."
                if key_is_default else "The .etlt is encrypted with the key you passed (it is not recorded here).")
    outputs = ", ".join(f"`{o.name}`" for o in model.graph.output)
    plugins = ", ".join(f"`{p}`" for p in plugin_ops(model)) or "none"
    extra_lines = "".join(f"- `{name}`: class source the label rule reads\n" for name in extra)
    label_layout = (f"{len(labels)} classes on one ';'-separated line, item k = class id k (nvinfer's classifier form)"
                    if net.network_type == 1 else f"{len(labels)} lines, line k = the class the model outputs as id k")
    planted = ""
    if net.output_layout == "lprnet_ctc":
        planted = (f"Its head adds a fixed per-step bias that spells `{LPR_PLATE}`: every image reads as that "
                   "plate, so the CTC decode and the parser can be checked end to end.\n\n")
    return (
        f"# taostream sample: {net.name}\n\n"
        "**SYNTHETIC MODEL: the weights are random.** It detects or classifies nothing; it exists to "
        "exercise conversion, configuration and deployment with the exact layout of a TAO export.\n\n"
        f"{planted}"
        f"{key_line}\n\n"
        "## Files\n\n"
        f"- `{MODEL_FILE}`: ONNX payload in TAO's export layout. Input `{net.input_blob}` "
        f"{[graphs.BATCH, *net.input_shape]} float32 ({net.input_order}); outputs {outputs}; "
        f"TensorRT plugin ops: {plugins}.\n"
        f"- `{SPEC_FILE}`: the matching TAO experiment spec.\n"
        f"- `{LABELS_FILE}`: {label_layout} (label rule `{net.label_rule}`).\n"
        f"- `{CALIBRATION_FILE}`: TensorRT {CALIBRATION_TRT_VERSION} entropy calibration cache with "
        "plausible (not measured) scales for the graph's tensors.\n"
        f"{extra_lines}\n"
        "Made by `taostream sample`; the same network always gives the same ONNX bytes.\n"
    )


def write_sample(network: str, out_dir, key: str = SAMPLE_KEY, force: bool = False) -> SampleInfo:
    """Write ``network``'s sample folder atomically; an existing folder needs ``force``."""
    net = get_network(network)
    if not key:
        raise TaostreamError("the sample key is empty; pass --key KEY or leave it out to use nvidia_tlt")
    check_output_folder(out_dir, force=force)  # named as the user gave it, before any work
    directory = Path(out_dir).absolute()
    model = make_sample_model(net)
    spec = sample_spec(net.name, net.default_dims, directory, public_key=key == SAMPLE_KEY)
    etlt = encode_etlt_bytes(model.SerializeToString(), key)
    with atomic_directory(directory, overwrite=force) as tmp:
        atomic_write_bytes(tmp / MODEL_FILE, etlt)
        atomic_write_text(tmp / SPEC_FILE, spec.spec_text)
        atomic_write_text(tmp / LABELS_FILE, label_file_text(list(spec.labels), net.network_type))
        for name, text in spec.extra_files.items():
            atomic_write_text(tmp / name, text)
        write_calibration_cache(tmp / CALIBRATION_FILE, sample_calibration_cache(net, model))
        atomic_write_text(tmp / README_FILE, _readme(net, key == SAMPLE_KEY, model, spec.labels,
                                                     list(spec.extra_files)))
    return SampleInfo(
        network=net.name, directory=directory, model=directory / MODEL_FILE, spec=directory / SPEC_FILE,
        labels=directory / LABELS_FILE, calibration=directory / CALIBRATION_FILE,
        readme=directory / README_FILE, extra={name: directory / name for name in spec.extra_files},
        input_name=net.input_blob, input_shape=(graphs.BATCH, *net.input_shape),
        output_names=tuple(o.name for o in model.graph.output), plugins=tuple(plugin_ops(model)),
        labels_list=tuple(spec.labels),
    )
