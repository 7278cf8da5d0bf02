"""The nvinfer ([property], [class-attrs-*]) rules of `taostream check`."""

from __future__ import annotations

import os
from pathlib import Path

from taostream.converter.errors import EtltError, TaostreamError
from taostream.converter.numeric_inputs import MAX_DLA_CORE
from taostream.converter.registry import NETWORKS, recognise
from taostream.converter.wording import plural
from taostream.deepstream_configs import config_schema as schema
from taostream.deepstream_configs.check.calibration import check_calibration_cache
from taostream.deepstream_configs.check.run import (
    ERROR, WARNING, ModelFacts, UnreadableModel, _Checker, bundle_manifest, library_built_on_device,
    is_readable, library_machine_finding, nearest, note_unreadable, read_etlt_model_facts, read_model_facts,
)
from taostream.deepstream_configs.bundle.plugins_library import library_plugin_ops
from taostream.deepstream_configs.elf_symbols import ElfError, abi_mismatch, exported_functions
from taostream.deepstream_configs.ini import IniGroup
from taostream.deepstream_configs.labels import (
    UTF8_BOM, background_line_fix, deepstream_label_lines, misplaced_background_line, missing_background_line,
    read_label_text, read_labels_file,
)
from taostream.deepstream_configs.nvinfer import LPR_DICT_ENV, LPR_DICT_FILE, PARSER_ENV_FILE
from taostream.deepstream_configs.versions import deepstream_release, parse_trt_version

_FILE_KEYS = ("labelfile-path", "onnx-file", "tlt-encoded-model", "int8-calib-file", "custom-lib-path",
              "uff-file", "model-file", "proto-file", "custom-network-config", "mean-file")
_MODEL_SOURCES = ("onnx-file", "tlt-encoded-model", "uff-file", "model-file", "custom-network-config")
_PARSE_FUNCTION_KEYS = ("parse-bbox-func-name", "parse-bbox-instance-mask-func-name",
                        "parse-classifier-func-name", "engine-create-func-name")


def check_nvinfer(checker: _Checker, model_path: str | os.PathLike | None = None) -> dict[str, object]:
    """Check one nvinfer config; returns its parsed [property] values (the app checker uses them)."""
    prop_group = checker.ini.group("property")
    values = checker.check_keys(prop_group, schema.NVINFER_PROPERTY)
    if "network-type" not in values and values.get("is-classifier") is not None:
        # DeepStream 5's way to say it (deprecated, still read): nvinfer makes is-classifier=1 a classifier
        values["network-type"] = 1 if values["is-classifier"] else 0
    _check_groups(checker)
    _check_versions(checker, prop_group, values)
    _check_files(checker, prop_group, values)
    model = _model_facts(checker, prop_group, values, model_path)
    parsed = values  # what the app checker gets back: the config's own values
    if _check_detector_is_classifier(checker, prop_group, values, model):
        # judged as the classifier it is: detector advice (a bbox parser, num-detected-classes) would be wrong
        values = {**values, "network-type": 1}
    _check_model_source(checker, prop_group, values)
    _check_labels(checker, prop_group, values, model)
    _check_model_classes(checker, prop_group, values, model)
    _check_outputs(checker, prop_group, values, model)
    _check_dims(checker, prop_group, values, model)
    _check_parser(checker, prop_group, values)
    _check_parser_decodes_model(checker, prop_group, values, model)
    _check_network_type(checker, prop_group, values)
    _check_int8(checker, prop_group, values, model)
    check_calibration_cache(checker, prop_group, values, model)
    _check_layer_precision(checker, prop_group, values, model)
    _check_dla(checker, prop_group, values)
    _check_tensorrt_ops(checker, prop_group, values, model)
    _check_lpr_dictionary(checker, prop_group, values, model)
    return parsed


_LPR_PARSER = "NvDsInferParseCustomNVPlate"


def _lpr_dictionary_path(checker: _Checker) -> Path | None:
    """Where NvDsInferParseCustomNVPlate would find its dictionary for this config: a bundle's
    taostream_parser.env (TAOSTREAM_LPR_DICT, relative to the config's folder), else dict.txt in
    the config's folder (NVIDIA's deepstream_lpr_app runs from there)."""
    env_file = checker.folder / PARSER_ENV_FILE
    if env_file.is_file():
        for line in env_file.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key == LPR_DICT_ENV and value.strip().strip('"'):
                return checker.resolve(value.strip().strip('"'))
    candidate = checker.folder / LPR_DICT_FILE
    return candidate if candidate.is_file() else None


def _check_lpr_dictionary(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    if values.get("parse-classifier-func-name") != _LPR_PARSER:
        return
    path = _lpr_dictionary_path(checker)
    if path is None or not path.is_file():
        where = f"{path} (named in {checker.folder.name}/taostream_parser.env) does not exist" if path else \
            "no taostream_parser.env naming it and no dict.txt beside this config"
        checker.add(WARNING, group, "parse-classifier-func-name", f"{_LPR_PARSER} reads the plate characters from "
                    f"$TAOSTREAM_LPR_DICT, else dict.txt in deepstream-app's working directory, and fails every "
                    f"frame without it: {where}; put the model's characters_list_file there as dict.txt (one "
                    "character per line) or set TAOSTREAM_LPR_DICT")
        return
    classes = model.classes if model is not None else None
    if classes is None:
        return
    if not is_readable(path):
        note_unreadable(checker.report, path)
        return
    characters = read_labels_file(path)
    if len(characters) != classes.count:
        checker.add(ERROR, group, "parse-classifier-func-name", f"{path} lists {len(characters)} character(s) but "
                    f"{model.path.name} reads {classes.count} ({classes.where}): every plate would be spelled with "
                    "the wrong characters; use the characters_list_file the model was trained with")


_LAYER_PRECISIONS, _LAYER_DEVICES = ("fp32", "fp16", "int8"), ("gpu", "dla")


def _check_layer_precision(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    """layer-device-precision=name:precision:device;... (names may contain ':' and '/')."""
    text = values.get("layer-device-precision")
    if not text:
        return
    for item in (part for part in str(text).split(";") if part.strip()):
        name, _, rest = item.strip().rpartition(":")
        name, _, precision = name.rpartition(":")
        device = rest
        if not name or precision not in _LAYER_PRECISIONS or device not in _LAYER_DEVICES:
            checker.add(ERROR, group, "layer-device-precision", f"'{item.strip()}' is not layer:precision:device; "
                        f"write e.g. {item.split(':')[0] or 'conv1'}:fp32:gpu (precision fp32|fp16|int8, device gpu|dla)")
            continue
        if model is not None and model.layers and name not in model.layers:
            hint = nearest(name, model.layers)
            checker.add(ERROR, group, "layer-device-precision", f"'{name}' is not a layer of {model.path.name}"
                        + (f"; did you mean '{hint}'?" if hint else "; use the ONNX node name"))


def _check_groups(checker: _Checker) -> None:
    names = [g.name for g in checker.ini.groups]
    for group in checker.ini.groups:
        if group.name == "property":
            if names.count("property") > 1:
                checker.add(WARNING, group, None, "[property] appears twice; merge the groups")
            continue
        if schema.CLASS_ATTRS_GROUP.match(group.name):
            checker.check_keys(group, schema.NVINFER_CLASS_ATTRS)
            for key in schema.DEPRECATED_KEYS:
                if group.get(key) is not None and key in schema.NVINFER_CLASS_ATTRS:
                    checker.add(WARNING, group, key, f"deprecated; {schema.deprecated_advice(key, group.get(key))}")
            continue
        hint = nearest(group.name, ["property", "class-attrs-all", "class-attrs-0"])
        fix = f"did you mean [{hint}]?" if hint else "use [property], [class-attrs-all] or [class-attrs-<class id>]"
        checker.add(ERROR, group, None, f"unknown group [{group.name}], ignored by nvinfer; {fix}")


def _check_versions(checker: _Checker, group: IniGroup, values: dict) -> None:
    major = checker.major
    for key, (removed_in, advice) in schema.REMOVED_KEYS.items():
        if key in values and major >= removed_in:
            checker.add(ERROR, group, key, f"not supported by DeepStream {major} (removed in {removed_in}.0); {advice}")
    for key in schema.DEPRECATED_KEYS:
        if key in values and not (key in schema.REMOVED_KEYS and major >= schema.REMOVED_KEYS[key][0]):
            checker.add(WARNING, group, key, f"deprecated; {schema.deprecated_advice(key, values[key])}")
    for (key, value), since in schema.VALUE_SINCE.items():
        if values.get(key) == value and major < since:
            checker.add(ERROR, group, key, f"{key}={value} needs DeepStream {since} or newer; use 0 (FP32), 1 (INT8) or 2 (FP16)")


def _check_files(checker: _Checker, group: IniGroup, values: dict) -> None:
    for key in _FILE_KEYS:
        if key not in values:
            continue
        pending = library_built_on_device(checker.ini.path, checker.resolve(str(values[key]))) \
            if key == "custom-lib-path" else None
        if pending and not checker.resolve(str(values[key])).exists():
            checker.add(WARNING, group, key, pending)
            continue
        checker.check_file(group, key, values[key])
    engine = values.get("model-engine-file")
    # With a model to build from, a missing engine is normal: DeepStream builds and saves it there.
    if engine is not None and not any(k in values for k in _MODEL_SOURCES):
        checker.check_file(group, "model-engine-file", engine, ERROR, " and no model to build it from (onnx-file)")


def _model_facts(checker: _Checker, group: IniGroup, values: dict, model_path) -> ModelFacts | None:
    path = model_path if model_path is not None else (
        checker.resolve(str(values["onnx-file"])) if "onnx-file" in values else None)
    if path is None and values.get("tlt-encoded-model") and values.get("tlt-model-key"):
        return _etlt_facts(checker, group, values)
    if path is None:
        return None
    try:
        return read_model_facts(path)
    except UnreadableModel as exc:
        key = "onnx-file" if model_path is None else None
        fix = exc.fix or "copy the model again or re-create it (`taostream decode` / `taostream bundle`)"
        checker.add(ERROR, group if key else None, key, f"{exc}; {fix}")
        return None


def _etlt_facts(checker: _Checker, group: IniGroup, values: dict) -> ModelFacts | None:
    """The facts of a DeepStream 5-6 config's .etlt, decoded with its own tlt-model-key (as nvinfer
    does): its classes, input and outputs are then checked like an ONNX model's."""
    model = checker.resolve(str(values["tlt-encoded-model"]))
    try:
        return read_etlt_model_facts(model, str(values["tlt-model-key"]))
    except EtltError as exc:
        reason = str(exc).split(";")[0].split(": ", 1)[-1]
        checker.add(ERROR, group, "tlt-model-key", f"does not decode {values['tlt-encoded-model']} ({reason}): "
                    "nvinfer fails to build the engine; set the key the model was exported with (`tao export -k`)")
    except TaostreamError:  # a payload taostream cannot read (an op its UFF translator lacks): nothing to compare
        pass
    return None


def _check_model_source(checker: _Checker, group: IniGroup, values: dict) -> None:
    if not any(k in values for k in (*_MODEL_SOURCES, "model-engine-file")):
        checker.add(ERROR, group, "onnx-file", "no model: set onnx-file (or model-engine-file for a prebuilt engine)")
    if "tlt-encoded-model" in values and "tlt-model-key" not in values:
        checker.add(ERROR, group, "tlt-model-key", "tlt-encoded-model needs tlt-model-key; or decode the model and use onnx-file")
    if "labelfile-path" not in values and values.get("network-type", 0) in (0, 1, 3):
        checker.add(WARNING, group, "labelfile-path", "missing: objects get no class names; set labelfile-path=labels.txt")
    if "gie-unique-id" not in values:
        checker.add(WARNING, group, "gie-unique-id", "missing (defaults to 1): set it so secondary GIEs and the app can refer to it")


def _check_labels(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None = None) -> None:
    label_path = values.get("labelfile-path")
    network_type = values.get("network-type", 0)
    if label_path is None or not checker.resolve(str(label_path)).is_file():
        return
    if not is_readable(checker.resolve(str(label_path))):
        note_unreadable(checker.report, checker.resolve(str(label_path)))
        return
    labels = read_labels_file(checker.resolve(str(label_path)))
    _check_label_lines(checker, group, checker.resolve(str(label_path)))
    if network_type == 1:
        _check_classifier_labels(checker, group, values, checker.resolve(str(label_path)))
    classes = values.get("num-detected-classes")
    # the class count the model's graph outputs, when it says: that, not the label file, is right
    outputs = model.classes.count if model is not None and model.classes is not None else None
    if network_type in (0, 3) and classes is None:
        where = f"{model.path.name} outputs" if outputs is not None else "the label file has"
        checker.add(ERROR, group, "num-detected-classes", f"missing; {where} {plural(outputs or len(labels), 'class')}: "
                    f"set num-detected-classes={outputs or len(labels)}")
    elif network_type in (0, 3) and classes != len(labels):
        found = f"is {classes} but {label_path} has {plural(len(labels), 'line')}"
        if outputs == classes:  # the key is right: the label file has lines too many or too few
            extra = len(labels) - classes
            fix = (f"delete the {plural(extra, 'extra line')}" if extra > 0
                   else "add the background line first" if missing_background_line(labels, model.classes)
                   else f"add the {plural(-extra, 'missing class name')}")
            checker.add(ERROR, group, "num-detected-classes", f"{found}; {classes} is what {model.path.name} outputs, "
                        f"so keep it and {fix} in the label file (one class per line, model id order)")
        else:
            checker.add(ERROR, group, "num-detected-classes", f"{found}: set num-detected-classes={len(labels)} or fix "
                        "the label file (one class per line, model id order)")
    for attrs in checker.ini.groups:
        match = schema.CLASS_ATTRS_GROUP.match(attrs.name)
        if match and match.group(1).isdigit() and classes and int(match.group(1)) >= classes:
            checker.add(ERROR, attrs, None, f"class id {match.group(1)} does not exist (num-detected-classes={classes}); "
                        "class ids run from 0: fix the group name")


def _check_classifier_labels(checker: _Checker, group: IniGroup, values: dict, path: Path) -> None:
    """nvinfer reads a classifier's label file as one line per output layer, classes split at ';'
    (NvDsInferContextImpl::parseLabelsFile): one class per line names only class 0 of a one-output
    classifier, every other class gets no label."""
    lines = [line.strip() for _, line in deepstream_label_lines(read_label_text(path)) if line.strip()]
    outputs = values.get("output-blob-names") or []
    outputs = [n for n in outputs.split(";") if n] if isinstance(outputs, str) else list(outputs)
    if len(lines) > 1 and len(outputs) <= 1 and not any(";" in line for line in lines):
        checker.add(ERROR, group, "labelfile-path", f"{path} has {len(lines)} lines, one class each, but nvinfer "
                    "reads a classifier's label file as one line per output layer with the classes separated by "
                    f"';': only class 0 would get a label; write them on one line ({';'.join(lines[:3])}"
                    f"{';...' if len(lines) > 3 else ''})")


def _check_label_lines(checker: _Checker, group: IniGroup, path: Path) -> None:
    """Lines nvinfer counts as a class although they look empty (spaces, a Windows '\\r')."""
    text = read_label_text(path)
    if text.startswith(UTF8_BOM):
        checker.add(WARNING, group, "labelfile-path", f"{path} starts with a UTF-8 byte-order mark: DeepStream keeps "
                    "it in class 0's name, which then matches no other tool's name for that class; save the file "
                    "as UTF-8 without BOM")
    lines = deepstream_label_lines(text)
    for number, line in lines:
        if not line.strip():
            what = "a lone '\\r' (Windows line end)" if "\r" in line else "only spaces"
            checker.add(WARNING, group, "labelfile-path", f"{path} line {number} holds {what}: DeepStream counts it as "
                        "a class (it skips only empty lines); delete the line")
    if any(line.strip() and line.endswith("\r") for _, line in lines):
        checker.add(WARNING, group, "labelfile-path", f"{path} has Windows line ends: DeepStream keeps the '\\r' "
                    "in every class name; convert the file to Unix line ends (dos2unix)")


def _check_model_classes(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    """num-detected-classes and the label file against the class ids the model's graph outputs."""
    classes = model.classes if model is not None else None
    if classes is None:
        return
    network_type = values.get("network-type", 0)
    detected = values.get("num-detected-classes")
    fix = f"labels.txt needs {classes.count} line(s) and num-detected-classes={classes.count} (line k names class id k)"
    if network_type in (0, 3) and detected is not None and detected != classes.count:
        checker.add(ERROR, group, "num-detected-classes", f"is {detected} but {model.path.name} outputs {classes.count} "
                    f"class id(s) ({classes.where}); {fix}: use the labels of the spec the model was trained with")
    label_path = values.get("labelfile-path")
    if label_path is None or network_type not in (0, 1, 3) or not checker.resolve(str(label_path)).is_file() \
            or not is_readable(checker.resolve(str(label_path))):  # _check_labels reports an unreadable one
        return
    labels = read_labels_file(checker.resolve(str(label_path)))
    if missing_background_line(labels, classes):
        checker.add(ERROR, group, "labelfile-path", f"{label_path} has {plural(len(labels), 'class', 'classes')} but "
                    f"{model.path.name} outputs {classes.count} ({classes.where}); {background_line_fix(classes)}")
    elif misplaced_background_line(labels, classes):
        checker.add(ERROR, group, "labelfile-path", f"{label_path}: {misplaced_background_line(labels, classes)}")
    elif len(labels) != classes.count:
        checker.add(ERROR, group, "labelfile-path", f"{label_path} has {len(labels)} class(es) but {model.path.name} "
                    f"outputs {classes.count} ({classes.where}); {fix}: write it from the spec the model was trained "
                    "with (`taostream labels SPEC --network NET --model MODEL`)")


def _check_outputs(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    names = values.get("output-blob-names")
    if names is None:
        if values.get("network-type", 0) in (0, 3) and "parse-bbox-func-name" not in values and model is None:
            checker.add(WARNING, group, "output-blob-names", "missing; nvinfer then uses every model output: list the parser's outputs")
        return
    if model is None:
        return
    for name in names:
        if name not in model.outputs:
            hint = nearest(name, model.outputs)
            fix = f"did you mean '{hint}'?" if hint else f"the model's outputs are {';'.join(model.outputs)}"
            checker.add(ERROR, group, "output-blob-names", f"'{name}' is not an output of {model.path.name}; {fix}")


def _check_dims(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    dims = values.get("infer-dims")
    channels = {0: 3, 1: 3, 2: 1}.get(values.get("model-color-format", 0), 3)
    offsets = values.get("offsets")
    if offsets is not None and len(offsets) != channels:
        checker.add(ERROR, group, "offsets", f"{len(offsets)} values for a {channels}-channel model-color-format; "
                    f"give {channels} values separated by ';'")
    if dims is None:
        _check_uff_dims(checker, group, values, model)
        return
    if len(dims) != 3:
        checker.add(ERROR, group, "infer-dims", "needs 3 values c;h;w (channels first, also for NHWC models)")
        return
    if dims[0] != channels:
        checker.add(ERROR, group, "infer-dims", f"{dims[0]} channels but model-color-format={values.get('model-color-format', 0)} "
                    f"gives {channels}; fix one of them")
    if model is not None and len(model.inputs) == 1:
        shape = next(iter(model.inputs.values()))[1:]
        chw = shape if values.get("network-input-order", 0) == 0 else tuple(shape[i] for i in (2, 0, 1))
        if len(chw) == 3 and all(d > 0 for d in chw) and tuple(chw) != tuple(dims):
            checker.add(ERROR, group, "infer-dims", f"{';'.join(map(str, dims))} but the model's input is "
                        f"{';'.join(map(str, chw))}: set infer-dims={';'.join(map(str, chw))}")


def _check_uff_dims(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    """uff-input-dims=c;h;w;order (DeepStream 5-6 with an .etlt) against the model's input."""
    text = values.get("uff-input-dims")
    if text is None or model is None or len(model.inputs) != 1:
        return
    parts = [p.strip() for p in str(text).split(";") if p.strip()]
    if len(parts) < 3 or not all(p.isdigit() for p in parts):
        return
    shape = next(iter(model.inputs.values()))[1:]
    order = int(parts[3]) if len(parts) > 3 else 0  # 0: NCHW, 1: NHWC
    chw = shape if order == 0 or len(shape) != 3 else tuple(shape[i] for i in (2, 0, 1))
    given = tuple(int(p) for p in parts[:3])
    if len(chw) == 3 and all(d > 0 for d in chw) and tuple(chw) != given:
        checker.add(ERROR, group, "uff-input-dims", f"{';'.join(parts[:3])} but {model.path.name}'s input is "
                    f"{';'.join(map(str, chw))}: TensorRT would build it for another input size than it was "
                    f"trained for; set uff-input-dims={';'.join(map(str, chw))};{order}")


def _check_parser(checker: _Checker, group: IniGroup, values: dict) -> None:
    functions = {k: values[k] for k in _PARSE_FUNCTION_KEYS if k in values}
    library = values.get("custom-lib-path")
    if functions and library is None:
        key = next(iter(functions))
        checker.add(ERROR, group, key, "names a custom function but custom-lib-path is not set: "
                    "set custom-lib-path to the library that exports it")
        return
    if library is None or not checker.resolve(str(library)).is_file():
        return
    try:
        exported = exported_functions(checker.resolve(str(library)))
    except ElfError as exc:
        checker.add(ERROR, group, "custom-lib-path", str(exc))
        return
    mismatch = abi_mismatch(checker.resolve(str(library)), checker.major)
    if mismatch:
        checker.add(ERROR, group, "custom-lib-path", mismatch)
    _check_library_machine(checker, group, checker.resolve(str(library)))
    for key, name in functions.items():
        if name not in exported:
            hint = nearest(str(name), exported)
            fix = f"did you mean '{hint}'?" if hint else "export it with extern \"C\" or fix the name"
            checker.add(ERROR, group, key, f"'{name}' is not exported by {library}; {fix}")


def _check_parser_decodes_model(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    """A registry parser function whose networks' output layout is not the model's (the BatchedNMS parser on
    an SSD's NMS output, DetectNet_v2's on a YOLO): it would fail on every frame or decode another layout.
    Custom parsers (no registry network names them) and unrecognised models are not judged."""
    key = "parse-bbox-func-name"
    name = values.get(key)
    if model is None or not name:
        return
    owners = [net for net in NETWORKS if name in (net.parser_function, net.legacy_parser_function)]
    seen = recognise(list(model.inputs), list(model.outputs))
    if not owners or seen is None or any(net.output_layout == seen.output_layout for net in owners):
        return
    right = seen.parser_function or seen.legacy_parser_function
    if seen.task == "classification":  # no bbox parser at all: nvinfer's classifier path
        fix = (f"delete {key}, set network-type=1 and parse-classifier-func-name={right}"
               if seen.output_layout == "lprnet_ctc" else f"delete {key} and set network-type=1: nvinfer's own "
               "softmax parser names the classes from labelfile-path")
    elif seen.task == "instance_segmentation":  # its parser has a key of its own
        fix = f"delete {key}, set network-type=3 and parse-bbox-instance-mask-func-name={right}"
    else:
        fix = f"set {key}={right}"
    checker.add(ERROR, group, key, f"{name} decodes {'/'.join(net.name for net in owners)} outputs, but "
                f"{model.path.name}'s outputs ({';'.join(model.outputs)}) are TAO's {seen.name} export: {fix}")


def _check_library_machine(checker: _Checker, group: IniGroup, library: Path) -> None:
    finding = library_machine_finding(checker.ini.path, library)
    if finding is not None:
        checker.add(finding[0], group, "custom-lib-path", finding[1])


_SELF_CLUSTERING_PARSERS = ("NvDsInferParseCustomDetectNetV2TAO",)
# Classifier parsers that return attributes without attributeLabel/descString (taostream wrote this one
# into classifier configs before it used nvinfer's built-in softmax parser).
_UNLABELLED_CLASSIFIER_PARSERS = ("NvDsInferClassifierParseCustomTAO",)


def _classifier_output(model: ModelFacts | None) -> str | None:
    """'NAME [N, C]' when the model's only output is one score per class ([N, C] or [N, C, 1, 1],
    C >= 2: a TAO classification export), else None (unknown shapes included)."""
    graph = model.proto if model is not None and model.proto is not None else getattr(model, "translation", None)
    if graph is None or len(graph.graph.output) != 1:
        return None
    output = graph.graph.output[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in output.type.tensor_type.shape.dim]
    if len(dims) not in (2, 4) or dims[1] is None or dims[1] < 2 or any(d != 1 for d in dims[2:]):
        return None
    return f"{output.name} [N, {', '.join(map(str, dims[1:]))}]"


def _check_detector_is_classifier(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> bool:
    """A detector config (network-type=0 or unset) on a model whose only output is class scores: nvinfer
    finds no boxes in it (no objects, ever). True when reported."""
    if values.get("network-type", 0) != 0:
        return False
    output = _classifier_output(model)
    if output is None:
        return False
    key = "is-classifier" if group.entry("is-classifier") and not group.entry("network-type") else "network-type"
    said = f"{key}={group.entry(key).value}" if group.entry(key) else "no network-type (a detector)"
    checker.add(ERROR, group, key, f"{said}, but {model.path.name}'s only output is {output}, one score per class: "
                f"it is a classifier and nvinfer would find no objects in it; set {key}=1 and classifier-threshold "
                "(the lowest score to report, e.g. 0.2), with the labels on one ';'-separated line "
                "(`taostream bundle` writes such a config)")
    return True


def _check_network_type(checker: _Checker, group: IniGroup, values: dict) -> None:
    network_type = values.get("network-type", 0)
    if network_type == 3:
        if values.get("cluster-mode") != 4:
            checker.add(ERROR, group, "cluster-mode", "instance segmentation (network-type=3) needs cluster-mode=4 "
                        "(the model clusters itself): set cluster-mode=4")
        if values.get("output-instance-mask") != 1:
            checker.add(ERROR, group, "output-instance-mask", "instance segmentation needs output-instance-mask=1")
        if "parse-bbox-instance-mask-func-name" not in values:
            checker.add(ERROR, group, "parse-bbox-instance-mask-func-name",
                        "instance segmentation needs a mask parser, e.g. NvDsInferParseCustomMrcnnTLTV2")
    if network_type == 0 and "parse-bbox-func-name" not in values:
        names = values.get("output-blob-names") or []
        if names and not any("cov" in n for n in names):
            checker.add(ERROR, group, "parse-bbox-func-name", "missing: nvinfer's built-in parser reads only "
                        "DetectNet-style cov/bbox outputs; set the network's parser and custom-lib-path")
    # Parsers that already cluster (TAO's DetectNet_v2 DBSCAN in taostream's parser) must not be
    # clustered again by nvinfer.
    if values.get("parse-bbox-func-name") in _SELF_CLUSTERING_PARSERS and values.get("cluster-mode", 0) != 4:
        checker.add(WARNING, group, "cluster-mode", f"{values['parse-bbox-func-name']} already clusters the way "
                    "TAO's inference does, so nvinfer clusters twice; set cluster-mode=4")
    if network_type == 1 and values.get("parse-classifier-func-name") in _UNLABELLED_CLASSIFIER_PARSERS:
        checker.add(WARNING, group, "parse-classifier-func-name", f"{values['parse-classifier-func-name']} leaves "
                    "every attribute's label empty, so nvinfer attaches no classifier meta (no class names on the "
                    "objects); delete parse-classifier-func-name so nvinfer's softmax parser names them from "
                    "labelfile-path (one line per output layer: a;b;c)")
    if values.get("process-mode") == 2 and "operate-on-gie-id" not in values:
        checker.add(WARNING, group, "operate-on-gie-id", "secondary mode without operate-on-gie-id runs on every "
                    "object; set it to the primary GIE's gie-unique-id")


def _check_int8(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    if values.get("network-mode") != 1 or "int8-calib-file" in values:
        return
    if model is not None and model.quantized:
        _check_qdq_before_tensorrt_10(checker, group, values, model)
        return  # explicit quantization: the Q/DQ nodes carry the scales
    if model is None and "onnx-file" in values:
        return  # the ONNX was not found or did not parse (reported): whether it has Q/DQ nodes is unknown
    if model is None and "onnx-file" not in values and "model-engine-file" in values:
        checker.add(WARNING, group, "network-mode", "INT8 with a prebuilt engine and no int8-calib-file: fine only "
                    "if the engine was built INT8")
        return
    checker.add(ERROR, group, "int8-calib-file", "network-mode=1 (INT8) without a calibration file and the model "
                "has no Q/DQ nodes: set int8-calib-file=cal.bin, quantize the ONNX (`taostream modernize "
                "--calibration-cache`), or use network-mode=2 (FP16)")


def _check_qdq_before_tensorrt_10(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts) -> None:
    """A Q/DQ model with network-mode=1 and no int8-calib-file: nvinfer sets TensorRT's INT8 flag only with
    a calibrator, so it builds in FP16 ("INT8 calibration file not specified. Trying FP16 mode.",
    configCommonOptions in nvdsinfer_model_builder.cpp, DeepStream 6.x to 9.1) and saves the engine as
    *_fp16.engine; TensorRT 8 enables no quantized op without that flag (an error: bundles for 6.0-7.0
    load the plugin graph with the cache, docs/versions.md); TensorRT 10 is reported to refuse a Q/DQ
    graph built with --fp16 alone too (a warning: not verified on a device here). With an int8-calib-file
    TensorRT ignores the calibrator of a Q/DQ network, so naming the model's cache is the fix."""
    platforms, _ = _target_platforms(checker, values)
    release = deepstream_release(checker.deepstream)
    tensorrt = " / ".join(sorted({release.tensorrt(p) for p in platforms}))
    why = (f"{model.path.name} has Q/DQ nodes (explicit INT8), but DeepStream {checker.deepstream}'s nvinfer, given "
           f"network-mode=1 without int8-calib-file, does not set TensorRT's INT8 flag and builds in FP16")
    if all(parse_trt_version(release.tensorrt(p))[0] < 10 for p in platforms):
        checker.add(ERROR, group, "onnx-file", f"{why}, and TensorRT {tensorrt} runs no Q/DQ graph without that "
                    "flag: load the unquantized graph with its calibration cache (a bundle's model_trt10.onnx and "
                    "int8-calib-file=../calibration.bin), or target DeepStream 7.1 or later (x86)")
    else:
        checker.add(WARNING, group, "int8-calib-file", f"{why} (engine *_fp16.engine), which TensorRT {tensorrt} "
                    "is not known to build from a Q/DQ graph: set int8-calib-file to the model's calibration cache "
                    "(a bundle's ../calibration.bin; TensorRT ignores its scales for a Q/DQ network)")


def _target_platforms(checker: _Checker, values: dict) -> tuple[list[str], bool]:
    """The platforms the config is for, and whether that is known (a bundle's manifest, or DLA,
    which exists only on Jetson) rather than assumed (both)."""
    bundle = bundle_manifest(checker.ini.path)
    if bundle is not None and bundle[1].get("platform") in ("x86", "jetson"):
        return [bundle[1]["platform"]], True
    if values.get("enable-dla") == 1:
        return ["jetson"], True
    return ["x86", "jetson"], False


def _check_tensorrt_ops(checker: _Checker, group: IniGroup, values: dict, model: ModelFacts | None) -> None:
    """The model's ops against the ONNX parser of the TensorRT this DeepStream release runs
    (versions.py, converter/engine/onnx_ops.py): an error when no target platform can parse it, a warning when
    only one of x86 / Jetson cannot (the config does not say which it is for)."""
    if model is None or model.proto is None:
        return
    from taostream.converter.engine.onnx_ops import describe, unparsable_ops  # lazy: heavy (loads onnx)

    release = deepstream_release(checker.deepstream)
    platforms, known = _target_platforms(checker, values)
    provided = _library_plugin_ops(checker, values)
    failing = {}
    for platform in platforms:
        problems = unparsable_ops(model.proto, release.tensorrt(platform), provided=provided)
        if problems:
            failing[platform] = problems
    if not failing:
        return
    key = "onnx-file" if "onnx-file" in values else None
    for platform, problems in failing.items():
        where = f"DeepStream {release.version} on {platform} runs TensorRT {release.tensorrt(platform)}"
        severity = ERROR if known or len(failing) == len(platforms) else WARNING
        fix = ("use the graph made for this TensorRT (a bundle's model_trt10.onnx plugin graph, "
               "`taostream bundle --deepstream " + release.version + "`) or a newer DeepStream")
        checker.add(severity, group, key, f"{model.path.name}: {where}, whose ONNX parser cannot import "
                    f"{describe(problems)}; {fix}")


def _library_plugin_ops(checker: _Checker, values: dict) -> frozenset[str]:
    """The TensorRT plugin ops the custom-lib-path library registers (libtaostream_plugins.so), which
    nvinfer's TensorRT then parses although the TensorRT release removed them."""
    library = values.get("custom-lib-path")
    if library is None or not checker.resolve(str(library)).is_file():
        return frozenset()
    return frozenset(library_plugin_ops(checker.resolve(str(library))))


def _check_dla(checker: _Checker, group: IniGroup, values: dict) -> None:
    # The key's presence is what counts: a bad value is reported by its own type check.
    if values.get("enable-dla") == 1 and group.get("use-dla-core") is None:
        checker.add(WARNING, group, "use-dla-core", "enable-dla=1 without use-dla-core: DLA core 0 is used; set it explicitly")
    core = values.get("use-dla-core")
    if values.get("enable-dla") == 1 and isinstance(core, int) and core > MAX_DLA_CORE:
        checker.add(ERROR, group, "use-dla-core", f"no Jetson has DLA core {core} (Xavier and Orin have cores 0 and 1): "
                    "TensorRT fails to build the engine; set use-dla-core=0 or 1")
    bundle = bundle_manifest(checker.ini.path)
    if values.get("enable-dla") == 1 and bundle is not None and bundle[1].get("platform") == "x86":
        checker.add(ERROR, group, "enable-dla", f"the bundle {bundle[0].parent.name} is for x86, whose GPUs have no "
                    "DLA core to build the engine on (DLA is a Jetson unit): set enable-dla=0, or re-create the "
                    "bundle with --platform jetson --dla-core N")
