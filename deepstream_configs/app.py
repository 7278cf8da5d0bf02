"""deepstream-app main configs: sources, streammux, primary GIE, tracker, secondary classifiers,
tiled display, OSD and sinks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text
from taostream.deepstream_configs.ini import IniSections, format_ini

# DeepStream's tracker library and a tracker config shipped with every DeepStream install.
TRACKER_LIBRARY = "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so"
TRACKER_CONFIG = "/opt/nvidia/deepstream/deepstream/samples/configs/deepstream-app/config_tracker_NvDCF_perf.yml"

_SOURCE_TYPES = {"usb": 1, "uri": 2, "file": 3, "rtsp": 4, "csi": 5}
_SINK_TYPES = {"fake": 1, "egl": 2, "file": 3, "rtsp": 4}


@dataclass(frozen=True)
class Source:
    """kind: file (a local video), uri (any GStreamer URI), rtsp, usb (V4L2 camera), csi (Jetson)."""

    kind: str
    location: str = ""  # file path, URI, or the /dev/videoN number for usb
    camera_size: tuple[int, int, int] = (1280, 720, 30)  # width, height, fps for cameras


@dataclass(frozen=True)
class Sink:
    """kind: fake, file (H.264 MP4), rtsp (stream on rtsp_port), egl (on-screen; Jetson or a desktop)."""

    kind: str
    output_file: str = "out.mp4"
    rtsp_port: int = 8554
    sync: bool = False


@dataclass(frozen=True)
class SecondaryGie:
    config_file: str
    gie_unique_id: int
    operate_on_class_ids: tuple[int, ...] = ()
    plugin_type: int = 0  # 0 nvinfer, 1 nvinferserver


@dataclass
class AppOptions:
    primary_config: str  # the primary GIE's config, relative to the app config's folder
    sources: list[Source]
    width: int  # streammux output size: the network's input size is a good default
    height: int
    batch_size: int | None = None  # default: one per source
    sinks: list[Sink] = field(default_factory=lambda: [Sink("fake")])
    platform: str = "x86"
    primary_plugin_type: int = 0
    primary_gie_id: int = 1
    tracker: bool = False
    secondaries: list[SecondaryGie] = field(default_factory=list)
    display_mask: bool = False  # MaskRCNN: draw the instance masks
    gpu_id: int = 0
    tiled_size: tuple[int, int] = (1280, 720)


def _source_group(source: Source, gpu_id: int) -> dict[str, object]:
    if source.kind not in _SOURCE_TYPES:
        raise TaostreamError(f"source kind '{source.kind}': use one of {', '.join(_SOURCE_TYPES)}")
    group: dict[str, object] = {"enable": 1, "type": _SOURCE_TYPES[source.kind]}
    if source.kind == "file":
        # deepstream-app resolves a relative file:// URI against the config's folder.
        group["uri"] = source.location if "://" in source.location else f"file://{source.location}"
        group["num-sources"] = 1
    elif source.kind in ("uri", "rtsp"):
        if source.kind == "rtsp" and not source.location.startswith(("rtsp://", "rtsps://")):
            raise TaostreamError(f"RTSP source '{source.location}': give an rtsp:// URI")
        group["uri"] = source.location
    else:
        width, height, fps = source.camera_size
        group.update({"camera-width": width, "camera-height": height, "camera-fps-n": fps, "camera-fps-d": 1})
        if source.kind == "usb":
            group["camera-v4l2-dev-node"] = int(source.location or 0)
        else:
            group["camera-csi-sensor-id"] = int(source.location or 0)
    group["gpu-id"] = gpu_id
    return group


def _sink_group(sink: Sink, platform: str, gpu_id: int) -> dict[str, object]:
    if sink.kind not in _SINK_TYPES:
        raise TaostreamError(f"sink kind '{sink.kind}': use one of {', '.join(_SINK_TYPES)}")
    group: dict[str, object] = {"enable": 1, "type": _SINK_TYPES[sink.kind], "sync": int(sink.sync)}
    if sink.kind in ("file", "rtsp"):
        group.update({"codec": 1, "bitrate": 4000000})
        # Jetson Orin Nano has no hardware encoder: software encode there (enc-type=1).
        group["enc-type"] = 0
    if sink.kind == "file":
        group.update({"container": 1, "output-file": sink.output_file})
    if sink.kind == "rtsp":
        group.update({"rtsp-port": sink.rtsp_port, "udp-port": 5400})
    group["gpu-id"] = gpu_id
    return group


def app_sections(options: AppOptions) -> IniSections:
    if not options.sources:
        raise TaostreamError("a deepstream-app config needs at least one source")
    batch = options.batch_size or len(options.sources)
    columns = math.ceil(math.sqrt(len(options.sources)))
    rows = math.ceil(len(options.sources) / columns)
    sections: IniSections = {
        "application": {"enable-perf-measurement": 1, "perf-measurement-interval-sec": 5},
        "tiled-display": {"enable": 1, "rows": rows, "columns": columns, "width": options.tiled_size[0],
                          "height": options.tiled_size[1], "gpu-id": options.gpu_id},
    }
    for index, source in enumerate(options.sources):
        sections[f"source{index}"] = _source_group(source, options.gpu_id)
    for index, sink in enumerate(options.sinks):
        sections[f"sink{index}"] = _sink_group(sink, options.platform, options.gpu_id)
    sections["osd"] = {"enable": 1, "gpu-id": options.gpu_id, "border-width": 2, "text-size": 15,
                       "text-color": "1;1;1;1", "text-bg-color": "0.3;0.3;0.3;1", "font": "Serif",
                       "show-clock": 0, "display-mask": int(options.display_mask)}
    live = any(s.kind in ("rtsp", "usb", "csi") for s in options.sources)
    sections["streammux"] = {"gpu-id": options.gpu_id, "live-source": int(live), "batch-size": batch,
                             "batched-push-timeout": 40000, "width": options.width, "height": options.height,
                             "enable-padding": 0}
    sections["primary-gie"] = {"enable": 1, "gpu-id": options.gpu_id, "batch-size": batch,
                               "gie-unique-id": options.primary_gie_id, "config-file": options.primary_config,
                               "plugin-type": options.primary_plugin_type}
    if options.tracker:
        sections["tracker"] = {"enable": 1, "tracker-width": 640, "tracker-height": 384, "gpu-id": options.gpu_id,
                               "ll-lib-file": TRACKER_LIBRARY, "ll-config-file": TRACKER_CONFIG,
                               "display-tracking-id": 1}
    for index, secondary in enumerate(options.secondaries):
        group: dict[str, object] = {"enable": 1, "gpu-id": options.gpu_id, "batch-size": max(16, batch),
                                    "gie-unique-id": secondary.gie_unique_id,
                                    "operate-on-gie-id": options.primary_gie_id,
                                    "config-file": secondary.config_file, "plugin-type": secondary.plugin_type}
        if secondary.operate_on_class_ids:
            group["operate-on-class-ids"] = ";".join(str(i) for i in secondary.operate_on_class_ids)
        sections[f"secondary-gie{index}"] = group
    sections["tests"] = {"file-loop": 0}
    return sections


def format_app_config(options: AppOptions) -> str:
    header = ["deepstream-app config (written by taostream); run: deepstream-app -c <this file>"]
    if any(s.kind == "egl" for s in options.sinks) and options.platform == "x86":
        header.append("EGL sink: needs a display (DISPLAY set); use a file or RTSP sink on headless hosts")
    return format_ini(app_sections(options), header)


def write_app_config(path: str | os.PathLike, options: AppOptions) -> Path:
    return atomic_write_text(path, format_app_config(options))
