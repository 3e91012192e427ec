"""Shared test fixtures: where the public reference data live, skipping cleanly when absent."""

from __future__ import annotations

import os

# One BLAS thread: on the 2-core CI machine, OpenBLAS threads fighting the test processes made
# small dense fits 10-20x slower. Set before numpy is imported by any test module.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the project root; GRAVITY_SHARED_DATA overrides it.
SHARED_DATA = Path(os.environ.get("GRAVITY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data, or skip the calling test when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"reference data {relative} not available in {SHARED_DATA}")
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder, or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} not available")
    return SHARED_DATA
