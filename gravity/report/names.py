"""Names the report knows without being told: countries, HS chapters and HS sections.

- Countries: ``country_converter``'s short names (:mod:`gravity.report.country_groups`), found
  through :func:`gravity.panel.countries.resolve_code` (Eurostat's ``UK``/``EL``, ISO2,
  numeric and historical codes); the project's country table names the few coco lacks.
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

from gravity.panel.products import HS_SECTIONS
from gravity.report.country_groups import country_names
from gravity.report.data import ReportNames

__all__ = ["default_names", "hs_chapter_names", "hs_section_name"]

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
    return ReportNames(countries=country_names(countries), products=product_names, groups=groups)
