"""`taostream migrate`: an nvinfer config of DeepStream 5.0 to 8.0, and the TAO/TLT model it names,
to a taostream bundle for a current DeepStream (deepstream-app configs: deepstream_configs/migrate/app.py).

Old TAO configs name an encrypted .etlt (``tlt-encoded-model`` + ``tlt-model-key``), a UFF input
(``uff-input-blob-name``, ``uff-input-dims``), an implicit-INT8 cache (``int8-calib-file``) and the
per-network TLT 2.0 parsers (``NvDsInferParseCustomSSDTLT`` in ``libnvds_infercustomparser_ssd_tlt.so``,
...). DeepStream 7+ reads none of it. Here the model is found beside the config, decoded with the
config's key (or the one given), translated from UFF and modernized by `bundle`; the settings the
user ran with (labels, dims, preprocessing, thresholds, clustering, batch, GIE role) are carried over
and override the network's defaults; the parser becomes taostream's. Every difference between the old
[property]/[class-attrs-*] groups and the new ones is reported, with why. The key is used, never
written: the report says only where it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from taostream.converter.errors import EtltError, TaostreamError
from taostream.converter.int8.qdq import QdqError
from taostream.converter.model.loader import load_onnx_model, open_model
from taostream.converter.registry import NETWORKS, Network, get_network, recognise
from taostream.deepstream_configs import config_schema as schema
from taostream.deepstream_configs.bundle.make import (
    BundleRequest, BundleSettings, _nvinfer_options, plan_bundle, write_bundle)
from taostream.deepstream_configs.check.run import parse_value
from taostream.deepstream_configs.ini import IniFile, IniGroup, format_value, read_ini
from taostream.deepstream_configs.labels import label_encoding_problem, read_labels_file
from taostream.deepstream_configs.nvinfer import (
    COLOR_FORMATS, DEFAULT_DEEPSTREAM, deepstream_major, nvinfer_sections)
from taostream.deepstream_configs.specs.settings import ClusterSettings, Preprocessing, cluster_settings_from_spec
from taostream.parsers.reference import DetectNetV2Clustering

REPORT_FILE = "migration.json"
KEY_FROM_CONFIG = "from the config's tlt-model-key"
KEY_GIVEN = "from --key/--key-file/$TAOSTREAM_KEY"

_PRECISION_OF_MODE = {0: "fp32", 1: "int8", 2: "fp16", 3: "fp16"}  # 3 (DS 8 "best"): fp16 is the bundle's nearest
_COLOR_NAMES = {value: name for name, value in COLOR_FORMATS.items()}
_LIBRARY_HINT = re.compile(r"libnvds_infercustomparser_([A-Za-z0-9]+)_tlt\.so$")
_DBSCAN_ENV = "TAOSTREAM_DETECTNET_V2 "  # how the report names the DetectNet_v2 parser's settings
_PARSE_KEYS = ("parse-bbox-func-name", "parse-classifier-func-name", "parse-bbox-instance-mask-func-name")
# nvinfer's clustering parameters per cluster-mode (0 groupRectangles, 1 DBSCAN, 2 NMS, 3 DBSCAN+NMS, 4 none).
_CLUSTER_KEYS = {0: ("eps", "group-threshold"), 1: ("eps", "minBoxes", "dbscan-min-score"),
                 2: ("nms-iou-threshold", "topk"), 3: ("eps", "minBoxes", "dbscan-min-score", "nms-iou-threshold", "topk"),
                 4: ()}
# [class-attrs-*] keys every cluster-mode applies (thresholds and the object filters).
_FILTER_KEYS = ("pre-cluster-threshold", "post-cluster-threshold", "roi-top-offset", "roi-bottom-offset",
                "detected-min-w", "detected-min-h", "detected-max-w", "detected-max-h")
# [property] keys that say which GIE this is in a pipeline (a single migrated config keeps them).
ROLE_KEYS = {"gie-unique-id": "gie_unique_id", "process-mode": "process_mode", "operate-on-gie-id": "operate_on_gie_id",
             "operate-on-class-ids": "operate_on_class_ids", "interval": "interval", "gpu-id": "gpu_id"}
# [property] keys this module maps itself; every other key the target knows is carried as it is.
_MAPPED = {
    "tlt-encoded-model", "tlt-model-key", "onnx-file", "uff-file", "model-file", "proto-file", "mean-file",
    "model-engine-file", "custom-network-config", "engine-create-func-name", "uff-input-blob-name", "uff-input-dims",
    "input-dims", "infer-dims", "uff-input-order", "network-input-order", "is-classifier", "network-type",
    "enable-dbscan", "cluster-mode", "num-detected-classes", "labelfile-path", "int8-calib-file", "network-mode",
    "output-blob-names", "custom-lib-path", "net-scale-factor", "offsets", "model-color-format", "batch-size",
    "enable-dla", "use-dla-core", "force-implicit-batch-dim", "output-io-formats", "layer-device-precision",
    "output-instance-mask", *_PARSE_KEYS, *ROLE_KEYS,
}
# Why an old key has no counterpart in the new config.
_DROPPED_WHY = {
    "tlt-model-key": "the key decoded the model here; DeepStream reads the decoded ONNX and needs no key (never written)",
    "uff-input-blob-name": "the ONNX model names its own input",
    "force-implicit-batch-dim": "TensorRT 10+ has no implicit batch",
    "output-io-formats": "named the old engine's layers; the new ONNX's outputs are plain FP32",
    "layer-device-precision": "named the old engine's layers; taostream sets it where the new graph needs it",
    "engine-create-func-name": "a custom engine-creation function built the old model; the bundle's ONNX needs none",
    "custom-network-config": "a custom network description; the bundle's ONNX replaces it",
    "use-dla-core": "DLA exists only on Jetson: migrate with --platform jetson to keep it",
    "network-input-order": "written only for NHWC models (NCHW is nvinfer's default); the model's order decides",
    "uff-input-order": "network-input-order is written only for NHWC models (NCHW is nvinfer's default)",
    "enable-dla": "DLA exists only on Jetson: migrate with --platform jetson to keep it",
}


@dataclass
class Entry:
    """One line of the report: ``old -> new`` (either may be empty: added or not carried)."""

    config: str
    group: str
    old: str
    new: str
    why: str = ""

    def text(self) -> str:
        old = self.old or "(none)"
        new = self.new or "(not carried)"
        return f"[{self.group}] {old} -> {new}" + (f"  ({self.why})" if self.why else "")


@dataclass
class GieMigration:
    """What became of one GIE: its old config, the model and the bundle made from it."""

    name: str  # "property" for a lone nvinfer config, else the deepstream-app group (primary-gie, ...)
    config: Path
    network: str = ""
    identified_by: str = ""  # which setting told the network
    model: Path | None = None
    labels: Path | None = None
    key: str | None = None  # where the key came from (never the key)
    bundle: Path | None = None
    changes: list[Entry] = field(default_factory=list)
    not_carried: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class MigrationReport:
    source: Path
    kind: str  # nvinfer | deepstream-app
    deepstream: str
    platform: str
    output: Path
    gies: list[GieMigration] = field(default_factory=list)
    changes: list[Entry] = field(default_factory=list)  # the deepstream-app config's own groups
    not_carried: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        def entries(items):
            return [{"config": e.config, "group": e.group, "old": e.old, "new": e.new, "why": e.why} for e in items]

        return {
            "source": str(self.source), "kind": self.kind, "deepstream": self.deepstream, "platform": self.platform,
            "output": str(self.output),
            "gies": [{"name": g.name, "config": str(g.config), "network": g.network, "identified_by": g.identified_by,
                      "model": str(g.model), "labels": str(g.labels), "key": g.key, "bundle": str(g.bundle),
                      "changes": entries(g.changes),
                      "not_carried": entries(g.not_carried), "warnings": g.warnings} for g in self.gies],
            "app": {"changes": entries(self.changes), "not_carried": entries(self.not_carried)},
            "notes": self.notes,
        }

    def json_text(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def text(self) -> str:
        lines = [f"migrated {self.source} ({self.kind}) to DeepStream {self.deepstream}, {self.platform}: {self.output}"]
        for gie in self.gies:
            lines.append(f"{gie.name}: {gie.config} -> {gie.bundle}")
            lines.append(f"  network {gie.network} (from {gie.identified_by}); model {gie.model}"
                         + (f" (key: {gie.key})" if gie.key else "") + f"; labels {gie.labels}")
            lines += [f"  {e.config}: {e.text()}" for e in gie.changes]
            lines += [f"  not carried: {e.config}: {e.text()}" for e in gie.not_carried]
            lines += [f"  warning: {w}" for w in gie.warnings]
        if self.kind == "deepstream-app":
            lines.append(f"deepstream-app config: {self.source}")
            lines += [f"  {e.config}: {e.text()}" for e in self.changes]
            lines += [f"  not carried: {e.config}: {e.text()}" for e in self.not_carried]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


@dataclass
class MigrateOptions:
    deepstream: str = DEFAULT_DEEPSTREAM
    platform: str = "x86"
    precision: str | None = None  # None: the config's network-mode
    key: str | None = None  # replaces the config's tlt-model-key
    network: str | None = None  # when the config and model do not tell
    force: bool = False


# -- reading the old config --------------------------------------------------------------------------


class LegacyConfig:
    """An old nvinfer config: typed values of [property] and [class-attrs-*], paths resolved against
    its folder (as nvinfer resolves them)."""

    def __init__(self, path: Path, ini: IniFile | None = None):
        self.path = Path(path)
        self.ini = ini or read_ini(self.path)
        prop = self.ini.group("property")
        if prop is None:
            raise TaostreamError(f"{self.path}: no [property] group: this is not an nvinfer config")
        self.prop = prop
        self.folder = self.path.parent

    def raw(self, key: str) -> str | None:
        return self.prop.get(key)

    def value(self, key: str, group: IniGroup | None = None, default=None):
        group = group or self.prop
        entry = group.entry(key)
        if entry is None:
            return default
        spec = (schema.NVINFER_PROPERTY if group is self.prop else schema.NVINFER_CLASS_ATTRS).get(key)
        if spec is None:
            return entry.value
        parsed, problem = parse_value(spec, entry.value)
        if problem:
            raise TaostreamError(f"{self.path}:{entry.line}: [{group.name}] {key}={entry.value}: {problem}; fix the value")
        return parsed

    def resolve(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.folder / path

    def class_groups(self) -> list[tuple[str, IniGroup]]:
        found = []
        for group in self.ini.groups:
            match = schema.CLASS_ATTRS_GROUP.match(group.name)
            if match:
                found.append((match.group(1), group))
        return found


def _fail(config: LegacyConfig, key: str, message: str) -> TaostreamError:
    entry = config.prop.entry(key)
    where = f"{config.path}:{entry.line}" if entry else str(config.path)
    return TaostreamError(f"{where}: [property] {key}: {message}")


def _model_source(config: LegacyConfig) -> tuple[str, Path]:
    """(key, path) of the model the config builds from; raises for what cannot be migrated."""
    for key in ("tlt-encoded-model", "onnx-file", "uff-file"):
        value = config.raw(key)
        if value:
            path = config.resolve(value)
            if not path.is_file():
                raise _fail(config, key, f"{value}: file not found ({path}; relative paths are relative to the "
                            f"config's folder {config.folder}): put the model there or fix the path")
            return key, path
    if config.raw("model-file") or config.raw("proto-file"):
        raise _fail(config, "model-file", "a Caffe model: taostream migrates TAO/TLT models (.etlt, UFF, ONNX); "
                    "export the model to ONNX and set onnx-file")
    if config.raw("model-engine-file"):
        raise _fail(config, "model-engine-file", "only a prebuilt TensorRT engine, which is tied to the TensorRT that "
                    "built it and cannot be migrated; add tlt-encoded-model (or onnx-file) naming the model it was built from")
    raise TaostreamError(f"{config.path}: [property] names no model (tlt-encoded-model, onnx-file or uff-file); add one")


def _labels(config: LegacyConfig, labels_override: Path | None, net: Network | None = None) -> tuple[list[str], str]:
    value = config.raw("labelfile-path")
    path = labels_override or (config.resolve(value) if value else None)
    if net is not None and net.output_layout == "lprnet_ctc" and labels_override is None:
        # NVIDIA's LPR configs point labelfile-path at an empty file: the characters are the parser's
        # dict.txt in deepstream-app's working directory (deepstream_lpr_app runs from the config's folder).
        # NvDsInferParseCustomNVPlate reads only that file, so where it has characters it is what the old
        # deployment decoded with, whatever labelfile-path holds.
        dictionary = config.folder / "dict.txt"
        if dictionary.is_file() and read_labels_file(dictionary):
            path = dictionary
        elif path is None or not path.is_file() or not read_labels_file(path):
            raise _fail(config, "labelfile-path", f"{path or '(not set)'} holds no characters and there is no dict.txt "
                        f"beside the config: LPRNet's labels are its character list (NvDsInferParseCustomNVPlate's "
                        "dict.txt, the spec's characters_list_file); put it beside the config as dict.txt")
    if path is None:
        raise _fail(config, "labelfile-path", "missing: add labelfile-path=labels.txt (one class per line, in the "
                    "model's class-id order)")
    if not path.is_file():
        raise _fail(config, "labelfile-path", f"{path}: file not found (relative to the config's folder): put the "
                    "label file there or fix the path")
    problem = label_encoding_problem(path)
    if problem:
        raise _fail(config, "labelfile-path", f"{path} {problem}")
    names = read_labels_file(path)
    if not names:
        raise _fail(config, "labelfile-path", f"{path} is empty: one class per line, in the model's class-id order")
    return names, str(path)


def _network_type(config: LegacyConfig) -> int:
    if config.value("network-type") is not None:
        return int(config.value("network-type"))
    return 1 if config.value("is-classifier") == 1 else 0


def _candidates(config: LegacyConfig) -> tuple[list[Network], str]:
    """Networks the config's parser settings allow, and which setting said so."""
    for key in _PARSE_KEYS:
        name = config.raw(key)
        if name:
            found = [n for n in NETWORKS if name in (n.parser_function, n.legacy_parser_function)]
            if found:
                return found, f"{key}={name}"
    return [], ""


def identify_network(config: LegacyConfig, input_names: list[str], output_names: list[str], ops: set[str],
                     given: str | None = None) -> tuple[Network, str]:
    """The registry network of the config's model and how it was told."""
    if given:
        return get_network(given), "--network"
    network_type = _network_type(config)
    if network_type in (2, 100):
        raise _fail(config, "network-type", f"{network_type} (segmentation) has no network in taostream's registry; "
                    "migrate detectors, classifiers and MaskRCNN, or give --network")
    if network_type == 1:
        candidates, said = _candidates(config)
        if len(candidates) == 1 and candidates[0].network_type == 1:  # LPRNet's NvDsInferParseCustomNVPlate
            return candidates[0], said
        return get_network("classification"), "network-type=1 / is-classifier=1"
    if network_type == 3:
        return get_network("mask_rcnn"), "network-type=3"
    candidates, said = _candidates(config)
    library = config.raw("custom-lib-path") or ""
    hint = _LIBRARY_HINT.search(Path(library).name)
    if hint:
        try:
            net = get_network(hint.group(1))
        except TaostreamError:
            net = None
        if net is not None and (not candidates or net in candidates):
            return net, f"custom-lib-path={Path(library).name}"
    seen = recognise(input_names, output_names, ops)
    if seen is not None and (not candidates or seen in candidates):
        return seen, (said + " and " if said else "") + "the model's outputs"
    if candidates:
        return candidates[0], said
    if not any(config.raw(k) for k in _PARSE_KEYS) and any("cov" in n for n in output_names):
        return get_network("detectnet_v2"), "nvinfer's built-in DetectNet parser and the model's outputs"
    raise TaostreamError(f"{config.path}: cannot tell the TAO network of the model (outputs {', '.join(output_names)}; "
                         "no known parse-bbox-func-name); pass --network NET")


def _require_config_network(config: LegacyConfig, net: Network, how: str, model_path: Path, inputs, outputs,
                            ops) -> None:
    """The network the config told (its parser library or function) against the model it names: another
    network's export would decode to garbage in that parser. (A --network the user gave is judged later,
    in its own words.)"""
    if how == "--network":
        return
    seen = recognise(inputs, outputs, ops)
    if seen is None or seen.output_layout == net.output_layout:
        return
    key, _ = _model_source(config)
    shown = ", ".join(o.split(":")[0] for o in outputs)
    raise _fail(config, key, f"{model_path} is TAO's {seen.name} export (outputs {shown}), but the config runs "
                f"{net.name}'s parser ({how}): put the {net.name} model there, or migrate it as {seen.name} with "
                f"--network {seen.name} (labels and thresholds of a {seen.name} model)")


def _model_facts(path: Path, key: str | None, config: LegacyConfig, key_source: str | None):
    """(input names, output names, ops) of the model; decoding errors name where the key came from."""
    try:
        proto = load_onnx_model(open_model(path, key))
    except EtltError as exc:
        if key_source != KEY_FROM_CONFIG:
            raise
        raise _fail(config, "tlt-model-key", f"does not decode {path} ({str(exc).split(';')[0].split(': ', 1)[-1]}); "
                    "pass the model's key with --key or --key-file") from None
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [v.name for v in proto.graph.input if v.name not in initializers]
    return inputs, [o.name for o in proto.graph.output], {n.op_type for n in proto.graph.node}


def _old_dims(config: LegacyConfig) -> tuple[tuple[int, int, int] | None, str | None]:
    """(C, H, W) and the key that gave them (infer-dims, uff-input-dims or input-dims)."""
    for key in ("infer-dims", "uff-input-dims", "input-dims"):
        raw = config.raw(key)
        if not raw:
            continue
        numbers = [p for p in raw.rstrip(";").split(";") if p.strip()]
        try:
            values = [int(p) for p in numbers]
        except ValueError:
            raise _fail(config, key, f"'{raw}' is not c;h;w (integers separated by ';')") from None
        if len(values) < 3:
            raise _fail(config, key, f"'{raw}' needs c;h;w")
        return (values[0], values[1], values[2]), key
    return None, None


def _preprocessing(config: LegacyConfig) -> Preprocessing:
    """What nvinfer did with the config (its defaults where a key is absent: scale 1, no offsets, RGB)."""
    color = config.value("model-color-format", default=0)
    offsets = config.value("offsets", default=[])
    return Preprocessing(_COLOR_NAMES.get(color, "RGB"), float(config.value("net-scale-factor", default=1.0)),
                         tuple(float(o) for o in offsets))


def _old_cluster_mode(config: LegacyConfig) -> int:
    mode = config.value("cluster-mode")
    if mode is not None:
        return int(mode)
    return 1 if config.value("enable-dbscan") == 1 else 0  # nvinfer's default: OpenCV groupRectangles


def _new_cluster_mode(net: Network, old: int) -> tuple[int, str]:
    if net.label_rule == "detectnet_v2":
        return 4, ("taostream's DetectNet_v2 parser clusters the way TAO's inference does (DBSCAN, TAO's defaults); "
                   "nvinfer must not cluster again")
    if net.network_type == 3:
        return 4, "MaskRCNN's model clusters itself"
    if old in (1, 2, 3, 4):
        return old, "kept"
    return net.cluster_mode, (f"cluster-mode 0 (OpenCV groupRectangles, nvinfer's old default) needs an OpenCV build of "
                              f"nvinfer, which DeepStream 6.1+ does not ship; {net.name}'s own is {net.cluster_mode}")


class _Collector:
    def __init__(self, gie: GieMigration, config: LegacyConfig):
        self.gie, self.name = gie, config.path.name

    def change(self, group: str, old: str, new: str, why: str = "") -> None:
        if not any((e.group, e.old, e.new) == (group, old, new) for e in self.gie.changes):
            self.gie.changes.append(Entry(self.name, group, old, new, why))

    def drop(self, group: str, old: str, why: str) -> None:
        self.gie.not_carried.append(Entry(self.name, group, old, "", why))


def _cluster_settings(config: LegacyConfig, net: Network, labels: list[str], notes: _Collector) -> ClusterSettings | None:
    """[class-attrs-*] of the old config over the network's defaults, for the new cluster-mode."""
    if net.network_type == 1:
        for _, group in config.class_groups():
            notes.drop(group.name, ", ".join(group.keys()), "a classifier has no detection thresholds")
        return None
    old_mode = _old_cluster_mode(config)
    new_mode, why = _new_cluster_mode(net, old_mode)
    defaults = cluster_settings_from_spec(net, None, labels)
    relevant = set(_FILTER_KEYS) | set(_CLUSTER_KEYS[new_mode])
    attrs: dict[str, dict[str, float]] = {"all": {k: v for k, v in defaults.class_attrs.get("all", {}).items()
                                                  if k in relevant}}
    if net.label_rule == "detectnet_v2":
        attrs["all"] = {}
    eps_by_class: dict[str, float] = {}
    for name, group in config.class_groups():
        if name != "all" and int(name) >= len(labels):
            notes.drop(group.name, ", ".join(group.keys()), f"class id {name} does not exist ({len(labels)} labels)")
            continue
        target = attrs.setdefault(name, {})
        for entry in group.entries:
            key = "pre-cluster-threshold" if entry.key == "threshold" else entry.key
            if key not in schema.NVINFER_CLASS_ATTRS:
                notes.drop(group.name, f"{entry.key}={entry.value}", "unknown to nvinfer (ignored by it); check the spelling")
                continue
            value = config.value(entry.key, group)
            if key == "eps" and net.label_rule == "detectnet_v2" and old_mode in (1, 3):
                eps_by_class[name] = float(value)
                notes.change(group.name, f"eps={entry.value}", f"{_DBSCAN_ENV}eps={entry.value}",
                             "nvinfer's DBSCAN eps becomes the DBSCAN eps of taostream's DetectNet_v2 parser")
                continue
            if key not in relevant:
                notes.drop(group.name, f"{entry.key}={entry.value}", f"a cluster-mode {old_mode} setting; "
                           f"the new cluster-mode is {new_mode}: {why}")
                continue
            if entry.key == "threshold":
                notes.change(group.name, f"threshold={entry.value}", f"pre-cluster-threshold={entry.value}",
                             "threshold is deprecated")
            target[key] = value
    if old_mode != new_mode:
        old_text = f"cluster-mode={old_mode}" if config.raw("cluster-mode") else (
            "enable-dbscan=1" if config.raw("enable-dbscan") else "")
        notes.change("property", old_text, f"cluster-mode={new_mode}", why)
    elif config.raw("enable-dbscan"):
        notes.change("property", "enable-dbscan=1", "cluster-mode=1", "enable-dbscan is deprecated")
    if net.label_rule == "detectnet_v2":
        return _detectnet_v2_settings(attrs, labels, eps_by_class, net)
    settings = ClusterSettings(cluster_mode=new_mode, class_attrs={k: v for k, v in attrs.items() if v or k == "all"})
    per_class = {int(k): v["pre-cluster-threshold"] for k, v in attrs.items() if k != "all" and "pre-cluster-threshold" in v}
    if per_class:
        common = attrs["all"].get("pre-cluster-threshold", net.pre_cluster_threshold)
        settings.class_thresholds = [float(per_class.get(i, common)) for i in range(len(labels))]
    return settings


def _detectnet_v2_settings(attrs: dict, labels: list[str], eps_by_class: dict[str, float], net: Network) -> ClusterSettings:
    """TAO's DetectNet_v2 clustering in taostream's parser (cluster-mode=4), with the old config's
    per-class coverage thresholds and, where it used nvinfer's DBSCAN, its eps."""
    common = attrs.get("all", {}).get("pre-cluster-threshold", net.pre_cluster_threshold)
    thresholds = [float(attrs.get(str(i), {}).get("pre-cluster-threshold", common)) for i in range(len(labels))]
    clustering = DetectNetV2Clustering()
    if eps_by_class:
        default_eps = eps_by_class.get("all", clustering.eps)
        eps = [float(eps_by_class.get(str(i), default_eps)) for i in range(len(labels))]
        clustering = replace(clustering, eps=eps[0] if len(set(eps)) == 1 else tuple(eps))
    class_attrs = {"all": {**attrs.get("all", {}), "pre-cluster-threshold": min(thresholds)}}
    for class_id, threshold in enumerate(thresholds):
        class_attrs[str(class_id)] = {**attrs.get(str(class_id), {}), "pre-cluster-threshold": threshold}
    return ClusterSettings(cluster_mode=4, class_attrs=class_attrs, parser_settings=clustering.to_env(),
                           class_thresholds=thresholds)


def _carried_extra(config: LegacyConfig, major: int, notes: _Collector) -> dict[str, object]:
    """Keys the target DeepStream reads that this module does not map: carried as they are."""
    extra: dict[str, object] = {}
    for entry in config.prop.entries:
        key = entry.key
        if key in _MAPPED:
            continue
        if key not in schema.NVINFER_PROPERTY:
            notes.drop("property", f"{key}={entry.value}", "unknown to nvinfer (it ignored the key); check the spelling")
            continue
        removed = schema.REMOVED_KEYS.get(key)
        if removed and major >= removed[0]:
            notes.drop("property", f"{key}={entry.value}", f"removed in DeepStream {removed[0]}.0: {removed[1]}")
            continue
        extra[key] = config.value(key)
    return extra


@dataclass
class PlannedGie:
    """A GIE's bundle, planned but not written; ``options`` are its nvinfer options."""

    gie: GieMigration
    config: LegacyConfig
    request: BundleRequest
    plan: object
    options: object  # NvinferOptions
    dla_core: int | None
    role: dict[str, object]  # NvinferOptions fields of the GIE's role (gie_unique_id, process_mode, ...)


def plan_gie(config_path: Path, output: Path, options: MigrateOptions, name: str = "property",
             labels_override: Path | None = None, keep_role: bool = True, batch_size: int | None = None) -> PlannedGie:
    """Read one old nvinfer config, find and decode its model, and plan its bundle at ``output``.
    ``keep_role``: write the config's GIE role (gie-unique-id, process-mode, ...) into the bundle's own
    nvinfer config; a deepstream-app migration keeps bundles standalone and sets the role in its GIE configs.
    ``labels_override`` and ``batch_size``: a deepstream-app GIE group's labelfile-path and batch-size, which
    deepstream-app sets on the element over the config's."""
    major = deepstream_major(options.deepstream)
    config = LegacyConfig(config_path)
    gie = GieMigration(name, config.path)
    notes = _Collector(gie, config)
    _, model_path = _model_source(config)
    config_key = config.raw("tlt-model-key")
    key = options.key or config_key or None
    gie.key = (KEY_GIVEN if options.key else KEY_FROM_CONFIG) if key else None
    inputs, outputs, ops = _model_facts(model_path, key, config, gie.key)
    net, how = identify_network(config, inputs, outputs, ops, options.network)
    _require_config_network(config, net, how, model_path, inputs, outputs, ops)
    gie.network, gie.identified_by, gie.model = net.name, how, model_path
    labels, labels_path = _labels(config, labels_override, net)
    gie.labels = Path(labels_path)
    precision, calibration = _precision(config, options, notes)
    batch = batch_size or int(config.value("batch-size", default=1))
    dla_core = _dla_core(config, options, notes)
    dims, _ = _old_dims(config)
    cluster = _cluster_settings(config, net, labels, notes)
    overrides: dict[str, object] = {"preprocessing": _preprocessing(config)}
    if cluster is not None:
        overrides["cluster"] = cluster
    extra = _carried_extra(config, major, notes)
    if net.name == "faster_rcnn" and "proposal" in outputs:
        extra["parse-bbox-func-name"] = "NvDsInferParseCustomFrcnnTLT"  # TLT 2.0 layout: proposal + softmax + deltas
    overrides["extra"] = extra
    role = {field_name: config.value(old_key) for old_key, field_name in ROLE_KEYS.items()
            if config.raw(old_key) is not None}
    if "operate_on_class_ids" in role:
        role["operate_on_class_ids"] = tuple(role["operate_on_class_ids"])
    if keep_role:
        overrides.update(role)
    request = BundleRequest(model=model_path, network=net.name, output=output, key=key, deepstream=options.deepstream,
                            platform=options.platform, precision=precision, calibration_cache=calibration,
                            batch_size=batch, force=options.force)
    label_source = f"{config.path}: labelfile-path {labels_path}"
    try:
        plan = plan_bundle(request, BundleSettings(labels=labels, labels_source=label_source, dims=dims,
                                                   nvinfer=overrides))
    except QdqError as exc:
        if calibration is None:
            raise
        raise TaostreamError(f"{config.path}: [property] int8-calib-file: {exc.problem}; point int8-calib-file at the cache `tao export --cal_cache_file` wrote with "
                             f"{Path(model_path).name}, or migrate with --precision fp16") from None
    gie.warnings = list(plan.warnings)
    return PlannedGie(gie, config, request, plan, _nvinfer_options(plan, request, dla_core), dla_core, role)


def report_gie(planned: PlannedGie, options) -> None:
    """Record every difference between the old config and the nvinfer config written from ``options``."""
    notes = _Collector(planned.gie, planned.config)
    _report_property(planned.config, options, planned.plan, notes)
    diff_class_attrs(planned.config, options, notes)


def _precision(config: LegacyConfig, options: MigrateOptions, notes: _Collector) -> tuple[str, Path | None]:
    mode = int(config.value("network-mode", default=0))
    precision = options.precision or _PRECISION_OF_MODE.get(mode, "fp16")
    if options.precision is None and mode == 3:
        notes.change("property", "network-mode=3", "network-mode=2", "the bundle builds FP16 (or INT8 with a cache); "
                     "network-mode=3 lets TensorRT choose and needs DeepStream 8+")
    calib = config.raw("int8-calib-file")
    if precision != "int8":
        if calib:
            notes.drop("property", f"int8-calib-file={calib}", f"the bundle is {precision}: the cache is unused "
                       "(migrate with --precision int8 to use it)")
        return precision, None
    if not calib:
        raise _fail(config, "network-mode", "INT8 needs the calibration cache: add int8-calib-file=cal.bin (the one "
                    "`tao export` wrote), or migrate with --precision fp16")
    path = config.resolve(calib)
    if not path.is_file():
        raise _fail(config, "int8-calib-file", f"{calib}: file not found ({path}); put the cache there or fix the path")
    return "int8", path


def _dla_core(config: LegacyConfig, options: MigrateOptions, notes: _Collector) -> int | None:
    if config.value("enable-dla", default=0) != 1:
        return None
    if options.platform != "jetson":
        notes.drop("property", "enable-dla=1", _DROPPED_WHY["enable-dla"])
        return None
    return int(config.value("use-dla-core", default=0))


def _report_property(config: LegacyConfig, options, plan, notes: _Collector) -> None:
    """Every difference between the old [property] group and the new one, with why."""
    new = {k: format_value(v) for k, v in nvinfer_sections(options)["property"].items()}
    old = {e.key: e.value for e in config.prop.entries}
    why_new = _new_key_reasons(plan, options)
    renamed = {  # old key -> new key
        "tlt-encoded-model": "onnx-file", "uff-file": "onnx-file", "uff-input-dims": "infer-dims",
        "input-dims": "infer-dims", "uff-input-order": "network-input-order", "is-classifier": "network-type",
    }
    for key, value in old.items():
        if key == "tlt-model-key":
            notes.drop("property", "tlt-model-key=(secret)", _DROPPED_WHY[key])
            continue
        target = renamed.get(key, key)
        if key == "enable-dbscan":
            continue  # reported with cluster-mode
        if target in new:
            if key != target or _differs(value, new[target]):
                why = _RENAME_WHY.get(key) or why_new.get(target, "")
                if target == "infer-dims" and _differs_dims(value, new[target]):
                    why += f"; the model's input is fixed at {new[target]}, the old dims did not match it"
                notes.change("property", f"{key}={value}", f"{target}={new[target]}", why)
            continue
        if key == "int8-calib-file":
            if options.precision == "int8":
                notes.change("property", f"int8-calib-file={value}", "(Q/DQ nodes in model.onnx)",
                             "TensorRT 10+ on x86 quantizes explicitly: the cache's scales became Q/DQ nodes (the "
                             "bundle also keeps the plugin graph + cache for TensorRT <= 10 and Jetson)")
            continue
        if key in _DROPPED_WHY:
            if not any(e.old.startswith(f"{key}=") for e in notes.gie.not_carried):
                notes.drop("property", f"{key}={value}", _DROPPED_WHY[key])
            continue
        if not any(e.old.startswith(f"{key}=") for e in notes.gie.not_carried + notes.gie.changes):
            notes.drop("property", f"{key}={value}", "no counterpart in the new config")
    carried = {renamed.get(k, k) for k in old}
    reported = {e.new.split("=", 1)[0] for e in notes.gie.changes}
    for key, value in new.items():
        if key not in carried and key not in reported:
            notes.change("property", "", f"{key}={value}", why_new.get(key, "taostream's setting for this network"))


_RENAME_WHY = {
    "tlt-encoded-model": "DeepStream 7+ reads no .etlt: the model was decoded (UFF translated, plugins modernized) "
                         "into the bundle's model.onnx",
    "uff-file": "UFF is gone in DeepStream 7+: translated to ONNX",
    "uff-input-dims": "uff-input-dims is gone in DeepStream 7+ (c;h;w;order -> c;h;w)",
    "input-dims": "input-dims is deprecated",
    "uff-input-order": "UFF is gone in DeepStream 7+",
    "is-classifier": "is-classifier is deprecated",
}


def _new_key_reasons(plan, options) -> dict[str, str]:
    net = plan.net
    return {
        "onnx-file": _RENAME_WHY["tlt-encoded-model"],
        "model-engine-file": "an engine is tied to the TensorRT that built it: DeepStream builds one from the ONNX "
                             "and saves it here",
        "labelfile-path": "the bundle's copy of the label file",
        "output-blob-names": "the model's outputs",
        "parse-bbox-func-name": f"taostream's parser for {net.name}" + (
            " (TAO's bbox normalisation and clustering, which nvinfer's built-in DetectNet parser lacks)"
            if net.label_rule == "detectnet_v2" else " (the same decoding as the TLT parser)"),
        "parse-classifier-func-name": "taostream's classifier parser",
        "parse-bbox-instance-mask-func-name": "taostream's MaskRCNN parser",
        "custom-lib-path": "taostream's parser library, in the bundle (exports the TLT 2.0 names too)",
        "num-detected-classes": "the label file's classes",
        "network-mode": f"--precision {options.precision}",
        "batch-size": "the deepstream-app GIE group's batch-size, which deepstream-app sets on the element",
        "cluster-mode": "see [class-attrs-all]",
        "maintain-aspect-ratio": f"TAO's preprocessing for {net.name}",
        "symmetric-padding": f"TAO's preprocessing for {net.name}",
        "network-type": "nvinfer's network type for this model",
        "process-mode": "a standalone bundle runs as primary GIE",
        "int8-calib-file": "TensorRT <= 10 (Jetson) still calibrates implicitly: the plugin graph + cache route",
        "layer-device-precision": "keeps the box decode in FP32 under implicit INT8, as NVIDIA's configs do",
    }


def diff_class_attrs(config: LegacyConfig, options, notes: _Collector) -> None:
    """Report the [class-attrs-*] values that differ from the old config's."""
    sections = nvinfer_sections(options)
    old_groups = {g.name: {e.key: e.value for e in g.entries} for _, g in config.class_groups()}
    for name, values in sections.items():
        if name == "property":
            continue
        old = old_groups.get(name, {})
        for key, value in values.items():
            text = format_value(value)
            old_value = old.get(key) if key != "pre-cluster-threshold" else old.get(key, old.get("threshold"))
            if old_value is None:
                common = old_groups.get("class-attrs-all", {})
                inherited = common.get(key, common.get("threshold") if key == "pre-cluster-threshold" else None)
                if name != "class-attrs-all" and inherited is not None and not _differs(inherited, text):
                    why = "[class-attrs-all]'s value, per class: taostream's DetectNet_v2 parser thresholds each class"
                else:
                    why = "the network's default"
                notes.change(name, "", f"{key}={text}", why)
            elif _differs(old_value, text):
                notes.change(name, f"{key}={old_value}", f"{key}={text}", "")


def _differs_dims(old: str, new: str) -> bool:
    return [p for p in old.split(";") if p.strip()][:3] != [p for p in new.split(";") if p.strip()][:3]


def _differs(old: str, new: str) -> bool:
    try:
        return float(old) != float(new)
    except ValueError:
        return old.strip() != new.strip()


def write_gie_bundle(planned: PlannedGie, extra_files: dict[str, str] | None = None):
    return write_bundle(planned.plan, planned.request, planned.dla_core, extra_files)


def migrate_nvinfer(config_path: Path, output: Path, options: MigrateOptions) -> MigrationReport:
    """An old nvinfer config -> one bundle at ``output`` (with migration.json in it)."""
    report = MigrationReport(Path(config_path), "nvinfer", options.deepstream, options.platform, Path(output))
    planned = plan_gie(Path(config_path), Path(output), options)
    report_gie(planned, planned.options)
    planned.gie.bundle = Path(output)
    report.gies.append(planned.gie)
    report.notes += run_notes(planned, Path(output))
    write_gie_bundle(planned, {REPORT_FILE: report.json_text()})
    return report


def run_notes(planned: PlannedGie, bundle: Path) -> list[str]:
    options = planned.options
    notes = []
    if options.cluster is not None and options.cluster.parser_settings:
        notes.append(f"{planned.gie.name}: DeepStream needs TAO's clustering settings in its environment: "
                     f"set -a; . {bundle / 'deepstream' / 'taostream_parser.env'}; set +a")
    return notes
