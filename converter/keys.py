"""Model keys: from --key, --key-file or TAOSTREAM_KEY. A key is a secret: it is never printed,
logged or written anywhere the user did not ask for."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from taostream.converter.errors import KeyMissingError, TaostreamError

SAMPLE_KEY = "nvidia_tlt"  # NVIDIA's public model key: the synthetic samples (and NVIDIA's public models) use it

KEY_ENV = "TAOSTREAM_KEY"
KEY_FLAG = "--key"  # as taostream's commands name it; tao-converter's messages name its own -k (option_names)


def key_options(key_flag: str = KEY_FLAG) -> str:
    """How a message names the ways to give the key, led by the flag of the command that runs."""
    return f"{key_flag}/--key-file/${KEY_ENV}"


def add_key_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    group = parser.add_argument_group("model key (a secret; never printed)")
    group.add_argument("-k", "--key", help=f"the model's encryption key (or use --key-file / ${KEY_ENV})")
    group.add_argument("--key-file", metavar="FILE", help="read the key from the first line of FILE")
    parser.set_defaults(_key_required=required)


def resolve_key(args: argparse.Namespace, required: bool = True, model: str | os.PathLike | None = None,
                key_flag: str = KEY_FLAG) -> str | None:
    """Return the key from --key, then --key-file, then $TAOSTREAM_KEY; ``model`` (the file that needs
    it) is named when none is given; ``key_flag`` is how messages name the key option (-k in tao-converter)."""
    key = getattr(args, "key", None)
    key_file = getattr(args, "key_file", None)
    if key and key_file:
        raise TaostreamError(f"give the model key once: {key_flag} or --key-file, not both")
    if key_file:
        key = read_key_file(key_file)
    if not key:
        key = os.environ.get(KEY_ENV) or None
    if not key and required:
        what = f"{model}: an encrypted .etlt model needs its key" if model else "no model key"
        raise KeyMissingError(
            f"{what}: pass {key_flag} KEY, --key-file FILE or set ${KEY_ENV} "
            "(the key used with `tao export -k`; NVIDIA's public models use nvidia_tlt or tlt_encode)"
        )
    return key


def read_key_file(path: str | os.PathLike) -> str:
    """The first non-empty line of a UTF-8 text file; a byte-order mark (Windows editors) is not part
    of the key. The key itself never appears in a message."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except IsADirectoryError:
        raise TaostreamError(f"{path}: is a folder; --key-file takes the file holding the key") from None
    except FileNotFoundError:
        if not _looks_like_a_path(path):  # perhaps the key itself, typed where its file belongs: not echoed
            raise TaostreamError("--key-file: no such file (its value is not repeated here, in case it is the key "
                                 f"itself); give the path of the file holding the key, or the key with --key or "
                                 f"${KEY_ENV}") from None
        raise TaostreamError(f"{path}: cannot read the key file (No such file or directory)") from None
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot read the key file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TaostreamError(f"{path}: the key file is not UTF-8 text; put the key on its first line as plain "
                             "text") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise TaostreamError(f"{path}: the key file is empty; put the key on its first line")
    if not lines[0].isprintable():
        raise TaostreamError(f"{path}: the key file's first line holds control characters (a binary file?); "
                             "put the key on its first line as plain text")
    return lines[0]


def _looks_like_a_path(value: str | os.PathLike) -> bool:
    """A missing --key-file value that is plainly a path (its folder exists, and it names a folder or
    has a suffix such as key.txt), so naming it reveals no key; a bare word, or a base64 NGC key whose
    '/' leads to no folder, may be the key itself."""
    path = Path(value)
    return path.parent.is_dir() and (path.parent != Path(".") or bool(path.suffix))
