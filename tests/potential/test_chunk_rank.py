"""The ranking of chunk rows by integer codes equals the pandas ranking, bit for bit.

The oracle is the ranking the chunked potential used before (kept here): every chunk's rows
of all exporters read into one pandas frame, put in the grid's cell order by a sort on the
keys, and ranked by :func:`gravity.potential.pipeline.finish_ranking` (pandas' grouped
``rank(pct=True)``, ``mean(axis=1)`` and ``rank(method="first")``) — the function the unchunked
potential ranks with. The chunk files are written by hand so that the cases the new code must
get right are certain to be there: ties, missing components, infinite values, exporters spread
over several chunks, one exporter, and a budget that cuts the table into many batches.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from gravity.exceptions import DataError
from gravity.potential.chunked import rank
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.chunked.rank import group_pct_rank, rank_chunks
from gravity.potential.chunked.runner import ChunkedPotential
from gravity.potential.chunked.store import ChunkStore
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import finish_ranking
from gravity.potential.scoring import FEASIBILITY

KEYS = ["exporter", "importer", "product"]
SCORED = ("untapped", *FEASIBILITY, "demand_growth", "demand", "pci", "cog")
# one feasibility and one attractiveness component always present: a row without any has no
# score, which the pandas ranking cannot rank (``rank`` is cast to int); see the last test
ALWAYS = ("density", "demand_growth")


def chunk_frames(
    n_exporters: int, n_importers: int, products: list[list[str]], seed: int
) -> list[pd.DataFrame]:
    """Chunk rows with few distinct values (many ties), missing and infinite values."""
    rng = np.random.default_rng(seed)
    exporters = [f"E{e:03d}" for e in range(n_exporters)]
    importers = [f"I{i:03d}" for i in range(n_importers)]
    frames = []
    for block in products:
        grid = pd.MultiIndex.from_product([exporters, importers, block], names=KEYS)
        frame = grid.to_frame(index=False)
        n = len(frame)
        frame["base_year"] = 2021
        frame["year"] = 2023
        frame["actual"] = rng.choice([0.0, 0.0, 5.0, 7.5], n)
        frame["potential"] = rng.integers(1, 30, n).astype(float)
        frame["potential_low"] = frame["potential"] / 2
        frame["potential_high"] = np.where(rng.random(n) < 0.02, np.inf, frame["potential"] * 2)
        frame["untapped"] = frame["potential"] - frame["actual"]
        frame["realised_share"] = np.where(rng.random(n) < 0.1, np.nan, rng.random(n))
        frame["supply_source"] = rng.choice(["observed", "predicted"], n)
        for column in SCORED[1:]:
            values = rng.integers(0, 6, n).astype(float)  # six levels: ties everywhere
            if column not in ALWAYS:
                values[rng.random(n) < 0.15] = np.nan
            frame[column] = values
        # an exporter without any ease, and an exporter's PCI infinite once
        frame.loc[frame["exporter"] == exporters[-1], "ease"] = np.nan
        frame.loc[frame.index[:1], "pci"] = -np.inf
        # the pass-3 files are sorted by exporter only: shuffle the rest
        frame = frame.sample(frac=1.0, random_state=seed).sort_values("exporter", kind="stable")
        frames.append(frame.reset_index(drop=True))
    return frames


def write_run(
    folder: Path, frames: list[pd.DataFrame], options: PotentialOptions
) -> ChunkedPotential:
    store = ChunkStore(folder)
    (folder / "rows").mkdir(parents=True)
    for i, frame in enumerate(frames):
        # small row groups, so batch edges fall inside row groups
        frame.to_parquet(store.rows_path(i), index=False, row_group_size=37)
    table = pd.concat(frames, ignore_index=True)
    present = {c: bool(table[c].notna().any()) for c in SCORED if c in table.columns}
    return ChunkedPotential(
        store=store,
        chunks=tuple(tuple(sorted(f["product"].unique())) for f in frames),
        base_year=2021,
        options=options,
        ease_fit=None,
        counts={},
        present=present,
        exporters=tuple(sorted(table["exporter"].unique())),
        rows=len(table),
    )


def oracle(run: ChunkedPotential) -> pd.DataFrame:
    """The pandas ranking: all rows in cell order, ranked by ``finish_ranking``."""
    frames = [pd.read_parquet(run.store.rows_path(i)) for i in range(len(run.chunks))]
    frame = pd.concat(frames, ignore_index=True)
    codes = [
        pd.Categorical(frame[c], categories=sorted(pd.unique(frame[c]))).codes
        for c in ("product", "importer", "exporter")
    ]
    frame = frame.iloc[np.lexsort(codes)].reset_index(drop=True)
    probe = pd.DataFrame({c: [1.0 if ok else np.nan] for c, ok in run.present.items()})
    return finish_ranking(frame, run.options, rank.score_components(probe))


def options(**update: object) -> PotentialOptions:
    chunks = ChunkOptions(progress=False)
    return PotentialOptions.model_validate({"horizon": 2, "window": 3, "chunks": chunks, **update})


def check(tmp_path: Path, run: ChunkedPotential) -> rank.RankedFiles:
    want = oracle(run)
    files = rank_chunks(run, tmp_path / "got.parquet", tmp_path / "got.csv")
    got = pd.read_parquet(tmp_path / "got.parquet")
    # the file as the pandas frame would be written: same schema (with pandas' metadata)
    want.to_parquet(tmp_path / "want.parquet", index=False)
    assert pq.read_schema(tmp_path / "got.parquet") == pq.read_schema(tmp_path / "want.parquet")
    assert_frame_equal(got, pd.read_parquet(tmp_path / "want.parquet"), check_exact=True)
    assert files.rows == len(want)
    if files.csv_written:
        want.to_csv(tmp_path / "want.csv", index=False)
        assert (tmp_path / "got.csv").read_text() == (tmp_path / "want.csv").read_text()
    return files


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_pandas_with_many_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    products = [[f"P{k:02d}" for k in range(s, s + 3)] for s in range(0, 9, 3)]
    run = write_run(tmp_path / "chunks", chunk_frames(7, 6, products, seed), options())
    monkeypatch.setattr(rank, "RANK_BATCH_ROWS", 40)  # about two exporters a batch
    read: dict[str, list[int]] = {}
    real_init, real_read = pq.ParquetFile.__init__, pq.ParquetFile.read_row_groups

    def init(self: pq.ParquetFile, source: object, *args: object, **kwargs: object) -> None:
        real_init(self, source, *args, **kwargs)
        self.spied_path = str(source)

    def spy(self: pq.ParquetFile, groups: list[int], *args: object, **kwargs: object) -> object:
        read.setdefault(self.spied_path, []).extend(groups)
        return real_read(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "__init__", init)
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    files = check(tmp_path, run)
    assert files.batches >= 3
    assert files.largest_batch_rows < files.rows
    assert files.csv_written
    # every row group of every chunk file decoded once, though batch edges fall inside them
    for i in range(len(run.chunks)):
        path = run.store.rows_path(i)
        assert read[str(path)] == list(range(pq.read_metadata(path).num_row_groups))


def test_one_exporter_larger_than_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    products = [["P1", "P2"], ["P3"], ["P4", "P5", "P6"]]
    run = write_run(tmp_path / "chunks", chunk_frames(1, 9, products, 5), options())
    monkeypatch.setattr(rank, "RANK_BATCH_BYTES", 1)  # whole exporters: one batch all the same
    files = check(tmp_path, run)
    assert files.batches == 1


def test_top_and_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = [["P1", "P2", "P3"], ["P4", "P5"]]
    opts = options(top=5, exporters=None)
    run = write_run(tmp_path / "chunks", chunk_frames(4, 5, products, 2), opts)
    monkeypatch.setattr(rank, "RANK_BATCH_ROWS", 1)
    files = check(tmp_path, run)
    assert files.rows == 4 * 5


def test_tied_scores_keep_the_cell_order(tmp_path: Path) -> None:
    """Every score equal: ranks follow (importer, product), as pandas' ``method="first"``."""
    frames = chunk_frames(3, 4, [["P1", "P2"], ["P3"]], 3)
    for frame in frames:
        for column in SCORED:
            frame[column] = 1.0
    run = write_run(tmp_path / "chunks", frames, options())
    check(tmp_path, run)
    got = pd.read_parquet(tmp_path / "got.parquet")
    first = got[got["exporter"] == "E000"]
    assert list(first["rank"]) == list(range(1, len(first) + 1))
    assert first[["importer", "product"]].apply(tuple, axis=1).is_monotonic_increasing


def test_forecast_feasibility(tmp_path: Path) -> None:
    """With an entry probability the feasibility is its rank alone."""
    frames = chunk_frames(3, 4, [["P1", "P2"], ["P3"]], 4)
    for i, frame in enumerate(frames):
        frame["entry_probability"] = np.round(np.linspace(0, 1, len(frame)) ** (i + 1), 2)
    run = write_run(tmp_path / "chunks", frames, options())
    run = replace(run, present={**run.present, "entry_probability": True})
    check(tmp_path, run)


def test_group_pct_rank_against_pandas() -> None:
    rng = np.random.default_rng(9)
    values = rng.integers(0, 4, 500).astype(float)
    values[rng.random(500) < 0.2] = np.nan
    values[:30] = np.nan  # a group with no value at all
    starts = np.array([0, 30, 31, 200, 500])
    group = np.repeat(np.arange(4), np.diff(starts))
    want = pd.Series(values).groupby(group).rank(pct=True, method="average").to_numpy()
    np.testing.assert_array_equal(group_pct_rank(values, starts), want)


def test_unsorted_chunk_is_one_line(tmp_path: Path) -> None:
    frames = chunk_frames(3, 2, [["P1"]], 0)
    frames[0] = frames[0].iloc[::-1]
    run = write_run(tmp_path / "chunks", frames, options())
    with pytest.raises(DataError, match=r"00000\.parquet: rows are not sorted by exporter"):
        rank_chunks(run, tmp_path / "got.parquet", None)
    assert not list(tmp_path.glob("*.parquet"))


def test_a_missing_score_ranks_last(tmp_path: Path) -> None:
    """A row without any feasibility component has no score: it comes after the others.

    (The pandas ranking stops there, unable to give such a row an integer rank.)
    """
    frames = chunk_frames(2, 3, [["P1", "P2"]], 6)
    frame = frames[0]
    missing = (frame["exporter"] == "E000") & (frame["importer"] == "I001")
    frame.loc[missing, list(FEASIBILITY)] = np.nan
    run = write_run(tmp_path / "chunks", frames, options())
    with pytest.raises(ValueError, match="non-finite"):
        oracle(run)
    rank_chunks(run, tmp_path / "got.parquet", None)
    got = pd.read_parquet(tmp_path / "got.parquet")
    first = got[got["exporter"] == "E000"]
    assert first["score"].isna().sum() == missing.sum() == 2
    assert first["score"].tail(2).isna().all()
    assert list(first["rank"]) == list(range(1, len(first) + 1))
    assert list(first["product"].tail(2)) == ["P1", "P2"]  # in cell order
