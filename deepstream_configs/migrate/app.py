"""`taostream migrate` of a deepstream-app config (DeepStream 5.0 to 8.0): one bundle per GIE, an nvinfer
config per GIE beside the app config, and the app config itself with its sources, streammux, tracker,
OSD, tiling and sinks carried over in the target's keys.

Layout of OUT: ``deepstream_app.txt``, ``config_infer_<gie>.txt`` (pointing into the bundles),
``<gie>/`` (a standalone bundle per model: `infer`, `check` and `serve` work on it) and
``migration.json``. Relative paths of the old config (file:// sources, tracker configs) are written
absolute, resolved against the old config's folder, so the new config works from OUT; paths into a
versioned DeepStream install (/opt/nvidia/deepstream/deepstream-5.0/...) use the version-neutral
/opt/nvidia/deepstream/deepstream/.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_directory, atomic_write_text
from taostream.deepstream_configs import config_schema as schema
from taostream.deepstream_configs.app import TRACKER_CONFIG, TRACKER_LIBRARY
from taostream.deepstream_configs.check.run import config_kind, deepstream_version
from taostream.deepstream_configs.ini import IniGroup, format_ini, read_ini
from taostream.deepstream_configs.migrate.nvinfer import (
    REPORT_FILE, Entry, MigrateOptions, MigrationReport, PlannedGie, migrate_nvinfer, plan_gie, report_gie, run_notes,
    write_gie_bundle)
from taostream.deepstream_configs.nvinfer import deepstream_major, write_nvinfer_config

APP_FILE = "deepstream_app.txt"
_GIE_GROUP = re.compile(r"^(primary-gie|secondary-gie\d+)$")
_VERSIONED_INSTALL = re.compile(r"/opt/nvidia/deepstream/deepstream-\d+(\.\d+)*/")
_INSTALL = "/opt/nvidia/deepstream/deepstream/"
_TRACKER_CONFIGS = str(Path(TRACKER_CONFIG).parent)
# DeepStream 5.x low-level tracker libraries -> DeepStream 6.0+'s NvMultiObjectTracker with the shipped
# config of the same algorithm (DeepStream 5.1 and 6.0 Gst-nvtracker manuals; KLT was dropped in 6.0).
_OLD_TRACKERS = {
    "libnvds_mot_iou.so": ("config_tracker_IOU.yml", "the IOU tracker moved into libnvds_nvmultiobjecttracker.so (6.0)"),
    "libnvds_nvdcf.so": ("config_tracker_NvDCF_perf.yml",
                         "the NvDCF tracker moved into libnvds_nvmultiobjecttracker.so (6.0)"),
    "libnvds_mot_klt.so": ("config_tracker_NvDCF_perf.yml",
                           "the KLT tracker was removed in 6.0; NvDCF is the nearest visual tracker"),
}
_DROPPED_APP_KEYS = {
    "enable-batch-process": "nvtracker always processes the whole batch",
    "enable-past-frame": "nvtracker no longer has the property (past-frame data is the low-level tracker's business)",
    "model-engine-file": "an engine is tied to the TensorRT that built it: DeepStream builds one from the bundle's ONNX",
    "labelfile-path": "the GIE's nvinfer config names the bundle's labels.txt (made from this file)",
}


def migrate(config: Path, output: Path, options: MigrateOptions) -> MigrationReport:
    """An old nvinfer or deepstream-app config -> bundles (and app config) in ``output``."""
    config, output = Path(config), Path(output)
    deepstream_major(options.deepstream)
    if output.exists() and not options.force:  # before decoding anything
        raise TaostreamError(f"{output}: already exists; choose another output folder or pass --force")
    kind = config_kind(read_ini(config))
    if kind == "nvinfer":
        return migrate_nvinfer(config, output, options)
    if kind == "deepstream-app":
        if options.network:
            raise TaostreamError("--network applies to a single nvinfer config; a deepstream-app config's GIEs are "
                                 "told apart by their own configs")
        return migrate_app(config, output, options)
    raise TaostreamError(f"{config}: neither an nvinfer config ([property]) nor a deepstream-app config "
                         "([application], [streammux], [primary-gie]); give the config DeepStream was started with")


def _enabled(group: IniGroup) -> bool:
    return (group.get("enable") or "1").strip() != "0"


def _bundle_name(group_name: str) -> str:
    return group_name.replace("-", "_")


def migrate_app(config: Path, output: Path, options: MigrateOptions) -> MigrationReport:
    ini = read_ini(config)
    report = MigrationReport(config, "deepstream-app", options.deepstream, options.platform, output)
    major = deepstream_major(options.deepstream)
    planned: dict[str, PlannedGie] = {}
    for group in ini.groups:
        if not _GIE_GROUP.match(group.name) or not _enabled(group):
            continue
        value = group.get("config-file")
        if not value:
            raise TaostreamError(f"{config}:{group.line}: [{group.name}] has no config-file: point it at the GIE's "
                                 "nvinfer config")
        gie_config = _resolve(config, value)
        if not gie_config.is_file():
            raise TaostreamError(f"{config}:{group.entry('config-file').line}: [{group.name}] config-file={value}: file "
                                 f"not found ({gie_config}; relative to the app config's folder)")
        if (group.get("plugin-type") or "0").strip() != "0":
            raise TaostreamError(f"{config}: [{group.name}] plugin-type={group.get('plugin-type')} (nvinferserver): "
                                 "migrate its model with `taostream bundle` (the bundle has an nvinferserver config)")
        labels = group.get("labelfile-path")
        name = _bundle_name(group.name)
        batch = group.get("batch-size")
        planned[group.name] = plan_gie(gie_config, output / name, options, name=group.name,
                                       labels_override=_resolve(config, labels) if labels else None, keep_role=False,
                                       batch_size=int(batch) if batch and batch.strip().isdigit() else None)
    if "primary-gie" not in planned:
        raise TaostreamError(f"{config}: no enabled [primary-gie] group: there is nothing to migrate")
    primary_id = _primary_id(ini, planned["primary-gie"])
    gie_options = {name: _gie_options(ini.group(name), gie, primary_id) for name, gie in planned.items()}
    for name, gie in planned.items():
        report_gie(gie, gie_options[name])
        gie.gie.bundle = output / _bundle_name(name)
        report.gies.append(gie.gie)
        report.notes += run_notes(gie, output / _bundle_name(name))
    sections = _app_sections(ini, config, options.deepstream, report)
    with atomic_directory(output, overwrite=options.force) as root:
        for name, gie in planned.items():
            bundle = _bundle_name(name)
            write_gie_bundle(replace(gie, request=replace(gie.request, output=root / bundle, force=False)))
            write_nvinfer_config(root / _gie_config_name(name), gie_options[name])
        header = [f"deepstream-app config for DeepStream {options.deepstream} (migrated by taostream from {config.name}; "
                  f"see {REPORT_FILE})", "run: deepstream-app -c <this file>"]
        atomic_write_text(root / APP_FILE, format_ini(sections, header))
        atomic_write_text(root / REPORT_FILE, report.json_text())
    return report


def _gie_config_name(group_name: str) -> str:
    return f"config_infer_{_bundle_name(group_name)}.txt"


def _resolve(config: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else config.parent / path


def _primary_id(ini, primary: PlannedGie) -> int:
    text = ini.group("primary-gie").get("gie-unique-id")
    return int(text) if text else int(primary.role.get("gie_unique_id") or 1)


def _gie_options(group: IniGroup, gie: PlannedGie, primary_id: int):
    """The GIE's nvinfer options as the app runs it: paths into its bundle, its role in the pipeline
    (the app group's settings win, as deepstream-app sets them on the element)."""
    bundle = _bundle_name(group.name)

    def into_bundle(path: str | None) -> str | None:
        return f"{bundle}/{path[3:]}" if path and path.startswith("../") else path

    options = gie.options
    role = dict(gie.role)
    for key, field_name in (("gie-unique-id", "gie_unique_id"), ("operate-on-gie-id", "operate_on_gie_id"),
                            ("interval", "interval")):
        if group.get(key):
            role[field_name] = int(group.get(key))
    if group.get("operate-on-class-ids"):
        role["operate_on_class_ids"] = tuple(int(v) for v in group.get("operate-on-class-ids").split(";") if v.strip())
    if group.name == "primary-gie":
        role["process_mode"] = 1
    else:
        role["process_mode"] = 2
        role.setdefault("operate_on_gie_id", primary_id)
    return replace(options, model_file=into_bundle(options.model_file), labels_file=into_bundle(options.labels_file),
                   calibration_file=into_bundle(options.calibration_file),
                   custom_lib_path=into_bundle(options.custom_lib_path), **role)


def _app_sections(ini, config: Path, deepstream: str, report: MigrationReport) -> dict[str, dict[str, object]]:
    """The old deepstream-app groups in the target's keys."""
    sections: dict[str, dict[str, object]] = {}
    major, version = deepstream_major(deepstream), deepstream_version(deepstream)

    def change(group: str, old: str, new: str, why: str = "") -> None:
        report.changes.append(Entry(config.name, group, old, new, why))

    def drop(group: str, old: str, why: str) -> None:
        report.not_carried.append(Entry(config.name, group, old, "", why))

    for group in ini.groups:
        keys = schema.app_group_keys(group.name)
        if keys is None:
            drop(group.name, ", ".join(group.keys()) or "(empty)", f"not a deepstream-app group of DeepStream {major} "
                 "that taostream knows; add it back by hand if you still need it")
            continue
        if _GIE_GROUP.match(group.name) and not _enabled(group):
            drop(group.name, "enable=0", "a disabled GIE: its model was not migrated")
            continue
        values: dict[str, object] = {}
        tracker = group.name == "tracker" and _old_tracker(group)
        for entry in group.entries:
            key, value = entry.key, entry.value
            if _GIE_GROUP.match(group.name) and key == "config-file":
                new = _gie_config_name(group.name)
                values[key] = new
                change(group.name, f"{key}={value}", f"{key}={new}",
                       f"the GIE's migrated nvinfer config (its bundle: {_bundle_name(group.name)}/)")
                continue
            if tracker and key in ("ll-lib-file", "ll-config-file"):
                continue  # replaced below
            removed = schema.APP_KEYS_REMOVED.get((group.name, key))
            if removed and version >= removed[0]:
                drop(group.name, f"{key}={value}", f"removed in DeepStream {removed[0][0]}.{removed[0][1]}: "
                     + _DROPPED_APP_KEYS.get(key, removed[1]))
                continue
            release = _source_sink_release(group.name, key, version)
            if release is not None:
                new_key, why = release
                if new_key is None:
                    drop(group.name, f"{key}={value}", why)
                    continue
                change(group.name, f"{key}={value}", f"{new_key}={value}", why)
                key = new_key
            if key in _DROPPED_APP_KEYS and _GIE_GROUP.match(group.name):
                drop(group.name, f"{key}={value}", _DROPPED_APP_KEYS[key])
                continue
            if key not in keys:
                drop(group.name, f"{key}={value}", f"not a [{group.name}] key of DeepStream {major}'s deepstream-app")
                continue
            new_value, why = _carry_path(config, key, value, keys[key].type)
            if new_value != value:
                change(group.name, f"{key}={value}", f"{key}={new_value}", why)
            values[key] = new_value
        if tracker:
            _migrate_tracker(group, values, change, drop)
        sections[group.name] = values
    return sections


def _source_sink_release(group: str, key: str, version: tuple[int, int]) -> tuple[str | None, str] | None:
    """(new key or None to drop, why) for a [sourceN]/[sinkN] key the target release reads under another
    name or not at all (config_schema.APP_KEYS_SINCE and neighbours); None when it carries as is."""
    kind = re.fullmatch(r"(source|sink)\d+", group)
    if kind is None:
        return None
    entry = (kind.group(1), key)
    gone = schema.APP_SOURCE_SINK_KEYS_REMOVED.get(entry)
    if gone and version >= gone:
        return None, (f"DeepStream {gone[0]}.{gone[1]} dropped it with the overlay sink (type=5 is nvdrmvideosink "
                      "since: conn-id, plane-id)")
    since = schema.APP_KEYS_SINCE.get(entry)
    if since and version < since:
        return None, f"DeepStream {'.'.join(map(str, version))}'s deepstream-app does not read it (added in {since[0]}.{since[1]})"
    renamed = schema.APP_KEYS_DEPRECATED.get(entry)
    if renamed and version >= renamed[0]:
        return renamed[1], f"the name DeepStream {renamed[0][0]}.{renamed[0][1]} and later read ({key} is deprecated)"
    return None


def _carry_path(config: Path, key: str, value: str, kind: str) -> tuple[str, str]:
    """(value, why): paths made to work from the new config's folder and a version-neutral install."""
    is_uri = key == "uri" and value.startswith("file://")
    if not (is_uri or kind == "path"):
        return value, ""
    text = value[len("file://"):] if is_uri else value
    if _VERSIONED_INSTALL.match(text):
        new = _VERSIONED_INSTALL.sub(_INSTALL, text, count=1)
        why = "the version-neutral DeepStream install path"
    elif not Path(text).is_absolute():
        new = str((config.parent / text).resolve())
        why = "relative to the old config's folder; written absolute so it works from the new config's folder"
    else:
        return value, ""
    return (f"file://{new}" if is_uri else new), why


def _old_tracker(group: IniGroup) -> bool:
    return Path(group.get("ll-lib-file") or "").name in _OLD_TRACKERS


def _migrate_tracker(group: IniGroup, values: dict, change, drop) -> None:
    old_lib = group.get("ll-lib-file")
    config_name, why = _OLD_TRACKERS[Path(old_lib).name]
    values["ll-lib-file"] = TRACKER_LIBRARY
    values["ll-config-file"] = f"{_TRACKER_CONFIGS}/{config_name}"
    change(group.name, f"ll-lib-file={old_lib}", f"ll-lib-file={TRACKER_LIBRARY}", why)
    old_config = group.get("ll-config-file")
    change(group.name, f"ll-config-file={old_config}" if old_config else "", f"ll-config-file={values['ll-config-file']}",
           "DeepStream's shipped config of that tracker")
    if old_config:
        drop(group.name, f"ll-config-file={old_config} (its tuning)", "the DeepStream 5 tracker config format is not "
             "the NvMultiObjectTracker YAML: redo its tuning in a copy of the new file")
