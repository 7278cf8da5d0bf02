"""NVIDIA's real LPDNet .etlt cut short (an interrupted download or scp), with the right key: every
command that reads it names the file and says to copy it again (convert named '<uff>')."""

from __future__ import annotations

import pytest

from cli_support import assert_clean_error, run_cli


@pytest.fixture(scope="module")
def truncated(models_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("cut") / "usa_pruned.etlt"
    path.write_bytes((models_dir / "lpd_usa_detectnet_v2_pruned.etlt").read_bytes()[:100_000])
    return path


@pytest.mark.parametrize("command", [
    ["inspect", "{m}", "--key", "nvidia_tlt"],
    ["convert", "{m}", "--key", "nvidia_tlt", "-o", "{o}/m.engine", "--trt-version", "10.3", "--dry-run"],
    ["tao-converter", "-k", "nvidia_tlt", "-d", "3,480,640", "-o", "output_cov/Sigmoid,output_bbox/BiasAdd",
     "-e", "{o}/m.engine", "{m}"],
    ["bundle", "{m}", "--network", "detectnet_v2", "--labels", "{o}/labels.txt", "--key", "nvidia_tlt", "-o", "{o}/b"],
], ids=["inspect", "convert", "tao-converter", "bundle"])
def test_a_truncated_etlt_is_named_with_the_fix(truncated, tmp_path, command):
    (tmp_path / "labels.txt").write_text("lpd\n")
    args = [a.format(m=truncated, o=tmp_path) for a in command]
    if args[0] == "tao-converter":
        import subprocess
        import sys
        from pathlib import Path

        result = subprocess.run([str(Path(sys.executable).parent / "tao-converter"), *args[1:]], capture_output=True,
                                text=True, timeout=300)
        err = result.stderr.strip()
        assert result.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    else:
        err = assert_clean_error(run_cli(*args))
    assert f"{truncated}: not a UFF model" in err and "copy the model again" in err, err
    assert not (tmp_path / "b").exists() and not (tmp_path / "m.engine").exists()
