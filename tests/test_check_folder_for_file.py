"""`taostream check` on an nvinfer config whose file keys name a folder (an NGC download unpacked into a
folder named like the model, labelfile-path pointed at the label folder): nvinfer cannot open a folder,
so each is an error naming the key and the fix, as a missing file is."""

from __future__ import annotations

import shutil

import pytest

from cli_support import run_cli
from conftest import FIXTURES

LPD_USA = FIXTURES / "models" / "lpd_usa_detectnet_v2_pruned.etlt"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder_for_file")
    (root / "labels.txt").write_text("lpd\n")
    result = run_cli("bundle", LPD_USA, "--network", "lpdnet", "--labels", root / "labels.txt", "--key", "nvidia_tlt",
                     "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"


@pytest.mark.parametrize("name,key", [("model.onnx", "onnx-file"), ("labels.txt", "labelfile-path")])
def test_a_folder_where_the_config_names_a_file_is_an_error(bundle, tmp_path, name, key):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    (copy / name).unlink()
    (copy / name).mkdir()
    config = copy / "deepstream" / "config_infer_primary.txt"
    result = run_cli("check", config)
    assert result.returncode == 1, result.stdout
    lines = [line for line in result.stdout.splitlines() if f"[property] {key}:" in line]
    assert len(lines) == 1 and ": error: " in lines[0], result.stdout
    assert f"{copy / 'deepstream' / '..' / name}" in lines[0] and "is a folder" in lines[0], lines[0]


@pytest.mark.parametrize("name,field", [("lib/libnvds_infercustomparser_taostream.so", "infer_config.custom_lib.path"),
                                        ("labels.txt", "infer_config.postprocess.labelfile_path")])
def test_nvinferserver_paths_naming_a_folder_are_errors(bundle, tmp_path, name, field):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    (copy / name).unlink()
    (copy / name).mkdir()
    result = run_cli("check", copy / "deepstream" / "config_infer_primary_nvinferserver.txt")
    assert result.returncode == 1, result.stdout
    lines = [line for line in result.stdout.splitlines() if field in line]
    assert len(lines) == 1 and ": error: " in lines[0] and "is a folder" in lines[0], result.stdout
