"""Boxes from network pixels back to the original frame: the inverse of nvinfer's scaling.

preprocess_image() reports where the scaled frame sits in the network input (a Letterbox: scale per
axis and the top-left offset of the padding, 0 for plain resize and right/bottom padding, half the
spare pixels for symmetric padding). A network-pixel x maps to (x - offset_x) / scale_x in the
frame; results are clipped to the frame, and boxes that end up empty are dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from taostream.converter.model.preprocess import Letterbox, letterbox_geometry


def to_frame_coordinates(boxes: np.ndarray, letterbox: Letterbox, frame_w: int, frame_h: int) -> np.ndarray:
    """[N, 4] x1, y1, x2, y2 in network pixels -> the same boxes in frame pixels (float64, clipped)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x = (boxes[:, [0, 2]] - letterbox.offset_x) / letterbox.scale_x
    y = (boxes[:, [1, 3]] - letterbox.offset_y) / letterbox.scale_y
    out = np.empty_like(boxes)
    out[:, [0, 2]] = np.clip(x, 0.0, frame_w)
    out[:, [1, 3]] = np.clip(y, 0.0, frame_h)
    return out


def detections_to_frame(detections, letterbox: Letterbox, frame_w: int, frame_h: int) -> list:
    """Reference Detection objects (network pixels) -> the same objects in frame pixels.

    Masks stay in their own (box-relative) resolution; only the box moves."""
    if not detections:
        return []
    boxes = np.array([(d.left, d.top, d.right, d.bottom) for d in detections], dtype=np.float64)
    mapped = to_frame_coordinates(boxes, letterbox, frame_w, frame_h)
    kept = []
    for det, (x1, y1, x2, y2) in zip(detections, mapped):
        if x2 > x1 and y2 > y1:
            kept.append(replace(det, left=float(x1), top=float(y1), right=float(x2), bottom=float(y2)))
    return kept


def frame_letterbox(frame_w: int, frame_h: int, net_w: int, net_h: int, maintain_aspect_ratio: bool,
                    symmetric_padding: bool) -> Letterbox:
    """The geometry preprocess_image uses for a frame of this size (same function, one definition)."""
    return letterbox_geometry(frame_w, frame_h, net_w, net_h, maintain_aspect_ratio, symmetric_padding)
