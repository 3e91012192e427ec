"""Pass 2 of the streaming panel build: one bucket of products at a time into ``panel.parquet``.

The products are cut into buckets of consecutive products (in the file's sort order) of at most
``bucket_rows`` rows (a product larger than that is a bucket alone). For each bucket the rows of
its products are read from every spill file (only the row groups whose product range overlaps),
sorted by product, exporter, importer and year, given the covariates and derived variables and
checked; the rows are then packed into row groups of whole products exactly as
:func:`gravity.panel.dataset.write_panel` packs them, a group left open at the end of a bucket
being continued by the next one. The counts the in-memory build takes on the whole panel
(covariate matches, NaN of derived variables, rows, values) are summed over the buckets.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gravity.panel.build_records import canonical_frame, check_final, value_total
from gravity.panel.covariates import CovariateTable, MergeReport, apply_derived, merge_covariate
from gravity.panel.dataset import (
    METADATA_KEY,
    PRODUCT_ORDER,
    PRODUCT_ROW_GROUP_ROWS,
    column_encodings,
)
from gravity.panel.options import DerivedVariable
from gravity.panel.stream_read import SEQUENCE

__all__ = ["BucketWriter", "Totals", "plan_buckets", "read_bucket", "sorted_by_product"]


def plan_buckets(product_rows: Counter[str], bucket_rows: int) -> list[tuple[str, str, int]]:
    """Consecutive products ``(first, last, rows)`` of at most ``bucket_rows`` rows each."""
    buckets: list[tuple[str, str, int]] = []
    first = last = ""
    rows = 0
    for product in sorted(product_rows):
        size = product_rows[product]
        if rows and rows + size > bucket_rows:
            buckets.append((first, last, rows))
            rows = 0
        if not rows:
            first = product
        last, rows = product, rows + size
    if rows:
        buckets.append((first, last, rows))
    return buckets


@dataclass
class _Spill:
    """A spill file and the product range of each of its row groups."""

    file: pq.ParquetFile
    ranges: list[tuple[str, str]]

    @classmethod
    def open(cls, path: Path) -> _Spill:
        handle = pq.ParquetFile(path)
        column = handle.schema_arrow.get_field_index("product")
        ranges = []
        for group in range(handle.metadata.num_row_groups):
            stats = handle.metadata.row_group(group).column(column).statistics
            ranges.append((str(stats.min), str(stats.max)))
        return cls(handle, ranges)


def open_spills(paths: list[Path]) -> list[_Spill]:
    """The spill files of pass 1, with the product range of each row group."""
    return [_Spill.open(p) for p in paths if pq.read_metadata(p).num_rows]


def read_bucket(spills: list[_Spill], first: str, last: str) -> pd.DataFrame:
    """The rows of products ``first`` to ``last`` from every spill, sorted as the file is."""
    parts = []
    for spill in spills:
        groups = [g for g, (low, high) in enumerate(spill.ranges) if high >= first and low <= last]
        if not groups:
            continue
        table = spill.file.read_row_groups(groups)
        table = table.drop_columns([SEQUENCE])
        products = table.column("product")
        keep = pc.and_(pc.greater_equal(products, first), pc.less_equal(products, last))
        parts.append(table.filter(keep))
    if not parts:  # pragma: no cover - the buckets are planned from the products spilled
        raise ValueError(f"no spilled rows for products {first!r} to {last!r}")
    return sorted_by_product(pa.concat_tables(parts)).to_pandas()


def sorted_by_product(table: pa.Table) -> pa.Table:
    """``table`` sorted as a product-sorted panel file is (Arrow's stable multi-key sort).

    Text sorts by code point in both Arrow and :func:`gravity.panel.dataset.product_order`, so
    the order is the in-memory build's; sorting the Arrow table avoids a pandas copy.
    """
    keys = [(c, "ascending") for c in PRODUCT_ORDER if c in table.column_names]
    return table.sort_by(keys)


@dataclass
class Totals:
    """Counts of pass 2, summed over the buckets (the covariate and derived steps, the rows)."""

    rows: int = 0
    value: float = 0.0
    buckets: int = 0
    largest_bucket_rows: int = 0
    covariates: list[dict[str, Any]] = field(default_factory=list)
    derived: dict[str, dict[str, int]] = field(default_factory=dict)
    derived_rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add_merge(self, position: int, rows_in: int, value_in: float, frame: pd.DataFrame,
                  report: MergeReport, seconds: float) -> None:
        """Add one bucket's merge of covariate table number ``position``."""
        while len(self.covariates) <= position:
            self.covariates.append({"rows": [0, 0], "value": [0.0, 0.0], "reports": [],
                                    "seconds": 0.0})
        entry = self.covariates[position]
        entry["rows"][0] += rows_in
        entry["rows"][1] += len(frame)
        entry["value"][0] += value_in
        entry["value"][1] += value_total(frame)
        entry["reports"].append(report)
        entry["seconds"] += seconds

    def add_derived(self, counts: dict[str, dict[str, int]], rows: int) -> None:
        """Add one bucket's counts of NaN in the derived variables."""
        for name, count in counts.items():
            total = self.derived.setdefault(name, dict.fromkeys(count, 0))
            for key, n in count.items():
                total[key] += n
        self.derived_rows += rows


def merged_report(reports: list[MergeReport]) -> MergeReport:
    """One report for the buckets' merges of one table (keys listed in the file's order)."""
    first = reports[0]
    examples = list(dict.fromkeys(k for r in reports for k in r.unmatched_keys))[:20]
    sides: dict[str, int] = {}
    missing: dict[str, int] = {}
    for report in reports:
        for key, n in report.unmatched_by_side.items():
            sides[key] = sides.get(key, 0) + n
        for key, n in report.missing_values.items():
            missing[key] = missing.get(key, 0) + n
    return MergeReport(
        name=first.name,
        columns=first.columns,
        rows=sum(r.rows for r in reports),
        unmatched_rows=sum(r.unmatched_rows for r in reports),
        unmatched_by_side=sides,
        unmatched_keys=tuple(examples),
        missing_values=missing,
        dropped_rows=sum(r.dropped_rows for r in reports),
        dropped_value=sum(r.dropped_value for r in reports),
    )


def complete_bucket(
    frame: pd.DataFrame,
    tables: list[CovariateTable],
    derived: list[DerivedVariable],
    totals: Totals,
) -> pd.DataFrame:
    """Covariates, derived variables, canonical types and the final check of one bucket."""
    for position, table in enumerate(tables):
        start = time.perf_counter()
        rows, value = len(frame), value_total(frame)
        frame, report = merge_covariate(frame, table)
        totals.add_merge(position, rows, value, frame, report, time.perf_counter() - start)
    if derived:
        frame, counts = apply_derived(frame, derived)
        totals.add_derived(counts, len(frame))
    frame = canonical_frame(frame, "panel")
    check_final(frame, totals.rows)
    totals.rows += len(frame)
    totals.value += value_total(frame)
    return frame


class BucketWriter:
    """Writes sorted buckets into one product-sorted panel file, row groups of whole products.

    Row groups are packed as :func:`gravity.panel.dataset.write_panel` packs them (greedily,
    at most :data:`~gravity.panel.dataset.PRODUCT_ROW_GROUP_ROWS` rows unless one product is
    larger); the panel metadata, known only once every bucket is written, goes into the file's
    schema when it is closed (:meth:`close`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._pending: list[pa.Table] = []
        self._filled = 0
        self.row_groups = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Add one bucket (sorted, covering whole products that follow the previous bucket's)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._schema is None:
            self._schema = table.schema
            numeric, discrete = column_encodings(table.schema)
            self._writer = pq.ParquetWriter(
                self.path, table.schema, write_statistics=[*numeric, "product"],
                use_dictionary=discrete,
            )
        else:
            table = table.cast(self._schema)
        start = 0
        for begin, size in _product_runs(table.column("product")):
            if self._filled and self._filled + size > PRODUCT_ROW_GROUP_ROWS:
                self._pending.append(table.slice(start, begin - start))
                self._flush()
                start = begin
            self._filled += size
        if table.num_rows > start:
            self._pending.append(table.slice(start))

    def _flush(self) -> None:
        rows = sum(t.num_rows for t in self._pending)
        if rows and self._writer is not None:
            group = pa.concat_tables(self._pending).combine_chunks()
            self._writer.write_table(group, row_group_size=rows)
            self.row_groups += 1
        self._pending, self._filled = [], 0

    def close(self, metadata: bytes) -> pa.Schema:
        """Write the last row group and the panel ``metadata`` into the schema; close the file.

        The Arrow schema stored in a Parquet file (key ``ARROW:schema``, the schema's IPC form
        in base64) is written when the file is closed, so replacing it then stores the schema
        with the metadata that only now is known.
        """
        self._flush()
        if self._writer is None or self._schema is None:
            raise ValueError("no rows were written")  # pragma: no cover - callers check
        schema = self._schema.with_metadata({**(self._schema.metadata or {}),
                                             METADATA_KEY: metadata})
        self._writer.add_key_value_metadata({
            b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes()),
            METADATA_KEY: metadata,
        })
        self._writer.close()
        self._writer = None
        return schema

    def abort(self) -> None:
        """Close the file without finishing it (the caller removes it)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _product_runs(products: pa.ChunkedArray) -> Iterator[tuple[int, int]]:
    """``(first row, rows)`` of each product of a sorted product column."""
    n = len(products)
    if n == 0:
        return
    flat = products.combine_chunks() if isinstance(products, pa.ChunkedArray) else products
    change = pc.not_equal(flat.slice(1), flat.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = [0, *(int(i) + 1 for i in change.nonzero()[0])]
    for begin, end in itertools.pairwise([*starts, n]):
        yield begin, end - begin
