"""Experiment specs, class lists and labels of the synthetic TAO samples.

Each sample's spec is written in its network's real TAO spec format (the structure of NVIDIA's
default specs), with class names chosen so the label rules of FACTS.md section 2 matter: two keys
mapping to one value, a class order that differs from the sorted order, background first or last,
COCO category ids listed out of order and with a gap (EfficientDet). The samples are clean examples:
mapping values are lower case, as TAO recommends, so no sample triggers the mixed-case retrain
warning (tests/test_labels.py covers mixed case with specs of its own). The graph
parameters (thresholds, top-k, ROI counts) are read from the same constants, so the plugin node
attributes agree with the spec the way TAO's exporters derive them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.keys import SAMPLE_KEY

# target_class_mapping (key -> value) shared by SSD, DSSD, RetinaNet, YOLO and FasterRCNN samples
DETECTION_MAPPING = (
    ("car", "car"),
    ("van", "car"),
    ("pedestrian", "person"),
    ("person_sitting", "person"),
    ("cyclist", "bicycle"),
    ("road_sign", "road_sign"),
)
DETECTNET_TARGET_CLASSES = ("person", "car", "bicycle")  # training order, deliberately unsorted
DETECTNET_MAPPING = (("pedestrian", "person"), ("car", "car"), ("van", "car"), ("cyclist", "bicycle"))
CLASSIFICATION_DIRECTORIES = ("cat", "Dog", "bird", "Zebra")  # Keras sorts them case-sensitively
MASK_RCNN_CATEGORIES = ({"id": 2, "name": "bicycle"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"})
EFFICIENTDET_CATEGORIES = ({"id": 4, "name": "road_sign"}, {"id": 1, "name": "person"}, {"id": 2, "name": "car"})

# NVIDIA's US plate alphabet (deepstream_lpr_app's US dictionary): digits and letters without 'O';
# the model has these 35 classes + the CTC blank.
LPR_CHARACTERS = tuple("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")
LPR_PLATE = "NV3388TX"  # what every image reads as (the sample head's planted bias, samples_networks)
LPR_PLATE_BIAS = 8.0
LPR_CHARACTERS_FILE = "us_lp_characters.txt"
NMS_CONFIDENCE = {"ssd": 0.01, "dssd": 0.01, "retinanet": 0.01, "yolo_v3": 0.001, "yolo_v4": 0.001}
NMS_IOU = {"ssd": 0.6, "dssd": 0.6, "retinanet": 0.6, "yolo_v3": 0.5, "yolo_v4": 0.5}
NMS_TOP_K = 200  # nms_config.top_k: the plugins get topK = 2 * top_k, keepTopK = top_k
VARIANCES = (0.1, 0.1, 0.2, 0.2)
SSD_ASPECT_RATIOS = (1.0, 2.0, 0.5)  # + a second box for ratio 1 (two_boxes_for_ar1) -> 4 per cell
RETINANET_ASPECT_RATIOS = (1.0, 2.0, 0.5)  # x 3 anchor levels (n_anchor_levels) -> 9 per cell
FRCNN = {
    "anchor_sizes": (64.0, 128.0, 256.0), "anchor_ratios": (1.0, 0.5, 2.0), "rpn_stride": 16,
    "pool_size": 7, "pre_nms_top_n": 6000, "post_nms_top_n": 300, "rpn_nms_iou": 0.7,
    "confidence": 0.0001, "classifier_nms_max_boxes": 100, "classifier_nms_iou": 0.3,
    "regr_std": (10.0, 10.0, 5.0, 5.0),
}
MASK_RCNN = {"rpn_post_nms_topn": 1000, "rpn_nms_thresh": 0.7, "detections_per_image": 100, "test_nms": 0.5,
             "mrcnn_resolution": 28}
EFFICIENTDET = {"max_output_boxes": 100, "iou_threshold": 0.5, "score_threshold": 0.4}


@dataclass(frozen=True)
class SampleSpec:
    """What a sample's graph and files need from its experiment spec."""

    network: str
    spec_text: str
    labels: tuple[str, ...]
    num_classes: int  # classes the model's head outputs, background included where the net has one
    extra_files: dict[str, str] = field(default_factory=dict)  # file name -> text (classmap, COCO json)


def _mapping_values(mapping) -> list[str]:
    return [value for _, value in mapping]


def _mapping_block(mapping, indent: str = "  ") -> str:
    return "".join(
        f'{indent}target_class_mapping {{\n{indent}  key: "{k}"\n{indent}  value: "{v}"\n{indent}}}\n'
        for k, v in mapping
    )


def _kitti_sources(tfrecords: bool) -> str:
    if tfrecords:
        return ('  data_sources: {\n    tfrecords_path: "/workspace/tao-experiments/data/tfrecords/kitti_trainval/*"\n'
                '    image_directory_path: "/workspace/tao-experiments/data/training"\n  }\n')
    return ('  data_sources: {\n    label_directory_path: "/workspace/tao-experiments/data/training/label_2"\n'
            '    image_directory_path: "/workspace/tao-experiments/data/training/image_2"\n  }\n')


_VALIDATION_SOURCES = (
    "  validation_data_sources: {\n"
    "    label_directory_path: \"/workspace/tao-experiments/data/val/label_2\"\n"
    "    image_directory_path: \"/workspace/tao-experiments/data/val/image_2\"\n  }\n"
)


def _nms_config(network: str) -> str:
    return (f"nms_config {{\n  confidence_threshold: {NMS_CONFIDENCE[network]}\n"
            f"  clustering_iou_threshold: {NMS_IOU[network]}\n  top_k: {NMS_TOP_K}\n}}\n")


def _augmentation(c: int, h: int, w: int) -> str:
    return f"augmentation_config {{\n  output_width: {w}\n  output_height: {h}\n  output_channel: {c}\n}}\n"


def _training_config(batch: int = 8) -> str:
    return (f"training_config {{\n  batch_size_per_gpu: {batch}\n  num_epochs: 80\n  enable_qat: false\n"
            "  checkpoint_interval: 10\n  learning_rate {\n    soft_start_annealing_schedule {\n"
            "      min_learning_rate: 5e-5\n      max_learning_rate: 2e-2\n      soft_start: 0.1\n"
            "      annealing: 0.5\n    }\n  }\n  regularizer {\n    type: L1\n    weight: 3e-5\n  }\n}\n")


def _eval_config() -> str:
    return "eval_config {\n  average_precision_mode: SAMPLE\n  batch_size: 8\n  matching_iou_threshold: 0.5\n}\n"


SYNTHETIC_NOTE = "# taostream synthetic sample: the model's weights are random; this spec describes its layout.\n"


def _ssd_like_spec(network: str, dims) -> SampleSpec:
    c, h, w = dims
    if network == "retinanet":
        arch = ("retinanet_config {\n  aspect_ratios_global: \"[1.0, 2.0, 0.5]\"\n"
                "  scales: \"[0.045, 0.09, 0.2, 0.4, 0.55, 0.7]\"\n  two_boxes_for_ar1: false\n"
                "  clip_boxes: false\n  loss_loc_weight: 0.8\n  focal_loss_alpha: 0.25\n"
                "  focal_loss_gamma: 2.0\n  variances: \"[0.1, 0.1, 0.2, 0.2]\"\n  arch: \"resnet\"\n"
                "  nlayers: 18\n  n_kernels: 1\n  n_anchor_levels: 3\n  feature_size: 256\n"
                "  freeze_bn: false\n}\n")
    else:
        arch = (f"{network}_config {{\n  aspect_ratios_global: \"[1.0, 2.0, 0.5]\"\n"
                "  scales: \"[0.05, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85]\"\n  two_boxes_for_ar1: true\n"
                "  clip_boxes: false\n  variances: \"[0.1, 0.1, 0.2, 0.2]\"\n  arch: \"resnet\"\n"
                "  nlayers: 18\n  freeze_bn: false\n  freeze_blocks: 0\n}\n")
    text = (SYNTHETIC_NOTE + "random_seed: 42\n" + arch + _training_config() + _eval_config()
            + _nms_config(network) + _augmentation(c, h, w)
            + "dataset_config {\n" + _kitti_sources(tfrecords=False)
            + "  include_difficult_in_training: true\n" + _mapping_block(DETECTION_MAPPING)
            + _VALIDATION_SOURCES + "}\n")
    classes = sorted({v.lower() for v in _mapping_values(DETECTION_MAPPING)})
    return SampleSpec(network, text, ("background", *classes), len(classes) + 1)


def _yolo_spec(network: str, dims) -> SampleSpec:
    c, h, w = dims
    tfrecords = network == "yolo_v3"  # v3 sample: the TFRecord data path; v4 sample: the KITTI path
    big = '"[(114.94, 60.67), (159.06, 114.59), (297.59, 176.38)]"'
    mid = '"[(42.99, 31.91), (79.57, 31.75), (56.80, 56.93)]"'
    if network == "yolo_v3":
        arch = (f"yolov3_config {{\n  big_anchor_shape: {big}\n  mid_anchor_shape: {mid}\n"
                "  matching_neutral_box_iou: 0.7\n  arch: \"resnet\"\n  nlayers: 18\n  arch_conv_blocks: 2\n"
                "  loss_loc_weight: 0.8\n  loss_neg_obj_weights: 100.0\n  loss_class_weights: 1.0\n"
                "  freeze_bn: false\n  force_relu: false\n}\n")
    else:
        arch = (f"yolov4_config {{\n  big_anchor_shape: {big}\n  mid_anchor_shape: {mid}\n"
                "  box_matching_iou: 0.25\n  matching_neutral_box_iou: 0.5\n  arch: \"cspdarknet_tiny\"\n"
                "  loss_loc_weight: 1.0\n  loss_neg_obj_weights: 1.0\n  loss_class_weights: 1.0\n"
                "  label_smoothing: 0.0\n  big_grid_xy_extend: 0.05\n  mid_grid_xy_extend: 0.1\n"
                "  freeze_bn: false\n  force_relu: false\n}\n")
    augmentation = (f"augmentation_config {{\n  hue: 0.1\n  saturation: 1.5\n  exposure: 1.5\n  vertical_flip: 0\n"
                    f"  horizontal_flip: 0.5\n  jitter: 0.3\n  output_width: {w}\n  output_height: {h}\n"
                    f"  output_channel: {c}\n  randomize_input_shape_period: 0\n}}\n")
    text = (SYNTHETIC_NOTE + "random_seed: 42\n" + arch + _training_config() + _eval_config()
            + _nms_config(network) + augmentation + "dataset_config {\n" + _kitti_sources(tfrecords)
            + "  include_difficult_in_training: true\n" + _mapping_block(DETECTION_MAPPING)
            + _VALIDATION_SOURCES + "}\n")
    values = _mapping_values(DETECTION_MAPPING)
    classes = sorted(set(values)) if tfrecords else sorted({v.lower() for v in values})
    return SampleSpec(network, text, tuple(classes), len(classes))


def _faster_rcnn_spec(dims, public_key: bool) -> SampleSpec:
    c, h, w = dims
    p = FRCNN
    anchors = "".join(f"    scale: {s}\n" for s in p["anchor_sizes"])
    anchors += "".join(f"    ratio: {r}\n" for r in p["anchor_ratios"])
    means = "".join(f"    image_channel_mean {{\n      key: '{k}'\n      value: {v}\n    }}\n"
                    for k, v in (("b", 103.939), ("g", 116.779), ("r", 123.68)))
    std = "".join(f"  classifier_regr_std {{\n    key: '{k}'\n    value: {v}\n  }}\n"
                  for k, v in zip("xywh", p["regr_std"]))
    mapping = "".join(f"  target_class_mapping {{\n    key: '{k}'\n    value: '{v}'\n  }}\n"
                      for k, v in DETECTION_MAPPING)
    nms = (f"  rpn_pre_nms_top_N: {p['pre_nms_top_n']}\n  rpn_nms_max_boxes: {p['post_nms_top_n']}\n"
           f"  rpn_nms_overlap_threshold: {p['rpn_nms_iou']}\n  object_confidence_thres: {p['confidence']}\n"
           f"  classifier_nms_max_boxes: {p['classifier_nms_max_boxes']}\n"
           f"  classifier_nms_overlap_threshold: {p['classifier_nms_iou']}\n")
    # TAO's FasterRCNN spec may hold the model key (enc_key): the public sample key is written, a
    # user's own key never is (TAO takes it from -k then)
    enc_key = f"enc_key: '{SAMPLE_KEY}'\n" if public_key else ""
    text = (SYNTHETIC_NOTE + f"random_seed: 42\n{enc_key}verbose: True\nmodel_config {{\n"
            "  input_image_config {\n    image_type: RGB\n    image_channel_order: 'bgr'\n"
            f"    size_height_width {{\n      height: {h}\n      width: {w}\n    }}\n{means}"
            "    image_scaling_factor: 1.0\n    max_objects_num_per_image: 100\n  }\n"
            f"  arch: \"resnet:18\"\n  anchor_box_config {{\n{anchors}  }}\n  freeze_bn: True\n"
            f"  roi_mini_batch: 256\n  rpn_stride: {p['rpn_stride']}\n  use_bias: True\n"
            f"  roi_pooling_config {{\n    pool_size: {p['pool_size']}\n    pool_size_2x: False\n  }}\n"
            "  all_projections: True\n  use_pooling: False\n}\n"
            "dataset_config {\n  data_sources {\n    image_directory_path: '/workspace/tao-experiments/data/training'\n"
            "    tfrecords_path: '/workspace/tao-experiments/data/tfrecords/kitti_trainval/*'\n  }\n"
            f"  image_extension: 'png'\n{mapping}  validation_fold: 0\n}}\n"
            f"augmentation_config {{\n  preprocessing {{\n    output_image_width: {w}\n    output_image_height: {h}\n"
            f"    output_image_channel: {c}\n    min_bbox_width: 1.0\n    min_bbox_height: 1.0\n  }}\n}}\n"
            "training_config {\n  batch_size_per_gpu: 4\n  num_epochs: 12\n  enable_qat: False\n"
            f"  rpn_min_overlap: 0.3\n  rpn_max_overlap: 0.7\n  std_scaling: 1.0\n{std}"
            "  rpn_mini_batch: 256\n  rpn_pre_nms_top_N: 12000\n  rpn_nms_max_boxes: 2000\n"
            "  rpn_nms_overlap_threshold: 0.7\n}\n"
            f"inference_config {{\n{nms}  bbox_visualize_threshold: 0.6\n}}\n"
            f"evaluation_config {{\n{nms}  use_voc07_11point_metric: False\n  gt_matching_iou_threshold: 0.5\n}}\n")
    classes = sorted(set(_mapping_values(DETECTION_MAPPING)))
    return SampleSpec("faster_rcnn", text, (*classes, "background"), len(classes) + 1)


def _detectnet_v2_spec(dims) -> SampleSpec:
    c, h, w = dims
    rasterizer = "".join(
        f'  target_class_config {{\n    key: "{name}"\n    value: {{\n      cov_center_x: 0.5\n'
        "      cov_center_y: 0.5\n      cov_radius_x: 0.4\n      cov_radius_y: 0.4\n"
        "      bbox_min_radius: 1.0\n    }\n  }\n"
        for name in DETECTNET_TARGET_CLASSES
    )
    targets = "".join(
        f'  target_classes {{\n    name: "{name}"\n    class_weight: 1.0\n    coverage_foreground_weight: 0.05\n'
        '    objectives {\n      name: "cov"\n      initial_weight: 1.0\n      weight_target: 1.0\n    }\n'
        '    objectives {\n      name: "bbox"\n      initial_weight: 10.0\n      weight_target: 10.0\n    }\n  }\n'
        for name in DETECTNET_TARGET_CLASSES
    )
    clustering = "".join(
        f'  target_class_config {{\n    key: "{name}"\n    value: {{\n      clustering_config {{\n'
        "        coverage_threshold: 0.005\n        dbscan_eps: 0.15\n        dbscan_min_samples: 1\n"
        "        minimum_bounding_box_height: 20\n      }\n    }\n  }\n"
        for name in DETECTNET_TARGET_CLASSES
    )
    text = (SYNTHETIC_NOTE + "random_seed: 42\n"
            "model_config {\n  num_layers: 18\n  use_batch_norm: true\n  all_projections: true\n"
            "  objective_set {\n    bbox {\n      scale: 35.0\n      offset: 0.5\n    }\n    cov {\n    }\n  }\n"
            "  arch: \"resnet\"\n}\n"
            f"bbox_rasterizer_config {{\n{rasterizer}  deadzone_radius: 0.67\n}}\n"
            f"cost_function_config {{\n{targets}  enable_autoweighting: true\n  max_objective_weight: 0.9999\n"
            "  min_objective_weight: 0.0001\n}\n"
            f"augmentation_config {{\n  preprocessing {{\n    output_image_width: {w}\n    output_image_height: {h}\n"
            f"    output_image_channel: {c}\n    min_bbox_width: 1.0\n    min_bbox_height: 1.0\n  }}\n}}\n"
            "dataset_config {\n" + _kitti_sources(tfrecords=True) + _mapping_block(DETECTNET_MAPPING)
            + "  image_extension: \"png\"\n  validation_fold: 0\n}\n"
            f"postprocessing_config {{\n{clustering}}}\n"
            "training_config {\n  batch_size_per_gpu: 8\n  num_epochs: 120\n  checkpoint_interval: 10\n}\n")
    return SampleSpec("detectnet_v2", text, DETECTNET_TARGET_CLASSES, len(DETECTNET_TARGET_CLASSES))


def _classification_spec(dims) -> SampleSpec:
    c, h, w = dims
    ordered = sorted(CLASSIFICATION_DIRECTORIES)  # what Keras' flow_from_directory does
    classmap = {name: ordered.index(name) for name in sorted(ordered, key=str.lower)}
    text = (SYNTHETIC_NOTE + "model_config {\n  arch: \"resnet\"\n  n_layers: 18\n  use_batch_norm: true\n"
            f"  all_projections: true\n  freeze_blocks: 0\n  input_image_size: \"{c},{h},{w}\"\n}}\n"
            "train_config {\n  train_dataset_path: \"/workspace/tao-experiments/data/split/train\"\n"
            "  val_dataset_path: \"/workspace/tao-experiments/data/split/val\"\n"
            "  optimizer {\n    sgd {\n      lr: 0.01\n      decay: 0.0\n      momentum: 0.9\n"
            "      nesterov: False\n    }\n  }\n"
            "  batch_size_per_gpu: 64\n  n_epochs: 80\n  n_workers: 16\n  preprocess_mode: \"caffe\"\n"
            "  random_seed: 42\n}\n"
            "eval_config {\n  eval_dataset_path: \"/workspace/tao-experiments/data/split/test\"\n"
            "  model_path: \"/workspace/tao-experiments/classification/weights/resnet_080.tlt\"\n"
            "  top_k: 3\n  batch_size: 256\n  n_workers: 8\n}\n")
    return SampleSpec("classification", text, tuple(ordered), len(ordered),
                      {"classmap.json": json.dumps(classmap, indent=2) + "\n"})


def _coco_json(categories) -> str:
    return json.dumps({"images": [], "annotations": [], "categories": list(categories)}, indent=2) + "\n"


def _mask_rcnn_spec(dims, out_dir: Path) -> SampleSpec:
    c, h, w = dims
    p = MASK_RCNN
    by_id = {cat["id"]: cat["name"] for cat in MASK_RCNN_CATEGORIES}
    num_classes = len(by_id) + 1
    text = (SYNTHETIC_NOTE + "seed: 123\nuse_amp: False\nwarmup_steps: 1000\ntotal_steps: 36000\n"
            "train_batch_size: 2\neval_batch_size: 4\nnum_steps_per_eval: 4000\nmomentum: 0.9\n"
            "l2_weight_decay: 0.00004\nwarmup_learning_rate: 0.0001\ninit_learning_rate: 0.01\n"
            "data_config {\n"
            f"  image_size: \"({h}, {w})\"\n  augment_input_data: True\n  eval_samples: 500\n"
            "  training_file_pattern: \"/workspace/tao-experiments/data/train*.tfrecord\"\n"
            "  validation_file_pattern: \"/workspace/tao-experiments/data/val*.tfrecord\"\n"
            f"  val_json_file: \"{out_dir / 'instances_val.json'}\"\n"
            f"  num_classes: {num_classes}\n  skip_crowd_during_training: True\n  max_num_instances: 200\n}}\n"
            "maskrcnn_config {\n  nlayers: 50\n  arch: \"resnet\"\n  freeze_bn: True\n  freeze_blocks: \"[0,1]\"\n"
            "  gt_mask_size: 112\n  rpn_positive_overlap: 0.7\n  rpn_negative_overlap: 0.3\n"
            "  rpn_batch_size_per_im: 256\n  rpn_fg_fraction: 0.5\n  rpn_min_size: 0.\n"
            "  batch_size_per_im: 512\n  fg_fraction: 0.25\n  fg_thresh: 0.5\n  bg_thresh_hi: 0.5\n"
            "  bg_thresh_lo: 0.\n  fast_rcnn_mlp_head_dim: 1024\n  bbox_reg_weights: \"(10., 10., 5., 5.)\"\n"
            f"  include_mask: True\n  mrcnn_resolution: {p['mrcnn_resolution']}\n"
            "  train_rpn_pre_nms_topn: 2000\n  train_rpn_post_nms_topn: 1000\n  train_rpn_nms_threshold: 0.7\n"
            f"  test_detections_per_image: {p['detections_per_image']}\n  test_nms: {p['test_nms']}\n"
            f"  test_rpn_pre_nms_topn: 1000\n  test_rpn_post_nms_topn: {p['rpn_post_nms_topn']}\n"
            f"  test_rpn_nms_thresh: {p['rpn_nms_thresh']}\n  min_level: 2\n  max_level: 6\n  num_scales: 1\n"
            "  aspect_ratios: \"[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]\"\n  anchor_scale: 8\n"
            "  rpn_box_loss_weight: 1.0\n  fast_rcnn_box_loss_weight: 1.0\n  mrcnn_weight_loss_mask: 1.0\n}\n")
    labels = ("BG", *(by_id[i] for i in sorted(by_id)))
    return SampleSpec("mask_rcnn", text, labels, num_classes,
                      {"instances_val.json": _coco_json(MASK_RCNN_CATEGORIES)})


def _efficientdet_spec(dims, out_dir: Path) -> SampleSpec:
    c, h, w = dims
    by_id = {cat["id"]: cat["name"] for cat in EFFICIENTDET_CATEGORIES}
    top = max(by_id)
    text = (SYNTHETIC_NOTE + "training_config {\n  train_batch_size: 16\n  iterations_per_loop: 10\n"
            "  checkpoint_period: 10\n  num_examples_per_epoch: 14700\n  num_epochs: 300\n"
            "  tf_random_seed: 42\n  lr_warmup_epoch: 5\n  lr_warmup_init: 0.00005\n  learning_rate: 0.1\n"
            "  amp: True\n  moving_average_decay: 0.9999\n  l2_weight_decay: 0.00004\n  l1_weight_decay: 0.0\n}\n"
            "dataset_config {\n"
            f"  num_classes: {top + 1}\n  image_size: \"{h},{w}\"\n"
            "  training_file_pattern: \"/workspace/tao-experiments/data/train-*\"\n"
            "  validation_file_pattern: \"/workspace/tao-experiments/data/val-*\"\n"
            f"  validation_json_file: \"{out_dir / 'instances_val.json'}\"\n"
            "  max_instances_per_image: 100\n}\n"
            "eval_config {\n  eval_batch_size: 16\n  eval_epoch_cycle: 10\n  eval_after_training: True\n"
            f"  eval_samples: 500\n  min_score_thresh: {EFFICIENTDET['score_threshold']}\n"
            f"  max_detections_per_image: {EFFICIENTDET['max_output_boxes']}\n}}\n"
            "model_config {\n  model_name: 'efficientdet-d0'\n  min_level: 3\n  max_level: 7\n  num_scales: 3\n}\n")
    labels = tuple(by_id.get(i, f"unused_{i}") for i in range(1, top + 1))
    return SampleSpec("efficientdet", text, labels, top, {"instances_val.json": _coco_json(EFFICIENTDET_CATEGORIES)})


def _lprnet_spec(dims, out_dir: Path) -> SampleSpec:
    """The structure of TAO's default LPRNet spec (fixtures specs/tao_lprnet_default_spec.txt) with
    characters_list_file pointing at the sample's character list."""
    c, h, w = dims
    text = (SYNTHETIC_NOTE + "random_seed: 42\nlpr_config {\n  hidden_units: 512\n  max_label_length: 8\n"
            "  arch: \"baseline\"\n  nlayers: 10\n}\n"
            "training_config {\n  batch_size_per_gpu: 32\n  num_epochs: 100\n  learning_rate {\n"
            "  soft_start_annealing_schedule {\n    min_learning_rate: 1e-6\n    max_learning_rate: 5e-4\n"
            "    soft_start: 0.001\n    annealing: 0.5\n  }\n  }\n  regularizer {\n    type: L2\n    weight: 5e-4\n  }\n}\n"
            "eval_config {\n  validation_period_during_training: 5\n  batch_size: 16\n}\n"
            f"augmentation_config {{\n    output_width: {w}\n    output_height: {h}\n    output_channel: {c}\n"
            "    max_rotate_degree: 5\n    rotate_prob: 0.5\n    blur_prob: 0.5\n    reverse_color_prob: 0.5\n"
            "    keep_original_prob: 0.3\n}\n"
            "dataset_config {\n  data_sources: {\n    label_directory_path: \"/workspace/lpr_default_dataset/train/label\"\n"
            "    image_directory_path: \"/workspace/lpr_default_dataset/train/image\"\n  }\n"
            f"  characters_list_file: \"{out_dir / LPR_CHARACTERS_FILE}\"\n"
            "  validation_data_sources: {\n    label_directory_path: \"/workspace/lpr_default_dataset/test/label\"\n"
            "    image_directory_path: \"/workspace/lpr_default_dataset/test/image\"\n  }\n}\n")
    return SampleSpec("lprnet", text, LPR_CHARACTERS, len(LPR_CHARACTERS) + 1,
                      {LPR_CHARACTERS_FILE: "".join(f"{ch}\n" for ch in LPR_CHARACTERS)})


def sample_spec(network: str, dims: tuple[int, int, int], out_dir: Path, public_key: bool = True) -> SampleSpec:
    """The spec, labels and class count of a registry network's sample (``network`` canonical);
    ``public_key``: the sample is encrypted with NVIDIA's public key, which a spec may name."""
    if network in ("ssd", "dssd", "retinanet"):
        return _ssd_like_spec(network, dims)
    if network in ("yolo_v3", "yolo_v4"):
        return _yolo_spec(network, dims)
    builders = {
        "faster_rcnn": lambda: _faster_rcnn_spec(dims, public_key),
        "detectnet_v2": lambda: _detectnet_v2_spec(dims),
        "classification": lambda: _classification_spec(dims),
        "mask_rcnn": lambda: _mask_rcnn_spec(dims, out_dir),
        "efficientdet": lambda: _efficientdet_spec(dims, out_dir),
        "lprnet": lambda: _lprnet_spec(dims, out_dir),
    }
    if network not in builders:
        raise KeyError(f"no sample spec for network {network!r}")
    return builders[network]()
