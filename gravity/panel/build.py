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
from gravity.panel.build_records import (
    KEY_COLUMNS,
    MONTH_COLUMNS,
    canonical_frame,
    check_final,
    covariate_step,
    derived_step,
    implicit_zeros,
    panel_metadata,
    read_step,
    value_total,
)
from gravity.panel.covariates import (
    CovariateTable,
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

__all__ = [
    "KEY_COLUMNS",
    "MONTH_COLUMNS",
    "Panel",
    "SampleFilters",
    "build_panel",
    "finish_panel",
    "population_table",
]

log = logging.getLogger("gravity")

TradeSource = BaciSource | ComtradeSource | GenericSource



def _read_step(name: str, result: ReadResult, seconds: float) -> Step:
    return read_step(
        name, result.log, result.files, result.countries, len(result.frame),
        value_total(result.frame), seconds,
    )


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
    frame = canonical_frame(result.frame, files[0].name)
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
    domestic = canonical_frame(domestic, name, ("exporter", "importer", "value"))
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
        value_in=value_total(frame),
        value_out=value_total(combined),
        added_value={"domestic_flows": value_total(domestic)},
    )
    return canonical_frame(combined, name), step, result


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
        step, report = implicit_zeros(
            len(frame), domestic, int((frame["value"] == 0).sum()), value_total(frame), universe,
            options.zeros, time.perf_counter() - start,
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
        value_in=value_total(frame),
        value_out=value_total(out),
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
    population = population_table(tables, filters.options.population_variable)
    frame, threshold_step = filters.apply_thresholds(frame, population)
    if threshold_step is not None:
        steps.append(threshold_step)
    for done in steps[-2:]:
        if any(done.removed.values()):
            removed = {k: v for k, v in done.removed.items() if v}
            log.info("[panel] %s: %s", done.name, count_text(removed))
    return finish_panel(frame, kind, options, steps, inputs, sources, tables, truth)


def finish_panel(
    frame: pd.DataFrame,
    kind: str,
    options: PanelOptions,
    steps: list[Step],
    inputs: list[tuple[Path, str]],
    sources: list[dict[str, object]],
    tables: list[CovariateTable],
    truth: dict[str, Any] | None = None,
) -> Panel:
    """The steps after the sample filters: zeros, covariates, derived variables, final check.

    ``steps``, ``inputs`` and ``sources`` hold what the earlier steps recorded; the streaming
    build (:mod:`gravity.panel.stream`) ends here too when the panel is small enough to fill.
    """
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
        rows, value = len(frame), value_total(frame)
        frame, report = merge_covariate(frame, table)
        steps.append(
            covariate_step(
                table, report, (rows, len(frame)), (value, value_total(frame)),
                time.perf_counter() - start,
            )
        )
    if options.derived:
        start = time.perf_counter()
        frame, counts = apply_derived(frame, options.derived)
        steps.append(derived_step(counts, len(frame), time.perf_counter() - start))
    if frame.empty:
        raise DataError(
            f"every row was removed (the last by step {steps[-1].name!r}: "
            f"{steps[-1].removed}); relax the filters or on_missing"
        )
    frame = canonical_frame(frame, "panel")
    check_final(frame)
    metadata = panel_metadata(frame, kind, options, sources, tables, zeros, universe)
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


def population_table(tables: list[CovariateTable], variable: str) -> pd.DataFrame | None:
    """The country-level table holding ``variable`` (the Atlas population threshold), if any."""
    for table in tables:
        if table.level == "country" and variable in table.variables:
            return table.frame[[*table.keys, variable]]
    return None


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
