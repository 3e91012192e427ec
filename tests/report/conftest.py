"""Shared fixtures of the report tests: a run folder written by the real stages on a small world.

The synthetic world's product ``0015`` and country ``XAB`` get hostile names, so every test that
renders them checks escaping too.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from gravity._base import Step
from gravity.cli.manifest import RunManifest
from gravity.cli.stage_relatedness import stage_relatedness
from gravity.cli.stages import write_fit_outputs
from gravity.estimation.ppml import Ppml
from gravity.layout import OutputLayout
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
from gravity.potential.backtest import run_backtest
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import opportunities
from gravity.report.data import ReportNames

XSS_PRODUCT = "<script>window.__xss=1</script>"
XSS_COUNTRY = '"><img src=x onerror="window.__xss2=1">'
EXPORTER = "XAA"
FORMULA = "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year"


@dataclass(frozen=True)
class RunFolder:
    """A run's output folder with every input of the report, and the frames behind it."""

    output: Path
    panel: pd.DataFrame
    opportunities: pd.DataFrame
    names: ReportNames


def _write_run(output: Path) -> RunFolder:
    world = generate_world(SyntheticWorldOptions(n_countries=12, n_products=15, n_years=8))
    panel = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer", "product"):
        panel[column] = panel[column].astype(str)
    (output / "panel").mkdir(parents=True)
    panel.to_parquet(output / "panel" / "panel.parquet", index=False)
    (output / "panel" / "synthetic_truth.json").write_text(json.dumps(world.truth, default=str))
    potential = PotentialOptions(horizon=2, window=3)
    opps = opportunities(panel, potential)
    (output / "potential").mkdir()
    opps.to_parquet(output / "potential" / "opportunities.parquet", index=False)
    aggregate = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer"):
        aggregate[column] = aggregate[column].astype(str)
    write_fit_outputs([Ppml(FORMULA, aggregate).fit()], ["PPML"], OutputLayout(output))
    stage_relatedness(None, panel, output)
    backtest = run_backtest(panel, potential, BacktestOptions(horizon=2))
    (output / "backtest").mkdir()
    backtest.metrics.to_csv(output / "backtest" / "metrics.csv", index=False)
    manifest = RunManifest(
        command="run",
        config={"potential": potential.model_dump(mode="json"), "sample": {"years": None}},
    )
    manifest.add_input(output / "panel" / "panel.parquet", "trade")
    manifest.add_steps([Step("synthetic world (product)", len(panel), len(panel))], "panel: ")
    manifest.status = "ok"
    manifest.write(output)
    products = world.products.assign(
        name=world.products["name"].where(world.products["product"] != "0015", XSS_PRODUCT)
    )
    countries = world.countries.assign(
        name=world.countries["name"].where(world.countries["country"] != "XAB", XSS_COUNTRY)
    )
    return RunFolder(output, panel, opps, ReportNames.from_frames(countries, products))


@pytest.fixture(scope="session")
def run_template(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    """The run folder, written once per session (copy it before writing into it)."""
    return _write_run(tmp_path_factory.mktemp("run") / "out")


@pytest.fixture
def run(run_template: RunFolder, tmp_path: Path) -> RunFolder:
    """A private copy of the run folder for one test."""
    output = tmp_path / "out"
    shutil.copytree(run_template.output, output)
    return RunFolder(output, run_template.panel, run_template.opportunities, run_template.names)
