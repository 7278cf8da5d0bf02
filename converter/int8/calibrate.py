"""Fresh INT8 calibration on the CPU: images -> scales -> Q/DQ ONNX (and a classic cache for TensorRT <= 10).

onnxruntime.quantization's calibrators run the float ONNX over the user's images, preprocessed exactly
as nvinfer will (converter/model/preprocess.py), and give each tensor a symmetric range; the scale is
amax / 127, as in a TensorRT cache. The Q/DQ placement is then the same as for a cache read from disk
(converter/int8/qdq.py), so both routes give the same TensorRT-friendly graph.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx

from taostream.converter.int8.calib_cache import CalibrationCache, header_for, write_calibration_cache
from taostream.converter.int8.entropy import entropy_amax
from taostream.converter.errors import TaostreamError
from taostream.converter.model.preprocess import preprocess_batch
from taostream.converter.int8.qdq import QdqReport, insert_qdq_from_cache
from taostream.converter.registry import get_network

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
METHODS = ("entropy", "minmax", "percentile")
# Entropy is TensorRT's EntropyCalibration2: onnxruntime's percentile calibrator collects the 2048-bin
# histograms of |x| (from 0 to max|x|, as TensorRT does), converter/int8/entropy.py picks the threshold.
# onnxruntime's own entropy (signed histograms) clips ReLU6 outputs far below TensorRT's (docs/int8.md).
CALIBRATOR_OPTIONS = {
    "entropy": {"symmetric": True, "num_bins": 2048, "percentile": 100.0},
    "minmax": {"symmetric": True},
    "percentile": {"symmetric": True, "num_bins": 2048, "percentile": 99.999},
}


class CalibrationError(TaostreamError):
    """Calibration inputs that cannot work (no images, wrong batch size, unknown method)."""


def list_images(image_dir, needed: int) -> list[Path]:
    folder = Path(image_dir)
    if not folder.is_dir():
        raise CalibrationError(f"{folder}: not a folder; --calibrate-images takes a folder of JPEG/PNG/BMP images")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(images) < needed:
        raise CalibrationError(
            f"{folder}: {len(images)} images, but --batches x --batch-size needs {needed}; "
            "add images or lower --batches"
        )
    return images[:needed]


def model_input(model: onnx.ModelProto, network, batch_size: int) -> tuple[str, tuple[int, int, int]]:
    """The input name and its (C, H, W), from the graph when static, else the network's defaults."""
    inputs = [i for i in model.graph.input if i.name not in {init.name for init in model.graph.initializer}]
    if len(inputs) != 1:
        raise CalibrationError(f"the model has {len(inputs)} inputs; calibration supports single-input networks")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4:
        raise CalibrationError(f"input '{inputs[0].name}' has rank {len(dims)}; expected a 4-D image batch")
    if dims[0] not in (None, batch_size):
        raise CalibrationError(
            f"input '{inputs[0].name}' has a fixed batch of {dims[0]}; use --batch-size {dims[0]}"
        )
    chw = dims[1:] if network.input_order == "NCHW" else [dims[3], dims[1], dims[2]]
    if any(d is None or d <= 0 for d in chw):
        chw = list(network.default_dims)
    return inputs[0].name, tuple(int(d) for d in chw)


class _OneBatch:
    """onnxruntime's CalibrationDataReader protocol over a single batch."""

    def __init__(self, feeds: dict):
        self.feeds = feeds

    def get_next(self):
        feeds, self.feeds = self.feeds, None
        return feeds


def _create_calibrator(model_path: str, method: str, workdir: str):
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator  # lazy: heavy

    if method not in METHODS:
        raise CalibrationError(f"calibration method {method!r}: use one of {', '.join(METHODS)}")
    kind = {"entropy": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax,
            "percentile": CalibrationMethod.Percentile}[method]
    return create_calibrator(
        model_path, None, augmented_model_path=os.path.join(workdir, "augmented.onnx"),
        calibrate_method=kind, extra_options=CALIBRATOR_OPTIONS[method],
    )


def calibrate_images(model, network, image_dir, batches: int, batch_size: int, *, progress: bool = True,
                     method: str = "entropy", preprocess_options: dict | None = None) -> dict[str, float]:
    """Scales (amax / 127) for every float tensor of ``model`` from ``batches`` x ``batch_size`` images."""
    from tqdm import tqdm  # lazy: heavy

    network = get_network(network) if isinstance(network, str) else network
    model = onnx.load(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else model
    if batches < 1 or batch_size < 1:
        raise CalibrationError(f"--batches {batches} --batch-size {batch_size}: both must be at least 1")
    images = list_images(image_dir, batches * batch_size)
    input_name, dims = model_input(model, network, batch_size)
    with tempfile.TemporaryDirectory(prefix="taostream-calib-") as workdir:
        model_path = os.path.join(workdir, "model.onnx")
        onnx.save(model, model_path)
        calibrator = _create_calibrator(model_path, method, workdir)
        for b in tqdm(range(batches), desc="INT8 calibration", unit="batch", disable=not progress):
            chunk = images[b * batch_size : (b + 1) * batch_size]
            feeds = {input_name: preprocess_batch(chunk, network, dims, **(preprocess_options or {}))}
            with contextlib.redirect_stdout(io.StringIO()):  # onnxruntime prints its progress
                calibrator.collect_data(_OneBatch(feeds))
        if method == "entropy":
            return {name: _entropy_scale(histogram) for name, histogram in calibrator.collector.histogram_dict.items()}
        with contextlib.redirect_stdout(io.StringIO()):
            ranges = calibrator.compute_data()
    return {name: _scale(data.range_value) for name, data in ranges.items()}


def _entropy_scale(histogram) -> float:
    """TensorRT's EntropyCalibration2 scale from onnxruntime's |x| histogram (counts, edges, min, max)."""
    counts, edges, low, high = histogram[:4]
    amax = min(entropy_amax(counts, edges), max(abs(float(low)), abs(float(high))))
    return amax / 127.0


def _scale(range_value) -> float:
    low, high = (float(np.asarray(v).max()) for v in range_value)
    amax = max(abs(low), abs(high))
    return amax / 127.0


def quantize_with_images(model, network, image_dir, batches: int, batch_size: int, *, progress: bool = True,
                         method: str = "entropy", cache_path=None, trt_version: str = "10.3.0",
                         preprocess_options: dict | None = None, exclude_nodes=()
                         ) -> tuple[onnx.ModelProto, QdqReport, CalibrationCache]:
    """Calibrate, then insert Q/DQ; with ``cache_path`` also write a classic cache (TensorRT <= 10,
    header for ``trt_version``; tensor names are the ONNX names, which TensorRT's ONNX parser keeps)."""
    network = get_network(network) if isinstance(network, str) else network
    model = onnx.load(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else model
    scales = calibrate_images(model, network, image_dir, batches, batch_size, progress=progress, method=method,
                              preprocess_options=preprocess_options)
    # A zero range (a tensor that is constant 0 on every image) has no int8 scale; TensorRT would not
    # write one either.
    cache = CalibrationCache(header=header_for(trt_version), scales={k: v for k, v in scales.items() if v > 0})
    qdq, report = insert_qdq_from_cache(model, cache, network=network, exclude_nodes=exclude_nodes)
    if cache_path is not None:
        write_calibration_cache(cache_path, cache)
    return qdq, report, cache
