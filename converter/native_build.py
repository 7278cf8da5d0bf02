"""The project's CMake driver: configure a build folder and build targets of the root
CMakeLists.txt (parsers/ and plugins/) in a checkout, or of parsers/ alone in an installed package.

It lives in converter, the lowest layer, because both converter.plugin_host (the plugins' host
library) and parsers.build (the bbox parser library, its harness, the Jetson cross build) build with
it, and converter may not import parsers (tests/test_import_layers.py). parsers.build re-exports it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

from taostream.converter.errors import TaostreamError

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout, or the installed taostream package
PARSERS_DIR = REPO_ROOT / "parsers"
# A checkout builds from the root CMakeLists.txt; an installed package from parsers/ alone.
SOURCE_DIR = REPO_ROOT if (REPO_ROOT / "CMakeLists.txt").is_file() and PARSERS_DIR.is_dir() else PARSERS_DIR
# A checkout builds into its build/ folder; an installed package into the user's cache, never
# into site-packages.
DEFAULT_BUILD_DIR = (
    REPO_ROOT / "build"
    if SOURCE_DIR == REPO_ROOT
    else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "taostream" / "parsers-build"
)


class NativeBuildError(TaostreamError):
    """CMake is missing or a native library (parser library, plugin host library) failed to build."""


LOCK_NAME = ".taostream-build.lock"  # in each build folder: who configures or builds it now
_LOCK_GUARD = threading.RLock()  # one build at a time per process; a thread's nested locks re-enter
_HELD: dict[Path, int] = {}  # build folder -> how deep this process holds its lock


@contextlib.contextmanager
def build_folder_lock(build_dir: Path) -> Iterator[None]:
    """Holds ``build_dir``'s lock (an exclusive fcntl.flock on its LOCK_NAME file) while CMake configures
    or builds it: two processes (two pytest-xdist workers, two `taostream bundle` runs) building one
    folder at once corrupt it, so the second waits for the first, then finds its targets up to date.
    Re-entrant in a process (configure inside build_targets inside a caller's own lock); the kernel
    drops a dead process's lock."""
    build_dir = Path(build_dir).resolve()
    with _LOCK_GUARD:
        if build_dir in _HELD:
            _HELD[build_dir] += 1
            try:
                yield
            finally:
                _HELD[build_dir] -= 1
            return
        build_dir.mkdir(parents=True, exist_ok=True)
        with open(build_dir / LOCK_NAME, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            _HELD[build_dir] = 1
            try:
                yield
            finally:
                del _HELD[build_dir]
                fcntl.flock(handle, fcntl.LOCK_UN)


def run_build_command(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise NativeBuildError(f"{what} failed ({' '.join(command)}):\n{tail}")


def configure(build_dir: Path, *, sanitize: bool = False, build_type: str = "Release",
              cmake_args: tuple[str, ...] = ()) -> None:
    """Runs cmake's configure step unless ``build_dir`` already has a cache."""
    cmake = shutil.which("cmake")
    if cmake is None:
        raise NativeBuildError("cmake not found on PATH: install CMake >= 3.18 to build the parsers")
    build_dir = Path(build_dir)
    with build_folder_lock(build_dir):
        if (build_dir / "CMakeCache.txt").is_file() and not cmake_args:
            return
        run_build_command([cmake, "-S", str(SOURCE_DIR), "-B", str(build_dir), f"-DCMAKE_BUILD_TYPE={build_type}",
                           f"-DTAOSTREAM_SANITIZE={'ON' if sanitize else 'OFF'}", *cmake_args], "cmake configure")


def build_targets(build_dir: Path, targets: tuple[str, ...], *, sanitize: bool = False,
                  build_type: str = "Release", jobs: int = 2) -> None:
    """Configures ``build_dir`` (once) and builds ``targets`` in it, holding its build_folder_lock."""
    with build_folder_lock(build_dir):
        configure(build_dir, sanitize=sanitize, build_type=build_type)
        command = [shutil.which("cmake") or "cmake", "--build", str(build_dir), "-j", str(jobs)]
        for target in targets:
            command += ["--target", target]
        run_build_command(command, "cmake build")


_UP_TO_DATE: set[tuple[Path, tuple[str, ...]]] = set()  # (build folder, targets) already refreshed here


def bring_up_to_date(build_dir: Path, targets: tuple[str, ...]) -> None:
    """An incremental `cmake --build` of ``targets`` in an EXISTING build folder, once per process:
    a checkout updated after its last build must not serve or ship the old libraries (ctypes keeps a
    library loaded from a path, so this must run before the first load). No build folder or no cmake:
    nothing to do. Another process building the folder now is waited for (build_folder_lock), so the
    library is never read half-linked."""
    build_dir = Path(build_dir).resolve()
    key = (build_dir, tuple(targets))
    if key in _UP_TO_DATE or not (build_dir / "CMakeCache.txt").is_file() or shutil.which("cmake") is None:
        return
    _UP_TO_DATE.add(key)
    build_targets(build_dir, key[1])
