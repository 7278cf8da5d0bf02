"""Preprocessing throughput: taostream's OpenCV path (nvinfer semantics, used by `taostream infer`)
against the PIL LANCZOS path tao_deploy uses, 1920x1080 frames -> DetectNet_v2's 960x544 network
input (float32 CHW, scaled by 1/255). Same frames, same process; prints images/s and the ratio.

    python benchmarks/bench_preprocess.py [--frames 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from taostream.converter.preprocess import preprocess_image


def pil_lanczos(frame_rgb: np.ndarray, width: int, height: int, scale: float) -> np.ndarray:
    """The baseline: PIL resize with LANCZOS, then float, scale and HWC -> CHW."""
    resized = Image.fromarray(frame_rgb).resize((width, height), Image.LANCZOS)
    return (np.asarray(resized, dtype=np.float32) * np.float32(scale)).transpose(2, 0, 1).copy()


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
    for interpolation in ("nearest", "bilinear"):
        rate = images_per_second(lambda f: preprocess_image(f, "detectnet_v2", dims, interpolation=interpolation),
                                 frames, args.repeat)
        print(f"OpenCV {interpolation:<9} (taostream) : {rate:8.1f} images/s  ratio {rate / baseline:5.2f}x")


if __name__ == "__main__":
    main()
