"""UFF -> ONNX translation (issue 8): the real TLT models, the PPO policy net, every supported op on
small generated graphs, and the errors. ONNX Runtime runs the translation; tests/uff_interpreter.py
(an independent NumPy reading of the UFF graph) is the oracle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest

from taostream.converter.errors import ModelFormatError, UnsupportedOpError
from taostream.converter.model.etlt import read_etlt
from taostream.converter.uff.reader import load_uff
from taostream.converter.uff.to_onnx import CHECKABLE_PLUGIN_DOMAIN, uff_to_onnx

from conftest import REAL_ETLT
from data_uff_graphs import UffGraphBuilder
from uff_interpreter import UffInterpreter

ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime runs the translated graphs")
cv2 = pytest.importorskip("cv2", reason="OpenCV loads and resizes the test photo")

TOLERANCE = 1e-4
SMALL_HW = (64, 96)  # the smallest sizes the DetectNet_v2 graphs take (multiples of the stride 16)


def session(model: onnx.ModelProto):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run_onnx(model: onnx.ModelProto, feeds: dict) -> dict:
    names = [o.name for o in model.graph.output]
    return dict(zip(names, session(model).run(names, feeds)))


def assert_agree(model: onnx.ModelProto, uff_model, feeds: dict) -> dict:
    got = run_onnx(model, feeds)
    want = UffInterpreter(uff_model).run(feeds)
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        np.testing.assert_allclose(got[name], want[name], rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)
    return got


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def real_uff(models_dir):
    """name -> (UFF bytes, .etlt header input name)."""
    payloads = {}
    for name, (key, _, _) in REAL_ETLT.items():
        payload = read_etlt(models_dir / name, key)
        payloads[name] = (payload.data, payload.input_name)
    return payloads


# ---- the real TLT models --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REAL_ETLT))
def test_real_detectnet_translates_and_runs_at_its_input_size(real_uff, name):
    data, input_name = real_uff[name]
    _, expected_input, (c, h, w) = REAL_ETLT[name]
    model = uff_to_onnx(data, input_name=input_name)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [expected_input]
    assert dims(model.graph.input[0]) == ["N", c, h, w]
    assert [o.name for o in model.graph.output] == ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
    classes = dims(model.graph.output[0])[1]
    assert dims(model.graph.output[0]) == ["N", classes, h // 16, w // 16]
    assert dims(model.graph.output[1]) == ["N", 4 * classes, h // 16, w // 16]

    uff_model = load_uff(data)
    image = np.random.default_rng(0).random((1, c, h, w), dtype=np.float32)
    outputs = assert_agree(model, uff_model, {expected_input: image})  # real size, batch 1
    cov, bbox = outputs["output_cov/Sigmoid"], outputs["output_bbox/BiasAdd"]
    classes = cov.shape[1]
    assert cov.shape == (1, classes, h // 16, w // 16)
    assert bbox.shape == (1, 4 * classes, h // 16, w // 16)
    assert cov.min() >= 0.0 and cov.max() <= 1.0


@pytest.mark.parametrize("name", sorted(REAL_ETLT))
def test_real_detectnet_matches_interpreter_with_batch_two_at_small_size(real_uff, name):
    data, input_name = real_uff[name]
    uff_model = load_uff(data)
    uff_model.node(input_name).fields["shape"] = [-1, 3, *SMALL_HW]  # fully convolutional
    model = uff_to_onnx(uff_model)
    images = np.random.default_rng(1).random((2, 3, *SMALL_HW), dtype=np.float32)
    outputs = assert_agree(model, uff_model, {input_name: images})
    # Each sample of a batch is computed alone: the batch really is dynamic.
    single = run_onnx(model, {input_name: images[1:]})
    for key in outputs:
        np.testing.assert_allclose(single[key][0], outputs[key][1], rtol=1e-5, atol=1e-5)


def astronaut_photo() -> np.ndarray:
    """scikit-image's 'astronaut' (Eileen Collins, NASA; public domain), read from the installed
    package without downloading anything. RGB, 512x512."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image is not installed; it ships the public-domain test photo of a face")
    path = Path(spec.submodule_search_locations[0]) / "data" / "astronaut.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def detectnet_boxes(cov: np.ndarray, bbox: np.ndarray, threshold: float, stride: int = 16, norm: float = 35.0):
    """Plain DetectNet_v2 grid decode (FACTS section 2) of one image: [(class, conf, x1, y1, x2, y2)]."""
    boxes = []
    for cls, gy, gx in zip(*np.nonzero(cov > threshold)):
        cx, cy = (gx * stride + 0.5) / norm, (gy * stride + 0.5) / norm
        o = bbox[4 * cls: 4 * cls + 4, gy, gx]
        boxes.append((int(cls), float(cov[cls, gy, gx]), (o[0] - cx) * -norm, (o[1] - cy) * -norm,
                      (o[2] + cx) * norm, (o[3] + cy) * norm))
    return boxes


def test_facemask_model_finds_the_face_in_a_real_photo(real_uff):
    photo = astronaut_photo()
    data, input_name = real_uff["facemask_detectnet_v2_resnet18.etlt"]
    uff_model = load_uff(data)
    model = uff_to_onnx(uff_model, input_name=input_name)
    # DetectNet_v2 preprocessing: RGB, plain resize to the network size, scale 1/255.
    image = cv2.resize(photo, (960, 544), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    batch = np.stack([image.transpose(2, 0, 1), image[:, ::-1].transpose(2, 0, 1)])  # photo and its mirror
    outputs = assert_agree(model, uff_model, {input_name: np.ascontiguousarray(batch)})
    cov, bbox = outputs["output_cov/Sigmoid"], outputs["output_bbox/BiasAdd"]

    # The astronaut's face, by eye, in the 512x512 photo: x 170..285, y 25..190 (no mask).
    face = np.array([170, 25, 285, 190], dtype=float) * [960 / 512, 544 / 512, 960 / 512, 544 / 512]
    for sample, mirrored in ((0, False), (1, True)):
        boxes = detectnet_boxes(cov[sample], bbox[sample], threshold=0.5)
        assert boxes, "no detection at all"
        best = max(boxes, key=lambda b: b[1])
        cls, conf, x1, y1, x2, y2 = best
        if mirrored:
            x1, x2 = 960 - x2, 960 - x1
        assert cls == 1, "the astronaut wears no mask: class 1 ('no-mask') must win"
        assert conf > 0.9
        assert iou((x1, y1, x2, y2), face) > 0.6, (best, face)
        assert cov[sample, 0].max() < 0.2  # and no 'mask' anywhere


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("name", ["lpd_usa_detectnet_v2_pruned.etlt", "lpd_ccpd_detectnet_v2_pruned.etlt"])
def test_real_photo_batch_one_matches_interpreter(real_uff, name):
    """The face-mask model sees the photo in a batch of two above; the plate detectors see it alone."""
    data, input_name = real_uff[name]
    _, _, (_, h, w) = REAL_ETLT[name]
    image = cv2.resize(astronaut_photo(), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
    outputs = assert_agree(uff_to_onnx(data, input_name=input_name), load_uff(data), {input_name: batch})
    assert outputs["output_cov/Sigmoid"].max() < 0.5  # no licence plate in the astronaut photo


def test_ppo_fully_connected_uff_matches_interpreter(models_dir):
    data = (models_dir / "ppo_hil_fc.uff").read_bytes()
    model = uff_to_onnx(data)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input_state_placeholder"]
    assert dims(model.graph.input[0]) == ["N", 67]
    assert [o.name for o in model.graph.output] == ["policy/output"]
    state = np.random.default_rng(2).normal(size=(5, 67)).astype(np.float32)
    outputs = assert_agree(model, load_uff(data), {"input_state_placeholder": state})
    assert outputs["policy/output"].shape == (5, 2)


# ---- every supported op, on small generated graphs -------------------------------------------------
RNG = np.random.default_rng(3)


def rand(*shape) -> np.ndarray:
    return RNG.normal(size=shape).astype(np.float32)


def check_graph(builder: UffGraphBuilder, feeds: dict) -> dict:
    data = builder.to_bytes()
    model = uff_to_onnx(data)
    onnx.checker.check_model(model, full_check=True)
    return assert_agree(model, load_uff(data), feeds)


@pytest.mark.parametrize("stride,dilation,size", [(1, 1, (9, 12)), (2, 1, (9, 12)), (2, 1, (10, 13)), (1, 2, (11, 8)), (3, 1, (7, 7))])
def test_conv_implicit_same_padding_matches_tensorflow(stride, dilation, size):
    b = UffGraphBuilder()
    b.input("x", [-1, 3, *size])
    b.node("Conv", "conv", ["x", b.const("k", rand(3, 3, 3, 5))], strides=[stride, stride],
           dilation=[dilation, dilation], implicit_padding="same", inputs_orders="NC+,+CK")
    b.output("conv")
    out = check_graph(b, {"x": rand(2, 3, *size)})["conv"]
    assert out.shape[2:] == tuple(-(-s // stride) for s in size)  # TensorFlow SAME: ceil(in / stride)


def test_conv_explicit_padding_channels_last_and_grouped():
    b = UffGraphBuilder()
    b.input("x", [-1, 8, 10, 4])  # N, H, W, C
    b.node("Conv", "nhwc", ["x", b.const("k1", rand(3, 3, 4, 6))], strides=[2, 1], padding=[1, 2],
           inputs_orders="N+C,+CK")
    b.node("Conv", "grouped", ["nhwc", b.const("k2", rand(1, 3, 3, 4))], number_groups=2,
           inputs_orders="N+C,+CK")  # 6 channels in 2 groups of 3 -> 4 out
    b.output("nhwc")
    b.output("grouped")
    out = check_graph(b, {"x": rand(2, 8, 10, 4)})
    assert out["nhwc"].shape == (2, 4, 12, 6)
    assert out["grouped"].shape == (2, 4, 10, 4)


def test_depthwise_conv_with_multiplier():
    b = UffGraphBuilder()
    b.input("x", [-1, 4, 9, 9])
    b.node("Conv", "dw", ["x", b.const("k", rand(3, 3, 4, 2))], number_groups=4, implicit_padding="same",
           strides=[2, 2], inputs_orders="NC+,+CK")
    b.output("dw")
    assert check_graph(b, {"x": rand(2, 4, 9, 9)})["dw"].shape == (2, 8, 5, 5)


@pytest.mark.parametrize("fields,size,out", [({"implicit_padding": "same"}, (5, 6), (10, 12)),
                                              ({}, (5, 6), (11, 13)),
                                              ({"padding": [1, 1]}, (4, 4), (7, 7))])
def test_conv_transpose(fields, size, out):
    b = UffGraphBuilder()
    b.input("x", [-1, 3, *size])
    b.node("ConvTranspose", "up", ["x", b.const("k", rand(3, 3, 4, 3))], strides=[2, 2],
           inputs_orders="NC+,+KC", **fields)
    b.output("up")
    assert check_graph(b, {"x": rand(2, 3, *size)})["up"].shape == (2, 4, *out)


def test_conv_transpose_with_output_shape_input():
    b = UffGraphBuilder()
    b.input("x", [-1, 2, 4, 5])
    b.node("ConvTranspose", "up", ["x", b.const("k", rand(2, 2, 3, 2)), b.const("size", np.array([1, 3, 8, 11], np.int32))],
           strides=[2, 2], implicit_padding="same", inputs_orders="NC+,+KC")
    b.output("up")
    assert check_graph(b, {"x": rand(2, 2, 4, 5)})["up"].shape == (2, 3, 8, 11)


@pytest.mark.parametrize("func", ["max", "avg"])
@pytest.mark.parametrize("fields", [{"implicit_padding": "same"}, {"padding": [1, 1]}, {}])
def test_pool(func, fields):
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 7, 8])
    b.node("Pool", "pool", ["x"], func=func, kernel=[3, 3], strides=[2, 2], inputs_orders="NC+", **fields)
    b.output("pool")
    # Negative inputs: a zero-padded max (explicit padding) and a -inf-padded one (SAME) differ.
    check_graph(b, {"x": -np.abs(rand(2, 3, 7, 8))})


def test_dense_head_activations_softmax_and_batchnorm():
    b = UffGraphBuilder()
    b.input("x", [-1, 6])
    b.node("FullyConnected", "fc", ["x", b.const("w", rand(5, 6))], inputs_orders="NC,KC")
    b.node("BatchNorm", "bn", ["fc", b.const("g", rand(5)), b.const("be", rand(5)), b.const("m", rand(5)),
                               b.const("v", np.abs(rand(5)) + 0.1)], epsilon=1e-3, inputs_orders="NC+")
    b.node("Activation", "r6", ["bn"], func="relu6")
    b.node("LeakyRelu", "lrelu", ["bn"], alpha=0.1)
    b.node("Activation", "elu", ["bn"], func="elu")
    b.node("Activation", "sp", ["bn"], func="softplus")
    b.node("Binary", "sum", ["r6", "lrelu"], func="add")
    b.node("Binary", "mix", ["sum", "elu"], func="max")
    b.node("Binary", "mix2", ["mix", "sp"], func="sub")
    b.node("Softmax", "prob", ["mix2"], axis=0)
    b.node("FullyConnected", "gram", ["prob", "prob"], inputs_orders="CN,CK")  # non-constant weights
    b.output("prob")
    b.output("gram")
    out = check_graph(b, {"x": rand(4, 6) * 3})
    np.testing.assert_allclose(out["prob"].sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("func", ["neg", "abs", "exp", "sqrt", "rsqrt", "square", "floor", "ceil", "tan", "atan"])
def test_unary(func):
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 4])
    b.node("Unary", "u", ["x"], func=func)
    b.output("u")
    check_graph(b, {"x": np.abs(rand(2, 3, 4)) + 0.5})


@pytest.mark.parametrize("func", ["add", "sub", "mul", "div", "min", "max", "pow"])
def test_binary_broadcasts_like_numpy_and_folds_constants(func):
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 4, 5])
    b.node("Reshape", "bias", [b.const("b0", np.abs(rand(3)) + 0.5), b.const("s", np.array([3, 1, 1], np.int32))])
    b.node("Binary", "folded", ["bias", b.const("two", np.float32(2.0))], func=func)
    b.node("Binary", "y", ["x", "folded"], func=func)
    b.output("y")
    data = b.to_bytes()
    model = uff_to_onnx(data)
    assert [n.op_type for n in model.graph.node] == [{"min": "Min", "max": "Max"}.get(func, func.capitalize())]
    assert_agree(model, load_uff(data), {"x": np.abs(rand(2, 3, 4, 5)) + 0.5})


def test_shape_ops_chain():
    b = UffGraphBuilder()
    b.input("x", [-1, 2, 3, 4])
    b.node("Transpose", "t", ["x"], permutation=[0, 2, 3, 1])                       # N,3,4,2
    b.node("Pad", "p", ["t", b.const("pads", np.array([[0, 0], [1, 0], [0, 2], [0, 0]], np.int32))])  # N,4,6,2
    b.node("ExpandDims", "e", ["p"], axis=1)                                           # N,1,4,6,2
    b.node("Squeeze", "sq", ["e"], axis=[1])                                           # N,4,6,2
    b.node("Squeeze", "sq_all", ["e"])                                                  # squeezes axis 1 only
    b.node("Concat", "c", ["sq", "sq_all"], axis=-1)                                  # N,4,6,4
    b.node("Stack", "st", ["sq", "sq_all"], axis=1)                                    # N,2,4,6,2
    b.node("Reduce", "mean", ["st"], func="mean", axes=[1, 4], keepdims=False)       # N,4,6
    b.node("Reduce", "max", ["c"], func="max", axes=[2], keepdims=True)              # N,4,1,4
    b.node("Reduce", "sum", ["c"], func="sum", axes=[-1], keepdims=False)            # N,4,6
    b.node("StridedSlice", "sl", ["c", b.const("b", np.array([0, 3, 1, 0], np.int32)),
                                  b.const("en", np.array([0, 0, 5, 3], np.int32)),
                                  b.const("sd", np.array([1, -1, 2, 1], np.int32))],
           begin_mask=1, end_mask=3, shrink_axis_mask=0)                                # N,4,2,3
    b.node("StridedSlice", "pick", ["c", b.const("b2", np.array([0, -1], np.int32)),
                                    b.const("e2", np.array([0, 0], np.int32)),
                                    b.const("s2", np.array([1, 1], np.int32))],
           begin_mask=1, end_mask=1, shrink_axis_mask=2)                                # N,6,4
    b.node("Gather", "g", ["pick", b.const("idx", np.array([3, 0], np.int32))], axis=2)  # N,6,2
    b.node("Flatten", "f", ["g"])                                                       # N,12
    b.node("Shape", "shape", ["x"])
    b.node("StridedSlice", "batch", ["shape", b.const("b3", np.array([0], np.int32)),
                                     b.const("e3", np.array([1], np.int32)), b.const("s3", np.array([1], np.int32))],
           shrink_axis_mask=1)
    b.node("Stack", "new_shape", ["batch", b.const("minus1", np.int32(-1))], axis=0)
    b.node("Reshape", "r", ["sl", "new_shape"])                                        # N,24
    b.node("Identity", "ident", ["r"])
    for name in ("mean", "max", "sum", "sl", "f", "ident"):
        b.output(name)
    out = check_graph(b, {"x": rand(3, 2, 3, 4)})
    assert out["mean"].shape == (3, 4, 6) and out["max"].shape == (3, 4, 1, 4)
    assert out["sl"].shape == (3, 4, 2, 3) and out["f"].shape == (3, 12) and out["ident"].shape == (3, 24)


@pytest.mark.parametrize("target,expected", [([1, 6, 4], (3, 6, 4)), ([1, -1], (3, 24)), ([-1, 4, 6], (3, 4, 6))])
def test_reshape_exported_at_batch_one_keeps_the_batch_dynamic(target, expected):
    b = UffGraphBuilder()
    b.input("x", [-1, 2, 3, 4])
    b.node("Reshape", "r", ["x", b.const("s", np.array(target, np.int32))])
    b.output("r")
    assert check_graph(b, {"x": rand(3, 2, 3, 4)})["r"].shape == expected


def test_constant_and_aliased_outputs_keep_their_names():
    b = UffGraphBuilder()
    b.input("x", [-1, 3])
    b.node("Identity", "same", ["x"])
    b.node("Binary", "table", [b.const("a", rand(3)), b.const("b", rand(3))], func="mul")
    b.output("same")
    b.output("table")
    data = b.to_bytes()
    model = uff_to_onnx(data)
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["same", "table"]
    assert_agree(model, load_uff(data), {"x": rand(2, 3)})


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_opsets(opset):
    b = UffGraphBuilder()
    b.input("x", [-1, 2, 3])
    b.node("Reduce", "m", ["x"], func="mean", axes=[2], keepdims=True)
    b.node("Squeeze", "s", ["m"], axis=[2])
    b.output("s")
    model = uff_to_onnx(b.to_bytes(), opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    x = rand(2, 2, 3)
    np.testing.assert_allclose(run_onnx(model, {"x": x})["s"], x.mean(axis=2), rtol=1e-6)


# ---- TensorRT plugin nodes ------------------------------------------------------------------------
def ssd_like_tail() -> UffGraphBuilder:
    """The tail of a TLT SSD/YOLO UFF: BatchTile of constant priors, then NMS / BatchedNMS."""
    b = UffGraphBuilder()
    b.input("Input", [-1, 3, 16, 16])
    b.node("Conv", "loc", ["Input", b.const("k", rand(1, 1, 3, 8))], inputs_orders="NC+,+CK")
    b.node("_BatchTilePlugin_TRT", "tiled_priors", ["loc", b.const("priors", rand(1, 2, 4096, 1))])
    b.node("_NMS_TRT", "NMS", ["loc", "loc", "tiled_priors"], shareLocation=1, varianceEncodedInTarget=0,
           backgroundLabelId=0, confidenceThreshold=0.01, nmsThreshold=0.6, topK=200, keepTopK=100,
           numClasses=3, inputOrder=[0, 2, 1], confSigmoid=1, isNormalized=1, scoreBits=16)
    b.node("_BatchedNMS_TRT", "BatchedNMS", ["loc", "loc"], shareLocation=True, backgroundLabelId=-1,
           numClasses=4, topK=100, keepTopK=50, scoreThreshold=0.1, iouThreshold=1, isNormalized=1, clipBoxes=1)
    b.output("NMS")
    b.output("NMS_1")
    for k in ("", "_1", "_2", "_3"):
        b.output(f"BatchedNMS{k}")
    return b


def test_plugin_nodes_are_in_the_default_domain_as_tao_writes_them():
    model = uff_to_onnx(ssd_like_tail().to_bytes())
    plugins = [n for n in model.graph.node if not onnx.defs.has(n.op_type)]
    assert sorted(n.op_type for n in plugins) == ["BatchTilePlugin_TRT", "BatchedNMS_TRT", "NMS_TRT"]
    assert all(n.domain == "" for n in plugins)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]


def test_plugin_nodes_become_onnx_plugin_nodes_with_typed_attributes():
    model = uff_to_onnx(ssd_like_tail().to_bytes(), plugin_domain=CHECKABLE_PLUGIN_DOMAIN)
    onnx.checker.check_model(model, full_check=True)
    plugins = {n.op_type: n for n in model.graph.node if n.domain == CHECKABLE_PLUGIN_DOMAIN}
    assert set(plugins) == {"BatchTilePlugin_TRT", "NMS_TRT", "BatchedNMS_TRT"}
    assert {(o.domain, o.version) for o in model.opset_import} >= {(CHECKABLE_PLUGIN_DOMAIN, 1)}

    nms = {a.name: onnx.helper.get_attribute_value(a) for a in plugins["NMS_TRT"].attribute}
    assert nms["keepTopK"] == 100 and nms["numClasses"] == 3 and nms["inputOrder"] == [0, 2, 1]
    assert abs(nms["nmsThreshold"] - 0.6) < 1e-6 and abs(nms["confidenceThreshold"] - 0.01) < 1e-6
    assert list(plugins["NMS_TRT"].output) == ["NMS", "NMS_1"]
    assert list(plugins["NMS_TRT"].input) == ["loc", "loc", "tiled_priors"]

    batched = {a.name: a for a in plugins["BatchedNMS_TRT"].attribute}
    # Declared types win over how the UFF stored the value (bool, int where a float is meant).
    assert batched["shareLocation"].type == onnx.AttributeProto.INT and batched["shareLocation"].i == 1
    assert batched["iouThreshold"].type == onnx.AttributeProto.FLOAT and batched["iouThreshold"].f == 1.0
    assert batched["backgroundLabelId"].i == -1

    outputs = {o.name: o for o in model.graph.output}
    assert list(outputs) == ["NMS", "NMS_1", "BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"]
    assert dims(outputs["NMS"]) == ["N", 1, 100, 7]
    assert outputs["BatchedNMS"].type.tensor_type.elem_type == onnx.TensorProto.INT32
    assert dims(outputs["BatchedNMS_1"]) == ["N", 50, 4]


def test_maskrcnn_plugins_carry_their_fields():
    b = UffGraphBuilder()
    b.input("Input", [-1, 3, 32, 32])
    b.node("_MultilevelProposeROI_TRT", "multilevel_propose_rois", ["Input", "Input"], prenms_topk=4096,
           keep_topk=1000, fg_threshold=0.0, iou_threshold=0.7, image_size=[3, 32, 32])
    b.node("_MultilevelCropAndResize_TRT", "roi_align", ["multilevel_propose_rois", "Input"], pooled_size=7,
           image_size=[3, 32, 32])
    b.node("_GenerateDetection_TRT", "generate_detections", ["roi_align", "roi_align", "multilevel_propose_rois"],
           num_classes=91, keep_topk=100, score_threshold=0.05, iou_threshold=0.5, image_size=[3, 32, 32])
    b.node("_ResizeNearest_TRT", "up", ["Input"], scale=2.0)
    b.output("generate_detections")
    b.output("up")
    model = uff_to_onnx(b.to_bytes(), plugin_domain=CHECKABLE_PLUGIN_DOMAIN)
    onnx.checker.check_model(model, full_check=True)
    ops = {n.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in model.graph.node}
    assert ops["MultilevelProposeROI_TRT"]["image_size"] == [3, 32, 32]
    assert ops["MultilevelCropAndResize_TRT"]["pooled_size"] == 7
    assert ops["GenerateDetection_TRT"]["num_classes"] == 91
    assert ops["ResizeNearest_TRT"]["scale"] == 2.0
    assert dims(model.graph.output[0]) == ["N", 100, 6]


# ---- errors ---------------------------------------------------------------------------------------
def test_unknown_op_is_a_clear_error_naming_op_and_node():
    b = UffGraphBuilder()
    b.input("x", [-1, 4])
    b.node("Cumsum", "running_total", ["x"], axis=1)
    b.output("running_total")
    with pytest.raises(UnsupportedOpError) as err:
        uff_to_onnx(b.to_bytes(), source="model.uff")
    message = str(err.value)
    assert "model.uff" in message and "'running_total'" in message and "op Cumsum" in message
    assert "re-export" in message  # says what to do


def test_unknown_field_and_func_are_errors_not_guesses():
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 8, 8])
    b.node("Conv", "c", ["x", b.const("k", rand(3, 3, 3, 4))], inputs_orders="NC+,+CK", padding_mode="reflect")
    b.output("c")
    with pytest.raises(UnsupportedOpError, match=r"'c'.*padding_mode"):
        uff_to_onnx(b.to_bytes())
    b = UffGraphBuilder()
    b.input("x", [-1, 3])
    b.node("Activation", "a", ["x"], func="gelu")
    b.output("a")
    with pytest.raises(UnsupportedOpError, match=r"'a'.*gelu"):
        uff_to_onnx(b.to_bytes())


def test_unknown_plugin_and_non_constant_kernel_are_errors():
    b = UffGraphBuilder()
    b.input("x", [-1, 3])
    b.node("_MyCustomLayer_TRT", "custom", ["x"])
    b.output("custom")
    with pytest.raises(UnsupportedOpError, match="MyCustomLayer_TRT"):
        uff_to_onnx(b.to_bytes())
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 4, 4])
    b.input("k", [-1, 3, 3, 3])
    b.node("Conv", "c", ["x", "k"], inputs_orders="NC+,+CK")
    b.output("c")
    with pytest.raises(UnsupportedOpError, match="kernel.*constant"):
        uff_to_onnx(b.to_bytes())


def test_model_level_errors():
    b = UffGraphBuilder()
    b.input("x", [-1, 3])
    b.node("Activation", "a", ["x"], func="relu")
    b.output("a")
    with pytest.raises(ModelFormatError, match="no Input node 'input_1'"):
        uff_to_onnx(b.to_bytes(), input_name="input_1")
    with pytest.raises(UnsupportedOpError, match="opset 11"):
        uff_to_onnx(b.to_bytes(), opset=11)
    no_output = UffGraphBuilder()
    no_output.input("x", [-1, 3])
    with pytest.raises(ModelFormatError, match="no output"):
        uff_to_onnx(no_output.to_bytes())
    dangling = UffGraphBuilder()
    dangling.input("x", [-1, 3])
    dangling.node("Binary", "y", ["x", "missing_weights"], func="add")
    dangling.output("y")
    with pytest.raises(ModelFormatError, match="missing_weights"):
        uff_to_onnx(dangling.to_bytes())
    with pytest.raises(ModelFormatError):
        uff_to_onnx(b"\x08\x01\x10garbage")


def test_custom_batch_dim_name_and_uff_model_input(models_dir):
    data = (models_dir / "ppo_hil_fc.uff").read_bytes()
    model = uff_to_onnx(load_uff(data), batch_dim="batch")
    assert dims(model.graph.input[0]) == ["batch", 67]
    assert dims(model.graph.output[0]) == ["batch", 2]


def test_softmax_is_over_the_last_axis_as_in_tensorflow():
    """e.g. FasterRCNN's dense_class_td/Softmax over [N, rois, classes]."""
    b = UffGraphBuilder()
    b.input("x", [-1, 5, 4])
    b.node("Softmax", "prob", ["x"], axis=0, inputs_orders="NC+")
    b.output("prob")
    out = check_graph(b, {"x": rand(2, 5, 4)})["prob"]
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)


def test_kernel_that_does_not_fit_the_input_channels_is_an_error():
    b = UffGraphBuilder()
    b.input("x", [-1, 3, 8, 8])
    b.node("Conv", "c", ["x", b.const("k", rand(3, 3, 5, 4))], inputs_orders="NC+,+CK")  # 5 != 3 channels
    b.output("c")
    with pytest.raises(UnsupportedOpError, match=r"'c'.*does not fit"):
        uff_to_onnx(b.to_bytes())
