"""Rank the chunk rows into the opportunity table, a batch of exporters at a time, by integer codes.

Scores are percentile ranks within each exporter's opportunities, so an exporter's rows from
every chunk are scored together. The chunk files are sorted by exporter, so an exporter's rows
are one contiguous range of each chunk file: a first pass counts every exporter's rows in every
chunk (the ``exporter`` column only), then batches of consecutive exporters whose rows fit a
memory budget are read range by range (only the row groups that hold them), ranked with NumPy
on integer codes (no grouping on text), and appended to ``opportunities.parquet`` (and ``.csv``
up to ``csv_max_rows``) in exporter order. Text is never turned into Python objects: the key
columns stay Arrow strings and are only reordered for the rows written.

The rows, columns, order, dtypes and values are those of the unchunked table's ranking
(:func:`gravity.potential.pipeline.finish_ranking`): percentile ranks with ties averaged and
missing values left out, feasibility and attractiveness their means over the components
present, the score the weighted sum, and ``rank`` 1 for the highest score with ties in the
grid's cell order (exporter, importer, product).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gravity.exceptions import DataError
from gravity.layout import temp_name
from gravity.potential.chunked.runner import ChunkedPotential
from gravity.potential.pipeline import OPPORTUNITY_COLUMNS
from gravity.potential.scoring import ScoreComponents, score_components

__all__ = ["RankedFiles", "rank_chunks"]

RANK_BATCH_ROWS: Final = 8_000_000
"""Most rows of one batch of exporters, whatever the memory budget allows."""
RANK_BATCH_BYTES: Final = 1_500_000_000
"""Memory budget of one batch: its rows read, the working arrays and the rows written."""
_TEXT_BYTES: Final = 16
"""Bytes a text cell takes in Arrow (offset and a few characters), for the budget."""
_WORK_BYTES: Final = 240
"""Bytes a row takes in the ranking's working arrays (codes, orders, ranks, the score)."""


@dataclass(frozen=True)
class RankedFiles:
    """What :func:`rank_chunks` wrote."""

    rows: int
    csv_written: bool
    batches: int
    components: ScoreComponents
    largest_batch_rows: int
    seconds: float = 0.0
    """Wall time of the ranking (counting, reading, ranking and writing)."""


def components_of(run: ChunkedPotential) -> ScoreComponents:
    """The score components of the whole table, from the chunks' records."""
    probe = pd.DataFrame({c: [1.0 if ok else float("nan")] for c, ok in run.present.items()})
    return score_components(probe)


# -- the layout of the chunk files -----------------------------------------------------------
def _exporter_counts(run: ChunkedPotential) -> np.ndarray:
    """Rows of every exporter (columns) in every chunk file (rows), read from ``exporter``."""
    axis = pa.array(run.exporters, pa.large_string())
    counts = np.zeros((len(run.chunks), len(run.exporters)), dtype=np.int64)
    for i in range(len(run.chunks)):
        path = run.store.rows_path(i)
        column = pq.read_table(path, columns=["exporter"]).column("exporter")
        codes = pc.index_in(column.cast(pa.large_string()), value_set=axis)
        if codes.null_count:
            raise DataError(
                f"{path}: exporter not among the run's exporters; rerun with "
                "potential.chunks.resume: false to start the chunks over"
            )
        values = codes.to_numpy().astype(np.int64)
        if len(values) > 1 and np.any(values[1:] < values[:-1]):
            raise DataError(
                f"{path}: rows are not sorted by exporter; rerun with "
                "potential.chunks.resume: false to start the chunks over"
            )
        counts[i] = np.bincount(values, minlength=len(run.exporters))
    return counts


def _row_bytes(run: ChunkedPotential) -> int:
    """Estimated bytes per row of a batch: the rows read, their reordered copy, work arrays."""
    schema = pq.read_schema(run.store.rows_path(0))
    text = sum(pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in schema)
    data = 8 * (len(schema) - text) + _TEXT_BYTES * text
    # the rows read, a column made contiguous, the rows written (and the pieces of row groups
    # kept between batches, at most one row group per chunk file)
    return 3 * data + _WORK_BYTES


def _batches(run: ChunkedPotential, totals: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of consecutive exporters whose rows fit the batch budget (at least one each)."""
    limit = max(min(RANK_BATCH_ROWS, RANK_BATCH_BYTES // _row_bytes(run)), 1)
    out, start, rows = [], 0, 0
    for e, n in enumerate(totals.tolist()):
        if e > start and rows + n > limit:
            out.append((start, e))
            start, rows = e, 0
        rows += n
    out.append((start, len(totals)))
    return out


class _Ranges:
    """Consecutive row ranges of one chunk file; each row group is decoded once.

    The rows of a row group past a range's end are kept for the next range (one row group
    per chunk file at most), so a batch edge inside a row group costs no second read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        meta = pq.read_metadata(path)
        sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        self.edges = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.next_group = 0
        self.pending: pa.Table | None = None
        self.pending_start = 0

    def read(self, start: int, stop: int) -> pa.Table | None:
        """Rows ``start:stop``; ``start`` is not before the previous range's ``stop``."""
        if stop <= start:
            return None
        pieces = []
        if self.pending is not None and start >= self.pending_start + self.pending.num_rows:
            self.pending = None  # rows no range asked for
        if self.pending is not None:
            pieces.append(self.pending)
            have_start = self.pending_start
            have_stop = have_start + self.pending.num_rows
        else:
            first = int(np.searchsorted(self.edges, start, side="right")) - 1
            self.next_group = max(self.next_group, first)
            have_start = have_stop = int(self.edges[self.next_group])
        groups = []
        while have_stop < stop:
            groups.append(self.next_group)
            self.next_group += 1
            have_stop = int(self.edges[self.next_group])
        if groups:
            with pq.ParquetFile(self.path) as file:
                pieces.append(file.read_row_groups(groups))
        table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        rest = table.slice(stop - have_start)
        self.pending, self.pending_start = (rest if rest.num_rows else None), stop
        return table.slice(start - have_start, stop - start)


# -- ranks on integer codes ------------------------------------------------------------------
def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Positions of ``column``'s values in their sorted distinct values."""
    distinct = sorted(pc.unique(column).to_pylist())
    return pc.index_in(column, value_set=pa.array(distinct, column.type)).to_numpy()


def group_pct_rank(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Percentile rank of ``values`` within contiguous groups, as pandas' ``rank(pct=True)``.

    Ties get the average of their ranks; missing values stay missing and are not counted.

    Parameters
    ----------
    values : numpy.ndarray
        Floats; the rows of a group are contiguous.
    starts : numpy.ndarray
        First row of every group, then the number of rows.

    Returns
    -------
    numpy.ndarray
        The average rank divided by the group's count of non-missing values.
    """
    out = np.full(len(values), np.nan)
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        present = np.flatnonzero(~np.isnan(values[a:b]))
        m = len(present)
        if m == 0:
            continue
        x = values[a:b][present]
        order = np.argsort(x)  # the order among ties does not matter: they share a rank
        xs = x[order]
        new = np.ones(m, dtype=bool)
        new[1:] = xs[1:] != xs[:-1]
        first = np.flatnonzero(new)
        last = np.append(first[1:], m) - 1
        tie = np.cumsum(new) - 1
        # the mean of the tied ranks first+1 .. last+1: an exact half-integer, as pandas'
        # sum of ranks / ties, then divided by the group's count as pandas does
        out[a + present[order]] = (first[tie] + last[tie] + 2) / 2.0 / m
    return out


def _mean_of(ranks: list[np.ndarray], n: int) -> np.ndarray:
    """Row means of the ranks present (pandas' ``mean(axis=1)``), 0.5 without components."""
    if not ranks:
        return np.full(n, 0.5)
    total, count = np.zeros(n), np.zeros(n)
    for r in ranks:  # added in column order, as pandas sums a row
        present = ~np.isnan(r)
        total = total + np.where(present, r, 0.0)
        count += present
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _float(values: np.ndarray) -> pa.Array:
    # missing as null, as pandas writes NaN to Parquet
    return pa.array(values, pa.float64(), from_pandas=True)


def _rank_batch(
    table: pa.Table,
    exporter: np.ndarray,
    weights: dict[str, float],
    components: ScoreComponents,
    top: int | None,
) -> pa.Table:
    """Score, rank and order one batch of whole exporters (``exporter``: codes from 0)."""
    n = table.num_rows
    # the unchunked grid's cell order (exporter, importer, product), which ties of the score
    # keep: one int64 key instead of a sort on text
    importer, product = _codes(table.column("importer")), _codes(table.column("product"))
    key = (exporter * (int(importer.max()) + 1) + importer) * (int(product.max()) + 1) + product
    cells = np.argsort(key, kind="stable")
    group = exporter[cells]
    n_groups = int(group[-1]) + 1
    starts = np.searchsorted(group, np.arange(n_groups + 1))

    def ranked(column: str) -> np.ndarray:
        raw = table.column(column).to_numpy().astype(np.float64, copy=False)
        return group_pct_rank(raw[cells], starts)

    feasibility = _mean_of([ranked(c) for c in components.feasibility], n)
    attractiveness = _mean_of([ranked(c) for c in components.attractiveness], n)
    score = (
        weights["untapped"] * ranked("untapped")
        + weights["feasibility"] * feasibility
        + weights["attractiveness"] * attractiveness
    )
    # highest score first, ties in cell order (lexsort is stable); a missing score last
    order = np.lexsort((-score, group))
    rank = np.arange(n) - starts[group[order]] + 1
    if top is not None:
        keep = rank <= top
        order, rank = order[keep], rank[keep]
    # one column at a time, each made contiguous first (a take over the many pieces of a
    # batch is several times slower), so only one extra column is held at once
    rows = pa.array(cells[order])
    columns = {c: table.column(c).combine_chunks().take(rows) for c in table.column_names}
    for name, values in (
        ("feasibility", feasibility),
        ("attractiveness", attractiveness),
        ("score", score),
    ):
        columns[name] = _float(values[order])
    columns["rank"] = pa.array(rank.astype(np.int64))
    first = [c for c in OPPORTUNITY_COLUMNS if c in columns]
    out = pa.table({c: columns[c] for c in first + [c for c in columns if c not in first]})
    return _without_infinities(out)


def _without_infinities(table: pa.Table) -> pa.Table:
    """Infinite floats as missing, as the unchunked table writes them."""
    for i, field in enumerate(table.schema):
        if not pa.types.is_floating(field.type):
            continue
        column = table.column(i)
        infinite = pc.is_inf(column)
        if pc.any(infinite).as_py():
            fixed = pc.if_else(infinite, pa.scalar(None, field.type), column)
            table = table.set_column(i, field, fixed)
    return table


def rank_chunks(run: ChunkedPotential, parquet: Path, csv: Path | None) -> RankedFiles:
    """Score and rank every exporter's rows; write ``parquet`` (and ``csv`` unless too large).

    ``csv`` is skipped (``csv_written`` false) when the table has more than
    ``potential.chunks.csv_max_rows`` rows. Both files are written under temporary names and
    renamed into place at the end. A batch holds whole exporters: as many as fit
    ``RANK_BATCH_BYTES`` (one at least, whatever its size).
    """
    start = time.perf_counter()
    components = components_of(run)
    limit = run.options.chunks.csv_max_rows if run.options.chunks else None
    write_csv = csv is not None and (limit is None or run.rows <= limit)
    temp_parquet = temp_name(parquet)
    temp_csv = temp_name(csv) if csv is not None and write_csv else None
    writer: pq.ParquetWriter | None = None
    rows, largest = 0, 0
    weights = run.options.score_weights()
    counts = _exporter_counts(run) if run.exporters else np.zeros((0, 0), dtype=np.int64)
    batches = _batches(run, counts.sum(axis=0)) if run.exporters else []
    # where every exporter's rows start in every chunk file
    offsets = np.concatenate([np.zeros((len(counts), 1), np.int64), counts.cumsum(1)], axis=1)
    readers = [_Ranges(run.store.rows_path(i)) for i in range(len(run.chunks))]
    try:
        for low, high in batches:
            parts, codes = [], []
            for i, reader in enumerate(readers):
                part = reader.read(offsets[i, low], offsets[i, high])
                if part is not None:
                    parts.append(part)
                    codes.append(np.repeat(np.arange(high - low), counts[i, low:high]))
            if not parts:
                continue
            table = _rank_batch(
                pa.concat_tables(parts),
                np.concatenate(codes),
                weights,
                components,
                run.options.top,
            )
            largest = max(largest, sum(p.num_rows for p in parts))
            del parts
            if writer is None:
                # the schema (and pandas metadata) the unchunked table is written with
                head = table.slice(0, 1_000).to_pandas()
                writer = pq.ParquetWriter(
                    temp_parquet, pa.Table.from_pandas(head, preserve_index=False).schema
                )
            writer.write_table(table.cast(writer.schema))
            if temp_csv is not None:
                table.to_pandas().to_csv(
                    temp_csv, index=False, header=rows == 0, mode="w" if rows == 0 else "a"
                )
            rows += table.num_rows
        if writer is None:  # no rows at all
            pq.write_table(pa.table({}), temp_parquet)
        else:
            writer.close()
            writer = None
        os.replace(temp_parquet, parquet)
        if temp_csv is not None and csv is not None:
            if not temp_csv.exists():
                temp_csv.write_text("")
            os.replace(temp_csv, csv)
    finally:
        if writer is not None:
            writer.close()
        for temp in (temp_parquet, temp_csv):
            if temp is not None and temp.exists():
                temp.unlink()
    seconds = time.perf_counter() - start
    return RankedFiles(rows, temp_csv is not None, len(batches), components, largest, seconds)
