"""Combining the forecast with the best naive rule, chosen on out-of-time validation.

References: simulated validation sets where the answer is known (a model that is pure noise
next to an informative rule; a rule that is noise next to an informative model; level
corrections that are exact or pure noise), and on the simulated world the rule that the blend
must read only what is known at the origin (scrambling every later year leaves it unchanged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from gravity.exceptions import OptionsError
from gravity.potential.forecast.backtest import ForecastBacktest, run_forecast_backtest
from gravity.potential.forecast.blend import (
    MIN_SELECTION_EVENTS,
    Blend,
    _ranking,
    auc_pr_difference_interval,
    combine_equally,
    fit_entry_blend,
    fit_level_blend,
    fixed_level_blend,
    weighted_auc_pr,
)
from gravity.potential.forecast.learner import cross_fit_probability
from gravity.potential.forecast.metrics import entry_metrics
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions, LevelWeights
from tests.potential.forecast.world import simulate, simulate_products

# 4,000 validation cells with ~12% events: AUC-PR's sampling sd is about 0.01
AUC_TOL = 0.02
N = 4000


def _entry_world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=N)
    label = (rng.uniform(size=N) < 1 / (1 + np.exp(-(2.0 * signal - 3.0)))).astype(int)
    noise = 1 / (1 + np.exp(-rng.normal(size=N)))
    return signal, label, noise


def test_a_noise_model_is_stacked_into_the_rules_ranking() -> None:
    signal, label, noise = _entry_world(1)
    rules = {"rca": signal, "density": -signal + np.random.default_rng(2).normal(size=N)}
    blend = fit_entry_blend(noise, rules, label, seed=0, source="test")
    assert blend.signal == "rca"
    stacked = blend.probability(noise, signal)
    assert ((stacked > 0) & (stacked < 1)).all()
    rule_auc = entry_metrics(label, signal, [])["auc_pr"]
    noise_auc = entry_metrics(label, noise, [])["auc_pr"]
    assert entry_metrics(label, stacked, [])["auc_pr"] >= rule_auc - AUC_TOL
    assert rule_auc > noise_auc + 0.2  # the test can tell the two apart
    # pure noise in the model: the rule alone ranks best, and it keeps the rule's ranking
    assert blend.coef[1] == 0.0 and "alone" in blend.describe()
    np.testing.assert_array_equal(
        np.argsort(stacked, kind="stable"), np.argsort(signal, kind="stable")
    )


def test_an_informative_model_is_kept_when_the_rules_are_noise() -> None:
    signal, label, _ = _entry_world(3)
    model = 1 / (1 + np.exp(-(2.0 * signal - 3.0)))
    rules = {"rca": np.random.default_rng(4).normal(size=N)}
    blend = fit_entry_blend(model, rules, label, seed=0, source="test")
    got = blend.probability(model, rules["rca"])
    assert entry_metrics(label, got, [])["auc_pr"] >= (
        entry_metrics(label, model, [])["auc_pr"] - AUC_TOL
    )


def test_too_few_validation_events_leave_the_model_alone() -> None:
    label = np.zeros(100, dtype=int)
    label[:3] = 1
    blend = fit_entry_blend(np.full(100, 0.1), {"rca": np.arange(100.0)}, label, 0, "test")
    assert blend.signal is None and "too few" in blend.source
    p = np.linspace(0.01, 0.9, 5)
    np.testing.assert_array_equal(blend.probability(p, np.arange(5.0)), p)


FAST_LEARNER = {"max_iter": 60, "min_samples_leaf": 20}
# validation cells of the few-entries tests: about 25 entries, fewer than a stack needs
SMALL = 200

# the weighted average precision against scikit-learn's (the reference) with case weights: the
# same sums in another order, so only rounding separates them
AP_RTOL = 1e-12


def test_weighted_auc_pr_equals_scikit_learn_with_ties_and_weights() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        y = (rng.uniform(size=700) < 0.15).astype(float)
        score = np.round(rng.normal(size=700) + y, 1)  # many ties
        w = rng.integers(0, 4, 700).astype(float)
        want = average_precision_score(y, score, sample_weight=w)
        assert weighted_auc_pr(y, *_ranking(score), w) == pytest.approx(want, rel=AP_RTOL)
        ones = np.ones(700)
        assert weighted_auc_pr(y, *_ranking(score), ones) == pytest.approx(
            average_precision_score(y, score), rel=AP_RTOL
        )


def _two_views(seed: int, n: int, rate: float = -3.0) -> tuple[np.ndarray, ...]:
    """Outcomes driven by two independent signals; the model sees one, the rule the other."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    label = (rng.uniform(size=n) < 1 / (1 + np.exp(-(1.5 * x1 + 1.5 * x2 + rate)))).astype(int)
    model = 1 / (1 + np.exp(-(1.5 * x1 + rate)))
    return label, model, x2


def test_the_bootstrap_interval_tells_a_clear_winner_and_not_a_tie() -> None:
    signal, label, noise = _entry_world(8)
    lo, hi = auc_pr_difference_interval(label, signal, noise, seed=1)
    assert lo > 0  # the informative score against noise on 4,000 cells: decided
    assert (lo, hi) == auc_pr_difference_interval(label, signal, noise, seed=1)  # seeded
    # two equally informative, independent views of the outcome: the interval holds zero
    label, model, rule = _two_views(9, N)
    lo, hi = auc_pr_difference_interval(label, np.log(model / (1 - model)), rule, seed=1)
    assert lo < 0 < hi


def test_equal_weights_when_the_validation_cannot_choose() -> None:
    """Two views of the truth that validate alike: their equal-weight mean, which beats both.

    Known truth: the outcome's log-odds are ``1.5 x1 + 1.5 x2 - 3``; the model sees ``x1``, the
    rule ``x2``; the equal mean of the two is the true ranking.
    """
    label, model, rule = _two_views(10, SMALL)
    assert label.sum() < MIN_SELECTION_EVENTS  # a validation too small to fit a stack
    blend = fit_entry_blend(model, {"rca": rule}, label, seed=0, source="test")
    assert blend.combined and blend.signal == "rca" and "equal-weight" in blend.describe()
    got = blend.probability(model, rule)
    assert ((got > 0) & (got < 1)).all()
    # it ranks as the equal mean of the standardised log-odds and the standardised rule
    logit = np.log(model / (1 - model))
    mean = (logit - logit.mean()) / logit.std() + (rule - rule.mean()) / rule.std()
    b0, b1, b2 = blend.coef
    np.testing.assert_allclose(
        np.log(got / (1 - got)), b0 + b1 * logit.mean() + b2 * mean, rtol=1e-9, atol=1e-9
    )
    assert b2 > 0
    # on fresh cells of the same world it beats the model and the rule alone
    label, model, rule = _two_views(11, N)
    auc = entry_metrics(label, blend.probability(model, rule), [])["auc_pr"]
    assert auc > entry_metrics(label, model, [])["auc_pr"] + AUC_TOL
    assert auc > entry_metrics(label, rule, [])["auc_pr"] + AUC_TOL


def test_few_entries_and_a_clear_winner_use_the_winner_alone() -> None:
    signal, label, noise = _entry_world(14)
    signal, label, noise = signal[:SMALL], label[:SMALL], noise[:SMALL]
    assert 10 <= label.sum() < MIN_SELECTION_EVENTS
    blend = fit_entry_blend(noise, {"rca": signal}, label, seed=0, source="test")
    assert not blend.combined and blend.coef[1] == 0.0 and "bootstrap" in blend.source
    model = 1 / (1 + np.exp(-(2.0 * signal - 3.0)))
    rule = np.random.default_rng(15).normal(size=SMALL)
    kept = fit_entry_blend(model, {"rca": rule}, label, seed=0, source="test")
    assert kept.signal is None and "bootstrap" in kept.source


def test_cross_fitted_validation_never_selects() -> None:
    """Not out of time: combined even where the validation would pick the model or the rule."""
    signal, label, noise = _entry_world(12)
    rules = {"rca": signal}
    assert not fit_entry_blend(noise, rules, label, 0, "t").combined  # out of time: the rule
    blend = fit_entry_blend(noise, rules, label, 0, "t", out_of_time=False)
    assert blend.combined and blend.coef[1] > 0 and blend.coef[2] > 0


def test_a_combination_that_ranks_backwards_is_not_used() -> None:
    label, model, rule = _two_views(13, 400)
    assert combine_equally(np.full(400, 0.2), rule, label, 0) is None  # constant model
    coef = combine_equally(1 - model, -(rule - rule.mean()) / rule.std(), label, 0)
    assert coef is None  # both reversed: the mean ranks against the outcome


def test_level_blend_keeps_exact_corrections_and_drops_noise() -> None:
    rng = np.random.default_rng(5)
    anchor = rng.normal(10, 2, N)
    growth = np.full(N, 0.4)
    truth = rng.normal(0, 0.5, N)
    actual = np.exp(anchor + truth + rng.normal(0, 0.05, N))
    exact = fit_level_blend(anchor, growth, truth, actual, "t")
    assert (exact.shrink, exact.growth) == (1.0, 0.0)
    # the correction is noise and the outcome grew with the world: persistence x growth
    noise = rng.normal(0, 1.0, N)
    actual = np.exp(anchor + 0.4 + rng.normal(0, 0.05, N))
    grown = fit_level_blend(anchor, growth, noise, actual, "t")
    assert (grown.shrink, grown.growth) == (0.0, 1.0)
    # ... or stayed where it was: persistence
    actual = np.exp(anchor + rng.normal(0, 0.05, N))
    flat = fit_level_blend(anchor, growth, noise, actual, "t")
    assert (flat.shrink, flat.growth) == (0.0, 0.0)
    assert Blend(shrink=0.5, growth=1.0).log_ratio(np.array([2.0]), np.array([0.3]))[0] == 1.3


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return simulate(years=range(2000, 2012))


def _options(level_blend: bool = True) -> ForecastOptions:
    return ForecastOptions(
        tasks=["new_flow", "level"],
        origins=[2008, 2009],
        horizons=[1],
        learner={"max_iter": 40, "min_samples_leaf": 20},
        ease_terms=["log(dist)"],
        level_blend=level_blend,
    )


def test_the_level_blend_is_off_by_default(world: pd.DataFrame) -> None:
    """Default: levels are the fixed combination; new flows are still blended out of time."""
    assert ForecastOptions().level_blend is False
    res = run_forecast_backtest(
        world, _options(level_blend=False).model_copy(update={"origins": [2008]})
    )
    notes = [n for n in res.notes if ": blend " in n]
    level = [n for n in notes if n.startswith("level")]
    entry = [n for n in notes if n.startswith("new_flow")]
    assert level and all("fixed combination" in n for n in level)
    assert entry and all("2007->2008" in n for n in entry)
    # the level switch changes no new-flow forecast (the entry blend does not read it)
    on = run_forecast_backtest(world, _options().model_copy(update={"origins": [2008]}))
    keys = ["task", "exporter", "importer", "model"]
    off_new = res.predictions.query("task == 'new_flow' and model == 'forecast'")
    on_new = on.predictions.query("task == 'new_flow' and model == 'forecast'")
    np.testing.assert_array_equal(
        off_new.sort_values(keys)["score"].to_numpy(), on_new.sort_values(keys)["score"].to_numpy()
    )


def test_the_blend_is_chosen_out_of_time_and_reported(world: pd.DataFrame) -> None:
    res = run_forecast_backtest(world, _options())
    blends = [n for n in res.notes if ": blend " in n]
    # one per task, origin (and horizon), each on the previous origin's out-of-time forecasts
    assert len(blends) == 4
    assert all("2007->2008" in n for n in blends if "origin 2008" in n)
    # scrambling every year after 2008 leaves origin 2008's blended forecasts unchanged
    later = world["year"] > 2008
    rng = np.random.default_rng(0)
    scrambled = world.copy()
    scrambled.loc[later, "value"] = rng.permutation(world.loc[later, "value"].to_numpy())
    again = run_forecast_backtest(scrambled, _options().model_copy(update={"origins": [2008]}))
    keys = ["task", "exporter", "importer", "model"]
    a = res.predictions.query("origin == 2008 and model == 'forecast'").sort_values(keys)
    b = again.predictions.query("origin == 2008 and model == 'forecast'").sort_values(keys)
    np.testing.assert_array_equal(a["score"].to_numpy(), b["score"].to_numpy())


def test_cross_fitted_predictions_never_see_their_own_label() -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"x": rng.normal(size=600), "z": rng.normal(size=600)})
    label = (frame["x"] + rng.normal(size=600) > 1.0).to_numpy(dtype=int)
    opts = LearnerOptions(max_iter=20, min_samples_leaf=10)
    first = cross_fit_probability(frame, label, opts, seed=3, folds=5)
    np.testing.assert_array_equal(first, cross_fit_probability(frame, label, opts, 3, 5))
    # flipping one row's label changes every fold's model except the one that scores that row
    flipped = label.copy()
    flipped[0] = 1 - flipped[0]
    second = cross_fit_probability(frame, flipped, opts, seed=3, folds=5)
    assert second[0] == first[0]
    assert not np.array_equal(first, second)


def _assert_scrambling_leaves_the_forecast(
    panel: pd.DataFrame,
    opts: ForecastOptions,
    res: ForecastBacktest,
    later: pd.Series,
    seed: int,
) -> None:
    """Permuting the values of the ``later`` rows leaves every forecast score unchanged."""
    scrambled = panel.copy()
    scrambled.loc[later, "value"] = np.random.default_rng(seed).permutation(
        panel.loc[later, "value"].to_numpy()
    )
    again = run_forecast_backtest(scrambled, opts)
    keys = ["exporter", "product"]
    a = res.predictions.query("model == 'forecast'").sort_values(keys)["score"].to_numpy()
    b = again.predictions.query("model == 'forecast'").sort_values(keys)["score"].to_numpy()
    np.testing.assert_array_equal(a, b)


def test_one_training_pair_combines_without_reading_the_outcome_year() -> None:
    """Irregular years (1962, 1980, 2017): validation is cross-fitted, so never a selection.

    Scrambling the outcome year's values leaves the forecast at 1980 unchanged.
    """
    panel = simulate_products()
    opts = ForecastOptions(tasks=["new_product"], horizons=["next"], learner=FAST_LEARNER)
    res = run_forecast_backtest(panel, opts)
    notes = [n for n in res.notes if ": blend " in n]
    assert len(notes) == 1 and "equal-weight combination" in notes[0]
    assert "cross-fitted" in notes[0]
    _assert_scrambling_leaves_the_forecast(panel, opts, res, panel["year"] == 2017, seed=0)


def test_few_validation_entries_combine_without_reading_later_years() -> None:
    """A 12 x 15 product world (EU trade's size): origin 2004 validates on 2003 -> 2004 alone.

    Fewer than ``MIN_SELECTION_EVENTS`` entries there, so no selection; scrambling every year
    after 2004 leaves the forecast at 2004 unchanged.
    """
    panel = simulate_products(n=12, products=15, years=tuple(range(2000, 2007)))
    opts = ForecastOptions(
        tasks=["new_product"], origins=[2004], horizons=[1], learner=FAST_LEARNER
    )
    res = run_forecast_backtest(panel, opts)
    notes = [n for n in res.notes if ": blend " in n]
    assert len(notes) == 1 and "2003->2004" in notes[0]
    assert "equal-weight combination" in notes[0] or "(bootstrap)" in notes[0]
    _assert_scrambling_leaves_the_forecast(panel, opts, res, panel["year"] > 2004, seed=1)


# exp(mean of logs) against the product of cube roots: the same number up to rounding in exp/log
GEOMETRIC_RTOL = 1e-12
LEVEL_KEYS = ["exporter", "importer", "origin", "horizon"]


def test_fixed_level_weights_are_the_combination_in_logs() -> None:
    anchor, change, growth = np.array([2.0, 5.0]), np.array([0.6, -0.3]), np.array([0.3, 0.3])
    blend = fixed_level_blend(0.5, 0.25, 0.25)
    model, persistence, grown = anchor + change, anchor, anchor + growth
    expected = 0.5 * model + 0.25 * persistence + 0.25 * grown
    np.testing.assert_allclose(anchor + blend.log_ratio(change, growth), expected, rtol=0)
    alone = fixed_level_blend(1.0, 0.0, 0.0)
    np.testing.assert_array_equal(anchor + alone.log_ratio(change, growth), model)
    assert "persistence x 0.25" in blend.describe()
    with pytest.raises(OptionsError, match=r"add up to 0\.9; give model"):
        LevelWeights(model=0.5, persistence=0.2, persistence_growth=0.2)
    assert LevelWeights().model == LevelWeights().persistence == LevelWeights().persistence_growth


def test_the_default_level_forecast_is_the_equal_weight_geometric_mean(
    world: pd.DataFrame,
) -> None:
    """Reference: the model alone (``level_weights: {model: 1}``) and the two baselines of the
    same run: the default forecast must be their geometric mean, cell by cell, and its
    intervals must be centred on it (calibrated on the combination as issued)."""
    base = _options(level_blend=False).model_copy(update={"tasks": ["level"], "origins": [2009]})
    combined = run_forecast_backtest(world, base).predictions
    alone_opts = base.model_copy(
        update={"level_weights": LevelWeights(model=1, persistence=0, persistence_growth=0)}
    )
    alone = run_forecast_backtest(world, alone_opts).predictions

    def scores(frame: pd.DataFrame, model: str) -> pd.DataFrame:
        return frame[frame["model"] == model].sort_values(LEVEL_KEYS).reset_index(drop=True)

    f, m = scores(combined, "forecast"), scores(alone, "forecast")
    p, g = scores(combined, "persistence"), scores(combined, "persistence_growth")
    pd.testing.assert_frame_equal(f[LEVEL_KEYS], m[LEVEL_KEYS])
    expected = np.cbrt(m["score"].to_numpy() * p["score"].to_numpy() * g["score"].to_numpy())
    np.testing.assert_allclose(f["score"].to_numpy(), expected, rtol=GEOMETRIC_RTOL)
    # the combination moved the forecast (the test can fail), and the intervals moved with it
    assert not np.allclose(f["score"].to_numpy(), m["score"].to_numpy())
    centre = np.sqrt(f["low"].to_numpy() * f["high"].to_numpy())
    np.testing.assert_allclose(centre, f["score"].to_numpy(), rtol=GEOMETRIC_RTOL)
    assert not np.allclose(
        f["high"].to_numpy() / f["low"].to_numpy(), m["high"].to_numpy() / m["low"].to_numpy()
    )
