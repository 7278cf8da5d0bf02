"""Helpers for the `taostream migrate` tests: old DeepStream config trees as users hold them (NVIDIA's
DeepStream 5.0 configs verbatim, the model and label file at the paths the config names), and the
comparison of `infer` results between two bundles. No tests here."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import FIXTURES
from taostream.cli import main

CONFIGS = FIXTURES / "configs"

# NVIDIA's DeepStream 5.0 config -> (registry network it is for, the key the config holds)
DS5_CONFIGS = {
    "pgie_ssd_tlt_config.txt": ("ssd", "nvidia_tlt"),
    "pgie_dssd_tlt_config.txt": ("dssd", "nvidia_tlt"),
    "pgie_retina_tlt_config.txt": ("retinanet", "nvidia_tlt"),
    "pgie_yolov3_tlt_config.txt": ("yolo_v3", "nvidia_tlt"),
    "pgie_frcnn_tlt_config.txt": ("faster_rcnn", "tlt"),
    "pgie_detectnet_v2_tlt_config.txt": ("detectnet_v2", "nvidia_tlt"),
}


def config_value(text: str, key: str) -> str | None:
    match = re.search(rf"^{re.escape(key)}=(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def config_tree(root: Path, config: str | Path, model: Path, labels: list[str] | str, text: str | None = None) -> Path:
    """A folder with the config (NVIDIA's file, or ``text``) and the model and label file at the paths
    it names (relative to its folder, as nvinfer resolves them); returns the config's path."""
    source = Path(config) if Path(config).is_absolute() else CONFIGS / config
    text = source.read_text() if text is None else text
    root.mkdir(parents=True, exist_ok=True)
    path = root / source.name
    path.write_text(text)
    model_path = root / config_value(text, "tlt-encoded-model")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, model_path)
    label_path = root / config_value(text, "labelfile-path")
    label_path.parent.mkdir(parents=True, exist_ok=True)
    label_path.write_text(labels if isinstance(labels, str) else "".join(f"{name}\n" for name in labels))
    return path


def infer_results(bundle: Path, images: list[Path], out: Path, threshold: float | None = None) -> list[list[dict]]:
    """`taostream infer` on the CPU: per image, its detections (label, confidence, bbox) or classification."""
    args = ["infer", str(bundle), *map(str, images), "-o", str(out), "--no-progress", "--no-annotate"]
    if threshold is not None:
        args += ["--threshold", str(threshold)]
    assert main(args) == 0
    data = json.loads((out / "results.json").read_text())
    return [[record["classification"]] if "classification" in record else record["detections"] for record in data["images"]]


def bundle_files_text(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def lower_bundle_thresholds(bundle: Path, value: float) -> None:
    """Every pre-cluster threshold of BUNDLE set to VALUE, in both files that carry it (the nvinfer
    config and the CPU Triton model's parameters), as docs/inference.md tells a user to do:
    `infer --threshold` is a final filter and cannot bring back what the bundle's thresholds drop."""
    nvinfer = bundle / "deepstream" / "config_infer_primary.txt"
    text, count = re.subn(r"(?m)^pre-cluster-threshold=.*$", f"pre-cluster-threshold={value}", nvinfer.read_text())
    assert count >= 1, nvinfer
    nvinfer.write_text(text)
    for config in bundle.glob("triton/*_cpu/config.pbtxt"):
        text = config.read_text()
        text, count = re.subn(r'(key: "confidence_threshold"\s*value \{\s*string_value: )"[^"]*"', rf'\1"{value}"', text)
        assert count == 1, config
        text = re.sub(r'(key: "class_thresholds"\s*value \{\s*string_value: )"([^"]*)"',
                      lambda m: m.group(1) + '"' + ",".join(repr(value) for _ in m.group(2).split(",")) + '"', text)
        config.write_text(text)
