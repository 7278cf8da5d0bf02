"""Run the real `taostream` command line in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args, env_extra: dict | None = None, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TAOSTREAM_KEY"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "taostream", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """A user error: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("taostream: error:"), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err
