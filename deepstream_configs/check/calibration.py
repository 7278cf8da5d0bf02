"""`taostream check`: an INT8 nvinfer config's int8-calib-file, and a bundle's calibration.bin, against
the model it calibrates (one judgement, _cache_findings, serves both).

TensorRT calibrates implicitly from the cache (DeepStream 6-8 on x86, Jetson), matching entries to
tensors by name: a file that is no cache, or another model's cache, builds an engine without INT8 or
with another network's scales. The cache is applied to the model exactly as `bundle` applies it
(converter/int8/qdq.py's cache_fit: the mapping insert_qdq_from_cache places Q/DQ by, without building
the graph), so `check` refuses what `bundle` and `migrate` refuse."""

from __future__ import annotations

import re
from pathlib import Path

from taostream.converter.fileio import sha256_file
from taostream.converter.int8.calib_cache import CalibrationCacheError, read_calibration_cache
from taostream.deepstream_configs.bundle.manifest import manifest_or_none
from taostream.deepstream_configs.check.run import (
    ERROR, WARNING, CheckReport, Finding, ModelFacts, _Checker, is_readable)
from taostream.deepstream_configs.ini import IniGroup

_KEY = "int8-calib-file"


def check_calibration_cache(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    if values.get("network-mode") != 1 or _KEY not in values:
        return
    path = checker.resolve(str(values[_KEY]))
    if not path.is_file():
        return  # reported with the other missing files
    # no model to compare with, or explicit quantization (TensorRT ignores the cache): the file alone is judged
    graph = None if model is None or model.quantized else (model.proto or model.translation)
    fix = (f"point {_KEY} at the cache `tao export --cal_cache_file` wrote with this model, or use "
           "network-mode=2 (FP16)")
    for severity, message in _cache_findings(path, str(values[_KEY]), graph, model.path.name if model else "", fix):
        checker.add(severity, group, _KEY, f"{values[_KEY]}: {message}" if severity == WARNING else message)


def check_bundle_calibration(folder: Path, manifest: dict, report: CheckReport) -> None:
    """A bundle's calibration.bin against the model it calibrates (model_trt10.onnx, the TensorRT <= 10 /
    Jetson route), judged from the files rather than from the bundle-time warnings stored in manifest.json:
    the same verdict for a bundle from any taostream release, and for a cache swapped in later. Where one
    of the bundle's nvinfer configs loads that model and cache, its own check (above) reports it."""
    targets = [t for t in manifest.get("targets") or [] if isinstance(t, dict) and t.get("calibration")]
    if not targets or any(t.get("configs") for t in targets):
        return
    cache_path, model_path = folder / str(targets[0]["calibration"]), folder / str(targets[0].get("model"))
    if not (cache_path.is_file() and model_path.is_file() and is_readable(cache_path) and is_readable(model_path)):
        return  # reported by the bundle file checks
    import onnx  # lazy: heavy

    try:
        graph = onnx.load(str(model_path))
    except Exception:  # noqa: BLE001 - a model that does not parse is reported by the bundle file checks
        graph = None
    fix = ("re-bundle with the cache `tao export --cal_cache_file` wrote for this model (--calibration-cache), or "
           "--calibrate-images DIR, or --precision fp16")
    for severity, message in _cache_findings(cache_path, cache_path.name, graph, model_path.name, fix):
        report.findings.append(Finding(severity, cache_path, None, None, None, message))


def _cache_findings(cache_path: Path, source: str, graph, model_name: str, fix: str) -> list[tuple[str, str]]:
    """(severity, message) for the calibration cache at ``cache_path`` applied to ``graph`` (the ONNX
    model ``model_name`` TensorRT calibrates from it) as `bundle` applies it: a file that is no cache, or
    another model's cache, an error; a mostly foreign one a warning. ``source`` names the cache, ``fix``
    is the caller's way out. Without a graph, or one with no layer a cache calibrates, only the file is
    judged."""
    try:
        cache = read_calibration_cache(cache_path)
    except CalibrationCacheError as exc:
        return [(ERROR, f"{exc}; {fix}")]
    if graph is None or not _has_weighted_ops(graph):
        return []
    from taostream.converter.int8.qdq import QdqError, cache_fit  # lazy: heavy (graphsurgeon)

    try:
        fit = cache_fit(graph, cache, source=source)
    except QdqError as exc:
        return [(ERROR, f"{exc.problem.replace('this graph', model_name)}: it is not this model's calibration; {fix}")]
    # each warning's own advice (regenerate, calibrate afresh with images) gives way to the caller's fix
    found = [(WARNING, f"{re.split(r'[;?] [Rr]egenerate it', w)[0].replace('this graph', model_name)}; {fix}")
             for w in fit.warnings]
    left_out = _left_out_input_finding(cache_path) if any(_NO_INPUT_SCALE in w for w in fit.warnings) else None
    if left_out:  # not another model's cache: the input's own entry was unusable, and bundle left it out
        found = [(WARNING, left_out)] + [f for f in found if _NO_INPUT_SCALE not in f[1]]
    return found + _renamed_entry_findings(fit.mapped, model_name)


_NO_INPUT_SCALE = "has no scale for the input tensor"  # qdq.foreign_cache_warnings' words


def _left_out_input_finding(cache_path: Path) -> str | None:
    """Where ``cache_path`` is a bundle's calibration.bin, unchanged since `bundle` wrote it, and its
    manifest.json records an input entry that bundle left out of it for an unusable scale (inf, NaN, 0):
    the message naming that entry of the user's cache and the fix. Else None (judged as the file is)."""
    manifest = manifest_or_none(cache_path.parent)  # none, or a broken one: reported by the bundle checks
    if manifest is None:
        return None
    facts = manifest.get("calibration_cache")
    left_out = facts.get("input_entries_left_out") if isinstance(facts, dict) else None
    written = next((f.get("sha256") for f in manifest.get("files") or []
                    if isinstance(f, dict) and f.get("path") == cache_path.name), None)
    if not left_out or not isinstance(left_out[0], dict) or written != sha256_file(cache_path):
        return None  # a cache swapped in after bundling is judged as it is
    entry, source = left_out[0], facts.get("source") or "the calibration cache"
    return (f"the input tensor {entry.get('tensor')!r} has no scale here because its entry {entry.get('entry')!r} "
            f"in {source}, the cache this bundle was made from, has the scale {entry.get('scale')}, which no INT8 "
            "build can use, so `taostream bundle` left it out: the input and the layers reading it stay in float; "
            f"recalibrate (re-bundle with --calibrate-images DIR), or fix that entry of {source} (the cache `tao "
            "export --cal_cache_file` writes) and re-bundle with --calibration-cache")


def _renamed_entry_findings(mapped: dict[str, str], model_name: str) -> list[tuple[str, str]]:
    """Cache entries that reach a tensor only under another form of its name ('conv1/convolution' for
    tf2onnx's 'conv1/convolution:0', a node's name for its output): `bundle` maps them so, but TensorRT's
    implicit calibration reads a cache by exact tensor name, so those tensors get no INT8 scale (none
    matching: no layer runs in INT8; some: those layers run in higher precision)."""
    renamed = [(name, tensor) for name, tensor in mapped.items() if name != tensor]
    if not renamed:
        return []
    name, tensor = renamed[0]
    severity, outcome = ((ERROR, "no layer runs in INT8") if len(renamed) == len(mapped)
                         else (WARNING, "the layers reading them run in higher precision"))
    return [(severity, f"{len(renamed)} of {len(mapped)} entries name a tensor of {model_name} in another form "
             f"(e.g. '{name}' for '{tensor}'), and TensorRT reads a calibration cache by exact tensor name: "
             f"{outcome}; use the cache with the names {model_name} has (`taostream bundle --calibration-cache` "
             "writes one as calibration.bin)")]


def _has_weighted_ops(model) -> bool:
    """Whether the ONNX model has a layer a cache's scales quantize: without one (a stub, a pure
    post-processing graph) no cache can be judged for or against it."""
    from taostream.converter.int8.qdq import WEIGHTED_OPS  # lazy: heavy (graphsurgeon)

    return any(node.op_type in WEIGHTED_OPS for node in model.graph.node)
