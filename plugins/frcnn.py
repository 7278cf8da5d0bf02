"""Numpy references of the FasterRCNN TensorRT plugins: Proposal / ProposalDynamic and
CropAndResize / CropAndResizeDynamic. They are the test oracle of the standard-op rewrites in
converter/modernize/frcnn.py.

The spec is the TensorRT OSS source (plugin/proposalPlugin, plugin/common/kernels/proposalKernel.cu,
plugin/cropAndResizePlugin, plugin/common/kernels/cropAndResizeKernel.cu); the facts this file
relies on, as read there:

Proposal
- inputs: scores [N, A, H, W] (sigmoid objectness), deltas [N, 4A, H, W] ordered (tx, ty, tw, th) per
  anchor; A = len(anchor_sizes) * len(anchor_ratios), anchor a = size_index * n_ratios + ratio_index.
- the creator stores sqrt(ratio): anchor_w = size * sqrt(ratio), anchor_h = size / sqrt(ratio);
  anchor centre ((w + 0.5) * rpn_stride, (h + 0.5) * rpn_stride); the std scaling is 1.
- decode: cx = acx + aw * tx, w' = exp(tw) * aw, x1 = cx - w'/2, x2 = x1 + w' (same for y; exp computed
  in double and rounded, ``exp_f32``); clip to
  [0, input_width - 1] x [0, input_height - 1]; a box with x2 - x1 <= roi_min_size or
  y2 - y1 <= roi_min_size gets score -inf (it is NOT dropped: it can still be output).
- order by score, descending, stable (CUB radix sort); keep the first pre_nms_top_n; greedy NMS
  with the +1 pixel IoU convention, suppressing IoU > nms_iou_threshold; keep post_nms_top_n.
- output rois [N, post_nms_top_n, 4, 1] = y1/(H_in-1), x1/(W_in-1), y2/(H_in-1), x2/(W_in-1);
  rows past the kept count are zero.

CropAndResize
- inputs: feature map [N, C, H, W], rois [N, R, 4(, 1)] normalized y1, x1, y2, x2.
- TensorFlow crop_and_resize: in_y = y1*(H-1) + i*(y2-y1)*(H-1)/(crop_h-1) (crop_h > 1) or
  0.5*(y1+y2)*(H-1); a sample outside [0, H-1] x [0, W-1] is the extrapolation value 0; else bilinear
  between floor and ceil.
- output [N, R, C, crop_height, crop_width].
"""

from __future__ import annotations

import numpy as np

PROPOSAL_OPS = ("Proposal", "ProposalDynamic")
CROP_AND_RESIZE_OPS = ("CropAndResize", "CropAndResizeDynamic")


def proposal_anchors(anchor_sizes, anchor_ratios) -> tuple[np.ndarray, np.ndarray]:
    """(anchor_w, anchor_h), one per anchor index a = size_index * len(ratios) + ratio_index."""
    sizes = np.asarray(anchor_sizes, dtype=np.float32).reshape(-1)
    roots = np.sqrt(np.asarray(anchor_ratios, dtype=np.float32).reshape(-1))
    widths = (sizes[:, None] * roots[None, :]).reshape(-1)
    heights = (sizes[:, None] / roots[None, :]).reshape(-1)
    return widths.astype(np.float32), heights.astype(np.float32)


def decode_proposals(scores, deltas, *, input_height, input_width, rpn_stride, roi_min_size,
                     anchor_sizes, anchor_ratios) -> tuple[np.ndarray, np.ndarray]:
    """Decode one batch: boxes [N, A*H*W, 4] as pixel (x1, y1, x2, y2) and scores [N, A*H*W] with
    -inf for boxes at or below roi_min_size, both in (a, h, w) order."""
    scores = np.asarray(scores, dtype=np.float32)
    n, a, h, w = scores.shape
    deltas = np.asarray(deltas, dtype=np.float32).reshape(n, a, 4, h, w)
    anchor_w, anchor_h = proposal_anchors(anchor_sizes, anchor_ratios)
    if anchor_w.size != a:
        raise ValueError(f"scores have {a} anchors per cell, anchor_sizes x anchor_ratios give {anchor_w.size}")
    aw, ah = anchor_w[None, :, None, None], anchor_h[None, :, None, None]
    cx_anchor = ((np.arange(w, dtype=np.float32) + 0.5) * rpn_stride)[None, None, None, :]
    cy_anchor = ((np.arange(h, dtype=np.float32) + 0.5) * rpn_stride)[None, None, :, None]
    tx, ty, tw, th = (deltas[:, :, i] for i in range(4))
    with np.errstate(over="ignore", invalid="ignore"):  # large deltas overflow exp, as on the GPU
        cx, cy = cx_anchor + aw * tx, cy_anchor + ah * ty
        bw, bh = exp_f32(tw) * aw, exp_f32(th) * ah
        x1, y1 = cx - bw / 2, cy - bh / 2
        x2, y2 = bw + x1, bh + y1
    x1, x2 = (_clip_like_kernel(v, input_width - 1) for v in (x1, x2))
    y1, y2 = (_clip_like_kernel(v, input_height - 1) for v in (y1, y2))
    too_small = (x2 - x1 <= roi_min_size) | (y2 - y1 <= roi_min_size)
    scores = np.where(too_small, np.float32(-np.inf), scores).astype(np.float32)
    boxes = np.stack([x1, y1, x2, y2], axis=-1).reshape(n, -1, 4)
    return boxes.astype(np.float32), scores.reshape(n, -1)


def exp_f32(x: np.ndarray) -> np.ndarray:
    """exp of float32 values computed in double and rounded to float32 (an overflow is inf): numpy's
    float32 exp is not correctly rounded and its result depends on the CPU's SIMD path; this one equals
    the C++ host implementation's on every machine (the GPU's expf is within 2 ulp of it)."""
    return np.exp(np.asarray(x, np.float32).astype(np.float64)).astype(np.float32)


def _clip_like_kernel(v: np.ndarray, high: int) -> np.ndarray:
    """The kernel's `(v >= 0) ? v : 0` then `(v <= high) ? v : high`: a NaN (exp overflow gives
    inf - inf) becomes 0, where np.clip would keep it."""
    with np.errstate(invalid="ignore"):
        v = np.where(v >= 0, v, np.float32(0))
        return np.where(v <= high, v, np.float32(high)).astype(np.float32)


def _iou_plus_one(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU with the +1 pixel convention of the proposal kernel; boxes are (x1, y1, x2, y2)."""
    w = np.maximum(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]) + 1, 0)
    h = np.maximum(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]) + 1, 0)
    inter = w * h
    area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    areas = (others[:, 2] - others[:, 0] + 1) * (others[:, 3] - others[:, 1] + 1)
    return inter / (area + areas - inter)


def greedy_nms_plus_one(boxes: np.ndarray, iou_threshold: float, max_out: int) -> list[int]:
    """Indices kept by greedy NMS over boxes already in priority order."""
    suppressed = np.zeros(len(boxes), dtype=bool)
    kept: list[int] = []
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == max_out:
            break
        later = np.arange(i + 1, len(boxes))
        suppressed[later] |= _iou_plus_one(boxes[i], boxes[later]) > iou_threshold
    return kept


def proposal_reference(scores, deltas, *, input_height: int, input_width: int, rpn_stride: int,
                       roi_min_size: float, nms_iou_threshold: float, pre_nms_top_n: int,
                       post_nms_top_n: int, anchor_sizes, anchor_ratios) -> np.ndarray:
    """The Proposal plugin: rois [N, post_nms_top_n, 4, 1] normalized (y1, x1, y2, x2)."""
    boxes, fg = decode_proposals(
        scores, deltas, input_height=input_height, input_width=input_width, rpn_stride=rpn_stride,
        roi_min_size=roi_min_size, anchor_sizes=anchor_sizes, anchor_ratios=anchor_ratios,
    )
    n = boxes.shape[0]
    rois = np.zeros((n, post_nms_top_n, 4), dtype=np.float32)
    for b in range(n):
        order = np.argsort(-fg[b], kind="stable")[:pre_nms_top_n]
        candidates = boxes[b, order]
        kept = greedy_nms_plus_one(candidates, nms_iou_threshold, post_nms_top_n)
        rois[b, : len(kept)] = candidates[kept]
    # The kernel normalizes every row, including the zero rows past the kept count.
    x1, y1, x2, y2 = (rois[..., i] for i in range(4))
    hm1, wm1 = np.float32(input_height - 1), np.float32(input_width - 1)
    out = np.stack([y1 / hm1, x1 / wm1, y2 / hm1, x2 / wm1], axis=-1)
    return out.reshape(n, post_nms_top_n, 4, 1).astype(np.float32)


# Sample positions within this many pixels outside the image count as on its edge. A roi clipped to
# the image border (y2 = 1.0, common after Proposal) puts its last sample exactly on the edge, where
# float rounding alone (operation order, FMA) decides between the edge pixel and the extrapolation
# value; the tolerance makes that decision deterministic, in the reference and the rewrite alike.
EDGE_TOLERANCE = 1e-3


def crop_and_resize_reference(feature_map, rois, *, crop_height: int, crop_width: int,
                              extrapolation_value: float = 0.0) -> np.ndarray:
    """The CropAndResize plugin: [N, R, C, crop_height, crop_width] (TensorFlow semantics, with
    EDGE_TOLERANCE at the image border)."""
    fm = np.asarray(feature_map, dtype=np.float32)
    n, c, h, w = fm.shape
    boxes = np.asarray(rois, dtype=np.float32).reshape(n, -1, 4)
    out = np.full((n, boxes.shape[1], c, crop_height, crop_width), extrapolation_value, dtype=np.float32)
    for b in range(n):
        for r, (y1, x1, y2, x2) in enumerate(boxes[b]):
            in_y = _sample_positions(y1, y2, h, crop_height)
            in_x = _sample_positions(x1, x2, w, crop_width)
            for i, yy in enumerate(in_y):
                if not -EDGE_TOLERANCE <= yy <= h - 1 + EDGE_TOLERANCE:  # also skips NaN
                    continue
                yy = np.float32(min(max(yy, 0.0), h - 1))
                top, bottom = int(np.floor(yy)), int(np.ceil(yy))
                y_lerp = np.float32(yy - top)
                for j, xx in enumerate(in_x):
                    if not -EDGE_TOLERANCE <= xx <= w - 1 + EDGE_TOLERANCE:
                        continue
                    xx = np.float32(min(max(xx, 0.0), w - 1))
                    left, right = int(np.floor(xx)), int(np.ceil(xx))
                    x_lerp = np.float32(xx - left)
                    upper = fm[b, :, top, left] + (fm[b, :, top, right] - fm[b, :, top, left]) * x_lerp
                    lower = fm[b, :, bottom, left] + (fm[b, :, bottom, right] - fm[b, :, bottom, left]) * x_lerp
                    out[b, r, :, i, j] = upper + (lower - upper) * y_lerp
    return out


def _sample_positions(lo: np.float32, hi: np.float32, size: int, crop: int) -> np.ndarray:
    size_m1 = np.float32(size - 1)
    if crop > 1:
        scale = (hi - lo) * size_m1 / np.float32(crop - 1)
        return (lo * size_m1 + np.arange(crop, dtype=np.float32) * scale).astype(np.float32)
    return np.array([np.float32(0.5) * (lo + hi) * size_m1], dtype=np.float32)


# ---- adapters for the plugin-reference runner (plugins/reference.py) ----

def _attr_list(value) -> list[float]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [float(v) for v in np.asarray(value).reshape(-1)]
    return [float(value)]


def proposal_attributes(attrs: dict) -> dict:
    """Keyword arguments of proposal_reference from a plugin node's attributes (TAO names)."""
    missing = [k for k in ("input_height", "input_width", "rpn_stride", "pre_nms_top_n", "post_nms_top_n",
                           "anchor_sizes", "anchor_ratios", "nms_iou_threshold") if k not in attrs]
    if missing:
        raise ValueError(f"Proposal node lacks the attribute(s) {', '.join(missing)}")
    return dict(
        input_height=int(attrs["input_height"]),
        input_width=int(attrs["input_width"]),
        rpn_stride=int(attrs["rpn_stride"]),
        roi_min_size=float(attrs.get("roi_min_size", 0.0)),
        nms_iou_threshold=float(attrs["nms_iou_threshold"]),
        pre_nms_top_n=int(attrs["pre_nms_top_n"]),
        post_nms_top_n=int(attrs["post_nms_top_n"]),
        anchor_sizes=_attr_list(attrs["anchor_sizes"]),
        anchor_ratios=_attr_list(attrs["anchor_ratios"]),
    )


def crop_and_resize_attributes(attrs: dict) -> dict:
    if "crop_width" not in attrs or "crop_height" not in attrs:
        raise ValueError("CropAndResize node lacks crop_width/crop_height")
    return dict(crop_height=int(attrs["crop_height"]), crop_width=int(attrs["crop_width"]))


def proposal_adapter(attrs: dict, inputs: list) -> list[np.ndarray]:
    return [proposal_reference(inputs[0], inputs[1], **proposal_attributes(attrs))]


def crop_and_resize_adapter(attrs: dict, inputs: list) -> list[np.ndarray]:
    return [crop_and_resize_reference(inputs[0], inputs[1], **crop_and_resize_attributes(attrs))]


def register_references(register_reference) -> None:
    """Register the FasterRCNN references (pluginref.register_reference, which pluginref calls when it
    loads, or a standalone copy's): this module does not import pluginref, so the two load without an
    import cycle."""
    register_reference(PROPOSAL_OPS, proposal_adapter)
    register_reference(CROP_AND_RESIZE_OPS, crop_and_resize_adapter)
