"""FasterRCNN plugin rewrites (Proposal, CropAndResize) against the numpy references of the plugins,
and the references themselves against hand-computed values."""

from __future__ import annotations


import numpy as np
import onnx
import onnx_graphsurgeon as gs
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from taostream.converter.errors import UnsupportedOpError
from taostream.plugins.frcnn import crop_and_resize_reference, proposal_reference
from taostream.converter.modernize.frcnn import replace_crop_and_resize, replace_proposal, tensorrt_limits

PROPOSAL_ATTRS = dict(
    input_height=64, input_width=96, rpn_stride=16, roi_min_size=4.0, nms_iou_threshold=0.7,
    pre_nms_top_n=40, post_nms_top_n=20, anchor_sizes=[16.0, 32.0], anchor_ratios=[0.5, 1.0, 2.0],
)


def _model(node, inputs, outputs, opset):
    graph = helper.make_graph([node], "frcnn_plugin", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def proposal_model(op, n_anchors, grid_h, grid_w, attrs, opset=13, out_rank=4):
    scores = helper.make_tensor_value_info("rpn_out_class/Sigmoid", TensorProto.FLOAT, ["N", n_anchors, grid_h, grid_w])
    deltas = helper.make_tensor_value_info("rpn_out_regress/BiasAdd", TensorProto.FLOAT, ["N", 4 * n_anchors, grid_h, grid_w])
    shape = ["N", attrs["post_nms_top_n"], 4, 1][:out_rank]
    out = helper.make_tensor_value_info("proposal", TensorProto.FLOAT, shape)
    node = helper.make_node(op, [scores.name, deltas.name], ["proposal"], name="proposal", **attrs)
    return _model(node, [scores, deltas], [out], opset)


def crop_model(op, channels, height, width, n_rois, crop_h, crop_w, opset=11):
    fmap = helper.make_tensor_value_info("activation_7/Relu", TensorProto.FLOAT, ["N", channels, height, width])
    rois = helper.make_tensor_value_info("proposal", TensorProto.FLOAT, ["N", n_rois, 4, 1])
    out = helper.make_tensor_value_info("roi_pooling", TensorProto.FLOAT, ["N", n_rois, channels, crop_h, crop_w])
    node = helper.make_node(op, [fmap.name, rois.name], [out.name], name="roi_pooling", crop_width=crop_w, crop_height=crop_h)
    return _model(node, [fmap, rois], [out], opset)


def rewrite(model, replace):
    graph = gs.import_onnx(model)
    replace(graph, graph.nodes[0])
    modern = gs.export_onnx(graph)
    onnx.checker.check_model(modern, full_check=True)
    assert not {n.op_type for n in modern.graph.node} & {"Proposal", "ProposalDynamic", "CropAndResize", "CropAndResizeDynamic"}
    return modern


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def proposal_session():
    return session(rewrite(proposal_model("ProposalDynamic", 6, 4, 6, PROPOSAL_ATTRS), replace_proposal))


# ---------------------------------------------------------------- references, hand-computed


def test_proposal_reference_single_anchor_by_hand():
    # One 16x16 anchor centred at (8, 8) with zero deltas: box (0, 0)-(16, 16) in a 32x32 input,
    # normalized by (size - 1) = 31 and laid out y1, x1, y2, x2; the other 2 rows stay zero.
    rois = proposal_reference(
        np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 4, 1, 1), np.float32), input_height=32, input_width=32,
        rpn_stride=16, roi_min_size=1.0, nms_iou_threshold=0.5, pre_nms_top_n=10, post_nms_top_n=3,
        anchor_sizes=[16.0], anchor_ratios=[1.0],
    )
    assert rois.shape == (1, 3, 4, 1)
    np.testing.assert_allclose(rois[0, :, :, 0], [[0, 0, 16 / 31, 16 / 31], [0, 0, 0, 0], [0, 0, 0, 0]], rtol=1e-6)


def test_proposal_reference_ratio_is_square_rooted_and_tx_moves_x():
    # ratio 4 -> width 16*2, height 16/2 (the creator stores sqrt(ratio)); tx=0.25 shifts by 0.25*32.
    deltas = np.zeros((1, 4, 1, 1), np.float32)
    deltas[0, 0] = 0.25
    rois = proposal_reference(
        np.ones((1, 1, 1, 1), np.float32), deltas, input_height=101, input_width=101, rpn_stride=100,
        roi_min_size=0.0, nms_iou_threshold=0.5, pre_nms_top_n=1, post_nms_top_n=1,
        anchor_sizes=[16.0], anchor_ratios=[4.0],
    )
    cx, cy = 50 + 8, 50
    expected = [(cy - 4) / 100, (cx - 16) / 100, (cy + 4) / 100, (cx + 16) / 100]
    np.testing.assert_allclose(rois[0, 0, :, 0], expected, rtol=1e-6)


def test_proposal_reference_nms_uses_plus_one_iou():
    # Two concentric boxes, 2 px and 2.5 px wide: IoU 4/6.25 = 0.64 in plain geometry but
    # 9/12.25 = 0.735 with the kernel's +1 convention. Threshold 0.7 separates the two readings.
    scores = np.array([0.9, 0.8], np.float32).reshape(1, 2, 1, 1)
    deltas = np.zeros((1, 8, 1, 1), np.float32)
    common = dict(input_height=100, input_width=100, rpn_stride=20, roi_min_size=0.0, pre_nms_top_n=2,
                  post_nms_top_n=2, anchor_sizes=[2.0, 2.5], anchor_ratios=[1.0])
    assert np.count_nonzero(proposal_reference(scores, deltas, nms_iou_threshold=0.7, **common)[0, :, 2, 0]) == 1
    assert np.count_nonzero(proposal_reference(scores, deltas, nms_iou_threshold=0.75, **common)[0, :, 2, 0]) == 2


def test_crop_and_resize_reference_ramp_by_hand():
    # Feature value = x; the whole-image roi sampled at 5 columns gives linspace(0, W-1, 5);
    # a roi reaching past the right edge gives the extrapolation value 0 there.
    fmap = np.tile(np.arange(9, dtype=np.float32), (1, 2, 4, 1))
    out = crop_and_resize_reference(fmap, np.array([[[0, 0, 1, 1], [0, 0.5, 1, 1.5]]], np.float32), crop_height=3, crop_width=5)
    np.testing.assert_allclose(out[0, 0, 1, 2], np.linspace(0, 8, 5), atol=1e-6)
    np.testing.assert_allclose(out[0, 1, 0, 0], [4, 6, 8, 0, 0], atol=1e-6)


# ---------------------------------------------------------------- rewrite == reference


@pytest.mark.parametrize("batch", [1, 3])
def test_proposal_rewrite_matches_reference_random(proposal_session, batch):
    rng = np.random.default_rng(batch)
    scores = rng.random((batch, 6, 4, 6), dtype=np.float32)
    deltas = (rng.standard_normal((batch, 24, 4, 6)) * 0.4).astype(np.float32)
    got = proposal_session.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    np.testing.assert_allclose(got, proposal_reference(scores, deltas, **PROPOSAL_ATTRS), atol=2e-6)
    assert got.shape == (batch, 20, 4, 1) and got.dtype == np.float32


def test_proposal_rewrite_equal_scores_and_borders(proposal_session):
    # All scores equal: the order is the anchor index order (stable sort); large deltas push
    # boxes over the image border so clipping decides the result.
    scores = np.full((2, 6, 4, 6), 0.5, np.float32)
    deltas = np.random.default_rng(7).uniform(-3, 3, (2, 24, 4, 6)).astype(np.float32)
    got = proposal_session.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    ref = proposal_reference(scores, deltas, **PROPOSAL_ATTRS)
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert ref.min() == 0.0 and ref.max() == 1.0  # some boxes touch the borders


def test_proposal_rewrite_all_boxes_too_small_still_output(proposal_session):
    # Every box below roi_min_size: scores become -inf but the plugin still returns boxes.
    model = proposal_model("Proposal", 6, 4, 6, dict(PROPOSAL_ATTRS, roi_min_size=500.0))
    sess = session(rewrite(model, replace_proposal))
    rng = np.random.default_rng(3)
    scores = rng.random((2, 6, 4, 6), dtype=np.float32)
    deltas = rng.standard_normal((2, 24, 4, 6)).astype(np.float32)
    got = sess.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    ref = proposal_reference(scores, deltas, **dict(PROPOSAL_ATTRS, roi_min_size=500.0))
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert np.count_nonzero(ref[:, :, 2]) > 0


def test_proposal_rewrite_overflowing_deltas(proposal_session):
    # exp(100) overflows float32: width inf, x2 = inf - inf = NaN, which the kernel's clip turns into 0.
    rng = np.random.default_rng(13)
    scores = rng.random((2, 6, 4, 6), dtype=np.float32)
    deltas = (rng.standard_normal((2, 24, 4, 6)) * 0.3).astype(np.float32)
    deltas[:, 2::4][:, :, :2] = 100.0
    got = proposal_session.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    ref = proposal_reference(scores, deltas, **PROPOSAL_ATTRS)
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(got, ref, atol=2e-6)


@pytest.mark.parametrize("pre_nms_top_n", [3, 100])
def test_proposal_rewrite_fewer_candidates_than_post_nms_top_n(pre_nms_top_n):
    # 1x2 grid x 2 anchors = 4 candidates (or pre_nms_top_n = 3) for post_nms_top_n = 10.
    attrs = dict(PROPOSAL_ATTRS, post_nms_top_n=10, pre_nms_top_n=pre_nms_top_n, anchor_sizes=[16.0], anchor_ratios=[1.0, 2.0])
    sess = session(rewrite(proposal_model("ProposalDynamic", 2, 1, 2, attrs, out_rank=3), replace_proposal))
    rng = np.random.default_rng(pre_nms_top_n)
    scores = rng.random((2, 2, 1, 2), dtype=np.float32)
    deltas = (rng.standard_normal((2, 8, 1, 2)) * 0.1).astype(np.float32)
    got = sess.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    ref = proposal_reference(scores, deltas, **attrs)
    assert got.shape == (2, 10, 4)
    np.testing.assert_allclose(got, ref.reshape(2, 10, 4), atol=2e-6)
    assert not ref[:, min(4, pre_nms_top_n):].any()


@pytest.mark.parametrize("threshold", [0.7, 0.75])
def test_proposal_rewrite_plus_one_iou_threshold(threshold):
    # Same concentric boxes as the hand test above, through the rewrite in ONNX Runtime.
    attrs = dict(input_height=100, input_width=100, rpn_stride=20, roi_min_size=0.0, nms_iou_threshold=threshold,
                 pre_nms_top_n=2, post_nms_top_n=2, anchor_sizes=[2.0, 2.5], anchor_ratios=[1.0])
    sess = session(rewrite(proposal_model("ProposalDynamic", 2, 1, 1, attrs), replace_proposal))
    scores = np.array([0.9, 0.8], np.float32).reshape(1, 2, 1, 1)
    deltas = np.zeros((1, 8, 1, 1), np.float32)
    got = sess.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    np.testing.assert_allclose(got, proposal_reference(scores, deltas, **attrs), atol=1e-6)
    assert np.count_nonzero(got[0, :, 2, 0]) == (1 if threshold == 0.7 else 2)


def _crop_inputs(rng, batch, channels, height, width, n_rois):
    fmap = rng.standard_normal((batch, channels, height, width)).astype(np.float32)
    rois = rng.uniform(-0.3, 1.3, (batch, n_rois, 4, 1)).astype(np.float32)
    rois[:, 0, :, 0] = [0, 0, 1, 1]  # touches all borders exactly
    rois[:, 1, :, 0] = [0.4, 0.6, 0.4, 0.6]  # zero area
    rois[:, 2, :, 0] = [1, 1, 0, 0]  # flipped: TF samples it backwards
    rois[:, 3, :, 0] = [-0.5, -0.5, -0.1, -0.1]  # wholly outside: extrapolation value
    rois[:, 4, :, 0] = [np.nan, 0.2, 0.5, 0.9]  # NaN rows (from overflowing deltas): extrapolation value
    return fmap, rois


@pytest.mark.parametrize(("op", "crop", "batch"), [("CropAndResizeDynamic", (7, 7), 2), ("CropAndResize", (1, 3), 1), ("CropAndResizeDynamic", (4, 1), 3)])
def test_crop_and_resize_rewrite_matches_reference(op, crop, batch):
    crop_h, crop_w = crop
    sess = session(rewrite(crop_model(op, 5, 9, 11, 8, crop_h, crop_w), replace_crop_and_resize))
    fmap, rois = _crop_inputs(np.random.default_rng(crop_h), batch, 5, 9, 11, 8)
    got = sess.run(None, {"activation_7/Relu": fmap, "proposal": rois})[0]
    ref = crop_and_resize_reference(fmap, rois, crop_height=crop_h, crop_width=crop_w)
    assert got.shape == (batch, 8, 5, crop_h, crop_w)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert not ref[:, 3].any() and not ref[:, 4].any()


def test_proposal_rewrite_tao_sized_graph():
    # TAO's default FasterRCNN geometry: 384x1248 input, stride 16 -> 24x78 grid, 9 anchors,
    # 3000 candidates before NMS, 300 rois after (16848 anchors per image).
    attrs = dict(input_height=384, input_width=1248, rpn_stride=16, roi_min_size=1.0, nms_iou_threshold=0.7,
                 pre_nms_top_n=3000, post_nms_top_n=300, anchor_sizes=[64.0, 128.0, 256.0], anchor_ratios=[1.0, 0.5, 2.0])
    sess = session(rewrite(proposal_model("ProposalDynamic", 9, 24, 78, attrs), replace_proposal))
    rng = np.random.default_rng(17)
    scores = rng.random((2, 9, 24, 78), dtype=np.float32)
    deltas = (rng.standard_normal((2, 36, 24, 78)) * 0.2).astype(np.float32)
    got = sess.run(None, {"rpn_out_class/Sigmoid": scores, "rpn_out_regress/BiasAdd": deltas})[0]
    np.testing.assert_allclose(got, proposal_reference(scores, deltas, **attrs), atol=2e-6)


def test_crop_and_resize_rank4_declared_output():
    # An implicit-batch style declaration [N*R, C, h, w] is honoured.
    model = crop_model("CropAndResize", 3, 6, 6, 4, 2, 2)
    del model.graph.output[0].type.tensor_type.shape.dim[0]
    sess = session(rewrite(model, replace_crop_and_resize))
    fmap, rois = _crop_inputs(np.random.default_rng(5), 2, 3, 6, 6, 5)
    rois = rois[:, :4]
    got = sess.run(None, {"activation_7/Relu": fmap, "proposal": rois})[0]
    assert got.shape == (8, 3, 2, 2)
    np.testing.assert_allclose(got, crop_and_resize_reference(fmap, rois, crop_height=2, crop_width=2).reshape(8, 3, 2, 2), atol=1e-5)


def test_proposal_then_crop_and_resize_chain_batch_two():
    # The FasterRCNN wiring: Proposal rois feed CropAndResize.
    p = PROPOSAL_ATTRS
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 6, 4, 6])
    deltas = helper.make_tensor_value_info("deltas", TensorProto.FLOAT, ["N", 24, 4, 6])
    fmap = helper.make_tensor_value_info("fmap", TensorProto.FLOAT, ["N", 3, 4, 6])
    out = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["N", p["post_nms_top_n"], 3, 2, 2])
    nodes = [
        helper.make_node("ProposalDynamic", ["scores", "deltas"], ["rois"], name="proposal", **p),
        helper.make_node("CropAndResizeDynamic", ["fmap", "rois"], ["pooled"], name="crop", crop_width=2, crop_height=2),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [scores, deltas, fmap], [out]),
                              opset_imports=[helper.make_opsetid("", 12)], ir_version=8)
    graph = gs.import_onnx(model)
    for node in [n for n in graph.nodes]:
        (replace_proposal if node.op == "ProposalDynamic" else replace_crop_and_resize)(graph, node)
    modern = gs.export_onnx(graph)
    onnx.checker.check_model(modern)
    rng = np.random.default_rng(11)
    feeds = {"scores": rng.random((2, 6, 4, 6), dtype=np.float32),
             "deltas": (rng.standard_normal((2, 24, 4, 6)) * 0.3).astype(np.float32),
             "fmap": rng.standard_normal((2, 3, 4, 6)).astype(np.float32)}
    got = session(modern).run(None, feeds)[0]
    rois = proposal_reference(feeds["scores"], feeds["deltas"], **p)
    np.testing.assert_allclose(got, crop_and_resize_reference(feeds["fmap"], rois, crop_height=2, crop_width=2), atol=1e-5)


# ---------------------------------------------------------------- errors


def test_rewrite_rejects_old_opset_and_missing_attributes():
    graph = gs.import_onnx(proposal_model("ProposalDynamic", 6, 4, 6, PROPOSAL_ATTRS, opset=10))
    with pytest.raises(UnsupportedOpError, match="opset 10.*opset 11 or newer"):
        replace_proposal(graph, graph.nodes[0])
    attrs = {k: v for k, v in PROPOSAL_ATTRS.items() if k != "anchor_ratios"}
    graph = gs.import_onnx(proposal_model("ProposalDynamic", 6, 4, 6, dict(attrs, post_nms_top_n=20)))
    with pytest.raises(UnsupportedOpError, match="anchor_ratios"):
        replace_proposal(graph, graph.nodes[0])
    graph = gs.import_onnx(crop_model("CropAndResize", 2, 4, 4, 3, 2, 2))
    with pytest.raises(UnsupportedOpError, match="not one of Proposal"):
        replace_proposal(graph, graph.nodes[0])


def test_tensorrt_limits_no_longer_mention_the_topk_limit():
    # TAO's default rpn_pre_nms_top_N is 6000 > TensorRT's TopK limit of 3840: the rewrite chains
    # TopKs of <= 3840, so nothing is left to report for TopK (24 x 78 x 9 anchors: NMS sees 6000 boxes,
    # above TensorRT's NMS box limit, which is reported instead).
    graph = gs.import_onnx(proposal_model("ProposalDynamic", 6, 4, 6, dict(PROPOSAL_ATTRS, pre_nms_top_n=6000)))
    assert tensorrt_limits(graph.nodes[0]) == []
    graph = gs.import_onnx(proposal_model("ProposalDynamic", 9, 24, 78, dict(PROPOSAL_ATTRS, pre_nms_top_n=6000)))
    (note,) = tensorrt_limits(graph.nodes[0])
    assert "5000" in note and "post_nms_top_n (20)" in note and "3840" not in note and "TopK" not in note


def test_modernize_reports_the_nms_box_limit_for_tensorrt_targets_only():
    from taostream.converter.modernize.apply import modernize, tensorrt_topk_violations

    model = proposal_model("ProposalDynamic", 9, 24, 78, dict(PROPOSAL_ATTRS, pre_nms_top_n=6000))
    modern, report = modernize(model, "11")
    assert tensorrt_topk_violations(modern) == []
    (note,) = report.notes
    assert "5000" in note and any(note in line for line in report.lines())
    _, report = modernize(model, "ort")
    assert report.notes == []


# ---------------------------------------------------------------- whole sample (other engineers' modules)


@pytest.mark.parametrize("seed, low, high", [(5, 0.0, 255.0), (0, -1.0, 1.0), (1, -1.0, 1.0)])
def test_modernized_faster_rcnn_sample_matches_plugin_references(seed, low, high):
    # Inputs in [-1, 1] put proposals on the image border (y2 = 1.0), where the crop's last sample row
    # sits exactly on the edge: the case EDGE_TOLERANCE makes deterministic.
    from taostream.converter.modernize.apply import modernize
    from taostream.plugins.reference import run_with_plugin_references
    from taostream.converter.samples.write import make_sample_model

    from taostream.converter.modernize.apply import tensorrt_topk_violations

    model = make_sample_model("faster_rcnn")
    modern, report = modernize(model, "11")
    assert not {n.op_type for n in modern.graph.node} & {"Proposal", "ProposalDynamic", "CropAndResize", "CropAndResizeDynamic"}
    # the sample keeps TAO's default pre_nms_top_n 6000: TopKs of 3840 + 2160, the NMS note only
    proposal = next(n for n in model.graph.node if n.op_type == "ProposalDynamic")
    assert next(a.i for a in proposal.attribute if a.name == "pre_nms_top_n") == 6000
    assert tensorrt_topk_violations(modern) == []
    assert len(report.notes) == 1 and "NMS layer considers only the first 5000" in report.notes[0]
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in model.graph.input:
        dims = [d.dim_value if d.dim_value > 0 else 2 for d in inp.type.tensor_type.shape.dim]
        feeds[inp.name] = rng.uniform(low, high, dims).astype(np.float32)
    expected = run_with_plugin_references(model, feeds)
    got = dict(zip([o.name for o in modern.graph.output], session(modern).run(None, feeds)))
    assert set(got) == set(expected)
    for name in got:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-4, err_msg=name)


def test_crop_samples_on_the_border_take_the_edge_pixel():
    # y1 = 0.12512495, y2 = 1.0 on a 24-row map: in float32, y1*23 + 6*((y2-y1)*23/6) is 23.000002 > 23,
    # which plain TF semantics would extrapolate (0) while the exact value is 23.
    fmap = np.arange(24 * 5, dtype=np.float32).reshape(1, 1, 24, 5) + 1.0
    rois = np.array([[0.12512495, 0.0, 1.0, 1.0]], dtype=np.float32).reshape(1, 1, 4, 1)
    reference = crop_and_resize_reference(fmap, rois, crop_height=7, crop_width=5)
    np.testing.assert_allclose(reference[0, 0, 0, 6], fmap[0, 0, 23], rtol=1e-6)
    model = rewrite(crop_model("CropAndResizeDynamic", 1, 24, 5, 1, 7, 5), replace_crop_and_resize)
    (got,) = session(model).run(None, {"activation_7/Relu": fmap, "proposal": rois})
    np.testing.assert_allclose(got, reference, rtol=1e-6)
