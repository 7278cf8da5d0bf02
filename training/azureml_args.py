"""Argument parsing shared by the AzureML entry points: AzureML passes every input as a string
(booleans as "True"/"False", optional inputs left out)."""

from __future__ import annotations

import argparse

from taostream.converter.errors import TaostreamError
from taostream.training.commands import STYLES

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


def parse_bool(text: str | bool | None, name: str = "value") -> bool:
    if isinstance(text, bool):
        return text
    if text is None:
        return False
    lowered = str(text).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise TaostreamError(f"input '{name}': '{text}' is not a boolean; use true or false")


def optional_int(text: str | int | None, name: str) -> int | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        raise TaostreamError(f"input '{name}': '{text}' is not a whole number") from None


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--style", choices=STYLES, default="container",
                        help="how to spell the TAO command: 'container' (default; the job runs inside a "
                             "TAO container), 'tao'/'tao5' (launcher), 'tlt2'/'tlt3'")
    parser.add_argument("--dry-run", action="store_true",
                        help="prepare everything (substituted spec, folders) and print the command, masked, "
                             "without running it")


def string_inputs(parser: argparse.ArgumentParser, names: tuple[str, ...], required: set[str]) -> None:
    for name in names:
        parser.add_argument(f"--{name}", required=name in required, default=None, metavar=name.upper())
