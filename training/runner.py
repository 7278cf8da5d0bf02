"""Run a TAO/TLT command: stream its output line by line (secrets masked) and report clearly when
the launcher or Docker is missing or the tool fails."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from typing import Callable, TextIO

from taostream.converter.errors import TaostreamError
from taostream.training.commands import TaoCommand, mask_secrets

log = logging.getLogger(__name__)

_INSTALL_HINTS = {
    "tao": "install the TAO launcher with `pip install nvidia-tao` (it runs each task in a TAO "
           "Docker container), or use --style container inside a TAO container",
    "tlt": "install the TLT 3.0 launcher with `pip install nvidia-tlt`, or use --style tao",
    "tlt2": "the TLT 2.0 tools (tlt-train, tlt-export, ...) exist only inside the TLT 2.0 container "
            "nvcr.io/nvidia/tlt-streamanalytics:v2.0_py3; run there or use --style tao",
    "container": "the task entrypoints (detectnet_v2, yolo_v4, ...) exist only inside a TAO container; "
                 "run there or use --style tao with the TAO launcher",
}


class TaoToolMissingError(TaostreamError):
    """The launcher, the TLT tool or Docker is not installed."""


class TaoCommandFailedError(TaostreamError):
    """The TAO/TLT tool ran and exited non-zero."""

    def __init__(self, message: str, returncode: int):
        super().__init__(message)
        self.returncode = returncode
        # taostream exits with the tool's own code (a signal as the shell reports it: 128 + N), so
        # scripts and AzureML see what the tool said, not taostream's usage-error 2
        self.exit_code = 128 - returncode if returncode < 0 else returncode if 0 < returncode < 256 else 1


def check_tools(command: TaoCommand, which: Callable[[str], str | None] = shutil.which) -> None:
    """Raise TaoToolMissingError when the executable (or Docker for the launcher styles) is absent."""
    executable = command.argv[0]
    if which(executable) is None:
        hint_key = {"tlt3": "tlt", "tao": "tao", "tao4": "tao", "tao5": "tao"}.get(command.style, command.style)
        raise TaoToolMissingError(
            f"'{executable}' was not found on PATH, so `{command.display()}` cannot run: "
            f"{_INSTALL_HINTS[hint_key]}"
        )
    if command.style in ("tlt3", "tao", "tao4", "tao5") and which("docker") is None:
        raise TaoToolMissingError(
            f"the {executable} launcher runs tasks in Docker containers, but 'docker' was not found on "
            "PATH: install Docker and the NVIDIA Container Toolkit, then log in to nvcr.io"
        )


def run_command(command: TaoCommand, *, cwd: str | None = None, out: TextIO | None = None,
                which: Callable[[str], str | None] = shutil.which, check: bool = True) -> int:
    """Run the command, streaming its merged stdout/stderr to ``out`` with secrets masked.

    Returns the exit code; with ``check`` a non-zero exit raises TaoCommandFailedError.
    """
    out = out or sys.stdout
    check_tools(command, which)
    log.info("running: %s", command.display())
    env = {**os.environ, **command.env}
    try:
        process = subprocess.Popen(
            command.argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
        )
    except OSError as exc:
        raise TaoToolMissingError(f"cannot start `{command.display()}`: {exc.strerror}") from None
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            out.write(mask_secrets(line, command.secrets))
            out.flush()
    returncode = process.wait()
    if returncode != 0 and check:
        raise TaoCommandFailedError(
            f"`{command.display()}` exited with code {returncode}; its output is above", returncode)
    return returncode
