"""Pass 1 of the streaming panel build: read, filter and spill the trade source piece by piece.

A piece is one file of a BACI source (one year), or the whole source for the other kinds (their
checks, such as duplicate keys across files, need every file at once). Each piece is read by the
same reader as the in-memory build, given canonical types and the sample filters, and written to
a temporary Parquet file sorted by product (row groups of :data:`SPILL_ROW_GROUP_ROWS` rows with
statistics on ``product``), so that pass 2 (:mod:`gravity.panel.stream_write`) reads one range of
products from every piece without reading the rest. What the in-memory build counts on the whole
table (reader counts, filter counts, the axes of the zero universe, domestic and zero-valued
rows, values) is summed over the pieces here, so the manifest steps come out the same.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._base import Step, count_text
from gravity.exceptions import DataError
from gravity.panel.build_records import canonical_frame, read_step, value_total
from gravity.panel.countries import CountryReport
from gravity.panel.dataset import PRODUCT_ORDER
from gravity.panel.filters import SampleFilters
from gravity.panel.readers import read_source
from gravity.panel.readers._common import resolve_paths
from gravity.panel.readers.baci import check_revisions
from gravity.panel.readers.sources import BaciSource, ComtradeSource, GenericSource
from gravity.panel.zeros import Axes, Universe

__all__ = ["SEQUENCE", "SPILL_ROW_GROUP_ROWS", "Pass1", "read_pieces"]

TradeSource = BaciSource | ComtradeSource | GenericSource

#: Rows per row group of a spill file: small enough that a product range reads little more than
#: its own rows, large enough that the row-group statistics stay a small part of the file.
SPILL_ROW_GROUP_ROWS = 65_536

#: Private column of a spill file: the row's position in the in-memory build's table, so that a
#: panel that ends up small (zeros filled) is rebuilt in the same row order.
SEQUENCE = "_seq"


@dataclass
class _YearAxes:
    exporters: set[str] = field(default_factory=set)
    importers: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)


@dataclass
class Pass1:
    """What pass 1 read, counted and spilled (the inputs of pass 2 and the manifest steps)."""

    kind: str
    spills: list[Path] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    log: dict[str, int] = field(default_factory=dict)
    reports: list[tuple[CountryReport, float]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    read_rows: int = 0
    read_value: float = 0.0
    sample_removed: dict[str, int] = field(default_factory=dict)
    sample_removed_value: dict[str, float] = field(default_factory=dict)
    years_read: set[int] = field(default_factory=set)
    axes: dict[int | None, _YearAxes] = field(default_factory=dict)
    rows: int = 0
    value: float = 0.0
    domestic: int = 0
    observed_zeros: int = 0
    product_rows: Counter[str] = field(default_factory=Counter)
    has_product: bool = False
    largest_piece_rows: int = 0
    seconds_read: float = 0.0
    seconds_sample: float = 0.0

    def add_read(self, log: dict[str, int], files: tuple[str, ...],
                 report: CountryReport | None, frame: pd.DataFrame) -> None:
        """Count one piece as the reader returned it."""
        for key, count in log.items():
            self.log[key] = self.log.get(key, 0) + int(count)
        self.files.extend(files)
        value = value_total(frame)
        if report is not None:
            self.reports.append((report, value))
        self.columns = [str(c) for c in frame.columns]
        self.read_rows += len(frame)
        self.read_value += value
        self.largest_piece_rows = max(self.largest_piece_rows, len(frame))

    def add_sample(self, frame: pd.DataFrame, removed: dict[str, int],
                   removed_value: dict[str, float]) -> None:
        """Count one piece after the sample filters (rows, value, axes of the universe)."""
        for key, count in removed.items():
            self.sample_removed[key] = self.sample_removed.get(key, 0) + count
            self.sample_removed_value[key] = (
                self.sample_removed_value.get(key, 0.0) + removed_value[key]
            )
        self.rows += len(frame)
        self.value += value_total(frame)
        if not len(frame):
            return
        self.domestic += int((frame["exporter"] == frame["importer"]).sum())
        self.observed_zeros += int((frame["value"] == 0).sum())
        self.has_product = "product" in frame.columns
        if self.has_product:
            self.product_rows.update(frame["product"].value_counts(sort=False).to_dict())
        years = frame["year"].to_numpy() if "year" in frame.columns else None
        for year in [None] if years is None else pd.unique(years).tolist():
            rows = frame if year is None else frame.loc[years == year]
            axes = self.axes.setdefault(year, _YearAxes())
            axes.exporters.update(pd.unique(rows["exporter"].astype("str")).tolist())
            axes.importers.update(pd.unique(rows["importer"].astype("str")).tolist())
            if self.has_product:
                axes.products.update(pd.unique(rows["product"].astype("str")).tolist())

    def country_report(self) -> CountryReport | None:
        """One country report for all pieces (codes united, rows summed, the share recomputed).

        A piece's share of unmatched trade was taken of the value it held before the unmatched
        rows were dropped; that value is rebuilt from the value kept and the share, so the
        share of the whole source agrees with the in-memory build's up to rounding.
        """
        if not self.reports:
            return None
        first = self.reports[0][0]
        if first.mode == "keep":
            return first
        dropped = kept = dropped_rows = total_rows = 0.0
        basis = "rows"
        for report, value in self.reports:
            if report.share_basis == "value":
                basis = "value"
            if report.share_basis == "value" and report.unmatched_share < 1.0:
                dropped += report.unmatched_share * value / (1.0 - report.unmatched_share)
            kept += value
            dropped_rows += report.unmatched_rows
        total_rows = self.log.get("rows_out", 0) + dropped_rows
        share = (
            dropped / (dropped + kept) if basis == "value" and dropped + kept > 0
            else (dropped_rows / total_rows if total_rows else 0.0)
        )
        if not dropped_rows:
            share = 0.0
        renamed: dict[str, str] = {}
        for report, _ in self.reports:
            renamed.update(report.renamed)
        return CountryReport(
            mode="iso3",
            columns=first.columns,
            unmatched=tuple(sorted({c for r, _ in self.reports for c in r.unmatched})),
            unmatched_rows=int(dropped_rows),
            unmatched_share=share,
            share_basis="value" if basis == "value" else "rows",
            renamed=dict(sorted(renamed.items())),
            former_states=tuple(sorted({c for r, _ in self.reports for c in r.former_states})),
        )

    def read_step(self) -> Step:
        """The ``read <kind>`` step, as the in-memory build records it."""
        return read_step(f"read {self.kind}", self.log, self.files, self.country_report(),
                         self.read_rows, self.read_value, self.seconds_read)

    def sample_step(self, filters: SampleFilters) -> Step:
        """The ``sample`` step; raises as the in-memory build does when every row went."""
        absent = filters.absent_years(self.years_read) if self.read_rows else []
        if self.rows == 0 and self.read_rows:
            years = f"; sample.years {absent} are not in the data" if absent else ""
            raise DataError(
                f"the sample filters removed every row ({count_text(self.sample_removed)})"
                f"{years}; check sample.years, the country and product lists"
            )
        notes: tuple[str, ...] = ()
        if absent:
            present = sorted(self.years_read)
            span = f"{present[0]}-{present[-1]}" if present else "none"
            notes = (f"sample.years not in the data: {absent} (the data have {span})",)
        return Step("sample", self.read_rows, self.rows, dict(self.sample_removed),
                    seconds=self.seconds_sample, value_in=self.read_value, value_out=self.value,
                    removed_value=dict(self.sample_removed_value), notes=notes)

    def universe(self, kind: str) -> Universe:
        """The zero universe of the rows kept, as :func:`gravity.panel.zeros.universe_of`."""
        def axes(parts: list[_YearAxes], years: tuple[int, ...]) -> Axes:
            return Axes(
                tuple(sorted(set().union(*(p.exporters for p in parts)))),
                tuple(sorted(set().union(*(p.importers for p in parts)))),
                years,
                tuple(sorted(set().union(*(p.products for p in parts)))),
            )

        years = sorted(y for y in self.axes if y is not None)
        if kind == "year" and years:
            return Universe("year", tuple((y, axes([self.axes[y]], (y,))) for y in years))
        whole = axes(list(self.axes.values()), tuple(int(y) for y in years))
        return Universe("panel", ((None, whole),))


def _pieces(trade: TradeSource, base_dir: Path) -> list[TradeSource]:
    """The sources read one at a time: a BACI source file by file, any other source whole."""
    if not isinstance(trade, BaciSource):
        return [trade]
    paths = resolve_paths(trade.paths, base_dir)
    check_revisions(paths)
    # the share of unmatched codes is checked on the whole source, after pass 1
    return [trade.model_copy(update={"paths": [str(p)], "max_unmatched_share": 1.0})
            for p in paths]


def _check_years(frame: pd.DataFrame, name: str, seen: dict[int, str]) -> None:
    for year in pd.unique(frame["year"]).tolist():
        if int(year) in seen:
            raise DataError(
                f"{name}: year {year} is also in {seen[int(year)]}; list each BACI year once"
            )
        seen[int(year)] = name


def _spill(frame: pd.DataFrame, folder: Path, number: int, first: int) -> Path:
    """Write one filtered piece sorted by product, with its rows' positions (``SEQUENCE``)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column(SEQUENCE, pa.array(np.arange(first, first + len(frame),
                                                             dtype=np.int64)))
    if "product" in frame.columns:
        keys = [(c, "ascending") for c in PRODUCT_ORDER if c in table.column_names]
        table = table.sort_by(keys)
    path = folder / f"piece-{number:05d}.parquet"
    statistics = ["product"] if "product" in frame.columns else False
    pq.write_table(table, path, row_group_size=SPILL_ROW_GROUP_ROWS,
                   write_statistics=statistics)
    return path


def read_pieces(
    trade: TradeSource, base_dir: Path, filters: SampleFilters, folder: Path
) -> Pass1:
    """Read ``trade`` piece by piece, filter each piece and spill it to ``folder``.

    Raises
    ------
    DataError
        Bad input (naming the file, as the reader does), a BACI year in two files, no rows
        left after reading, or every row removed by the sample filters.
    """
    state = Pass1(kind=trade.kind)
    seen: dict[int, str] = {}
    for number, piece in enumerate(_pieces(trade, base_dir)):
        start = time.perf_counter()
        result = read_source(piece, base_dir)
        name = Path(result.files[0]).name
        if isinstance(trade, BaciSource) and len(result.frame):
            _check_years(result.frame, name, seen)
        state.add_read(result.log, result.files, result.countries, result.frame)
        frame = canonical_frame(result.frame, name)
        del result
        if "year" in frame.columns:
            state.years_read.update(int(y) for y in pd.unique(frame["year"]))
        middle = time.perf_counter()
        state.seconds_read += middle - start
        frame, removed, removed_value = filters.filter_rows(frame)
        state.add_sample(frame, removed, removed_value)
        state.spills.append(_spill(frame, folder, number, state.rows - len(frame)))
        del frame
        state.seconds_sample += time.perf_counter() - middle
    if not state.read_rows:
        name = Path(state.files[0]).name if state.files else trade.kind
        raise DataError(
            f"{name}: no rows left after reading ({state.log}); check the file and the "
            "column mapping"
        )
    return state
