"""Numpy references of the TensorRT plugins in TAO graphs, and a CPU runner for graphs that hold them.

Polygraphy's pluginref idea: each plugin op name maps to a numpy function with the plugin's
documented semantics; ``run_with_plugin_references`` executes an ONNX graph containing plugin nodes
by running the standard parts with ONNX Runtime and the plugin nodes with these functions. It runs
the ORIGINAL TAO graph on a CPU, which is the oracle the modernized graph is compared with. It splits
the graph on every call; plugins/pipeline_compile.py makes the same split once (runners, the
Triton CPU model) and is tested against this function.

This module's top-level imports are numpy-only: the Triton CPU model carries a copy of it (and of
plugins/maskrcnn.py) to run a saved plugin pipeline where taostream is not installed.

A reference is ``fn(attrs: dict, inputs: list[np.ndarray]) -> list[np.ndarray]`` (one array per
plugin output). The spec is the TensorRT OSS source (release 10.16, the last with these plugins):
plugin/{batchTile,resizeNearest,nms,batchedNMS,efficientNMS}Plugin and plugin/common/kernels
(decodeBBoxes.cu, sortScoresPerClass.cu, allClassNMS.cu, sortScoresPerImage.cu,
gatherTopDetections.cu, gatherNMSOutputs.cu, efficientNMSInference.cu). Facts as read there:

NMS_TRT / NMSDynamic_TRT (DetectionOutput)
- inputs by ``inputOrder`` = (loc, conf, prior) positions; loc [N, P*Cl*4(,1,1)] laid out (P, Cl, 4),
  Cl = 1 when shareLocation else numClasses; conf [N, P*C(,1,1)] laid out (P, C); prior
  [1 or N, 2, P*4, 1]: channel 0 boxes (xmin, ymin, xmax, ymax), channel 1 variances. The static
  plugin reads one prior set for the whole batch (isBatchAgnostic), the dynamic one per image.
- codeType is CodeTypeSSD: CORNER = 0, CENTER_SIZE = 1, CORNER_SIZE = 2, TF_CENTER = 3 (TAO writes 1).
- scores: sigmoid when confSigmoid; a candidate needs score > confidenceThreshold (strict) and a class
  other than backgroundLabelId; per class the candidates are sorted by score descending with a stable
  sort (CUB radix sort: equal scores keep prior order) and the first topK go to NMS.
- NMS per class, greedy: a candidate is dropped when its IoU with an already kept box of its class is
  > nmsThreshold. IoU sorts each box's corners first; when not isNormalized the plugin uses Caffe's
  +1 pixel convention (areas (w+1)(h+1), intersection +1).
- all kept (class, box) pairs of an image are sorted by score descending, stable over the (class,
  rank in class) order, i.e. equal scores: lower class first, then lower prior index; the first
  keepTopK are written as (image_id, label, score, xmin, ymin, xmax, ymax) with the box clamped to
  [0, 1] (__saturatef); unused rows are (image_id, -1, 0, 0, 0, 0, 0). The keep count output is an
  FP32 tensor [N, 1, 1, 1] whose 4 bytes hold the int32 count.
- keepTopK > topK makes the plugin write nothing at all: the reference refuses that configuration.

BatchedNMS_TRT / BatchedNMSDynamic_TRT: boxes [N, P, Cl, 4], scores [N, P, C]; the same sort, NMS
and tie rule, no sigmoid, IoU +1 convention only when not isNormalized and caffeSemantics (default
true) — and, a kernel quirk, box areas use (w+1)(h+1) whenever not isNormalized; outputs
num_detections int32 [N, 1] ([N] for the static plugin), boxes [N, keepTopK, 4] clamped to [0, 1]
when clipBoxes (default true), scores [N, keepTopK], classes as float [N, keepTopK]; padding rows are
box 0, score 0, class -1. scoreBits only affects FP16 sorting and is ignored.

EfficientNMS_TRT: see ``efficient_nms_reference``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

Reference = Callable[[dict, list], list]
PLUGIN_REFERENCES: dict[str, Reference] = {}

CORNER, CENTER_SIZE, CORNER_SIZE, TF_CENTER = 0, 1, 2, 3
CODE_TYPE_NAMES = {CORNER: "CORNER", CENTER_SIZE: "CENTER_SIZE", CORNER_SIZE: "CORNER_SIZE", TF_CENTER: "TF_CENTER"}
# EfficientNMS keeps this many top-scoring candidates per image for NMS (5000 on GPUs with 64K
# registers per block, 2000 on Jetson TX1/TX2).
EFFICIENT_NMS_SELECTED_BOXES = 5000


def register_reference(op_names, fn: Reference) -> None:
    """Register ``fn`` as the numpy reference of one op name or of each name in a sequence."""
    for name in [op_names] if isinstance(op_names, str) else op_names:
        PLUGIN_REFERENCES[name] = fn


def reference_for(op: str) -> Reference | None:
    return PLUGIN_REFERENCES.get(op) or PLUGIN_REFERENCES.get(op.lstrip("_"))


def implementation_for(op: str) -> Reference | None:
    """The fastest CPU implementation of a plugin op: the C++ host library's (plugins/host.py)
    where it is built and has the op, else the numpy reference."""
    try:
        from taostream.plugins.host import host_implementation_for  # lazy: not in the Triton CPU model's copy
    except ImportError:  # a standalone copy (the Triton CPU model's) has no taostream to import
        return reference_for(op)
    return host_implementation_for(op) or reference_for(op)


# ----------------------------------------------------------------------------- attributes

def _scalar(value, default=None):
    if value is None:
        return default
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value).reshape(-1)[0].item()
    if isinstance(value, bytes):
        return value.decode()
    return value


@dataclass(frozen=True)
class NmsParameters:
    """The fields of NMS_TRT (DetectionOutputParameters) and BatchedNMS_TRT (NMSParameters)."""

    share_location: bool
    background_label_id: int
    num_classes: int
    top_k: int
    keep_top_k: int
    score_threshold: float
    iou_threshold: float
    is_normalized: bool
    caffe_semantics: bool = True
    clip_boxes: bool = True
    conf_sigmoid: bool = False
    variance_encoded_in_target: bool = False
    code_type: int = TF_CENTER
    input_order: tuple[int, int, int] = (0, 2, 1)


def nms_parameters(attrs: dict) -> NmsParameters:
    """NMS_TRT attributes with the creator's defaults (codeType TF_CENTER, inputOrder 0,2,1)."""
    _require(attrs, ("numClasses", "topK", "keepTopK"), "NMS_TRT")
    order = attrs.get("inputOrder", (0, 2, 1))
    return NmsParameters(
        share_location=bool(_scalar(attrs.get("shareLocation"), 1)),
        background_label_id=int(_scalar(attrs.get("backgroundLabelId"), 0)),
        num_classes=int(_scalar(attrs["numClasses"])),
        top_k=int(_scalar(attrs["topK"])),
        keep_top_k=int(_scalar(attrs["keepTopK"])),
        score_threshold=float(_scalar(attrs.get("confidenceThreshold"), 0.0)),
        iou_threshold=float(_scalar(attrs.get("nmsThreshold"), 0.5)),
        is_normalized=bool(_scalar(attrs.get("isNormalized"), 1)),
        caffe_semantics=True,
        clip_boxes=True,
        conf_sigmoid=bool(_scalar(attrs.get("confSigmoid"), 0)),
        variance_encoded_in_target=bool(_scalar(attrs.get("varianceEncodedInTarget"), 0)),
        code_type=int(_scalar(attrs.get("codeType"), TF_CENTER)),
        input_order=tuple(int(i) for i in np.asarray(order).reshape(-1)),
    )


def batched_nms_parameters(attrs: dict) -> NmsParameters:
    """BatchedNMS_TRT attributes with the creator's defaults (isNormalized, clipBoxes, caffeSemantics true)."""
    _require(attrs, ("shareLocation", "backgroundLabelId", "numClasses", "topK", "keepTopK",
                     "scoreThreshold", "iouThreshold"), "BatchedNMS_TRT")
    return NmsParameters(
        share_location=bool(_scalar(attrs["shareLocation"])),
        background_label_id=int(_scalar(attrs["backgroundLabelId"])),
        num_classes=int(_scalar(attrs["numClasses"])),
        top_k=int(_scalar(attrs["topK"])),
        keep_top_k=int(_scalar(attrs["keepTopK"])),
        score_threshold=float(_scalar(attrs["scoreThreshold"])),
        iou_threshold=float(_scalar(attrs["iouThreshold"])),
        is_normalized=bool(_scalar(attrs.get("isNormalized"), 1)),
        caffe_semantics=bool(_scalar(attrs.get("caffeSemantics"), 1)),
        clip_boxes=bool(_scalar(attrs.get("clipBoxes"), 1)),
    )


def _require(attrs: dict, names, op: str) -> None:
    missing = [n for n in names if n not in attrs]
    if missing:
        raise ValueError(f"{op} node lacks the attribute(s) {', '.join(missing)}")


def check_nms_parameters(p: NmsParameters, op: str) -> None:
    if p.keep_top_k > p.top_k:
        raise ValueError(f"{op}: keepTopK ({p.keep_top_k}) > topK ({p.top_k}): the plugin writes no detections")
    if p.top_k <= 0 or p.keep_top_k <= 0 or p.num_classes <= 0:
        raise ValueError(f"{op}: numClasses, topK and keepTopK must be positive")
    if p.code_type not in CODE_TYPE_NAMES:
        raise ValueError(f"{op}: codeType {p.code_type} is not one of 0 CORNER, 1 CENTER_SIZE, 2 CORNER_SIZE, 3 TF_CENTER")


# ----------------------------------------------------------------------------- IoU and NMS

def plugin_iou(box: np.ndarray, others: np.ndarray, normalized: bool, caffe: bool) -> np.ndarray:
    """IoU of ``box`` [4] with ``others`` [M, 4] as allClassNMS.cu computes it (float32)."""
    f = np.float32
    a = np.concatenate([np.minimum(box[:2], box[2:]), np.maximum(box[:2], box[2:])]).astype(f)
    b = np.concatenate([np.minimum(others[:, :2], others[:, 2:]), np.maximum(others[:, :2], others[:, 2:])], 1).astype(f)
    disjoint = (b[:, 0] > a[2]) | (b[:, 2] < a[0]) | (b[:, 1] > a[3]) | (b[:, 3] < a[1])
    lo = np.where(disjoint[:, None], f(0), np.maximum(a[:2], b[:, :2]))
    hi = np.where(disjoint[:, None], f(0), np.minimum(a[2:], b[:, 2:]))
    plus = f(1) if (caffe and not normalized) else f(0)
    inter_w, inter_h = hi[:, 0] - lo[:, 0] + plus, hi[:, 1] - lo[:, 1] + plus
    area_plus = f(0) if normalized else f(1)
    area_a = (a[2] - a[0] + area_plus) * (a[3] - a[1] + area_plus)
    area_b = (b[:, 2] - b[:, 0] + area_plus) * (b[:, 3] - b[:, 1] + area_plus)
    inter = inter_w * inter_h
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_a + area_b - inter)
    return np.where((inter_w > 0) & (inter_h > 0), iou, f(0)).astype(f)


def greedy_nms(boxes: np.ndarray, order: np.ndarray, suppressed_by: Callable[[np.ndarray, np.ndarray], np.ndarray],
               max_keep: int | None = None) -> list[int]:
    """Walk ``order`` (indices into ``boxes``); keep a box unless ``suppressed_by(box, kept_boxes)``
    is true for any kept box. Returns kept indices in walk order."""
    kept: list[int] = []
    for index in order:
        if max_keep is not None and len(kept) >= max_keep:
            break
        if kept and np.any(suppressed_by(boxes[index], boxes[kept])):
            continue
        kept.append(int(index))
    return kept


def stable_descending(scores: np.ndarray) -> np.ndarray:
    """Indices sorting ``scores`` descending; equal scores keep their index order."""
    return np.argsort(-scores.astype(np.float64), kind="stable")


def per_class_nms(boxes: np.ndarray, scores: np.ndarray, p: NmsParameters) -> list[tuple[float, int, int]]:
    """One image: boxes [P, Cl, 4], scores [C, P]. Kept (score, class, prior) in the plugin's final
    order (score descending; ties by class, then prior index), at most keepTopK."""
    kept_all: list[tuple[float, int, int, int]] = []
    iou = lambda box, kept: plugin_iou(box, kept, p.is_normalized, p.caffe_semantics) > np.float32(p.iou_threshold)
    for cls in range(p.num_classes):
        if cls == p.background_label_id:
            continue
        class_scores = scores[cls]
        order = stable_descending(class_scores)
        order = order[class_scores[order] > np.float32(p.score_threshold)][: p.top_k]
        class_boxes = boxes[:, 0 if p.share_location else cls]
        for rank, prior in enumerate(greedy_nms(class_boxes, order, iou)):
            kept_all.append((float(class_scores[prior]), cls, rank, prior))
    kept_all.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [(score, cls, prior) for score, cls, _, prior in kept_all[: p.keep_top_k]]


# ----------------------------------------------------------------------------- NMS_TRT

def exp_f32(x: np.ndarray) -> np.ndarray:
    """exp of float32 values, computed in double and rounded: numpy's float32 exp is not correctly
    rounded and differs by CPU SIMD path; this equals the C++ host implementations' everywhere."""
    with np.errstate(over="ignore"):  # past float32's range the rounded value is +inf, as the C++ cast gives
        return np.exp(np.asarray(x, np.float32).astype(np.float64)).astype(np.float32)


def decode_ssd_boxes(loc: np.ndarray, prior_boxes: np.ndarray, variances: np.ndarray, code_type: int,
                     variance_encoded_in_target: bool) -> np.ndarray:
    """decodeBBoxes.cu: loc [..., 4] with priors/variances broadcastable to it -> (xmin, ymin, xmax, ymax)."""
    f = np.float32
    loc, pb, var = loc.astype(f), prior_boxes.astype(f), variances.astype(f)
    if variance_encoded_in_target and code_type != TF_CENTER:
        var = np.ones_like(var)
    pw, ph = pb[..., 2] - pb[..., 0], pb[..., 3] - pb[..., 1]
    pcx, pcy = (pb[..., 0] + pb[..., 2]) / f(2), (pb[..., 1] + pb[..., 3]) / f(2)
    if code_type == CORNER:
        return pb + loc * var
    if code_type == CORNER_SIZE:
        size = np.stack([pw, ph, pw, ph], axis=-1)
        return pb + loc * var * size
    if code_type == CENTER_SIZE:
        tx, ty, tw, th = (loc[..., i] for i in range(4))
    else:  # TF_CENTER: loc is (ty, tx, th, tw); variances keep their (0..3) positions
        ty, tx, th, tw = (loc[..., i] for i in range(4))
    cx = var[..., 0] * tx * pw + pcx
    cy = var[..., 1] * ty * ph + pcy
    w = exp_f32(var[..., 2] * tw) * pw
    h = exp_f32(var[..., 3] * th) * ph
    return np.stack([cx - w / f(2), cy - h / f(2), cx + w / f(2), cy + h / f(2)], axis=-1).astype(f)


def nms_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """NMS_TRT / NMSDynamic_TRT: [N, 1, keepTopK, 7] detections and the [N, 1, 1, 1] keep count."""
    p = nms_parameters(attrs)
    check_nms_parameters(p, "NMS_TRT")
    loc, conf, prior = (np.asarray(inputs[i], dtype=np.float32) for i in p.input_order)
    n = loc.shape[0]
    priors = prior.reshape(prior.shape[0], 2, -1, 4)
    n_priors = priors.shape[2]
    loc_classes = 1 if p.share_location else p.num_classes
    loc = loc.reshape(n, n_priors, loc_classes, 4)
    boxes = decode_ssd_boxes(loc, priors[:, 0, :, None, :], priors[:, 1, :, None, :], p.code_type,
                             p.variance_encoded_in_target)
    scores = conf.reshape(n, n_priors, p.num_classes).transpose(0, 2, 1)
    if p.conf_sigmoid:
        scores = (1.0 / (1.0 + exp_f32(-scores))).astype(np.float32)
    detections = np.zeros((n, 1, p.keep_top_k, 7), dtype=np.float32)
    detections[:, 0, :, 0] = np.arange(n, dtype=np.float32)[:, None]
    detections[:, 0, :, 1] = -1
    counts = np.zeros((n, 1, 1, 1), dtype=np.int32)
    for image in range(n):
        kept = per_class_nms(boxes[image], scores[image], p)
        for row, (score, cls, prior_index) in enumerate(kept):
            box = boxes[image, prior_index, 0 if p.share_location else cls]
            detections[image, 0, row, 1:] = [cls, score, *np.clip(box, 0.0, 1.0)]
        counts[image] = len(kept)
    return [detections, counts.view(np.float32)]


# ----------------------------------------------------------------------------- BatchedNMS_TRT

def batched_nms_reference(attrs: dict, inputs: list, static: bool = False) -> list[np.ndarray]:
    """BatchedNMS(Dynamic)_TRT: num_detections, nmsed_boxes, nmsed_scores, nmsed_classes."""
    p = batched_nms_parameters(attrs)
    check_nms_parameters(p, "BatchedNMS_TRT")
    boxes = np.asarray(inputs[0], dtype=np.float32)
    n, n_priors = boxes.shape[:2]
    boxes = boxes.reshape(n, n_priors, -1, 4)
    scores = np.asarray(inputs[1], dtype=np.float32).reshape(n, n_priors, p.num_classes).transpose(0, 2, 1)
    k = p.keep_top_k
    num = np.zeros((n, 1), dtype=np.int32)
    out_boxes = np.zeros((n, k, 4), dtype=np.float32)
    out_scores = np.zeros((n, k), dtype=np.float32)
    out_classes = np.full((n, k), -1.0, dtype=np.float32)
    for image in range(n):
        kept = per_class_nms(boxes[image], scores[image], p)
        for row, (score, cls, prior_index) in enumerate(kept):
            box = boxes[image, prior_index, 0 if p.share_location else cls]
            out_boxes[image, row] = np.clip(box, 0.0, 1.0) if p.clip_boxes else box
            out_scores[image, row] = score
            out_classes[image, row] = cls
        num[image] = len(kept)
    return [num.reshape(n) if static else num, out_boxes, out_scores, out_classes]


# ----------------------------------------------------------------------------- EfficientNMS_TRT

@dataclass(frozen=True)
class EfficientNmsParameters:
    score_threshold: float
    iou_threshold: float
    max_output_boxes: int
    background_class: int
    score_activation: bool
    box_coding: int  # 0 corners (any axis order), 1 centre-size
    class_agnostic: bool

    def sort_threshold(self) -> np.float32:
        """The threshold the plugin compares raw scores with (logit space under score_activation)."""
        t = np.float32(self.score_threshold)
        if not self.score_activation:
            return t
        if t <= 0:
            return np.float32(-(1 << 15))
        return np.float32(np.log(t / (np.float32(1) - t)))


def efficient_nms_parameters(attrs: dict) -> EfficientNmsParameters:
    _require(attrs, ("score_threshold", "iou_threshold", "max_output_boxes", "background_class",
                     "score_activation", "box_coding"), "EfficientNMS_TRT")
    p = EfficientNmsParameters(
        score_threshold=float(_scalar(attrs["score_threshold"])),
        iou_threshold=float(_scalar(attrs["iou_threshold"])),
        max_output_boxes=int(_scalar(attrs["max_output_boxes"])),
        background_class=int(_scalar(attrs["background_class"])),
        score_activation=bool(_scalar(attrs["score_activation"])),
        box_coding=int(_scalar(attrs["box_coding"])),
        class_agnostic=bool(_scalar(attrs.get("class_agnostic"), 0)),
    )
    if p.box_coding not in (0, 1):
        raise ValueError(f"EfficientNMS_TRT: box_coding {p.box_coding} is not 0 (corners) or 1 (centre-size)")
    if p.max_output_boxes <= 0:
        raise ValueError("EfficientNMS_TRT: max_output_boxes must be positive")
    return p


def _reorder_corners(box: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(box[..., :2], box[..., 2:]), np.maximum(box[..., :2], box[..., 2:])
    return np.concatenate([lo, hi], axis=-1)


def efficient_decode(boxes: np.ndarray, anchors: np.ndarray | None, box_coding: int) -> np.ndarray:
    """BoxCorner / BoxCenterSize decode of efficientNMSInference.cuh, returned as corners."""
    f = np.float32
    boxes = boxes.astype(f)
    if anchors is not None:
        anchors = anchors.astype(f)
        if box_coding == 0:
            return _reorder_corners(boxes) + _reorder_corners(anchors)
        a0, a1, a2, a3 = (anchors[..., i] for i in range(4))
        boxes = np.stack([boxes[..., 0] * a2 + a0, boxes[..., 1] * a3 + a1,
                          a2 * exp_f32(boxes[..., 2]), a3 * exp_f32(boxes[..., 3])], axis=-1).astype(f)
    if box_coding == 0:
        return boxes
    half = boxes[..., 2:] * f(0.5)
    return np.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1).astype(f)


def efficient_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    f = np.float32
    a, b = _reorder_corners(box[None]).astype(f)[0], _reorder_corners(others).astype(f)
    lo, hi = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
    size = hi - lo
    inter = np.where((size[:, 0] > 0) & (size[:, 1] > 0), size[:, 0] * size[:, 1], f(0))
    area = lambda x: np.where((x[..., 2] > x[..., 0]) & (x[..., 3] > x[..., 1]),
                              (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1]), f(0))
    union = area(a) + area(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((inter > 0) & (union > 0), iou, f(0)).astype(f)


def efficient_nms_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """EfficientNMS_TRT (efficientNMSInference.cu).

    - candidates: (anchor, class) with raw score >= score_threshold (in logit space when
      score_activation), class != background_class; sorted by raw score descending over all classes
      at once; ties keep element order anchor * numClasses + class (the plugin's filter kernel
      leaves tie order unspecified; this is the order of its dense path); the first 5000 go to NMS.
    - greedy NMS over that single list: a candidate is dropped when a kept box (of the same class
      unless class_agnostic) has IoU >= iou_threshold (inclusive); stop at max_output_boxes.
    - outputs: num_detections int32 [N, 1]; boxes [N, K, 4] as corners (centre-size input is
      converted, no clipping); scores [N, K] (sigmoid applied when score_activation; its exp, like the
      decoder's, computed in double and rounded: ``exp_f32``); classes int32
      [N, K]; unused slots are 0.
    - documented deviation: for thresholds under 0.007 the plugin's dense path keeps sub-threshold
      elements as candidates with score -32768; this reference drops them as the README describes.
    """
    p = efficient_nms_parameters(attrs)
    boxes = np.asarray(inputs[0], dtype=np.float32)
    scores = np.asarray(inputs[1], dtype=np.float32)
    n, n_anchors, n_classes = scores.shape
    anchors = np.asarray(inputs[2], dtype=np.float32) if len(inputs) > 2 else None
    boxes = boxes.reshape(n, n_anchors, -1, 4)
    if anchors is not None:
        anchors = np.broadcast_to(anchors.reshape(anchors.shape[0], n_anchors, 1, 4), (n, n_anchors, 1, 4))
    decoded = efficient_decode(boxes, anchors, p.box_coding)  # [N, A, 1|C, 4]
    k = p.max_output_boxes
    outputs = [np.zeros((n, 1), np.int32), np.zeros((n, k, 4), np.float32), np.zeros((n, k), np.float32),
               np.zeros((n, k), np.int32)]
    threshold = p.sort_threshold()
    for image in range(n):
        flat = scores[image].reshape(-1)
        order = stable_descending(flat)
        order = order[(flat[order] >= threshold) & (order % n_classes != p.background_class)]
        order = order[:EFFICIENT_NMS_SELECTED_BOXES]
        anchor_of, class_of = order // n_classes, order % n_classes
        cand_boxes = decoded[image, anchor_of, 0 if decoded.shape[2] == 1 else class_of]
        same = (lambda i, kept: True) if p.class_agnostic else (lambda i, kept: class_of[kept] == class_of[i])
        kept: list[int] = []
        for i in range(order.size):
            if len(kept) >= k:
                break
            if kept and np.any(same(i, kept) & (efficient_iou(cand_boxes[i], cand_boxes[kept]) >= np.float32(p.iou_threshold))):
                continue
            kept.append(i)
        raw = flat[order[kept]]
        outputs[0][image] = len(kept)
        outputs[1][image, : len(kept)] = cand_boxes[kept]
        outputs[2][image, : len(kept)] = 1.0 / (1.0 + exp_f32(-raw)) if p.score_activation else raw
        outputs[3][image, : len(kept)] = class_of[kept]
    return outputs


# ----------------------------------------------------------------------------- BatchTile, ResizeNearest

def batch_tile_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """BatchTilePlugin_TRT: the second input's first item repeated batch(first input) times."""
    batch = np.asarray(inputs[0]).shape[0]
    src = np.asarray(inputs[1])
    return [np.repeat(src[:1], batch, axis=0)]


def resize_nearest_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """ResizeNearest_TRT: last two dims scaled to int(d * scale); out[y, x] = in[int(y / scale), int(x / scale)]."""
    scale = np.float32(_scalar(attrs.get("scale"), 2.0))
    x = np.asarray(inputs[0])
    h, w = x.shape[-2:]
    out_h, out_w = int(np.float32(h) * scale), int(np.float32(w) * scale)
    rows = (np.arange(out_h, dtype=np.float32) / scale).astype(np.int64)
    cols = (np.arange(out_w, dtype=np.float32) / scale).astype(np.int64)
    return [x[..., rows[:, None], cols[None, :]]]


register_reference(("BatchTilePlugin_TRT", "BatchTilePlugin"), batch_tile_reference)
register_reference(("ResizeNearest_TRT", "ResizeNearest"), resize_nearest_reference)
register_reference(("NMS_TRT", "NMSDynamic_TRT", "NMS"), nms_reference)
register_reference(("BatchedNMSDynamic_TRT",), batched_nms_reference)
register_reference(("BatchedNMS_TRT", "BatchedNMS"), lambda attrs, inputs: batched_nms_reference(attrs, inputs, static=True))
register_reference(("EfficientNMS_TRT",), efficient_nms_reference)


# ----------------------------------------------------------------------------- the runner

def run_with_plugin_references(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``model`` (an onnx.ModelProto, plugin nodes allowed) on the CPU: each stretch of standard
    nodes as one ONNX Runtime session, each plugin node with its numpy reference. Returns the graph
    outputs by name. Raises UnsupportedOpError for a plugin op with no registered reference."""
    import onnx_graphsurgeon as gs  # lazy: not in the Triton CPU model's copy

    from taostream.converter.trt_support import plugin_op  # lazy: not in the Triton CPU model's copy

    graph = gs.import_onnx(model)
    graph.toposort()
    values: dict[str, np.ndarray] = {}
    for tensor in graph.inputs:
        if tensor.name not in feeds:
            raise ValueError(f"no value fed for the graph input '{tensor.name}'")
        values[tensor.name] = np.asarray(feeds[tensor.name])
    is_plugin = lambda node: plugin_op(node.op) is not None or reference_for(node.op) is not None
    segment: list = []
    for position, node in enumerate(graph.nodes):
        if not is_plugin(node):
            segment.append(node)
            continue
        if segment:
            _run_standard_segment(graph, segment, graph.nodes[position:], values)
            segment = []
        _run_plugin_node(node, values)
    if segment:
        _run_standard_segment(graph, segment, [], values)
    return {t.name: (t.values if isinstance(t, gs.Constant) else values[t.name]) for t in graph.outputs}


def _tensor_value(tensor, values: dict) -> np.ndarray:
    import onnx_graphsurgeon as gs  # lazy: not in the Triton CPU model's copy

    return np.asarray(tensor.values) if isinstance(tensor, gs.Constant) else values[tensor.name]


def _run_plugin_node(node, values: dict) -> None:
    from taostream.converter.errors import UnsupportedOpError  # lazy: not in the Triton CPU model's copy
    from taostream.plugins.pipeline import conform_to_declared  # lazy: not in the Triton CPU model's copy

    reference = reference_for(node.op)
    if reference is None:
        raise UnsupportedOpError(
            f"node '{node.name}' ({node.op}): no numpy reference is registered for this plugin, so the "
            "graph cannot run on the CPU; register one with pluginref.register_reference"
        )
    arrays = [_tensor_value(t, values) for t in node.inputs]
    results = reference(dict(node.attrs), arrays)
    for tensor, result in zip(node.outputs, results):
        values[tensor.name] = conform_to_declared(np.asarray(result), tensor.shape)


def _run_standard_segment(graph, segment: list, later_nodes: list, values: dict) -> None:
    """Run consecutive standard nodes as one ONNX Runtime session; store the tensors used later."""
    import onnx  # lazy: not in the Triton CPU model's copy
    import onnx_graphsurgeon as gs  # lazy: not in the Triton CPU model's copy
    import onnxruntime as ort  # lazy: not in the Triton CPU model's copy

    produced = {t.name for node in segment for t in node.outputs if t.name}
    wanted = {t.name for node in later_nodes for t in node.inputs} | {t.name for t in graph.outputs}
    # Fresh tensors (typed from the actual values for the segment's inputs) so the nodes copied into
    # the sub-graph leave ``graph`` untouched.
    fresh: dict[str, gs.Tensor] = {}
    inputs: list[gs.Variable] = []

    def mapped(tensor):
        if isinstance(tensor, gs.Constant) or not tensor.name:
            return tensor
        if tensor.name not in fresh:
            if tensor.name in produced:
                fresh[tensor.name] = gs.Variable(tensor.name)
            else:
                array = values[tensor.name]
                fresh[tensor.name] = gs.Variable(tensor.name, dtype=array.dtype, shape=array.shape)
                inputs.append(fresh[tensor.name])
        return fresh[tensor.name]

    nodes = [node.copy(inputs=[mapped(t) for t in node.inputs], outputs=[mapped(t) for t in node.outputs])
             for node in segment]
    outputs = [fresh[name] for name in produced if name in wanted]
    if not outputs:
        return
    sub = gs.Graph(nodes=nodes, inputs=inputs, outputs=outputs, opset=graph.opset,
                   import_domains=graph.import_domains)
    proto = gs.export_onnx(sub, do_type_check=False)
    proto.ir_version = min(proto.ir_version, 10)
    proto = onnx.shape_inference.infer_shapes(proto)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    results = session.run([t.name for t in outputs], {t.name: values[t.name] for t in inputs})
    for tensor, result in zip(outputs, results):
        values[tensor.name] = result


if __name__ == "taostream.plugins.reference":  # not in a standalone copy (the Triton CPU model's)
    # The FasterRCNN and MaskRCNN references, registered here rather than by themselves: they do not
    # import this module, so loading any of the three makes no import cycle (tests/test_import_layers.py).
    from taostream.plugins import frcnn as pluginref_frcnn
    from taostream.plugins import maskrcnn as pluginref_mrcnn  # noqa: E402

    for _references in (pluginref_frcnn, pluginref_mrcnn):
        _references.register_references(register_reference)
