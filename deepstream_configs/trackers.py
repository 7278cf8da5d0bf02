"""nvtracker settings per DeepStream version: the low-level library, the [tracker] keys and a tracker
config (YAML) for IOU, NvSORT and NvDCF, written by taostream (not copied from a DeepStream install).

DeepStream 6.0 merged the separate low-level libraries of 5.x (libnvds_mot_iou.so, libnvds_nvdcf.so,
libnvds_mot_klt.so, each with its own config format) into libnvds_nvmultiobjecttracker.so, configured by
one YAML whose sections (BaseConfig, TargetManagement, TrajectoryManagement, DataAssociator,
StateEstimator, VisualTracker) select the algorithm (Gst-nvtracker manual 6.0). NvSORT arrived with
6.2 (the 6.0 and 6.1 manuals list NvDCF, DeepSORT and IOU only; 6.2+ list IOU, NvSORT, NvDeepSORT,
NvDCF). In 6.0/6.1 DataAssociator.associationMatcherType 1 meant GLOBAL; from 6.2 it means CASCADED,
which NvSORT needs. nvtracker's enable-batch-process / enable-past-frame keys were removed in 6.3
(config_schema.APP_KEYS_REMOVED). The YAML files start with OpenCV's ``%YAML:1.0`` directive, as the
library's own files do.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from taostream.converter.errors import TaostreamError

TRACKER_LIBRARY = "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so"
# DeepStream 5.x libraries, gone from 6.0: name -> what replaced it
OLD_TRACKER_LIBRARIES = {
    "libnvds_mot_iou.so": "IOU",
    "libnvds_nvdcf.so": "NvDCF",
    "libnvds_mot_klt.so": "KLT (removed; NvDCF is the nearest)",
}
TRACKERS = ("nvdcf", "iou", "nvsort", "none")
_SINCE = {"nvdcf": (6, 0), "iou": (6, 0), "nvsort": (6, 2)}
_NAMES = {"nvdcf": "NvDCF", "iou": "IOU", "nvsort": "NvSORT"}
# tracker-width/height: NvDCF's visual features are computed on frames of this size (multiples of 32)
_FRAME = {"nvdcf": (640, 384), "iou": (640, 384), "nvsort": (640, 384)}


def tracker_file_name(kind: str) -> str:
    return f"config_tracker_{_NAMES[kind]}.yml"


def require_tracker(kind: str, version: tuple[int, int]) -> None:
    if kind not in TRACKERS:
        raise TaostreamError(f"--tracker {kind}: use one of {', '.join(TRACKERS)}")
    if kind != "none" and version < _SINCE[kind]:
        since = ".".join(map(str, _SINCE[kind]))
        raise TaostreamError(f"--tracker {kind}: DeepStream {'.'.join(map(str, version))} has no {_NAMES[kind]} "
                             f"tracker (it came with {since}); use --tracker nvdcf or iou, or --deepstream {since}")


def tracker_group(kind: str, version: tuple[int, int], config_file: str, gpu_id: int = 0) -> dict[str, object]:
    """The deepstream-app [tracker] group."""
    width, height = _FRAME[kind]
    group: dict[str, object] = {"enable": 1, "tracker-width": width, "tracker-height": height, "gpu-id": gpu_id,
                                "ll-lib-file": TRACKER_LIBRARY, "ll-config-file": config_file}
    if version < (6, 3):
        group["enable-batch-process"] = 1  # removed in 6.3; before, batch mode had to be asked for
    group["display-tracking-id"] = 1
    return group


def tracker_yaml(kind: str, version: tuple[int, int]) -> str:
    """A tracker config for NvMultiObjectTracker: moderate defaults for traffic-camera scenes."""
    cascaded = version >= (6, 2)
    lines = [
        "%YAML:1.0",
        f"# {_NAMES[kind]} tracker config for DeepStream {'.'.join(map(str, version))} (written by taostream)",
        "BaseConfig:",
        "  minDetectorConfidence: 0.2",
        "TargetManagement:",
        "  maxTargetsPerStream: 150",
        "  minIouDiff4NewTarget: 0.5",
        "  probationAge: 3",
        "  maxShadowTrackingAge: 30",
        "  earlyTerminationAge: 1",
        "TrajectoryManagement:",
        "  useUniqueID: 0",
        "DataAssociator:",
        "  dataAssociatorType: 0",
        f"  associationMatcherType: {1 if kind == 'nvsort' and cascaded else 0}",
        "  checkClassMatch: 1",
        "  minMatchingScore4Overall: 0.0",
        "  minMatchingScore4SizeSimilarity: 0.6",
        "  minMatchingScore4Iou: 0.1",
    ]
    if kind == "iou":
        lines += ["  matchingScoreWeight4SizeSimilarity: 0.4", "  matchingScoreWeight4Iou: 0.6"]
    elif kind == "nvsort":
        lines += ["  matchingScoreWeight4SizeSimilarity: 0.4", "  matchingScoreWeight4Iou: 0.6",
                  "  tentativeDetectorConfidence: 0.3", "  minMatchingScore4TentativeIou: 0.5",
                  "StateEstimator:", "  stateEstimatorType: 2",
                  "  noiseWeightVar4Loc: 0.05", "  noiseWeightVar4Vel: 0.00625", "  useAspectRatio: 1"]
    else:
        lines += ["  minMatchingScore4VisualSimilarity: 0.6", "  matchingScoreWeight4VisualSimilarity: 0.6",
                  "  matchingScoreWeight4SizeSimilarity: 0.0", "  matchingScoreWeight4Iou: 0.4",
                  "StateEstimator:", "  stateEstimatorType: 1",
                  "  processNoiseVar4Loc: 2.0", "  processNoiseVar4Size: 1.0", "  processNoiseVar4Vel: 0.1",
                  "  measurementNoiseVar4Detector: 4.0", "  measurementNoiseVar4Tracker: 16.0",
                  "VisualTracker:", "  visualTrackerType: 1", "  useColorNames: 1", "  useHog: 0",
                  "  featureImgSizeLevel: 2", "  featureFocusOffsetFactor_y: -0.2",
                  "  filterLr: 0.075", "  filterChannelWeightsLr: 0.1", "  gaussianSigma: 0.75"]
    return "\n".join(lines) + "\n"


# Sections each tracker's YAML needs: the library falls back to IOU-like behaviour without them.
REQUIRED_SECTIONS = {"nvdcf": ("VisualTracker", "StateEstimator"), "nvsort": ("StateEstimator",), "iou": ()}


def read_tracker_yaml(path: Path) -> dict:
    """The tracker config as a mapping; OpenCV's '%YAML:1.0' directive line is skipped (PyYAML
    does not know that spelling). Raises ValueError with the parser's reason."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if lines and lines[0].startswith("%YAML"):
        lines = lines[1:]
    try:
        data = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ValueError("not a mapping of sections (BaseConfig, TargetManagement, DataAssociator, ...)")
    return data
