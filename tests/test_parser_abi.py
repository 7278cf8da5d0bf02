"""The parser library's detection-struct layout (DeepStream 5-8: 24 bytes; DeepStream 9: 28, with
rotation_angle) is written into the library, bundles carry the layout of the DeepStream they target,
and `taostream check` refuses a library whose layout the configured DeepStream would misread."""

from __future__ import annotations

import platform
import shutil

import pytest

from deepstream_fixtures import parser_stub_library
from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.elf_symbols import abi_mismatch, object_info_bytes_for, parser_object_info_bytes
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME

KEY = "abi-test-key"
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="CMake is needed to build the parser library")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample("ssd", tmp_path_factory.mktemp("samples") / "ssd", key=KEY)


def _bundle(sample, output, deepstream: str, platform_name: str = "x86"):
    return create_bundle(BundleRequest(model=sample.model, network="ssd", output=output, spec=sample.spec, key=KEY,
                                       deepstream=deepstream, platform=platform_name))


def test_the_layout_each_deepstream_reads():
    assert [object_info_bytes_for(m) for m in (5, 6, 7, 8, 9, 10)] == [24, 24, 24, 24, 28, 28]


def test_a_library_without_the_marker_is_not_judged():
    stub = parser_stub_library()
    assert parser_object_info_bytes(stub) is None
    assert abi_mismatch(stub, 9) is None and abi_mismatch(stub, 6) is None


@needs_cmake
def test_default_build_has_deepstream_5_to_8_layout():
    from taostream.parsers.build import build_parser_library

    assert parser_object_info_bytes(build_parser_library()) == 24


@needs_cmake
def test_bundles_carry_the_layout_of_their_deepstream_and_check_catches_a_swap(sample, tmp_path):
    ds8, ds9 = tmp_path / "ds8", tmp_path / "ds9"
    _bundle(sample, ds8, "8.0")
    _bundle(sample, ds9, "9.0")
    lib8, lib9 = ds8 / "lib" / PARSER_LIBRARY_NAME, ds9 / "lib" / PARSER_LIBRARY_NAME
    assert parser_object_info_bytes(lib8) == 24 and parser_object_info_bytes(lib9) == 28
    configs9 = sorted((ds9 / "deepstream").glob("*.txt"))
    assert check_configs(configs9, deepstream="9.0").errors == []

    lib9.write_bytes(lib8.read_bytes())  # a DeepStream 8 build dropped into a DeepStream 9 deployment
    errors = check_configs(configs9, deepstream="9.0").errors
    assert errors, "a 24-byte library under DeepStream 9 must be an error"
    for finding in errors:
        assert finding.key in ("custom-lib-path", "infer_config.custom_lib.path"), str(finding)
        assert "TAOSTREAM_DS_ROTATION_ANGLE=ON" in finding.message and "DeepStream 9" in finding.message
    keys = {f.key for f in errors}
    assert "custom-lib-path" in keys
    nvinferserver = [p for p in (ds9 / "deepstream").iterdir() if p.suffix in (".pbtxt", ".txt")
                     and "custom_lib" in p.read_text()]
    if nvinferserver:  # the Triton (nvinferserver) config names the same library
        assert "infer_config.custom_lib.path" in keys


@pytest.mark.skipif(platform.machine() in ("aarch64", "arm64"), reason="on a Jetson the bundle builds its own library")
def test_a_jetson_bundle_made_on_x86_does_not_carry_an_x86_library(sample, tmp_path):
    out = tmp_path / "jetson"
    _bundle(sample, out, "6.4", platform_name="jetson")
    library = out / "lib" / PARSER_LIBRARY_NAME
    if library.exists():  # cross-built (g++-aarch64-linux-gnu here): tests/test_jetson_library*.py
        from taostream.deepstream_configs.bundle.jetson_library import library_machine

        assert library_machine(library) == "aarch64"
    else:
        assert "jetson_build.sh" in (out / "lib" / "README.txt").read_text()
