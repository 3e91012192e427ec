"""Plotly figures as plain dicts (``{"data": [...], "layout": {...}}``), ready for JSON.

Plotly renders text (titles, tick labels, hover text) through its own small HTML dialect, so a
product called ``<b>x</b>`` would turn bold and ``<a href=...>`` would become a link. Every
string that comes from data goes through :func:`plotly_text`, which escapes it: plotly then
shows it literally. Every chart has a title, axis titles with units and a source line.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

import numpy as np
import pandas as pd

from gravity.report.data import ReportNames
from gravity.report.formatting import CURRENCY_SYMBOLS, format_money, format_share, money_label

__all__ = [
    "Chart",
    "counterfactual_chart",
    "destinations_chart",
    "history_chart",
    "plotly_text",
    "scatter_chart",
    "untapped_chart",
]

Chart = dict[str, Any]
BAR_COLOR = "#1f6f8b"
ACTUAL_COLOR = "#99a3a4"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
SCATTER_POINTS = 400
SOURCE_WIDTH = 72


def plotly_text(text: object) -> str:
    """Escape a data string for plotly's text rendering (it is shown literally).

    Plotly decodes ``&amp; &lt; &gt;`` and numeric entities but not ``&quot;``, so quotes are
    written as numeric entities.
    """
    escaped = html.escape(str(text), quote=False)
    return escaped.replace('"', "&#34;").replace("'", "&#39;")


def _layout(title: str, x_title: str, y_title: str, source: str, height: int) -> dict[str, Any]:
    """Common layout; ``title`` and ``source`` are plain text (escaped here)."""
    lines = textwrap.wrap(f"Source: {source}", SOURCE_WIDTH) or [""]
    return {
        "title": {"text": plotly_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "height": height + 13 * len(lines),
        "margin": {"l": 10, "r": 20, "t": 60, "b": 78 + 13 * len(lines)},
        "font": {"family": FONT, "size": 12},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"align": "left"},
        "annotations": [
            {
                "text": "<br>".join(plotly_text(line) for line in lines),
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 0,
                "yshift": -66,
                "xanchor": "left",
                "yanchor": "top",
                "align": "left",
                "font": {"size": 10, "color": "#555555"},
            }
        ],
    }


def _bar_layout(
    title: str,
    x_title: str,
    y_title: str,
    source: str,
    rows: int,
    *,
    base: int = 160,
    per_row: int = 28,
) -> dict[str, Any]:
    """Layout of a horizontal bar chart: one category per row, the first at the top."""
    layout = _layout(title, x_title, y_title, source, height=base + per_row * max(rows, 1))
    layout["yaxis"].update({"autorange": "reversed", "type": "category"})
    return layout


def money_axis(currency: str | None) -> dict[str, object]:
    """Axis settings for amounts in ``currency``: its symbol as a tick prefix when it has one."""
    axis: dict[str, object] = {"exponentformat": "B", "separatethousands": True}
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper())
    if symbol is not None:
        axis["tickprefix"] = symbol
    return axis


def _label(name: str, code: str) -> str:
    return name if name == code else f"{name} ({code})"


def untapped_chart(
    rows: pd.DataFrame,
    by: str,
    names: ReportNames,
    top_n: int,
    title: str,
    source: str,
    currency: str | None = None,
) -> Chart:
    """Horizontal bars of untapped potential summed by ``product`` or ``importer``."""
    sums = rows.groupby(by, observed=True)[["untapped", "potential", "actual"]].sum()
    sums = sums.sort_values("untapped", ascending=False, kind="stable").head(top_n)
    lookup = names.product if by == "product" else names.country
    labels = [plotly_text(_label(lookup(c), str(c))) for c in sums.index]
    hover = [
        [format_money(u, currency), format_money(p, currency), format_money(a, currency)]
        for u, p, a in sums[["untapped", "potential", "actual"]].to_numpy()
    ]
    what = "Product" if by == "product" else "Destination market"
    layout = _bar_layout(
        title, money_label("Untapped export potential", currency), what, source, len(sums), base=140
    )
    layout["xaxis"].update(money_axis(currency))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": sums["untapped"].astype(float).tolist(),
                "y": labels,
                "customdata": hover,
                "marker": {"color": BAR_COLOR},
                "name": "Untapped potential",
                "hovertemplate": "<b>%{y}</b><br>Untapped: %{customdata[0]}"
                "<br>Potential: %{customdata[1]}<br>Actual: %{customdata[2]}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def destinations_chart(
    rows: pd.DataFrame,
    names: ReportNames,
    top_n: int,
    title: str,
    source: str,
    currency: str | None = None,
) -> Chart:
    """Destinations ranked by potential: stacked bars of actual exports and untapped potential."""
    sums = rows.groupby("importer", observed=True)[["potential", "actual", "untapped"]].sum()
    sums = sums.sort_values("potential", ascending=False, kind="stable").head(top_n)
    labels = [plotly_text(_label(names.country(c), str(c))) for c in sums.index]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(sums["potential"] > 0, sums["actual"] / sums["potential"], np.nan)
    hover = [
        [
            format_money(a, currency),
            format_money(u, currency),
            format_money(p, currency),
            format_share(s),
        ]
        for a, u, p, s in zip(
            sums["actual"], sums["untapped"], sums["potential"], share, strict=True
        )
    ]
    layout = _bar_layout(
        title,
        money_label("Exports and potential", currency),
        "Destination market",
        source,
        len(sums),
    )
    layout["xaxis"].update(money_axis(currency))
    layout["barmode"] = "stack"
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    template = (
        "<b>%{y}</b><br>Actual: %{customdata[0]}<br>Untapped: %{customdata[1]}"
        "<br>Potential: %{customdata[2]}<br>Realised: %{customdata[3]}<extra></extra>"
    )
    traces = []
    for key, label, color in (
        ("actual", "Actual exports", ACTUAL_COLOR),
        ("untapped", "Untapped potential", BAR_COLOR),
    ):
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label,
                "x": sums[key].astype(float).tolist(),
                "y": labels,
                "customdata": hover,
                "marker": {"color": color},
                "hovertemplate": template,
            }
        )
    return {"data": traces, "layout": layout}


def interval_chart(
    rows: pd.DataFrame,
    names: ReportNames,
    top_n: int,
    title: str,
    source: str,
    currency: str | None = None,
    level: float | None = None,
) -> Chart:
    """The best-ranked opportunities' potential with its interval as error bars."""
    top = rows.sort_values("rank", kind="stable").head(top_n)
    potential = top["potential"].astype(float)
    low = top["potential_low"].astype(float).fillna(potential)
    high = top["potential_high"].astype(float).fillna(potential)
    has_product = "product" in top.columns
    labels = [
        plotly_text((f"{names.product(p)} to " if has_product else "") + names.country(i))
        for p, i in zip(
            top["product"] if has_product else top["importer"], top["importer"], strict=True
        )
    ]
    nominal = f"{level:.0%} interval" if level is not None else "interval"
    layout = _bar_layout(
        title,
        money_label(f"Potential, with its {nominal}", currency),
        "Opportunity",
        source,
        len(top),
    )
    layout["xaxis"].update(money_axis(currency))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": potential.tolist(),
                "y": labels,
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": (high - potential).clip(lower=0).tolist(),
                    "arrayminus": (potential - low).clip(lower=0).tolist(),
                    "color": "#333333",
                },
                "customdata": [
                    [
                        format_money(p, currency),
                        format_money(lo, currency),
                        format_money(h, currency),
                    ]
                    for p, lo, h in zip(potential, low, high, strict=True)
                ],
                "marker": {"color": BAR_COLOR},
                "name": "Potential",
                "hovertemplate": "<b>%{y}</b><br>Potential: %{customdata[0]}"
                f"<br>{nominal}: " + "%{customdata[1]} to %{customdata[2]}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def scatter_chart(
    rows: pd.DataFrame, names: ReportNames, title: str, source: str, currency: str | None = None
) -> Chart:
    """Feasibility against attractiveness; bubble area proportional to the untapped amount."""
    top = rows.sort_values("rank", kind="stable").head(SCATTER_POINTS)
    untapped = top["untapped"].astype(float).to_numpy()
    peak = float(untapped.max()) if len(untapped) and untapped.max() > 0 else 1.0
    has_product = "product" in top.columns
    hover = []
    for row in top.to_dict("records"):
        market = _label(names.country(row["importer"]), str(row["importer"]))
        what = _label(names.product(row["product"]), str(row["product"])) if has_product else ""
        hover.append(
            [
                plotly_text(what),
                plotly_text(market),
                format_money(row["untapped"], currency),
                str(int(row["rank"])),
            ]
        )
    layout = _layout(
        title,
        "Feasibility (0 = hardest, 1 = easiest)",
        "Attractiveness (0 = least, 1 = most)",
        source,
        height=520,
    )
    layout["xaxis"].update({"range": [-0.05, 1.05], "zeroline": False, "gridcolor": "#eeeeee"})
    layout["yaxis"].update({"range": [-0.05, 1.05], "zeroline": False, "gridcolor": "#eeeeee"})
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": top["feasibility"].astype(float).tolist(),
                "y": top["attractiveness"].astype(float).tolist(),
                "customdata": hover,
                "marker": {
                    "size": untapped.tolist(),
                    "sizemode": "area",
                    # the largest bubble gets a 40 px diameter
                    "sizeref": 2.0 * peak / 40.0**2,
                    "sizemin": 3,
                    "color": top["score"].astype(float).tolist(),
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {"title": {"text": "Score"}},
                    "opacity": 0.75,
                    "line": {"width": 0.5, "color": "#333333"},
                },
                "name": "Opportunity",
                "hovertemplate": "<b>%{customdata[0]}</b> to %{customdata[1]}"
                "<br>Untapped: %{customdata[2]}<br>Rank: %{customdata[3]}"
                "<br>Feasibility: %{x:.2f}<br>Attractiveness: %{y:.2f}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def history_chart(
    history: pd.DataFrame, exporter: str, partner: str, source: str, currency: str | None = None
) -> Chart:
    """Exports, imports and the balance of a pair over the years (in ``currency``)."""
    years = history["year"].astype(int).tolist()
    a, b = plotly_text(exporter), plotly_text(partner)
    traces = []
    for key, label, dash in (
        ("exports", f"Exports, {a} to {b}", "solid"),
        ("imports", f"Imports, {b} to {a}", "solid"),
        ("balance", "Balance (exports minus imports)", "dot"),
    ):
        values = history[key].astype(float)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": years,
                "y": values.tolist(),
                "customdata": [format_money(v, currency) for v in values],
                "line": {"dash": dash},
                "hovertemplate": "%{x}: %{customdata}<extra>" + label + "</extra>",
            }
        )
    layout = _layout(
        f"Trade between {exporter} and {partner}",
        "Year",
        money_label("Value", currency),
        source,
        height=420,
    )
    # no currency prefix: plotly would write "$-10B" for a deficit; the axis title gives the unit
    layout["yaxis"].update({"exponentformat": "B", "zerolinecolor": "#888888"})
    layout["xaxis"].update({"dtick": 1 if len(years) <= 15 else None, "tickformat": "d"})
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    return {"data": traces, "layout": layout}


def forecast_chart(path: pd.DataFrame, exporter: str, partner: str, currency: str | None) -> Chart:
    """Exports by year, then the potential at the horizon with its band as an error bar."""
    actual = path[path["kind"] == "actual"]
    potential = path[path["kind"] == "potential"]
    value = potential["value"].astype(float)
    above = (potential["high"].astype(float) - value).clip(lower=0).fillna(0)
    below = (value - potential["low"].astype(float)).clip(lower=0).fillna(0)
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Exports",
            "x": actual["year"].astype(int).tolist(),
            "y": actual["value"].astype(float).tolist(),
            "customdata": [format_money(v, currency) for v in actual["value"]],
            "hovertemplate": "%{x}: %{customdata}<extra>Exports</extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "Potential (with its band)",
            "x": potential["year"].astype(int).tolist(),
            "y": value.tolist(),
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": above.tolist(),
                "arrayminus": below.tolist(),
            },
            "marker": {"size": 10, "color": BAR_COLOR},
            "customdata": [
                [format_money(v, currency), format_money(lo, currency), format_money(h, currency)]
                for v, lo, h in zip(value, potential["low"], potential["high"], strict=True)
            ],
            "hovertemplate": "%{x}: %{customdata[0]} (%{customdata[1]} to %{customdata[2]})"
            "<extra>Potential</extra>",
        },
    ]
    a, b = plotly_text(exporter), plotly_text(partner)
    layout = _layout(
        f"Exports of {a} to {b} and the potential at the horizon",
        "Year",
        money_label("Value", currency),
        "panel and the opportunity table",
        height=400,
    )
    layout["yaxis"].update(money_axis(currency))
    layout["xaxis"].update({"tickformat": "d"})
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    return {"data": traces, "layout": layout}


EXPORT_COLOR = "#c0392b"


def counterfactual_chart(
    frame: pd.DataFrame, scenario: str, names: ReportNames, top_n: int, source: str
) -> Chart:
    """Horizontal bars of the change in real GDP and exports (full GE) in one scenario.

    Shows the ``top_n`` countries with the largest absolute change in real GDP.
    """
    rows = frame.loc[frame["scenario"] == scenario]
    order = rows["real_gdp_change_pct"].abs().sort_values(ascending=False, kind="stable").index
    rows = rows.loc[order[:top_n]]
    labels = [plotly_text(_label(names.country(c), str(c))) for c in rows["country"]]
    layout = _bar_layout(
        f"Scenario {scenario}: change in real GDP and exports",
        "Change from the baseline (%)",
        "Country",
        source,
        len(rows),
        per_row=40,
    )
    layout["barmode"] = "group"
    traces = []
    for column, label, color in (
        ("real_gdp_change_pct", "Real GDP", BAR_COLOR),
        ("exports_full_change_pct", "Exports (full GE)", EXPORT_COLOR),
    ):
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": rows[column].astype(float).tolist(),
                "y": labels,
                "marker": {"color": color},
                "name": label,
                "hovertemplate": f"<b>%{{y}}</b><br>{label}: %{{x:.3f}}%<extra></extra>",
            }
        )
    return {"data": traces, "layout": layout}
