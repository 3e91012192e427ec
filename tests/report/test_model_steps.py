"""The Model section shows the potential stage's ease model; the steps are told in words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gravity.cli.stage_report import stage_report
from gravity.potential.model import describe, fit_potential
from gravity.potential.options import PotentialOptions
from gravity.report.options import ReportOptions
from gravity.report.steps import step_sentence
from tests.report.conftest import RunFolder

CSV_RTOL = 1e-9
"""The report's CSV writer keeps 10 significant digits."""


def test_steps_in_words() -> None:
    step = {
        "name": "panel: sample",
        "rows_in": 50_000,
        "rows_out": 37_655,
        "removed": {"years": 12_345, "domestic": 0},
        "added": {},
    }
    assert (
        step_sentence(step) == "50,000 rows in, 37,655 out: 12,345 rows outside the chosen years."
    )
    assert step_sentence({"rows_in": 10, "rows_out": 10, "removed": {}}) == (
        "Nothing changed (10 rows)."
    )
    unknown = step_sentence({"rows_in": 5, "rows_out": 4, "removed": {"some_new_reason": 1}})
    assert unknown == "5 rows in, 4 out: 1 some new reason."
    separated = step_sentence({"rows_in": 9, "rows_out": 7, "removed": {"cells_separated": 2}})
    assert "cells_separated" not in separated and "cannot fit" in separated


def test_model_section_shows_the_ease_model_of_the_potential_stage(run: RunFolder) -> None:
    options = PotentialOptions(horizon=2, window=3)
    summary = describe(fit_potential(run.panel, options))
    assert summary["ease_coefficients"], "the synthetic world's potential has ease terms"
    (run.output / "potential" / "summary.json").write_text(json.dumps(summary), "utf-8")
    (run.output / "fit" / "coefficients.csv").unlink()
    paths = stage_report(ReportOptions(exporter="XAA", formats=["html", "csv"]), run.output)
    html = paths["html"].read_text(encoding="utf-8")
    model = html[html.index('id="model"') : html.index('id="method"')]
    assert "Trade costs in the export-potential model" in model
    assert "No regression results" not in model
    table = pd.read_csv(run.output / "report" / "csv" / "ease_coefficients.csv")
    expected = summary["ease_coefficients"]
    assert table["Term"].tolist() == list(expected)
    np.testing.assert_allclose(table["Estimate"], list(expected.values()), rtol=CSV_RTOL)
    steps = pd.read_csv(run.output / "report" / "csv" / "steps.csv")
    assert "What happened" in steps.columns
