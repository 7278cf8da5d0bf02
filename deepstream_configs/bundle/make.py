"""`taostream bundle`: one folder with everything to deploy a TAO model.

model.onnx (portable: plugin nodes TensorRT 11 lacks replaced, INT8 as Q/DQ), and for TensorRT <= 10
the plugin graph plus its calibration cache; labels.txt; deepstream/ (nvinfer, deepstream-app,
nvinferserver); triton/ (repository); lib/ (the parser library, when built); manifest.json. Which graph
nvinfer loads, implicit INT8 or Q/DQ, and the manifest's targets follow the TensorRT each DeepStream
release runs per platform (versions.py); a target whose TensorRT parses neither graph is refused with
the ops it lacks. The whole folder appears at once or not at all, and the model key is never written.
"""

from __future__ import annotations

import json
import logging
import os
import platform as host_platform
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy
import onnx

from taostream import __version__
from taostream.converter.errors import TaostreamError, UnsupportedOpError
from taostream.converter.fileio import (
    atomic_directory, atomic_write_bytes, atomic_write_text, check_input_file, check_output_folder, sha256_file,
)
from taostream.converter.model.loader import load_onnx_model, open_model
from taostream.converter.modernize.regions import decode_layers
from taostream.converter.model.classes import model_classes
from taostream.converter.numeric_inputs import require_batch_size, require_dla_core
from taostream.converter.registry import Network, get_network, require_model_network
from taostream.converter.engine.onnx_ops import describe, unparsable_ops
from taostream.converter.trt_support import plugin_op, removed_in
from taostream.deepstream_configs.app import AppOptions, Sink, Source, write_app_config
from taostream.deepstream_configs.bundle.deploy import triton_gpu_models, write_deployment
from taostream.deepstream_configs.bundle.int8 import (
    DEFAULT_TENSORRT, calibration_images, image_calibrator, route_cache_facts, route_cache_text,
)
from taostream.deepstream_configs.bundle.jetson_library import jetson_parser_library, parser_library_manifest_entry
from taostream.deepstream_configs.bundle.labels_file import labels_from_file
from taostream.deepstream_configs.elf_symbols import (
    object_info_bytes_for, parser_object_info_bytes, rotation_angle_option,
)
from taostream.deepstream_configs.labels import LabelSources, Labels, labels_for_network, require_label_count
from taostream.deepstream_configs.bundle.manifest import MANIFEST_VERSION
from taostream.deepstream_configs.bundle.plugins_library import (
    BUNDLE_PATH, README_NAME as PLUGINS_README, check_plugins_library, find_plugins_library, missing_library_text,
    plugins_manifest_entry, tensorrt_mismatch)
from taostream.plugins.library import build_command, library_ops_of
from taostream.deepstream_configs.nvinfer_clustering import nvinfer_clustering
from taostream.deepstream_configs.nvinfer import (
    DEFAULT_DEEPSTREAM, LPR_DICT_ENV, LPR_DICT_FILE, PARSER_ENV_FILE, PARSER_LIBRARY_NAME, NvinferOptions,
    deepstream_major, write_nvinfer_config)
from taostream.deepstream_configs.specs.access import load_spec_file
from taostream.deepstream_configs.specs.published_defaults import published_cluster_settings, published_preprocessing
from taostream.deepstream_configs.triton.nvinferserver import NvinferserverOptions, write_nvinferserver_config
from taostream.deepstream_configs.specs.settings import (
    PARSER_SETTINGS_ENV, cluster_settings_from_spec, input_dims_from_spec, preprocessing_from_spec)
from taostream.deepstream_configs.triton.repository import TritonModelOptions, write_triton_repository
from taostream.deepstream_configs.versions import (
    DEEPSTREAM_RELEASES, PLATFORMS, implicit_int8_route, tensorrt_for)
from taostream.parsers.build import (
    DEFAULT_BUILD_DIR, LIBRARY_ENV, ParserBuildError, build_folder_lock, build_parser_library, configure,
    find_parser_library, refreshed_parser_library,
)
from taostream.plugins.pipeline import PluginPipeline
from taostream.plugins.pipeline_compile import (
    check_savable, compile_plugin_pipeline, example_feeds, is_typed, serving_host_library, serving_modules,
    type_from_run,
)

log = logging.getLogger(__name__)

SAMPLE_STREAM = "/opt/nvidia/deepstream/deepstream/samples/streams/sample_1080p_h264.mp4"
PLUGIN_MODEL = "model_trt10.onnx"
CALIBRATION = "calibration.bin"


@dataclass
class BundleRequest:
    model: Path
    network: str
    output: Path
    spec: Path | None = None
    key: str | None = None
    deepstream: str = DEFAULT_DEEPSTREAM
    platform: str = "x86"
    precision: str = "fp16"
    calibration_cache: Path | None = None
    classmap: Path | None = None
    annotations: Path | None = None
    batch_size: int = 1
    force: bool = False
    tlt2_labels: bool = False  # TLT 2.0 SSD/DSSD/RetinaNet: no background class
    labels: Path | None = None  # an NGC labels.txt (one class per line, or a classifier's a;b;c)
    calibrate_images: Path | None = None  # INT8 from fresh scales of these images instead of a cache
    calibration_method: str = "entropy"  # with calibrate_images: entropy (TensorRT's default), minmax, percentile
    triton_gpu: str = "onnx-trt"  # the Triton GPU model: onnx-trt (no build step) | plan | both
    plugins: str = "tensorrt"  # whose plugin library runs kept plugins: tensorrt | taostream (libtaostream_plugins.so)
    plugins_library: Path | None = None  # with plugins="taostream": the built library to ship


@dataclass
class BundleSettings:
    """What a bundle takes from elsewhere than a TAO spec (`migrate`: an old DeepStream config): the
    labels in model class-id order, the input dims when the model does not fix them, and NvinferOptions
    fields (preprocessing, cluster, gie_unique_id, extra, ...) that replace the registry's defaults in
    the nvinfer, nvinferserver and CPU Triton configs."""

    labels: list[str]
    labels_source: str  # where they came from, for messages (e.g. "labelfile-path=labels.txt in old.txt")
    dims: tuple[int, int, int] | None = None
    nvinfer: dict = field(default_factory=dict)


@dataclass
class BundleResult:
    path: Path
    manifest: dict
    warnings: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)  # post-processing values no spec gave, and their source


@dataclass
class _Model:
    proto: object  # onnx.ModelProto
    source_format: str  # "etlt(uff)", "etlt(onnx)", "onnx", "uff"
    input_name: str
    input_shape: tuple[int, ...]  # without batch
    outputs: dict[str, tuple[int, ...]]  # without batch


def _load_model(request: BundleRequest) -> _Model:
    opened = open_model(request.model, request.key)
    proto = load_onnx_model(opened)
    source_format = f"etlt({opened.format})" if opened.encrypted else opened.format
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise TaostreamError(f"{request.model}: expected one image input, the model has {len(inputs)}")
    shape = _dims(inputs[0])
    if shape and len(shape) != 4:
        # TAO's vision models take [N, C, H, W] (or [N, H, W, C]); anything else (a [N, 67] feature vector) is no
        # image model, and a bundle of it would pass check with made-up image dims and fail in DeepStream.
        shown = ", ".join("N" if d < 0 else str(d) for d in shape)
        raise TaostreamError(f"{request.model}: its input {inputs[0].name} is [{shown}], not an image batch "
                             "[N, C, H, W]: this is not a TAO vision model export; pass the .etlt/.onnx `tao export` wrote")
    return _Model(proto, source_format, inputs[0].name, shape[1:],
                  {o.name: _dims(o)[1:] for o in proto.graph.output})


def _check_model_is_network(model: _Model, net: Network, request: BundleRequest) -> None:
    """Refuse a --network the model's outputs contradict (they would reach the wrong parser)."""
    ops = {node.op_type for node in model.proto.graph.node}
    require_model_network(net, [model.input_name], list(model.outputs), ops, source=str(request.model))


def _dims(value_info) -> tuple[int, ...]:
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in value_info.type.tensor_type.shape.dim)


def _chw(net: Network, shape: tuple[int, ...], spec_dims, request: BundleRequest) -> tuple[int, int, int]:
    if len(shape) == 3 and all(d > 0 for d in shape):
        return (shape[2], shape[0], shape[1]) if net.input_order == "NHWC" else tuple(shape)
    if spec_dims:
        return spec_dims
    log.warning("%s: the model's input size is dynamic and no spec gives it; using %s", request.model, net.default_dims)
    return net.default_dims


def _label_source(request: BundleRequest, net: Network) -> str:
    """Where the bundle's label list comes from, as the user named it (for messages)."""
    if net.label_rule == "classmap":
        return f"--classmap {request.classmap}" if request.classmap else "the placeholder labels (no --classmap)"
    if net.label_rule in ("mask_rcnn", "efficientdet") and request.annotations:
        return f"--annotations {request.annotations}"
    return f"--spec {request.spec}"


def _needs_modernizer(proto, precision: str) -> bool:
    ops = {node.op_type for node in proto.graph.node}
    return precision == "int8" or any(removed_in(op, "11") for op in ops)


def _modernize(proto, request: BundleRequest, fresh_scales: dict[str, float]):
    try:
        # lazy: optional (a build without converter.modernize)
        from taostream.converter.modernize.apply import modernize
    except ModuleNotFoundError as exc:
        if exc.name != "taostream.converter.modernize.apply":
            raise
        raise TaostreamError(
            f"{request.model}: this model needs the modernizer (TensorRT 11 plugin replacement or INT8 Q/DQ) and "
            "this taostream build has no taostream.converter.modernize.apply; use --precision fp16 with a model "
            "that has no removed plugins, or update taostream"
        ) from None
    calibration = str(request.calibration_cache) if request.calibration_cache and request.precision == "int8" else None
    calibrate = None
    if request.calibrate_images is not None and request.precision == "int8":
        calibrate = image_calibrator(request.calibrate_images, get_network(request.network), fresh_scales,
                                     request.calibration_method)
    modern, report = modernize(proto, target="11", keep_plugins=False, calibration_cache=calibration,
                               calibrate=calibrate, network=request.network, source=str(request.model),
                               plugins=request.plugins)
    # The Q/DQ report's warnings (a cache that looks like another model's) reach the user.
    source = request.calibration_cache or request.calibrate_images
    return modern, [f"{source}: {line[len('warning: '):]}" for line in report.int8
                    if line.startswith("warning: ")]


def _cpu_model(proto, request: BundleRequest, warnings: list[str]):
    """What the CPU Triton model runs: the plugin-free FP32 graph for ONNX Runtime, or, for a graph no
    plugin-free rewrite exists for (MaskRCNN), its compiled plugin-reference pipeline; None if neither."""
    if not _has_plugin_nodes(proto):
        return proto
    from taostream.converter.modernize.apply import modernize  # lazy: heavy (loads onnx_graphsurgeon)

    try:
        cpu, _ = modernize(proto, target="ort", network=request.network, source=str(request.model))
    except UnsupportedOpError as exc:
        return _cpu_pipeline(proto, request, warnings, exc)
    return cpu


def _cpu_pipeline(proto, request: BundleRequest, warnings: list[str], no_rewrite: Exception):
    """The graph as standard ONNX Runtime segments plus the plugins' numpy references, checked to be
    savable and servable without taostream; None (with a warning) otherwise."""
    try:
        pipeline = compile_plugin_pipeline(proto)
        serving_modules(pipeline)
        feeds = example_feeds(pipeline)
        if not is_typed(pipeline) and feeds is not None:  # plugin outputs without value_info (UFF translations)
            type_from_run(pipeline, feeds, str(request.model))
        check_savable(pipeline, str(request.model))
    except TaostreamError as exc:
        warnings.append(f"no CPU Triton model: {no_rewrite}; and no plugin-reference pipeline either: {exc}")
        return None
    return pipeline


def _tool_versions() -> dict[str, str]:
    versions = {"taostream": __version__, "python": host_platform.python_version(), "numpy": numpy.__version__,
                "onnx": onnx.__version__}
    try:
        import onnxruntime  # lazy: heavy

        versions["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return versions


def _find_parser_library(warnings: list[str], major: int) -> Path | None:
    """A parser library with the detection-struct layout of DeepStream ``major``; the matching
    variant is built once with CMake when the existing build has the other layout (or none)."""
    wanted = object_info_bytes_for(major)
    try:  # a build older than the sources is brought up to date first (never $TAOSTREAM_PARSER_LIBRARY)
        found = find_parser_library() if os.environ.get(LIBRARY_ENV) else refreshed_parser_library()
    except ParserBuildError as exc:
        warnings.append(f"updating the parser library failed: {str(exc).splitlines()[0]}")
        found = find_parser_library()
    if found is not None and parser_object_info_bytes(found) in (None, wanted):
        return Path(found)
    if found is not None and os.environ.get(LIBRARY_ENV):
        warnings.append(f"${LIBRARY_ENV}={found} was built for another DeepStream than {major}; "
                        "`taostream check` will flag it: rebuild it or unset the variable")
        return Path(found)
    variant = Path(f"{DEFAULT_BUILD_DIR}-ds{9 if wanted == 28 else 8}")
    try:
        existing = refreshed_parser_library(variant)
    except ParserBuildError as exc:
        warnings.append(f"updating the parser library failed: {str(exc).splitlines()[0]}")
        existing = find_parser_library(variant)
    if existing is not None and parser_object_info_bytes(existing) == wanted:
        return existing
    if shutil.which("cmake") is None:
        return None
    print(f"taostream: building the DeepStream {major} parser library once with CMake ...", file=sys.stderr, flush=True)
    try:
        with build_folder_lock(variant):  # another process building it now: wait, then find it built
            configure(variant, cmake_args=(f"-DTAOSTREAM_DS_ROTATION_ANGLE={rotation_angle_option(wanted)}",
                                           "-DTAOSTREAM_PARSERS_FUZZ=OFF"))
            return build_parser_library(variant)
    except ParserBuildError as exc:
        warnings.append(f"building the parser library failed: {str(exc).splitlines()[0]}")
        return None


def _validate_request(request: BundleRequest, net: Network, settings: BundleSettings | None = None) -> None:
    deepstream_major(request.deepstream)
    if request.platform not in ("x86", "jetson"):
        raise TaostreamError(f"--platform {request.platform}: use x86 or jetson")
    if request.precision not in ("fp32", "fp16", "int8"):
        raise TaostreamError(f"--precision {request.precision}: use fp32, fp16 or int8")
    if request.precision == "int8" and request.calibration_cache is None and request.calibrate_images is None:
        raise TaostreamError("--precision int8 needs --calibration-cache CAL (the cal.bin from `tao export`) or "
                             "--calibrate-images DIR; or use --precision fp16")
    if request.calibration_cache is not None and request.calibrate_images is not None:
        raise TaostreamError("give --calibration-cache or --calibrate-images, not both")
    if request.calibrate_images is not None:
        calibration_images(request.calibrate_images)
    if request.calibration_cache is not None:
        check_input_file(request.calibration_cache, "--calibration-cache", "the calibration cache file (cal.bin)")
    if request.spec is None and request.labels is None and net.label_rule != "classmap" and settings is None:
        raise TaostreamError(f"--spec SPEC or --labels LABELS is needed: {net.name}'s class names come from the "
                             "experiment or inference spec, or from the labels.txt an NGC model ships with")
    for option, given, rules, owners in (("--classmap", request.classmap, ("classmap",), "classification"),
                                         ("--annotations", request.annotations, ("mask_rcnn", "efficientdet"),
                                          "MaskRCNN and EfficientDet"),
                                         ("--tlt2-labels", request.tlt2_labels, ("ssd",), "SSD, DSSD and RetinaNet")):
        if given and net.label_rule not in rules:  # it would be ignored: the user meant something else
            raise TaostreamError(f"{option} is for {owners} models only; --network {net.name} takes its classes "
                                 "from --spec or --labels: drop it (or check --network)")
    require_batch_size(request.batch_size)
    if request.plugins not in ("tensorrt", "taostream"):
        raise TaostreamError(f"--plugins {request.plugins}: use tensorrt or taostream")
    if request.plugins_library is not None:
        if request.plugins != "taostream":
            raise TaostreamError("--plugins-library ships libtaostream_plugins.so: add --plugins taostream")
        check_plugins_library(Path(request.plugins_library), request.platform, (),  # the kept ops: once planned
                              deepstream_major=deepstream_major(request.deepstream))


def _has_plugin_nodes(proto) -> bool:
    return any(plugin_op(node.op_type) for node in proto.graph.node)


@dataclass
class _Route:
    """What one DeepStream platform (x86 or Jetson) of the bundle's release loads, from versions.py."""

    platform: str
    tensorrt: str
    model: str | None  # the graph nvinfer loads there (model.onnx or PLUGIN_MODEL); None: neither parses
    int8: str | None  # "calibration" (implicit, plugin graph + cache) | "q/dq" | None (not INT8)
    why: str  # why this graph, or why none

    def manifest_entry(self, deepstream: str, configured: bool) -> dict:
        entry = {"name": f"DeepStream {deepstream} {self.platform} (TensorRT {self.tensorrt})",
                 "platform": self.platform, "deepstream": deepstream, "tensorrt": self.tensorrt,
                 "model": self.model, "int8": self.int8,
                 "calibration": CALIBRATION if self.int8 == "calibration" else None,
                 "configs": configured, "why": self.why}
        return entry


def _route(platform: str, deepstream: str, precision: str, original, modern, plugin_route: bool,
           provided=frozenset()) -> _Route:
    """Which graph DeepStream ``deepstream`` on ``platform`` loads. Candidates: the modernized graph
    (model.onnx; INT8 as Q/DQ) and, when the bundle carries it, the plugin graph (INT8 by implicit
    calibration from the cache, which TensorRT 11 removed). The platform's preference comes first
    (implicit INT8 where versions.implicit_int8_route says so; otherwise the plugin graph on Jetson,
    the modernized one on x86); a candidate its TensorRT cannot parse is skipped. ``provided``: the
    plugin ops the bundle's libtaostream_plugins.so registers (--plugins taostream) for model.onnx."""
    trt = tensorrt_for(deepstream, platform)
    int8 = precision == "int8"
    implicit = implicit_int8_route(deepstream, platform)
    candidates = [("model.onnx", modern, "q/dq")]
    if plugin_route:
        plugin = (PLUGIN_MODEL, original, "calibration")
        prefer_plugin = implicit if int8 else platform == "jetson"
        candidates = [plugin, *candidates] if prefer_plugin else [*candidates, plugin]
    refusals = []
    for name, graph, int8_mode in candidates:
        if int8 and int8_mode == "calibration" and int(trt.split(".")[0]) >= 11:
            refusals.append(f"{name}: TensorRT {trt} has no implicit INT8 calibration")
            continue
        problems = unparsable_ops(graph, trt, provided=provided if graph is modern else frozenset())
        if problems:
            refusals.append(f"{name}: {describe(problems)}")
            continue
        why = f"TensorRT {trt} parses {name}" + (f"; INT8 by {'implicit calibration from the cache' if int8_mode == 'calibration' else 'Q/DQ nodes'}" if int8 else "")
        if refusals:
            why += f" (not {'; not '.join(refusals)})"
        return _Route(platform, trt, name, int8_mode if int8 else None, why)
    return _Route(platform, trt, None, None, "; ".join(refusals))


def _first_release_that_parses(platform: str, precision: str, original, modern, plugin_route: bool,
                               provided=frozenset()) -> str | None:
    for version in DEEPSTREAM_RELEASES:
        if _route(platform, version, precision, original, modern, plugin_route, provided).model is not None:
            return version
    return None


@dataclass
class _Plan:
    """What goes into the bundle, decided before anything is written."""

    net: Network
    model: _Model
    modern: object  # the ONNX every TensorRT >= 10 (and ONNX Runtime, if plugin-free) runs
    plugin_route: bool  # also write the original plugin graph + calibration cache (TensorRT <= 10, Jetson)
    labels: Labels
    dims: tuple[int, int, int]
    spec: object
    warnings: list[str]
    cpu_model: object | None  # the CPU Triton model's plugin-free FP32 graph or PluginPipeline, or None
    cluster: object = None  # ClusterSettings: thresholds and clustering, from the spec or published defaults
    defaults: list[str] = field(default_factory=list)  # which values are defaults, and whose
    nvinfer_overrides: dict = field(default_factory=dict)  # BundleSettings.nvinfer (its cluster is .cluster)
    routes: dict[str, _Route] = field(default_factory=dict)  # platform -> what it loads (versions.py)
    fresh_scales: dict[str, float] = field(default_factory=dict)  # --calibrate-images: tensor -> scale
    library_ops: list[str] = field(default_factory=list)  # --plugins taostream: the ops model.onnx keeps for it


def plan_bundle(request: BundleRequest, settings: BundleSettings | None = None) -> _Plan:
    """Decode, translate and modernize; labels and settings from the spec, or from ``settings``."""
    net = get_network(request.network)
    _validate_request(request, net, settings)
    spec = load_spec_file(request.spec) if request.spec else None
    model = _load_model(request)
    _check_model_is_network(model, net, request)
    given_dims = settings.dims if settings is not None else None
    dims = _chw(net, model.input_shape, given_dims or (input_dims_from_spec(net, spec) if spec else None), request)
    require_batch_size(request.batch_size, per_sample=dims)
    classes = model_classes(model.proto, net)
    if settings is not None:
        labels = Labels(list(settings.labels))
        label_source = settings.labels_source
    elif request.labels is not None:
        labels = labels_from_file(request.labels, net, spec, str(request.spec or ""))
        label_source = f"--labels {request.labels}"
    else:
        sources = LabelSources(classmap=request.classmap, coco_annotations=request.annotations,
                               tlt2=request.tlt2_labels, class_count_hint=classes.count if classes else None)
        labels = labels_for_network(net, spec, sources, source=str(request.spec or request.model))
        label_source = _label_source(request, net)
    require_label_count(labels.names, classes, label_source, str(request.model), request.tlt2_labels)
    overrides = dict(settings.nvinfer) if settings is not None else {}
    if "cluster" in overrides:
        cluster, defaults = overrides.pop("cluster"), []
    else:
        cluster, defaults = _cluster_settings(net, spec, labels.names, request)
    if spec is None and "preprocessing" not in overrides:
        preprocessing, notes = published_preprocessing(net, request.network)
        if preprocessing is not None:
            overrides["preprocessing"] = preprocessing
            defaults = [*defaults, *notes]
    warnings = list(labels.warnings)
    if request.calibration_cache is not None and request.precision != "int8":
        warnings.append(f"{request.calibration_cache}: --calibration-cache is unused with --precision "
                        f"{request.precision} (only INT8 reads it), so the bundle does not ship it")
    modern, plugin_route, fresh_scales = model.proto, False, {}
    if _needs_modernizer(model.proto, request.precision):
        modern, int8_warnings = _modernize(model.proto, request, fresh_scales)
        warnings += int8_warnings
        plugin_route = True
    library_ops = _library_ops(modern, request)
    routes = {platform: _route(platform, request.deepstream, request.precision, model.proto, modern, plugin_route,
                               frozenset(library_ops)) for platform in PLATFORMS}
    chosen = routes[request.platform]
    if chosen.model is None:
        newer = _first_release_that_parses(request.platform, request.precision, model.proto, modern, plugin_route,
                                           frozenset(library_ops))
        fix = (f"target DeepStream {newer} or newer (--deepstream {newer})" if newer
               else "no DeepStream release taostream targets can load it")
        raise TaostreamError(
            f"{request.model}: DeepStream {request.deepstream} on {request.platform} runs TensorRT {chosen.tensorrt}, "
            f"which cannot parse this model ({chosen.why}); {fix}")
    if request.plugins == "taostream" and not library_ops:
        warnings.append(f"{request.model}: --plugins taostream: model.onnx keeps no plugin libtaostream_plugins.so "
                        "provides, so the bundle does not ship it")
    if library_ops:
        warnings.append(f"{request.model}: model.onnx keeps {', '.join(library_ops)} for lib/libtaostream_plugins.so "
                        "(--plugins taostream), which deepstream/config_infer_primary.txt loads (custom-lib-path)")
    elif _has_plugin_nodes(modern):
        warnings.append(f"{request.model}: model.onnx keeps TensorRT plugin nodes the target TensorRT still ships "
                        f"({net.name}); TensorRT loads them from its plugin library")
    cpu = _cpu_model(model.proto, request, warnings)
    return _Plan(net, model, modern, plugin_route, labels, dims, spec, warnings, cpu, cluster, defaults, overrides, routes,
                 fresh_scales, library_ops)


def _library_ops(modern, request: BundleRequest) -> list[str]:
    """The ops model.onnx keeps for libtaostream_plugins.so (--plugins taostream), else none."""
    if request.plugins != "taostream":
        return []
    return library_ops_of(node.op_type for node in modern.graph.node)


def _cluster_settings(net: Network, spec, labels: list[str], request: BundleRequest):
    """(ClusterSettings, notes): the spec's thresholds and clustering, or, with no spec, NVIDIA's
    published defaults for the model ``--network`` names (the registry's for a plain network)."""
    if spec is not None:
        return cluster_settings_from_spec(net, spec, labels), []

    published = published_cluster_settings(net, request.network, labels)
    return published.settings, published.notes


def _write_models(plan: _Plan, request: BundleRequest, root: Path) -> None:
    atomic_write_bytes(root / "model.onnx", plan.modern.SerializeToString())
    if plan.plugin_route:
        atomic_write_bytes(root / PLUGIN_MODEL, plan.model.proto.SerializeToString())
        if request.precision == "int8":
            calibrating = [plan.routes[request.platform], *plan.routes.values()]
            tensorrt = next((r.tensorrt for r in calibrating if r.int8 == "calibration"), DEFAULT_TENSORRT)
            atomic_write_text(root / CALIBRATION, route_cache_text(
                plan.model.proto, cache_path=request.calibration_cache, scales=plan.fresh_scales, network=plan.net,
                tensorrt=tensorrt))


def _nvinfer_options(plan: _Plan, request: BundleRequest, dla_core: int | None) -> NvinferOptions:
    route = plan.routes[request.platform]
    calibrated = route.int8 == "calibration"
    options = NvinferOptions(
        network=plan.net,
        model_file=f"../{route.model}",
        labels_file="../labels.txt",
        num_classes=len(plan.labels),
        dims=plan.dims,
        deepstream=request.deepstream,
        platform=request.platform,
        precision=request.precision,
        # The plugin graph calibrates implicitly from the cache; model.onnx carries INT8 as Q/DQ nodes, and
        # nvinfer sets TensorRT's INT8 flag only with a calibrator (nvinfer.py, _qdq_calibrator_note), so a
        # Q/DQ config names the bundle's cache too where it has one.
        int8_source="calibration" if calibrated else "qdq",
        calibration_file=(f"../{CALIBRATION}" if calibrated or (request.precision == "int8" and plan.plugin_route)
                          else None),
        batch_size=request.batch_size,
        dla_core=dla_core,
        output_names=tuple(plan.model.outputs),
        # libtaostream_plugins.so has the parsers compiled in: one custom-lib-path serves both
        custom_lib_path=f"../{BUNDLE_PATH}" if plan.library_ops else f"../lib/{PARSER_LIBRARY_NAME}",
        preprocessing=preprocessing_from_spec(plan.net, plan.spec),
        cluster=plan.cluster,
        fp32_layers=tuple(decode_layers(plan.model.proto)) if calibrated and plan.net.int8_fp32_decode else (),
    )
    return replace(options, **plan.nvinfer_overrides)


def _letterbox_as_nvinfer(net, options: NvinferOptions):
    """The network with the nvinfer config's maintain-aspect-ratio / symmetric-padding where a carried key (an
    old config `migrate` read) overrides the network's: the nvinferserver config must letterbox the same way."""
    values = {field: str(options.extra[key]) == "1" for key, field in (
        ("maintain-aspect-ratio", "maintain_aspect_ratio"), ("symmetric-padding", "symmetric_padding"))
        if key in options.extra}
    return replace(net, **values) if values else net


def _write_deepstream(plan: _Plan, request: BundleRequest, root: Path, model_name: str, dla_core: int | None) -> None:
    folder = root / "deepstream"
    options = _nvinfer_options(plan, request, dla_core)
    write_nvinfer_config(folder / "config_infer_primary.txt", options)
    common = options.cluster.class_attrs.get("all", {}) if options.cluster else {}
    write_nvinferserver_config(folder / "config_infer_primary_nvinferserver.txt", NvinferserverOptions(
        network=_letterbox_as_nvinfer(plan.net, options), model_name=model_name,
        labels_file="../labels.txt", num_classes=len(plan.labels), repository="../triton",
        max_batch_size=request.batch_size, custom_lib_path=f"../lib/{PARSER_LIBRARY_NAME}",
        preprocessing=options.preprocessing, pre_cluster_threshold=common.get("pre-cluster-threshold"),
        nms_iou_threshold=common.get("nms-iou-threshold"), top_k=common.get("topk"),
        cluster_mode=options.cluster.cluster_mode, input_name=plan.model.input_name,
        class_thresholds={int(key): attrs["pre-cluster-threshold"] for key, attrs in options.cluster.class_attrs.items()
                          if key.isdigit() and attrs.get("pre-cluster-threshold") is not None}))
    if options.cluster.parser_settings:
        # nvinfer cannot hand a parser its clustering settings: DeepStream reads them from here.
        atomic_write_text(folder / PARSER_ENV_FILE, f'{PARSER_SETTINGS_ENV}="{options.cluster.parser_settings}"\n')
    if plan.net.output_layout == "lprnet_ctc":
        # The LPR parser's dictionary, one character per line whatever form labels.txt takes.
        atomic_write_text(root / LPR_DICT_FILE, "".join(f"{name}\n" for name in plan.labels.names))
        atomic_write_text(folder / PARSER_ENV_FILE, f'{LPR_DICT_ENV}="../{LPR_DICT_FILE}"\n')
    _, height, width = plan.dims
    sinks = [Sink("fake")]
    for name, config, plugin_type in (("deepstream_app.txt", "config_infer_primary.txt", 0),
                                      ("deepstream_app_triton.txt", "config_infer_primary_nvinferserver.txt", 1)):
        write_app_config(folder / name, AppOptions(
            primary_config=config, sources=[Source("file", f"file://{SAMPLE_STREAM}")], width=width, height=height,
            batch_size=request.batch_size, sinks=sinks, platform=request.platform, primary_plugin_type=plugin_type,
            display_mask=plan.net.network_type == 3))


def _write_triton(plan: _Plan, request: BundleRequest, root: Path, model_name: str) -> None:
    # The CPU model post-processes with exactly the settings the DeepStream parser gets.
    cluster = plan.cluster
    parameters = {}
    if cluster.parser_settings:
        parameters["detectnet_v2_clustering"] = cluster.parser_settings
    if cluster.class_thresholds:
        parameters["class_thresholds"] = ",".join(repr(t) for t in cluster.class_thresholds)
    # The same numbers as the nvinfer config's [class-attrs-all] (the spec's, not only the registry's).
    common = cluster.class_attrs.get("all", {})
    if common.get("nms-iou-threshold") is not None:
        parameters["nms_iou_threshold"] = repr(float(common["nms-iou-threshold"]))
    # nvinfer clusters the parser's list again (cluster-mode, nms-iou-threshold, topk): so does the CPU model.
    clustering = nvinfer_clustering(root / "deepstream" / "config_infer_primary.txt")
    if clustering is not None:
        parameters["nvinfer_clustering"] = clustering.to_text()
    if plan.net.output_layout == "lprnet_ctc":
        parameters["characters"] = json.dumps(list(plan.labels.names))  # the CPU model's plate dictionary
    options = TritonModelOptions(
        network=plan.net, model_name=model_name, dims=plan.dims, num_classes=len(plan.labels),
        max_batch_size=max(request.batch_size, 1), input_name=plan.model.input_name,
        model_outputs=dict(plan.model.outputs), parameters=parameters,
        pre_cluster_threshold=common.get("pre-cluster-threshold"))

    if isinstance(plan.cpu_model, PluginPipeline):
        # The CPU model runs the plugins by their C++ host implementations where this host's library
        # fits the serving platform (an x86 build for an x86 bundle), else by the numpy references.
        same_machine = request.platform == "x86" and host_platform.machine() in ("x86_64", "AMD64")
        write_triton_repository(root / "triton", options, pipeline=plan.cpu_model,
                                host_library=serving_host_library(plan.cpu_model) if same_machine else None,
                                **triton_gpu_models(plan.modern, plan.cpu_model, request, plan.warnings))
        return
    cpu = plan.cpu_model.SerializeToString() if plan.cpu_model is not None else None
    write_triton_repository(root / "triton", options, onnx_model=cpu, cpu=cpu is not None,
                            **triton_gpu_models(plan.modern, plan.cpu_model, request, plan.warnings))


def _write_parser_library(root: Path, request: BundleRequest, warnings: list[str]) -> None:
    major = deepstream_major(request.deepstream)
    if request.platform == "jetson" and host_platform.machine() not in ("aarch64", "arm64"):
        # An x86 library is no use on a Jetson: cross-build the aarch64 one when the toolchain is here
        # (nvinfer builds the engine from the ONNX on the device; the parser is the missing piece).

        library = jetson_parser_library(major, warnings)
        if library is not None:
            atomic_write_bytes(root / "lib" / PARSER_LIBRARY_NAME, library.read_bytes(), mode=0o755)
            return
        atomic_write_text(root / "lib" / "README.txt", f"Put the Jetson (aarch64) {PARSER_LIBRARY_NAME} here: on the "
                          "device run scripts/jetson_build.sh --bundle <this folder> (docs/jetson.md), or re-run "
                          "`taostream bundle --platform jetson` on a host with the aarch64 cross compiler "
                          "(apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user).\n")
        return
    library = _find_parser_library(warnings, major)
    if library is not None:
        atomic_write_bytes(root / "lib" / PARSER_LIBRARY_NAME, library.read_bytes(), mode=0o755)
        return
    warnings.append(f"the parser library is not built: build it (cmake -S . -B build && cmake --build build) "
                    f"and copy {PARSER_LIBRARY_NAME} into the bundle's lib/ folder")
    atomic_write_text(root / "lib" / "README.txt", f"Put {PARSER_LIBRARY_NAME} here (build it with CMake on the "
                      "deployment host: cmake -S <taostream> -B build && cmake --build build).\n")


def _write_plugins_library(plan: _Plan, request: BundleRequest, root: Path) -> Path | None:
    """lib/libtaostream_plugins.so when model.onnx keeps plugins for it and a fitting build exists (the
    one --plugins-library gives, else this checkout's); otherwise lib/README_plugins.txt says how to
    build it, and the bundle's warnings say it is missing. Returns where it came from."""
    if not plan.library_ops:
        return None
    library = find_plugins_library(request, plan.library_ops, plan.warnings)
    if library is not None:
        route = plan.routes[request.platform]
        mismatch = tensorrt_mismatch(library, route.tensorrt, f"DeepStream {request.deepstream} on {request.platform}")
        if mismatch is not None and mismatch[0]:
            raise TaostreamError(mismatch[1])
        if mismatch is not None:
            plan.warnings.append(mismatch[1])
        atomic_write_bytes(root / BUNDLE_PATH, library.read_bytes(), mode=0o755)
        return library
    major = deepstream_major(request.deepstream)
    plan.warnings.append(f"{BUNDLE_PATH} is not in the bundle (no --plugins-library and no build here): build it "
                         f"({build_command(major)}) and copy build/plugins/libtaostream_plugins.so into lib/; see {PLUGINS_README}")
    atomic_write_text(root / PLUGINS_README, missing_library_text(request.platform, major))
    return None


def _parser_library_entry(root: Path) -> dict | None:
    """manifest.json "parser_library": the shipped library's machine, layout and glibc/libstdc++ needs."""
    library = root / "lib" / PARSER_LIBRARY_NAME
    return parser_library_manifest_entry(library, f"lib/{PARSER_LIBRARY_NAME}") if library.is_file() else None


def _model_classes_entry(plan: _Plan) -> dict | None:
    """manifest.json "model_classes": the class ids the graph outputs, which `infer` and friends
    compare labels.txt with (a hand-edited labels.txt would name every detection wrongly)."""
    classes = model_classes(plan.model.proto, plan.net)
    return {"count": classes.count, "from": classes.where} if classes is not None else None


def _manifest(plan: _Plan, request: BundleRequest, root: Path, model_name: str) -> dict:
    files = [
        {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(root.rglob("*")) if path.is_file() and path.name != "manifest.json"
    ]
    targets = [route.manifest_entry(request.deepstream, platform == request.platform)
               for platform, route in plan.routes.items()]
    return {
        "manifest_version": MANIFEST_VERSION,
        "network": plan.net.name,
        "source_model": {"file": request.model.name, "format": plan.model.source_format,
                         "sha256": sha256_file(request.model)},
        "input": {"name": plan.model.input_name, "dims_chw": list(plan.dims), "order": plan.net.input_order},
        "outputs": {name: list(dims) for name, dims in plan.model.outputs.items()},
        "labels": len(plan.labels),
        "model_classes": _model_classes_entry(plan),
        "precision": request.precision,
        "platform": request.platform,
        "deepstream": request.deepstream,
        "batch_size": request.batch_size,
        "triton_model": model_name,
        "targets": targets,
        "parser_library": _parser_library_entry(root),
        "files": files,
        "tools": _tool_versions(),
        "warnings": plan.warnings,
        "defaults": plan.defaults,
    }


def _model_name(request: BundleRequest, net: Network) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in request.model.stem)
    return stem if stem and stem != "model" else net.name


def log_plan(manifest: dict, output: Path) -> None:
    """What `bundle -v` shows: the network, each target's route and precision, and every file written."""
    source, model_input = manifest["source_model"], manifest["input"]
    log.info("network %s from %s (%s); input %s %s %s; %d labels", manifest["network"], source["file"],
             source["format"], model_input["name"], "x".join(map(str, model_input["dims_chw"])), model_input["order"],
             manifest["labels"])
    log.info("DeepStream %s on %s, batch %s, Triton model %s", manifest["deepstream"], manifest["platform"],
             manifest["batch_size"], manifest["triton_model"])
    for target in manifest["targets"]:
        log.info("route %s: %s, %s%s", target["name"], target["model"], manifest["precision"],
                 f" ({target['why']})" if target.get("why") else "")
    for entry in manifest["files"]:
        log.info("wrote %s (%d bytes)", Path(output) / entry["path"], entry["size"])


def create_bundle(request: BundleRequest, dla_core: int | None = None, settings: BundleSettings | None = None) -> BundleResult:
    """Plan (decode, translate, modernize), then write the bundle folder atomically."""
    require_dla_core(dla_core)
    check_output_folder(request.output, force=request.force, inputs=_inputs(request))  # before the slow planning
    return write_bundle(plan_bundle(request, settings), request, dla_core)


def _inputs(request: BundleRequest) -> tuple:
    """The files a bundle is made from: its output folder must not hold (and so replace) any of them."""
    return (request.model, request.spec, request.labels, request.calibration_cache, request.classmap,
            request.annotations)


def write_bundle(plan: _Plan, request: BundleRequest, dla_core: int | None = None,
                 extra_files: dict[str, str] | None = None) -> BundleResult:
    """Write a planned bundle folder atomically; ``extra_files`` (relative path -> text) are written
    beside the rest and listed in manifest.json."""
    model_name = _model_name(request, plan.net)
    with atomic_directory(request.output, overwrite=request.force, inputs=_inputs(request)) as root:
        for relative, text in (extra_files or {}).items():
            atomic_write_text(root / relative, text)
        _write_models(plan, request, root)
        atomic_write_text(root / "labels.txt", plan.labels.text(plan.net.network_type))
        _write_deepstream(plan, request, root, model_name, dla_core)
        _write_triton(plan, request, root, model_name)
        _write_parser_library(root, request, plan.warnings)
        source = _write_plugins_library(plan, request, root)
        manifest = _manifest(plan, request, root, model_name)
        if plan.library_ops:
            manifest["plugins"] = plugins_manifest_entry(root, plan.library_ops, source,
                                                         deepstream_major(request.deepstream))
        if (root / CALIBRATION).is_file() and request.calibration_cache is not None:
            manifest["calibration_cache"] = route_cache_facts(plan.model.proto, request.calibration_cache, plan.net)
        manifest = write_deployment(root, manifest)
        atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    log_plan(manifest, request.output)
    return BundleResult(Path(request.output), manifest, plan.warnings, plan.defaults)
