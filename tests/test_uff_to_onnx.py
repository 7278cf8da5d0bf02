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
from taostream.converter.etlt import read_etlt
from taostream.converter.uff import load_uff
from taostream.converter.uff_to_onnx import PLUGIN_DOMAIN, uff_to_onnx

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
