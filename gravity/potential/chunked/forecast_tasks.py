"""The forecast's per-chunk tasks: global sums, the training sample's keys, its examples.

They run in worker processes like pass 1 and pass 3 (:mod:`.engine`), each on one product
chunk's rows of every year up to the base year: the chunk's own cube (countries x countries x
the chunk's products x years) is the largest array, never the whole panel's.

- :func:`chunk_sums`: the chunk's part of the forecast's global tables (sums and counts of
  positive cells by exporter, importer, pair, exporter x product, importer x product and
  product; the year's total and smallest positive flow) and a hash of its history.
- :func:`chunk_sample_keys`: the candidates of each training (or calibration) block of the
  chunk, after keeping a seeded share of the negatives, with the key that draws the block's
  capped sample (at most ``cap`` per chunk: a global cap keeps no more than that of a chunk).
- :func:`chunk_tables_and_keys`: both of the above from one read of the chunk (the keys from
  the countries the caller expects to trade in each origin, checked by the caller).
- :func:`chunk_examples`: features, outcomes and anchors of the chunk's sampled cells, and
  their ``lagged_presence`` (the rule the new-flow blend may stack with reads the cell's own
  earlier years, which only the chunk holds).

Random draws are a hash of the run's seed, the block and the cell's global code, so the sample
does not depend on how the products are chunked or in which order the chunks run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gravity.exceptions import GravityError
from gravity.potential.chunked.source import ChunkReader
from gravity.potential.forecast.baselines import lagged_presence
from gravity.potential.forecast.cube import Cube, build_cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder, GlobalTables
from gravity.potential.forecast.harness import log_anchor
from gravity.potential.forecast.options import ForecastOptions, Task

__all__ = [
    "SUM_NAMES",
    "Activity",
    "Block",
    "ForecastWorld",
    "chunk_examples",
    "chunk_sample_keys",
    "chunk_sums",
    "chunk_tables_and_keys",
    "tables_activity",
    "uniform",
]

SUM_NAMES = ("exporter", "importer", "pair", "exporter_product", "importer_product", "product")
"""The tables of sums and counts by key that the bilateral features read."""
# streams of the hashed draws: which negatives are kept, and the capped sample's order
_NEGATIVE_STREAM, _CAP_STREAM = 1, 2


@dataclass(frozen=True)
class Block:
    """One block of examples: a task's candidates at origin ``t`` with the outcome at ``b``.

    The key of :meth:`gravity.potential.forecast.harness.TaskHarness.examples`.
    """

    task: Task
    t: int
    b: int
    cap: int | None
    """At most this many cells (a seeded uniform sample); None: every candidate."""
    salt: int
    negative_rate: float | None

    @property
    def subsamples_negatives(self) -> bool:
        """Whether only a share of the negative candidates is kept."""
        return self.negative_rate is not None and self.negative_rate < 1


@dataclass(frozen=True)
class ForecastWorld:
    """What the forecast tasks of every chunk share (small)."""

    countries: pd.Index
    products: pd.Index
    """Every product of the panel's rows up to the base year (the global product codes)."""
    years: np.ndarray
    """The panel's years up to the base year."""
    options: ForecastOptions
    sum_years: tuple[int, ...]
    """Year indices whose sums the features read."""
    hash_years: tuple[int, ...]
    """Year indices of the origins the fit may read (the base year and every training origin):
    their features' tables are summed, and their history hash keys a model fitted there."""


def uniform(cells: np.ndarray, *key: int) -> np.ndarray:
    """A uniform draw in [0, 1) per global cell code: a hash of ``key`` and the code.

    SplitMix64's finaliser (Steele, Lea & Flood 2014) on the cell code plus a per-``key``
    constant from :class:`numpy.random.SeedSequence`: the same cell gets the same draw in
    whichever chunk, and in whichever order, it is drawn.
    """
    constant = np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0]
    z = cells.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + constant
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass
class _Chunk:
    """A chunk's cube over the whole panel's countries and years, and its product codes."""

    cube: Cube
    data: pd.DataFrame
    products: np.ndarray
    """Global product code of each of the chunk's products."""
    e: np.ndarray
    i: np.ndarray
    p: np.ndarray
    """Global product code of every cell."""
    local: np.ndarray
    """The chunk's own product code of every cell."""
    n_products: int
    """Products of the whole panel."""

    def global_cells(self, cells: np.ndarray) -> np.ndarray:
        """Codes of ``cells`` in the whole panel's cube, ``(e * C + i) * P + p``."""
        n_c = len(self.cube.countries)
        return (self.e[cells] * n_c + self.i[cells]) * self.n_products + self.p[cells]

    def local_cells(self, codes: np.ndarray) -> np.ndarray:
        """The chunk's cells of global ``codes`` (each of a product of the chunk).

        The inverse of :meth:`global_cells`; sorted codes give sorted cells (the chunk's
        products are in the whole panel's order).
        """
        pair, product = np.divmod(codes, self.n_products)
        local = np.searchsorted(self.products, product)
        if codes.size and not np.array_equal(
            self.products[np.minimum(local, self.products.size - 1)], product
        ):
            raise GravityError("chunked forecast: a sampled cell is not of this chunk's products")
        return pair * self.cube.n_products + local


def _read(world: ForecastWorld, reader: ChunkReader) -> _Chunk | None:
    rows = reader.read()
    later = rows["year"].to_numpy() > world.years[-1]
    if later.any():  # (no copy of the rows when every year is kept)
        rows = rows[~later]
    if not len(rows):
        return None
    data = normalise_panel(rows)
    cube = build_cube(data, True, world.options.min_flow, world.countries, world.years)
    assert cube.products is not None  # a product chunk
    products = world.products.get_indexer(cube.products).astype(np.int64)
    e, i, p = cube.codes(np.arange(cube.n_cells))
    return _Chunk(cube, data, products, e, i, products[p], p, len(world.products))


def chunk_sums(
    world: ForecastWorld, index: int, products: tuple[str, ...], reader: ChunkReader
) -> dict[str, Any]:
    """The chunk's sums and counts of positive cells by key, per year index of ``sum_years``.

    Exporter, importer and pair tables are the chunk's part (added over chunks); exporter x
    product, importer x product and product tables hold the chunk's products' columns, summed
    over the same cells in the same order as over the whole panel.
    """
    return _sums(_read(world, reader), world, index)


def _sums(chunk: _Chunk | None, world: ForecastWorld, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {"chunk": index, "sums": {}, "total": {}, "min_positive": {}}
    if chunk is None:
        out["hash"] = {a: "" for a in world.hash_years}
        out["products"] = np.zeros(0, dtype=np.int64)
        return out
    cube, e, i = chunk.cube, chunk.e, chunk.i
    n_c, n_pc = len(cube.countries), cube.n_products
    local = chunk.local
    keys = {
        "exporter": (e, n_c),
        "importer": (i, n_c),
        "pair": (e * n_c + i, n_c * n_c),
        "exporter_product": (e * n_pc + local, n_c * n_pc),
        "importer_product": (i * n_pc + local, n_c * n_pc),
        "product": (local, n_pc),
    }
    for a in world.sum_years:
        v = cube.values[a]
        # only the positive cells (a few percent of a chunk at HS6): a zero adds nothing to a
        # sum, and leaving it out keeps each bin's additions in the same order (the same bits)
        at = np.flatnonzero(v > 0)
        w = v[at]
        for name, (key, n) in keys.items():
            k = key[at]
            out["sums"][(a, name)] = (
                np.bincount(k, weights=w, minlength=n),
                np.bincount(k, minlength=n).astype(np.float64),
            )
        out["total"][a] = float(v.sum())
        out["min_positive"][a] = float(w.min()) if w.size else float("inf")
    out["hash"] = _history_hashes(cube, world.hash_years)
    out["products"] = chunk.products
    return out


def _history_hashes(cube: Cube, origins: tuple[int, ...]) -> dict[int, str]:
    """Hash of the chunk's history up to each year index of ``origins``.

    Each year is hashed once and the hashes of an origin's years are chained, so many origins
    cost one pass over the cube, not one pass per origin.
    """
    labels = cube.products if cube.products is not None else []
    head = hashlib.sha256("\x1f".join(map(str, labels)).encode()).hexdigest()
    last = max(origins, default=-1)
    years = [
        hashlib.sha256(
            np.ascontiguousarray(cube.values[b]).tobytes()
            + np.ascontiguousarray(cube.observed[b]).tobytes()
        ).hexdigest()
        for b in range(last + 1)
    ]
    return {
        a: hashlib.sha256((head + "".join(years[: a + 1])).encode()).hexdigest() for a in origins
    }


Activity = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Per year index: which exporters, importers (countries) and products trade in that year."""


def tables_activity(tables: GlobalTables, years: Iterable[int]) -> Activity:
    """The activity of ``years`` by the whole panel's totals (the global tables)."""
    return {
        t: (
            tables.sums[(t, "exporter")][0] > 0,
            tables.sums[(t, "importer")][0] > 0,
            tables.sums[(t, "product")][0] > 0,
        )
        for t in years
    }


def _candidates(chunk: _Chunk, activity: Activity, task: Task, t: int) -> np.ndarray:
    """The chunk's candidate cells at year index ``t`` (local codes).

    :meth:`~gravity.potential.forecast.harness.TaskHarness.candidates` (``active_only``) over
    the whole panel: the exporter, importer and product trade in that year, by the whole
    panel's totals; the cell is not domestic; no trade (``new_flow``) or trade (``level``).
    """
    v = chunk.cube.values[t]
    exporting, importing, traded = activity[t]
    active = exporting[chunk.e] & importing[chunk.i] & traded[chunk.p] & (chunk.e != chunk.i)
    if task == "new_flow":
        return np.flatnonzero(active & (v <= 0))
    return np.flatnonzero(active & (v > 0))


def _kept(
    chunk: _Chunk, world: ForecastWorld, activity: Activity, block: Block
) -> tuple[np.ndarray, np.ndarray, int]:
    """Candidates of ``block`` kept after the negatives' share, and the count before it.

    The kept cells' local and global codes.
    """
    cells = _candidates(chunk, activity, block.task, block.t)
    n_all = cells.size
    codes = chunk.global_cells(cells)
    if block.subsamples_negatives:
        assert block.negative_rate is not None
        draw = _block_draw(world, block, codes, _NEGATIVE_STREAM)
        negative = ~(chunk.cube.values[block.b, cells] > 0)
        keep = ~negative | (draw < block.negative_rate)
        cells, codes = cells[keep], codes[keep]
    return cells, codes, n_all


def _block_draw(world: ForecastWorld, block: Block, codes: np.ndarray, stream: int) -> np.ndarray:
    """Each cell's uniform draw for ``block`` in one of its streams (negatives kept, the cap)."""
    years = world.years
    return uniform(
        codes, world.options.seed, block.salt, int(years[block.t]), int(years[block.b]), stream
    )


def chunk_sample_keys(
    world: ForecastWorld,
    index: int,
    products: tuple[str, ...],
    reader: ChunkReader,
    tables: GlobalTables,
    blocks: tuple[Block, ...],
) -> dict[str, Any]:
    """Per block: the chunk's candidates, those kept, and its ``cap`` kept of smallest draw.

    The block's sample is the ``cap`` cells of smallest draw over every chunk (a uniform sample
    without replacement), so no chunk contributes more than its own ``cap`` smallest.
    """
    chunk = _read(world, reader)
    activity = tables_activity(tables, {b.t for b in blocks})
    return {"chunk": index, "blocks": _sample_keys(chunk, world, activity, blocks)}


def chunk_tables_and_keys(
    world: ForecastWorld,
    index: int,
    products: tuple[str, ...],
    reader: ChunkReader,
    countries: dict[int, tuple[np.ndarray, np.ndarray]],
    blocks: tuple[Block, ...],
) -> dict[str, Any]:
    """:func:`chunk_sums` and :func:`chunk_sample_keys` from one read of the chunk.

    The sample's keys do not need the global tables but for which countries trade in each
    origin: ``countries`` gives the exporters and importers the caller expects to trade (from
    the panel's rows); whether a product trades is the chunk's own (a chunk holds all of a
    product's cells). The caller checks ``countries`` against the summed tables and draws the
    keys again from them where they differ.
    """
    chunk = _read(world, reader)
    out = _sums(chunk, world, index)
    activity: Activity = {}
    for t, (exporting, importing) in countries.items():
        traded = np.zeros(len(world.products), dtype=bool)
        if chunk is not None:
            traded[chunk.products] = out["sums"][(t, "product")][0] > 0
        activity[t] = (exporting, importing, traded)
    out["blocks"] = _sample_keys(chunk, world, activity, blocks)
    return out


def _sample_keys(
    chunk: _Chunk | None, world: ForecastWorld, activity: Activity, blocks: tuple[Block, ...]
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    out = []
    for block in blocks:
        if chunk is None:
            out.append((0, 0, np.zeros(0, np.int64), np.zeros(0)))
            continue
        _, codes, n_all = _kept(chunk, world, activity, block)
        draw = _block_draw(world, block, codes, _CAP_STREAM)
        if block.cap is not None and codes.size > block.cap:
            keep = np.argpartition(draw, block.cap - 1)[: block.cap]
            codes, draw = codes[keep], draw[keep]
        out.append((n_all, codes.size, codes, draw))
    return out


def _features_by_origin(
    builder: FeatureBuilder, blocks: tuple[Block, ...], cells: list[np.ndarray], years: np.ndarray
) -> dict[tuple[int, float], tuple[np.ndarray, pd.DataFrame]]:
    """Features of every block's cells, one ``bilateral`` call per origin and horizon.

    A cell's features are its own row (its history, its keys' rows in the tables), so the
    blocks of one origin (tasks, training and calibration) are computed together and each takes
    its rows: the per-call work (the market tables, the peers of each importer) is done once.
    """
    wanted: dict[tuple[int, float], list[np.ndarray]] = {}
    for block, c in zip(blocks, cells, strict=True):
        wanted.setdefault((block.t, float(years[block.b] - years[block.t])), []).append(c)
    out = {}
    for (t, horizon), parts in wanted.items():
        union = np.unique(np.concatenate(parts))
        out[(t, horizon)] = (union, builder.bilateral(t, union, horizon))
    return out


def chunk_examples(
    world: ForecastWorld,
    index: int,
    products: tuple[str, ...],
    reader: ChunkReader,
    tables: GlobalTables,
    blocks: tuple[Block, ...],
    chosen: tuple[np.ndarray | None, ...],
) -> dict[str, Any]:
    """Per block: the chunk's examples (global codes, features, outcomes, anchor).

    ``chosen`` holds, per block, the sorted global codes of its sample in this chunk (None:
    every candidate kept after the negatives' share); they are the chunk's cells directly, so
    the candidates are not found again.
    """
    chunk = _read(world, reader)
    out: dict[str, Any] = {"chunk": index, "blocks": []}
    if chunk is None:
        out["blocks"] = [None] * len(blocks)
        return out
    opts = world.options
    builder = FeatureBuilder(chunk.cube, chunk.data, opts.lags, opts.ease_terms, tables=tables)
    frames: dict[tuple[int, bytes], pd.DataFrame] = {}
    years = world.years
    activity = tables_activity(
        tables, {b.t for b, c in zip(blocks, chosen, strict=True) if c is None}
    )
    picked = []
    for block, codes_wanted in zip(blocks, chosen, strict=True):
        if codes_wanted is None:
            cells, codes, _ = _kept(chunk, world, activity, block)
        else:
            cells, codes = chunk.local_cells(codes_wanted), codes_wanted
        picked.append((cells, codes))
    union = _features_by_origin(builder, blocks, [c for c, _ in picked], years)
    for block, (cells, codes) in zip(blocks, picked, strict=True):
        horizon = float(years[block.b] - years[block.t])
        # the same cells at the same origin (the two horizons of one origin) share features
        key = (block.t, np.ascontiguousarray(cells).tobytes())
        if key in frames:
            feats = frames[key].assign(horizon=np.full(cells.size, horizon))
        else:
            cells_of, frame = union[(block.t, horizon)]
            rows = np.searchsorted(cells_of, cells)
            feats = frame.iloc[rows].reset_index(drop=True)
            frames[key] = feats
        cube = chunk.cube
        out["blocks"].append(
            {
                "codes": codes,
                "features": feats,
                "actual_origin": cube.values[block.t, cells],
                "observed_origin": cube.observed[block.t, cells],
                "anchor": log_anchor(builder, block.t, cells, feats),
                "actual": cube.values[block.b, cells],
                "observed_target": cube.observed[block.b, cells],
                # the new-flow blend's rule that reads the cell's own earlier years
                "lagged": (
                    lagged_presence(cube, block.t, cells, horizon)
                    if block.task == "new_flow"
                    else None
                ),
            }
        )
    return out
