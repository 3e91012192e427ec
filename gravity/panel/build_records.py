"""The records of a panel build: its manifest steps, canonical types, final check and metadata.

Shared by the in-memory build (:mod:`gravity.panel.build`) and the streaming one
(:mod:`gravity.panel.stream`), so that both write the same steps and metadata for the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gravity._base import Step
from gravity.exceptions import DataError
from gravity.panel.countries import CountryReport
from gravity.panel.covariates import CovariateTable, MergeReport
from gravity.panel.options import PanelOptions, ZeroOptions
from gravity.panel.zeros import Universe, ZeroReport

__all__ = [
    "KEY_COLUMNS",
    "MONTH_COLUMNS",
    "canonical_frame",
    "check_final",
    "covariate_step",
    "derived_step",
    "implicit_zeros",
    "panel_metadata",
    "read_step",
    "value_total",
]

#: Key columns of the canonical panel, in their order (``product``/``year`` when present).
KEY_COLUMNS = ("exporter", "importer", "product", "year")

#: A monthly panel's extra key (``month``, 1-12) and its label (``period``, ``"2023-11"``).
MONTH_COLUMNS = ("month", "period")

_UNITS = {
    "baci": ("USD", "USD (BACI's v, thousand USD, times 1000)"),
    "comtrade": ("USD", "USD as reported by UN Comtrade (FOB exports, or CIF mirror imports)"),
    "synthetic": ("USD", "USD (synthetic data)"),
}


def value_total(frame: pd.DataFrame) -> float:
    """Sum of the ``value`` column (0 when there is none)."""
    return float(frame["value"].to_numpy(dtype=float).sum()) if "value" in frame.columns else 0.0


def read_step(
    name: str,
    log_counts: dict[str, int],
    files: Sequence[str],
    report: CountryReport | None,
    rows_out: int,
    value_out: float,
    seconds: float,
) -> Step:
    """The manifest step of reading the trade source (its counts, files and country notes)."""
    logged = dict(log_counts)
    removed = {k: int(v) for k, v in logged.items() if k.startswith(("dropped_", "merged_")) and v}
    info = {
        k: v
        for k, v in logged.items()
        if k not in removed
        and not k.startswith(("dropped_", "merged_"))
        and k not in ("rows_read", "rows_out")
        and v
    }
    notes = [f"files: {', '.join(Path(f).name for f in files)}"]
    if report is not None and report.mode == "iso3":
        if report.unmatched:
            notes.append(
                f"country codes not resolved to ISO3 (rows dropped): {', '.join(report.unmatched)}"
                f" ({report.unmatched_share:.4%} of the {report.share_basis})"
            )
        if report.renamed:
            notes.append(f"historical codes renamed: {report.renamed}")
        if report.former_states:
            notes.append(f"former states kept as their own code: {report.former_states}")
    return Step(
        name,
        int(logged.get("rows_read", rows_out)),
        rows_out,
        removed=removed,
        seconds=seconds,
        notes=tuple(notes),
        value_out=value_out,
        counts={k: int(v) for k, v in info.items()},  # rows per file, codes padded, ...
    )


def canonical_frame(
    frame: pd.DataFrame, source: str, require: Sequence[str] = ()
) -> pd.DataFrame:
    """Key columns typed (text codes, int64 years, float values), canonical columns first.

    Tables that are not country panels (numeric ids, a test data set's ``y, x, id``) pass with
    the columns they have; only ``require`` is enforced.
    """
    missing = [c for c in require if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: the table has no {', '.join(repr(m) for m in missing)} column; map "
            f"it with columns: {{{missing[0]}: <column>}} (columns: "
            f"{', '.join(map(str, frame.columns))})"
        )
    out = frame.copy(deep=False)  # copy-on-write: columns replaced below are not shared
    for column in ("exporter", "importer", "product"):
        if column in out.columns and not isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].astype("str")
    if "year" in out.columns:
        out["year"] = out["year"].astype(np.int64)
    if "value" in out.columns:
        out["value"] = out["value"].astype(np.float64)
    if "month" in out.columns:
        out["month"] = out["month"].astype(np.int64)
    first = [c for c in (*KEY_COLUMNS, *MONTH_COLUMNS, "value") if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


def implicit_zeros(
    rows: int,
    domestic: int,
    observed_zeros: int,
    value: float,
    universe: Universe,
    options: ZeroOptions,
    seconds: float,
) -> tuple[Step, ZeroReport]:
    """The zeros step and report of a product panel whose zeros stay implicit.

    Every row lies in the universe drawn from the rows, so the zeros are the cells not observed.
    """
    zero_rows = universe.cells() - (rows - domestic)
    report = ZeroReport("implicit", options.universe, universe.cells(), zero_rows, observed_zeros)
    note = (
        f"{zero_rows} zero rows kept implicit (the filled panel would have "
        f"{rows + zero_rows} rows > zeros.max_rows={options.max_rows}); Panel.dense("
        "products) fills them for the products an estimation needs; rows sorted by "
        "product, exporter, importer, year (as panel.parquet is written, for chunked reads)"
    )
    step = Step("zeros", rows, rows, seconds=seconds, notes=(note,), value_in=value,
                value_out=value)
    return step, report


def check_final(frame: pd.DataFrame, first_row: int = 0) -> None:
    """Keys present and values finite and non-negative (a bug guard as much as a data check).

    ``first_row`` is the position of ``frame``'s first row in the panel (a streamed bucket).
    """
    for column in (c for c in KEY_COLUMNS if c in frame.columns):
        empty = frame[column].isna().to_numpy()
        if empty.any():
            raise DataError(
                f"panel row {first_row + int(np.flatnonzero(empty)[0]) + 1}: {column!r} is empty"
            )
    if "value" not in frame.columns:
        return
    values = frame["value"].to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"panel row {first_row + pos + 1}: value {values[pos]!r} is not a finite, "
            "non-negative number; fix the source"
        )


def covariate_step(
    table: CovariateTable,
    report: MergeReport,
    rows: tuple[int, int],
    value: tuple[float, float],
    seconds: float,
) -> Step:
    """The manifest step of merging ``table`` (``rows`` and ``value``: in, out)."""
    dropped = report.dropped_rows
    return Step(
        f"covariate {table.name}",
        rows[0],
        rows[1],
        removed={"no_match": dropped} if dropped else {},
        seconds=seconds,
        notes=_covariate_notes(table, report),
        value_in=value[0],
        value_out=value[1],
        removed_value={"no_match": report.dropped_value} if dropped else {},
    )


def derived_step(counts: dict[str, dict[str, int]], rows: int, seconds: float) -> Step:
    """The manifest step of the derived variables (NaN counts of each one)."""
    notes = tuple(
        f"{name}: NaN on {c['missing_input']} rows with a missing input and "
        f"{c['undefined']} rows where it is undefined"
        if any(c.values())
        else f"{name}: ok"
        for name, c in counts.items()
    )
    return Step("derived variables", rows, rows, seconds=seconds, notes=notes)


def _covariate_notes(table: CovariateTable, report: MergeReport) -> tuple[str, ...]:
    logged = table.source.get("log", {})
    counts = (
        ", ".join(f"{k}={v}" for k, v in logged.items() if v) if isinstance(logged, dict) else ""
    )
    files = ", ".join(Path(f).name for f in table.files)
    keys = ", ".join(table.keys)
    notes = [f"files: {files}; merged on ({keys})", f"reader counts: {counts}"]
    countries = table.source.get("countries")
    if isinstance(countries, dict) and countries.get("unmatched"):
        unmatched = ", ".join(map(str, countries["unmatched"]))
        notes.append(
            f"country codes not resolved to ISO3 (rows dropped from the table): {unmatched}"
        )
    return (*notes, *report.notes())


def panel_metadata(
    frame: pd.DataFrame,
    kind: str,
    options: PanelOptions,
    sources: list[dict[str, object]],
    tables: list[CovariateTable],
    zeros: ZeroReport | None,
    universe: Universe | None,
) -> dict[str, Any]:
    """The panel metadata stored with the file: units, sources, zeros, covariates, columns."""
    currency, unit = _UNITS.get(kind, (None, None))
    value = {
        "currency": options.metadata.currency or currency,
        "unit": options.metadata.unit or unit or options.metadata.currency,
        "description": options.metadata.description,
    }
    origin: dict[str, str] = {c: "trade" for c in frame.columns}
    units: dict[str, str | None] = {"value": value["unit"]}
    for table in tables:
        for column in table.columns():
            origin[column] = f"covariate {table.name}"
            base = column[:-2] if table.level == "country" else column
            units[column] = table.units.get(base)
    for spec in options.derived:
        for column in frame.columns:
            if column == spec.name or column in (f"{spec.name}_o", f"{spec.name}_d"):
                origin[column] = f"derived: {spec.op}({', '.join(spec.of)})"
    zero_info: dict[str, object] = {"mode": "none"} if zeros is None else zeros.to_dict()
    if zeros is not None and zeros.mode == "implicit" and universe is not None:
        zero_info["universe_axes"] = universe.to_dict()
    return {
        "format": "gravity.panel/1",
        "frequency": "monthly" if "month" in frame.columns else "annual",
        "rows": len(frame),
        "value_total": value_total(frame),
        "value": value,
        "source_kind": kind,
        "sources": sources,
        "covariates": [t.describe() for t in tables],
        "derived": [d.model_dump() for d in options.derived],
        "zeros": zero_info,
        "columns": {
            str(c): {
                "dtype": str(frame[c].dtype),
                "origin": origin.get(str(c), "trade"),
                "unit": units.get(str(c)),
            }
            for c in frame.columns
        },
    }

