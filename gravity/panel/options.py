"""Option models of the panel builder: sample filters, zeros, covariates, derived variables.

Each is a frozen, strict pydantic model (:class:`~gravity._base.StrictModel`), so the same
class validates a config file's section and a Python call. :mod:`gravity.config.schema` embeds
them (``DataConfig`` derives from :class:`PanelOptions`, ``SampleConfig`` from
:class:`SampleOptions`).

Example (YAML)::

    data:
      trade: {kind: baci, paths: [BACI_HS92_Y2021_V202401b.csv], product_level: hs4}
      zeros: auto                 # or {mode: fill, universe: year, max_rows: 20000000}
      covariates:
        - kind: geodist
          path: dist_cepii.csv
          variables: {dist: dist, contig: contig, comlang: comlang_off}
        - kind: wdi
          paths: [gdp.csv]
          indicator: gdp          # merged as gdp_o (exporter) and gdp_d (importer)
      derived:
        - {name: log_dist, op: log, of: dist}
        - {name: log_gdp, op: log, of: gdp}   # country-level: log_gdp_o and log_gdp_d
    sample:
      years: [2019, 2020, 2021]
      min_population: 1000000     # the Atlas of Economic Complexity's country filters
      min_exports: 1.0e9
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from gravity._base import StrictModel
from gravity.panel.readers.sources import GenericSource, GeoDistSource, WdiSource

__all__ = [
    "CovariateSource",
    "DerivedVariable",
    "GenericCovariate",
    "GeoDistCovariate",
    "PanelOptions",
    "SampleOptions",
    "StreamingOptions",
    "ValueMetadata",
    "WdiCovariate",
    "ZeroOptions",
]

KeyKind = Literal["auto", "pair", "pair_year", "country", "country_year"]
"""How a covariate is merged: on (exporter, importer[, year]) or on (country[, year])."""


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _generic_by_default(value: object) -> object:
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "generic", **value}
    return value


class SampleOptions(StrictModel):
    """Row filters applied to the panel; each counts the rows and the trade value it removes.

    ``years``, ``exporters``, ``importers`` and ``products`` keep the rows whose value is listed;
    ``countries`` keeps rows whose exporter *and* importer are listed; ``exclude_domestic`` drops
    intra-national flows (exporter == importer). ``min_population`` and ``min_exports`` are the
    Atlas of Economic Complexity's thresholds (1 million people, USD 1 billion of exports a year):
    a country passes when its mean over the panel's years reaches the threshold. Population comes
    from the country-level covariate variable ``population_variable``; exports are the country's
    total exports in the panel. ``thresholds_apply_to`` says whether a failing country is removed
    as exporter, importer or both; countries without population data fail the test (they are
    listed in the manifest).
    """

    years: list[int] | None = None
    exclude_domestic: bool = False
    exporters: list[str] | None = None
    importers: list[str] | None = None
    products: list[str] | None = None
    countries: list[str] | None = None
    min_population: float | None = Field(None, ge=0.0)
    min_exports: float | None = Field(None, ge=0.0)
    population_variable: str = "pop"
    thresholds_apply_to: Literal["exporter", "importer", "both"] = "both"

    _lists = field_validator("exporters", "importers", "products", "countries", mode="before")(
        _as_list
    )


class ZeroOptions(StrictModel):
    """Absent flows as explicit zeros (PPML needs them).

    ``mode="auto"`` fills zeros for sources that omit them (BACI, Comtrade) and keeps generic
    tables as given; ``"fill"`` always fills; ``"none"`` never does. The rectangle is exporters x
    importers x years (x products) observed after the sample filters (``universe="panel"``), or
    each year's own exporters, importers and products (``universe="year"``). Domestic cells
    (exporter == importer) are never filled: a missing domestic flow is unknown, not zero. When
    the filled panel would exceed ``max_rows`` (product-level panels: 200 x 200 x 1,200 HS4
    products is 48 million rows), zeros stay implicit: the panel keeps the observed rows, records
    the universe and the zero count, and :meth:`gravity.panel.build.Panel.dense` fills the
    products an estimator asks for. A plain string (``zeros: fill``) sets ``mode``.
    """

    mode: Literal["auto", "fill", "none"] = "auto"
    universe: Literal["panel", "year"] = "panel"
    max_rows: int = Field(10_000_000, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _mode_string(cls, value: object) -> object:
        return {"mode": value} if isinstance(value, str) else value


class _MergeOptions(StrictModel):
    """How a covariate table is merged onto the panel."""

    name: str | None = Field(None, description="Label in the manifest (default: the file stem).")
    variables: dict[str, str] | None = Field(
        None,
        description="Panel name -> column of the table (WDI: indicator code, or the 'indicator' "
        "option); default: every column that is not a key.",
    )
    keys: KeyKind = Field(
        "auto",
        description="Merge keys; 'auto' uses exporter/importer when the table has them, else "
        "country, plus year when both the table and the panel have one.",
    )
    year: int | None = Field(
        None,
        description="Take this year of a yearly table and merge it without years (for "
        "cross-section panels, or a time-invariant snapshot).",
    )
    on_missing: Literal["keep", "drop", "error"] = Field(
        "keep",
        description="Panel rows without a match: keep them with NaN (counted), drop them "
        "(counted), or stop with an error listing the unmatched keys.",
    )
    units: dict[str, str] = Field(
        default_factory=dict, description="Unit of each variable, stored in the panel metadata."
    )


class GeoDistCovariate(GeoDistSource, _MergeOptions):
    """CEPII GeoDist as a covariate: ``dist_cepii.csv`` (pairs) or ``geo_cepii.csv`` (countries)."""


class WdiCovariate(WdiSource, _MergeOptions):
    """World Bank WDI indicators as country-year covariates (``gdp`` becomes gdp_o, gdp_d)."""


class GenericCovariate(GenericSource, _MergeOptions):
    """Any table of pair or country covariates, through a column mapping."""


CovariateSource = Annotated[
    GeoDistCovariate | WdiCovariate | GenericCovariate,
    Field(discriminator="kind"),
    BeforeValidator(_generic_by_default),
]
"""One entry of ``data.covariates`` (``kind`` geodist, wdi or generic, the default)."""

DerivedOp = Literal["log", "ratio", "product", "sum"]

_ARITY: dict[str, tuple[int, int | None]] = {
    "log": (1, 1),
    "ratio": (2, 2),
    "product": (2, None),
    "sum": (2, None),
}


class DerivedVariable(StrictModel):
    """A variable computed from panel columns after the covariates are merged.

    ``op`` is ``log`` (natural log of one column), ``ratio`` (first / second), ``product`` or
    ``sum`` (of two or more). When the inputs are country-level variables merged as ``<v>_o`` and
    ``<v>_d``, the result is computed for both sides: ``{name: gdppc, op: ratio, of: [gdp,
    pop]}`` gives ``gdppc_o`` and ``gdppc_d``. Rows where the result is undefined (log of zero or
    a negative number, division by zero, a missing input) get NaN and are counted.
    """

    name: str = Field(min_length=1)
    op: DerivedOp
    of: list[str] = Field(min_length=1)

    _of = field_validator("of", mode="before")(_as_list)

    @model_validator(mode="after")
    def _arity(self) -> DerivedVariable:
        low, high = _ARITY[self.op]
        if len(self.of) < low or (high is not None and len(self.of) > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise ValueError(
                f"derived variable {self.name!r}: op {self.op!r} takes {wanted} input column(s), "
                f"got {len(self.of)} ({', '.join(self.of)})"
            )
        return self


class ValueMetadata(StrictModel):
    """Units of the trade value, stored in the panel's metadata.

    Defaults come from the source (BACI and Comtrade: USD); set them for generic tables, e.g.
    ``{currency: EUR, unit: EUR}`` for Eurostat data or ``{currency: USD, unit: million USD}``.
    """

    currency: str | None = None
    unit: str | None = None
    description: str | None = None


class StreamingOptions(StrictModel):
    """Build the panel piece by piece, within a memory budget (BACI over many years).

    The in-memory build holds the whole panel (about 125 bytes a row: 20 HS-6 BACI years are
    220 million rows, 27 GB). The streaming build reads the trade source one file (a BACI year)
    at a time, filters it, spills it sorted by product to temporary Parquet files, then sorts,
    merges covariates and writes ``panel.parquet`` one bucket of products at a time; the file,
    its metadata and the manifest counts are the same as the in-memory build's. ``enabled``:
    ``auto`` streams when the estimated in-memory build exceeds ``memory_budget_gb`` (and the
    data allow it: a trade file source, no domestic flows, no Atlas thresholds, annual data);
    ``true`` always streams (a one-line error says what stands in the way); ``false`` never
    does. A plain value (``streaming: true``) sets ``enabled``.
    """

    enabled: Literal["auto"] | bool = Field(
        "auto", description="auto, true or false: when to build the panel by streaming."
    )
    memory_budget_gb: float = Field(
        4.0,
        gt=0,
        description="Memory the panel build may use (GB): 'auto' streams above it, and a "
        "streamed bucket of products is sized to fit in it.",
    )
    temp_dir: str | None = Field(
        None,
        description="Folder for the temporary spill files (default: beside panel.parquet); "
        "they are removed at the end, also on error.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"enabled": value} if isinstance(value, str | bool) else value


class PanelOptions(StrictModel):
    """Everything the panel builder needs besides the trade source and the sample filters."""

    domestic: GenericSource | None = Field(
        None,
        description="Optional table of domestic (intra-national) flows: 'country' or "
        "exporter == importer, year, [product], value; appended to the trade flows.",
    )
    covariates: list[CovariateSource] = Field(default_factory=list)
    derived: list[DerivedVariable] = Field(default_factory=list)
    zeros: ZeroOptions = ZeroOptions()
    metadata: ValueMetadata = ValueMetadata()
    streaming: StreamingOptions = StreamingOptions()

    @model_validator(mode="after")
    def _unique_names(self) -> PanelOptions:
        names = [d.name for d in self.derived]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"derived variable {repeated[0]!r} is defined twice; rename one")
        return self
