"""The "How accurate is this?" section against hand-made backtest metrics in both layouts.

The expected sentences are computed by hand from the small frames below: means over origins
(or splits), the best naive rule per task, exp() of log errors, coverage against the nominal.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gravity.cli.stage_report import stage_report
from gravity.report.accuracy import accuracy
from gravity.report.options import ReportOptions
from tests.report.conftest import RunFolder

FACTOR_DIGITS = 2
"""The sentences print error factors with two decimals."""


def _forecast_layout() -> pd.DataFrame:
    rows = []
    # new_flow, h = 3: the forecast hits 40% of its top 100, lagged presence 55%: a loss
    for model, hit in (("forecast", 0.40), ("lagged_presence", 0.55), ("itc", 0.70)):
        rows.append(("new_flow", 3, "mean", model, "precision_at_100", hit))
        rows.append(("new_flow", 3, "mean", model, "precision_at_1000", hit / 2))
        rows.append(("new_flow", 3, "2012", model, "precision_at_100", 0.0))  # not the mean
    # level, h = 3: median |log error| 0.2 vs persistence 0.3: a win; coverage 0.74 vs 0.8
    for model, err in (("forecast", 0.2), ("persistence", 0.3), ("persistence_growth", 0.35)):
        rows.append(("level", 3, "mean", model, "median_abs_log_error", err))
    rows.append(("level", 3, "mean", "forecast", "coverage", 0.74))
    return pd.DataFrame(
        rows, columns=["task", "horizon", "origin", "model", "metric", "value"]
    ).assign(n=100, positives=10)


def test_forecast_layout_wins_and_losses_in_words() -> None:
    result = accuracy(_forecast_layout(), 0.8)
    flow, level = result.sentences
    # the itc baseline is better still, but it is a model, not a naive rule
    assert "of the model's top 100 candidates, 40% happened" in flow
    assert "the best naive rule (lagged presence), 55%" in flow
    assert flow.endswith("does NOT beat it.")
    assert f"a factor of {math.exp(0.2):.{FACTOR_DIGITS}f}" in level
    assert f"against {math.exp(0.3):.{FACTOR_DIGITS}f} for the best naive rule (persistence)" in (
        level
    )
    assert "beats it." in level and "NOT" not in level
    assert "meant to hold 80% of outcomes, held 74%" in level
    table = result.table.frame
    assert table["verdict"].tolist() == ["does not beat", "beats"]
    assert table["horizon"].tolist() == [3, 3]


def test_potential_layout_averages_splits() -> None:
    metrics = pd.DataFrame(
        [
            ("new_flow", "combined", "precision_at_100", 0.30, 0),
            ("new_flow", "combined", "precision_at_100", 0.20, 1),
            ("new_flow", "persistence", "precision_at_100", 0.10, 0),
            ("new_flow", "persistence", "precision_at_100", 0.20, 1),
            ("level", "gravity", "mae_log_level", 0.9, 0),
            ("level", "persistence", "mae_log_level", 0.8, 0),
            ("level", "gravity", "interval_coverage", 0.95, 0),
        ],
        columns=["target", "model", "metric", "value", "split"],
    )
    flow, level = accuracy(metrics, 0.9).sentences
    assert "top 100 candidates, 25% happened" in flow and "persistence), 15%" in flow
    assert flow.endswith("beats it.") and "NOT" not in flow
    assert level.split(";")[1].startswith(" the model does NOT beat it.")
    assert "meant to hold 90% of outcomes, held 95%" in level


def test_the_page_says_how_accurate_it_is(run: RunFolder) -> None:
    paths = stage_report(ReportOptions(exporter="XAA", formats=["html", "csv"]), run.output)
    html = paths["html"].read_text(encoding="utf-8")
    assert 'id="accuracy"' in html and "How accurate is this?" in html
    assert "of the model&#x27;s top 100 candidates" in html or "model's top 100" in html
    table = pd.read_csv(run.output / "report" / "csv" / "accuracy.csv")
    assert set(table["Verdict"]) <= {"beats", "does not beat"}


def test_without_a_backtest_the_section_says_so_in_one_line(run: RunFolder) -> None:
    (run.output / "backtest" / "metrics.csv").unlink()
    paths = stage_report(ReportOptions(exporter="XAA", formats=["html"]), run.output)
    html = paths["html"].read_text(encoding="utf-8")
    section = html[html.index('id="accuracy"') : html.index('id="profile"')]
    assert "Not available: no backtest was run" in section


@pytest.mark.parametrize("column", ["target", "task"])
def test_either_layout_is_accepted_by_the_reader(run: RunFolder, column: str) -> None:
    from gravity.report.data import load_inputs

    path = run.output / "backtest" / "metrics.csv"
    frame = pd.read_csv(path)
    frame = frame.rename(columns={"target": column})
    frame.to_csv(path, index=False)
    assert load_inputs(run.output).metrics is not None


def test_a_forecast_backtest_renders(run: RunFolder) -> None:
    _forecast_layout().to_csv(run.output / "backtest" / "metrics.csv", index=False)
    paths = stage_report(ReportOptions(exporter="XAA", formats=["html", "csv"]), run.output)
    html = paths["html"].read_text(encoding="utf-8")
    assert "does NOT beat it." in html
    backtest = pd.read_csv(run.output / "report" / "csv" / "backtest.csv")
    assert {"Years ahead", "Model", "Precision@100"} <= set(backtest.columns)


def test_forecast_layout_with_the_legacy_columns() -> None:
    """The forecast backtest also writes target (= task) and split ("mean" on the mean rows)."""
    from gravity.report.tables import metrics_table

    plain = _forecast_layout()
    both = plain.assign(
        target=plain["task"],
        split=[
            "mean" if o == "mean" else f"train<={o},predict={int(o) + int(h)}"
            for o, h in zip(plain["origin"], plain["horizon"], strict=True)
        ],
    )
    assert accuracy(both, 0.8).sentences == accuracy(plain, 0.8).sentences
    table = metrics_table(both)
    assert table.note == "Averaged over 1 out-of-time split(s)."  # the mean rows are not a split
    flow = table.frame[(table.frame["target"] == "new_flow") & (table.frame["model"] == "forecast")]
    # only origin 2012 is a split: its value (0.0), not the mean row's 0.40
    assert flow["precision_at_100"].tolist() == [0.0]
