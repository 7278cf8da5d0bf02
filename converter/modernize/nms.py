"""Replace the NMS plugin family by standard ONNX ops, in place (onnx-graphsurgeon).

NMS_TRT / NMSDynamic_TRT, BatchedNMS_TRT / BatchedNMSDynamic_TRT and EfficientNMS_TRT become box
decoding + per-class top-k + ONNX NonMaxSuppression + a global TopK + gathers that rebuild the
plugin's outputs under the same tensor names, shapes, dtypes and layouts. The semantics (and the tie
rule: equal scores keep the plugin's stable order) are those of the references in plugins/reference.py.

How the plugin's steps map to standard ops:
- per-class candidates: the plugin sorts each class's scores above the threshold and keeps the first
  topK; here TopK(min(topK, P)) per class (modernize.basic.top_k, which chains TopKs of <= 3840 for a
  larger topK), scattered back over a -3e38 background, so only those
  candidates pass NonMaxSuppression's score threshold (which is strict, like the plugin's).
- NMS: NonMaxSuppression suppresses IoU > threshold among the candidates of each class, greedily in
  score order with ties by lower index (ONNX Runtime), i.e. the plugin's per-class NMS. Per-class
  boxes (shareLocation false) run as batch*class NMS batches of one class each.
- the image-wide sort: the selected scores are scattered into a dense [N, C*P] score map (-3e38
  elsewhere) whose flat index c*P + p orders equal scores exactly as the plugin's stable sort does,
  then TopK(keepTopK) (TopK keeps the lower index first on ties).
- the keep count of NMS_TRT is an FP32 tensor holding int32 bits: a Gather from a constant table whose
  float32 entries have the bit patterns of 0..keepTopK (no arithmetic, so no denormal flushing).
"""

from __future__ import annotations

import numpy as np
import onnx_graphsurgeon as gs

from taostream.plugins import reference as pluginref
from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.basic import (
    TRT_NMS_TOPK_BOX_LIMIT,
    FLOAT,
    INT32,
    INT64,
    GraphBuilder,
    builder_for,
    check_node,
    detach,
    static_dim,
    top_k,
)

NEGATIVE = np.float32(-3.0e38)  # score of a non-candidate: below any threshold a model can have


def _parameters(node: gs.Node, parse) -> object:
    try:
        return parse(dict(node.attrs))
    except ValueError as exc:
        raise UnsupportedOpError(f"{node.op} node '{node.name}': {exc}; re-export the model with TAO") from exc


def _check_iou_mode(node: gs.Node, p: pluginref.NmsParameters) -> None:
    if not p.is_normalized and not p.caffe_semantics:
        raise UnsupportedOpError(
            f"{node.op} node '{node.name}': isNormalized=0 with caffeSemantics=0 makes the plugin mix "
            "+1-pixel areas with an exact intersection, which NonMaxSuppression cannot reproduce; keep "
            "the plugin for libtaostream_plugins.so (--plugins taostream, TensorRT 10/11) or re-export with "
            "caffeSemantics=1 or normalized boxes"
        )


# ----------------------------------------------------------------------------- shared steps

def _negative_like(b: GraphBuilder, tensor):
    return b("Expand", b.f32(NEGATIVE), b("Shape", tensor))


def _per_class_top_k(b: GraphBuilder, scores, k: int, n_priors: int | None):
    """scores [N, C, P] with everything but each class's top k (the plugin's topK) set to NEGATIVE."""
    if n_priors is not None and k >= n_priors:
        return scores
    values, indices = top_k(b, scores, k, axis=2, length=n_priors)
    return b("ScatterElements", _negative_like(b, scores), indices, values, attrs={"axis": 2})


def _mask_class(b: GraphBuilder, scores, n_classes: int | None, cls: int, class_axis: int):
    """Set one class's scores to NEGATIVE (the background class); n_classes None = not known statically."""
    if cls < 0 or (n_classes is not None and cls >= n_classes):
        return scores
    shape = [1, 1, 1]
    if n_classes is not None:
        shape[class_axis] = n_classes
        mask = np.zeros(shape, dtype=bool)
        mask.reshape(-1)[cls] = True
        mask = b.const(mask)
    else:
        shape[class_axis] = -1
        class_ids = b("Range", b.const(np.int64(0)), b("Reshape", b.dim(scores, class_axis), b.i64()), b.const(np.int64(1)))
        mask = b("Reshape", b("Equal", class_ids, b.const(np.int64(cls))), b.i64(*shape))
    return b("Where", mask, b.f32(NEGATIVE), scores)


def _caffe_boxes(b: GraphBuilder, boxes):
    """Corners sorted and the max corner +1: NonMaxSuppression's IoU then equals the +1-pixel IoU."""
    first, second = b("Slice", boxes, b.i64(0), b.i64(2), b.i64(-1)), b("Slice", boxes, b.i64(2), b.i64(4), b.i64(-1))
    low, high = b("Min", first, second), b("Max", first, second)
    return b("Concat", low, b("Add", high, b.f32(1.0)), attrs={"axis": -1})


def _select(b: GraphBuilder, boxes, scores, max_per_class: int, iou: float, score: float, shared: bool):
    """NonMaxSuppression over scores [N, C, P] with boxes [N, P, 4] (shared) or [N, P, C, 4];
    returns (selected [S, 3] as (n, c, p), their scores [S])."""
    iou_t, score_t, limit = b.const(np.float32(iou)), b.const(np.float32(score)), b.const(np.int64(max_per_class))
    if shared:
        nms_boxes = b("Reshape", boxes, b.i64(0, -1, 4))
        selected = b("NonMaxSuppression", nms_boxes, scores, limit, iou_t, score_t)
        return selected, b("GatherND", scores, selected)
    # one NMS batch per (image, class): boxes [N*C, P, 4], scores [N*C, 1, P]
    n_classes = b.dim(scores, 1)
    per_class_boxes = b("Reshape", b("Transpose", boxes, attrs={"perm": [0, 2, 1, 3]}),
                        b("Concat", b.i64(-1), b.dim(boxes, 1), b.i64(4), attrs={"axis": 0}))
    flat_scores = b("Reshape", scores, b("Concat", b.i64(-1, 1), b.dim(scores, 2), attrs={"axis": 0}))
    picked = b("NonMaxSuppression", per_class_boxes, flat_scores, limit, iou_t, score_t)
    picked_scores = b("GatherND", flat_scores, picked)
    batch_class, prior = b.last(picked, 0), b.last(picked, 2)
    selected = b("Concat", b("Div", batch_class, n_classes), b("Mod", batch_class, n_classes), prior, attrs={"axis": 1})
    return selected, picked_scores


def _global_top(b: GraphBuilder, dense, keep: int):
    """dense [N, M] -> TopK(keep) over it padded with `keep` NEGATIVE columns: (values, flat index)."""
    pad = b("Expand", b.f32(NEGATIVE), b("Concat", b.dim(dense, 0), b.i64(keep), attrs={"axis": 0}))
    padded = b("Concat", dense, b("Reshape", pad, b.i64(-1, keep)), attrs={"axis": 1})
    return top_k(b, padded, keep, axis=1, k_fits=True)


def _gather_rows(b: GraphBuilder, table, row_index, rows_per_image):
    """table [N*R, 4] rows for row_index [N, K] in 0..R-1 per image -> [N, K, 4]."""
    n = b.dim(row_index, 0)
    offsets = b("Mul", b("Range", b.const(np.int64(0)), b("Reshape", n, b.i64()), b.const(np.int64(1))), rows_per_image)
    flat = b("Add", b("Reshape", offsets, b.i64(-1, 1)), row_index)
    return b("Gather", table, flat, attrs={"axis": 0})


def _count(b: GraphBuilder, valid, keep: int):
    """valid [N, K] bool -> the number of true entries per image, int64 [N, 1]."""
    ones = b.const(np.ones((keep, 1), dtype=np.float32))
    return b.cast(b("MatMul", b.cast(valid, FLOAT), ones), INT64)


def _where_valid(b: GraphBuilder, valid, value, fallback: float, last_axis: bool = False):
    condition = b("Reshape", valid, b.i64(0, 0, 1)) if last_axis else valid
    return b("Where", condition, value, b.f32(fallback))


class _Detections:
    """The top keepTopK detections of each image: values [N, K], validity, class and prior index."""

    def __init__(self, b: GraphBuilder, selected, selected_scores, scores_shape_source, n_priors, keep: int,
                 threshold: float, order_by_prior_first: bool = False):
        # dense [N, C, P] (or [N, P, C] when ties must order by prior first) of the selected scores
        if order_by_prior_first:
            selected = b("Gather", selected, b.i64(0, 2, 1), attrs={"axis": 1})
        dense = b("ScatterND", _negative_like(b, scores_shape_source), selected, selected_scores)
        values, flat = _global_top(b, b("Reshape", dense, b.i64(0, -1)), keep)
        self.values = values
        self.valid = b("Greater", values, b.f32(threshold))
        flat = b("Where", self.valid, flat, b.i64(0))
        inner = n_priors if not order_by_prior_first else b.dim(scores_shape_source, 2)
        major, minor = b("Div", flat, inner), b("Mod", flat, inner)
        self.cls, self.prior = (minor, major) if order_by_prior_first else (major, minor)


def _boxes_of(b: GraphBuilder, boxes, det: _Detections, shared: bool, n_priors, n_classes):
    """Boxes [N, K, 4] of the detections from boxes [N, P, 1|C, 4]."""
    table = b("Reshape", boxes, b.i64(-1, 4))
    if shared:
        return _gather_rows(b, table, det.prior, n_priors)
    row = b("Add", b("Mul", det.prior, n_classes), det.cls)
    return _gather_rows(b, table, row, b("Mul", n_priors, n_classes))


# ----------------------------------------------------------------------------- NMS_TRT

def _decode_ssd(b: GraphBuilder, loc, prior, p: pluginref.NmsParameters):
    """decodeBBoxes.cu in ONNX ops: loc [N, P*Cl*4] + prior [1|N, 2, P*4, 1] -> boxes [N, P, Cl, 4]."""
    loc_classes = 1 if p.share_location else p.num_classes
    loc = b("Reshape", loc, b.i64(0, -1, loc_classes, 4))
    priors = b("Reshape", prior, b.i64(0, 2, -1, 4))
    prior_boxes = b("Reshape", b("Gather", priors, b.i64(0), attrs={"axis": 1}), b.i64(0, -1, 1, 4))
    variances = b("Reshape", b("Gather", priors, b.i64(1), attrs={"axis": 1}), b.i64(0, -1, 1, 4))
    use_variance = p.code_type == pluginref.TF_CENTER or not p.variance_encoded_in_target
    if p.code_type in (pluginref.CORNER, pluginref.CORNER_SIZE):
        offset = b("Mul", loc, variances) if use_variance else loc
        if p.code_type == pluginref.CORNER_SIZE:
            width = b("Sub", b.last(prior_boxes, 2), b.last(prior_boxes, 0))
            height = b("Sub", b.last(prior_boxes, 3), b.last(prior_boxes, 1))
            offset = b("Mul", offset, b("Concat", width, height, width, height, attrs={"axis": -1}))
        return b("Add", prior_boxes, offset)
    px1, py1, px2, py2 = (b.last(prior_boxes, i) for i in range(4))
    pw, ph = b("Sub", px2, px1), b("Sub", py2, py1)
    pcx, pcy = b("Div", b("Add", px1, px2), b.f32(2.0)), b("Div", b("Add", py1, py2), b.f32(2.0))
    order = (0, 1, 2, 3) if p.code_type == pluginref.CENTER_SIZE else (1, 0, 3, 2)  # TF_CENTER: ty, tx, th, tw
    tx, ty, tw, th = (b.last(loc, i) for i in order)
    if use_variance:
        tx, ty, tw, th = (b("Mul", t, b.last(variances, i)) for i, t in enumerate((tx, ty, tw, th)))
    cx, cy = b("Add", b("Mul", tx, pw), pcx), b("Add", b("Mul", ty, ph), pcy)
    half_w, half_h = b("Div", b("Mul", b("Exp", tw), pw), b.f32(2.0)), b("Div", b("Mul", b("Exp", th), ph), b.f32(2.0))
    return b("Concat", b("Sub", cx, half_w), b("Sub", cy, half_h), b("Add", cx, half_w), b("Add", cy, half_h),
             attrs={"axis": -1})


def _nms_candidates(b: GraphBuilder, boxes, scores, p: pluginref.NmsParameters, n_priors_static):
    """Per-class candidates and NMS shared by NMS_TRT and BatchedNMS_TRT -> _Detections + box table."""
    scores = _mask_class(b, scores, p.num_classes, p.background_label_id, class_axis=1)
    scores = _per_class_top_k(b, scores, p.top_k, n_priors_static)
    nms_boxes = boxes if p.is_normalized else _caffe_boxes(b, boxes)
    selected, selected_scores = _select(b, nms_boxes, scores, p.top_k, p.iou_threshold, p.score_threshold,
                                        p.share_location)
    n_priors = b.dim(scores, 2)
    det = _Detections(b, selected, selected_scores, scores, n_priors, p.keep_top_k, p.score_threshold)
    det.boxes = _boxes_of(b, boxes, det, p.share_location, n_priors, b.i64(p.num_classes))
    return det


def keep_count_table(keep: int) -> np.ndarray:
    """float32 values whose bit patterns are the int32 numbers 0..keep."""
    return np.arange(keep + 1, dtype=np.int32).view(np.float32)


def replace_nms(graph: gs.Graph, node: gs.Node) -> None:
    """NMS_TRT / NMSDynamic_TRT -> decode + NonMaxSuppression + TopK; outputs [N,1,keepTopK,7] and the
    keep count [N,1,1,1] (FP32 holding int32 bits), as the plugin writes them."""
    check_node(graph, node, ("NMS_TRT", "NMSDynamic_TRT", "NMS"), (3,), 2)
    p = _parameters(node, pluginref.nms_parameters)
    try:
        pluginref.check_nms_parameters(p, node.op)
    except ValueError as exc:
        raise UnsupportedOpError(f"node '{node.name}': {exc}; fix the NMS settings and re-export") from exc
    _check_iou_mode(node, p)
    if sorted(p.input_order) != [0, 1, 2]:
        raise UnsupportedOpError(f"{node.op} node '{node.name}': inputOrder {p.input_order} is not a permutation of 0,1,2")
    loc, conf, prior = (node.inputs[i] for i in p.input_order)
    detections_out, count_out = detach(node)
    b = builder_for(graph, node, "nms")
    boxes = _decode_ssd(b, loc, prior, p)
    scores = b("Transpose", b("Reshape", conf, b.i64(0, -1, p.num_classes)), attrs={"perm": [0, 2, 1]})
    if p.conf_sigmoid:
        scores = b("Sigmoid", scores)
    n_priors_static = _static_priors(prior)
    det = _nms_candidates(b, boxes, scores, p, n_priors_static)
    k = p.keep_top_k
    image_id = b("Expand", b("Reshape", b.cast(b("Range", b.const(np.int64(0)), b("Reshape", b.dim(det.values, 0), b.i64()),
                                                      b.const(np.int64(1))), FLOAT), b.i64(-1, 1)), b("Shape", det.values))
    label = _where_valid(b, det.valid, b.cast(det.cls, FLOAT), -1.0)
    score = _where_valid(b, det.valid, det.values, 0.0)
    box = _where_valid(b, det.valid, b("Clip", det.boxes, b.f32(0.0), b.f32(1.0)), 0.0, last_axis=True)
    column = lambda t: b("Reshape", t, b.i64(0, 0, 1))
    rows = b("Concat", column(image_id), column(label), column(score), box, attrs={"axis": -1})
    detections_out.dtype = np.float32
    b("Reshape", rows, b.i64(-1, 1, k, 7), outputs=[detections_out])
    count = _count(b, det.valid, k)
    count_bits = b("Gather", b.const(keep_count_table(k)), count, attrs={"axis": 0})
    count_out.dtype = np.float32
    b("Reshape", count_bits, b.i64(-1, 1, 1, 1), outputs=[count_out])
    _set_shapes(graph, [detections_out, count_out], loc, [[1, k, 7], [1, 1, 1]])
    graph.cleanup().toposort()


def _static_priors(prior) -> int | None:
    size = static_dim(prior, 2)
    return size // 4 if size is not None else None


def _set_shapes(graph: gs.Graph, outputs, batch_source, tails) -> None:
    """Give the outputs their documented shapes when the graph had none (names and dtypes are kept)."""
    shape = getattr(batch_source, "shape", None)
    batch = shape[0] if shape and shape[0] is not None else "N"
    for tensor, tail in zip(outputs, tails):
        if tensor.shape is None:
            tensor.shape = [batch, *tail]


def tensorrt_limits(node: gs.Node) -> list[str]:
    """Where a TensorRT engine of this NMS_TRT / BatchedNMS_TRT node's rewrite can differ from the
    plugin (empty when it cannot): TensorRT's NMS layer takes only the 5000 highest-scoring
    candidates of each NMS batch item (an image, or an image's class with per-class boxes)."""
    parse = pluginref.batched_nms_parameters if "Batched" in node.op else pluginref.nms_parameters
    try:
        p = parse(dict(node.attrs))
    except ValueError:
        return []  # the rewrite itself refuses such a node, with the reason
    candidates = _candidates_per_nms_item(node, p)
    if candidates <= TRT_NMS_TOPK_BOX_LIMIT:
        return []
    return [
        f"{node.op} node '{node.name}': up to {candidates} candidates per "
        f"{'image' if p.share_location else 'image and class'} reach NonMaxSuppression (topK {p.top_k}) and "
        f"TensorRT's NMS layer considers only the {TRT_NMS_TOPK_BOX_LIMIT} highest-scoring ones (2000 on "
        "SM 5.3/6.2); NMS visits boxes in score order, so the detections equal the plugin's (ties at the "
        f"cut aside) whenever at least keepTopK ({p.keep_top_k}) boxes survive among those "
        f"{TRT_NMS_TOPK_BOX_LIMIT}{'' if p.share_location else ' in every class'}. "
        f"topK <= {TRT_NMS_TOPK_BOX_LIMIT // (_scored_classes(p) if p.share_location else 1)} in the "
        "NMS settings rules this out"
    ]


def _scored_classes(p: pluginref.NmsParameters) -> int:
    return p.num_classes - (1 if 0 <= p.background_label_id < p.num_classes else 0)


def _candidates_per_nms_item(node: gs.Node, p: pluginref.NmsParameters) -> int:
    """Most (box, class) candidates one NonMaxSuppression batch item of the rewrite can hold: the
    per-class top topK of each scored class (shared boxes) or of one class (per-class boxes)."""
    if "Batched" in node.op:
        priors = static_dim(node.inputs[0], 1) if node.inputs else None
    else:
        order = p.input_order if sorted(p.input_order) == [0, 1, 2] else (0, 2, 1)
        priors = _static_priors(node.inputs[order[2]]) if len(node.inputs) == 3 else None
    per_class = min(p.top_k, priors) if priors is not None else p.top_k
    return per_class * (_scored_classes(p) if p.share_location else 1)


# ----------------------------------------------------------------------------- BatchedNMS_TRT

def replace_batched_nms(graph: gs.Graph, node: gs.Node) -> None:
    """BatchedNMS_TRT / BatchedNMSDynamic_TRT -> NonMaxSuppression + TopK; outputs num_detections
    int32, boxes [N,K,4], scores [N,K], classes [N,K] (float, -1 padding) as the plugin writes them."""
    check_node(graph, node, ("BatchedNMS_TRT", "BatchedNMSDynamic_TRT", "BatchedNMS"), (2,), 4)
    p = _parameters(node, pluginref.batched_nms_parameters)
    try:
        pluginref.check_nms_parameters(p, node.op)
    except ValueError as exc:
        raise UnsupportedOpError(f"node '{node.name}': {exc}; fix the NMS settings and re-export") from exc
    _check_iou_mode(node, p)
    boxes_in, scores_in = node.inputs
    num_out, boxes_out, scores_out, classes_out = detach(node)
    num_rank = len(num_out.shape) if num_out.shape is not None else (1 if node.op != "BatchedNMSDynamic_TRT" else 2)
    b = builder_for(graph, node, "batched_nms")
    boxes = b("Reshape", boxes_in, b.i64(0, 0, -1, 4))
    scores = b("Transpose", b("Reshape", scores_in, b.i64(0, 0, p.num_classes)), attrs={"perm": [0, 2, 1]})
    det = _nms_candidates(b, boxes, scores, p, static_dim(boxes_in, 1))
    box = b("Clip", det.boxes, b.f32(0.0), b.f32(1.0)) if p.clip_boxes else det.boxes
    count = b.cast(_count(b, det.valid, p.keep_top_k), INT32)
    num_out.dtype, boxes_out.dtype, scores_out.dtype, classes_out.dtype = np.int32, np.float32, np.float32, np.float32
    b("Reshape", count, b.i64(-1, 1) if num_rank == 2 else b.i64(-1), outputs=[num_out])
    b("Identity", _where_valid(b, det.valid, box, 0.0, last_axis=True), outputs=[boxes_out])
    b("Identity", _where_valid(b, det.valid, det.values, 0.0), outputs=[scores_out])
    b("Identity", _where_valid(b, det.valid, b.cast(det.cls, FLOAT), -1.0), outputs=[classes_out])
    k = p.keep_top_k
    _set_shapes(graph, [num_out, boxes_out, scores_out, classes_out], boxes_in,
                [[1] if num_rank == 2 else [], [k, 4], [k], [k]])
    graph.cleanup().toposort()


# ----------------------------------------------------------------------------- EfficientNMS_TRT

def _efficient_corners(b: GraphBuilder, boxes, anchors, box_coding: int):
    """efficientNMSInference.cuh decode: boxes [N, A, 1|C, 4] (+ anchors [1|N, A, 1, 4]) -> corners."""
    if anchors is not None and box_coding == 0:
        return b("Add", _sorted_corners(b, boxes), _sorted_corners(b, anchors))
    if anchors is not None:
        a = [b.last(anchors, i) for i in range(4)]
        t = [b.last(boxes, i) for i in range(4)]
        boxes = b("Concat", b("Add", b("Mul", t[0], a[2]), a[0]), b("Add", b("Mul", t[1], a[3]), a[1]),
                  b("Mul", a[2], b("Exp", t[2])), b("Mul", a[3], b("Exp", t[3])), attrs={"axis": -1})
    if box_coding == 0:
        return boxes
    centre = b("Slice", boxes, b.i64(0), b.i64(2), b.i64(-1))
    half = b("Mul", b("Slice", boxes, b.i64(2), b.i64(4), b.i64(-1)), b.f32(0.5))
    return b("Concat", b("Sub", centre, half), b("Add", centre, half), attrs={"axis": -1})


def _sorted_corners(b: GraphBuilder, boxes):
    first, second = b("Slice", boxes, b.i64(0), b.i64(2), b.i64(-1)), b("Slice", boxes, b.i64(2), b.i64(4), b.i64(-1))
    return b("Concat", b("Min", first, second), b("Max", first, second), attrs={"axis": -1})


def replace_efficient_nms(graph: gs.Graph, node: gs.Node) -> None:
    """EfficientNMS_TRT -> decode + global top-5000 + NonMaxSuppression + TopK; outputs
    num_detections int32 [N,1], boxes [N,K,4] (corners), scores [N,K], classes int32 [N,K] (0 padding).
    The plugin suppresses IoU >= threshold and keeps scores >= threshold; NonMaxSuppression uses
    strict comparisons, so both thresholds are moved down by one float32 ulp."""
    check_node(graph, node, ("EfficientNMS_TRT",), (2, 3), 4)
    p = _parameters(node, pluginref.efficient_nms_parameters)
    boxes_in, scores_in = node.inputs[:2]
    anchors_in = node.inputs[2] if len(node.inputs) == 3 else None
    shared = boxes_in.shape is None or len(boxes_in.shape) == 3 or static_dim(boxes_in, 2) == 1
    if p.class_agnostic and not shared:
        raise UnsupportedOpError(
            f"EfficientNMS_TRT node '{node.name}': class_agnostic with per-class boxes has no standard-op "
            "equivalent; TensorRT 10 and 11 still ship EfficientNMS_TRT (--target-trt 10 or 11 keeps it; "
            "--plugins taostream keeps it for libtaostream_plugins.so too)"
        )
    outs = detach(node)
    b = builder_for(graph, node, "efficient_nms")
    boxes = b("Reshape", boxes_in, b.i64(0, 0, -1, 4))
    anchors = b("Reshape", anchors_in, b.i64(0, -1, 1, 4)) if anchors_in is not None else None
    corners = _efficient_corners(b, boxes, anchors, p.box_coding)
    threshold = float(np.nextafter(p.sort_threshold(), np.float32(-np.inf)))
    iou = float(np.nextafter(np.float32(p.iou_threshold), np.float32(-np.inf)))
    n_classes = static_dim(scores_in, 2)
    scores = _mask_class(b, scores_in, n_classes, p.background_class, class_axis=2)
    scores = _global_top_candidates(b, scores, static_dim(scores_in, 1), n_classes)
    if p.class_agnostic:
        det, cls = _efficient_agnostic(b, corners, scores, p, iou, threshold)
    else:
        by_class = b("Transpose", scores, attrs={"perm": [0, 2, 1]})
        selected, selected_scores = _select(b, corners, by_class, p.max_output_boxes, iou, threshold, shared)
        det = _Detections(b, selected, selected_scores, scores, None, p.max_output_boxes, threshold,
                          order_by_prior_first=True)
        cls = det.cls
    n_anchors, n_class_dim = b.dim(scores, 1), b.dim(scores, 2)
    det.cls = cls
    box = _boxes_of(b, corners, det, shared or p.class_agnostic, n_anchors, n_class_dim)
    values = b("Sigmoid", det.values) if p.score_activation else det.values
    num_out, boxes_out, scores_out, classes_out = outs
    num_out.dtype, boxes_out.dtype, scores_out.dtype, classes_out.dtype = np.int32, np.float32, np.float32, np.int32
    b("Reshape", b.cast(_count(b, det.valid, p.max_output_boxes), INT32), b.i64(-1, 1), outputs=[num_out])
    b("Identity", _where_valid(b, det.valid, box, 0.0, last_axis=True), outputs=[boxes_out])
    b("Identity", _where_valid(b, det.valid, values, 0.0), outputs=[scores_out])
    b("Where", det.valid, b.cast(cls, INT32), b.const(np.array(0, dtype=np.int32)), outputs=[classes_out])
    k = p.max_output_boxes
    _set_shapes(graph, outs, scores_in, [[1], [k, 4], [k], [k]])
    graph.cleanup().toposort()


def _global_top_candidates(b: GraphBuilder, scores, n_anchors: int | None, n_classes: int | None):
    """scores [N, A, C] with all but the image's top 5000 (anchor, class) elements set to NEGATIVE."""
    limit = pluginref.EFFICIENT_NMS_SELECTED_BOXES
    if n_anchors is not None and n_classes is not None and n_anchors * n_classes <= limit:
        return scores
    flat = b("Reshape", scores, b.i64(0, -1))
    length = n_anchors * n_classes if n_anchors is not None and n_classes is not None else None
    values, indices = top_k(b, flat, limit, axis=1, length=length)
    kept = b("ScatterElements", _negative_like(b, flat), indices, values, attrs={"axis": 1})
    return b("Reshape", kept, b("Shape", scores))


def _efficient_agnostic(b: GraphBuilder, corners, scores, p, iou: float, threshold: float):
    """Class-agnostic NMS with shared boxes: an anchor competes with its best class only (its other
    classes have IoU 1 with it and would be suppressed by it)."""
    best, best_class = b("TopK", scores, b.i64(1), attrs={"axis": 2, "largest": 1, "sorted": 1}, n_out=2)
    by_anchor = b("Transpose", best, attrs={"perm": [0, 2, 1]})  # [N, 1, A]
    selected, selected_scores = _select(b, corners, by_anchor, p.max_output_boxes, iou, threshold, True)
    det = _Detections(b, selected, selected_scores, by_anchor, b.dim(by_anchor, 2), p.max_output_boxes, threshold)
    classes = b("Reshape", best_class, b.i64(-1))
    cls = _gather_rows(b, b("Reshape", classes, b.i64(-1, 1)), det.prior, b.dim(scores, 1))
    return det, b("Reshape", cls, b.i64(0, -1))
