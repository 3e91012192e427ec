"""The opportunity table as compact embedded data, its controls and the page's skeleton for it.

Every opportunity row of the exporter travels in the page as columns (numbers rounded to
:data:`SIGNIFICANT` digits; text columns as a dictionary of distinct values plus one integer code
per row), and the script renders only the rows in view (a virtualised table), so tens of
thousands of rows stay fast. Filters (year, list, product group, destination, region, search)
and sorting work on all rows; the charts follow the filters.

Nothing here builds markup from data in the browser: the script writes cells with
``textContent``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gravity.report.formatting import CURRENCY_SYMBOLS
from gravity.report.markup import Markup, el
from gravity.report.tables import ReportTable

__all__ = [
    "COUNTRY_FILTERS",
    "SIGNIFICANT",
    "TABLE_KEYS",
    "controls",
    "opportunity_skeleton",
    "table_payload",
]

SIGNIFICANT = 7
"""Significant digits of the numbers embedded for the page (display shows three)."""

TABLE_KEYS = (
    "rank",
    "list",
    "product_name",
    "group",
    "importer_name",
    "base_year",
    "year",
    "actual",
    "potential",
    "potential_low",
    "potential_high",
    "untapped",
    "entry_probability",
    "realised_share",
    "feasibility",
    "attractiveness",
    "score",
)
"""Columns shown in the page's table (the spreadsheet and CSV have them all)."""
NUMERIC = {"money", "share", "change", "score", "number", "int", "year", "pvalue"}


def _round(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return float(f"{number:.{SIGNIFICANT}g}")


def _text_column(values: pd.Series) -> dict[str, list[Any]]:
    text = values.map(lambda v: None if v is None or v != v else str(v))
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return {"dict": [str(u) for u in uniques], "codes": [int(c) for c in codes]}


COUNTRY_FILTERS = (
    ("region", "Region", "All regions"),
    ("bloc", "Country group", "All groups"),
    ("income", "Income group", "All income groups"),
)
"""The destination filters: key, label, the 'everything' choice. ``bloc`` values list every
group a country belongs to (``"EU; OECD"``): a row matches when the chosen one is among them."""


def table_payload(
    table: ReportTable,
    currency: str | None,
    country_filters: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The table's rows as compact columns for the page's script.

    Parameters
    ----------
    table : ReportTable
        The exporter's opportunities (every row).
    currency : str or None
        ISO code of the money columns (its symbol goes to the script's formatter).
    country_filters : Mapping, optional
        For each key of :data:`COUNTRY_FILTERS`, destination code to its value.

    Returns
    -------
    dict
        ``columns`` (key, label, kind, help, shown), ``data`` (key to a list of numbers, or to
        ``{"dict": [...], "codes": [...]}`` for text, ``-1`` = missing), ``n``, ``currency``,
        ``symbol``.
    """
    frame = table.frame
    data: dict[str, Any] = {}
    columns = []
    for column in table.columns:
        values = frame[column.key]
        if column.kind == "text":
            data[column.key] = _text_column(values)
        else:
            data[column.key] = [_round(v) for v in values]
        columns.append(
            {
                "key": column.key,
                "label": column.label,
                "kind": column.kind,
                "help": column.help,
                "shown": column.key in TABLE_KEYS,
            }
        )
    if "importer" in frame.columns:
        for key, _, _ in COUNTRY_FILTERS:
            lookup = (country_filters or {}).get(key) or {}
            if lookup:  # without values the filter is disabled: nothing to embed
                data[key] = _text_column(
                    frame["importer"].map(lambda c, m=lookup: m.get(str(c), ""))
                )
    return {
        "columns": columns,
        "data": data,
        "n": len(frame),
        "currency": currency or "",
        "symbol": CURRENCY_SYMBOLS.get((currency or "").upper(), ""),
    }


def _options(values: Iterable[tuple[str, str]], everything: str) -> list[Markup]:
    return [el("option", {"value": ""}, everything)] + [
        el("option", {"value": v}, label) for v, label in values
    ]


def _select(label: str, key: str, values: list[tuple[str, str]], everything: str) -> Markup:
    return el(
        "label",
        {},
        label,
        el("select", {"id": f"f-{key}", "disabled": not values}, _options(values, everything)),
    )


def controls(
    table: ReportTable, country_filters: Mapping[str, Mapping[str, str]] | None = None
) -> Markup:
    """The filter controls: year, list, group, destination, region, country and income groups.

    Also a search box and a reset button; a filter with nothing to choose is disabled.
    """
    frame = table.frame
    years = sorted({str(int(y)) for y in frame["year"].dropna()}, reverse=True)
    groups = sorted(set(frame["group"])) if "group" in frame.columns else []
    dests = (
        frame[["importer", "importer_name"]]
        .drop_duplicates()
        .sort_values("importer_name", kind="stable")
    )
    lists = [
        ("existing", "More of what is exported"),
        ("new", "New products (not yet competitive)"),
    ]
    present = set(frame["list"]) if "list" in frame.columns else set()
    country_selects = []
    for key, label, everything in COUNTRY_FILTERS:
        lookup = (country_filters or {}).get(key) or {}
        found: set[str] = set()
        for code in dests["importer"]:
            found |= (
                set(lookup.get(str(code), "").split("; "))
                if key == "bloc"
                else {lookup.get(str(code), "")}
            )
        values = sorted(found - {""})
        country_selects.append(_select(label, key, [(v, v) for v in values], everything))
    return el(
        "div",
        {"class": "controls"},
        _select("Year", "year", [(y, y) for y in years], "All years"),
        _select("List", "list", [x for x in lists if x[0] in present], "Both lists"),
        _select("Product group", "group", [(g, g) for g in groups], "All groups"),
        _select(
            "Destination",
            "dest",
            list(zip(dests["importer"], dests["importer_name"], strict=True)),
            "All destinations",
        ),
        *country_selects,
        el(
            "label",
            {},
            "Search product or market",
            el("input", {"id": "f-search", "type": "search", "placeholder": "name or code"}),
        ),
        el("button", {"id": "f-reset", "type": "button"}, "Reset filters"),
    )


def opportunity_skeleton(table: ReportTable) -> Markup:
    """The table's header (sort buttons) and a body the script fills with the rows in view."""
    by_key = {c.key: c for c in table.columns}
    cols = [by_key[k] for k in TABLE_KEYS if k in by_key]  # the page's order, not the file's
    head = el(
        "tr",
        {},
        [
            el(
                "th",
                {
                    "class": "num" if c.kind in NUMERIC else None,
                    "title": c.help or None,
                    "data-key": c.key,
                    "data-type": "number" if c.kind in NUMERIC else "text",
                    "aria-sort": "none",
                },
                el("button", {"type": "button"}, c.label),
            )
            for c in cols
        ],
    )
    return el(
        "div",
        {"class": "table-wrap", "id": "opportunity-wrap"},
        el(
            "table",
            {"id": "opportunity-table"},
            el("thead", {}, head),
            el(
                "tbody",
                {},
                el(
                    "tr",
                    {"class": "noscript"},
                    el(
                        "td",
                        {"colspan": str(len(cols))},
                        "The table needs JavaScript; opportunities.xlsx and "
                        "csv/opportunities.csv hold every row.",
                    ),
                ),
            ),
        ),
    )
