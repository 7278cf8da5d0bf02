"""Find or build libnvds_infercustomparser_taostream.so (and its test harness / fuzz target) with
CMake. Used by the tests, by `taostream bundle` (which copies the library into a bundle) and CI."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# The CMake driver parsers/ shares with converter.plugin_host (the plugins' host library).
from taostream.converter.native_build import (
    DEFAULT_BUILD_DIR, REPO_ROOT, SOURCE_DIR, NativeBuildError, bring_up_to_date, build_folder_lock, build_targets,
    configure)
from taostream.converter.native_build import run_build_command as _run

PARSERS_DIR = Path(__file__).resolve().parent
LIBRARY_NAME = "libnvds_infercustomparser_taostream.so"
HARNESS_NAME = "libtaostream_parser_harness.so"
FUZZ_NAME = "taostream_parser_fuzz"
DRIVER_NAME = "taostream_parser_cli"
LIBRARY_ENV = "TAOSTREAM_PARSER_LIBRARY"


PARSER_TARGETS = ("nvds_infercustomparser_taostream", "taostream_parser_harness")
ParserBuildError = NativeBuildError  # CMake is missing or the parser library failed to build


def _product(build_dir: Path, name: str) -> Path:
    return Path(build_dir) / ("parsers" if SOURCE_DIR == REPO_ROOT else "") / name


def find_parser_library(build_dir: Path | None = None) -> Path | None:
    """$TAOSTREAM_PARSER_LIBRARY, else an existing build under ``build_dir`` (default: build/)."""
    from_env = os.environ.get(LIBRARY_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ParserBuildError(f"{LIBRARY_ENV}={from_env}: no such file; unset it or build the parsers")
        return path
    candidate = _product(build_dir or DEFAULT_BUILD_DIR, LIBRARY_NAME)
    return candidate if candidate.is_file() else None


def build_parser_library(build_dir: Path | None = None, *, jobs: int = 2) -> Path:
    """Builds (incrementally) the parser library and the harness; returns the library's path."""
    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    build_targets(build_dir, PARSER_TARGETS, jobs=jobs)
    return _product(build_dir, LIBRARY_NAME)


def refreshed_parser_library(build_dir: Path | None = None) -> Path | None:
    """The library of an existing CMake build under ``build_dir``, first brought up to date with the
    sources (converter.native_build.bring_up_to_date). None where there is no build."""
    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    if _product(build_dir, LIBRARY_NAME).is_file():
        bring_up_to_date(build_dir, PARSER_TARGETS)
    return find_parser_library(build_dir)


def harness_library(build_dir: Path | None = None) -> Path:
    return _product(build_dir or DEFAULT_BUILD_DIR, HARNESS_NAME)


def libfuzzer_compiler() -> str | None:
    """A clang++ (which links libFuzzer) if one is installed."""
    for name in ("clang++", "clang++-19", "clang++-18", "clang++-17", "clang++-16", "clang++-15", "clang++-14"):
        path = shutil.which(name)
        if path:
            return path
    return None


def build_fuzz_target(build_dir: Path, *, sanitize: bool = True, compiler: str | None = None, jobs: int = 2) -> Path:
    """Builds the fuzz target (ASan+UBSan by default) into its own build directory; with a clang
    ``compiler`` it is a coverage-guided libFuzzer binary, otherwise the standalone driver."""
    build_dir = Path(build_dir)
    with build_folder_lock(build_dir):
        if compiler and not (build_dir / "CMakeCache.txt").is_file():
            configure(build_dir, sanitize=sanitize, build_type="RelWithDebInfo",
                      cmake_args=(f"-DCMAKE_CXX_COMPILER={compiler}",))
        build_targets(build_dir, (FUZZ_NAME,), sanitize=sanitize, build_type="RelWithDebInfo", jobs=jobs)
    return _product(build_dir, FUZZ_NAME)


# --- the request-file driver and the aarch64 (Jetson) cross build ------------------------------

AARCH64_TOOLCHAIN = PARSERS_DIR / "cmake" / "aarch64-linux-gnu.cmake"
AARCH64_SYSROOT = Path("/usr/aarch64-linux-gnu")
DEFAULT_AARCH64_BUILD_DIR = (
    REPO_ROOT / "build-parsers-aarch64"
    if SOURCE_DIR == REPO_ROOT
    else DEFAULT_BUILD_DIR.parent / "parsers-build-aarch64"
)
# The Debian/Ubuntu package that provides each tool the aarch64 build and its emulation need.
AARCH64_TOOL_PACKAGES = {"aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu", "qemu-aarch64": "qemu-user"}
# What scripts/jetson_build.sh passes for the parser library (its CUDA plugins are not built here:
# the root CMakeLists.txt leaves them off unless asked).
JETSON_PARSER_CMAKE_ARGS = ("-DTAOSTREAM_PARSERS_FUZZ=OFF",)
_PARSER_TARGETS = ("nvds_infercustomparser_taostream", "taostream_parser_harness", DRIVER_NAME)


@dataclass(frozen=True)
class ParserBuild:
    """The products of one parser build: the DeepStream library, the ctypes harness and the
    request-file driver (parsers/harness/parser_cli.cpp)."""

    library: Path
    harness: Path
    driver: Path


def _products(build_dir: Path) -> ParserBuild:
    return ParserBuild(_product(build_dir, LIBRARY_NAME), _product(build_dir, HARNESS_NAME),
                       _product(build_dir, DRIVER_NAME))


def parser_build_products(build_dir: Path) -> ParserBuild:
    """Where a build folder's library, harness and driver are (built or not)."""
    return _products(Path(build_dir))


def missing_aarch64_tools() -> list[str]:
    """The apt packages still to install before parsers can be cross-built and run under qemu."""
    missing = [package for tool, package in AARCH64_TOOL_PACKAGES.items() if shutil.which(tool) is None]
    # The cross libc (headers, libc.so, and the ld-linux-aarch64.so.1 qemu -L loads) is only a
    # Recommends of the cross gcc: absent after `apt-get install --no-install-recommends`.
    if not (AARCH64_SYSROOT / "lib" / "libc.so").is_file():
        missing.append("libc6-dev-arm64-cross")
    return missing


def build_parser_driver(build_dir: Path | None = None, *, jobs: int = 2) -> ParserBuild:
    """Builds (incrementally) the library, harness and driver for this machine."""
    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    with build_folder_lock(build_dir):
        if (build_dir / "CMakeCache.txt").is_file() and not _product(build_dir, DRIVER_NAME).is_file():
            # A build folder configured before the driver target existed has no rule for it yet.
            _run([shutil.which("cmake") or "cmake", "-S", str(SOURCE_DIR), "-B", str(build_dir)], "cmake configure")
        build_targets(build_dir, _PARSER_TARGETS, jobs=jobs)
    return _products(build_dir)


def cross_build_parsers(build_dir: Path | None = None, *, toolchain: Path = AARCH64_TOOLCHAIN,
                        cmake_args: tuple[str, ...] = (), jobs: int = 2) -> ParserBuild:
    """Cross-builds the library, harness and driver with ``toolchain`` (default: aarch64 Linux,
    as for a Jetson) and the flags scripts/jetson_build.sh uses, plus ``cmake_args`` (e.g.
    -DTAOSTREAM_DS_ROTATION_ANGLE=ON). Needs missing_aarch64_tools() == []."""
    missing = missing_aarch64_tools() if Path(toolchain) == AARCH64_TOOLCHAIN else []
    if missing:
        raise ParserBuildError(f"cannot cross-build the parsers for aarch64: install {' '.join(missing)} "
                               f"(apt-get install {' '.join(missing)})")
    build_dir = Path(build_dir or DEFAULT_AARCH64_BUILD_DIR)
    with build_folder_lock(build_dir):
        configure(build_dir, build_type="Release", cmake_args=(
            f"-DCMAKE_TOOLCHAIN_FILE={Path(toolchain).resolve()}", *JETSON_PARSER_CMAKE_ARGS, *cmake_args))
        build_targets(build_dir, _PARSER_TARGETS, build_type="Release", jobs=jobs)
    return _products(build_dir)
