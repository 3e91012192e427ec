"""The chunked forecast's passes over the chunks: one read gives the tables and the sample's keys.

The tables' pass also draws the training sample's keys, from the countries the panel's rows
show trading in each origin (the tables are not summed yet); it is checked against the tables
afterwards. References, exact (no tolerance: the same cells are added in the same order):

- the per-chunk sums against the earlier code's, kept here as the oracle (a ``bincount`` over
  every cell of the chunk's cube, zeros included, counts weighted by ``v > 0``);
- the sample's keys against a separate pass after the tables (``chunk_sample_keys``, what the
  code did before) merged as the earlier code did (a ``lexsort`` of the kept keys after each
  chunk), kept here as the oracle;
- each chunk's sampled cells, now mapped from their global codes, against the earlier
  ``isin`` over the chunk's candidates;
- the opportunities of a run against the run that draws the keys again from the tables (the
  path taken when the countries assumed differ from the tables').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from gravity.potential.chunked import forecast, forecast_merge, forecast_tasks
from gravity.potential.chunked.backends import _local
from gravity.potential.chunked.forecast_tasks import (
    Block,
    ForecastWorld,
    chunk_sample_keys,
    chunk_tables_and_keys,
    tables_activity,
)
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.chunked.source import ProductIndex
from gravity.potential.features import relatedness_features
from tests.potential.test_chunked import world_panel
from tests.potential.test_chunked_forecast import KEYS, SAMPLED, chunked, options

PRODUCTS_PER_CHUNK = 4
# 12 countries x 40 products: about 5,000 candidates a year, so the new-flow blocks keep more
# than the cap (1,000) after the negative share and the cut is exercised
N_PRODUCTS = 40


def old_chunk_sums(world: ForecastWorld, reader: Any) -> dict[str, Any]:
    """The earlier ``chunk_sums``: every cell of the chunk's cube, zeros included."""
    chunk = forecast_tasks._read(world, reader)
    assert chunk is not None
    cube, e, i = chunk.cube, chunk.e, chunk.i
    n_c, n_pc = len(cube.countries), cube.n_products
    _, _, local = cube.codes(np.arange(cube.n_cells))
    keys = {
        "exporter": (e, n_c),
        "importer": (i, n_c),
        "pair": (e * n_c + i, n_c * n_c),
        "exporter_product": (e * n_pc + local, n_c * n_pc),
        "importer_product": (i * n_pc + local, n_c * n_pc),
        "product": (local, n_pc),
    }
    sums, total, smallest = {}, {}, {}
    for a in world.sum_years:
        v = cube.values[a]
        positive = v > 0
        for name, (key, n) in keys.items():
            sums[(a, name)] = (
                np.bincount(key, weights=v, minlength=n),
                np.bincount(key, positive, minlength=n),
            )
        total[a] = float(v.sum())
        smallest[a] = float(v[positive].min()) if positive.any() else float("inf")
    return {"sums": sums, "total": total, "min_positive": smallest}


def old_merge_keys(
    results: list[list[tuple[int, int, np.ndarray, np.ndarray]]], blocks: list[Block]
) -> tuple[list[np.ndarray | None], list[int]]:
    """The earlier merge: the kept keys sorted by (draw, code) and cut after every chunk."""
    counts, kept = [0] * len(blocks), [0] * len(blocks)
    best = [(np.zeros(0, np.int64), np.zeros(0)) for _ in blocks]
    for keys in results:
        for k, (n, n_kept, codes, draw) in enumerate(keys):
            counts[k] += int(n)
            kept[k] += int(n_kept)
            cap = blocks[k].cap
            codes = np.concatenate([best[k][0], codes])
            draw = np.concatenate([best[k][1], draw])
            if cap is not None and codes.size > cap:
                keep = np.lexsort((codes, draw))[:cap]
                codes, draw = codes[keep], draw[keep]
            best[k] = (codes, draw)
    chosen: list[np.ndarray | None] = []
    for k, block in enumerate(blocks):
        capped = block.cap is not None and kept[k] > block.cap
        chosen.append(np.sort(best[k][0]) if capped else None)
    return chosen, counts


def _setup() -> tuple[Any, list[tuple[str, ...]], Any]:
    panel = world_panel(N_PRODUCTS)
    opts = options(learner=SAMPLED).forecast_options()
    base = int(panel["year"].max())
    plan = forecast._plan(panel, base, 2, opts, relatedness_features(), {})
    products = [str(p) for p in plan.world.products]
    chunks = [
        tuple(products[k : k + PRODUCTS_PER_CHUNK])
        for k in range(0, len(products), PRODUCTS_PER_CHUNK)
    ]
    return plan, chunks, ProductIndex(panel).rows


def test_one_read_gives_the_earlier_tables_and_sample() -> None:
    plan, chunks, reader = _setup()
    blocks = plan.all_blocks
    assert forecast._sampled(plan.world, blocks)  # the cap and the negative share apply
    countries = forecast._trading_countries(plan, {b.t for b in blocks})
    fused = [
        chunk_tables_and_keys(plan.world, k, c, reader(c), countries, tuple(blocks))
        for k, c in enumerate(chunks)
    ]
    for k, c in enumerate(chunks):
        old = old_chunk_sums(plan.world, reader(c))
        assert fused[k]["sums"].keys() == old["sums"].keys()
        for key, (total, count) in old["sums"].items():
            np.testing.assert_array_equal(fused[k]["sums"][key][0], total, err_msg=str(key))
            np.testing.assert_array_equal(fused[k]["sums"][key][1], count, err_msg=str(key))
            assert fused[k]["sums"][key][1].dtype == count.dtype
        assert fused[k]["total"] == old["total"]
        assert fused[k]["min_positive"] == old["min_positive"]
    history, keys = forecast._stream_tables(plan, chunks, reader, _local, False)
    assert keys is not None  # the countries assumed are those of the tables
    tables = plan.builder.glob
    assumed = tables_activity(tables, countries)
    for t, (exporting, importing) in countries.items():
        np.testing.assert_array_equal(assumed[t][0], exporting)
        np.testing.assert_array_equal(assumed[t][1], importing)
    # the sample: a separate pass after the tables, merged as before
    separate = [
        chunk_sample_keys(plan.world, k, c, reader(c), tables, tuple(blocks))["blocks"]
        for k, c in enumerate(chunks)
    ]
    want_chosen, want_counts = old_merge_keys(separate, blocks)
    got_chosen, got_counts = keys
    assert got_counts == want_counts
    assert sum(c is not None for c in want_chosen) >= 1  # a capped block is compared
    for got, want in zip(got_chosen, want_chosen, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_array_equal(got, want)
    # each chunk's sampled cells, mapped from their codes, against the isin over candidates
    at = forecast_merge.chunk_of_product(plan.world, chunks)
    activity = tables_activity(tables, {b.t for b in blocks})
    for k, c in enumerate(chunks):
        chunk = forecast_tasks._read(plan.world, reader(c))
        assert chunk is not None
        for block, codes in zip(blocks, want_chosen, strict=True):
            if codes is None:
                continue
            cells, kept, _ = forecast_tasks._kept(chunk, plan.world, activity, block)
            mine = forecast_merge.by_chunk(codes, at, len(chunks))[k]
            np.testing.assert_array_equal(chunk.local_cells(mine), cells[np.isin(kept, codes)])
    # the examples from the fused keys equal those of a separate keys' pass
    ours = forecast._draw(plan, chunks, reader, _local, False, blocks, keys)
    again = forecast._draw(plan, chunks, reader, _local, False, blocks, None)
    assert ours.keys() == again.keys()
    for block, ex in ours.items():
        other = again[block]
        np.testing.assert_array_equal(ex.cells, other.cells)
        assert_frame_equal(ex.features, other.features)
        for name in ("actual_origin", "observed_origin", "anchor", "actual", "observed_target"):
            np.testing.assert_array_equal(getattr(ex, name), getattr(other, name), err_msg=name)
        assert ex.sampled_from == other.sampled_from
    assert len(history) == len(plan.world.hash_years)


@pytest.mark.parametrize("cap", [1, 7, 50, 199, 200, 500])
def test_the_cut_keeps_the_lexsorted_set(cap: int) -> None:
    """Keys cut by a partition every few chunks: the earlier merge's set, ties included."""
    rng = np.random.default_rng(5)
    blocks = [Block("new_flow", 0, 1, cap, 1, None), Block("level", 0, 1, None, 1, None)]
    results = []
    codes = rng.permutation(10_000)[:2_000].astype(np.int64)
    for part in np.array_split(codes, 9):
        # few distinct draws: many ties at the cut, broken by the code
        draw = rng.integers(0, 20, part.size) / 20.0
        results.append([(part.size + 3, part.size, part, draw), (5, 5, part, draw)])
    want = old_merge_keys(results, blocks)
    for order in (results, results[::-1]):
        got = forecast_merge.merge_keys(({"blocks": r} for r in order), blocks)
        assert got[1] == want[1]
        assert got[0][1] is None and want[0][1] is None
        np.testing.assert_array_equal(got[0][0], want[0][0])


def test_keys_are_drawn_again_when_the_countries_assumed_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A country the rows do not show trading, but the tables do: the keys from the tables."""
    opts = options(
        learner=SAMPLED, chunks=ChunkOptions(products=PRODUCTS_PER_CHUNK, progress=False)
    )
    fused, info = chunked(tmp_path / "fused", opts)
    assert info["forecast_sample_keys_redrawn"] is False
    assumed = forecast._trading_countries

    def wrong(plan: Any, years: Any) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        out = assumed(plan, years)
        exporting, importing = out[min(out)]
        exporting = exporting.copy()
        exporting[np.flatnonzero(exporting)[0]] = False
        out[min(out)] = (exporting, importing)
        return out

    monkeypatch.setattr(forecast, "_trading_countries", wrong)
    redrawn, info = chunked(tmp_path / "redrawn", opts)
    assert info["forecast_sample_keys_redrawn"] is True
    assert len(fused) > 0
    assert_frame_equal(fused, redrawn)
    assert isinstance(fused, pd.DataFrame) and list(fused.columns[:3]) == KEYS
