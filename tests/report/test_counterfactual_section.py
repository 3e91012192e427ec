"""The report's counterfactual section: shown when counterfactual/countries.csv exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.cli.stage_report import stage_report
from gravity.counterfactual import CounterfactualOptions, solve_counterfactual
from gravity.report.options import ReportOptions


@pytest.fixture(scope="module")
def countries() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    names = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    n = len(names)
    dist = rng.uniform(1, 5, (n, n)) + np.eye(n)
    border = 1 - np.eye(n)
    flows = np.outer(rng.uniform(1, 10, n), rng.uniform(1, 10, n)) / dist * np.exp(-border)
    data = pd.DataFrame(
        {
            "exporter": np.repeat(names, n),
            "importer": np.tile(names, n),
            "year": 2010,
            "value": flows.ravel(),
            "dist": dist.ravel(),
            "border": border.ravel(),
        }
    )
    options = CounterfactualOptions(
        baseline_year=2010,
        sigma=5,
        reference="EEE",
        costs={"regressors": ["log(dist)", "border"]},
        scenarios=[
            {"name": "union", "set": {"border": 0}, "groups": [["AAA", "BBB"]]},
            {"name": "closer", "scale": {"dist": 0.5}},
        ],
    )
    return solve_counterfactual(data, options).countries_frame()


def _chart_data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    assert found is not None
    return dict(json.loads(found.group(1))["charts"])


def test_section_table_and_charts(tmp_path: Path, countries: pd.DataFrame) -> None:
    (tmp_path / "counterfactual").mkdir()
    countries.to_csv(tmp_path / "counterfactual" / "countries.csv", index=False)
    paths = stage_report(ReportOptions(), tmp_path)
    html = paths["html"].read_text(encoding="utf-8")
    assert '<section id="counterfactual">' in html and 'href="#counterfactual"' in html
    charts = _chart_data(html)
    assert {"counterfactual_0", "counterfactual_1"} <= set(charts)
    union = countries.loc[countries["scenario"] == "union"].set_index("country")
    traces = charts["counterfactual_0"]["data"]  # type: ignore[index]
    gdp = dict(zip(traces[0]["y"], traces[0]["x"], strict=True))
    assert gdp["AAA"] == pytest.approx(union.loc["AAA", "real_gdp_change_pct"])
    # the biggest mover comes first
    assert traces[0]["y"][0] == union["real_gdp_change_pct"].abs().idxmax()
    table = pd.read_csv(next((tmp_path / "report").rglob("counterfactual.csv")))
    assert len(table) == len(countries)


def test_no_section_without_counterfactual_output(tmp_path: Path) -> None:
    html = stage_report(ReportOptions(), tmp_path)["html"].read_text(encoding="utf-8")
    assert 'id="counterfactual"' not in html
