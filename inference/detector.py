"""A bundle's model end to end: nvinfer-exact preprocessing, any runner, the parsers' reference
post-processing, and boxes mapped back to the frame.

Raw model outputs (ONNX Runtime, TensorRT, a Triton tensorrt_plan model) are decoded here with
taostream.parsers.reference; the CPU Triton model already decodes on the server and returns
``num_detections`` + ``detections`` [K, 6] (or ``probabilities``), which are unpacked instead. Both
paths order detections by descending confidence and keep at most ``max_detections`` (as the CPU
Triton model does), so the backends can be compared detection for detection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.numeric_inputs import require_fraction
from taostream.converter.model.preprocess import DEFAULT_INTERPOLATION, Letterbox, load_bgr, preprocess_image
from taostream.inference.backends.triton_runner import server_detections
from taostream.inference.bundle_info import Bundle
from taostream.inference.geometry import detections_to_frame
from taostream.parsers.reference import Attribute, Detection, classify_softmax, decode

DEFAULT_MAX_DETECTIONS = 100  # the CPU Triton model's output size (deepstream_configs.triton_repo)


@dataclass
class ImageResult:
    """One image's results in frame pixels."""

    source: str
    width: int
    height: int
    detections: list = field(default_factory=list)  # parsers.reference.Detection, frame pixels
    classification: object | None = None  # parsers.reference.Attribute for classifiers


def sort_and_cap(detections: list, max_detections: int) -> list:
    """Descending confidence (stable), at most max_detections: the CPU Triton model's packing rule."""
    return sorted(detections, key=lambda d: -d.confidence)[:max_detections]


def unpack_server_detections(count: np.ndarray, rows: np.ndarray) -> list:
    """The CPU Triton model's (num_detections [1], detections [K, 6]) -> Detection objects."""
    n = int(np.asarray(count).reshape(-1)[0])
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 6)
    if not 0 <= n <= len(rows):
        raise TaostreamError(f"the Triton model returned num_detections={n} with {len(rows)} rows; "
                             "the server's model does not match this bundle")
    return [Detection(int(r[5]), float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows[:n]]


def split_for_model(batch: np.ndarray, limit: int) -> list[np.ndarray]:
    if limit <= 0 or len(batch) <= limit:
        return [batch]
    return [batch[i : i + limit] for i in range(0, len(batch), limit)]


def summed_confidences(bundle: Bundle) -> bool:
    """True when the bundle reports DetectNet_v2 DBSCAN clusters, whose confidence is the summed
    coverage of their cells (it exceeds 1), not a probability."""
    return (bundle.network.output_layout == "detectnet_v2_grid"
            and bundle.decode_params().detectnet_v2.mode in ("dbscan", "dbscan_nms"))


def check_threshold(bundle: Bundle, value: float | None, option: str = "--threshold") -> float | None:
    """A final confidence threshold for this bundle: in [0, 1], or 0 and more for summed confidences."""
    if value is None:
        return None
    if not summed_confidences(bundle):
        return require_fraction(value, option)
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise TaostreamError(f"{option} {value}: a DetectNet_v2 detection's confidence is its cluster's summed "
                             "coverage; give a number of 0 or more, e.g. 0.5")
    return number


class Detector:
    """``detect(images)`` for a list of BGR frames (or paths) with one activated runner.

    Thresholds (docs/inference.md): the bundle's post-processing (pre-cluster thresholds per class,
    DetectNet_v2's clustering and cluster confidence threshold) is never changed here, so every
    backend reports what DeepStream's parser reports. ``threshold`` is a final confidence filter on
    top of it (None: none); ``self.threshold`` is the confidence floor in effect, as reported. For
    classifiers ``threshold`` replaces the bundle's classifier-threshold."""

    def __init__(self, bundle: Bundle, runner, threshold: float | None = None,
                 max_detections: int = DEFAULT_MAX_DETECTIONS, interpolation: str = DEFAULT_INTERPOLATION,
                 pre_cluster_threshold: float | None = None):
        self.bundle, self.runner = bundle, runner
        threshold = check_threshold(bundle, threshold)
        self.max_detections, self.interpolation = max_detections, interpolation
        # The same parameters the CPU Triton model builds from its config (deepstream_configs/triton/python_model.py).
        # ``pre_cluster_threshold`` replaces every class's (evaluate decodes low, as TAO's evaluation
        # does); the results then differ from the deployed model's on purpose.
        self.decode_params = bundle.decode_params()
        if pre_cluster_threshold is not None:
            self.decode_params = replace(self.decode_params, pre_cluster_threshold=(
                float(pre_cluster_threshold),) * self.decode_params.num_classes)
        self.classifier = bundle.network.output_layout == "softmax"
        if self.classifier:
            self.floors: tuple[float, ...] = ()
            self.final_threshold = None
            self.threshold = bundle.threshold if threshold is None else float(threshold)
        else:
            self.floors = self.decode_params.confidence_floors(bundle.network.output_layout)
            self.final_threshold = None if threshold is None else float(threshold)
            self.threshold = min(self.floors) if threshold is None else float(threshold)

    @property
    def lowest_confidence(self) -> float:
        """No detection below this confidence is reported (the floor of every class, or --threshold)."""
        return self.threshold if self.classifier else max(self.threshold, min(self.floors))

    def threshold_report(self) -> dict:
        """Which number was applied where (results.json's "thresholds")."""
        if self.classifier:
            return {"classifier_threshold": self.threshold}
        params = self.decode_params
        report = {"pre_cluster_threshold": [params.class_threshold(c) for c in range(params.num_classes)]}
        if self.bundle.network.output_layout == "detectnet_v2_grid" and params.detectnet_v2.mode in ("dbscan", "dbscan_nms"):
            report["cluster_confidence_threshold"] = [float(params.detectnet_v2.for_class(c).confidence_threshold)
                                                      for c in range(params.num_classes)]
        report["final_confidence_threshold"] = self.final_threshold
        return report

    def below_floor_warning(self) -> str | None:
        """A --threshold under what the bundle's post-processing already drops has no effect: say so."""
        if self.classifier or self.final_threshold is None or self.final_threshold >= max(self.floors):
            return None
        what = ("DetectNet_v2 cluster confidence threshold" if "cluster_confidence_threshold" in self.threshold_report()
                else "pre-cluster-threshold")
        return (f"--threshold {self.final_threshold:g} is below the bundle's {what} ({min(self.floors):g}"
                f"{'' if min(self.floors) == max(self.floors) else f' to {max(self.floors):g}'}): it is a final "
                "filter and cannot bring back detections the bundle's post-processing drops; lower the bundle's "
                "thresholds (docs/inference.md) to see them")

    def _final_filter(self, detections: list) -> list:
        if self.final_threshold is None:
            return detections
        return [d for d in detections if d.confidence >= self.final_threshold]

    def require_bundle_input(self, model: str) -> None:
        """Refuse a model (``model`` names it) whose input is not the bundle's: another network's graph."""
        inputs = self.runner.input_metadata()
        if self.bundle.input_name not in inputs:
            raise TaostreamError(f"{model}: the model's input is {', '.join(inputs) or 'missing'}, not the bundle's "
                                 f"{self.bundle.input_name}; give a model made from this bundle")

    def model_batch_limit(self) -> int:
        """The model's fixed batch size (a static first dim), or 0 when it takes any batch."""
        self.require_bundle_input(self.runner.name)
        first = self.runner.input_metadata()[self.bundle.input_name].shape[0]
        return first if isinstance(first, int) and first > 0 else 0

    def preprocess(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        tensors, boxes = [], []
        for frame in frames:
            tensor, box = preprocess_image(frame, self.bundle.network, self.bundle.dims, interpolation=self.interpolation,
                                           return_geometry=True, **self.bundle.preprocessing.as_kwargs())
            tensors.append(tensor)
            boxes.append(box)
        return (tensors[0][None] if len(tensors) == 1 else np.stack(tensors)), boxes  # one image: a view, no copy

    def decode(self, outputs: dict[str, np.ndarray], batch: int) -> list:
        """Per image: a list of Detection (network pixels) or, for classifiers, an Attribute or None."""
        names = {name.split(":")[0] for name in outputs}
        if {"num_detections", "detections"} <= names and "detection_boxes" not in names:  # the CPU Triton model's reply
            # (EfficientNMS's raw outputs have num_detections too, with detection_boxes/_scores/_classes)

            return [self._final_filter(server_detections(outputs, i)) for i in range(batch)]
        if "plate" in names:  # the LPRNet CPU Triton model: the plate string NVIDIA's parser attaches
            plates = np.asarray(outputs["plate"]).reshape(batch, -1)
            confidences = np.asarray(outputs["plate_confidence"], np.float32).reshape(batch, -1)
            texts = [p[0].decode("utf-8") if isinstance(p[0], bytes) else str(p[0]) for p in plates]
            return [Attribute(0, 1, float(c[0]), text) if text else None for text, c in zip(texts, confidences)]
        if "probabilities" in names:
            return [classify_softmax(outputs["probabilities"][i], self.threshold) for i in range(batch)]

        decoded = decode(self.bundle.network, outputs, self.bundle.net_width, self.bundle.net_height,
                         self.decode_params, batched=True, classifier_threshold=self.threshold,
                         characters=self.bundle.labels)
        return [self._final_filter(d) if isinstance(d, list) else d for d in decoded]

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The runner's raw outputs for a preprocessed batch, run in chunks the model takes and joined
        on the batch axis."""
        chunks = [self.runner.infer({self.bundle.input_name: chunk})
                  for chunk in split_for_model(batch, self.model_batch_limit())]
        if len(chunks) == 1:
            return chunks[0]
        return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}

    def detect(self, images: Sequence, sources: Sequence[str] | None = None) -> list[ImageResult]:
        frames = [load_bgr(image) for image in images]
        sources = list(sources) if sources is not None else [
            str(i) if isinstance(i, (str, Path)) else f"frame{n}" for n, i in enumerate(images)]
        batch, letterboxes = self.preprocess(frames)
        decoded_all: list = []
        for chunk in split_for_model(batch, self.model_batch_limit()):
            decoded_all.extend(self.decode(self.runner.infer({self.bundle.input_name: chunk}), len(chunk)))
        return self.results(frames, letterboxes, sources, decoded_all)

    def results(self, frames: Sequence[np.ndarray], letterboxes: Sequence[Letterbox], sources: Sequence[str],
                decoded_all: Sequence) -> list[ImageResult]:
        """Per image: the decoded detections (network pixels) mapped to the frame, or the classification."""
        results = []
        for frame, box, source, decoded in zip(frames, letterboxes, sources, decoded_all):
            height, width = frame.shape[:2]
            result = ImageResult(source, width, height)
            if isinstance(decoded, list):
                result.detections = detections_to_frame(sort_and_cap(decoded, self.max_detections), box, width, height)
            else:
                result.classification = decoded
            results.append(result)
        return results
