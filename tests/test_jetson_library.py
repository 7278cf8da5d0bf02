"""The aarch64 parser library a Jetson bundle ships (deepstream_configs/bundle/jetson_library.py): cross-built
per DeepStream layout, refused unless it is aarch64, has the right NvDsInferObjectDetectionInfo size
and needs no newer glibc/libstdc++ than JetPack 6 (Ubuntu 22.04) has; the shipped copy decodes under
qemu exactly as the x86-64 build does. And what `taostream check` says about a custom-lib-path
built for the other CPU (check.library_machine_finding).

The builds reuse build-parsers-aarch64-ds9/-ds8 (the -ds9 one is shared with
test_parsers_aarch64.py), so only the first run on a machine compiles."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from taostream.converter.fileio import atomic_write_bytes
from taostream.deepstream_configs.check.run import bundle_manifest, library_machine_finding
from taostream.deepstream_configs.elf_symbols import ElfError
from taostream.deepstream_configs.bundle.jetson_library import (
    JETPACK_RUNTIMES, OLDEST_JETPACK, JetsonLibraryError, check_jetson_library, host_machine, jetson_build_dir,
    jetson_parser_library, library_machine, parse_symbol_version, parser_library_manifest_entry,
    read_library_facts, versions_beyond,
)
from taostream.deepstream_configs.nvinfer import PARSER_LIBRARY_NAME
from taostream.parsers import build
from taostream.parsers import reference as ref
from taostream.parsers.cross import DETECTNET_V2_ENV, ParserDriver

from parsers_support import assert_same_detections, detectnet_v2_outputs, nms7_outputs, random_objects

EM_AARCH64, EM_X86_64 = 183, 62  # ELF e_machine values (System V ABI)
OBJECT_INFO_BYTES = {9: 28, 8: 24}


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    return struct.unpack_from("<H", header, 18)[0]


# --- builds ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cross_tools() -> None:
    missing = build.missing_aarch64_tools()
    if missing:
        pytest.skip(f"no aarch64 cross toolchain / emulator: apt-get install {' '.join(missing)}")


@pytest.fixture(scope="session", params=[9, 8], ids=["ds9", "ds8"])
def shipped(request, cross_tools) -> tuple[int, Path]:
    warnings: list[str] = []
    library = jetson_parser_library(request.param, warnings)
    assert library is not None and warnings == [], warnings
    return request.param, library


@pytest.fixture(scope="session")
def ds9_library(cross_tools) -> Path:
    return jetson_parser_library(9)


@pytest.fixture(scope="session")
def ds8_library(cross_tools) -> Path:
    return jetson_parser_library(8)


@pytest.fixture(scope="session")
def host_build() -> build.ParserBuild:
    """This machine's own (x86-64 in CI) build of the same sources."""
    return build.build_parser_driver(build.DEFAULT_BUILD_DIR)


def readelf_version_needs(library: Path) -> dict[str, set[str]]:
    """.gnu.version_r as binutils prints it (independent of pyelftools)."""
    readelf = shutil.which("aarch64-linux-gnu-readelf") or shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf not found: apt-get install binutils")
    listing = subprocess.run([readelf, "-V", "-W", str(library)], capture_output=True, text=True, check=True).stdout
    needs: dict[str, set[str]] = {}
    current = None
    for line in listing.split("Version needs section", 1)[-1].splitlines():
        if "File:" in line:
            current = line.split("File:")[1].split()[0]
            needs[current] = set()
        elif "Name:" in line and current:
            needs[current].add(line.split("Name:")[1].split()[0])
    return needs


# --- the shipped library -----------------------------------------------------------------------


def test_shipped_library_is_aarch64_with_the_deepstream_layout(shipped):
    major, library = shipped
    assert elf_machine(library) == EM_AARCH64
    assert library_machine(library) == "aarch64"
    assert library.parent.parent == jetson_build_dir(major)
    assert jetson_build_dir(major).name == f"{build.DEFAULT_AARCH64_BUILD_DIR.name}-ds{major}"
    # the layout as the library itself lays the struct out, run under qemu
    driver = ParserDriver.under_qemu(build.parser_build_products(jetson_build_dir(major)))
    assert driver.abi_layout()["sizeof_object_detection_info"] == OBJECT_INFO_BYTES[major]
    assert read_library_facts(library).object_info_bytes == OBJECT_INFO_BYTES[major]


def test_shipped_library_needs_only_what_jetpack_6_has(shipped):
    _, library = shipped
    facts = check_jetson_library(library, shipped[0])
    assert {name: set(names) for name, names in facts.version_needs.items()} == readelf_version_needs(library)
    assert versions_beyond(facts.version_needs, OLDEST_JETPACK) == []
    glibc, glibcxx = parse_symbol_version("GLIBC_" + facts.newest("GLIBC")), parse_symbol_version("GLIBCXX_" + facts.newest("GLIBCXX"))
    assert glibc[1] <= (2, 35) and glibcxx[1] <= (3, 4, 30)


def test_manifest_entry_describes_the_shipped_library(ds9_library):
    needs = readelf_version_needs(ds9_library)
    newest = {prefix: max((tuple(map(int, n.split("_")[1].split("."))) for names in needs.values() for n in names
                           if n.split("_")[0] == prefix), default=None) for prefix in ("GLIBC", "GLIBCXX")}
    assert parser_library_manifest_entry(ds9_library, f"lib/{PARSER_LIBRARY_NAME}") == {
        "path": f"lib/{PARSER_LIBRARY_NAME}", "machine": "aarch64", "object_info_bytes": 28,
        "glibc": ".".join(map(str, newest["GLIBC"])), "glibcxx": ".".join(map(str, newest["GLIBCXX"])),
    }


def test_deepstream_5_to_8_share_one_layout_folder():
    assert jetson_build_dir(6) == jetson_build_dir(7) == jetson_build_dir(8) != jetson_build_dir(9) == jetson_build_dir(10)
    assert jetson_build_dir(8).parent == jetson_build_dir(9).parent == build.DEFAULT_AARCH64_BUILD_DIR.parent


def test_a_built_library_is_not_rebuilt_or_announced(ds9_library, capsys):
    before = ds9_library.stat().st_mtime_ns
    assert jetson_parser_library(9) == ds9_library
    assert ds9_library.stat().st_mtime_ns == before
    assert "cross-building" not in capsys.readouterr().err


def test_bundled_copy_decodes_like_the_x86_build_under_qemu(ds9_library, host_build, tmp_path):
    # The bundle's lib/ copy, loaded by the aarch64 driver under qemu, against the x86-64 build
    # (24-byte layout: the driver reports the common fields) and parsers/reference.py.
    bundled = atomic_write_bytes(tmp_path / "bundle" / "lib" / PARSER_LIBRARY_NAME, ds9_library.read_bytes(), mode=0o755)
    products = build.parser_build_products(jetson_build_dir(9))
    jetson = ParserDriver.under_qemu(build.ParserBuild(bundled, products.harness, products.driver))
    host = ParserDriver(host_build)
    assert jetson.library == bundled.resolve()

    rng = np.random.default_rng(1)
    rows, keep = nms7_outputs(rng, 200, 150, 5)
    expected = ref.decode_nms7(rows, keep, 1248, 384, ref.DecodeParams.uniform(4, 0.3))
    nms = ("NvDsInferParseCustomNMSTLT", {"NMS": rows, "NMS_1": keep}, 1248, 384, 4, [0.3] * 4)
    got = jetson.parse(*nms)
    assert_same_detections(got, expected)
    assert got == host.parse(*nms)

    rng = np.random.default_rng(3)
    cov, bbox = detectnet_v2_outputs(rng, random_objects(rng, 12, 960, 544, 3), 3, 960, 544)
    config = ref.DetectNetV2Clustering(mode="dbscan", eps=0.3)
    expected = ref.decode_detectnet_v2(cov, bbox, 960, 544, ref.DecodeParams(3, (0.2,) * 3, detectnet_v2=config))
    detectnet = ("NvDsInferParseCustomDetectNetV2TAO", {"output_cov/Sigmoid": cov, "output_bbox/BiasAdd": bbox},
                 960, 544, 3, [0.2] * 3)
    env = {DETECTNET_V2_ENV: config.to_env()}
    got = jetson.parse(*detectnet, env=env)
    assert got and len(got) == len(expected)
    assert_same_detections(got, expected)
    assert got == host.parse(*detectnet, env=env)


# --- refusals ----------------------------------------------------------------------------------


def test_other_deepstream_layout_is_refused(ds8_library):
    with pytest.raises(JetsonLibraryError) as error:
        check_jetson_library(ds8_library, 9)
    assert "24 bytes but DeepStream 9 uses 28" in str(error.value)
    assert "-DTAOSTREAM_DS_ROTATION_ANGLE=ON" in str(error.value) and str(ds8_library) in str(error.value)


def test_x86_library_is_refused(host_build):
    if elf_machine(host_build.library) == EM_AARCH64:
        pytest.skip("this host builds aarch64 libraries itself")
    with pytest.raises(JetsonLibraryError, match="not aarch64: a Jetson cannot load it"):
        check_jetson_library(host_build.library, 8)


def test_not_an_elf_file_is_a_clear_error(tmp_path):
    fake = tmp_path / PARSER_LIBRARY_NAME
    fake.write_text("TAOSTREAM_PARSER_ABI object_info_bytes=28\n")
    with pytest.raises(ElfError, match="not an ELF shared library"):
        check_jetson_library(fake, 9)


@pytest.fixture(scope="session")
def needs_glibc_2_36(cross_tools, tmp_path_factory) -> Path:
    """A real aarch64 library with taostream's DS 9 marker that calls arc4random, new in glibc 2.36
    (Debian 12's cross libc): its only fault for JetPack 6 is that symbol version."""
    folder = tmp_path_factory.mktemp("needs_glibc_2_36")
    (folder / "uses_arc4random.c").write_text(
        "#include <stdlib.h>\n"
        'const char taostream_abi_tag[] = "TAOSTREAM_PARSER_ABI object_info_bytes=28";\n'
        "unsigned random_word(void) { return arc4random(); }\n")
    library = folder / "libuses_arc4random.so"
    subprocess.run(["aarch64-linux-gnu-gcc", "-shared", "-fPIC", "-O1", "-o", str(library),
                    str(folder / "uses_arc4random.c")], check=True, capture_output=True)
    return library


def test_library_needing_a_newer_glibc_is_refused(needs_glibc_2_36):
    assert "GLIBC_2.36" in readelf_version_needs(needs_glibc_2_36)["libc.so.6"]
    with pytest.raises(JetsonLibraryError) as error:
        check_jetson_library(needs_glibc_2_36, 9)
    message = str(error.value)
    assert "libc.so.6: GLIBC_2.36" in message and "JetPack 6" in message and "22.04" in message
    assert "bytes" not in message and "not aarch64" not in message  # that need is the only fault
    # JetPack 7 (Ubuntu 24.04, glibc 2.39) has it
    assert check_jetson_library(needs_glibc_2_36, 9, JETPACK_RUNTIMES[1]).newest("GLIBC") == "2.36"


def test_missing_cross_tools_give_none_and_name_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no aarch64-linux-gnu-g++ / qemu-aarch64 on it
    warnings: list[str] = []
    assert jetson_parser_library(9, warnings) is None
    assert len(warnings) == 1
    assert "apt-get install g++-aarch64-linux-gnu qemu-user" in warnings[0]


# --- the symbol-version ceiling (pure) ---------------------------------------------------------


@pytest.mark.parametrize("name, parsed", [
    ("GLIBC_2.17", ("GLIBC", (2, 17))), ("GLIBC_2.2.5", ("GLIBC", (2, 2, 5))),
    ("GLIBCXX_3.4.29", ("GLIBCXX", (3, 4, 29))), ("CXXABI_1.3.13", ("CXXABI", (1, 3, 13))),
    ("GCC_3.0", ("GCC", (3, 0))), ("GLIBC_PRIVATE", None), ("GLIBCXX_3.4.x", None), ("NVINFER_10", None),
])
def test_parse_symbol_version(name, parsed):
    assert parse_symbol_version(name) == parsed


@pytest.mark.parametrize("needs, jetpack6, jetpack7", [
    ({"libc.so.6": ("GLIBC_2.17", "GLIBC_2.35")}, [], []),
    ({"libc.so.6": ("GLIBC_2.36",)}, ["libc.so.6: GLIBC_2.36"], []),
    ({"libc.so.6": ("GLIBC_2.40",)}, ["libc.so.6: GLIBC_2.40"], ["libc.so.6: GLIBC_2.40"]),
    ({"libstdc++.so.6": ("GLIBCXX_3.4.30", "CXXABI_1.3.13")}, [], []),
    ({"libstdc++.so.6": ("GLIBCXX_3.4.31", "CXXABI_1.3.14")},
     ["libstdc++.so.6: CXXABI_1.3.14", "libstdc++.so.6: GLIBCXX_3.4.31"], []),
    ({"libstdc++.so.6": ("GLIBCXX_3.4.34",)}, ["libstdc++.so.6: GLIBCXX_3.4.34"], ["libstdc++.so.6: GLIBCXX_3.4.34"]),
    ({"libgcc_s.so.1": ("GCC_3.0", "GCC_12.2.0")}, [], []),
    ({"libgcc_s.so.1": ("GCC_13.0.0",)}, ["libgcc_s.so.1: GCC_13.0.0"], []),
    ({"libc.so.6": ("GLIBC_PRIVATE",)}, ["libc.so.6: GLIBC_PRIVATE"], ["libc.so.6: GLIBC_PRIVATE"]),
])
def test_versions_beyond_each_jetpack(needs, jetpack6, jetpack7):
    assert versions_beyond(needs, JETPACK_RUNTIMES[0]) == jetpack6
    assert versions_beyond(needs, JETPACK_RUNTIMES[1]) == jetpack7


def test_oldest_jetpack_is_the_lowest_ceiling():
    for namespace, ceiling in OLDEST_JETPACK.ceilings.items():
        assert all(ceiling <= runtime.ceilings[namespace] for runtime in JETPACK_RUNTIMES)


# --- what `taostream check` says about custom-lib-path's machine (check.library_machine_finding) ---


def bundle_folder(root: Path, platform: str | None, library: Path) -> Path:
    """A bundle's layout (manifest.json, deepstream/, lib/<parser library>); returns the config path."""
    (root / "deepstream").mkdir(parents=True)
    (root / "lib").mkdir()
    shutil.copy(library, root / "lib" / PARSER_LIBRARY_NAME)
    if platform is not None:
        (root / "manifest.json").write_text(json.dumps({"manifest_version": 1, "platform": platform}))
    return root / "deepstream" / "config_infer_primary.txt"


def test_x86_library_in_a_jetson_bundle_is_an_error(tmp_path, host_build):
    if elf_machine(host_build.library) != EM_X86_64:
        pytest.skip("needs an x86-64 host build")
    config = bundle_folder(tmp_path, "jetson", host_build.library)
    severity, message = library_machine_finding(config, tmp_path / "lib" / PARSER_LIBRARY_NAME)
    assert severity == "error"
    assert "x86_64 library" in message and "platform=jetson (aarch64)" in message
    assert "scripts/jetson_build.sh" in message and "apt-get install g++-aarch64-linux-gnu" in message
    assert str(tmp_path / "manifest.json") in message


def test_jetson_library_in_a_jetson_bundle_passes_and_fails_in_an_x86_one(tmp_path, ds9_library):
    config = bundle_folder(tmp_path / "jetson", "jetson", ds9_library)
    assert library_machine_finding(config, tmp_path / "jetson" / "lib" / PARSER_LIBRARY_NAME) is None
    config = bundle_folder(tmp_path / "x86", "x86", ds9_library)
    severity, message = library_machine_finding(config, tmp_path / "x86" / "lib" / PARSER_LIBRARY_NAME)
    assert severity == "error" and "aarch64 library" in message and "platform=x86 (x86_64)" in message
    assert "--platform x86" in message


def test_outside_a_bundle_a_foreign_library_is_a_warning(tmp_path, ds9_library, host_build):
    foreign = ds9_library if host_machine() != "aarch64" else host_build.library
    config = bundle_folder(tmp_path / "foreign", None, foreign)
    severity, message = library_machine_finding(config, foreign)
    assert severity == "warning" and f"this host is {host_machine()}" in message
    assert library_machine_finding(bundle_folder(tmp_path / "own", None, host_build.library), host_build.library) is None


def test_unreadable_library_is_left_to_the_export_check(tmp_path):
    fake = tmp_path / PARSER_LIBRARY_NAME
    fake.write_bytes(b"not an ELF file")
    assert library_machine_finding(bundle_folder(tmp_path / "b", "jetson", fake), fake) is None


def test_manifest_is_found_beside_the_config_or_one_folder_up(tmp_path):
    (tmp_path / "deepstream").mkdir()
    config = tmp_path / "deepstream" / "config.txt"
    assert bundle_manifest(config) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"manifest_version": 1, "platform": "jetson"}))
    assert bundle_manifest(config) == (tmp_path / "manifest.json", {"manifest_version": 1, "platform": "jetson"})
    # JSON that is not a bundle manifest, or no JSON at all, beside the config is passed over
    (tmp_path / "deepstream" / "manifest.json").write_text(json.dumps({"name": "something else"}))
    assert bundle_manifest(config)[0] == tmp_path / "manifest.json"
    (tmp_path / "deepstream" / "manifest.json").write_text("{not json")
    assert bundle_manifest(config)[0] == tmp_path / "manifest.json"
    (tmp_path / "deepstream" / "manifest.json").write_text(json.dumps({"manifest_version": 1, "platform": "x86"}))
    assert bundle_manifest(config)[1]["platform"] == "x86"
