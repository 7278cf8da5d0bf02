"""Atomic file and directory writes: a failure never leaves a half-written result behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from taostream.converter.errors import TaostreamError


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


def _probe_writable(path: Path, option: str) -> None:
    """Refuse ``path`` as an output when its nearest existing ancestor is a file or cannot be written
    (probed by creating and removing a temporary folder there: permission bits alone miss read-only
    and immutable file systems, and root)."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise TaostreamError(f"{path}: {ancestor} is a file, not a folder; choose another {option}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".taostream-probe.", dir=ancestor))
    except OSError as exc:
        raise TaostreamError(f"{path}: cannot write in {ancestor} ({exc.strerror}); "
                             f"choose a writable place for {option}") from None


def check_input_file(path: str | os.PathLike, option: str, what: str) -> Path:
    """Refuse a missing input file, or a folder given for one: ``option`` takes ``what``."""
    path = Path(path)
    if path.is_dir():
        raise TaostreamError(f"{path}: is a folder; {option} takes {what}")
    if not path.exists():
        raise TaostreamError(f"{path}: no such file; check the path given to {option} ({what})")
    return path


def check_writable_folder(path: str | os.PathLike, option: str) -> Path:
    """Refuse, before any work, a folder that files are to be written into (created if absent) when it
    is a file or lies where nothing can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise TaostreamError(f"{path}: is a file, not a folder; give {option} a folder")
    _probe_writable(path / "probe", option)
    return path


def _same_or_inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output_file(path: str | os.PathLike, *, force: bool = False, option: str = "-o",
                      inputs: tuple = ()) -> Path:
    """Refuse, before any work, an output file that cannot or must not be written: a folder, an
    existing file without ``force``, one of the ``inputs``, or a place that is not writable."""
    path = Path(path)
    if path.is_dir():
        raise TaostreamError(f"{path}: is a folder; give {option} a file name")
    absolute = Path(os.path.abspath(path))
    for source in inputs:
        if source is not None and Path(os.path.abspath(source)) == absolute:
            raise TaostreamError(f"{path}: {option} would overwrite the input {source}; choose another {option}")
    if path.exists() and not force:
        raise TaostreamError(f"{path}: already exists; choose another {option} or pass --force to replace it")
    _probe_writable(path, option)
    return path


def check_output_folder(path: str | os.PathLike, *, force: bool = False, option: str = "-o",
                        inputs: tuple = ()) -> Path:
    """Refuse, before any work, an output folder that cannot or must not be (re)placed: the current
    folder or one holding it, a file, an existing folder without ``force``, one holding an input
    (``force`` would delete it), or a place that is not writable."""
    absolute = Path(os.path.abspath(path))
    if _same_or_inside(Path.cwd(), absolute):
        raise TaostreamError(f"{path}: is the current folder or holds it; give {option} a new folder's name")
    if absolute.exists() and not absolute.is_dir():
        raise TaostreamError(f"{path}: is a file, not a folder; give {option} a folder's name "
                             "(--force replaces folders only)")
    if absolute.exists() and not force:
        raise TaostreamError(f"{path}: already exists; choose another output folder or pass --force")
    for source in inputs:
        if source is not None and _same_or_inside(Path(os.path.abspath(source)), absolute):
            raise TaostreamError(f"{path}: holds the input {source}, which replacing it would delete; "
                                 f"choose another {option}")
    _probe_writable(Path(path), option)
    return absolute


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False, inputs: tuple = ()):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    ``path`` is checked first (check_output_folder). The folder gets the mode the user's umask gives a
    new folder (mkdtemp's 0700 would lock out a container running as another user). On any exception
    the temporary folder is removed and ``path`` is untouched.
    """
    path = check_output_folder(path, force=overwrite, inputs=inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, shared_directory_mode())
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
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
