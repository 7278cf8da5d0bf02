"""Baseline for bench_parsers.py: a faithful re-implementation of TAO's own DetectNet_v2
post-processor (the inference path of nvidia_tao_tf1 detectnet_v2 and tao-toolkit-triton-apps):
float32 grid decode over the whole tensor, `cov > coverage_threshold`, scikit-learn
DBSCAN(eps, min_samples=max(int(min_samples), 1), metric='precomputed') on 1 - IoU (IoU
denominator + 0.01) with sample_weight = coverage, coverage-weighted mean box, confidence = summed
coverage, kept when height > minimum_bounding_box_height and confidence > the DBSCAN confidence
threshold, sorted by confidence. Written from TAO's documented behaviour, not copied."""

from __future__ import annotations

import numpy as np


def decode_grid(bbox: np.ndarray, net_w: int, net_h: int, stride: int = 16, offset: float = 0.5,
                bbox_norm: float = 35.0) -> np.ndarray:
    """[4C,H,W] offsets -> absolute x1,y1,x2,y2 planes, clipped to the network (float32)."""
    boxes = bbox.astype(np.float32).copy()
    gh, gw = boxes.shape[-2:]
    cx = ((np.arange(gw) * stride + offset) / bbox_norm).astype(np.float32)[None, :]
    cy = ((np.arange(gh) * stride + offset) / bbox_norm).astype(np.float32)[:, None]
    for c in range(boxes.shape[0] // 4):
        boxes[4 * c + 0] = np.clip((boxes[4 * c + 0] - cx) * -bbox_norm, 0, net_w)
        boxes[4 * c + 1] = np.clip((boxes[4 * c + 1] - cy) * -bbox_norm, 0, net_h)
        boxes[4 * c + 2] = np.clip((boxes[4 * c + 2] + cx) * bbox_norm, 0, net_w)
        boxes[4 * c + 3] = np.clip((boxes[4 * c + 3] + cy) * bbox_norm, 0, net_h)
    return boxes


def iou_vectorized(rects: np.ndarray) -> np.ndarray:
    left, top, right, bottom = rects.T
    iw = np.maximum(0, np.minimum(right[:, None], right[None, :]) - np.maximum(left[:, None], left[None, :]))
    ih = np.maximum(0, np.minimum(bottom[:, None], bottom[None, :]) - np.maximum(top[:, None], top[None, :]))
    inter = iw * ih
    areas = (right - left) * (bottom - top)
    return inter / (areas[:, None] + areas[None, :] - inter + 0.01)


def tao_postprocess(cov: np.ndarray, bbox: np.ndarray, net_w: int, net_h: int, coverage_threshold: float,
                    eps: float, min_samples: float, confidence_threshold: float, min_height: float):
    """One image: list of (class_id, [x1,y1,x2,y2], confidence), sorted per class by confidence."""
    from sklearn.cluster import DBSCAN

    db = DBSCAN(eps=eps, min_samples=max(int(min_samples), 1), metric="precomputed")
    boxes = decode_grid(bbox, net_w, net_h)
    out = []
    for c in range(cov.shape[0]):
        covs = cov[c].reshape(-1)
        valid = covs > coverage_threshold
        if not valid.any():
            continue
        w_all = covs[valid]
        b_all = boxes[4 * c:4 * c + 4].reshape(4, -1).T[valid]
        labeling = db.fit_predict(X=1.0 - iou_vectorized(b_all), sample_weight=w_all)
        found = []
        for label in np.unique(labeling[labeling >= 0]):
            w = w_all[labeling == label]
            aggregated = np.sum(w)
            w_norm = w / aggregated
            b = b_all[labeling == label]
            mean = np.sum((b.T * w_norm).T, axis=0)
            # TAO also reports each cluster's normalised box variance (unused by the decision).
            area = max((mean[2] - mean[0]) * (mean[3] - mean[1]), 0.001)
            _cluster_cv = np.sqrt(np.mean(np.sum(w_norm.reshape(-1, 1) * (b - mean) ** 2, axis=0)) / area)
            if mean[3] - mean[1] > min_height and aggregated > confidence_threshold:
                found.append((c, mean, float(aggregated)))
        out += sorted(found, key=lambda det: -det[2])
    return out
