"""Named baselines, computed on the same candidate cells as the forecast.

Names are stable so results compare across runs. Scores rank cells (entry tasks) or predict the
value at the outcome year (``level``). Every baseline reads only what the features read: the
cube up to the origin.

- ``persistence``: entry: number of the last ``lags`` observed years in which the cell was
  positive (RCA >= 1 for ``new_product``); level: the value at ``t0``.
- ``persistence_growth`` (level): value at ``t0`` times trailing world growth over ``h`` years.
- ``lagged_presence`` (new_flow): positive in the last observed year at or before ``t0 - h``.
- ``mass``: log exporter total + log importer total (product panels: of that product);
  ``new_product``: log exports of the product.
- ``count_mass``: log(1 + destinations of the exporter) + log(1 + suppliers of the importer).
- ``reverse_flow`` (new_flow): the value of the reverse flow ``j -> i`` at ``t0``.
- ``itc``: the ITC-style export potential indicator (:mod:`gravity.potential.itc`).
- ``gravity``: the structural gravity PPML of ``t0`` alone (times world growth for levels).
- ``density`` (product panels) and ``rca`` (``new_product``): relatedness and RCA at ``t0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gravity.potential.forecast.cube import Cube
from gravity.potential.itc import itc_potential

# annual log growth rates used by the ITC baseline are capped as the potential model caps them
MAX_ANNUAL_GROWTH = 0.25


def world_growth(cube: Cube, a: int) -> float:
    """Trailing annual log growth of the world total from the previous observed year to ``a``."""
    if a == 0:
        return 0.0
    now, before = cube.values[a].sum(), cube.values[a - 1].sum()
    if now <= 0 or before <= 0:
        return 0.0
    return float(np.log(now / before) / (cube.years[a] - cube.years[a - 1]))


def _exp(x: pd.Series | np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(x, dtype=float))


def _log1p(x: pd.Series) -> np.ndarray:
    return np.log1p(x.to_numpy(dtype=float))


def lagged_presence(cube: Cube, a: int, cells: np.ndarray, horizon: float) -> np.ndarray:
    """1 where the cell was positive in the last observed year at or before ``t0 - horizon``."""
    target = cube.years[a] - horizon
    earlier = np.flatnonzero(cube.years <= target)
    if earlier.size == 0:
        return np.zeros(cells.size)
    return (cube.values[earlier[-1], cells] > 0).astype(float)


def itc_scores(cube: Cube, a: int, cells: np.ndarray, horizon: float) -> np.ndarray:
    """ITC-style potential of ``cells`` (the indicator needs the whole year's grid)."""
    e, i, p = cube.codes(np.arange(cube.n_cells))
    n_c, n_p = len(cube.countries), cube.n_products
    v = cube.values[a]
    grid = pd.DataFrame({"exporter": e, "importer": i, "actual": v})
    if cube.products is not None:
        grid["product"] = p
    gap = float(cube.years[a] - cube.years[a - 1]) if a > 0 else 0.0

    def growth(key: np.ndarray, n: int) -> np.ndarray:
        if a == 0:
            return np.zeros(key.size)
        now = np.bincount(key, weights=v, minlength=n)
        before = np.bincount(key, weights=cube.values[a - 1], minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.log(now / before) / gap
        rate = np.where(np.isfinite(rate), rate, 0.0)
        return np.clip(rate, -MAX_ANNUAL_GROWTH, MAX_ANNUAL_GROWTH)[key]

    grid["supply_growth"] = growth(e, n_c)
    grid["demand_growth"] = growth(i * n_p + p, n_c * n_p)
    return itc_potential(grid, round(horizon)).to_numpy()[cells]


def new_flow_baselines(
    cube: Cube, a: int, cells: np.ndarray, feats: pd.DataFrame, horizon: float, lags: int
) -> dict[str, np.ndarray]:
    """Baseline scores of bilateral entry candidates."""
    signals = new_flow_signals(cube, a, cells, feats, horizon, lags)
    first = ("persistence", "lagged_presence", "mass", "count_mass", "reverse_flow")
    out = {k: signals.pop(k) for k in first}
    # the ITC indicator reads the whole year's grid: a backtest baseline, not a stacking signal
    out["itc"] = itc_scores(cube, a, cells, horizon)
    return {**out, **signals}


def new_flow_signals(
    cube: Cube,
    a: int,
    cells: np.ndarray,
    feats: pd.DataFrame,
    horizon: float,
    lags: int,
    lagged: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The new-flow baselines that read only a cell's features and own history (not ``itc``).

    These can be computed for any product chunk, so the forecast can be stacked with them.
    ``lagged``: the cells' :func:`lagged_presence`, when computed beforehand (from the chunk
    that holds their history).
    """
    product = cube.products is not None
    positive_lags = sum(
        (feats[f"log_value_lag{k}"].notna()).to_numpy(dtype=float) for k in range(1, lags + 1)
    )
    if product:
        mass = feats["log_exporter_product"] + feats["log_importer_product"]
        counts = _log1p(feats["exporter_product_partners"]) + _log1p(
            feats["importer_product_partners"]
        )
        gravity = feats["gravity_log_fitted_product"]
    else:
        mass = feats["log_exporter_total"] + feats["log_importer_total"]
        counts = _log1p(feats["exporter_partners"]) + _log1p(feats["importer_partners"])
        gravity = feats["gravity_log_fitted"]
    out = {
        "persistence": np.asarray(positive_lags, dtype=float),
        "lagged_presence": (lagged_presence(cube, a, cells, horizon) if lagged is None else lagged),
        "mass": mass.to_numpy(dtype=float),
        "count_mass": np.asarray(counts, dtype=float),
        "reverse_flow": np.nan_to_num(_exp(feats["log_reverse"]).astype(float), nan=0.0),
        "gravity": _exp(gravity),
    }
    if "density" in feats.columns:
        out["density"] = feats["density"].to_numpy(dtype=float)
    return out


def level_baselines(
    cube: Cube, a: int, cells: np.ndarray, feats: pd.DataFrame, horizon: float
) -> dict[str, np.ndarray]:
    """Baseline predictions of the value at ``t0 + horizon`` of cells positive at ``t0``."""
    growth = np.exp(horizon * world_growth(cube, a))
    v0 = cube.values[a, cells]
    gravity = (
        feats["gravity_log_fitted_product"]
        if cube.products is not None
        else feats["gravity_log_fitted"]
    )
    return {
        "persistence": v0,
        "persistence_growth": v0 * growth,
        "itc": itc_scores(cube, a, cells, horizon),
        "gravity": _exp(gravity) * growth,
    }


def entry_baselines(feats: pd.DataFrame, lags: int) -> dict[str, np.ndarray]:
    """Baseline scores of exporter x product entry candidates (RCA < 1 at ``t0``)."""
    persistence = sum(
        (feats[f"rca_lag{k}"].fillna(0.0) >= 1).to_numpy(dtype=float) for k in range(1, lags + 1)
    )
    out = {
        "rca": feats["rca"].to_numpy(dtype=float),
        "persistence": np.asarray(persistence, dtype=float),
        "mass": np.nan_to_num(feats["log_value"].to_numpy(dtype=float), nan=-np.inf),
    }
    if "density" in feats.columns:
        out["density"] = feats["density"].to_numpy(dtype=float)
    return out
