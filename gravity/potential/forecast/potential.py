"""Export potential from the hurdle forecast: entry probability, expected value, intervals.

For base year ``T`` and horizon ``h`` two hurdle models are trained on every earlier origin
(outcomes at or before ``T``): one on cells with no trade at the origin (``new_flow``) and one on
trading cells (``level``). For each cell at ``T``:

- ``entry_probability``: P(value > 0 at ``T + h``) (for a trading cell: that it still trades);
- ``expected_given_trade``: E[value | value > 0], from the log-ratio regressor;
- ``potential`` = probability x expected value given trade, in the data's currency;
- ``potential_low`` / ``potential_high``: the split-conformal interval of the value at ``T + h``
  given that the cell trades, at the ``interval`` level, calibrated on the out-of-time errors of
  the same model family at the latest earlier origin (separately for the two families).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.potential.features import RelatednessFn
from gravity.potential.forecast.cube import build_cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder
from gravity.potential.forecast.harness import TaskHarness, log_anchor
from gravity.potential.forecast.learner import conformal_quantile
from gravity.potential.forecast.options import ForecastOptions
from gravity.potential.grid import check_panel

# conformal residuals: a seeded sample of the earlier origin's cells is plenty for a quantile
CALIBRATION_CELLS = 50_000


@dataclass(frozen=True)
class ForecastPotential:
    """Per-cell forecast at the base year and how it was trained and calibrated."""

    frame: pd.DataFrame
    """exporter, importer, [product,] entry_probability, expected_given_trade, potential,
    potential_low, potential_high."""
    notes: tuple[str, ...]


def _half_width(harness: TaskHarness, a: int, horizon: int) -> tuple[float, str]:
    years = harness.cube.years
    for c in range(a - 1, -1, -1):
        hit = np.flatnonzero(years == years[c] + horizon)
        if not hit.size or hit[0] > a:
            continue
        model = harness.model(c)
        if model is None:
            continue
        ex = harness.examples(c, int(hit[0]), CALIBRATION_CELLS, salt=2)
        _, value = harness.predict(model, ex)
        ok = ex.actual > 0
        with np.errstate(divide="ignore"):
            resid = np.log(ex.actual[ok]) - np.log(value[ok])
        return conformal_quantile(resid, harness.options.interval), f"{years[c]}->{years[hit[0]]}"
    return float("nan"), "none"


def forecast_potential(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
) -> ForecastPotential:
    """Forecast every exporter x importer (x product) cell ``horizon`` years after ``base_year``.

    Parameters
    ----------
    panel : pandas.DataFrame
        Canonical panel (years after ``base_year`` are not read).
    base_year : int
        The origin; must be a panel year.
    horizon : int
        Years ahead; some earlier origin ``t`` must have ``t + horizon`` in the panel, at or
        before ``base_year``, to label training examples.
    options : ForecastOptions, optional
        Learner, lags, interval level, seed and cache.
    relatedness : callable, optional
        Relatedness measures of a year (product panels).

    Returns
    -------
    ForecastPotential
    """
    opts = (options or ForecastOptions()).model_copy(
        update={"horizons": [horizon], "max_eval_cells": None}
    )
    check_panel(panel)
    data = normalise_panel(panel[panel["year"] <= base_year])
    cube = build_cube(data, True, opts.min_flow)
    if base_year not in cube.years:
        raise DataError(f"potential.year {base_year} is not a year of the panel")
    a = cube.index_of(base_year)
    rel = relatedness if "product" in data.columns else None
    builder = FeatureBuilder(cube, data, opts.lags, opts.ease_terms, rel)
    frames = []
    notes = []
    for task in ("new_flow", "level"):
        harness = TaskHarness(task, cube, builder, opts, data, values=True)
        model = harness.model(a)
        if model is None:
            raise DataError(
                f"potential (model: forecast): no earlier year t with t + {horizon} <= "
                f"{base_year} in the panel (years {cube.years[0]}..{cube.years[-1]}), so there "
                "is nothing to train on; set potential.horizon to a gap between panel years"
            )
        cells = harness.candidates(a, active_only=False)
        feats = builder.bilateral(a, cells, float(horizon))
        anchor = log_anchor(cube, a, cells, feats)
        prob = model.probability(feats)
        value = np.exp(anchor + model.log_ratio(feats))
        q, source = _half_width(harness, a, horizon)
        notes.append(
            f"{task} cells: trained on {model.n_train:,} examples; interval calibrated on "
            f"{source} (half-width {q:.3f} log points)"
        )
        frame = pd.DataFrame(cube.keys(cells))
        frame["entry_probability"] = prob
        frame["expected_given_trade"] = value
        frame["potential"] = prob * value
        frame["potential_low"] = value * np.exp(-q)
        frame["potential_high"] = value * np.exp(q)
        frames.append(frame)
    return ForecastPotential(pd.concat(frames, ignore_index=True), tuple(notes))
