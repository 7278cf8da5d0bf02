"""The networks registry: every per-network fact lives here, once (ARCHITECTURE.md, "The spine").

Configs, Triton repositories, calibrators, the reference post-processors and the modernizer read
this table. Adding a network means adding an entry here plus its decode function.

Sources: FACTS.md section 2 (TLT 2.0 guide, TAO source, deepstream_tao_apps configs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taostream.converter import trt_support
from taostream.converter.errors import TaostreamError, UnknownNetworkError

CAFFE_BGR_OFFSETS = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class TensorSpec:
    """One output tensor as the parser and Triton see it. ``dims`` exclude the batch dimension and
    may use the symbols C (classes incl. background where the layout has it), K (keepTopK),
    GH/GW (grid height/width) and the integers of the layout."""

    name: str
    dtype: str  # "FP32" | "INT32"
    dims: tuple
    meaning: str


@dataclass(frozen=True)
class Network:
    name: str  # canonical, TAO 5 spelling
    aliases: tuple[str, ...]
    task: str  # classification | detection | instance_segmentation
    input_blob: str  # the input tensor name in TAO/TLT exports
    default_dims: tuple[int, int, int]  # (C, H, W) of the TAO default spec
    input_order: str  # NCHW | NHWC
    color: str  # RGB | BGR
    net_scale_factor: float
    offsets: tuple[float, ...]
    maintain_aspect_ratio: bool
    symmetric_padding: bool
    outputs_uff: tuple[str, ...]
    outputs_onnx: tuple[str, ...]
    output_layout: str  # key of the decode function in parsers' reference
    outputs: tuple[TensorSpec, ...]
    parser_function: str  # parse-bbox-func-name (or classifier / instance-mask function); "" = nvinfer's own
    legacy_parser_function: str  # the TLT 2.0 name DeepStream configs of that era use, or ""
    network_type: int  # nvinfer network-type: 0 detector, 1 classifier, 3 instance segmentation
    cluster_mode: int  # nvinfer cluster-mode NVIDIA publishes for this network
    plugins_onnx: tuple[str, ...]  # TensorRT plugin ops in TAO's ONNX export
    plugins_uff: tuple[str, ...]  # TensorRT plugin ops in TLT's UFF export
    label_rule: str  # see deepstream_configs' label writer
    has_background: bool  # does the model output a background class id
    background_position: str  # "first" | "last" | "none"
    pre_cluster_threshold: float
    nms_iou_threshold: float
    keep_top_k: int = 0
    grid_stride: int = 0  # output grid stride of grid-based heads (DetectNet_v2: 16); 0 otherwise
    # Implicit INT8 keeps the box/class decode before NMS in FP32 (nvinfer layer-device-precision),
    # as NVIDIA's YOLOv3/v4 configs do.
    int8_fp32_decode: bool = False
    # Top-level blocks only this network's TAO experiment spec has (its architecture config);
    # empty where the spec's blocks are shared (classification, FasterRCNN, EfficientDet).
    spec_blocks: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C,H,W) for NCHW networks, (H,W,C) for NHWC ones, at the default dims."""
        c, h, w = self.default_dims
        return (h, w, c) if self.input_order == "NHWC" else (c, h, w)

    def output_names(self, fmt: str) -> tuple[str, ...]:
        return self.outputs_onnx if fmt == "onnx" else self.outputs_uff

    def plugins(self, fmt: str) -> tuple[str, ...]:
        return self.plugins_onnx if fmt == "onnx" else self.plugins_uff


def _t(name, dtype, dims, meaning):
    return TensorSpec(name, dtype, tuple(dims), meaning)


_NMS7 = (
    _t("NMS", "FP32", (1, "K", 7), "image_id, label, confidence, xmin, ymin, xmax, ymax (normalized 0..1)"),
    _t("NMS_1", "FP32", (1, 1, 1), "keep count: FP32 tensor holding int32 bits"),
)
_BATCHED_NMS = (
    _t("BatchedNMS", "INT32", (1,), "number of detections"),
    _t("BatchedNMS_1", "FP32", ("K", 4), "boxes x1, y1, x2, y2 normalized 0..1"),
    _t("BatchedNMS_2", "FP32", ("K",), "scores"),
    _t("BatchedNMS_3", "FP32", ("K",), "class ids as float"),
)

NETWORKS: tuple[Network, ...] = (
    Network(
        name="classification",
        aliases=("classification_tf1", "classifier", "makenet", "multitask_classification", "vehicletypenet",
                 "vehiclemakenet"),
        task="classification",
        input_blob="input_1",
        default_dims=(3, 224, 224),
        input_order="NCHW",
        color="BGR",
        net_scale_factor=1.0,
        offsets=CAFFE_BGR_OFFSETS,
        maintain_aspect_ratio=False,
        symmetric_padding=False,
        outputs_uff=("predictions/Softmax",),
        outputs_onnx=("predictions/Softmax",),
        output_layout="softmax",
        outputs=(_t("predictions/Softmax", "FP32", ("C", 1, 1), "class probabilities"),),
        # nvinfer's built-in softmax parser (no custom parser): it is the one that names the classes
        # from labelfile-path. Configs taostream wrote before named this custom one, which cannot.
        parser_function="",
        legacy_parser_function="NvDsInferClassifierParseCustomTAO",
        network_type=1,
        cluster_mode=4,
        plugins_onnx=(),
        plugins_uff=(),
        label_rule="classmap",
        has_background=False,
        background_position="none",
        pre_cluster_threshold=0.2,
        nms_iou_threshold=0.0,
        notes=("caffe preprocessing mode; ONNX exports may name the output predictions/Softmax:0",),
    ),
    Network(
        name="detectnet_v2",
        aliases=("detectnet", "dnv2", "peoplenet", "trafficcamnet", "dashcamnet", "lpdnet", "lpd", "facedetectir"),
        task="detection",
        input_blob="input_1",
        default_dims=(3, 544, 960),
        input_order="NCHW",
        color="RGB",
        net_scale_factor=0.0039215697906911373,
        offsets=(),
        maintain_aspect_ratio=False,
        symmetric_padding=False,
        outputs_uff=("output_cov/Sigmoid", "output_bbox/BiasAdd"),
        outputs_onnx=("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"),
        output_layout="detectnet_v2_grid",
        outputs=(
            _t("output_cov/Sigmoid", "FP32", ("C", "GH", "GW"), "coverage per class and grid cell"),
            _t("output_bbox/BiasAdd", "FP32", ("4C", "GH", "GW"), "x1,y1,x2,y2 offset planes per class"),
        ),
        parser_function="NvDsInferParseCustomDetectNetV2TAO",
        legacy_parser_function="",
        network_type=0,
        cluster_mode=2,
        plugins_onnx=(),
        plugins_uff=(),
        label_rule="detectnet_v2",
        has_background=False,
        background_position="none",
        pre_cluster_threshold=0.2,
        nms_iou_threshold=0.5,
        grid_stride=16,
        # a TAO inference spec (`tao detectnet_v2 inference -e`) is DetectNet_v2's too: inferencer_config first,
        # so a message names the block the user's file has (its training view also has cost_function_config)
        spec_blocks=("inferencer_config", "cost_function_config", "postprocessing_config", "bbox_rasterizer_config"),
        notes=("grid stride 16, bbox_norm 35, offset 0.5; nvinfer's built-in parser also reads it",),
    ),
    Network(
        name="faster_rcnn",
        aliases=("frcnn", "fasterrcnn", "faster-rcnn"),
        task="detection",
        input_blob="input_image",
        default_dims=(3, 384, 1248),
        input_order="NCHW",
        color="BGR",
        net_scale_factor=1.0,
        offsets=CAFFE_BGR_OFFSETS,
        # TAO resizes a size_height_width model's input to H x W without keeping the aspect ratio
        # (faster_rcnn/utils/utils.py preprocess_images -> resize_all); NVIDIA's configs set no letterbox
        maintain_aspect_ratio=False,
        symmetric_padding=False,
        outputs_uff=("NMS",),
        outputs_onnx=("nms_out", "nms_out_1"),
        output_layout="nms7",
        outputs=(
            _t("nms_out", "FP32", (1, "K", 7), "image_id, label, confidence, xmin, ymin, xmax, ymax (normalized)"),
            _t("nms_out_1", "FP32", (1, 1, 1), "keep count: FP32 tensor holding int32 bits"),
        ),
        parser_function="NvDsInferParseCustomNMSTLT",
        legacy_parser_function="NvDsInferParseCustomFrcnnTLT",
        network_type=0,
        cluster_mode=2,
        plugins_onnx=("ProposalDynamic", "CropAndResizeDynamic", "NMSDynamic_TRT"),
        plugins_uff=("Proposal", "CropAndResize", "NMS_TRT"),
        label_rule="faster_rcnn",
        has_background=True,
        background_position="last",
        pre_cluster_threshold=0.6,
        nms_iou_threshold=0.3,
        keep_top_k=100,
        notes=(
            "offsets come from the training spec's image mean",
            "TLT 2.0 UFF exports have three outputs instead: dense_class_td/Softmax, "
            "dense_regress_td/BiasAdd, proposal (parser NvDsInferParseCustomFrcnnTLT)",
        ),
    ),
    *(
        Network(
            name=name,
            aliases=aliases,
            task="detection",
            input_blob="Input",
            default_dims=dims,
            input_order="NCHW",
            color="BGR",
            net_scale_factor=1.0,
            offsets=CAFFE_BGR_OFFSETS,
            maintain_aspect_ratio=False,
            symmetric_padding=False,
            outputs_uff=("NMS",),
            outputs_onnx=("NMS", "NMS_1"),
            output_layout="nms7",
            outputs=_NMS7,
            parser_function="NvDsInferParseCustomNMSTLT",
            legacy_parser_function="NvDsInferParseCustomSSDTLT",
            network_type=0,
            cluster_mode=2,
            plugins_onnx=("BatchTilePlugin_TRT", "NMSDynamic_TRT"),
            plugins_uff=("BatchTilePlugin_TRT", "NMS_TRT"),
            label_rule="ssd",
            has_background=True,
            background_position="first",
            pre_cluster_threshold=0.3,
            nms_iou_threshold=0.6,
            keep_top_k=200,
            spec_blocks=(f"{name}_config",),
        )
        for name, aliases, dims in (
            ("ssd", ("ssd_tf1",), (3, 300, 300)),
            ("dssd", ("dssd_tf1",), (3, 300, 300)),
            ("retinanet", ("retina_net", "retinanet_tf1"), (3, 384, 1248)),
        )
    ),
    *(
        Network(
            name=name,
            aliases=aliases,
            task="detection",
            input_blob="Input",
            default_dims=(3, 384, 1248),
            input_order="NCHW",
            color="BGR",
            net_scale_factor=1.0,
            offsets=CAFFE_BGR_OFFSETS,
            maintain_aspect_ratio=True,
            symmetric_padding=False,
            outputs_uff=("BatchedNMS",),
            outputs_onnx=("BatchedNMS", "BatchedNMS_1", "BatchedNMS_2", "BatchedNMS_3"),
            output_layout="batched_nms",
            outputs=_BATCHED_NMS,
            parser_function="NvDsInferParseCustomBatchedNMSTLT",
            legacy_parser_function=legacy,
            network_type=0,
            cluster_mode=3,
            plugins_onnx=plugins,
            plugins_uff=plugins_uff,
            label_rule="yolo",
            has_background=False,
            background_position="none",
            pre_cluster_threshold=0.3,
            nms_iou_threshold=0.5,
            keep_top_k=200,
            int8_fp32_decode=True,
            spec_blocks=(name.replace("_", "") + "_config",),  # yolov3_config, yolov4_config (also v4-tiny)
        )
        for name, aliases, plugins, plugins_uff, legacy in (
            (
                "yolo_v3",
                ("yolov3", "yolo3", "yolo_v3_tf1"),
                ("BatchTilePlugin_TRT", "ResizeNearest_TRT", "BatchedNMSDynamic_TRT"),
                ("BatchTilePlugin_TRT", "ResizeNearest_TRT", "BatchedNMS_TRT"),
                "NvDsInferParseCustomYOLOV3TLT",
            ),
            (
                "yolo_v4",
                ("yolov4", "yolo4", "yolo_v4_tiny", "yolov4_tiny", "yolov4-tiny", "yolo_v4_tf1"),
                ("BatchedNMSDynamic_TRT",),
                ("BatchedNMS_TRT",),
                "",
            ),
        )
    ),
    Network(
        name="mask_rcnn",
        aliases=("maskrcnn", "mrcnn", "mask-rcnn", "peoplesegnet"),
        task="instance_segmentation",
        input_blob="Input",
        default_dims=(3, 832, 1344),
        input_order="NCHW",
        color="RGB",
        net_scale_factor=0.017507,
        offsets=(123.675, 116.28, 103.53),
        maintain_aspect_ratio=True,
        symmetric_padding=False,
        outputs_uff=("generate_detections", "mask_head/mask_fcn_logits/BiasAdd"),
        outputs_onnx=("generate_detections", "mask_fcn_logits/BiasAdd"),
        output_layout="mask_rcnn",
        outputs=(
            _t("generate_detections", "FP32", (100, 6), "y1, x1, y2, x2, class, score in network pixels"),
            _t("mask_fcn_logits/BiasAdd", "FP32", (100, "C", 28, 28), "per-class mask logits"),
        ),
        parser_function="NvDsInferParseCustomMrcnnTLTV2",
        legacy_parser_function="NvDsInferParseCustomMrcnnTLT",
        network_type=3,
        cluster_mode=4,
        plugins_onnx=(
            "ResizeNearest_TRT",
            "MultilevelProposeROI_TRT",
            "MultilevelCropAndResize_TRT",
            "GenerateDetection_TRT",
        ),
        plugins_uff=(
            "ResizeNearest_TRT",
            "MultilevelProposeROI_TRT",
            "MultilevelCropAndResize_TRT",
            "GenerateDetection_TRT",
        ),
        label_rule="mask_rcnn",
        has_background=True,
        background_position="first",
        pre_cluster_threshold=0.8,
        nms_iou_threshold=0.5,
        keep_top_k=100,
        spec_blocks=("maskrcnn_config",),
        notes=("TensorRT 11 still ships the MaskRCNN plugins (deprecated); they are kept by default",),
    ),
    Network(
        name="efficientdet",
        aliases=("efficientdet_tf1", "efficientdet_tf2", "efficient_det"),
        task="detection",
        input_blob="input",
        default_dims=(3, 512, 512),
        input_order="NHWC",
        color="RGB",
        net_scale_factor=1.0,
        offsets=(0.0, 0.0, 0.0),
        maintain_aspect_ratio=True,
        symmetric_padding=False,
        outputs_uff=(),
        outputs_onnx=("num_detections", "detection_boxes", "detection_scores", "detection_classes"),
        output_layout="efficient_nms",
        outputs=(
            _t("num_detections", "INT32", (1,), "number of detections"),
            _t("detection_boxes", "FP32", ("K", 4), "y1, x1, y2, x2 in network pixels"),
            _t("detection_scores", "FP32", ("K",), "scores"),
            _t("detection_classes", "INT32", ("K",), "class ids (category id - 1)"),
        ),
        parser_function="NvDsInferParseCustomEfficientDetTAO",
        legacy_parser_function="",
        network_type=0,
        cluster_mode=4,
        plugins_onnx=("EfficientNMS_TRT",),
        plugins_uff=(),
        label_rule="efficientdet",
        has_background=False,
        background_position="none",
        pre_cluster_threshold=0.4,
        nms_iou_threshold=0.5,
        keep_top_k=100,
        notes=("ONNX only (no UFF export); NHWC input",),
    ),
    Network(
        name="lprnet",
        aliases=("lpr", "lpr_net", "lprnet_tf1", "us_lprnet", "ch_lprnet"),
        task="classification",  # an nvinfer classifier (network-type=1) whose one attribute is the plate
        input_blob="image_input",
        default_dims=(3, 48, 96),
        input_order="NCHW",
        color="RGB",
        net_scale_factor=1.0 / 255.0,
        offsets=(),
        maintain_aspect_ratio=False,
        symmetric_padding=False,
        outputs_uff=("tf_op_layer_ArgMax", "tf_op_layer_Max"),
        outputs_onnx=("tf_op_layer_ArgMax", "tf_op_layer_Max"),
        output_layout="lprnet_ctc",
        outputs=(
            _t("tf_op_layer_ArgMax", "INT32", ("T",), "character id per time step (T = width / 4); id = len(characters) is the CTC blank"),
            _t("tf_op_layer_Max", "FP32", ("T",), "that character's softmax probability per time step"),
        ),
        # NVIDIA's name (deepstream_lpr_app's nvinfer_custom_lpr_parser.cpp, lpr_config_sgie_us.txt).
        parser_function="NvDsInferParseCustomNVPlate",
        legacy_parser_function="",
        network_type=1,
        cluster_mode=4,
        plugins_onnx=(),
        plugins_uff=(),
        label_rule="characters",
        has_background=False,
        background_position="none",
        pre_cluster_threshold=0.0,
        nms_iou_threshold=0.0,
        spec_blocks=("lpr_config",),
        notes=("labels.txt is dataset_config.characters_list_file (one character per line); the parser reads it as "
               "its dictionary (TAOSTREAM_LPR_DICT, else dict.txt in the working directory, as NVIDIA's)",),
    ),
)

_BY_NAME: dict[str, Network] = {}
for _net in NETWORKS:
    for _spelling in (_net.name, *_net.aliases):
        _BY_NAME[_spelling] = _net


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def network_names() -> list[str]:
    return [n.name for n in NETWORKS]


def get_network(name: str) -> Network:
    """Look a network up by TAO's or TLT's spelling (yolov3 / yolo_v3, frcnn / faster_rcnn, ...)."""
    key = _normalise(name)
    net = _BY_NAME.get(key) or _BY_NAME.get(key.replace("_", ""))
    if net is None:
        for spelling, candidate in _BY_NAME.items():
            if spelling.replace("_", "") == key.replace("_", ""):
                net = candidate
                break
    if net is None:
        raise UnknownNetworkError(
            f"unknown network '{name}': use one of {', '.join(network_names())} "
            "(TAO and TLT spellings such as yolov3 or frcnn are accepted)"
        )
    return net


def recognise(input_names: list[str], output_names: list[str], ops: set[str] | frozenset = frozenset()) -> Network | None:
    """Guess the network from a graph's input/output names and plugin ops; None if unsure."""
    outs = {o.split(":")[0] for o in output_names}
    ins = {i.split(":")[0] for i in input_names}
    ops = {o.lstrip("_") for o in ops}
    if {"dense_class_td/Softmax", "dense_regress_td/BiasAdd", "proposal"} <= outs:
        return get_network("faster_rcnn")
    best, best_score = None, 0
    for net in NETWORKS:
        names = {n.split(":")[0] for n in (*net.outputs_uff, *net.outputs_onnx)}
        if not outs or not outs <= names:
            continue
        score = len(outs & names) * 4 + (2 if net.input_blob in ins else 0)
        score += len(ops & {*net.plugins_onnx, *net.plugins_uff})
        # Networks with the same outputs (YOLOv3/v4) differ in their plugin sets: an exact match wins.
        plugins_seen = {op for op in ops if trt_support.plugin_op(op)}
        if plugins_seen and plugins_seen in (set(net.plugins_onnx), set(net.plugins_uff)):
            score += 3
        if score > best_score:
            best, best_score = net, score
    return best


def model_network_mismatch(net: Network, input_names: list[str], output_names: list[str],
                           ops: set[str] | frozenset = frozenset(), source: str = "the model") -> str | None:
    """Why a graph with these inputs, outputs and plugin ops is not an export of ``net``, or None.

    Only a graph recognised as another network with ANOTHER output layout is judged: its outputs
    would go to the wrong DeepStream parser and decode to garbage. Networks that share a layout
    (SSD/DSSD/RetinaNet, YOLOv3/v4) and graphs with unfamiliar names (custom heads) pass."""
    seen = recognise(input_names, output_names, ops)
    if seen is None or seen.output_layout == net.output_layout:
        return None
    outputs = ", ".join(o.split(":")[0] for o in output_names)
    expected = ", ".join(o.split(":")[0] for o in net.outputs_onnx or net.outputs_uff)
    return (f"{source}: its outputs ({outputs}) are those of TAO's {seen.name} export, but --network is {net.name} "
            f"(whose export has {expected}); pass --network {seen.name}, or the model {net.name} was trained into")


def require_model_network(net: Network, input_names: list[str], output_names: list[str],
                          ops: set[str] | frozenset = frozenset(), source: str = "the model") -> Network:
    """``net``, when the graph can be its export; raises TaostreamError naming the right --network."""
    mismatch = model_network_mismatch(net, input_names, output_names, ops, source)
    if mismatch:
        raise TaostreamError(mismatch)
    return net


def spec_network_mismatch(net: Network, spec_keys, source: str = "the spec") -> str | None:
    """Why a TAO spec with these top-level keys is not ``net``'s, or None. A spec is judged only
    when it carries another network's architecture block (yolov4_config, ssd_config, ...) and none
    of ``net``'s; networks with the same output layout and labels rule (SSD/DSSD/RetinaNet) pass."""
    keys = set(spec_keys)
    if not keys or keys & set(net.spec_blocks):
        return None
    owners = [other for other in NETWORKS if keys & set(other.spec_blocks)]
    if not owners or any(o.output_layout == net.output_layout and o.label_rule == net.label_rule for o in owners):
        return None
    block = next(b for b in owners[0].spec_blocks if b in keys)
    return (f"{source}: this is a {owners[0].name} experiment spec (it has {block}), but --network is {net.name}; "
            f"pass --network {owners[0].name}, or the spec the {net.name} model was trained with")
