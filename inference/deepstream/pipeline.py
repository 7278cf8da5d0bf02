"""`taostream deepstream-app APP`: a `taostream pipeline` folder run by the DeepStream Python app
(pyds + GStreamer), with the elements, properties and order its deepstream_app.txt gives deepstream-app.

Everything decided here is pure and tested without DeepStream: ``plan_app`` reads the app config the
way deepstream-app does (deepstream_primary_gie.c / deepstream_secondary_gie.c set these nvinfer
properties from the [primary-gie] / [secondary-gieN] groups: config-file-path, batch-size, unique-id,
interval, gpu-id, model-engine-file, and for a secondary process-mode=2, infer-on-gie-id and
infer-on-class-ids "a:b:"; [tracker] keys are nvtracker properties of the same name), and
``frame_records`` turns the metadata read from the buffers into the records the CPU cascade writes.
The only code that touches pyds/Gst is ``read_batch`` (metadata -> FrameMeta) and ``run_plan``.

    uridecodebin xN -> nvstreammux -> nvinfer (primary) -> nvtracker -> nvinfer (secondary) ... ->
    [nvmultistreamtiler] -> nvvideoconvert -> nvdsosd -> sink (fakesink, EGL, file or RTSP)

deepstream-app runs the secondaries in parallel branches (a tee) and waits for all; they are chained
here one after another, parents before children, as NVIDIA's deepstream-test2 does: the metadata is
the same. Boxes: rect_params (what nvdsosd draws: the tracker's box once tracked), mapped from
nvstreammux pixels to each source's frame pixels (enable-padding=0 only). A secondary's result is
present only when nvinfer attached one (nvinfer attaches none below classifier-threshold, where the
CPU cascade lists the secondary with nulls).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory, atomic_write_text
from taostream.deepstream_configs.ini import IniGroup, read_ini
from taostream.inference.bundle_info import load_bundle
from taostream.inference.cascade import (
    _bundle_path, frame_record as cascade_frame_record, object_record, read_pipeline, secondary_record,
)
from taostream.inference.deepstream.app import (
    Element, _import_deepstream, build_elements, is_live, mux_to_source, parser_environment, play_until_end, source_uri,
)
from taostream.inference.results import write_kitti
from taostream.parsers.reference import Detection

APP_FILE = "deepstream_app.txt"
APP_TRITON_FILE = "deepstream_app_triton.txt"
UNTRACKED_OBJECT_ID = 0xFFFFFFFFFFFFFFFF  # nvdsmeta.h: object_id of an object no tracker has seen
_URI_SOURCES = (2, 3, 4)  # URI, MultiURI, RTSP: uridecodebin; 1 (V4L2) and 5 (CSI) are cameras
_GIE_PLUGINS = {0: "nvinfer", 1: "nvinferserver"}
# [tracker] keys that are nvtracker properties of the same name (Gst-nvtracker manual)
_TRACKER_PROPERTIES = {
    "tracker-width": int, "tracker-height": int, "gpu-id": int, "ll-lib-file": str, "ll-config-file": str,
    "enable-batch-process": int, "enable-past-frame": int, "display-tracking-id": int,
    "tracking-id-reset-mode": int, "compute-hw": int, "user-meta-pool-size": int, "tracking-surface-type": int,
    "sub-batches": str,
}
_TRACKER_APP_ONLY = {"enable"}
RTSP_MULTICAST = "224.224.255.255"  # udpsink host of NVIDIA's rtsp-out samples; the RTSP server reads it back


@dataclass(frozen=True)
class Gie:
    """One inference element as the app config gives it (unique id, role, its nvinfer config)."""

    name: str  # element name in the plan
    unique_id: int
    plugin: str  # nvinfer / nvinferserver
    config: Path
    operate_on_gie_id: int | None = None  # None: primary
    class_ids: tuple[int, ...] = ()
    batch_size: int | None = None


@dataclass(frozen=True)
class RtspOut:
    rtsp_port: int
    udp_port: int
    encoding: str  # H264 / H265
    mount: str = "/ds-test"


@dataclass
class AppPlan:
    config: Path  # the deepstream_app.txt read
    elements: list[Element]
    links: list[tuple[str, str]]  # static src -> sink links, in order
    sources: list[tuple[str, str]]  # (uridecodebin element, nvstreammux request pad)
    uris: list[str]
    muxer: str
    probe: str  # element whose sink pad sees the complete metadata, frames still per source
    mux_size: tuple[int, int]
    gies: list[Gie]
    environment: dict[str, str] = field(default_factory=dict)
    rtsp: RtspOut | None = None
    output_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def element(self, name: str) -> Element:
        return next(e for e in self.elements if e.name == name)

    def factories(self) -> list[str]:
        """Factories in stream order: sources, then the linked chain."""
        chain = [self.muxer] + [dst for _, dst in self.links]
        return [self.element(n).factory for n, _ in self.sources] + [self.element(n).factory for n in chain]


def _values(group: IniGroup | None) -> dict[str, str]:
    return {} if group is None else {e.key: e.value for e in group.entries}


def _int(values: dict[str, str], key: str, where: str, default: int | None = None) -> int | None:
    if key not in values:
        return default
    try:
        return int(values[key])
    except ValueError:
        raise TaostreamError(f"{where}: {key}={values[key]} is not an integer; fix it") from None


def _enabled(values: dict[str, str], where: str) -> bool:
    return _int(values, "enable", where, 1) != 0


def _numbered(app, prefix: str) -> list[tuple[str, dict[str, str]]]:
    found = [(g.name, _values(g)) for g in app.groups if re.fullmatch(rf"{prefix}\d+", g.name)]
    return sorted(found, key=lambda item: int(item[0][len(prefix):]))


def _resolve(base: Path, value: str) -> Path:
    """deepstream-app resolves relative paths against the config file's folder."""
    path = Path(value)
    return path if path.is_absolute() else (base / path)


def _file_uri(base: Path, uri: str) -> str:
    if not uri.startswith("file://"):
        return uri
    path = Path(unquote(urlparse(uri).path) if uri.startswith("file:///") else unquote(uri[len("file://"):]))
    return _resolve(base, str(path)).resolve().as_uri()


def _config_sources(app, base: Path, where: str) -> list[str]:
    uris = []
    for name, values in _numbered(app, "source"):
        if not _enabled(values, f"{where} [{name}]"):
            continue
        kind = _int(values, "type", f"{where} [{name}]")
        if kind not in _URI_SOURCES:
            raise TaostreamError(f"{where} [{name}] type={kind}: the Python app reads URI, file and RTSP sources "
                                 "(type 2, 3, 4); give the camera as SOURCE (e.g. v4l2 through an RTSP server) or "
                                 "run `deepstream-app -c` on this config")
        if not values.get("uri"):
            raise TaostreamError(f"{where} [{name}]: uri is missing; set uri=file://... or rtsp://...")
        uris += [_file_uri(base, values["uri"])] * ((_int(values, "num-sources", where, 1) or 1) if kind == 3 else 1)
    if not uris:
        raise TaostreamError(f"{where}: no enabled [sourceN] group; add one (type=3, uri=file://...) or give SOURCE")
    return uris


def _gie(name: str, values: dict[str, str], base: Path, where: str, primary: bool) -> Gie:
    plugin_type = _int(values, "plugin-type", where, 0)
    if plugin_type not in _GIE_PLUGINS:
        raise TaostreamError(f"{where}: plugin-type={plugin_type}: use 0 (nvinfer) or 1 (nvinferserver)")
    if not values.get("config-file"):
        raise TaostreamError(f"{where}: config-file is missing; point it at the GIE's nvinfer config")
    config = _resolve(base, values["config-file"])
    if not config.is_file():
        raise TaostreamError(f"{where}: config-file={values['config-file']}: no such file ({config}); re-create the "
                             "pipeline with `taostream pipeline`")
    class_ids = ()
    if not primary and values.get("operate-on-class-ids"):
        try:
            class_ids = tuple(int(v) for v in values["operate-on-class-ids"].split(";") if v.strip())
        except ValueError:
            raise TaostreamError(f"{where}: operate-on-class-ids={values['operate-on-class-ids']}: write class ids "
                                 "separated by ';' (0;2)") from None
    unique_id = _int(values, "gie-unique-id", where)
    if unique_id is None:
        raise TaostreamError(f"{where}: gie-unique-id is missing; every GIE needs its own id")
    return Gie(name, unique_id, _GIE_PLUGINS[plugin_type], config,
               None if primary else _int(values, "operate-on-gie-id", where, -1), class_ids,
               _int(values, "batch-size", where))


def _gie_properties(gie: Gie, values: dict[str, str], base: Path, where: str) -> dict:
    props: dict[str, object] = {"config-file-path": str(gie.config.resolve())}
    if gie.operate_on_gie_id is not None:
        props["process-mode"] = 2
        if gie.class_ids:
            props["infer-on-class-ids"] = "".join(f"{c}:" for c in gie.class_ids)
    if gie.batch_size is not None:
        props["batch-size"] = gie.batch_size
    if "interval" in values:
        props["interval"] = _int(values, "interval", where)
    props["unique-id"] = gie.unique_id
    if gie.operate_on_gie_id is not None:
        props["infer-on-gie-id"] = gie.operate_on_gie_id
    if gie.plugin == "nvinfer":  # nvinferserver takes its GPU and model from its own config
        if values.get("model-engine-file"):
            props["model-engine-file"] = str(_resolve(base, values["model-engine-file"]).resolve())
        if "gpu-id" in values:
            props["gpu-id"] = _int(values, "gpu-id", where)
    return props


def _secondary_order(primary: Gie, secondaries: list[Gie], where: str, notes: list[str]) -> list[Gie]:
    """Secondaries deepstream-app creates (enabled, reaching the primary through operate-on-gie-id),
    parents before children, otherwise in the file's order."""
    by_id = {g.unique_id: g for g in secondaries}
    ordered: list[Gie] = []
    placed = {primary.unique_id}
    pending = list(secondaries)
    while pending:
        ready = [g for g in pending if g.operate_on_gie_id in placed]
        if not ready:
            break
        for g in ready:
            ordered.append(g)
            placed.add(g.unique_id)
            pending.remove(g)
    for g in pending:
        parent = g.operate_on_gie_id
        reason = "itself" if parent == g.unique_id else ("a disabled or absent GIE" if parent not in by_id else "a loop")
        notes.append(f"{where} [{g.name}] operates on gie {parent} ({reason}), which never reaches the primary "
                     f"(gie-unique-id={primary.unique_id}): deepstream-app skips it, so does this app")
    return ordered


def _sink_elements(values: dict[str, str], where: str, platform: str, output: Path | None,
                   gpu_id: int) -> tuple[list[Element], RtspOut | None, list[Path]]:
    kind = _int(values, "type", where, 1)
    sync = bool(_int(values, "sync", where, 0))
    if kind == 1:
        return [Element("sink", "fakesink", {"sync": sync})], None, []
    if kind == 2:
        if platform == "jetson":
            return [Element("sink", "nv3dsink", {"sync": sync})], None, []
        return [Element("sink", "nveglglessink", {"sync": sync})], None, []
    if kind not in (3, 4):
        raise TaostreamError(f"{where} type={kind}: the Python app writes to sink types 1 (fake), 2 (display), "
                             "3 (file) and 4 (RTSP)")
    codec = _int(values, "codec", where, 1)
    if codec not in (1, 2):
        raise TaostreamError(f"{where} codec={codec}: use 1 (H.264) or 2 (H.265)")
    encoding = {1: "H264", 2: "H265"}[codec]
    bitrate = _int(values, "bitrate", where, 4000000)
    software = _int(values, "enc-type", where, 0) == 1
    encoder = (Element("encoder", "x264enc" if codec == 1 else "x265enc", {"bitrate": max(bitrate // 1000, 1)})
               if software else Element("encoder", f"nvv4l2h26{3 + codec}enc", {"bitrate": bitrate}))
    elements = [Element("convert_out", "nvvideoconvert", {"gpu-id": gpu_id}), encoder]
    if kind == 3:
        container = _int(values, "container", where, 1)
        if container not in (1, 2):
            raise TaostreamError(f"{where} container={container}: use 1 (mp4) or 2 (mkv)")
        name = Path(values.get("output-file") or "out.mp4").name
        target = (output / "videos" / name) if output is not None else Path(name).resolve()
        elements += [Element("parser", f"h26{3 + codec}parse"),
                     Element("container", "qtmux" if container == 1 else "matroskamux"),
                     Element("sink", "filesink", {"location": str(target), "sync": sync})]
        return elements, None, [target]
    udp_port = _int(values, "udp-port", where, 5400)
    elements += [Element("payloader", f"rtph26{3 + codec}pay"),
                 Element("sink", "udpsink", {"host": RTSP_MULTICAST, "port": udp_port, "async": False, "sync": True})]
    return elements, RtspOut(_int(values, "rtsp-port", where, 8554), udp_port, encoding), []


def app_config_path(app: str | os.PathLike, triton: bool = False) -> Path:
    path = Path(app) / (APP_TRITON_FILE if triton else APP_FILE)
    if not path.is_file():
        hint = " (the pipeline was made without --triton)" if triton and (Path(app) / APP_FILE).is_file() else ""
        raise TaostreamError(f"{path}: missing{hint}; re-create the pipeline with `taostream pipeline`")
    return path


def plan_app(app: str | os.PathLike, sources: list[str] | None = None, *, triton: bool = False,
             output: Path | None = None, platform: str | None = None) -> AppPlan:
    """The element plan for the pipeline folder APP, read from its deepstream_app.txt (or, with
    ``triton``, deepstream_app_triton.txt). ``sources`` (paths or URIs) replace the config's sources
    (the batch sizes of the muxer and the primary then follow their count). ``output``: where a file
    sink writes (OUT/videos/<output-file's name>)."""
    app = Path(app)
    path = app_config_path(app, triton)
    config = read_ini(path)
    where = str(path)
    if config.problems:
        line, message = config.problems[0]
        raise TaostreamError(f"{path}:{line}: {message}")
    base = path.parent
    manifest = read_pipeline(app)
    platform = platform or str(manifest.get("platform", "x86"))
    notes: list[str] = []
    uris = [source_uri(s) for s in sources] if sources else _config_sources(config, base, where)
    count = len(uris)

    mux_values = _values(config.group("streammux"))
    mux_where = f"{where} [streammux]"
    if _int(mux_values, "enable-padding", mux_where, 0):
        raise TaostreamError(f"{mux_where} enable-padding=1: the Python app maps boxes back to the sources for "
                             "enable-padding=0 only; set it to 0")
    gpu_id = _int(mux_values, "gpu-id", mux_where, 0)
    mux_size = (_int(mux_values, "width", mux_where, 1920), _int(mux_values, "height", mux_where, 1080))
    batch = count if sources else _int(mux_values, "batch-size", mux_where, count)
    live = any(is_live(u) for u in uris) if sources else bool(_int(mux_values, "live-source", mux_where,
                                                                    int(any(is_live(u) for u in uris))))
    mux = Element("mux", "nvstreammux", {
        "batch-size": batch, "width": mux_size[0], "height": mux_size[1], "live-source": live,
        "batched-push-timeout": _int(mux_values, "batched-push-timeout", mux_where, 40000), "gpu-id": gpu_id})
    elements = [Element(f"source{i}", "uridecodebin", {"uri": uri}) for i, uri in enumerate(uris)] + [mux]
    chain = ["mux"]

    primary_values = _values(config.group("primary-gie"))
    primary_where = f"{where} [primary-gie]"
    if not primary_values or not _enabled(primary_values, primary_where):
        raise TaostreamError(f"{primary_where}: missing or disabled; the app needs the primary detector")
    if sources:
        primary_values = {**primary_values, "batch-size": str(count)}
    primary = _gie("primary_gie", primary_values, base, primary_where, True)
    elements.append(Element(primary.name, primary.plugin, _gie_properties(primary, primary_values, base, primary_where)))
    chain.append(primary.name)

    tracker_values = _values(config.group("tracker"))
    if tracker_values and _enabled(tracker_values, f"{where} [tracker]"):
        props: dict[str, object] = {}
        for key, value in tracker_values.items():
            if key in _TRACKER_APP_ONLY:
                continue
            if key not in _TRACKER_PROPERTIES:
                notes.append(f"{where} [tracker] {key}: not an nvtracker property this app sets; ignored")
                continue
            props[key] = (_int(tracker_values, key, f"{where} [tracker]") if _TRACKER_PROPERTIES[key] is int
                          else str(_resolve(base, value).resolve()) if key == "ll-config-file" else value)
        elements.append(Element("tracker", "nvtracker", props))
        chain.append("tracker")

    secondaries = []
    for name, values in _numbered(config, "secondary-gie"):
        group_where = f"{where} [{name}]"
        if _enabled(values, group_where):
            secondaries.append((_gie(f"secondary_gie_{name[len('secondary-gie'):]}", values, base, group_where, False),
                                values, group_where))
    ordered = _secondary_order(primary, [g for g, _, _ in secondaries], where, notes)
    by_name = {g.name: (values, w) for g, values, w in secondaries}
    for gie in ordered:
        values, group_where = by_name[gie.name]
        elements.append(Element(gie.name, gie.plugin, _gie_properties(gie, values, base, group_where)))
        chain.append(gie.name)

    tiles = _values(config.group("tiled-display"))
    tiles_where = f"{where} [tiled-display]"
    if tiles and _enabled(tiles, tiles_where):
        columns = _int(tiles, "columns", tiles_where, 1)
        rows = _int(tiles, "rows", tiles_where, 1)
        if sources and rows * columns < count:  # the config's grid was for its own sources
            columns = max(1, int(count ** 0.5 + 0.999))
            rows = -(-count // columns)
        elements.append(Element("tiler", "nvmultistreamtiler", {
            "rows": rows, "columns": columns, "width": _int(tiles, "width", tiles_where, 1280),
            "height": _int(tiles, "height", tiles_where, 720), "gpu-id": _int(tiles, "gpu-id", tiles_where, gpu_id)}))
        chain.append("tiler")
    probe = "tiler" if chain[-1] == "tiler" else "convert"
    elements += [Element("convert", "nvvideoconvert", {"gpu-id": gpu_id}), Element("osd", "nvdsosd", {"gpu-id": gpu_id})]
    chain += ["convert", "osd"]

    sinks = [(name, values) for name, values in _numbered(config, "sink") if _enabled(values, f"{where} [{name}]")]
    if not sinks:
        sinks = [("sink0", {"type": "1"})]
        notes.append(f"{where}: no enabled [sinkN]; using a fakesink")
    if len(sinks) > 1:
        notes.append(f"{where}: the Python app writes to [{sinks[0][0]}] only; "
                     f"{', '.join('[' + n + ']' for n, _ in sinks[1:])} ignored")
    sink_elements, rtsp, files = _sink_elements(sinks[0][1], f"{where} [{sinks[0][0]}]", platform, output, gpu_id)
    elements += sink_elements
    chain += [e.name for e in sink_elements]
    return AppPlan(path, elements, list(zip(chain, chain[1:])), [(f"source{i}", f"sink_{i}") for i in range(count)],
                   uris, "mux", probe, mux_size, [primary, *ordered], parser_environment(app), rtsp, files, notes)


# --- metadata -> results.json records (pure) -------------------------------------------------------


@dataclass(frozen=True)
class LabelMeta:
    """NvDsLabelInfo: result_class_id, result_prob, result_label."""

    class_id: int
    prob: float
    label: str = ""


@dataclass
class ObjectMeta:
    """NvDsObjectMeta: class_id, confidence, rect_params (nvstreammux pixels), object_id and the
    classifier metas by their unique_component_id."""

    class_id: int
    confidence: float
    left: float
    top: float
    width: float
    height: float
    object_id: int = UNTRACKED_OBJECT_ID
    classifiers: dict[int, list[LabelMeta]] = field(default_factory=dict)


@dataclass
class FrameMeta:
    """NvDsFrameMeta: pad_index (the source), frame_num, source_frame_width/height."""

    source_id: int
    frame_num: int
    width: int
    height: int
    objects: list[ObjectMeta] = field(default_factory=list)


@dataclass(frozen=True)
class SecondaryInfo:
    """What results.json says about a secondary GIE (from pipeline.json and its bundle)."""

    network: str
    labels: list[str]


def frame_detections(frame: FrameMeta, mux_size: tuple[int, int]) -> list:
    """The frame's objects as Detection in the source frame's pixels (what the KITTI writer takes)."""
    size = (frame.width or mux_size[0], frame.height or mux_size[1])
    return [Detection(o.class_id, *mux_to_source(o.left, o.top, o.width, o.height, mux_size, size), float(o.confidence))
            for o in frame.objects]


def frame_record(frame: FrameMeta, source: str, mux_size: tuple[int, int], labels: list[str],
                 secondaries: dict[int, SecondaryInfo]) -> dict:
    """One frame as the CPU cascade's results.json writes it (cascade.frame_record)."""
    records = []
    for obj, detection in zip(frame.objects, frame_detections(frame, mux_size)):
        results = {}
        for gie_id, infos in sorted(obj.classifiers.items()):
            info = secondaries.get(gie_id)
            if info is None or not infos:  # a GIE the pipeline does not know (e.g. added by hand)
                continue
            best = infos[0]  # TAO classifiers have one output: one label per classifier meta
            # nvinfer's result_label: labels.txt's name, or the parser's own (NvDsInferParseCustomNVPlate: the plate)
            results[gie_id] = secondary_record(info.network, info.labels, best.class_id, best.prob, best.label or None)
        track_id = None if obj.object_id == UNTRACKED_OBJECT_ID else int(obj.object_id)
        records.append(object_record(detection, labels, track_id, results))
    size = (frame.width or mux_size[0], frame.height or mux_size[1])
    return cascade_frame_record(f"{source}#{frame.frame_num}", size[0], size[1], records)


def source_stems(uris: list[str]) -> list[str]:
    """A file stem per source for labels/<stem>_<frame>.txt; repeated stems get their index."""
    stems = [Path(unquote(urlparse(u).path)).stem or "stream" for u in uris]
    return [f"{s}_{i}" if stems.count(s) > 1 else s for i, s in enumerate(stems)]


# --- pyds / GStreamer (DeepStream hosts only) ------------------------------------------------------


def _glist(node, cast):
    while node is not None:
        try:
            yield cast(node.data)
            node = node.next
        except StopIteration:
            return


def read_batch(pyds, buffer) -> list[FrameMeta]:
    """NvDsBatchMeta of a Gst.Buffer -> FrameMeta per frame (pyds field names of deepstream_python_apps
    bindings/src/bindnvdsmeta.cpp)."""
    batch = pyds.gst_buffer_get_nvds_batch_meta(hash(buffer))
    frames = []
    for frame in _glist(batch.frame_meta_list, pyds.NvDsFrameMeta.cast):
        objects = []
        for obj in _glist(frame.obj_meta_list, pyds.NvDsObjectMeta.cast):
            classifiers: dict[int, list[LabelMeta]] = {}
            for meta in _glist(obj.classifier_meta_list, pyds.NvDsClassifierMeta.cast):
                classifiers.setdefault(int(meta.unique_component_id), []).extend(
                    LabelMeta(int(info.result_class_id), float(info.result_prob), str(info.result_label))
                    for info in _glist(meta.label_info_list, pyds.NvDsLabelInfo.cast))
            r = obj.rect_params
            objects.append(ObjectMeta(int(obj.class_id), float(obj.confidence), float(r.left), float(r.top),
                                      float(r.width), float(r.height), int(obj.object_id), classifiers))
        frames.append(FrameMeta(int(frame.pad_index), int(frame.frame_num), int(frame.source_frame_width),
                                int(frame.source_frame_height), objects))
    return frames


def request_pad(element, name: str):
    """Gst 1.20 renamed get_request_pad to request_pad_simple: DeepStream 6.4 and later run on Ubuntu 22.04
    (GStreamer 1.20), 6.3 and older on 20.04 (1.16), so take whichever the bindings have."""
    request = getattr(element, "request_pad_simple", None) or element.get_request_pad
    return request(name)


def run_plan(plan: AppPlan, on_frames) -> None:
    """Build the plan, run it to the end of the streams (or Ctrl-C); ``on_frames(list[FrameMeta])``
    is called from the probe for each batch."""
    Gst, GLib, pyds = _import_deepstream()
    pipeline, made = build_elements(plan, Gst)
    muxer = made[plan.muxer]
    for source, pad_name in plan.sources:
        mux_pad = request_pad(muxer, pad_name)

        def on_pad(_, pad, mux_pad=mux_pad):
            if pad.query_caps(None).to_string().startswith("video/") and not mux_pad.is_linked():
                pad.link(mux_pad)

        made[source].connect("pad-added", on_pad)

    def probe(_, info):
        on_frames(read_batch(pyds, info.get_buffer()))
        return Gst.PadProbeReturn.OK

    made[plan.probe].get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    server = None
    if plan.rtsp is not None:
        import gi  # lazy: optional (deepstream)

        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GstRtspServer  # lazy: optional (deepstream)

        server = GstRtspServer.RTSPServer.new()
        server.props.service = str(plan.rtsp.rtsp_port)
        server.attach(None)
        factory = GstRtspServer.RTSPMediaFactory.new()
        factory.set_launch(f'( udpsrc name=pay0 port={plan.rtsp.udp_port} buffer-size=524288 caps="application/x-rtp, '
                           f'media=video, clock-rate=90000, encoding-name=(string){plan.rtsp.encoding}, payload=96" )')
        factory.set_shared(True)
        server.get_mount_points().add_factory(plan.rtsp.mount, factory)
    play_until_end(pipeline, Gst, GLib)


def secondary_infos(app: Path) -> dict[int, SecondaryInfo]:
    manifest = read_pipeline(app)
    infos = {}
    for entry in manifest.get("secondaries") or []:
        bundle = load_bundle(_bundle_path(app, entry))
        infos[int(entry["gie_unique_id"])] = SecondaryInfo(bundle.network.name, bundle.labels)
    return infos


def run_pipeline_app(app: str | os.PathLike, sources: list[str] | None, output: str | os.PathLike, *,
                     triton: bool = False, force: bool = False, runner=run_plan) -> int:
    """Run APP's deepstream_app.txt with pyds; write labels/<source>_<frame>.txt (primary objects,
    KITTI) and results.json (the CPU cascade's layout) into ``output`` atomically; returns the frames."""
    app = Path(app)
    manifest = read_pipeline(app)
    primary = load_bundle(_bundle_path(app, manifest["primary"]))
    infos = secondary_infos(app)
    with atomic_directory(output, overwrite=force, inputs=(app,)) as root:
        plan = plan_app(app, sources, triton=triton, output=root)
        for target in plan.output_files:
            target.parent.mkdir(parents=True, exist_ok=True)
        frames: list[FrameMeta] = []
        runner(plan, frames.extend)
        stems = source_stems(plan.uris)
        records = []
        for frame in sorted(frames, key=lambda f: (f.source_id, f.frame_num)):
            write_kitti(root / "labels" / f"{stems[frame.source_id]}_{frame.frame_num:06d}.txt",
                        frame_detections(frame, plan.mux_size), primary.labels)
            records.append(frame_record(frame, plan.uris[frame.source_id], plan.mux_size, primary.labels, infos))
        tracker = plan.element("tracker").properties if any(e.name == "tracker" for e in plan.elements) else None
        run = {"pipeline": str(app.absolute()), "app_config": plan.config.name, "primary": primary.network.name,
               "backend": "deepstream-" + plan.gies[0].plugin,
               "tracker": manifest.get("tracker", "none") if tracker is not None else "none",
               "tracking_library": f"nvtracker ({Path(str(tracker['ll-lib-file'])).name})"
               if tracker and "ll-lib-file" in tracker else None,
               "secondaries": [{"gie_unique_id": g.unique_id, "network": infos[g.unique_id].network
                                if g.unique_id in infos else None, "config": str(g.config),
                                "operate_on_gie_id": g.operate_on_gie_id, "operate_on_class_ids": list(g.class_ids)}
                               for g in plan.gies[1:]],
               "sources": plan.uris, "mux_size": list(plan.mux_size), "coordinates": "frame pixels"}
        atomic_write_text(root / "results.json", json.dumps({**run, "images": records}, indent=1) + "\n")
    return len(frames)
