"""Option models describing each data source, as a config file's ``sources`` section would.

Each model is a frozen, strict pydantic model (:class:`~gravity._base.StrictModel`) with a
``kind`` field that selects the reader; :data:`Source` is their discriminated union. Paths may be
relative: :func:`gravity.panel.readers.read_source` resolves them against a base directory (the
config file's folder).
"""

from __future__ import annotations

import codecs
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from gravity._base import StrictModel
from gravity.panel.countries import CodeMode
from gravity.panel.products import ProductLevel

__all__ = [
    "CANONICAL_COLUMNS",
    "BaciSource",
    "ComtradeSource",
    "GenericSource",
    "GeoDistSource",
    "Source",
    "WdiSource",
]

#: Canonical column names a generic source may map to.
CANONICAL_COLUMNS = ("exporter", "importer", "country", "product", "year", "value", "indicator")

CanonicalName = Literal["exporter", "importer", "country", "product", "year", "value", "indicator"]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _known_encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(
            f"unknown encoding {value[:40]!r}; use e.g. 'utf-8', 'utf-8-sig', 'latin-1' or 'cp1252'"
        ) from None
    return value


Encoding = Annotated[str, AfterValidator(_known_encoding)]
"""A text encoding Python knows (checked when the config is read, not when the file is)."""


class _CountryOptions(StrictModel):
    """Country-code options shared by every source."""

    codes: CodeMode = Field(
        "iso3", description="'iso3': harmonize country codes to ISO3; 'keep': leave them as is."
    )
    max_unmatched_share: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Largest share of trade value (rows for covariates) with unmatched country "
        "codes that is dropped with a warning; above it reading fails.",
    )
    code_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Explicit code translations tried first, e.g. {'490': 'TWN'}.",
    )


class BaciSource(_CountryOptions):
    """CEPII BACI yearly files (``BACI_HS{rev}_Y{year}_V{release}.csv``, columns t,i,j,k,v,q).

    ``paths`` lists files or glob patterns (``"baci/BACI_HS17_Y*_V202401b.csv"``). Numeric
    country codes are resolved through ``country_codes`` (BACI's ``country_codes_V*.csv``) when
    given, else through the built-in table. Values are converted from thousand USD to USD.
    """

    kind: Literal["baci"] = "baci"
    paths: list[str] = Field(min_length=1, description="BACI yearly CSV files or glob patterns.")
    country_codes: str | None = Field(None, description="BACI's country_codes_V*.csv file.")
    product_level: ProductLevel = Field("hs6", description="Aggregate HS6 products to this level.")
    quantity: bool = Field(False, description="Also read column q (tonnes) as 'quantity'.")

    _paths = field_validator("paths", mode="before")(_as_list)

    @model_validator(mode="after")
    def _quantity_needs_hs6(self) -> BaciSource:
        if self.quantity and self.product_level != "hs6":
            raise ValueError("quantity=True is only available with product_level='hs6'")
        return self


class ComtradeSource(_CountryOptions):
    """UN Comtrade CSV exports (Comtrade+ API or bulk files, or the legacy API/website layout).

    ``flow="exports"`` keeps exports as reported (reporter -> partner). ``flow="mirror"`` keeps
    imports as reported by the importer and reads them as the partner's exports (partner ->
    reporter); these values are CIF, not FOB, and are not adjusted. ``frequency="monthly"``
    reads monthly files (``period`` / ``Period`` YYYYMM, else ``refYear`` + ``refMonth``) and
    adds ``month`` (1-12) and ``period`` (``"YYYY-MM"``) columns; annual reading rejects them.
    """

    kind: Literal["comtrade"] = "comtrade"
    paths: list[str] = Field(min_length=1, description="Comtrade CSV files or glob patterns.")
    flow: Literal["exports", "mirror"] = "exports"
    product_level: ProductLevel | None = Field(
        None, description="Aggregate six-digit HS codes to this level; None keeps codes as read."
    )
    value_column: str | None = Field(
        None,
        description="Trade value column; by default the first of primaryValue, TradeValue, "
        "'Trade Value (US$)', ... that exists.",
    )
    frequency: Literal["annual", "monthly"] = Field(
        "annual",
        description="'annual': one row per year (monthly rows are an error); 'monthly': read "
        "YYYYMM periods into year, month and period ('YYYY-MM') columns; the panel then has "
        "one row per month (zeros filled over the months observed) and serves the report "
        "(month-on-same-month figures); stages that need years (fit, relatedness, potential, "
        "backtest, counterfactual, batch) refuse it.",
    )
    sep: str = ","
    encoding: Encoding = "utf-8-sig"

    _paths = field_validator("paths", mode="before")(_as_list)


class GeoDistSource(_CountryOptions):
    """CEPII GeoDist: ``dist_cepii.csv`` (bilateral) or ``geo_cepii.csv`` (country attributes).

    ``table="auto"`` recognizes the file from its columns (``iso_o``/``iso_d`` or ``iso3``). For
    ``geo_cepii.csv`` only the row of each country's main city (``maincity == 1``) is kept.
    """

    kind: Literal["geodist"] = "geodist"
    path: str
    table: Literal["auto", "dist", "geo"] = "auto"
    sep: str = ";"
    encoding: Encoding = "latin-1"


class WdiSource(_CountryOptions):
    """World Bank WDI files: wide (one column per year), long, or a raw DataBank export.

    ``indicator`` names the series for files that do not carry an indicator column (the file
    stem is used otherwise). ``aggregates="drop"`` removes regional and income-group rows
    (``WLD``, ``EUU``, ``HIC``, ...), counting them; ``"flag"`` keeps them with
    ``is_aggregate = True`` (aggregates are never converted by ISO3 harmonization).
    """

    kind: Literal["wdi"] = "wdi"
    paths: list[str] = Field(min_length=1, description="WDI CSV files or glob patterns.")
    indicator: str | None = None
    aggregates: Literal["drop", "flag"] = "drop"
    encoding: Encoding = "utf-8-sig"

    _paths = field_validator("paths", mode="before")(_as_list)


class GenericSource(_CountryOptions):
    """Any table (CSV, Parquet, Stata ``.dta``, Excel) with a column mapping.

    ``columns`` maps canonical names to the file's columns, e.g. ``{"exporter": "Origin",
    "importer": "Destination", "product": "Product", "year": "Year", "value": "Euros"}``;
    columns that are not mapped are carried along unchanged. Country codes are kept as they are
    unless ``codes="iso3"``. ``value_scale`` multiplies the value (1000 for thousands).
    """

    kind: Literal["generic"] = "generic"
    path: str
    columns: dict[CanonicalName, str] = Field(default_factory=dict)
    codes: CodeMode = "keep"
    format: Literal["auto", "csv", "parquet", "stata", "excel"] = "auto"
    sheet: str | int | None = Field(None, description="Excel sheet name or 0-based index.")
    sep: str | None = Field(None, description="CSV separator; default ',' (tab for .tsv).")
    encoding: Encoding = "utf-8-sig"
    value_scale: float = Field(1.0, gt=0.0)
    product_digits: int | None = Field(
        None, ge=1, le=12, description="Zero-pad numeric product codes to this many digits."
    )
    product_level: ProductLevel | None = Field(
        None, description="Aggregate six-digit HS codes to this level (unmapped columns dropped)."
    )
    missing: list[str] = Field(
        default_factory=list,
        description="Extra text read as missing in every column, code columns included (e.g. "
        "['NA'] when NA never means Namibia); numbers' usual markers (NA, NaN, ..) are always "
        "missing in value columns.",
    )
    duplicates: Literal["error", "sum"] = Field(
        "error",
        description="Rows sharing a key: an error (default), or summed ('sum'; other columns "
        "must agree within each group).",
    )

    @field_validator("columns")
    @classmethod
    def _one_role_per_column(cls, columns: dict[str, str]) -> dict[str, str]:
        roles: dict[str, list[str]] = {}
        for canonical, column in columns.items():
            roles.setdefault(column, []).append(canonical)
        twice = {column: names for column, names in roles.items() if len(names) > 1}
        if twice:
            column, names = next(iter(twice.items()))
            raise ValueError(
                f"column {column!r} is mapped to {' and '.join(names)}; map each file column to "
                "one canonical name"
            )
        return columns


Source = Annotated[
    BaciSource | ComtradeSource | GeoDistSource | WdiSource | GenericSource,
    Field(discriminator="kind"),
]
"""Any data source; ``kind`` selects the model."""
