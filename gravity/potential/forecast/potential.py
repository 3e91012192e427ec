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

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.forecast.fitted import fit_and_score
from gravity.potential.forecast.options import ForecastOptions


@dataclass(frozen=True)
class ForecastPotential:
    """Per-cell forecast at the base year and how it was trained and calibrated."""

    frame: pd.DataFrame
    """exporter, importer, [product,] entry_probability, expected_given_trade, potential,
    potential_low, potential_high."""
    notes: tuple[str, ...]


def forecast_potential(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
    shared: dict[int, RelatednessFeatures] | None = None,
    exporters: Iterable[str] | None = None,
    importers: Iterable[str] | None = None,
) -> ForecastPotential:
    """Forecast every exporter x importer (x product) cell ``horizon`` years after ``base_year``.

    :func:`~.fitted.fit_forecast` on the panel, then :meth:`~.fitted.ForecastModel.score` of the
    whole panel (product chunks give the same numbers).

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
    shared : dict, optional
        Relatedness features already computed, by year (so the base year's is not computed
        twice).
    exporters, importers : iterable of str, optional
        Score only these exporters (importers); every cell when omitted.

    Returns
    -------
    ForecastPotential
    """
    model, frame = fit_and_score(
        panel, base_year, horizon, options, relatedness, shared, exporters, importers
    )
    return ForecastPotential(frame, model.notes)
