"""ONNX Runtime is `--backend ort` (the docs' name, infer's) and `--backend onnx` (verify's, evaluate's,
bench's) in all four commands: before, a user who used infer's spelling in verify (or the reverse) got an
argparse error. A real run of a sample detector bundle with each spelling, same outcome."""

from __future__ import annotations

import json

import cv2
import pytest

from cli_support import run_cli, sample_bundle
from test_uff_to_onnx import astronaut_photo


@pytest.fixture(scope="module")
def bundle_and_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("spelling")
    sample_bundle(root, "ssd")
    (root / "ds/images").mkdir(parents=True)
    (root / "ds/labels").mkdir()
    cv2.imwrite(str(root / "ds/images/astronaut.png"), cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2BGR))
    label = (root / "sample/labels.txt").read_text().split()[1]  # [0] is SSD's background row, not a class
    (root / "ds/labels/astronaut.txt").write_text(f"{label} 0.00 0 0.00 100 20 400 500 0 0 0 0 0 0 0\n")
    return root / "bundle", root / "ds"


@pytest.mark.parametrize("spelling", ["ort", "onnx"])
def test_infer_takes_both_spellings(tmp_path, bundle_and_data, spelling):
    bundle, ds = bundle_and_data
    result = run_cli("infer", bundle, ds / "images", "-o", tmp_path / "out", "--backend", spelling)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out/results.json").read_text())["backend"] == "ort"


@pytest.mark.parametrize("spelling", ["ort", "onnx"])
def test_verify_takes_both_spellings(tmp_path, bundle_and_data, spelling):
    bundle, ds = bundle_and_data
    result = run_cli("verify", bundle, ds / "images", "--backend", spelling, "--no-progress",
                     "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["backend"] == "onnx" and report["passed"]


@pytest.mark.parametrize("spelling", ["ort", "onnx"])
def test_evaluate_takes_both_spellings(tmp_path, bundle_and_data, spelling):
    bundle, ds = bundle_and_data
    result = run_cli("evaluate", ds, "--bundle", bundle, "--backend", spelling, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["dataset"]["images_evaluated"] == 1


@pytest.mark.parametrize("spelling", ["ort", "onnx"])
def test_bench_takes_both_spellings(tmp_path, bundle_and_data, spelling):
    bundle, _ = bundle_and_data
    result = run_cli("bench", bundle, "--backend", spelling, "--duration", "0.2", "--rounds", "1", "--warmup", "1",
                     "--json", tmp_path / "b.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["backend"] == "onnx" and report["model"].endswith("model.onnx")


def test_another_backend_is_refused_naming_both_spellings():
    result = run_cli("verify", "b", "x.png", "--backend", "onnxruntime")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'onnxruntime' (choose from ort (or onnx), trt, triton)" in result.stderr
