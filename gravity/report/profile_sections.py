"""The extra sections of the bilateral profile as report tables, a chart and one-line notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gravity.report.charts import Chart, forecast_chart
from gravity.report.country_facts import CountryFacts
from gravity.report.data import ReportNames
from gravity.report.formatting import money_label
from gravity.report.interactive import SIGNIFICANT
from gravity.report.profile_more import (
    agreements,
    comparative_advantage,
    forecast_path,
    gdp_per_capita,
    neighbours,
    similar_economies,
    third_markets,
)
from gravity.report.tables import Column, ReportTable

__all__ = ["MORE_TABLES", "ProfileSections", "forecast_payload", "profile_sections"]

MORE_TABLES = (
    "rca_sides",
    "third_markets",
    "similar_economies",
    "similar_products",
    "gdp_per_capita",
    "forecast_path",
)
"""The tables of the extra sections, in the order the page shows them."""


@dataclass(frozen=True)
class ProfileSections:
    """Tables (by name), the forecast chart, and a line for each section without data."""

    tables: dict[str, ReportTable] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    """Agreements in force (a sentence), then one line per section that cannot be shown."""
    forecast: dict[str, Any] | None = None
    """What the page's script needs to redraw the forecast chart when the filters change (see
    :func:`forecast_payload`)."""


def profile_sections(
    panel: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    exporter: str,
    partner: str,
    year: int,
    top_n: int,
    names: ReportNames,
    currency: str | None,
    facts: CountryFacts | None = None,
) -> ProfileSections:
    """Compute and lay out the extra sections of the profile of ``exporter`` and ``partner``.

    ``facts`` (contiguity and WDI GDP per capita read from the config's covariate files) is
    used where the panel lacks them.
    """
    a, b = names.country(exporter), names.country(partner)
    tables: dict[str, ReportTable] = {}
    charts: dict[str, Chart] = {}
    lines = [agreements(panel, exporter, partner, year)]
    forecast: dict[str, Any] | None = None

    rca = comparative_advantage(panel, (exporter, partner), year, top_n)
    if isinstance(rca, str):
        lines.append(rca)
    else:
        frame = rca.assign(
            country_name=[names.country(c) for c in rca["country"]],
            product_name=[names.product(p) for p in rca["product"]],
        )
        tables["rca_sides"] = ReportTable(
            "rca_sides",
            f"Comparative advantage of each side, {year} (highest RCA)",
            (
                Column("country_name", "Economy"),
                Column("product_name", "Product"),
                Column("product", "Product code"),
                Column("rca", "RCA", "number", "Balassa RCA; above 1 = a specialisation"),
            ),
            frame,
        )

    border = neighbours(panel, partner, facts)
    markets = third_markets(
        panel, exporter, partner, year, top_n, border[0] if border is not None else None
    )
    if border is not None:
        where, basis = f"{b}'s neighbours", f"Neighbours from {border[1]}."
    else:
        where = f"{b}'s largest markets"
        basis = (
            "No contiguity data (a contig column, or CEPII GeoDist in data.covariates): the "
            f"markets are {b}'s largest."
        )
    if isinstance(markets, str):
        lines.append(markets)
    else:
        who = {"exporter": a, "partner": b, "tie": "tie"}
        frame = markets.assign(
            market_name=[names.country(c) for c in markets["market"]],
            leader_name=[who[x] for x in markets["leader"]],
        )
        tables["third_markets"] = ReportTable(
            "third_markets",
            f"Competition in {where}, {year}: who sells more there?",
            (
                Column("market_name", "Market"),
                Column("market", "Market code"),
                Column("from_exporter", money_label(f"Imports from {a}", currency), "money"),
                Column("from_partner", money_label(f"Imports from {b}", currency), "money"),
                Column("leader_name", "Sells more"),
            ),
            frame,
            basis,
            currency=currency,
        )

    similar = similar_economies(panel, exporter, year, top_n)
    if isinstance(similar, str):
        lines.append(similar)
    else:
        economies, products = similar
        tables["similar_economies"] = ReportTable(
            "similar_economies",
            f"Economies whose exports look most like {a}'s, {year}",
            (
                Column("country_name", "Economy"),
                Column("country", "Code"),
                Column("similarity", "Similarity", "score", "cosine of export shares, 0 to 1"),
            ),
            economies.assign(country_name=[names.country(c) for c in economies["country"]]),
        )
        if len(products):
            tables["similar_products"] = ReportTable(
                "similar_products",
                f"Where similar economies export and {a} does not (RCA \u2265 1), {year}",
                (
                    Column("product_name", "Product"),
                    Column("product", "Product code"),
                    Column("economies", "Similar economies exporting it", "int"),
                ),
                products.assign(product_name=[names.product(p) for p in products["product"]]),
            )
        else:
            lines.append(f"The economies most similar to {a} export nothing it does not.")

    wdi = facts.gdp_per_capita if facts is not None else None
    gdp = gdp_per_capita(panel, (exporter, partner), year, wdi)
    if isinstance(gdp, str):
        lines.append(gdp)
    else:
        if wdi is not None and facts is not None:
            # WDI's GDP is in current US dollars whatever the trade data's currency
            gdp_label, gdp_note = "GDP per capita (current USD)", f"Source: {facts.gdp_source}."
        else:
            gdp_label, gdp_note = "GDP per capita (unit of the covariate)", ""
        tables["gdp_per_capita"] = ReportTable(
            "gdp_per_capita",
            f"GDP per capita, {year}",
            (
                Column("country_name", "Economy"),
                Column("gdp_per_capita", gdp_label, "int"),
            ),
            gdp.assign(country_name=[names.country(c) for c in gdp["country"]]),
            gdp_note,
        )

    path = forecast_path(panel, opportunities, exporter, partner)
    if isinstance(path, str):
        lines.append(path)
    else:
        tables["forecast_path"] = ReportTable(
            "forecast_path",
            f"Exports of {a} to {b}, and the potential at the horizon",
            (
                Column("year", "Year", "year"),
                Column("kind", "Actual or potential"),
                Column("value", money_label("Value", currency), "money"),
                Column("low", money_label("Low", currency), "money"),
                Column("high", money_label("High", currency), "money"),
            ),
            path,
            "The potential is the sum over products. Its band combines the products' "
            "intervals as independent errors (each side's half-widths added in quadrature); "
            "adding up the interval ends instead would overstate the interval of the sum.",
            currency,
        )
        charts["forecast"] = forecast_chart(path, a, b, currency)
        forecast = forecast_payload(panel, opportunities, exporter, partner)
    return ProfileSections(tables, charts, lines, forecast)


def forecast_payload(
    panel: pd.DataFrame, opportunities: pd.DataFrame | None, exporter: str, partner: str
) -> dict[str, Any]:
    """The pair's exports by year, in all and by product, for the page's filters.

    Returns ``partner``, ``years``, ``total`` (exports to the partner by year) and, for a
    product panel, ``products`` (those of the partner's opportunity rows) with ``values``
    (one list per product, aligned with ``years``): the script sums the products the filters
    leave and recomputes the potential and its band from the filtered rows.
    """
    pair = panel[(panel["exporter"] == exporter) & (panel["importer"] == partner)]
    years = sorted(int(y) for y in panel["year"].unique())
    total = pair.groupby("year")["value"].sum().reindex(years, fill_value=0.0)
    out: dict[str, Any] = {
        "partner": partner,
        "years": years,
        "total": [float(f"{v:.{SIGNIFICANT}g}") for v in total.to_numpy(dtype=float)],
    }
    if "product" in panel.columns and opportunities is not None:
        wanted = set(
            opportunities.loc[
                (opportunities["exporter"] == exporter) & (opportunities["importer"] == partner),
                "product",
            ].astype(str)
        )
        rows = pair[pair["product"].astype(str).isin(wanted)]
        table = rows.pivot_table(
            index="product", columns="year", values="value", aggfunc="sum", fill_value=0.0
        ).reindex(columns=years, fill_value=0.0)
        table = table[table.to_numpy().sum(axis=1) > 0]  # products never exported add nothing
        out["products"] = [str(p) for p in table.index]
        out["values"] = [
            [float(f"{v:.{SIGNIFICANT}g}") for v in row] for row in table.to_numpy(dtype=float)
        ]
    return out
