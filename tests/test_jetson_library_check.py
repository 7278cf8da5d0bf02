"""`taostream check` on a custom-lib-path built for the wrong CPU: an error inside a bundle whose
manifest.json names the other platform (an x86-64 .so in a Jetson bundle, an aarch64 one in an x86
bundle), a warning outside a bundle when the library is not this host's. Real libraries: the
x86-64 build and the cross-built Jetson one (deepstream_configs/bundle/jetson_library.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from taostream.cli import main
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.bundle.jetson_library import host_machine, jetson_parser_library
from taostream.parsers import build
from test_jetson_library import bundle_folder as library_bundle_folder

EM_AARCH64, EM_X86_64 = 183, 62

CONFIG = """\
[property]
gpu-id=0
gie-unique-id=1
network-type=0
num-detected-classes=4
cluster-mode=2
parse-bbox-func-name=NvDsInferParseCustomNMSTLT
custom-lib-path=../lib/libnvds_infercustomparser_taostream.so
"""


def elf_machine(path: Path) -> int:
    return struct.unpack_from("<H", path.read_bytes()[:20], 18)[0]


@pytest.fixture(scope="session")
def jetson_library() -> Path:
    missing = build.missing_aarch64_tools()
    if missing:
        pytest.skip(f"no aarch64 cross toolchain / emulator: apt-get install {' '.join(missing)}")
    return jetson_parser_library(9)


@pytest.fixture(scope="session")
def host_library() -> Path:
    return build.build_parser_library(build.DEFAULT_BUILD_DIR)


def bundle_folder(root: Path, platform: str | None, library: Path) -> Path:
    """A bundle's layout (test_jetson_library's) with an nvinfer config naming the library."""
    config = library_bundle_folder(root, platform, library)
    config.write_text(CONFIG)
    return config


def library_findings(config: Path, deepstream: str = "9.0"):
    return [f for f in check_configs([config], deepstream=deepstream).findings if f.key == "custom-lib-path"]


def test_x86_library_in_a_jetson_bundle_is_an_error(tmp_path, host_library):
    if elf_machine(host_library) != EM_X86_64:
        pytest.skip("needs an x86-64 host build")
    findings = library_findings(bundle_folder(tmp_path, "jetson", host_library), deepstream="8.0")
    assert [f.severity for f in findings] == ["error"], [str(f) for f in findings]
    message = findings[0].message
    assert "x86_64 library" in message and "platform=jetson (aarch64)" in message
    assert "scripts/jetson_build.sh" in message and "apt-get install g++-aarch64-linux-gnu" in message
    assert str(tmp_path / "manifest.json") in message


def test_jetson_library_in_a_jetson_bundle_passes(tmp_path, jetson_library):
    assert library_findings(bundle_folder(tmp_path, "jetson", jetson_library)) == []


def test_jetson_library_in_an_x86_bundle_is_an_error(tmp_path, jetson_library):
    findings = library_findings(bundle_folder(tmp_path, "x86", jetson_library))
    assert [f.severity for f in findings] == ["error"]
    assert "aarch64 library" in findings[0].message and "platform=x86 (x86_64)" in findings[0].message
    assert "--platform x86" in findings[0].message


def test_outside_a_bundle_a_foreign_library_is_a_warning(tmp_path, jetson_library, host_library):
    foreign = jetson_library if host_machine() != "aarch64" else host_library
    findings = library_findings(bundle_folder(tmp_path, None, foreign))
    assert [f.severity for f in findings] == ["warning"], [str(f) for f in findings]
    assert f"this host is {host_machine()}" in findings[0].message
    own = bundle_folder(tmp_path / "own", None, host_library)
    assert [f for f in library_findings(own, deepstream="8.0") if "library and this host" in f.message] == []


def test_check_command_exits_non_zero_on_the_wrong_machine(tmp_path, jetson_library, capsys):
    config = bundle_folder(tmp_path, "x86", jetson_library)
    assert main(["check", str(config), "--deepstream", "9.0"]) != 0
    assert "aarch64 library" in capsys.readouterr().out


NVINFERSERVER = """\
infer_config {
  unique_id: 1
  backend { triton { model_name: "model" version: -1 model_repo { root: "../triton" } } }
  postprocess { detection { num_detected_classes: 4 custom_parse_bbox_func: "NvDsInferParseCustomNMSTLT" } }
  custom_lib { path: "../lib/libnvds_infercustomparser_taostream.so" }
}
"""


def test_nvinferserver_config_gets_the_same_machine_check(tmp_path, host_library):
    if elf_machine(host_library) != EM_X86_64:
        pytest.skip("needs an x86-64 host build")
    bundle_folder(tmp_path, "jetson", host_library)
    config = tmp_path / "deepstream" / "config_infer_primary_nvinferserver.txt"
    config.write_text(NVINFERSERVER)
    findings = [f for f in check_configs([config], deepstream="8.0").findings if f.key == "infer_config.custom_lib.path"]
    assert [f.severity for f in findings] == ["error"], [str(f) for f in findings]
    assert "x86_64 library" in findings[0].message and "platform=jetson (aarch64)" in findings[0].message
