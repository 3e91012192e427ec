"""The per-chunk passes of the chunked potential; they run in worker processes.

Pass 1 (:func:`fit_chunk`) fits the product-level PPML
``value ~ 1 | exporter^product + importer^product`` with the ease offset on the chunk's
base-year grid only: every effect is nested in a product, so the unchunked fit over all
products separates into such blocks and the estimates are the same up to the IRLS tolerance
(one fit per chunk, rather than per product, spreads the fixed cost of a fit). It also keeps
the small sums the global pass needs (ITC pair sums, exporter and
importer totals for growth, log residuals for the pooled interval).

Pass 3 (:func:`score_chunk`) rebuilds the chunk's grid and assembles the opportunity rows with
the global tables of pass 2 (imputed supply, growth, pooled interval, ITC pair sums), with the
formulas of :func:`gravity.potential.model.fit_potential`.

Both passes hold the grid as integer codes (:mod:`gravity.potential.chunked.coded`, the pass-3
arithmetic in :mod:`gravity.potential.chunked.cells`); text keys are built only for the rows
written.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from gravity.estimation.ppml import Ppml
from gravity.exceptions import GravityError, GravityWarning
from gravity.panel.zeros import Axes
from gravity.potential.chunked.cells import (
    CellInputs,
    chunk_cells,
    demand_growth,
    effect_matrix,
    pair_matrices,
    relatedness_columns,
)
from gravity.potential.chunked.coded import (
    CodedGrid,
    coded_grid,
    dense_lookup,
    itc_pair_sums,
    itc_predicted,
    pair_year_totals,
)
from gravity.potential.chunked.forecast import ChunkForecast
from gravity.potential.chunked.sinkhorn import Scaled, scale_coded, scale_products
from gravity.potential.chunked.source import ChunkReader
from gravity.potential.chunked.store import ChunkStore
from gravity.potential.features import RelatednessFeatures
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import select_cells
from gravity.potential.scoring import ATTRACTIVENESS, FEASIBILITY

__all__ = ["ChunkWorld", "GlobalTables", "demand_shift", "fit_chunk", "score_chunk"]

SCORE_COLUMNS = ("entry_probability", *FEASIBILITY, *ATTRACTIVENESS)
"""Columns whose presence decides the score components (over the whole table)."""


@dataclass(frozen=True)
class ChunkWorld:
    """What every chunk shares: the universe, the base year, options and ease (small)."""

    axes: Axes
    """Exporters, importers and window years of the universe (products: all of them)."""
    base_year: int
    options: PotentialOptions
    ease: pd.Series
    """Ease by (exporter, importer) at the base year."""
    store: ChunkStore

    def coded(self, rows: pd.DataFrame, products: tuple[str, ...]) -> CodedGrid:
        """The chunk's base-year grid with ease, as integer codes (cells without ease dropped).

        The same cells in the same order as :func:`gravity.panel.zeros.dense_flows` of the
        chunk's products with the ease column, less the cells without ease.
        """
        exporters, importers = pd.Index(self.axes.exporters), pd.Index(self.axes.importers)
        ease = dense_lookup(self.ease, exporters, importers).astype(float)
        return coded_grid(
            rows, exporters, importers, pd.Index(sorted(products)), self.base_year, ease
        )


@dataclass(frozen=True)
class GlobalTables:
    """Pass 2's results that a chunk's pass 3 needs, restricted to the chunk's products."""

    supply: pd.Series
    """Potential supply by (exporter, product)."""
    source: pd.Series
    """``observed``, ``predicted`` or ``none`` by (exporter, product)."""
    supply_growth: pd.Series
    importer_growth: pd.Series
    pooled: tuple[float, float]
    """Pooled log-residual quantiles of the interval (over every product)."""
    itc_pairs: pd.DataFrame
    """ITC pair sums over every product."""
    shift: float = 0.0
    """Added to every supply and taken from every demand effect: the normalisation of the
    unchunked fit (:func:`demand_shift`)."""
    related: RelatednessFeatures | None = None
    forecast: ChunkForecast | None = None
    """``model: forecast``: the fitted forecast that replaces gravity's potential."""
    extra: dict[str, Any] = field(default_factory=dict)


def _split(labels: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    parts = labels.str.split("^", n=1, expand=True)
    return (
        np.asarray(parts.get_level_values(0), dtype=object),
        np.asarray(parts.get_level_values(1), dtype=object),
    )


def _min_norm(supply: pd.DataFrame, demand: pd.DataFrame) -> pd.Series:
    """Per product, the constant ``c`` of the minimum-norm split ``S + c, D - c``.

    Only ``S + D`` is identified within a product; the least-squares recovery of the effects
    picks the split with ``sum(S + c) = sum(D - c)``.
    """
    s = supply.groupby("product")["observed"].agg(["sum", "size"])
    d = demand.groupby("product")["demand"].agg(["sum", "size"]).reindex(s.index, fill_value=0)
    return (d["sum"] - s["sum"]) / (s["size"] + d["size"])


def _min_norm_split(
    supply: pd.DataFrame, demand: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each product's effects moved to its minimum-norm split (:func:`_min_norm`).

    A solver's own normalisation (the chunk's first importer^product level, or the scaling's
    arbitrary constant) differs from the unchunked fit's: keep the minimum-norm split, and
    pass 2 applies the one global constant (:func:`demand_shift`).
    """
    c = _min_norm(supply, demand)
    supply = supply.assign(observed=supply["observed"] + supply["product"].map(c).to_numpy())
    demand = demand.assign(demand=demand["demand"] - demand["product"].map(c).to_numpy())
    return supply, demand


def _fit_products(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, int]:
    """Supply and demand by product (minimum-norm split), fitted values, separated cells.

    One PPML ``value ~ 1 | exporter^product + importer^product`` over the chunk: the
    unchunked model restricted to the chunk's products, whose effects separate by product.
    ``grid`` is a text frame (exporter, importer, product, value, ease) in cell order.
    """
    values = grid["value"].to_numpy(dtype=float)
    supply, demand, fitted, separated, _ = _solve(values, lambda: scale_products(grid), grid)
    return supply, demand, fitted, separated


def _fit_with_solver(
    grid: CodedGrid,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, int, str]:
    """:func:`_fit_products` of a coded grid, and the solver that fitted.

    The solver is ``scaling``, ``ppml`` or ``none``; the text frame is built only for the
    general solver.
    """
    return _solve(grid.value, lambda: scale_coded(grid), grid.frame)


def _solve(
    values: np.ndarray,
    scale: Callable[[], Scaled | None],
    frame: pd.DataFrame | Callable[[], pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, int, str]:
    fitted = np.full(len(values), np.nan)
    empty = (
        _empty("exporter", "observed"),
        _empty("importer", "demand"),
    )
    if not (values > 0).any():  # nothing identified: every cell is separated
        return empty[0], empty[1], fitted, len(values), "none"
    # the same MLE by matrix scaling (no regressors); the general solver where it does not apply
    scaled = scale()
    if scaled is not None:
        supply, demand = _min_norm_split(scaled.supply, scaled.demand)
        return supply, demand, scaled.fitted, scaled.separated, "scaling"
    grid = frame if isinstance(frame, pd.DataFrame) else frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GravityWarning)
        fit = Ppml("value ~ 1 | exporter^product + importer^product", grid, offset="ease").fit()
    fitted[fit.sample] = fit.fitted
    fe = fit.fixed_effects
    exporter, product = _split(fe["exporter^product"].index)
    supply = pd.DataFrame(
        {"exporter": exporter, "product": product, "observed": fe["exporter^product"].to_numpy()}
    )
    importer, product = _split(fe["importer^product"].index)
    demand = pd.DataFrame(
        {"importer": importer, "product": product, "demand": fe["importer^product"].to_numpy()}
    )
    supply, demand = _min_norm_split(supply, demand)
    return supply, demand, fitted, int(fit.nobs_dropped.get("fe_zero", 0)), "ppml"


def fit_chunk(
    world: ChunkWorld, index: int, products: tuple[str, ...], reader: ChunkReader
) -> dict[str, Any]:
    """Pass 1 of one chunk: per-product PPML and the sums of pass 2; written to the store."""
    start = time.perf_counter()
    rows = reader.read()
    read_seconds = time.perf_counter() - start
    grid = world.coded(rows, products)
    fit_start = time.perf_counter()
    try:
        supply, demand, fitted, separated, solver = _fit_with_solver(grid)
        fit_seconds = time.perf_counter() - fit_start
    except GravityError as exc:
        raise GravityError(f"potential: products {products[0]}..{products[-1]}: {exc}") from None
    actual = np.where(grid.value > world.options.min_flow, grid.value, 0.0)
    # log residuals of the positive cells (log_residuals), for the pooled interval
    with np.errstate(invalid="ignore"):
        positive = (actual > 0) & (fitted > 0)
    residuals = pd.DataFrame({"r": np.log(actual[positive] / fitted[positive])})
    pairs = itc_pair_sums(grid, itc_predicted(grid, actual), actual)
    years = (world.axes.years[0], world.axes.years[-1])
    totals = pair_year_totals(rows, grid.exporters, grid.importers, years)
    arrays = (grid.pe, grid.pi, grid.value2d, grid.pair_ease, fitted)
    record = {
        "chunk": index,
        "products": len(products),
        "rows_read": len(rows),
        "cells": len(grid),
        "cells_without_ease": grid.without_ease,
        "cells_separated": separated,
        "solver": solver,
        "fit_seconds": round(fit_seconds, 3),
        "largest_frame_cells": len(grid),
        "largest_frame_bytes": int(sum(a.nbytes for a in arrays)),
        "read_seconds": round(read_seconds, 3),
        "seconds": round(time.perf_counter() - start, 3),
    }
    tables = {
        "supply": supply,
        "demand": demand,
        "pairs": pairs,
        "totals": totals,
        "residuals": residuals,
    }
    world.store.write_fit(index, tables, record)
    return record


def demand_shift(demand: pd.DataFrame) -> float:
    """The constant the unchunked fit moves from demand to supply effects.

    Its effects are normalised as fixest does: the first importer x product level (importer,
    then product, in sorted order) has demand zero; every product's minimum-norm split is
    shifted by that level's value.
    """
    if not len(demand):
        return 0.0
    first = demand.sort_values(["importer", "product"], kind="stable").iloc[0]
    return float(first["demand"])


def _empty(key: str, value: str) -> pd.DataFrame:
    return pd.DataFrame(
        {key: pd.Series(dtype=str), "product": pd.Series(dtype=str), value: pd.Series(dtype=float)}
    )


def _cell_inputs(
    world: ChunkWorld, index: int, grid: CodedGrid, rows: pd.DataFrame, tables: GlobalTables
) -> CellInputs:
    """The global tables of pass 2 and the chunk's own effects as dense matrices."""
    exporters, importers, products = grid.exporters, grid.importers, grid.products
    observed = effect_matrix(
        world.store.read_fit(index, "supply"),
        "exporter",
        "observed",
        exporters,
        products,
        tables.shift,
    )
    demand = effect_matrix(
        world.store.read_fit(index, "demand"),
        "importer",
        "demand",
        importers,
        products,
        -tables.shift,
    )
    pair_predicted, pair_actual = pair_matrices(tables.itc_pairs, exporters, importers)
    return CellInputs(
        observed=observed,
        supply=dense_lookup(tables.supply, exporters, products).astype(float),
        source=dense_lookup(tables.source, exporters, products),
        demand=demand,
        demand_growth=demand_growth(
            rows, grid, tables.importer_growth, world.axes.years, world.options
        ),
        supply_growth=tables.supply_growth.reindex(exporters).fillna(0.0).to_numpy(dtype=float),
        pair_predicted=pair_predicted,
        pair_actual=pair_actual,
        pooled=tables.pooled,
    )


def _requested(grid: CodedGrid, options: PotentialOptions) -> np.ndarray | None:
    """Pairs of the requested exporters and destinations (``None``: every pair)."""
    keep: np.ndarray | None = None
    for wanted, labels, codes in (
        (options.exporters, grid.exporters, grid.pe),
        (options.importers, grid.importers, grid.pi),
    ):
        if wanted is None:
            continue
        on_axis = labels.isin([str(w) for w in wanted])
        keep = on_axis[codes] if keep is None else keep & on_axis[codes]
    return keep


def score_chunk(
    world: ChunkWorld,
    index: int,
    products: tuple[str, ...],
    reader: ChunkReader,
    tables: GlobalTables,
    forecast: ChunkForecast | None = None,
) -> dict[str, Any]:
    """Pass 3 of one chunk: its opportunity rows (requested exporters), written to the store.

    Every cell's numbers are computed on integer codes (:mod:`gravity.potential.chunked.cells`);
    the text frame is built for the requested exporters' and destinations' cells only.
    ``forecast``, when given, is ``tables.forecast``: an argument of its own, the same object
    in every chunk's task, so that a Dask cluster receives it once per worker.
    """
    start = time.perf_counter()
    if forecast is not None:
        tables = replace(tables, forecast=forecast)
    opts = world.options
    rows = reader.read()
    grid = world.coded(rows, products)
    cells = chunk_cells(grid, _cell_inputs(world, index, grid, rows, tables), opts)
    keep = _requested(grid, opts)
    frame = grid.frame(keep)[["exporter", "importer", "product"]]
    frame["base_year"] = np.full(len(frame), world.base_year, dtype=np.int64)
    frame["year"] = np.full(len(frame), world.base_year + opts.horizon, dtype=np.int64)
    for column, values in cells.columns.items():
        frame[column] = (values if keep is None else values[keep]).reshape(-1)
    related: dict[str, np.ndarray] = {}
    if tables.related is not None:
        related = relatedness_columns(grid, keep, tables.related, world.base_year)
        for column, values in related.items():
            frame[column] = values
    if tables.forecast is not None:  # model: forecast (rows hold every year up to the base)
        frame = tables.forecast.merge(frame, rows)
        # the relatedness columns come after the forecast's, as in the unchunked table
        frame = frame[[c for c in frame.columns if c not in related] + list(related)]
    frame = select_cells(frame, opts)
    present = {c: bool(frame[c].notna().any()) for c in SCORE_COLUMNS if c in frame.columns}
    # the grid is in cell order (exporter, importer, product) and merges and selections keep
    # it: the rows files are sorted by exporter, as the ranking reads them
    record = {
        "chunk": index,
        "rows": len(frame),
        "exporters": sorted(frame["exporter"].unique().tolist()),
        "cells_without_demand_or_supply": cells.no_potential,
        "present": present,
        "largest_frame_cells": len(grid),
        "seconds": round(time.perf_counter() - start, 3),
    }
    world.store.write_rows(index, frame.reset_index(drop=True), record)
    return record
