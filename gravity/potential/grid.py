"""Checks of the potential's input panel, and the growth rates read from its flows.

The dense exporter x importer (x product) grids of flows come from the panel layer's
:func:`gravity.panel.zeros.dense_flows` (the one zero-filling implementation).
"""

from __future__ import annotations

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
