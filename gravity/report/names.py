"""Names the report knows without being told: countries, HS chapters and HS sections.

- Countries: the project's country table (ISO 3166-1 names, with Eurostat's ``UK``/``EL`` and
  the other aliases :func:`gravity.panel.countries.resolve_code` understands).
- HS chapters: ``reference/hs_chapters.csv``, the chapter titles of the WCO Harmonized System
  nomenclature (2022 edition), shortened; HS sections: :data:`gravity.panel.products.HS_SECTIONS`.

Product codes are taken as HS codes only when they look like HS codes: four or more digits, or
two-digit chapters when every code of the data is a two-digit chapter (a panel of 20 product
groups coded ``1`` .. ``20`` is not HS).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from gravity.panel.countries import country_table, resolve_code
from gravity.panel.products import HS_SECTIONS
from gravity.report.data import ReportNames

__all__ = ["EU27", "OECD", "default_names", "hs_chapter_names", "hs_section_name", "regions"]

EU27 = frozenset(
    "AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT NLD POL PRT "
    "ROU SVK SVN ESP SWE".split()
)
"""Members of the European Union since 1 February 2020 (europa.eu, 'EU countries')."""
OECD = frozenset(
    "AUS AUT BEL CAN CHL COL CRI CZE DNK EST FIN FRA DEU GRC HUN ISL IRL ISR ITA JPN KOR LVA "
    "LTU LUX MEX NLD NZL NOR POL PRT SVK SVN ESP SWE CHE TUR GBR USA".split()
)
"""The 38 OECD members since Costa Rica joined in May 2021 (oecd.org, 'Members and partners')."""

HS_LONG = re.compile(r"^\d{4,}$")
HS_CHAPTER = re.compile(r"^\d{2}$")


@lru_cache(maxsize=1)
def hs_chapter_names() -> dict[str, str]:
    """HS-2 chapter code (``"01"`` .. ``"97"``) to its title."""
    text = (
        resources.files("gravity.report").joinpath("reference/hs_chapters.csv").read_text("utf-8")
    )
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    return {row["chapter"]: row["name"] for row in csv.DictReader(lines)}


def hs_section_name(chapter: str) -> str | None:
    """``XVI. Machinery and mechanical appliances; ...`` for chapter ``"84"`` (None: not HS)."""
    if not HS_CHAPTER.match(chapter):
        return None
    number = int(chapter)
    for label, first, last, title in HS_SECTIONS:
        if first <= number <= last and number != 77:
            return f"{label}. {title}"
    return None


SHORT_NAMES = {
    "BOL": "Bolivia",
    "COD": "DR Congo",
    "CZE": "Czechia",
    "FSM": "Micronesia",
    "GBR": "United Kingdom",
    "IRN": "Iran",
    "KOR": "South Korea",
    "LAO": "Laos",
    "MDA": "Moldova",
    "PRK": "North Korea",
    "RUS": "Russia",
    "SYR": "Syria",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "USA": "United States",
    "VEN": "Venezuela",
    "VNM": "Vietnam",
}
"""Common short names where the ISO 3166-1 name is long or formal (charts and tables are read
by people; the code stays beside the name)."""


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    table = country_table()
    return {**dict(zip(table["iso3"], table["name"], strict=True)), **SHORT_NAMES}


def default_names(countries: Iterable[object], products: Iterable[object]) -> ReportNames:
    """Names of the given country and product codes from the tables shipped with gravity.

    Parameters
    ----------
    countries : iterable
        Country codes of the data (ISO alpha-2/alpha-3/numeric, or aliases such as ``UK``).
    products : iterable
        Product codes of the data.

    Returns
    -------
    ReportNames
        Names of the countries the country table resolves; for HS-like product codes, a name
        (the chapter's title for two-digit chapters, ``HS 870323 (in: <chapter>)`` otherwise)
        and the HS section as the group. Codes that match nothing get no entry.
    """
    by_iso3 = _country_names()
    country_names: dict[str, str] = {}
    for code in {str(c) for c in countries}:
        iso3 = resolve_code(code)
        if iso3 is not None and iso3 in by_iso3:
            country_names[code] = by_iso3[iso3]
    codes = sorted({str(p) for p in products})
    chapters = hs_chapter_names()
    all_chapters = bool(codes) and all(HS_CHAPTER.match(c) and c in chapters for c in codes)
    product_names: dict[str, str] = {}
    groups: dict[str, str] = {}
    for code in codes:
        if all_chapters:
            product_names[code] = chapters[code]
        elif HS_LONG.match(code) and code[:2] in chapters:
            product_names[code] = f"HS {code} (in: {chapters[code[:2]]})"
        else:
            continue
        section = hs_section_name(code[:2])
        if section is not None:
            groups[code] = section
    return ReportNames(countries=country_names, products=product_names, groups=groups)


def regions(countries: Iterable[object]) -> dict[str, str]:
    """Each country code's group for the region filter: EU, OECD outside the EU, or the rest.

    Parameters
    ----------
    countries : iterable
        Country codes of the data.

    Returns
    -------
    dict of str to str
        ``"EU"``, ``"OECD, outside the EU"`` or ``"Rest of the world"`` for codes the country
        table resolves; other codes (e.g. synthetic ones) are left out.
    """
    out: dict[str, str] = {}
    for code in {str(c) for c in countries}:
        iso3 = resolve_code(code)
        if iso3 is None:
            continue
        if iso3 in EU27:
            out[code] = "EU"
        elif iso3 in OECD:
            out[code] = "OECD, outside the EU"
        else:
            out[code] = "Rest of the world"
    return out
