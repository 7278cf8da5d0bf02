"""MaskRCNN on the CPU: the compiled plugin-reference pipeline (converter/plugin_pipeline.py, split and
ONNX Runtime sessions built once) against the per-call runner ``run_with_plugin_references`` (graph
split, sub-graphs exported and sessions built on every call), on the synthetic MaskRCNN sample at its
832x1344 input. Same inputs, same process; prints seconds per image and the ratio.

    python benchmarks/bench_plugin_pipeline.py [--images 3] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from taostream.converter.plugin_pipeline_compile import compile_plugin_pipeline
from taostream.converter.pluginref import run_with_plugin_references
from taostream.converter.samples import make_sample_model


def seconds_per_image(function, images: np.ndarray, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for image in images:
            function({"Input": image[None]})
        best = min(best, time.perf_counter() - began)
    return best / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    model = make_sample_model("mask_rcnn")
    images = np.random.default_rng(0).standard_normal((args.images, 3, 832, 1344)).astype(np.float32)
    began = time.perf_counter()
    pipeline = compile_plugin_pipeline(model)
    compile_s = time.perf_counter() - began
    baseline = seconds_per_image(lambda feeds: run_with_plugin_references(model, feeds), images, args.repeat)
    compiled = seconds_per_image(pipeline.run, images, args.repeat)
    print(f"compile once: {compile_s * 1000:.0f} ms ({len(pipeline.steps)} steps)")
    print(f"per-call runner: {baseline * 1000:.0f} ms/image; compiled pipeline: {compiled * 1000:.0f} ms/image; "
          f"ratio {baseline / compiled:.2f}x")


if __name__ == "__main__":
    main()
