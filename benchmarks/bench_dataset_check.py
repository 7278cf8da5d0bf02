"""Speed of `taostream dataset check` on a generated KITTI set.

Usage: python benchmarks/bench_dataset_check.py [--images 10000] [--objects 3] [--baseline-images 1000]
                                                [--keep DIR]

Writes --images JPEG images (960x544, one encoded image copied; the check reads only headers, so
pixel content does not matter) with --objects KITTI lines each, runs the check with
``--network detectnet_v2`` and prints the time (target: < 30 s for 10,000 images). Then, in the
same process, it compares against a naive baseline on the first --baseline-images of those files
(hard links, a sub-dataset): the same check with each image's size taken by decoding the image
with OpenCV (cv2.imread) instead of reading its header. The ratio is naive time / header time on
that same sub-dataset (decoding all 10,000 takes minutes on this machine, hence the sample).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import cv2
import numpy as np

from taostream.training import dataset_check
from taostream.training.image_headers import ImageInfo

CLASSES = ("car", "pedestrian", "cyclist", "road_sign")


def write_dataset(root: str, images: int, objects: int) -> None:
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "labels"))
    rng = np.random.default_rng(0)
    gradient = np.add.outer(np.arange(544), np.arange(960)).astype(np.uint8)
    image = np.dstack([gradient, gradient[::-1], rng.integers(0, 8, (544, 960), np.uint8)])
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    data = jpeg.tobytes()
    for index in range(images):
        name = f"{index:06d}"
        with open(os.path.join(root, "images", name + ".jpg"), "wb") as handle:
            handle.write(data)
        lines = []
        for k in range(objects):
            x1, y1 = 10 + 37 * k, 20 + 11 * k
            lines.append(f"{CLASSES[(index + k) % len(CLASSES)]} 0.00 0 0.00 {x1}.00 {y1}.00 {x1 + 80}.50 "
                         f"{y1 + 60}.25 0.00 0.00 0.00 0.00 0.00 0.00 0.00\n")
        with open(os.path.join(root, "labels", name + ".txt"), "w") as handle:
            handle.writelines(lines)


def link_sample(root: str, sample: str, count: int) -> None:
    if os.path.isdir(sample):
        shutil.rmtree(sample)
    for folder, ext in (("images", ".jpg"), ("labels", ".txt")):
        os.makedirs(os.path.join(sample, folder))
        for index in range(count):
            name = f"{index:06d}{ext}"
            os.link(os.path.join(root, folder, name), os.path.join(sample, folder, name))


def decode_info(path: str) -> ImageInfo:
    """The naive way: decode the whole image to learn its size."""
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise dataset_check.ImageHeaderError("cannot decode")
    channels = image.shape[2] if image.ndim == 3 else 1
    return ImageInfo("decoded", image.shape[1], image.shape[0], channels)


def timed_check(root: str) -> tuple[float, dataset_check.DatasetReport]:
    start = time.perf_counter()
    report = dataset_check.check_kitti_dataset(root, network="detectnet_v2")
    return time.perf_counter() - start, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--objects", type=int, default=3)
    parser.add_argument("--baseline-images", type=int, default=1000)
    parser.add_argument("--keep", help="write the dataset here and keep it")
    args = parser.parse_args()

    root = args.keep or tempfile.mkdtemp(prefix="taostream_kitti_")
    try:
        if not os.path.isdir(os.path.join(root, "images")):
            start = time.perf_counter()
            write_dataset(root, args.images, args.objects)
            print(f"generated {args.images} images in {time.perf_counter() - start:.1f} s: {root}")
        fast_s, report = timed_check(root)
        assert report.ok and report.objects == args.images * args.objects, report.format_text(10)
        print(f"dataset check: {report.images} images, {report.objects} objects in {fast_s:.2f} s "
              f"({report.images / fast_s:.0f} images/s); target < 30 s for 10,000: "
              f"{'PASS' if fast_s * 10000 / max(report.images, 1) < 30 else 'FAIL'}")
        sample = os.path.join(root, "baseline_sample")
        link_sample(root, sample, min(args.baseline_images, args.images))
        header_s, header_report = timed_check(sample)
        original = dataset_check.read_image_info
        dataset_check.read_image_info = decode_info
        try:
            naive_s, naive_report = timed_check(sample)
        finally:
            dataset_check.read_image_info = original
        assert naive_report.to_dict() == header_report.to_dict()
        print(f"on {header_report.images} of those images: header reads {header_s:.2f} s, naive baseline "
              f"(cv2.imread decode) {naive_s:.2f} s; speed-up vs naive: {naive_s / header_s:.1f}x")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
