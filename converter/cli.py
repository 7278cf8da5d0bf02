"""Subcommands `decode`, `encode` and `inspect`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from taostream.converter import etlt
from taostream.converter.errors import EtltError, ModelFormatError, TaostreamError
from taostream.converter.fileio import atomic_write_bytes
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.model_file import needs_key, open_model


def register(subparsers) -> None:
    p = subparsers.add_parser("decode", help="decrypt an .etlt into its ONNX or UFF model")
    p.add_argument("model", help="the .etlt file")
    p.add_argument("-o", "--output", required=True, help="output file (.onnx or .uff) or folder")
    p.add_argument("--to-onnx", action="store_true", help="translate a UFF payload to ONNX")
    add_key_arguments(p)
    p.set_defaults(func=run_decode)

    p = subparsers.add_parser("encode", help="encrypt an ONNX or UFF model as .etlt")
    p.add_argument("model", help="the .onnx or .uff file")
    p.add_argument("-o", "--output", required=True, help="output .etlt file")
    p.add_argument("--input-name", help="UFF only: input node name for the header (default: the graph's Input)")
    add_key_arguments(p)
    p.set_defaults(func=run_encode)

    p = subparsers.add_parser("inspect", help="show a model's format, tensors, ops and TensorRT plugin status")
    p.add_argument("model", help="an .etlt, .onnx or .uff file")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_key_arguments(p, required=False)
    p.set_defaults(func=run_inspect)


def _model_key(args, path: str) -> str | None:
    """The key, required only when the file is an .etlt container."""
    try:
        encrypted = needs_key(path)
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read the model ({exc.strerror})") from None
    return resolve_key(args, required=encrypted)


def _decode_output_path(output: str, payload_suffix: str) -> Path:
    out = Path(output)
    if out.is_dir():
        raise TaostreamError(f"{out}: is a folder; give a file name such as {out / ('model' + payload_suffix)}")
    if out.suffix.lower() not in (".onnx", ".uff"):
        return out.with_name(out.name + payload_suffix)
    if out.suffix.lower() != payload_suffix:
        raise TaostreamError(
            f"{out}: the payload is {payload_suffix[1:].upper()}, not {out.suffix[1:].upper()}; "
            f"name the output *{payload_suffix}" + (" or pass --to-onnx" if payload_suffix == ".uff" else "")
        )
    return out


def run_decode(args) -> int:
    key = resolve_key(args)
    payload = etlt.read_etlt(args.model, key)
    data, suffix = payload.data, payload.suffix
    if args.to_onnx and payload.format == etlt.UFF:
        from taostream.converter.model_file import ModelFile, load_onnx_model

        model = load_onnx_model(ModelFile(Path(args.model), payload.format, payload.data, True, payload.input_name))
        data, suffix = model.SerializeToString(), ".onnx"
    out = _decode_output_path(args.output, suffix)
    atomic_write_bytes(out, data)
    print(f"wrote {out} ({suffix[1:].upper()}, {len(data)} bytes)")
    return 0


def run_encode(args) -> int:
    key = resolve_key(args)
    path = Path(args.model)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read the model ({exc.strerror})") from None
    fmt = etlt.detect_payload_format(data)
    if fmt is None:
        raise ModelFormatError(f"{path}: not an ONNX or UFF model (already an .etlt? use `taostream decode`)")
    input_name = args.input_name
    if fmt == etlt.UFF and not input_name:
        from taostream.converter.uff import load_uff

        inputs = load_uff(data, source=str(path)).inputs()
        if len(inputs) != 1:
            raise EtltError(f"{path}: the UFF graph has {len(inputs)} inputs; name one with --input-name")
        input_name = inputs[0].id
    blob = etlt.encode_etlt_bytes(data, key, input_name=input_name)
    atomic_write_bytes(args.output, blob)
    print(f"wrote {args.output} ({fmt.upper()} payload, {len(blob)} bytes)")
    return 0


def run_inspect(args) -> int:
    from taostream.converter.inspect_model import format_report, inspect_model

    key = _model_key(args, args.model)
    report = inspect_model(open_model(args.model, key))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(format_report(report))
    return 0
