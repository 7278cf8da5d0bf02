"""What nvinfer and deepstream-app accept: groups, keys, value types, allowed values, and the keys
each DeepStream version deprecated or removed (FACTS.md section 5; DeepStream 6-9 plugin manuals).

Types: int, uint, double, string, path (a file relative to the config's folder), int_list,
uint_list, double_list, string_list (';'-separated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpec:
    type: str
    allowed: tuple | None = None  # allowed values (ints) or None
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound


def _k(type_: str, allowed=None, minimum=None, maximum=None, above=None) -> KeySpec:
    return KeySpec(type_, tuple(allowed) if allowed is not None else None, minimum, maximum, above)


# Confidences and IoUs: every TAO parser scores 0..1 before clustering, so a larger threshold drops
# every object and a negative one keeps every candidate.
_UNIT = {"minimum": 0.0, "maximum": 1.0}


_BOOL = (0, 1)

NVINFER_PROPERTY: dict[str, KeySpec] = {
    "gpu-id": _k("uint"),
    "gie-unique-id": _k("uint", minimum=1),
    "batch-size": _k("uint", minimum=1),
    "interval": _k("uint"),
    "process-mode": _k("int", (1, 2)),
    "network-mode": _k("int", (0, 1, 2, 3)),
    "network-type": _k("int", (0, 1, 2, 3, 100)),
    "model-color-format": _k("int", (0, 1, 2)),
    "network-input-order": _k("int", (0, 1)),
    "cluster-mode": _k("int", (0, 1, 2, 3, 4)),
    "num-detected-classes": _k("uint", minimum=1),
    "enable-dla": _k("int", _BOOL),
    "use-dla-core": _k("uint"),
    "maintain-aspect-ratio": _k("int", _BOOL),
    "symmetric-padding": _k("int", _BOOL),
    "output-instance-mask": _k("int", _BOOL),
    "output-tensor-meta": _k("int", _BOOL),
    "workspace-size": _k("uint"),
    "operate-on-gie-id": _k("int"),
    "operate-on-class-ids": _k("int_list"),
    "filter-out-class-ids": _k("int_list"),
    "secondary-reinfer-interval": _k("uint"),
    "input-object-min-width": _k("uint"),
    "input-object-min-height": _k("uint"),
    "input-object-max-width": _k("uint"),
    "input-object-max-height": _k("uint"),
    "classifier-async-mode": _k("int", _BOOL),
    "classifier-type": _k("string"),
    "scaling-filter": _k("uint"),
    "scaling-compute-hw": _k("int", (0, 1, 2)),
    "crop-objects-to-roi-boundary": _k("int", _BOOL),
    "segmentation-threshold": _k("double", **_UNIT),
    "segmentation-output-order": _k("int", (0, 1)),
    "net-scale-factor": _k("double", above=0.0),
    "offsets": _k("double_list"),
    "classifier-threshold": _k("double", **_UNIT),
    "infer-dims": _k("uint_list"),
    "output-blob-names": _k("string_list"),
    "output-io-formats": _k("string"),
    "layer-device-precision": _k("string"),
    "labelfile-path": _k("path"),
    "model-engine-file": _k("path"),
    "int8-calib-file": _k("path"),
    "onnx-file": _k("path"),
    "custom-lib-path": _k("path"),
    "custom-network-config": _k("path"),
    "parse-bbox-func-name": _k("string"),
    "parse-bbox-instance-mask-func-name": _k("string"),
    "parse-classifier-func-name": _k("string"),
    "engine-create-func-name": _k("string"),
    "disable-output-host-copy": _k("int", _BOOL),
    "clip-object-outside-roi": _k("int", _BOOL),
    "tensor-meta-pool-size": _k("uint"),
    # Legacy keys: known (so no typo hint), but deprecated or removed (see below).
    "tlt-encoded-model": _k("path"),
    "tlt-model-key": _k("string"),
    "uff-file": _k("path"),
    "uff-input-blob-name": _k("string"),
    "uff-input-order": _k("int", (0, 1, 2)),
    "uff-input-dims": _k("string"),
    "input-dims": _k("string"),
    "model-file": _k("path"),
    "proto-file": _k("path"),
    "mean-file": _k("path"),
    "is-classifier": _k("int", _BOOL),
    "enable-dbscan": _k("int", _BOOL),
    "force-implicit-batch-dim": _k("int", _BOOL),
}

NVINFER_CLASS_ATTRS: dict[str, KeySpec] = {
    "pre-cluster-threshold": _k("double", **_UNIT),
    "post-cluster-threshold": _k("double"),
    "threshold": _k("double", **_UNIT),
    "eps": _k("double"),
    "minBoxes": _k("uint"),
    "dbscan-min-score": _k("double"),
    "group-threshold": _k("uint"),
    "nms-iou-threshold": _k("double", **_UNIT),
    "topk": _k("int"),
    "roi-top-offset": _k("uint"),
    "roi-bottom-offset": _k("uint"),
    "detected-min-w": _k("uint"),
    "detected-min-h": _k("uint"),
    "detected-max-w": _k("uint"),
    "detected-max-h": _k("uint"),
}

# key -> (first DeepStream major without it, replacement advice)
REMOVED_KEYS: dict[str, tuple[int, str]] = {
    "tlt-encoded-model": (7, "decode the model (`taostream decode`) and use onnx-file"),
    "tlt-model-key": (7, "use onnx-file with the decoded model; delete the key from the config"),
    "uff-file": (7, "UFF support is gone: convert the model to ONNX and use onnx-file"),
    "uff-input-blob-name": (7, "UFF support is gone: use onnx-file (the ONNX input name is read from the model)"),
    "uff-input-order": (7, "use network-input-order with onnx-file"),
    "uff-input-dims": (7, "use infer-dims=c;h;w"),
    "model-file": (8, "Caffe support is gone: convert the model to ONNX and use onnx-file"),
    "proto-file": (8, "Caffe support is gone: convert the model to ONNX and use onnx-file"),
    "mean-file": (8, "Caffe support is gone: use offsets"),
    "force-implicit-batch-dim": (7, "TensorRT 10 has no implicit batch: delete the key"),
}
# key -> replacement advice (still read, but on its way out); {value} is the config's value: the
# boolean keys map 0/1 straight onto the new key (is-classifier=0 is network-type=0, a detector;
# enable-dbscan=0 is cluster-mode=0, groupRectangles, nvinfer's default)
DEPRECATED_KEYS: dict[str, str] = {
    "input-dims": "use infer-dims=c;h;w",
    "uff-input-dims": "use infer-dims=c;h;w (and uff-input-order)",
    "is-classifier": "use network-type={value}",
    "enable-dbscan": "use cluster-mode={value}",
    "threshold": "use pre-cluster-threshold={value}",
}


def deprecated_advice(key: str, value: object) -> str:
    """DEPRECATED_KEYS' advice for key, with the config's value in it."""
    return DEPRECATED_KEYS[key].format(value=value)
# (key, value) -> first DeepStream major that accepts it
VALUE_SINCE: dict[tuple[str, int], int] = {("network-mode", 3): 8}

# deepstream-app keys a DeepStream minor release dropped: (group, key) -> ((major, minor) first
# without it, advice). nvtracker had enable-batch-process and enable-past-frame from DeepStream 5.0
# (its 5.0.1 and 6.0 manuals list them); 6.3 removed both properties (NVIDIA forum thread 277839,
# "GstNvTracker does not have enable-batch-process nor enable-past-frame properties in DeepStream 6.3").
APP_KEYS_REMOVED: dict[tuple[str, str], tuple[tuple[int, int], str]] = {
    ("tracker", "enable-batch-process"): ((6, 3), "nvtracker no longer has the property: delete it"),
    ("tracker", "enable-past-frame"): ((6, 3), "nvtracker no longer has the property: delete it"),
}

# deepstream-app [sourceN] / [sinkN] per DeepStream release. Facts: NVIDIA's sources of each release as
# its container ships them (sources/apps/apps-common/src/deepstream_config_file_parser.c: the keys
# parse_source / parse_sink compare; includes/deepstream_sources.h and deepstream_sinks.h: the
# NvDsSourceType / NvDsSinkType enums) for 5.0, 6.0, 6.0.1, 6.1, 6.1.1, 6.2 and 6.3 (public mirror
# github.com/hiennguyen9874/deepstream-sources, one branch per release), and for 7.0-9.x the enums of
# NVIDIA's DeepStream API reference (docs.nvidia.com/metropolis/deepstream/<ver>/sdk-api/, deepstream_sinks.h
# and deepstream_sources.h). No key list after 6.3 is published: a key 6.3 reads is taken as read later.
# Both parsers warn "Unknown key" and ignore a key they do not read.
APP_KEYS_SINCE: dict[tuple[str, str], tuple[int, int]] = {
    # (6.0 added smart-rec-cache, rtsp-reconnect-attempts, alsa-device, msg-conv-msg2p-new-api and
    # msg-conv-frame-interval to 5.0's lists; taostream targets 6.0 and later)
    ("source", "udp-buffer-size"): (6, 1),
    ("source", "low-latency-decode"): (6, 2), ("source", "video-format"): (6, 2),
    ("sink", "conn-id"): (6, 1), ("sink", "plane-id"): (6, 1), ("sink", "set-mode"): (6, 1),  # nvdrmvideosink
    ("sink", "color-range"): (6, 1),
    ("sink", "copy-meta"): (6, 2), ("sink", "output-io-mode"): (6, 2),
    ("sink", "sw-preset"): (6, 3),
}
# Keys a release stopped reading: 6.1 replaced sink type 5 Overlay (nvoverlaysink, Jetson) with DRM
# (nvdrmvideosink: conn-id, plane-id, set-mode); the 7.0-9.x enums keep 5 = RENDER_DRM.
APP_SOURCE_SINK_KEYS_REMOVED: dict[tuple[str, str], tuple[int, int]] = {
    ("sink", key): (6, 1) for key in ("overlay-id", "display-id", "offset-x", "offset-y")
}
# smart-rec-video-cache (5.0's name): 6.0 and later still read it, warning "Deprecated config ... Use
# 'smart-rec-cache' instead".
APP_KEYS_DEPRECATED: dict[tuple[str, str], tuple[tuple[int, int], str]] = {
    ("source", "smart-rec-video-cache"): ((6, 0), "smart-rec-cache"),
}


def source_types(version: tuple[int, int]) -> dict[int, str]:
    """[sourceN] type values deepstream-app knows in ``version`` (NvDsSourceType)."""
    types = {1: "V4L2 camera", 2: "URI", 3: "multi-URI", 4: "RTSP", 5: "CSI camera"}
    if version >= (6, 0):
        types.update({6: "audio WAV", 7: "audio URI", 8: "ALSA"})
    if version >= (6, 4):  # NV_DS_SOURCE_IPC: absent from 6.3's header, listed by the 8.0 and 9.x
        types[9] = "IPC"    # references; 6.4-7.1 unverified, so accepted there rather than refused
    return types


def sink_types(version: tuple[int, int]) -> dict[int, str]:
    """[sinkN] type values deepstream-app knows in ``version`` (NvDsSinkType)."""
    types = {1: "fakesink", 2: "EGL display (nv3dsink on Jetson from 6.2)", 3: "file", 4: "RTSP",
             5: "overlay (Jetson)" if version < (6, 1) else "DRM display (Jetson)", 6: "message broker"}
    if (6, 1) <= version < (6, 2):  # 6.1.x only: NV_DS_SINK_RENDER_3D was a type of its own
        types[7] = "3D display (Jetson)"
    return types


CLASS_ATTRS_GROUP = re.compile(r"^class-attrs-(all|\d+)$")

# deepstream-app groups: name pattern -> keys
_SOURCE = {
    "enable": _k("int", _BOOL), "type": _k("int", range(1, 10)), "uri": _k("string"),  # per release: SOURCE_TYPES
    "num-sources": _k("uint", minimum=1), "gpu-id": _k("uint"), "cudadec-memtype": _k("uint"),
    "nvbuf-memory-type": _k("uint"), "camera-width": _k("uint"), "camera-height": _k("uint"),
    "camera-fps-n": _k("uint"), "camera-fps-d": _k("uint"), "camera-v4l2-dev-node": _k("uint"),
    "camera-id": _k("uint"), "camera-csi-sensor-id": _k("uint"), "intra-decode-enable": _k("int", _BOOL),
    "drop-frame-interval": _k("uint"), "rtsp-reconnect-interval-sec": _k("uint"),
    "latency": _k("uint"), "select-rtp-protocol": _k("uint"), "source-id": _k("uint"),
    # read by deepstream-app's parse_source too (some from a later release: APP_KEYS_SINCE below)
    "num-decode-surfaces": _k("uint"), "num-extra-surfaces": _k("uint"), "rtsp-reconnect-attempts": _k("int"),
    "smart-record": _k("int", (0, 1, 2)), "smart-rec-dir-path": _k("string"), "smart-rec-file-prefix": _k("string"),
    "smart-rec-cache": _k("uint"), "smart-rec-video-cache": _k("uint"), "smart-rec-container": _k("int", _BOOL),
    "smart-rec-start-time": _k("uint"), "smart-rec-default-duration": _k("uint"), "smart-rec-duration": _k("uint"),
    "smart-rec-interval": _k("uint"), "alsa-device": _k("string"), "udp-buffer-size": _k("uint"),
    "low-latency-decode": _k("int", _BOOL), "video-format": _k("string"),
}
_SINK = {
    "enable": _k("int", _BOOL), "type": _k("int", range(1, 8)), "sync": _k("int", _BOOL),  # per release: SINK_TYPES
    "source-id": _k("uint"), "gpu-id": _k("uint"), "codec": _k("int", (1, 2, 3)),
    "container": _k("int", (1, 2)), "bitrate": _k("uint"), "output-file": _k("string"),
    "rtsp-port": _k("uint"), "udp-port": _k("uint"), "enc-type": _k("int", (0, 1)),
    "profile": _k("uint"), "iframeinterval": _k("uint"), "nvbuf-memory-type": _k("uint"),
    "qos": _k("int", _BOOL), "width": _k("uint"), "height": _k("uint"), "display-id": _k("uint"),
    "overlay-id": _k("uint"), "offset-x": _k("uint"), "offset-y": _k("uint"), "link-to-demux": _k("int", _BOOL),
    # read by deepstream-app's parse_sink too (some from a later release: APP_KEYS_SINCE below)
    "udp-buffer-size": _k("uint"), "color-range": _k("uint"), "conn-id": _k("uint"), "plane-id": _k("uint"),
    "set-mode": _k("int", _BOOL), "copy-meta": _k("uint"), "output-io-mode": _k("uint"), "sw-preset": _k("int"),
    "msg-conv-config": _k("string"), "msg-conv-payload-type": _k("uint"), "msg-conv-msg2p-lib": _k("string"),
    "msg-conv-comp-id": _k("uint"), "debug-payload-dir": _k("string"), "multiple-payloads": _k("int", _BOOL),
    "msg-conv-msg2p-new-api": _k("int", _BOOL), "msg-conv-frame-interval": _k("uint"),
    "msg-broker-proto-lib": _k("string"), "msg-broker-conn-str": _k("string"), "topic": _k("string"),
    "msg-broker-config": _k("string"), "msg-broker-comp-id": _k("uint"), "disable-msgconv": _k("int", _BOOL),
    "new-api": _k("int", _BOOL),
}
_GIE = {
    "enable": _k("int", _BOOL), "gpu-id": _k("uint"), "batch-size": _k("uint", minimum=1),
    "gie-unique-id": _k("uint", minimum=1), "operate-on-gie-id": _k("int"),
    "operate-on-class-ids": _k("int_list"), "config-file": _k("path"), "plugin-type": _k("int", (0, 1)),
    "interval": _k("uint"), "nvbuf-memory-type": _k("uint"), "model-engine-file": _k("path"),
    "labelfile-path": _k("path"), "infer-raw-output-dir": _k("string"),
    **{f"bbox-border-color{i}": _k("double_list") for i in range(16)},
    **{f"bbox-bg-color{i}": _k("double_list") for i in range(16)},
}
APP_GROUPS: dict[str, dict[str, KeySpec]] = {
    "application": {
        "enable-perf-measurement": _k("int", _BOOL), "perf-measurement-interval-sec": _k("uint", minimum=1),
        "gie-kitti-output-dir": _k("string"), "kitti-track-output-dir": _k("string"),
    },
    "tiled-display": {
        "enable": _k("int", (0, 1, 2, 3)), "rows": _k("uint", minimum=1), "columns": _k("uint", minimum=1),
        "width": _k("uint", minimum=1), "height": _k("uint", minimum=1), "gpu-id": _k("uint"),
        "nvbuf-memory-type": _k("uint"), "compute-hw": _k("uint"),
    },
    r"source\d+": _SOURCE,
    r"sink\d+": _SINK,
    "osd": {
        "enable": _k("int", _BOOL), "gpu-id": _k("uint"), "border-width": _k("uint"), "text-size": _k("uint"),
        "text-color": _k("double_list"), "text-bg-color": _k("double_list"), "font": _k("string"),
        "show-clock": _k("int", _BOOL), "clock-x-offset": _k("uint"), "clock-y-offset": _k("uint"),
        "clock-text-size": _k("uint"), "clock-color": _k("double_list"), "nvbuf-memory-type": _k("uint"),
        "process-mode": _k("int", (0, 1, 2)), "display-mask": _k("int", _BOOL), "display-bbox": _k("int", _BOOL),
        "display-text": _k("int", _BOOL),
    },
    "streammux": {
        "gpu-id": _k("uint"), "live-source": _k("int", _BOOL), "batch-size": _k("uint", minimum=1),
        "batched-push-timeout": _k("int"), "width": _k("uint", minimum=1), "height": _k("uint", minimum=1),
        "enable-padding": _k("int", _BOOL), "nvbuf-memory-type": _k("uint"),
        "attach-sys-ts-as-ntp": _k("int", _BOOL), "config-file": _k("path"), "sync-inputs": _k("int", _BOOL),
        "buffer-pool-size": _k("uint"), "compute-hw": _k("uint"),
    },
    "primary-gie": _GIE,
    r"secondary-gie\d+": _GIE,
    "tracker": {
        "enable": _k("int", _BOOL), "tracker-width": _k("uint"), "tracker-height": _k("uint"),
        "gpu-id": _k("uint"), "ll-lib-file": _k("path"), "ll-config-file": _k("path"),
        "display-tracking-id": _k("int", _BOOL), "compute-hw": _k("uint"), "user-meta-pool-size": _k("uint"),
        "sub-batches": _k("string"), "tracking-surface-type": _k("uint"), "tracking-id-reset-mode": _k("uint"),
        "enable-batch-process": _k("int", _BOOL), "enable-past-frame": _k("int", _BOOL),  # up to 6.2 (below)
    },
    "tests": {"file-loop": _k("int", _BOOL)},
}


def app_group_keys(name: str) -> dict[str, KeySpec] | None:
    for pattern, keys in APP_GROUPS.items():
        if re.fullmatch(pattern, name):
            return keys
    return None


def app_group_names() -> list[str]:
    return [p.replace(r"\d+", "0") for p in APP_GROUPS]
