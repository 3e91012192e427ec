"""Rank the chunk rows into the opportunity table, a batch of exporters at a time.

Scores are percentile ranks within each exporter's opportunities, so an exporter's rows from
every chunk are read together (the chunk files are sorted by exporter, and their row groups'
statistics let Parquet skip the others), scored with the components of the whole table, and
appended to ``opportunities.parquet`` (and ``.csv`` up to ``csv_max_rows``) in exporter order:
the same rows, columns and order as the unchunked table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity.layout import temp_name
from gravity.potential.chunked.runner import ChunkedPotential
from gravity.potential.pipeline import finish_ranking
from gravity.potential.scoring import ScoreComponents, score_components

__all__ = ["RankedFiles", "rank_chunks"]

RANK_BATCH_ROWS: Final = 4_000_000
"""Rows of one batch of exporters scored together (a few GB of frames at most)."""


@dataclass(frozen=True)
class RankedFiles:
    """What :func:`rank_chunks` wrote."""

    rows: int
    csv_written: bool
    batches: int
    components: ScoreComponents
    largest_batch_rows: int


def components_of(run: ChunkedPotential) -> ScoreComponents:
    """The score components of the whole table, from the chunks' records."""
    probe = pd.DataFrame({c: [1.0 if ok else float("nan")] for c, ok in run.present.items()})
    return score_components(probe)


def _batches(run: ChunkedPotential) -> list[list[str]]:
    per_exporter = max(run.rows // max(len(run.exporters), 1), 1)
    size = max(RANK_BATCH_ROWS // per_exporter, 1)
    return [list(run.exporters[i : i + size]) for i in range(0, len(run.exporters), size)]


def _read_batch(run: ChunkedPotential, exporters: list[str]) -> pd.DataFrame:
    parts = []
    for i in range(len(run.chunks)):
        table = pq.read_table(run.store.rows_path(i), filters=[("exporter", "in", exporters)])
        if table.num_rows:
            parts.append(table.to_pandas())
    frame = pd.concat(parts, ignore_index=True)
    # the unchunked grid's cell order (exporter, importer, product), which ties of the score
    # keep: each chunk is in that order, chunks hold consecutive products; sorted on codes
    # (a sort on tens of millions of strings would take minutes)
    codes = [
        pd.Categorical(frame[column], categories=sorted(pd.unique(frame[column]))).codes
        for column in ("product", "importer", "exporter")
    ]
    order = np.lexsort(codes)
    return frame.iloc[order].reset_index(drop=True)


def rank_chunks(run: ChunkedPotential, parquet: Path, csv: Path | None) -> RankedFiles:
    """Score and rank every exporter's rows; write ``parquet`` (and ``csv`` unless too large).

    ``csv`` is skipped (``csv_written`` false) when the table has more than
    ``potential.chunks.csv_max_rows`` rows. Both files are written under temporary names and
    renamed into place at the end.
    """
    components = components_of(run)
    limit = run.options.chunks.csv_max_rows if run.options.chunks else None
    write_csv = csv is not None and (limit is None or run.rows <= limit)
    temp_parquet = temp_name(parquet)
    temp_csv = temp_name(csv) if csv is not None and write_csv else None
    writer: pq.ParquetWriter | None = None
    rows, largest = 0, 0
    batches = _batches(run) if run.exporters else []
    try:
        for number, exporters in enumerate(batches):
            frame = finish_ranking(_read_batch(run, exporters), run.options, components)
            largest = max(largest, len(frame))
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(temp_parquet, table.schema)
            writer.write_table(table.cast(writer.schema))
            if temp_csv is not None:
                frame.to_csv(
                    temp_csv, index=False, header=number == 0, mode="w" if number == 0 else "a"
                )
            rows += len(frame)
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
    return RankedFiles(rows, temp_csv is not None, len(batches), components, largest)
