"""A monthly Comtrade file through the panel build and ``gravity run`` to the report's profile.

Provenance: the fixture of :mod:`tests.panel.test_comtrade_monthly` (Comtrade+ bulk layout,
values from integer formulas), so every expected number is a hand computation:

- per month, 5 flows are observed (ZAF->DEU and ZAF->NAM in 2 products, DEU->ZAF in one);
  the rectangle over the months observed is (ZAF->DEU, ZAF->NAM, DEU->NAM, DEU->ZAF) x
  2 products = 8 cells a month, so 3 zero rows a month are added;
- November 2023 against November 2022: exports ZAF->DEU (1600 + 1610) / (1100 + 1110), imports
  DEU->ZAF 650 / 550, total 3860 / 2760 (see ``test_monthly_profile_november_on_november``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gravity.cli.main import main
from gravity.panel.build import build_panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import ComtradeSource
from tests.conftest import shared_file
from tests.panel.test_comtrade_monthly import MONTHS, monthly_csv
from tests.report.test_country_sources import _wdi_value


@pytest.fixture
def monthly_folder(tmp_path: Path) -> Path:
    (tmp_path / "monthly.csv").write_text(monthly_csv(), encoding="utf-8")
    return tmp_path


def test_monthly_panel_fills_zeros_over_the_months(monthly_folder: Path) -> None:
    source = ComtradeSource(paths=["monthly.csv"], frequency="monthly")
    panel = build_panel(source, None, SampleOptions(), monthly_folder, PanelOptions())
    frame = panel.frame
    assert list(frame.columns[:7]) == [
        "exporter",
        "importer",
        "product",
        "year",
        "month",
        "period",
        "value",
    ]
    assert len(frame) == 8 * len(MONTHS)
    assert not frame.duplicated(["exporter", "importer", "product", "year", "month"]).any()
    zeros = next(s for s in panel.steps if s.name == "zeros")
    assert zeros.added == {"zero_flows": 3 * len(MONTHS)}
    # the manifest's counts balance: rows in + added - removed = rows out, for every step
    for step in panel.steps:
        assert step.rows_in + sum(step.added.values()) - sum(step.removed.values()) == (
            step.rows_out
        ), step.name
    assert (
        frame["period"] == frame["year"].astype(str) + "-" + frame["month"].map("{:02d}".format)
    ).all()
    zero_rows = frame[(frame["exporter"] == "DEU") & (frame["importer"] == "NAM")]
    assert len(zero_rows) == 2 * len(MONTHS) and (zero_rows["value"] == 0).all()
    assert panel.metadata["frequency"] == "monthly"
    assert "over the months observed" in zeros.notes[0]


def _config(folder: Path, extra: str = "") -> Path:
    path = folder / "monthly.yaml"
    path.write_text(
        f"""
output: out
data:
  trade: {{kind: comtrade, paths: [monthly.csv], frequency: monthly}}
report: {{exporter: ZAF, partner: DEU, year: 2023, formats: [html, csv]}}
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_gravity_run_monthly_to_the_profiles_month_on_month(monthly_folder: Path) -> None:
    assert main(["run", str(_config(monthly_folder)), "--quiet"]) == 0
    out = monthly_folder / "out"
    with (out / "report" / "csv" / "profile.csv").open(encoding="utf-8") as handle:
        rows = {row["Figure"]: row for row in csv.DictReader(handle)}
    label = "{}, month on the same month a year earlier"
    exports, imports, total = (rows[label.format(w)] for w in ("Exports", "Imports", "Total trade"))
    # exact at the CSV's precision (render_csv writes 10 significant digits): the same text
    assert exports["Value (raw)"] == f"{3210 / 2210 - 1:.10g}"
    assert imports["Value (raw)"] == f"{650 / 550 - 1:.10g}"
    assert total["Value (raw)"] == f"{3860 / 2760 - 1:.10g}"
    assert exports["Year(s)"] == "2022-11 to 2023-11"
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "month on the same month a year earlier" in page
    assert "The data hold 11 months of 2023 and 12 of 2022" in page


def test_monthly_panel_never_reaches_an_annual_stage(
    monthly_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(monthly_folder, "relatedness: {}")
    assert main(["run", str(config), "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "data.trade.frequency: 'monthly' builds a monthly panel for the report, but " in err
    assert "these stages need annual data: relatedness;" in err
    assert not (monthly_folder / "out" / "panel").exists()  # refused before any work


def test_monthly_run_with_wdi_and_geodist_covariates(monthly_folder: Path) -> None:
    """GDP per capita from the config's WDI files and third markets over the partner's neighbours.

    References: the WDI values read from the two CSV files with the csv module and divided here;
    CEPII GeoDist has South Africa and Namibia contiguous. Germany's exports to South Africa's
    neighbour Namibia are zero; South Africa's in January-November 2023 are
    sum over m = 1..11 of (7m + 7m + 1) = 14 * 66 + 11 = 935.
    """
    gdp = shared_file("wdi/gdp_current_usd_1960_2023.csv")
    pop = shared_file("wdi/population_1960_2024.csv")
    dist = shared_file("cepii_geodist/dist_cepii.csv")
    config = monthly_folder / "covariates.yaml"
    config.write_text(
        f"""
output: out
data:
  trade: {{kind: comtrade, paths: [monthly.csv], frequency: monthly}}
  covariates:
    - {{kind: wdi, paths: ["{gdp}"], indicator: gdp}}
    - {{kind: wdi, paths: ["{pop}"], indicator: pop}}
    - {{kind: geodist, path: "{dist}", variables: {{contig: contig}}}}
report: {{exporter: DEU, partner: ZAF, year: 2023, formats: [csv]}}
""",
        encoding="utf-8",
    )
    assert main(["run", str(config), "--quiet"]) == 0
    folder = monthly_folder / "out" / "report" / "csv"
    with (folder / "gdp_per_capita.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Economy"] for r in rows] == ["Germany", "South Africa"]
    for row, code in zip(rows, ("DEU", "ZAF"), strict=True):
        expected = _wdi_value(gdp, code, 2023) / _wdi_value(pop, code, 2023)
        assert row["GDP per capita (current USD)"] == f"{expected:.10g}"
    with (folder / "third_markets.csv").open(encoding="utf-8") as handle:
        markets = list(csv.DictReader(handle))
    assert markets == [
        {
            "Market": "Namibia",
            "Market code": "NAM",
            "Imports from Germany (USD)": "0",
            "Imports from South Africa (USD)": "935",
            "Sells more": "South Africa",
        }
    ]
