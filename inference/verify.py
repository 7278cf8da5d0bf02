"""`taostream verify`: does a deployment detect what the model detects?

Runs the same images through the bundle's CPU reference (ONNX Runtime in FP32, TensorRT plugins by
their numpy references) and through a candidate: a TensorRT engine, a Triton model, or another ONNX
graph (by default the bundle's own model.onnx, i.e. the TensorRT 11 graph with its replaced plugins
and INT8 Q/DQ nodes, which ONNX Runtime also runs). Detections are matched class by class, greedy by
IoU in descending reference confidence, and judged against a tolerance chosen for the candidate's
precision. Detections whose confidence is within the score tolerance of the threshold (or of the
last kept rank) may appear on one side only: a rounding difference legitimately moves them across.

DetectNet_v2 with DBSCAN clustering reports the summed coverage of a cluster's grid cells, and the
same rule applies one step earlier: a grid cell whose coverage lies on the other side of the
pre-cluster threshold in the candidate, by a change within the score tolerance, is a borderline
cell. It is clustered as the reference clusters it (counted at the threshold, or left out), since
otherwise its whole coverage (0.3 and more) enters or leaves the cluster's sum and a 0.05 move of one
cell reads as a 15% change of the detection (docs/int8.md). Cells that moved by more than the
tolerance are clustered as the candidate has them: a real change.

The matching is plain functions on ``parsers.reference.Detection`` lists, so any two result sets can
be compared (e.g. DeepStream's KITTI output against ``taostream infer``'s).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import check_input_file
from taostream.converter.model.loader import open_model, require_complete_onnx
from taostream.converter.model.preprocess import load_bgr
from taostream.converter.numeric_inputs import require_batch_size, require_fraction
from taostream.inference.backends.runners import cpu_runner
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import DEFAULT_MAX_DETECTIONS, Detector, check_threshold, summed_confidences
from taostream.inference.infer_run import InferRequest, _engine_path, batches, open_runner
from taostream.inference.inputs import collect_inputs, read_images, read_video, require_some_image
from taostream.parsers.reference import MalformedOutputError, iou_one_to_many, select_outputs
from taostream.converter.wording import plural


@dataclass(frozen=True)
class Tolerance:
    """How far a candidate may stray from the FP32 reference and still be called equal."""

    name: str
    min_iou: float  # a matched box overlaps its reference box at least this much
    score: float  # score_delta() of a matched pair; also the borderline band above the threshold
    mask: float  # max |mask probability difference| of a matched pair (MaskRCNN)


TOLERANCES = {
    # Same graph, same runtime (the CPU Triton model against ONNX Runtime): only summation order.
    "exact": Tolerance("exact", min_iou=0.999, score=1e-4, mask=1e-4),
    # Another FP32 implementation (rewritten plugins, TensorRT's TF32 convolutions).
    "fp32": Tolerance("fp32", min_iou=0.97, score=0.01, mask=0.02),
    "fp16": Tolerance("fp16", min_iou=0.9, score=0.03, mask=0.05),
    "int8": Tolerance("int8", min_iou=0.75, score=0.1, mask=0.15),
}


@dataclass
class PairReport:
    """One matched reference/candidate pair that broke the tolerance."""

    class_id: int
    reference_box: tuple[float, float, float, float]
    candidate_box: tuple[float, float, float, float]
    iou: float
    score_delta: float
    mask_delta: float | None = None


@dataclass
class ImageComparison:
    source: str
    matched: int = 0
    missing: list = field(default_factory=list)  # reference detections the candidate lacks (beyond the borderline)
    extra: list = field(default_factory=list)  # candidate detections the reference lacks (beyond the borderline)
    borderline: int = 0  # one-sided detections within the score band of the threshold/cap: tolerated
    borderline_cells: int = 0  # DetectNet_v2 DBSCAN: grid cells clustered as in the reference (module doc)
    out_of_tolerance: list = field(default_factory=list)  # PairReport
    worst_iou: float = 1.0
    worst_score_delta: float = 0.0
    classification: str | None = None  # classifiers: None when equal, else what differs

    @property
    def passed(self) -> bool:
        return not (self.missing or self.extra or self.out_of_tolerance or self.classification)


def _box(d) -> tuple[float, float, float, float]:
    return (round(float(d.left), 3), round(float(d.top), 3), round(float(d.right), 3), round(float(d.bottom), 3))


def _mask_delta(ref, cand) -> float | None:
    if ref.mask is None or cand.mask is None:
        return None
    a, b = np.asarray(ref.mask, np.float32), np.asarray(cand.mask, np.float32)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def score_delta(reference: float, candidate: float) -> float:
    """|candidate - reference| on the scale of the reference: absolute for probabilities (<= 1),
    relative for scores that are sums (DetectNet_v2's clustered coverage, e.g. 68.8)."""
    return abs(float(candidate) - float(reference)) / max(1.0, abs(float(reference)))


def _floor(detections: Sequence, threshold: float, cap: int) -> float:
    """The lowest confidence a list could have dropped a detection at: the threshold, or the
    confidence of the last kept rank when the list was cut at ``cap``."""
    if cap and len(detections) >= cap:
        return max(threshold, min(d.confidence for d in detections))
    return threshold


def compare_detections(reference: Sequence, candidate: Sequence, tolerance: Tolerance, threshold: float,
                       cap: int = 0, source: str = "") -> ImageComparison:
    """Match ``candidate`` to ``reference`` (Detection lists of one image, same coordinates)."""
    report = ImageComparison(source)
    boxes = np.array([[d.left, d.top, d.right, d.bottom] for d in candidate], dtype=np.float64).reshape(-1, 4)
    classes = np.array([d.class_id for d in candidate], dtype=np.int64)
    unmatched = np.ones(len(candidate), dtype=bool)
    for ref in sorted(reference, key=lambda d: -d.confidence):
        overlaps = iou_one_to_many([ref.left, ref.top, ref.right, ref.bottom], boxes)
        overlaps = np.where(unmatched & (classes == ref.class_id), overlaps, 0.0)
        best = int(np.argmax(overlaps)) if len(overlaps) else 0
        best_iou = float(overlaps[best]) if len(overlaps) else 0.0
        # The same object when its best same-class box overlaps it by half or more; how well the
        # two agree is then judged against the tolerance.
        if best_iou < 0.5:
            _one_sided(report.missing, ref, report, tolerance, _floor(candidate, threshold, cap))
            continue
        unmatched[best] = False
        cand = candidate[best]
        report.matched += 1
        delta = score_delta(ref.confidence, cand.confidence)
        mask = _mask_delta(ref, cand)
        report.worst_iou = min(report.worst_iou, best_iou)
        report.worst_score_delta = max(report.worst_score_delta, delta)
        if best_iou < tolerance.min_iou or delta > tolerance.score or (mask is not None and mask > tolerance.mask):
            report.out_of_tolerance.append(PairReport(ref.class_id, _box(ref), _box(cand), round(best_iou, 5),
                                                      round(delta, 6), None if mask is None else round(mask, 6)))
    floor = _floor(reference, threshold, cap)
    for index in np.flatnonzero(unmatched):
        _one_sided(report.extra, candidate[index], report, tolerance, floor)
    return report


def _one_sided(bucket: list, detection, report: ImageComparison, tolerance: Tolerance, floor: float) -> None:
    if detection.confidence < floor + tolerance.score * max(1.0, abs(floor)):
        report.borderline += 1
    else:
        bucket.append({"class_id": detection.class_id, "box": _box(detection),
                       "confidence": round(float(detection.confidence), 6)})


def compare_classification(reference, candidate, tolerance: Tolerance, threshold: float, source: str = "") -> ImageComparison:
    """Classifier results (parsers.reference.Attribute or None below the threshold)."""
    report = ImageComparison(source)
    if reference is None and candidate is None:
        return report
    if reference is None or candidate is None:
        present = reference if reference is not None else candidate
        if present.confidence < threshold + tolerance.score:
            report.borderline += 1
        else:
            report.classification = f"{'candidate' if reference is None else 'reference'} only: class {present.value}"
        return report
    delta = score_delta(reference.confidence, candidate.confidence)
    report.worst_score_delta = delta
    if candidate.value != reference.value:
        report.classification = f"class {reference.value} ({reference.confidence:.4f}) vs {candidate.value} ({candidate.confidence:.4f})"
    elif getattr(candidate, "label", None) != getattr(reference, "label", None):  # LPRNet: the plate read
        report.classification = f"plate {reference.label!r} vs {candidate.label!r}"
    elif delta > tolerance.score:
        report.classification = f"confidence {reference.confidence:.5f} vs {candidate.confidence:.5f}"
    else:
        report.matched = 1
    return report


@dataclass
class VerifyRequest:
    bundle: Path
    inputs: list[str]
    backend: str = "onnx"  # onnx | trt | triton
    onnx: Path | None = None  # onnx: the candidate graph (default: the bundle's model.onnx)
    engine: Path | None = None
    url: str | None = None
    protocol: str = "http"
    model_name: str | None = None
    tolerance: str = "auto"
    threshold: float | None = None
    max_frames: int = 25  # per video
    batch_size: int = 1
    progress: bool = True
    recursive: bool = False  # folders: also their subfolders' images and videos


@dataclass
class VerifyReport:
    bundle: str
    backend: str
    candidate: str
    tolerance: Tolerance
    threshold: float
    images: list[ImageComparison] = field(default_factory=list)
    # images that could not be read: skipped on both sides (each warned about as it was met); the
    # verdict covers the images compared, and the report says how many were not
    unreadable: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        """Whether any detection or classification was compared at all: on images where neither model
        finds anything above the threshold an all-clear proves nothing."""
        return any(i.matched or i.missing or i.extra or i.out_of_tolerance or i.classification for i in self.images)

    @property
    def passed(self) -> bool:
        return self.compared and all(image.passed for image in self.images)

    def totals(self) -> dict:
        return {"images": len(self.images), "unreadable_images": len(self.unreadable),
                "failed_images": sum(not i.passed for i in self.images),
                "matched": sum(i.matched for i in self.images),
                "missing": sum(len(i.missing) for i in self.images), "extra": sum(len(i.extra) for i in self.images),
                "borderline": sum(i.borderline for i in self.images),
                "borderline_cells": sum(i.borderline_cells for i in self.images),
                "out_of_tolerance": sum(len(i.out_of_tolerance) for i in self.images),
                "worst_iou": min((i.worst_iou for i in self.images), default=1.0),
                "worst_score_delta": max((i.worst_score_delta for i in self.images), default=0.0)}

    def to_dict(self) -> dict:
        return {"bundle": self.bundle, "backend": self.backend, "candidate": self.candidate,
                "tolerance": asdict(self.tolerance), "threshold": self.threshold, "passed": self.passed,
                "totals": self.totals(),
                "images": [{**asdict(i), "passed": i.passed} for i in self.images], "unreadable": self.unreadable}

    def lines(self) -> list[str]:
        t = self.totals()
        out = [f"reference: the bundle's FP32 CPU model; candidate: {self.candidate} ({self.backend}); "
               f"tolerance {self.tolerance.name} (IoU >= {self.tolerance.min_iou}, |score delta| <= {self.tolerance.score}); "
               f"threshold {self.threshold:g}"]
        for image in self.images:
            if image.passed:
                continue
            out.append(f"  {image.source}: {image.matched} matched, {len(image.missing)} missing, {len(image.extra)} extra, "
                       f"{len(image.out_of_tolerance)} out of tolerance" + (f"; {image.classification}" if image.classification else ""))
            for d in image.missing[:3]:
                out.append(f"    missing class {d['class_id']} at {d['box']} (confidence {d['confidence']:.4f})")
            for d in image.extra[:3]:
                out.append(f"    extra   class {d['class_id']} at {d['box']} (confidence {d['confidence']:.4f})")
            for p in image.out_of_tolerance[:3]:
                out.append(f"    class {p.class_id}: IoU {p.iou:.4f}, score delta {p.score_delta:.4f}"
                           + (f", mask delta {p.mask_delta:.4f}" if p.mask_delta is not None else ""))
        if self.unreadable:
            out.append(f"{plural(len(self.unreadable), 'unreadable image')} skipped on both sides, not compared (each "
                       "named above): the verdict covers the other images")
        if not self.compared:
            out.append(f"NOTHING COMPARED: neither model found anything above threshold {self.threshold:g} on the "
                       f"{t['images']} image(s), so they prove nothing; give images with the objects the model was "
                       "trained on (or a lower --threshold)")
            return out
        if self._scores_only_failed(t):
            out.append(f"every detection was found where the reference has it (IoU >= {self.tolerance.min_iou}); only scores "
                       f"moved by more than {self.tolerance.score:g}: the candidate's numeric drift on these images (a "
                       "broken calibration cache can look the same): judge it on more of your own images, docs/int8.md")
        out.append(f"{'PASS' if self.passed else 'FAIL'}: {plural(t['images'], 'image')}, {t['matched']} matched, {t['missing']} missing, "
                   f"{t['extra']} extra, {t['out_of_tolerance']} out of tolerance, {t['borderline']} borderline"
                   + (f" ({t['borderline_cells']} borderline grid cells)" if t["borderline_cells"] else "") + "; "
                   f"worst IoU {t['worst_iou']:.4f}, worst score delta {t['worst_score_delta']:.4g}")
        return out


    def _scores_only_failed(self, totals: dict) -> bool:
        """Failed with every detection matched inside the IoU (and mask) tolerance: only scores are out."""
        pairs = [p for image in self.images for p in image.out_of_tolerance]
        return (not self.passed and bool(pairs) and totals["missing"] == totals["extra"] == 0
                and not any(image.classification for image in self.images)
                and all(p.iou >= self.tolerance.min_iou and (p.mask_delta is None or p.mask_delta <= self.tolerance.mask)
                        for p in pairs))


def graph_precision(path: Path) -> str:
    """fp32, fp16 or int8: what an ONNX graph computes in (Q/DQ nodes -> int8, float16 tensors -> fp16)."""
    import onnx  # lazy: heavy

    model_file = open_model(path)  # an empty or non-ONNX file: a one-line ModelFormatError
    if model_file.format != "onnx":
        raise TaostreamError(f"{path}: a {model_file.format.upper()} model, not ONNX; give --onnx an ONNX graph")
    model = require_complete_onnx(model_file.data, path)
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node):
        return "int8"
    if any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer):
        return "fp16"
    return "fp32"


def engine_precision(engine: Path, manifest: dict) -> str:
    """The precision an engine was built with: its metadata (<engine>.json) or the bundle's."""
    meta = Path(f"{engine}.json")
    if meta.is_file():
        try:
            value = json.loads(meta.read_text(encoding="utf-8")).get("precision")
        except (OSError, ValueError):
            value = None
        if value in TOLERANCES:
            return value
    return manifest.get("precision") if manifest.get("precision") in TOLERANCES else "fp16"


def choose_tolerance(name: str, backend: str, precision: str, cpu_triton_model: bool) -> Tolerance:
    """``--tolerance auto``: exact for the CPU Triton model (the reference graph, served), else by
    the candidate's precision."""
    if name != "auto":
        if name not in TOLERANCES:
            raise TaostreamError(f"--tolerance {name}: use auto or one of {', '.join(TOLERANCES)}")
        return TOLERANCES[name]
    if backend == "triton" and cpu_triton_model:
        return TOLERANCES["exact"]
    return TOLERANCES[precision]


def _frames(items: list, max_frames: int, skipped: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """(source, BGR frame) of each image and the first ``max_frames`` of each video, read as needed;
    an image that cannot be read is warned about, added to ``skipped`` and passed over."""
    for item in items:
        if item.kind == "image":
            yield from ((str(image.path), frame) for image, frame in read_images([item], skipped))
            continue
        frames, _, _ = read_video(item.path)
        for number, frame in enumerate(frames):
            if number >= max_frames:
                frames.close()
                break
            yield f"{item.path}#{number}", frame


def _candidate(bundle, request: VerifyRequest):
    """(context manager giving the candidate runner, its description, its precision)."""
    if request.backend == "onnx":
        path = check_input_file(request.onnx or bundle.path / "model.onnx", "--onnx", "an ONNX model file")
        return cpu_runner(path), str(path), graph_precision(path)
    if request.backend == "trt":
        engine = _engine_path(bundle, request.engine)
        infer = InferRequest(bundle.path, [], Path("."), backend="trt", engine=engine)
        return open_runner(bundle, infer), str(engine), engine_precision(engine, bundle.manifest)
    if request.backend == "triton":
        model = request.model_name or bundle.cpu_model_name
        infer = InferRequest(bundle.path, [], Path("."), backend="triton", url=request.url, protocol=request.protocol,
                             model_name=model)
        precision = "fp32" if model == bundle.cpu_model_name else bundle.manifest.get("precision", "fp16")
        return open_runner(bundle, infer), f"Triton model {model}", precision
    raise TaostreamError(f"--backend {request.backend}: use onnx, trt or triton")


def run_verify(request: VerifyRequest) -> VerifyReport:
    from tqdm import tqdm  # lazy: heavy

    require_batch_size(request.batch_size)
    require_fraction(request.threshold, above_one=True)
    if request.max_frames < 1:
        raise TaostreamError("--max-frames must be at least 1")
    bundle = load_bundle(request.bundle)
    check_threshold(bundle, request.threshold)
    items = collect_inputs(request.inputs, recursive=request.recursive)
    candidate_runner, description, precision = _candidate(bundle, request)
    cpu_triton = request.backend == "triton" and (request.model_name or bundle.cpu_model_name) == bundle.cpu_model_name
    tolerance = choose_tolerance(request.tolerance, request.backend, precision, cpu_triton)
    with cpu_runner(bundle.onnx_for_cpu()) as reference_runner, candidate_runner as runner:
        cap = DEFAULT_MAX_DETECTIONS  # both Detectors keep this many; the CPU Triton model returns as many
        reference = Detector(bundle, reference_runner, request.threshold, cap)
        candidate = Detector(bundle, runner, request.threshold, cap)
        candidate.require_bundle_input(description)
        # Both decode with the bundle's thresholds; --threshold is a final filter on both sides.
        report = VerifyReport(str(bundle.path), request.backend, description, tolerance, reference.lowest_confidence)
        classifier = bundle.network.task == "classification"
        videos = any(item.kind == "video" for item in items)
        with tqdm(total=None if videos else len(items), unit="image", disable=not request.progress) as bar:
            for batch in batches(_frames(items, request.max_frames, report.unreadable), request.batch_size):
                images, sources = [f for _, f in batch], [s for s, _ in batch]
                if summed_confidences(bundle):
                    refs, cands, cells = _detect_pair(reference, candidate, images, sources, tolerance)
                else:
                    refs, cands = reference.detect(images, sources), candidate.detect(images, sources)
                    cells = [0] * len(images)
                for ref, cand, count in zip(refs, cands, cells):
                    report.images.append(_compare_result(ref, cand, tolerance, reference.lowest_confidence, classifier, cap))
                    report.images[-1].borderline_cells = int(count)
                bar.update(len(batch))
            bar.update(len(report.unreadable))  # the skipped ones were passed over, not left to do
        require_some_image(report.unreadable, len(report.images))
    return report


def with_reference_membership(reference: dict, candidate: dict, thresholds: Sequence[float],
                              tolerance: float) -> tuple[dict, np.ndarray]:
    """DetectNet_v2 raw outputs of a batch: the candidate's, with every borderline grid cell (its coverage
    on the other side of its class's pre-cluster threshold than the reference's, by a change of at most
    ``tolerance``) put on the reference's side: raised to the threshold or lowered just below it.
    Returns (outputs, borderline cells per image); the outputs unchanged where either side has no
    coverage grid (a server that decodes)."""
    try:
        ref_cov, _ = select_outputs("detectnet_v2_grid", reference)
        cand_cov, _ = select_outputs("detectnet_v2_grid", candidate)
    except MalformedOutputError:
        return candidate, np.zeros(0, np.int64)
    ref = np.asarray(ref_cov, np.float32)
    if ref.shape != np.shape(cand_cov) or ref.ndim != 4 or ref.shape[1] != len(thresholds):
        return candidate, np.zeros(0, np.int64)
    cand = np.array(cand_cov, np.float32)
    limit = np.broadcast_to(np.asarray(thresholds, np.float32).reshape(1, -1, 1, 1), ref.shape)
    borderline = ((ref >= limit) != (cand >= limit)) & (np.abs(cand - ref) <= np.float32(tolerance))
    raise_to = borderline & (ref >= limit)
    cand[raise_to] = limit[raise_to]
    lower = borderline & ~raise_to
    cand[lower] = np.nextafter(limit[lower], np.float32(0))
    name = next(key for key, value in candidate.items() if value is cand_cov)
    return {**candidate, name: cand}, borderline.reshape(len(ref), -1).sum(axis=1)


def _detect_pair(reference, candidate, images: list, sources: list, tolerance: Tolerance) -> tuple[list, list, list]:
    """(reference results, candidate results, borderline cells per image) of DetectNet_v2 DBSCAN
    bundles: both models run on the same preprocessed batch, the candidate's borderline cells are
    clustered as the reference's (with_reference_membership)."""
    frames = [load_bgr(image) for image in images]
    batch, letterboxes = reference.preprocess(frames)
    ref_out, cand_out = reference.infer(batch), candidate.infer(batch)
    params = reference.decode_params
    thresholds = [params.class_threshold(c) for c in range(params.num_classes)]
    cand_out, cells = with_reference_membership(ref_out, cand_out, thresholds, tolerance.score)
    n = len(frames)
    return (reference.results(frames, letterboxes, sources, reference.decode(ref_out, n)),
            candidate.results(frames, letterboxes, sources, candidate.decode(cand_out, n)),
            list(cells) if len(cells) else [0] * n)


def _compare_result(ref, cand, tolerance: Tolerance, threshold: float, classifier: bool, cap: int) -> ImageComparison:
    if classifier:
        return compare_classification(ref.classification, cand.classification, tolerance, threshold, ref.source)
    return compare_detections(ref.detections, cand.detections, tolerance, threshold, cap, ref.source)
