"""Deployment settings a TAO experiment spec fixes: input dims, preprocessing, and the clustering /
NMS thresholds the model was evaluated with. Each reader returns None (or empty) where the spec is
silent, so the registry's defaults apply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from taostream.converter.errors import SpecError
from taostream.converter.registry import Network
from taostream.deepstream_configs.specs.access import (
    DETECTNET_CLUSTERING_FIELDS, as_spec_dict, refuse_unknown_fields, spec_map, spec_value, spec_values)

# TAO DetectNet_v2 clustering_config field -> the taostream parser's per-class setting.
_DETECTNET_PER_CLASS = {
    "dbscan_eps": "eps",
    "dbscan_min_samples": "min_samples",
    "dbscan_confidence_threshold": "confidence_threshold",
    "minimum_bounding_box_height": "min_height",
}
_CLUSTERING_ALGORITHM_MODE = {"DBSCAN": "dbscan", "NMS": "nms", "HYBRID": "dbscan_nms"}
PARSER_SETTINGS_ENV = "TAOSTREAM_DETECTNET_V2"


@dataclass
class Preprocessing:
    color: str  # RGB | BGR | GRAY
    net_scale_factor: float
    offsets: tuple[float, ...]


@dataclass
class ClusterSettings:
    """``class_attrs['all']`` and ``class_attrs[<class id>]``: nvinfer key -> value."""

    cluster_mode: int | None = None
    class_attrs: dict[str, dict[str, float]] = field(default_factory=dict)
    # Networks whose parser clusters itself (DetectNet_v2): the settings string the parser reads from
    # $TAOSTREAM_DETECTNET_V2 (nvinfer cannot pass them), and one coverage threshold per class id.
    parser_settings: str | None = None
    class_thresholds: list[float] = field(default_factory=list)


def _source(spec: Any) -> str:
    """The spec file's name for messages (a parsed SpecMessage knows it; a plain dict does not)."""
    return getattr(spec, "source", None) or "the spec"


def _number(value: Any, source: str, field_path: str, kind: type = float) -> float | int:
    """``value`` as a number, or a SpecError naming the spec file and the field."""
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        example = "300" if kind is int else "0.5"
        raise SpecError(f"{source}: {field_path}: {str(value)!r} is not a number; write a number such as "
                        f"{example}") from None


def _ints(text: Any) -> list[int]:
    return [int(float(n)) for n in re.findall(r"-?\d+(?:\.\d+)?", str(text))]


def input_dims_from_spec(network: Network, spec: Any) -> tuple[int, int, int] | None:
    """(C, H, W) the spec trains at, or None when it does not say.

    LOCAL FACTS until the registry has them: where each network family's spec keeps its input size
    (TAO 5 spec schemas; requested as Network.spec_input_fields)."""
    source, spec = _source(spec), as_spec_dict(spec)
    rule = network.label_rule
    fields: tuple[str, ...] = ()  # the spec fields of C, H, W where they are plain numbers
    if rule == "detectnet_v2":
        fields = tuple("augmentation_config.preprocessing.output_image_" + k for k in ("channel", "height", "width"))
        c, h, w = (spec_value(spec, f) for f in fields)
    elif rule in ("ssd", "yolo"):
        fields = tuple("augmentation_config.output_" + k for k in ("channel", "height", "width"))
        c, h, w = (spec_value(spec, f) for f in fields)
    elif rule == "faster_rcnn":
        base = "model_config.input_image_config."
        fields = (base + "image_type", base + "size_height_width.height", base + "size_height_width.width")
        h, w = spec_value(spec, fields[1]), spec_value(spec, fields[2])
        c = 1 if str(spec_value(spec, base + "image_type", "RGB")).upper() == "GRAY" else 3
    elif rule in ("mask_rcnn", "efficientdet"):
        size = spec_value(spec, "data_config.image_size") or spec_value(spec, "dataset_config.image_size")
        hw = _ints(size) if size is not None else []
        c, h, w = (3, *hw) if len(hw) == 2 else (None, None, None)
    elif rule == "classmap":
        chw = _classification_input_size(spec)
        c, h, w = chw if len(chw) == 3 else (None, None, None)
    else:
        return None
    if h is None or w is None:
        return None
    names = fields or ("input channels", "input height", "input width")
    return (_number(c or network.default_dims[0], source, names[0], int),
            _number(h, source, names[1], int), _number(w, source, names[2], int))


def preprocessing_from_spec(network: Network, spec: Any) -> Preprocessing:
    """The registry's preprocessing, overridden where the spec sets it (FasterRCNN's image mean and
    channel order, classification's preprocess_mode)."""
    source, spec = _source(spec), as_spec_dict(spec)
    result = Preprocessing(network.color, network.net_scale_factor, tuple(network.offsets))
    if network.label_rule == "faster_rcnn":
        base = "model_config.input_image_config."
        order = str(spec_value(spec, base + "image_channel_order", "bgr")).lower()
        means = {str(k).lower(): _number(v, source, f"{base}image_channel_mean[{k}]")
                 for k, v in spec_map(spec, base + "image_channel_mean")}
        if str(spec_value(spec, base + "image_type", "RGB")).upper() == "GRAY":  # one channel, mean 'l'
            result.color = "GRAY"
            if "l" not in means:
                raise SpecError(f"{source}: {base}image_channel_mean: a GRAY model needs the key 'l' (as TAO "
                                "FasterRCNN requires)")
            result.offsets = (means["l"],)
        else:
            if means and set(order) <= set(means):
                result.offsets = tuple(means[ch] for ch in order)
            result.color = "BGR" if order == "bgr" else "RGB"
        scale = spec_value(spec, base + "image_scaling_factor")
        if scale is not None:  # TAO divides the mean-subtracted pixels by it (utils.py preprocess_images)
            divisor = _number(scale, source, base + "image_scaling_factor")
            if divisor <= 0:
                raise SpecError(f"{source}: {base}image_scaling_factor: {scale} is not above 0; TAO divides the "
                                "pixels by it (1.0: none)")
            result.net_scale_factor = 1.0 / divisor
    elif network.label_rule == "classmap":
        result = _classification_preprocessing(spec, source, result)
    return result


def _classification_preprocessing(spec: dict, source: str, caffe: Preprocessing) -> Preprocessing:
    """TAO classification_tf1's preprocess_input (makenet/utils/preprocess_input.py) as nvinfer keys:
    caffe subtracts train_config.image_mean (keys b, g, r; l for a 1-channel model) or ImageNet's BGR
    mean, torch and tf ignore image_mean; a 1-channel model (input_image_size "1,H,W") is GRAY with
    one offset (caffe's default gray mean 117.3786; torch's 0.449, and the std 0.224 that training's numpy
    path divides every channel by, which is NVIDIA's net-scale-factor 0.017507)."""
    mode = str(_first(spec, "train_config.preprocess_mode", "dataset.preprocess_mode") or "caffe").lower()
    gray = _classification_input_size(spec)[:1] == [1]
    if mode == "torch":  # (x/255 - mean)/std, std folded into one scale as NVIDIA's configs do
        return Preprocessing("GRAY" if gray else "RGB", 0.017507,
                             (0.449 * 255,) if gray else (123.675, 116.28, 103.53))
    if mode == "tf":  # x/127.5 - 1
        return Preprocessing("GRAY" if gray else "RGB", 1 / 127.5, (127.5,) * (1 if gray else 3))
    channels = ("l",) if gray else ("b", "g", "r")
    field_path = next((p for p in ("train_config.image_mean", "dataset.image_mean") if spec_values(spec, p)),
                      "train_config.image_mean")
    values = spec_values(spec, field_path)
    if values and not isinstance(values[0], dict):  # TF2's list, in the order the model sees: b, g, r (or l)
        if len(values) != len(channels):
            raise SpecError(f"{source}: {field_path}: {len(values)} values; a {len(channels)}-channel model needs "
                            f"{len(channels)} ({', '.join(channels)})")
        values = list(zip(channels, values))
    else:
        values = spec_map(spec, field_path)
    means = {str(k).lower(): _number(v, source, f"{field_path}[{k}]") for k, v in values}
    if means and not set(channels) <= set(means):
        raise SpecError(f"{source}: {field_path}: has keys {', '.join(sorted(means))}; a "
                        f"{'1-channel' if gray else '3-channel'} model needs {', '.join(channels)} (as TAO "
                        f"classification requires)")
    if gray:
        return Preprocessing("GRAY", caffe.net_scale_factor, (means["l"] if means else 117.3786,))
    return Preprocessing(caffe.color, caffe.net_scale_factor,
                         tuple(means[ch] for ch in channels) if means else caffe.offsets)


def _first(spec: dict, *paths: str) -> Any:
    return next((spec_value(spec, p) for p in paths if spec_value(spec, p) is not None), None)


def _classification_input_size(spec: dict) -> list[int]:
    """C, H, W of a classification spec: TF1's model_config.input_image_size "3,224,224", TF2's list of it, or
    TAO 5 TF2's model.input_channels / input_height / input_width; [] when it does not say."""
    for path in ("model_config.input_image_size", "model.input_image_size"):
        values = spec_values(spec, path)
        if len(values) == 1:
            return _ints(values[0])
        if len(values) == 3:
            return _ints(" ".join(map(str, values)))
    chw = [spec_value(spec, "model.input_" + k) for k in ("channels", "height", "width")]
    return _ints(" ".join(map(str, chw))) if all(v is not None for v in chw) else []


def cluster_settings_from_spec(network: Network, spec: Any, labels: list[str]) -> ClusterSettings:
    """Thresholds for [class-attrs-*]: the registry's deployment defaults, then the spec's."""
    source, spec = _source(spec), as_spec_dict(spec)
    settings = ClusterSettings(class_attrs={"all": {"pre-cluster-threshold": network.pre_cluster_threshold}})
    common = settings.class_attrs["all"]
    if network.cluster_mode in (2, 3) and network.nms_iou_threshold:
        common["nms-iou-threshold"] = network.nms_iou_threshold
    if network.keep_top_k and network.cluster_mode in (2, 3):
        common["topk"] = network.keep_top_k
    rule = network.label_rule
    if rule == "detectnet_v2":
        _detectnet_clustering(spec, labels, settings, source)
    elif rule in ("ssd", "yolo"):
        # nms_config.confidence_threshold is TAO's evaluation threshold (0.01): far too low to deploy,
        # so only the IoU and top-k carry over.
        iou = spec_value(spec, "nms_config.clustering_iou_threshold")
        top_k = spec_value(spec, "nms_config.top_k")
        if iou is not None and network.cluster_mode in (2, 3):
            common["nms-iou-threshold"] = _number(iou, source, "nms_config.clustering_iou_threshold")
        if top_k is not None and network.cluster_mode in (2, 3):
            common["topk"] = _number(top_k, source, "nms_config.top_k", int)
    elif rule == "faster_rcnn":
        visualize = spec_value(spec, "inference_config.bbox_visualize_threshold")
        overlap = spec_value(spec, "inference_config.classifier_nms_overlap_threshold")
        if visualize is not None:
            common["pre-cluster-threshold"] = _number(visualize, source, "inference_config.bbox_visualize_threshold")
        if overlap is not None:
            common["nms-iou-threshold"] = _number(overlap, source, "inference_config.classifier_nms_overlap_threshold")
    return settings


def _detectnet_clustering(spec: dict, labels: list[str], settings: ClusterSettings, source: str) -> None:
    """TAO's own DetectNet_v2 post-processing, done by taostream's parser (so nvinfer's
    cluster-mode is 4): per-class coverage thresholds as pre-cluster-threshold, the per-class DBSCAN
    settings of postprocessing_config in the parser's settings string."""
    from taostream.parsers.reference import DetectNetV2Clustering  # lazy: CLI start-up

    defaults = DetectNetV2Clustering()
    configs = {name: spec_value(value, "clustering_config") for name, value in
               spec_map(spec, "postprocessing_config.target_class_config") if isinstance(value, dict)}
    per_class: dict[str, list[float]] = {field_name: [] for field_name in _DETECTNET_PER_CLASS.values()}
    thresholds, modes, nms_iou = [], [], None
    for name in labels:
        clustering = configs.get(name) if isinstance(configs.get(name), dict) else {}
        where = f"postprocessing_config.target_class_config[{name}].clustering_config."
        refuse_unknown_fields(clustering, DETECTNET_CLUSTERING_FIELDS, source, where)
        for tao_key, field_name in _DETECTNET_PER_CLASS.items():
            value = spec_value(clustering, tao_key)
            per_class[field_name].append(_number(value, source, where + tao_key) if value is not None
                                         else float(getattr(defaults, field_name)))
        coverage = spec_value(clustering, "coverage_threshold")
        thresholds.append(_number(coverage, source, where + "coverage_threshold") if coverage is not None
                          else settings.class_attrs["all"]["pre-cluster-threshold"])
        if clustering:
            modes.append(_CLUSTERING_ALGORITHM_MODE.get(str(spec_value(clustering, "clustering_algorithm", "DBSCAN")).upper(), "dbscan"))
            nms_iou = nms_iou if nms_iou is not None else spec_value(clustering, "nms_iou_threshold")
    values = {k: (v[0] if len(set(v)) == 1 else tuple(v)) for k, v in per_class.items() if v}
    parser = DetectNetV2Clustering(mode=modes[0] if modes else defaults.mode,
                                   nms_iou=_number(nms_iou, source, "clustering_config.nms_iou_threshold")
                                   if nms_iou is not None else defaults.nms_iou, **values)
    settings.cluster_mode = 4
    settings.parser_settings = parser.to_env()
    settings.class_thresholds = thresholds
    settings.class_attrs = {"all": {"pre-cluster-threshold": min(thresholds) if thresholds else
                                    settings.class_attrs["all"]["pre-cluster-threshold"]}}
    for class_id, threshold in enumerate(thresholds):
        settings.class_attrs[str(class_id)] = {"pre-cluster-threshold": threshold}
