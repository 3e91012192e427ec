"""Build the canonical gravity panel: read, filter, fill zeros, merge covariates, derive, check.

:func:`build_panel` runs the steps in this order, each recorded as a :class:`Step` (rows and
trade value in, out, removed and added), so the run manifest accounts for every row:

1. read the trade source (BACI, Comtrade, generic) or generate the synthetic world, after
   checking each file (compressed, empty, encoding, delimiter: :mod:`gravity.panel.inputs`);
2. append domestic (intra-national) flows when ``data.domestic`` is given;
3. the sample filters (years, exporters, importers, products, countries, domestic flows);
4. the Atlas country thresholds (population, exports), when set;
5. zeros: the exporter x importer x year (x product) rectangle (:mod:`gravity.panel.zeros`);
   monthly Comtrade data (``frequency: monthly``, with ``month`` and ``period`` columns) are
   filled over the months observed, each month one period of the rectangle;
6. one step per covariate table, then the derived variables (:mod:`gravity.panel.covariates`);
7. canonical types and a final check (keys present, values finite and non-negative).

The result is a frozen :class:`Panel`: ``frame`` has ``exporter, importer, [product,] year,
value`` and the covariates, and ``metadata`` the units, currency, sources and zero counts that
:meth:`Panel.to_parquet` stores in the Parquet file and a JSON sidecar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gravity._base import Step, count_text
from gravity.exceptions import ConfigError, DataError
from gravity.panel.covariates import (
    CovariateTable,
    MergeReport,
    apply_derived,
    load_covariate,
    merge_covariate,
)
from gravity.panel.dataset import Panel, sort_owned_by_product
from gravity.panel.filters import SampleFilters
from gravity.panel.inputs import check_source_files
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import ReadResult, read_source
from gravity.panel.readers.sources import BaciSource, ComtradeSource, GenericSource
from gravity.panel.synthetic import (
    SyntheticSource,
    SyntheticWorldOptions,
    join_pair_covariates,
    keys_as_str,
    load_or_generate_world,
)
from gravity.panel.zeros import Universe, ZeroReport, fill_zeros, universe_of

__all__ = ["KEY_COLUMNS", "MONTH_COLUMNS", "Panel", "SampleFilters", "build_panel"]

log = logging.getLogger("gravity")

TradeSource = BaciSource | ComtradeSource | GenericSource

#: Key columns of the canonical panel, in their order (``product``/``year`` when present).
KEY_COLUMNS = ("exporter", "importer", "product", "year")

#: A monthly panel's extra key (``month``, 1-12) and its label (``period``, ``"2023-11"``).
MONTH_COLUMNS = ("month", "period")

_UNITS = {
    "baci": ("USD", "USD (BACI's v, thousand USD, times 1000)"),
    "comtrade": ("USD", "USD as reported by UN Comtrade (FOB exports, or CIF mirror imports)"),
    "synthetic": ("USD", "USD (synthetic data)"),
}


def _total(frame: pd.DataFrame) -> float:
    return float(frame["value"].to_numpy(dtype=float).sum()) if "value" in frame.columns else 0.0


def _read_step(name: str, result: ReadResult, seconds: float) -> Step:
    logged = dict(result.log)
    removed = {k: int(v) for k, v in logged.items() if k.startswith(("dropped_", "merged_")) and v}
    info = {
        k: v
        for k, v in logged.items()
        if k not in removed
        and not k.startswith(("dropped_", "merged_"))
        and k not in ("rows_read", "rows_out")
        and v
    }
    notes = [f"files: {', '.join(Path(f).name for f in result.files)}"]
    report = result.countries
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
        int(logged.get("rows_read", len(result.frame))),
        len(result.frame),
        removed=removed,
        seconds=seconds,
        notes=tuple(notes),
        value_out=_total(result.frame),
        counts={k: int(v) for k, v in info.items()},  # rows per file, codes padded, ...
    )


def _canonical(frame: pd.DataFrame, source: str, require: Sequence[str] = ()) -> pd.DataFrame:
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


def _read_trade(
    trade: TradeSource, base_dir: Path, inputs: list[tuple[Path, str]]
) -> tuple[pd.DataFrame, Step, ReadResult]:
    start = time.perf_counter()
    files = check_source_files(trade, base_dir)
    result = read_source(trade, base_dir)
    inputs.extend((Path(f), "trade") for f in result.files)
    if trade.kind == "baci" and trade.country_codes is not None:
        inputs.append((base_dir / trade.country_codes, "trade: country codes"))
    if result.frame.empty:
        raise DataError(
            f"{files[0].name}: no rows left after reading ({result.log}); check the file and the "
            "column mapping"
        )
    frame = _canonical(result.frame, files[0].name)
    step = _read_step(f"read {trade.kind}", result, time.perf_counter() - start)
    return frame, step, result


def _add_domestic(
    frame: pd.DataFrame, source: GenericSource, base_dir: Path, inputs: list[tuple[Path, str]]
) -> tuple[pd.DataFrame, Step, ReadResult]:
    start = time.perf_counter()
    files = check_source_files(source, base_dir)
    result = read_source(source, base_dir)
    inputs.extend((Path(f), "domestic") for f in result.files)
    domestic = result.frame
    name = files[0].name
    if "country" in domestic.columns and "exporter" not in domestic.columns:
        domestic = domestic.assign(exporter=domestic["country"], importer=domestic["country"])
        domestic = domestic.drop(columns="country")
    domestic = _canonical(domestic, name, ("exporter", "importer", "value"))
    other = (domestic["exporter"] != domestic["importer"]).to_numpy()
    if other.any():
        row = domestic.iloc[int(np.flatnonzero(other)[0])]
        raise DataError(
            f"{name}: domestic flows need exporter == importer, but a row has {row['exporter']!r}"
            f" -> {row['importer']!r}; put international flows in data.trade"
        )
    keys = [k for k in KEY_COLUMNS if k in frame.columns]
    if "month" in frame.columns:
        raise ConfigError(
            f"data.domestic: {name} holds annual domestic flows but the trade data are monthly "
            "(data.trade.frequency: monthly); remove data.domestic or use annual trade data"
        )
    if "exporter" not in keys or "importer" not in keys:
        raise DataError(
            f"{name}: domestic flows need a trade table with exporter and importer "
            "columns; map them in data.trade"
        )
    if [k for k in KEY_COLUMNS if k in domestic.columns] != keys:
        raise DataError(
            f"{name}: domestic flows have keys {[k for k in KEY_COLUMNS if k in domestic]} but "
            f"the trade table has {keys}; map the same columns"
        )
    combined = pd.concat([frame, domestic], ignore_index=True)
    repeated = combined.duplicated(keys).to_numpy()
    if repeated.any():
        row = combined.iloc[int(np.flatnonzero(repeated)[0])]
        raise DataError(
            f"{name}: the domestic flow ({', '.join(str(row[k]) for k in keys)}) is also in the "
            "trade table; remove it from one of them"
        )
    step = Step(
        "domestic flows",
        len(frame),
        len(combined),
        added={"domestic_flows": len(domestic)},
        seconds=time.perf_counter() - start,
        notes=(f"files: {name}", f"reader counts: {result.log}"),
        value_in=_total(frame),
        value_out=_total(combined),
        added_value={"domestic_flows": _total(domestic)},
    )
    return _canonical(combined, name), step, result


def _zeros(
    frame: pd.DataFrame, options: PanelOptions, kind: str
) -> tuple[pd.DataFrame, Step | None, ZeroReport | None, Universe | None]:
    opts = options.zeros
    fill = opts.mode == "fill" or (opts.mode == "auto" and kind in ("baci", "comtrade"))
    if not fill:
        return frame, None, None, None
    absent = [c for c in ("exporter", "importer", "value") if c not in frame.columns]
    if absent:
        raise ConfigError(
            f"zeros: fill needs exporter, importer and value columns; the panel has "
            f"no {', '.join(absent)} (map them, or set zeros: none)"
        )
    start = time.perf_counter()
    monthly = "month" in frame.columns
    if monthly:
        # the rectangle spans the months observed: each month is a period of the year axis
        frame = _months_as_periods(frame)
    universe = universe_of(frame, opts.universe)
    domestic = int((frame["exporter"] == frame["importer"]).sum())
    if "product" in frame.columns and universe.cells() + domestic > opts.max_rows:
        # every row lies in the universe drawn from it: the zeros are the cells not observed
        zero_rows = universe.cells() - (len(frame) - domestic)
        report = ZeroReport(
            "implicit", opts.universe, universe.cells(), zero_rows, int((frame["value"] == 0).sum())
        )
        note = (
            f"{zero_rows} zero rows kept implicit (the filled panel would have "
            f"{len(frame) + zero_rows} rows > zeros.max_rows={opts.max_rows}); Panel.dense("
            "products) fills them for the products an estimation needs; rows sorted by "
            "product, exporter, importer, year (as panel.parquet is written, for chunked reads)"
        )
        step = Step(
            "zeros",
            len(frame),
            len(frame),
            seconds=time.perf_counter() - start,
            notes=(note,),
            value_in=_total(frame),
            value_out=_total(frame),
        )
        if monthly:
            frame = _periods_as_months(frame)
        return frame, step, report, universe
    out, report = fill_zeros(frame, universe)
    notes = [
        f"rectangle: {report.cells} international cells ({opts.universe} universe); "
        "domestic cells are never filled"
    ]
    if monthly:
        out = _periods_as_months(out)
        months = "month" if opts.universe == "year" else "months observed"
        notes[0] = (
            f"rectangle: {report.cells} international cells over the {months} (monthly "
            f"data; {opts.universe} universe); domestic cells are never filled"
        )
    if report.empty_columns:
        notes.append(
            f"columns empty (NaN) on the zero rows: {', '.join(report.empty_columns)}; "
            "supply them as covariates to fill them"
        )
    step = Step(
        "zeros",
        len(frame),
        len(out),
        added={"zero_flows": report.zero_rows},
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
        value_in=_total(frame),
        value_out=_total(out),
    )
    return out, step, report, universe


def _months_as_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly rows keyed by one integer period ``YYYYMM`` in ``year`` (for the zero filling)."""
    period = frame["year"].to_numpy(dtype=np.int64) * 100 + frame["month"].to_numpy(dtype=np.int64)
    return frame.drop(columns=list(MONTH_COLUMNS)).assign(year=period)


def _periods_as_months(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`_months_as_periods`: ``year``, ``month`` and ``period`` again."""
    code = frame["year"].to_numpy(dtype=np.int64)
    year, month = code // 100, code % 100
    period = pd.Series(year.astype(str), index=frame.index).str.cat(
        pd.Series(month, index=frame.index).map("{:02d}".format), sep="-"
    )
    out = frame.assign(year=year, month=month, period=period)
    first = [c for c in (*KEY_COLUMNS, *MONTH_COLUMNS, "value") if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


def _check_final(frame: pd.DataFrame) -> None:
    """Keys present and values finite and non-negative (a bug guard as much as a data check)."""
    for column in (c for c in KEY_COLUMNS if c in frame.columns):
        empty = frame[column].isna().to_numpy()
        if empty.any():
            raise DataError(f"panel row {int(np.flatnonzero(empty)[0]) + 1}: {column!r} is empty")
    if "value" not in frame.columns:
        return
    values = frame["value"].to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"panel row {pos + 1}: value {values[pos]!r} is not a finite, non-negative number; "
            "fix the source"
        )


def build_panel(
    trade: TradeSource | None,
    synthetic: SyntheticSource | None,
    sample: SampleOptions | SampleFilters,
    base_dir: Path,
    options: PanelOptions | None = None,
) -> Panel:
    """Build the canonical panel; see the module docstring for the steps.

    Parameters
    ----------
    trade : BaciSource, ComtradeSource or GenericSource, optional
        A trade file source (paths relative to ``base_dir``).
    synthetic : SyntheticSource, optional
        The demo world (``folder``, ``level`` and the world options).
    sample : SampleOptions or SampleFilters
        The sample section.
    base_dir : pathlib.Path
        Folder of the config file.
    options : PanelOptions, optional
        Domestic flows, covariates, derived variables, zeros and value metadata (the rest of
        the ``data:`` section).

    Returns
    -------
    Panel

    Raises
    ------
    DataError
        Bad input (with the file, line or column and the fix), or every row filtered out.
    ConfigError
        Options that do not fit the data (a filter or covariate key the panel lacks, ...).
    """
    options = options or PanelOptions()
    filters = sample if isinstance(sample, SampleFilters) else SampleFilters(sample)
    steps: list[Step] = []
    inputs: list[tuple[Path, str]] = []
    sources: list[dict[str, object]] = []
    truth = None
    kind: str
    if trade is not None:
        frame, step, result = _read_trade(trade, base_dir, inputs)
        kind = trade.kind
        sources.append({"role": "trade", **result.to_manifest()})
        del result  # the reader's frame: at BACI scale, gigabytes no later step needs
    elif synthetic is not None:
        years = filters.options.years if hasattr(filters, "options") else None
        frame, step, truth = _synthetic_panel(synthetic, years)
        kind = "synthetic"
    else:  # pragma: no cover - the config schema guarantees one source
        raise DataError("no trade data configured: add data.trade or data.synthetic")
    steps.append(step)
    log.info("[panel] %s: %s rows (%.1f s)", step.name, f"{len(frame):,}", step.seconds)
    if options.domestic is not None:
        frame, step, result = _add_domestic(frame, options.domestic, base_dir, inputs)
        steps.append(step)
        sources.append({"role": "domestic", **result.to_manifest()})
        del result
    tables: list[CovariateTable] = []
    for spec in options.covariates:
        check_source_files(spec, base_dir)
        table = load_covariate(spec, base_dir, "year" in frame.columns)
        inputs.extend((Path(f), "covariate") for f in table.files)
        tables.append(table)
    frame, step = filters.apply(frame)
    steps.append(step)
    population = _population_table(tables, filters.options.population_variable)
    frame, threshold_step = filters.apply_thresholds(frame, population)
    if threshold_step is not None:
        steps.append(threshold_step)
    for done in steps[-2:]:
        if any(done.removed.values()):
            removed = {k: v for k, v in done.removed.items() if v}
            log.info("[panel] %s: %s", done.name, count_text(removed))
    frame, zero_step, zeros, universe = _zeros(frame, options, kind)
    if zeros is not None and zeros.mode == "implicit" and "product" in frame.columns:
        # sorted as the file is written (product first), so product chunks are contiguous;
        # the frame is handed over so that the unsorted columns are freed one by one
        owned = [frame]
        del frame
        frame = sort_owned_by_product(owned)
    if zero_step is not None:
        steps.append(zero_step)
        added = count_text(zero_step.added, "added") if zero_step.added else zero_step.notes[0]
        log.info("[panel] zeros: %s", added)
    for table in tables:
        start = time.perf_counter()
        rows, value = len(frame), _total(frame)
        frame, report = merge_covariate(frame, table)
        steps.append(
            Step(
                f"covariate {table.name}",
                rows,
                len(frame),
                removed={"no_match": report.dropped_rows} if report.dropped_rows else {},
                seconds=time.perf_counter() - start,
                notes=_covariate_notes(table, report),
                value_in=value,
                value_out=_total(frame),
                removed_value={"no_match": report.dropped_value} if report.dropped_rows else {},
            )
        )
    if options.derived:
        start = time.perf_counter()
        frame, counts = apply_derived(frame, options.derived)
        notes = tuple(
            f"{name}: NaN on {c['missing_input']} rows with a missing input and "
            f"{c['undefined']} rows where it is undefined"
            if any(c.values())
            else f"{name}: ok"
            for name, c in counts.items()
        )
        steps.append(
            Step(
                "derived variables",
                len(frame),
                len(frame),
                seconds=time.perf_counter() - start,
                notes=notes,
            )
        )
    if frame.empty:
        raise DataError(
            f"every row was removed (the last by step {steps[-1].name!r}: "
            f"{steps[-1].removed}); relax the filters or on_missing"
        )
    frame = _canonical(frame, "panel")
    _check_final(frame)
    metadata = _metadata(frame, kind, options, sources, tables, zeros, universe)
    return Panel(
        frame,
        tuple(steps),
        tuple(inputs),
        truth,
        metadata,
        zeros,
        universe,
        tuple(tables),
        tuple(options.derived),
    )


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


def _population_table(tables: list[CovariateTable], variable: str) -> pd.DataFrame | None:
    for table in tables:
        if table.level == "country" and variable in table.variables:
            return table.frame[[*table.keys, variable]]
    return None


def _metadata(
    frame: pd.DataFrame,
    kind: str,
    options: PanelOptions,
    sources: list[dict[str, object]],
    tables: list[CovariateTable],
    zeros: ZeroReport | None,
    universe: Universe | None,
) -> dict[str, Any]:
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
        "value_total": _total(frame),
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


def _synthetic_panel(
    section: SyntheticSource, years: Sequence[int] | None = None
) -> tuple[pd.DataFrame, Step, dict[str, Any]]:
    start = time.perf_counter()
    options = SyntheticWorldOptions(**section.model_dump(exclude={"folder", "level"}))
    first, last = section.first_year, section.first_year + section.n_years - 1
    wanted = sorted({int(y) for y in years if first <= int(y) <= last}) if years else None
    # product level reads only the sample's years from the cached world (Parquet pushdown)
    world = load_or_generate_world(
        Path(section.folder), options, wanted if section.level == "product" else None
    )
    covariates = world.pairs
    removed: dict[str, int] = {}
    if section.level == "aggregate":
        frame = world.aggregate_trade().merge(covariates, on=["exporter", "importer", "year"])
        added = {"zero_flows_filled": int((frame["value"] == 0).sum())}
        positive = len(frame) - added["zero_flows_filled"]
        removed = {"merged_to_aggregate": len(world.trade) - positive}
    else:
        # only the sample's years are rectangularised: the full world is 15.6 million rows
        frame = join_pair_covariates(world.dense_trade(years=wanted), covariates)
        observed = (
            len(world.trade) if wanted is None else int(world.trade["year"].isin(wanted).sum())
        )
        added = {"zero_flows_filled": int(len(frame) - observed)}
        if wanted is not None:
            removed = {"years_outside_sample": world.n_positive - observed}
    keys_as_str(frame, ("exporter", "importer", "product"))
    step = Step(
        f"synthetic world ({section.level})",
        rows_in=world.n_positive,
        rows_out=len(frame),
        removed=removed,
        added=added,
        seconds=time.perf_counter() - start,
        notes=("synthetic data: generated by gravity.panel.synthetic, not real trade",),
        value_out=float(frame["value"].sum()),
    )
    return frame, step, world.truth
