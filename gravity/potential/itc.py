"""The ITC Export Potential Indicator baseline (Decreux & Spies 2016), on the same data.

``v_ijk = S_ik * D_jk * E_ij`` in USD at the horizon:

- supply ``S_ik``: i's share of world exports of k, times ``min(X_ik / M_ik, 1)`` to discount
  re-exports (``M_ik``: i's imports of k; no discount where imports are unknown), grown with
  i's export growth;
- demand ``D_jk``: j's imports of k, grown with j's import growth of k;
- ease ``E_ij = X_ij / sum_k S_ik D_jk`` (base year, before growth): how much more or less i
  sells to j than supply and demand predict. Pairs that do not trade get zero ease, hence zero
  potential, as in the ITC method.

The tariff-advantage and distance-relative-to-suppliers adjustments of the ITC need tariff data
the panel does not have; they are left out and the baseline is named accordingly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def itc_predicted(grid: pd.DataFrame) -> np.ndarray:
    """Supply x demand ``S_ik * D_jk`` of each row of a base-year grid, before ease and growth.

    Every term is a sum over the row's own product (or over the whole grid without products),
    so a grid holding some products only gives those products' values.
    """
    has_product = "product" in grid.columns
    k = ["product"] if has_product else []
    x = grid["actual"].to_numpy(dtype=float)
    world_k = (
        grid.groupby(k, observed=True)["actual"].transform("sum")
        if k
        else pd.Series(x.sum(), index=grid.index)
    )
    exports_ik = grid.groupby(["exporter", *k], observed=True)["actual"].transform("sum")
    imports = grid.groupby(["importer", *k], observed=True)["actual"].sum()
    imports.index = (
        imports.index.set_names(["exporter", *k]) if k else imports.index.rename("exporter")
    )
    own_imports = (
        pd.Series(
            imports.reindex(pd.MultiIndex.from_frame(grid[["exporter", *k]])).to_numpy(),
            index=grid.index,
        )
        if k
        else grid["exporter"].map(imports)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(world_k > 0, exports_ik / world_k, 0.0)
        reexport = np.where(own_imports > 0, np.minimum(exports_ik / own_imports, 1.0), 1.0)
    supply = share * reexport
    demand = grid.groupby(["importer", *k], observed=True)["actual"].transform("sum").to_numpy()
    return np.asarray(supply * demand, dtype=float)


def itc_pair_sums(grid: pd.DataFrame, predicted: np.ndarray) -> pd.DataFrame:
    """Per exporter-importer pair: the sums of ``predicted`` and of ``actual`` over products."""
    frame = pd.DataFrame(
        {
            "exporter": grid["exporter"].to_numpy(),
            "importer": grid["importer"].to_numpy(),
            "predicted": predicted,
            "actual": grid["actual"].to_numpy(dtype=float),
        }
    )
    return frame.groupby(["exporter", "importer"], observed=True, sort=False)[
        ["predicted", "actual"]
    ].sum()


def itc_potential(
    grid: pd.DataFrame, horizon: int, pair_sums: pd.DataFrame | None = None
) -> pd.Series:
    """ITC-style potential for each row of a base-year grid.

    Parameters
    ----------
    grid : pandas.DataFrame
        Columns exporter, importer, [product,] actual (base-year flow), supply_growth and
        demand_growth (annual log rates), as in :class:`~gravity.potential.model.PotentialResult`.
    horizon : int
        Years ahead.
    pair_sums : pandas.DataFrame, optional
        :func:`itc_pair_sums` over every product, indexed by exporter and importer, when
        ``grid`` holds some products only (a chunk); by default the grid's own sums.

    Returns
    -------
    pandas.Series
        Potential in USD, aligned with ``grid``.
    """
    predicted = itc_predicted(grid)
    if pair_sums is None:
        pair_sums = itc_pair_sums(grid, predicted)
    pairs = pd.MultiIndex.from_frame(grid[["exporter", "importer"]])
    pair_pred = pair_sums["predicted"].reindex(pairs).to_numpy()
    pair_actual = pair_sums["actual"].reindex(pairs).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ease = np.where(pair_pred > 0, pair_actual / pair_pred, 0.0)
    growth = np.exp(horizon * (grid["supply_growth"].to_numpy() + grid["demand_growth"].to_numpy()))
    return pd.Series(predicted * ease * growth, index=grid.index, name="itc_potential")
