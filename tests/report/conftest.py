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


EU_EXPORTER = "PT"
EU_HIGH_INCOME = "AUT BEL DEU DNK ESP FIN FRA GBR GRC IRL ITA LUX NLD PRT SWE".split()
"""The income table's countries (written with ISO3 codes; the data use Eurostat's two letters)."""
EU_NAMES = {str(k): f"Product group {k:02d}" for k in range(1, 21)}
"""A names table for the 20 product groups of the Eurostat data (the data ship codes only)."""


@pytest.fixture(scope="session")
def eu_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``gravity run`` on the Eurostat EU15 panel (euros): panel, relatedness, potential, report.

    The config states the currency as the data's metadata (``data.metadata.currency: EUR``) and
    gives a names table; Portugal is the report's exporter. Skips without ../shared/data.
    """
    from gravity.cli.main import main
    from tests.conftest import shared_file

    trade = shared_file("fixest_trade/trade.csv")
    folder = tmp_path_factory.mktemp("eu_run")
    names = folder / "names.csv"
    pd.DataFrame({"product": list(EU_NAMES), "name": list(EU_NAMES.values())}).to_csv(
        names, index=False
    )
    # income groups in the layout of the World Bank's WDICountry.csv (classification of July
    # 2023: every EU15 member and the UK are high income), so the income filter has values
    income = folder / "WDICountry.csv"
    income.write_text(
        "Country Code,Short Name,Region,Income Group\n"
        + "".join(f"{c},,Europe & Central Asia,High income\n" for c in EU_HIGH_INCOME),
        encoding="utf-8",
    )
    config = folder / "eu.yaml"
    config.write_text(
        f"""
output: out
data:
  trade:
    path: {trade}
    columns: {{exporter: Origin, importer: Destination, product: Product, year: Year,
               value: Euros}}
  zeros: fill
  metadata: {{currency: EUR, unit: EUR}}
relatedness: {{}}
potential: {{ease_terms: [], pair_effects: true, horizon: 3, window: 4}}
report: {{exporter: {EU_EXPORTER}, product_names: names.csv, country_groups: WDICountry.csv,
         formats: [html, xlsx, csv]}}
""",
        encoding="utf-8",
    )
    assert main(["run", str(config), "--quiet"]) == 0
    return folder / "out"
