"""Small ONNX graphs holding TAO's TensorRT plugin nodes, with the attributes TAO's exporters write,
and random inputs for them. Shared by the modernize tests (part B may import, not edit, this file).

Sources of the attributes: TAO's SSD/RetinaNet ONNX exporter (NMSDynamic_TRT with inputs
[anchor_data, loc_data, conf_data], inputOrder [1, 2, 0], codeType 1, backgroundLabelId 0,
topK = 2 * keepTopK), its FasterRCNN exporter (shareLocation 0, varianceEncodedInTarget 1, background
last), its YOLO exporter (BatchedNMSDynamic_TRT, shareLocation 1, backgroundLabelId -1, isNormalized
1, clipBoxes 1) and TAO's EfficientDet (EfficientNMS_TRT).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 13
FLOAT = TensorProto.FLOAT


def _model(nodes, inputs, outputs, initializers=(), opset: int = OPSET) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "tao_plugins", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="taostream-tests")
    model.ir_version = 8
    return model


def _input(name, shape, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def ssd_nms_attrs(num_classes: int, keep_top_k: int, **overrides) -> dict:
    """NMSDynamic_TRT attributes as TAO's SSD exporter writes them."""
    attrs = dict(shareLocation=1, varianceEncodedInTarget=0, backgroundLabelId=0, confidenceThreshold=0.3,
                 nmsThreshold=0.5, topK=2 * keep_top_k, codeType=1, keepTopK=keep_top_k, numClasses=num_classes,
                 inputOrder=[1, 2, 0], confSigmoid=0, isNormalized=1, scoreBits=16)
    attrs.update(overrides)
    return attrs


def nms_model(n_priors: int, num_classes: int, keep_top_k: int, op: str = "NMSDynamic_TRT", opset: int = OPSET,
              **overrides) -> onnx.ModelProto:
    """Inputs prior [N,2,P*4,1], loc [N,P*Cl*4,1,1], conf [N,P*C,1,1] -> Identity -> NMS plugin -> NMS, NMS_1."""
    attrs = ssd_nms_attrs(num_classes, keep_top_k, **overrides)
    loc_classes = 1 if attrs["shareLocation"] else num_classes
    names = ["anchor_data", "loc_data", "conf_data"]
    inputs = [_input("prior", ["N", 2, n_priors * 4, 1]), _input("loc", ["N", n_priors * loc_classes * 4, 1, 1]),
              _input("conf", ["N", n_priors * num_classes, 1, 1])]
    nodes = [helper.make_node("Identity", [src], [dst]) for src, dst in zip(["prior", "loc", "conf"], names)]
    order = attrs["inputOrder"]
    plugin_inputs = [None, None, None]
    for role, position in zip(("loc_data", "conf_data", "anchor_data"), order):
        plugin_inputs[position] = role
    nodes.append(helper.make_node(op, plugin_inputs, ["NMS", "NMS_1"], name="NMS", **attrs))
    outputs = [_input("NMS", ["N", 1, keep_top_k, 7]), _input("NMS_1", ["N", 1, 1, 1])]
    return _model(nodes, inputs, outputs, opset=opset)


def ssd_with_batch_tile_model(n_priors: int, num_classes: int, keep_top_k: int, seed: int = 0, **overrides):
    """The older TAO SSD layout: constant priors [1,2,P*4,1] tiled to the batch by BatchTilePlugin_TRT."""
    priors = random_priors(1, n_priors, np.random.default_rng(seed))
    attrs = ssd_nms_attrs(num_classes, keep_top_k, **overrides)
    init = onnx.numpy_helper.from_array(priors, "mbox_priorbox")
    inputs = [_input("loc", ["N", n_priors * 4, 1, 1]), _input("conf", ["N", n_priors * num_classes, 1, 1])]
    nodes = [
        helper.make_node("BatchTilePlugin_TRT", ["loc", "mbox_priorbox"], ["anchor_data"], name="batch_tile"),
        helper.make_node("Relu", ["conf"], ["conf_data"]),
        helper.make_node("NMSDynamic_TRT", ["anchor_data", "loc", "conf_data"], ["NMS", "NMS_1"], name="NMS", **attrs),
    ]
    outputs = [_input("NMS", ["N", 1, keep_top_k, 7]), _input("NMS_1", ["N", 1, 1, 1])]
    return _model(nodes, inputs, outputs, [init])


def random_priors(batch: int, n_priors: int, rng, normalized: bool = True) -> np.ndarray:
    """[batch, 2, P*4, 1]: boxes (x1, y1, x2, y2) in 0..1 and SSD variances (0.1, 0.1, 0.2, 0.2)."""
    centre = rng.uniform(0.1, 0.9, size=(batch, n_priors, 2))
    size = rng.uniform(0.05, 0.4, size=(batch, n_priors, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1)
    if not normalized:
        boxes = boxes * 300.0
    variances = np.broadcast_to(np.array([0.1, 0.1, 0.2, 0.2]), boxes.shape)
    return np.stack([boxes.reshape(batch, -1), variances.reshape(batch, -1)], axis=1)[..., None].astype(np.float32)


def nms_feeds(batch: int, n_priors: int, num_classes: int, rng, share_location: bool = True,
              normalized: bool = True, softmax: bool = True) -> dict[str, np.ndarray]:
    loc_classes = 1 if share_location else num_classes
    logits = rng.normal(0, 2.0, size=(batch, n_priors, num_classes))
    conf = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True) if softmax else logits
    return {
        "prior": random_priors(batch, n_priors, rng, normalized),
        "loc": rng.normal(0, 1.0, size=(batch, n_priors * loc_classes * 4, 1, 1)).astype(np.float32),
        "conf": conf.reshape(batch, -1, 1, 1).astype(np.float32),
    }


def yolo_batched_nms_attrs(num_classes: int, keep_top_k: int, **overrides) -> dict:
    attrs = dict(shareLocation=1, backgroundLabelId=-1, scoreThreshold=0.3, iouThreshold=0.5, topK=2 * keep_top_k,
                 keepTopK=keep_top_k, numClasses=num_classes, clipBoxes=1, isNormalized=1, scoreBits=16)
    attrs.update(overrides)
    return attrs


def batched_nms_model(n_boxes: int, num_classes: int, keep_top_k: int, op: str = "BatchedNMSDynamic_TRT",
                      **overrides) -> onnx.ModelProto:
    attrs = yolo_batched_nms_attrs(num_classes, keep_top_k, **overrides)
    loc_classes = 1 if attrs["shareLocation"] else num_classes
    inputs = [_input("boxes", ["N", n_boxes, loc_classes, 4]), _input("scores", ["N", n_boxes, num_classes])]
    nodes = [helper.make_node(op, ["boxes", "scores"], ["BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"],
                              name="BatchedNMS_N", **attrs)]
    num_shape = ["N", 1] if op == "BatchedNMSDynamic_TRT" else ["N"]
    outputs = [_input("BatchedNMS", num_shape, TensorProto.INT32), _input("BatchedNMS_1", ["N", keep_top_k, 4]),
               _input("BatchedNMS_2", ["N", keep_top_k]), _input("BatchedNMS_3", ["N", keep_top_k])]
    return _model(nodes, inputs, outputs)


def batched_nms_feeds(batch: int, n_boxes: int, num_classes: int, rng, share_location: bool = True,
                      scale: float = 1.0) -> dict[str, np.ndarray]:
    loc_classes = 1 if share_location else num_classes
    centre = rng.uniform(0.0, 1.0, size=(batch, n_boxes, loc_classes, 2))
    size = rng.uniform(0.05, 0.5, size=(batch, n_boxes, loc_classes, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1) * scale
    return {"boxes": boxes.astype(np.float32),
            "scores": rng.uniform(0, 1, size=(batch, n_boxes, num_classes)).astype(np.float32)}


def efficient_nms_attrs(max_output_boxes: int, **overrides) -> dict:
    attrs = dict(score_threshold=0.3, iou_threshold=0.5, max_output_boxes=max_output_boxes, background_class=-1,
                 score_activation=0, box_coding=0, plugin_version="1")
    attrs.update(overrides)
    return attrs


def efficient_nms_model(n_anchors: int, num_classes: int, max_output_boxes: int, anchors: bool = False,
                        per_class_boxes: bool = False, **overrides) -> onnx.ModelProto:
    attrs = efficient_nms_attrs(max_output_boxes, **overrides)
    box_shape = ["N", n_anchors, num_classes, 4] if per_class_boxes else ["N", n_anchors, 4]
    inputs = [_input("boxes", box_shape), _input("scores", ["N", n_anchors, num_classes])]
    plugin_inputs = ["boxes", "scores"]
    if anchors:
        inputs.append(_input("anchors", [1, n_anchors, 4]))
        plugin_inputs.append("anchors")
    nodes = [helper.make_node("EfficientNMS_TRT", plugin_inputs,
                              ["num_detections", "detection_boxes", "detection_scores", "detection_classes"],
                              name="nms", **attrs)]
    outputs = [_input("num_detections", ["N", 1], TensorProto.INT32),
               _input("detection_boxes", ["N", max_output_boxes, 4]),
               _input("detection_scores", ["N", max_output_boxes]),
               _input("detection_classes", ["N", max_output_boxes], TensorProto.INT32)]
    return _model(nodes, inputs, outputs)


def batch_tile_model(shape: tuple[int, ...]) -> onnx.ModelProto:
    inputs = [_input("x", ["N", 3, 4, 4]), _input("tile_source", [1, *shape])]
    nodes = [helper.make_node("BatchTilePlugin_TRT", ["x", "tile_source"], ["tiled"], name="tile")]
    return _model(nodes, inputs, [_input("tiled", ["N", *shape])])


def resize_nearest_model(channels: int, height: int, width: int, scale: float) -> onnx.ModelProto:
    inputs = [_input("feature", ["N", channels, height, width])]
    nodes = [helper.make_node("Relu", ["feature"], ["relu"]),
             helper.make_node("ResizeNearest_TRT", ["relu"], ["upsampled"], name="upsample", scale=float(scale))]
    out_shape = ["N", channels, int(height * scale), int(width * scale)]
    return _model(nodes, inputs, [_input("upsampled", out_shape)])


def mask_rcnn_like_model() -> onnx.ModelProto:
    """ResizeNearest_TRT plus the MaskRCNN trio (not executable: only for the modernize policy)."""
    inputs = [_input("Input", ["N", 3, 64, 64])]
    nodes = [
        helper.make_node("ResizeNearest_TRT", ["Input"], ["up"], name="fpn_up", scale=2.0),
        helper.make_node("MultilevelProposeROI_TRT", ["up"], ["rois"], name="propose"),
        helper.make_node("MultilevelCropAndResize_TRT", ["rois", "up"], ["crops"], name="crop"),
        helper.make_node("GenerateDetection_TRT", ["crops", "rois"], ["generate_detections"], name="detect"),
    ]
    return _model(nodes, inputs, [_input("generate_detections", None)])


# ----------------------------------------------------------------------------- running

def apply_rewrite(model: onnx.ModelProto, rewrite, ops: tuple[str, ...]) -> onnx.ModelProto:
    """Apply one named rewrite to every node of ``ops`` (the rewrite alone, without the policy)."""
    import onnx_graphsurgeon as gs

    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
    for node in [n for n in graph.nodes if n.op in ops]:
        rewrite(graph, node)
    result = gs.export_onnx(graph)
    result.ir_version = model.ir_version
    return result


def run_onnxruntime(model: onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def op_types(model: onnx.ModelProto) -> set[str]:
    return {n.op_type for n in model.graph.node}


def tiny_ssd_model(n_priors: int = 20, num_classes: int = 3, keep_top_k: int = 10, size: int = 16) -> onnx.ModelProto:
    """A small trainable-looking SSD: Input [N,3,size,size] -> two full-window Convs (loc, conf) ->
    softmax -> NMSDynamic_TRT with BatchTile-tiled constant priors. Small enough to calibrate fast."""
    rng = np.random.default_rng(42)
    weights = {
        "loc_w": rng.normal(0, 0.01, (n_priors * 4, 3, size, size)),
        "conf_w": rng.normal(0, 0.01, (n_priors * num_classes, 3, size, size)),
        "conf_shape": np.array([0, n_priors, num_classes], np.int64),
        "flat_shape": np.array([0, -1, 1, 1], np.int64),
        "mbox_priorbox": random_priors(1, n_priors, rng),
    }
    inits = [onnx.numpy_helper.from_array(np.asarray(v, np.int64 if k.endswith("shape") else np.float32), k)
             for k, v in weights.items()]
    nodes = [
        helper.make_node("Conv", ["Input", "loc_w"], ["loc_data"], name="loc_conv"),
        helper.make_node("Conv", ["Input", "conf_w"], ["conf_raw"], name="conf_conv"),
        helper.make_node("Reshape", ["conf_raw", "conf_shape"], ["conf_3d"]),
        helper.make_node("Softmax", ["conf_3d"], ["conf_softmax"], axis=-1),
        helper.make_node("Reshape", ["conf_softmax", "flat_shape"], ["conf_data"]),
        helper.make_node("BatchTilePlugin_TRT", ["loc_data", "mbox_priorbox"], ["anchor_data"], name="batch_tile"),
        helper.make_node("NMSDynamic_TRT", ["anchor_data", "loc_data", "conf_data"], ["NMS", "NMS_1"], name="NMS",
                         **ssd_nms_attrs(num_classes, keep_top_k, confidenceThreshold=0.2)),
    ]
    inputs = [_input("Input", ["N", 3, size, size])]
    outputs = [_input("NMS", ["N", 1, keep_top_k, 7]), _input("NMS_1", ["N", 1, 1, 1])]
    return _model(nodes, inputs, outputs, inits)
