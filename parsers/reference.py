"""Numpy reference post-processors: the definition of what each DeepStream parser in
libnvds_infercustomparser_taostream.so computes, one function per registry ``output_layout``.

The C++ parsers (parsers/src/decoders.cpp) and these functions implement the same arithmetic in the
same order (float32 box maths, float64 IoU and cluster means) so the tests can compare them to
1e-3 px. The Triton client and the CPU runner use these functions directly.

Conventions shared with the C++ side:
- boxes are returned in network pixels, clipped to [0, net_w] x [0, net_h]; empty boxes are dropped;
- a class id is kept when 0 <= id < num_classes and id < len(pre_cluster_threshold) and the
  confidence is finite and >= pre_cluster_threshold[id] (DeepStream's documented rule);
- NaN/inf values drop only the box they belong to; malformed sizes raise MalformedOutputError.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

F32 = np.float32
# exp() argument limit for FasterRCNN deltas (log(1000/16), as in Detectron): no infinite boxes.
MAX_LOG_SCALE = F32(4.135166556742356)
FRCNN_DELTA_STDS = (F32(10.0), F32(10.0), F32(5.0), F32(5.0))


class MalformedOutputError(ValueError):
    """An output tensor has the wrong size or shape for the layout (the C++ parser returns false)."""


@dataclass(frozen=True)
class Detection:
    class_id: int
    left: float
    top: float
    right: float
    bottom: float
    confidence: float
    mask: np.ndarray | None = field(default=None, compare=False)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Attribute:
    """One classifier result, as NvDsInferAttribute (index = output layer, value = class id)."""

    index: int
    value: int
    confidence: float
    label: str | None = None  # set by parsers that name the result themselves (LPRNet's plate)


CLUSTER_MODES = ("none", "dbscan", "nms", "dbscan_nms")


@dataclass(frozen=True)
class DetectNetV2Clustering:
    """DetectNet_v2 decode and clustering settings (TAO's clustering_config names in comments).

    ``to_env()`` gives the TAOSTREAM_DETECTNET_V2 value that makes the C++ parser do the same, and
    ``from_env()`` reads it back. TAO's clustering_config is per class: eps, min_samples,
    confidence_threshold and min_height may be tuples with one value per class id (the last value
    repeats for higher ids); ``for_class(c)`` gives class c's scalar settings."""

    mode: str = "dbscan"
    eps: float | tuple[float, ...] = 0.3  # dbscan_eps
    min_samples: float | tuple[float, ...] = 0.05  # dbscan_min_samples; TAO uses max(int(x), 1)
    confidence_threshold: float | tuple[float, ...] = 0.1  # dbscan_confidence_threshold (sum(cov) > it)
    min_height: float | tuple[float, ...] = 4.0  # minimum_bounding_box_height (kept when height > it)
    nms_iou: float = 0.5
    top_k: int = 0  # per class after clustering, 0 = all
    bbox_norm: float = 35.0
    offset: float = 0.5
    max_candidates: int = 20000  # per class, highest coverage first; bounds O(n^2) clustering

    def __post_init__(self) -> None:
        if self.mode not in CLUSTER_MODES:
            raise ValueError(f"cluster mode must be one of {', '.join(CLUSTER_MODES)}, not {self.mode!r}")

    _PER_CLASS = ("eps", "min_samples", "confidence_threshold", "min_height")
    _ENV_NAMES = {"confidence_threshold": "confidence"}
    _INTEGERS = ("top_k", "max_candidates")

    def for_class(self, class_id: int) -> "DetectNetV2Clustering":
        values = {}
        for name in self._PER_CLASS:
            value = getattr(self, name)
            if isinstance(value, (tuple, list)):
                values[name] = float(value[min(class_id, len(value) - 1)])
        return replace(self, **values) if values else self

    def to_env(self) -> str:
        def text(value) -> str:
            if isinstance(value, (tuple, list)):
                return ",".join(repr(float(v)) for v in value)
            return str(value) if isinstance(value, int) else repr(float(value))

        fields = ("eps", "min_samples", "confidence_threshold", "min_height", "nms_iou", "top_k",
                  "bbox_norm", "offset", "max_candidates")
        return " ".join([f"mode={self.mode}"] + [f"{self._ENV_NAMES.get(f, f)}={text(getattr(self, f))}" for f in fields])

    @classmethod
    def from_env(cls, text: str | None) -> "DetectNetV2Clustering":
        """Parse a TAOSTREAM_DETECTNET_V2 value (what the C++ parser reads); None or "" gives defaults."""
        names = {cls._ENV_NAMES.get(f, f): f for f in (*cls._PER_CLASS, "nms_iou", "top_k", "bbox_norm", "offset", "max_candidates")}
        values: dict = {}
        for item in (text or "").split():
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"TAOSTREAM_DETECTNET_V2: '{item}' is not key=value")
            if key == "mode":
                values["mode"] = value
                continue
            if key not in names:
                raise ValueError(f"TAOSTREAM_DETECTNET_V2: unknown key '{key}'")
            field_name = names[key]
            try:
                numbers = [float(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"TAOSTREAM_DETECTNET_V2: {key} needs a number, got '{value}'") from None
            if field_name in cls._PER_CLASS:
                values[field_name] = numbers[0] if len(numbers) == 1 else tuple(numbers)
            elif len(numbers) != 1:
                raise ValueError(f"TAOSTREAM_DETECTNET_V2: {key} takes one number, got '{value}'")
            else:
                values[field_name] = int(numbers[0]) if field_name in cls._INTEGERS else numbers[0]
        return cls(**values)


def _per_class(values: Sequence, class_id: int):
    return values[min(class_id, len(values) - 1)]


@dataclass(frozen=True)
class NvinferClustering:
    """What nvinfer itself does with a detector parser's list before DeepStream reports it (DeepStream's
    open nvdsinfer DetectPostprocessor): per class, what is under pre-cluster-threshold is dropped (the
    parser's thresholds), then ``mode`` (cluster-mode) 2 (NMS) or 3 (DBSCAN + NMS; the DBSCAN part runs
    only with minBoxes > 0, which taostream never sets) suppresses, in descending confidence, every box
    whose IoU (left/top/width/height in network pixels, no +1) with a kept one is over nms-iou-threshold
    and keeps what is above post-cluster-threshold; 1 (DBSCAN without minBoxes) keeps what is not under
    post-cluster-threshold; 4 nothing. Every mode then keeps the topk most confident per class (-1: all).
    Per-class tuples, the last value repeating for higher class ids; defaults are nvinfer's.

    A detector that already ran an NMS plugin still goes through it: boxes clipped to the frame overlap
    more than the plugin saw, so nvinfer's NMS at the same IoU threshold can drop some."""

    mode: int = 4
    nms_iou: tuple[float, ...] = (0.3,)
    top_k: tuple[int, ...] = (-1,)
    post_cluster_threshold: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        if self.mode not in (1, 2, 3, 4):
            raise ValueError(f"nvinfer cluster-mode {self.mode} is not reproduced (1, 2, 3 or 4)")
        if not (self.nms_iou and self.top_k and self.post_cluster_threshold):
            raise ValueError("nvinfer clustering needs at least one value per setting")

    def to_text(self) -> str:
        """One line (the CPU Triton model's ``nvinfer_clustering`` parameter); ``from_text`` reads it."""
        def listed(values):
            return ",".join(repr(v) for v in values)

        return (f"mode={self.mode} nms_iou={listed(self.nms_iou)} topk={listed(self.top_k)} "
                f"post_cluster_threshold={listed(self.post_cluster_threshold)}")

    @classmethod
    def from_text(cls, text: str) -> "NvinferClustering":
        fields = dict(part.split("=", 1) for part in text.split())
        unknown = set(fields) - {"mode", "nms_iou", "topk", "post_cluster_threshold"}
        if unknown:
            raise ValueError(f"unknown nvinfer clustering setting(s): {', '.join(sorted(unknown))}")
        kwargs = {}
        if "mode" in fields:
            kwargs["mode"] = int(fields["mode"])
        for key, name, kind in (("nms_iou", "nms_iou", float), ("topk", "top_k", int),
                                ("post_cluster_threshold", "post_cluster_threshold", float)):
            if key in fields:
                kwargs[name] = tuple(kind(v) for v in fields[key].split(","))
        return cls(**kwargs)

    def apply(self, detections: Sequence["Detection"]) -> list["Detection"]:
        """The detections nvinfer keeps, in the parser's order."""
        kept: list[int] = []
        for class_id in sorted({d.class_id for d in detections}):
            order = sorted((i for i, d in enumerate(detections) if d.class_id == class_id),
                           key=lambda i: -detections[i].confidence)  # stable, as nvinfer's std::stable_sort
            if self.mode in (2, 3):
                threshold = F32(_per_class(self.nms_iou, class_id))
                chosen: list[int] = []
                for i in order:
                    if all(_nvinfer_iou(detections[i], detections[j]) <= threshold for j in chosen):
                        chosen.append(i)
                post = F32(_per_class(self.post_cluster_threshold, class_id))
                order = [i for i in chosen if F32(detections[i].confidence) > post]
            elif self.mode == 1:
                post = F32(_per_class(self.post_cluster_threshold, class_id))
                order = [i for i in order if not F32(detections[i].confidence) < post]
            top_k = int(_per_class(self.top_k, class_id))
            kept.extend(order if top_k < 0 else order[:top_k])
        return [detections[i] for i in sorted(kept)]


def _nvinfer_iou(a: "Detection", b: "Detection") -> np.float32:
    """nvdsinfer's computeIoU in float32: boxes as left/top/width/height, 0 for an empty union."""
    def overlap(a_min, a_max, b_min, b_max):
        if a_min > b_min:
            a_min, a_max, b_min, b_max = b_min, b_max, a_min, a_max
        return F32(0) if a_max < b_min else min(a_max, b_max) - b_min

    ax, ay, bx, by = F32(a.left), F32(a.top), F32(b.left), F32(b.top)
    aw, ah = F32(a.right) - ax, F32(a.bottom) - ay
    bw, bh = F32(b.right) - bx, F32(b.bottom) - by
    inter = overlap(ax, ax + aw, bx, bx + bw) * overlap(ay, ay + ah, by, by + bh)
    union = aw * ah + bw * bh - inter
    return F32(0) if union == 0 else F32(inter / union)


@dataclass(frozen=True)
class DecodeParams:
    """What nvinfer passes a parser (num-detected-classes, per-class pre-cluster-threshold) plus
    the settings nvinfer cannot pass (DetectNet_v2 clustering, FasterRCNN NMS)."""

    num_classes: int
    pre_cluster_threshold: tuple[float, ...]
    detectnet_v2: DetectNetV2Clustering = DetectNetV2Clustering()
    frcnn_nms_iou: float = 0.3
    frcnn_keep_top_k: int = 100
    # nvinfer's own clustering after the parser (the bundle's cluster-mode, nms-iou-threshold, topk);
    # None: the parser's list as it is (the parser alone, as the C++ parser tests call it).
    nvinfer: NvinferClustering | None = None

    @classmethod
    def uniform(cls, num_classes: int, threshold: float, **kwargs) -> "DecodeParams":
        return cls(num_classes, (float(threshold),) * num_classes, **kwargs)

    @classmethod
    def from_model_parameters(cls, parameters: Mapping[str, str], num_classes: int,
                              threshold: float | None = None) -> "DecodeParams":
        """The settings `taostream bundle` writes into the CPU Triton model's config parameters:
        confidence_threshold (or class_thresholds, one per class id), nms_iou_threshold and, for
        DetectNet_v2, detectnet_v2_clustering (the C++ parser's settings string). ``threshold``
        overrides every class's threshold."""
        if threshold is not None:
            values = (float(threshold),) * num_classes
        elif parameters.get("class_thresholds"):
            listed = tuple(float(v) for v in parameters["class_thresholds"].split(","))
            values = (listed + (listed[-1],) * num_classes)[:num_classes]
        else:
            values = (float(parameters.get("confidence_threshold", 0.0)),) * num_classes
        kwargs = {}
        if "nms_iou_threshold" in parameters:
            kwargs["frcnn_nms_iou"] = float(parameters["nms_iou_threshold"])
        if parameters.get("detectnet_v2_clustering"):
            kwargs["detectnet_v2"] = DetectNetV2Clustering.from_env(parameters["detectnet_v2_clustering"])
        if parameters.get("nvinfer_clustering"):
            kwargs["nvinfer"] = NvinferClustering.from_text(parameters["nvinfer_clustering"])
        return cls(num_classes, values, **kwargs)

    @classmethod
    def for_network(cls, network, num_classes: int, **kwargs) -> "DecodeParams":
        """Registry defaults (pre-cluster threshold, NMS IoU, keepTopK) for ``network``."""
        net = _network(network)
        if net.output_layout == "nms7" and net.name == "faster_rcnn":
            kwargs.setdefault("frcnn_nms_iou", net.nms_iou_threshold)
            kwargs.setdefault("frcnn_keep_top_k", net.keep_top_k)
        return cls.uniform(num_classes, net.pre_cluster_threshold, **kwargs)

    def thresholds(self) -> np.ndarray:
        return np.asarray(self.pre_cluster_threshold, dtype=F32)

    def class_threshold(self, class_id: int) -> float:
        """Class ``class_id``'s pre-cluster threshold (the last one repeats for higher ids)."""
        values = self.pre_cluster_threshold
        return float(values[min(class_id, len(values) - 1)]) if values else 0.0

    def confidence_floors(self, layout: str) -> tuple[float, ...]:
        """Per class: the confidence every reported detection reaches. Usually the pre-cluster
        threshold; for DetectNet_v2 with DBSCAN the larger of it (a cell's coverage) and the cluster
        confidence threshold (a cluster's summed coverage must exceed it)."""
        floors = []
        for c in range(self.num_classes):
            floor = self.class_threshold(c)
            if layout == "detectnet_v2_grid" and self.detectnet_v2.mode in ("dbscan", "dbscan_nms"):
                floor = max(floor, float(self.detectnet_v2.for_class(c).confidence_threshold))
            floors.append(floor)
        return tuple(floors)

    def accepts(self, class_ids: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """Vectorised DeepStream rule; class_ids int64 (invalid ids may be any value)."""
        thresholds = self.thresholds()
        limit = min(self.num_classes, len(thresholds))
        valid = (class_ids >= 0) & (class_ids < limit)
        safe_ids = np.where(valid, class_ids, 0)
        conf = np.asarray(confidences, dtype=F32)
        with np.errstate(invalid="ignore"):
            ok = valid & np.isfinite(conf)
            if len(thresholds):
                ok &= conf >= thresholds[np.clip(safe_ids, 0, len(thresholds) - 1)]
            else:
                ok &= False
        return ok


# --- small shared pieces ------------------------------------------------------------------------


def _flat(array: np.ndarray, name: str) -> np.ndarray:
    flat = np.asarray(array).reshape(-1)
    if flat.size == 0:
        raise MalformedOutputError(f"output '{name}' is empty")
    return flat


def _as_f32(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).astype(F32, copy=False)


def count_value(array: np.ndarray, upper: int) -> int:
    """A detection count from element 0, clamped to [0, upper]. An FP32 tensor holding int32 bits
    (TensorRT's NMS plugins) is read as those bits when they are a plausible count."""
    flat = np.asarray(array).reshape(-1)
    if flat.size == 0 or upper <= 0:
        return 0
    if flat.dtype == np.float32:
        bits = int(flat[:1].view(np.int32)[0])
        if 0 <= bits <= upper:
            return bits
    value = float(flat[0])
    if not value >= 0.0:
        return 0
    return upper if value >= upper else int(value)


def _class_ids(values: np.ndarray) -> np.ndarray:
    """Truncated class ids; -1 for NaN/inf/absurd values (rejected by accepts())."""
    v = np.asarray(values, dtype=F32)
    with np.errstate(invalid="ignore"):
        sane = np.isfinite(v) & (v >= F32(-1e9)) & (v <= F32(1e9))
    return np.where(sane, np.trunc(np.where(sane, v, 0)).astype(np.int64), -1)


def _clip_boxes(x1, y1, x2, y2, net_w: int, net_h: int):
    """float32 clip to the network; returns (boxes Nx4 float32, keep mask)."""
    w, h = F32(net_w), F32(net_h)
    coords = np.stack([x1, y1, x2, y2], axis=-1).astype(F32, copy=False)
    finite = np.isfinite(coords).all(axis=-1)
    coords = np.where(finite[:, None], coords, F32(0))
    out = np.empty_like(coords)
    out[:, 0] = np.minimum(np.maximum(coords[:, 0], F32(0)), w)
    out[:, 1] = np.minimum(np.maximum(coords[:, 1], F32(0)), h)
    out[:, 2] = np.minimum(np.maximum(coords[:, 2], F32(0)), w)
    out[:, 3] = np.minimum(np.maximum(coords[:, 3], F32(0)), h)
    keep = finite & (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out, keep


def _detections(class_ids, boxes, scores, keep) -> list[Detection]:
    return [
        Detection(int(class_ids[i]), float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 2]),
                  float(boxes[i, 3]), float(scores[i]))
        for i in np.flatnonzero(keep)
    ]


def _pairwise_parts(box: np.ndarray, boxes: np.ndarray):
    """Intersection and the two areas of one box against many, in float64."""
    b = boxes.astype(np.float64)
    a = np.asarray(box, dtype=np.float64)
    iw = np.maximum(0.0, np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]))
    ih = np.maximum(0.0, np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return iw * ih, area_a, area_b


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    inter, area_a, area_b = _pairwise_parts(box, boxes)
    union = area_a + area_b - inter
    return np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)


def tao_distance_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """TAO DetectNet_v2 DBSCAN distance: 1 - inter / (union + 0.01)."""
    inter, area_a, area_b = _pairwise_parts(box, boxes)
    denominator = area_a + area_b - inter + 0.01
    return 1.0 - np.where(denominator > 0.0, inter / np.where(denominator > 0.0, denominator, 1.0), 0.0)


def order_by_score(scores: np.ndarray) -> np.ndarray:
    """Descending, ties in index order (std::stable_sort with '>')."""
    return np.argsort(-np.asarray(scores, dtype=F32), kind="stable")


def nms_keep(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, top_k: int = 0) -> list[int]:
    """Greedy NMS: indices kept, in descending score order."""
    order = order_by_score(scores)
    suppressed = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for p, i in enumerate(order):
        if suppressed[i]:
            continue
        kept.append(int(i))
        if top_k > 0 and len(kept) >= top_k:
            break
        rest = order[p + 1:]
        if rest.size:
            overlap = iou_one_to_many(boxes[i], boxes[rest]) > iou_threshold
            suppressed[rest[overlap]] = True
    return kept


def tao_distance_matrix(boxes: np.ndarray) -> np.ndarray:
    """All pairs of tao_distance_one_to_many (same float64 operations, element by element)."""
    b = boxes.astype(np.float64)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    iw = np.maximum(0.0, np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]))
    ih = np.maximum(0.0, np.minimum(y2[:, None], y2[None, :]) - np.maximum(y1[:, None], y1[None, :]))
    inter = iw * ih
    area = (x2 - x1) * (y2 - y1)
    denominator = area[:, None] + area[None, :] - inter + 0.01
    positive = denominator > 0.0
    return 1.0 - np.where(positive, inter / np.where(positive, denominator, 1.0), 0.0)


_DENSE_DBSCAN_LIMIT = 4096  # above this many boxes the n x n matrix is not worth its memory


def dbscan_labels(boxes: np.ndarray, weights: np.ndarray, eps: float, min_samples: float) -> np.ndarray:
    """scikit-learn's DBSCAN (metric='precomputed', sample_weight) on TAO's 1 - IoU distance:
    a point is core when the summed weight of {j : d(i, j) <= eps} (itself included) is
    >= min_samples; clusters are numbered in the order scikit-learn numbers them; -1 = noise.

    Clusters are the connected components of core points, numbered by their lowest index; a
    non-core point joins the lowest-numbered cluster among its core neighbours (what
    scikit-learn's walk produces)."""
    n = len(boxes)
    w = np.asarray(weights, dtype=np.float64)
    if n > _DENSE_DBSCAN_LIMIT:
        return _dbscan_labels_by_rows(boxes, w, eps, min_samples)
    adjacency = tao_distance_matrix(boxes) <= eps
    core = np.where(adjacency, w[None, :], 0.0).sum(axis=1) >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    label = 0
    for start in np.flatnonzero(core):
        if labels[start] != -1:
            continue
        labels[start] = label
        frontier = np.array([start])
        while frontier.size:
            fresh = np.flatnonzero(adjacency[frontier].any(axis=0) & core & (labels == -1))
            labels[fresh] = label
            frontier = fresh
        label += 1
    border = np.flatnonzero(~core)
    if border.size and core.any():
        touching = np.where(adjacency[border][:, core], labels[core][None, :], np.iinfo(np.int64).max).min(axis=1)
        labels[border] = np.where(touching == np.iinfo(np.int64).max, -1, touching)
    return labels


def _dbscan_labels_by_rows(boxes: np.ndarray, w: np.ndarray, eps: float, min_samples: float) -> np.ndarray:
    """dbscan_labels for many boxes: one distance row at a time instead of the n x n matrix."""
    n = len(boxes)

    def neighbours(i: int) -> np.ndarray:
        return np.flatnonzero(tao_distance_one_to_many(boxes[i], boxes) <= eps)

    core = np.array([w[neighbours(i)].sum() >= min_samples for i in range(n)], dtype=bool)
    labels = np.full(n, -1, dtype=np.int64)
    label = 0
    for start in np.flatnonzero(core):
        if labels[start] != -1:
            continue
        labels[start] = label
        frontier = [start]
        while frontier:
            reached = np.unique(np.concatenate([neighbours(i) for i in frontier]))
            fresh = reached[(labels[reached] == -1) & core[reached]]
            labels[fresh] = label
            frontier = list(fresh)
        label += 1
    for p in np.flatnonzero(~core):
        nb = neighbours(p)
        touching = labels[nb[core[nb]]]
        if touching.size:
            labels[p] = touching.min()
    return labels


# --- one function per output layout --------------------------------------------------------------


def decode_nms7(detections: np.ndarray, keep_count: np.ndarray | None, net_w: int, net_h: int,
                params: DecodeParams) -> list[Detection]:
    """TensorRT NMS plugin output [1,K,7]: image_id, label, conf, xmin, ymin, xmax, ymax (0..1)."""
    flat = _as_f32(_flat(detections, "NMS detections"))
    if flat.size % 7:
        raise MalformedOutputError(f"NMS detections has {flat.size} elements, not a multiple of 7")
    rows = flat.reshape(-1, 7)
    keep = count_value(keep_count, len(rows)) if keep_count is not None and np.size(keep_count) else len(rows)
    rows = rows[:keep]
    ids = _class_ids(rows[:, 1])
    ok = params.accepts(ids, rows[:, 2])
    w, h = F32(net_w), F32(net_h)
    boxes, in_frame = _clip_boxes(rows[:, 3] * w, rows[:, 4] * h, rows[:, 5] * w, rows[:, 6] * h, net_w, net_h)
    return _detections(ids, boxes, rows[:, 2], ok & in_frame)


def _four_output(num, boxes, scores, classes, net_w, net_h, params, yx_pixels: bool):
    b = _as_f32(_flat(boxes, "boxes"))
    s = _as_f32(_flat(scores, "scores"))
    c = _as_f32(_flat(classes, "classes"))
    _flat(num, "number of detections")
    if b.size % 4 or b.size != 4 * s.size or c.size != s.size:
        raise MalformedOutputError(
            f"inconsistent detection outputs: boxes {b.size}, scores {s.size}, classes {c.size} (expected 4K, K, K)")
    n = count_value(num, s.size)
    b, s, c = b.reshape(-1, 4)[:n], s[:n], c[:n]
    ids = _class_ids(c)
    ok = params.accepts(ids, s)
    if yx_pixels:
        x1, y1, x2, y2 = b[:, 1], b[:, 0], b[:, 3], b[:, 2]
    else:
        w, h = F32(net_w), F32(net_h)
        x1, y1, x2, y2 = b[:, 0] * w, b[:, 1] * h, b[:, 2] * w, b[:, 3] * h
    clipped, in_frame = _clip_boxes(x1, y1, x2, y2, net_w, net_h)
    return _detections(ids, clipped, s, ok & in_frame)


def decode_batched_nms(num_detections, boxes, scores, classes, net_w: int, net_h: int,
                       params: DecodeParams) -> list[Detection]:
    """BatchedNMS: count [1], boxes [K,4] normalized x1,y1,x2,y2, scores [K], classes [K]."""
    return _four_output(num_detections, boxes, scores, classes, net_w, net_h, params, yx_pixels=False)


def decode_efficient_nms(num_detections, boxes, scores, classes, net_w: int, net_h: int,
                         params: DecodeParams) -> list[Detection]:
    """EfficientNMS: count [1], boxes [K,4] y1,x1,y2,x2 in pixels, scores [K], classes [K]."""
    return _four_output(num_detections, boxes, scores, classes, net_w, net_h, params, yx_pixels=True)


def decode_frcnn_tlt2(proposals, class_probs, deltas, net_w: int, net_h: int,
                      params: DecodeParams) -> list[Detection]:
    """TLT 2.0 FasterRCNN: proposals [R,4] normalized y1,x1,y2,x2; softmax [R,C] with background
    LAST; deltas [R,(C-1)*4] tx,ty,tw,th scaled by 10,10,5,5; per-class NMS, then keepTopK."""
    p = _as_f32(_flat(proposals, "proposal"))
    if p.size % 4:
        raise MalformedOutputError(f"proposal has {p.size} elements, not a multiple of 4")
    rois = p.size // 4
    probs = _as_f32(_flat(class_probs, "dense_class_td/Softmax"))
    d = _as_f32(_flat(deltas, "dense_regress_td/BiasAdd"))
    if probs.size % rois:
        raise MalformedOutputError(f"class softmax has {probs.size} elements for {rois} proposals")
    classes = probs.size // rois
    if classes < 2 or d.size != rois * (classes - 1) * 4:
        raise MalformedOutputError(f"deltas have {d.size} elements, expected {rois * max(classes - 1, 0) * 4}")
    p, probs, d = p.reshape(rois, 4), probs.reshape(rois, classes), d.reshape(rois, classes - 1, 4)
    w, h = F32(net_w), F32(net_h)
    ry1, rx1, ry2, rx2 = p[:, 0] * h, p[:, 1] * w, p[:, 2] * h, p[:, 3] * w
    rw, rh = rx2 - rx1, ry2 - ry1
    rcx, rcy = rx1 + F32(0.5) * rw, ry1 + F32(0.5) * rh
    found: list[Detection] = []
    for c in range(classes - 1):
        score = probs[:, c]
        ok = params.accepts(np.full(rois, c, dtype=np.int64), score)
        tx, ty = d[:, c, 0] / FRCNN_DELTA_STDS[0], d[:, c, 1] / FRCNN_DELTA_STDS[1]
        with np.errstate(invalid="ignore", over="ignore"):
            tw = np.minimum(d[:, c, 2] / FRCNN_DELTA_STDS[2], MAX_LOG_SCALE)
            th = np.minimum(d[:, c, 3] / FRCNN_DELTA_STDS[3], MAX_LOG_SCALE)
            cx, cy = tx * rw + rcx, ty * rh + rcy
            bw, bh = np.exp(tw) * rw, np.exp(th) * rh
            boxes, in_frame = _clip_boxes(cx - F32(0.5) * bw, cy - F32(0.5) * bh,
                                          cx + F32(0.5) * bw, cy + F32(0.5) * bh, net_w, net_h)
        idx = np.flatnonzero(ok & in_frame)
        for k in nms_keep(boxes[idx], score[idx], params.frcnn_nms_iou):
            i = idx[k]
            found.append(Detection(c, *map(float, boxes[i]), float(score[i])))
    found.sort(key=lambda det: -np.float32(det.confidence))  # stable, like std::stable_sort
    if params.frcnn_keep_top_k > 0:
        found = found[: params.frcnn_keep_top_k]
    return found


def decode_mask_rcnn(detections, masks, net_w: int, net_h: int, params: DecodeParams) -> list[Detection]:
    """MaskRCNN: detections [N,6] y1,x1,y2,x2,class,score (network pixels); masks [N,C,H,W]: the
    detected class's channel is returned as is (raw values, no sigmoid)."""
    det = _as_f32(_flat(detections, "generate_detections"))
    if det.size % 6:
        raise MalformedOutputError(f"generate_detections has {det.size} elements, not a multiple of 6")
    det = det.reshape(-1, 6)
    m = np.asarray(masks)
    if m.ndim < 3 or m.size == 0:
        raise MalformedOutputError("mask output needs dims [N,C,H,W]")
    mh, mw = m.shape[-2], m.shape[-1]
    n = len(det)
    if mh * mw == 0 or m.size % (n * mh * mw):
        raise MalformedOutputError(f"mask output has {m.size} elements, not {n} x C x {mh} x {mw}")
    m = _as_f32(m).reshape(n, -1, mh, mw)
    ids = _class_ids(det[:, 4])
    ok = params.accepts(ids, det[:, 5]) & (ids < m.shape[1])
    boxes, in_frame = _clip_boxes(det[:, 1], det[:, 0], det[:, 3], det[:, 2], net_w, net_h)
    return [
        Detection(int(ids[i]), *map(float, boxes[i]), float(det[i, 5]), mask=m[i, ids[i]].copy())
        for i in np.flatnonzero(ok & in_frame)
    ]


def _grid_dims(array: np.ndarray) -> tuple[int, ...]:
    shape = tuple(np.shape(array))
    while len(shape) > 3 and shape[0] == 1:
        shape = shape[1:]
    return shape


def decode_detectnet_v2_candidates(coverage, bbox, net_w: int, net_h: int, params: DecodeParams):
    """Per class: (boxes Kx4 float32, coverages K) of the grid cells at or above the threshold,
    in row-major cell order, decoded the TAO way and clipped to the network."""
    cd, bd = _grid_dims(coverage), _grid_dims(bbox)
    if len(cd) != 3 or len(bd) != 3 or bd != (4 * cd[0], cd[1], cd[2]) or 0 in cd:
        raise MalformedOutputError(f"DetectNet_v2 outputs must be [C,H,W] and [4C,H,W], got {cd} and {bd}")
    config = params.detectnet_v2
    if not config.bbox_norm > 0:
        raise MalformedOutputError("bbox_norm must be > 0")
    classes, gh, gw = cd
    cov = _as_f32(coverage).reshape(classes, gh * gw)
    reg = _as_f32(bbox).reshape(classes, 4, gh * gw)
    stride_x, stride_y = F32(-(-net_w // gw)), F32(-(-net_h // gh))
    norm, offset = F32(config.bbox_norm), F32(config.offset)
    cells = np.arange(gh * gw)
    cx = ((cells % gw).astype(F32) * stride_x + offset) / norm
    cy = ((cells // gw).astype(F32) * stride_y + offset) / norm
    w, h = F32(net_w), F32(net_h)
    per_class = []
    for c in range(classes):
        ok = params.accepts(np.full(gh * gw, c, dtype=np.int64), cov[c]) & np.isfinite(reg[c]).all(axis=0)
        o = reg[c][:, ok]
        boxes = np.stack([
            np.minimum(np.maximum((o[0] - cx[ok]) * -norm, F32(0)), w),
            np.minimum(np.maximum((o[1] - cy[ok]) * -norm, F32(0)), h),
            np.minimum(np.maximum((o[2] + cx[ok]) * norm, F32(0)), w),
            np.minimum(np.maximum((o[3] + cy[ok]) * norm, F32(0)), h),
        ], axis=-1).astype(F32, copy=False)
        per_class.append((boxes, cov[c][ok]))
    return per_class


def dbscan_clusters(boxes: np.ndarray, coverages: np.ndarray, config: DetectNetV2Clustering):
    """TAO's DBSCAN clustering of one class: (boxes, confidences) sorted by confidence."""
    min_samples = max(float(np.floor(config.min_samples)), 1.0)
    labels = dbscan_labels(boxes, coverages, config.eps, min_samples)
    out_boxes, out_conf = [], []
    for k in range(int(labels.max()) + 1 if labels.size else 0):
        members = np.flatnonzero(labels == k)
        w = coverages[members].astype(np.float64)
        total = np.cumsum(w)[-1]  # sequential sum, the C++ order
        norm_w = w / total
        mean = [np.cumsum(boxes[members, j].astype(np.float64) * norm_w)[-1] for j in range(4)]
        box = np.asarray(mean, dtype=F32)
        if float(box[3]) - float(box[1]) <= config.min_height or not total > config.confidence_threshold:
            continue
        out_boxes.append(box)
        out_conf.append(F32(total))
    if not out_boxes:
        return np.zeros((0, 4), F32), np.zeros(0, F32)
    out_boxes, out_conf = np.stack(out_boxes), np.asarray(out_conf, dtype=F32)
    order = order_by_score(out_conf)
    return out_boxes[order], out_conf[order]


def cluster_detectnet_v2_class(boxes: np.ndarray, coverages: np.ndarray, config: DetectNetV2Clustering):
    if config.max_candidates > 0 and len(boxes) > config.max_candidates:
        keep = np.sort(order_by_score(coverages)[: config.max_candidates])
        boxes, coverages = boxes[keep], coverages[keep]
    if config.mode == "none":
        result = boxes, coverages
    elif config.mode == "nms":
        keep = nms_keep(boxes, coverages, config.nms_iou)
        result = boxes[keep], coverages[keep]
    else:
        result = dbscan_clusters(boxes, coverages, config)
        if config.mode == "dbscan_nms":
            keep = nms_keep(result[0], result[1], config.nms_iou)
            result = result[0][keep], result[1][keep]
    if config.top_k > 0:
        result = result[0][: config.top_k], result[1][: config.top_k]
    return result


def decode_detectnet_v2(coverage, bbox, net_w: int, net_h: int, params: DecodeParams) -> list[Detection]:
    """DetectNet_v2: coverage [C,H,W] + bbox [4C,H,W] -> decoded, clustered boxes."""
    found: list[Detection] = []
    for c, (boxes, cov) in enumerate(decode_detectnet_v2_candidates(coverage, bbox, net_w, net_h, params)):
        boxes, conf = cluster_detectnet_v2_class(boxes, cov, params.detectnet_v2.for_class(c))
        for box, score in zip(boxes, conf):
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Detection(c, *map(float, box), float(score)))
    return found


def classify_softmax(probabilities: np.ndarray, threshold: float, index: int = 0) -> Attribute | None:
    """Arg-max over the finite probabilities; None below ``threshold``."""
    p = _as_f32(_flat(probabilities, "softmax"))
    finite = np.isfinite(p)
    if not finite.any():
        return None
    best = int(np.argmax(np.where(finite, p, -np.inf)))
    if not p[best] >= F32(threshold):
        return None
    return Attribute(index, best, float(p[best]))


# LPRNet: TAO's CTC greedy decode of the exported arg-max/max per time step.
LPR_MIN_CHARACTERS = 3  # NVIDIA's NvDsInferParseCustomNVPlate reports shorter readings as nothing


@dataclass(frozen=True)
class PlateReading:
    """One LPRNet reading: TAO's decode_ctc_conf (runs of the same id collapse to their first step,
    then blanks are dropped; id len(characters) is the blank)."""

    character_ids: tuple[int, ...]
    confidences: tuple[float, ...]  # the kept steps' tf_op_layer_Max values
    text: str

    @property
    def confidence(self) -> float:
        """The product of the character confidences, as NVIDIA's parser reports it (a float
        attributeConfidence multiplied by each double value in turn, so rounded to float32 per step)."""
        product = F32(1.0)
        for value in self.confidences:
            product = F32(float(product) * float(F32(value)))
        return float(product)


def decode_lprnet(ids: np.ndarray, confidences: np.ndarray, characters: Sequence[str]) -> PlateReading:
    """TAO's decode_ctc_conf for one image: ids [T] (tf_op_layer_ArgMax), confidences [T]
    (tf_op_layer_Max). An id outside 0..len(characters) is a malformed output."""
    ids = _flat(np.asarray(ids), "tf_op_layer_ArgMax").astype(np.int64)
    conf = _flat(np.asarray(confidences), "tf_op_layer_Max").astype(np.float64)
    if ids.size != conf.size:
        raise MalformedOutputError(f"tf_op_layer_ArgMax has {ids.size} steps but tf_op_layer_Max {conf.size}")
    blank = len(characters)
    kept_ids, kept_conf = [], []
    previous = None
    for step, value in enumerate(ids.tolist()):
        if not 0 <= value <= blank:
            raise MalformedOutputError(f"tf_op_layer_ArgMax step {step} is {value}, outside 0..{blank} "
                                       f"({blank} characters + the blank)")
        if value != previous and value != blank:
            kept_ids.append(value)
            kept_conf.append(float(conf[step]))
        previous = value
    return PlateReading(tuple(kept_ids), tuple(kept_conf), "".join(characters[i] for i in kept_ids))


def lprnet_attribute(reading: PlateReading) -> Attribute | None:
    """What NvDsInferParseCustomNVPlate attaches: attribute 0, value 1, confidence = product of the
    character confidences, label = the plate; nothing when fewer than 3 characters were read."""
    if len(reading.character_ids) < LPR_MIN_CHARACTERS:
        return None
    return Attribute(0, 1, reading.confidence, reading.text)


# --- network-level entry point --------------------------------------------------------------------

# Output names each layout looks for, in the order its decode function takes them (":0" ignored).
LAYOUT_OUTPUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "nms7": (("NMS", "nms_out"), ("NMS_1", "nms_out_1")),
    "batched_nms": (("BatchedNMS",), ("BatchedNMS_1",), ("BatchedNMS_2",), ("BatchedNMS_3",)),
    "efficient_nms": (("num_detections",), ("detection_boxes",), ("detection_scores",), ("detection_classes",)),
    "frcnn_tlt2": (("proposal",), ("dense_class_td/Softmax",), ("dense_regress_td/BiasAdd",)),
    "mask_rcnn": (("generate_detections",), ("mask_fcn_logits/BiasAdd", "mask_head/mask_fcn_logits/BiasAdd")),
    "detectnet_v2_grid": (("output_cov/Sigmoid",), ("output_bbox/BiasAdd",)),
    "softmax": (("predictions/Softmax",),),
    "lprnet_ctc": (("tf_op_layer_ArgMax",), ("tf_op_layer_Max",)),
}
# Rank of each output of one image (for telling batched arrays apart).
_IMAGE_RANK = {"nms7": 3, "batched_nms": 1, "efficient_nms": 1, "frcnn_tlt2": 2, "mask_rcnn": 2,
               "detectnet_v2_grid": 3, "softmax": 1, "lprnet_ctc": 1}


def _network(network):
    if isinstance(network, str):
        from taostream.converter.registry import get_network  # lazy: not in the Triton CPU model's copy

        return get_network(network)
    return network


def layout_of(network, outputs: Mapping[str, np.ndarray]) -> str:
    net = _network(network)
    names = {name.split(":")[0] for name in outputs}
    if net.name == "faster_rcnn" and "proposal" in names:
        return "frcnn_tlt2"  # TLT 2.0 UFF export: three outputs instead of NMS
    return net.output_layout


def select_outputs(layout: str, outputs: Mapping[str, np.ndarray]) -> list[np.ndarray | None]:
    """Outputs in decode order: by name, or by position when no name matches (optional keep count
    of nms7 may be absent)."""
    by_name = {name.split(":")[0]: array for name, array in outputs.items()}
    roles = LAYOUT_OUTPUTS[layout]
    picked = [next((by_name[n] for n in names if n in by_name), None) for names in roles]
    if all(p is None for p in picked):
        values = list(outputs.values())
        picked = [values[i] if i < len(values) else None for i in range(len(roles))]
    optional = {1} if layout == "nms7" else set()
    for i, (names, array) in enumerate(zip(roles, picked)):
        if array is None and i not in optional:
            raise MalformedOutputError(f"output '{names[0]}' not found among {', '.join(outputs) or '(none)'}")
    return picked


def decode_image(layout: str, arrays: Sequence[np.ndarray | None], net_w: int, net_h: int,
                 params: DecodeParams, classifier_threshold: float = 0.0, characters: Sequence[str] = ()):
    """One image's decode: the parser's, then nvinfer's own clustering when ``params.nvinfer`` says."""
    found = _decode_layout(layout, arrays, net_w, net_h, params, classifier_threshold, characters)
    if params.nvinfer is not None and isinstance(found, list):
        return params.nvinfer.apply(found)
    return found


def _decode_layout(layout: str, arrays: Sequence[np.ndarray | None], net_w: int, net_h: int,
                   params: DecodeParams, classifier_threshold: float, characters: Sequence[str]):
    if layout == "nms7":
        return decode_nms7(arrays[0], arrays[1], net_w, net_h, params)
    if layout == "batched_nms":
        return decode_batched_nms(*arrays, net_w, net_h, params)
    if layout == "efficient_nms":
        return decode_efficient_nms(*arrays, net_w, net_h, params)
    if layout == "frcnn_tlt2":
        return decode_frcnn_tlt2(*arrays, net_w, net_h, params)
    if layout == "mask_rcnn":
        return decode_mask_rcnn(*arrays, net_w, net_h, params)
    if layout == "detectnet_v2_grid":
        return decode_detectnet_v2(*arrays, net_w, net_h, params)
    if layout == "softmax":
        return classify_softmax(arrays[0], classifier_threshold)
    if layout == "lprnet_ctc":
        return lprnet_attribute(decode_lprnet(arrays[0], arrays[1], characters))
    raise ValueError(f"no reference decoder for output layout '{layout}'")


def decode(network, outputs: Mapping[str, np.ndarray], net_w: int, net_h: int,
           params: DecodeParams | None = None, batched: bool | None = None,
           classifier_threshold: float = 0.0, characters: Sequence[str] = ()):
    """Decode a network's raw outputs the way its DeepStream parser does.

    ``network`` is a registry Network or any name get_network() accepts. With ``batched`` (or, when
    None, when the first output has one more dim than one image's), every array's first axis is
    the batch and the result is a list per image; otherwise the detections of one image
    (an Attribute or None for classifiers). ``characters`` is LPRNet's character list (labels.txt)."""
    layout = layout_of(network, outputs)
    if params is None:
        params = DecodeParams.for_network(network, num_classes=1024)
    arrays = select_outputs(layout, outputs)
    if batched is None:
        batched = np.ndim(arrays[0]) == _IMAGE_RANK[layout] + 1
    if not batched:
        return decode_image(layout, arrays, net_w, net_h, params, classifier_threshold, characters)
    size = len(arrays[0])
    return [
        decode_image(layout, [None if a is None else a[i] for a in arrays], net_w, net_h, params,
                     classifier_threshold, characters)
        for i in range(size)
    ]
