"""Model keys: from --key, --key-file or TAOSTREAM_KEY. A key is a secret: it is never printed,
logged or written anywhere the user did not ask for."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from taostream.converter.errors import KeyMissingError, TaostreamError

KEY_ENV = "TAOSTREAM_KEY"


def add_key_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    group = parser.add_argument_group("model key (a secret; never printed)")
    group.add_argument("-k", "--key", help=f"the model's encryption key (or use --key-file / ${KEY_ENV})")
    group.add_argument("--key-file", metavar="FILE", help="read the key from the first line of FILE")
    parser.set_defaults(_key_required=required)


def resolve_key(args: argparse.Namespace, required: bool = True) -> str | None:
    """Return the key from --key, then --key-file, then $TAOSTREAM_KEY."""
    key = getattr(args, "key", None)
    key_file = getattr(args, "key_file", None)
    if key and key_file:
        raise TaostreamError("give the model key once: --key or --key-file, not both")
    if key_file:
        key = read_key_file(key_file)
    if not key:
        key = os.environ.get(KEY_ENV) or None
    if not key and required:
        raise KeyMissingError(
            f"no model key: pass --key KEY, --key-file FILE or set ${KEY_ENV} "
            "(the key used with `tao export -k`; NVIDIA's public models use nvidia_tlt or tlt_encode)"
        )
    return key


def read_key_file(path: str | os.PathLike) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot read the key file ({exc.strerror})") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise TaostreamError(f"{path}: the key file is empty; put the key on its first line")
    return lines[0]
