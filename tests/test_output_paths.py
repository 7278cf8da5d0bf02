"""Where the writers put their output, as their help says, and what they refuse to replace."""

from __future__ import annotations

import errno
import importlib

import pytest

from cli_support import assert_clean_error, run_cli
from taostream.cli import main
from taostream.converter.errors import exit_code_of

LPD = "lpd_ccpd_detectnet_v2_pruned.etlt"


def test_decode_into_a_folder_existing_or_named_with_a_slash(models_dir, tmp_path, capsys):
    model = models_dir / LPD
    assert main(["decode", str(model), "--key", "nvidia_tlt", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "lpd_ccpd_detectnet_v2_pruned.uff").read_bytes()[:3] == b"\x08\x01\x10"
    new = tmp_path / "new folder"
    assert main(["decode", str(model), "--key", "nvidia_tlt", "-o", f"{new}/"]) == 0
    assert [p.name for p in new.iterdir()] == ["lpd_ccpd_detectnet_v2_pruned.uff"]
    assert "new folder/lpd_ccpd_detectnet_v2_pruned.uff" in capsys.readouterr().out


def test_decode_and_encode_replace_a_file_only_with_force(models_dir, tmp_path, capsys):
    out = tmp_path / "m.uff"
    out.write_bytes(b"keep me")
    assert main(["decode", str(models_dir / LPD), "--key", "nvidia_tlt", "-o", str(out)]) == 2
    assert out.read_bytes() == b"keep me"
    assert main(["decode", str(models_dir / LPD), "--key", "nvidia_tlt", "-o", str(out), "--force"]) == 0
    assert out.stat().st_size > 500_000
    etlt = tmp_path / "m.etlt"
    etlt.write_bytes(b"keep me")
    assert main(["encode", str(out), "--key", "k", "-o", str(etlt)]) == 2
    assert etlt.read_bytes() == b"keep me"
    assert main(["encode", str(out), "--key", "k", "-o", str(etlt), "--force"]) == 0
    assert etlt.stat().st_size > 500_000
    assert "--force" in capsys.readouterr().err


def test_key_file_with_a_byte_order_mark(models_dir, tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(b"\xef\xbb\xbfnvidia_tlt\r\n")  # as Windows Notepad saves it
    assert main(["decode", str(models_dir / LPD), "--key-file", str(key_file), "-o", str(tmp_path / "m.uff")]) == 0


def test_folder_replaced_with_force_leaves_nothing_beside_it(tmp_path):
    out = tmp_path / "sample"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert main(["sample", "--network", "ssd", "-o", str(out), "--force"]) == 0
    assert not (out / "old.txt").exists() and (out / "model.etlt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]


def test_labels_output_replaces_a_file_like_a_redirect(fixtures_dir, tmp_path):
    out = tmp_path / "labels.txt"
    out.write_text("stale\n")
    spec = fixtures_dir / "specs" / "tao_detectnet_v2_default_spec.txt"
    assert main(["labels", str(spec), "--network", "detectnet_v2", "-o", str(out)]) == 0
    assert "stale" not in out.read_text()


def test_boundary_turns_an_unchecked_os_error_into_one_line(capsys):
    def full_disk(_):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out/model.onnx")

    assert exit_code_of(full_disk, None) == 2
    err = capsys.readouterr().err
    assert err == "taostream: error: /data/out/model.onnx: no space left on the device; free some space or write elsewhere\n"


def test_usage_errors_are_one_line(tmp_path):
    result = run_cli("tao", "dataset_convert", "--network", "detectnet_v2", "-d", "s", "-o", "r", "--gpus", "two")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "taostream tao dataset_convert: error: argument --gpus: invalid int value: 'two'; "
        "see `taostream tao dataset_convert --help`"]
    assert_clean_error(run_cli("inspect", tmp_path / "missing é.onnx"), "missing é.onnx")


def test_a_taostream_module_missing_from_a_stale_install_is_one_line(capsys):
    """An editable install made before the checkout gained a package (git pull, no reinstall) cannot
    import it: one line saying to reinstall, exit 2, no traceback."""
    def command(_args):
        importlib.import_module("taostream.plugins_added_after_the_install")

    assert exit_code_of(command, None) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no module taostream.plugins_added_after_the_install" in err and 'pip install -e ".[dev,triton]"' in err


def test_a_missing_third_party_module_is_not_taken_for_a_stale_install():
    def command(_args):
        importlib.import_module("a_package_nobody_installed")

    with pytest.raises(ModuleNotFoundError):
        exit_code_of(command, None)
