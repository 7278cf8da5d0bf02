"""nvinfer's own clustering settings as an nvinfer config gives them (cluster-mode, and per class
nms-iou-threshold, topk, post-cluster-threshold, minBoxes), read the way gst-nvinfer reads them:
[class-attrs-all] for every class, [class-attrs-N] over it, nvinfer's defaults for what neither sets.

infer, verify and the CPU Triton model apply them after the parser's reference
(parsers.reference.NvinferClustering), so they report what DeepStream reports with that config."""

from __future__ import annotations

from pathlib import Path

from taostream.deepstream_configs.ini import IniFile, read_ini
from taostream.parsers.reference import NvinferClustering

# gstnvinfer_property_parser.h: DEFAULT_PRE_CLUSTER_THRESHOLD, DEFAULT_NMS_IOU_THRESHOLD, DEFAULT_TOP_K,
# DEFAULT_POST_CLUSTER_THRESHOLD, DEFAULT_MIN_BOXES.
_DEFAULTS = {"pre-cluster-threshold": 0.2, "nms-iou-threshold": 0.3, "topk": -1, "post-cluster-threshold": 0.0,
             "minBoxes": 0}


def class_value(ini: IniFile, class_id: int, key: str, kind=float):
    """Class ``class_id``'s value of a [class-attrs-*] key as gst-nvinfer reads it: [class-attrs-<id>], else
    [class-attrs-all], else nvinfer's default. ValueError when it does not parse."""
    for name in (f"class-attrs-{class_id}", "class-attrs-all"):
        group = ini.group(name)
        if group is not None and group.get(key) is not None:
            return kind(group.get(key))
    return kind(_DEFAULTS[key])


def nvinfer_clustering(config: Path) -> NvinferClustering | None:
    """The clustering nvinfer applies after a detector's parser with this config; None when the file is
    not a detector's config or nvinfer's clustering cannot be reproduced (cluster-mode 0, OpenCV's
    groupRectangles; DBSCAN with minBoxes > 0). Values that do not parse raise ValueError."""
    if not config.is_file():
        return None
    ini = read_ini(config)
    prop = ini.group("property")
    if prop is None or prop.get("num-detected-classes") is None:
        return None
    if str(prop.get("network-type", "0")).strip() not in ("0", "3") or str(prop.get("is-classifier", "0")).strip() == "1":
        return None
    classes = max(int(prop.get("num-detected-classes")), 1)
    mode = int(prop.get("cluster-mode", "0"))
    settings = {key: [class_value(ini, c, key, kind) for c in range(classes)] for key, kind in (
        ("nms-iou-threshold", float), ("topk", int), ("post-cluster-threshold", float), ("minBoxes", int))}
    if mode == 0 or (mode in (1, 3) and any(settings["minBoxes"])):
        return None
    return NvinferClustering(mode=mode, nms_iou=tuple(settings["nms-iou-threshold"]), top_k=tuple(settings["topk"]),
                             post_cluster_threshold=tuple(settings["post-cluster-threshold"]))
