"""Bundle and infer output folders are readable by a DeepStream or Triton container running as another
user: folders get the mode the user's umask gives a new folder, files 0644, the parser library 0755."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from taostream.converter.fileio import atomic_directory
from taostream.converter.samples.write import SAMPLE_KEY, write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    previous = os.umask(0o022)
    yield set_mask
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o755), (0o027, 0o750), (0o002, 0o775)])
def test_atomic_directory_gets_the_umask_mode_not_mkdtemp_0700(mask, expected, umask, tmp_path):
    umask(mask)
    with atomic_directory(tmp_path / "out") as root:
        (root / "sub").mkdir()
    assert _mode(tmp_path / "out") == expected
    assert _mode(tmp_path / "out" / "sub") == expected


def test_bundle_folder_is_readable_by_another_user(umask, tmp_path):
    info = write_sample("detectnet_v2", tmp_path / "sample")
    bundle = tmp_path / "bundle"
    create_bundle(BundleRequest(model=info.model, network="detectnet_v2", output=bundle, spec=info.spec,
                                key=SAMPLE_KEY, precision="int8", calibration_cache=info.calibration))
    folders = [bundle, *(p for p in bundle.rglob("*") if p.is_dir())]
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert len(folders) > 3 and len(files) > 8
    assert {p.relative_to(bundle).as_posix(): oct(_mode(p)) for p in folders if _mode(p) != 0o755} == {}
    library = bundle / "lib" / PARSER_LIBRARY_NAME
    wrong = {p.relative_to(bundle).as_posix(): oct(_mode(p)) for p in files
             if _mode(p) != (0o755 if p == library else 0o644)}
    assert wrong == {}
