"""The deepstream-app rules of `taostream check`; the GIE configs it references are checked too."""

from __future__ import annotations

import os
import re
from pathlib import Path

from taostream.converter.wording import plural
from taostream.deepstream_configs import config_schema as schema
from taostream.deepstream_configs.check.nvinfer import check_nvinfer
from taostream.deepstream_configs.check.run import (
    ERROR, WARNING, CheckReport, _Checker, config_kind, is_readable, nearest, note_unreadable,
)
from taostream.deepstream_configs.ini import IniGroup, read_ini
from taostream.deepstream_configs.labels import read_labels_file
from taostream.deepstream_configs.trackers import OLD_TRACKER_LIBRARIES, TRACKER_LIBRARY, read_tracker_yaml

_SOURCE_NEEDS_URI = (2, 3, 4)  # URI, MultiURI, RTSP
_SINK_NEEDS_OUTPUT = (3,)  # file


def check_app(checker: _Checker, model_path, done: set[Path]) -> None:
    groups: dict[str, dict] = {}
    for group in checker.ini.groups:
        keys = schema.app_group_keys(group.name)
        if keys is None:
            hint = nearest(group.name, schema.app_group_names())
            fix = f"did you mean [{hint}]?" if hint else "delete it or fix the name"
            checker.add(ERROR, group, None, f"unknown deepstream-app group [{group.name}]; {fix}")
            continue
        groups[group.name] = checker.check_keys(group, keys)
    _check_removed_keys(checker, groups)
    _check_source_sink_release(checker, groups)
    _check_sources(checker, groups)
    _check_sinks(checker, groups)
    _check_streammux(checker, groups)
    gie_batches = _check_gies(checker, groups, model_path, done)
    _check_batches(checker, groups, gie_batches)
    _check_tracker(checker, groups)
    _check_tiles(checker, groups)


def _check_removed_keys(checker: _Checker, groups: dict) -> None:
    for (group_name, key), (removed_in, advice) in schema.APP_KEYS_REMOVED.items():
        if key in groups.get(group_name, {}) and checker.version >= removed_in:
            since = ".".join(map(str, removed_in))
            checker.add(ERROR, _group(checker, group_name), key, f"not supported by DeepStream "
                        f"{'.'.join(map(str, checker.version))} (removed in {since}), ignored; {advice}")


def _check_source_sink_release(checker: _Checker, groups: dict) -> None:
    """[sourceN] / [sinkN] keys and types against what the target release's deepstream-app reads
    (config_schema.APP_KEYS_SINCE and neighbours: NVIDIA's parser sources per release)."""
    release = ".".join(map(str, checker.version))
    for name, values in groups.items():
        kind = next((k for k in ("source", "sink") if re.fullmatch(rf"{k}\d+", name)), None)
        if kind is None:
            continue
        group = _group(checker, name)
        for key in values:
            since = schema.APP_KEYS_SINCE.get((kind, key))
            removed = schema.APP_SOURCE_SINK_KEYS_REMOVED.get((kind, key))
            deprecated = schema.APP_KEYS_DEPRECATED.get((kind, key))
            if since and checker.version < since:
                checker.add(ERROR, group, key, f"not read by DeepStream {release}'s deepstream-app (added in "
                            f"{'.'.join(map(str, since))}), ignored; delete it or target a later release")
            elif removed and checker.version >= removed:
                checker.add(ERROR, group, key, f"not read by DeepStream {release}'s deepstream-app (dropped in "
                            f"{'.'.join(map(str, removed))} with the overlay sink; type=5 is nvdrmvideosink: conn-id, "
                            "plane-id), ignored; delete it")
            elif deprecated and checker.version >= deprecated[0]:
                checker.add(WARNING, group, key, f"deprecated since DeepStream {'.'.join(map(str, deprecated[0]))} "
                            f"(deepstream-app warns and still reads it): rename it to {deprecated[1]}")
        kind_types = schema.source_types if kind == "source" else schema.sink_types
        known = kind_types(checker.version)
        if isinstance(values.get("type"), int) and values["type"] not in known:
            listed = ", ".join(f"{number} {what}" for number, what in known.items())
            checker.add(ERROR, group, "type", f"{values['type']} is no {kind} type of DeepStream {release}'s "
                        f"deepstream-app; use one of: {listed}")
        directory = values.get("smart-rec-dir-path")
        if kind == "source" and isinstance(directory, str) and os.path.isabs(directory) and not os.path.isdir(directory):
            checker.add(ERROR, group, "smart-rec-dir-path", f"{directory} is no existing folder: deepstream-app refuses "
                        "the config (it must exist and be writable); create it or fix the path")


def _group(checker: _Checker, name: str) -> IniGroup:
    return checker.ini.group(name)


def _enabled(values: dict) -> bool:
    return values.get("enable", 1) != 0


def _check_sources(checker: _Checker, groups: dict) -> None:
    sources = [n for n in groups if re.fullmatch(r"source\d+", n) and _enabled(groups[n])]
    if not sources:
        checker.add(ERROR, None, None, "no enabled [sourceN] group: add one (type=3 with uri=file://...)")
    for name in sources:
        values, group = groups[name], _group(checker, name)
        kind = values.get("type")
        if kind is None:
            checker.add(ERROR, group, "type", "missing: 1 USB camera, 2 URI, 3 multi-URI, 4 RTSP, 5 CSI camera")
        elif kind in _SOURCE_NEEDS_URI and not values.get("uri"):
            checker.add(ERROR, group, "uri", f"type={kind} needs uri= (file:///path, rtsp://host/stream)")
        uri = str(values.get("uri", ""))
        if uri.startswith("file://"):
            location = uri[len("file://"):]
            checker.check_file(group, "uri", location)
        if kind == 4 and uri and not uri.startswith(("rtsp://", "rtsps://")):
            checker.add(ERROR, group, "uri", "type=4 (RTSP) needs an rtsp:// URI")


def _check_sinks(checker: _Checker, groups: dict) -> None:
    sinks = [n for n in groups if re.fullmatch(r"sink\d+", n) and _enabled(groups[n])]
    if not sinks:
        checker.add(WARNING, None, None, "no enabled [sinkN] group: results go nowhere; add [sink0] type=1 (fakesink)")
    for name in sinks:
        values, group = groups[name], _group(checker, name)
        if values.get("type") is None:
            checker.add(ERROR, group, "type", "missing: 1 fakesink, 2 EGL display, 3 file, 4 RTSP stream")
        if values.get("type") in _SINK_NEEDS_OUTPUT and not values.get("output-file"):
            checker.add(ERROR, group, "output-file", "type=3 (file) needs output-file=out.mp4")
        if values.get("type") == 4 and not values.get("rtsp-port"):
            checker.add(ERROR, group, "rtsp-port", "type=4 (RTSP stream) needs rtsp-port (e.g. 8554)")


def _check_streammux(checker: _Checker, groups: dict) -> None:
    mux = groups.get("streammux")
    if mux is None:
        checker.add(ERROR, None, None, "no [streammux] group: add it with batch-size, width and height")
        return
    group = _group(checker, "streammux")
    for key in ("batch-size", "width", "height"):
        if key not in mux:
            checker.add(ERROR, group, key, f"missing: set {key} (batch-size = number of sources, width/height "
                        "= the network's input size or the camera's)")


def _check_gies(checker: _Checker, groups: dict, model_path, done: set[Path]) -> dict[str, int]:
    """Check the GIE groups and the nvinfer configs they point to; returns GIE name -> batch size."""
    gies = [n for n in groups if (n == "primary-gie" or re.fullmatch(r"secondary-gie\d+", n)) and _enabled(groups[n])]
    if "primary-gie" not in gies:
        checker.add(ERROR, None, None, "no enabled [primary-gie]: add one with config-file=config_infer_primary.txt")
    ids: dict[int, str] = {}
    batches: dict[str, int] = {}
    configs: dict[str, tuple[dict, Path | None]] = {}
    for name in gies:
        values, group = groups[name], _group(checker, name)
        nvinfer = _referenced_config(checker, group, values, model_path if name == "primary-gie" else None, done, check_nvinfer)
        config = values.get("config-file")
        configs[name] = (nvinfer, checker.resolve(str(config)).parent if config is not None else None)
        unique_id = values.get("gie-unique-id", nvinfer.get("gie-unique-id"))
        if unique_id in ids:
            checker.add(ERROR, group, "gie-unique-id", f"{unique_id} is also used by [{ids[unique_id]}]; give each GIE its own id")
        if unique_id is not None:
            ids[unique_id] = name
        batch = values.get("batch-size", nvinfer.get("batch-size"))
        if batch is not None:
            batches[name] = batch
        own = nvinfer.get("batch-size")
        if values.get("batch-size") is not None and own is not None and own != values["batch-size"]:
            checker.add(WARNING, group, "batch-size", f"{values['batch-size']} but its config-file says batch-size={own}: "
                        "deepstream-app's value wins, and an engine built for the smaller batch is rebuilt at start; "
                        f"set batch-size={values['batch-size']} (and model-engine-file's _b{values['batch-size']}_) in "
                        f"{values.get('config-file')} too")
        if name != "primary-gie" and values.get("plugin-type", 0) == 0:
            if nvinfer.get("process-mode", 2) != 2 and "process-mode" in nvinfer:
                checker.add(ERROR, group, "config-file", "a secondary GIE's nvinfer config needs process-mode=2")
    for name in gies:
        if name == "primary-gie":
            continue
        target = groups[name].get("operate-on-gie-id")
        if target is not None and target not in ids:
            checker.add(ERROR, _group(checker, name), "operate-on-gie-id", f"{target} is not the gie-unique-id of any "
                        f"enabled GIE (ids: {', '.join(map(str, sorted(ids)))}); point it at the detector's id")
        _check_class_ids(checker, name, groups[name], configs, ids)
    return batches


def _gie_labels(configs: dict, name: str) -> tuple[list[str], Path] | None:
    """The class names of a GIE's nvinfer labelfile-path (as nvinfer counts them), if readable."""
    values, folder = configs.get(name, ({}, None))
    label_path = values.get("labelfile-path")
    if label_path is None or folder is None:
        return None
    path = Path(str(label_path)) if Path(str(label_path)).is_absolute() else folder / str(label_path)
    if not path.is_file() or not is_readable(path):  # the GIE's own check reports an unreadable one
        return None
    return read_labels_file(path), path


def _check_class_ids(checker: _Checker, name: str, values: dict, configs: dict, ids: dict[int, str]) -> None:
    """operate-on-class-ids (the app group's, else the secondary's nvinfer config's) must be class ids
    of the GIE it operates on: a wrong id makes the secondary silently classify nothing."""
    nvinfer, _ = configs.get(name, ({}, None))
    target = values.get("operate-on-gie-id", nvinfer.get("operate-on-gie-id"))
    class_ids = values.get("operate-on-class-ids", nvinfer.get("operate-on-class-ids"))
    if not class_ids or target not in ids:
        return
    labels = _gie_labels(configs, ids[target])
    if labels is None:
        return
    names, path = labels
    wrong = [c for c in class_ids if not 0 <= c < len(names)]
    if wrong:
        where = "operate-on-class-ids" if "operate-on-class-ids" in values else None
        group = _group(checker, name)
        checker.add(ERROR, group, where, f"class id(s) {', '.join(map(str, wrong))} do not exist in [{ids[target]}]'s "
                    f"labels ({path}: {plural(len(names), 'class')}, ids 0-{len(names) - 1}: "
                    f"{', '.join(f'{i}={n}' for i, n in enumerate(names))}); use ids from that list")


def _referenced_config(checker: _Checker, group: IniGroup, values: dict, model_path, done: set[Path], check_nvinfer) -> dict:
    config = values.get("config-file")
    if config is None:
        checker.add(ERROR, group, "config-file", "missing: point it at the GIE's nvinfer config")
        return {}
    if not checker.check_file(group, "config-file", config):
        return {}
    path = checker.resolve(str(config))
    if not is_readable(path):
        note_unreadable(checker.report, path)
        return {}
    if values.get("plugin-type", 0) != 0:  # nvinferserver: protobuf text, checked for its own files only
        if path.resolve() not in done:
            done.add(path.resolve())
            # lazy: cycle (deepstream_configs.check.nvinferserver imports check.run, which imports this module)
            from taostream.deepstream_configs.check.nvinferserver import check_nvinferserver

            check_nvinferserver(path, checker.report, checker.major)
        return {}
    ini = read_ini(path)
    if config_kind(ini) != "nvinfer":
        checker.add(ERROR, group, "config-file", f"{path} is not an nvinfer config (no [property] group)")
        return {}
    sub_checker = _Checker(ini, checker.major, checker.report, checker.version, checker.deepstream)
    if path.resolve() in done:
        return _quiet_values(sub_checker)
    done.add(path.resolve())
    return check_nvinfer(sub_checker, model_path)


def _quiet_values(checker: _Checker) -> dict:
    """The parsed [property] values of a config already checked, without reporting again."""
    silent = _Checker(checker.ini, checker.major, CheckReport(), checker.version, checker.deepstream)
    return silent.check_keys(checker.ini.group("property"), schema.NVINFER_PROPERTY)


def _check_batches(checker: _Checker, groups: dict, gie_batches: dict[str, int]) -> None:
    mux_batch = groups.get("streammux", {}).get("batch-size")
    primary = gie_batches.get("primary-gie")
    sources = sum(groups[n].get("num-sources", 1) for n in groups
                  if re.fullmatch(r"source\d+", n) and _enabled(groups[n]))
    too_small = mux_batch is not None and sources and mux_batch < sources  # one finding, with the whole fix
    if mux_batch is not None and primary is not None and mux_batch != primary and not too_small:
        checker.add(ERROR, _group(checker, "primary-gie"), "batch-size", f"{primary} but [streammux] batch-size is "
                    f"{mux_batch}: the primary GIE must take the muxer's whole batch; set both to {mux_batch}")
    if too_small:
        checker.add(ERROR, _group(checker, "streammux"), "batch-size", f"{mux_batch} is smaller than the {sources} "
                    "sources: frames of some sources wait for the next batch and the primary GIE never sees a full "
                    f"round; set batch-size={sources} (and the primary GIE's batch-size to match)")


def _check_tracker(checker: _Checker, groups: dict) -> None:
    tracker = groups.get("tracker")
    if tracker and _enabled(tracker):
        group = _group(checker, "tracker")
        if "ll-lib-file" not in tracker:
            checker.add(ERROR, group, "ll-lib-file", "missing: set it to "
                        "/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so")
        for key in ("ll-lib-file", "ll-config-file"):
            if key in tracker:
                checker.check_file(group, key, tracker[key])
        _check_tracker_library(checker, group, tracker)


def _check_tiles(checker: _Checker, groups: dict) -> None:
    tiles = groups.get("tiled-display")
    if not tiles or not _enabled(tiles):
        return
    sources = sum(groups[n].get("num-sources", 1) for n in groups
                  if re.fullmatch(r"source\d+", n) and _enabled(groups[n]))
    cells = tiles.get("rows", 1) * tiles.get("columns", 1)
    if cells < sources:
        checker.add(WARNING, _group(checker, "tiled-display"), "rows", f"{tiles.get('rows', 1)}x{tiles.get('columns', 1)} "
                    f"tiles for {sources} sources: some are not shown; raise rows/columns")


def _check_tracker_library(checker: _Checker, group: IniGroup, tracker: dict) -> None:
    library = Path(str(tracker.get("ll-lib-file", ""))).name
    if library in OLD_TRACKER_LIBRARIES and checker.version >= (6, 0):
        checker.add(ERROR, group, "ll-lib-file", f"{library} is DeepStream 5's {OLD_TRACKER_LIBRARIES[library]} tracker "
                    f"library, gone since 6.0: use {TRACKER_LIBRARY} with a tracker YAML "
                    "(`taostream migrate` converts the config)")
    config = tracker.get("ll-config-file")
    if library != Path(TRACKER_LIBRARY).name:
        return
    if config is None:
        checker.add(WARNING, group, "ll-config-file", "missing: the tracker runs with the library's built-in defaults; "
                    "point it at a tracker YAML (config_tracker_NvDCF_perf.yml)")
        return
    path = checker.resolve(str(config))
    if not path.is_file():
        return  # check_file reported it (or it is under the DeepStream install)
    try:
        sections = read_tracker_yaml(path)
    except (ValueError, OSError) as exc:
        checker.add(ERROR, group, "ll-config-file", f"{path} is no readable tracker YAML ({exc}); fix or re-create it")
        return
    missing = [name for name in ("BaseConfig", "TargetManagement", "DataAssociator") if name not in sections]
    if missing:
        checker.add(ERROR, group, "ll-config-file", f"{path} has no {', '.join(missing)} section(s): it is not an "
                    "NvMultiObjectTracker config; re-create it (`taostream pipeline --tracker ...`)")
