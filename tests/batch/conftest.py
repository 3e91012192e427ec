"""Shared fixtures of the batch tests: a small synthetic product-level panel on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gravity.batch.layout import JOB_FILES, TEMP_PREFIX
from gravity.batch.options import BatchOptions
from gravity.cli.stage_batch import stage_batch
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world

TWO_WAY = "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year"
DIST_ONLY = "value ~ log(dist) + contig | exporter^year + importer^year"


def small_panel() -> pd.DataFrame:
    """10 countries x 6 products x 6 years, zeros included (540 rows per product)."""
    world = generate_world(SyntheticWorldOptions(n_countries=10, n_products=6, n_years=6))
    frame = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer", "product"):
        frame[column] = frame[column].astype(str)
    return frame


@pytest.fixture(scope="session")
def panel_frame() -> pd.DataFrame:
    return small_panel()


@pytest.fixture(scope="session")
def panel_path(tmp_path_factory: pytest.TempPathFactory, panel_frame: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("panel") / "panel.parquet"
    panel_frame.to_parquet(path, index=False)
    return path


def batch_options(**overrides: Any) -> BatchOptions:
    """All products x 3 rolling 4-year windows x 2 specs = 36 jobs, serial, no progress bar."""
    grid = {
        "products": "all",
        "windows": {"size": 4, "step": 1},
        "specs": [
            {"name": "two-way", "formula": TWO_WAY},
            {"name": "dist-iid", "formula": DIST_ONLY, "vcov": "iid"},
        ],
    }
    grid.update(overrides.pop("grid", {}))
    return BatchOptions.model_validate(
        {"grid": grid, "backend": "serial", "progress": False, **overrides}
    )


@pytest.fixture(scope="session")
def serial_run(tmp_path_factory: pytest.TempPathFactory, panel_path: Path) -> Path:
    """Output folder of the reference run: :func:`batch_options` on the serial backend."""
    output = tmp_path_factory.mktemp("serial")
    summary = stage_batch(batch_options(), panel_path, output, resume=False)
    assert summary.ok, summary.to_text()
    return output


def assert_clean(output: Path) -> None:
    """No temporary names anywhere; each job folder holds exactly the job files."""
    root = output / "batch"
    assert not [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]
    for folder in (root / "jobs").iterdir():
        assert sorted(p.name for p in folder.iterdir()) == sorted(JOB_FILES)
