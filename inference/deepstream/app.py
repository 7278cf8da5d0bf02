"""A DeepStream Python app (pyds + GStreamer) that runs a bundle's deepstream configs on a file or
RTSP source and writes the same KITTI/JSON results as `taostream infer`.

The pipeline is planned as data (elements with properties, static links, the source's dynamic pad
and the muxer's request pad) by pure functions tested without DeepStream; build_and_run() turns the
plan into GStreamer elements and reads the object metadata in a probe on the OSD's sink pad.

    uridecodebin -> nvstreammux -> nvinfer | nvinferserver -> nvvideoconvert -> nvdsosd -> sink
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory
from taostream.deepstream_configs.nvinfer import LPR_DICT_ENV
from taostream.inference.bundle_info import load_bundle
from taostream.inference.detector import ImageResult
from taostream.inference.results import write_kitti, write_run_json
from taostream.parsers.reference import Detection

NVINFER_CONFIG = "config_infer_primary.txt"
NVINFERSERVER_CONFIG = "config_infer_primary_nvinferserver.txt"


@dataclass(frozen=True)
class Element:
    name: str
    factory: str
    properties: dict = field(default_factory=dict)


@dataclass
class PipelinePlan:
    elements: list[Element]
    links: list[tuple[str, str]]  # static src -> sink links
    source: str  # element with a dynamic ("sometimes") video pad
    muxer: str  # its request pad "sink_0" takes the source's pad
    probe: str  # element whose sink pad carries the final metadata
    mux_size: tuple[int, int]  # (width, height) of the muxed frames
    # Settings the bundle's parser reads from the environment (DetectNet_v2 clustering), which
    # nvinfer cannot pass it: set in this process before the pipeline runs.
    environment: dict[str, str] = field(default_factory=dict)

    def element(self, name: str) -> Element:
        return next(e for e in self.elements if e.name == name)

    def gst_launch(self) -> str:
        """The same pipeline in gst-launch-1.0 syntax (for reading and for debugging by hand)."""
        def spec(e: Element) -> str:
            props = " ".join(f"{k}={_launch_value(v)}" for k, v in e.properties.items())
            return f"{e.factory} name={e.name}" + (f" {props}" if props else "")

        chain = [self.muxer] + [dst for src, dst in self.links]
        ordered = [self.element(n) for n in dict.fromkeys(chain)]
        return (f"{spec(self.element(self.source))} ! {self.muxer}.sink_0  "
                + " ! ".join(spec(e) for e in ordered))


def _launch_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f'"{text}"' if any(c in text for c in " !") else text


def source_uri(source: str) -> str:
    """rtsp://, http(s)://, file:// URIs pass through; a path becomes an absolute file:// URI."""
    if "://" in source:
        return source
    path = Path(source)
    if not path.is_file():
        raise TaostreamError(f"{source}: no such video file (give a path, a file:// or an rtsp:// URI)")
    return path.resolve().as_uri()


def is_live(uri: str) -> bool:
    return uri.startswith(("rtsp://", "rtsps://", "udp://", "rtmp://"))


def plan_pipeline(bundle_dir: str | os.PathLike, source: str, *, triton: bool = False,
                  mux_size: tuple[int, int] = (1920, 1080), output_video: str | None = None,
                  gpu_id: int = 0) -> PipelinePlan:
    """The pipeline for one source. ``triton``: nvinferserver with the bundle's Triton config instead
    of nvinfer. ``output_video``: write an annotated H.264 MP4 there; otherwise a fakesink."""
    deepstream = Path(bundle_dir) / "deepstream"
    config = deepstream / (NVINFERSERVER_CONFIG if triton else NVINFER_CONFIG)
    if not config.is_file():
        raise TaostreamError(f"{config}: missing; the bundle has no DeepStream config (recreate it with `taostream bundle`)")
    uri = source_uri(source)
    width, height = mux_size
    infer_properties = {"config-file-path": str(config.resolve())}
    if not triton:  # nvinferserver takes its GPU from its config, not a property
        infer_properties["gpu-id"] = gpu_id
    elements = [
        Element("source", "uridecodebin", {"uri": uri}),
        Element("mux", "nvstreammux", {"batch-size": 1, "width": width, "height": height, "live-source": is_live(uri),
                                        "batched-push-timeout": 40000, "gpu-id": gpu_id}),
        Element("infer", "nvinferserver" if triton else "nvinfer", infer_properties),
        Element("convert", "nvvideoconvert", {"gpu-id": gpu_id}),
        Element("osd", "nvdsosd", {"gpu-id": gpu_id}),
    ]
    if output_video:
        elements += [Element("convert_out", "nvvideoconvert", {"gpu-id": gpu_id}),
                     Element("encoder", "nvv4l2h264enc", {"bitrate": 4000000}),
                     Element("parser", "h264parse"),
                     Element("muxer_mp4", "qtmux"),
                     Element("sink", "filesink", {"location": str(Path(output_video).resolve()), "sync": False})]
    else:
        elements.append(Element("sink", "fakesink", {"sync": False}))
    names = [e.name for e in elements[1:]]
    return PipelinePlan(elements, list(zip(names, names[1:])), "source", "mux", "osd", mux_size,
                        parser_environment(deepstream))


PARSER_ENV_FILE = "taostream_parser.env"


def parser_environment(deepstream_dir: str | os.PathLike) -> dict[str, str]:
    """KEY="value" lines of the bundle's deepstream/taostream_parser.env (empty when there is none)."""
    path = Path(deepstream_dir) / PARSER_ENV_FILE
    if not path.is_file():
        return {}
    environment = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            raise TaostreamError(f"{path}:{number}: expected KEY=\"value\", found {line[:60]!r}")
        environment[key] = value.strip().strip('"')
    if environment.get(LPR_DICT_ENV) and not os.path.isabs(environment[LPR_DICT_ENV]):
        # relative to the bundle's deepstream/ folder, not to wherever deepstream-app runs
        environment[LPR_DICT_ENV] = str((Path(deepstream_dir) / environment[LPR_DICT_ENV]).resolve())
    return environment


def mux_to_source(left: float, top: float, width: float, height: float, mux_size: tuple[int, int],
                  source_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """nvstreammux scales each frame to the mux size (no padding by default), so object rectangles
    are in mux pixels; this gives x1, y1, x2, y2 in the source frame's pixels."""
    sx, sy = source_size[0] / mux_size[0], source_size[1] / mux_size[1]
    return left * sx, top * sy, (left + width) * sx, (top + height) * sy


# --- the GStreamer/pyds part (DeepStream hosts only) ---------------------------------------------


def _import_deepstream():
    try:
        import gi  # lazy: optional (deepstream)

        gi.require_version("Gst", "1.0")
        from gi.repository import GLib, Gst  # lazy: optional (deepstream)
    except (ImportError, ValueError):
        raise TaostreamError("GStreamer's Python bindings (gi, Gst 1.0) are missing: install python3-gi and "
                             "gstreamer1.0 (they come with DeepStream's container)") from None
    try:
        import pyds  # lazy: optional (deepstream)
    except ImportError:
        raise TaostreamError("pyds (DeepStream's Python bindings) is not installed: install the pyds wheel of "
                             "your DeepStream version from NVIDIA-AI-IOT/deepstream_python_apps releases") from None
    return Gst, GLib, pyds


def _frame_results(pyds, buffer, plan: PipelinePlan, labels: list[str], sink: list) -> None:
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(buffer))
    frames = batch_meta.frame_meta_list
    while frames is not None:
        frame = pyds.NvDsFrameMeta.cast(frames.data)
        size = (frame.source_frame_width or plan.mux_size[0], frame.source_frame_height or plan.mux_size[1])
        detections, objects = [], frame.obj_meta_list
        while objects is not None:
            obj = pyds.NvDsObjectMeta.cast(objects.data)
            r = obj.rect_params
            x1, y1, x2, y2 = mux_to_source(r.left, r.top, r.width, r.height, plan.mux_size, size)
            detections.append(Detection(int(obj.class_id), x1, y1, x2, y2, float(obj.confidence)))
            objects = objects.next
        sink.append(ImageResult(f"frame{frame.frame_num}", size[0], size[1], detections))
        frames = frames.next


def build_and_run(plan: PipelinePlan, labels: list[str]) -> list:
    """Build the planned pipeline, run it to the end of the stream (or Ctrl-C), return one
    ImageResult per frame (source-frame pixels)."""
    Gst, GLib, pyds = _import_deepstream()
    pipeline, made = build_elements(plan, Gst)
    # lazy: cycle (inference.deepstream.pipeline imports this one)
    from taostream.inference.deepstream.pipeline import request_pad

    mux_pad = request_pad(made[plan.muxer], "sink_0")

    def on_pad(_, pad):
        if pad.query_caps(None).to_string().startswith("video/"):
            pad.link(mux_pad)

    made[plan.source].connect("pad-added", on_pad)
    results: list = []

    def probe(_, info):
        _frame_results(pyds, info.get_buffer(), plan, labels, results)
        return Gst.PadProbeReturn.OK

    made[plan.probe].get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    play_until_end(pipeline, Gst, GLib)
    return results



def build_elements(plan, Gst) -> tuple:
    """The GStreamer pipeline of a plan (its ``elements`` made with their properties, its ``links``
    linked), after exporting the plan's parser ``environment``; returns (pipeline, elements by name).
    Shared by the one-bundle app and the pipeline-folder app."""
    os.environ.update(plan.environment)  # the parsers read these when nvinfer calls it
    Gst.init(None)
    pipeline = Gst.Pipeline()
    made = {}
    for spec in plan.elements:
        element = Gst.ElementFactory.make(spec.factory, spec.name)
        if element is None:
            raise TaostreamError(f"GStreamer element '{spec.factory}' is not available: run inside DeepStream")
        for key, value in spec.properties.items():
            element.set_property(key, value)
        pipeline.add(element)
        made[spec.name] = element
    for src, dst in plan.links:
        if not made[src].link(made[dst]):
            raise TaostreamError(f"cannot link {src} -> {dst}")
    return pipeline, made


def play_until_end(pipeline, Gst, GLib) -> None:
    """Plays a built GStreamer pipeline until end of stream (or Ctrl-C), then stops it; a pipeline
    error is one TaostreamError. Shared by the one-bundle app and the pipeline-folder app."""
    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    errors: list[str] = []

    def on_message(_, message):
        if message.type == Gst.MessageType.EOS:
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            errors.append(str(message.parse_error()[0]))
            loop.quit()

    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.set_state(Gst.State.NULL)
    if errors:
        raise TaostreamError(f"DeepStream pipeline failed: {errors[0]}")


def run_deepstream_app(bundle_dir: str | os.PathLike, source: str, output: str | os.PathLike, *,
                       triton: bool = False, mux_size: tuple[int, int] = (1920, 1080), annotate: bool = False,
                       force: bool = False) -> int:
    """Run the bundle's DeepStream config on ``source``; write labels/<stem>_<frame>.txt and
    results.json into ``output`` (atomically); returns the number of frames."""
    bundle = load_bundle(bundle_dir)
    stem = Path(source.split("?")[0]).stem or "stream"
    with atomic_directory(output, overwrite=force, inputs=(bundle_dir, source)) as root:
        video = str(root / "videos" / f"{stem}.mp4") if annotate else None
        if video:
            Path(video).parent.mkdir(parents=True)
        plan = plan_pipeline(bundle.path, source, triton=triton, mux_size=mux_size, output_video=video)
        results = build_and_run(plan, bundle.labels)
        for n, result in enumerate(results):
            write_kitti(root / "labels" / f"{stem}_{n:06d}.txt", result.detections, bundle.labels)
        run = {"bundle": str(bundle.path), "network": bundle.network.name, "backend": "deepstream-nvinferserver"
               if triton else "deepstream-nvinfer", "source": source, "coordinates": "frame pixels"}
        write_run_json(root / "results.json", run, results, bundle.labels)
    return len(results)
