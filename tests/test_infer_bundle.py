"""Reading a bundle: preprocessing from its nvinfer config, thresholds from its CPU Triton model."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from taostream.converter.errors import TaostreamError
from taostream.inference.bundle_info import cpu_model_parameters, load_bundle
from test_infer_support import make_bundle


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle_info"), "yolo_v4")


def test_bundle_fields(bundle_dir):
    bundle = load_bundle(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert bundle.network.name == "yolo_v4"
    assert bundle.input_name == manifest["input"]["name"]
    assert bundle.dims == tuple(manifest["input"]["dims_chw"])
    assert bundle.labels == (bundle_dir / "labels.txt").read_text().split()
    assert bundle.onnx_for_cpu() == bundle_dir / "triton" / f"{bundle.triton_model}_cpu" / "1" / "model.onnx"


def test_preprocessing_comes_from_the_nvinfer_config(bundle_dir, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    config = copy / "deepstream" / "config_infer_primary.txt"
    text = config.read_text()
    lines = [l for l in text.splitlines() if not l.startswith(("net-scale-factor", "offsets", "maintain-aspect-ratio",
                                                                 "symmetric-padding"))]
    at = lines.index("[property]") + 1
    lines[at:at] = ["net-scale-factor=0.5", "offsets=1;2;3", "maintain-aspect-ratio=1", "symmetric-padding=1"]
    config.write_text("\n".join(lines) + "\n")
    pre = load_bundle(copy).preprocessing
    assert (pre.net_scale_factor, pre.offsets, pre.maintain_aspect_ratio, pre.symmetric_padding) == (0.5, (1, 2, 3), True, True)


def test_threshold_comes_from_the_cpu_triton_model(bundle_dir, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    config = next((copy / "triton").glob("*_cpu/config.pbtxt"))
    text = config.read_text()
    pattern = r'(key: "confidence_threshold"\s*value \{\s*string_value: ")[^"]*'
    assert re.search(pattern, text)
    config.write_text(re.sub(pattern, r"\g<1>0.77", text))
    assert load_bundle(copy).threshold == 0.77


def test_cpu_model_parameters_parses_pbtxt_blocks():
    text = 'parameters {\n  key: "a"\n  value {\n    string_value: "1.5"\n  }\n}\nparameters { key: "b" value { string_value: "x" } }\n'
    assert cpu_model_parameters(text) == {"a": "1.5", "b": "x"}


def test_not_a_bundle(tmp_path):
    with pytest.raises(TaostreamError, match="no such bundle folder"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(TaostreamError, match="not a taostream bundle"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(TaostreamError, match="unreadable manifest"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text('{"manifest_version": 1, "network": "ssd"}')
    with pytest.raises(TaostreamError, match="field 'input.dims_chw' is missing"):
        load_bundle(tmp_path)
