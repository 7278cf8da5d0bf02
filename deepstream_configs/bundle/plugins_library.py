"""`bundle --plugins taostream`: libtaostream_plugins.so in the bundle's lib/, checked before it is
shipped, recorded in manifest.json, and judged again by `check BUNDLE`.

The library is read, never loaded (a bundle is written on hosts without TensorRT or a GPU, and a
Jetson library is aarch64): its ELF machine (jetson_library.library_machine), its exports
(getCreators, the entry point TensorRT's loadLibrary calls) and the plugin names in its read-only
strings (the creators' names, plugins/common/pluginLibrary.cpp). The linker merges string tails
("NMS_TRT" is the end of "BatchedNMS_TRT"), so a name counts as present when a NUL-terminated
string ends with it, as tests/test_plugin_library.py reads it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import check_input_file
from taostream.converter.trt_support import PLUGINS
from taostream.deepstream_configs.bundle.jetson_library import (
    JETPACK_RUNTIMES, OLDEST_JETPACK, PLATFORM_MACHINES, library_machine, read_library_facts, versions_beyond)
from taostream.deepstream_configs.elf_symbols import ElfError, abi_mismatch, exported_functions, open_elf
from taostream.deepstream_configs.nvinfer import deepstream_major
from taostream.plugins.library import LIBRARY_ENV, LIBRARY_NAME, build_command, find_built_library

BUNDLE_PATH = f"lib/{LIBRARY_NAME}"
# plugins/common/pluginLibrary.cpp writes the TensorRT major of the headers it was built with into the file
_TENSORRT_MARKER = re.compile(rb"TAOSTREAM_PLUGINS_TENSORRT major=(\d+) minor=(\d+)")
README_NAME = "lib/README_plugins.txt"
ENTRY_POINT = "getCreators"


def _strings(path: Path) -> list[bytes]:
    with open_elf(path) as elf:
        section = elf.get_section_by_name(".rodata")
        return section.data().split(b"\0") if section is not None else []


def library_plugin_ops(path: str | os.PathLike) -> set[str]:
    """The TAO plugin ops (trt_support.PLUGINS names) a TensorRT plugin library registers: empty for a
    library that does not export getCreators (a parser library, the host library) or cannot be read."""
    path = Path(path)
    try:
        if ENTRY_POINT not in exported_functions(path):
            return set()
        strings = _strings(path)
    except (ElfError, TaostreamError):
        return set()
    return {op for op in PLUGINS if any(s.endswith(op.encode()) for s in strings)}


def library_tensorrt_major(path: str | os.PathLike) -> int | None:
    """The TensorRT major whose headers built the library (its marker string); None for a library without
    the marker (built before it existed) or an unreadable file."""
    try:
        found = {int(m.group(1)) for m in _TENSORRT_MARKER.finditer(Path(path).read_bytes())}
    except OSError:
        return None
    return found.pop() if len(found) == 1 else None


def tensorrt_mismatch(path: str | os.PathLike, tensorrt: str, where: str) -> tuple[bool, str] | None:
    """(fatal, why) when the library was built against another TensorRT major than ``tensorrt`` (what
    ``where`` runs): it then registers nothing there. Fatal when that TensorRT removed a plugin the
    library is for (11 and later); a warning on 10, whose own plugin library still serves them."""
    built, runs = library_tensorrt_major(path), int(str(tensorrt).split(".")[0])
    if built is None or built == runs:
        return None
    why = (f"{path} was built against TensorRT {built} headers, but {where} runs TensorRT {tensorrt}: it registers "
           "no plugin there (TensorRT's registry differs between majors)")
    if runs >= 11:
        return True, f"{why}; rebuild it against TensorRT {runs} (`{build_command()}` in that container)"
    return False, (f"{why}; TensorRT {runs} ships the kept plugins itself, so only the parsers of the library "
                   f"serve there: build it in the container of the TensorRT it runs with")


def check_plugins_library(path: Path, platform: str, ops, option: str = "--plugins-library",
                          deepstream_major: int | None = None) -> None:
    """One-line TaostreamError unless ``path`` is a plugin library for ``platform``'s machine that
    exports getCreators and holds every op of ``ops`` (and, with ``deepstream_major``, whose compiled-in
    parsers have that DeepStream's detection layout)."""
    check_input_file(path, option, f"the built {LIBRARY_NAME}: `{build_command(deepstream_major)}` puts it in "
                     f"build/plugins/")
    machine = library_machine(path)  # ElfError (a TaostreamError) for a non-ELF file
    wanted = PLATFORM_MACHINES[platform]
    if machine != wanted:
        raise TaostreamError(f"{option} {path}: built for {machine}, but a {platform} bundle needs {wanted}: "
                             f"give the {wanted} build of {LIBRARY_NAME}")
    if platform == "jetson":
        _check_jetpack_runtime(path, option, deepstream_major)
    if ENTRY_POINT not in exported_functions(path):
        raise TaostreamError(f"{option} {path}: exports no {ENTRY_POINT}, so it is no TensorRT plugin library "
                             f"(a parser or host library?); give build/plugins/{LIBRARY_NAME} (`{build_command()}`)")
    missing = sorted(set(ops) - library_plugin_ops(path))
    if missing:
        raise TaostreamError(f"{option} {path}: provides no {', '.join(missing)}, which the model keeps; "
                             f"rebuild {LIBRARY_NAME} from this taostream (`{build_command(deepstream_major)}`)")
    if deepstream_major is not None:
        mismatch = abi_mismatch(path, deepstream_major)
        if mismatch:
            raise TaostreamError(f"{option} {mismatch}")


def _check_jetpack_runtime(path: Path, option: str, deepstream_major: int | None) -> None:
    """A Jetson library must load on the JetPack's Ubuntu: no glibc / libstdc++ symbol version newer
    than it has (JetPack 6 for DeepStream 7.x and unknown, JetPack 7 from DeepStream 8 on). The CUDA
    runtime's own version node is the JetPack's libcudart's."""
    runtime = JETPACK_RUNTIMES[1] if deepstream_major is not None and deepstream_major >= 8 else OLDEST_JETPACK
    beyond = [need for need in versions_beyond(read_library_facts(path).version_needs, runtime)
              if not need.startswith("libcudart.so")]
    if beyond:
        raise TaostreamError(f"{option} {path}: needs symbol versions JetPack {runtime.jetpack} (Ubuntu "
                             f"{runtime.ubuntu}) does not have: {', '.join(beyond)}; build it with an older aarch64 "
                             "cross toolchain (plugins/README.md) or on the Jetson")


def find_plugins_library(request, ops, warnings: list[str]) -> Path | None:
    """--plugins-library (checked; errors stop the bundle), else $TAOSTREAM_PLUGINS_LIBRARY or the
    checkout's build when it fits the platform (a warning when it does not), else None."""
    major = deepstream_major(request.deepstream)
    if request.plugins_library is not None:
        check_plugins_library(Path(request.plugins_library), request.platform, ops, deepstream_major=major)
        return Path(request.plugins_library)
    found = find_built_library()
    if found is None:
        return None
    source = f"${LIBRARY_ENV}" if os.environ.get(LIBRARY_ENV) else "the checkout's build"
    try:
        check_plugins_library(found, request.platform, ops, option=source, deepstream_major=major)
    except TaostreamError as exc:
        warnings.append(f"not shipping {found}: {exc}")
        return None
    return found


def missing_library_text(platform: str, deepstream_major: int | None = None) -> str:
    """lib/README_plugins.txt (and the bundle's warning) when the library could not be shipped."""
    where = ("on the Jetson itself (`scripts/jetson_build.sh --bundle <this folder>` builds it with JetPack's nvcc "
             "and TensorRT headers and copies it here), or on an x86-64 host with plugins/cmake/aarch64-jetson.cmake "
             "and a CUDA toolkit of the Jetson's major (`scripts/jetson_cuda_cross.sh`; plugins/README.md), or by hand"
             if platform == "jetson"
             else "inside the DeepStream container of this bundle (its TensorRT headers are under /usr)")
    return (f"Put {LIBRARY_NAME} here: model.onnx keeps TensorRT plugins that only it provides on TensorRT 11, and "
            f"deepstream/config_infer_primary.txt loads it (custom-lib-path). Build it {where}, from a taostream "
            f"checkout, with nvcc:\n\n    {build_command(deepstream_major)}\n\nthen copy build/plugins/{LIBRARY_NAME} here, or "
            "re-run `taostream bundle --plugins taostream --plugins-library build/plugins/"
            f"{LIBRARY_NAME}`. `taostream check <bundle>` reports it missing until then.\n")


def plugins_manifest_entry(root: Path, ops, source: Path | None, deepstream_major: int | None = None) -> dict:
    """manifest.json "plugins": whose library runs the kept plugin nodes, which ops, and where it is."""
    library = root / BUNDLE_PATH
    return {"library": "taostream", "path": BUNDLE_PATH, "shipped": library.is_file(),
            "machine": library_machine(library) if library.is_file() else None,
            "ops": sorted(ops), "from": source.name if source is not None else None,
            "tensorrt_major": library_tensorrt_major(library) if library.is_file() else None,
            "build": build_command(deepstream_major)}
