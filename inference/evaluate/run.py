"""`taostream evaluate`: the accuracy a deployment reaches on a labelled validation set.

Predictions come from a bundle run on the dataset's images (ONNX Runtime, TensorRT or Triton, as in
`taostream verify`) or from a folder of KITTI prediction files (no model run). Every prediction set
is scored twice: TAO's own per-class AP/mAP for the network family (metrics_tao, rules read from the
spec's evaluation config) and COCO AP@[.5:.95]/AP50/AP75 by pycocotools (metrics_coco). With
``--against fp32`` the bundle's FP32 CPU reference is scored on the same images and the mAP drop of
the candidate is judged against ``--max-drop``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from taostream.converter.errors import MissingDependencyError, TaostreamError
from taostream.converter.fileio import atomic_write_bytes, check_input_file
from taostream.converter.numeric_inputs import require_batch_size, require_fraction, require_iou
from taostream.converter.registry import get_network
from taostream.deepstream_configs.labels import BACKGROUND, MASK_RCNN_BACKGROUND
from taostream.deepstream_configs.specs.access import as_spec_dict, load_spec_file, spec_map, spec_value
from taostream.inference.backends.runners import cpu_runner
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import DEFAULT_MAX_DETECTIONS, Detector
from taostream.inference.evaluate.classification import run_classification
from taostream.inference.evaluate.coco import coco_documents, coco_metrics, mask_rle, require_coco_library
from taostream.inference.evaluate.dataset import (
    Dataset, Predictions, image_size, load_dataset, normalize_name, read_labelled_image, read_predictions)
from taostream.inference.evaluate.tao import BoxLimits, ClassCurve, ImageBoxes, TaoRules, evaluate_tao
from taostream.inference.infer_run import batches
from taostream.inference.verify import VerifyRequest, _candidate
from taostream.converter.wording import plural

FAMILY_OF_LABEL_RULE = {"detectnet_v2": "detectnet_v2", "faster_rcnn": "faster_rcnn", "ssd": "ap_evaluator",
                        "yolo": "ap_evaluator", "mask_rcnn": "coco", "efficientdet": "coco", "classmap": "classification"}
DEFAULT_CONFIDENCE = {"ap_evaluator": 0.01, "faster_rcnn": 0.0001, "detectnet_v2": 0.0}


@dataclass
class EvaluateRequest:
    dataset: Path
    bundle: Path | None = None
    predictions: Path | None = None
    backend: str = "onnx"
    onnx: Path | None = None
    engine: Path | None = None
    url: str | None = None
    protocol: str = "http"
    model_name: str | None = None
    images: Path | None = None  # COCO: the image folder (default: the annotation file's folder)
    network: str | None = None  # --predictions: which TAO family's rules
    spec: Path | None = None
    ap_mode: str | None = None
    iou: float | None = None
    threshold: float | None = None
    against: str | None = None
    max_drop: float = 0.01
    batch_size: int = 1
    plots: Path | None = None
    coco_engine: str = "auto"  # auto: faster-coco-eval when installed, else pycocotools
    top_k: int = 5  # classification: top-k accuracy (TAO's eval_config.top_k default)
    stream: int | None = None  # --predictions from DeepStream: which stream's frame files
    mux_size: tuple[int, int] | None = None  # --predictions from DeepStream: nvstreammux width, height
    progress: bool = True


# --- rules ------------------------------------------------------------------------------------------


def _enum_mode(value, default: str) -> str:
    if value is None:
        return default
    text = str(value).strip().lower()
    return {"0": "sample", "1": "integrate"}.get(text, text)


def rules_for(family: str, spec, overrides: EvaluateRequest) -> TaoRules:
    """TaoRules from the spec's evaluation config (TAO's defaults where it is silent)."""
    spec = as_spec_dict(spec)
    iou, limits, mode, default_iou = {}, {}, "sample", 0.5
    confidence = DEFAULT_CONFIDENCE.get(family, 0.0)
    if family == "detectnet_v2":
        mode = _enum_mode(spec_value(spec, "evaluation_config.average_precision_mode"), "sample")
        iou = {normalize_name(k): float(v) for k, v in spec_map(spec, "evaluation_config.minimum_detection_ground_truth_overlap")}
        for key, value in spec_map(spec, "evaluation_config.evaluation_box_config"):
            if isinstance(value, dict):
                get = lambda name, d: float(spec_value(value, name, d))  # noqa: E731
                limits[normalize_name(key)] = BoxLimits(get("minimum_height", 0.0), get("maximum_height", math.inf),
                                                        get("minimum_width", 0.0), get("maximum_width", math.inf))
    elif family == "ap_evaluator":
        mode = _enum_mode(spec_value(spec, "eval_config.average_precision_mode"), "sample")
        default_iou = float(spec_value(spec, "eval_config.matching_iou_threshold", 0.0) or 0.5)
        confidence = float(spec_value(spec, "nms_config.confidence_threshold", confidence))
    elif family == "faster_rcnn":
        voc07 = spec_value(spec, "evaluation_config.use_voc07_11point_metric", False)
        mode = "sample" if voc07 is True or str(voc07).lower() == "true" else "integrate"
        default_iou = float(spec_value(spec, "evaluation_config.gt_matching_iou_threshold", 0.5) or 0.5)
        confidence = float(spec_value(spec, "evaluation_config.object_confidence_thres", confidence))
    if overrides.ap_mode:
        mode = overrides.ap_mode
    if overrides.iou is not None:
        default_iou, iou = overrides.iou, {}
    return TaoRules(family if family in ("detectnet_v2", "faster_rcnn") else "ap_evaluator", mode, iou, default_iou,
                    limits, confidence)


def _foreign_spec_classes(spec_path, rules: TaoRules, classes: list[str]) -> list[str]:
    """A spec whose per-class evaluation rules name none of the evaluated classes is another model's spec: its
    overlaps and box limits apply to nothing (only its AP mode does)."""
    named = sorted(set(rules.iou) | set(rules.box_limits))
    if not named or not classes or set(named) & {normalize_name(c) for c in classes}:
        return []
    return [f"--spec {spec_path}: its evaluation rules name {', '.join(named)}, none of the evaluated classes "
            f"({', '.join(classes)}): its per-class overlaps and box limits apply to nothing; is it this model's spec?"]


def _spec_mapping(spec) -> dict:
    return {normalize_name(k): normalize_name(v) for k, v in spec_map(as_spec_dict(spec), "dataset_config.target_class_mapping")}


def _eval_size(family: str, spec, bundle) -> tuple[int, int] | None:
    """DetectNet_v2 is evaluated at the network input size (TAO's images are that size)."""
    if family != "detectnet_v2":
        return None
    if bundle is not None:
        return bundle.net_width, bundle.net_height

    spec = as_spec_dict(spec)
    w = spec_value(spec, "augmentation_config.preprocessing.output_image_width")
    h = spec_value(spec, "augmentation_config.preprocessing.output_image_height")
    return (int(w), int(h)) if w and h else None


# --- scoring ----------------------------------------------------------------------------------------


@dataclass
class Scores:
    """One prediction set's numbers."""

    label: str
    tao_map: float
    tao_classes: list  # ClassCurve
    coco: dict
    mask_coco: dict | None = None

    def to_dict(self) -> dict:
        return {"source": self.label, "tao": {"mAP": self.tao_map, "per_class": [
            {"class": c.name, "AP": c.ap, "ground_truth": c.ground_truth, "true_positives": c.true_positives,
             "false_positives": c.false_positives, "counted_in_mAP": c.counted_in_map} for c in self.tao_classes]},
            "coco": self.coco, **({"coco_mask": self.mask_coco} if self.mask_coco is not None else {})}


def _as_arrays(values, shape=(-1,), dtype=np.float64) -> np.ndarray:
    return np.asarray(values, dtype).reshape(shape)


def score(dataset: Dataset, predictions: list, family: str, rules: TaoRules, label: str,
          eval_size: tuple[int, int] | None, coco_engine: str = "auto") -> Scores:
    """predictions: per sample (classes, boxes, scores[, masks]) or None (no detections)."""
    images = []
    for sample, pred in zip(dataset.samples, predictions):
        pc, pb, ps = (pred[0], pred[1], pred[2]) if pred is not None else (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
        gb = _as_arrays(sample.gt_boxes, (-1, 4))
        pb = _as_arrays(pb, (-1, 4))
        width, height = sample.width, sample.height
        if eval_size and width and height and (width, height) != tuple(eval_size):
            scale = np.array([eval_size[0] / width, eval_size[1] / height] * 2)
            gb, pb, (width, height) = gb * scale, pb * scale, eval_size
        if family == "ap_evaluator":  # TAO keeps predictions strictly above the confidence threshold
            keep = _as_arrays(ps) > rules.confidence_threshold
            pc, pb, ps = _as_arrays(pc, dtype=np.int64)[keep], pb[keep], _as_arrays(ps)[keep]
        images.append(ImageBoxes(width, height, _as_arrays(sample.gt_classes, dtype=np.int64), gb,
                                 _as_arrays(sample.gt_difficult, dtype=bool), _as_arrays(pc, dtype=np.int64), pb,
                                 _as_arrays(ps)))
    gt_document, results = coco_documents(dataset.samples, predictions, dataset.classes)
    with_masks = any("segmentation" in r for r in results)
    boxes_only = [{k: v for k, v in r.items() if k != "segmentation"} for r in results] if with_masks else results
    coco = coco_metrics(gt_document, boxes_only, engine=coco_engine)
    mask = None
    if any(r.get("segmentation") is not None for r in results) and any(a.get("segmentation") for a in gt_document["annotations"]):
        mask = coco_metrics(gt_document, [r for r in results if r.get("segmentation") is not None], "segm", coco_engine)
    if family == "coco":  # MaskRCNN, EfficientDet: TAO's evaluation is COCO's
        mask_or_box = coco
        curves = _coco_curves(dataset, mask_or_box)
        return Scores(label, mask_or_box["AP"], curves, coco, mask)
    tao_map, curves = evaluate_tao(images, dataset.classes, rules)
    return Scores(label, tao_map, curves, coco, mask)


def _coco_curves(dataset: Dataset, coco: dict) -> list:
    counts = np.bincount(np.concatenate([np.asarray(s.gt_classes, np.int64) for s in dataset.samples] or [np.zeros(0, np.int64)]),
                         minlength=len(dataset.classes))
    return [ClassCurve(name, max(coco["per_class"].get(name, {}).get("AP", 0.0), 0.0), int(counts[i]), 0, 0, 0,
                       np.zeros(0), np.zeros(0)) for i, name in enumerate(dataset.classes)]


# --- predictions ------------------------------------------------------------------------------------


def _model_predictions(bundle, runner, dataset: Dataset, request: EvaluateRequest, class_of_label: dict,
                       description: str) -> list:
    from tqdm import tqdm  # lazy: heavy

    # --threshold: the pre-cluster threshold to decode with (TAO evaluates below the deployed threshold).
    detector = Detector(bundle, runner, None, DEFAULT_MAX_DETECTIONS, pre_cluster_threshold=request.threshold)
    out = []
    samples = [s for s in dataset.samples]
    with tqdm(total=len(samples), unit="image", desc=description, disable=not request.progress) as bar:
        for batch in batches(iter(samples), request.batch_size):
            frames = []
            for sample in batch:
                if sample.image is None or not Path(sample.image).is_file():
                    raise TaostreamError(f"{sample.image}: image listed in {dataset.root} does not exist")
                frames.append(read_labelled_image(sample.image))
            for sample, frame, result in zip(batch, frames, detector.detect(frames, [str(s.image) for s in batch])):
                sample.height, sample.width = frame.shape[:2]
                keep = [d for d in result.detections if d.class_id in class_of_label]
                masks = [mask_rle(d.mask, (d.left, d.top, d.right, d.bottom), sample.width, sample.height)
                         if d.mask is not None else None for d in keep]
                out.append((np.asarray([class_of_label[d.class_id] for d in keep], np.int64),
                            np.asarray([[d.left, d.top, d.right, d.bottom] for d in keep], np.float64).reshape(-1, 4),
                            np.asarray([d.confidence for d in keep], np.float64),
                            masks if any(m is not None for m in masks) else None))
            bar.update(len(batch))
    return out


def _bundle_classes(bundle) -> tuple[list[str], dict]:
    """(evaluated class names, bundle class id -> index), the background row ('background', MaskRCNN's
    'BG') of networks that have one left out."""
    background = {normalize_name(BACKGROUND), normalize_name(MASK_RCNN_BACKGROUND)}
    names, index = [], {}
    for class_id, label in enumerate(bundle.labels):
        name = normalize_name(label)
        if bundle.network.has_background and name in background:  # the label writer's background rows
            continue
        index[class_id] = len(names)
        names.append(name)
    if not names:
        raise TaostreamError(f"{bundle.path}: labels.txt is empty; recreate the bundle with its spec")
    return names, index


# --- report -----------------------------------------------------------------------------------------


@dataclass
class EvaluateReport:
    dataset: Dataset
    family: str
    rules: TaoRules
    scores: list  # Scores, the reference first when --against
    prediction_problems: dict = field(default_factory=dict)
    against: dict | None = None
    notes: list = field(default_factory=list)  # one line each: inputs that do not fit together

    @property
    def passed(self) -> bool:
        return self.against is None or self.against["passed"]

    def to_dict(self) -> dict:
        d = self.dataset
        return {"dataset": {"kind": d.kind, "path": str(d.root), "images_evaluated": len(d.samples),
                            "classes": d.classes, "ground_truth_boxes": sum(len(s.gt_classes) for s in d.samples),
                            **d.problems()},
                "predictions": self.prediction_problems, "family": self.family, "rules": self.rules.describe(),
                "results": [s.to_dict() for s in self.scores], "against": self.against, "passed": self.passed,
                "notes": self.notes}

    def lines(self) -> list[str]:
        d, out = self.dataset, []
        problems = d.problems()
        out.append(f"dataset {d.root} ({d.kind}): {plural(len(d.samples), 'image')}, "
                   f"{plural(sum(len(s.gt_classes) for s in d.samples), 'ground-truth box')}")
        if problems["images_without_labels"]:
            out.append(f"  {plural(problems['images_without_labels'], 'image')} without a label file (not evaluated), e.g. "
                       + ", ".join(problems["images_without_labels_examples"][:3]))
        if problems["labels_without_images"]:
            out.append(f"  {plural(problems['labels_without_images'], 'label file')} without an image (not evaluated), e.g. "
                       + ", ".join(problems["labels_without_images_examples"][:3]))
        out.extend(f"  {note}" for note in self.notes)
        for entry in problems["unknown_classes"]:
            hint = f"; did you mean {' or '.join(entry['could_be'])}?" if entry["could_be"] else ""
            out.append(f"  unknown class '{entry['name']}' ({plural(entry['count'], 'box')}, not evaluated){hint}")
        for key, value in self.prediction_problems.items():
            if key.endswith("examples") or not value:
                continue
            if key == "deepstream_frame_files":
                out.append(f"  predictions: DeepStream frame files of stream {value['stream']}, "
                           f"{value['frames_matched']} matched ({value['rule']})")
                continue
            if key == "unknown_classes":
                for entry in value:
                    hint = f"; did you mean {' or '.join(entry['could_be'])}?" if entry["could_be"] else ""
                    out.append(f"  predictions: unknown class '{entry['name']}' ({plural(entry['count'], 'box')}){hint}")
            elif isinstance(value, int):
                out.append(f"  predictions: {value} {key.replace('_', ' ')}")
        mode = self.rules.mode.upper()
        what = "COCO AP" if self.family == "coco" else f"TAO {self.family} {mode}"
        head = f"{'class':<20}{'GT':>7}"
        for s in self.scores:
            head += f"{s.label[:14]:>16}"
        out.append(f"per-class AP ({what}; then COCO AP@[.5:.95] by {self.scores[0].coco['evaluated_by']})")
        out.append(head)
        for i, name in enumerate(d.classes):
            row = f"{name[:19]:<20}{self.scores[0].tao_classes[i].ground_truth:>7}"
            for s in self.scores:
                coco = s.coco["per_class"].get(name, {}).get("AP", -1.0)
                row += f"{s.tao_classes[i].ap:>9.4f}/{_fmt(coco):>6}"
            out.append(row)
        for s in self.scores:
            c = s.coco
            line = (f"{s.label}: mAP {s.tao_map:.4f} ({what}); COCO AP {_fmt(c['AP'])}, AP50 {_fmt(c['AP50'])}, "
                    f"AP75 {_fmt(c['AP75'])}")
            if s.mask_coco is not None:
                line += f"; mask AP {_fmt(s.mask_coco['AP'])}"
            out.append(line)
        if self.against is not None:
            a = self.against
            out.append(f"{'PASS' if a['passed'] else 'FAIL'}: mAP drop {a['map_drop']:+.4f} "
                       f"({a['reference_map']:.4f} -> {a['candidate_map']:.4f}), allowed {a['max_drop']:g}; "
                       f"COCO AP drop {a['coco_ap_drop']:+.4f}")
        return out


def _fmt(value: float) -> str:
    return "n/a" if value is None or value < 0 else f"{value:.3f}"


# --- the command ------------------------------------------------------------------------------------


def run_evaluate(request: EvaluateRequest) -> EvaluateReport:
    if (request.bundle is None) == (request.predictions is None):
        raise TaostreamError("give either --bundle BUNDLE (run the model) or --predictions DIR (KITTI prediction files)")
    if request.against is not None:
        if request.against != "fp32":
            raise TaostreamError(f"--against {request.against}: only 'fp32' (the bundle's FP32 CPU reference) is supported")
        if request.bundle is None:
            raise TaostreamError("--against fp32 needs --bundle: the FP32 reference is the bundle's CPU model")
    if not 0.0 <= request.max_drop <= 1.0:  # also refuses NaN
        raise TaostreamError(f"--max-drop {request.max_drop}: an mAP difference between 0 and 1, e.g. 0.01")
    require_batch_size(request.batch_size)
    require_fraction(request.threshold)
    require_iou(request.iou)
    if request.ap_mode and request.ap_mode not in ("sample", "integrate"):
        raise TaostreamError(f"--ap-mode {request.ap_mode}: use sample or integrate")
    spec = None
    if request.spec is not None:
        check_input_file(request.spec, "--spec", "the TAO experiment spec file")
        spec = load_spec_file(request.spec)
    bundle = load_bundle(request.bundle) if request.bundle else None
    if bundle is not None:
        network = bundle.network
    elif request.network:
        network = get_network(request.network)
    else:
        network = None
    if network is not None and network.label_rule == "characters":  # was scored as a detector finding nothing
        raise TaostreamError(f"{request.bundle or '--network ' + str(request.network)}: LPRNet reads plate strings, which "
                             "evaluate does not score (mAP is for detectors, accuracy for classifiers); compare the "
                             "plates in `taostream infer BUNDLE IMAGES -o OUT`'s results.json with your own")
    family = FAMILY_OF_LABEL_RULE.get(network.label_rule, "ap_evaluator") if network else "ap_evaluator"
    if family == "classification":
        if bundle is None:
            raise TaostreamError("classification: give --bundle (KITTI prediction files hold boxes, not classes)")
        if request.plots is not None:
            raise TaostreamError("--plots draws precision-recall curves of detectors; leave it out for a classifier")
        if request.top_k < 1:
            raise TaostreamError(f"--top-k {request.top_k}: give 1 or more")

        return run_classification(bundle, request, _model_runs(bundle, request))
    rules = rules_for(family, spec, request)
    mapping = _spec_mapping(spec)
    classes, class_of_label = (None, {})
    if bundle is not None:
        classes, class_of_label = _bundle_classes(bundle)
    elif spec is not None and mapping:
        classes = sorted(set(mapping.values()))
    dataset = load_dataset(Path(request.dataset), classes, mapping, request.images)
    if not dataset.samples:
        raise TaostreamError(f"{request.dataset}: no image has a label file (images/<name>.* with labels/<name>.txt)")
    _require_known_classes(request.dataset, dataset)
    if not any(sample.gt_classes for sample in dataset.samples):
        ignored = sum(dataset.names.ignored.values())
        raise TaostreamError(f"{request.dataset}: no ground-truth box in its {plural(len(dataset.samples), 'labelled image')} "
                             f"({'only ' + plural(ignored, 'DontCare box') if ignored else 'every label file is empty'}): "
                             "an mAP measures nothing without objects (and an --against drop would be 0); give images "
                             "with their objects labelled")
    eval_size = _eval_size(family, spec, bundle)
    if eval_size and request.predictions is not None:
        for sample in dataset.samples:
            if not (sample.width and sample.height) and sample.image is not None and sample.image.is_file():
                sample.width, sample.height = image_size(sample.image)
    if family == "faster_rcnn" and request.predictions is not None:
        for sample in dataset.samples:
            if not (sample.width and sample.height) and sample.image is not None and sample.image.is_file():
                sample.width, sample.height = image_size(sample.image)

    report = EvaluateReport(dataset, family, rules, [], notes=_foreign_spec_classes(request.spec, rules, dataset.classes))
    if request.predictions is not None:
        if request.mux_size is not None:
            for sample in dataset.samples:
                if not (sample.width and sample.height) and sample.image is not None and sample.image.is_file():
                    sample.width, sample.height = image_size(sample.image)
        found = read_predictions(Path(request.predictions), dataset, request.stream, request.mux_size)
        _require_known_classes(request.predictions, dataset, found.names,
                               any(len(v[0]) for v in found.by_stem.values()), "prediction")
        report.prediction_problems = _prediction_problems(found, dataset)
        predictions = [found.by_stem.get(s.stem) for s in dataset.samples]
        report.scores.append(score(dataset, predictions, family, rules, "predictions", eval_size, request.coco_engine))
        _plots(request, report)
        return report

    runs = _model_runs(bundle, request)
    require_coco_library(request.coco_engine)  # before the model runs over the whole dataset
    for label, make, description in runs:
        with make() as runner:
            predictions = _model_predictions(bundle, runner, dataset, request, class_of_label, label)
        report.scores.append(score(dataset, predictions, family, rules, label, eval_size, request.coco_engine))
    report.prediction_problems = {"source": [d for _, _, d in runs]}
    if request.against:
        ref, cand = report.scores
        drop = ref.tao_map - cand.tao_map
        coco_drop = max(ref.coco["AP"], 0.0) - max(cand.coco["AP"], 0.0)
        report.against = {"reference": ref.label, "candidate": cand.label, "reference_map": ref.tao_map,
                          "candidate_map": cand.tao_map, "map_drop": drop, "coco_ap_drop": coco_drop,
                          "max_drop": request.max_drop, "passed": bool(drop <= request.max_drop + 1e-12)}
    _plots(request, report)
    return report


def _require_known_classes(path, dataset: Dataset, names=None, any_known: bool | None = None,
                           what: str = "ground-truth") -> None:
    """Boxes whose every class name is unknown ("vehicle" for a model of "car") measure nothing: every AP
    would be 0 (or n/a) and an --against drop 0, so they are refused instead of scored."""
    names = names if names is not None else dataset.names
    if any_known is None:
        any_known = any(sample.gt_classes for sample in dataset.samples)
    if not names.unknown or any_known:
        return
    found = ", ".join(f"'{e['name']}' ({plural(e['count'], 'box')}"
                      + (f"; did you mean {' or '.join(e['could_be'])}?" if e["could_be"] else "") + ")"
                      for e in names.report(dataset.classes, dataset.mapping)[:5])
    raise TaostreamError(f"{path}: no {what} box has one of the evaluated classes ({', '.join(dataset.classes)}); "
                         f"its classes are {found}: rename them in the label files, or map them with the spec's "
                         "dataset_config.target_class_mapping (--spec)")


def _model_runs(bundle, request: EvaluateRequest) -> list:
    """(label, runner context factory, description): the FP32 CPU reference first with --against,
    then the candidate (verify's: BUNDLE/model.onnx or --onnx, an engine, a Triton model)."""
    verify_like = VerifyRequest(bundle=bundle.path, inputs=[], backend=request.backend, onnx=request.onnx,
                                engine=request.engine, url=request.url, protocol=request.protocol,
                                model_name=request.model_name)
    runs = []
    if request.against:
        runs.append(("fp32", lambda: cpu_runner(bundle.onnx_for_cpu()), "FP32 CPU reference"))
    runner_cm, description, precision = _candidate(bundle, verify_like)
    runs.append((f"{request.backend}:{precision}", lambda: runner_cm, description))
    return runs


def _prediction_problems(found: Predictions, dataset: Dataset) -> dict:
    return {"deepstream_frame_files": found.deepstream,"prediction_files_without_labelled_image": len(found.files_without_images),
            "prediction_files_without_labelled_image_examples": found.files_without_images[:10],
            "images_without_prediction_files": len(found.images_without_files),
            "images_without_prediction_files_examples": found.images_without_files[:10],
            "unknown_classes": found.names.report(dataset.classes, dataset.mapping)}


def _plots(request: EvaluateRequest, report: EvaluateReport) -> None:
    if request.plots is None:
        return
    try:
        import matplotlib  # lazy: optional (plots)

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt  # lazy: optional (plots)
    except ImportError:
        raise MissingDependencyError("matplotlib", "plots", "--plots (precision-recall PNGs)") from None

    folder = Path(request.plots)
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(report.dataset.classes):
        figure, axes = plt.subplots(figsize=(5, 4), dpi=100)
        for s in report.scores:
            curve = s.tao_classes[i]
            axes.plot(curve.recall, curve.precision, label=f"{s.label} AP {curve.ap:.3f}")
        axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
                 title=f"{name} ({report.rules.mode.upper()}, {report.family})")
        axes.grid(True)
        axes.legend(loc="lower left")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or f"class_{i}"
        atomic_write_bytes(folder / f"pr_{safe}.png", buffer.getvalue())
