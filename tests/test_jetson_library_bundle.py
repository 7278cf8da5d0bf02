"""`taostream bundle --platform jetson` on an x86 host ships the cross-built, vetted aarch64 parser
library (deepstream_configs/bundle/jetson_library.py) with the layout of its --deepstream, records it in
manifest.json, and passes `taostream check`; without the cross toolchain it keeps lib/README.txt and
warns with the apt packages."""

from __future__ import annotations

import json
import platform
import struct

import pytest

from taostream.converter.samples.write import write_sample
from taostream.deepstream_configs.bundle.make import BundleRequest, create_bundle
from taostream.deepstream_configs.check.run import check_configs
from taostream.deepstream_configs.bundle.jetson_library import jetson_parser_library
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME
from taostream.parsers import build

KEY = "jetson-bundle-k3y"
EM_AARCH64 = 183

pytestmark = pytest.mark.skipif(platform.machine() in ("aarch64", "arm64"),
                                reason="on an aarch64 host the bundle builds the library natively")


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    return write_sample("ssd", tmp_path_factory.mktemp("samples") / "ssd", key=KEY)


@pytest.fixture(scope="module")
def cross_tools() -> None:
    missing = build.missing_aarch64_tools()
    if missing:
        pytest.skip(f"no aarch64 cross toolchain / emulator: apt-get install {' '.join(missing)}")


def jetson_bundle(info, output, deepstream: str):
    return create_bundle(BundleRequest(model=info.model, network=info.network, output=output, spec=info.spec,
                                       key=KEY, platform="jetson", deepstream=deepstream))


@pytest.mark.parametrize("deepstream, object_info_bytes", [("9.0", 28), ("8.0", 24)])
def test_jetson_bundle_ships_the_aarch64_library(ssd, cross_tools, tmp_path, deepstream, object_info_bytes):
    result = jetson_bundle(ssd, tmp_path / "bundle", deepstream)
    shipped = tmp_path / "bundle" / "lib" / PARSER_LIBRARY_NAME
    major = int(deepstream.split(".")[0])
    assert shipped.read_bytes() == jetson_parser_library(major).read_bytes()
    assert struct.unpack_from("<H", shipped.read_bytes(), 18)[0] == EM_AARCH64
    assert not (tmp_path / "bundle" / "lib" / "README.txt").exists()
    entry = json.loads((tmp_path / "bundle" / "manifest.json").read_text())["parser_library"]
    assert entry["path"] == f"lib/{PARSER_LIBRARY_NAME}" and entry["machine"] == "aarch64"
    assert entry["object_info_bytes"] == object_info_bytes
    assert entry["glibc"] and entry["glibcxx"] and result.manifest["parser_library"] == entry
    assert not [w for w in result.warnings if "parser library" in w], result.warnings
    report = check_configs(sorted((tmp_path / "bundle" / "deepstream").glob("*.txt")), deepstream=deepstream)
    assert report.errors == [], [str(f) for f in report.errors]


def test_without_the_cross_toolchain_the_bundle_keeps_the_readme(ssd, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no aarch64-linux-gnu-g++, no qemu-aarch64
    result = jetson_bundle(ssd, tmp_path / "bundle", "9.0")
    assert not (tmp_path / "bundle" / "lib" / PARSER_LIBRARY_NAME).exists()
    readme = (tmp_path / "bundle" / "lib" / "README.txt").read_text()
    assert "scripts/jetson_build.sh" in readme and "g++-aarch64-linux-gnu" in readme
    assert [w for w in result.warnings if "apt-get install g++-aarch64-linux-gnu" in w], result.warnings
    assert result.manifest["parser_library"] is None


def test_without_the_cross_toolchain_the_bundle_passes_its_own_check_with_a_warning(ssd, tmp_path, monkeypatch, capsys):
    from taostream.cli import main

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    jetson_bundle(ssd, tmp_path / "bundle", "9.0")
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["check", str(tmp_path / "bundle")]) == 0
    out = capsys.readouterr().out.splitlines()
    pending = [line for line in out if PARSER_LIBRARY_NAME in line]
    # one warning per config that loads the library (nvinfer, nvinferserver); no error anywhere
    assert len(pending) == 2 and all(": warning: " in line and "scripts/jetson_build.sh --bundle" in line
                                     for line in pending), out
    assert out[-1].startswith("0 error(s)"), out
    # once the library is there (built on the device) the usual checks apply to it
    (tmp_path / "bundle" / "lib" / PARSER_LIBRARY_NAME).write_bytes(b"not an ELF file")
    report = check_configs(sorted((tmp_path / "bundle" / "deepstream").glob("*.txt")), deepstream="9.0")
    assert report.errors and not [f for f in report.findings if "jetson_build.sh --bundle" in f.message]
