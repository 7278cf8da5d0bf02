"""Read what inference needs from a `taostream bundle` folder (manifest.json, labels.txt, the nvinfer
config, the Triton repository): network, input geometry, preprocessing, labels and thresholds.

Preprocessing settings come from the bundle's nvinfer config (it already carries what the training
spec said, e.g. FasterRCNN's offsets), so the ONNX Runtime path feeds the model exactly what
DeepStream would. Thresholds come from the CPU Triton model's parameters when there is one, so the
local runner and `taostream serve` post-process identically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.registry import Network, get_network
from taostream.deepstream_configs.ini import read_ini
from taostream.deepstream_configs.labels import read_labels_file
from taostream.deepstream_configs.nvinfer_clustering import nvinfer_clustering
from taostream.deepstream_configs.bundle.manifest import MANIFEST_FILE, load_manifest
from taostream.parsers.reference import DecodeParams

NVINFER_CONFIG = Path("deepstream") / "config_infer_primary.txt"


@dataclass(frozen=True)
class Preprocessing:
    """nvinfer's preprocessing settings for one bundle (keyword arguments of preprocess_image)."""

    net_scale_factor: float
    offsets: tuple[float, ...]
    maintain_aspect_ratio: bool
    symmetric_padding: bool
    color: str | None = None  # model-color-format (RGB, BGR, GRAY); None: the network's

    def as_kwargs(self) -> dict:
        return {"net_scale_factor": self.net_scale_factor, "offsets": self.offsets,
                "maintain_aspect_ratio": self.maintain_aspect_ratio, "symmetric_padding": self.symmetric_padding,
                "color": self.color}


@dataclass
class Bundle:
    path: Path
    network: Network
    input_name: str
    dims: tuple[int, int, int]  # (C, H, W)
    output_names: tuple[str, ...]
    labels: list[str]
    preprocessing: Preprocessing
    threshold: float  # pre-cluster-threshold of [class-attrs-all] (classifiers: classifier-threshold)
    nms_iou_threshold: float
    triton_model: str
    manifest: dict = field(repr=False, default_factory=dict)
    # The CPU Triton model's post-processing parameters (thresholds, DetectNet_v2 clustering):
    # the ONNX Runtime path decodes with the same ones.
    postprocess_parameters: dict = field(default_factory=dict)

    @property
    def net_height(self) -> int:
        return self.dims[1]

    @property
    def net_width(self) -> int:
        return self.dims[2]

    @property
    def triton_repository(self) -> Path:
        return self.path / "triton"

    @property
    def cpu_model_name(self) -> str:
        return f"{self.triton_model}_cpu"

    def cpu_model_dir(self) -> Path | None:
        folder = self.triton_repository / self.cpu_model_name
        return folder if (folder / "config.pbtxt").is_file() else None

    @property
    def num_classes(self) -> int:
        return len(self.labels) or int(self.manifest.get("labels", 0)) or 1

    def decode_params(self):
        """The post-processing settings of this bundle (parsers.reference.DecodeParams): the CPU Triton
        model's parameters when there is one, else the nvinfer config's thresholds. Every CPU path
        (`infer --backend ort`, the CPU Triton model, `verify`) decodes with exactly these."""
        parameters = {"confidence_threshold": repr(self.threshold), "nms_iou_threshold": repr(self.nms_iou_threshold),
                      **self.postprocess_parameters}
        return DecodeParams.from_model_parameters(parameters, self.num_classes)

    def onnx_for_cpu(self) -> Path:
        """The plugin-free ONNX graph ONNX Runtime runs: the CPU Triton model's, else model.onnx."""
        folder = self.cpu_model_dir()
        if folder is not None and (folder / "1" / "model.onnx").is_file():
            return folder / "1" / "model.onnx"
        return self.path / "model.onnx"


def _field(manifest: dict, path: Path, *keys):
    value = manifest
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise TaostreamError(f"{path}: field '{'.'.join(keys)}' is missing; recreate the bundle with "
                                 "this taostream version")
        value = value[key]
    return value


_COLOR_FORMATS = {"0": "RGB", "1": "BGR", "2": "GRAY"}  # nvinfer's model-color-format


def _nvinfer_preprocessing(path: Path, net: Network) -> Preprocessing:
    defaults = Preprocessing(net.net_scale_factor, tuple(net.offsets), net.maintain_aspect_ratio, net.symmetric_padding)
    if not path.is_file():
        return defaults
    group = read_ini(path).group("property")
    if group is None:
        return defaults
    try:
        offsets = group.get("offsets")
        return Preprocessing(
            float(group.get("net-scale-factor", defaults.net_scale_factor)),
            tuple(float(v) for v in offsets.split(";") if v.strip()) if offsets else defaults.offsets,
            group.get("maintain-aspect-ratio", str(int(defaults.maintain_aspect_ratio))) == "1",
            group.get("symmetric-padding", str(int(defaults.symmetric_padding))) == "1",
            _COLOR_FORMATS.get(str(group.get("model-color-format", "")).strip()),
        )
    except ValueError as exc:
        raise TaostreamError(f"{path}: [property] has a malformed number ({exc}); fix the value") from None


def _nvinfer_thresholds(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    group = read_ini(path).group("class-attrs-all")
    found = {}
    for key in ("pre-cluster-threshold", "nms-iou-threshold"):
        if group is not None and group.get(key) is not None:
            found[key] = float(group.get(key))
    return found


def cpu_model_parameters(config_text: str) -> dict[str, str]:
    """The key/string_value pairs of a config.pbtxt's `parameters` blocks."""
    pattern = re.compile(r'key:\s*"([^"]+)"\s*value\s*\{\s*string_value:\s*"([^"]*)"', re.S)
    return dict(pattern.findall(config_text))


def _require_label_count(labels: list[str], labels_path: Path, manifest: dict, manifest_path: Path) -> None:
    """labels.txt must still name one class per id the model outputs (manifest "model_classes")."""
    classes = manifest.get("model_classes")
    if not isinstance(classes, dict) or not isinstance(classes.get("count"), int) or not labels_path.is_file():
        return
    if len(labels) != classes["count"]:
        raise TaostreamError(
            f"{labels_path}: {len(labels)} class name(s) but the bundle's model outputs {classes['count']} class id(s) "
            f"({classes.get('from', manifest_path.name)}): every detection would get another class's name; restore "
            "labels.txt (one line per class id, see `taostream check` on the bundle) or re-create the bundle")


def load_bundle(path: str | os.PathLike) -> Bundle:
    root = Path(path)
    if root.is_file():
        raise TaostreamError(f"{root}: is a file, not a bundle folder; give the folder `taostream bundle -o` wrote"
                             + (f" ({root.parent})" if (root.parent / MANIFEST_FILE).is_file() else ""))
    if not root.is_dir():
        raise TaostreamError(f"{root}: no such bundle folder; create it with `taostream bundle`")
    manifest_path = root / MANIFEST_FILE
    manifest = load_manifest(manifest_path)
    net = get_network(_field(manifest, manifest_path, "network"))
    dims = tuple(int(d) for d in _field(manifest, manifest_path, "input", "dims_chw"))
    labels_path = root / "labels.txt"
    labels = read_labels_file(labels_path) if labels_path.is_file() else []  # class ids as nvinfer counts them
    _require_label_count(labels, labels_path, manifest, manifest_path)
    nvinfer = root / NVINFER_CONFIG
    thresholds = _nvinfer_thresholds(nvinfer)
    bundle = Bundle(
        path=root, network=net, input_name=_field(manifest, manifest_path, "input", "name"), dims=dims,
        output_names=tuple(_field(manifest, manifest_path, "outputs")), labels=labels,
        preprocessing=_nvinfer_preprocessing(nvinfer, net),
        threshold=thresholds.get("pre-cluster-threshold", net.pre_cluster_threshold),
        nms_iou_threshold=thresholds.get("nms-iou-threshold", net.nms_iou_threshold or 0.5),
        triton_model=manifest.get("triton_model", net.name), manifest=manifest)
    cpu = bundle.cpu_model_dir()
    if cpu is not None:  # what `taostream serve` post-processes with wins: both paths must agree
        params = cpu_model_parameters((cpu / "config.pbtxt").read_text(encoding="utf-8"))
        bundle.threshold = float(params.get("confidence_threshold", bundle.threshold))
        bundle.nms_iou_threshold = float(params.get("nms_iou_threshold", bundle.nms_iou_threshold))
        bundle.postprocess_parameters = params
    if "nvinfer_clustering" not in bundle.postprocess_parameters:
        # A bundle whose CPU model predates the parameter (or has none): nvinfer's clustering from its config.
        try:
            clustering = nvinfer_clustering(nvinfer)
        except ValueError as exc:
            raise TaostreamError(f"{nvinfer}: a clustering value is malformed ({exc}); fix the value") from None
        if clustering is not None:
            bundle.postprocess_parameters = {**bundle.postprocess_parameters, "nvinfer_clustering": clustering.to_text()}
    return bundle
