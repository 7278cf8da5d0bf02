"""Which TensorRT versions still ship each plugin the TAO networks use (FACTS.md section 3).

A plugin is 'present' (shipped, maybe deprecated) or 'removed' in a TensorRT major version. Everything
that decides what to replace, load or warn about reads this one table.
"""

from __future__ import annotations

from dataclasses import dataclass

# Major versions taostream targets. "ort" (ONNX Runtime) ships no TensorRT plugin at all.
TRT_VERSIONS = ("8.6", "10", "11")


@dataclass(frozen=True)
class PluginSupport:
    op: str  # the node op / creator name as it appears in TAO exports
    needed_by: tuple[str, ...]
    trt: dict  # major version -> "present" | "deprecated" | "removed"
    replacement: str  # the built-in replacement, "" when none exists

    def shipped_in(self, version: str) -> bool:
        key = major(version)
        if key not in self.trt and key.split(".")[0].isdigit() and int(key.split(".")[0]) < 10:
            key = "8.6"  # every TensorRT 8.x/9.x ships the same plugin set (none was removed before 10)
        return self.trt.get(key, "removed") != "removed"


def _support(op, needed_by, trt10, trt11, replacement):
    return PluginSupport(op, tuple(needed_by), {"8.6": "present", "10": trt10, "11": trt11}, replacement)


_D, _R = "deprecated", "removed"
PLUGINS: dict[str, PluginSupport] = {
    p.op: p
    for p in (
        _support("BatchTilePlugin_TRT", ["ssd", "dssd", "retinanet", "yolo_v3"], _D, _R, "ONNX Tile / ISliceLayer"),
        _support("NMS_TRT", ["ssd", "dssd", "retinanet", "faster_rcnn"], _D, _R, "ONNX NonMaxSuppression / INMSLayer"),
        _support("NMSDynamic_TRT", ["ssd", "dssd", "retinanet", "faster_rcnn"], _D, _R, "ONNX NonMaxSuppression / INMSLayer"),
        _support("BatchedNMS_TRT", ["yolo_v3", "yolo_v4"], _D, _R, "ONNX NonMaxSuppression / INMSLayer"),
        _support("BatchedNMSDynamic_TRT", ["yolo_v3", "yolo_v4"], _D, _R, "ONNX NonMaxSuppression / INMSLayer"),
        _support("CropAndResize", ["faster_rcnn"], _D, _R, "ONNX GridSample / RoiAlign"),
        _support("CropAndResizeDynamic", ["faster_rcnn"], _D, _R, "ONNX GridSample (only the IPluginV3 v2 remains)"),
        _support("Proposal", ["faster_rcnn"], _D, _R, ""),
        _support("ProposalDynamic", ["faster_rcnn"], _D, _R, ""),
        _support("ResizeNearest_TRT", ["yolo_v3", "mask_rcnn"], _D, _D, "ONNX Resize / IResizeLayer"),
        _support("GenerateDetection_TRT", ["mask_rcnn"], _D, _D, ""),
        _support("MultilevelProposeROI_TRT", ["mask_rcnn"], _D, _D, ""),
        _support("MultilevelCropAndResize_TRT", ["mask_rcnn"], _D, _D, ""),
        _support("EfficientNMS_TRT", ["efficientdet"], _D, _D, "ONNX NonMaxSuppression / INMSLayer"),
        # Used by TLT-era UFF exports (MaskRCNN's SpecialSlice, TLT 1.0 SSD's GridAnchor/FlattenConcat).
        # FACTS.md does not list them; their TensorRT 11 status is UNVERIFIED, recorded as deprecated.
        _support("SpecialSlice_TRT", ["mask_rcnn"], _D, _D, "ONNX Slice"),
        _support("GridAnchor_TRT", ["ssd"], _D, _D, "constant priors"),
        _support("GridAnchorRect_TRT", ["ssd"], _D, _D, "constant priors"),
        _support("FlattenConcat_TRT", ["ssd"], _D, _D, "ONNX Flatten + Concat"),
    )
}

# UFF exports spell some plugin ops with a leading underscore (e.g. `_BatchTilePlugin_TRT`) or use the
# creator's short name; these map to the table's names.
_ALIASES = {
    "BatchTilePlugin": "BatchTilePlugin_TRT",
    "NMS": "NMS_TRT",
    "BatchedNMS": "BatchedNMS_TRT",
    "ResizeNearest": "ResizeNearest_TRT",
    "Proposal_TRT": "Proposal",
    "CropAndResize_TRT": "CropAndResize",
}


def major(version: str) -> str:
    """'10.3.0' -> '10', '8.6.1' -> '8.6', '11' -> '11'."""
    parts = str(version).split(".")
    if parts[0] == "8":
        return "8.6" if len(parts) == 1 else f"8.{parts[1]}"
    return parts[0]


def plugin_op(op: str) -> str | None:
    """Normalise a graph op name to the table's plugin name, or None if it is not a TAO plugin."""
    name = op.lstrip("_")
    name = _ALIASES.get(name, name)
    return name if name in PLUGINS else None


def plugin_status(op: str) -> dict[str, str]:
    """{'8.6': 'present', '10': 'deprecated', '11': 'removed'} for a plugin op."""
    return dict(PLUGINS[plugin_op(op)].trt)


def removed_in(op: str, version: str) -> bool:
    name = plugin_op(op)
    return name is not None and not PLUGINS[name].shipped_in(version)
