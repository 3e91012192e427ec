"""The forecast as export potential: expected value, entry probability, conformal interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions, LevelWeights
from gravity.potential.forecast.potential import forecast_potential
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import opportunities
from tests.potential.forecast.world import simulate

FAST = LearnerOptions(max_iter=60, min_samples_leaf=20)
BASE = 2010


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return simulate(n=20, years=range(2000, 2013))


def test_forecast_potential_is_probability_times_value_and_ignores_later_years(
    world: pd.DataFrame,
) -> None:
    opts = ForecastOptions(learner=FAST, ease_terms=["log(dist)"])
    full = forecast_potential(world, BASE, 2, opts).frame
    cut = forecast_potential(world[world["year"] <= BASE], BASE, 2, opts).frame
    pd.testing.assert_frame_equal(full, cut)
    # every off-diagonal pair of the world is forecast, traded at the base year or not
    assert len(full) == 20 * 19
    p = full["entry_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(full["potential"], p * full["expected_given_trade"], rtol=1e-12)
    assert (full["potential_low"] <= full["expected_given_trade"]).all()
    assert (full["expected_given_trade"] <= full["potential_high"]).all()


def test_forecast_potential_needs_a_horizon_between_panel_years(world: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"set potential\.horizon to a gap between panel years"):
        forecast_potential(world, 2001, 5, ForecastOptions(learner=FAST))


def test_opportunities_with_the_forecast_model(world: pd.DataFrame) -> None:
    opts = PotentialOptions(
        model="forecast", year=BASE, horizon=2, window=4, ease_terms=["log(dist)"]
    )
    frame = opportunities(world, opts)
    for column in ("entry_probability", "potential", "gravity_potential", "potential_low"):
        assert frame[column].notna().all(), column
    np.testing.assert_allclose(
        frame["untapped"], np.maximum(frame["potential"] - frame["actual"], 0.0)
    )
    # feasibility is the within-exporter rank of the entry probability
    rank = frame.groupby("exporter")["entry_probability"].rank(pct=True, method="average")
    np.testing.assert_allclose(frame["feasibility"], rank)


def test_potential_learner_settings_reach_the_forecast() -> None:
    learner = LearnerOptions(max_iter=17, threads=2)
    assert PotentialOptions(model="forecast", learner=learner).forecast_options().learner == learner
    weights = LevelWeights(model=0.5, persistence=0.0, persistence_growth=0.5)
    options = PotentialOptions(model="forecast", level_weights=weights).forecast_options()
    assert options.level_weights == weights
