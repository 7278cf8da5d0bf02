"""`taostream pipeline`: a deepstream-app pipeline from bundles: a primary detector, a tracker,
secondary classifiers on the detector's objects, N sources batched together and one output.

Layout of APP: ``deepstream_app.txt`` (run it with ``deepstream-app -c``), ``config_infer_primary.txt``
and ``config_infer_secondary_<N>_<name>.txt`` (each bundle's nvinfer config with the pipeline's gie ids,
batch sizes and secondary settings; model and label paths point into the bundles), the tracker YAML,
``taostream_parser.env`` when the primary's parser reads clustering settings from the environment,
``bundles/`` with ``--copy``, and ``pipeline.json`` (what was asked, the bundles used, every file's sha256).
The folder appears at once or not at all; no model key is read or written (bundles hold none).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory, atomic_write_text, sha256_file
from taostream.converter.registry import Network, get_network
from taostream.deepstream_configs import config_schema as schema
from taostream.deepstream_configs.app import Sink, Source, _sink_group, _source_group
from taostream.deepstream_configs.bundle.make import SAMPLE_STREAM
from taostream.deepstream_configs.check.run import deepstream_version
from taostream.deepstream_configs.elf_symbols import object_info_bytes_for
from taostream.deepstream_configs.ini import format_ini, read_ini
from taostream.deepstream_configs.labels import read_labels_file
from taostream.deepstream_configs.nvinfer import DEFAULT_DEEPSTREAM, LPR_DICT_ENV, PARSER_ENV_FILE, deepstream_major
from taostream.deepstream_configs.trackers import require_tracker, tracker_file_name, tracker_group, tracker_yaml

APP_FILE = "deepstream_app.txt"
APP_TRITON_FILE = "deepstream_app_triton.txt"
MANIFEST = "pipeline.json"
PRIMARY_CONFIG = "config_infer_primary.txt"
SINKS = ("fake", "file", "rtsp", "display")
PRIMARY_GIE_ID = 1
SECONDARY_BATCH = 16  # objects per secondary batch, as NVIDIA's sample apps use
_OPTION = re.compile(r":(classes|min-size)=([^:]*)")


@dataclass(frozen=True)
class SecondarySpec:
    """``--secondary BUNDLE[:classes=car,truck][:min-size=WxH]``."""

    bundle: Path
    classes: tuple[str, ...] = ()
    min_size: tuple[int, int] | None = None


def parse_secondary(text: str) -> SecondarySpec:
    match = _OPTION.search(text)
    path = text[:match.start()] if match else text
    options = dict(_OPTION.findall(text[match.start():])) if match else {}
    rest = _OPTION.sub("", text[match.start():]) if match else ""
    unknown = re.search(r":([A-Za-z_-]+)=", path)  # a misspelt option ("clases=") is not part of the folder name
    if rest or not path or unknown:
        what = f"unknown option '{unknown.group(1)}'; " if unknown else ""
        raise TaostreamError(f"--secondary {text}: {what}write BUNDLE[:classes=car,truck][:min-size=WxH]")
    classes = tuple(c.strip() for c in options.get("classes", "").split(",") if c.strip())
    if "classes" in options and not classes:
        raise TaostreamError(f"--secondary {text}: classes= is empty; name the primary's classes (classes=car,truck)")
    size = None
    if "min-size" in options:
        found = re.fullmatch(r"(\d+)[xX](\d+)", options["min-size"].strip())
        if not found:
            raise TaostreamError(f"--secondary {text}: min-size={options['min-size']}: write WxH in pixels (min-size=64x64)")
        size = (int(found.group(1)), int(found.group(2)))
    return SecondarySpec(Path(path), classes, size)


@dataclass
class PipelineRequest:
    output: Path
    primary: Path
    secondaries: list[SecondarySpec] = field(default_factory=list)
    tracker: str = "nvdcf"
    sources: list[str] = field(default_factory=list)  # URIs / paths; default: DeepStream's sample stream
    sink: str = "fake"
    deepstream: str = DEFAULT_DEEPSTREAM
    platform: str = "x86"
    triton: bool = False
    copy: bool = False
    force: bool = False
    output_file: str = "out.mp4"
    rtsp_port: int = 8554
    udp_port: int = 5400


@dataclass
class _Bundle:
    path: Path  # absolute
    manifest: dict
    net: Network
    labels: list[str]
    nvinfer: object  # IniFile of deepstream/config_infer_primary.txt
    name: str  # folder name inside APP/bundles with --copy


@dataclass
class PipelineResult:
    path: Path
    manifest: dict
    notes: list[str]


def _load_bundle(path: Path, role: str) -> _Bundle:
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise TaostreamError(f"{role} {path}: not a bundle folder (no manifest.json); make one with `taostream bundle`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        net = get_network(str(manifest["network"]))
    except (ValueError, KeyError, TaostreamError) as exc:
        raise TaostreamError(f"{manifest_path}: unreadable bundle manifest ({exc}); re-create the bundle") from None
    config = path / "deepstream" / "config_infer_primary.txt"
    if not config.is_file():
        raise TaostreamError(f"{config}: missing from the {role} bundle; copy the whole bundle or re-create it")
    labels_path = path / "labels.txt"
    labels = read_labels_file(labels_path) if labels_path.is_file() else []
    return _Bundle(path.absolute(), manifest, net, labels, read_ini(config), path.absolute().name)


def _source(text: str, platform: str) -> Source:
    lowered = text.lower()
    if lowered.startswith(("rtsp://", "rtsps://")):
        return Source("rtsp", text)
    if lowered.startswith(("http://", "https://")):
        return Source("uri", text)
    if lowered.startswith("csi://"):
        if platform != "jetson":
            raise TaostreamError(f"--source {text}: CSI cameras exist on Jetson only; add --platform jetson")
        return Source("csi", text[len("csi://"):] or "0")
    found = re.fullmatch(r"/dev/video(\d+)", text)
    if found:
        return Source("usb", found.group(1))
    if lowered.startswith("file://"):
        return Source("file", text)
    if "://" in text:
        raise TaostreamError(f"--source {text}: use a file path, file://, rtsp://, http(s)://, /dev/videoN or csi://N")
    # a relative path names a file here (it is made absolute against this folder): a missing one is a typo.
    # An absolute path may be on the DeepStream host (`taostream check APP` reports it missing here).
    path = Path(os.path.abspath(text))
    if path.is_dir():
        raise TaostreamError(f"--source {text}: is a folder; give a video file (or an rtsp:// stream)")
    if not path.exists() and not os.path.isabs(text):
        raise TaostreamError(f"--source {text}: no such file ({path}); fix the path, or give the absolute path the "
                             "file has on the DeepStream host")
    return Source("file", f"file://{path}")


def _resolve_classes(spec: SecondarySpec, primary: _Bundle) -> tuple[int, ...]:
    ids = []
    for name in spec.classes:
        if name not in primary.labels:
            near = [label for label in primary.labels if label.lower() == name.lower()]
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise TaostreamError(f"--secondary {spec.bundle}: class '{name}' is not a class of the primary "
                                 f"{primary.path / 'labels.txt'} ({', '.join(primary.labels)}); {hint}use those names")
        ids.append(primary.labels.index(name))
    return tuple(sorted(set(ids)))


def _require_compatible(bundle: _Bundle, request: PipelineRequest, role: str) -> None:
    platform = bundle.manifest.get("platform", "x86")
    if platform != request.platform:
        raise TaostreamError(f"{role} {bundle.path}: made for platform={platform} but the pipeline is for "
                             f"--platform {request.platform} (its lib/ parser and model route differ); re-create it "
                             f"with `taostream bundle --platform {request.platform}`")
    made_for = str(bundle.manifest.get("deepstream") or DEFAULT_DEEPSTREAM)
    if object_info_bytes_for(deepstream_major(made_for)) != object_info_bytes_for(deepstream_major(request.deepstream)):
        raise TaostreamError(f"{role} {bundle.path}: made for DeepStream {made_for}, whose parser-library struct "
                             f"layout differs from DeepStream {request.deepstream}'s; re-create it with "
                             f"`taostream bundle --deepstream {request.deepstream}`")


def _app_path(bundle: _Bundle, where: str, request: PipelineRequest, value: str) -> str:
    """A path of the bundle's deepstream/ configs as the pipeline's configs in APP write it: inside
    APP/bundles/ with --copy, else absolute."""
    target = Path(value) if os.path.isabs(value) else (bundle.path / "deepstream" / value)
    target = Path(os.path.normpath(target))
    if request.copy and bundle.path in target.parents:
        return os.path.join(where, target.relative_to(bundle.path).as_posix())
    return str(target)


def _path_keys() -> set[str]:
    return {key for key, spec in schema.NVINFER_PROPERTY.items() if spec.type == "path"}


def _gie_config(bundle: _Bundle, where: str, request: PipelineRequest, batch: int, role: dict) -> str:
    """The bundle's nvinfer config with its paths made to work from APP and the pipeline's role."""
    sections: dict[str, dict[str, object]] = {}
    paths = _path_keys()
    for group in bundle.nvinfer.groups:
        values: dict[str, object] = {}
        for entry in group.entries:
            value = entry.value
            if group.name == "property" and entry.key in paths:
                value = _app_path(bundle, where, request, value)
            values[entry.key] = value
        sections[group.name] = values
    prop = sections.setdefault("property", {})
    prop["batch-size"] = batch
    engine = prop.get("model-engine-file")
    if isinstance(engine, str):
        prop["model-engine-file"] = re.sub(r"_b\d+_", f"_b{batch}_", engine)
    for key in ("process-mode", "operate-on-gie-id", "operate-on-class-ids", "input-object-min-width",
                "input-object-min-height", "classifier-async-mode"):
        prop.pop(key, None)
    prop.update(role)
    header = [f"{'primary' if role.get('process-mode') == 1 else 'secondary'} GIE {role['gie-unique-id']} of a "
              f"taostream pipeline: {bundle.net.name} from {bundle.path}", "(written by taostream pipeline)"]
    return format_ini(sections, header)


def _role(bundle: _Bundle, gie_id: int, secondary: SecondarySpec | None, class_ids: tuple[int, ...],
          tracker: bool) -> dict[str, object]:
    if secondary is None:
        return {"gie-unique-id": gie_id, "process-mode": 1}
    role: dict[str, object] = {"gie-unique-id": gie_id, "process-mode": 2, "operate-on-gie-id": PRIMARY_GIE_ID}
    if class_ids:
        role["operate-on-class-ids"] = ";".join(map(str, class_ids))
    if secondary.min_size:
        role["input-object-min-width"], role["input-object-min-height"] = secondary.min_size
    if bundle.net.network_type == 1 and tracker:
        # With tracker ids, nvinfer classifies an object once and attaches the result when it is ready
        # (classifier-async-mode works only with a tracker upstream).
        role["classifier-async-mode"] = 1
    return role


TRITON_REPOSITORY = "triton"
SERVER_CONFIG = "config_infer_primary_nvinferserver.txt"


def _server_config(bundle: _Bundle, where: str, request: PipelineRequest, batch: int, model: str, role: dict) -> str:
    """The bundle's nvinferserver config (taostream's own layout) with the pipeline's unique id, batch,
    model name in APP's shared repository, paths from APP and, for a secondary, input_control on objects."""
    path = bundle.path / "deepstream" / SERVER_CONFIG
    if not path.is_file():
        raise TaostreamError(f"{path}: missing from the bundle; --triton needs it: re-create the bundle")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*)unique_id: \d+", rf"\g<1>unique_id: {role['gie-unique-id']}", text, count=1)
    text = re.sub(r"(?m)^(\s*)max_batch_size: \d+", rf"\g<1>max_batch_size: {batch}", text, count=1)
    text = re.sub(r'model_name: "[^"]*"', f'model_name: "{model}"', text, count=1)
    text = re.sub(r'root: "[^"]*"', f'root: "{TRITON_REPOSITORY}"', text, count=1)
    for key in ("labelfile_path", "path"):
        text = re.sub(rf'(?m)^(\s*){key}: "([^"]*)"',
                      lambda m: f'{m.group(1)}{key}: "{_app_path(bundle, where, request, m.group(2))}"', text)
    control = ["input_control {"]
    if role.get("process-mode") == 2:
        control += ["  process_mode: PROCESS_MODE_CLIP_OBJECTS", f"  operate_on_gie_id: {role['operate-on-gie-id']}"]
        if role.get("operate-on-class-ids"):
            control.append(f"  operate_on_class_ids: [{role['operate-on-class-ids'].replace(';', ', ')}]")
        control.append("  interval: 0")
        if role.get("classifier-async-mode"):
            control.append("  async_mode: true")
        if "input-object-min-width" in role:
            control += ["  object_control {", "    bbox_filter {", f"      min_width: {role['input-object-min-width']}",
                        f"      min_height: {role['input-object-min-height']}", "    }", "  }"]
    else:
        control += ["  process_mode: PROCESS_MODE_FULL_FRAME", "  interval: 0"]
    control.append("}")
    text = re.sub(r"(?ms)^input_control \{.*?^\}\n?", "\n".join(control) + "\n", text, count=1)
    header = (f"# nvinferserver config of GIE {role['gie-unique-id']} of a taostream pipeline: {bundle.net.name} from "
              f"{bundle.path}; model {model} in {TRITON_REPOSITORY}/ (written by taostream pipeline)\n")
    return header + "\n".join(line for line in text.splitlines() if not line.startswith("# nvinferserver config for")) + "\n"


def _triton_model(bundle: _Bundle, where: str, request: PipelineRequest, batch: int, model: str,
                  copies: dict[str, Path]) -> dict[str, str]:
    """APP/triton/<model>/: the bundle's GPU Triton model config under the pipeline's name and batch
    (every nvinferserver of one process shares one in-process repository), and its version folder: the
    bundle's ONNX for an onnx-trt model (added to ``copies``: Triton loads it from there, no build step), or
    for a tensorrt_plan model a README.txt with the command that builds the engine."""
    folder = bundle.path / "triton" / str(bundle.manifest.get("triton_model") or bundle.net.name)
    source = folder / "config.pbtxt"
    if not source.is_file():
        raise TaostreamError(f"{source}: missing from the bundle; --triton needs its Triton model: re-create the bundle")
    config = source.read_text(encoding="utf-8")
    config = re.sub(r'(?m)^name: "[^"]*"', f'name: "{model}"', config, count=1)
    config = re.sub(r"(?m)^max_batch_size: \d+", f"max_batch_size: {batch}", config, count=1)
    texts = {f"{TRITON_REPOSITORY}/{model}/config.pbtxt": config}
    filename = re.search(r'(?m)^default_model_filename: "([^"]*)"', config)
    if filename and filename.group(1) != "model.plan":  # onnx-trt: the served file is the bundle's own
        served = folder / "1" / filename.group(1)
        if not served.is_file():
            raise TaostreamError(f"{served}: missing from the bundle; --triton needs its Triton model: re-create the "
                                 "bundle")
        copies[f"{TRITON_REPOSITORY}/{model}/1/{filename.group(1)}"] = served
        return texts
    onnx = _app_path(bundle, where, request, "../model.onnx")
    onnx = onnx if os.path.isabs(onnx) else f"../../../{onnx}"
    texts[f"{TRITON_REPOSITORY}/{model}/1/README.txt"] = (
        f"Put model.plan here: build it on the serving GPU host for batch {batch} with\n"
        f"  taostream convert {onnx} --batch {batch} -o model.plan\n")
    return texts


def _sink(request: PipelineRequest) -> Sink:
    if request.sink not in SINKS:
        raise TaostreamError(f"--sink {request.sink}: use one of {', '.join(SINKS)}")
    kind = {"display": "egl"}.get(request.sink, request.sink)
    return Sink(kind, output_file=request.output_file, rtsp_port=request.rtsp_port)


def _app_sections(request: PipelineRequest, primary: _Bundle, sources: list[Source], secondaries: list[dict],
                  tracker_config: str | None, plugin_type: int, configs: dict[str, str]) -> dict:
    count = len(sources)
    version = deepstream_version(request.deepstream)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    sections: dict[str, dict[str, object]] = {
        "application": {"enable-perf-measurement": 1, "perf-measurement-interval-sec": 5},
        "tiled-display": {"enable": 1, "rows": rows, "columns": columns, "width": 1280, "height": 720, "gpu-id": 0},
    }
    for index, source in enumerate(sources):
        sections[f"source{index}"] = _source_group(source, 0)
    sink = _sink_group(_sink(request), request.platform, 0)
    if request.sink == "rtsp":
        sink["udp-port"] = request.udp_port
    sections["sink0"] = sink
    sections["osd"] = {"enable": 1, "gpu-id": 0, "border-width": 2, "text-size": 15, "text-color": "1;1;1;1",
                       "text-bg-color": "0.3;0.3;0.3;1", "font": "Serif", "show-clock": 0}
    live = any(s.kind in ("rtsp", "usb", "csi") for s in sources)
    sections["streammux"] = {"gpu-id": 0, "live-source": int(live), "batch-size": count,
                             "batched-push-timeout": 40000 if not live else 33000, "width": 1920, "height": 1080,
                             "enable-padding": 0}
    sections["primary-gie"] = {"enable": 1, "gpu-id": 0, "batch-size": count, "gie-unique-id": PRIMARY_GIE_ID,
                               "config-file": configs["primary"], "plugin-type": plugin_type}
    if tracker_config is not None:
        sections["tracker"] = tracker_group(request.tracker, version, tracker_config)
    for index, secondary in enumerate(secondaries):
        group = {"enable": 1, "gpu-id": 0, "batch-size": secondary["batch"], "gie-unique-id": secondary["id"],
                 "operate-on-gie-id": PRIMARY_GIE_ID}
        if secondary["class_ids"]:
            group["operate-on-class-ids"] = ";".join(map(str, secondary["class_ids"]))
        group.update({"config-file": configs[f"secondary{index}"], "plugin-type": plugin_type})
        sections[f"secondary-gie{index}"] = group
    sections["tests"] = {"file-loop": 0}
    return sections


def _header(request: PipelineRequest, triton: bool, env: str | None = None) -> list[str]:
    lines = [f"deepstream-app pipeline for DeepStream {request.deepstream}, {request.platform} (written by taostream "
             f"pipeline{'; nvinferserver' if triton else ''}); see {MANIFEST}",
             "run: deepstream-app -c <this file>" if env is None else
             f"run from this folder: set -a; . ./{PARSER_ENV_FILE}; set +a; deepstream-app -c <this file> "
             f"(the parser library reads {', '.join(_env_keys(env))} from the environment)"]
    if request.sink == "display":
        lines.append("sink type=2: nveglglessink (EGL) on x86, nv3dsink on Jetson (deepstream-app picks by platform); "
                     "needs a display")
    if request.sink == "rtsp":
        lines.append(f"watch: rtsp://<host>:{request.rtsp_port}/ds-test")
    return lines


def create_pipeline(request: PipelineRequest) -> PipelineResult:
    major = deepstream_major(request.deepstream)
    version = deepstream_version(request.deepstream)
    if request.platform not in ("x86", "jetson"):
        raise TaostreamError(f"--platform {request.platform}: use x86 or jetson")
    require_tracker(request.tracker, version)
    _sink(request)
    output = Path(request.output)
    if output.exists() and not request.force:
        raise TaostreamError(f"{output}: already exists; choose another output folder or pass --force")
    primary = _load_bundle(request.primary, "--primary")
    if primary.net.network_type not in (0, 3):
        raise TaostreamError(f"--primary {request.primary}: a {primary.net.name} bundle is not a detector; the primary "
                             "GIE finds the objects the secondaries work on")
    _require_compatible(primary, request, "--primary")
    secondaries = [(_load_bundle(s.bundle, "--secondary"), s) for s in request.secondaries]
    names = {primary.path: primary.name}  # one folder in APP/bundles per bundle, however often it is used
    for bundle, spec in secondaries:
        _require_compatible(bundle, request, "--secondary")
        if bundle.net.network_type not in (0, 1):
            raise TaostreamError(f"--secondary {spec.bundle}: a {bundle.net.name} bundle cannot run on objects; use a "
                                 "classifier (or a detector) bundle")
        if bundle.path in names:
            bundle.name = names[bundle.path]
            continue
        while bundle.name in names.values():
            bundle.name += "_"
        names[bundle.path] = bundle.name
    sources = [_source(s, request.platform) for s in (request.sources or [SAMPLE_STREAM])]
    count = len(sources)
    notes: list[str] = []
    if not request.sources:
        notes.append(f"no --source: using DeepStream's sample stream {SAMPLE_STREAM}")
    secondary_batch = max(SECONDARY_BATCH, count)

    def where(bundle: _Bundle) -> str:
        return f"bundles/{bundle.name}"

    configs = {"primary": PRIMARY_CONFIG}
    server_configs = {"primary": PRIMARY_CONFIG.replace(".txt", "_nvinferserver.txt")}
    texts: dict[str, str] = {}
    copies: dict[str, Path] = {}  # APP path -> a bundle file to copy there (Triton's onnx-trt models)
    role = _role(primary, PRIMARY_GIE_ID, None, (), request.tracker != "none")
    texts[PRIMARY_CONFIG] = _gie_config(primary, where(primary), request, count, role)
    if request.triton:
        model = f"pgie_{primary.manifest.get('triton_model') or primary.net.name}"
        texts[server_configs["primary"]] = _server_config(primary, where(primary), request, count, model, role)
        texts.update(_triton_model(primary, where(primary), request, count, model, copies))
    planned = []
    for index, (bundle, spec) in enumerate(secondaries):
        gie_id = PRIMARY_GIE_ID + 1 + index
        class_ids = _resolve_classes(spec, primary)
        name = f"config_infer_secondary_{index}_{bundle.net.name}.txt"
        configs[f"secondary{index}"] = name
        role = _role(bundle, gie_id, spec, class_ids, request.tracker != "none")
        texts[name] = _gie_config(bundle, where(bundle), request, secondary_batch, role)
        if request.triton:
            model = f"sgie{index}_{bundle.manifest.get('triton_model') or bundle.net.name}"
            server_configs[f"secondary{index}"] = name.replace(".txt", "_nvinferserver.txt")
            texts[server_configs[f"secondary{index}"]] = _server_config(bundle, where(bundle), request, secondary_batch,
                                                                        model, role)
            texts.update(_triton_model(bundle, where(bundle), request, secondary_batch, model, copies))
        planned.append({"id": gie_id, "class_ids": class_ids, "batch": secondary_batch, "bundle": bundle, "spec": spec})
    tracker_config = None
    if request.tracker != "none":
        tracker_config = tracker_file_name(request.tracker)
        texts[tracker_config] = tracker_yaml(request.tracker, version)
    env = _parser_env(primary, [bundle for bundle, _ in secondaries], request, where)
    texts[APP_FILE] = format_ini(_app_sections(request, primary, sources, planned, tracker_config, 0, configs),
                                 _header(request, False, env))
    if request.triton:
        texts[APP_TRITON_FILE] = format_ini(_app_sections(request, primary, sources, planned, tracker_config, 1,
                                                          server_configs), _header(request, True, env))
    if env is not None:
        texts[PARSER_ENV_FILE] = env
        notes.append(f"the parser library reads its settings ({', '.join(_env_keys(env))}) from {PARSER_ENV_FILE}: "
                     f"start deepstream-app from {output} with them (set -a; . ./{PARSER_ENV_FILE}; set +a)")
    inputs = (request.primary, *(spec.bundle for spec in request.secondaries))  # never replaced by the output
    with atomic_directory(output, overwrite=request.force, inputs=inputs) as root:
        for name, text in texts.items():
            atomic_write_text(root / name, text)
        for name, source in copies.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / name)
        if request.copy:
            for bundle in {b.path: b for b in [primary, *(b for b, _ in secondaries)]}.values():
                shutil.copytree(bundle.path, root / where(bundle), symlinks=True)
        manifest = _manifest(request, root, primary, planned, sources, major)
        atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return PipelineResult(output, manifest, notes)


def _env_keys(text: str) -> list[str]:
    return [line.partition("=")[0] for line in text.splitlines() if "=" in line and not line.startswith("#")]


def _read_parser_env(bundle: _Bundle) -> dict[str, str]:
    """KEY -> value of a bundle's deepstream/taostream_parser.env (empty when it has none)."""
    path = bundle.path / "deepstream" / PARSER_ENV_FILE
    if not path.is_file():
        return {}
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise TaostreamError(f"{path}:{number}: expected KEY=\"value\", found {line[:60]!r}; re-create the bundle")
        values[key.strip()] = value.strip().strip('"')
    return values


def _parser_env(primary: _Bundle, secondaries: list[_Bundle], request: PipelineRequest, where) -> str | None:
    """The one taostream_parser.env of the pipeline: the union of the bundles' settings (the DetectNet_v2
    clustering, LPRNet's dictionary). The parser library reads each from one environment variable per
    process, so two GIEs needing different values of one variable cannot share the pipeline (two LPRNet
    dictionaries with the same characters are one). The dictionary path, relative to the bundle's
    deepstream/ there, becomes absolute, or with --copy relative to APP (deepstream-app runs from APP)."""
    merged: dict[str, tuple[str, _Bundle]] = {}
    for bundle in [primary, *secondaries]:
        for key, value in _read_parser_env(bundle).items():
            if key == LPR_DICT_ENV and value:
                value = _app_path(bundle, where(bundle), request, value)
            if key not in merged:
                merged[key] = (value, bundle)
                continue
            first_value, first = merged[key]
            if value == first_value or (key == LPR_DICT_ENV and _same_characters(first, bundle)):
                continue
            what = "reads its LPR characters from" if key == LPR_DICT_ENV else "clusters with"
            fix = ("give both the same characters_list_file, or run them in separate pipelines" if key == LPR_DICT_ENV
                   else "re-create one bundle with the other's clustering (the same spec or --network), or run "
                   "them in separate pipelines")
            raise TaostreamError(
                f"{bundle.path}: its parser {what} {key}=\"{value}\" but {first.path} needs {key}=\"{first_value}\"; "
                f"DeepStream's parser library reads one {PARSER_ENV_FILE} setting per process, so one of these "
                f"GIEs would parse wrongly: {fix}")
    if not merged:
        return None
    return "".join(f'{key}="{value}"\n' for key, (value, _) in merged.items())


def _same_characters(first: _Bundle, second: _Bundle) -> bool:
    """Two LPRNet bundles whose dictionaries list the same characters (one path serves both)."""
    paths = [Path(os.path.normpath(b.path / "deepstream" / _read_parser_env(b)[LPR_DICT_ENV])) for b in (first, second)]
    return all(p.is_file() for p in paths) and read_labels_file(paths[0]) == read_labels_file(paths[1])


def _manifest(request: PipelineRequest, root: Path, primary: _Bundle, planned: list[dict], sources: list[Source],
              major: int) -> dict:
    def bundle_entry(bundle: _Bundle) -> dict:
        return {"path": f"bundles/{bundle.name}" if request.copy else str(bundle.path), "copied": request.copy,
                "network": bundle.net.name, "manifest_sha256": sha256_file(bundle.path / "manifest.json")}

    files = [{"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p)}
             for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST]
    return {
        "pipeline_version": 1,
        "deepstream": request.deepstream,
        "platform": request.platform,
        "app_config": APP_FILE,
        "app_config_triton": APP_TRITON_FILE if request.triton else None,
        "primary": {**bundle_entry(primary), "gie_unique_id": PRIMARY_GIE_ID, "config": PRIMARY_CONFIG,
                    "labels": primary.labels},
        "secondaries": [{**bundle_entry(s["bundle"]), "gie_unique_id": s["id"],
                         "operate_on_class_ids": list(s["class_ids"]),
                         "operate_on_classes": [primary.labels[i] for i in s["class_ids"]],
                         "min_size": list(s["spec"].min_size) if s["spec"].min_size else None,
                         "batch_size": s["batch"]} for s in planned],
        "tracker": request.tracker,
        "sources": [{"kind": s.kind, "location": s.location} for s in sources],
        "sink": request.sink,
        "batch_size": len(sources),
        "files": files,
    }
