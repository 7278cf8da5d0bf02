"""Numpy references of the TAO MaskRCNN TensorRT plugins: MultilevelProposeROI_TRT,
MultilevelCropAndResize_TRT, GenerateDetection_TRT and SpecialSlice_TRT, so that
``pluginref.run_with_plugin_references`` runs a MaskRCNN graph on the CPU.

The spec is the TensorRT OSS source (release 11.0, which still ships these plugins):
plugin/multilevelProposeROI (+ tlt_mrcnn_config.h), plugin/multilevelCropAndResizePlugin,
plugin/generateDetectionPlugin and plugin/common/kernels/maskRCNNKernels.cu. Facts as read there:

Shared refine step (sortPerClass, PerClassNMS, TopKGather / TopKGatherBoxScore kernels)
- a candidate is one of the first ``valid`` samples with label != background, label != -1 and
  score >= threshold (inclusive). Its sort key is the float32
  ``(numClasses - label - 1) * 2.5 + score + 1``: candidates are ordered by class (lower label
  first), then by score descending, ties by sample index (CUB radix sort is stable). The score the
  plugin carries on is decoded back from that key (float32 rounding: small scores lose bits; a key
  <= 1 -- the last class with a score under ~6e-8 -- makes the sample invalid).
- NMS per class, greedy in that order: a box is suppressed when its IoU with a kept box of its
  class is > iou_threshold. IoU is plain (no +1 pixel, corners taken as given, y1 x1 y2 x2).
- the kept ones are sorted by score descending over all classes. Ties follow CUB's block sort
  order: a sorted position p is loaded by thread p % T as item p // T, so ties go by
  (p % T, p // T); T = 512 for proposals, 256 for detections. At most min(keep_topk, candidates)
  rows are written; GenerateDetection also drops rows with score <= 0.01 (MinValidScore).

MultilevelProposeROI_TRT (prenms_topk <= 4096, keep_topk, fg_threshold, iou_threshold, image_size CHW)
- inputs: per level P2..P6 a pair (delta [N, A, 4, 1] as dy, dx, dh, dw; score [N, A, 1, 1], the
  foreground probability). Anchors are NOT inputs: the plugin builds them from image_size. Level l
  has stride 2**l and scale 8 * 2**l; centres (y, x) for y = stride/2, stride/2 + stride, ... < H
  (x likewise), three per centre with (w, h) ratios (1, 1), (1.4, 0.7), (0.7, 1.4); an anchor is
  (y - h/2, x - w/2, y + h/2, x + w/2), ordered (y, x, ratio) -- the NHWC order of the RPN heads.
- decode (decode_bboxes_kernel, weights 1, 1, 1, 1 here; 10, 10, 5, 5 in GenerateDetection):
  anchor h = y2 - y1 + 1, cy = y1 + h/2; dh, dw divided by their weights and capped at
  log(1000/16); cy' = cy + dy/wy * h, h' = exp(dh) * h; y1' = cy' - h'/2, y2' = y1' + h' - 1; every
  coordinate clipped to [0, H - 1] / [0, W - 1]. Pixel coordinates throughout, never normalized.
- per level: scores sorted descending (stable), the first prenms_topk kept (missing ones are score
  0, box 0), one class, no background, then the refine step with keep_topk.
- the levels' keep_topk (score, box) rows are concatenated P2..P6, sorted by score descending
  (stable) and the first keep_topk boxes are the output [N, keep_topk, 4] (y1, x1, y2, x2, pixels).

MultilevelCropAndResize_TRT (pooled_size, image_size) -- roiAlignHalfCenter_kernel
- inputs: rois [N, R, 4] (y1, x1, y2, x2 in input pixels) and five feature maps P2..P6.
- a roi is used only when 0 <= y1 < y2 <= H and 0 <= x1 < x2 <= W; other rows are not written by
  the kernel (undefined memory on the GPU; zeros here).
- level: area = (y2 - y1)(x2 - x1) in pixels; P2, moving up one level for each of the thresholds
  224*224/4, 224*224, 224*224*4, 224*224*16 it exceeds (strictly): the canonical ROI size 224 on
  level 4 formula, with level k kept for sqrt(area) <= 224 * 2**(k-4) ... clamped to P2..P6.
- one sample per bin at its centre: y = y1/s + (y2 - y1)/s / pooled * (i + 0.5) with s = 2**level,
  clamped to [0, h - 1] (x likewise); bilinear between int(y) and int(y) + 1 (the same row when the
  fraction is 0). Output [N, R, C, pooled, pooled].

GenerateDetection_TRT (num_classes, keep_topk, score_threshold, iou_threshold, image_size)
- inputs: delta [N, R, 4C, 1, 1] (per class dy, dx, dh, dw), scores [N, R, C, 1, 1], rois [N, R, 4]
  (R <= 2048). Per roi the class is the argmax over classes 1..C-1 among scores > 0 (background 0
  never wins; a roi with no positive foreground score is dropped; equal maxima: see
  foreground_argmax); that class's delta is decoded
  against the roi with weights (10, 10, 5, 5); then the refine step (background 0).
- output [N, keep_topk, 6]: y1, x1, y2, x2 (input pixels), class, score; padding rows are
  0, 0, 0, 0, -1, 0.

SpecialSlice_TRT: detections [N, K, 6] -> boxes [N, K, 4] (the first four values of each row).
"""

from __future__ import annotations

import functools
import math

import numpy as np

MIN_LEVEL, MAX_LEVEL = 2, 6
RPN_ANCHOR_SCALE = 8.0
ANCHOR_RATIOS = ((1.0, 1.0), (1.4, 0.7), (0.7, 1.4))  # (width, height) factors
RPN_REG_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
DETECTION_REG_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
BBOX_CLIP = math.log(1000.0 / 16.0)
LABEL_SHIFT, SCORE_SHIFT = np.float32(2.5), np.float32(1.0)
MIN_VALID_SCORE = np.float32(0.01)
CANONICAL_AREA = 224.0 * 224.0 / 4.0  # the P2/P3 area threshold; each level up multiplies it by 4
PROPOSAL_GATHER_THREADS, DETECTION_GATHER_THREADS = 512, 256
MAX_PRE_NMS_TOPK, MAX_DETECTION_ROIS = 4096, 2048
ARGMAX_GROUP = 32  # argMaxWOBackground<32>: one warp per group of classes
F32 = np.float32


def _scalar(value, default=None):
    """One attribute value (lists and arrays give their first item). Kept here, numpy only, so this
    module also runs as a standalone copy beside the Triton CPU model's model.py."""
    if value is None:
        return default
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value).reshape(-1)[0].item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _image_size(attrs: dict, op: str) -> tuple[int, int]:
    """(H, W) from the CHW image_size attribute (the plugins' default is 3, 832, 1344)."""
    size = [int(v) for v in np.asarray(attrs.get("image_size", (3, 832, 1344))).reshape(-1)]
    if len(size) != 3 or min(size) <= 0:
        raise ValueError(f"{op}: image_size must be three positive ints (C, H, W), got {size}")
    return size[1], size[2]


def _require(attrs: dict, names, op: str) -> None:
    missing = [n for n in names if n not in attrs]
    if missing:
        raise ValueError(f"{op} node lacks the attribute(s) {', '.join(missing)}")


# ----------------------------------------------------------------------------- anchors and decode

def level_anchors(level: int, image_height: int, image_width: int) -> np.ndarray:
    """The plugin's anchors of one pyramid level: [A, 4] (y1, x1, y2, x2), order (y, x, ratio)."""
    stride = 2 ** level
    scale = F32(stride * RPN_ANCHOR_SCALE)
    ys = np.arange(stride // 2, image_height, stride, dtype=np.float32)
    xs = np.arange(stride // 2, image_width, stride, dtype=np.float32)
    half_w = np.array([scale * F32(w) for w, _ in ANCHOR_RATIOS], np.float32) / F32(2)
    half_h = np.array([scale * F32(h) for _, h in ANCHOR_RATIOS], np.float32) / F32(2)
    y, x = ys[:, None, None], xs[None, :, None]
    shape = (len(ys), len(xs), len(ANCHOR_RATIOS))
    corners = [np.broadcast_to(v, shape) for v in (y - half_h, x - half_w, y + half_h, x + half_w)]
    return np.stack(corners, axis=-1).reshape(-1, 4).astype(np.float32)


@functools.lru_cache(maxsize=8)
def pyramid_anchors(image_height: int, image_width: int) -> tuple[np.ndarray, ...]:
    """Every level's anchors, built once per image size (read-only arrays)."""
    levels = tuple(level_anchors(level, image_height, image_width) for level in range(MIN_LEVEL, MAX_LEVEL + 1))
    for anchors in levels:
        anchors.flags.writeable = False
    return levels


def decode_boxes(anchors: np.ndarray, deltas: np.ndarray, weights, image_height: int, image_width: int) -> np.ndarray:
    """decode_bboxes_kernel: anchors [..., 4] and deltas [..., 4] (dy, dx, dh, dw) -> clipped pixel
    boxes (y1, x1, y2, x2). Doubles where the kernel mixes in double literals, float32 stores; exp is
    computed in double and rounded (the GPU's expf is within 2 ulp of it)."""
    a = anchors.astype(np.float64)
    d = deltas.astype(np.float32)
    h = (a[..., 2] - a[..., 0] + 1.0).astype(np.float32)
    w = (a[..., 3] - a[..., 1] + 1.0).astype(np.float32)
    cy = (a[..., 0] + h * 0.5).astype(np.float32)
    cx = (a[..., 1] + w * 0.5).astype(np.float32)
    dy, dx = d[..., 0] / F32(weights[0]), d[..., 1] / F32(weights[1])
    dh = np.minimum(d[..., 2] / F32(weights[2]), F32(BBOX_CLIP))
    dw = np.minimum(d[..., 3] / F32(weights[3]), F32(BBOX_CLIP))
    with np.errstate(over="ignore", invalid="ignore"):
        new_cy, new_cx = cy + dy * h, cx + dx * w
        # exp rounded from double: numpy's float32 exp is not correctly rounded and its result depends on
        # the CPU's SIMD path; this one equals the C++ host implementation's on every machine
        new_h = np.exp(dh.astype(np.float64)).astype(np.float32) * h
        new_w = np.exp(dw.astype(np.float64)).astype(np.float32) * w
        y1 = (new_cy - 0.5 * new_h.astype(np.float64)).astype(np.float32)
        x1 = (new_cx - 0.5 * new_w.astype(np.float64)).astype(np.float32)
        y2 = (y1.astype(np.float64) + new_h - 1.0).astype(np.float32)
        x2 = (x1.astype(np.float64) + new_w - 1.0).astype(np.float32)
    clip_y = lambda v: np.maximum(np.minimum(v, F32(image_height - 1)), F32(0))
    clip_x = lambda v: np.maximum(np.minimum(v, F32(image_width - 1)), F32(0))
    return np.stack([clip_y(y1), clip_x(x1), clip_y(y2), clip_x(x2)], axis=-1).astype(np.float32)


# ----------------------------------------------------------------------------- the refine step

def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """boxIoU of maskRCNNKernels.cu: (y1, x1, y2, x2) as given, no +1; 0 when they do not overlap."""
    oy1, ox1 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    oy2, ox2 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    ow, oh = ox2 - ox1, oy2 - oy1
    overlap = ow * oh
    union = (box[2] - box[0]) * (box[3] - box[1]) + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1]) - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = overlap / union
    return np.where((ow < 0) | (oh < 0), F32(0), iou).astype(np.float32)


def sort_keys(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """getKey: the float32 key (numClasses - label - 1) * 2.5 + score + 1."""
    offset = (num_classes - labels - 1).astype(np.float32) * LABEL_SHIFT
    return ((offset + scores.astype(np.float32)).astype(np.float32) + SCORE_SHIFT).astype(np.float32)


def scores_from_keys(keys: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """getScoreLable: (score clamped to [0, 1], label, -1 for keys <= 1) from sort keys. A key whose
    group (key / 2.5, truncated) is num_classes or more decodes to no label either (the group would give
    a negative one): such keys, up to a score of FLT_MAX, are never converted to an integer, whose value
    past int64 would differ between CPUs (x86 gives INT64_MIN, CUDA and ARM saturate)."""
    quotients = (keys / LABEL_SHIFT).astype(np.float32)
    valid = (keys > SCORE_SHIFT) & (quotients < num_classes)
    groups = np.where(valid, quotients, F32(0)).astype(np.int64)
    scores = ((keys - groups.astype(np.float32) * LABEL_SHIFT).astype(np.float32) - SCORE_SHIFT).astype(np.float32)
    scores = np.where(valid, np.clip(scores, 0, 1), F32(0)).astype(np.float32)
    return scores, np.where(valid, num_classes - groups - 1, -1)


def class_sorted_candidates(scores, labels, num_classes: int, background: int, threshold: float, valid: int):
    """sortPerClass: (sample indices, quantized scores, labels) of the candidates in class-then-score
    order; only keys > 1 count."""
    scores, labels = scores[:valid].astype(np.float32), labels[:valid]
    is_candidate = (labels != background) & (labels != -1) & (scores >= F32(threshold))
    index = np.flatnonzero(is_candidate)
    keys = sort_keys(scores[index], labels[index], num_classes)
    order = np.argsort(-keys.astype(np.float64), kind="stable")
    keys, index = keys[order], index[order]
    quantized, decoded_labels = scores_from_keys(keys, num_classes)
    counted = decoded_labels >= 0
    return index[counted], quantized[counted], decoded_labels[counted]


def iou_matrix(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """box_iou of every row of ``boxes`` [R, 4] against ``others`` [M, 4]: [R, M], the same float32
    operations in the same order, so each entry equals box_iou(boxes[r], others)[m] bit for bit."""
    b, o = boxes[:, None, :], others[None, :, :]
    oy1, ox1 = np.maximum(b[..., 0], o[..., 0]), np.maximum(b[..., 1], o[..., 1])
    oy2, ox2 = np.minimum(b[..., 2], o[..., 2]), np.minimum(b[..., 3], o[..., 3])
    ow, oh = ox2 - ox1, oy2 - oy1
    overlap = ow * oh
    union = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) + (o[..., 2] - o[..., 0]) * (o[..., 3] - o[..., 1]) - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = overlap / union
    return np.where((ow < 0) | (oh < 0), F32(0), iou).astype(np.float32)


NMS_ROW_BLOCK = 256  # rows of the IoU matrix computed at once (bounds memory at 4096 candidates)


def greedy_nms(boxes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Keep flags of greedy NMS over boxes in priority order: a box is dropped when its IoU with an
    earlier kept box is > iou_threshold. A block of rows at a time, the IoUs of the block's boxes
    still kept against the later boxes still kept; the greedy pass walks them in order."""
    count = len(boxes)
    kept = np.ones(count, dtype=bool)
    threshold = F32(iou_threshold)
    for start in range(0, count, NMS_ROW_BLOCK):
        rows = start + np.flatnonzero(kept[start : start + NMS_ROW_BLOCK])
        if rows.size == 0:
            continue
        columns = start + np.flatnonzero(kept[start:])
        suppresses = iou_matrix(boxes[rows], boxes[columns]) > threshold
        alive = np.ones(len(columns), dtype=bool)
        for r in range(len(rows)):  # rows are the first entries of columns: row r is column r
            if alive[r]:
                alive[r + 1 :] &= ~suppresses[r, r + 1 :]
        kept[columns] = alive
    return kept


def nms_in_class_order(boxes: np.ndarray, labels: np.ndarray, iou_threshold: float) -> np.ndarray:
    """PerClassNMS: keep flags for boxes already in class-then-score order (greedy per class)."""
    if len(labels) == 0 or (labels == labels[0]).all():
        return greedy_nms(boxes, iou_threshold)
    kept = np.ones(len(boxes), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        kept[members] = greedy_nms(boxes[members], iou_threshold)
    return kept


def gather_order(scores: np.ndarray, kept: np.ndarray, threads: int) -> np.ndarray:
    """TopKGather: sorted positions (index into the candidates, -1 for a suppressed slot) in output
    order: kept scores descending, ties (and the suppressed zeros) in CUB's blocked order."""
    count = len(scores)
    position = np.arange(count)
    items = -(-count // threads)
    blocked_rank = (position % threads) * items + position // threads
    sort_scores = np.where(kept, scores, F32(0))
    order = np.lexsort((blocked_rank, -sort_scores.astype(np.float64)))
    return np.where(kept[order], order, -1)


def refine_arrays(scores, labels, boxes, *, num_classes: int, background: int, score_threshold: float,
                  iou_threshold: float, keep_topk: int, valid: int, threads: int, min_score: float | None):
    """One image through sortPerClass, PerClassNMS and TopKGather: (boxes [K, 4], labels [K],
    scores [K]) of the K <= keep_topk rows written, in output order."""
    index, quantized, cand_labels = class_sorted_candidates(scores, labels, num_classes, background,
                                                            score_threshold, valid)
    cand_boxes = boxes[index]
    kept = nms_in_class_order(cand_boxes, cand_labels, iou_threshold)
    slots = gather_order(quantized, kept, threads)[: min(keep_topk, len(index))]
    slots = slots[slots >= 0]
    if min_score is not None:
        slots = slots[quantized[slots] > min_score]
    return cand_boxes[slots], cand_labels[slots], quantized[slots]


def refine(scores, labels, boxes, **fields):
    """refine_arrays as rows of (box, label, score)."""
    out_boxes, out_labels, out_scores = refine_arrays(scores, labels, boxes, **fields)
    return [(box, int(label), value) for box, label, value in zip(out_boxes, out_labels, out_scores)]


def top_scores(score: np.ndarray, count: int) -> np.ndarray:
    """np.argsort(-score, kind="stable")[:count] (descending, ties by index) without sorting every
    score: the ones >= the count-th largest are sorted, stably, in index order."""
    if count >= len(score) or np.isnan(score).any():
        return np.argsort(-score.astype(np.float64), kind="stable")[:count]
    kth = np.partition(score, len(score) - count)[len(score) - count]
    chosen = np.flatnonzero(score >= kth)
    return chosen[np.argsort(-score[chosen].astype(np.float64), kind="stable")[:count]]


# ----------------------------------------------------------------------------- MultilevelProposeROI_TRT

def propose_level(score: np.ndarray, delta: np.ndarray, anchors: np.ndarray, *, image_height: int, image_width: int,
                  prenms_topk: int, keep_topk: int, fg_threshold: float, iou_threshold: float):
    """One image, one level: (scores [keep_topk], boxes [keep_topk, 4]) after the level's NMS. Only
    the prenms_topk best anchors are decoded (decoding is per box)."""
    order = top_scores(score, prenms_topk)
    samples_score = np.zeros(prenms_topk, np.float32)
    samples_box = np.zeros((prenms_topk, 4), np.float32)
    samples_score[: len(order)] = score[order]
    samples_box[: len(order)] = decode_boxes(anchors[order], delta[order], RPN_REG_WEIGHTS, image_height, image_width)
    boxes, _, values = refine_arrays(samples_score, np.zeros(prenms_topk, np.int64), samples_box, num_classes=1,
                                     background=-1, score_threshold=fg_threshold, iou_threshold=iou_threshold,
                                     keep_topk=keep_topk, valid=prenms_topk, threads=PROPOSAL_GATHER_THREADS,
                                     min_score=None)
    out_scores, out_boxes = np.zeros(keep_topk, np.float32), np.zeros((keep_topk, 4), np.float32)
    out_scores[: len(values)], out_boxes[: len(values)] = values, boxes
    return out_scores, out_boxes


def propose_rois_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """MultilevelProposeROI_TRT: rois [N, keep_topk, 4] (y1, x1, y2, x2, input pixels)."""
    op = "MultilevelProposeROI_TRT"
    _require(attrs, ("prenms_topk", "keep_topk"), op)
    prenms_topk, keep_topk = int(_scalar(attrs["prenms_topk"])), int(_scalar(attrs["keep_topk"]))
    fg_threshold = float(_scalar(attrs.get("fg_threshold"), 0.0))
    iou_threshold = float(_scalar(attrs.get("iou_threshold"), 0.7))
    if not 0 < prenms_topk <= MAX_PRE_NMS_TOPK or keep_topk <= 0:
        raise ValueError(f"{op}: prenms_topk must be in 1..{MAX_PRE_NMS_TOPK} and keep_topk positive")
    height, width = _image_size(attrs, op)
    anchors = pyramid_anchors(height, width)
    if len(inputs) != 2 * len(anchors):
        raise ValueError(f"{op}: expected {2 * len(anchors)} inputs (delta, score per level P2..P6), got {len(inputs)}")
    n = np.asarray(inputs[0]).shape[0]
    rois = np.zeros((n, keep_topk, 4), np.float32)
    for image in range(n):
        level_scores, level_boxes = [], []
        for level, level_anchor in enumerate(anchors):
            delta = np.asarray(inputs[2 * level], np.float32)[image].reshape(-1, 4)
            score = np.asarray(inputs[2 * level + 1], np.float32)[image].reshape(-1)
            if len(delta) != len(level_anchor) or len(score) != len(level_anchor):
                raise ValueError(f"{op}: level P{level + MIN_LEVEL} has {len(score)} scores and {len(delta)} deltas, "
                                 f"image_size {height}x{width} gives {len(level_anchor)} anchors")
            s, b = propose_level(score, delta, level_anchor, image_height=height, image_width=width,
                                 prenms_topk=prenms_topk, keep_topk=keep_topk, fg_threshold=fg_threshold,
                                 iou_threshold=iou_threshold)
            level_scores.append(s)
            level_boxes.append(b)
        all_scores, all_boxes = np.concatenate(level_scores), np.concatenate(level_boxes)
        rois[image] = all_boxes[np.argsort(-all_scores.astype(np.float64), kind="stable")[:keep_topk]]
    return [rois]


# ----------------------------------------------------------------------------- MultilevelCropAndResize_TRT

def roi_levels(rois: np.ndarray) -> np.ndarray:
    """Pyramid level (2..6) of each roi [R, 4] (y1, x1, y2, x2 pixels) by its area."""
    area = ((rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1])).astype(np.float32)
    level = np.full(len(rois), MIN_LEVEL)
    threshold = F32(CANONICAL_AREA)
    for _ in range(MAX_LEVEL - MIN_LEVEL):
        level += area > threshold
        threshold = threshold * F32(4)
    return level


def valid_rois(rois: np.ndarray, image_height: int, image_width: int) -> np.ndarray:
    y1, x1, y2, x2 = (rois[:, i] for i in range(4))
    with np.errstate(invalid="ignore"):
        return ((0 <= y1) & (y1 <= image_height) & (0 <= x1) & (x1 <= image_width) & (0 <= y2) & (y2 <= image_height)
                & (0 <= x2) & (x2 <= image_width) & (y1 < y2) & (x1 < x2))


def bin_centres(start: np.ndarray, end: np.ndarray, scale: float, pooled: int, size: int) -> np.ndarray:
    """[R, pooled] sample positions on a level: the bins' centres, clamped to [0, size - 1]."""
    s = start.astype(np.float32) / F32(scale)
    delta = (end.astype(np.float32) / F32(scale) - s) / F32(pooled)
    positions = s[:, None].astype(np.float64) + delta[:, None].astype(np.float64) * (np.arange(pooled) + 0.5)
    return np.minimum(np.maximum(positions, 0.0), size - 1.0).astype(np.float32)


def bilinear(feature: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """interpolateBilinear: feature [C, h, w], ys [R, P], xs [R, P] -> [R, C, P, P]."""
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    ya, xa = ys - y0.astype(np.float32), xs - x0.astype(np.float32)
    y1, x1 = np.where(ya == 0, y0, y0 + 1), np.where(xa == 0, x0, x0 + 1)
    rows = lambda y: y[:, :, None]  # [R, P, 1]
    cols = lambda x: x[:, None, :]  # [R, 1, P]
    pick = lambda y, x: feature[:, rows(y), cols(x)]  # [C, R, P, P]
    xa_, ya_ = cols(xa)[None], rows(ya)[None]
    top = pick(y0, x0) * (F32(1) - xa_) + pick(y0, x1) * xa_
    bottom = pick(y1, x0) * (F32(1) - xa_) + pick(y1, x1) * xa_
    return (top * (F32(1) - ya_) + bottom * ya_).astype(np.float32).transpose(1, 0, 2, 3)


def crop_and_resize_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """MultilevelCropAndResize_TRT: [N, R, C, pooled, pooled]."""
    op = "MultilevelCropAndResize_TRT"
    _require(attrs, ("pooled_size",), op)
    pooled = int(_scalar(attrs["pooled_size"]))
    height, width = _image_size(attrs, op)
    if len(inputs) != 1 + MAX_LEVEL - MIN_LEVEL + 1:
        raise ValueError(f"{op}: expected rois and 5 feature maps (P2..P6), got {len(inputs)} inputs")
    rois = np.asarray(inputs[0], np.float32)
    features = [np.asarray(f, np.float32) for f in inputs[1:]]
    n, channels = rois.shape[0], features[0].shape[1]
    rois = rois.reshape(n, -1, 4)
    out = np.zeros((n, rois.shape[1], channels, pooled, pooled), np.float32)
    for image in range(n):
        valid = valid_rois(rois[image], height, width)
        levels = roi_levels(rois[image])
        for level, feature in enumerate(features, start=MIN_LEVEL):
            chosen = np.flatnonzero(valid & (levels == level))
            if chosen.size == 0:
                continue
            r = rois[image, chosen]
            h, w = feature.shape[2:]
            ys = bin_centres(r[:, 0], r[:, 2], 2.0 ** level, pooled, h)
            xs = bin_centres(r[:, 1], r[:, 3], 2.0 ** level, pooled, w)
            out[image, chosen] = bilinear(feature[image], ys, xs)
    return [out]


# ----------------------------------------------------------------------------- GenerateDetection_TRT

def foreground_argmax(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """argMaxWOBackground: per roi (score, class) of the best class 1..C-1 with score > 0, else
    (0, -1). The kernel reduces 32 classes at a time with a CUB warp reduce of ``a if a > b else b``
    (b the higher lane): equal maxima in one group go to the higher class; a later group must be
    strictly greater to win."""
    rows = np.arange(len(scores))
    best_value, best_class = np.zeros(len(scores), np.float32), np.full(len(scores), -1)
    for start in range(1, scores.shape[1], ARGMAX_GROUP):
        group = scores[:, start : start + ARGMAX_GROUP]
        last_max = group.shape[1] - 1 - np.argmax(group[:, ::-1], axis=1)
        value = group[rows, last_max]
        better = value > best_value
        best_value = np.where(better, value, best_value).astype(np.float32)
        best_class = np.where(better, start + last_max, best_class)
    return best_value, best_class


def generate_detection_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """GenerateDetection_TRT: [N, keep_topk, 6] = y1, x1, y2, x2, class, score (input pixels)."""
    op = "GenerateDetection_TRT"
    _require(attrs, ("num_classes", "keep_topk"), op)
    num_classes, keep_topk = int(_scalar(attrs["num_classes"])), int(_scalar(attrs["keep_topk"]))
    score_threshold = float(_scalar(attrs.get("score_threshold"), 0.0))
    iou_threshold = float(_scalar(attrs.get("iou_threshold"), 0.5))
    height, width = _image_size(attrs, op)
    rois = np.asarray(inputs[2], np.float32)
    n = rois.shape[0]
    rois = rois.reshape(n, -1, 4)
    count = rois.shape[1]
    if count > MAX_DETECTION_ROIS or num_classes < 2 or keep_topk <= 0:
        raise ValueError(f"{op}: needs at most {MAX_DETECTION_ROIS} rois (got {count}), num_classes >= 2 "
                         "(background included) and a positive keep_topk")
    deltas = np.asarray(inputs[0], np.float32).reshape(n, count, num_classes, 4)
    scores = np.asarray(inputs[1], np.float32).reshape(n, count, num_classes)
    out = np.zeros((n, keep_topk, 6), np.float32)
    out[:, :, 4] = -1
    for image in range(n):
        best_score, best_class = foreground_argmax(scores[image])
        chosen = deltas[image, np.arange(count), np.maximum(best_class, 0)]
        boxes = decode_boxes(rois[image], chosen, DETECTION_REG_WEIGHTS, height, width)
        kept_boxes, labels, values = refine_arrays(
            best_score, best_class, boxes, num_classes=num_classes, background=0, score_threshold=score_threshold,
            iou_threshold=iou_threshold, keep_topk=keep_topk, valid=count, threads=DETECTION_GATHER_THREADS,
            min_score=MIN_VALID_SCORE)
        out[image, : len(values), :4], out[image, : len(values), 4], out[image, : len(values), 5] = kept_boxes, labels, values
    return [out]


def special_slice_reference(attrs: dict, inputs: list) -> list[np.ndarray]:
    """SpecialSlice_TRT: the (y1, x1, y2, x2) of each detection row."""
    detections = np.asarray(inputs[0], np.float32)
    return [detections.reshape(detections.shape[0], -1, 6)[..., :4].copy()]


MASK_RCNN_REFERENCES = {
    "MultilevelProposeROI_TRT": propose_rois_reference,
    "MultilevelCropAndResize_TRT": crop_and_resize_reference,
    "GenerateDetection_TRT": generate_detection_reference,
    "SpecialSlice_TRT": special_slice_reference,
}


def register_references(register_reference) -> None:
    """Register each reference under its op name with and without ``_TRT`` (pluginref.register_reference,
    which pluginref calls when it loads, or, in the Triton CPU model, the standalone copy's): this module
    does not import pluginref, so the two load without an import cycle."""
    for op, fn in MASK_RCNN_REFERENCES.items():
        register_reference((op, op.removesuffix("_TRT")), fn)
