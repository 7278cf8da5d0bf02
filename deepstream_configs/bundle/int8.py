"""INT8 inputs of `taostream bundle`: a calibration cache as found in the wild, or images.

- ``--calibrate-images DIR``: fresh scales from the images (ONNX Runtime entropy calibration of the
  network body, converter/int8/calibrate.py); model.onnx gets them as Q/DQ and the TensorRT <= 10 / Jetson
  route gets them as ``calibration.bin``.
- ``--calibration-cache``: caches from TensorRT 7.0 to 10.3 differ in header, in tensor names (TLT's
  UFF names, tf2onnx's ``<name>:0``), in blank lines between entries, and QAT exports write ``+inf``
  for tensors they do not quantize. The Jetson route's ``calibration.bin`` is the cache restated
  for the graph it ships with: the header of the TensorRT that route runs (versions.py; 10.3 on
  JetPack 6), each tensor under the name it has in ``model_trt10.onnx`` (which is what TensorRT's ONNX
  parser calls it), one entry per line, and the scales no INT8 build can use left out (TensorRT then
  keeps those tensors in higher precision).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from taostream.converter.int8.calib_cache import (
    CalibrationCache, format_calibration_cache, header_for, read_calibration_cache)
from taostream.converter.errors import TaostreamError

DEFAULT_TENSORRT = "10.3.0"  # JetPack 6.x (FACTS.md section 3), when no route calibrates implicitly
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
MAX_CALIBRATION_IMAGES = 512
CALIBRATION_BATCH = 8


def calibration_images(folder: Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        raise TaostreamError(f"{folder}: is a file; --calibrate-images takes a folder of JPEG/PNG/BMP images")
    if not folder.is_dir():
        raise TaostreamError(f"{folder}: no such folder; check the path given to --calibrate-images "
                             "(a folder of JPEG/PNG/BMP images)")
    images = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise TaostreamError(f"{folder}: no JPEG/PNG/BMP images for --calibrate-images; add a few hundred "
                             "images like the deployment's")
    return images[:MAX_CALIBRATION_IMAGES]


def image_calibrator(folder: Path, network, collected: dict[str, float], method: str = "entropy") -> Callable:
    """``calibrate(model) -> scales`` for modernize(): every image of ``folder`` (up to 512) in batches
    of up to 8; the scales are also kept in ``collected`` for the Jetson cache."""
    from taostream.converter.int8.calibrate import calibrate_images  # lazy: heavy (loads onnx, onnx_graphsurgeon)

    count = len(calibration_images(folder))
    batch = min(CALIBRATION_BATCH, count)

    def calibrate(model):
        scales = calibrate_images(model, network, folder, count // batch, batch, progress=False, method=method)
        collected.update(scales)
        return scales

    return calibrate


def route_cache_text(plugin_graph, *, cache_path: Path | None = None, scales: dict[str, float] | None = None,
                     network=None, tensorrt: str = DEFAULT_TENSORRT) -> str:
    """calibration.bin for the implicit-INT8 route on TensorRT ``tensorrt`` (see the module docstring)."""
    from taostream.converter.int8.qdq import restate_for_graph  # lazy: heavy (loads onnx, onnx_graphsurgeon)

    cache = read_calibration_cache(cache_path) if cache_path is not None else CalibrationCache(scales=dict(scales or {}))
    restated, _ = restate_for_graph(plugin_graph, cache.scales, network)
    algorithm = cache.algorithm or "EntropyCalibration2"
    return format_calibration_cache(CalibrationCache(header=header_for(tensorrt, algorithm), scales=restated))


def route_cache_facts(plugin_graph, cache_path: Path, network=None) -> dict:
    """manifest.json's "calibration_cache": the cache file calibration.bin was restated from, and its input
    entries route_cache_text left out for an unusable scale, so that `taostream check` can name them (the
    input has no scale in calibration.bin then, which alone would look like another model's cache)."""
    from taostream.converter.int8.qdq import unusable_input_entries  # lazy: heavy (loads onnx_graphsurgeon)

    left_out = unusable_input_entries(plugin_graph, read_calibration_cache(cache_path).scales, network)
    return {"source": Path(cache_path).name,
            "input_entries_left_out": [{"entry": entry, "tensor": tensor, "scale": repr(scale)}
                                       for entry, tensor, scale in left_out]}
