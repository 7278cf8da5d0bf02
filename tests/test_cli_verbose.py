"""README: "-v adds the traceback of an error taostream did not check itself". Users put it where other
tools take it, after the command; the one-line error then says where it goes."""

from __future__ import annotations

import pytest

from taostream.cli import main


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_after_the_command_says_to_put_it_before(models_dir, tmp_path, capsys, flag):
    model = models_dir / "lpd_usa_detectnet_v2_pruned.etlt"
    with pytest.raises(SystemExit) as exc:
        main(["decode", str(model), "--key", "nvidia_tlt", "-o", str(tmp_path / "m.onnx"), flag])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    assert f"unrecognized arguments: {flag}" in err and "put it before the command (taostream -v COMMAND ...)" in err
    assert not (tmp_path / "m.onnx").exists()


def test_other_unknown_arguments_still_point_at_help(models_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["decode", str(models_dir / "lpd_usa_detectnet_v2_pruned.etlt"), "-o", str(tmp_path / "m.onnx"), "--vv"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "unrecognized arguments: --vv" in err and "see `taostream --help`" in err
