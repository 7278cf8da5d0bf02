"""`taostream migrate`: old DeepStream configs (5.0 to 8.0) and their TAO models to current bundles."""

from __future__ import annotations

import argparse
from pathlib import Path

from taostream.converter.fileio import check_output_folder
from taostream.converter.keys import add_key_arguments, resolve_key
from taostream.converter.registry import network_names
from taostream.deepstream_configs.nvinfer import DEEPSTREAM_VERSIONS, DEFAULT_DEEPSTREAM


def register_migrate(subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate", help="turn an old DeepStream 5-8 nvinfer or deepstream-app config (and its TAO models) into bundles",
        description="Read an nvinfer config or a deepstream-app config of DeepStream 5.0 to 8.0, find each GIE's model "
                    "(tlt-encoded-model, onnx-file, uff-file; relative to the config's folder), decode it with the "
                    "config's tlt-model-key or the key given, translate/modernize it for the target, and write a bundle "
                    "per model carrying the config's labels, dims, preprocessing, thresholds and clustering; for a "
                    "deepstream-app config also the app config (sources, tracker, sinks, secondary GIEs) in the target's "
                    "keys. The report (stdout and OUT/migration.json) lists every change as old key -> new key and "
                    "what could not be carried. The key is never written.")
    parser.add_argument("config", type=Path, metavar="CONFIG", help="the old nvinfer or deepstream-app config")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="folder to create: the bundle (nvinfer config) or the app folder (deepstream-app config)")
    parser.add_argument("--deepstream", default=DEFAULT_DEEPSTREAM, help=f"target DeepStream ({', '.join(DEEPSTREAM_VERSIONS)})")
    parser.add_argument("--platform", choices=("x86", "jetson"), default="x86")
    parser.add_argument("--precision", choices=("fp32", "fp16", "int8"),
                        help="default: the config's network-mode (INT8 uses its int8-calib-file)")
    parser.add_argument("--network", help=f"an nvinfer config's network when neither config nor model tell "
                        f"({', '.join(network_names())})")
    add_key_arguments(parser, required=False)
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.set_defaults(func=_run_migrate)


def _run_migrate(args: argparse.Namespace) -> int:
    from taostream.deepstream_configs.migrate.app import migrate  # lazy: CLI start-up

    check_output_folder(args.output, force=args.force, inputs=(args.config,))  # before decoding any model
    options = _options(args)
    report = migrate(args.config, args.output, options)
    print(report.text(), end="")
    return 0


def _options(args: argparse.Namespace):
    from taostream.deepstream_configs.migrate.nvinfer import MigrateOptions  # lazy: CLI start-up

    return MigrateOptions(deepstream=args.deepstream, platform=args.platform, precision=args.precision,
                          key=resolve_key(args, required=False), network=args.network, force=args.force)
