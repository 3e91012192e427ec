"""Conformal intervals by size band: each band covers at the nominal rate.

References: (1) residuals drawn with a known standard deviation per band, whose 80% half-width
is ``z_0.9 * sd``; (2) a simulated world with known truth where small flows move more than
large ones (``simulate(hetero=...)``): a pooled quantile then under-covers small flows and
over-covers large ones, banded quantiles cover each band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from gravity.potential.forecast.backtest import run_forecast_backtest
from gravity.potential.forecast.conformal import MIN_BAND_RESIDUALS, banded_width
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions
from tests.potential.forecast.world import simulate

LEVEL = 0.8
Z = norm.ppf(0.9)
# 3,000 residuals a band: the empirical 90% quantile of |N(0, s)| has a relative standard
# error of about 2.5%; 8% is over three of them
WIDTH_RTOL = 0.08
# about 1,000 evaluated cells per band: the coverage's standard error is 0.013
BAND_COVERAGE_TOL = 0.05
# the pooled quantile on the heteroscedastic world misses some band by more than this
# (measured: 0.68 on small flows, 0.90 on large ones)
POOLED_MISS = 0.08
HETERO = 0.6


def test_band_widths_match_the_known_spread_of_each_band() -> None:
    rng = np.random.default_rng(0)
    sds = np.array([0.6, 0.3, 0.15])
    values = np.exp(rng.uniform(0.0, 9.0, 9000))
    band = np.digitize(np.log(values), [3.0, 6.0])
    resid = rng.normal(0.0, 1.0, values.size) * sds[band]
    width = banded_width(resid, values, LEVEL, 3)
    np.testing.assert_allclose(width.edges, [3.0, 6.0], atol=0.2)
    np.testing.assert_allclose(width.widths, Z * sds, rtol=WIDTH_RTOL)
    # a cell is given the width of its band; cells without trade at the origin the pooled one
    q = width.half_width(np.array([np.exp(1.0), np.exp(8.0), 0.0]))
    assert q[0] == width.widths[0] and q[1] == width.widths[2] and q[2] == width.pooled


def test_too_few_residuals_fall_back_to_the_pooled_quantile() -> None:
    rng = np.random.default_rng(1)
    n = 3 * MIN_BAND_RESIDUALS - 1
    width = banded_width(rng.normal(size=n), np.exp(rng.normal(size=n)), LEVEL, 3)
    assert width.edges.size == 0
    assert (width.half_width(np.ones(5)) == width.pooled).all()


def _band_coverage(bands: int) -> pd.Series:
    world = simulate(n=80, years=range(2000, 2013), hetero=HETERO)
    opts = ForecastOptions(
        tasks=["level"],
        origins=[2008, 2010],
        horizons=[2],
        learner=LearnerOptions(max_iter=60, min_samples_leaf=20),
        ease_terms=["log(dist)"],
        interval_bands=bands,
    )
    fc = run_forecast_backtest(world, opts).predictions.query("model == 'forecast'")
    fc = fc[fc["actual"] > 0].copy()
    # terciles of the value at the origin among the evaluated cells
    fc["band"] = fc.groupby(["origin", "horizon"])["actual_origin"].transform(
        lambda v: pd.qcut(np.log(v), 3, labels=False)
    )
    inside = (fc["actual"] >= fc["low"]) & (fc["actual"] <= fc["high"])
    return inside.groupby([fc["horizon"], fc["band"]]).mean()


@pytest.mark.slow
def test_banded_intervals_cover_each_size_band_where_pooled_ones_do_not() -> None:
    banded = _band_coverage(3)
    assert (banded - LEVEL).abs().max() <= BAND_COVERAGE_TOL, banded
    pooled = _band_coverage(1)
    assert (pooled - LEVEL).abs().max() > POOLED_MISS, pooled
