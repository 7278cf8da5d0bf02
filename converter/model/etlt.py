"""The .etlt container (FACTS.md section 1).

Layout: int32 little-endian ``n``; ``n`` bytes of input node name (0 for an ONNX payload, the UFF
input name otherwise); a 16-byte nonce; the model encrypted with AES-256-CTR (the nonce is the initial
128-bit big-endian counter block). The AES key is PBKDF2-HMAC-SHA256 of the user key with a fixed salt.

There is no MAC, so a wrong key decrypts to noise without complaint: the decoder checks that the
plaintext starts like an ONNX ModelProto or a UFF MetaGraph and reports a wrong key otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from taostream.converter.errors import EtltError
from taostream.converter.keys import KEY_FLAG, key_options

SALT = bytes.fromhex("cb3cdc2e858689da908563056a00dbed09ac076c785543c4610f06d31b53a732")
PBKDF2_ITERATIONS = 100_000
NONCE_SIZE = 16
HEADER_SIZE = 4
MAX_INPUT_NAME = 4096
ONNX = "onnx"
UFF = "uff"


@dataclass(frozen=True)
class EtltPayload:
    """A decrypted model: ``format`` is 'onnx' or 'uff'; ``input_name`` is the header's name
    (None for ONNX payloads)."""

    format: str
    data: bytes
    input_name: str | None

    @property
    def suffix(self) -> str:
        return ".onnx" if self.format == ONNX else ".uff"


@functools.lru_cache(maxsize=8)
def derive_key(key: str) -> bytes:
    """PBKDF2-HMAC-SHA256(key, fixed salt, 100000 iterations) -> 32-byte AES-256 key."""
    return hashlib.pbkdf2_hmac("sha256", key.encode("utf-8"), SALT, PBKDF2_ITERATIONS, 32)


def _ctr(aes_key: bytes, nonce: bytes):
    return Cipher(algorithms.AES(aes_key), modes.CTR(nonce))


def crypt(aes_key: bytes, nonce: bytes, data: bytes) -> bytes:
    """AES-256-CTR is its own inverse: the same call encrypts and decrypts."""
    ctx = _ctr(aes_key, nonce).encryptor()
    return ctx.update(data) + ctx.finalize()


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    return -1, pos


# Field tags that may follow ir_version in a serialized ModelProto (fields 2..8, 14, 20, 25).
_ONNX_SECOND_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA}


def detect_payload_format(data: bytes) -> str | None:
    """Return 'onnx' or 'uff' when ``data`` starts like that protobuf, else None."""
    if len(data) >= 3 and data[0] == 0x08:
        if data[1] == 0x01 and data[2] == 0x10:
            return UFF  # MetaGraph: version = 1, then descriptor_core_version
        ir_version, pos = _read_varint(data, 1)
        if 1 <= ir_version <= 64 and pos < len(data) and data[pos] in _ONNX_SECOND_TAGS:
            return ONNX
    return None


def decode_etlt_bytes(blob: bytes, key: str, source: str = "<etlt>", key_flag: str = KEY_FLAG) -> EtltPayload:
    """Decrypt an .etlt held in memory. Raises EtltError on a malformed file or a wrong key (naming
    ``key_flag``, the running command's key option)."""
    if len(blob) < HEADER_SIZE + NONCE_SIZE + 1:
        raise EtltError(
            f"{source}: not an .etlt model: {len(blob)} bytes is shorter than the smallest possible "
            f"container ({HEADER_SIZE + NONCE_SIZE + 1} bytes); the file is empty or truncated"
        )
    (name_len,) = struct.unpack_from("<i", blob, 0)
    if name_len < 0 or name_len > MAX_INPUT_NAME or HEADER_SIZE + name_len + NONCE_SIZE >= len(blob):
        raise EtltError(
            f"{source}: not an .etlt model: its header declares an input-name length of {name_len} "
            f"bytes, impossible for a {len(blob)}-byte file (truncated, or not made by TAO/TLT)"
        )
    name_bytes = blob[HEADER_SIZE : HEADER_SIZE + name_len]
    try:
        input_name = name_bytes.decode("ascii") if name_len else None
    except UnicodeDecodeError:
        input_name = None
    if name_len and (input_name is None or not input_name.isprintable()):
        raise EtltError(f"{source}: not an .etlt model: the header's input node name is not text")
    nonce_start = HEADER_SIZE + name_len
    nonce = blob[nonce_start : nonce_start + NONCE_SIZE]
    plain = crypt(derive_key(key), nonce, blob[nonce_start + NONCE_SIZE :])
    fmt = detect_payload_format(plain)
    expected = UFF if name_len else ONNX
    if fmt != expected:
        raise EtltError(
            f"{source}: wrong key or corrupt file: the decrypted payload is not a valid "
            f"{expected.upper()} model; check the key given with {key_options(key_flag)} "
            "(the one used with `tao export -k`)"
        )
    return EtltPayload(format=fmt, data=plain, input_name=input_name)


def read_etlt(path: str | os.PathLike, key: str, key_flag: str = KEY_FLAG) -> EtltPayload:
    """Read and decrypt an .etlt file."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise EtltError(f"{path}: cannot read the model ({exc.strerror})") from None
    return decode_etlt_bytes(blob, key, source=str(path), key_flag=key_flag)


def encode_etlt_bytes(data: bytes, key: str, input_name: str | None = None, nonce: bytes | None = None) -> bytes:
    """Encrypt an ONNX (``input_name`` None) or UFF (``input_name`` required) model as .etlt."""
    fmt = detect_payload_format(data)
    if fmt is None:
        raise EtltError("the model to encode is neither an ONNX ModelProto nor a UFF MetaGraph")
    if fmt == UFF and not input_name:
        raise EtltError("a UFF model needs its input node name in the .etlt header (e.g. input_1)")
    if fmt == ONNX:
        input_name = None
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise EtltError(f"the nonce must be {NONCE_SIZE} bytes")
    name = (input_name or "").encode("ascii")
    return struct.pack("<i", len(name)) + name + nonce + crypt(derive_key(key), nonce, data)
