"""Dense exporter x importer (x product) grids of flows, and the growth rates read from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.exceptions import DataError

REQUIRED = ("exporter", "importer", "year", "value")


def check_panel(panel: pd.DataFrame, source: str = "panel") -> bool:
    """Check the canonical columns; return whether the panel has a product dimension."""
    missing = [c for c in REQUIRED if c not in panel.columns]
    if missing:
        raise DataError(
            f"{source}: export potential needs columns {list(REQUIRED)} (+ product); missing "
            f"{missing}; available: {sorted(map(str, panel.columns))}"
        )
    values = pd.to_numeric(panel["value"], errors="coerce")
    if values.isna().any() or (values < 0).any():
        row = int(np.flatnonzero((values.isna() | (values < 0)).to_numpy())[0])
        raise DataError(
            f"{source}: column 'value' must be a non-negative number; row {row + 1} has "
            f"{panel['value'].iloc[row]!r}"
        )
    return "product" in panel.columns


@dataclass(frozen=True)
class Universe:
    """The exporters, importers, products and years a potential model covers."""

    exporters: pd.Index
    importers: pd.Index
    products: pd.Index | None
    years: tuple[int, ...]

    @classmethod
    def from_panel(cls, panel: pd.DataFrame, years: list[int]) -> Universe:
        """Everything observed in ``years`` of ``panel``."""
        sub = panel[panel["year"].isin(years)]
        products = (
            pd.Index(sorted(sub["product"].astype(str).unique()))
            if "product" in sub.columns
            else None
        )
        return cls(
            exporters=pd.Index(sorted(sub["exporter"].astype(str).unique())),
            importers=pd.Index(sorted(sub["importer"].astype(str).unique())),
            products=products,
            years=tuple(sorted(int(y) for y in years)),
        )


def dense_flows(panel: pd.DataFrame, universe: Universe, year: int) -> pd.DataFrame:
    """Every exporter x importer (x product) cell of ``year``, absent flows as zeros.

    Domestic cells (exporter == importer) are excluded. Returns columns exporter, importer,
    [product,] value; rows sorted by exporter, importer, product.
    """
    sub = panel[panel["year"] == year]
    e_code = universe.exporters.get_indexer(sub["exporter"].astype(str))
    i_code = universe.importers.get_indexer(sub["importer"].astype(str))
    keep = (e_code >= 0) & (i_code >= 0)
    n_e, n_i = len(universe.exporters), len(universe.importers)
    n_p = 1 if universe.products is None else len(universe.products)
    key = e_code.astype(np.int64) * n_i + i_code
    if universe.products is not None:
        p_code = universe.products.get_indexer(sub["product"].astype(str))
        keep &= p_code >= 0
        key = key * n_p + p_code
    values = np.bincount(
        key[keep], weights=sub["value"].to_numpy(dtype=float)[keep], minlength=n_e * n_i * n_p
    )
    e_idx, i_idx = np.divmod(np.arange(n_e * n_i), n_i)
    pair_ok = universe.exporters[e_idx].to_numpy() != universe.importers[i_idx].to_numpy()
    frame = {
        "exporter": np.repeat(universe.exporters.to_numpy()[e_idx[pair_ok]], n_p),
        "importer": np.repeat(universe.importers.to_numpy()[i_idx[pair_ok]], n_p),
    }
    if universe.products is not None:
        frame["product"] = np.tile(universe.products.to_numpy(), int(pair_ok.sum()))
    grid_values = values.reshape(n_e * n_i, n_p)[pair_ok].ravel()
    out = pd.DataFrame(frame)
    out["value"] = grid_values
    return out


def log_growth(
    start: pd.Series, end: pd.Series, years: int, cap: float, fallback: pd.Series | float = 0.0
) -> pd.Series:
    """Annual log growth ``log(end / start) / years``, capped at ``±cap``.

    Where ``start`` or ``end`` is zero the growth is undefined and ``fallback`` is used.
    """
    if years <= 0:
        return pd.Series(0.0, index=end.index)
    start = start.reindex(end.index).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.log(end / start) / years
    rate = rate.where((start > 0) & (end > 0))
    if isinstance(fallback, pd.Series):
        rate = rate.fillna(fallback.reindex(rate.index))
    return rate.fillna(0.0 if not isinstance(fallback, float) else fallback).clip(-cap, cap)
