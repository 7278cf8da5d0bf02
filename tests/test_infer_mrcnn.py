"""`taostream infer --backend ort` on a MaskRCNN bundle: the graph keeps TensorRT plugins, so the CPU
path runs it with the plugins' numpy references (inference/backends/runners.py PluginReferenceRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from taostream.cli import main
from taostream.converter.errors import TaostreamError
from taostream.plugins.reference import run_with_plugin_references
from taostream.converter.model.preprocess import preprocess_image
from taostream.inference.bundle_info import load_bundle
from taostream.inference.results import read_kitti
from taostream.inference.backends.runners import OnnxRuntimeRunner, PluginReferenceRunner, cpu_runner
from test_infer_support import make_bundle, noise_images, write_images

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("infer_mrcnn")


@pytest.fixture(scope="module")
def bundle(workdir) -> Path:
    """The sample bundle with its pre-cluster threshold lowered from the spec's 0.8 to THRESHOLD (too
    few detections of random weights otherwise) in both files that carry it, as docs/inference.md says;
    `infer --threshold` is a final filter and cannot lower it."""
    import re

    path = make_bundle(workdir, "mask_rcnn")
    config = path / "triton" / "mask_rcnn_cpu" / "config.pbtxt"
    text, count = re.subn(r'(key: "confidence_threshold"\s*value \{\s*string_value: )"[^"]*"', rf'\1"{THRESHOLD}"',
                          config.read_text())
    assert count == 1
    config.write_text(text)
    nvinfer = path / "deepstream" / "config_infer_primary.txt"
    text, count = re.subn(r"pre-cluster-threshold=[0-9.]+", f"pre-cluster-threshold={THRESHOLD}", nvinfer.read_text())
    assert count == 1
    nvinfer.write_text(text)
    return path


def _resize_nearest_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 4, 4])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("ResizeNearest_TRT", ["r"], ["y"], scale=2.0)]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)],
                             ir_version=10)


def test_cpu_runner_runs_plugin_graphs_with_their_references():
    model = _resize_nearest_model()
    runner = cpu_runner(model)
    assert isinstance(runner, PluginReferenceRunner)
    with runner:
        assert runner.input_metadata()["x"].shape == (-1, 1, 2, 2)
        out = runner.infer({"x": np.array([[[[1, -2], [3, 4]]]], np.float32)})["y"]
    np.testing.assert_array_equal(out[0, 0], [[1, 1, 0, 0], [1, 1, 0, 0], [3, 3, 4, 4], [3, 3, 4, 4]])
    plain = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]),
                              opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    assert isinstance(cpu_runner(plain), OnnxRuntimeRunner)


def test_a_plugin_without_a_reference_is_still_a_clear_error():
    model = _resize_nearest_model()
    model.graph.node[1].op_type = "GridAnchor_TRT"
    with pytest.raises(TaostreamError, match=r"'GridAnchor_TRT'|\(GridAnchor_TRT\)"):
        cpu_runner(model).activate()


def _expected_frame_boxes(bundle_path: Path, image: np.ndarray) -> list[tuple[int, float, float, float, float, float]]:
    """Worked out apart from inference/: the raw graph on the preprocessed image, rows above the
    threshold, (y1, x1, y2, x2) network pixels divided by the aspect-preserving scale (no offset:
    MaskRCNN pads right/bottom), clipped to the frame, empty boxes dropped."""
    bundle = load_bundle(bundle_path)
    tensor = preprocess_image(image, bundle.network, bundle.dims, interpolation="nearest",
                              **bundle.preprocessing.as_kwargs())
    model = onnx.load(bundle_path / "model.onnx")
    rows = run_with_plugin_references(model, {bundle.input_name: tensor[None]})["generate_detections"][0]
    height, width = image.shape[:2]
    ratio = min(1344 / width, 832 / height)  # the scaled frame is whole pixels: one scale per axis
    scale_x, scale_y = int(width * ratio) / width, int(height * ratio) / height
    expected = []
    for y1, x1, y2, x2, cls, score in rows:
        if cls < 1 or score < THRESHOLD:
            continue
        left, right = (min(max(v / scale_x, 0.0), width) for v in (x1, x2))
        top, bottom = (min(max(v / scale_y, 0.0), height) for v in (y1, y2))
        if right > left and bottom > top:
            expected.append((int(cls), left, top, right, bottom, float(score)))
    return expected


def test_infer_on_a_mask_rcnn_bundle_writes_kitti_in_frame_pixels(bundle, workdir):
    frames = noise_images(2, seed=5)
    images = write_images(workdir / "images", frames)
    out = workdir / "out"
    args = ["infer", str(bundle), *map(str, images), "-o", str(out), "--threshold", str(THRESHOLD), "--no-progress"]
    assert main(args) == 0
    data = json.loads((out / "results.json").read_text())
    labels = (bundle / "labels.txt").read_text().splitlines()
    total = 0
    for path, frame, record in zip(images, frames, data["images"]):
        objects = read_kitti(out / "labels" / f"{path.stem}.txt")
        expected = _expected_frame_boxes(bundle, frame)
        assert len(objects) == len(expected) == len(record["detections"])
        for obj, (cls, left, top, right, bottom, score), det in zip(objects, expected, record["detections"]):
            assert obj.label == labels[cls] == det["label"]
            np.testing.assert_allclose([obj.left, obj.top, obj.right, obj.bottom], [left, top, right, bottom], atol=0.006)
            assert obj.score == pytest.approx(score, abs=5e-4)
            assert det["mask_shape"] == [28, 28]
        annotated = cv2.imread(str(out / "images" / f"{path.stem}.jpg"))
        assert annotated.shape == frame.shape
        total += len(objects)
    assert total > 0, "the synthetic model's random weights give detections above 0.5"


def test_infer_names_a_plugin_without_a_reference(bundle, workdir, capsys):
    import shutil

    broken = workdir / "bundle_unknown_plugin"
    shutil.copytree(bundle, broken)
    model = onnx.load(broken / "model.onnx")
    node = next(n for n in model.graph.node if n.op_type == "GenerateDetection_TRT")
    node.op_type = "FlattenConcat_TRT"
    onnx.save(model, broken / "model.onnx")
    image = write_images(workdir / "one", noise_images(1))[0]
    out = workdir / "out_unknown"
    assert main(["infer", str(broken), str(image), "-o", str(out), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "model.onnx: ONNX Runtime cannot load the model" in error
    assert "'generate_detections' (FlattenConcat_TRT)" in error and "no CPU reference" in error
    assert not out.exists()
