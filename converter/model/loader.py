"""Open any model file taostream accepts (.etlt, .onnx, .uff) by its content, not its name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from taostream.converter.keys import KEY_ENV
from taostream.converter.model import etlt
from taostream.converter.errors import KeyMissingError, ModelFormatError


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


# Files named like a plain model: their content must be that model (an .etlt is never assumed).
_PLAIN_SUFFIXES = {".onnx": "ONNX", ".uff": "UFF"}


def _refuse_unrecognised(path: Path, head: bytes) -> None:
    """An empty file, or a *.onnx/*.uff whose bytes are not that model, is an error (not an .etlt)."""
    if not head:
        raise ModelFormatError(f"{path}: the model file is empty; export or download it again")
    kind = _PLAIN_SUFFIXES.get(path.suffix.lower())
    if kind:
        raise ModelFormatError(f"{path}: not an {kind} model (its first bytes are not an {kind} protobuf); "
                               f"export it again, or rename it *.etlt if it is an encrypted TAO model")


def _read_model_bytes(path: Path, size: int = -1) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except IsADirectoryError:
        raise ModelFormatError(f"{path}: is a folder; give the model file (.etlt, .onnx or .uff)") from None
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read the model ({exc.strerror})") from None


def needs_key(path: str | os.PathLike) -> bool:
    """True when ``path`` is an .etlt container (so a key is needed); ModelFormatError when it is
    empty, unreadable, or named *.onnx/*.uff without being that model."""
    path = Path(path)
    head = _read_model_bytes(path, 64)
    encrypted = is_encrypted(head)
    if encrypted:
        _refuse_unrecognised(path, head)
    return encrypted


def require_complete_onnx(data: bytes, source) -> object:
    """Parse an ONNX model and refuse a truncated one (it may still parse when cut at a field
    boundary): it needs a graph with nodes and outputs, and an opset."""
    import onnx  # lazy: heavy

    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ModelFormatError(f"{source}: the ONNX model does not parse ({exc}); the file is truncated or "
                               "corrupt, export it again") from None
    missing = [what for what, present in (("graph nodes", model.graph.node), ("graph outputs", model.graph.output),
                                          ("opset_import", model.opset_import)) if not present]
    if missing:
        raise ModelFormatError(f"{source}: the ONNX model has no {' and no '.join(missing)}; the file is "
                               "truncated or incomplete, export it again")
    return model


def require_complete_payload(fmt: str, data: bytes, source) -> None:
    """Refuse a model that does not parse as its format (a truncated .etlt decrypts to a cut payload
    that still starts like one)."""
    if fmt == etlt.ONNX:
        require_complete_onnx(data, source)
        return
    from taostream.converter.uff.reader import parse_metagraph  # lazy: CLI start-up

    meta = parse_metagraph(data, str(source))
    if not meta.graphs[0].nodes:
        raise ModelFormatError(f"{source}: the UFF graph has no nodes; the file is truncated, export it again")


def open_model(path: str | os.PathLike, key: str | None = None) -> ModelFile:
    """Read ``path``; decrypt it when it is an .etlt (``key`` required then)."""
    path = Path(path)
    raw = _read_model_bytes(path)
    fmt = etlt.detect_payload_format(raw)
    if fmt is not None:
        return ModelFile(path, fmt, raw, False, None)
    _refuse_unrecognised(path, raw[:64])
    if key is None:
        raise KeyMissingError(
            f"{path}: this is an encrypted .etlt model: pass --key KEY, --key-file FILE or set ${KEY_ENV}"
        )
    payload = etlt.decode_etlt_bytes(raw, key, source=str(path))
    return ModelFile(path, payload.format, payload.data, True, payload.input_name)


def load_onnx_model(model: ModelFile):
    """The model as an onnx.ModelProto; UFF payloads go through the UFF translator."""
    import onnx  # lazy: heavy

    if model.format == etlt.ONNX:
        try:
            return onnx.load_model_from_string(model.data)
        except Exception as exc:  # onnx raises DecodeError and friends
            raise ModelFormatError(f"{model.path}: the ONNX model does not parse ({exc})") from None
    try:
        from taostream.converter.uff.to_onnx import uff_to_onnx  # lazy: optional (a build without the UFF translator)
    except ModuleNotFoundError as exc:
        if exc.name != "taostream.converter.uff.to_onnx":
            raise
        raise ModelFormatError(
            f"{model.path}: this is a UFF model and this taostream build has no UFF translator"
        ) from None
    return uff_to_onnx(model.data, input_name=model.input_name, source=str(model.path))
