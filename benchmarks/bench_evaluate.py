"""Speed of `taostream evaluate --predictions` on a generated 5,000-image KITTI set.

Usage: python benchmarks/bench_evaluate.py [--images 5000] [--network ssd] [--keep DIR]

Writes --images PNG images (one tiny encoded image copied: with predictions given, evaluate reads
no pixels), KITTI labels with 0-7 objects of three classes and prediction files (the ground truth
moved by a few pixels, some missed, some false positives), then times the whole command in this
process (target: < 10 s), COCO metrics by faster-coco-eval (the default when installed). The
baseline, in the same process on the same files: the same command with --coco-engine pycocotools.
Both must print the same figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import tempfile
import time

import cv2
import numpy as np

from taostream.cli import main

CLASSES = ("car", "pedestrian", "cyclist")


def write_dataset(root: str, images: int) -> None:
    rng = np.random.default_rng(0)
    for folder in ("images", "labels", "pred"):
        os.makedirs(os.path.join(root, folder))
    png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    for n in range(images):
        gt, pred = [], []
        for _ in range(int(rng.integers(0, 8))):
            c = CLASSES[int(rng.integers(0, 3))]
            x, y, w, h = rng.uniform(0, 900), rng.uniform(0, 500), rng.uniform(10, 200), rng.uniform(10, 200)
            gt.append(f"{c} 0.00 0 0.00 {x:.2f} {y:.2f} {x + w:.2f} {y + h:.2f} 0 0 0 0 0 0 0\n")
            if rng.random() < 0.8:
                j = np.clip(rng.normal(0, min(w, h) * 0.08, 4), -4, 4)
                pred.append(f"{c} 0.00 0 0.00 {x + j[0]:.2f} {y + j[1]:.2f} {x + w + j[2]:.2f} {y + h + j[3]:.2f} "
                            f"0 0 0 0 0 0 0 {rng.random():.3f}\n")
        for _ in range(int(rng.integers(0, 4))):
            c = CLASSES[int(rng.integers(0, 3))]
            x, y = rng.uniform(0, 900), rng.uniform(0, 500)
            pred.append(f"{c} 0.00 0 0.00 {x:.2f} {y:.2f} {x + 60:.2f} {y + 40:.2f} 0 0 0 0 0 0 0 {rng.random() * 0.6:.3f}\n")
        name = f"{n:06d}"
        with open(os.path.join(root, "images", name + ".png"), "wb") as handle:
            handle.write(png)
        with open(os.path.join(root, "labels", name + ".txt"), "w") as handle:
            handle.writelines(gt)
        with open(os.path.join(root, "pred", name + ".txt"), "w") as handle:
            handle.writelines(pred)


def timed(argv: list[str]) -> tuple[float, str]:
    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    elapsed = time.perf_counter() - began
    assert code == 0, out.getvalue()
    return elapsed, out.getvalue()


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--network", default="ssd")
    parser.add_argument("--keep", help="write the dataset here and keep it")
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="taostream-bench-evaluate-")
    try:
        if not os.path.isdir(os.path.join(root, "labels")):
            write_dataset(root, args.images)
        argv = ["evaluate", root, "--predictions", os.path.join(root, "pred"), "--network", args.network]
        timed(argv)  # warm the imports and the page cache
        fast, fast_out = timed(argv)
        slow, slow_out = timed(argv + ["--coco-engine", "pycocotools"])
        same = fast_out.splitlines()[-1].split(";")[1] == slow_out.splitlines()[-1].split(";")[1]
        print(fast_out.splitlines()[-1])
        print(f"evaluate --predictions, {args.images} images ({args.network} rules): {fast:.2f} s "
              f"(target < 10 s); with pycocotools: {slow:.2f} s; ratio {slow / fast:.1f}x; same COCO figures: {same}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main_bench()
