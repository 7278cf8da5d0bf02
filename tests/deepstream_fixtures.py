"""Small real inputs for the deepstream_configs tests: ONNX models with a network's input and output
names and shapes, a shared library exporting the parser functions, and generated config folders."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.registry import NETWORKS, Network

_DTYPES = {"FP32": (TensorProto.FLOAT, np.float32), "INT32": (TensorProto.INT32, np.int32)}


def make_onnx(input_name: str, input_shape: tuple, outputs: dict[str, tuple], dtypes: dict[str, str] | None = None,
              quantized: bool = False, values: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    """A model whose outputs are constants of the given shapes (batch 1 included), plus the input; with
    ``quantized`` the input passes through QuantizeLinear/DequantizeLinear (explicit INT8)."""
    dtypes = dtypes or {}
    nodes, initializers = [], []
    source = input_name
    if quantized:
        initializers += [numpy_helper.from_array(np.array(0.02, np.float32), "scale"),
                         numpy_helper.from_array(np.array(0, np.int8), "zero")]
        nodes += [helper.make_node("QuantizeLinear", [input_name, "scale", "zero"], ["q"]),
                  helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["dq"])]
        source = "dq"
    nodes.append(helper.make_node("ReduceMean", [source], ["pooled"], keepdims=0))
    graph_outputs = []
    for index, (name, shape) in enumerate(outputs.items()):
        onnx_type, np_type = _DTYPES[dtypes.get(name, "FP32")]
        const = f"const_{index}"
        data = (values or {}).get(name)
        data = np.zeros(shape, np_type) if data is None else np.asarray(data, np_type).reshape(shape)
        initializers.append(numpy_helper.from_array(data, const))
        nodes.append(helper.make_node("Identity", [const], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, onnx_type, list(shape)))
    graph_outputs.append(helper.make_tensor_value_info("pooled", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "test", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
                              graph_outputs[:-1], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def network_onnx(net: Network, num_classes: int, quantized: bool = False) -> onnx.ModelProto:
    """An ONNX model with ``net``'s registry input/output names and layouts."""
    from taostream.deepstream_configs.triton.repository import TritonModelOptions, output_tensors

    c, h, w = net.default_dims
    shape = (1, h, w, c) if net.input_order == "NHWC" else (1, c, h, w)
    options = TritonModelOptions(net, "m", net.default_dims, num_classes)
    outputs, dtypes = {}, {}
    for tensor in output_tensors(options):
        dims = [d if d > 0 else 10 for d in tensor["dims"]]
        outputs[tensor["name"]] = (1, *dims)
        dtypes[tensor["name"]] = "INT32" if str(tensor["data_type"]) == "TYPE_INT32" else "FP32"
    return make_onnx(net.input_blob, shape, outputs, dtypes, quantized)


_STUB_SOURCE = "\n".join(
    sorted({f'extern "C" bool {n.parser_function}() {{ return true; }}' for n in NETWORKS if n.parser_function}
           | {f'extern "C" bool {n.legacy_parser_function}() {{ return true; }}' for n in NETWORKS if n.legacy_parser_function})
)


@functools.lru_cache(maxsize=1)
def parser_stub_library() -> Path:
    """A real shared library exporting every registry parser name (built once per session with g++)."""
    compiler = shutil.which("g++")
    if compiler is None:
        raise RuntimeError("g++ is needed to build the parser stub library")
    folder = Path(tempfile.mkdtemp(prefix="taostream_parser_stub_"))
    (folder / "stub.cpp").write_text(_STUB_SOURCE + "\n")
    library = folder / "libnvds_infercustomparser_taostream.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(folder / "stub.cpp")], check=True)
    return library


def write_labels(path: Path, count: int, classifier: bool = False) -> list[str]:
    """A label file as nvinfer reads it: a detector's one class per line, a classifier's on one line split by ';'."""
    names = [f"class{i}" for i in range(count)]
    path.write_text(";".join(names) + "\n" if classifier else "".join(f"{n}\n" for n in names))
    return names
