"""`taostream check BUNDLE`: the folder against its manifest.json, then its DeepStream configs with
the bundle's own DeepStream version."""

from __future__ import annotations

import json
import shutil

import pytest

from cli_support import assert_clean_error, run_cli
from taostream.deepstream_configs.versions import DEFAULT_DEEPSTREAM


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    assert run_cli("sample", "--network", "ssd", "-o", root / "ssd").returncode == 0
    return root / "ssd"


def _bundle(sample, out, *extra):
    result = run_cli("bundle", sample / "model.etlt", "--network", "ssd", "--spec", sample / "spec.txt",
                     "--key", "nvidia_tlt", "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def pristine(sample, tmp_path_factory):
    return _bundle(sample, tmp_path_factory.mktemp("b") / "bundle")


@pytest.fixture
def bundle(pristine, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    return copy


def test_fresh_bundle_passes(pristine):
    result = run_cli("check", pristine)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        f"0 error(s), 0 warning(s) in 4 config(s) and 1 bundle(s) (DeepStream {DEFAULT_DEEPSTREAM})")


def test_truncated_model_is_an_error(bundle):
    model = bundle / "model.onnx"
    model.write_bytes(model.read_bytes()[:1000])
    result = run_cli("check", bundle)
    assert result.returncode == 1
    assert f"{model}: error: changed since the bundle was written" in result.stdout
    # The config on its own (no manifest involved): its onnx-file does not parse.
    config = bundle / "deepstream" / "config_infer_primary.txt"
    alone = run_cli("check", config)
    assert alone.returncode == 1
    assert "[property] onnx-file:" in alone.stdout and "not a readable ONNX model (DecodeError" in alone.stdout
    given = run_cli("check", config, "--model", model)
    assert given.returncode == 1 and "not a readable ONNX model" in given.stdout


def test_missing_labels_is_an_error(bundle):
    (bundle / "labels.txt").unlink()
    result = run_cli("check", bundle)
    assert result.returncode == 1
    assert f"{bundle / 'labels.txt'}: error: missing: the bundle lists it" in result.stdout


def test_changed_python_model_is_an_error_but_an_edited_config_a_warning(bundle):
    config = bundle / "deepstream" / "config_infer_primary.txt"
    config.write_text(config.read_text() + "# tuned by hand\n")
    result = run_cli("check", bundle)
    assert result.returncode == 0 and f"{config}: warning: edited since the bundle was written" in result.stdout
    model_py = next((bundle / "triton").glob("*_cpu/1/model.py"))
    model_py.write_text(model_py.read_text() + "\n# patched\n")
    result = run_cli("check", bundle)
    assert result.returncode == 1 and f"{model_py}: error: changed since" in result.stdout


def test_files_added_later_are_not_judged(bundle):
    (bundle / "model.plan").write_bytes(b"engine built on the device")
    assert run_cli("check", bundle).returncode == 0


def test_broken_manifest(bundle):
    (bundle / "manifest.json").write_text("{")
    result = run_cli("check", bundle)
    assert result.returncode == 1 and "manifest.json: error: unreadable manifest" in result.stdout
    (bundle / "manifest.json").write_text(json.dumps({"manifest_version": 1, "files": [{"path": "../outside.txt"}]}))
    result = run_cli("check", bundle)
    assert result.returncode == 1 and "is not a path inside the bundle" in result.stdout


def test_the_bundles_deepstream_version_is_used(sample, tmp_path):
    # A DeepStream 8 bundle carries the 24-byte parser build; judged as DeepStream 9 it would be wrong.
    ds8 = _bundle(sample, tmp_path / "ds8", "--deepstream", "8.0")
    result = run_cli("check", ds8)
    assert result.returncode == 0, result.stdout
    assert "(DeepStream 8.0)" in result.stdout
    forced = run_cli("check", ds8, "--deepstream", "9.0")
    assert forced.returncode == 1 and "custom-lib-path" in forced.stdout


def test_a_plain_folder_is_refused(tmp_path):
    assert_clean_error(run_cli("check", tmp_path), "a folder without manifest.json")
