"""Per-class AP and mAP computed the way TAO's own `evaluate` computes them, network family by family.

TAO has three detection evaluators (nvidia_tao_tf1, read for this; no code copied):

- ``detectnet_v2`` (``detectnet_v2/evaluation/compute_metrics.py``): ground truth and predictions
  outside the class's ``evaluation_box_config`` height/width limits are dropped, boxes are rounded to
  whole pixels, IoU counts border pixels (``w = x2 - x1 + 1``). Per class, predictions in descending
  confidence take the ground-truth box of their image they overlap most (matched or not): below the
  class's ``minimum_detection_ground_truth_overlap`` or already taken -> false positive. SAMPLE is the
  11-point VOC2007 AP; INTEGRATE sums, over the distinct recall values r_i, the best precision at
  recall >= r_i times (r_{i+1} - r_i): the stretch from 0 to the first recall and the last recall
  value carry no area, so one prediction per class can never score above 0 (TAO's own numbers).
- ``ap_evaluator`` (``common/evaluator/ap_evaluator.py``; SSD, DSSD, RetinaNet, YOLOv3, YOLOv4,
  YOLOv4-tiny): per image, predictions in descending confidence take the best still-unmatched
  ground-truth box of their class (IoU without the +1); a match with a "difficult" box (KITTI
  occluded field != 0) counts neither way. Unmatched ground truth enters as a positive with score 0.
  Precision/recall count only entries scoring >= the confidence threshold; SAMPLE: 11 points
  (``linspace(0, 1, 11)``), INTEGRATE: the VOC2010+ area under the precision envelope.
- ``faster_rcnn`` (``faster_rcnn/utils/utils.py``): like ap_evaluator, but predictions are truncated
  to whole pixels and clipped to the image, compared with every ground-truth box of their class (the
  best, matched or not: taken -> false positive), IoU with the +1, matching a difficult box drops the
  prediction; the 11 points are ``arange(0, 1.1, 0.1)``; the mAP averages only the classes that have
  a prediction or an unmatched ground-truth box.

Inputs are per-image numpy arrays (``ImageBoxes``); everything here is plain numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FAMILIES = ("detectnet_v2", "ap_evaluator", "faster_rcnn")
MODES = ("sample", "integrate")


@dataclass(frozen=True)
class BoxLimits:
    """DetectNet_v2 ``evaluation_box_config`` for one class (pixels)."""

    minimum_height: float = 0.0
    maximum_height: float = math.inf
    minimum_width: float = 0.0
    maximum_width: float = math.inf

    def keep(self, boxes: np.ndarray) -> np.ndarray:
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        return ((h >= self.minimum_height) & (w >= self.minimum_width)
                & (h <= self.maximum_height) & (w <= self.maximum_width))


@dataclass(frozen=True)
class TaoRules:
    """How one TAO network family turns matches into AP (read from the spec's eval config)."""

    family: str = "ap_evaluator"
    mode: str = "sample"
    iou: dict = field(default_factory=dict)  # class name -> matching IoU; missing -> default_iou
    default_iou: float = 0.5
    box_limits: dict = field(default_factory=dict)  # detectnet_v2: class name -> BoxLimits
    confidence_threshold: float = 0.01  # ap_evaluator / faster_rcnn: entries below count for nothing (TAO default)
    num_recall_points: int = 11

    def iou_for(self, name: str) -> float:
        return float(self.iou.get(name, self.default_iou))

    def describe(self) -> dict:
        return {"family": self.family, "average_precision_mode": self.mode.upper(),
                "matching_iou": {**{k: float(v) for k, v in self.iou.items()}, "default": self.default_iou},
                "box_limits": {k: vars(v) for k, v in self.box_limits.items()},
                "confidence_threshold": self.confidence_threshold}


@dataclass
class ImageBoxes:
    """One image's ground truth and predictions; classes are indices into the class list."""

    width: float
    height: float
    gt_classes: np.ndarray  # [G] int
    gt_boxes: np.ndarray  # [G, 4] x1 y1 x2 y2
    gt_difficult: np.ndarray  # [G] bool
    pred_classes: np.ndarray  # [P] int
    pred_boxes: np.ndarray  # [P, 4]
    pred_scores: np.ndarray  # [P]


@dataclass
class ClassCurve:
    """One class's result: AP, ground-truth count and the precision/recall curve TAO computed."""

    name: str
    ap: float
    ground_truth: int
    predictions: int
    true_positives: int
    false_positives: int
    precision: np.ndarray
    recall: np.ndarray
    counted_in_map: bool = True


# --- IoU --------------------------------------------------------------------------------------------


def iou_matrix(a: np.ndarray, b: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """[len(a), len(b)] IoU; ``plus_one``: border pixels belong to the box (w = x2 - x1 + 1)."""
    d = 1.0 if plus_one else 0.0
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + d
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + d
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    union = ((a[:, 2] - a[:, 0] + d) * (a[:, 3] - a[:, 1] + d))[:, None] \
        + ((b[:, 2] - b[:, 0] + d) * (b[:, 3] - b[:, 1] + d))[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


# --- AP from a precision/recall curve ---------------------------------------------------------------


def ap_sample(precision: np.ndarray, recall: np.ndarray, points: np.ndarray) -> float:
    """Mean over ``points`` of the best precision at recall >= point (0 where none reaches it)."""
    total = 0.0
    for t in points:
        reached = precision[recall >= t]
        total += float(reached.max()) if reached.size else 0.0
    return total / len(points)


def ap_integrate_voc(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC2010+: area under the monotone precision envelope, with (0, 0) and (1, 0) sentinels."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def ap_integrate_detectnet(precision: np.ndarray, recall: np.ndarray) -> float:
    """DetectNet_v2's INTEGRATE: sum over distinct recalls r_i (i < last) of
    max(precision at recall >= r_i) * (r_{i+1} - r_i)."""
    if recall.size == 0 or not np.all(np.isfinite(recall)):
        return 0.0
    unique, first = np.unique(recall, return_index=True)
    total, best = 0.0, 0.0
    for i in range(len(unique) - 2, -1, -1):
        best = max(float(precision[first[i]:first[i + 1]].max()), best)
        total += best * float(unique[i + 1] - unique[i])
    return total


def curve_ap(precision: np.ndarray, recall: np.ndarray, rules: TaoRules) -> float:
    if rules.mode not in MODES:
        raise ValueError(f"average_precision_mode {rules.mode}: use sample or integrate")
    if rules.mode == "sample":
        if rules.family == "faster_rcnn":
            points = np.arange(0.0, 1.1, 0.1)  # faster_rcnn's own 11 points (0.30000000000000004, ...)
        else:
            points = np.linspace(0.0, 1.0, rules.num_recall_points)
        with np.errstate(invalid="ignore"):
            return ap_sample(precision, recall, points)
    if rules.family == "detectnet_v2":
        return ap_integrate_detectnet(precision, recall)
    return ap_integrate_voc(precision, recall)


# --- family: detectnet_v2 ---------------------------------------------------------------------------


def _detectnet_v2(images: list[ImageBoxes], names: list[str], rules: TaoRules) -> list[ClassCurve]:
    curves = []
    for c, name in enumerate(names):
        limits = rules.box_limits.get(name, BoxLimits())
        threshold = rules.iou_for(name)
        scores, flags, n_gt = [], [], 0
        for image in images:
            gt = image.gt_boxes[image.gt_classes == c]
            gt = np.round(gt[limits.keep(gt)]) if len(gt) else gt.reshape(0, 4)
            n_gt += len(gt)
            mine = image.pred_classes == c
            if not mine.any():
                continue
            boxes, conf = image.pred_boxes[mine], image.pred_scores[mine]
            keep = limits.keep(boxes)
            boxes, conf = np.round(boxes[keep]), conf[keep]
            order = np.argsort(-conf.astype(np.float32), kind="stable")
            boxes, conf = boxes[order], conf[order]
            tp = np.zeros(len(conf), bool)
            if len(gt) and len(conf):
                overlaps = iou_matrix(boxes, gt, plus_one=True)
                best = overlaps.argmax(axis=1)
                taken = np.zeros(len(gt), bool)
                for i, j in enumerate(best):
                    if overlaps[i, j] >= threshold and not taken[j]:
                        tp[i], taken[j] = True, True
            scores.append(conf)
            flags.append(tp)
        curves.append(_curve(name, scores, flags, n_gt, rules))
    return curves


# --- family: ap_evaluator (SSD, DSSD, RetinaNet, YOLO) and faster_rcnn ------------------------------


def _iou_py(box, others) -> list[float]:
    """IoU (no +1) of one box with each of a few others, in plain Python (faster than numpy for
    the handful of boxes one image holds; the same float64 arithmetic as iou_matrix)."""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    out = []
    for a1, b1, a2, b2 in others:
        w = min(x2, a2) - max(x1, a1)
        h = min(y2, b2) - max(y1, b1)
        inter = (w if w > 0 else 0.0) * (h if h > 0 else 0.0)
        union = area + (a2 - a1) * (b2 - b1) - inter
        out.append(inter / union if union > 0 else 0.0)
    return out


def _ap_evaluator_image(image: ImageBoxes, n_classes: int, threshold: float):
    """(per class: list of (score, is_positive)) for one image, ap_evaluator's rules. Classes are
    matched independently (ground truth is per class), each in descending confidence."""
    out = [([], []) for _ in range(n_classes)]
    gt_classes, pred_classes = image.gt_classes.tolist(), image.pred_classes.tolist()
    gt_boxes, pred_boxes = image.gt_boxes.tolist(), image.pred_boxes.tolist()
    hard_all, scores_all = image.gt_difficult.tolist(), image.pred_scores.tolist()
    for c in sorted(set(gt_classes) | set(pred_classes)):
        scores_out, flags_out = out[c]
        mine = sorted((i for i, k in enumerate(pred_classes) if k == c), key=lambda i: -scores_all[i])
        gts = [j for j, k in enumerate(gt_classes) if k == c]
        if not gts:
            scores_out.extend(scores_all[i] for i in mine); flags_out.extend([False] * len(mine))
            continue
        others = [gt_boxes[j] for j in gts]
        hard = [hard_all[j] for j in gts]
        free = [True] * len(gts)
        for i in mine:
            row = _iou_py(pred_boxes[i], others)
            best, j = -1.0, 0
            for k, value in enumerate(row):  # argmax of IoU x still-free (first maximum, as numpy)
                value = value if free[k] else 0.0
                if value > best:
                    best, j = value, k
            if best >= threshold:
                free[j] = False
                if not hard[j]:
                    scores_out.append(scores_all[i]); flags_out.append(True)
            else:
                scores_out.append(scores_all[i]); flags_out.append(False)
        missed = sum(1 for f, h in zip(free, hard) if f and not h)
        scores_out.extend([0.0] * missed); flags_out.extend([True] * missed)
    return out


def _faster_rcnn_image(image: ImageBoxes, n_classes: int, threshold: float):
    out = [([], []) for _ in range(n_classes)]
    w, h = int(image.width), int(image.height)
    boxes = np.trunc(image.pred_boxes).astype(np.int64) if len(image.pred_boxes) else np.zeros((0, 4), np.int64)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, max(w - 1, 0))
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, max(h - 1, 0))
    gts = np.trunc(image.gt_boxes).astype(np.int64) if len(image.gt_boxes) else np.zeros((0, 4), np.int64)
    matched = np.zeros(len(gts), bool)
    for p in np.argsort(-image.pred_scores, kind="stable"):
        c, score = int(image.pred_classes[p]), float(image.pred_scores[p])
        same = np.where(image.gt_classes == c)[0]
        best, best_iou = -1, -1.0
        if len(same):
            overlaps = _frcnn_iou(boxes[p], gts[same])
            k = int(np.argmax(overlaps))
            best, best_iou = int(same[k]), float(overlaps[k])
        if best >= 0 and best_iou >= threshold:
            if image.gt_difficult[best]:
                continue  # the prediction is dropped
            if not matched[best]:
                matched[best] = True
                out[c][0].append(score); out[c][1].append(True)
                continue
        out[c][0].append(score); out[c][1].append(False)
    for j in np.where(~matched & ~image.gt_difficult.astype(bool))[0]:
        c = int(image.gt_classes[j])
        out[c][0].append(0.0); out[c][1].append(True)
    return out


def _frcnn_iou(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """faster_rcnn's calc_iou against each row: 0 for degenerate boxes, +1 pixels, union + 1e-6."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if x1 >= x2 or y1 >= y2:
        return np.zeros(len(gts))
    g = gts.astype(np.float64)
    iw = np.minimum(x2, g[:, 2]) - np.maximum(x1, g[:, 0]) + 1.0
    ih = np.minimum(y2, g[:, 3]) - np.maximum(y1, g[:, 1]) + 1.0
    inter = np.where((iw < 0) | (ih < 0), 0.0, iw * ih)
    union = (x2 - x1 + 1.0) * (y2 - y1 + 1.0) + (g[:, 2] - g[:, 0] + 1.0) * (g[:, 3] - g[:, 1] + 1.0) - inter
    out = inter / (union + 1e-6)
    degenerate = (g[:, 0] >= g[:, 2]) | (g[:, 1] >= g[:, 3])
    return np.where(degenerate, 0.0, out)


def _positive_list_family(images: list[ImageBoxes], names: list[str], rules: TaoRules) -> list[ClassCurve]:
    per_class_scores = [[] for _ in names]
    per_class_flags = [[] for _ in names]
    present = np.zeros(len(names), bool)
    for image in images:
        if rules.family == "faster_rcnn":
            out = _faster_rcnn_image(image, len(names), rules.default_iou)
        else:
            out = _ap_evaluator_image(image, len(names), rules.default_iou)
        for c, (scores, flags) in enumerate(out):
            if scores:
                present[c] = True
                per_class_scores[c].append(np.asarray(scores, np.float64))
                per_class_flags[c].append(np.asarray(flags, bool))
    curves = []
    for c, name in enumerate(names):
        scores = np.concatenate(per_class_scores[c]) if per_class_scores[c] else np.zeros(0)
        flags = np.concatenate(per_class_flags[c]) if per_class_flags[c] else np.zeros(0, bool)
        order = np.argsort(-scores, kind="stable")
        scores, flags = scores[order], flags[order]
        counted = scores >= rules.confidence_threshold
        tp = np.cumsum(flags & counted)
        fp = np.cumsum(~flags & counted)
        npos = int(flags.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = tp / npos if npos > 0 else np.zeros(len(tp))
        predictions = int((~flags | (scores > 0)).sum())
        curve = ClassCurve(name, curve_ap(precision, recall, rules), npos, predictions,
                           int(tp[-1]) if len(tp) else 0, int(fp[-1]) if len(fp) else 0, precision, recall)
        if rules.family == "faster_rcnn":
            curve.counted_in_map = bool(present[c])
        curves.append(curve)
    return curves


def _curve(name: str, scores: list, flags: list, n_gt: int, rules: TaoRules) -> ClassCurve:
    scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    flags = np.concatenate(flags) if flags else np.zeros(0, bool)
    order = np.argsort(-scores.astype(np.float32), kind="stable")
    flags = flags[order]
    tp, fp = np.cumsum(flags), np.cumsum(~flags)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = tp / n_gt if n_gt else np.full(len(tp), np.nan)
    ap = curve_ap(precision, recall, rules)
    ap = 0.0 if math.isnan(ap) else ap
    return ClassCurve(name, ap, n_gt, len(flags), int(tp[-1]) if len(tp) else 0, int(fp[-1]) if len(fp) else 0,
                      precision, np.nan_to_num(recall, nan=0.0))


def evaluate_tao(images: list[ImageBoxes], names: list[str], rules: TaoRules) -> tuple[float, list[ClassCurve]]:
    """(mAP, per-class curves) by the family's rules."""
    if rules.family not in FAMILIES:
        raise ValueError(f"unknown TAO evaluation family {rules.family}")
    if rules.family == "detectnet_v2":
        curves = _detectnet_v2(images, names, rules)
    else:
        curves = _positive_list_family(images, names, rules)
    counted = [c.ap for c in curves if c.counted_in_map]
    return (float(np.mean(counted)) if counted else 0.0), curves
