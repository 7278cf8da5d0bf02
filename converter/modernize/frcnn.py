"""Replace the FasterRCNN plugins TensorRT 11 removed (Proposal, ProposalDynamic, CropAndResize,
CropAndResizeDynamic) by standard ONNX ops, in place, with onnx-graphsurgeon.

The replacement keeps the plugin's output tensor (same name, shape, dtype, layout), works with a
dynamic batch and uses only ops valid from opset 11 on (no Squeeze/Unsqueeze/ReduceSum, whose
signatures changed in opset 13), so it fits the graph's own opset. The semantics are those of the
numpy references in plugins/frcnn.py (the TensorRT OSS kernels). Its TopKs (pre_nms_top_n, TAO's
default 6000, and post_nms_top_n) come from modernize.basic.top_k, exact for any k and built from TopKs
TensorRT accepts (k <= 3840); ``tensorrt_limits`` states what TensorRT's NMS box limit can still change.
"""

from __future__ import annotations


import numpy as np
import onnx_graphsurgeon as gs

from taostream.converter.errors import UnsupportedOpError
from taostream.converter.modernize.basic import (
    TRT_NMS_TOPK_BOX_LIMIT,
    GraphBuilder,
    builder_for,
    check_node,
    detach,
    static_dim,
    top_k,
)
from taostream.plugins.frcnn import (
    CROP_AND_RESIZE_OPS,
    EDGE_TOLERANCE,
    PROPOSAL_OPS,
    crop_and_resize_attributes,
    proposal_anchors,
    proposal_attributes,
)


class _OpBuilder(GraphBuilder):
    """The shared node builder, with scalar float constants (the decode arithmetic broadcasts
    rank-0 values) and a gather of one channel."""

    def f32(self, value) -> gs.Constant:
        return self.const(np.array(value, dtype=np.float32))

    def channel(self, tensor, index: int, axis: int):
        """tensor[..., index, ...] along axis, the axis removed."""
        return self("Gather", tensor, self.const(np.array(index, dtype=np.int64)), attrs={"axis": axis})


def _output_rank(out: gs.Variable, default: int) -> int:
    return len(out.shape) if out.shape is not None else default


# ---------------------------------------------------------------- Proposal

def replace_proposal(graph: gs.Graph, node: gs.Node) -> None:
    """Replace a Proposal / ProposalDynamic node by decode + TopK + NonMaxSuppression + gathers."""
    check_node(graph, node, PROPOSAL_OPS, (2,), 1)
    try:
        p = proposal_attributes(node.attrs)
    except ValueError as exc:
        raise UnsupportedOpError(f"{node.op} node '{node.name}': {exc}; re-export the model with TAO") from exc
    scores, deltas = node.inputs
    (out,) = detach(node)
    b = builder_for(graph, node, "proposal", _OpBuilder)
    boxes, fg = _decode_in_graph(b, scores, deltas, p)
    rois = _select_rois(b, boxes, fg, p, _anchor_count(scores))
    hm1, wm1 = float(p["input_height"] - 1), float(p["input_width"] - 1)
    normalized = b("Div", rois, b.f32(np.array([hm1, wm1, hm1, wm1], dtype=np.float32)))
    post = p["post_nms_top_n"]
    shape = [-1, post, 4, 1] if _output_rank(out, 4) == 4 else [-1, post, 4]
    out.dtype = np.float32
    b("Reshape", normalized, b.i64(*shape), outputs=[out])
    graph.cleanup().toposort()


def tensorrt_limits(node: gs.Node) -> list[str]:
    """Where a TensorRT engine of this Proposal node's rewrite can differ from the plugin (empty when
    it cannot). ONNX Runtime runs the rewrite exactly for any attribute values; so does TensorRT's
    TopK (top_k chains TopKs of <= 3840). What remains is TensorRT's NMS box limit."""
    if node.op not in PROPOSAL_OPS:
        return []
    pre = int(node.attrs.get("pre_nms_top_n", 0))
    post = int(node.attrs.get("post_nms_top_n", 0))
    candidates = min(pre, _anchor_count(node.inputs[0]) or pre) if node.inputs else pre
    if candidates <= TRT_NMS_TOPK_BOX_LIMIT:
        return []
    return [
        f"{node.op} node '{node.name}': its NonMaxSuppression gets {candidates} boxes per image "
        f"(pre_nms_top_n {pre}) and TensorRT's NMS layer considers only the first {TRT_NMS_TOPK_BOX_LIMIT} "
        "in score order (2000 on SM 5.3/6.2); greedy NMS visits boxes in that order, so the rois equal the "
        f"plugin's whenever at least post_nms_top_n ({post}) boxes survive NMS among the first "
        f"{TRT_NMS_TOPK_BOX_LIMIT}; otherwise the rois the plugin keeps from candidates past "
        f"{TRT_NMS_TOPK_BOX_LIMIT} become zero rows. rpn_pre_nms_top_N <= {TRT_NMS_TOPK_BOX_LIMIT} in the "
        "spec's inference_config rules this out"
    ]


def _anchor_count(scores) -> int | None:
    """anchors x H x W of the Proposal's score input [N, A, H, W] when the graph knows it, else None."""
    sizes = [static_dim(scores, axis) for axis in (1, 2, 3)]
    return int(np.prod(sizes)) if None not in sizes else None


def _decode_in_graph(b: _OpBuilder, scores, deltas, p: dict):
    """Boxes [N, AHW, 4] as pixel (y1, x1, y2, x2) and scores [N, AHW] with -inf for small boxes."""
    anchor_w, anchor_h = proposal_anchors(p["anchor_sizes"], p["anchor_ratios"])
    n_anchors = anchor_w.size
    grid_h, grid_w = b("Cast", b.dim(scores, 2), attrs={"to": 1}), b("Cast", b.dim(scores, 3), attrs={"to": 1})
    stride = float(p["rpn_stride"])
    # Centres (i + 0.5) * stride, built from Range so any feature-map size works.
    cx = b("Mul", b("Add", b("Range", b.f32(0.0), b("Reshape", grid_w, b.i64()), b.f32(1.0)), b.f32(0.5)), b.f32(stride))
    cy = b("Mul", b("Add", b("Range", b.f32(0.0), b("Reshape", grid_h, b.i64()), b.f32(1.0)), b.f32(0.5)), b.f32(stride))
    cx = b("Reshape", cx, b.i64(1, 1, 1, -1))
    cy = b("Reshape", cy, b.i64(1, 1, -1, 1))
    aw = b.f32(anchor_w.reshape(1, n_anchors, 1, 1))
    ah = b.f32(anchor_h.reshape(1, n_anchors, 1, 1))
    d = b("Reshape", deltas, b("Concat", b.i64(0, n_anchors, 4), b.dim(deltas, 2), b.dim(deltas, 3), attrs={"axis": 0}))
    tx, ty, tw, th = (b.channel(d, i, axis=2) for i in range(4))
    box_w, box_h = b("Mul", b("Exp", tw), aw), b("Mul", b("Exp", th), ah)
    x1 = b("Sub", b("Add", cx, b("Mul", aw, tx)), b("Div", box_w, b.f32(2.0)))
    y1 = b("Sub", b("Add", cy, b("Mul", ah, ty)), b("Div", box_h, b.f32(2.0)))
    x2, y2 = b("Add", box_w, x1), b("Add", box_h, y1)
    wm1, hm1 = b.f32(float(p["input_width"] - 1)), b.f32(float(p["input_height"] - 1))
    x1, x2 = (_clip_like_kernel(b, v, wm1) for v in (x1, x2))
    y1, y2 = (_clip_like_kernel(b, v, hm1) for v in (y1, y2))
    min_size = b.f32(float(p["roi_min_size"]))
    big_enough = b("And", b("Greater", b("Sub", x2, x1), min_size), b("Greater", b("Sub", y2, y1), min_size))
    fg = b("Where", big_enough, scores, b.f32(-np.inf))
    fg = b("Reshape", fg, b.i64(0, -1))
    coords = [b("Reshape", v, b.i64(0, -1, 1)) for v in (y1, x1, y2, x2)]
    return b("Concat", *coords, attrs={"axis": 2}), fg


def _clip_like_kernel(b: _OpBuilder, v, high):
    """(v > 0 ? v : 0) then (v > high ? high : v): like the kernel, a NaN becomes 0 (Max/Min would
    propagate it)."""
    zero = b.f32(0.0)
    v = b("Where", b("Greater", v, zero), v, zero)
    return b("Where", b("Greater", v, high), high, v)


def _select_rois(b: _OpBuilder, boxes, fg, p: dict, anchor_count: int | None):
    """Pre-NMS top-k, NMS, post-NMS top-k: [N, post_nms_top_n, 4] pixel boxes, zero rows past the
    kept count. Ranks instead of scores feed NonMaxSuppression so that its order is exactly TopK's
    (ties broken by the lower index, like the plugin's stable sort), whatever the scores are."""
    post = p["post_nms_top_n"]
    _, order = top_k(b, fg, p["pre_nms_top_n"], axis=1, length=anchor_count)
    k = b.dim(order, 1)
    gather_index = b("Expand", b("Reshape", order, b.i64(0, -1, 1)), b("Concat", b("Shape", order), b.i64(4), attrs={"axis": 0}))
    candidates = b("GatherElements", boxes, gather_index, attrs={"axis": 1})  # [N, K, 4]
    # rank score K - i: strictly decreasing along the sorted candidates
    k_float = b("Cast", k, attrs={"to": 1})
    positions = b("Range", b.f32(0.0), b("Reshape", k_float, b.i64()), b.f32(1.0))
    rank = b("Sub", b("Reshape", k_float, b.i64()), positions)  # [K]
    rank_scores = b("Expand", b("Reshape", rank, b.i64(1, 1, -1)), b("Concat", b.dim(fg, 0), b.i64(1), k, attrs={"axis": 0}))
    # +1 on the far corner reproduces the kernel's (x2 - x1 + 1) IoU convention
    nms_boxes = b("Add", candidates, b.f32(np.array([0, 0, 1, 1], dtype=np.float32)))
    selected = b(
        "NonMaxSuppression", nms_boxes, rank_scores, b.i64(post),
        b.f32(np.array([p["nms_iou_threshold"]], dtype=np.float32)),
    )
    picked = b("Gather", selected, b.i64(0, 2), attrs={"axis": 1})  # [S, 2] = (batch, candidate)
    batch_by_k = b("Concat", b.dim(fg, 0), k, attrs={"axis": 0})
    ones = b("Expand", b.f32(1.0), b.dim(selected, 0))
    kept_mask = b("ScatterND", b("Expand", b.f32(0.0), batch_by_k), picked, ones)
    # kept rows get their rank, others -1; padding with post extra -1 rows covers K < post
    kept_rank = b("Where", b("Greater", kept_mask, b.f32(0.5)), b("Reshape", rank, b.i64(1, -1)), b.f32(-1.0))
    pad_shape = b("Concat", b.dim(fg, 0), b.i64(post), attrs={"axis": 0})
    pad_rank = b("Expand", b.f32(-1.0), pad_shape)
    kept_rank = b("Concat", kept_rank, pad_rank, attrs={"axis": 1})
    pad_boxes = b("Expand", b.f32(np.zeros((1, 1, 4), dtype=np.float32)), b("Concat", pad_shape, b.i64(4), attrs={"axis": 0}))
    padded = b("Concat", candidates, pad_boxes, attrs={"axis": 1})
    top_rank, top_index = top_k(b, kept_rank, post, axis=1, k_fits=True)  # K + post columns
    index4 = b("Expand", b("Reshape", top_index, b.i64(0, -1, 1)), b("Concat", pad_shape, b.i64(4), attrs={"axis": 0}))
    rois = b("GatherElements", padded, index4, attrs={"axis": 1})
    valid = b("Reshape", b("Greater", top_rank, b.f32(0.0)), b.i64(0, -1, 1))
    return b("Where", valid, rois, b.f32(0.0))


# ---------------------------------------------------------------- CropAndResize

def replace_crop_and_resize(graph: gs.Graph, node: gs.Node) -> None:
    """Replace a CropAndResize / CropAndResizeDynamic node by TensorFlow-exact bilinear sampling:
    four Gathers on the [N*H*W, C] feature rows, lerps, and the out-of-image extrapolation value."""
    check_node(graph, node, CROP_AND_RESIZE_OPS, (2,), 1)
    try:
        crop = crop_and_resize_attributes(node.attrs)
    except ValueError as exc:
        raise UnsupportedOpError(f"{node.op} node '{node.name}': {exc}; re-export the model with TAO") from exc
    feature_map, rois = node.inputs
    (out,) = detach(node)
    b = builder_for(graph, node, "crop_and_resize", _OpBuilder)
    boxes = b("Reshape", rois, b.i64(0, -1, 4))
    y1, x1, y2, x2 = (b.channel(boxes, i, axis=2) for i in range(4))  # [N, R]
    height, width = b.dim(feature_map, 2), b.dim(feature_map, 3)
    hm1 = b("Sub", b("Cast", height, attrs={"to": 1}), b.f32(1.0))
    wm1 = b("Sub", b("Cast", width, attrs={"to": 1}), b.f32(1.0))
    in_y = _sample_positions(b, y1, y2, hm1, crop["crop_height"])  # [N, R, ch]
    in_x = _sample_positions(b, x1, x2, wm1, crop["crop_width"])  # [N, R, cw]
    in_y = b("Reshape", in_y, b.i64(0, 0, -1, 1))
    in_x = b("Reshape", in_x, b.i64(0, 0, 1, -1))
    valid = b("And", _inside(b, in_y, hm1), _inside(b, in_x, wm1))  # [N, R, ch, cw]
    in_y, in_x = _onto_image(b, in_y, hm1), _onto_image(b, in_x, wm1)
    rows = b("Reshape", b("Transpose", feature_map, attrs={"perm": [0, 2, 3, 1]}), b("Concat", b.i64(-1), b.dim(feature_map, 1), attrs={"axis": 0}))
    image_base = _image_base(b, feature_map, height, width)  # [N, 1, 1, 1]
    top, bottom, y_lerp = _neighbours(b, in_y, hm1)
    left, right, x_lerp = _neighbours(b, in_x, wm1)
    width_i = b("Reshape", width, b.i64())

    def sample(yi, xi):
        flat = b("Add", image_base, b("Add", b("Mul", yi, width_i), xi))
        return b("Gather", rows, flat, attrs={"axis": 0})  # [N, R, ch, cw, C]

    x_lerp5 = b("Reshape", x_lerp, b.i64(0, 0, 1, -1, 1))
    y_lerp5 = b("Reshape", y_lerp, b.i64(0, 0, -1, 1, 1))
    tl, tr, bl, br = sample(top, left), sample(top, right), sample(bottom, left), sample(bottom, right)
    upper = b("Add", tl, b("Mul", b("Sub", tr, tl), x_lerp5))
    lower = b("Add", bl, b("Mul", b("Sub", br, bl), x_lerp5))
    value = b("Add", upper, b("Mul", b("Sub", lower, upper), y_lerp5))
    value = b("Where", b("Reshape", valid, b.i64(0, 0, 0, 0, 1)), value, b.f32(0.0))
    result = b("Transpose", value, attrs={"perm": [0, 1, 4, 2, 3]})  # [N, R, C, ch, cw]
    out.dtype = np.float32
    if _output_rank(out, 5) == 4:  # an implicit-batch style [N*R, C, ch, cw] declaration
        shape = b("Concat", b.i64(-1), b.dim(feature_map, 1), b.i64(crop["crop_height"], crop["crop_width"]), attrs={"axis": 0})
        b("Reshape", result, shape, outputs=[out])
    else:
        b("Identity", result, outputs=[out])
    graph.cleanup().toposort()


def _sample_positions(b: _OpBuilder, lo, hi, size_m1, crop: int):
    """in = lo*(S-1) + i*(hi-lo)*(S-1)/(crop-1), or the centre when crop == 1: [N, R, crop]."""
    lo3, hi3 = b("Reshape", lo, b.i64(0, 0, 1)), b("Reshape", hi, b.i64(0, 0, 1))
    if crop > 1:
        scale = b("Div", b("Mul", b("Sub", hi3, lo3), size_m1), b.f32(float(crop - 1)))
        steps = b.f32(np.arange(crop, dtype=np.float32).reshape(1, 1, crop))
        return b("Add", b("Mul", lo3, size_m1), b("Mul", steps, scale))
    return b("Mul", b("Mul", b.f32(0.5), b("Add", lo3, hi3)), size_m1)


def _inside(b: _OpBuilder, pos, size_m1):
    """-tol <= pos <= size - 1 + tol (EDGE_TOLERANCE, as the reference), false for NaN (written
    without GreaterOrEqual, which needs opset 12)."""
    tolerance = b.f32(EDGE_TOLERANCE)
    below = b("Less", pos, b("Neg", tolerance))
    above = b("Greater", pos, b("Add", size_m1, tolerance))
    in_range = b("And", b("Not", below), b("Not", above))
    return b("And", in_range, b("Equal", pos, pos))


def _onto_image(b: _OpBuilder, pos, size_m1):
    """Positions within the edge tolerance moved onto the edge (NaN stays NaN and is masked)."""
    return b("Min", b("Max", pos, b.f32(0.0)), size_m1)


def _neighbours(b: _OpBuilder, pos, size_m1):
    """floor, ceil (clamped into the image so the gathers stay legal; masked later) and the lerp."""
    floor, ceil = b("Floor", pos), b("Ceil", pos)
    lerp = b("Sub", pos, floor)
    clamp = lambda v: b("Cast", _clip_like_kernel(b, v, size_m1), attrs={"to": 7})  # noqa: E731  NaN -> 0
    return clamp(floor), clamp(ceil), lerp


def _image_base(b: _OpBuilder, feature_map, height, width):
    """n * H * W for each image n: [N, 1, 1, 1] int64."""
    batch = b("Reshape", b.dim(feature_map, 0), b.i64())
    images = b("Range", b.const(np.array(0, dtype=np.int64)), batch, b.const(np.array(1, dtype=np.int64)))
    plane = b("Reshape", b("Mul", height, width), b.i64())
    return b("Reshape", b("Mul", images, plane), b.i64(-1, 1, 1, 1))
