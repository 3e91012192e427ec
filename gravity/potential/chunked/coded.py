"""A chunk's base-year grid as integer codes, and the sums the chunk passes take over it.

At HS-6 a chunk's grid is millions of cells, and pandas grouping, factorising and reindexing
on text keys cost more than the model itself (most of a run, profiled). Here exporter, importer
and product are positions on the universe's sorted axes (the chunk's own products for the
product axis): sums are ``np.bincount`` over those codes, lookups are indexing into small dense
matrices (countries x countries, countries x products), and text keys are built only for the
rows a chunk writes.

:class:`CodedGrid` holds the same cells, in the same order, as
:func:`gravity.panel.zeros.dense_flows` with the ease column and the cells without ease dropped
(the grid of :class:`~gravity.potential.chunked.engine.ChunkWorld`); :func:`itc_predicted` and
:func:`itc_pair_sums` compute what :mod:`gravity.potential.itc` computes on the text frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "CodedGrid",
    "coded_grid",
    "codes_of",
    "dense_lookup",
    "itc_pair_sums",
    "itc_predicted",
    "text_column",
]


def codes_of(column: pd.Series, labels: pd.Index) -> np.ndarray:
    """Position of each value of ``column`` in ``labels`` (``-1`` where it is not there).

    Values compare as text, as :func:`gravity.panel.zeros.dense_flows` compares them; a
    categorical column is mapped through its categories, without a string per row.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        position = labels.get_indexer(pd.Index(column.cat.categories.astype(str)))
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, position[np.maximum(codes, 0)], -1).astype(np.int64)
    local, uniques = pd.factorize(column.astype("str"))
    if not len(local):
        return local.astype(np.int64)
    return labels.get_indexer(pd.Index(uniques))[local].astype(np.int64)


def text_column(labels: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The text key column of ``codes`` (as :func:`gravity.panel.zeros.dense_flows` builds it)."""
    return pd.array(pa.array(list(labels), pa.string()).take(codes), dtype="str")


def dense_lookup(series: pd.Series, first: pd.Index, second: pd.Index) -> np.ndarray:
    """A Series on a two-level (text) index as a ``len(first) x len(second)`` matrix.

    Keys the Series does not have are NaN.
    """
    full = pd.MultiIndex.from_product([first, second])
    return series.reindex(full).to_numpy().reshape(len(first), len(second))


@dataclass(frozen=True)
class CodedGrid:
    """One chunk's base-year cells with ease: integer keys, values, ease, in cell order.

    Cell order is exporter, importer, product (the universe's sorted axes); domestic cells and
    cells of pairs without ease are not in the grid. Every pair in the grid carries every
    product of the chunk, so the cells are a ``pairs x products`` matrix (row-major):
    ``value2d`` and the pair codes ``pe``, ``pi`` describe them without a key per cell.
    """

    exporters: pd.Index
    """The universe's exporters (``pe`` indexes them)."""
    importers: pd.Index
    products: pd.Index
    """The chunk's products, sorted (the columns of ``value2d``)."""
    pe: np.ndarray
    """Exporter code of each pair."""
    pi: np.ndarray
    """Importer code of each pair."""
    value2d: np.ndarray
    """pairs x products flows (zeros where absent)."""
    pair_ease: np.ndarray
    """Ease of each pair."""
    without_ease: int
    """International cells of the rectangle dropped for lack of ease."""

    def __len__(self) -> int:
        return self.value2d.size

    @property
    def shape(self) -> tuple[int, int, int]:
        """Exporters, importers, products of the rectangle."""
        return len(self.exporters), len(self.importers), len(self.products)

    @property
    def value(self) -> np.ndarray:
        """Flow of each cell."""
        return self.value2d.reshape(-1)

    @property
    def ease(self) -> np.ndarray:
        """Ease of each cell."""
        return np.repeat(self.pair_ease, len(self.products))

    @property
    def e(self) -> np.ndarray:
        """Exporter code of each cell."""
        return np.repeat(self.pe, len(self.products))

    @property
    def i(self) -> np.ndarray:
        """Importer code of each cell."""
        return np.repeat(self.pi, len(self.products))

    @property
    def p(self) -> np.ndarray:
        """Product code of each cell."""
        return np.tile(np.arange(len(self.products)), len(self.pe))

    def frame(self, pairs: np.ndarray | None = None) -> pd.DataFrame:
        """The grid (or the cells of ``pairs``, a boolean per pair) as a text frame.

        Columns exporter, importer, product, value, ease: what the text path's grid was.
        """
        n_p = len(self.products)
        pe, pi, value, ease = self.pe, self.pi, self.value2d, self.pair_ease
        if pairs is not None:
            pe, pi, value, ease = pe[pairs], pi[pairs], value[pairs], ease[pairs]
        return pd.DataFrame(
            {
                "exporter": text_column(self.exporters.to_numpy(), np.repeat(pe, n_p)),
                "importer": text_column(self.importers.to_numpy(), np.repeat(pi, n_p)),
                "product": text_column(self.products.to_numpy(), np.tile(np.arange(n_p), len(pe))),
                "value": value.reshape(-1),
                "ease": np.repeat(ease, n_p),
            }
        )


def domestic_pairs(exporters: pd.Index, importers: pd.Index) -> np.ndarray:
    """``exporters x importers`` booleans: the pair is one country (by label)."""
    out = np.zeros((len(exporters), len(importers)), dtype=bool)
    position = importers.get_indexer(exporters)
    has = position >= 0
    out[np.flatnonzero(has), position[has]] = True
    return out


def coded_grid(
    rows: pd.DataFrame,
    exporters: pd.Index,
    importers: pd.Index,
    products: pd.Index,
    year: int,
    ease: np.ndarray,
) -> CodedGrid:
    """The chunk's grid of ``year``: flows summed by cell, absent cells as zeros.

    Parameters
    ----------
    rows : pandas.DataFrame
        The chunk's observed rows (exporter, importer, product, year, value); rows of other
        years, off the rectangle or on domestic cells are left out, as in
        :func:`gravity.panel.zeros.dense_flows`.
    exporters, importers, products : pandas.Index
        The sorted axes (text labels).
    year : int
        The base year.
    ease : numpy.ndarray
        ``exporters x importers`` ease, NaN where a pair has none.

    Returns
    -------
    CodedGrid
    """
    n_e, n_i, n_p = len(exporters), len(importers), len(products)
    part = rows.loc[rows["year"].to_numpy() == year]
    e = codes_of(part["exporter"], exporters)
    i = codes_of(part["importer"], importers)
    p = codes_of(part["product"], products)
    inside = (e >= 0) & (i >= 0) & (p >= 0)
    ids = (e[inside] * n_i + i[inside]) * n_p + p[inside]
    weights = part["value"].to_numpy(dtype=float)[inside]
    values = np.bincount(ids, weights=weights, minlength=n_e * n_i * n_p)
    international = ~domestic_pairs(exporters, importers)
    with_ease = international & ~np.isnan(ease)
    without = int((international & np.isnan(ease)).sum()) * n_p
    pairs = np.flatnonzero(with_ease.ravel())
    pe, pi = np.divmod(pairs, n_i)
    return CodedGrid(
        exporters,
        importers,
        products,
        pe,
        pi,
        values.reshape(n_e * n_i, n_p)[pairs],
        ease[pe, pi],
        without,
    )


def _cube_sums(grid: CodedGrid, x2d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of a pairs x products matrix by product, exporter x product, importer x product."""
    n_e, n_i, n_p = grid.shape
    # through the (small) dense cube countries x countries x products: two reductions
    cube = np.zeros((n_e, n_i, n_p))
    cube[grid.pe, grid.pi] = x2d
    return x2d.sum(axis=0), cube.sum(axis=1), cube.sum(axis=0)


def itc_predicted(grid: CodedGrid, actual: np.ndarray) -> np.ndarray:
    """Supply x demand ``S_ik * D_jk`` of each cell (:func:`gravity.potential.itc.itc_predicted`).

    ``actual`` is the base-year flow per cell (pairs x products, or flat in cell order);
    every sum is over the cell's own product. Returns pairs x products.
    """
    n_p = len(grid.products)
    a2d = actual.reshape(len(grid.pe), n_p)
    world_k, exports, imports = _cube_sums(grid, a2d)
    exports_ik = exports[grid.pe]
    # the exporter's own imports of the product (none when it is not an importer)
    as_importer = grid.importers.get_indexer(grid.exporters)[grid.pe]
    padded = np.vstack([imports, np.zeros((1, n_p))])  # row -1: not an importer
    own = padded[as_importer]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(world_k > 0, exports_ik / world_k, 0.0)
        reexport = np.where(own > 0, np.minimum(exports_ik / own, 1.0), 1.0)
    demand = imports[grid.pi]
    return np.asarray(share * reexport * demand, dtype=float)


def itc_pair_sums(grid: CodedGrid, predicted: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    """Per exporter-importer pair in the grid: sums of ``predicted`` and ``actual``.

    Columns exporter, importer (text), predicted, actual; pairs in cell order, as
    :func:`gravity.potential.itc.itc_pair_sums` (reset) gives them.
    """
    shape = (len(grid.pe), len(grid.products))
    return pd.DataFrame(
        {
            "exporter": text_column(grid.exporters.to_numpy(), grid.pe),
            "importer": text_column(grid.importers.to_numpy(), grid.pi),
            "predicted": predicted.reshape(shape).sum(axis=1),
            "actual": actual.reshape(shape).sum(axis=1),
        }
    )


def international_codes(
    rows: pd.DataFrame, exporters: pd.Index, importers: pd.Index
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exporter and importer codes of ``rows``, and which rows are international cells.

    International: on the rectangle, exporter and importer different countries (by label).
    """
    e = codes_of(rows["exporter"], exporters)
    i = codes_of(rows["importer"], importers)
    inside = (e >= 0) & (i >= 0)
    domestic = domestic_pairs(exporters, importers)[np.maximum(e, 0), np.maximum(i, 0)]
    return e, i, inside & ~domestic


def pair_year_totals(
    rows: pd.DataFrame, exporters: pd.Index, importers: pd.Index, years: tuple[int, ...]
) -> pd.DataFrame:
    """Flows summed by exporter, importer and year (of ``years``) over international rows.

    Columns exporter, importer (text), year, value: one row per combination with rows, as a
    groupby over the rows gives them.
    """
    wanted = np.unique(np.asarray(years))
    year = rows["year"].to_numpy()
    part = rows.loc[np.isin(year, wanted)]
    e, i, ok = international_codes(part, exporters, importers)
    y = np.searchsorted(wanted, part["year"].to_numpy())
    n_i, n_y = len(importers), len(wanted)
    ids = ((e * n_i + i) * n_y + y)[ok]
    size = len(exporters) * n_i * n_y
    count = np.bincount(ids, minlength=size)
    value = np.bincount(ids, weights=part["value"].to_numpy(dtype=float)[ok], minlength=size)
    present = np.flatnonzero(count)
    pair, at = np.divmod(present, n_y)
    pe, pi = np.divmod(pair, n_i)
    return pd.DataFrame(
        {
            "exporter": text_column(exporters.to_numpy(), pe),
            "importer": text_column(importers.to_numpy(), pi),
            "year": wanted[at].astype(rows["year"].dtype),
            "value": value[present],
        }
    )
