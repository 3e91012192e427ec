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
    year: int | None = None
    """Year of the bilateral profile (default: the latest year of the panel)."""
    top_n: int = Field(10, ge=1, le=100)
    """Rows of every 'top' list and bars of every ranked chart."""
    table_rows: int = Field(1000, ge=1, le=100_000)
    """Best-ranked opportunities shown in the web page (the spreadsheet and CSV hold them all)."""
    formats: list[ReportFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    """Files to write; ``pdf`` needs Chromium (see ``chromium``)."""
    title: str = Field("Export opportunities report", min_length=1, max_length=200)
    """Title of the page and of the spreadsheet."""
    country_names: NamesPath = None
    """CSV with columns ``country, name`` (codes shown where a name is missing)."""
    product_names: NamesPath = None
    """CSV with columns ``product, name`` and optionally ``group`` (or ``sector``) for the
    product-group control (default group: the first two digits of HS-like codes)."""
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
