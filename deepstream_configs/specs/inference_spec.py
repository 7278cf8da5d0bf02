"""TAO DetectNet_v2 inference specs (``tao detectnet_v2 inference -e``), read as the training spec
they stand for.

NGC model downloads and TAO tutorials ship an inference spec, not the training spec: the class names
are ``inferencer_config.target_classes`` (in the model's output order) and the post-processing is
``bbox_handler_config.classwise_bbox_handler_config`` (one ``key: <class>`` entry per class, plus an
optional ``key: "default"``), each with a ``clustering_config`` and a ``confidence_threshold`` on the
clustered box's aggregated coverage. ``training_view`` rewrites those blocks into the training spec's
``cost_function_config.target_classes``, ``postprocessing_config.target_class_config`` and
``augmentation_config.preprocessing`` fields, so the label and config writers need no second path.
"""

from __future__ import annotations

from typing import Any

from taostream.converter.errors import SpecError
from taostream.deepstream_configs.specs.access import (
    DETECTNET_CLUSTERING_FIELDS, SpecDict, as_spec_dict, refuse_unknown_fields, spec_map, spec_value, spec_values)

INFERENCE_BLOCK = "inferencer_config"
# clustering_config fields TAO's inference and training specs share (DetectNet_v2 proto names).
_CLUSTERING_FIELDS = ("coverage_threshold", "dbscan_eps", "dbscan_min_samples", "minimum_bounding_box_height",
                      "dbscan_confidence_threshold", "clustering_algorithm", "nms_iou_threshold")


def is_inference_spec(spec: SpecDict) -> bool:
    return INFERENCE_BLOCK in spec and "cost_function_config" not in spec


def training_view(spec: SpecDict, source: str) -> SpecDict:
    """The training-spec fields an inference spec determines (labels, clustering, input size)."""
    names = [str(n) for n in spec_values(spec, f"{INFERENCE_BLOCK}.target_classes")]
    if not names:
        raise SpecError(f"{source}: {INFERENCE_BLOCK}.target_classes is missing; list the model's classes in "
                        "output order (target_classes: \"<class>\" once per class)")
    handlers = {str(key): value for key, value in spec_map(spec, "bbox_handler_config.classwise_bbox_handler_config")
                if isinstance(value, dict)}
    unknown = sorted(set(handlers) - set(names) - {"default"})
    if unknown:
        raise SpecError(f"{source}: classwise_bbox_handler_config key {unknown[0]!r} is not one of "
                        f"inferencer_config.target_classes ({', '.join(names)}); rename the key or the class")
    targets = []
    for name in names:
        handler = handlers.get(name, handlers.get("default"))
        if handler is None:
            continue
        targets.append({"key": [name], "value": [{"clustering_config": [_clustering(handler, name, source)]}]})
    # inferencer_config stays: what the file is (spec_network_mismatch names it)
    view: SpecDict = {INFERENCE_BLOCK: spec[INFERENCE_BLOCK],
                      "cost_function_config": [{"target_classes": [{"name": [n]} for n in names]}]}
    if targets:
        view["postprocessing_config"] = [{"target_class_config": targets}]
    size = {f"output_image_{k}": [spec_value(spec, f"{INFERENCE_BLOCK}.image_{k}")]
            for k in ("width", "height", "channels") if spec_value(spec, f"{INFERENCE_BLOCK}.image_{k}") is not None}
    if "output_image_channels" in size:
        size["output_image_channel"] = size.pop("output_image_channels")
    if size:
        view["augmentation_config"] = [{"preprocessing": [size]}]
    return view


def _clustering(handler: dict, name: str, source: str) -> dict:
    clustering = spec_value(handler, "clustering_config") or {}
    refuse_unknown_fields(clustering, DETECTNET_CLUSTERING_FIELDS, source,
                          f"bbox_handler_config.classwise_bbox_handler_config[{name}].clustering_config.")
    out = {k: [spec_value(clustering, k)] for k in _CLUSTERING_FIELDS if spec_value(clustering, k) is not None}
    model = str(spec_value(handler, "confidence_model", "aggregate_cov"))
    if model != "aggregate_cov":
        raise SpecError(f"{source}: classwise_bbox_handler_config '{name}': confidence_model {model!r} is not "
                        "supported (the DeepStream parser scores a box by its aggregated coverage); use aggregate_cov")
    threshold = spec_value(handler, "confidence_threshold")
    if threshold is not None and "dbscan_confidence_threshold" not in out:
        # The bbox handler drops clustered boxes whose aggregated coverage is below it: the
        # training spec's dbscan_confidence_threshold.
        out["dbscan_confidence_threshold"] = [threshold]
    return out


def as_training_spec(spec: Any, source: str) -> Any:
    """``spec`` itself, or the training view of an inference spec."""
    values = as_spec_dict(spec)
    return training_view(values, source) if is_inference_spec(values) else spec
