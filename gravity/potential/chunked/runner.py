"""The chunked potential from a panel: ease fit, pass 1 per chunk, pass 2, pass 3 per chunk.

:func:`run_chunks` leaves every chunk's opportunity rows (before ranking) in the chunk folder
and returns a :class:`ChunkedPotential` describing them; :mod:`gravity.potential.chunked.rank`
ranks them into the opportunity table.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gravity._version import __version__
from gravity.estimation.results import FitResult
from gravity.exceptions import ConfigError, DataError
from gravity.panel.chunks import PanelChunks
from gravity.panel.zeros import Axes, axes_of
from gravity.potential.chunked.backends import Progress, task_runner
from gravity.potential.chunked.engine import (
    ChunkWorld,
    GlobalTables,
    demand_shift,
    fit_chunk,
    score_chunk,
)
from gravity.potential.chunked.forecast import fit_chunked_forecast
from gravity.potential.chunked.options import AUTO_CHUNK_CELLS, ChunkOptions
from gravity.potential.chunked.source import ChunkReader, ParquetRows, ProductIndex
from gravity.potential.chunked.store import ChunkStore
from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.grid import check_panel
from gravity.potential.model import fit_ease, growth_rates, impute_supply, pooled_interval
from gravity.potential.options import PotentialOptions

__all__ = ["ChunkedPotential", "chunk_options_for", "run_chunks"]

_HASH_BLOCK_ROWS = 2_000_000
"""Rows hashed together by the plan's fingerprint."""

# options that change how chunks run, not what they compute: left out of the fingerprint
_RUN_ONLY = ("backend", "workers", "scheduler", "resume", "csv_max_rows", "progress")


@dataclass(frozen=True)
class ChunkedPotential:
    """The chunk rows of one potential run, and how they were made."""

    store: ChunkStore
    chunks: tuple[tuple[str, ...], ...]
    base_year: int
    options: PotentialOptions
    ease_fit: FitResult | None
    counts: dict[str, int]
    present: dict[str, bool]
    """Score columns (feasibility / attractiveness inputs) with any value in the table."""
    exporters: tuple[str, ...]
    """Exporters with rows, sorted."""
    rows: int
    """Opportunity rows over all chunks (before ``top``)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Chunks, reused chunks, backend, timings and the largest chunk frame, for the manifest."""


def chunk_options_for(panel: pd.DataFrame, options: PotentialOptions) -> ChunkOptions | None:
    """The chunk options of a run: ``potential.chunks``, or chunks when the grid is large.

    Without ``potential.chunks``, a product panel whose base-year grid would exceed
    ``AUTO_CHUNK_CELLS`` cells is chunked (with the default chunk options) unless the model
    needs the whole grid (bootstrap intervals).
    """
    if options.chunks is not None:
        return options.chunks
    if "product" not in panel.columns:
        return None
    if options.interval_method == "bootstrap":
        return None
    n_e, n_i = panel["exporter"].nunique(), panel["importer"].nunique()
    cells = n_e * n_i * panel["product"].nunique()
    return ChunkOptions() if cells > AUTO_CHUNK_CELLS else None


def _check(panel: pd.DataFrame, options: PotentialOptions) -> None:
    if not check_panel(panel):
        raise DataError(
            "potential.chunks needs a product dimension: the panel has no 'product' column "
            "(remove potential.chunks)"
        )
    if options.interval_method == "bootstrap":
        raise ConfigError(
            "potential.chunks: interval_method: bootstrap refits the whole model and is not "
            "chunked; use interval_method: empirical or remove potential.chunks"
        )


def _text(column: pd.Series) -> pd.Series:
    """Key labels as text; categorical keys stay categorical.

    Tens of millions of rows at HS6 would take gigabytes as Python strings.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.rename_categories([str(c) for c in column.cat.categories])
    return column.astype(str)


def _domestic(panel: pd.DataFrame) -> int:
    """Rows with exporter == importer (compared by label, whatever the categories)."""
    exporter, importer = panel["exporter"], panel["importer"]
    if isinstance(exporter.dtype, pd.CategoricalDtype) and isinstance(
        importer.dtype, pd.CategoricalDtype
    ):
        position = pd.Index(importer.cat.categories).get_indexer(exporter.cat.categories)
        codes = exporter.cat.codes.to_numpy()
        mapped = np.where(codes >= 0, position[codes], -1)
        return int(((mapped >= 0) & (mapped == importer.cat.codes.to_numpy())).sum())
    return int((exporter.astype(str) == importer.astype(str)).sum())


def _fingerprint(
    panel: pd.DataFrame,
    options: PotentialOptions,
    ease: pd.Series,
    related: RelatednessFeatures | None,
) -> str:
    digest = hashlib.sha256(__version__.encode())
    keys = ["exporter", "importer", "product", "year", "value"]
    # row hashes a block of rows at a time: the hashes of every row at once, with their
    # temporaries, were the run's peak memory at HS6 (~2 GB over 50 million rows)
    frame = panel[keys]
    for start in range(0, len(frame), _HASH_BLOCK_ROWS):
        block = frame.iloc[start : start + _HASH_BLOCK_ROWS]
        digest.update(pd.util.hash_pandas_object(block, index=False).to_numpy().tobytes())
    digest.update(np.ascontiguousarray(ease.to_numpy(dtype=float)).tobytes())
    chunks = options.chunks.model_dump(exclude=set(_RUN_ONLY)) if options.chunks else {}
    opts = options.model_dump(mode="json", exclude={"chunks"})
    digest.update(json.dumps([opts, chunks], sort_keys=True, default=str).encode())
    if related is not None:
        digest.update(pd.util.hash_pandas_object(related.frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def _restrict_related(
    related: RelatednessFeatures | None,
    products: tuple[str, ...],
    product_text: pd.Series | None = None,
) -> RelatednessFeatures | None:
    """The relatedness features of ``products`` only (what one chunk's rows look up).

    ``product_text`` is ``related.frame["product"]`` as text, when the caller keeps it for
    every chunk (a million rows at HS6, converted once rather than once per chunk).
    """
    if related is None:
        return None
    text = related.frame["product"].astype(str) if product_text is None else product_text
    frame = related.frame[text.isin(products).to_numpy()]
    market = related.market
    if market is not None:
        cols = np.flatnonzero(pd.Index(market.products.astype(str)).isin(products))
        market = replace(
            market,
            products=market.products[cols],
            import_value=market.import_value[:, cols],
            import_rca=market.import_rca[:, cols],
            importer_density=market.importer_density[:, cols],
            supplies=market.supplies[:, cols],
        )
    return RelatednessFeatures(frame.reset_index(drop=True), market)


def _concat(store: ChunkStore, n: int, name: str) -> pd.DataFrame:
    return pd.concat([store.read_fit(i, name) for i in range(n)], ignore_index=True)


def _global_tables(
    store: ChunkStore,
    chunks: list[tuple[str, ...]],
    axes: Axes,
    options: PotentialOptions,
    base_year: int,
    related: RelatednessFeatures | None,
) -> tuple[pd.Series, pd.Series, GlobalTables, dict[str, int]]:
    """Pass 2: imputed supply, growth, pooled interval and ITC pair sums over every product."""
    n = len(chunks)
    observed = _concat(store, n, "supply")
    shift = demand_shift(_concat(store, n, "demand"))
    observed["observed"] += shift
    full = pd.MultiIndex.from_product(
        [pd.Index(axes.exporters), pd.Index(axes.products)], names=["exporter", "product"]
    )
    supply_frame = observed.set_index(["exporter", "product"]).reindex(full).reset_index()
    supply, source, counts = impute_supply(
        supply_frame, related.frame if related is not None else None, base_year
    )
    totals = _concat(store, n, "totals")
    totals = totals.groupby(["exporter", "importer", "year"], as_index=False)["value"].sum()
    g_supply, g_importer, _ = growth_rates(
        totals, Axes(axes.exporters, axes.importers, axes.years), options, False
    )
    residuals = _concat(store, n, "residuals")["r"].to_numpy()
    pairs = (
        _concat(store, n, "pairs").groupby(["exporter", "importer"])[["predicted", "actual"]].sum()
    )
    tables = GlobalTables(
        supply=pd.Series(dtype=float),
        source=pd.Series(dtype=object),
        supply_growth=g_supply,
        importer_growth=g_importer,
        pooled=pooled_interval(residuals, options.interval),
        itc_pairs=pairs,
        shift=shift,
    )
    return supply, source, tables, counts


def _reader(
    index: ProductIndex,
    products: tuple[str, ...],
    panel: PanelChunks | None,
    years: tuple[int, ...],
) -> ChunkReader:
    if panel is not None:  # the worker reads its chunk from the file itself
        return ParquetRows(panel, products, years)
    return index.rows(products)


def run_chunks(
    panel: pd.DataFrame,
    options: PotentialOptions,
    folder: Path,
    related: RelatednessFeatures | None = None,
    panel_path: Path | None = None,
    relatedness: RelatednessFn | None = None,
) -> ChunkedPotential:
    """Estimate and score export potential in product chunks; rows go to ``folder``.

    Parameters
    ----------
    panel : pandas.DataFrame
        The panel (exporter, importer, product, year, value and the ease terms' columns);
        absent flows may be missing rows (zeros are generated per chunk).
    options : PotentialOptions
        The potential model; ``options.chunks`` (or the defaults) says how to chunk and run.
    folder : pathlib.Path
        The chunk folder (``OUTPUT/potential/chunks``); kept chunks are reused on resume.
    related : RelatednessFeatures, optional
        The base year's relatedness features (computed once, by the caller).
    panel_path : pathlib.Path, optional
        The panel's Parquet file; needed by the ``dask`` backend, whose workers read their chunk
        from it.
    relatedness : callable, optional
        Relatedness measures of a year: ``model: forecast`` trains on earlier years' features.

    Returns
    -------
    ChunkedPotential
    """
    _check(panel, options)
    chunk_opts = options.chunks or ChunkOptions()
    dask = chunk_opts.backend == "dask"
    if dask and (panel_path is None or not Path(panel_path).is_file()):
        raise ConfigError(
            "potential.chunks.backend: dask needs the panel as a Parquet file that the workers "
            "read (OUTPUT/panel/panel.parquet): run 'gravity panel' first"
        )
    start = time.perf_counter()
    panel = panel.assign(**{c: _text(panel[c]) for c in ("exporter", "importer", "product")})
    years = sorted(int(y) for y in panel["year"].unique())
    base_year = options.year if options.year is not None else years[-1]
    if base_year not in years:
        raise DataError(
            f"potential.year {base_year} is not in the panel (years {years[0]}..{years[-1]})"
        )
    window = [y for y in years if base_year - options.window < y <= base_year]
    axes = axes_of(panel, window)
    counts: dict[str, int] = {"domestic_rows_ignored": _domestic(panel)}
    ease, ease_fit, _, ease_counts = fit_ease(panel, axes, options, base_year)
    counts.update(ease_counts)
    ease_seconds = time.perf_counter() - start
    size = chunk_opts.chunk_size(len(axes.exporters), len(axes.importers))
    chunks = [axes.products[i : i + size] for i in range(0, len(axes.products), size)]
    store = ChunkStore(folder)
    reused = store.open(
        _fingerprint(panel, options, ease, related), [list(c) for c in chunks], chunk_opts.resume
    )
    world = ChunkWorld(
        Axes(axes.exporters, axes.importers, axes.years, axes.products),
        base_year,
        options,
        ease,
        store,
    )
    # Dask workers read their chunk from the panel file; local and joblib ones get the rows
    shared = PanelChunks.open(panel_path) if dask and panel_path is not None else None
    index = ProductIndex(panel)
    timings = {"ease_seconds": round(ease_seconds, 3)}
    with task_runner(chunk_opts) as run:
        todo = [i for i in range(len(chunks)) if not store.fit_done(i)]
        progress = Progress("pass 1 (fits)", len(todo), chunk_opts.progress)
        t0 = time.perf_counter()
        # tasks are generated as the backend takes them: one chunk's rows at a time in memory
        tasks = ((world, i, chunks[i], _reader(index, chunks[i], shared, axes.years)) for i in todo)
        for _ in run(fit_chunk, tasks):
            progress.step()
        timings["fit_seconds"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        supply, source, tables, supply_counts = _global_tables(
            store, chunks, axes, options, base_year, related
        )
        counts.update(supply_counts)
        timings["global_seconds"] = round(time.perf_counter() - t0, 3)
        # model: forecast reads every year up to the base year (its history features)
        history = tuple(y for y in years if y <= base_year)
        forecast_info: dict[str, Any] = {}
        if options.model == "forecast":
            fitted = fit_chunked_forecast(
                panel,
                base_year,
                options.horizon,
                options.forecast_options(),
                chunks,
                lambda products: _reader(index, products, shared, history),
                run,
                store,
                relatedness,
                related,
                options.exporters,
                options.importers,
                chunk_opts.progress,
            )
            tables = replace(tables, forecast=fitted.forecast)
            forecast_info = fitted.info
        score_years = history if options.model == "forecast" else axes.years
        todo = [i for i in range(len(chunks)) if not store.rows_done(i)]
        rows_reused = len(chunks) - len(todo)
        progress = Progress("pass 3 (scores)", len(todo), chunk_opts.progress)
        t0 = time.perf_counter()
        # rows of each product in the supply tables, found once (not an isin per chunk)
        codes, labels = pd.factorize(supply.index.get_level_values("product"))
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        at = {str(p): order[bounds[k] : bounds[k + 1]] for k, p in enumerate(labels)}
        related_products = related.frame["product"].astype(str) if related is not None else None

        def score_tasks() -> Iterator[tuple[Any, ...]]:
            for i in todo:
                parts = [at[p] for p in chunks[i] if p in at]
                keep = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
                chunk_tables = replace(
                    tables,
                    supply=supply.iloc[keep],
                    source=source.iloc[keep],
                    related=_restrict_related(related, chunks[i], related_products),
                    forecast=None,
                )
                reader = _reader(index, chunks[i], shared, score_years)
                # the forecast apart: one object in every task, which Dask sends once a worker
                yield (world, i, chunks[i], reader, chunk_tables, tables.forecast)

        for _ in run(score_chunk, score_tasks()):
            progress.step()
        timings["score_seconds"] = round(time.perf_counter() - t0, 3)
    fits = [store.fit_record(i) for i in range(len(chunks))]
    scored = [store.rows_record(i) for i in range(len(chunks))]
    for key in ("cells_without_ease", "cells_separated"):
        counts[key] = sum(int(r[key]) for r in fits)
    counts["cells_without_demand_or_supply"] = sum(
        int(r["cells_without_demand_or_supply"]) for r in scored
    )
    present: dict[str, bool] = {}
    for record in scored:
        for column, value in record["present"].items():
            present[column] = present.get(column, False) or bool(value)
    exporters = sorted({e for r in scored for e in r["exporters"]})
    info = {
        "chunks": len(chunks),
        "products_per_chunk": size,
        "chunks_reused": reused,
        "rows_reused": rows_reused,
        "backend": chunk_opts.backend
        + (f" at {chunk_opts.scheduler}" if chunk_opts.scheduler else "")
        + ("" if chunk_opts.backend == "local" else f", {chunk_opts.workers} workers"),
        # pass 1 by matrix scaling, or by the general PPML where the scaling does not apply
        "chunks_fit_by_scaling": sum(r.get("solver") == "scaling" for r in fits),
        "largest_chunk_cells": max((int(r["largest_frame_cells"]) for r in fits), default=0),
        "chunk_fit_seconds": round(sum(float(r["seconds"]) for r in fits), 3),
        "chunk_score_seconds": round(sum(float(r["seconds"]) for r in scored), 3),
        **timings,
        **forecast_info,
    }
    return ChunkedPotential(
        store,
        tuple(chunks),
        base_year,
        options,
        ease_fit,
        counts,
        present,
        tuple(exporters),
        sum(int(r["rows"]) for r in scored),
        info,
    )
