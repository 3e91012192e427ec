"""Country names, regions and groups for the report, from ``country_converter`` and the user.

- Names, UN regions (M49 sub-regions, e.g. "Southern Europe") and membership of the EU27, the
  OECD (with the year each member joined) and the G7 come from the data table of the
  ``country_converter`` package (coco, Stadler 2017, maintained with the UN, EU and OECD
  lists). Its table is read once, on first use, straight from the package's TSV: coco's own
  ``CountryConverter()`` reads ISO2 ``NA`` (Namibia) as missing under pandas 3 and fails, and
  the report needs no more than the table.
- Income groups: coco has none. The World Bank classification ships in WDI's country metadata
  (``WDICountry.csv``: ``Country Code, ..., Income Group``; the DataBank "Metadata - Countries"
  sheet: ``Code, ..., Income Group``), which :func:`read_country_groups` reads, as it reads any
  ``country, group`` table.

Codes are matched through :func:`gravity.panel.countries.resolve_code`, so ISO2 (``ES``),
Eurostat's ``UK``/``EL``, numeric and historical codes (``ROM``, ``ZAR``) all find their row.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.countries import country_table, resolve_code

__all__ = [
    "BLOCS",
    "INCOME_MISSING",
    "blocs",
    "coco_table",
    "country_names",
    "read_country_groups",
    "un_regions",
]

BLOCS = ("EU", "OECD", "G7")
"""The country groups of the page's 'Country group' filter, in this order."""
INCOME_MISSING = (
    "No income groups: give report.country_groups (the World Bank's WDICountry.csv, the "
    "DataBank 'Metadata - Countries' sheet, or a 'country, group' table) for the income filter."
)
"""The page's line when no income table was given."""

COUNTRY_KEYS = ("country", "Country Code", "Code", "iso3", "ISO3")
"""Code column of a country-groups table: ours, WDICountry.csv, DataBank metadata, others."""
GROUP_KEYS = ("group", "Income Group", "income_group", "Income group")
"""Group column of a country-groups table, in the same order of sources."""


@lru_cache(maxsize=1)
def coco_table() -> pd.DataFrame:
    """Return coco's country table (every column as text, ``""`` where empty), by ISO3.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``ISO3``; columns ``name_short``, ``UNregion``, ``EU27``, ``OECD`` (year
        of accession), ``G7``, ... as the package ships them, former states included.
    """
    source = resources.files("country_converter").joinpath("country_data.tsv")
    with resources.as_file(source) as path:
        # keep_default_na=False: "NA" is Namibia's ISO2 code, not a missing value
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return frame.drop_duplicates("ISO3", keep="first").set_index("ISO3")


def _iso3_of(countries: Iterable[object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code in {str(c) for c in countries}:
        iso3 = resolve_code(code)
        if iso3 is not None:
            out[code] = iso3
    return out


@lru_cache(maxsize=1)
def _names_by_iso3() -> dict[str, str]:
    # coco's short names ("South Korea", "DR Congo"); the project's ISO table fills the codes
    # coco does not list (user-assigned and some former states)
    table = country_table()
    ours = dict(zip(table["iso3"], table["name"], strict=True))
    coco = coco_table()["name_short"]
    return {**ours, **{k: v for k, v in coco.items() if v}}


def country_names(countries: Iterable[object]) -> dict[str, str]:
    """Name of each code that resolves to a country (codes that do not are left out)."""
    names = _names_by_iso3()
    return {code: names[iso3] for code, iso3 in _iso3_of(countries).items() if iso3 in names}


def un_regions(countries: Iterable[object]) -> dict[str, str]:
    """UN M49 sub-region of each code (``"Southern Europe"``); unknown codes are left out."""
    region = coco_table()["UNregion"]
    out = {}
    for code, iso3 in _iso3_of(countries).items():
        value = region.get(iso3, "")
        if value:
            out[code] = value
    return out


def blocs(countries: Iterable[object], year: int | None = None) -> dict[str, str]:
    """The :data:`BLOCS` each code belongs to, joined by ``"; "`` (``"EU; OECD"``).

    Parameters
    ----------
    countries : iterable
        Country codes of the data.
    year : int, optional
        Count OECD members only from the year they joined (coco records it); EU27 and G7 are
        today's members.

    Returns
    -------
    dict of str to str
        Codes that belong to at least one group.
    """
    table = coco_table()
    out = {}
    for code, iso3 in _iso3_of(countries).items():
        if iso3 not in table.index:
            continue
        row = table.loc[iso3]
        joined = str(row["OECD"])
        member = {
            "EU": bool(row["EU27"]),
            "OECD": bool(joined) and (year is None or int(joined) <= year),
            "G7": bool(row["G7"]),
        }
        found = [b for b in BLOCS if member[b]]
        if found:
            out[code] = "; ".join(found)
    return out


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
            # DataBank exports put the data first and the country metadata in its own sheet
            for frame in sheets.values():
                if any(c in frame.columns for c in GROUP_KEYS):
                    return frame.fillna("")
            return next(iter(sheets.values())).fillna("")
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise DataError(f"report.country_groups: cannot read {path}: {exc}") from exc


def read_country_groups(path: Path, countries: Iterable[object]) -> dict[str, str]:
    """Group of each code of the data from a ``country, group`` table (e.g. income groups).

    Parameters
    ----------
    path : pathlib.Path
        CSV or Excel file: the World Bank's ``WDICountry.csv`` (``Country Code``,
        ``Income Group``), DataBank's "Metadata - Countries" sheet (``Code``, ``Income Group``)
        or any table with ``country`` and ``group`` columns.
    countries : iterable
        Country codes of the data; each is matched to the table's codes through ISO3.

    Returns
    -------
    dict of str to str
        Code of the data to its group; codes the table does not list, or lists with an empty
        group (aggregates such as ``WLD`` have none), are left out.

    Raises
    ------
    DataError
        The file cannot be read, lacks a code or group column, or lists a country twice with
        different groups.
    """
    frame = _read_table(path)
    key = next((c for c in COUNTRY_KEYS if c in frame.columns), None)
    group = next((c for c in GROUP_KEYS if c in frame.columns), None)
    if key is None or group is None:
        raise DataError(
            f"report.country_groups: {path.name} has no "
            f"{'country code' if key is None else 'group'} column (columns: "
            f"{', '.join(map(str, frame.columns))}); give 'country' and 'group' columns, or "
            "the World Bank's WDICountry.csv ('Country Code', 'Income Group')"
        )
    by_iso3: dict[str, str] = {}
    for line, (code, value) in enumerate(zip(frame[key], frame[group], strict=True), start=2):
        value = str(value).strip()
        iso3 = resolve_code(code)
        if not value or iso3 is None:
            continue
        if by_iso3.get(iso3, value) != value:
            raise DataError(
                f"report.country_groups: {path.name}: line {line}: {code!r} is in group "
                f"{value!r}, but an earlier row put it in {by_iso3[iso3]!r}; keep one row "
                "per country"
            )
        by_iso3[iso3] = value
    return {code: by_iso3[iso3] for code, iso3 in _iso3_of(countries).items() if iso3 in by_iso3}
