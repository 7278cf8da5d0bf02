"""Fresh INT8 calibration from a folder of generated images: scales, a runnable Q/DQ model, a classic cache."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from taostream.converter.int8.calib_cache import read_calibration_cache
from taostream.converter.int8.calibrate import CalibrationError, calibrate_images, quantize_with_images

SIZE = 16


def detectnet_like(batch="N") -> onnx.ModelProto:
    """input_1 [N, 3, 16, 16] -> conv -> relu -> conv: a DetectNet_v2-shaped toy (RGB, 1/255)."""
    rng = np.random.default_rng(4)
    inits = [
        numpy_helper.from_array((rng.standard_normal((6, 3, 3, 3)) * 0.5).astype(np.float32), "conv1/kernel"),
        numpy_helper.from_array((rng.standard_normal((2, 6, 1, 1)) * 0.5).astype(np.float32), "cov/kernel"),
    ]
    nodes = [
        helper.make_node("Conv", ["input_1", "conv1/kernel"], ["conv1/convolution:0"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1/convolution:0"], ["activation_1/Relu:0"], name="relu1"),
        helper.make_node("Conv", ["activation_1/Relu:0", "cov/kernel"], ["output_cov/BiasAdd:0"], name="cov"),
    ]
    graph = helper.make_graph(
        nodes, "toy", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [batch, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output_cov/BiasAdd:0", TensorProto.FLOAT, [batch, 2, SIZE, SIZE])], inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """Six BGR images at the network size (so resizing is the identity)."""
    folder = tmp_path_factory.mktemp("calib_images")
    rng = np.random.default_rng(9)
    for i in range(6):
        cv2.imwrite(str(folder / f"img_{i}.png"), rng.integers(0, 200 + 10 * i, (SIZE, SIZE, 3), dtype=np.uint8))
    (folder / "readme.txt").write_text("not an image")
    return folder


def _float_activations(model, batch):
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(helper.make_empty_tensor_value_info("conv1/convolution:0"))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input_1": batch})


def _rgb_batch(image_dir):
    paths = sorted(image_dir.glob("*.png"))
    return np.stack([cv2.imread(str(p))[:, :, ::-1].transpose(2, 0, 1) / np.float32(255.0) for p in paths]).astype(np.float32)


def test_minmax_scales_equal_amax_over_127(image_dir):
    scales = calibrate_images(detectnet_like(), "detectnet_v2", image_dir, batches=3, batch_size=2, progress=False, method="minmax")
    batch = _rgb_batch(image_dir)  # the same six images, preprocessed by hand: RGB / 255
    _, conv1 = _float_activations(detectnet_like(), batch)
    assert scales["input_1"] == pytest.approx(batch.max() / 127, rel=1e-5)
    assert scales["conv1/convolution:0"] == pytest.approx(np.abs(conv1).max() / 127, rel=1e-5)


def test_entropy_quantized_model_runs_close_to_float_and_writes_a_cache(image_dir, tmp_path, capsys):
    cache_path = tmp_path / "cal.bin"
    qdq, report, cache = quantize_with_images(
        detectnet_like(), "detectnet_v2", image_dir, batches=2, batch_size=3, cache_path=cache_path,
    )
    assert "INT8 calibration" in capsys.readouterr().err  # the tqdm progress bar
    onnx.checker.check_model(qdq)
    assert sorted(report.quantized_nodes) == ["conv1", "cov"]
    batch = _rgb_batch(image_dir)
    want = _float_activations(detectnet_like(), batch)[0]
    got = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input_1": batch})[0]
    # entropy clips the outliers of these random images: judge the mean error (stated tolerance 2%)
    assert np.abs(got - want).mean() <= 0.02 * np.abs(want).mean()
    written = read_calibration_cache(cache_path)
    assert written.header == "TRT-100300-EntropyCalibration2"
    assert written.scales == pytest.approx(cache.scales, rel=1e-7)
    minmax = calibrate_images(detectnet_like(), "detectnet_v2", image_dir, 2, 3, progress=False, method="minmax")
    # entropy clips outliers: never a wider range than min/max
    assert all(cache.scales[k] <= minmax[k] * 1.0001 for k in ("input_1", "activation_1/Relu:0"))


def test_minmax_quantized_model_max_error_within_5_percent(image_dir):
    qdq, _, _ = quantize_with_images(detectnet_like(), "detectnet_v2", image_dir, 3, 2, progress=False, method="minmax")
    batch = _rgb_batch(image_dir)
    want = _float_activations(detectnet_like(), batch)[0]
    got = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input_1": batch})[0]
    assert 0 < np.abs(got - want).max() <= 0.05 * np.abs(want).max()


def test_calibration_input_errors(image_dir, tmp_path):
    with pytest.raises(CalibrationError, match="6 images.*needs 8"):
        calibrate_images(detectnet_like(), "detectnet_v2", image_dir, batches=4, batch_size=2, progress=False)
    with pytest.raises(CalibrationError, match="fixed batch of 1; use --batch-size 1"):
        calibrate_images(detectnet_like(batch=1), "detectnet_v2", image_dir, batches=1, batch_size=2, progress=False)
    with pytest.raises(CalibrationError, match="not a folder"):
        calibrate_images(detectnet_like(), "detectnet_v2", tmp_path / "missing", 1, 1, progress=False)
    with pytest.raises(CalibrationError, match="method 'kl'"):
        calibrate_images(detectnet_like(), "detectnet_v2", image_dir, 1, 1, progress=False, method="kl")


def test_faster_rcnn_sample_modernized_then_calibrated(tmp_path):
    """The whole chain on the FasterRCNN sample: plugins replaced for TensorRT 11, fresh scales from
    letterboxed images, Q/DQ on the network layers only (none in the Proposal/CropAndResize/NMS
    rewrites), and the Q/DQ graph runs in ONNX Runtime with the same output shapes."""
    import taostream.converter.samples.write as samples
    import taostream.converter.modernize.apply as modernize
    sample = samples.make_sample_model("faster_rcnn")
    modern, report = modernize.modernize(sample, "11")
    plugin_nodes = [step.node for step in report.steps]
    rng = np.random.default_rng(21)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"frame_{i}.jpg"), rng.integers(0, 256, (200, 600, 3), dtype=np.uint8))
    qdq, qdq_report, _ = quantize_with_images(modern, "faster_rcnn", tmp_path, 1, 2, progress=False, method="minmax",
                                              exclude_nodes=plugin_nodes)
    convs = [n.name for n in modern.graph.node if n.op_type == "Conv"]
    assert set(convs) <= set(qdq_report.quantized_nodes)
    dequantized = {o for n in qdq.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    consumers_of_dq = {n.name for n in qdq.graph.node if set(n.input) & dequantized}
    assert consumers_of_dq == set(qdq_report.quantized_nodes)  # Q/DQ feed the weighted layers only
    assert all(n.split("/")[0] not in plugin_nodes for n in qdq_report.quantized_nodes)
    from taostream.converter.model.preprocess import preprocess_batch

    batch = preprocess_batch(sorted(tmp_path.glob("*.jpg")), "faster_rcnn", (3, 384, 1248))
    sess = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"])
    float_sess = ort.InferenceSession(modern.SerializeToString(), providers=["CPUExecutionProvider"])
    got, want = sess.run(None, {"input_image": batch}), float_sess.run(None, {"input_image": batch})
    assert [g.shape for g in got] == [w.shape for w in want] and [g.dtype for g in got] == [w.dtype for w in want]
