"""Typed errors a user can cause. The message names the file, the field and the fix; the CLI
prints it as one line and exits non-zero."""

from __future__ import annotations


class TaostreamError(Exception):
    """Base class of every error caused by user input or the environment."""

    exit_code = 2


class EtltError(TaostreamError):
    """The .etlt container is malformed, truncated, or the key is wrong."""


class KeyMissingError(TaostreamError):
    """No model key was given."""


class ModelFormatError(TaostreamError):
    """A model file is not the format it claims (ONNX, UFF)."""


class UnknownNetworkError(TaostreamError):
    """A network name the registry does not know."""


class MissingDependencyError(TaostreamError):
    """An optional dependency (an extra) is not installed."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed; "
            f"install it with: pip install 'taostream[{extra}]'"
        )
        self.package = package
        self.extra = extra


class UnsupportedOpError(TaostreamError):
    """A graph contains an operation taostream cannot translate or replace."""


class SpecError(TaostreamError):
    """A TAO experiment spec or config file is malformed."""


def require(module_name: str, package: str, extra: str, purpose: str):
    """Import an optional module lazily, or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(package, extra, purpose) from exc


def exit_code_of(entry_point, *args) -> int:
    """Run an entry point; a TaostreamError becomes one line on stderr (no traceback) and its exit
    code, as every taostream command reports user errors."""
    import sys

    try:
        return int(entry_point(*args) or 0)
    except TaostreamError as exc:
        print(f"taostream: error: {exc}", file=sys.stderr)
        return exc.exit_code
