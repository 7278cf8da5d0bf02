"""A bundle copied with permissions its user cannot read (a root-owned scp, umask 077): the one line
says to give read access, not to re-create the bundle or copy the model again. NVIDIA's real LPDNet,
bundled; run as a user without read access (as root: without CAP_DAC_OVERRIDE, through setpriv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taostream.cli import main

TAOSTREAM = str(Path(sys.executable).parent / "taostream")


def _as_reader_without_access(*args) -> subprocess.CompletedProcess:
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: file modes do not apply")
        drop = "-dac_override,-dac_read_search"
        prefix = ["setpriv", "--bounding-set", drop, "--inh-caps", drop, "--"]
    return subprocess.run([*prefix, TAOSTREAM, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def bundle(models_dir, tmp_path):
    pytest.importorskip("taostream.converter.uff.to_onnx", reason="the UFF translator is not in this build")
    (tmp_path / "usa_lpd_label.txt").write_text("lpd\n")
    out = tmp_path / "bundle"
    assert main(["bundle", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "--network", "lpdnet", "--labels",
                 str(tmp_path / "usa_lpd_label.txt"), "--key", "nvidia_tlt", "-o", str(out)]) == 0
    return out


def test_an_unreadable_manifest_says_to_give_read_access(bundle, tmp_path):
    manifest = bundle / "manifest.json"
    manifest.chmod(0)
    try:
        for args in (["check", bundle], ["infer", bundle, manifest, "-o", tmp_path / "out"]):
            result = _as_reader_without_access(*args)
            assert "Traceback" not in result.stderr, result.stderr
            text = (result.stdout + result.stderr).strip()
            assert f"{manifest}: " in text and "cannot read it (permission denied)" in text, text
            assert f"chmod -R a+rX {bundle}" in text and "re-create" not in text, text
    finally:
        manifest.chmod(0o644)


def test_an_unreadable_onnx_of_a_config_says_to_give_read_access(bundle):
    model = bundle / "model.onnx"
    model.chmod(0)
    try:
        result = _as_reader_without_access("check", bundle / "deepstream" / "config_infer_primary.txt")
    finally:
        model.chmod(0o644)
    assert "Traceback" not in result.stderr, result.stderr
    line = next(line for line in result.stdout.splitlines() if "onnx-file" in line)
    assert "model.onnx: cannot read it (permission denied); give yourself read access (chmod a+r " in line, line
    assert "copy the model again" not in line


def test_check_reports_every_unreadable_file_and_still_runs_the_other_checks(tmp_path):
    """`check BUNDLE` stopped at the first file it could not read (exit 2 naming it): each unreadable
    file is one finding with the chmod fix, and the checks that do not need it still run (a file
    deleted from the bundle is still reported). A sample YOLOv4 bundle (Triton GPU and CPU models)."""
    assert main(["sample", "--network", "yolo_v4", "-o", str(tmp_path / "sample")]) == 0
    bundle = tmp_path / "bundle"
    assert main(["bundle", str(tmp_path / "sample" / "model.etlt"), "--network", "yolo_v4", "--spec",
                 str(tmp_path / "sample" / "spec.txt"), "--key", "nvidia_tlt", "-o", str(bundle)]) == 0
    locked = [bundle / name for name in (
        "README.md", "compose.yaml", "labels.txt", "deepstream/config_infer_primary.txt",
        "deepstream/config_infer_primary_nvinferserver.txt", "triton/yolo_v4/config.pbtxt",
        "triton/yolo_v4_cpu/1/model.onnx")]
    (bundle / "k8s" / "triton.yaml").unlink()
    for path in locked:
        path.chmod(0)
    try:
        result = _as_reader_without_access("check", bundle)
    finally:
        for path in locked:
            path.chmod(0o644)
    assert result.returncode == 1 and result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    for path in locked:
        assert lines.count(f"{path}: error: cannot read it (permission denied): give yourself read access "
                           f"(chmod a+r {path}) or run as the file's owner") == 1, result.stdout
    assert f"{bundle / 'k8s' / 'triton.yaml'}: error: missing: the bundle lists it; copy the whole bundle folder " \
           "again" in lines, result.stdout
    assert lines[-1] == f"{len(locked) + 1} error(s), 0 warning(s) in 2 config(s) and 1 bundle(s) (DeepStream 9.2)"
