"""`taostream infer`: run a bundle on images, folders and videos with one backend and write
KITTI labels, one JSON file for the run and annotated images/videos, all into OUT at once
(atomic: on any error OUT is left as it was).

Layout of OUT: ``labels/<image>.txt`` (``labels/<video>_<frame>.txt``), ``images/<image>.jpg``,
``videos/<video>.mp4``, ``results.json``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory, check_input_file, check_output_folder
from taostream.converter.numeric_inputs import require_batch_size, require_fraction
from taostream.inference import results as writers
from taostream.inference.backends.runners import cpu_runner
from taostream.inference.backends.triton_runner import TritonRunner
from taostream.inference.backends.triton_server import TritonServer
from taostream.inference.backends.trt_runner import TensorRTRunner
from taostream.inference.bundle_info import Bundle, load_bundle
from taostream.inference.detector import DEFAULT_MAX_DETECTIONS, Detector, check_threshold
from taostream.inference.inputs import (InputItem, collect_inputs, read_images, read_video, require_some_image,
                                        unreadable_summary)
from taostream.inference.results import VideoWriter, write_run_json
from taostream.converter.wording import plural

log = logging.getLogger(__name__)
BACKENDS = ("ort", "trt", "triton")


@dataclass
class InferRequest:
    bundle: Path
    inputs: list[str]
    output: Path
    backend: str = "ort"
    batch_size: int = 1
    threshold: float | None = None
    engine: Path | None = None  # trt: the engine file (default: the bundle's model.plan)
    url: str | None = None  # triton: a running server; default: start one on the bundle's repository
    protocol: str = "http"
    model_name: str | None = None  # triton: default the bundle's CPU model
    shared_memory: bool = False
    annotate: bool = True
    max_detections: int = DEFAULT_MAX_DETECTIONS
    force: bool = False
    progress: bool = True
    recursive: bool = False  # folders: also their subfolders' images and videos


@dataclass
class InferSummary:
    output: Path
    images: int = 0
    frames: int = 0
    detections: int = 0
    classified: int | None = None  # classifiers: images/frames given a class above the threshold
    warnings: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # images skipped (each warned about as it was met)

    def results_text(self) -> str:
        """What the run found: detections, or for a classifier how many images got a class."""
        if self.classified is None:
            return plural(self.detections, "detection")
        return f"{self.classified} of {self.images + self.frames} classified above the threshold"

    def unreadable_text(self) -> str:
        """'N images, M unreadable, skipped' ('' when every image was read)."""
        return unreadable_summary(self.unreadable, self.images)


def _engine_path(bundle: Bundle, engine: Path | None) -> Path:
    if engine:  # the user's own path: a missing one is that option's file, not "no engine ... pass --engine"
        return check_input_file(engine, "--engine", "the TensorRT engine (`taostream convert BUNDLE/model.onnx -o "
                                                   "BUNDLE/model.plan` builds one)")
    candidates = [bundle.path / "model.plan", bundle.path / "model.engine",
                  bundle.triton_repository / bundle.triton_model / "1" / "model.plan"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise TaostreamError(f"{bundle.path}: no TensorRT engine (looked for {', '.join(str(c) for c in candidates)}); "
                         "build one with `taostream convert BUNDLE/model.onnx -o BUNDLE/model.plan` or pass --engine")


@contextlib.contextmanager
def open_runner(bundle: Bundle, request: InferRequest) -> Iterator:
    """The activated runner for the request's backend (and, for Triton without --url, a server of
    the bundle's repository for the duration)."""
    if request.backend == "ort":
        # A graph that keeps TensorRT plugins (MaskRCNN) runs with the plugins' numpy references.
        with cpu_runner(bundle.onnx_for_cpu()) as runner:
            yield runner
    elif request.backend == "trt":
        with TensorRTRunner(_engine_path(bundle, request.engine)) as runner:
            yield runner
    elif request.backend == "triton":
        yield from _triton_runner(bundle, request)
    else:
        raise TaostreamError(f"--backend {request.backend}: use one of {', '.join(BACKENDS)}")


def _triton_runner(bundle: Bundle, request: InferRequest) -> Iterator:
    model = request.model_name or bundle.cpu_model_name
    with contextlib.ExitStack() as stack:
        url = request.url
        if url is None:
            server = stack.enter_context(TritonServer(bundle.triton_repository, models=[model]))
            url = server.http_url if request.protocol == "http" else server.grpc_url
        runner = stack.enter_context(TritonRunner(url, model, protocol=request.protocol,
                                                  shared_memory=request.shared_memory))
        yield runner


def batches(frames: Iterator, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    batch = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _RunWriter:
    """Writes each image's outputs into the temporary OUT folder as results arrive."""

    def __init__(self, root: Path, bundle: Bundle, annotate: bool):
        self.root, self.labels, self.annotate = root, bundle.labels, annotate
        self.results: list = []

    def add(self, result, frame, stem: str, video=None) -> None:
        self.results.append(result)
        if result.classification is None:
            writers.write_kitti(self.root / "labels" / f"{stem}.txt", result.detections, self.labels)
        if self.annotate:
            image = writers.annotate(frame, result, self.labels)
            if video is not None:
                video.write(image)
            else:
                writers.write_image(self.root / "images" / f"{stem}.jpg", image)


def _image_jobs(items: Sequence[InputItem], skipped: list[str]) -> Iterator[tuple]:
    for item, frame in read_images(items, skipped):
        yield item, frame, item.stem


def _process(detector: Detector, jobs: Iterator[tuple], batch_size: int, writer: _RunWriter, progress, video=None) -> int:
    count = 0
    for batch in batches(jobs, batch_size):
        results = detector.detect([frame for _, frame, _ in batch], sources=[source for source, _, _ in batch])
        for (_, frame, stem), result in zip(batch, results):
            writer.add(result, frame, stem, video)
        count += len(batch)
        progress.update(len(batch))
    return count


def run_inference(request: InferRequest) -> InferSummary:
    from tqdm import tqdm  # lazy: heavy

    require_batch_size(request.batch_size)
    require_fraction(request.threshold, above_one=True)  # [0, 1] once the bundle is known: check_threshold
    inputs = (request.bundle, request.engine, *request.inputs)
    check_output_folder(request.output, force=request.force, inputs=inputs)  # before the run, not after it
    bundle = load_bundle(request.bundle)
    items = collect_inputs(request.inputs, recursive=request.recursive)
    summary = InferSummary(Path(request.output))
    check_threshold(bundle, request.threshold)
    with open_runner(bundle, request) as runner, atomic_directory(request.output, overwrite=request.force, inputs=inputs) as root:
        detector = Detector(bundle, runner, request.threshold, request.max_detections)
        if detector.below_floor_warning():
            summary.warnings.append(detector.below_floor_warning())
        writer = _RunWriter(root, bundle, request.annotate)
        images = [i for i in items if i.kind == "image"]
        with tqdm(total=len(images), unit="image", disable=not request.progress or not images) as bar:
            jobs = ((str(item.path), frame, stem) for item, frame, stem in _image_jobs(images, summary.unreadable))
            summary.images = _process(detector, jobs, request.batch_size, writer, bar)
            bar.update(len(summary.unreadable))  # the skipped ones were passed over, not left to do
        for item in (i for i in items if i.kind == "video"):
            frames, fps, total = read_video(item.path)
            video = VideoWriter(root / "videos" / f"{item.stem}.mp4", fps) if request.annotate else None
            jobs = ((f"{item.path}#{n}", frame, f"{item.stem}_{n:06d}") for n, frame in enumerate(frames))
            with tqdm(total=total or None, unit="frame", desc=item.path.name, disable=not request.progress) as bar:
                summary.frames += _process(detector, jobs, request.batch_size, writer, bar, video)
            if video is not None:
                video.close()
        require_some_image(summary.unreadable, summary.images + summary.frames)
        summary.detections = sum(len(r.detections) for r in writer.results)
        if bundle.network.task == "classification":
            summary.classified = sum(1 for r in writer.results if r.classification is not None)
        run = {"bundle": str(bundle.path), "network": bundle.network.name, "backend": request.backend,
               "threshold": detector.threshold, "thresholds": detector.threshold_report(),
               "input_dims_chw": list(bundle.dims), "coordinates": "frame pixels"}
        write_run_json(root / "results.json", run, writer.results, bundle.labels)
    return summary
