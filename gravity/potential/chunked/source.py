"""Where a chunk reads its panel rows: rows handed over, or the panel's Parquet file.

Both give the observed rows of the chunk's products only (``exporter, importer, product, year,
value``; keys as text, or categorical with text categories); zeros are generated per chunk
from the universe (:mod:`gravity.potential.chunked.coded`), never for the whole panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.chunks import PanelChunks

__all__ = ["COLUMNS", "ChunkReader", "PanelRows", "ParquetRows", "ProductIndex", "as_text"]

COLUMNS: Final = ("exporter", "importer", "product", "year", "value")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a chunk reads, with the key columns as text (as the unchunked model has)."""
    out = frame[list(COLUMNS)].copy()
    for column in ("exporter", "importer", "product"):
        out[column] = out[column].astype(str)
    return out.reset_index(drop=True)


class ChunkReader(Protocol):
    """Reads the rows of one chunk's products."""

    def read(self) -> pd.DataFrame:
        """Observed rows of the chunk's products (``COLUMNS``)."""
        ...


@dataclass(frozen=True)
class PanelRows:
    """Rows already selected by the main process (local and joblib backends)."""

    frame: pd.DataFrame

    def read(self) -> pd.DataFrame:
        """The rows given."""
        return self.frame


@dataclass(frozen=True)
class ParquetRows:
    """The chunk's products read from the panel's Parquet file by the worker itself (Dask).

    Reads through :class:`gravity.panel.chunks.PanelChunks`: only the row groups holding the
    chunk's products (the panel file is sorted by product), observed rows only.
    """

    panel: PanelChunks
    products: tuple[str, ...]
    years: tuple[int, ...]

    def read(self) -> pd.DataFrame:
        """Observed rows of ``products`` in ``years``."""
        if not self.panel.path.is_file():
            raise DataError(
                f"{self.panel.path}: the panel file is not visible from this Dask worker; run "
                "the workers where the output folder is mounted at the same path"
            )
        if not self.panel.products:  # reopened by a worker, and not the same file any more
            raise DataError(
                f"{self.panel.path}: the panel file changed on disk while the potential ran "
                "(another size or time on this worker); run the command again"
            )
        frame = self.panel.read(self.products, years=self.years, columns=["value"])
        return as_text(frame)


class ProductIndex:
    """Row positions of each product in an in-memory panel, to cut chunks without copying it."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        product = frame["product"]
        if isinstance(product.dtype, pd.CategoricalDtype):  # no string per row
            codes = product.cat.codes.to_numpy()
            uniques = pd.Index(product.cat.categories.astype(str))
        else:
            codes, uniques = pd.factorize(product.astype(str))
        self._order: np.ndarray | None = None
        if len(codes) and (codes >= 0).all() and (np.diff(codes) >= 0).all():
            # sorted by product already (as panel.parquet is written): no sort of every row
            bounds = np.searchsorted(codes, np.arange(len(uniques) + 1))
        else:
            self._order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[self._order], np.arange(len(uniques) + 1))
        self._bounds = {str(p): (int(bounds[i]), int(bounds[i + 1])) for i, p in enumerate(uniques)}

    def _positions(self, product: str) -> np.ndarray:
        start, stop = self._bounds[product]
        return np.arange(start, stop) if self._order is None else self._order[start:stop]

    def rows(self, products: tuple[str, ...]) -> PanelRows:
        """The rows of ``products`` (in panel order)."""
        parts = [self._positions(p) for p in products if p in self._bounds]
        positions = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        # keys stay as they are (categorical in a CLI run): the chunk passes read them as
        # integer codes (gravity.potential.chunked.coded.codes_of), never as text per row
        frame = self.frame[list(COLUMNS)]
        if positions.size and positions[-1] - positions[0] + 1 == positions.size:
            # one run of rows (a product-sorted panel): a slice, not a copy of every column
            return PanelRows(frame.iloc[positions[0] : positions[-1] + 1].reset_index(drop=True))
        return PanelRows(frame.iloc[positions].reset_index(drop=True))
