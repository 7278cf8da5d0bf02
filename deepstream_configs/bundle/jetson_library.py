"""The Jetson (aarch64) parser library a bundle ships: cross-built once per DeepStream layout on an
x86 host, and vetted before it is shipped.

nvinfer builds the TensorRT engine from the bundle's ONNX by itself on the device; the custom parser
library is the one piece a Jetson cannot make from the bundle alone. With the Debian/Ubuntu cross
toolchain installed, `jetson_parser_library` cross-builds it (parsers/cmake/aarch64-linux-gnu.cmake,
scripts/jetson_build.sh's flags) into its own folder per detection-struct layout, and refuses to hand
out a file that is not aarch64, carries the other DeepStream's layout, or needs a newer glibc or
libstdc++ than the oldest JetPack taostream supports ships (the symbol versions in .gnu.version_r).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from taostream.converter.errors import TaostreamError
from taostream.deepstream_configs.elf_symbols import (
    object_info_bytes_for, open_elf, parser_object_info_bytes, rotation_angle_option,
)
from taostream.parsers.build import (
    DEFAULT_AARCH64_BUILD_DIR, ParserBuildError, cross_build_parsers, missing_aarch64_tools, parser_build_products,
)

AARCH64 = "aarch64"
X86_64 = "x86_64"
# `taostream bundle --platform` -> the ELF machine its parser library must be built for.
PLATFORM_MACHINES = {"jetson": AARCH64, "x86": X86_64}
_ELF_MACHINES = {"EM_AARCH64": AARCH64, "EM_X86_64": X86_64}
_HOST_MACHINES = {"arm64": AARCH64, "amd64": X86_64}


class JetsonLibraryError(TaostreamError):
    """A Jetson parser library that must not be shipped (wrong machine, layout or runtime needs)."""


@dataclass(frozen=True)
class JetPackRuntime:
    """The newest symbol version each runtime library of a JetPack userland defines."""

    jetpack: str
    ubuntu: str
    ceilings: Mapping[str, tuple[int, ...]]  # GLIBC, GLIBCXX, CXXABI, GCC (libgcc_s: major only)


# Sources (checked with the search tool, November 2026):
# - JetPack 6 = Jetson Linux 36, root file system Ubuntu 22.04 "jammy": Jetson Linux r36.4 Developer
#   Guide, "Root File System" (nv_build_samplefs.sh ... --version jammy).
# - JetPack 7 = Jetson Linux 38 (Thor), "derived from Ubuntu 24.04 LTS": Jetson Linux r38.2.1 Developer
#   Guide, "Jetson Software Architecture". JetPack 7.2 (DeepStream 9.1/9.2) = Jetson Linux 39.2, Thor and
#   Orin: DeepStream 9.1 Installation page ("JetPack 7.2 GA (corresponding to L4T 39.2 release)"); its Jetson
#   images are built FROM an ubuntu24.04 CUDA image with the r39.2 apt repository (NVIDIA/DeepStream v9.1.0,
#   deepstream_dockers/jetson_dockerfiles/Dockerfile_Jetson_Run): the same noble runtime.
# - jammy-updates: libc6 2.35-0ubuntu3.4, libstdc++6 / libgcc-s1 12.3.0-1ubuntu1~22.04 (an apt log of
#   archive.ubuntu.com; Ubuntu 22.04's ldd reports "Ubuntu GLIBC 2.35-0ubuntu3.1": flatimage/flatimage#2).
# - noble: libc6 2.39-0ubuntu8.x, libstdc++6 14-20240412-0ubuntu1 then 14.2.0-4ubuntu2~24.04
#   (apt log in wazuh/wazuh#27183).
# - GCC 12.1.0 defines GLIBCXX_3.4.30 and CXXABI_1.3.13, GCC 14.1.0 GLIBCXX_3.4.33 and CXXABI_1.3.15
#   (libstdc++ manual, abi.xml "versioning history": gcc.gnu.org libstdc++ list, April 2024).
# libgcc_s from GCC N defines no GCC_ version node newer than GCC_N.x, hence the major-only ceiling.
JETPACK_RUNTIMES = (
    JetPackRuntime("6.x (Jetson Linux 36, Orin)", "22.04 jammy",
                   {"GLIBC": (2, 35), "GLIBCXX": (3, 4, 30), "CXXABI": (1, 3, 13), "GCC": (12,)}),
    JetPackRuntime("7.x (Jetson Linux 38-39, Thor and Orin)", "24.04 noble",
                   {"GLIBC": (2, 39), "GLIBCXX": (3, 4, 33), "CXXABI": (1, 3, 15), "GCC": (14,)}),
)
OLDEST_JETPACK = JETPACK_RUNTIMES[0]
_SYMBOL_VERSION = re.compile(r"(GLIBC|GLIBCXX|CXXABI|GCC)_(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class LibraryFacts:
    """What a shared library is built for, read from its ELF header, .gnu.version_r and ABI marker."""

    path: Path
    machine: str  # "aarch64", "x86_64", or the lower-cased EM_ name of anything else
    object_info_bytes: int | None  # taostream's TAOSTREAM_PARSER_ABI marker; None when absent
    version_needs: Mapping[str, tuple[str, ...]]  # needed library (libc.so.6) -> version names

    def newest(self, namespace: str) -> str | None:
        """The newest version of ``namespace`` (GLIBC, GLIBCXX, ...) the library needs, e.g. '2.27'."""
        versions = [parsed[1] for names in self.version_needs.values() for name in names
                    if (parsed := parse_symbol_version(name)) and parsed[0] == namespace]
        return ".".join(map(str, max(versions))) if versions else None


def parse_symbol_version(name: str) -> tuple[str, tuple[int, ...]] | None:
    """'GLIBCXX_3.4.29' -> ('GLIBCXX', (3, 4, 29)); None for names outside the four runtime
    namespaces (GLIBC_PRIVATE, a vendor library's own versions)."""
    match = _SYMBOL_VERSION.fullmatch(name)
    return (match.group(1), tuple(int(part) for part in match.group(2).split("."))) if match else None


def versions_beyond(version_needs: Mapping[str, tuple[str, ...]], runtime: JetPackRuntime = OLDEST_JETPACK) -> list[str]:
    """The needed symbol versions ``runtime`` does not define (unknown namespaces included: nothing
    vouches for them on the device), as 'libc.so.6: GLIBC_2.36'."""
    beyond = []
    for needed_file, names in version_needs.items():
        for name in names:
            parsed = parse_symbol_version(name)
            ceiling = runtime.ceilings.get(parsed[0]) if parsed else None
            if ceiling is None or parsed[1][:len(ceiling)] > ceiling:
                beyond.append(f"{needed_file}: {name}")
    return sorted(beyond)


def library_machine(path: str | os.PathLike) -> str:
    """The ELF machine a library is built for: 'aarch64', 'x86_64', ..."""
    return read_library_facts(path, version_needs=False).machine


def read_library_facts(path: str | os.PathLike, *, version_needs: bool = True) -> LibraryFacts:
    path = Path(path)
    with open_elf(path) as elf:
        machine = str(elf["e_machine"])
        needs = _version_needs(elf) if version_needs else {}
    machine = _ELF_MACHINES.get(machine, machine.removeprefix("EM_").lower())
    return LibraryFacts(path, machine, parser_object_info_bytes(path), needs)


def _version_needs(elf) -> dict[str, tuple[str, ...]]:
    from elftools.elf.gnuversions import GNUVerNeedSection  # lazy: heavy

    needs: dict[str, tuple[str, ...]] = {}
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for needed, auxiliaries in section.iter_versions():
                needs[needed.name] = needs.get(needed.name, ()) + tuple(aux.name for aux in auxiliaries)
    return needs


def host_machine() -> str:
    machine = platform.machine().lower()
    return _HOST_MACHINES.get(machine, machine)


def library_problems(facts: LibraryFacts, deepstream_major: int, runtime: JetPackRuntime = OLDEST_JETPACK) -> list[str]:
    """Why ``facts`` must not be shipped to a Jetson running DeepStream ``deepstream_major`` on
    ``runtime`` (empty when it may)."""
    problems = []
    if facts.machine != AARCH64:
        problems.append(f"it is an {facts.machine} library, not aarch64: a Jetson cannot load it")
    wanted = object_info_bytes_for(deepstream_major)
    if facts.object_info_bytes != wanted:
        built = "no TAOSTREAM_PARSER_ABI marker" if facts.object_info_bytes is None else \
            f"NvDsInferObjectDetectionInfo of {facts.object_info_bytes} bytes"
        problems.append(f"it has {built} but DeepStream {deepstream_major} uses {wanted} bytes "
                        f"(rebuild with -DTAOSTREAM_DS_ROTATION_ANGLE={rotation_angle_option(wanted)})")
    beyond = versions_beyond(facts.version_needs, runtime)
    if beyond:
        problems.append(f"it needs symbol versions JetPack {runtime.jetpack} (Ubuntu {runtime.ubuntu}) does not "
                        f"have: {', '.join(beyond)} (build with an older cross toolchain, or on the device)")
    return problems


def check_jetson_library(path: str | os.PathLike, deepstream_major: int,
                         runtime: JetPackRuntime = OLDEST_JETPACK) -> LibraryFacts:
    """The library's facts, or JetsonLibraryError naming every reason it must not be shipped."""
    facts = read_library_facts(path)
    problems = library_problems(facts, deepstream_major, runtime)
    if problems:
        raise JetsonLibraryError(f"{facts.path}: not shipped to the Jetson: {'; '.join(problems)}. "
                                 "Delete that build folder and re-run, or build the library on the device "
                                 "with scripts/jetson_build.sh")
    return facts


def jetson_build_dir(deepstream_major: int) -> Path:
    """The cross-build folder of this DeepStream's layout, beside the default aarch64 build."""
    layout = "ds9" if object_info_bytes_for(deepstream_major) == 28 else "ds8"
    return DEFAULT_AARCH64_BUILD_DIR.with_name(f"{DEFAULT_AARCH64_BUILD_DIR.name}-{layout}")


def jetson_parser_library(deepstream_major: int, warnings: list[str] | None = None) -> Path | None:
    """The aarch64 parser library for DeepStream ``deepstream_major``, cross-built once (later calls
    rebuild only what changed) and vetted by check_jetson_library; None, with the reason appended to
    ``warnings``, when the cross toolchain is missing or the build fails."""
    missing = missing_aarch64_tools()
    if missing:
        _warn(warnings, f"no aarch64 cross toolchain to build the Jetson parser library: "
                        f"apt-get install {' '.join(missing)}")
        return None
    folder = jetson_build_dir(deepstream_major)
    if not parser_build_products(folder).library.is_file():
        print(f"taostream: cross-building the Jetson (aarch64) DeepStream {deepstream_major} parser library "
              "once with CMake ...", file=sys.stderr, flush=True)
    option = rotation_angle_option(object_info_bytes_for(deepstream_major))
    try:
        built = cross_build_parsers(folder, cmake_args=(f"-DTAOSTREAM_DS_ROTATION_ANGLE={option}",))
    except ParserBuildError as exc:
        _warn(warnings, f"cross-building the Jetson parser library failed: {str(exc).splitlines()[0]}")
        return None
    check_jetson_library(built.library, deepstream_major)
    return built.library


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)


def parser_library_manifest_entry(library: str | os.PathLike, bundle_path: str) -> dict:
    """manifest.json's "parser_library": where the bundle holds it and what it needs on the device."""
    facts = read_library_facts(library)
    return {"path": bundle_path, "machine": facts.machine, "object_info_bytes": facts.object_info_bytes,
            "glibc": facts.newest("GLIBC"), "glibcxx": facts.newest("GLIBCXX")}
