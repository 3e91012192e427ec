"""``gravity backtest`` and ``gravity potential`` with the forecast: files, manifest, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.main import main
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
from gravity.potential.forecast import potential as forecast_module
from gravity.potential.forecast.backtest import PREDICTION_COLUMNS
from tests.potential.forecast.world import simulate

CONFIG = """\
output: out
data:
  trade:
    path: trade.csv
    columns: {{exporter: exporter, importer: importer, year: year, value: value}}
{extra}"""
BACKTEST = """\
backtest:
  tasks: [new_flow, level]
  origins: [2006]
  horizons: [1, 2]
  interval: 0.8
  learner: {max_iter: 40, min_samples_leaf: 20}
  ease_terms: ["log(dist)"]
"""
POTENTIAL = """\
potential:
  model: forecast
  horizon: 2
  window: 3
  interval: 0.8
  ease_terms: ["log(dist)"]
"""


def _config(tmp_path: Path, extra: str) -> Path:
    simulate(n=15, years=range(2000, 2009)).to_csv(tmp_path / "trade.csv", index=False)
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG.format(extra=extra))
    return path


def test_backtest_writes_predictions_metrics_summary_and_cache(tmp_path: Path) -> None:
    config = _config(tmp_path, BACKTEST)
    assert main(["backtest", str(config), "--quiet"]) == 0
    folder = tmp_path / "out" / "backtest"
    pred = pd.read_parquet(folder / "predictions.parquet")
    assert list(pred.columns) == [c for c in PREDICTION_COLUMNS if c != "product"]
    assert set(pred["horizon"]) == {1, 2} and set(pred["origin"]) == {2006}
    metrics = pd.read_csv(folder / "metrics.csv")
    assert list(metrics.columns) == [
        *["task", "horizon", "origin", "model", "metric", "value", "n", "positives"],
        *["target", "split"],
    ]
    assert "mean" in set(metrics["origin"].astype(str))
    summary = (folder / "summary.md").read_text()
    assert "new_flow, h = 1" in summary and "level, h = 2" in summary
    assert list((folder / "cache").glob("forecast-*.joblib"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {"backtest/predictions.parquet", "backtest/metrics.csv", "backtest/summary.md"} <= set(
        manifest["outputs"]
    )


def test_potential_with_the_forecast_model_extends_the_contract(tmp_path: Path) -> None:
    config = _config(tmp_path, POTENTIAL)
    assert main(["potential", str(config), "--quiet"]) == 0
    frame = pd.read_parquet(tmp_path / "out" / "potential" / "opportunities.parquet")
    for column in ("potential", "potential_low", "potential_high", "untapped", "feasibility"):
        assert column in frame.columns
    assert {"entry_probability", "gravity_potential"} <= set(frame.columns)
    assert frame["entry_probability"].between(0, 1).all()


def test_bad_horizon_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "backtest: {horizons: [0]}\n")
    assert main(["backtest", str(config)]) == 1
    err = capsys.readouterr().err
    assert "positive integer or 'next'" in err and "Traceback" not in err


PRODUCT_POTENTIAL = """\
output: out
data:
  trade:
    path: trade.parquet
relatedness: {}
potential:
  model: forecast
  horizon: 2
  window: 3
  exporters: [C00]
  learner: {max_iter: 40, min_samples_leaf: 20}
"""


def test_potential_forecast_gets_each_training_years_own_relatedness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression: the CLI handed the forecast a function that returned the base year's
    # relatedness for every year, so the training years' features were the base year's
    world = generate_world(SyntheticWorldOptions(n_countries=8, n_products=6, n_years=6))
    panel = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer", "product"):
        panel[column] = panel[column].astype(str)
    panel.to_parquet(tmp_path / "trade.parquet", index=False)
    (tmp_path / "run.yaml").write_text(PRODUCT_POTENTIAL)
    seen: dict[str, object] = {}
    real = forecast_module.forecast_potential

    def spy(*args: object, **kwargs: object) -> object:
        seen["relatedness"], seen["shared"] = args[4], kwargs["shared"]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    # the pipeline imports the forecast when it first needs it, from this module
    monkeypatch.setattr(forecast_module, "forecast_potential", spy)
    assert main(["potential", str(tmp_path / "run.yaml"), "--quiet"]) == 0
    base = int(panel["year"].max())
    shared = seen["shared"]
    assert isinstance(shared, dict) and base in shared
    earlier = base - 3
    # every training year's features were computed from that year's rows
    assert set(shared[earlier].frame["year"]) == {earlier}
    assert set(shared[base].frame["year"]) == {base}
