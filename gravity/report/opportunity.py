"""The exporter's opportunities as two honest lists, their tables and charts.

As the ITC keeps its export potential indicator apart from its product diversification
indicator, the report keeps two lists apart:

- **existing**: more of what the exporter already sells (its supply of the product is observed
  in the base year: ``supply_source == "observed"``, or, without that column, the exporter
  exports the product to some market). Only these enter the headline amounts and charts;
- **new**: products the exporter does not make competitively yet (supply predicted). They are
  ranked by the forecast's entry probability when the potential stage wrote one, shown with
  that probability, and never summed into the headline.

Years are explicit: amounts compare exports in the base year with potential in the horizon year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.report.charts import (
    Chart,
    destinations_chart,
    interval_chart,
    scatter_chart,
    untapped_chart,
)
from gravity.report.data import ReportNames
from gravity.report.options import ReportOptions
from gravity.report.tables import ReportTable, aggregate_table, opportunity_table

__all__ = [
    "EXISTING",
    "NEW",
    "OpportunityParts",
    "opportunity_lists",
    "opportunity_parts",
    "period_label",
]

EXISTING = "existing"
"""List of opportunities in products the exporter already exports (observed supply)."""
NEW = "new"
"""List of opportunities in products the exporter does not export yet (predicted supply)."""


@dataclass(frozen=True)
class OpportunityParts:
    """What the opportunities section shows; ``shown`` is ``None`` when there is nothing."""

    shown: ReportTable | None = None
    total: int = 0
    rows: pd.DataFrame | None = None
    """The exporter's rows, with the ``list`` column."""
    tables: dict[str, ReportTable] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    base_year: int | None = None
    year: int | None = None


def opportunity_lists(rows: pd.DataFrame) -> pd.Series:
    """Which list each opportunity row belongs to: :data:`EXISTING` or :data:`NEW`.

    Parameters
    ----------
    rows : pandas.DataFrame
        One exporter's opportunities (``exporter``, ``importer``, [``product``], ``year``,
        ``actual``, optionally ``supply_source``).

    Returns
    -------
    pandas.Series
        ``existing`` where the exporter's supply of the product is observed in the base year,
        ``new`` elsewhere; aggregate flows (no product) are all ``existing``.
    """
    if "supply_source" in rows.columns:
        observed = rows["supply_source"].astype(str).eq("observed").to_numpy()
    elif "product" in rows.columns:
        # without the potential stage's supply source: the product is exported to some market
        sold = rows.groupby(["exporter", "product", "year"], observed=True)["actual"].transform(
            "sum"
        )
        observed = (sold.fillna(0.0) > 0).to_numpy()
    else:
        observed = np.ones(len(rows), dtype=bool)
    return pd.Series(np.where(observed, EXISTING, NEW), index=rows.index, name="list")


def _years(rows: pd.DataFrame) -> tuple[int | None, int]:
    year = int(rows["year"].max())
    if "base_year" in rows.columns and rows["base_year"].notna().any():
        return int(rows["base_year"].max()), year
    return None, year


def period_label(base_year: int | None, year: int) -> str:
    """``exports 2016 → potential 2019`` (or ``potential 2019`` when the base year is unknown)."""
    if base_year is None:
        return f"potential {year}"
    return f"exports {base_year} \u2192 potential {year}"


def _new_products(
    rows: pd.DataFrame,
    names: ReportNames,
    who: str,
    label: str,
    limit: int,
    currency: str | None,
    level: float | None,
) -> ReportTable:
    if "entry_probability" in rows.columns and rows["entry_probability"].notna().any():
        order = rows.sort_values(
            ["entry_probability", "rank"], ascending=[False, True], kind="stable"
        )
        note = (
            "Ranked by the probability that the flow exists by the potential year (the "
            "forecast's entry probability); their potential is not added to the headline."
        )
    else:
        order = rows.sort_values("rank", kind="stable")
        note = (
            "Entry probability not available (the potential stage ran without model: forecast); "
            "ranked by score. Their potential is not added to the headline."
        )
    return opportunity_table(
        order.head(limit),
        names,
        "new_products",
        f"New products for {who}: not yet exported competitively ({label})",
        currency,
        level,
        note,
        ordered=True,
    )


def opportunity_parts(
    opps: pd.DataFrame | None,
    missing: str,
    options: ReportOptions,
    names: ReportNames,
    exporter: str | None,
    source: str,
    currency: str | None,
    level: float | None,
) -> OpportunityParts:
    """Tables and charts of one exporter's opportunities, split into the two lists.

    Parameters
    ----------
    opps : pandas.DataFrame or None
        The opportunity table of every exporter (``None``: the potential stage did not run).
    missing : str
        Why ``opps`` is absent (one sentence).
    options : ReportOptions
        ``top_n`` and ``table_rows``.
    names : ReportNames
        Country and product names.
    exporter : str or None
        Whose opportunities.
    source : str
        The data, for the charts' source notes.
    currency : str or None
        ISO code of the amounts.
    level : float or None
        Nominal coverage of the potential interval.

    Returns
    -------
    OpportunityParts
    """
    if opps is None:
        return OpportunityParts(notes=[f"No opportunity table: {missing}."])
    rows = opps[opps["exporter"] == exporter] if exporter is not None else opps.iloc[0:0]
    if rows.empty:
        ranked = ", ".join(sorted(opps["exporter"].unique())[:8])
        return OpportunityParts(
            notes=[
                f"The opportunity table has no rows for {names.country(exporter)} "
                f"(exporters ranked: {ranked})."
            ]
        )
    rows = rows.assign(list=opportunity_lists(rows))
    who = names.country(exporter)
    base_year, year = _years(rows)
    label = period_label(base_year, year)
    title = f"Export opportunities of {who} ({label})"
    all_rows = opportunity_table(rows, names, title=title, currency=currency, level=level)
    shown = opportunity_table(
        rows.sort_values("rank", kind="stable").head(options.table_rows),
        names,
        title=title,
        currency=currency,
        level=level,
    )
    latest = rows[rows["year"] == year]
    existing = latest[latest["list"] == EXISTING]
    new = latest[latest["list"] == NEW]
    where = f"gravity export-potential estimates ({label}); data: {source}"
    notes: list[str] = []
    tables: dict[str, ReportTable] = {"opportunities": all_rows}
    charts: dict[str, Chart] = {}
    new_table = (
        _new_products(new, names, who, label, options.top_n * 5, currency, level)
        if len(new)
        else None
    )
    if existing.empty:
        if new_table is not None:
            tables["new_products"] = new_table
        notes.append(
            f"{who} has no opportunities in products it already exports; the headline is empty."
        )
        return OpportunityParts(shown, len(rows), rows, tables, charts, notes, base_year, year)
    headline = f"in products {who} already exports"
    tables["destinations"] = aggregate_table(
        existing,
        "importer",
        names,
        "destinations",
        f"Destinations ranked by untapped potential {headline} ({label})",
        currency=currency,
    )
    charts["markets"] = untapped_chart(
        existing,
        "importer",
        names,
        options.top_n,
        f"Untapped potential of {who} by market, {headline} ({label})",
        where,
        currency,
    )
    charts["destinations"] = destinations_chart(
        existing,
        names,
        options.top_n,
        f"Destinations of {who} ranked by potential ({label})",
        where,
        currency,
    )
    if "product" in rows.columns:
        tables["products"] = aggregate_table(
            existing,
            "product",
            names,
            "products",
            f"Products ranked by untapped potential {headline} ({label})",
            currency=currency,
        )
        charts["products"] = untapped_chart(
            existing,
            "product",
            names,
            options.top_n,
            f"Untapped potential of {who} by product, {headline} ({label})",
            where,
            currency,
        )
    if {"potential_low", "potential_high"} <= set(rows.columns):
        charts["intervals"] = interval_chart(
            existing,
            names,
            options.top_n,
            f"Best-ranked opportunities of {who} in products it already exports ({label})",
            where,
            currency,
            level,
        )
    if {"feasibility", "attractiveness", "score"} <= set(rows.columns):
        charts["scatter"] = scatter_chart(
            latest,
            names,
            f"Feasibility and attractiveness of {who}'s opportunities ({label})",
            where,
            currency,
        )
    if new_table is not None:
        tables["new_products"] = new_table
    return OpportunityParts(shown, len(rows), rows, tables, charts, notes, base_year, year)
