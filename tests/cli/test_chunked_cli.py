"""``gravity potential`` in product chunks: the contract files, the manifest, the CSV limit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gravity.cli.main import main

# the per-product and joint PPML fits agree to the IRLS tolerance (see
# tests/potential/test_chunked.py, where the same comparison is made column by column)
IRLS_RTOL = 1e-6


def write_config(tmp_path: Path, output: str, potential: str) -> Path:
    text = f"""\
output: {output}
data:
  synthetic: {{folder: world, level: product, n_countries: 10, n_products: 12, n_years: 5,
               seed: 7}}
sample:
  exclude_domestic: true
relatedness: {{}}
potential: {potential}
"""
    path = tmp_path / f"{output}.yaml"
    path.write_text(text)
    return path


def test_chunked_potential_writes_the_contract(tmp_path: Path) -> None:
    plain = write_config(tmp_path, "plain", "{horizon: 1, window: 2}")
    chunks = write_config(
        tmp_path,
        "chunked",
        "{horizon: 1, window: 2, chunks: {products: 5, csv_max_rows: 10, progress: false}}",
    )
    assert main(["potential", str(plain), "--quiet"]) == 0
    assert main(["potential", str(chunks), "--quiet"]) == 0
    want = pd.read_parquet(tmp_path / "plain" / "potential" / "opportunities.parquet")
    got = pd.read_parquet(tmp_path / "chunked" / "potential" / "opportunities.parquet")
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got[["exporter", "rank"]], want[["exporter", "rank"]])
    np.testing.assert_allclose(got["potential"], want["potential"], rtol=IRLS_RTOL)
    # the CSV is skipped above csv_max_rows, and the manifest says so
    assert not (tmp_path / "chunked" / "potential" / "opportunities.csv").exists()
    manifest = json.loads((tmp_path / "chunked" / "manifest.json").read_text())
    step = next(s for s in manifest["steps"] if s["name"] == "potential")
    assert step["counts"]["chunks"] == 3
    assert any("opportunities.csv skipped" in note for note in step["notes"])
    summary = json.loads((tmp_path / "chunked" / "potential" / "summary.json").read_text())
    assert summary["chunks"]["chunks"] == 3
    assert summary["rows"] == len(got)
    assert summary["counts"]["supply_observed"] > 0


def test_chunked_forecast_potential_writes_the_contract(tmp_path: Path) -> None:
    """``model: forecast`` in chunks: the unchunked forecast's table and a manifest record."""
    forecast = (
        "model: forecast, learner: {max_iter: 10, min_samples_leaf: 20}, horizon: 1, window: 2"
    )
    plain = write_config(tmp_path, "plain", f"{{{forecast}}}")
    chunks = write_config(
        tmp_path, "chunked", f"{{{forecast}, chunks: {{products: 5, progress: false}}}}"
    )
    assert main(["potential", str(plain), "--quiet"]) == 0
    assert main(["potential", str(chunks), "--quiet"]) == 0
    want = pd.read_parquet(tmp_path / "plain" / "potential" / "opportunities.parquet")
    got = pd.read_parquet(tmp_path / "chunked" / "potential" / "opportunities.parquet")
    assert list(got.columns) == list(want.columns)
    # the same training sample (this world is below every cap): the same forecast, exactly
    # (tests/potential/test_chunked_forecast.py compares every column)
    columns = ["exporter", "importer", "product", "entry_probability", "potential", "rank"]
    pd.testing.assert_frame_equal(got[columns], want[columns])
    manifest = json.loads((tmp_path / "chunked" / "manifest.json").read_text())
    step = next(s for s in manifest["steps"] if s["name"] == "potential")
    assert step["counts"]["chunks"] == 3
    assert step["counts"]["forecast_training_rows"] > 0
    assert any(note.startswith("new_flow cells: trained on") for note in step["notes"])
    summary = json.loads((tmp_path / "chunked" / "potential" / "summary.json").read_text())
    assert summary["chunks"]["forecast_reused"] is False
    assert summary["chunks"]["forecast_fit_seconds"] >= 0
