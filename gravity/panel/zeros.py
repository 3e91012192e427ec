"""Absent flows as zeros: the exporter x importer x year (x product) rectangle PPML needs.

BACI and Comtrade list only positive flows; a pair that did not trade is absent, and PPML must
see it as a zero. :func:`universe_of` takes the rectangle's axes from the rows observed (after
the sample filters), :func:`count_zeros` counts the cells missing from it, and
:func:`fill_zeros` adds them as rows with ``value = 0``. Domestic cells (exporter == importer)
are never added: a missing intra-national flow is unknown, not zero.

At HS4 or HS6 the rectangle is large (200 x 200 x 1,200 products is 48 million cells), so the
panel builder may keep zeros implicit (see :class:`gravity.panel.options.ZeroOptions`) and fill
only the products an estimator asks for, through :func:`fill_zeros` with ``products=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from gravity.exceptions import DataError

__all__ = [
    "Axes",
    "Universe",
    "ZeroReport",
    "axes_of",
    "count_zeros",
    "dense_flows",
    "fill_zeros",
    "universe_of",
]

KEYS = ("exporter", "importer", "product", "year")


@dataclass(frozen=True)
class Axes:
    """The sorted axes of one rectangle (``products``/``years`` empty when the panel has none)."""

    exporters: tuple[str, ...]
    importers: tuple[str, ...]
    years: tuple[int, ...] = ()
    products: tuple[str, ...] = ()

    def cells(self) -> int:
        """Cells of the rectangle, without domestic cells."""
        both = len(set(self.exporters) & set(self.importers))
        pairs = len(self.exporters) * len(self.importers) - both
        return pairs * max(len(self.years), 1) * max(len(self.products), 1)

    def restrict(self, products: Sequence[str] | None) -> Axes:
        """The same rectangle over ``products`` only (unknown products are ignored)."""
        if products is None:
            return self
        wanted = {str(p) for p in products}
        kept = tuple(p for p in self.products if p in wanted)
        return Axes(self.exporters, self.importers, self.years, kept)

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, for the panel metadata."""
        return {
            "exporters": list(self.exporters),
            "importers": list(self.importers),
            "years": list(self.years),
            "products": list(self.products),
        }


@dataclass(frozen=True)
class Universe:
    """One rectangle for the whole panel, or one per year (``by_year``)."""

    kind: Literal["panel", "year"]
    axes: tuple[tuple[int | None, Axes], ...]
    """``(None, axes)`` for the whole panel, or ``(year, axes)`` for each year."""

    def cells(self) -> int:
        """Cells of every rectangle, without domestic cells."""
        return sum(a.cells() for _, a in self.axes)

    def restrict(self, products: Sequence[str] | None) -> Universe:
        """The same universe over ``products`` only."""
        return Universe(self.kind, tuple((y, a.restrict(products)) for y, a in self.axes))

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, for the panel metadata."""
        return {
            "kind": self.kind,
            "rectangles": [{"year": y, **a.to_dict()} for y, a in self.axes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Universe:
        """Inverse of :meth:`to_dict`."""
        rects = data.get("rectangles")
        if not isinstance(rects, list):
            raise DataError("panel metadata: 'zeros.universe' has no list of rectangles; rebuild")
        axes = tuple(
            (
                r["year"],
                Axes(
                    tuple(r["exporters"]),
                    tuple(r["importers"]),
                    tuple(int(y) for y in r["years"]),
                    tuple(r["products"]),
                ),
            )
            for r in rects
        )
        kind = data["kind"]
        return cls("year" if kind == "year" else "panel", axes)


@dataclass(frozen=True)
class ZeroReport:
    """What zero filling did (or would do) to the panel."""

    mode: Literal["filled", "implicit", "none"]
    universe: Literal["panel", "year"] = "panel"
    cells: int = 0
    zero_rows: int = 0
    """Zero rows added (``filled``) or left implicit (``implicit``)."""
    observed_zero_rows: int = 0
    """Rows whose value was already zero in the source."""
    empty_columns: tuple[str, ...] = ()
    """Non-key columns of the trade table that are empty (NaN) on the added rows."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, for the panel metadata."""
        return {
            "mode": self.mode,
            "universe": self.universe,
            "cells": self.cells,
            "zero_rows": self.zero_rows,
            "observed_zero_rows": self.observed_zero_rows,
            "empty_columns": list(self.empty_columns),
        }


def _sorted_unique(values: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in pd.unique(values)))


def axes_of(frame: pd.DataFrame, years: Sequence[int] | None = None) -> Axes:
    """The rectangle spanned by the rows of ``frame`` (of ``years`` only, when given).

    The years axis is the years observed, or ``years`` themselves when given (sorted).
    """
    has_year = "year" in frame.columns
    if years is not None:
        # only the key columns are taken: the other columns of a large panel would be copied
        keys = [c for c in ("exporter", "importer", "product") if c in frame.columns]
        frame = frame.loc[frame["year"].isin(list(years)).to_numpy(), keys]
        year_axis = tuple(sorted(int(y) for y in years))
    else:
        year_axis = tuple(sorted(int(y) for y in pd.unique(frame["year"]))) if has_year else ()
    return Axes(
        _sorted_unique(frame["exporter"]),
        _sorted_unique(frame["importer"]),
        year_axis,
        _sorted_unique(frame["product"]) if "product" in frame.columns else (),
    )


def universe_of(frame: pd.DataFrame, kind: Literal["panel", "year"] = "panel") -> Universe:
    """The rectangle(s) spanned by the exporters, importers, years and products of ``frame``."""
    if kind == "year" and "year" in frame.columns:
        years = sorted(int(y) for y in pd.unique(frame["year"]))
        column = frame["year"].to_numpy()
        return Universe("year", tuple((y, axes_of(frame.loc[column == y])) for y in years))
    return Universe("panel", ((None, axes_of(frame)),))


def _codes(frame: pd.DataFrame, axes: Axes) -> tuple[list[np.ndarray], list[int]]:
    """Position of each row on each axis (``-1`` off the rectangle) and the axis sizes."""
    parts: list[tuple[str, Sequence[object]]] = [
        ("exporter", axes.exporters),
        ("importer", axes.importers),
    ]
    if axes.products:
        parts.append(("product", axes.products))
    if axes.years:
        parts.append(("year", axes.years))
    codes, sizes = [], []
    for column, values in parts:
        index = pd.Index(list(values))
        col = frame[column]
        if column != "year" and isinstance(col.dtype, pd.CategoricalDtype):
            # through the categories: no string per row (tens of millions at HS6)
            mapped = index.get_indexer(pd.Index(col.cat.categories.astype("str")))
            local = col.cat.codes.to_numpy()
            codes.append(np.where(local >= 0, mapped[np.maximum(local, 0)], -1))
            sizes.append(len(values))
            continue
        local, uniques = pd.factorize(col if column == "year" else col.astype("str"))
        mapped = index.get_indexer(pd.Index(uniques))
        codes.append(mapped[local] if len(local) else local.astype(np.int64))
        sizes.append(len(values))
    return codes, sizes


def _linear(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    out = np.zeros(len(codes[0]), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        out = out * size + code
    return out


def _taken(ids: np.ndarray, sizes: list[int], axes: Axes) -> np.ndarray:
    """Cells of the rectangle that need no zero row: observed ones (``ids``) and domestic ones."""
    total = int(np.prod(sizes, dtype=np.int64))
    taken = np.zeros(total, dtype=bool)
    taken[ids] = True
    importer_pos = pd.Index(list(axes.importers)).get_indexer(list(axes.exporters))
    inner = total // (sizes[0] * sizes[1])
    for e, i in enumerate(importer_pos):  # domestic cells are never filled
        if i >= 0:
            start = (e * sizes[1] + int(i)) * inner
            taken[start : start + inner] = True
    return taken


def count_zeros(frame: pd.DataFrame, universe: Universe) -> int:
    """Cells of ``universe`` missing from ``frame`` (the zero rows filling would add)."""
    total = 0
    for year, axes in universe.axes:
        part = frame if year is None else frame.loc[frame["year"].to_numpy() == year]
        codes, _ = _codes(part, axes)
        inside = np.all([c >= 0 for c in codes], axis=0) if len(part) else np.zeros(0, bool)
        domestic = (part["exporter"].astype("str") == part["importer"].astype("str")).to_numpy()
        observed = int((inside & ~domestic).sum())
        total += axes.cells() - observed
    return total


def _key_columns(ids: np.ndarray, sizes: list[int], axes: Axes) -> dict[str, object]:
    """Key columns of the cells ``ids`` (text codes built in Arrow, years as int64)."""
    decoded: list[np.ndarray] = []
    rest = ids  # consumed in place: the caller no longer needs the ids
    for size in reversed(sizes):
        decoded.append((rest % size).astype(np.int32))
        rest //= size
    decoded.reverse()
    names: list[str] = ["exporter", "importer"]
    values: list[Sequence[object]] = [axes.exporters, axes.importers]
    if axes.products:
        names.append("product")
        values.append(axes.products)
    if axes.years:
        names.append("year")
        values.append(axes.years)
    columns: dict[str, object] = {}
    for name, code, axis in zip(names, decoded, values, strict=True):
        if name == "year":
            columns[name] = np.asarray(axis, dtype=np.int64)[code]
        else:
            columns[name] = pd.array(pa.array(list(axis), pa.string()).take(code), dtype="str")
    return columns


def _fill_rectangle(part: pd.DataFrame, axes: Axes) -> tuple[pd.DataFrame, int]:
    """``part`` plus a zero row per missing international cell, sorted by cell."""
    codes, sizes = _codes(part, axes)
    inside = np.all([c >= 0 for c in codes], axis=0) if len(part) else np.zeros(0, bool)
    rows = np.flatnonzero(inside)
    ids = _linear([c[rows] for c in codes], sizes)
    order = np.argsort(ids, kind="stable")
    ids, rows = ids[order], rows[order]
    zero_ids = np.flatnonzero(~_taken(ids, sizes, axes))
    n_zeros = len(zero_ids)
    # two sorted runs: the stable sort (timsort) merges them in linear time
    all_ids = np.concatenate([ids, zero_ids])
    del zero_ids
    merge = np.argsort(all_ids, kind="stable")
    all_ids = all_ids[merge]
    observed = merge < len(ids)  # output positions of the observed rows, in cell order
    del merge
    out = pd.DataFrame(_key_columns(all_ids, sizes, axes))
    del all_ids
    for column in part.columns:
        if column in out.columns:
            continue
        if column == "value":
            values = np.zeros(len(out), dtype=np.float64)
            values[observed] = part["value"].to_numpy(dtype=float)[rows]
            out["value"] = values
        else:
            source = np.full(len(out), -1, dtype=np.int64)
            source[observed] = rows
            out[column] = pd.api.extensions.take(part[column].array, source, allow_fill=True)
    outside = ~inside
    if outside.any():  # rows off the rectangle (possible with a given universe): kept as they are
        out = pd.concat([out, part.loc[outside]], ignore_index=True)
    return out, n_zeros


def dense_flows(frame: pd.DataFrame, axes: Axes, year: int | None = None) -> pd.DataFrame:
    """Every international cell of ``axes`` once, with its total value (absent cells as zeros).

    The aggregate form of :func:`fill_zeros`, built from the same rectangle, cell order and
    domestic rule. Where :func:`fill_zeros` keeps every row of ``frame`` and adds the missing
    cells, this returns one row per cell: rows of the same cell are summed, and rows off the
    rectangle or on a domestic cell are left out (a potential model reads flows by cell).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``exporter``, ``importer``, ``value`` (and ``product``/``year`` as ``axes``
        has them).
    axes : Axes
        The rectangle; its ``years`` (when ``year`` is not given) are a key column.
    year : int, optional
        Use the rows of this year only, over the rectangle without its years axis (the output
        then has no ``year`` column).

    Returns
    -------
    pandas.DataFrame
        exporter, importer, [product,] [year,] value: one row per international cell, sorted by
        cell; key columns as text (``str``), ``value`` as float.
    """
    if year is not None:
        # only the columns read below are taken (a year of a large panel, not all its columns)
        used = [c for c in ("exporter", "importer", "product", "value") if c in frame.columns]
        frame = frame.loc[frame["year"].to_numpy() == year, used]
        axes = Axes(axes.exporters, axes.importers, (), axes.products)
    codes, sizes = _codes(frame, axes)
    inside = np.all([c >= 0 for c in codes], axis=0) if len(frame) else np.zeros(0, bool)
    ids = _linear([c[inside] for c in codes], sizes)
    total = int(np.prod(sizes, dtype=np.int64))
    values = np.bincount(ids, weights=frame["value"].to_numpy(dtype=float)[inside], minlength=total)
    cells = np.flatnonzero(~_taken(np.zeros(0, dtype=np.int64), sizes, axes))
    out = pd.DataFrame(_key_columns(cells.copy(), sizes, axes))
    out["value"] = values[cells]
    return out


def fill_zeros(
    frame: pd.DataFrame, universe: Universe, products: Sequence[str] | None = None
) -> tuple[pd.DataFrame, ZeroReport]:
    """Add a zero row for every international cell of ``universe`` missing from ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The panel (``exporter``, ``importer``, ``value`` and ``year``/``product`` when present).
    universe : Universe
        The rectangle(s), usually :func:`universe_of` the same frame.
    products : sequence of str, optional
        Fill (and return) only these products: the lazy path for product-level panels.

    Returns
    -------
    frame : pandas.DataFrame
        The rows of ``frame`` (for ``products`` only, when given) and the zero rows, sorted by
        exporter, importer, product, year; other columns are NaN on the zero rows.
    report : ZeroReport
    """
    universe = universe.restrict(products)
    if products is not None and "product" in frame.columns:
        wanted = {str(p) for p in products}
        frame = frame.loc[frame["product"].astype("str").isin(wanted).to_numpy()]
    pieces: list[pd.DataFrame] = []
    added = 0
    for year, axes in universe.axes:
        part = frame if year is None else frame.loc[frame["year"].to_numpy() == year]
        if not axes.exporters or not axes.importers:
            pieces.append(part)
            continue
        filled, n_zeros = _fill_rectangle(part, axes)
        pieces.append(filled)
        added += n_zeros
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    out = out.reset_index(drop=True)
    others = [c for c in frame.columns if c not in (*KEYS, "value")]
    report = ZeroReport(
        mode="filled",
        universe=universe.kind,
        cells=universe.cells(),
        zero_rows=added,
        observed_zero_rows=int((frame["value"] == 0).sum()),
        empty_columns=tuple(others) if added else (),
    )
    for column in ("exporter", "importer", "product"):
        if column in out.columns and not isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].astype("str")
    return out[[c for c in frame.columns if c in out.columns]], report
