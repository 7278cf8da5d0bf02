"""The functions a shared library exports, read from its ELF dynamic symbol table (.dynsym).

DeepStream finds a custom parser with dlsym(), so the validator must know whether the name in
``parse-bbox-func-name`` is really exported by ``custom-lib-path``. Pure Python: no ``nm`` needed, and
it reads aarch64 (Jetson) libraries on an x86 host as well.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from taostream.converter.errors import TaostreamError

_SHT_DYNSYM = 11
_STT_FUNC = 2
_STB_GLOBAL, _STB_WEAK = 1, 2


class ElfError(TaostreamError):
    """The file is not an ELF shared library taostream can read."""


def exported_functions(path: str | os.PathLike) -> set[str]:
    """Names of the global/weak functions a shared library defines (not the ones it imports)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ElfError(f"{path}: cannot read the library ({exc.strerror})") from None
    if data[:4] != b"\x7fELF" or len(data) < 64:
        raise ElfError(f"{path}: not an ELF shared library; build it for this platform (cmake --build)")
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    sections = _section_headers(data, is64, endian, path)
    names: set[str] = set()
    for sh_type, offset, size, link, entsize in sections:
        if sh_type != _SHT_DYNSYM or link >= len(sections):
            continue
        strtab_offset, strtab_size = sections[link][1], sections[link][2]
        strtab = data[strtab_offset : strtab_offset + strtab_size]
        names |= _functions_in(data[offset : offset + size], strtab, is64, endian, entsize)
    return names


def _section_headers(data: bytes, is64: bool, endian: str, path: Path) -> list[tuple[int, int, int, int, int]]:
    if is64:
        shoff, = struct.unpack_from(endian + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x3A)
        layout, fields = endian + "IIQQQQIIQQ", (1, 4, 5, 6, 9)
    else:
        shoff, = struct.unpack_from(endian + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x2E)
        layout, fields = endian + "IIIIIIIIII", (1, 4, 5, 6, 9)
    if shoff + shnum * shentsize > len(data) or shentsize < struct.calcsize(layout):
        raise ElfError(f"{path}: truncated ELF file (section headers past the end); rebuild the library")
    headers = []
    for index in range(shnum):
        values = struct.unpack_from(layout, data, shoff + index * shentsize)
        headers.append(tuple(values[i] for i in fields))
    return headers


def _functions_in(table: bytes, strtab: bytes, is64: bool, endian: str, entsize: int) -> set[str]:
    layout = endian + ("IBBHQQ" if is64 else "IIIBBH")
    size = entsize or struct.calcsize(layout)
    names = set()
    for start in range(0, len(table) - size + 1, size):
        values = struct.unpack_from(layout, table, start)
        if is64:
            name_offset, info, _, shndx = values[0], values[1], values[2], values[3]
        else:
            name_offset, info, shndx = values[0], values[3], values[5]
        binding, kind = info >> 4, info & 0xF
        if shndx == 0 or kind != _STT_FUNC or binding not in (_STB_GLOBAL, _STB_WEAK):
            continue
        end = strtab.find(b"\0", name_offset)
        names.add(strtab[name_offset:end].decode("utf-8", "replace"))
    return names


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
