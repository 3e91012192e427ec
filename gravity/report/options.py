"""Options of the report stage: the ``report:`` config section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from gravity._base import StrictModel

ReportFormat = Literal["html", "xlsx", "csv", "pdf"]
"""What the stage writes: ``index.html``, ``opportunities.xlsx``, ``csv/*.csv``, ``report.pdf``."""


DEFAULT_FORMATS: tuple[ReportFormat, ...] = ("html", "xlsx", "csv")


def _resolve(path: Path | None, info: ValidationInfo) -> Path | None:
    # same rule as the rest of the config: relative paths are relative to the config file
    base = (info.context or {}).get("base_dir")
    if path is not None and base is not None and not path.is_absolute():
        return (Path(base) / path).resolve()
    return path


NamesPath = Annotated[Path | None, AfterValidator(_resolve)]


class ReportOptions(StrictModel):
    """What the policy report shows and which files it writes.

    The report is written for one exporter (its opportunities) and one pair (the bilateral
    profile of ``exporter`` and ``partner``). Both default to what the data make most relevant:
    the largest exporter of the profile year, and its largest trading partner.
    """

    exporter: str | None = None
    """Country whose opportunities are shown (default: the largest exporter in the profile year)."""
    partner: str | None = None
    """Partner of the bilateral profile (default: the exporter's largest partner by total trade)."""
    year: int | None = Field(None, ge=1000, le=9999)
    """Year of the bilateral profile (default: the latest year of the panel)."""
    top_n: int = Field(10, ge=1, le=100)
    """Rows of every 'top' list and bars of every ranked chart."""
    table_rows: int = Field(1_000_000, ge=1, le=1_000_000)
    """Best-ranked opportunities in the web page's table (default: all of them; the page embeds
    them as compact data and renders the rows in view; the spreadsheet and CSV hold them all)."""
    formats: list[ReportFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    """Files to write; ``pdf`` needs Chromium (see ``chromium``)."""
    title: str = Field("Export opportunities report", min_length=1, max_length=200)
    """Title of the page and of the spreadsheet."""
    country_names: NamesPath = None
    """CSV with columns ``country, name`` (codes shown where a name is missing)."""
    product_names: NamesPath = None
    """CSV with columns ``product, name`` and optionally ``group`` (or ``sector``) for the
    product-group control; BACI's ``product_codes_*.csv`` (``code, description``) and Comtrade's
    descriptions (``cmdCode, cmdDesc``) work as they are. Default names: HS chapter titles and
    HS sections (as groups) for HS-like codes; countries from gravity's country table."""
    country_groups: NamesPath = None
    """Country groups for the page's income-group filter: the World Bank's ``WDICountry.csv``
    (``Country Code``, ``Income Group``), the DataBank 'Metadata - Countries' sheet (CSV or
    Excel), or any CSV with ``country, group`` columns. Regions (UN sub-regions) and the EU,
    OECD and G7 groups come with gravity (from ``country_converter``); without this table the
    page says that no income groups were given."""
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of the trade values (e.g. ``EUR``); default: the panel metadata's
    ``value.currency`` (``data.metadata.currency``); without either, amounts are shown as plain
    numbers labelled 'value units'."""
    chromium: Path = Path("/usr/bin/chromium")
    """Chromium (or Chrome) executable used to print ``report.pdf``."""

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, value: list[ReportFormat]) -> list[ReportFormat]:
        if not value:
            raise ValueError("give at least one of html, xlsx, csv, pdf")
        return list(dict.fromkeys(value))

    @field_validator("exporter", "partner")
    @classmethod
    def _nonblank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank (omit the key for the default)")
        return value
