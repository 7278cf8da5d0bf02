"""TensorRT INT8 calibration caches (the text files `tao export --cal_cache_file` writes).

Format: a header line ``TRT-<version>-<algorithm>`` (``TRT-7000-EntropyCalibration2`` from TensorRT 7,
``TRT-8601-...`` from 8.6, ``TRT-100300-...`` from 10.3), then one line per tensor,
``<tensor name>: <hex>``, where hex is the IEEE-754 float32 bit pattern of scale = amax / 127.
Tensor names may contain spaces and colons (``(Unnamed Layer* 593) [Deconvolution]_output``), so the
value is whatever follows the LAST ``": "``.
"""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text

ALGORITHMS = ("EntropyCalibration2", "EntropyCalibration", "MinMaxCalibration", "LegacyCalibration")
_HEADER = re.compile(r"^TRT-(\d+)-([A-Za-z0-9]+)$")
_HEX = re.compile(r"^[0-9a-fA-F]{1,8}$")
DEFAULT_HEADER = "TRT-8601-EntropyCalibration2"
# An amax (scale * 127) this large is no activation range: a placeholder (QAT exports write +inf for
# tensors whose range comes from the graph's own Q/DQ) or a damaged entry.
MAX_PLAUSIBLE_AMAX = 1e30


class CalibrationCacheError(TaostreamError):
    """A calibration cache that does not parse."""


@dataclass
class CalibrationCache:
    header: str = DEFAULT_HEADER
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def trt_version(self) -> int | None:
        match = _HEADER.match(self.header)
        return int(match.group(1)) if match else None

    @property
    def algorithm(self) -> str:
        match = _HEADER.match(self.header)
        return match.group(2) if match else ""

    @property
    def trt_version_string(self) -> str:
        """'7000' -> '7.0.0', '8601' -> '8.6.1', '100300' -> '10.3.0'."""
        v = self.trt_version
        if v is None:
            return "unknown"
        if v >= 10000:  # TensorRT 10+: MMmmpp
            return f"{v // 10000}.{v // 100 % 100}.{v % 100}"
        return f"{v // 1000}.{v // 100 % 10}.{v % 100}"

    def amax(self, tensor: str) -> float:
        return self.scales[tensor] * 127.0

    def unusable(self) -> dict[str, float]:
        """Entries whose scale no INT8 build can use: inf (QAT exports write +inf for tensors whose
        range comes from the graph's own Q/DQ), NaN, zero, negative, or an amax of 1e30 and more."""
        return {name: v for name, v in self.scales.items() if not scale_usable(v)}

    def summary(self) -> dict:
        unusable = self.unusable()
        values = [v for name, v in self.scales.items() if name not in unusable]
        return {
            "header": self.header,
            "trt_version": self.trt_version_string,
            "algorithm": self.algorithm,
            "tensors": len(self.scales),
            "unusable": len(unusable),
            "scale_min": min(values) if values else None,
            "scale_max": max(values) if values else None,
        }


def scale_usable(scale: float) -> bool:
    return math.isfinite(scale) and 0 < scale * 127.0 < MAX_PLAUSIBLE_AMAX


def hex_to_float(text: str) -> float:
    return struct.unpack(">f", bytes.fromhex(text.rjust(8, "0")))[0]


def float_to_hex(value: float) -> str:
    return struct.pack(">f", value).hex()


def parse_calibration_cache(text: str, source: str = "<calibration cache>") -> CalibrationCache:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise CalibrationCacheError(f"{source}: empty calibration cache; regenerate it with `tao export --cal_cache_file`")
    header = lines[0].strip()
    match = _HEADER.match(header)
    if not match:
        raise CalibrationCacheError(
            f"{source}:1: not a TensorRT calibration cache: the first line is {header[:60]!r}, expected "
            "'TRT-<version>-<algorithm>' such as 'TRT-8601-EntropyCalibration2'"
        )
    if match.group(2) not in ALGORITHMS:
        raise CalibrationCacheError(
            f"{source}:1: unknown calibration algorithm {match.group(2)!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    scales: dict[str, float] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.rstrip().rpartition(": ")
        if not sep or not name or not _HEX.match(value):
            raise CalibrationCacheError(
                f"{source}:{number}: expected '<tensor name>: <8 hex digits>', found {line[:80]!r}"
            )
        if name in scales:
            raise CalibrationCacheError(f"{source}:{number}: tensor {name!r} appears twice")
        scales[name] = hex_to_float(value)
    return CalibrationCache(header=header, scales=scales)


def read_calibration_cache(path: str | os.PathLike) -> CalibrationCache:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise CalibrationCacheError(f"{path}: is a folder; give the calibration cache file (cal.bin)") from None
    except OSError as exc:
        raise CalibrationCacheError(f"{path}: cannot read the calibration cache ({exc.strerror})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise CalibrationCacheError(
            f"{path}:1: starts with a UTF-8 byte-order mark (a text editor saved it so): TensorRT would not "
            "recognise its 'TRT-...' header; save it again without the BOM (as UTF-8 without BOM, or ASCII)"
        )
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CalibrationCacheError(
            f"{path}: not a text calibration cache (binary data); pass the file written by "
            "`tao export --cal_cache_file`, not a calibration tensorfile or an engine"
        ) from None
    return parse_calibration_cache(text, source=str(path))


def format_calibration_cache(cache: CalibrationCache) -> str:
    if not _HEADER.match(cache.header):
        raise CalibrationCacheError(f"invalid calibration cache header {cache.header!r}")
    body = "".join(f"{name}: {float_to_hex(scale)}\n" for name, scale in cache.scales.items())
    return f"{cache.header}\n{body}"


def write_calibration_cache(path: str | os.PathLike, cache: CalibrationCache) -> Path:
    return atomic_write_text(path, format_calibration_cache(cache))


def header_for(trt_version: str, algorithm: str = "EntropyCalibration2") -> str:
    """'8.6.1' -> 'TRT-8601-EntropyCalibration2'; '10.3.0' -> 'TRT-100300-...'; '7' -> 'TRT-7000-...'."""
    parts = [int(p) for p in str(trt_version).split(".")] + [0, 0]
    major, minor, patch = parts[:3]
    number = major * 10000 + minor * 100 + patch if major >= 10 else major * 1000 + minor * 100 + patch
    return f"TRT-{number}-{algorithm}"
