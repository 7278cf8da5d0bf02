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


def sample_bundle(root, network: str, *bundle_args, spec: bool = True):
    """`taostream sample --network NETWORK` into ROOT/sample, then `taostream bundle` of it (its spec
    unless ``spec`` is False, key nvidia_tlt, then ``bundle_args``) into ROOT/bundle; returns that folder."""
    result = run_cli("sample", "--network", network, "-o", root / "sample")
    assert result.returncode == 0, result.stderr
    spec_args = ("--spec", root / "sample/spec.txt") if spec else ()
    result = run_cli("bundle", root / "sample/model.etlt", "--network", network, *spec_args, "--key", "nvidia_tlt",
                     *bundle_args, "-o", root / "bundle")
    assert result.returncode == 0, result.stderr
    return root / "bundle"
