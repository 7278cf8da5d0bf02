"""Target policy: which plugins modernize replaces for TensorRT 8.6, 10, 11 and ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import modernize_graphs as mg
from taostream.converter.errors import TaostreamError, UnsupportedOpError
from taostream.converter.modernize.apply import REPLACE, KEEP, modernize, plan_modernization


def _yolo_v3_like() -> onnx.ModelProto:
    """BatchTile + ResizeNearest + BatchedNMSDynamic, the YOLOv3 plugin set."""
    inputs = [helper.make_tensor_value_info("Input", onnx.TensorProto.FLOAT, ["N", 2, 4, 4]),
              helper.make_tensor_value_info("anchors", onnx.TensorProto.FLOAT, [1, 16, 1, 4]),
              helper.make_tensor_value_info("scores", onnx.TensorProto.FLOAT, ["N", 16, 2])]
    nodes = [
        helper.make_node("ResizeNearest_TRT", ["Input"], ["up"], name="upsample", scale=2.0),
        helper.make_node("BatchTilePlugin_TRT", ["up", "anchors"], ["boxes"], name="tile"),
        helper.make_node("BatchedNMSDynamic_TRT", ["boxes", "scores"],
                         ["BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"], name="BatchedNMS_N",
                         **mg.yolo_batched_nms_attrs(2, 5)),
    ]
    outputs = [helper.make_tensor_value_info("BatchedNMS", onnx.TensorProto.INT32, ["N", 1]),
               helper.make_tensor_value_info("BatchedNMS_1", onnx.TensorProto.FLOAT, ["N", 5, 4]),
               helper.make_tensor_value_info("BatchedNMS_2", onnx.TensorProto.FLOAT, ["N", 5]),
               helper.make_tensor_value_info("BatchedNMS_3", onnx.TensorProto.FLOAT, ["N", 5]),
               helper.make_tensor_value_info("up", onnx.TensorProto.FLOAT, ["N", 2, 8, 8])]
    model = helper.make_model(helper.make_graph(nodes, "yolo", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _actions(model, target, keep=False) -> dict[str, str]:
    return {step.op: step.action for step in plan_modernization(model, target, keep)}


@pytest.mark.parametrize("target, replaced", [
    ("8.6", set()),
    ("10", set()),
    ("11", {"BatchTilePlugin_TRT", "BatchedNMSDynamic_TRT"}),  # ResizeNearest still ships (deprecated)
    ("ort", {"BatchTilePlugin_TRT", "BatchedNMSDynamic_TRT", "ResizeNearest_TRT"}),
])
def test_replace_exactly_what_the_target_lacks(target, replaced):
    actions = _actions(_yolo_v3_like(), target)
    assert {op for op, action in actions.items() if action == REPLACE} == replaced
    assert set(actions) == {"BatchTilePlugin_TRT", "BatchedNMSDynamic_TRT", "ResizeNearest_TRT"}


def test_modernize_applies_the_plan_and_keeps_names():
    model = _yolo_v3_like()
    result, report = modernize(model, "11")
    ops = mg.op_types(result)
    assert ops & {"BatchTilePlugin_TRT", "BatchedNMSDynamic_TRT"} == set()
    assert "ResizeNearest_TRT" in ops
    assert [i.name for i in result.graph.input] == [i.name for i in model.graph.input]
    assert [o.name for o in result.graph.output] == [o.name for o in model.graph.output]
    assert report.checker.startswith("passed (1 kept plugin")
    assert [s.op for s in report.kept] == ["ResizeNearest_TRT"]
    assert "TensorRT 11 still ships it (deprecated)" in report.kept[0].reason


def test_ort_target_runs_in_onnxruntime():
    result, report = modernize(_yolo_v3_like(), "ort")
    assert not report.kept and report.checker == "passed"
    rng = np.random.default_rng(0)
    feeds = {"Input": rng.normal(size=(2, 2, 4, 4)).astype(np.float32),
             "anchors": rng.uniform(0, 1, (1, 16, 1, 4)).astype(np.float32),
             "scores": rng.uniform(0, 1, (2, 16, 2)).astype(np.float32)}
    out = mg.run_onnxruntime(result, feeds)
    assert out["BatchedNMS"].dtype == np.int32 and out["BatchedNMS_1"].shape == (2, 5, 4)
    assert out["up"].shape == (2, 2, 8, 8)


def test_keep_plugins_forces_keeping():
    actions = _actions(_yolo_v3_like(), "ort", keep={"BatchedNMSDynamic_TRT"})
    assert actions == {"ResizeNearest_TRT": REPLACE, "BatchTilePlugin_TRT": REPLACE, "BatchedNMSDynamic_TRT": KEEP}
    steps = plan_modernization(_yolo_v3_like(), "11", keep_plugins=True)
    assert {s.action for s in steps} == {KEEP}
    tile = next(s for s in steps if s.op == "BatchTilePlugin_TRT")
    assert "although TensorRT 11 lacks it" in tile.reason


def test_mask_rcnn_trio_kept_on_11_and_reported():
    steps = plan_modernization(mg.mask_rcnn_like_model(), "11")
    trio = [s for s in steps if s.op in {"MultilevelProposeROI_TRT", "MultilevelCropAndResize_TRT",
                                         "GenerateDetection_TRT"}]
    assert len(trio) == 3 and all(s.action == KEEP for s in trio)
    assert all("MaskRCNN plugins are kept by default" in s.reason for s in trio)
    _, report = modernize(mg.mask_rcnn_like_model(), "11")
    assert any("GenerateDetection_TRT" in line and "kept" in line for line in report.lines())


def test_mask_rcnn_trio_on_ort_is_an_actionable_error():
    with pytest.raises(UnsupportedOpError, match="MultilevelProposeROI_TRT.*--target-trt 10 or 11"):
        plan_modernization(mg.mask_rcnn_like_model(), "ort")


def test_unknown_custom_op():
    model = mg.mask_rcnn_like_model()
    model.graph.node[1].op_type = "MyCustomPlugin"
    with pytest.raises(UnsupportedOpError, match="MyCustomPlugin.*not a standard ONNX op"):
        plan_modernization(model, "ort")
    kept = [s for s in plan_modernization(model, "10") if s.op == "MyCustomPlugin"]
    assert kept[0].action == KEEP and "plugin library" in kept[0].reason


def test_bad_target():
    with pytest.raises(TaostreamError, match="--target-trt 9"):
        plan_modernization(_yolo_v3_like(), "9")
    assert _actions(_yolo_v3_like(), "10.3.0")["BatchTilePlugin_TRT"] == KEEP  # full versions accepted


def test_calibration_model_is_the_body_before_nms():
    from taostream.converter.modernize.apply import calibration_model

    body = calibration_model(mg.tiny_ssd_model())
    assert [o.name for o in body.graph.output] == ["anchor_data", "loc_data", "conf_data"]
    assert not mg.op_types(body) & {"NMSDynamic_TRT", "BatchTilePlugin_TRT", "NonMaxSuppression"}
    with pytest.raises(UnsupportedOpError, match="INT8 calibration runs the network in ONNX Runtime"):
        calibration_model(mg.mask_rcnn_like_model())
