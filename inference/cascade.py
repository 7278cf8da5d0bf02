"""`taostream infer APP INPUTS`: a `taostream pipeline` folder run on the CPU with ONNX Runtime, the
way its deepstream-app config wires it: the primary detector on each frame, a tracker across the
frames of a video, then each secondary on the objects it operates on.

Secondaries follow nvinfer's secondary mode (gst-nvinfer's get_converted_buffer / should_infer_object):
only objects of the primary with a class in ``operate-on-class-ids`` (all when empty) and at least
``input-object-min-width`` x ``input-object-min-height`` pixels; the crop starts at the box's
left/top truncated to integers and rounded UP to even, and is the box's width/height truncated and
rounded DOWN to even; the crop is then scaled to the secondary's input with the secondary bundle's
own preprocessing (its nvinfer config: scaling, aspect ratio, offsets, color order). Every object is
classified on every frame (nvinfer's async classifier mode reuses a tracked object's result instead).

Tracking uses norfair (a maintained multi-object tracker library) with IoU matching per class; its
ids are not NvDCF's, so they show identity across frames, not DeepStream's numbering. Images get no
track id.

Layout of OUT: ``labels/<image>.txt`` (the primary's detections, KITTI as `infer` writes them),
``images/`` or ``videos/`` (annotated), ``results.json`` (per object: box, class, confidence, track id,
each secondary's label and confidence; an LPRNet secondary's label is the plate string its parser reads).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory, atomic_write_text
from taostream.inference import results as writers
from taostream.inference.backends.runners import cpu_runner
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import DEFAULT_MAX_DETECTIONS, Detector
from taostream.inference.inputs import collect_inputs, read_images, read_video, require_some_image, unreadable_summary
from taostream.inference.results import label_name

PIPELINE_MANIFEST = "pipeline.json"


@dataclass
class Secondary:
    gie_id: int
    detector: Detector
    class_ids: frozenset[int]
    min_size: tuple[int, int] | None

    @property
    def labels(self) -> list[str]:
        return self.detector.bundle.labels


@dataclass
class CascadeObject:
    detection: object  # parsers.reference.Detection, frame pixels
    track_id: int | None = None
    secondaries: dict[int, object] = field(default_factory=dict)  # gie id -> Attribute or None (below threshold)


def is_pipeline(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / PIPELINE_MANIFEST).is_file()


def _bundle_path(app: Path, entry: dict) -> Path:
    path = Path(str(entry.get("path", "")))
    return path if path.is_absolute() else app / path


def read_pipeline(app: Path) -> dict:
    path = Path(app) / PIPELINE_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["primary"]["path"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TaostreamError(f"{path}: unreadable pipeline manifest ({exc}); re-create it with `taostream pipeline`") from None
    return manifest


def object_crop(frame: np.ndarray, detection) -> np.ndarray | None:
    """The object's pixels as nvinfer crops them for a secondary (even left/top rounded up, even
    width/height rounded down, clipped to the frame); None when nothing is left."""
    height, width = frame.shape[:2]
    left = min(int(detection.left), width)
    top = min(int(detection.top), height)
    crop_w = min(int(detection.right - detection.left), width - left)
    crop_h = min(int(detection.bottom - detection.top), height - top)
    left, top = left + left % 2, top + top % 2
    crop_w, crop_h = crop_w - crop_w % 2, crop_h - crop_h % 2
    if crop_w <= 0 or crop_h <= 0 or left + crop_w > width or top + crop_h > height:
        return None
    return frame[top:top + crop_h, left:left + crop_w]


def operates_on(secondary: Secondary, detection) -> bool:
    if secondary.class_ids and detection.class_id not in secondary.class_ids:
        return False
    if secondary.min_size is not None:
        min_w, min_h = secondary.min_size
        if detection.right - detection.left < min_w or detection.bottom - detection.top < min_h:
            return False
    return True


class Cascade:
    """The pipeline's models, each with its own ONNX Runtime session."""

    def __init__(self, app: Path, stack: contextlib.ExitStack, threshold: float | None = None,
                 max_detections: int = DEFAULT_MAX_DETECTIONS):
        def runner(bundle):  # activated now, closed with the stack
            return stack.enter_context(cpu_runner(bundle.onnx_for_cpu()))

        self.app = Path(app)
        self.manifest = read_pipeline(self.app)
        primary = load_bundle(_bundle_path(self.app, self.manifest["primary"]))
        self.primary = Detector(primary, runner(primary), threshold, max_detections)
        self.secondaries = []
        for entry in self.manifest.get("secondaries") or []:
            bundle = load_bundle(_bundle_path(self.app, entry))
            if bundle.network.network_type != 1:
                raise TaostreamError(f"{self.app / PIPELINE_MANIFEST}: secondary {bundle.path} is a {bundle.network.name} "
                                     "detector; the CPU cascade runs classifier secondaries only")
            size = entry.get("min_size")
            self.secondaries.append(Secondary(int(entry["gie_unique_id"]), Detector(bundle, runner(bundle)),
                                              frozenset(entry.get("operate_on_class_ids") or ()),
                                              tuple(size) if size else None))
        self.tracking = self.manifest.get("tracker", "none") != "none"

    def frame(self, frame: np.ndarray, source: str, tracker=None):
        """(ImageResult of the primary, [CascadeObject]) for one BGR frame."""
        result = self.primary.detect([frame], sources=[source])[0]
        objects = [CascadeObject(d) for d in result.detections]
        if tracker is not None:
            for obj, track_id in zip(objects, tracker.update(result.detections)):
                obj.track_id = track_id
        for secondary in self.secondaries:
            for obj in objects:
                if not operates_on(secondary, obj.detection):
                    continue
                crop = object_crop(frame, obj.detection)
                if crop is None:
                    continue
                obj.secondaries[secondary.gie_id] = secondary.detector.detect([crop])[0].classification
        return result, objects


class FrameTracker:
    """Track ids across the frames of one video (norfair, IoU distance, same class only)."""

    def __init__(self):
        try:
            from norfair import Tracker  # lazy: optional (track)
        except ModuleNotFoundError:
            raise TaostreamError("the pipeline has a tracker: install norfair for the CPU cascade's tracking "
                                 "(pip install 'taostream[track]' or pip install norfair)") from None
        self.tracker = Tracker(distance_function="iou", distance_threshold=0.7, initialization_delay=0,
                               hit_counter_max=15)
        self.frame_index = 0

    def update(self, detections: Sequence) -> list[int | None]:
        from norfair import Detection  # lazy: optional (track)

        index = self.frame_index
        self.frame_index += 1
        inputs = [Detection(points=np.array([[d.left, d.top], [d.right, d.bottom]], dtype=np.float64),
                            scores=np.array([d.confidence, d.confidence]), label=d.class_id, data=(index, n))
                  for n, d in enumerate(detections)]
        ids: list[int | None] = [None] * len(detections)
        for tracked in self.tracker.update(detections=inputs):
            last = tracked.last_detection
            if tracked.id is not None and last is not None and last.data[0] == index:
                ids[last.data[1]] = int(tracked.id)
        return ids


def secondary_record(network: str, labels: list[str], class_id: int | None, confidence: float | None,
                     label: str | None = None) -> dict:
    """One secondary's result on one object (None: it ran but nothing passed its threshold); ``label``:
    the parser's own name for the result where it gives one (LPRNet's plate string), else labels.txt's."""
    return {"network": network, "class_id": class_id,
            "label": None if class_id is None else label if label is not None else label_name(labels, class_id),
            "confidence": None if confidence is None else round(float(confidence), 6)}


def object_record(detection, labels: list[str], track_id: int | None, secondaries: dict[int, dict]) -> dict:
    """One object of results.json (frame pixels); ``secondaries``: gie id -> secondary_record. The
    DeepStream Python app writes its objects with this too."""
    d = detection
    return {"bbox": [round(d.left, 3), round(d.top, 3), round(d.right, 3), round(d.bottom, 3)],
            "class_id": d.class_id, "label": label_name(labels, d.class_id),
            "confidence": round(float(d.confidence), 6), "track_id": track_id,
            "secondaries": {str(gie_id): record for gie_id, record in secondaries.items()}}


def frame_record(source: str, width: int, height: int, objects: list[dict]) -> dict:
    return {"source": source, "width": width, "height": height, "objects": objects}


def _record(result, objects: list[CascadeObject], cascade: Cascade) -> dict:
    labels = cascade.primary.bundle.labels
    by_id = {s.gie_id: s for s in cascade.secondaries}
    records = []
    for obj in objects:
        secondaries = {}
        for gie_id, attribute in obj.secondaries.items():
            secondary = by_id[gie_id]
            secondaries[gie_id] = secondary_record(secondary.detector.bundle.network.name, secondary.labels,
                                                   None if attribute is None else attribute.value,
                                                   None if attribute is None else attribute.confidence,
                                                   getattr(attribute, "label", None))
        records.append(object_record(obj.detection, labels, obj.track_id, secondaries))
    return frame_record(result.source, result.width, result.height, records)


@dataclass
class CascadeSummary:
    output: Path
    images: int = 0
    frames: int = 0
    objects: int = 0
    classified: int = 0
    unreadable: list[str] = field(default_factory=list)  # images skipped (each warned about as it was met)

    def unreadable_text(self) -> str:
        return unreadable_summary(self.unreadable, self.images)


def run_cascade(app: Path, inputs: list[str], output: Path, threshold: float | None = None, annotate: bool = True,
                force: bool = False, progress: bool = True, recursive: bool = False) -> CascadeSummary:
    items = collect_inputs(inputs, recursive=recursive)
    stack = contextlib.ExitStack()
    with stack:
        cascade = Cascade(app, stack, threshold)
        return _run(cascade, items, Path(output), annotate, force, progress)


def _run(cascade: Cascade, items, output: Path, annotate: bool, force: bool, progress: bool) -> CascadeSummary:
    from tqdm import tqdm  # lazy: heavy

    app = cascade.app
    summary = CascadeSummary(Path(output))
    labels = cascade.primary.bundle.labels
    records = []

    def add(result, objects, frame, stem, video=None):
        writers.write_kitti(root / "labels" / f"{stem}.txt", result.detections, labels)
        records.append(_record(result, objects, cascade))
        summary.objects += len(objects)
        summary.classified += sum(len(o.secondaries) for o in objects)
        if annotate:
            image = writers.annotate(frame, result, labels)
            if video is not None:
                video.write(image)
            else:
                writers.write_image(root / "images" / f"{stem}.jpg", image)

    with atomic_directory(output, overwrite=force) as root:
        images = [i for i in items if i.kind == "image"]
        for item, frame in read_images(tqdm(images, unit="image", disable=not progress or not images), summary.unreadable):
            result, objects = cascade.frame(frame, str(item.path))
            add(result, objects, frame, item.stem)
            summary.images += 1
        for item in (i for i in items if i.kind == "video"):
            frames, fps, total = read_video(item.path)
            tracker = FrameTracker() if cascade.tracking else None
            video = writers.VideoWriter(root / "videos" / f"{item.stem}.mp4", fps) if annotate else None
            for n, frame in enumerate(tqdm(frames, total=total or None, unit="frame", disable=not progress)):
                result, objects = cascade.frame(frame, f"{item.path}#{n}", tracker)
                add(result, objects, frame, f"{item.stem}_{n:06d}", video)
                summary.frames += 1
            if video is not None:
                video.close()
        require_some_image(summary.unreadable, summary.images + summary.frames)
        run = {"pipeline": str(Path(app).absolute()), "primary": cascade.primary.bundle.network.name,
               "threshold": cascade.primary.threshold, "tracker": cascade.manifest.get("tracker", "none"),
               "tracking_library": "norfair (IoU, per class)" if cascade.tracking else None,
               "secondaries": [{"gie_unique_id": s.gie_id, "network": s.detector.bundle.network.name,
                                "bundle": str(s.detector.bundle.path), "operate_on_class_ids": sorted(s.class_ids),
                                "min_size": list(s.min_size) if s.min_size else None,
                                "classifier_threshold": s.detector.threshold} for s in cascade.secondaries],
               "coordinates": "frame pixels"}
        atomic_write_text(root / "results.json", json.dumps({**run, "images": records}, indent=1) + "\n")
    return summary
