"""Typed errors a user can cause. The message names the file, the field and the fix; the CLI
prints it as one line and exits non-zero."""

from __future__ import annotations

import errno
import importlib
import logging
import sys


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
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(package, extra, purpose) from exc


# The fix for an OSError a user causes (a wrong path, an unwritable place), by errno.
_OS_ERROR_FIXES = {
    errno.ENOENT: "no such file or folder; check the path",
    errno.EISDIR: "is a folder; give a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EEXIST: "already exists; choose another name or pass --force",
    errno.EACCES: "permission denied; choose a place you may read (inputs) or write (outputs)",
    errno.EPERM: "operation not permitted; choose a place you may read (inputs) or write (outputs)",
    errno.EROFS: "read-only file system; choose a writable place for the output",
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    errno.ELOOP: "too many symbolic links; check the path",
}


def os_error_line(exc: OSError) -> str:
    """An OSError as one line: the path(s), what is wrong, the fix."""
    fix = _OS_ERROR_FIXES.get(exc.errno) or exc.strerror or str(exc)
    names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    return f"{' -> '.join(names)}: {fix}" if names else fix


def _boundary_line(exc: BaseException) -> str:
    """The one line for an error that escaped the commands' own checks (the safety net)."""
    if isinstance(exc, OSError):
        return os_error_line(exc)
    if isinstance(exc, UnicodeError):
        return f"an input file is not UTF-8 text ({exc}); save it as UTF-8"
    # A ValueError here means a command did not check an input (or a bug): say so, without a traceback.
    return (f"{exc} (an input taostream did not check: rerun with -v to see where; "
            "report it if the inputs are right)")


def stale_install_line(exc: ModuleNotFoundError) -> str | None:
    """The one line for a taostream module missing from the installed package: an editable install
    made before the checkout gained that package (`git pull` without reinstalling). None for any other
    missing module (an optional dependency's own message says which extra to install)."""
    if not (exc.name or "").startswith("taostream."):
        return None
    return (f"this taostream install has no module {exc.name}: the checkout changed since it was installed; "
            'reinstall it (pip install -e ".[dev,triton]" in the checkout)')


def exit_code_of(entry_point, *args) -> int:
    """Run an entry point; a TaostreamError becomes one line on stderr (no traceback) and its exit
    code, as every taostream command reports user errors. OSError, UnicodeError and ValueError that
    escape the commands' own checks also become one line (exit 2); -v logs their traceback."""
    try:
        return int(entry_point(*args) or 0)
    except TaostreamError as exc:
        print(f"taostream: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        line = stale_install_line(exc)
        if line is None:
            raise
        print(f"taostream: error: {line}", file=sys.stderr)
        return TaostreamError.exit_code
    except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
        logging.getLogger("taostream").info("details of the error below", exc_info=exc)
        print(f"taostream: error: {_boundary_line(exc)}", file=sys.stderr)
        return TaostreamError.exit_code
