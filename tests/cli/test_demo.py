"""End-to-end smoke test of the demo: `gravity run configs/demo.yaml`, every stage, real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_pipeline_end_to_end(tmp_path: Path) -> None:
    text = (REPO / "configs" / "demo.yaml").read_text()
    text = text.replace("../out/demo", str(tmp_path / "out")).replace(
        "../data/demo", str(tmp_path / "world")
    )
    config = tmp_path / "demo.yaml"
    config.write_text(text)
    assert main(["run", str(config), "--quiet"]) == 0
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    names = [s["name"] for s in manifest["steps"]]
    assert names[0].startswith("panel: synthetic world")
    assert {"potential", "backtest"} <= set(names)
    # every step accounts for its rows; informational counts are kept apart
    for step in manifest["steps"]:
        if step["rows_in"] is not None:
            balance = step["rows_in"] - sum(step["removed"].values()) + sum(step["added"].values())
            assert balance == step["rows_out"], step
    assert "fit: PPML: aggregate_products" in names
    potential = next(s for s in manifest["steps"] if s["name"] == "potential")
    assert "supply_observed" in potential["counts"]
    assert "supply_observed" not in potential["removed"]
    # the aggregate PPML recovers the demo world's true frictions (4 clustered SEs)
    fit = json.loads((out / "fit" / "fit.json").read_text())
    truth = json.loads((out / "panel" / "synthetic_truth.json").read_text())
    for term, key in (
        ("log(dist)", "beta_dist"),
        ("contig", "beta_contig"),
        ("comlang", "beta_lang"),
        ("rta", "beta_rta"),
    ):
        coef = fit["coefficients"][term]
        assert abs(coef["estimate"] - truth[key]) < 4 * coef["std_error"], term
    opportunities = pd.read_parquet(out / "potential" / "opportunities.parquet")
    assert set(opportunities["exporter"]) == {"XAA", "XAB", "XAC"}
    metrics = pd.read_csv(out / "backtest" / "metrics.csv")
    assert list(metrics.columns) == ["target", "model", "metric", "value", "split"]
    assert (out / "relatedness" / "country_product.parquet").is_file()
    page = (out / "report" / "index.html").read_text()
    assert "synthetic" in page.lower()
    assert "report/index.html" in manifest["outputs"]
    # per-stage wall-clock seconds (the demo benchmark reads them)
    stages = ["panel", "fit", "relatedness", "potential", "backtest", "report"]
    assert list(manifest["stage_seconds"]) == stages
    assert all(seconds > 0 for seconds in manifest["stage_seconds"].values())
