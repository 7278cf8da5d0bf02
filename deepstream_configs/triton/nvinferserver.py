"""nvinferserver configs (DeepStream + Triton): the same preprocessing and parser as the nvinfer
config, with the model served by Triton in-process (model_repo) or over gRPC."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text
from taostream.converter.model.preprocess import DEFAULT_INTERPOLATION, INTERPOLATIONS
from taostream.converter.registry import Network
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME
from taostream.deepstream_configs.triton.pbtxt import Enum, format_pbtxt
from taostream.deepstream_configs.specs.settings import Preprocessing

_FORMATS = {"RGB": "IMAGE_FORMAT_RGB", "BGR": "IMAGE_FORMAT_BGR", "GRAY": "IMAGE_FORMAT_GRAY"}


@dataclass
class NvinferserverOptions:
    network: Network
    model_name: str
    labels_file: str
    num_classes: int
    repository: str = "../triton"  # in-process: the Triton model repository (relative to the config)
    grpc_url: str | None = None  # e.g. "localhost:8001": use a running Triton server instead
    max_batch_size: int = 1
    gpu_id: int = 0
    unique_id: int = 1
    custom_lib_path: str | None = None
    preprocessing: Preprocessing | None = None
    pre_cluster_threshold: float | None = None
    nms_iou_threshold: float | None = None
    top_k: int | None = None
    cluster_mode: int | None = None  # None: the registry's; 4 when the parser clusters (DetectNet_v2)
    # class id -> pre-cluster threshold where the nvinfer config has [class-attrs-<id>] (per_class_params)
    class_thresholds: dict[int, float] | None = None
    interval: int = 0
    input_name: str | None = None  # the model's input tensor (tensor_name); Triton's config names it otherwise


def _backend(options: NvinferserverOptions) -> dict:
    triton: dict = {"model_name": options.model_name, "version": -1}
    if options.grpc_url:
        triton["grpc"] = {"url": options.grpc_url, "enable_cuda_buffer_sharing": False}
    else:
        triton["model_repo"] = {"root": options.repository, "strict_model_config": True}
    return {"triton": triton}


def _preprocess(options: NvinferserverOptions) -> dict:
    net = options.network
    pre = options.preprocessing or Preprocessing(net.color, net.net_scale_factor, tuple(net.offsets))
    normalize: dict = {"scale_factor": float(pre.net_scale_factor)}
    if pre.offsets:
        normalize["channel_offsets"] = [float(o) for o in pre.offsets]
    message = {
        "network_format": Enum(_FORMATS[pre.color]),
        "tensor_order": Enum("TENSOR_ORDER_NHWC" if net.input_order == "NHWC" else "TENSOR_ORDER_LINEAR"),
        "tensor_name": options.input_name,
        "maintain_aspect_ratio": int(net.maintain_aspect_ratio),
        "frame_scaling_hw": Enum("FRAME_SCALING_HW_DEFAULT"),
        # The same filter as the nvinfer config (scaling-filter default 0) and the CPU runners.
        "frame_scaling_filter": INTERPOLATIONS[DEFAULT_INTERPOLATION],
        "normalize": normalize,
    }
    if net.symmetric_padding:
        message["symmetric_padding"] = 1
    return message


def _postprocess(options: NvinferserverOptions) -> dict:
    net = options.network
    post: dict = {"labelfile_path": options.labels_file}
    threshold = options.pre_cluster_threshold if options.pre_cluster_threshold is not None else net.pre_cluster_threshold
    if net.network_type == 1:
        post["classification"] = {"threshold": float(threshold)}
        if net.parser_function:  # LPRNet (NVIDIA's deepstream_lpr_app triton config does the same)
            post["classification"]["custom_parse_classifier_func"] = net.parser_function
        return post
    detection: dict = {"num_detected_classes": options.num_classes, "custom_parse_bbox_func": net.parser_function}
    if options.class_thresholds:
        # nvinfer's [class-attrs-<id>] pre-cluster-threshold: the parser gets it per class on this path too
        detection["per_class_params"] = [{"key": class_id, "value": {"pre_threshold": float(value)}}
                                         for class_id, value in sorted(options.class_thresholds.items())]
    cluster_mode = options.cluster_mode or net.cluster_mode
    if cluster_mode in (2, 3):
        detection["nms"] = {
            "confidence_threshold": float(threshold),
            "iou_threshold": float(options.nms_iou_threshold or net.nms_iou_threshold or 0.5),
            "topk": int(options.top_k or net.keep_top_k or 100),
        }
    elif cluster_mode == 1:
        detection["dbscan"] = {"pre_threshold": float(threshold), "eps": 0.2, "min_boxes": 1}
    else:
        detection["simple_cluster"] = {"threshold": float(threshold)}
    post["detection"] = detection
    return post


def nvinferserver_message(options: NvinferserverOptions) -> dict:
    if options.max_batch_size < 1:
        raise TaostreamError("nvinferserver max_batch_size must be at least 1")
    infer_config: dict = {
        "unique_id": options.unique_id,
        "gpu_ids": [options.gpu_id],
        "max_batch_size": options.max_batch_size,
        "backend": _backend(options),
        "preprocess": _preprocess(options),
        "postprocess": _postprocess(options),
    }
    if options.network.network_type == 3:
        infer_config["postprocess"]["detection"]["custom_parse_bbox_func"] = options.network.parser_function
    if options.network.network_type != 1 or options.network.parser_function:
        infer_config["custom_lib"] = {"path": options.custom_lib_path or PARSER_LIBRARY_NAME}
    message = {
        "infer_config": infer_config,
        "input_control": {"process_mode": Enum("PROCESS_MODE_FULL_FRAME"), "interval": options.interval},
    }
    if options.network.network_type == 3:
        message["output_control"] = {"output_tensor_meta": False}
    return message


def format_nvinferserver_config(options: NvinferserverOptions) -> str:
    mode = f"gRPC {options.grpc_url}" if options.grpc_url else f"in-process, repository {options.repository}"
    header = f"# nvinferserver config for {options.network.name} ({mode}); written by taostream\n"
    return header + format_pbtxt(nvinferserver_message(options))


def write_nvinferserver_config(path: str | os.PathLike, options: NvinferserverOptions) -> Path:
    return atomic_write_text(path, format_nvinferserver_config(options))
