"""Names, currency and the two honest lists on real data (Eurostat EU15, euros) and on small frames.

Expected names are the public titles of ISO 3166-1 (Portugal, Spain) and of the WCO Harmonized
System nomenclature 2022 (chapter 30 "Pharmaceutical products", chapter 84 "Nuclear reactors,
boilers, machinery ...", section XVI "Machinery and mechanical appliances; electrical
equipment"); the currency is what the run's config states for the data (EUR).
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.stage_report import stage_report
from gravity.panel.products import HS_SECTIONS
from gravity.report.country_groups import INCOME_MISSING
from gravity.report.data import ReportNames
from gravity.report.names import default_names, hs_chapter_names
from gravity.report.opportunity import EXISTING, NEW, opportunity_lists
from gravity.report.options import ReportOptions
from tests.report.conftest import EU_EXPORTER, EU_NAMES

SUM_RTOL = 1e-9
"""The same floats summed in another order (and through a CSV round trip of 17 digits)."""


def test_hs_chapters_cover_the_nomenclature() -> None:
    chapters = hs_chapter_names()
    # 01 .. 97 without the reserved chapter 77
    assert sorted(chapters) == [f"{c:02d}" for c in range(1, 98) if c != 77]
    assert chapters["30"] == "Pharmaceutical products"
    assert chapters["84"].startswith("Nuclear reactors, boilers, machinery")
    assert chapters["10"] == "Cereals"


def test_default_names_countries_chapters_sections() -> None:
    names = default_names(["PT", "ES", "UK", "XAA"], ["840721", "3004"])
    assert names.country("PT") == "Portugal"
    assert names.country("ES") == "Spain"
    assert names.country("UK") == "United Kingdom"  # Eurostat's alias of GB, short name
    assert names.country("XAA") == "XAA"  # unknown codes stay codes
    assert names.product("3004") == "HS 3004 (in: Pharmaceutical products)"
    xvi = next(s for s in HS_SECTIONS if s[0] == "XVI")
    assert names.group("840721") == f"XVI. {xvi[3]}"
    # two-digit codes are chapters only when every code is one (HS-2 panels)
    assert default_names([], ["30", "84"]).product("30") == "Pharmaceutical products"
    groups_1_to_20 = default_names([], [str(k) for k in range(1, 21)])
    assert groups_1_to_20.products == {} and groups_1_to_20.groups == {}


def test_names_tables_of_baci_and_comtrade_are_read_as_they_are() -> None:
    baci = pd.DataFrame({"code": ["010121"], "description": ["Horses: live, pure-bred"]})
    comtrade = pd.DataFrame({"cmdCode": ["0102"], "cmdDesc": ["Bovine animals; live"]})
    assert ReportNames.from_frames(products=baci).product("010121") == "Horses: live, pure-bred"
    assert ReportNames.from_frames(products=comtrade).product("0102") == "Bovine animals; live"


def test_lists_follow_the_supply_source_or_the_exports() -> None:
    rows = pd.DataFrame(
        {
            "exporter": ["A"] * 4,
            "importer": ["B", "C", "B", "C"],
            "product": ["p", "p", "q", "q"],
            "year": [2019] * 4,
            "actual": [0.0, 5.0, 0.0, 0.0],
        }
    )
    # without supply_source: p is exported (to C), so both p rows are "more of the same"
    assert opportunity_lists(rows).tolist() == [EXISTING, EXISTING, NEW, NEW]
    sourced = rows.assign(supply_source=["predicted", "predicted", "observed", "observed"])
    assert opportunity_lists(sourced).tolist() == [NEW, NEW, EXISTING, EXISTING]


def _page_text(html: str) -> str:
    body = html[html.index("<body") :]
    body = re.sub(r"<script\b.*?</script>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_real_report_in_euros_with_names(eu_run: Path) -> None:
    report = eu_run / "report"
    html = (report / "index.html").read_text(encoding="utf-8")
    text = _page_text(html)
    assert "USD" not in html.split("<script", 1)[0] + text
    assert "$" not in text
    assert "EUR" in text and "\u20ac" in text
    assert "Portugal" in text and "Spain" in text
    assert EU_NAMES["9"] in text
    assert "exports 2016 \u2192 potential 2019" in text
    # the profile's cards carry the unit too
    assert re.search(r'"label">Total trade</div><div class="value">\u20ac[0-9.]+[KMB]<', html)
    opportunities = pd.read_csv(report / "csv" / "opportunities.csv")
    money = [c for c in opportunities.columns if "(EUR)" in c]
    assert {"Actual exports (EUR)", "Potential (EUR)", "Untapped (EUR)"} <= set(money)
    assert not [c for c in opportunities.columns if "USD" in c]
    assert set(opportunities["List"]) == {EXISTING, NEW}
    assert (opportunities["Year"] == 2019).all()
    assert (opportunities["Exports year"] == 2016).all()
    # every row of the exporter is in the CSV, named
    frame = pd.read_parquet(eu_run / "potential" / "opportunities.parquet")
    assert len(opportunities) == (frame["exporter"] == EU_EXPORTER).sum()
    assert set(opportunities["Product"]) == set(EU_NAMES.values())


def test_headline_sums_only_the_existing_list(eu_run: Path) -> None:
    frame = pd.read_parquet(eu_run / "potential" / "opportunities.parquet")
    rows = frame[frame["exporter"] == EU_EXPORTER]
    destinations = pd.read_csv(eu_run / "report" / "csv" / "destinations.csv")
    existing = rows[rows["supply_source"] == "observed"]
    assert destinations["Untapped (EUR)"].sum() == pytest.approx(
        existing["untapped"].sum(), rel=SUM_RTOL
    )
    assert destinations["Untapped (EUR)"].sum() < rows["untapped"].sum()


def test_real_profile_shows_every_section_or_says_why(eu_run: Path) -> None:
    html = (eu_run / "report" / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="profile">') : html.index('<section id="model">')]
    profile = re.sub(r"<[^>]+>", " ", section).replace("&#x27;", "'")
    for title in (
        "Comparative advantage of each side",
        "Competition in",
        "Economies whose exports look most like Portugal",
        "Exports of Portugal to Spain, and the potential at the horizon",
        "Products that moved trade most, up and down",
    ):
        assert title in profile, title
    # the Eurostat data have no agreement column, no GDP, no contiguity: one line each
    assert "Trade agreements not available" in profile
    assert "GDP per capita not available" in profile
    assert "Competition in Spain's largest markets" in profile
    assert "No contiguity data" in profile and "the markets are Spain's largest" in profile
    assert 'id="chart-forecast"' in html


def test_without_an_income_table_the_page_says_so(eu_run: Path, tmp_path: Path) -> None:
    import shutil

    output = tmp_path / "out"
    shutil.copytree(eu_run, output)
    options = ReportOptions(exporter=EU_EXPORTER, formats=["html"], product_names=None)
    page = stage_report(options, output)["html"].read_text(encoding="utf-8")
    assert unescape(_page_text(page)).count(INCOME_MISSING) == 1
    with_table = (eu_run / "report" / "index.html").read_text(encoding="utf-8")
    assert INCOME_MISSING not in unescape(_page_text(with_table))
    assert '<option value="High income">High income</option>' in with_table
