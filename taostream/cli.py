"""The `taostream` command line: one subcommand per job, each registered by its own module.

Each module in COMMAND_MODULES defines ``register(subparsers)``, which adds its subcommands and sets
``func`` on them (``func(args) -> int``). Errors a user can cause are ``TaostreamError``: printed as
one line, exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from taostream import __version__
from taostream.converter.errors import TaostreamError, exit_code_of, stale_install_line

COMMAND_MODULES = (
    "taostream.converter.cli.model",  # decode, encode, inspect
    "taostream.converter.cli.sample",  # sample
    "taostream.converter.cli.modernize",  # modernize, calibration
    "taostream.converter.cli.convert",  # convert (engine building)
    "taostream.converter.cli.plugins",  # plugins check
    "taostream.deepstream_configs.cli",  # bundle, check, labels
    "taostream.inference.cli",  # infer, serve
    "taostream.training.cli",  # dataset, tao command wrappers, spec tools
)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line naming the option and where the help is (exit 2),
    like every other taostream error, instead of a usage block. Subcommand parsers inherit it."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments:") and {"-v", "--verbose"} & set(message.split()[2:]):
            # README: "-v adds the traceback"; it is taostream's own option, so it goes before the command
            self.exit(2, f"{self.prog}: error: {message}; -v is an option of taostream itself: put it before the "
                         "command (taostream -v COMMAND ...)\n")
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="taostream",
        description="Take an NVIDIA TAO/TLT model (.etlt) to a working DeepStream or Triton deployment.",
    )
    parser.add_argument("--version", action="version", version=f"taostream {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A command module not present in this build is left out; any other import
            # failure inside a present module is a bug and must surface.
            if exc.name == module_name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C while the command modules are still importing (a second or more) is an interruption too, not a traceback
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("taostream: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # a command module importing a package the install lacks
        line = stale_install_line(exc)
        if line is None:
            raise
        print(f"taostream: error: {line}", file=sys.stderr)
        return TaostreamError.exit_code


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="taostream: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return exit_code_of(args.func, args)
