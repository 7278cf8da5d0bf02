"""Preprocessing throughput: taostream's OpenCV path (nvinfer semantics, used by `taostream infer`)
against the PIL LANCZOS path tao_deploy uses, 1920x1080 frames -> DetectNet_v2's 960x544 network
input (float32 CHW, scaled by 1/255). Same frames, same process; prints images/s and the ratio. Also
against the same OpenCV resize normalised with plain numpy copies (the path before planes were
written straight into the tensor), checking both give the same bytes.

    python benchmarks/bench_preprocess.py [--frames 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from taostream.converter.model.preprocess import preprocess_image
from taostream.converter.registry import get_network


def pil_lanczos(frame_rgb: np.ndarray, width: int, height: int, scale: float) -> np.ndarray:
    """The baseline: PIL resize with LANCZOS, then float, scale and HWC -> CHW."""
    resized = Image.fromarray(frame_rgb).resize((width, height), Image.LANCZOS)
    return (np.asarray(resized, dtype=np.float32) * np.float32(scale)).transpose(2, 0, 1).copy()


def numpy_copies(frame_bgr: np.ndarray, width: int, height: int, scale: float) -> np.ndarray:
    """The same OpenCV resize, normalised the straightforward numpy way (taostream's path before it
    wrote planes straight into the CHW tensor): RGB swap, float copy, scale, astype, transpose copy."""
    import cv2

    resized = cv2.resize(frame_bgr, (width, height), interpolation=cv2.INTER_NEAREST)
    x = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
    return np.ascontiguousarray((np.float32(scale) * x).astype(np.float32).transpose(2, 0, 1))


def images_per_second(function, frames, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for frame in frames:
            function(frame)
        best = min(best, time.perf_counter() - began)
    return len(frames) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8) for _ in range(args.frames)]
    dims, scale = (3, 544, 960), 1 / 255.0
    rgb_frames = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]  # PIL reads RGB: convert outside the timing
    baseline = images_per_second(lambda f: pil_lanczos(f, 960, 544, scale), rgb_frames, args.repeat)
    print(f"PIL LANCZOS (tao_deploy)      : {baseline:8.1f} images/s")
    nvinfer_scale = get_network("detectnet_v2").net_scale_factor  # 0.0039215697906911373, nvinfer's 1/255
    copies = images_per_second(lambda f: numpy_copies(f, 960, 544, nvinfer_scale), frames, args.repeat)
    same = (numpy_copies(frames[0], 960, 544, nvinfer_scale).tobytes()
            == preprocess_image(frames[0], "detectnet_v2", dims).tobytes())
    print(f"OpenCV nearest, numpy copies  : {copies:8.1f} images/s  (the same tensor: {same})")
    fast = images_per_second(lambda f: preprocess_image(f, "detectnet_v2", dims), frames, args.repeat)
    print(f"OpenCV nearest (taostream)    : {fast:8.1f} images/s  ratio {fast / copies:5.2f}x over numpy copies")
    for interpolation in ("nearest", "bilinear"):
        rate = images_per_second(lambda f: preprocess_image(f, "detectnet_v2", dims, interpolation=interpolation),
                                 frames, args.repeat)
        print(f"OpenCV {interpolation:<9} (taostream) : {rate:8.1f} images/s  ratio {rate / baseline:5.2f}x")


if __name__ == "__main__":
    main()
