"""modernize.basic.top_k: an exact ONNX TopK for any k, built from TopKs of k <= TRT_TOPK_MAX (3840,
TensorRT's limit). Checked in ONNX Runtime against one plain ONNX TopK (whose tie rule, lower index
first, is in the ONNX spec) and against numpy's stable sort, on random, tie-heavy and -inf inputs; then
the rewrites that use it (Proposal with TAO's default pre_nms_top_n 6000, NMS with a large topK,
EfficientNMS's top 5000) against the plugin references, and the static TopK check modernize reports."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_graphsurgeon as gs
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import modernize_graphs as mg
from taostream.plugins import reference as pluginref
from taostream.converter.modernize.apply import modernize, tensorrt_topk_violations
from taostream.plugins.frcnn import proposal_reference
from taostream.converter.modernize.basic import FLOAT32_LOWEST, TRT_TOPK_MAX, GraphBuilder, top_k
from taostream.converter.modernize.frcnn import TRT_NMS_TOPK_BOX_LIMIT, replace_proposal, tensorrt_limits
from taostream.converter.modernize.nms import NEGATIVE, replace_efficient_nms, replace_nms


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _input_shape(shape, axis, dynamic_axis):
    dims = list(shape)
    if dynamic_axis:
        dims[axis] = "length"
    dims[0] = "N"
    return dims


def chain_model(shape, k: int, axis: int, dynamic_axis: bool = False, **kwargs) -> onnx.ModelProto:
    """x -> top_k(x, k, axis) -> (values, indices); the axis length unknown to the graph when asked."""
    x = gs.Variable("x", np.float32, _input_shape(shape, axis, dynamic_axis))
    graph = gs.Graph(inputs=[x], opset=13)
    values, indices = top_k(GraphBuilder(graph, "chain"), x, k, axis, **kwargs)
    values.dtype, indices.dtype = np.float32, np.int64
    values.shape = indices.shape = [f"out{i}" for i in range(len(shape))]
    graph.outputs = [values, indices]
    graph.cleanup().toposort()
    model = gs.export_onnx(graph)
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def single_topk_model(shape, k: int, axis: int) -> onnx.ModelProto:
    """The oracle: one ONNX TopK(k, largest=1, sorted=1), written by hand."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, _input_shape(shape, axis, False))
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=axis, largest=1, sorted=1)
    graph = helper.make_graph([node], "single", [x], [helper.make_tensor_value_info("values", TensorProto.FLOAT, None),
                                                       helper.make_tensor_value_info("indices", TensorProto.INT64, None)],
                              initializer=[numpy_helper.from_array(np.array([k], np.int64), "k")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def numpy_top_k(x: np.ndarray, k: int, axis: int):
    """Independent oracle: stable descending sort (equal values keep index order); no NaN inputs."""
    order = np.argsort(-x, axis=axis, kind="stable")
    index = np.take(order, np.arange(min(k, x.shape[axis])), axis=axis)
    return np.take_along_axis(x, index, axis=axis), index


def topk_ks(model: onnx.ModelProto) -> list[int]:
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return [int(constants[n.input[1]].max()) for n in model.graph.node if n.op_type == "TopK"]


def _inputs(kind: str, shape, rng) -> np.ndarray:
    if kind == "random":
        return rng.standard_normal(shape).astype(np.float32)
    if kind == "ties":  # 6 distinct values: every chunk boundary falls inside a run of equal values
        return rng.integers(0, 6, shape).astype(np.float32)
    if kind == "constant":
        return np.full(shape, 0.25, np.float32)
    # the rewrites' fill values: -inf for filtered boxes, -3e38 backgrounds, among ties and +inf
    x = rng.integers(0, 4, shape).astype(np.float32)
    pick = rng.random(shape)
    x[pick < 0.5] = -np.inf
    x[(pick >= 0.5) & (pick < 0.65)] = NEGATIVE
    x[pick > 0.97] = np.inf
    return x


CASES = [  # (shape, axis, k)
    ((3, 9000), 1, 3839), ((3, 9000), 1, 3840), ((3, 9000), 1, 3841), ((3, 9000), -1, 7679),
    ((3, 9000), 1, 7680), ((3, 9000), 1, 7681), ((2, 7681), 1, 7681), ((2, 7681), 1, 20000),
    ((7700, 3), 0, 7681), ((2, 4000, 3), 1, 3841), ((2, 3, 8000), 2, 7681), ((2, 3, 8000), -1, 6000),
    ((2, 12000), 1, 11521),  # four chunks: 3840 x 3 + 1
]


@pytest.mark.parametrize("shape, axis, k", CASES)
@pytest.mark.parametrize("kind", ["random", "ties", "constant", "infinities"])
def test_chain_equals_one_onnx_topk(shape, axis, k, kind):
    rng = np.random.default_rng(k + len(kind))
    x = _inputs(kind, shape, rng)
    chain = chain_model(shape, k, axis)
    assert all(size <= TRT_TOPK_MAX for size in topk_ks(chain))
    assert len(topk_ks(chain)) == -(-min(k, shape[axis]) // TRT_TOPK_MAX)
    got_values, got_indices = _session(chain).run(None, {"x": x})
    want_values, want_indices = _session(single_topk_model(shape, min(k, shape[axis]), axis)).run(None, {"x": x})
    np.testing.assert_array_equal(got_indices, want_indices)
    np.testing.assert_array_equal(got_values, want_values)
    np_values, np_indices = numpy_top_k(x, k, axis)
    np.testing.assert_array_equal(got_indices, np_indices)
    np.testing.assert_array_equal(got_values, np_values)


@pytest.mark.parametrize("k", [1, 300, TRT_TOPK_MAX])
def test_small_k_is_the_plain_single_topk(k):
    model = chain_model((2, 5000), k, 1)
    assert [n.op_type for n in model.graph.node] == ["TopK"] and topk_ks(model) == [k]
    dynamic = chain_model((2, 5000), k, 1, dynamic_axis=True)
    assert "ScatterElements" not in mg.op_types(dynamic) and "TopK" in mg.op_types(dynamic)
    x = _inputs("ties", (2, 5000), np.random.default_rng(k))
    np.testing.assert_array_equal(_session(dynamic).run(None, {"x": x})[1], numpy_top_k(x, k, 1)[1])


@pytest.mark.parametrize("length", [50, 3841, 6000, 9000])
@pytest.mark.parametrize("kind, axis", [("ties", 1), ("infinities", 1), ("ties", -1)])
def test_length_known_only_at_run_time(length, kind, axis):
    """The axis length is a graph symbol: the chain pads, keeps constant K <= 3840 and returns
    min(k, length) elements, like TopK(min(k, length))."""
    model = chain_model((2, 1), 6000, axis, dynamic_axis=True)
    assert topk_ks(model) == [TRT_TOPK_MAX, 6000 - TRT_TOPK_MAX] and tensorrt_topk_violations(model) == []
    x = _inputs(kind, (2, length), np.random.default_rng(length))
    values, indices = _session(model).run(None, {"x": x})
    want_values, want_indices = numpy_top_k(x, 6000, axis)
    assert indices.shape == (2, min(6000, length))
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_array_equal(values, want_values)


def test_caller_padded_input_keeps_k_constant():
    """k_fits: the caller guarantees length >= k, so no Min/Slice is added for an unknown length."""
    model = chain_model((2, 1), 5000, 1, dynamic_axis=True, k_fits=True)
    assert not mg.op_types(model) & {"Min", "Slice"} and topk_ks(model) == [TRT_TOPK_MAX, 5000 - TRT_TOPK_MAX]
    x = _inputs("infinities", (2, 5200), np.random.default_rng(2))
    np.testing.assert_array_equal(_session(model).run(None, {"x": x})[1], numpy_top_k(x, 5000, 1)[1])


def test_lowest_float_sorts_above_the_mask():
    """float32's lowest value is what -inf becomes in the chain's key: it must still come before the
    positions the first chunk took (masked with -inf), in index order. (The one documented collision
    needs both -inf and the lowest float in the same row.)"""
    x = np.zeros((2, 8000), np.float32)
    x[:, 4000:] = FLOAT32_LOWEST
    x[:, :2000] = 1.0
    x[1, ::7] = -3.0e38
    model = chain_model((2, 8000), 7000, 1)
    np.testing.assert_array_equal(_session(model).run(None, {"x": x})[1], numpy_top_k(x, 7000, 1)[1])


# ---------------------------------------------------------------- the rewrites that use it

def _proposal_model(attrs: dict, anchors: int, grid: int) -> onnx.ModelProto:
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", anchors, grid, grid])
    deltas = helper.make_tensor_value_info("deltas", TensorProto.FLOAT, ["N", 4 * anchors, grid, grid])
    out = helper.make_tensor_value_info("rois", TensorProto.FLOAT, ["N", attrs["post_nms_top_n"], 4, 1])
    node = helper.make_node("ProposalDynamic", ["scores", "deltas"], ["rois"], name="proposal", **attrs)
    return helper.make_model(helper.make_graph([node], "proposal", [scores, deltas], [out]),
                             opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_proposal_beyond_the_topk_limit_matches_the_plugin():
    """80x80 grid of 4 px anchors in 16 px cells: boxes never overlap, so NMS keeps every candidate and
    the rois show the whole pre-NMS order: 6000 of 6400 candidates (TopK 3840 + 2160) and 5000 rois
    out (3840 + 1160), with tied scores and -inf (boxes squeezed under roi_min_size) past both chunk
    boundaries."""
    attrs = dict(input_height=1280, input_width=1280, rpn_stride=16, roi_min_size=1.0, nms_iou_threshold=0.7,
                 pre_nms_top_n=6000, post_nms_top_n=5000, anchor_sizes=[4.0], anchor_ratios=[1.0])
    model = _proposal_model(attrs, 1, 80)
    modern, report = modernize(model, "11")
    assert topk_ks(modern) == [3840, 2160, 3840, 1160] and tensorrt_topk_violations(modern) == []
    (note,) = report.notes
    assert "6000 boxes" in note and str(TRT_NMS_TOPK_BOX_LIMIT) in note and "post_nms_top_n (5000)" in note
    assert "TopK" not in note
    rng = np.random.default_rng(23)
    scores = rng.integers(0, 3, (2, 1, 80, 80)).astype(np.float32) / 4  # three score levels
    deltas = (rng.standard_normal((2, 4, 80, 80)) * 0.05).astype(np.float32)
    squeezed = rng.random((2, 80, 80)) < 0.2
    deltas[:, 3][squeezed] = -3.0  # height 4 * e^-3 < roi_min_size: score -inf in the plugin
    got = _session(modern).run(None, {"scores": scores, "deltas": deltas})[0]
    want = proposal_reference(scores, deltas, **attrs)
    assert np.count_nonzero(want[:, :, 2, 0]) == 2 * 5000  # every roi is a real box
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_tensorrt_limits_state_only_the_nms_box_limit():
    base = dict(input_height=64, input_width=96, rpn_stride=16, roi_min_size=4.0, nms_iou_threshold=0.7,
                post_nms_top_n=300, anchor_sizes=[16.0, 32.0, 64.0], anchor_ratios=[0.5, 1.0, 2.0])
    # 9 anchors x 24 x 78 = 16848 candidates: pre_nms_top_n decides what NMS sees
    for pre, notes in [(3000, 0), (5000, 0), (6000, 1)]:
        graph = gs.import_onnx(_proposal_model(dict(base, pre_nms_top_n=pre), 9, 78))
        assert len(tensorrt_limits(graph.nodes[0])) == notes, pre
    # pre_nms_top_n 6000 on a 6x6 grid: only 324 boxes reach NMS, nothing to report
    graph = gs.import_onnx(_proposal_model(dict(base, pre_nms_top_n=6000), 9, 6))
    assert tensorrt_limits(graph.nodes[0]) == []


@pytest.mark.parametrize("priors_known", [True, False])
def test_nms_with_a_large_top_k_matches_the_plugin(priors_known):
    """A TAO spec with top_k 2500 -> topK 5000 per class over 6000 priors: per-class TopK 3840 + 1160
    (with the prior count unknown to the graph, the padded chain)."""
    rng = np.random.default_rng(31)
    model = mg.nms_model(6000, 3, 100, topK=5000)
    if not priors_known:
        for tensor in model.graph.input:
            tensor.type.tensor_type.shape.dim[1 if tensor.name != "prior" else 2].dim_param = "unknown"
    feeds = mg.nms_feeds(1, 6000, 3, rng)
    feeds["conf"] = (np.round(feeds["conf"] * 8) / 8).astype(np.float32)  # ties across chunk edges
    modern = mg.apply_rewrite(model, replace_nms, ("NMSDynamic_TRT",))
    assert tensorrt_topk_violations(modern) == [] and max(topk_ks(modern)) <= TRT_TOPK_MAX
    assert 1160 in topk_ks(modern)
    expected = pluginref.run_with_plugin_references(model, feeds)
    got = mg.run_onnxruntime(modern, feeds)
    np.testing.assert_allclose(got["NMS"], expected["NMS"], atol=1e-6)
    np.testing.assert_array_equal(got["NMS_1"].view(np.int32), expected["NMS_1"].view(np.int32))


def test_efficient_nms_global_top_5000_matches_the_plugin():
    """EfficientNMS keeps the image's top 5000 (anchor, class) scores: 3000 anchors x 3 classes."""
    rng = np.random.default_rng(37)
    model = mg.efficient_nms_model(3000, 3, 50)
    feeds = mg.batched_nms_feeds(2, 3000, 3, rng)
    feeds["boxes"] = feeds["boxes"].reshape(2, 3000, 4)
    feeds["scores"] = (np.round(feeds["scores"] * 16) / 16).astype(np.float32)
    modern = mg.apply_rewrite(model, replace_efficient_nms, ("EfficientNMS_TRT",))
    assert topk_ks(modern)[:2] == [TRT_TOPK_MAX, 5000 - TRT_TOPK_MAX] and tensorrt_topk_violations(modern) == []
    expected = pluginref.run_with_plugin_references(model, feeds)
    got = mg.run_onnxruntime(modern, feeds)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------- the static check

def _graph_with_topk(k_source: str, opset: int = 13) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 9000])
    nodes, inits = [], []
    if k_source == "initializer":
        inits.append(numpy_helper.from_array(np.array([5000], np.int64), "k"))
    elif k_source == "constant":
        nodes.append(helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.array([4000], np.int64))))
    elif k_source == "min":  # min(3000, length): bounded by 3000
        inits.append(numpy_helper.from_array(np.array([3000], np.int64), "cap"))
        nodes += [helper.make_node("Shape", ["x"], ["shape"]),
                  helper.make_node("Slice", ["shape", "one", "two"], ["length"]),
                  helper.make_node("Min", ["cap", "length"], ["k"])]
        inits += [numpy_helper.from_array(np.array([1], np.int64), "one"),
                  numpy_helper.from_array(np.array([2], np.int64), "two")]
    elif k_source == "shape":  # k = length: unknown bound
        nodes += [helper.make_node("Shape", ["x"], ["shape"]), helper.make_node("Slice", ["shape", "one", "two"], ["k"])]
        inits += [numpy_helper.from_array(np.array([1], np.int64), "one"),
                  numpy_helper.from_array(np.array([2], np.int64), "two")]
    if opset < 10:
        nodes.append(helper.make_node("TopK", ["x"], ["v", "i"], name="body_topk", k=4500, axis=1))
    else:
        nodes.append(helper.make_node("TopK", ["x", "k"], ["v", "i"], name="body_topk", axis=1))
    graph = helper.make_graph(nodes, "body", [x], [helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@pytest.mark.parametrize("k_source, opset, expected", [
    ("initializer", 13, "k = 5000"), ("constant", 13, "k = 4000"), ("attribute", 9, "k = 4500"),
    ("shape", 13, "no constant bound"), ("min", 13, None),
])
def test_topk_violations_in_a_graph_body(k_source, opset, expected):
    problems = tensorrt_topk_violations(_graph_with_topk(k_source, opset))
    if expected is None:
        assert problems == []
    else:
        (problem,) = problems
        assert "'body_topk'" in problem and expected in problem and str(TRT_TOPK_MAX) in problem


def test_topk_violation_inside_a_subgraph_is_found():
    inner = _graph_with_topk("initializer").graph
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 9000])
    branch = helper.make_graph(list(inner.node), "then", [], [helper.make_tensor_value_info("v", TensorProto.FLOAT, None)])
    node = helper.make_node("If", ["cond"], ["out"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph([node], "outer", [cond, x], [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                              initializer=list(inner.initializer))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    assert len(tensorrt_topk_violations(model)) == 2  # both branches, k read from the outer initializer


def test_modernize_reports_a_body_topk_for_tensorrt_targets_only():
    model = _graph_with_topk("initializer")
    _, report = modernize(model, "11")
    assert any("body_topk" in note and "5000" in note for note in report.notes)
    assert any("body_topk" in line for line in report.lines())
    _, report = modernize(model, "ort")
    assert report.notes == []


def test_a_body_topk_bounded_by_min_passes_every_tensorrt_target():
    """A body TopK of 3000 (bounded by Min) is within 3840 on 8.6, 10 and 11."""
    model = _graph_with_topk("min")
    for target in ("8.6", "10", "11"):
        assert modernize(model, target)[1].notes == []


# ---------------------------------------------------------------- TensorRT's NMS box limit (5000)

@pytest.mark.parametrize("model, expected", [
    (lambda: mg.nms_model(6000, 3, 100, topK=5000), ["10000 candidates per image", "keepTopK (100)", "topK <= 2500"]),
    (lambda: mg.nms_model(6000, 3, 100, topK=2500), None),  # 2 scored classes x 2500 = 5000
    (lambda: mg.nms_model(100, 3, 100, topK=5000), None),  # 100 priors: 200 candidates
    (lambda: mg.nms_model(6000, 3, 100, topK=5000, shareLocation=0), None),
    (lambda: mg.nms_model(6000, 3, 100, topK=5500, shareLocation=0), ["5500 candidates per image and class",
                                                                      "in every class", "topK <= 5000"]),
    (lambda: mg.batched_nms_model(3000, 4, 100, topK=2000), ["8000 candidates per image", "topK <= 1250"]),
])
def test_nms_rewrites_report_tensorrt_nms_box_limit(model, expected):
    modern, report = modernize(model(), "11")
    assert tensorrt_topk_violations(modern) == []
    if expected is None:
        assert report.notes == []
    else:
        (note,) = report.notes
        assert all(part in note for part in expected), note
        assert "3840" not in note
