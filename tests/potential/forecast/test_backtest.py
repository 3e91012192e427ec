"""The forecast backtest on a simulated world with known truth: leakage, determinism, coverage,
the prediction-file contract and irregular years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from gravity.exceptions import OptionsError
from gravity.potential.forecast.backtest import PREDICTION_COLUMNS, run_forecast_backtest
from gravity.potential.forecast.learner import conformal_quantile
from gravity.potential.forecast.metrics import entry_metrics, level_metrics
from gravity.potential.forecast.options import ForecastOptions
from tests.potential.forecast.world import SIGMA, simulate, simulate_products

# Small trees keep each fit well under a second on the 2-core CI machine.
FAST = {"max_iter": 60, "min_samples_leaf": 20}
ORIGIN = 2008
KEYS = ["task", "exporter", "importer", "origin", "horizon", "model"]
# Coverage of 80% split-conformal intervals over ~2,500 simulated flows per horizon: the binomial
# sd is about 0.008 (0.014 per origin); 0.05 allows the finite-sample excess of the conformal rank
# (ceil((n+1) 0.8)/n) and the non-exchangeability of a random walk around a fitted median.
COVERAGE_TOL = 0.05
# The conformal half-width may not be narrower than the oracle's (z_0.9 sigma sqrt(h)) by more
# than sampling noise, nor much wider: the model's own error adds to the shocks.
HALF_WIDTH_RATIO = (0.9, 1.35)
Z_90 = 1.2815515655446004
# ROC-AUC the forecast may lose against the true entry index: ~700 candidates with ~40 entries
# (the AUC's own sampling sd is about 0.045), learned from ~265 earlier entries and ~45 features;
# measured gap 0.13 (forecast 0.72, truth 0.85, gravity alone 0.80)
ORACLE_AUC_GAP = 0.15
# ... and a coin flip scores 0.5
MIN_AUC = 0.65


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return simulate()


def _options(**extra: object) -> ForecastOptions:
    base: dict[str, object] = {
        "tasks": ["new_flow", "level"],
        "origins": [ORIGIN],
        "horizons": [2],
        "learner": FAST,
        "ease_terms": ["log(dist)"],
    }
    return ForecastOptions(**{**base, **extra})


@pytest.fixture(scope="module")
def result(world: pd.DataFrame):
    return run_forecast_backtest(world, _options())


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS, kind="stable").reset_index(drop=True)


def test_no_leakage_scrambling_after_the_origin_changes_outcomes_not_predictions(
    world: pd.DataFrame, result
) -> None:
    rng = np.random.default_rng(0)
    later = world["year"] > ORIGIN
    scrambled = world.copy()
    # every later year: values permuted across cells and rescaled, zeros included
    for year in sorted(world.loc[later, "year"].unique()):
        rows = np.flatnonzero((world["year"] == year).to_numpy())
        scrambled.loc[rows, "value"] = rng.permutation(world["value"].to_numpy()[rows]) * 3.0
    again = run_forecast_backtest(scrambled, _options())
    # the level forecasts checked are the default's: the fixed combination with the baselines
    assert any("level" in n and "fixed combination" in n for n in result.notes)
    a, b = _sorted(result.predictions), _sorted(again.predictions)
    pd.testing.assert_frame_equal(a[KEYS], b[KEYS])
    # the outcomes did change, so the test can see a difference where there is one
    assert not np.array_equal(a["actual"].to_numpy(), b["actual"].to_numpy())
    for column in ("score", "low", "high", "actual_origin", "observed_origin"):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)


def test_deterministic_with_the_seed(world: pd.DataFrame, result) -> None:
    again = run_forecast_backtest(world, _options())
    pd.testing.assert_frame_equal(result.predictions, again.predictions)
    pd.testing.assert_frame_equal(result.metrics, again.metrics)


def test_cached_models_give_the_same_predictions(world: pd.DataFrame, result, tmp_path) -> None:
    first = run_forecast_backtest(world, _options(cache_dir=tmp_path))
    stored = sorted(tmp_path.glob("forecast-*.joblib"))
    assert stored, "fitted models are cached"
    second = run_forecast_backtest(world, _options(cache_dir=tmp_path))
    assert sorted(tmp_path.glob("forecast-*.joblib")) == stored
    pd.testing.assert_frame_equal(first.predictions, result.predictions)
    pd.testing.assert_frame_equal(second.predictions, result.predictions)


def test_prediction_file_contract(world: pd.DataFrame, result) -> None:
    pred = result.predictions
    assert list(pred.columns) == [c for c in PREDICTION_COLUMNS if c != "product"]
    # one row per evaluated cell and model
    assert not pred.duplicated(["task", "exporter", "importer", "origin", "horizon", "model"]).any()
    sizes = pred.groupby(["task", "model"]).size()
    for task in ("new_flow", "level"):
        assert sizes[task].nunique() == 1, "every model scores the same cells"
    flows = pred[pred["task"] == "new_flow"]
    levels = pred[pred["task"] == "level"]
    assert (flows["actual_origin"] == 0).all() and (levels["actual_origin"] > 0).all()
    # outcomes are the world's values at origin + horizon
    truth = world.set_index(["exporter", "importer", "year"])["value"]
    idx = pd.MultiIndex.from_arrays([levels["exporter"], levels["importer"], levels["origin"] + 2])
    np.testing.assert_array_equal(levels["actual"].to_numpy(), truth.reindex(idx).to_numpy())
    assert levels.loc[levels["model"] == "forecast", ["low", "high"]].notna().all().all()
    # every metric is recomputable from the file
    fc = flows[flows["model"] == "forecast"]
    expected = average_precision_score((fc["actual"] > 0).astype(int), fc["score"])
    row = result.metrics.query(
        "task == 'new_flow' and model == 'forecast' and metric == 'auc_pr' and origin == '2008'"
    )
    assert row["value"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert set(result.metrics["origin"]) == {"2008", "mean"}


def test_implicit_zeros_are_candidates_flagged_unobserved(world: pd.DataFrame, result) -> None:
    # drop the zero rows of the origin year: those cells are still candidates, flagged unobserved
    sparse = world[~((world["year"] == ORIGIN) & (world["value"] == 0))]
    res = run_forecast_backtest(sparse, _options(tasks=["new_flow"]))
    fc = res.predictions[res.predictions["model"] == "forecast"]
    full = result.predictions.query("task == 'new_flow' and model == 'forecast'")
    assert full["observed_origin"].all()
    pd.testing.assert_frame_equal(
        fc[["exporter", "importer"]].reset_index(drop=True),
        full[["exporter", "importer"]].reset_index(drop=True),
    )
    assert not fc["observed_origin"].any()
    assert fc["observed_target"].all()


def test_the_forecast_ranks_new_flows_nearly_as_well_as_the_truth(
    world: pd.DataFrame, result
) -> None:
    fc = result.predictions.query("task == 'new_flow' and model == 'forecast'")
    truth = world[world["year"] == ORIGIN].set_index(["exporter", "importer"])["attract"]
    oracle = truth.reindex(pd.MultiIndex.from_frame(fc[["exporter", "importer"]])).to_numpy()
    label = (fc["actual"] > 0).to_numpy(dtype=int)
    assert label.sum() >= 30, "enough entries for a meaningful ranking"
    own, best = roc_auc_score(label, fc["score"]), roc_auc_score(label, oracle)
    # the true entry index ranks best; the forecast, which must learn it from masses, distance
    # and history, stays within ORACLE_AUC_GAP of it and far above a coin flip
    assert best - own <= ORACLE_AUC_GAP, (own, best)
    assert own >= MIN_AUC


def test_conformal_intervals_cover_at_the_nominal_rate_on_the_known_world() -> None:
    # 60 countries: ~2,500 evaluated flows per horizon over the three origins, the sample the
    # tolerance is sized for (the 30-country world has ~480, where one origin's calibration
    # quantile from ~160 residuals alone moves the mean coverage by about 0.02)
    opts = _options(tasks=["level"], origins=[2008, 2010, 2012], horizons=[1, 2])
    res = run_forecast_backtest(simulate(n=60), opts)
    metrics = res.metrics[res.metrics["origin"] == "mean"]
    for h in (1, 2):
        cover = metrics.query(f"horizon == {h} and model == 'forecast' and metric == 'coverage'")
        assert abs(cover["value"].iloc[0] - 0.8) <= COVERAGE_TOL, h
        width = metrics.query(f"horizon == {h} and model == 'forecast' and metric == 'width_log'")
        oracle = 2 * Z_90 * SIGMA * np.sqrt(h)
        ratio = width["value"].iloc[0] / oracle
        assert HALF_WIDTH_RATIO[0] <= ratio <= HALF_WIDTH_RATIO[1], (h, ratio)


def test_irregular_years_next_observed_year_for_product_entry() -> None:
    panel = simulate_products()
    opts = ForecastOptions(tasks=["new_product"], horizons=["next"], learner=FAST)
    res = run_forecast_backtest(panel, opts)
    pred = res.predictions
    assert set(pred["origin"]) == {1980} and set(pred["horizon"]) == {37}
    assert any("trained on 1962->1980" in note for note in res.notes)
    assert pred["importer"].isna().all()
    fc = pred[pred["model"] == "forecast"]
    assert (fc["actual_origin"] < 1).all()
    assert {"rca", "persistence", "mass"} <= set(pred["model"])
    assert "new_product, h = 37" in res.summary_markdown()


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    r = np.arange(1.0, 10.0)  # n = 9: rank ceil(10 * 0.8) = 8
    assert conformal_quantile(r, 0.8) == 8.0
    assert conformal_quantile(-r, 0.8) == 8.0
    assert conformal_quantile(r[:3], 0.8) == np.inf  # ceil(4 * 0.8) = 4 > 3
    assert np.isnan(conformal_quantile(np.array([]), 0.8))


def test_metrics_on_hand_computed_examples() -> None:
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.1, np.nan, 0.0])
    out = entry_metrics(labels, scores, [2])
    assert out["precision_at_2"] == 0.5 and out["recall_at_2"] == 0.5
    # NaN ranks last: order 0.9 (1), 0.8 (0), 0.1 (1), 0.0 (0), NaN (0) -> AP = (1 + 2/3) / 2
    assert out["auc_pr"] == pytest.approx((1 + 2 / 3) / 2)
    lev = level_metrics(
        np.array([np.e, 1.0, 0.0]),
        np.array([1.0, 1.0, 5.0]),
        np.array([0.5, 2.0, 1.0]),
        np.array([2.0, 3.0, 9.0]),
    )
    assert lev["median_abs_log_error"] == pytest.approx(0.5)
    assert lev["rmse_log"] == pytest.approx(np.sqrt(0.5))
    assert lev["coverage"] == 0.0 and lev["scored_share"] == pytest.approx(2 / 3)


def test_options_reject_bad_horizons() -> None:
    with pytest.raises(OptionsError, match="positive integer or 'next'"):
        ForecastOptions(horizons=[0])
    with pytest.raises(OptionsError, match="at least one horizon"):
        ForecastOptions(horizons=[])
