"""Shared pieces of the plugin host tests: the host library built with ASan + UBSan, once per test
session for every file that runs it (tests/test_plugin_host.py runs `plugins check` with it,
tests/test_plugin_device_emulation.py the device emulations): a sanitized build costs minutes on CI's
two cores, and the two files built the very same configuration into two folders before."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from taostream.converter import native_build
from taostream.plugins import host as plugin_host

SANITIZED_BUILD_DIR = native_build.REPO_ROOT / "build-plugins-sanitize"


def sanitized_plugin_host_env() -> dict[str, str]:
    """The environment of a process that loads the sanitized host library: the ASan/UBSan runtimes
    preloaded, leaks not checked (CPython's are not ours) and $TAOSTREAM_PLUGINS_HOST_LIBRARY naming
    the library (built here first, or brought up to date). Skips where g++ has no such runtimes."""
    compiler = shutil.which("g++")
    runtimes = [subprocess.run([compiler, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
                for name in ("libasan.so", "libubsan.so")] if compiler else []
    if not runtimes or not all(Path(r).is_absolute() and Path(r).is_file() for r in runtimes):
        pytest.skip("g++ with the ASan/UBSan runtimes builds the sanitized library")
    with native_build.build_folder_lock(SANITIZED_BUILD_DIR):  # another pytest-xdist worker may build it now
        native_build.configure(SANITIZED_BUILD_DIR, sanitize=True, build_type="RelWithDebInfo",
                               cmake_args=("-DTAOSTREAM_BUILD_PARSERS=OFF",))
        native_build.build_targets(SANITIZED_BUILD_DIR, (plugin_host.TARGET,))
    return dict(os.environ, LD_PRELOAD=" ".join(runtimes), ASAN_OPTIONS="detect_leaks=0",
                **{plugin_host.LIBRARY_ENV: str(SANITIZED_BUILD_DIR / "plugins" / plugin_host.LIBRARY_NAME)})
