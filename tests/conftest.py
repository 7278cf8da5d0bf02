"""Shared pytest fixtures: where the real NVIDIA data lives, and temporary outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TAOSTREAM_SHARED", REPO_ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"

# `-n auto` (pyproject.toml's addopts) runs this many pytest-xdist workers: one per CPU this process may
# use, at most 8. CI's two cores get 2; beyond 8 the longest test files (each stays on one worker under
# --dist loadfile) bound the wall time, while every worker adds its own Triton servers, ONNX Runtime
# thread pools and C++ builds. $PYTEST_XDIST_AUTO_NUM_WORKERS still decides where set; `-n 0` runs serially.
MAX_AUTO_WORKERS = 8


def pytest_xdist_auto_num_workers(config):
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)  # Linux only
    return max(1, min(usable, MAX_AUTO_WORKERS))


# Real NVIDIA .etlt files: name -> (key, input name, (C, H, W))
REAL_ETLT = {
    "facemask_detectnet_v2_resnet18.etlt": ("tlt_encode", "input_1", (3, 544, 960)),
    "lpd_usa_detectnet_v2_pruned.etlt": ("nvidia_tlt", "input_1", (3, 480, 640)),
    "lpd_ccpd_detectnet_v2_pruned.etlt": ("nvidia_tlt", "input_1", (3, 1168, 720)),
}


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"the shared fixtures are missing: expected {FIXTURES} (set TAOSTREAM_SHARED)")
    return FIXTURES


@pytest.fixture(scope="session")
def models_dir(fixtures_dir) -> Path:
    return fixtures_dir / "models"
