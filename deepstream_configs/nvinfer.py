"""nvinfer configuration files (config_infer_*.txt) for every registry network.

DeepStream 6.x reads TAO's encrypted models (tlt-encoded-model + tlt-model-key) as well as ONNX and
engines; DeepStream 7, 8 and 9 read only ONNX (onnx-file) or a prebuilt engine: UFF and .etlt are gone.
A config that embeds the model key is written only when the caller explicitly asks for a DeepStream 6
.etlt config (``model_format='etlt'`` AND ``embed_key=True``); the default everywhere is ONNX.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text
from taostream.converter.numeric_inputs import require_batch_size, require_dla_core
from taostream.converter.registry import Network, get_network
from taostream.deepstream_configs.ini import IniSections, format_ini
from taostream.deepstream_configs.specs.settings import (
    PARSER_SETTINGS_ENV, ClusterSettings, Preprocessing, cluster_settings_from_spec)
# The DeepStream -> TensorRT table lives in versions.py; these names are re-exported for existing callers.
from taostream.deepstream_configs.versions import (  # noqa: F401
    DEEPSTREAM_VERSIONS, DEFAULT_DEEPSTREAM, deepstream_release)

PARSER_ENV_FILE = "taostream_parser.env"
# NvDsInferParseCustomNVPlate's dictionary (else dict.txt in the working directory, as NVIDIA's parser);
# a bundle writes dict.txt in its top folder and names it in deepstream/PARSER_ENV_FILE (relative to deepstream/).
LPR_DICT_ENV = "TAOSTREAM_LPR_DICT"
LPR_DICT_FILE = "dict.txt"

PRECISIONS = {"fp32": 0, "int8": 1, "fp16": 2}
COLOR_FORMATS = {"RGB": 0, "BGR": 1, "GRAY": 2}
MODEL_FORMATS = ("onnx", "engine", "etlt")
PARSER_LIBRARY_NAME = "libnvds_infercustomparser_taostream.so"


def deepstream_major(version: str) -> int:
    """'6.4' -> 6, '9' -> 9; rejects versions taostream does not target (versions.DEEPSTREAM_RELEASES)."""
    return deepstream_release(version).major


def engine_file_name(model_file: str, batch_size: int, device: str, precision: str) -> str:
    """DeepStream's own name for an engine it builds: <model>_b<batch>_<gpuN|dlaN>_<precision>.engine."""
    return f"{Path(model_file).name}_b{batch_size}_{device}_{precision}.engine"


@dataclass
class NvinferOptions:
    """Everything that varies between deployments of one network. Paths are written as given
    (relative paths are relative to the config file's folder, as nvinfer resolves them)."""

    network: Network
    model_file: str  # model.onnx, model.etlt or model.engine
    labels_file: str
    num_classes: int
    dims: tuple[int, int, int]  # (C, H, W)
    deepstream: str = DEFAULT_DEEPSTREAM
    platform: str = "x86"  # x86 | jetson
    precision: str = "fp16"
    model_format: str = "onnx"
    etlt_key: str | None = None
    embed_key: bool = False  # explicit opt-in: the key is written into the config in clear text
    etlt_input_name: str | None = None  # UFF payloads: the input blob in the .etlt header
    int8_source: str = "calibration"  # calibration | qdq (explicit quantization in the ONNX)
    calibration_file: str | None = None
    batch_size: int = 1
    gpu_id: int = 0
    dla_core: int | None = None  # Jetson only; GPU fallback stays on for layers DLA lacks
    output_names: tuple[str, ...] | None = None  # the model's real outputs; registry's otherwise
    custom_lib_path: str | None = None
    preprocessing: Preprocessing | None = None
    cluster: ClusterSettings | None = None
    gie_unique_id: int = 1
    process_mode: int = 1  # 1 primary (full frame), 2 secondary (on objects)
    operate_on_gie_id: int | None = None
    operate_on_class_ids: tuple[int, ...] = ()
    interval: int = 0
    # Layers kept in FP32 on the GPU under implicit INT8 (layer-device-precision), e.g. YOLO's decode.
    fp32_layers: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)


def _validate(options: NvinferOptions, major: int) -> None:
    if options.model_format not in MODEL_FORMATS:
        raise TaostreamError(f"model format '{options.model_format}': use one of {', '.join(MODEL_FORMATS)}")
    if options.model_format == "etlt":
        if major != 6:
            raise TaostreamError(
                f"DeepStream {options.deepstream} cannot read .etlt models (tlt-encoded-model was removed "
                "after 6.x); write an onnx-file config instead (decode the model with `taostream decode`)"
            )
        if not (options.embed_key and options.etlt_key):
            raise TaostreamError(
                "a DeepStream 6 .etlt config must contain the model key in clear text (tlt-model-key); "
                "confirm with embed_key=True (--embed-key) and give the key, or use an onnx-file config"
            )
    if options.precision not in PRECISIONS:
        raise TaostreamError(f"precision '{options.precision}': use one of {', '.join(PRECISIONS)}")
    if options.platform not in ("x86", "jetson"):
        raise TaostreamError(f"platform '{options.platform}': use x86 or jetson")
    require_dla_core(options.dla_core)
    require_batch_size(options.batch_size)
    if options.dla_core is not None and options.platform != "jetson":
        raise TaostreamError("a DLA core exists only on Jetson: drop --dla-core or use --platform jetson")
    if options.precision == "int8" and options.int8_source == "calibration" and not options.calibration_file:
        if options.model_format != "engine":
            raise TaostreamError(
                "INT8 needs a calibration cache (--calibration-cache cal.bin) or a Q/DQ ONNX "
                "(int8_source='qdq'); or choose --precision fp16"
            )


def device_name(options: NvinferOptions) -> str:
    return f"dla{options.dla_core}" if options.dla_core is not None else f"gpu{options.gpu_id}"


def _model_keys(options: NvinferOptions, major: int) -> dict[str, object]:
    keys: dict[str, object] = {}
    engine = engine_file_name(options.model_file, options.batch_size, device_name(options), options.precision)
    if options.model_format == "engine":
        keys["model-engine-file"] = options.model_file
        return keys
    if options.model_format == "etlt":
        keys["tlt-encoded-model"] = options.model_file
        keys["tlt-model-key"] = options.etlt_key
        if options.etlt_input_name:  # UFF payload
            keys["uff-input-blob-name"] = options.etlt_input_name
            keys["uff-input-order"] = 1 if options.network.input_order == "NHWC" else 0
    else:
        keys["onnx-file"] = options.model_file
    # Where DeepStream will save the engine it builds, so the next start reuses it.
    keys["model-engine-file"] = str(Path(options.model_file).parent / engine) if "/" in options.model_file else engine
    return keys


def nvinfer_sections(options: NvinferOptions) -> IniSections:
    """The [property] and [class-attrs-*] groups as ordered dicts (pure: no files touched)."""
    major = deepstream_major(options.deepstream)
    _validate(options, major)
    net = options.network
    pre = options.preprocessing or Preprocessing(net.color, net.net_scale_factor, tuple(net.offsets))
    prop: dict[str, object] = {"gpu-id": options.gpu_id, "net-scale-factor": pre.net_scale_factor}
    if pre.offsets and any(pre.offsets):
        prop["offsets"] = ";".join(_number(o) for o in pre.offsets)
    elif net.input_order == "NHWC" or pre.offsets:
        prop["offsets"] = ";".join("0" for _ in range(options.dims[0]))
    prop["model-color-format"] = COLOR_FORMATS[pre.color]
    if net.input_order == "NHWC":
        prop["network-input-order"] = 1
    prop.update(_model_keys(options, major))
    prop["labelfile-path"] = options.labels_file
    if options.precision == "int8" and options.calibration_file:
        prop["int8-calib-file"] = options.calibration_file
    prop["infer-dims"] = ";".join(str(d) for d in options.dims)
    prop["batch-size"] = options.batch_size
    prop["network-mode"] = PRECISIONS[options.precision]
    prop["network-type"] = net.network_type
    prop["process-mode"] = options.process_mode
    if options.process_mode == 2:
        prop["operate-on-gie-id"] = options.operate_on_gie_id or 1
        if options.operate_on_class_ids:
            prop["operate-on-class-ids"] = ";".join(str(i) for i in options.operate_on_class_ids)
    prop["gie-unique-id"] = options.gie_unique_id
    prop["interval"] = options.interval
    if net.network_type != 1:
        prop["num-detected-classes"] = options.num_classes
    prop["maintain-aspect-ratio"] = int(net.maintain_aspect_ratio)
    prop["symmetric-padding"] = int(net.symmetric_padding)
    cluster_mode = _cluster_settings(options).cluster_mode or net.cluster_mode
    if net.network_type != 1:
        prop["cluster-mode"] = cluster_mode
    prop["output-blob-names"] = ";".join(options.output_names or _default_outputs(options))
    if options.dla_core is not None:
        prop["enable-dla"] = 1
        prop["use-dla-core"] = options.dla_core
    prop.update(_parser_keys(options))
    if options.precision == "int8" and options.int8_source == "calibration" and options.fp32_layers:
        prop["layer-device-precision"] = ";".join(f"{name}:fp32:gpu" for name in options.fp32_layers)
    prop.update(options.extra)
    sections: IniSections = {"property": prop}
    sections.update(_class_attrs(options))
    return sections


def _default_outputs(options: NvinferOptions) -> tuple[str, ...]:
    uff_payload = options.model_format == "etlt" and options.etlt_input_name
    return options.network.output_names("uff" if uff_payload else "onnx")


def _parser_keys(options: NvinferOptions) -> dict[str, object]:
    """The registry's parser function in taostream's parser library (DeepStream's built-in parsers
    know neither the TAO layouts nor, for DetectNet_v2, TAO's bbox normalisation). Classifiers
    whose registry entry names no parser function use nvinfer's built-in softmax parser."""
    net = options.network
    keys: dict[str, object] = {}
    if net.network_type == 1:
        keys["classifier-threshold"] = net.pre_cluster_threshold
        if not net.parser_function:
            # nvinfer's own softmax parser: it names each attribute from labelfile-path (line k = output
            # layer k, classes ';'-separated). A custom parser would have to fill attributeLabel itself;
            # nvinfer attaches no classifier meta when it stays empty (docs/deepstream.md).
            return keys
        keys["parse-classifier-func-name"] = net.parser_function
    elif net.network_type == 3:
        keys["output-instance-mask"] = 1
        keys["parse-bbox-instance-mask-func-name"] = net.parser_function
    else:
        keys["parse-bbox-func-name"] = net.parser_function
    keys["custom-lib-path"] = options.custom_lib_path or PARSER_LIBRARY_NAME
    return keys


def _cluster_settings(options: NvinferOptions) -> ClusterSettings:
    return options.cluster or cluster_settings_from_spec(options.network, None, [])


def _class_attrs(options: NvinferOptions) -> IniSections:
    if options.network.network_type == 1:
        return {}
    attrs = _cluster_settings(options).class_attrs
    return {f"class-attrs-{name}": dict(values) for name, values in attrs.items()}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _qdq_calibrator_note(options: NvinferOptions) -> list[str]:
    """The header lines of a Q/DQ INT8 config. nvinfer sets TensorRT's INT8 builder flag only when it has a
    calibrator, i.e. an int8-calib-file (configCommonOptions in nvdsinfer_model_builder.cpp, DeepStream
    6.x to 9.1: otherwise "INT8 calibration file not specified. Trying FP16 mode."), and TensorRT builds
    no Q/DQ network without that flag; with it, TensorRT ignores the calibrator of a Q/DQ network
    ("Calibrator won't be used in explicit precision mode")."""
    if not options.calibration_file:
        return ["INT8 from the Q/DQ nodes in the ONNX (explicit quantization): no calibration file"]
    return ["INT8 from the Q/DQ nodes in the ONNX (explicit quantization). int8-calib-file is there so that",
            "nvinfer sets TensorRT's INT8 flag (without one it builds FP16, which a Q/DQ graph cannot);",
            "TensorRT does not use its scales for a Q/DQ network"]


def format_nvinfer_config(options: NvinferOptions) -> str:
    header = [
        f"nvinfer config for {options.network.name}, DeepStream {options.deepstream}, "
        f"{options.platform}, {options.precision} (written by taostream)",
    ]
    if options.model_format == "etlt":
        header.append("WARNING: tlt-model-key holds the model key in clear text (requested explicitly)")
    if options.dla_core is not None:
        header.append("DLA: nvinfer enables GPU fallback for layers the DLA cannot run")
    if options.precision == "int8" and options.int8_source == "qdq":
        header += _qdq_calibrator_note(options)
    if options.network.output_layout == "lprnet_ctc":
        header += [
            f"{options.network.parser_function} reads its character dictionary from ${LPR_DICT_ENV}, else from",
            f"{LPR_DICT_FILE} in the working directory (the bundle writes {LPR_DICT_FILE} in its top folder: run deepstream-app",
            f"from there, or set {LPR_DICT_ENV}; taostream deepstream-app sets it from deepstream/{PARSER_ENV_FILE})",
        ]
    parser_settings = _cluster_settings(options).parser_settings if options.network.network_type != 1 else None
    if parser_settings:
        header += [
            f"{options.network.parser_function} clusters the way TAO's inference does (cluster-mode=4 here);",
            f"its settings come from the environment: {PARSER_SETTINGS_ENV}=\"{parser_settings}\"",
            f"(the bundle writes them to deepstream/{PARSER_ENV_FILE}; taostream deepstream-app sets them)",
        ]
    return format_ini(nvinfer_sections(options), header)


def write_nvinfer_config(path: str | os.PathLike, options: NvinferOptions) -> Path:
    return atomic_write_text(path, format_nvinfer_config(options))


def default_options(network: str | Network, **overrides) -> NvinferOptions:
    """Options at the registry's defaults: model.onnx, labels.txt, the default dims."""
    net = get_network(network) if isinstance(network, str) else network
    values = dict(
        network=net, model_file="model.onnx", labels_file="labels.txt",
        num_classes=overrides.pop("num_classes", 1), dims=net.default_dims,
    )
    values.update(overrides)
    return NvinferOptions(**values)
