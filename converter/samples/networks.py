"""The synthetic graphs of the TAO samples, one builder per network family.

Each builder reproduces the part of a TAO export that deployment depends on: the input tensor, the
tensors that feed each TensorRT plugin (with the shapes the plugin's README and getOutputDimensions
require), the plugin nodes with the attributes TAO's exporters set, and the output tensors the
DeepStream parsers read. The backbone in front is a few small strided convolutions with seeded
random weights: the numbers mean nothing, the layout is exact.

Sources of the layouts: nvidia_tao_tf1 exporters (ssd/retinanet onnx_exporter.py, yolo_v3/yolo_v4
exporters, faster_rcnn exporter.py and layers/NmsInputs.py, mask_rcnn exporter.py, efficientdet
onnx_exporter.py) and the TensorRT OSS plugin READMEs/creators (see samples_onnx.PLUGIN_FIELDS).
Plugin output shapes are declared as value_info because ONNX cannot infer them.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto, helper

from taostream.converter.samples.onnx_graphs import GraphBuilder
from taostream.converter.samples import specs

F32, I32 = TensorProto.FLOAT, TensorProto.INT32
BATCH = "N"


def _down(size: int, times: int) -> int:
    """Spatial size after ``times`` stride-2 convolutions with 'same' padding."""
    for _ in range(times):
        size = math.ceil(size / 2)
    return size


def _stem(b: GraphBuilder, x: str, c_in: int, stages: int, width: int) -> list[str]:
    """Strided 3x3 conv + ReLU stages; element k is the feature map at stride 2**(k+1)."""
    features = []
    for stage in range(stages):
        gain = b.input_gain if stage == 0 else 1.0
        x = b.conv_relu(x, f"block_{stage + 1}a_conv_1", c_in, width, 3, 2, gain=gain)
        c_in = width
        features.append(x)
    return features


def _nhwc_rows(b: GraphBuilder, x: str, name: str, row: int) -> str:
    """[N, A*row, H, W] -> [N, H*W*A, row]: the (y, x, anchor) order anchors are generated in."""
    return b.reshape(b.transpose(x, f"{name}/transpose", (0, 2, 3, 1)), f"{name}/Reshape", (0, -1, row))


# -- classification and DetectNet_v2: standard ops only --------------------------------------------
def build_classification(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    features = _stem(b, x, dims[0], 3, 8)
    pooled = b.op("GlobalAveragePool", [features[-1]], "avg_pool/Mean")
    logits = b.conv(pooled, "predictions", 8, num_classes, kernel=1)
    out = b.op("Softmax", [logits], "predictions/Softmax", axis=1)
    return [helper.make_tensor_value_info(out, F32, [BATCH, num_classes, 1, 1])]


def build_detectnet_v2(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    _, h, w = dims
    features = _stem(b, x, dims[0], 4, 16)
    cov = b.conv(features[-1], "output_cov", 16, num_classes, kernel=1)
    cov = b.op("Sigmoid", [cov], "output_cov/Sigmoid:0")
    bbox = b.conv(features[-1], "output_bbox", 16, 4 * num_classes, kernel=1, output="output_bbox/BiasAdd:0")
    grid = [_down(h, 4), _down(w, 4)]
    return [helper.make_tensor_value_info(cov, F32, [BATCH, num_classes, *grid]),
            helper.make_tensor_value_info(bbox, F32, [BATCH, 4 * num_classes, *grid])]


# -- SSD, DSSD, RetinaNet: anchors tiled by BatchTilePlugin_TRT, decoded by NMSDynamic_TRT ----------
def _ssd_anchor_boxes(grid_h: int, grid_w: int, scale: float, ratios, extra_square: bool) -> np.ndarray:
    """[H*W*A, 2, 4]: normalized corner boxes (xmin, ymin, xmax, ymax) and the variances."""
    shapes = [(scale * math.sqrt(r), scale / math.sqrt(r)) for r in ratios]
    if extra_square:  # two_boxes_for_ar1
        shapes.append((scale * 1.2, scale * 1.2))
    rows = []
    for gy in range(grid_h):
        for gx in range(grid_w):
            cx, cy = (gx + 0.5) / grid_w, (gy + 0.5) / grid_h
            for bw, bh in shapes:
                rows.append(((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), specs.VARIANCES))
    return np.asarray(rows, dtype=np.float32)


def build_ssd_like(b: GraphBuilder, x: str, dims, num_classes: int, network: str) -> list:
    _, h, w = dims
    retinanet = network == "retinanet"
    levels = (4, 5) if retinanet else (3, 4)  # feature strides 32/64 (RetinaNet) or 16/32
    ratios = specs.RETINANET_ASPECT_RATIOS if retinanet else specs.SSD_ASPECT_RATIOS
    per_cell = len(ratios) * 3 if retinanet else len(ratios) + 1
    features = _stem(b, x, dims[0], levels[-1] + 1, 8)
    locs, confs, anchors = [], [], []
    for i, level in enumerate(levels):
        feature, gh, gw = features[level], _down(h, level + 1), _down(w, level + 1)
        locs.append(_nhwc_rows(b, b.conv(feature, f"ssd_loc_{i}", 8, per_cell * 4), f"loc_reshape_{i}", 4))
        conf = b.conv(feature, f"ssd_conf_{i}", 8, per_cell * num_classes)
        confs.append(_nhwc_rows(b, conf, f"conf_reshape_{i}", num_classes))
        if retinanet:
            boxes = np.concatenate([_ssd_anchor_boxes(gh, gw, 0.2 * (i + 1) * 2 ** (k / 3), ratios, False)
                                    .reshape(gh * gw, len(ratios), 2, 4) for k in range(3)], axis=1)
        else:
            boxes = _ssd_anchor_boxes(gh, gw, 0.2 * (i + 1), ratios, True)
        boxes = boxes.reshape(1, gh * gw * per_cell, 2, 4)
        prior = b.const(f"ssd_anchor_{i}/anchors", boxes)
        anchors += b.plugin("BatchTilePlugin_TRT", [feature, prior], f"ssd_anchor_{i}/FirstDimTile",
                            outputs=[(f"ssd_anchor_{i}/FirstDimTile", F32, [BATCH, boxes.shape[1], 2, 4])])
    loc = b.op("Concat", locs, "mbox_loc/concat", axis=1)
    conf = b.op("Concat", confs, "mbox_conf/concat", axis=1)
    if not retinanet:  # RetinaNet leaves the sigmoid to the plugin (confSigmoid=1)
        conf = b.op("Softmax", [conf], "mbox_conf_softmax", axis=-1)
    priors = b.op("Concat", anchors, "mbox_priorbox", axis=1)
    anchor_data = b.reshape(b.transpose(priors, "anchor_permute", (0, 2, 1, 3)), "anchor_data", (0, 2, -1, 1))
    keep = specs.NMS_TOP_K
    nms = b.plugin(
        "NMSDynamic_TRT",
        [anchor_data, b.reshape(loc, "loc_data", (0, -1, 1, 1)), b.reshape(conf, "conf_data", (0, -1, 1, 1))],
        "NMS", outputs=[("NMS", F32, [BATCH, 1, keep, 7]), ("NMS_1", F32, [BATCH, 1, 1, 1])],
        shareLocation=1, varianceEncodedInTarget=0, backgroundLabelId=0,
        confidenceThreshold=specs.NMS_CONFIDENCE[network], nmsThreshold=specs.NMS_IOU[network],
        topK=2 * keep, codeType=1, keepTopK=keep, numClasses=num_classes, inputOrder=[1, 2, 0],
        confSigmoid=1 if retinanet else 0, isNormalized=1, scoreBits=0,
    )
    return [helper.make_tensor_value_info(nms[0], F32, [BATCH, 1, keep, 7]),
            helper.make_tensor_value_info(nms[1], F32, [BATCH, 1, 1, 1])]


# -- YOLOv3 / YOLOv4: box + class decode in ONNX, BatchedNMSDynamic_TRT --------------------------
YOLO_ANCHORS = {  # (w, h) in network pixels, from the spec's big/mid anchor shapes
    4: ((114.94, 60.67), (159.06, 114.59), (297.59, 176.38)),
    3: ((42.99, 31.91), (79.57, 31.75), (56.80, 56.93)),
}


def _yolo_anchor_table(grid_h: int, grid_w: int, shapes, h: int, w: int) -> np.ndarray:
    """[1, H*W*A, 3, 2]: normalized (cx, cy), (w, h) and cell size per box, in (y, x, anchor) order."""
    rows = [((gx + 0.5) / grid_w, (gy + 0.5) / grid_h, aw / w, ah / h, 1.0 / grid_w, 1.0 / grid_h)
            for gy in range(grid_h) for gx in range(grid_w) for aw, ah in shapes]
    return np.asarray(rows, dtype=np.float32).reshape(1, -1, 3, 2)


def _yolo_decode(b: GraphBuilder, raw: str, table: str, num_classes: int) -> tuple[str, str]:
    """raw [N, B, 5+C], table [N|1, B, 3, 2] -> boxes [N, B, 1, 4] (x1, y1, x2, y2), scores [N, B, C]."""
    def part(name, start, end):
        return b.op("Slice", [raw, b.ints(f"{name}/starts", [start]), b.ints(f"{name}/ends", [end]),
                              b.ints(f"{name}/axes", [2])], name)

    def column(name, index):
        return b.op("Gather", [table, b.ints(f"{name}/index", index)], name, axis=2)

    offset = b.op("Sub", [b.op("Sigmoid", [part("box/strided_slice", 0, 2)], "box/Sigmoid"),
                          b.const("box/half", np.float32(0.5))], "box/sub")
    centre = b.op("Add", [column("box/anchor_xy", 0),
                          b.op("Mul", [offset, column("box/cell", 2)], "box/mul")], "box/add")
    size = b.op("Mul", [column("box/anchor_wh", 1), b.op("Exp", [part("box/strided_slice_1", 2, 4)], "box/Exp")],
                "box/mul_1")
    half = b.op("Mul", [size, b.const("box/half_1", np.float32(0.5))], "box/mul_2")
    corners = b.op("Concat", [b.op("Sub", [centre, half], "box/sub_1"), b.op("Add", [centre, half], "box/add_1")],
                   "box/concat", axis=2)
    boxes = b.op("Unsqueeze", [corners, b.ints("box/axes", [2])], "box/concat_concat")
    objectness = b.op("Sigmoid", [part("cls/strided_slice", 4, 5)], "cls/Sigmoid")
    classes = b.op("Sigmoid", [part("cls/strided_slice_1", 5, 5 + num_classes)], "cls/Sigmoid_1")
    return boxes, b.op("Mul", [objectness, classes], "cls/mul")


def build_yolo(b: GraphBuilder, x: str, dims, num_classes: int, network: str) -> list:
    _, h, w = dims
    v3 = network == "yolo_v3"
    features = _stem(b, x, dims[0], 5, 16)
    row = 5 + num_classes
    lateral = b.conv_relu(features[4], "yolo_conv1_1", 16, 8, kernel=1)
    if v3:
        up = b.plugin("ResizeNearest_TRT", [lateral], "upsample0/ResizeNearest",
                      outputs=[("upsample0/ResizeNearest", F32, [BATCH, 8, _down(h, 4), _down(w, 4)])],
                      scale=2.0)[0]
    else:
        up = b.op("Resize", [lateral, "", b.const("upsample0/scales", np.asarray([1, 1, 2, 2], np.float32))],
                  "upsample0/Resize", mode="nearest")
    mid = b.conv_relu(b.op("Concat", [up, features[3]], "concatenate_1/concat", axis=1), "yolo_conv2", 24, 16)
    raws, tables = [], []
    for i, (level, feature) in enumerate(((4, features[4]), (3, mid))):
        shapes = YOLO_ANCHORS[level]
        head = b.conv(feature, f"conv_big_object_{i}" if i == 0 else "conv_mid_object", 16, len(shapes) * row, 1)
        raws.append(_nhwc_rows(b, head, f"bg_reshape_{i}", row))
        table = _yolo_anchor_table(_down(h, level + 1), _down(w, level + 1), shapes, h, w)
        if v3:  # TLT/TAO 3 YOLOv3: the anchor table is tiled to the batch by BatchTilePlugin_TRT
            tables += b.plugin("BatchTilePlugin_TRT", [feature, b.const(f"yolo_anchor_{i}/anchors", table)],
                               f"yolo_anchor_{i}/FirstDimTile",
                               outputs=[(f"yolo_anchor_{i}/FirstDimTile", F32, [BATCH, table.shape[1], 3, 2])])
        else:
            tables.append(table)
    raw = b.op("Concat", raws, "encoded_detections/concat", axis=1)
    if v3:
        table = b.op("Concat", tables, "yolo_anchor/concat", axis=1)
    else:  # YOLOv4 broadcasts one [1, B, 3, 2] constant over the batch
        table = b.const("yolo_anchor/anchors", np.concatenate(tables, axis=1))
    boxes, scores = _yolo_decode(b, raw, table, num_classes)
    keep = specs.NMS_TOP_K
    shapes_out = [("BatchedNMS", I32, [BATCH, 1]), ("BatchedNMS_1", F32, [BATCH, keep, 4]),
                  ("BatchedNMS_2", F32, [BATCH, keep]), ("BatchedNMS_3", F32, [BATCH, keep])]
    b.plugin("BatchedNMSDynamic_TRT", [boxes, scores], "BatchedNMS_N", outputs=shapes_out,
             shareLocation=1, backgroundLabelId=-1, numClasses=num_classes, topK=2 * keep, keepTopK=keep,
             scoreThreshold=specs.NMS_CONFIDENCE[network], iouThreshold=specs.NMS_IOU[network],
             isNormalized=1, clipBoxes=1, scoreBits=0)
    return [helper.make_tensor_value_info(*o) for o in shapes_out]


# -- FasterRCNN: ProposalDynamic -> CropAndResizeDynamic -> RCNN head -> NMSDynamic_TRT -----------
def _frcnn_nms_inputs(b: GraphBuilder, rois: str, scores: str, deltas: str, num_rois: int, num_classes: int):
    """TAO's NmsInputs layer: priors [N, 2, R*4, 1] (ROIs as x1, y1, x2, y2, twice: variances are
    encoded in the targets), conf [N, R*C, 1, 1], loc [N, R*C*4, 1, 1] (deltas / std, background
    row padded with class 0's deltas)."""
    swapped = b.op("Gather", [rois, b.ints("nms_inputs_1/xy_order", [1, 0, 3, 2])], "nms_inputs_1/concat", axis=2)
    flat = b.reshape(swapped, "nms_inputs_1/Reshape", (0, 1, -1, 1))
    prior = b.op("Concat", [flat, flat], "nms_inputs_1/prior_data", axis=1)
    conf = b.reshape(scores, "nms_inputs_1/conf_data", (0, -1, 1, 1))
    per_class = b.reshape(deltas, "nms_inputs_1/Reshape_1", (0, num_rois, num_classes - 1, 4))
    inverse_std = np.asarray([1.0 / s for s in specs.FRCNN["regr_std"]], dtype=np.float32)
    scaled = b.op("Mul", [per_class, b.const("nms_inputs_1/inverse_std", inverse_std)], "nms_inputs_1/mul")
    dummy = b.op("Slice", [scaled, b.ints("nms_inputs_1/bg_starts", [0]), b.ints("nms_inputs_1/bg_ends", [1]),
                           b.ints("nms_inputs_1/bg_axes", [2])], "nms_inputs_1/strided_slice")
    padded = b.op("Concat", [scaled, dummy], "nms_inputs_1/concat_1", axis=2)
    loc = b.reshape(padded, "nms_inputs_1/loc_data", (0, -1, 1, 1))
    return prior, loc, conf


def build_faster_rcnn(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    _, h, w = dims
    p = specs.FRCNN
    anchors = len(p["anchor_sizes"]) * len(p["anchor_ratios"])
    features = _stem(b, x, dims[0], 4, 16)  # stride 16 = rpn_stride
    rpn = b.conv_relu(features[-1], "rpn_conv1", 16, 16)
    scores = b.op("Sigmoid", [b.conv(rpn, "rpn_out_class", 16, anchors, 1)], "rpn_out_class/Sigmoid")
    deltas = b.conv(rpn, "rpn_out_regress", 16, 4 * anchors, 1)
    rois_n = p["post_nms_top_n"]
    rois = b.plugin("ProposalDynamic", [scores, deltas], "proposal",
                    outputs=[("proposal_out", F32, [BATCH, rois_n, 4, 1])],
                    input_height=h, input_width=w, rpn_stride=p["rpn_stride"], roi_min_size=1.0,
                    nms_iou_threshold=p["rpn_nms_iou"], pre_nms_top_n=p["pre_nms_top_n"],
                    post_nms_top_n=rois_n, anchor_sizes=list(p["anchor_sizes"]),
                    anchor_ratios=list(p["anchor_ratios"]))[0]
    pool = p["pool_size"]
    crops = b.plugin("CropAndResizeDynamic", [features[-1], rois], "CropAndResize_plugin",
                     outputs=[("crop_and_resize_out", F32, [BATCH, rois_n, 16, pool, pool])],
                     crop_height=pool, crop_width=pool)[0]
    flat = b.reshape(crops, "time_distributed_flatten/Reshape_1", (0, 0, -1))
    logits = b.dense(flat, "dense_class_td", 16 * pool * pool, num_classes)
    class_scores = b.op("Softmax", [logits], "dense_class_td/Softmax", axis=-1)
    box_deltas = b.dense(flat, "dense_regress_td", 16 * pool * pool, 4 * (num_classes - 1))
    prior, loc, conf = _frcnn_nms_inputs(b, rois, class_scores, box_deltas, rois_n, num_classes)
    keep = p["classifier_nms_max_boxes"]
    outputs = [("nms_out", F32, [BATCH, 1, keep, 7]), ("nms_out_1", F32, [BATCH, 1, 1, 1])]
    b.plugin("NMSDynamic_TRT", [prior, loc, conf], "NMS", outputs=outputs,
             shareLocation=0, varianceEncodedInTarget=1, backgroundLabelId=num_classes - 1,
             confidenceThreshold=p["confidence"], nmsThreshold=p["classifier_nms_iou"], topK=rois_n,
             codeType=1, keepTopK=keep, numClasses=num_classes, inputOrder=[1, 2, 0], confSigmoid=0,
             isNormalized=1, scoreBits=0)
    return [helper.make_tensor_value_info(*o) for o in outputs]


# -- MaskRCNN: FPN with ResizeNearest_TRT, the TLT MaskRCNN plugins ------------------------------
MRCNN_LEVELS = (2, 3, 4, 5, 6)
MRCNN_ANCHORS_PER_CELL = 3  # aspect_ratios [(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)], num_scales 1


def _fpn(b: GraphBuilder, features: list[str], width: int, sizes: list[tuple[int, int]]) -> list[str]:
    """P2..P6 from C2..C5 (features[1..4], sizes[k] = spatial size at stride 2**(k+1)): top-down
    merge through ResizeNearest_TRT (scale 2, as TLT's FPN_up_2..4), P6 = stride-2 max-pool of P5."""
    laterals = [b.conv(features[k], f"l{k + 1}", width, width, 1) for k in range(1, 5)]  # C2..C5
    merged = [laterals[-1]]
    for up_index, k in enumerate((3, 2, 1)):  # into the sizes of C4, C3, C2
        name = "nearest_upsampling" + ("" if up_index == 0 else f"_{up_index}")
        up = b.plugin("ResizeNearest_TRT", [merged[-1]], name,
                      outputs=[(name, F32, [BATCH, width, *sizes[k]])], scale=2.0)[0]
        merged.append(b.op("Add", [up, laterals[k - 1]], f"FPN_add_{k + 1}"))
    pyramid = [b.conv(t, f"post_hoc_d{level}", width, width) for level, t in zip((5, 4, 3, 2), merged)]
    pyramid = pyramid[::-1]  # P2, P3, P4, P5
    pyramid.append(b.op("MaxPool", [pyramid[-1]], "p6", kernel_shape=[1, 1], strides=[2, 2]))
    return pyramid


def build_mask_rcnn(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    _, h, w = dims
    p, width = specs.MASK_RCNN, 4
    image_size = [3, h, w]
    features = _stem(b, x, dims[0], 5, width)
    pyramid = _fpn(b, features, width, [(_down(h, k + 1), _down(w, k + 1)) for k in range(5)])
    rpn_inputs = []
    for level, feature in zip(MRCNN_LEVELS, pyramid):
        scope = f"MLP/multilevel_propose_rois/level_{level}"
        hidden = b.conv_relu(feature, f"rpn_{level}", width, width)
        score = b.reshape(b.transpose(b.conv(hidden, f"rpn-class_{level}", width, MRCNN_ANCHORS_PER_CELL, 1),
                                      f"{scope}/transpose", (0, 2, 3, 1)), f"{scope}/Reshape", (0, -1, 1, 1))
        delta = b.reshape(b.transpose(b.conv(hidden, f"rpn-box_{level}", width, 4 * MRCNN_ANCHORS_PER_CELL, 1),
                                      f"{scope}/transpose_1", (0, 2, 3, 1)), f"{scope}/Reshape_1", (0, -1, 4, 1))
        rpn_inputs += [delta, b.op("Sigmoid", [score], f"{scope}/Sigmoid")]
    keep_rois = p["rpn_post_nms_topn"]
    rois = b.plugin("MultilevelProposeROI_TRT", rpn_inputs, "multilevel_propose_rois",
                    outputs=[("multilevel_propose_rois", F32, [BATCH, keep_rois, 4])],
                    prenms_topk=4096, keep_topk=keep_rois, fg_threshold=0.0,
                    iou_threshold=p["rpn_nms_thresh"], image_size=image_size)[0]
    box_pool = p["mrcnn_resolution"] // 4
    crops = b.plugin("MultilevelCropAndResize_TRT", [rois, *pyramid], "pyramid_crop_and_resize_box",
                     outputs=[("pyramid_crop_and_resize_box", F32, [BATCH, keep_rois, width, box_pool, box_pool])],
                     pooled_size=box_pool, image_size=image_size)[0]
    flat = b.reshape(crops, "box_head/Reshape", (0, 0, -1))
    fc6 = b.op("Relu", [b.dense(flat, "box_head/fc6", width * box_pool * box_pool, 16)], "box_head/fc6/Relu")
    logits = b.dense(fc6, "box_head/class-predict", 16, num_classes)
    scores = b.reshape(b.op("Softmax", [logits], "box_head_softmax", axis=-1), "box_head_softmax/Reshape",
                       (0, 0, num_classes, 1, 1))
    deltas = b.reshape(b.dense(fc6, "box_head/box-predict", 16, 4 * num_classes), "box_head/box-predict/Reshape",
                       (0, 0, 4 * num_classes, 1, 1))
    keep = p["detections_per_image"]
    detections = b.plugin("GenerateDetection_TRT", [deltas, scores, rois], "generate_detections",
                          outputs=[("generate_detections", F32, [BATCH, keep, 6])],
                          num_classes=num_classes, keep_topk=keep, score_threshold=0.0,
                          iou_threshold=p["test_nms"], image_size=image_size)[0]
    # TLT's SpecialSlice_TRT keeps the 4 box coordinates; a standard Slice does the same.
    boxes = b.op("Slice", [detections, b.ints("mrcnn_detection_bboxes/starts", [0]),
                           b.ints("mrcnn_detection_bboxes/ends", [4]), b.ints("mrcnn_detection_bboxes/axes", [2])],
                 "mrcnn_detection_bboxes")
    mask_pool = p["mrcnn_resolution"] // 2
    mask_crops = b.plugin("MultilevelCropAndResize_TRT", [boxes, *pyramid], "pyramid_crop_and_resize_mask",
                          outputs=[("pyramid_crop_and_resize_mask", F32, [BATCH, keep, width, mask_pool, mask_pool])],
                          pooled_size=mask_pool, image_size=image_size)[0]
    per_roi = b.reshape(mask_crops, "mask_head/Reshape", (-1, width, mask_pool, mask_pool))
    hidden = b.conv_relu(per_roi, "mask_head/mask-conv-l0", width, width)
    up = b.op("Relu", [b.deconv(hidden, "mask_head/conv5-mask", width, width)], "mask_head/conv5-mask/Relu")
    logits = b.conv(up, "mask_head/mask_fcn_logits", width, num_classes, 1)
    res = p["mrcnn_resolution"]
    masks = b.reshape(logits, "mask_fcn_logits/BiasAdd", (-1, keep, num_classes, res, res))
    return [helper.make_tensor_value_info(detections, F32, [BATCH, keep, 6]),
            helper.make_tensor_value_info(masks, F32, [BATCH, keep, num_classes, res, res])]


# -- EfficientDet: NHWC input, EfficientNMS_TRT with fused box decoding ---------------------------
def build_efficientdet(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    _, h, w = dims
    nchw = b.transpose(x, "input_transpose", (0, 3, 1, 2))
    features = _stem(b, nchw, dims[0], 6, 8)
    per_cell, boxes, scores, anchors = 9, [], [], []
    for level in (4, 5):  # strides 32 and 64
        gh, gw, stride = _down(h, level + 1), _down(w, level + 1), 2 ** (level + 1)
        boxes.append(_nhwc_rows(b, b.conv(features[level], f"box_net/box-predict_{level}", 8, per_cell * 4, 1),
                                f"box_net/reshape_{level}", 4))
        scores.append(_nhwc_rows(b, b.conv(features[level], f"class_net/class-predict_{level}", 8,
                                           per_cell * num_classes, 1), f"class_net/reshape_{level}", num_classes))
        for gy in range(gh):
            for gx in range(gw):
                for scale in (1.0, 2 ** (1 / 3), 2 ** (2 / 3)):
                    for ratio in (0.5, 1.0, 2.0):
                        size = 4.0 * stride * scale
                        anchors.append(((gy + 0.5) * stride, (gx + 0.5) * stride,
                                        size / math.sqrt(ratio), size * math.sqrt(ratio)))
    box = b.op("Concat", boxes, "box_net/concat", axis=1)
    score = b.op("Concat", scores, "class_net/concat", axis=1)
    anchor = b.const("nms/anchors", np.asarray(anchors, dtype=np.float32)[None])  # [1, B, 4] (yc, xc, h, w)
    keep = specs.EFFICIENTDET["max_output_boxes"]
    outputs = [("num_detections", I32, [BATCH, 1]), ("detection_boxes", F32, [BATCH, keep, 4]),
               ("detection_scores", F32, [BATCH, keep]), ("detection_classes", I32, [BATCH, keep])]
    b.plugin("EfficientNMS_TRT", [box, score, anchor], "nms/non_maximum_suppression", outputs=outputs,
             plugin_version="1", background_class=-1, max_output_boxes=keep,
             score_threshold=specs.EFFICIENTDET["score_threshold"],
             iou_threshold=specs.EFFICIENTDET["iou_threshold"], score_activation=1, box_coding=1)
    return [helper.make_tensor_value_info(*o) for o in outputs]


# -- LPRNet: per-step character softmax, exported as arg-max + max ---------------------------------
def lprnet_steps(plate: str, characters, steps: int) -> list[int]:
    """The per-step ids a CTC model emits for ``plate``: characters held two steps where room allows,
    a blank between two equal characters and after the plate."""
    blank = len(characters)
    ids: list[int] = [blank]
    for k, ch in enumerate(plate):
        if k and plate[k - 1] == ch:
            ids.append(blank)
        ids += [characters.index(ch)] * (2 if len(ids) + 2 * (len(plate) - k) < steps else 1)
    if len(ids) > steps:
        raise ValueError(f"plate {plate!r} needs {len(ids)} steps, the model has {steps}")
    return ids + [blank] * (steps - len(ids))


def build_lprnet(b: GraphBuilder, x: str, dims, num_classes: int) -> list:
    """TAO's LPRNet export: the character softmax [N, C, 1, T] (C = characters + blank, T = W / 4)
    reduced to ``tf_op_layer_ArgMax`` (INT32) and ``tf_op_layer_Max`` [N, T]. The head adds a fixed
    per-step bias that spells specs.LPR_PLATE, so every image reads as that plate: random weights
    cannot recognise anything, the planted plate makes the decode checkable end to end."""
    _, h, w = dims
    steps = _down(w, 2)
    features = _stem(b, x, dims[0], 2, 16)
    logits = b.conv(features[-1], "lpr_head", 16, num_classes, kernel=1)
    pooled = b.op("ReduceMean", [logits], "lpr_head/Mean", axes=[2], keepdims=1)  # [N, C, 1, T]
    prior = np.zeros((1, num_classes, 1, steps), np.float32)
    for step, cid in enumerate(lprnet_steps(specs.LPR_PLATE, specs.LPR_CHARACTERS, steps)):
        prior[0, cid, 0, step] = specs.LPR_PLATE_BIAS
    biased = b.op("Add", [pooled, b.const("lpr_head/plate_prior", prior)], "lpr_head/add")
    probs = b.op("Softmax", [biased], "softmax", axis=1)
    argmax = b.op("ArgMax", [probs], "ArgMax", axis=1, keepdims=0)  # [N, 1, T] int64
    argmax = b.reshape(argmax, "ArgMax/Reshape", (-1, steps))
    ids = b.op("Cast", [argmax], "tf_op_layer_ArgMax", to=I32)
    top = b.op("ReduceMax", [probs], "Max", axes=[1], keepdims=0)
    top = b.reshape(top, "tf_op_layer_Max", (-1, steps))
    return [helper.make_tensor_value_info(ids, I32, [BATCH, steps]),
            helper.make_tensor_value_info(top, F32, [BATCH, steps])]
