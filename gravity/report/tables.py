"""The report's tables as data: columns with labels and kinds, rows in a frame.

One :class:`ReportTable` feeds the web page (formatted cells plus raw values for sorting), the
spreadsheet (number formats by kind) and the CSV files (raw values, labelled headers). Nothing
here writes files or produces markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.report.data import ReportNames
from gravity.report.formatting import Kind, format_value
from gravity.report.profile import BilateralProfile

__all__ = [
    "Column",
    "ReportTable",
    "aggregate_table",
    "coefficient_table",
    "counterfactual_table",
    "metrics_table",
    "opportunity_table",
    "profile_tables",
]


@dataclass(frozen=True)
class Column:
    """One column: key in the frame, header label, kind (formatting), optional explanation."""

    key: str
    label: str
    kind: Kind = "text"
    help: str = ""


@dataclass(frozen=True)
class ReportTable:
    """A titled table: ``frame`` holds one column per :class:`Column` key, in order."""

    name: str
    """Short identifier: sheet name, CSV file name and HTML id (letters, digits, underscores)."""
    title: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame
    note: str = ""

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        missing = [k for k in keys if k not in self.frame.columns]
        if missing:
            raise ValueError(f"table {self.name!r}: frame lacks columns {missing}")
        object.__setattr__(self, "frame", self.frame[keys].reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.frame)

    def cells(self) -> list[list[str]]:
        """Every cell formatted for people, row by row."""
        columns = [(c.key, c.kind) for c in self.columns]
        return [
            [format_value(row[key], kind) for key, kind in columns]
            for row in self.frame.to_dict("records")
        ]

    def raw(self) -> list[list[str | float | None]]:
        """Every cell as a JSON-ready value (numbers, text, None for missing), row by row."""
        out: list[list[str | float | None]] = []
        for row in self.frame.itertuples(index=False):
            out.append([_json_value(v, c.kind) for v, c in zip(row, self.columns, strict=True)])
        return out

    def labelled(self) -> pd.DataFrame:
        """The frame with header labels instead of keys (for CSV)."""
        return self.frame.rename(columns={c.key: c.label for c in self.columns})


def _json_value(value: object, kind: Kind) -> str | float | None:
    if kind == "text":
        return (
            None
            if value is None or (isinstance(value, float) and math.isnan(value))
            else str(value)
        )
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _named(frame: pd.DataFrame, names: ReportNames) -> pd.DataFrame:
    """Add product, product group and destination names next to the codes."""
    out = frame.copy()
    if "product" in out.columns:
        out["product_name"] = [names.product(p) for p in out["product"]]
        out["group"] = [names.group(p) for p in out["product"]]
    if "importer" in out.columns:
        out["importer_name"] = [names.country(c) for c in out["importer"]]
    return out


OPPORTUNITY_COLUMNS = (
    Column("rank", "Rank", "int", "1 = the best opportunity of the exporter (highest score)"),
    Column("product_name", "Product", "text"),
    Column("product", "Product code", "text"),
    Column("group", "Product group", "text"),
    Column("importer_name", "Destination", "text"),
    Column("importer", "Destination code", "text"),
    Column("year", "Year", "year", "year the potential refers to (base year + horizon)"),
    Column("actual", "Actual exports (USD)", "usd", "exports in the base year"),
    Column("potential", "Potential (USD)", "usd", "exports the model expects at the horizon"),
    Column("potential_low", "Potential, low (USD)", "usd", "lower end of the interval"),
    Column("potential_high", "Potential, high (USD)", "usd", "upper end of the interval"),
    Column("untapped", "Untapped (USD)", "usd", "potential minus actual, when positive"),
    Column("realised_share", "Realised share", "share", "actual exports over potential"),
    Column("feasibility", "Feasibility", "score", "0 to 1: how close the exporter already is"),
    Column("attractiveness", "Attractiveness", "score", "0 to 1: how much the market offers"),
    Column("score", "Score", "score", "0 to 1: weighted mean of the ranked components"),
)


def opportunity_table(
    rows: pd.DataFrame, names: ReportNames, name: str = "opportunities", title: str = ""
) -> ReportTable:
    """The exporter's opportunities, best first, with names beside the codes."""
    frame = _named(rows.sort_values(["year", "rank"], kind="stable"), names)
    columns = tuple(c for c in OPPORTUNITY_COLUMNS if c.key in frame.columns)
    return ReportTable(name, title or "Opportunities", columns, frame)


def aggregate_table(
    rows: pd.DataFrame, by: str, names: ReportNames, name: str, title: str, note: str = ""
) -> ReportTable:
    """Opportunities summed by ``by`` (``importer`` or ``product``), largest untapped first."""
    sums = rows.groupby(by, observed=True).agg(
        actual=("actual", "sum"),
        potential=("potential", "sum"),
        untapped=("untapped", "sum"),
        opportunities=("untapped", "size"),
        best_rank=("rank", "min"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["realised_share"] = np.where(
            sums["potential"] > 0, sums["actual"] / sums["potential"], np.nan
        )
    sums = sums.sort_values("untapped", ascending=False, kind="stable").reset_index()
    sums.insert(0, "position", np.arange(1, len(sums) + 1))
    frame = _named(sums, names)
    label = "Destination" if by == "importer" else "Product"
    first = (
        [Column("importer_name", label), Column("importer", "Destination code")]
        if by == "importer"
        else [
            Column("product_name", label),
            Column("product", "Product code"),
            Column("group", "Product group"),
        ]
    )
    columns = (
        Column("position", "Position", "int"),
        *first,
        Column("untapped", "Untapped (USD)", "usd"),
        Column("potential", "Potential (USD)", "usd"),
        Column("actual", "Actual exports (USD)", "usd"),
        Column("realised_share", "Realised share", "share"),
        Column("opportunities", "Opportunities", "int"),
        Column("best_rank", "Best rank", "int"),
    )
    return ReportTable(name, title, columns, frame, note)


def coefficient_table(coefficients: pd.DataFrame) -> ReportTable:
    """The main model's coefficients with standard errors, p-values and confidence intervals."""
    columns = tuple(
        c
        for c in (
            Column("term", "Term"),
            Column("estimate", "Estimate", "number"),
            Column("std_error", "Std. error", "number"),
            Column("statistic", "z / t", "number"),
            Column("p_value", "p-value", "pvalue"),
            Column("conf_low", "95% CI low", "number"),
            Column("conf_high", "95% CI high", "number"),
        )
        if c.key in coefficients.columns
    )
    return ReportTable("coefficients", "Coefficients of the main model", columns, coefficients)


METRIC_LABELS: dict[str, tuple[str, Kind, str]] = {
    "n": ("Candidates", "int", "cells evaluated"),
    "prevalence": ("Prevalence", "share", "share of candidates where the target happened"),
    "roc_auc": ("ROC-AUC", "number", "0.5 = chance, 1 = perfect ranking"),
    "auc_pr": ("AUC-PR", "number", "average precision; compare with the prevalence"),
    "rmse_log_level": ("RMSE, log level", "number", "root mean squared error of log values"),
    "mae_log_level": ("MAE, log level", "number", "mean absolute error of log values"),
    "rmse_log_growth": ("RMSE, log growth", "number", "root mean squared error of log growth"),
    "interval_coverage": ("Interval coverage", "share", "share of outcomes inside the interval"),
}


def metrics_table(metrics: pd.DataFrame) -> ReportTable:
    """Backtest metrics averaged over splits: a row per target and model, a column per metric."""
    wide = metrics.pivot_table(
        index=["target", "model"], columns="metric", values="value", aggfunc="mean", sort=False
    )
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    splits = metrics["split"].nunique() if "split" in metrics.columns else 1
    columns = [Column("target", "Target"), Column("model", "Model")]
    for metric in wide.columns[2:]:
        label = metric.replace("precision_at_", "Precision@").replace("_", " ")
        help_ = "share of the k best-ranked candidates that happened" if "@" in label else ""
        kind: Kind = "number"
        if metric in METRIC_LABELS:
            label, kind, help_ = METRIC_LABELS[metric]
        columns.append(Column(metric, label, kind, help_))
    return ReportTable(
        "backtest",
        "Backtest metrics (mean over splits)",
        tuple(columns),
        wide,
        f"Averaged over {splits} out-of-time split(s).",
    )


def _products_frame(frame: pd.DataFrame, names: ReportNames) -> pd.DataFrame:
    return frame.assign(product_name=[names.product(p) for p in frame["product"]])


def profile_tables(profile: BilateralProfile, names: ReportNames) -> dict[str, ReportTable]:
    """The profile's figures and product lists as tables (keyed by table name)."""
    a, b = names.country(profile.exporter), names.country(profile.partner)
    ways = {"exports": (a, b), "imports": (b, a)}
    figures = pd.DataFrame(
        {
            "label": [f.label for f in profile.figures],
            "value": [f.value for f in profile.figures],
            "shown": [format_value(f.value, f.kind) for f in profile.figures],
            "period": [f.period for f in profile.figures],
            "note": [f.note for f in profile.figures],
        }
    )
    tables = {
        "profile": ReportTable(
            "profile",
            f"Bilateral profile: {a} and {b}",
            (
                Column("label", "Figure"),
                Column("shown", "Value"),
                Column("period", "Year(s)"),
                Column("note", "Note"),
                Column("value", "Value (raw)", "number"),
            ),
            figures,
        )
    }
    for way, frame in profile.top_products.items():
        src, dst = ways[way]
        tables[f"top_{way}"] = ReportTable(
            f"top_{way}",
            f"Top products, {src} to {dst}, {profile.year}",
            (
                Column("product_name", "Product"),
                Column("product", "Product code"),
                Column("value", "Value (USD)", "usd"),
                Column("share", "Share of total", "share"),
                Column("yoy", "Change on a year earlier", "change"),
                Column(
                    "rca",
                    f"RCA of {src}",
                    "number",
                    "revealed comparative advantage; above 1 = a specialisation",
                ),
            ),
            _products_frame(frame, names),
        )
    for way, frame in profile.contributors.items():
        src, dst = ways[way]
        tables[f"growth_{way}"] = ReportTable(
            f"growth_{way}",
            f"Products that moved trade most, {src} to {dst}, {profile.year - 1} to {profile.year}",
            (
                Column("product_name", "Product"),
                Column("product", "Product code"),
                Column("value_prev", f"{profile.year - 1} (USD)", "usd"),
                Column("value", f"{profile.year} (USD)", "usd"),
                Column("change", "Change (USD)", "usd"),
                Column(
                    "contribution",
                    "Contribution to growth",
                    "change",
                    "change over the previous year's total",
                ),
            ),
            _products_frame(frame, names),
        )
    for way, frame in profile.potential.items():
        src, dst = ways[way]
        has_product = "product" in frame.columns
        shown = _named(frame, names)
        cols: Sequence[Column] = (
            *(
                (Column("product_name", "Product"), Column("product", "Product code"))
                if has_product
                else ()
            ),
            Column("year", "Year", "year"),
            Column("untapped", "Untapped (USD)", "usd"),
            Column("potential", "Potential (USD)", "usd"),
            Column("actual", "Actual (USD)", "usd"),
            Column("rank", "Rank", "int", f"rank among all of {src}'s opportunities"),
        )
        tables[f"potential_{way}"] = ReportTable(
            f"potential_{way}", f"Top export potential, {src} to {dst}", tuple(cols), shown
        )
    return tables


COUNTERFACTUAL_COLUMNS = (
    Column("scenario", "Scenario", "text"),
    Column("country_name", "Country", "text"),
    Column("country", "Code", "text"),
    Column(
        "exports_conditional_change_pct",
        "Exports, conditional GE (%)",
        "number",
        "change in international exports with output and expenditure held fixed",
    ),
    Column(
        "exports_full_change_pct",
        "Exports, full GE (%)",
        "number",
        "change in international exports once prices, output and expenditure adjust",
    ),
    Column("price_change_pct", "Factory-gate price (%)", "number", "producer price change"),
    Column(
        "imr_full_change_pct",
        "Inward resistance (%)",
        "number",
        "change in the consumer price index (inward multilateral resistance)",
    ),
    Column("real_gdp_change_pct", "Real GDP (%)", "number", "output deflated by consumer prices"),
)


def counterfactual_table(frame: pd.DataFrame, names: ReportNames) -> ReportTable:
    """Per scenario and country: percent changes of the general-equilibrium counterfactual."""
    rows = frame.assign(country_name=[names.country(c) for c in frame["country"]])
    columns = tuple(c for c in COUNTERFACTUAL_COLUMNS if c.key in rows.columns)
    return ReportTable(
        "counterfactual",
        "General-equilibrium counterfactual: percent changes by country",
        columns,
        rows,
        "Changes are 100 \u00d7 (scenario / baseline \u2212 1).",
    )
