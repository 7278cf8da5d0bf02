"""`taostream sample`: write a synthetic TAO sample (model.etlt, spec, labels, calibration cache)."""

from __future__ import annotations

import argparse

from taostream.converter.keys import SAMPLE_KEY, add_key_arguments, resolve_key
from taostream.converter.registry import network_names


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="write a synthetic TAO model (random weights) with its spec, labels and calibration cache",
        description=(
            "Write a folder with a synthetic model in the exact layout of a TAO export of NETWORK "
            "(model.etlt, spec.txt, labels.txt, cal.bin, README.md). The weights are random: use it to "
            f"try the tools and as test input. Networks: {', '.join(network_names())} "
            "(TAO/TLT spellings such as yolov3 or frcnn work too). The .etlt is encrypted with "
            f"NVIDIA's public key {SAMPLE_KEY} unless --key/--key-file/$TAOSTREAM_KEY gives another."
        ),
    )
    parser.add_argument("--network", required=True, metavar="NET", help="network to make a sample of")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to create")
    parser.add_argument("--force", action="store_true", help="replace DIR if it exists")
    add_key_arguments(parser, required=False)
    parser.set_defaults(func=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    from taostream.converter.samples.write import write_sample  # lazy: CLI start-up (it loads onnx)

    key = resolve_key(args, required=False) or SAMPLE_KEY
    info = write_sample(args.network, args.output, key=key, force=args.force)
    key_note = f"public sample key {SAMPLE_KEY}" if key == SAMPLE_KEY else "the key you gave"
    print(f"wrote {info.directory} ({info.network}, SYNTHETIC random weights; .etlt encrypted with {key_note})")
    print(f"  input:   {info.input_name} {list(info.input_shape)}")
    print(f"  outputs: {', '.join(info.output_names)}")
    print(f"  plugins: {', '.join(info.plugins) or 'none'}")
    print(f"  files:   {', '.join(sorted(p.name for p in info.directory.iterdir()))}")
    return 0
