"""The functions a shared library exports, read from its ELF dynamic symbol table (.dynsym).

DeepStream finds a custom parser with dlsym(), so the validator must know whether the name in
``parse-bbox-func-name`` is really exported by ``custom-lib-path``. Read with pyelftools (no ``nm``
needed), which reads aarch64 (Jetson) libraries on an x86 host as well; bundle/jetson_library.py reads the
machine and symbol-version needs through the same ``open_elf``.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from pathlib import Path
from typing import Iterator

from taostream.converter.errors import TaostreamError

class ElfError(TaostreamError):
    """The file is not an ELF shared library taostream can read."""


@contextlib.contextmanager
def open_elf(path: str | os.PathLike) -> Iterator:
    """The library as a pyelftools ELFFile, open for the ``with`` block; unreadable, non-ELF and
    truncated files raise ElfError (also when pyelftools finds the damage while reading on)."""
    try:
        from elftools.common.exceptions import ELFError  # lazy: heavy
        from elftools.elf.elffile import ELFFile  # lazy: heavy
    except ImportError:
        raise TaostreamError(f"reading {path} needs the Python package 'pyelftools'; "
                             "install it with: pip install pyelftools") from None
    path = Path(path)
    try:
        with path.open("rb") as stream:
            try:
                elf = ELFFile(stream)
            except ELFError as exc:
                raise ElfError(f"{path}: not an ELF shared library ({exc}); build it for the target platform") from None
            yield elf
    except OSError as exc:
        raise ElfError(f"{path}: cannot read the library ({exc.strerror})") from None
    except (ELFError, struct.error) as exc:
        raise ElfError(f"{path}: damaged or truncated ELF file ({exc}); rebuild the library") from None


def exported_functions(path: str | os.PathLike) -> set[str]:
    """Names of the global/weak functions a shared library defines (not the ones it imports)."""
    with open_elf(path) as elf:
        return {symbol.name
                for section in elf.iter_sections() if section["sh_type"] == "SHT_DYNSYM"
                for symbol in section.iter_symbols()
                if symbol["st_info"]["type"] == "STT_FUNC" and symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
                and symbol["st_shndx"] != "SHN_UNDEF"}


# taostream's parser library carries the detection-struct layout it was compiled for as a string
# (parsers/src/nvdsinfer_parsers.cpp, AbiTag): found in the raw bytes, whatever the architecture.
_ABI_MARKER = re.compile(rb"TAOSTREAM_PARSER_ABI object_info_bytes=(\d+)")


def parser_object_info_bytes(path: str | os.PathLike) -> int | None:
    """sizeof(NvDsInferObjectDetectionInfo) a taostream parser library was built with; None for
    libraries that do not say (not taostream's, or built before the marker existed)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ElfError(f"{path}: cannot read the library ({exc.strerror})") from None
    found = {int(m.group(1)) for m in _ABI_MARKER.finditer(data)}
    return found.pop() if len(found) == 1 else None


def object_info_bytes_for(deepstream_major: int) -> int:
    """DeepStream 9 appended ``float rotation_angle`` to NvDsInferObjectDetectionInfo (24 -> 28 bytes)."""
    return 28 if deepstream_major >= 9 else 24


def rotation_angle_option(object_info_bytes: int) -> str:
    """The -DTAOSTREAM_DS_ROTATION_ANGLE value that builds a library of that layout."""
    return "ON" if object_info_bytes == 28 else "OFF"


def abi_mismatch(path: str | os.PathLike, deepstream_major: int) -> str | None:
    """Why a taostream parser library cannot serve this DeepStream (None when it can or cannot tell)."""
    built = parser_object_info_bytes(path)
    wanted = object_info_bytes_for(deepstream_major)
    if built is None or built == wanted:
        return None
    return (f"{path} was built for DeepStream {'9+' if built == 28 else '5-8'} "
            f"(NvDsInferObjectDetectionInfo of {built} bytes) but DeepStream {deepstream_major} uses {wanted}: "
            f"nvinfer would read every box at the wrong offset. Rebuild it with "
            f"-DTAOSTREAM_DS_ROTATION_ANGLE={rotation_angle_option(wanted)} (or against that SDK with -DDEEPSTREAM_ROOT), or re-run "
            f"`taostream bundle` with that DeepStream's --deepstream version")
