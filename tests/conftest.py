"""Shared pytest fixtures: where the real NVIDIA data lives, and temporary outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TAOSTREAM_SHARED", REPO_ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"

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
