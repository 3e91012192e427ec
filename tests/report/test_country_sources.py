"""Country names, regions, groups, neighbours and GDP per capita the report finds itself.

References:

- names, UN sub-regions, EU27/OECD/G7 membership: the public lists (europa.eu 'EU countries';
  oecd.org 'Members and partners', with accession years: Colombia 2020, Costa Rica 2021; UN M49
  'Standard country or area codes for statistical use'), checked on a few countries here;
  country_converter is the library that ships them.
- neighbours and the third-market comparison: a hand-made panel, computed by hand below.
- GDP per capita: ``../shared/data/wdi`` (NY.GDP.MKTP.CD over SP.POP.TOTL), the two values read
  directly from the CSV files with the csv module and divided here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.panel.options import GeoDistCovariate, WdiCovariate
from gravity.report.country_facts import CountryFacts, read_country_facts
from gravity.report.country_groups import (
    blocs,
    country_names,
    read_country_groups,
    un_regions,
)
from gravity.report.profile_more import gdp_per_capita, neighbours, third_markets
from tests.conftest import shared_file

RTOL = 1e-12
"""Same arithmetic (one division) as the code under test: equal up to rounding."""


def test_names_and_regions_resolve_any_code_style() -> None:
    # ISO2, Eurostat's UK/EL, ISO3, numeric, and a historical code (ROM: Romania before 2002)
    codes = ["ES", "UK", "EL", "KOR", "710", "ROM", "NA", "XX1"]
    names = country_names(codes)
    assert names == {
        "ES": "Spain",
        "UK": "United Kingdom",
        "EL": "Greece",
        "KOR": "South Korea",
        "710": "South Africa",
        "ROM": "Romania",
        "NA": "Namibia",  # ISO2 'NA' is not a missing value
    }
    regions = un_regions(codes)
    assert regions["ES"] == "Southern Europe" and regions["UK"] == "Northern Europe"
    assert regions["KOR"] == "Eastern Asia" and regions["NA"] == "Southern Africa"
    assert "XX1" not in regions


def test_groups_follow_membership_and_accession_year() -> None:
    codes = ["DE", "PT", "GB", "USA", "COL", "CRI", "CHN"]
    today = blocs(codes)
    assert today == {
        "DE": "EU; OECD; G7",
        "PT": "EU; OECD",
        "GB": "OECD; G7",  # left the EU on 1 February 2020
        "USA": "OECD; G7",
        "COL": "OECD",
        "CRI": "OECD",
    }
    # Colombia joined the OECD in 2020, Costa Rica in 2021
    assert blocs(codes, 2020)["COL"] == "OECD" and "CRI" not in blocs(codes, 2020)
    assert "COL" not in blocs(codes, 2019)


def test_income_groups_from_wdi_country_metadata(tmp_path: Path) -> None:
    # the first columns of the World Bank's WDICountry.csv, and an aggregate without a group
    path = tmp_path / "WDICountry.csv"
    path.write_text(
        "Country Code,Short Name,Table Name,Long Name,2-alpha code,Currency Unit,"
        "Special Notes,Region,Income Group\n"
        'PRT,Portugal,Portugal,Portuguese Republic,PT,Euro,"",Europe & Central Asia,'
        "High income\n"
        "MAR,Morocco,Morocco,Kingdom of Morocco,MA,Moroccan dirham,,Middle East & North Africa,"
        "Lower middle income\n"
        "WLD,World,World,World,1W,,,,\n",
        encoding="utf-8",
    )
    assert read_country_groups(path, ["PT", "MA", "ES"]) == {
        "PT": "High income",
        "MA": "Lower middle income",
    }


def test_country_groups_generic_table_and_bad_tables(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("country,group\nESP,Club A\nFRA,Club B\n", encoding="utf-8")
    assert read_country_groups(path, ["ES", "FR"]) == {"ES": "Club A", "FR": "Club B"}
    path.write_text("country,group\nESP,Club A\nES,Club B\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"groups\.csv: line 3: 'ES' is in group 'Club B'"):
        read_country_groups(path, ["ES"])
    path.write_text("code,label\nESP,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"groups\.csv has no country code column"):
        read_country_groups(path, ["ES"])


def _border_panel() -> pd.DataFrame:
    """B borders C and D (contig = 1); A borders B; E is B's largest market but no neighbour."""
    rows = [
        ("A", "B", 10.0, 1),
        ("B", "A", 20.0, 1),
        ("B", "C", 30.0, 1),
        ("B", "D", 5.0, 1),
        ("B", "E", 90.0, 0),
        ("A", "C", 40.0, 0),
        ("A", "E", 1.0, 0),
        ("C", "B", 8.0, 1),
    ]
    frame = pd.DataFrame(rows, columns=["exporter", "importer", "value", "contig"])
    return frame.assign(year=2020)


def test_third_markets_are_the_partners_neighbours() -> None:
    panel = _border_panel()
    found = neighbours(panel, "B")
    assert found == (["A", "C", "D"], "the panel's contig column")
    markets = third_markets(panel, "A", "B", 2020, 10, found[0] if found else None)
    assert isinstance(markets, pd.DataFrame)
    # the exporter A is left out; B sells C 30 (A: 40), D 5 (A: 0): E (90) is no neighbour
    assert markets["market"].tolist() == ["C", "D"]
    np.testing.assert_allclose(markets["from_partner"], [30.0, 5.0], rtol=RTOL)
    np.testing.assert_allclose(markets["from_exporter"], [40.0, 0.0], rtol=RTOL)
    assert markets["leader"].tolist() == ["exporter", "partner"]
    # without contiguity: the largest markets, E first
    assert neighbours(panel.drop(columns="contig"), "B") is None
    largest = third_markets(panel, "A", "B", 2020, 10)
    assert isinstance(largest, pd.DataFrame)
    assert largest["market"].tolist() == ["E", "C", "D"]


def test_neighbours_from_geodist_pairs_match_the_datas_codes() -> None:
    panel = pd.DataFrame(
        {"exporter": ["PT", "ES", "FR"], "importer": ["ES", "FR", "DE"], "value": 1.0}
    )
    facts = CountryFacts(
        contiguity=frozenset(
            {("ESP", "PRT"), ("PRT", "ESP"), ("ESP", "FRA"), ("FRA", "ESP"), ("ESP", "AND")}
        ),
        contiguity_source="CEPII GeoDist contiguity (dist.csv)",
    )
    assert neighbours(panel, "ES", facts) == (
        ["FR", "PT"],
        "CEPII GeoDist contiguity (dist.csv)",
    )


def test_geodist_file_contiguity_of_portugal_and_spain() -> None:
    path = shared_file("cepii_geodist/dist_cepii.csv")
    facts = read_country_facts([GeoDistCovariate(path=str(path))], path.parent)
    # reference: the file's own rows, read with the csv module
    with path.open(encoding="latin-1") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for iso in ("PRT", "ESP", "FRA"):
        expected = sorted(r["iso_d"] for r in rows if r["iso_o"] == iso and r["contig"] == "1")
        assert facts.neighbours(iso) == expected
    assert facts.neighbours("PRT") == ["ESP"]  # Portugal's only land border


def _wdi_value(path: Path, code: str, year: int) -> float:
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Country Code"] == code and row["Year"] == str(year):
                return float(row["Value"])
    raise AssertionError(f"{code} {year} not in {path.name}")


def test_gdp_per_capita_from_the_configs_wdi_files() -> None:
    gdp_file = shared_file("wdi/gdp_current_usd_1960_2023.csv")
    pop_file = shared_file("wdi/population_1960_2024.csv")
    specs = [
        WdiCovariate(paths=[str(gdp_file)], indicator="gdp"),
        WdiCovariate(paths=[str(pop_file)], indicator="pop"),
    ]
    facts = read_country_facts(specs, gdp_file.parent)
    assert facts.gdp_per_capita is not None and "over population" in facts.gdp_source
    panel = pd.DataFrame({"exporter": ["PT"], "importer": ["ES"], "year": [2019], "value": [1.0]})
    frame = gdp_per_capita(panel, ("PT", "ES"), 2019, facts.gdp_per_capita)
    assert isinstance(frame, pd.DataFrame)
    expected = [
        _wdi_value(gdp_file, code, 2019) / _wdi_value(pop_file, code, 2019)
        for code in ("PRT", "ESP")
    ]
    np.testing.assert_allclose(frame["gdp_per_capita"], expected, rtol=RTOL)
    assert 15_000 < expected[0] < 30_000  # a sanity bound: Portugal, 2019, current USD
    missing = gdp_per_capita(panel, ("PT", "ES"), 1950, facts.gdp_per_capita)
    assert missing == "GDP per capita not available: the WDI files have no value for 1950."


def test_income_groups_from_a_databank_excel_export(tmp_path: Path) -> None:
    # DataBank's Excel export: the data first, the country metadata in its own sheet
    path = tmp_path / "P_Data_Extract_From_World_Development_Indicators.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Country Name": ["Chile"], "Country Code": ["CHL"], "2020": [1.0]}).to_excel(
            writer, sheet_name="Data", index=False
        )
        pd.DataFrame(
            {
                "Code": ["CHL", "IND"],
                "Long Name": ["Republic of Chile", "Republic of India"],
                "Income Group": ["High income", "Lower middle income"],
            }
        ).to_excel(writer, sheet_name="Metadata - Countries", index=False)
    assert read_country_groups(path, ["CL", "IN", "BR"]) == {
        "CL": "High income",
        "IN": "Lower middle income",
    }
