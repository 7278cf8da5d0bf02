"""Open any model file taostream accepts (.etlt, .onnx, .uff) by its content, not its name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from taostream.converter import etlt
from taostream.converter.errors import ModelFormatError


@dataclass(frozen=True)
class ModelFile:
    path: Path
    format: str  # "onnx" | "uff"
    data: bytes  # the plain (decrypted) model bytes
    encrypted: bool  # came from an .etlt container
    input_name: str | None  # the .etlt header's input name (UFF payloads)

    @property
    def suffix(self) -> str:
        return ".onnx" if self.format == etlt.ONNX else ".uff"


def is_encrypted(raw: bytes) -> bool:
    """True when ``raw`` is not a plain ONNX/UFF protobuf (so it must be an .etlt container)."""
    return etlt.detect_payload_format(raw) is None


def needs_key(path: str | os.PathLike) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(64)
    return is_encrypted(head)


def open_model(path: str | os.PathLike, key: str | None = None) -> ModelFile:
    """Read ``path``; decrypt it when it is an .etlt (``key`` required then)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read the model ({exc.strerror})") from None
    fmt = etlt.detect_payload_format(raw)
    if fmt is not None:
        return ModelFile(path, fmt, raw, False, None)
    if key is None:
        from taostream.converter.keys import KEY_ENV
        from taostream.converter.errors import KeyMissingError

        raise KeyMissingError(
            f"{path}: this is an encrypted .etlt model: pass --key KEY, --key-file FILE or set ${KEY_ENV}"
        )
    payload = etlt.decode_etlt_bytes(raw, key, source=str(path))
    return ModelFile(path, payload.format, payload.data, True, payload.input_name)


def load_onnx_model(model: ModelFile):
    """The model as an onnx.ModelProto; UFF payloads go through the UFF translator."""
    import onnx

    if model.format == etlt.ONNX:
        try:
            return onnx.load_model_from_string(model.data)
        except Exception as exc:  # onnx raises DecodeError and friends
            raise ModelFormatError(f"{model.path}: the ONNX model does not parse ({exc})") from None
    try:
        from taostream.converter.uff_to_onnx import uff_to_onnx
    except ModuleNotFoundError as exc:
        if exc.name != "taostream.converter.uff_to_onnx":
            raise
        raise ModelFormatError(
            f"{model.path}: this is a UFF model and this taostream build has no UFF translator"
        ) from None
    return uff_to_onnx(model.data, input_name=model.input_name, source=str(model.path))
