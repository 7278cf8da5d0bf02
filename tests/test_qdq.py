"""Calibration cache -> Q/DQ: name mapping, TensorRT-style placement, accuracy against the float graph."""

from __future__ import annotations


import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.int8.calib_cache import (
    CalibrationCache,
    format_calibration_cache,
    parse_calibration_cache,
    read_calibration_cache,
)
from taostream.converter.int8.qdq import QdqError, cache_fit, insert_qdq_from_cache, name_candidates, weight_scales
from taostream.converter.errors import TaostreamError
from taostream.converter.registry import get_network

# Relative tolerance of the Q/DQ graph against the float graph: max |q - f| <= QDQ_TOLERANCE * max |f|.
# int8 with per-tensor activations and per-channel weights over 3 weighted layers stays well inside it.
QDQ_TOLERANCE = 0.05


def small_detector(opset: int = 13) -> onnx.ModelProto:
    """input_1 -> conv1 -> relu -> Transpose pair -> conv2 -> relu -> flatten -> dense, with the tensor
    names a tf2onnx export of a Keras model uses (``<tf name>:0``)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "conv1/kernel"),
        numpy_helper.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "conv1/bias"),
        numpy_helper.from_array((rng.standard_normal((4, 8, 3, 3)) * 0.2).astype(np.float32), "conv2/kernel"),
        numpy_helper.from_array((rng.standard_normal((4 * 6 * 6, 5)) * 0.1).astype(np.float32), "dense/kernel"),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["input_1", "conv1/kernel", "conv1/bias"], ["conv1/BiasAdd:0"], name="conv1/BiasAdd", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["conv1/BiasAdd:0"], ["activation_1/Relu:0"], name="activation_1/Relu"),
        helper.make_node("Transpose", ["activation_1/Relu:0"], ["activation_1/Relu__6:0"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["activation_1/Relu__6:0"], ["activation_1/Relu__7:0"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["activation_1/Relu__7:0", "conv2/kernel"], ["conv2/convolution:0"], name="conv2/convolution", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2/convolution:0"], ["activation_2/Relu:0"], name="activation_2/Relu"),
        helper.make_node("Reshape", ["activation_2/Relu:0", "flat_shape"], ["flatten/Reshape:0"], name="flatten/Reshape"),
        helper.make_node("MatMul", ["flatten/Reshape:0", "dense/kernel"], ["dense/MatMul:0"], name="dense/MatMul"),
    ]
    graph = helper.make_graph(
        nodes, "small_detector",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 3, 12, 12])],
        [helper.make_tensor_value_info("dense/MatMul:0", TensorProto.FLOAT, ["N", 5])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def run(model, feeds, outputs=None):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(outputs, feeds)


def cache_for(model: onnx.ModelProto, images: np.ndarray) -> CalibrationCache:
    """A TensorRT-7-style cache for ``model``: amax/127 of every activation, keyed by TF names
    (no ``:0``), written and parsed back through the cache text format."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = ["input_1", "conv1/BiasAdd:0", "activation_1/Relu:0", "conv2/convolution:0", "activation_2/Relu:0",
             "flatten/Reshape:0", "dense/MatMul:0"]
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    values = run(probe, {"input_1": images})
    scales = {n.removesuffix(":0"): float(np.abs(v).max()) / 127.0 for n, v in zip(names, values)}
    text = format_calibration_cache(CalibrationCache(header="TRT-7000-EntropyCalibration2", scales=scales))
    return parse_calibration_cache(text, "generated")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(-1, 1, (4, 3, 12, 12)).astype(np.float32)


def test_qdq_graph_runs_and_stays_within_tolerance(images):
    model = small_detector()
    cache = cache_for(model, images)
    qdq, report = insert_qdq_from_cache(model, cache)
    onnx.checker.check_model(qdq, full_check=True)
    assert sorted(report.quantized_nodes) == ["conv1/BiasAdd", "conv2/convolution", "dense/MatMul"]
    assert not report.float_nodes and not report.unmapped
    assert report.mapped["activation_1/Relu"] == "activation_1/Relu:0"
    (want,) = run(model, {"input_1": images})
    (got,) = run(qdq, {"input_1": images})
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= QDQ_TOLERANCE, f"relative error {err:.4f}"
    assert err > 0  # it really quantized


def test_qdq_placement_is_tensorrt_style(images):
    qdq, _ = insert_qdq_from_cache(small_detector(), cache_for(small_detector(), images))
    producers = {o: n for n in qdq.graph.node for o in n.output}
    inits = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
    for node in (n for n in qdq.graph.node if n.op_type in ("Conv", "MatMul")):
        assert producers[node.input[0]].op_type == "DequantizeLinear"  # activation input quantized
        weight_dq = producers[node.input[1]]
        assert weight_dq.op_type == "DequantizeLinear"  # weights quantized
        scale = inits[weight_dq.input[1]]
        if node.op_type == "Conv":  # per output channel, axis 0
            assert scale.shape == (inits[producers[weight_dq.input[0]].input[0]].shape[0],)
            assert [a.i for a in weight_dq.attribute if a.name == "axis"] == [0]
    # outputs are not quantized: nothing but Q/DQ consumes a Q, and Relu inputs are raw conv outputs
    assert all(producers[n.input[0]].op_type == "Conv" for n in qdq.graph.node if n.op_type == "Relu")
    # the activation of conv2 was found through the two Transposes and quantized once, after them
    quantized_inputs = [n.input[0] for n in qdq.graph.node if n.op_type == "QuantizeLinear"]
    assert "activation_1/Relu__7:0" in quantized_inputs and len(quantized_inputs) == len(set(quantized_inputs))
    act_scales = [inits[n.input[1]] for n in qdq.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in ("input_1",)]
    assert act_scales[0].shape == ()  # per-tensor activation scale


def test_weight_scales_per_channel_by_hand():
    w = np.zeros((3, 2, 1, 1), np.float32)
    w[0, 1] = -2.54
    w[1, 0] = 1.27
    np.testing.assert_allclose(weight_scales(w, 0), [0.02, 0.01, 1.0], rtol=1e-6)  # all-zero channel -> 1
    np.testing.assert_allclose(weight_scales(w, None), 0.02, rtol=1e-6)


def test_name_candidates_cover_tf_suffix():
    assert name_candidates("conv1/convolution") == ["conv1/convolution", "conv1/convolution", "conv1/convolution:0"]
    assert name_candidates("x:0")[1] == "x"


def test_unmapped_and_missing_scales_are_reported_and_strict_raises(images):
    model = small_detector()
    cache = cache_for(model, images)
    del cache.scales["activation_2/Relu"]  # the flatten -> dense input loses its scale
    del cache.scales["flatten/Reshape"]
    cache.scales["(Unnamed Layer* 12) [Shuffle]_output"] = 0.01
    cache.scales["dead/tensor"] = 0.0
    qdq, report = insert_qdq_from_cache(model, cache)
    assert report.unmapped == ["(Unnamed Layer* 12) [Shuffle]_output"]
    assert report.unusable == {"dead/tensor": 0.0}
    assert set(report.float_nodes) == {"dense/MatMul"} and "flatten/Reshape:0" in report.float_nodes["dense/MatMul"]
    assert any("kept in float" in line for line in report.lines())
    (got,) = run(qdq, {"input_1": images})
    assert got.shape == (4, 5)
    with pytest.raises(QdqError, match="dense/MatMul.*--calibrate-images"):
        insert_qdq_from_cache(model, cache, strict=True)


def test_cache_of_another_model_is_an_error(fixtures_dir):
    ssd = read_calibration_cache(fixtures_dir / "calibration" / "ssd_tlt_cal.bin")
    with pytest.raises(QdqError, match="is it the cache of this model"):
        insert_qdq_from_cache(small_detector(), ssd)
    with pytest.raises(QdqError, match="is it the cache of this model"):  # the verdict alone says the same
        cache_fit(small_detector(), ssd)


def test_input_blob_renamed_by_exporter_maps_through_the_network(images):
    model = small_detector()
    cache = cache_for(model, images)
    model.graph.input[0].name = "input_1:0"
    for node in model.graph.node:
        node.input[:] = ["input_1:0" if i == "input_1" else i for i in node.input]
    cache.scales["input_image"] = cache.scales.pop("input_1")  # spelled as FasterRCNN's blob
    _, report = insert_qdq_from_cache(model, cache, network=get_network("frcnn"))
    assert report.mapped["input_image"] == "input_1:0"
    assert "conv1/BiasAdd" in report.quantized_nodes


def test_old_opsets_are_converted_so_weights_are_per_channel(images):
    # tf2onnx exports use opset 11/12; per-channel QuantizeLinear needs 13.
    model = small_detector(opset=11)
    qdq, report = insert_qdq_from_cache(model, cache_for(model, images))
    assert report.per_channel_weights and report.converted_opset == (11, 13)
    assert [o.version for o in qdq.opset_import if o.domain == ""] == [13]
    weight_dqs = [n for n in qdq.graph.node if n.op_type == "DequantizeLinear" and "/weight" in n.name]
    assert weight_dqs and all(any(a.name == "axis" for a in n.attribute) for n in weight_dqs)
    assert any("opset 11 converted to 13" in line for line in report.lines())
    (want,) = run(model, {"input_1": images})
    (got,) = run(qdq, {"input_1": images})
    assert np.abs(got - want).max() <= QDQ_TOLERANCE * np.abs(want).max()
    with pytest.raises(QdqError, match="opset 9"):
        insert_qdq_from_cache(small_detector(opset=9), cache_for(model, images))


def test_per_tensor_weights_on_request_and_when_the_opset_cannot_be_converted(images):
    model = small_detector(opset=11)
    qdq, report = insert_qdq_from_cache(model, cache_for(model, images), per_channel=False)
    assert not report.per_channel_weights and report.converted_opset is None
    assert all(not any(a.name == "axis" for a in n.attribute) for n in qdq.graph.node if n.op_type == "DequantizeLinear")
    assert "  weights quantized per tensor: per-tensor weights were asked for" in report.lines()
    (want,) = run(model, {"input_1": images})
    (got,) = run(qdq, {"input_1": images})
    assert np.abs(got - want).max() <= QDQ_TOLERANCE * 2 * np.abs(want).max()
    # A TensorRT plugin node (kept for TensorRT <= 10) has no ONNX schema: the converter refuses the graph.
    plugin = small_detector(opset=11)
    plugin.graph.node.append(helper.make_node("BatchTilePlugin_TRT", ["dense/MatMul:0"], ["tiled"], name="tile"))
    plugin.graph.output.append(helper.make_tensor_value_info("tiled", TensorProto.FLOAT, None))
    _, report = insert_qdq_from_cache(plugin, cache_for(model, images))
    assert not report.per_channel_weights and report.converted_opset is None
    assert report.per_tensor_reason.startswith("the graph opset is 11 and onnx's converter cannot take it to 13")


def with_count_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """Append the post-processing trick an NMS rewrite uses (count = Cast(mask) @ ones) and a MatMul
    named like a rewrite's node ('NMS/...')."""
    extra = [
        helper.make_node("Greater", ["dense/MatMul:0", "zero"], ["NMS/mask"], name="decode/Greater_1"),
        helper.make_node("Cast", ["NMS/mask"], ["NMS/mask_f"], name="decode/Cast_2", to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["NMS/mask_f", "ones"], ["count"], name="decode/MatMul_3"),
        helper.make_node("MatMul", ["dense/MatMul:0", "head"], ["head_out"], name="NMS/MatMul_4"),
    ]
    model.graph.node.extend(extra)
    model.graph.initializer.extend([
        numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
        numpy_helper.from_array(np.ones((5, 1), np.float32), "ones"),
        numpy_helper.from_array(np.eye(5, dtype=np.float32), "head"),
    ])
    model.graph.output.extend([helper.make_tensor_value_info("count", TensorProto.FLOAT, ["N", 1]),
                               helper.make_tensor_value_info("head_out", TensorProto.FLOAT, ["N", 5])])
    return model


def test_post_processing_arithmetic_and_rewrite_nodes_stay_float(images):
    model = with_count_matmul(small_detector())
    cache = cache_for(small_detector(), images)
    cache.scales.update({"NMS/mask_f": 1 / 127, "dense/MatMul": 0.05, "head_out": 0.05})
    qdq, report = insert_qdq_from_cache(model, cache, exclude_nodes=["NMS"], strict=True)
    assert report.float_nodes["decode/MatMul_3"].startswith("post-processing")
    assert report.float_nodes["NMS/MatMul_4"] == "excluded by the caller"
    assert "dense/MatMul" in report.quantized_nodes
    producers = {o: n.op_type for n in qdq.graph.node for o in n.output}
    matmuls = {n.name: n for n in qdq.graph.node if n.op_type == "MatMul"}
    assert producers[matmuls["decode/MatMul_3"].input[0]] == "Cast"
    assert producers[matmuls["NMS/MatMul_4"].input[0]] == "MatMul"  # the float dense output, no Q/DQ
    _, report = insert_qdq_from_cache(model, cache)  # without the exclusion the head is a network layer
    assert "NMS/MatMul_4" in report.quantized_nodes


CACHE_FILES = [
    "detectnet_v2_tlt_cal.bin", "dssd_tlt_cal.bin", "facemask_detectnet_v2_cal.bin", "frcnn_tlt_cal.bin",
    "lpd_ccpd_cal.bin", "lpd_usa_cal.bin", "mrcnn_tlt_cal.bin", "retinanet_tlt_cal.bin", "ssd_tlt_cal.bin",
    "trafficcamnet_int8.txt", "yolov3_tlt_cal.bin",
]


@pytest.mark.parametrize("name", CACHE_FILES)
def test_real_caches_parse_with_positive_finite_scales(fixtures_dir, name):
    cache = read_calibration_cache(fixtures_dir / "calibration" / name)
    values = np.array(list(cache.scales.values()))
    assert cache.trt_version == 7000 and len(values) > 30
    assert np.all(np.isfinite(values)) and values.min() > 0 and values.max() < 100
    # every real name is a TF/UFF name: no ':0' suffix, so mapping must add it for tf2onnx graphs
    assert not any(n.endswith(":0") for n in cache.scales)


def test_real_detectnet_v2_cache_on_translated_uff(fixtures_dir):
    """The facemask DetectNet_v2 .etlt (UFF) translated to ONNX: every one of its real TensorRT 7 cache's
    tensor names maps onto the translated graph, every Conv gets Q/DQ, and the Q/DQ graph stays close
    to float. Stated tolerance: coverage (a probability, thresholded at 0.2+ in deployment) within 0.02
    absolute; bbox offsets within 5% mean relative error."""
    import taostream.converter.uff.to_onnx as translator
    from taostream.converter.model.etlt import read_etlt
    from tests.conftest import REAL_ETLT

    key, _, (c, h, w) = REAL_ETLT["facemask_detectnet_v2_resnet18.etlt"]
    etlt = read_etlt(fixtures_dir / "models" / "facemask_detectnet_v2_resnet18.etlt", key)
    model = translator.uff_to_onnx(etlt.data, input_name=etlt.input_name)
    cache = read_calibration_cache(fixtures_dir / "calibration" / "facemask_detectnet_v2_cal.bin")
    qdq, report = insert_qdq_from_cache(model, cache, network=get_network("detectnet_v2"))
    assert not report.unmapped and len(report.mapped) == len(cache.scales) == 115
    assert len(report.quantized_nodes) == sum(n.op_type == "Conv" for n in model.graph.node) == 23
    yy, xx = np.mgrid[0:h, 0:w]  # a smooth synthetic frame in [0, 1], as preprocessed (RGB / 255)
    frame = np.stack([(np.sin(xx / 37) + 1) / 2, (np.cos(yy / 23) + 1) / 2, (xx + yy) % 97 / 97])
    feeds = {model.graph.input[0].name: frame[None].astype(np.float32)}
    (cov, bbox), (q_cov, q_bbox) = run(model, feeds), run(qdq, feeds)
    assert np.abs(q_cov - cov).max() <= 0.02
    assert np.abs(q_bbox - bbox).mean() <= 0.05 * np.abs(bbox).mean()


def test_a_qat_cache_without_output_scales_keeps_the_output_convolutions_float(fixtures_dir):
    """NVIDIA's LPDNet US cache comes from TAO's QAT model (ReLU6 everywhere, scales 6/127; TAO's QAT
    leaves the output layers unquantized), so it has no entry after output_cov/output_bbox. TensorRT's
    implicit INT8 needs the fused layer's output range and runs those two convolutions in higher
    precision; the Q/DQ graph used to quantize them (their input has a scale). The backbone's
    convolutions, whose own outputs have no entry either, get theirs after the fused BN and ReLU6."""
    import taostream.converter.uff.to_onnx as translator
    from taostream.converter.model.etlt import read_etlt
    from tests.conftest import REAL_ETLT

    name = "lpd_usa_detectnet_v2_pruned.etlt"
    etlt = read_etlt(fixtures_dir / "models" / name, REAL_ETLT[name][0])
    model = translator.uff_to_onnx(etlt.data, input_name=etlt.input_name)
    cache = read_calibration_cache(fixtures_dir / "calibration" / "lpd_usa_cal.bin")
    assert not any(n.startswith("output_") for n in cache.scales)
    qdq, report = insert_qdq_from_cache(model, cache, network=get_network("lpdnet"), strict=True)
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    heads = {"output_cov/convolution/nchw/Conv", "output_bbox/convolution/nchw/Conv"}
    assert heads < set(convs) and sorted(report.quantized_nodes) == sorted(set(convs) - heads)
    for head in heads:
        assert report.float_nodes[head].startswith("no cache scale for its output")
    assert any("TensorRT's implicit INT8 runs it in higher precision too" in line for line in report.lines())
    producers = {o: n for n in qdq.graph.node for o in n.output}
    for conv in (n for n in qdq.graph.node if n.op_type == "Conv"):
        weight_from = producers.get(conv.input[1])
        assert (weight_from is not None and weight_from.op_type == "DequantizeLinear") == (conv.name not in heads)


def test_residual_add_inputs_are_quantized_where_tensorrt_reads_them_in_int8(fixtures_dir):
    """TensorRT fuses a ResNet block's Add (and ReLU) into a convolution and reads the Add's other input
    in INT8: with a projection shortcut it fuses into the shallower shortcut convolution and reads the
    main branch's batch-norm output (a ResNet-18 INT8 engine's layers, NVIDIA/TensorRT#4020); with an
    identity shortcut it fuses into the block's last convolution and reads the identity. The Q/DQ graph
    kept both Add inputs in float. The choice is by structure, not by the order the nodes are stored in."""
    import taostream.converter.uff.to_onnx as translator
    from taostream.converter.model.etlt import read_etlt
    from tests.conftest import REAL_ETLT

    name = "lpd_usa_detectnet_v2_pruned.etlt"
    etlt = read_etlt(fixtures_dir / "models" / name, REAL_ETLT[name][0])
    model = translator.uff_to_onnx(etlt.data, input_name=etlt.input_name)
    cache = read_calibration_cache(fixtures_dir / "calibration" / "lpd_usa_cal.bin")
    expected = {}
    for add, block in enumerate(("1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b"), start=1):
        previous = f"block_{block[0]}a_relu/Relu6"
        expected[f"add_{add}/add/Add"] = previous if block.endswith("b") else f"block_{block}_bn_2/batchnorm/add_1"
    qdq, report = insert_qdq_from_cache(model, cache, network=get_network("lpdnet"))
    assert report.residual_inputs == expected
    assert any("8 residual Add input(s) quantized" in line for line in report.lines())
    producers = {o: n for n in qdq.graph.node for o in n.output}
    for add in (n for n in qdq.graph.node if n.op_type == "Add" and n.name in expected):
        kinds = sorted(producers[i].op_type for i in add.input)
        assert kinds == ["Add", "DequantizeLinear"]  # one input from the fused layer's BN, one read in INT8
    shuffled = onnx.ModelProto()
    shuffled.CopyFrom(model)
    nodes = list(shuffled.graph.node)
    del shuffled.graph.node[:]
    shuffled.graph.node.extend(reversed(nodes))  # stored in reverse: ONNX does not require an order
    assert insert_qdq_from_cache(shuffled, cache, network=get_network("lpdnet"))[1].residual_inputs == expected
    # cache_fit (check, tao-converter's implicit route) reports the same placement without inserting it
    untouched = model.SerializeToString()
    fit = cache_fit(model, cache, network="lpdnet")
    assert fit.residual_inputs == expected and fit.quantized_nodes == report.quantized_nodes
    assert (fit.mapped, fit.unmapped, fit.float_nodes, fit.warnings) == (report.mapped, report.unmapped,
                                                                         report.float_nodes, [])
    assert model.SerializeToString() == untouched


def test_cache_fit_judges_a_model_below_the_qdq_opset(images, tmp_path, fixtures_dir):
    """TensorRT <= 10 calibrates an opset-9 ONNX implicitly; only Q/DQ needs opset 10. tao-converter's
    check of the cache for that route used the Q/DQ insertion's verdict and refused the model's own
    cache with 'graph opset 9 ...; is it the cache of this model?'."""
    from taostream.converter.engine.prep import check_cache_fits

    model = small_detector(opset=9)
    cache = cache_for(small_detector(), images)
    assert sorted(cache_fit(model, cache).quantized_nodes) == ["conv1/BiasAdd", "conv2/convolution", "dense/MatMul"]
    path = tmp_path / "cal.bin"
    path.write_text(format_calibration_cache(cache))
    check_cache_fits(model, path)  # refused before
    with pytest.raises(TaostreamError, match="no Conv/Gemm/MatMul input of this graph has a scale"):
        check_cache_fits(model, fixtures_dir / "calibration" / "ssd_tlt_cal.bin")


def _facemask_onnx(fixtures_dir):
    import taostream.converter.uff.to_onnx as translator
    from taostream.converter.model.etlt import read_etlt
    from tests.conftest import REAL_ETLT

    key = REAL_ETLT["facemask_detectnet_v2_resnet18.etlt"][0]
    etlt = read_etlt(fixtures_dir / "models" / "facemask_detectnet_v2_resnet18.etlt", key)
    return translator.uff_to_onnx(etlt.data, input_name=etlt.input_name)


def test_another_models_cache_that_maps_a_little_is_warned_about(fixtures_dir):
    """The real SSD cache on the real facemask DetectNet_v2 model: a few names (conv1/convolution, ...)
    exist in both graphs, so Q/DQ goes in, but the input has no scale and most entries map nothing.
    It used to pass silently (exit 0) with the input and first convolutions left in float."""
    model = _facemask_onnx(fixtures_dir)
    ssd = read_calibration_cache(fixtures_dir / "calibration" / "ssd_tlt_cal.bin")
    _, report = insert_qdq_from_cache(model, ssd, network=get_network("detectnet_v2"))
    assert report.quantized_nodes  # not the all-unmapped case, which is an error
    assert len(report.unmapped) > len(report.mapped)
    input_warning, unmapped_warning = report.warnings
    assert "no scale for the input tensor 'input_1'" in input_warning and "is it the cache of this model" in input_warning
    assert f"{len(report.unmapped)} of {len(ssd.scales)} calibration cache entries match no tensor" in unmapped_warning
    assert [line for line in report.lines() if line.startswith("warning: ")] == [f"warning: {w}" for w in report.warnings]
    # The model's own cache: no warning.
    own = read_calibration_cache(fixtures_dir / "calibration" / "facemask_detectnet_v2_cal.bin")
    assert insert_qdq_from_cache(model, own, network=get_network("detectnet_v2"))[1].warnings == []


@pytest.mark.parametrize("bits, shown", [("7f800000", "inf"), ("7fc00000", "nan"), ("00000000", "0.0")])
def test_an_unusable_input_scale_in_the_models_own_cache_is_named_not_called_another_models(
        fixtures_dir, tmp_path, bits, shown):
    """The facemask model's own real cache with its input_1 entry's scale made inf/NaN/0 (a QAT export's
    +inf, a hand edit): the entry is there, so 'has no scale for the input tensor ... is it the cache of
    this model?' sent the user after the wrong cache; the warning names the entry and its value."""
    lines = (fixtures_dir / "calibration" / "facemask_detectnet_v2_cal.bin").read_text().splitlines()
    assert lines[1].startswith("input_1: ")
    lines[1] = f"input_1: {bits}"
    cache_path = tmp_path / "cal.bin"
    cache_path.write_text("\n".join(lines) + "\n")
    report = cache_fit(_facemask_onnx(fixtures_dir), read_calibration_cache(cache_path),
                       network=get_network("detectnet_v2"))
    assert len(report.warnings) == 1, report.warnings
    assert (f"scale for the input tensor 'input_1' (entry 'input_1') is {shown}, which no INT8 build can use"
            in report.warnings[0]), report.warnings
    assert "is it the cache of this model" not in report.warnings[0]


def test_modernize_command_prints_the_foreign_cache_warning(fixtures_dir, tmp_path):
    from cli_support import run_cli

    result = run_cli("modernize", fixtures_dir / "models" / "facemask_detectnet_v2_resnet18.etlt", "--key", "tlt_encode",
                     "--network", "detectnet_v2", "--target-trt", "11", "--calibration-cache",
                     fixtures_dir / "calibration" / "ssd_tlt_cal.bin", "-o", tmp_path / "m.onnx")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("taostream: warning: ")]
    assert len(warnings) == 2 and "input tensor 'input_1'" in warnings[0], result.stderr
    assert "tlt_encode" not in result.stdout + result.stderr


def test_calibration_summary_counts_unusable_scales(tmp_path):
    from cli_support import run_cli

    cache = tmp_path / "qat_cal.bin"
    # +inf (what QAT exports write), NaN, 0 and an absurd 2e34 amax beside two real scales.
    cache.write_text("TRT-8601-EntropyCalibration2\ninput_1: 3c010204\nconv1/convolution: 3d000000\n"
                     "block_1a_relu/Relu: 7f800000\nblock_1b_relu/Relu: 7fc00000\nblock_1c_relu/Relu: 0\n"
                     "block_2a_relu/Relu: 74f875cb\n")
    s = read_calibration_cache(cache).summary()
    assert s["tensors"] == 6 and s["unusable"] == 4
    assert s["scale_min"] == pytest.approx(1 / 127, rel=1e-3) and s["scale_max"] == 0.03125
    result = run_cli("calibration", cache)
    assert result.returncode == 0, result.stderr
    assert "6 tensors, 4 unusable (inf, NaN or 0)" in result.stdout
    assert "usable scales 0.00787" in result.stdout and "e+" not in result.stdout, result.stdout
