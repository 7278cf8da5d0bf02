"""The model and cache forms users hold, derived from NVIDIA's real TLT models in shared/fixtures so
the real weights are exercised:

- a UFF file (the .etlt's decrypted payload);
- a TAO 5 ONNX export as tf2onnx writes it: every tensor named ``<TensorFlow op>:0`` (the input
  ``input_1:0``, the outputs ``output_cov/Sigmoid:0`` and ``output_bbox/BiasAdd:0``), opset 12, the
  batch dimension a symbolic ``unk__134``, producer tf2onnx (NGC's TAO 5 DetectNet_v2 exports and the
  TRT 8.5-10.3 caches for them, shared/fixtures/calibration/*_trt10_cal.txt, name tensors this way);
- an .etlt holding that ONNX (TAO 3/4 ``tao export`` of DetectNet_v2 to ONNX);
- calibration caches as found in the wild: TensorRT 7.0 to 10.3 headers, ``:0`` names, a blank line
  after every entry, ``+inf`` scales (QAT exports write them for tensors they do not quantize).
"""

from __future__ import annotations

from pathlib import Path

import onnx

from taostream.converter.int8.calib_cache import CalibrationCache, float_to_hex, read_calibration_cache
from taostream.converter.model.etlt import encode_etlt_bytes, read_etlt
from taostream.converter.uff.to_onnx import uff_to_onnx

TF2ONNX_BATCH = "unk__134"
TF2ONNX_OPSET = 12
CACHE_HEADERS = ("TRT-7000-EntropyCalibration2", "TRT-8503-EntropyCalibration2", "TRT-8601-EntropyCalibration2",
                 "TRT-100100-EntropyCalibration2", "TRT-100300-EntropyCalibration2")


def tf2onnx_like(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` (a UFF translation: TensorFlow op names) renamed and versioned as tf2onnx exports it.

    onnx's version converter has no downward adapters; the DetectNet_v2 graphs use Conv, Add, Mul,
    Relu, Clip and Sigmoid, which mean the same at opset 12 (13 only added bfloat16), so the opset
    import is set to 12 and onnx.checker confirms every node against the opset-12 schemas."""
    used = {node.op_type for node in model.graph.node}
    assert used <= {"Conv", "Add", "Mul", "Relu", "Clip", "Sigmoid"}, used
    del model.opset_import[:]
    model.opset_import.append(onnx.helper.make_opsetid("", TF2ONNX_OPSET))
    model.ir_version = 7  # what tf2onnx writes at opset 12
    graph = model.graph
    constants = {i.name for i in graph.initializer}
    renamed = {}
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.name not in constants:
            renamed[value.name] = f"{value.name}:0"
    for node in graph.node:
        for name in node.output:
            renamed.setdefault(name, f"{name}:0")
    for node in graph.node:
        node.input[:] = [renamed.get(n, n) for n in node.input]
        node.output[:] = [renamed.get(n, n) for n in node.output]
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = renamed.get(value.name, value.name)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = TF2ONNX_BATCH
    model.producer_name, model.producer_version = "tf2onnx", "1.9.3"
    onnx.checker.check_model(model)
    return model


def derive_models(etlt_path: Path, key: str, folder: Path) -> dict[str, Path]:
    """{'etlt(uff)', 'uff', 'tao5.onnx', 'etlt(onnx)'} -> files, all with the weights of ``etlt_path``."""
    payload = read_etlt(etlt_path, key)
    uff = folder / f"{etlt_path.stem}.uff"
    uff.write_bytes(payload.data)
    tao5 = tf2onnx_like(uff_to_onnx(payload.data, input_name=payload.input_name, source=str(etlt_path)))
    onnx_path = folder / f"{etlt_path.stem}_tao5.onnx"
    onnx.save(tao5, str(onnx_path))
    etlt_onnx = folder / f"{etlt_path.stem}_onnx.etlt"
    etlt_onnx.write_bytes(encode_etlt_bytes(tao5.SerializeToString(), key))
    return {"etlt(uff)": etlt_path, "uff": uff, "tao5.onnx": onnx_path, "etlt(onnx)": etlt_onnx}


def wild_cache(source: Path, path: Path, header: str, *, colon_names: bool, blank_lines: bool,
               inf_tensors: int = 0) -> Path:
    """A copy of the real cache ``source`` written the way other exporters write theirs."""
    cache = read_calibration_cache(source)
    lines = [header]
    for index, (name, scale) in enumerate(cache.scales.items()):
        name = f"{name}:0" if colon_names and not name.endswith(":0") else name
        lines.append(f"{name}: {'7f800000' if 0 < index <= inf_tensors else float_to_hex(scale)}")
        if blank_lines:
            lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def cache_of(path: Path) -> CalibrationCache:
    return read_calibration_cache(path)
