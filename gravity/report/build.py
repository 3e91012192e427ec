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
from gravity.report.accuracy import accuracy
from gravity.report.charts import Chart, counterfactual_chart, history_chart
from gravity.report.country_facts import CountryFacts
from gravity.report.country_groups import INCOME_MISSING, blocs, read_country_groups, un_regions
from gravity.report.data import ReportInputs, ReportNames
from gravity.report.formatting import format_int, format_money, format_number
from gravity.report.names import default_names
from gravity.report.opportunity import opportunity_parts, period_label
from gravity.report.options import ReportOptions
from gravity.report.profile import BilateralProfile, bilateral_profile
from gravity.report.profile_sections import profile_sections
from gravity.report.steps import reason_words, step_sentence
from gravity.report.tables import (
    Column,
    ReportTable,
    coefficient_table,
    counterfactual_table,
    metrics_table,
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
    currency: str | None = None
    """ISO code of every amount (``None``: the data do not state it)."""
    level: float | None = None
    """Nominal coverage of the potential intervals (``None``: not recorded)."""
    period: str = ""
    """The opportunities' years in words: ``exports 2016 → potential 2019``."""
    regions: dict[str, str] = field(default_factory=dict)
    """Country code to its UN sub-region, for the region filter."""
    blocs: dict[str, str] = field(default_factory=dict)
    """Country code to the groups it belongs to (``"EU; OECD"``), for the country-group filter."""
    income: dict[str, str] = field(default_factory=dict)
    """Country code to its income group (from ``report.country_groups``; empty without it)."""
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
    forecast: dict[str, Any] | None = None
    """The pair's exports by year and product, for the forecast chart to follow the filters."""
    profile_lines: tuple[str, ...] = ()
    """The pair's agreements in force, and one line per profile section without data."""
    accuracy: tuple[str, ...] = ()
    """The backtest in plain sentences, one per task (see :mod:`gravity.report.accuracy`)."""
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Per section (``opportunities``, ``accuracy``, ``profile``, ``model``, ``method``): what is
    missing."""
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


def _shipped_names(inputs: ReportInputs) -> ReportNames:
    """Names of the data's codes from the tables gravity ships (given names take precedence)."""
    countries: set[str] = set()
    products: set[str] = set()
    for frame in (inputs.panel, inputs.opportunities):
        if frame is None:
            continue
        for column in ("exporter", "importer"):
            countries |= set(frame[column].unique())
        if "product" in frame.columns:
            products |= set(frame["product"].unique())
    return default_names(countries, products)


def _interval_level(inputs: ReportInputs) -> float | None:
    """Nominal coverage of the potential interval, as the run's ``potential:`` section set it."""
    section = ((inputs.manifest or {}).get("config") or {}).get("potential")
    if not isinstance(section, dict):
        return None
    try:
        return float(PotentialOptions.model_validate(section).interval)
    except ValidationError:
        return None


def _backtest_level(inputs: ReportInputs, potential_level: float | None) -> float | None:
    """Nominal coverage of the backtest's intervals: backtest.interval, else the potential's."""
    section = ((inputs.manifest or {}).get("config") or {}).get("backtest")
    value = section.get("interval") if isinstance(section, dict) else None
    return float(value) if isinstance(value, int | float) else potential_level


def _ease_table(summary: dict[str, Any] | None) -> ReportTable | None:
    """The potential stage's ease (trade-cost) model: its coefficients, when it had terms."""
    coefficients = (summary or {}).get("ease_coefficients") or {}
    if not isinstance(coefficients, dict) or not coefficients:
        return None
    frame = pd.DataFrame(
        {"term": [str(k) for k in coefficients], "estimate": list(coefficients.values())}
    )
    base = (summary or {}).get("base_year")
    when = f" of {base}" if base is not None else ""
    return ReportTable(
        "ease_coefficients",
        "Trade costs in the export-potential model",
        (Column("term", "Term"), Column("estimate", "Estimate", "number")),
        frame,
        f"PPML of aggregate bilateral trade{when} with exporter and importer effects; the "
        "fitted trade costs ('ease') of each pair enter every product's potential.",
    )


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


def _data_table(panel: pd.DataFrame, source: str, currency: str | None) -> ReportTable:
    years = sorted(int(y) for y in panel["year"].unique())
    countries = set(panel["exporter"].unique()) | set(panel["importer"].unique())
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
        (f"Trade in {years[-1]}", format_money(last["value"].sum(), currency)),
        ("Currency", currency or "not stated (set data.metadata.currency or report.currency)"),
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
                    "what": step_sentence(s),
                    "step": s.get("name", ""),
                    "rows_in": s.get("rows_in"),
                    "rows_out": s.get("rows_out"),
                    "removed": "; ".join(
                        f"{reason_words(str(k))}: {v:,}"
                        for k, v in (s.get("removed") or {}).items()
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
                Column("what", "What happened"),
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


def build_report(
    inputs: ReportInputs,
    options: ReportOptions,
    names: ReportNames | None = None,
    facts: CountryFacts | None = None,
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
    facts : CountryFacts, optional
        Contiguity and GDP per capita read from the run's covariate files
        (:func:`gravity.report.country_facts.read_country_facts`).

    Returns
    -------
    Report

    Raises
    ------
    DataError
        ``options.exporter``, ``options.partner`` or ``options.year`` is not in the data.
    """
    names = (names or ReportNames()).merged(_shipped_names(inputs))
    # the synthetic world is denominated in USD (as the panel builder records it)
    currency = options.currency or inputs.currency or ("USD" if inputs.synthetic else None)
    notes: dict[str, list[str]] = {
        k: [] for k in ("opportunities", "accuracy", "profile", "model", "method")
    }
    panel = inputs.panel
    year = options.year
    if panel is not None and year is None:
        year = int(panel["year"].max())
    exporter = _choose_exporter(inputs, options, year)
    source = _data_label(inputs)
    level = _interval_level(inputs)
    parts = opportunity_parts(
        inputs.opportunities,
        inputs.notes.get("opportunities", ""),
        options,
        names,
        exporter,
        source,
        currency,
        level,
    )
    notes["opportunities"].extend(parts.notes)
    tables, charts = dict(parts.tables), dict(parts.charts)
    shown, total = parts.shown, parts.total
    scoring = _scoring(inputs, parts.rows) if parts.rows is not None else None
    profile = None
    profile_lines: list[str] = []
    forecast: dict[str, Any] | None = None
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
            tables.update(profile_tables(profile, names, currency))
            more = profile_sections(
                panel,
                inputs.opportunities,
                exporter,
                partner,
                year,
                options.top_n,
                names,
                currency,
                facts,
            )
            tables.update(more.tables)
            charts.update(more.charts)
            profile_lines = more.lines
            forecast = more.forecast
            charts["history"] = history_chart(
                profile.history,
                names.country(exporter),
                names.country(partner),
                f"{source} (panel/panel.parquet)",
                currency,
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
    ease = _ease_table(inputs.potential_summary)
    if inputs.coefficients is not None:
        tables["coefficients"] = coefficient_table(inputs.coefficients)
    elif ease is None:
        notes["model"].append("No regression results: " + inputs.notes["coefficients"] + ".")
    else:
        notes["model"].append(
            "No results of `gravity fit` (" + inputs.notes["coefficients"] + "); below, the "
            "trade-cost model the potential stage estimated."
        )
    if ease is not None:
        tables["ease_coefficients"] = ease
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
    destinations = (
        list(inputs.opportunities["importer"].unique()) if inputs.opportunities is not None else []
    )
    income: dict[str, str] = {}
    regions = un_regions(destinations)
    if options.country_groups is not None:
        income = read_country_groups(options.country_groups, destinations)
    elif regions:  # real countries (an income table cannot name synthetic ones)
        notes["opportunities"].append(INCOME_MISSING)
    sentences: tuple[str, ...] = ()
    if inputs.metrics is not None:
        tables["backtest"] = metrics_table(inputs.metrics)
        checked = accuracy(inputs.metrics, _backtest_level(inputs, level))
        sentences = checked.sentences
        if len(checked.table):
            tables["accuracy"] = checked.table
        else:
            notes["accuracy"].append(
                "The backtest has no model to compare with a naive rule (metrics.csv lists "
                f"models {sorted(set(inputs.metrics['model'].astype(str)))})."
            )
    else:
        notes["model"].append("No backtest: " + inputs.notes["metrics"] + ".")
        notes["accuracy"].append(
            "Not available: no backtest was run (" + inputs.notes["metrics"] + "); run "
            "`gravity backtest` to measure how the forecasts did on past years."
        )
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
        tables["data"] = _data_table(panel, source, currency)
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
        currency=currency,
        level=level,
        period=period_label(parts.base_year, parts.year) if parts.year is not None else "",
        regions=regions,
        blocs=blocs(destinations, parts.year),
        income=income,
        names=names,
        opportunities=shown,
        opportunities_total=total,
        tables=tables,
        charts=charts,
        profile=profile,
        forecast=forecast,
        scoring=scoring,
        accuracy=sentences,
        profile_lines=tuple(profile_lines),
        notes=notes,
        manifest=inputs.manifest,
        fit=inputs.fit,
    )
