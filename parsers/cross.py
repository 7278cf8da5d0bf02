"""Run one exported parser of libnvds_infercustomparser_taostream.so through the request-file
driver (parsers/harness/parser_cli.cpp): natively, under user-mode qemu for a cross-built aarch64
library, or on a Jetson with a request file copied there.

A request holds the function, the output layers' bytes and the nvinfer parameters; the driver
calls the real exported symbol the way the ctypes harness does and writes back the detections
(or classifier attributes) bit for bit. ``ParserDriver.parse``/``classify`` take the same
arguments as ``NativeParsers`` so a test runs the SAME case on every build:

    native = ParserDriver(build.build_parser_driver())
    arm = ParserDriver.under_qemu(build.cross_build_parsers())
    assert arm.parse(name, layers, 960, 544, 3, [0.2] * 3) == native.parse(name, layers, 960, 544, 3, [0.2] * 3)
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from taostream.converter.fileio import atomic_write_bytes
from taostream.parsers.build import AARCH64_SYSROOT, ParserBuild
from taostream.parsers.native import ABI_FIELDS, OutputLayer, ParserCallError
from taostream.parsers.reference import Attribute, Detection

REQUEST_HEADER = "taostream-parser-request 1"
RESULT_HEADER = "taostream-parser-result 1"
KINDS = ("detection", "instance_mask", "classifier")
STATUSES = ("ok", "parse_failed", "load_failed")
# parser_harness.cpp's HarnessObject, and the (attributeIndex, attributeValue, confidence) triple.
OBJECT_RECORD = np.dtype([("class_id", "<u4"), ("left", "<f4"), ("top", "<f4"), ("width", "<f4"),
                          ("height", "<f4"), ("confidence", "<f4"), ("mask_width", "<u4"),
                          ("mask_height", "<u4"), ("mask_size", "<u4")])
ATTRIBUTE_RECORD = np.dtype([("index", "<u4"), ("value", "<u4"), ("confidence", "<f4")])
DETECTNET_V2_ENV = "TAOSTREAM_DETECTNET_V2"
# The driver's exit status when the request itself is bad (parser_cli.cpp kExitBadRequest).
EXIT_BAD_REQUEST = 2


def qemu_aarch64(sysroot: Path = AARCH64_SYSROOT) -> tuple[str, ...]:
    """The user-mode emulator prefix for aarch64 programs, with the cross libc/libstdc++ root."""
    return ("qemu-aarch64", "-L", str(sysroot))


@dataclass(frozen=True)
class ParserRequest:
    """One parser call. ``env`` is applied by the driver before the call (None unsets a variable):
    the DetectNet_v2 parser reads its clustering settings from TAOSTREAM_DETECTNET_V2."""

    function: str
    layers: Sequence[OutputLayer] | Mapping[str, np.ndarray]
    net_w: int
    net_h: int
    num_classes: int = 0
    thresholds: Sequence[float] = ()
    net_c: int = 3
    kind: str = "detection"
    classifier_threshold: float = 0.5
    env: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ParserResult:
    status: str  # one of STATUSES
    detections: list[Detection] | None = None  # detection / instance_mask kinds, when ok
    attributes: list[Attribute] | None = None  # classifier kind, when ok
    stderr: str = ""  # what the parser printed (its ERROR lines)


def _as_layers(layers: Sequence[OutputLayer] | Mapping[str, np.ndarray]) -> list[OutputLayer]:
    if isinstance(layers, Mapping):
        return [OutputLayer(name, array) for name, array in layers.items()]
    return list(layers)


def _hex(value: float) -> str:
    """A float32 as a hex float: strtof reads back exactly the same bits."""
    return float(np.float32(value)).hex()


def _layer_line(layer: OutputLayer, offset: int, array: np.ndarray) -> str:
    if not layer.name or any(c.isspace() for c in layer.name):
        raise ValueError(f"layer name {layer.name!r}: the request format needs a non-empty name without spaces")
    dims, count, data_type = layer.fields(array)
    # numDims as given (the parser must reject > 8), but NvDsInferDims holds 8 values, as in NativeParsers
    return " ".join(map(str, ["layer", layer.name, data_type, int(layer.is_input), count, len(dims), *dims[:8],
                              offset, array.nbytes]))


def encode_request(request: ParserRequest) -> bytes:
    """The request file's bytes (format: parsers/harness/parser_cli.cpp)."""
    if request.kind not in KINDS:
        raise ValueError(f"kind {request.kind!r}: use one of {', '.join(KINDS)}")
    for what, word in [("function", request.function), *(("environment variable", name) for name in request.env)]:
        if not word or any(c.isspace() or c == "=" for c in word):
            raise ValueError(f"{what} {word!r}: the request format needs one word (no spaces or '=')")
    lines = [REQUEST_HEADER, f"function {request.function}", f"kind {request.kind}",
             f"network {request.net_w} {request.net_h} {request.net_c}", f"classes {request.num_classes}",
             " ".join(["thresholds", *map(_hex, request.thresholds)]),
             f"classifier_threshold {_hex(request.classifier_threshold)}"]
    for name, value in request.env.items():
        if value is not None and "\n" in value:
            raise ValueError(f"environment value of {name} must be one line")
        lines.append(f"unset {name}" if value is None else f"env {name} {value}")
    payload, offset = [], 0
    for layer in _as_layers(request.layers):
        array = np.ascontiguousarray(layer.array)
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)  # engines hold little-endian bytes
        lines.append(_layer_line(layer, offset, array))
        payload.append(array.tobytes())
        offset += array.nbytes
    return ("\n".join(lines) + "\npayload\n").encode() + b"".join(payload)


def write_request(path: str | os.PathLike, request: ParserRequest) -> Path:
    """Writes a request file (e.g. to replay a case with the driver on a Jetson)."""
    return atomic_write_bytes(path, encode_request(request))


def _split_result(data: bytes) -> tuple[dict[str, str], bytes]:
    head, separator, payload = data.partition(b"\npayload\n")
    lines = head.decode(errors="replace").split("\n")
    if not separator or lines[0] != RESULT_HEADER:
        raise ParserCallError(f"not a parser driver result (expected '{RESULT_HEADER}' ... 'payload')")
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    if fields.get("status") not in STATUSES:
        raise ParserCallError(f"parser driver result has status {fields.get('status')!r}")
    return fields, payload


def decode_result(data: bytes, stderr: str = "") -> ParserResult:
    """Reads what the driver wrote back into reference Detection / Attribute objects."""
    fields, payload = _split_result(data)
    status = fields["status"]
    if status != "ok":
        return ParserResult(status, stderr=stderr)
    if "attributes" in fields:
        records = np.frombuffer(payload, ATTRIBUTE_RECORD, count=int(fields["attributes"]))
        return ParserResult(status, attributes=[Attribute(int(r["index"]), int(r["value"]), float(r["confidence"]))
                                                for r in records], stderr=stderr)
    count, mask_floats = int(fields["objects"]), int(fields["mask_floats"])
    records = np.frombuffer(payload, OBJECT_RECORD, count=count)
    masks = np.frombuffer(payload, "<f4", count=mask_floats, offset=count * OBJECT_RECORD.itemsize)
    detections, used = [], 0
    for r in records:
        mask = None
        if r["mask_size"]:
            size = int(r["mask_size"]) // 4
            mask = masks[used:used + size].astype(np.float32).reshape(int(r["mask_height"]), int(r["mask_width"]))
            used += size
        left, top = float(r["left"]), float(r["top"])
        # right/bottom the way NativeParsers computes them (float32 fields, Python float sums)
        detections.append(Detection(int(r["class_id"]), left, top, left + float(r["width"]),
                                    top + float(r["height"]), float(r["confidence"]), mask=mask))
    return ParserResult(status, detections=detections, stderr=stderr)


class ParserDriver:
    """Runs requests through one build's driver, optionally behind an emulator command."""

    def __init__(self, build: ParserBuild, emulator: Sequence[str] = (), timeout_s: float = 120.0):
        self.library = Path(build.library).resolve()
        self.driver = Path(build.driver).resolve()
        self.emulator = tuple(emulator)
        self.timeout_s = timeout_s

    @classmethod
    def under_qemu(cls, build: ParserBuild, sysroot: Path = AARCH64_SYSROOT) -> "ParserDriver":
        return cls(build, qemu_aarch64(sysroot))

    def _execute(self, arguments: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
        command = [*self.emulator, str(self.driver), *arguments]
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=self.timeout_s)
        if result.returncode == EXIT_BAD_REQUEST or result.returncode < 0 or result.returncode > 3:
            raise ParserCallError(f"{' '.join(command)} exited with {result.returncode}:\n"
                                  f"{result.stderr.decode(errors='replace')[-4000:]}")
        return result

    def run(self, request: ParserRequest) -> ParserResult:
        """Calls the parser once; the request travels through a pipe (/dev/stdin)."""
        result = self._execute([str(self.library), "/dev/stdin", "-"], stdin=encode_request(request))
        stderr = result.stderr.decode(errors="replace")
        try:
            decoded = decode_result(result.stdout, stderr)
        except ParserCallError as error:  # e.g. a sanitizer stopped the driver (its exit status is 1 too)
            raise ParserCallError(f"{self.driver} exited with {result.returncode} without a result ({error}):\n"
                                  f"{stderr[-4000:]}") from None
        if decoded.status == "load_failed":
            raise ParserCallError(f"cannot load {request.function} from {self.library}")
        return decoded

    def parse(self, function: str, layers, net_w: int, net_h: int, num_classes: int,
              thresholds: Sequence[float], net_c: int = 3, masks: bool = False,
              env: Mapping[str, str | None] | None = None) -> list[Detection] | None:
        """As NativeParsers.parse; None when the parser returned false."""
        request = ParserRequest(function, layers, net_w, net_h, num_classes, tuple(thresholds), net_c,
                                "instance_mask" if masks else "detection", env=dict(env or {}))
        return self.run(request).detections

    def classify(self, function: str, layers, threshold: float, net=(224, 224, 3),
                 env: Mapping[str, str | None] | None = None) -> list[Attribute] | None:
        request = ParserRequest(function, layers, net[0], net[1], net_c=net[2], kind="classifier",
                                classifier_threshold=threshold, env=dict(env or {}))
        return self.run(request).attributes

    def abi_layout(self) -> dict[str, int]:
        """The ABI struct sizes and offsets as this build (and its target) lays them out."""
        words = self._execute(["--abi"]).stdout.decode().split()
        if not words or words[0] != "abi":
            raise ParserCallError(f"{self.driver} --abi printed {' '.join(words)!r}")
        return dict(zip(ABI_FIELDS, map(int, words[1:])))
