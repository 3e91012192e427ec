"""The panel as year x cell arrays, keeping observed zeros apart from cells without a row.

Bilateral cells are ``(exporter, importer[, product])`` coded ``(e * C + i) * P + p`` over one
country index ``C`` (exporters and importers together, so the reverse flow ``j -> i`` of a cell is
arithmetic) and products ``P``. Exporter x product cells (for product entry) are ``c * P + p``.
Domestic cells (``e == i``) are never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Cube:
    """Values and row presence of every cell in every panel year."""

    countries: pd.Index
    products: pd.Index | None
    years: np.ndarray
    values: np.ndarray
    """(n_years, n_cells) float64: the summed value, 0 where there is no row."""
    observed: np.ndarray
    """(n_years, n_cells) bool: the panel has a row for the cell (possibly a zero)."""
    bilateral: bool

    @property
    def n_products(self) -> int:
        """Number of products (1 for aggregate panels)."""
        return 1 if self.products is None else len(self.products)

    @property
    def n_cells(self) -> int:
        """Number of cells per year."""
        return int(self.values.shape[1])

    def index_of(self, year: int) -> int:
        """Position of ``year`` in :attr:`years`."""
        return int(np.flatnonzero(self.years == year)[0])

    def codes(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exporter, importer and product codes of bilateral cells (importer -1 otherwise)."""
        n_c, n_p = len(self.countries), self.n_products
        if not self.bilateral:
            c, p = np.divmod(cells, n_p)
            return c, np.full_like(c, -1), p
        pair, p = np.divmod(cells, n_p)
        e, i = np.divmod(pair, n_c)
        return e, i, p

    def reverse(self, cells: np.ndarray) -> np.ndarray:
        """Cell of the reverse flow (importer to exporter, same product)."""
        e, i, p = self.codes(cells)
        return (i * len(self.countries) + e) * self.n_products + p

    def keys(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        """Labels of the cells: exporter, importer (bilateral) and product (product panels)."""
        e, i, p = self.codes(cells)
        labels = self.countries.to_numpy()
        out = {"exporter": labels[e]}
        if self.bilateral:
            out["importer"] = labels[i]
        if self.products is not None:
            out["product"] = self.products.to_numpy()[p]
        return out


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of ``values`` in ``index``, hashing each distinct value once."""
    codes, uniques = pd.factorize(values)
    positions = index.get_indexer(pd.Index(uniques).astype(str)).astype(np.int64)
    return np.where(codes >= 0, positions[codes], -1)


def as_text(values: pd.Series) -> pd.Series:
    """Labels as strings, converted only when they are not strings already.

    Converting millions of Arrow strings to strings again costs seconds.
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values
    return values.astype(str)


def normalise_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with text exporter/importer/(product) codes and int64 years."""
    out = panel.assign(
        exporter=as_text(panel["exporter"]),
        importer=as_text(panel["importer"]),
        year=pd.to_numeric(panel["year"]).astype("int64"),
    )
    if "product" in out.columns:
        out["product"] = as_text(out["product"])
    return out


def _index(values: pd.Series) -> pd.Index:
    return pd.Index(sorted(pd.Index(pd.unique(values)).astype(str)))


def build_cube(
    panel: pd.DataFrame,
    bilateral: bool,
    min_flow: float = 0.0,
    countries: pd.Index | None = None,
    years: np.ndarray | None = None,
) -> Cube:
    """Bilateral (or exporter x product) cube of a canonical panel.

    Parameters
    ----------
    panel : pandas.DataFrame
        exporter, importer, [product,] year, value; several rows of a cell are summed.
    bilateral : bool
        Exporter x importer (x product) cells; otherwise exporter x product (summed over
        importers).
    min_flow : float
        Values at or below this count as zero (the row still counts as observed).
    countries, years : optional
        The country labels and years of the cube (default: those of ``panel``). A product
        chunk of a larger panel uses the whole panel's, so its cells and years line up with the
        panel's global tables; every label and year of ``panel`` must be among them.

    Returns
    -------
    Cube
    """
    has_product = "product" in panel.columns
    exporters = panel["exporter"]
    importers = panel["importer"]
    if countries is None:
        countries = (
            pd.Index(sorted(set(_index(exporters)) | set(_index(importers))))
            if bilateral
            else _index(exporters)
        )
    products = _index(panel["product"]) if has_product else None
    n_c, n_p = len(countries), 1 if products is None else len(products)
    if years is None:
        years = np.array(sorted(int(y) for y in panel["year"].unique()), dtype=np.int64)
    e = _codes(exporters, countries)
    p = (
        _codes(panel["product"], products)
        if products is not None
        else np.zeros(len(panel), dtype=np.int64)
    )
    if bilateral:
        i = _codes(importers, countries)
        cell = (e * n_c + i) * n_p + p
        n_cells = n_c * n_c * n_p
    else:
        cell = e * n_p + p
        n_cells = n_c * n_p
    y = np.searchsorted(years, panel["year"].to_numpy(dtype=np.int64))
    flat = y * n_cells + cell
    size = len(years) * n_cells
    value = panel["value"].to_numpy(dtype=float)
    values = np.bincount(flat, weights=value, minlength=size).reshape(len(years), n_cells)
    observed = np.bincount(flat, minlength=size).reshape(len(years), n_cells) > 0
    values[values <= min_flow] = 0.0
    if bilateral:
        # domestic flows are never candidates, and kept out of totals and counts of partners
        pair = np.arange(n_cells) // n_p
        domestic = pair // n_c == pair % n_c
        values[:, domestic] = 0.0
        observed[:, domestic] = False
    return Cube(countries, products, years, values, observed, bilateral)
