"""From the inputs to the report as data: choices made, tables, charts and the profile.

:func:`build_report` decides who the report is about (the exporter and partner, defaulting to
what the data make most relevant), computes every table and chart, and records a plain sentence
for each part that cannot be shown. Renderers (:mod:`gravity.report.html`,
:mod:`gravity.report.xlsx`) only lay out what it returns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from gravity.exceptions import DataError
from gravity.potential.options import PotentialOptions
from gravity.report.charts import (
    Chart,
    counterfactual_chart,
    destinations_chart,
    history_chart,
    scatter_chart,
    untapped_chart,
)
from gravity.report.data import ReportInputs, ReportNames
from gravity.report.formatting import format_int, format_number, format_usd
from gravity.report.options import ReportOptions
from gravity.report.profile import BilateralProfile, bilateral_profile
from gravity.report.tables import (
    Column,
    ReportTable,
    aggregate_table,
    coefficient_table,
    counterfactual_table,
    metrics_table,
    opportunity_table,
    profile_tables,
)

__all__ = ["Report", "build_report"]


@dataclass(frozen=True)
class Report:
    """Everything the report shows, as data."""

    title: str
    generated: str
    synthetic: bool
    source: str
    exporter: str | None = None
    partner: str | None = None
    year: int | None = None
    names: ReportNames = field(default_factory=ReportNames)
    opportunities: ReportTable | None = None
    """The best-ranked ``table_rows`` opportunities of the exporter (the web page's table)."""
    opportunities_total: int = 0
    """Opportunities of the exporter in all (spreadsheet and CSV hold them all)."""
    tables: dict[str, ReportTable] = field(default_factory=dict)
    """Every table by name, in the order of the spreadsheet (``opportunities`` holds all rows)."""
    charts: dict[str, Chart] = field(default_factory=dict)
    profile: BilateralProfile | None = None
    scoring: dict[str, Any] | None = None
    """``preset``, ``weights``, ``horizon``, ``base_year`` of the opportunity scores."""
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Per section (``opportunities``, ``profile``, ``model``, ``method``): what is missing."""
    manifest: dict[str, Any] | None = None
    fit: dict[str, Any] | None = None

    def note(self, section: str) -> list[str]:
        """Notes of one section (empty when everything was available)."""
        return self.notes.get(section, [])


def _data_label(inputs: ReportInputs) -> str:
    if inputs.synthetic:
        return "the synthetic demo world (not real trade data)"
    manifest_inputs = (inputs.manifest or {}).get("inputs", {})
    files = [Path(p).name for p, meta in manifest_inputs.items() if meta.get("role") != "config"]
    return ", ".join(files) if files else "the run's trade panel"


def _choose_exporter(inputs: ReportInputs, options: ReportOptions, year: int | None) -> str | None:
    panel, opps = inputs.panel, inputs.opportunities
    if options.exporter is not None:
        known = set()
        for frame, cols in ((panel, ("exporter", "importer")), (opps, ("exporter",))):
            if frame is not None:
                for col in cols:
                    known |= set(frame[col].unique())
        if known and options.exporter not in known:
            sample = ", ".join(sorted(known)[:8])
            raise DataError(
                f"report.exporter {options.exporter!r} is not in the data ({len(known)} "
                f"countries: {sample}, ...); set report.exporter to one of them"
            )
        return options.exporter
    if panel is not None and year is not None:
        totals = panel[panel["year"] == year].groupby("exporter")["value"].sum()
        if opps is not None and opps["exporter"].isin(totals.index).any():
            totals = totals[totals.index.isin(opps["exporter"].unique())]
        if len(totals):
            return str(totals.sort_values(ascending=False, kind="stable").index[0])
    if opps is not None and len(opps):
        return str(opps.groupby("exporter")["potential"].sum().idxmax())
    return None


def _choose_partner(panel: pd.DataFrame, exporter: str, year: int) -> str | None:
    rows = panel[panel["year"] == year]
    out_ = rows[rows["exporter"] == exporter].groupby("importer")["value"].sum()
    in_ = rows[rows["importer"] == exporter].groupby("exporter")["value"].sum()
    total = out_.add(in_, fill_value=0.0)
    total = total[total.index != exporter].sort_values(ascending=False, kind="stable")
    return str(total.index[0]) if len(total) else None


def _scoring(inputs: ReportInputs, rows: pd.DataFrame) -> dict[str, Any] | None:
    section = ((inputs.manifest or {}).get("config") or {}).get("potential")
    out: dict[str, Any] = {}
    if "base_year" in rows.columns and rows["base_year"].notna().any():
        out["base_year"] = int(rows["base_year"].max())
        out["horizon"] = int(rows["year"].max()) - out["base_year"]
    if isinstance(section, dict):
        try:
            potential = PotentialOptions.model_validate(section)
        except ValidationError:
            return out or None
        out.update(preset=potential.preset, weights=potential.score_weights())
    return out or None


def _fit_facts(fit: dict[str, Any]) -> ReportTable:
    dropped = fit.get("nobs_dropped") or {}
    facts: list[tuple[str, str]] = [
        ("Estimator", str(fit.get("estimator", "")).upper()),
        ("Formula", str(fit.get("formula", ""))),
        ("Observations used", format_int(fit.get("nobs"))),
        ("Observations in the sample", format_int(fit.get("nobs_input"))),
    ]
    for reason, count in dropped.items():
        facts.append((f"Dropped: {str(reason).replace('_', ' ')}", format_int(count)))
    facts += [
        ("Converged", "yes" if fit.get("converged") else "no"),
        ("Iterations", format_int(fit.get("iterations"))),
        ("Pseudo R\u00b2", format_number(fit.get("pseudo_r2"), 4)),
        ("Standard errors", str((fit.get("vcov") or {}).get("description", ""))),
    ]
    for name, levels in (fit.get("fixed_effects") or {}).items():
        facts.append((f"Fixed effects: {name}", f"{format_int(levels)} levels"))
    frame = pd.DataFrame(facts, columns=["item", "value"])
    return ReportTable(
        "model_facts", "The main model", (Column("item", "Item"), Column("value", "Value")), frame
    )


def _data_table(panel: pd.DataFrame, source: str) -> ReportTable:
    years = sorted(int(y) for y in panel["year"].unique())
    countries = set(panel["exporter"]) | set(panel["importer"])
    last = panel[panel["year"] == years[-1]]
    facts = [
        ("Data", source),
        ("Years", f"{years[0]}–{years[-1]} ({len(years)} years)"),
        ("Countries", format_int(len(countries))),
        (
            "Products",
            format_int(panel["product"].nunique())
            if "product" in panel.columns
            else "aggregate flows (no product detail)",
        ),
        ("Rows of the panel", format_int(len(panel))),
        (f"Trade in {years[-1]}", format_usd(last["value"].sum())),
    ]
    frame = pd.DataFrame(facts, columns=["item", "value"])
    return ReportTable(
        "data", "The data", (Column("item", "Item"), Column("value", "Value")), frame
    )


def _method_tables(manifest: dict[str, Any]) -> dict[str, ReportTable]:
    tables: dict[str, ReportTable] = {}
    inputs = manifest.get("inputs") or {}
    if inputs:
        frame = pd.DataFrame(
            [
                {
                    "role": meta.get("role", ""),
                    "file": str(path),
                    "sha256": meta.get("sha256", ""),
                    "bytes": meta.get("bytes"),
                }
                for path, meta in inputs.items()
            ]
        )
        tables["sources"] = ReportTable(
            "sources",
            "Input files and their SHA-256 hashes",
            (
                Column("role", "Role"),
                Column("file", "File"),
                Column("sha256", "SHA-256"),
                Column("bytes", "Size (bytes)", "int"),
            ),
            frame,
        )
    steps = manifest.get("steps") or []
    if steps:
        frame = pd.DataFrame(
            [
                {
                    "step": s.get("name", ""),
                    "rows_in": s.get("rows_in"),
                    "rows_out": s.get("rows_out"),
                    "removed": ", ".join(
                        f"{k}: {v:,}" for k, v in (s.get("removed") or {}).items()
                    ),
                    "notes": "; ".join(map(str, s.get("notes") or [])),
                }
                for s in steps
            ]
        )
        tables["steps"] = ReportTable(
            "steps",
            "Processing steps and row counts",
            (
                Column("step", "Step"),
                Column("rows_in", "Rows in", "int"),
                Column("rows_out", "Rows out", "int"),
                Column("removed", "Removed"),
                Column("notes", "Notes"),
            ),
            frame,
        )
    sample = (manifest.get("config") or {}).get("sample") or {}
    if sample:
        frame = pd.DataFrame(
            [
                {"filter": k.replace("_", " "), "value": "all" if v is None else str(v)}
                for k, v in sample.items()
            ]
        )
        tables["filters"] = ReportTable(
            "filters",
            "Sample filters",
            (Column("filter", "Filter"), Column("value", "Value")),
            frame,
        )
    return tables


def _opportunity_parts(
    inputs: ReportInputs,
    options: ReportOptions,
    names: ReportNames,
    exporter: str | None,
    source: str,
    notes: list[str],
) -> tuple[
    ReportTable | None, int, dict[str, ReportTable], dict[str, Chart], dict[str, Any] | None
]:
    opps = inputs.opportunities
    if opps is None:
        notes.append("No opportunity table: " + inputs.notes.get("opportunities", "") + ".")
        return None, 0, {}, {}, None
    rows = opps[opps["exporter"] == exporter] if exporter is not None else opps.iloc[0:0]
    if rows.empty:
        ranked = ", ".join(sorted(opps["exporter"].unique())[:8])
        notes.append(
            f"The opportunity table has no rows for {names.country(exporter)} "
            f"(exporters ranked: {ranked})."
        )
        return None, 0, {}, {}, None
    who = names.country(exporter)
    all_rows = opportunity_table(rows, names, title=f"Export opportunities of {who}")
    shown = opportunity_table(
        rows.sort_values("rank", kind="stable").head(options.table_rows),
        names,
        title=f"Export opportunities of {who}",
    )
    latest = rows[rows["year"] == rows["year"].max()]
    year = int(latest["year"].iloc[0])
    where = f"gravity export-potential estimates for {year}; data: {source}"
    tables = {
        "opportunities": all_rows,
        "destinations": aggregate_table(
            latest,
            "importer",
            names,
            "destinations",
            f"Destinations ranked by untapped potential, {year}",
        ),
    }
    charts = {
        "markets": untapped_chart(
            latest,
            "importer",
            names,
            options.top_n,
            f"Untapped potential of {who} by market, {year}",
            where,
        ),
        "destinations": destinations_chart(
            latest,
            names,
            options.top_n,
            f"Destinations of {who} ranked by potential, {year}",
            where,
        ),
    }
    if "product" in rows.columns:
        tables["products"] = aggregate_table(
            latest, "product", names, "products", f"Products ranked by untapped potential, {year}"
        )
        charts["products"] = untapped_chart(
            latest,
            "product",
            names,
            options.top_n,
            f"Untapped potential of {who} by product, {year}",
            where,
        )
    if {"feasibility", "attractiveness", "score"} <= set(rows.columns):
        charts["scatter"] = scatter_chart(
            latest, names, f"Feasibility and attractiveness of {who}'s opportunities, {year}", where
        )
    return shown, len(rows), tables, charts, _scoring(inputs, rows)


def build_report(
    inputs: ReportInputs, options: ReportOptions, names: ReportNames | None = None
) -> Report:
    """Assemble the report from what earlier stages wrote.

    Parameters
    ----------
    inputs : ReportInputs
        See :func:`gravity.report.data.load_inputs`.
    options : ReportOptions
        Who and what the report shows.
    names : ReportNames, optional
        Country and product names (codes are shown where missing).

    Returns
    -------
    Report

    Raises
    ------
    DataError
        ``options.exporter``, ``options.partner`` or ``options.year`` is not in the data.
    """
    names = names or ReportNames()
    notes: dict[str, list[str]] = {k: [] for k in ("opportunities", "profile", "model", "method")}
    panel = inputs.panel
    year = options.year
    if panel is not None and year is None:
        year = int(panel["year"].max())
    exporter = _choose_exporter(inputs, options, year)
    source = _data_label(inputs)
    shown, total, tables, charts, scoring = _opportunity_parts(
        inputs, options, names, exporter, source, notes["opportunities"]
    )
    profile = None
    partner = options.partner
    if panel is None:
        notes["profile"].append("No bilateral profile: " + inputs.notes.get("panel", "") + ".")
    elif exporter is not None and year is not None:
        partner = partner or _choose_partner(panel, exporter, year)
        if partner is None:
            notes["profile"].append(f"{names.country(exporter)} has no trade in {year}.")
        else:
            profile = bilateral_profile(
                panel,
                exporter,
                partner,
                year,
                options.top_n,
                inputs.country_product,
                inputs.country,
                inputs.opportunities,
            )
            tables.update(profile_tables(profile, names))
            charts["history"] = history_chart(
                profile.history,
                names.country(exporter),
                names.country(partner),
                f"{source} (panel/panel.parquet)",
            )
            notes["profile"].extend(n[0].upper() + n[1:] + "." for n in profile.notes)
            for name, what in (
                ("country_product", "revealed comparative advantage is computed from the panel"),
                ("country", "no ECI ranks"),
            ):
                if getattr(inputs, name) is None:
                    notes["profile"].append(
                        f"No relatedness output ({inputs.notes[name]}): {what}."
                    )
    if inputs.coefficients is not None:
        tables["coefficients"] = coefficient_table(inputs.coefficients)
    else:
        notes["model"].append("No regression results: " + inputs.notes["coefficients"] + ".")
    if inputs.fit is not None:
        tables["model_facts"] = _fit_facts(inputs.fit)
    if inputs.models is not None and len(inputs.models):
        cells = inputs.models.to_numpy().tolist()
        header, rows = cells[0], cells[1:]
        if header:
            keys = [f"c{i}" for i in range(len(header))]
            frame = pd.DataFrame([(r + [""] * len(keys))[: len(keys)] for r in rows], columns=keys)
            tables["models"] = ReportTable(
                "models",
                "All estimated models",
                tuple(Column(k, h or " ") for k, h in zip(keys, header, strict=True)),
                frame,
                "Standard errors in parentheses. *** p<0.01, ** p<0.05, * p<0.1.",
            )
    if inputs.metrics is not None:
        tables["backtest"] = metrics_table(inputs.metrics)
    else:
        notes["model"].append("No backtest: " + inputs.notes["metrics"] + ".")
    if inputs.counterfactual is not None:
        frame = inputs.counterfactual
        tables["counterfactual"] = counterfactual_table(frame, names)
        for k, scenario in enumerate(dict.fromkeys(frame["scenario"].astype(str))):
            charts[f"counterfactual_{k}"] = counterfactual_chart(
                frame.assign(scenario=frame["scenario"].astype(str)),
                scenario,
                names,
                options.top_n,
                f"{source} (counterfactual/countries.csv)",
            )
    if panel is not None:
        tables["data"] = _data_table(panel, source)
    if inputs.manifest is not None:
        tables.update(_method_tables(inputs.manifest))
    else:
        notes["method"].append("No run manifest: " + inputs.notes["manifest"] + ".")
    return Report(
        title=options.title,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        synthetic=inputs.synthetic,
        source=source,
        exporter=exporter,
        partner=partner,
        year=year,
        names=names,
        opportunities=shown,
        opportunities_total=total,
        tables=tables,
        charts=charts,
        profile=profile,
        scoring=scoring,
        notes=notes,
        manifest=inputs.manifest,
        fit=inputs.fit,
    )
