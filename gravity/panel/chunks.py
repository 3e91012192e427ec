"""A panel file read one chunk of products at a time, without loading the whole panel.

At HS6 a BACI panel is tens of millions of observed rows and, with its zeros, about a billion
cells: no stage can hold it dense. :func:`gravity.panel.dataset.write_panel` writes such a panel
(implicit zeros) sorted by product in row groups of whole products, with min/max statistics on
``product``; :class:`PanelChunks` uses them to read only the row groups of the products asked
for, and fills those products' zeros from the recorded universe (covariates and derived
variables merged), exactly as :meth:`gravity.panel.dataset.Panel.dense` would for the same
products. Other panel files (zeros filled, no product column sort) are read correctly too, only
less cheaply (more row groups per chunk).

Example::

    from pathlib import Path
    from gravity.panel.chunks import PanelChunks

    chunks = PanelChunks.open(Path("out/panel/panel.parquet"))
    chunks.products                   # ('010121', '010129', ...), sorted
    chunks.universe                   # the rectangle zeros are filled over (None if filled)
    for block in chunks.batches(250): # consecutive products, 250 at a time
        rows = chunks.read(block)                             # observed rows only
        cells = chunks.read(block, years=[2020, 2021], dense=True)   # zeros included
        ...

A :class:`PanelChunks` is a frozen, picklable value (path, metadata, universe, covariate tables):
send it to joblib or Dask workers and let each read its own chunk from the shared file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gravity.exceptions import DataError, quote
from gravity.panel.covariates import CovariateTable
from gravity.panel.dataset import METADATA_KEY, Panel
from gravity.panel.io import covariate_tables_of, zeros_of
from gravity.panel.options import DerivedVariable
from gravity.panel.zeros import Axes, Universe, ZeroReport

__all__ = ["PanelChunks", "restrict_years"]

_KEYS = ("exporter", "importer", "product", "year")


def restrict_years(universe: Universe, years: Sequence[int] | None) -> Universe:
    """The same universe over ``years`` only (rectangles of other years dropped)."""
    if years is None:
        return universe
    wanted = {int(y) for y in years}
    if universe.kind == "year":
        return Universe("year", tuple((y, a) for y, a in universe.axes if y in wanted))
    return Universe(
        "panel",
        tuple(
            (y, Axes(a.exporters, a.importers, tuple(t for t in a.years if t in wanted),
                     a.products))
            for y, a in universe.axes
        ),
    )


def _statistics(meta: pq.FileMetaData, column: int) -> tuple[tuple[str | None, str | None], ...]:
    """(min, max) of ``column`` in each row group; ``(None, None)`` where none were written."""
    out: list[tuple[str | None, str | None]] = []
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            out.append((None, None))
        else:
            out.append((str(stats.min), str(stats.max)))
    return tuple(out)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


_OPENED: dict[tuple[str, tuple[int, int]], PanelChunks] = {}
"""Panel files this process opened by :func:`reopen` (a Dask worker keeps its panel)."""


def reopen(path: str, signature: tuple[int, int]) -> PanelChunks:
    """The panel file ``path`` opened once per process, as pickled :class:`PanelChunks` ask.

    A file that is gone or has another size or time than when it was pickled gives an object
    with no products, whose readers say so (:class:`gravity.potential.chunked.source.ParquetRows`);
    it is not read in place of the file the task was made for.
    """
    key = (path, (int(signature[0]), int(signature[1])))
    if key not in _OPENED:
        if _signature(Path(path)) != key[1]:
            return PanelChunks(Path(path), {}, (), None, None)
        if len(_OPENED) >= 4:  # a worker serves one run at a time; a few files at most
            _OPENED.pop(next(iter(_OPENED)))
        _OPENED[key] = PanelChunks.open(path)
    return _OPENED[key]


@dataclass(frozen=True)
class PanelChunks:
    """A panel file opened for reading by product chunks (see the module docstring).

    Attributes
    ----------
    path : pathlib.Path
        The ``panel.parquet`` file.
    metadata : dict
        The panel metadata stored in the file (units, sources, zeros, columns, steps, layout).
    products : tuple of str
        Every product of the panel, sorted (the universe's when zeros are implicit).
    universe : Universe or None
        The rectangle zeros are filled over when they are implicit; ``None`` otherwise.
    zeros : ZeroReport or None
        What zero filling did (``zeros.mode == "implicit"``: :meth:`read` can fill them).
    covariates, derived
        Covariate tables and derived variables merged onto zero rows by ``dense=True``.
    columns : tuple of str
        The columns of the file.
    """

    path: Path
    metadata: dict[str, Any]
    products: tuple[str, ...]
    universe: Universe | None
    zeros: ZeroReport | None
    covariates: tuple[CovariateTable, ...] = ()
    derived: tuple[DerivedVariable, ...] = ()
    columns: tuple[str, ...] = ()
    group_products: tuple[tuple[str | None, str | None], ...] = field(default=(), repr=False)
    """(min, max) product of each row group (from the Parquet statistics)."""
    opened_from: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    """Size and modification time (ns) of the file when :meth:`open` read it."""

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled as the file's path: a Dask task does not carry the covariate tables.

        At HS6 the tables are megabytes, and every chunk's reader holds this object; a worker
        opens the file once and keeps it (:func:`reopen`). An object not made by :meth:`open`
        is pickled whole.
        """
        if self.opened_from is None:
            return super().__reduce_ex__(protocol)
        return reopen, (str(self.path), self.opened_from)

    @classmethod
    def open(cls, path: Path | str) -> PanelChunks:
        """Open ``panel.parquet`` (written by ``gravity panel``) for chunked reading.

        Raises
        ------
        DataError
            If the file is missing, is not a gravity panel, or has no ``product`` column.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such panel file; build it with 'gravity panel'")
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path.name}: not a Parquet panel file ({exc}); rebuild it") from exc
        raw = (parquet.schema_arrow.metadata or {}).get(METADATA_KEY)
        if raw is None:
            raise DataError(
                f"{path.name}: no gravity panel metadata; build it with 'gravity panel'"
            )
        metadata = json.loads(raw)
        columns = tuple(parquet.schema_arrow.names)
        if "product" not in columns:
            raise DataError(
                f"{path.name}: the panel has no 'product' column, so it cannot be read by product "
                "chunks; read it whole with gravity.panel.io.load_panel"
            )
        zeros, universe = zeros_of(metadata)
        if zeros is not None and zeros.mode == "implicit" and universe is not None:
            products = tuple(sorted({p for _, a in universe.axes for p in a.products}))
        else:
            universe = None  # zeros are in the file (or not wanted): nothing to fill
            column = parquet.read(columns=["product"]).column(0)
            products = tuple(sorted(str(p) for p in pc.unique(column).to_pylist()))
        derived = tuple(DerivedVariable(**d) for d in metadata.get("derived", []))
        index = columns.index("product")
        return cls(
            path=path,
            metadata=metadata,
            products=products,
            universe=universe,
            zeros=zeros,
            covariates=covariate_tables_of(path, metadata),
            derived=derived,
            columns=columns,
            group_products=_statistics(parquet.metadata, index),
            opened_from=_signature(path),
        )

    @property
    def num_row_groups(self) -> int:
        """Row groups of the file."""
        return len(self.group_products)

    def batches(self, size: int) -> list[tuple[str, ...]]:
        """The products in consecutive runs of ``size`` (the last one shorter).

        Consecutive products share row groups in a product-sorted file, so each run is read
        from a few adjacent groups.
        """
        if size < 1:
            raise DataError(f"chunk size must be at least 1 product (got {size})")
        return [self.products[i : i + size] for i in range(0, len(self.products), size)]

    def row_groups(self, products: Sequence[str]) -> list[int]:
        """Row groups that may hold rows of ``products`` (by their min/max statistics)."""
        wanted = sorted({str(p) for p in products})
        index = pd.Index(wanted)
        out = []
        for group, (low, high) in enumerate(self.group_products):
            if low is None or high is None:
                out.append(group)
                continue
            # first wanted product >= low; the group holds some product when that one <= high
            position = index.searchsorted(low, side="left")
            if position < len(wanted) and wanted[position] <= high:
                out.append(group)
        return out

    def _check(self, products: Sequence[str], columns: Sequence[str] | None) -> list[str]:
        if isinstance(products, str):
            products = [products]
        wanted = [str(p) for p in products]
        if not wanted:
            raise DataError(f"{self.path.name}: no products asked for; pass at least one code")
        known = set(self.products)
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise DataError(
                f"{self.path.name}: product {quote(unknown[0])} is not in the panel "
                f"({len(unknown)} unknown of {len(wanted)} asked for); use codes from .products"
            )
        absent = [c for c in columns or () if c not in self.columns]
        if absent:
            raise DataError(
                f"{self.path.name}: no column {quote(absent[0])}; the panel has "
                f"{', '.join(self.columns)}"
            )
        return wanted

    def read(
        self,
        products: Sequence[str],
        years: Sequence[int] | None = None,
        columns: Sequence[str] | None = None,
        dense: bool = False,
    ) -> pd.DataFrame:
        """The rows of ``products`` (and ``years``), read from their row groups only.

        Parameters
        ----------
        products : sequence of str
            Product codes of the chunk (from :attr:`products`).
        years : sequence of int, optional
            Keep these years only (default: all).
        columns : sequence of str, optional
            Columns besides the keys (default: every column of the file). The keys
            (exporter, importer, product, year) always come back.
        dense : bool
            Also return a zero row for every cell of the universe missing from the file (only
            when zeros are implicit; filled panels already hold them), with covariates and
            derived variables merged: the rows :meth:`Panel.dense` gives for these products.

        Returns
        -------
        pandas.DataFrame
            Observed rows in file order (product, exporter, importer, year), or with
            ``dense=True`` every cell in the order of :func:`gravity.panel.zeros.fill_zeros`
            (exporter, importer, product, year).

        Raises
        ------
        DataError
            An unknown product or column, or no product at all.
        """
        wanted = self._check(products, columns)
        fill = dense and self.universe is not None
        keys = [c for c in _KEYS if c in self.columns]
        if columns is None or fill:  # zero rows need every trade column, covariates re-merged
            read_columns = list(self.columns)
        else:
            read_columns = keys + [c for c in self.columns if c in columns and c not in keys]
        parquet = pq.ParquetFile(self.path)
        table = parquet.read_row_groups(self.row_groups(wanted), columns=read_columns)
        mask = pc.is_in(table.column("product"), value_set=pa.array(wanted, pa.string()))
        if years is not None and "year" in table.column_names:
            in_years = pc.is_in(table.column("year"), value_set=pa.array(list(years), pa.int64()))
            mask = pc.and_(mask, in_years)
        frame = table.filter(mask).to_pandas()
        del table
        if fill and self.universe is not None:
            panel = Panel(
                frame, (), (), None, self.metadata, self.zeros,
                restrict_years(self.universe, years), self.covariates, self.derived,
            )
            frame = panel.dense(wanted)
        if columns is not None:
            frame = frame[keys + [c for c in frame.columns if c in columns and c not in keys]]
        return frame.reset_index(drop=True)

    def iter_chunks(
        self,
        size: int,
        years: Sequence[int] | None = None,
        columns: Sequence[str] | None = None,
        dense: bool = False,
    ) -> Iterator[tuple[tuple[str, ...], pd.DataFrame]]:
        """Each run of :meth:`batches` with its rows (:meth:`read`), one chunk in memory at once."""
        for block in self.batches(size):
            yield block, self.read(block, years=years, columns=columns, dense=dense)
