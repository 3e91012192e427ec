"""The per-chunk passes of the chunked potential; they run in worker processes.

Pass 1 (:func:`fit_chunk`) fits the product-level PPML
``value ~ 1 | exporter^product + importer^product`` with the ease offset on the chunk's
base-year grid only: every effect is nested in a product, so the unchunked fit over all
products separates into such blocks and the estimates are the same up to the IRLS tolerance
(one fit per chunk, rather than per product, spreads the fixed cost of a fit). It also keeps
the small sums the global pass needs (ITC pair sums, exporter and
importer totals for growth, log residuals for the pooled interval).

Pass 3 (:func:`score_chunk`) rebuilds the chunk's grid and assembles the opportunity rows with
the global tables of pass 2 (imputed supply, growth, pooled interval, ITC pair sums), through
the same functions as :func:`gravity.potential.model.fit_potential`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gravity.estimation.ppml import Ppml
from gravity.exceptions import GravityError, GravityWarning
from gravity.panel.zeros import Axes, dense_flows
from gravity.potential.chunked.forecast import ChunkForecast
from gravity.potential.chunked.sinkhorn import scale_products
from gravity.potential.chunked.source import ChunkReader
from gravity.potential.chunked.store import ChunkStore
from gravity.potential.features import RelatednessFeatures
from gravity.potential.itc import itc_pair_sums, itc_potential, itc_predicted
from gravity.potential.model import (
    add_intervals,
    log_residuals,
    product_demand_growth,
    project_grid,
)
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import add_relatedness_columns, select_cells
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

    def grid(self, rows: pd.DataFrame, products: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
        """The chunk's base-year grid with ease (cells without ease dropped, and counted)."""
        axes = Axes(self.axes.exporters, self.axes.importers, (), tuple(sorted(products)))
        grid = dense_flows(rows, axes, self.base_year)
        pair_index = pd.MultiIndex.from_frame(grid[["exporter", "importer"]])
        grid["ease"] = self.ease.reindex(pair_index).to_numpy()
        lacking = grid["ease"].isna()
        return grid[~lacking].reset_index(drop=True), int(lacking.sum())


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
    """
    supply, demand, fitted, separated, _ = _fit_with_solver(grid)
    return supply, demand, fitted, separated


def _fit_with_solver(
    grid: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, int, str]:
    """:func:`_fit_products` and the solver that fitted: ``scaling``, ``ppml`` or ``none``."""
    fitted = np.full(len(grid), np.nan)
    empty = (
        _empty("exporter", "observed"),
        _empty("importer", "demand"),
    )
    if not (grid["value"] > 0).any():  # nothing identified: every cell is separated
        return empty[0], empty[1], fitted, len(grid), "none"
    # the same MLE by matrix scaling (no regressors); the general solver where it does not apply
    scaled = scale_products(grid)
    if scaled is not None:
        supply, demand = _min_norm_split(scaled.supply, scaled.demand)
        return supply, demand, scaled.fitted, scaled.separated, "scaling"
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
    grid, without_ease = world.grid(rows, products)
    fit_start = time.perf_counter()
    try:
        supply, demand, fitted, separated, solver = _fit_with_solver(grid)
        fit_seconds = time.perf_counter() - fit_start
    except GravityError as exc:
        raise GravityError(f"potential: products {products[0]}..{products[-1]}: {exc}") from None
    grid["fitted"] = fitted
    actual = grid["value"].where(grid["value"] > world.options.min_flow, 0.0)
    scored = grid.assign(actual=actual)
    residuals = log_residuals(scored)[["r"]]
    pairs = itc_pair_sums(scored, itc_predicted(scored)).reset_index()
    years = (world.axes.years[0], world.axes.years[-1])
    sub = rows[rows["year"].isin(years) & (rows["exporter"] != rows["importer"])]
    totals = sub.groupby(["exporter", "importer", "year"], observed=True, as_index=False)[
        "value"
    ].sum()
    largest = int(grid.memory_usage(deep=False).sum())
    record = {
        "chunk": index,
        "products": len(products),
        "rows_read": len(rows),
        "cells": len(grid),
        "cells_without_ease": without_ease,
        "cells_separated": separated,
        "solver": solver,
        "fit_seconds": round(fit_seconds, 3),
        "largest_frame_cells": len(grid),
        "largest_frame_bytes": largest,
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


def score_chunk(
    world: ChunkWorld,
    index: int,
    products: tuple[str, ...],
    reader: ChunkReader,
    tables: GlobalTables,
) -> dict[str, Any]:
    """Pass 3 of one chunk: its opportunity rows (requested exporters), written to the store."""
    start = time.perf_counter()
    opts = world.options
    rows = reader.read()
    grid, _ = world.grid(rows, products)
    supply_obs = world.store.read_fit(index, "supply")
    demand = world.store.read_fit(index, "demand")
    ek = pd.MultiIndex.from_frame(grid[["exporter", "product"]])
    observed = pd.Series(
        supply_obs["observed"].to_numpy() + tables.shift,
        index=pd.MultiIndex.from_frame(supply_obs[["exporter", "product"]]),
    ).reindex(ek)
    grid["supply"] = tables.supply.reindex(ek).to_numpy()
    grid["supply_source"] = tables.source.reindex(ek).to_numpy()
    demand_key = demand["importer"] + "^" + demand["product"]
    grid["demand"] = (
        (grid["importer"] + "^" + grid["product"])
        .map(pd.Series(demand["demand"].to_numpy() - tables.shift, index=demand_key))
        .to_numpy()
    )
    by_market = tables.importer_growth.reindex(grid["importer"]).to_numpy()
    universe = world.axes
    if opts.demand_growth == "imports" and universe.years[-1] > universe.years[0]:
        g_demand = product_demand_growth(rows, tables.importer_growth, universe, opts)
        by_product = g_demand.reindex(pd.MultiIndex.from_frame(grid[["importer", "product"]]))
        grid["demand_growth"] = np.where(by_product.isna(), by_market, by_product.to_numpy())
    else:
        grid["demand_growth"] = by_market
    # in sample (both effects identified) the fit's own value exp(S_obs + D + E), as the
    # unchunked fit reports it; elsewhere the value with potential supply
    in_sample = observed.notna().to_numpy() & grid["demand"].notna().to_numpy()
    own = np.exp(observed.to_numpy() + grid["demand"].to_numpy() + grid["ease"].to_numpy())
    full = np.exp(grid["supply"] + grid["demand"] + grid["ease"]).to_numpy()
    grid["fitted"] = np.where(in_sample, own, full)
    grid, no_potential = project_grid(grid, tables.supply_growth, opts)
    add_intervals(grid, opts, True, pooled=tables.pooled)
    grid.insert(3, "base_year", world.base_year)
    grid.insert(4, "year", world.base_year + opts.horizon)
    grid["itc_potential"] = itc_potential(grid, opts.horizon, tables.itc_pairs).to_numpy()
    if tables.forecast is not None:  # model: forecast (rows hold every year up to the base)
        grid = tables.forecast.merge(grid, rows)
    if tables.related is not None:
        grid = add_relatedness_columns(grid, tables.related, world.base_year)
    frame = select_cells(grid, opts)
    present = {c: bool(frame[c].notna().any()) for c in SCORE_COLUMNS if c in frame.columns}
    # the grid is in cell order (exporter, importer, product; dense_flows) and merges and
    # selections keep it: the rows files are sorted by exporter, as the ranking reads them
    record = {
        "chunk": index,
        "rows": len(frame),
        "exporters": sorted(frame["exporter"].unique().tolist()),
        "cells_without_demand_or_supply": no_potential,
        "present": present,
        "largest_frame_cells": len(grid),
        "seconds": round(time.perf_counter() - start, 3),
    }
    world.store.write_rows(index, frame.reset_index(drop=True), record)
    return record
