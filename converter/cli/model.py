"""Subcommands `decode`, `encode` and `inspect`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from taostream.converter.model import etlt
from taostream.converter.errors import EtltError, ModelFormatError, TaostreamError
from taostream.converter.fileio import atomic_write_bytes, check_output_file
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.model.loader import (
    ModelFile, load_onnx_model, needs_key, open_model, require_complete_onnx, require_complete_payload,
)


def register(subparsers) -> None:
    p = subparsers.add_parser("decode", help="decrypt an .etlt into its ONNX or UFF model")
    p.add_argument("model", help="the .etlt file")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.onnx or .uff; the payload's suffix is added to other names), or a folder "
                        "(existing, or ending in /) to write MODEL's name with that suffix into")
    p.add_argument("--to-onnx", action="store_true", help="translate a UFF payload to ONNX")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_key_arguments(p)
    p.set_defaults(func=run_decode)

    p = subparsers.add_parser("encode", help="encrypt an ONNX or UFF model as .etlt")
    p.add_argument("model", help="the .onnx or .uff file")
    p.add_argument("-o", "--output", required=True, help="output .etlt file")
    p.add_argument("--input-name", help="UFF only: input node name for the header (default: the graph's Input)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_key_arguments(p)
    p.set_defaults(func=run_encode)

    p = subparsers.add_parser("inspect", help="show a model's format, tensors, ops and TensorRT plugin status")
    p.add_argument("model", help="an .etlt, .onnx or .uff file")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_key_arguments(p, required=False)
    p.set_defaults(func=run_inspect)


def _model_key(args, path: str) -> str | None:
    """The key, required only when the file is an .etlt container."""
    return resolve_key(args, required=needs_key(path), model=path)


def _decode_output_path(output: str, model: str, payload_suffix: str, force: bool) -> Path:
    """-o as the help describes it: a folder (existing, or written with a trailing /) gets MODEL's name
    with the payload's suffix; a name without .onnx/.uff gets the suffix added."""
    out = Path(output)
    if out.is_dir() or output.endswith(("/", os.sep)):
        out = out / (Path(model).stem + payload_suffix)
    elif out.suffix.lower() not in (".onnx", ".uff"):
        out = out.with_name(out.name + payload_suffix)
    elif out.suffix.lower() != payload_suffix:
        raise TaostreamError(
            f"{out}: the payload is {payload_suffix[1:].upper()}, not {out.suffix[1:].upper()}; "
            f"name the output *{payload_suffix}" + (" or pass --to-onnx" if payload_suffix == ".uff" else "")
        )
    return check_output_file(out, force=force, inputs=(model,))


def run_decode(args) -> int:
    try:
        plain = None if needs_key(args.model) else open_model(args.model).format.upper()
    except ModelFormatError:
        plain = None  # empty, truncated or not a model: read_etlt below says which
    if plain:
        # a plain .uff/.onnx has nothing to decrypt: asking for a key would send the user hunting for one
        hint = (f"; translate it with `taostream modernize {args.model} --target-trt 11 -o model.onnx`"
                if plain == "UFF" else "; use it as it is")
        raise TaostreamError(f"{args.model}: a plain {plain} model, not an encrypted .etlt: nothing to decode{hint}")
    key = resolve_key(args)
    payload = etlt.read_etlt(args.model, key)
    require_complete_payload(payload.format, payload.data, f"{args.model} (decrypted)")
    data, suffix = payload.data, payload.suffix
    if args.to_onnx and payload.format == etlt.UFF:
        suffix = ".onnx"
    out = _decode_output_path(args.output, args.model, suffix, args.force)
    if args.to_onnx and payload.format == etlt.UFF:
        model = load_onnx_model(ModelFile(Path(args.model), payload.format, payload.data, True, payload.input_name))
        data = model.SerializeToString()
    atomic_write_bytes(out, data)
    print(f"wrote {out} ({suffix[1:].upper()}, {len(data)} bytes)")
    return 0


def _uff_input_name(data: bytes, path: Path, requested: str | None) -> str:
    """The UFF graph's input node for the .etlt header: --input-name when it names one, else the only one."""
    from taostream.converter.uff.reader import load_uff  # lazy: CLI start-up

    names = [node.id for node in load_uff(data, source=str(path)).inputs()]
    if requested:
        if requested not in names:
            raise EtltError(f"{path}: --input-name {requested}: the UFF graph has no such input; "
                            f"its inputs are {', '.join(names) or 'none'}")
        return requested
    if len(names) != 1:
        raise EtltError(f"{path}: the UFF graph has {len(names)} inputs; name one with --input-name")
    return names[0]


def run_encode(args) -> int:
    key = resolve_key(args)
    path = Path(args.model)
    check_output_file(args.output, force=args.force, inputs=(path,))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read the model ({exc.strerror})") from None
    fmt = etlt.detect_payload_format(data)
    if fmt is None:
        raise ModelFormatError(f"{path}: not an ONNX or UFF model (already an .etlt? use `taostream decode`)")
    if fmt == etlt.UFF:
        input_name = _uff_input_name(data, path, args.input_name)
    else:
        if args.input_name:
            raise TaostreamError(f"{path}: --input-name is for UFF models; an ONNX .etlt header has no input name, "
                                 "leave it out")
        require_complete_onnx(data, path)
        input_name = None
    blob = etlt.encode_etlt_bytes(data, key, input_name=input_name)
    atomic_write_bytes(args.output, blob)
    print(f"wrote {args.output} ({fmt.upper()} payload, {len(blob)} bytes)")
    return 0


def run_inspect(args) -> int:
    from taostream.converter.model.inspection import format_report, inspect_model  # lazy: CLI start-up

    key = _model_key(args, args.model)
    report = inspect_model(open_model(args.model, key))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(format_report(report))
    return 0
