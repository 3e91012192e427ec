"""Country-code harmonization: the built-in table, resolution rules and the unmatched report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError, DataWarning
from gravity.panel.countries import (
    FORMER_STATE_CODES,
    WDI_AGGREGATE_CODES,
    country_table,
    harmonize_countries,
    resolve_code,
)
from tests.conftest import shared_file


def test_table_has_every_iso3166_country_once() -> None:
    table = country_table()
    iso = table[table["status"] == "iso"]
    assert len(iso) == 249
    assert iso["iso3"].is_unique and iso["iso2"].is_unique and iso["numeric"].is_unique
    assert table["iso3"].is_unique
    assert set(table.loc[table["status"] == "former", "iso3"]) == set(FORMER_STATE_CODES)
    assert {"YUG", "SCG", "SUN", "CSK", "DDR", "ANT", "BLX"} <= FORMER_STATE_CODES
    row = table.set_index("iso3").loc["ZAF"]
    assert (row["iso2"], row["numeric"], row["name"]) == ("ZA", 710, "South Africa")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AUT", "AUT"),
        ("aut", "AUT"),
        (" FRA ", "FRA"),
        ("ROM", "ROU"),
        ("ZAR", "COD"),
        ("TMP", "TLS"),
        ("PAL", "PSE"),
        ("BUR", "MMR"),
        ("DE", "DEU"),
        ("NA", "NAM"),  # Namibia, not a missing value
        ("UK", "GBR"),
        ("EL", "GRC"),
        (710, "ZAF"),
        ("710", "ZAF"),
        (4.0, "AFG"),
        (np.int32(76), "BRA"),
        ("004", "AFG"),
        (842, "USA"),
        (251, "FRA"),
        (699, "IND"),
        (280, "DEU"),
        (736, "SDN"),
        ("Viet Nam", "VNM"),
        ("Vietnam", "VNM"),
        ("Côte d'Ivoire", "CIV"),
        ("Cote d'Ivoire", "CIV"),
        ("Korea, Rep.", "KOR"),
        ("Korea, Dem. People’s Rep.", "PRK"),
        ("Bolivia (Plurinational State of)", "BOL"),
        ("XKX", "XKX"),
        ("Kosovo", "XKX"),
    ],
)
def test_resolve_code(code: object, expected: str) -> None:
    assert resolve_code(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("YUG", "YUG"),
        (890, "YUG"),
        ("SCG", "SCG"),
        (891, "SCG"),
        ("SUN", "SUN"),
        (810, "SUN"),
        ("CSK", "CSK"),
        (200, "CSK"),
        ("DDR", "DDR"),
        (278, "DDR"),
        ("ANT", "ANT"),
        (530, "ANT"),
        ("BLX", "BLX"),
        (58, "BLX"),
        ("Serbia and Montenegro", "SCG"),
    ],
)
def test_former_states_keep_their_own_code(code: object, expected: str) -> None:
    assert resolve_code(code) == expected


@pytest.mark.parametrize("code", ["CS", 490, 0, "W00", "", "   ", None, float("nan"), "Atlantis"])
def test_unresolvable_codes(code: object) -> None:
    assert resolve_code(code) is None


def test_overrides_come_first() -> None:
    assert resolve_code(490, {"490": "TWN"}) == "TWN"
    assert resolve_code("rom", {"ROM": "XXX"}) == "XXX"


def test_harmonize_converts_and_reports() -> None:
    frame = pd.DataFrame(
        {
            "exporter": ["ROM", "DE", "710", "YUG", "490"],
            "importer": ["FRA", "ZAR", "NA", "SUN", "USA"],
            "value": [10.0, 20.0, 30.0, 40.0, 1.0],
            "extra": list("abcde"),
        }
    )
    with pytest.warns(DataWarning, match=r"dropped 1 rows \(0\.99% of the trade value\).*'490'"):
        out, report = harmonize_countries(frame, source="t.csv")
    assert out["exporter"].tolist() == ["ROU", "DEU", "ZAF", "YUG"]
    assert out["importer"].tolist() == ["FRA", "COD", "NAM", "SUN"]
    assert out["extra"].tolist() == list("abcd")
    assert report.unmatched == ("490",)
    assert report.unmatched_rows == 1
    assert report.share_basis == "value"
    assert report.unmatched_share == pytest.approx(1 / 101)
    assert report.renamed == {"ROM": "ROU", "ZAR": "COD"}
    assert report.former_states == ("SUN", "YUG")
    assert report.to_dict()["unmatched"] == ["490"]
    assert frame["exporter"].iloc[0] == "ROM"  # input untouched


def test_harmonize_raises_above_the_tolerated_share() -> None:
    frame = pd.DataFrame({"exporter": ["FRA", "QQQ"], "importer": ["DEU", "DEU"], "value": [1, 9]})
    with pytest.raises(DataError, match=r"t\.csv: 90\.00% of the trade value .*'QQQ'.*overrides"):
        harmonize_countries(frame, source="t.csv", max_unmatched_share=0.5)


def test_harmonize_row_share_without_value_and_missing_codes() -> None:
    frame = pd.DataFrame({"country": ["FRA", None, "DEU", "ITA"]})
    with pytest.warns(DataWarning, match="<missing>"):
        out, report = harmonize_countries(
            frame, ["country"], value_column=None, max_unmatched_share=0.5
        )
    assert report.share_basis == "rows" and report.unmatched_share == 0.25
    assert report.unmatched == ("<missing>",)
    assert out["country"].tolist() == ["FRA", "DEU", "ITA"]


def test_keep_mode_leaves_identifiers_untouched() -> None:
    frame = pd.DataFrame(
        {"exporter": [4, 710, 999], "importer": ["EUU", "x1", "W00"], "value": 1.0}
    )
    out, report = harmonize_countries(frame, codes="keep")
    assert out is frame
    assert report.mode == "keep" and report.unmatched == () and report.unmatched_rows == 0


def test_wdi_aggregates_are_not_countries() -> None:
    assert {"WLD", "EUU", "HIC", "LMY", "SSF", "OED"} <= WDI_AGGREGATE_CODES
    assert all(resolve_code(code) is None for code in WDI_AGGREGATE_CODES)


def test_cross_check_with_baci_country_codes() -> None:
    """Every code of CEPII's table resolves as CEPII says (except the documented BLX choice)."""
    path = shared_file("baci_sample/country_codes_V202201.csv")
    table = pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
    checked = 0
    for row in table.itertuples(index=False):
        iso3 = row.iso_3digit_alpha
        if iso3 == "N/A":
            assert resolve_code(row.country_code) is None
            continue
        expected = "BLX" if row.country_code == "58" else iso3  # BACI files 58 under BEL
        assert resolve_code(row.country_code) == expected, row
        assert resolve_code(row.country_name_full) == expected, row
        assert resolve_code(row.country_name_abbreviation) == expected, row
        if row.iso_2digit_alpha not in ("", "CS"):  # CS: Czechoslovakia or Serbia-Montenegro
            assert resolve_code(row.iso_2digit_alpha) == iso3, row
        checked += 1
    assert checked == 235


def test_cross_check_with_wdi_names() -> None:
    path = shared_file("wdi/population_1960_2024.csv")
    wdi = pd.read_csv(path, dtype=str, keep_default_na=False).drop_duplicates("Country Code")
    countries = wdi[~wdi["Country Code"].isin(WDI_AGGREGATE_CODES)]
    assert len(countries) == 217
    for name, code in zip(countries["Country Name"], countries["Country Code"], strict=True):
        assert resolve_code(name) == resolve_code(code), (name, code)
    assert resolve_code("CHI") is None  # Channel Islands: a World Bank economy, not ISO 3166


def test_cross_check_with_cepii_geo() -> None:
    path = shared_file("cepii_geodist/geo_cepii.csv")
    geo = pd.read_csv(path, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    renamed = {"ROM": "ROU", "ZAR": "COD", "TMP": "TLS", "PAL": "PSE"}
    for row in geo.drop_duplicates("iso3").itertuples(index=False):
        expected = renamed.get(row.iso3, row.iso3)
        assert resolve_code(row.iso3) == expected
        assert resolve_code(row.iso2) == expected, row
        # CEPII's BEL row is Belgium-Luxembourg (BLX here); its YUG is Serbia and Montenegro
        name_code = {"BEL": "BLX", "YUG": "SCG"}.get(row.iso3, expected)
        assert resolve_code(row.country) == name_code, row
