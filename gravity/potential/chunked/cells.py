"""Pass 3's cell arithmetic on integer codes: potential, intervals and ITC for a whole chunk.

Every number of a chunk's opportunity rows is computed here over all of the chunk's cells (the
per-product interval quantiles and the ITC sums need every exporter), with the global tables
as small dense matrices (countries x products, countries x countries) looked up by code. Text
keys and the row frame are built afterwards for the requested exporters and destinations only:
for one exporter that is one cell in two hundred.

The formulas are those of :func:`gravity.potential.model.project_grid`,
:func:`~gravity.potential.model.add_intervals`,
:func:`~gravity.potential.model.product_demand_growth` and
:func:`gravity.potential.itc.itc_potential`, which the unchunked model runs on its text frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.potential.chunked.coded import (
    CodedGrid,
    codes_of,
    dense_lookup,
    international_codes,
    itc_predicted,
)
from gravity.potential.features import RelatednessFeatures
from gravity.potential.model import _quantiles
from gravity.potential.options import PotentialOptions

__all__ = ["CellInputs", "ChunkCells", "chunk_cells", "demand_growth"]


@dataclass(frozen=True)
class CellInputs:
    """The global tables of one chunk as dense matrices on the grid's axes."""

    observed: np.ndarray
    """exporters x products: the fit's own supply effect (normalised), NaN where none."""
    supply: np.ndarray
    """exporters x products: potential supply (observed or imputed)."""
    source: np.ndarray
    """exporters x products: ``observed``, ``predicted``, ``none`` (object; NaN off table)."""
    demand: np.ndarray
    """importers x products: demand effect (normalised), NaN where none."""
    demand_growth: np.ndarray
    """importers x products: annual log growth of imports (NaN where unknown)."""
    supply_growth: np.ndarray
    """exporters: annual log growth of exports (0 where unknown)."""
    pair_predicted: np.ndarray
    """exporters x importers: ITC sums of supply x demand over every product."""
    pair_actual: np.ndarray
    pooled: tuple[float, float]


@dataclass(frozen=True)
class ChunkCells:
    """Every column of a chunk's opportunity rows, for every cell of its grid."""

    columns: dict[str, np.ndarray]
    """pairs x products matrices (cell order when flattened): actual, ease, supply,
    supply_source, demand, demand_growth, fitted, supply_growth, potential, untapped,
    realised_share, potential_low, potential_high, itc_potential."""
    no_potential: int
    """Cells without demand or supply (potential NaN, set to 0)."""


def effect_matrix(
    table: pd.DataFrame, key: str, value: str, first: pd.Index, products: pd.Index, add: float
) -> np.ndarray:
    """A pass-1 effect table (key, product, value) as a ``first x products`` matrix + ``add``."""
    out = np.full((len(first), len(products)), np.nan)
    k = codes_of(table[key], first)
    p = codes_of(table["product"], products)
    ok = (k >= 0) & (p >= 0)
    out[k[ok], p[ok]] = table[value].to_numpy(dtype=float)[ok] + add
    return out


def demand_growth(
    rows: pd.DataFrame,
    grid: CodedGrid,
    importer_growth: pd.Series,
    years: tuple[int, ...],
    options: PotentialOptions,
) -> np.ndarray:
    """Importers x products annual log growth of imports over the window (NaN = the market's).

    :func:`gravity.potential.model.product_demand_growth` on dense sums: where a market's
    imports of a product start or end at zero, its total import growth; where it has no rows in
    the last year, that too (the grid takes ``importer_growth`` there).
    """
    _, n_i, n_p = grid.shape
    by_market = importer_growth.reindex(grid.importers).to_numpy(dtype=float)
    first, last = years[0], years[-1]
    if options.demand_growth != "imports" or last <= first:
        return np.repeat(by_market[:, None], n_p, axis=1)
    year = rows["year"].to_numpy()
    sub = rows.loc[(year == first) | (year == last)]
    _, i, international = international_codes(sub, grid.exporters, grid.importers)
    p = codes_of(sub["product"], grid.products)
    ok = international & (p >= 0)
    at = i[ok] * n_p + p[ok]
    is_last = sub["year"].to_numpy()[ok] == last
    values = sub["value"].to_numpy(dtype=float)[ok]
    end = np.bincount(at[is_last], weights=values[is_last], minlength=n_i * n_p)
    start = np.bincount(at[~is_last], weights=values[~is_last], minlength=n_i * n_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.log(end / start) / (last - first)
    cap = options.max_annual_growth
    fallback = np.repeat(by_market, n_p)
    rate = np.where((start > 0) & (end > 0), np.clip(rate, -cap, cap), fallback)
    return rate.reshape(n_i, n_p)


def chunk_cells(grid: CodedGrid, inputs: CellInputs, options: PotentialOptions) -> ChunkCells:
    """Potential, gap, interval and ITC columns of every cell of ``grid`` (pairs x products)."""
    pe, pi = grid.pe, grid.pi
    n_p = len(grid.products)
    ease = grid.pair_ease[:, None]
    observed = inputs.observed[pe]
    supply = inputs.supply[pe]
    demand = inputs.demand[pi]
    # in sample (both effects identified) the fit's own value exp(S_obs + D + E), as the
    # unchunked fit reports it; elsewhere the value with potential supply
    in_sample = ~np.isnan(observed) & ~np.isnan(demand)
    fitted = np.where(in_sample, np.exp(observed + demand + ease), np.exp(supply + demand + ease))
    growth_s = np.broadcast_to(inputs.supply_growth[pe][:, None], fitted.shape)
    growth_d = inputs.demand_growth[pi]
    growth_d = np.where(np.isnan(growth_d), 0.0, growth_d)
    growth = options.horizon * (growth_s + growth_d)
    potential = np.exp(supply + demand + ease + growth)
    missing = np.isnan(potential)
    potential[missing] = 0.0
    value = grid.value2d
    actual = np.where(value > options.min_flow, value, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        realised = np.where(potential > 0, actual / potential, np.nan)
        positive = (actual > 0) & (fitted > 0)
    # per-product quantiles of the log residuals (pooled over every product where too few)
    codes = np.broadcast_to(np.arange(n_p), fitted.shape)
    residuals = pd.DataFrame(
        {"r": np.log(actual[positive] / fitted[positive]), "product": codes[positive]}
    )
    by_product, _, _ = _quantiles(residuals, "product", options.interval)
    lo = np.full(n_p, inputs.pooled[0])
    hi = np.full(n_p, inputs.pooled[1])
    if len(by_product):
        at = by_product.index.to_numpy(dtype=np.int64)
        lo[at] = [q[0] for q in by_product]
        hi[at] = [q[1] for q in by_product]
    predicted = itc_predicted(grid, actual)
    pair_pred = inputs.pair_predicted[pe, pi][:, None]
    pair_actual = inputs.pair_actual[pe, pi][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        itc_ease = np.where(pair_pred > 0, pair_actual / pair_pred, 0.0)
    columns = {
        "actual": actual,
        "ease": np.broadcast_to(ease, fitted.shape),
        "supply": supply,
        "supply_source": inputs.source[pe],
        "demand": demand,
        "demand_growth": growth_d,
        "fitted": fitted,
        "supply_growth": growth_s,
        "potential": potential,
        "untapped": np.maximum(potential - actual, 0.0),
        "realised_share": realised,
        "potential_low": potential * np.exp(lo),
        "potential_high": potential * np.exp(hi),
        "itc_potential": predicted * itc_ease * np.exp(growth),
    }
    return ChunkCells(columns, int(missing.sum()))


def pair_matrices(
    pairs: pd.DataFrame, exporters: pd.Index, importers: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """ITC pair sums (indexed by exporter, importer) as two exporters x importers matrices."""
    return (
        dense_lookup(pairs["predicted"], exporters, importers).astype(float),
        dense_lookup(pairs["actual"], exporters, importers).astype(float),
    )


def relatedness_columns(
    grid: CodedGrid, pairs: np.ndarray | None, related: RelatednessFeatures, base_year: int
) -> dict[str, np.ndarray]:
    """density, pci, cog, market_relatedness and similar_exporters of the cells of ``pairs``.

    What :func:`gravity.potential.pipeline.add_relatedness_columns` merges onto the text frame,
    looked up by code: the base year's country x product table as an exporters x products
    matrix, the market's importer density as importers x products, peer presence by position.
    """
    pe = grid.pe if pairs is None else grid.pe[pairs]
    pi = grid.pi if pairs is None else grid.pi[pairs]
    n_p = len(grid.products)
    shape = (len(grid.exporters), n_p)
    table = related.frame[related.frame["year"] == base_year]
    e = codes_of(table["country"], grid.exporters)
    p = codes_of(table["product"], grid.products)
    ok = (e >= 0) & (p >= 0)
    out: dict[str, np.ndarray] = {}
    for column in ("density", "pci", "cog"):
        if column in table.columns:
            matrix = np.full(shape, np.nan)
            matrix[e[ok], p[ok]] = table[column].to_numpy(dtype=float)[ok]
            out[column] = matrix[pe].reshape(-1)
    market = related.market
    if market is not None:
        ji = pd.Index(market.importers.astype(str)).get_indexer(grid.importers)
        pj = pd.Index(market.products.astype(str)).get_indexer(grid.products)
        density = np.where(
            (ji[:, None] >= 0) & (pj[None, :] >= 0),
            market.importer_density[np.maximum(ji, 0)][:, np.maximum(pj, 0)],
            np.nan,
        )
        out["market_relatedness"] = density[pi].reshape(-1)
        out["similar_exporters"] = market.peer_presence_at(
            np.repeat(pd.Index(market.exporters).get_indexer(grid.exporters)[pe], n_p),
            np.repeat(pd.Index(market.importers).get_indexer(grid.importers)[pi], n_p),
            np.tile(pd.Index(market.products).get_indexer(grid.products), len(pe)),
        )
    return out
