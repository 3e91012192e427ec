"""Fitting the hurdle models in parallel changes no number.

The reference is the same forecast fitted one model after the other in the main thread
(``learner.workers: 1``, one OpenMP thread): the predictions, metrics and opportunity columns
must be equal exactly (no tolerance), with the fits in a pool of two threads and with two OpenMP
threads per learner. Spies check that the parallel path was really taken, so the comparison
cannot pass by running the serial code twice.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from gravity.potential.forecast import harness as harness_module
from gravity.potential.forecast.backtest import run_forecast_backtest
from gravity.potential.forecast.learner import FittedHurdle
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions
from gravity.potential.forecast.parallel import THREAD_PREFIX, fit_workers
from gravity.potential.forecast.potential import forecast_potential
from tests.potential.forecast.world import simulate

# Small trees keep each fit well under a second on the 2-core CI machine.
FAST = {"max_iter": 60, "min_samples_leaf": 20}
SERIAL = {**FAST, "workers": 1, "threads": 1}
PARALLEL = {
    "two fit threads": {**FAST, "workers": 2, "threads": 1},
    "two OpenMP threads": {**FAST, "workers": 1, "threads": 2},
}


@pytest.fixture()
def fit_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads each hurdle fit of the harness ran in."""
    seen: list[str] = []
    original = harness_module.fit_hurdle

    def spy(*args: object, **kwargs: object) -> FittedHurdle:
        seen.append(threading.current_thread().name)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(harness_module, "fit_hurdle", spy)
    return seen


def _check_path(name: str, seen: list[str]) -> None:
    pooled = [t for t in seen if t.startswith(THREAD_PREFIX)]
    if PARALLEL[name]["workers"] == 2:
        # every model but none at all was fitted in the pool
        assert len(pooled) >= 2, seen
    else:
        assert not pooled, seen


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return simulate(n=15, years=range(2002, 2013))


def _backtest_options(learner: dict[str, object]) -> ForecastOptions:
    return ForecastOptions(
        tasks=["new_flow", "level"],
        origins=[2008, 2010],
        horizons=[2],
        learner=learner,
        ease_terms=["log(dist)"],
    )


@pytest.fixture(scope="module")
def serial_backtest(world: pd.DataFrame):
    return run_forecast_backtest(world, _backtest_options(SERIAL))


@pytest.mark.parametrize("name", sorted(PARALLEL))
def test_backtest_identical_in_parallel(
    world: pd.DataFrame, serial_backtest, fit_threads: list[str], name: str
) -> None:
    result = run_forecast_backtest(world, _backtest_options(PARALLEL[name]))
    _check_path(name, fit_threads)
    pd.testing.assert_frame_equal(result.predictions, serial_backtest.predictions)
    pd.testing.assert_frame_equal(result.metrics, serial_backtest.metrics)
    assert result.notes == serial_backtest.notes


def test_potential_identical_in_parallel(world: pd.DataFrame, fit_threads: list[str]) -> None:
    # (the OpenMP threads are compared on the backtest: the same learners)
    name = "two fit threads"
    serial = forecast_potential(world, 2010, 2, ForecastOptions(learner=SERIAL)).frame
    fit_threads.clear()
    pooled = forecast_potential(world, 2010, 2, ForecastOptions(learner=PARALLEL[name])).frame
    _check_path(name, fit_threads)
    pd.testing.assert_frame_equal(pooled, serial)
    assert np.isfinite(serial["potential"]).all()


def test_workers_default_to_the_cores_per_learner_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gravity.potential.forecast import parallel

    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    assert fit_workers(LearnerOptions()) == 2
    # a user's OpenMP threads take the cores: one fit at a time, as before
    assert fit_workers(LearnerOptions(threads=2)) == 1
    # an explicit count is kept
    assert fit_workers(LearnerOptions(threads=2, workers=3)) == 3
    monkeypatch.setattr(parallel, "usable_cores", lambda: 64)
    assert fit_workers(LearnerOptions()) == parallel.MAX_DEFAULT_WORKERS
