"""`taostream check`: an INT8 nvinfer config's int8-calib-file against its model.

TensorRT calibrates implicitly from the cache (DeepStream 6-8 on x86, Jetson), matching entries to
tensors by name: a file that is no cache, or another model's cache, builds an engine without INT8 or
with another network's scales. The cache is applied to the model exactly as `bundle` applies it
(converter/int8/qdq.py), so `check` refuses what `bundle` and `migrate` refuse."""

from __future__ import annotations

from taostream.converter.int8.calib_cache import CalibrationCacheError, read_calibration_cache
from taostream.deepstream_configs.check.run import ERROR, WARNING, ModelFacts, _Checker
from taostream.deepstream_configs.ini import IniGroup

_KEY = "int8-calib-file"


def check_calibration_cache(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    if values.get("network-mode") != 1 or _KEY not in values:
        return
    path = checker.resolve(str(values[_KEY]))
    if not path.is_file():
        return  # reported with the other missing files
    fix = (f"point {_KEY} at the cache `tao export --cal_cache_file` wrote with this model, or use "
           "network-mode=2 (FP16)")
    try:
        cache = read_calibration_cache(path)
    except CalibrationCacheError as exc:
        checker.add(ERROR, group, _KEY, f"{exc}; {fix}")
        return
    graph = None if model is None or model.quantized else (model.proto or model.translation)
    if graph is None:
        return  # no model to compare with, or explicit quantization (TensorRT ignores the cache)
    from taostream.converter.int8.qdq import QdqError, insert_qdq_from_cache  # lazy: heavy (graphsurgeon)

    try:
        _, report = insert_qdq_from_cache(graph, cache, source=f"{values[_KEY]}", per_channel=False)  # verdict only
    except QdqError as exc:
        checker.add(ERROR, group, _KEY, f"{exc.problem.replace('this graph', model.path.name)}: it is not this "
                    f"model's calibration; {fix}")
        return
    for warning in report.warnings:
        checker.add(WARNING, group, _KEY, f"{values[_KEY]}: {warning}")
