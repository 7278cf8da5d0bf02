"""Atomic file and directory writes: a failure never leaves a half-written result behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, mode: int = 0o644) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def current_umask() -> int:
    """The process umask (os.umask can only be read by setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shared_directory_mode() -> int:
    """The mode ``mkdir`` gives a new folder under the user's umask (0755 for the usual 022): what a
    DeepStream or Triton container running as another user needs to read a bundle or results."""
    return 0o777 & ~current_umask()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    The folder gets the mode the user's umask gives a new folder (mkdtemp's 0700 would lock out a
    container running as another user). On any exception the temporary folder is removed and
    ``path`` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        from taostream.converter.errors import TaostreamError

        raise TaostreamError(f"{path}: already exists; choose another output folder or pass --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, shared_directory_mode())
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks (models can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
