"""Export potential: structure, adding-up, monotonicity, no leakage, ITC baseline, backtest."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
from gravity.potential.backtest import classification_metrics, run_backtest
from gravity.potential.features import relatedness_features
from gravity.potential.itc import itc_potential
from gravity.potential.model import fit_potential
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import OPPORTUNITY_COLUMNS, opportunities, rank_opportunities
from gravity.potential.scoring import score_opportunities

# PPML is scale-equivariant within a fixed-effect group: up to the IRLS tolerance
SCALE_RTOL = 1e-6


@cache
def world_panel() -> tuple[pd.DataFrame, dict[str, float]]:
    world = generate_world(SyntheticWorldOptions(n_countries=16, n_products=20, n_years=9, seed=3))
    panel = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"], how="left")
    for col in ("exporter", "importer", "product"):
        panel[col] = panel[col].astype(str)
    return panel, world.truth


def test_opportunity_table_has_contract_columns_and_ranks() -> None:
    panel, _ = world_panel()
    frame = opportunities(panel, PotentialOptions(horizon=2, window=3))
    assert list(frame.columns[: len(OPPORTUNITY_COLUMNS)]) == OPPORTUNITY_COLUMNS
    assert (frame["untapped"] >= 0).all()
    assert np.allclose(frame["untapped"], np.maximum(frame["potential"] - frame["actual"], 0))
    assert (frame["potential_low"] <= frame["potential"]).all()
    assert (frame["potential"] <= frame["potential_high"]).all()
    for _, block in frame.groupby("exporter"):
        assert sorted(block["rank"]) == list(range(1, len(block) + 1))
        assert block.sort_values("rank")["score"].is_monotonic_decreasing
    assert frame["year"].unique().tolist() == [int(panel["year"].max()) + 2]


def test_ease_fit_recovers_true_frictions() -> None:
    panel, truth = world_panel()
    res = fit_potential(panel, PotentialOptions(window=4, horizon=0))
    coef = res.ease_fit.coef
    se = res.ease_fit.se
    for term, key in (
        ("log(dist)", "beta_dist"),
        ("contig", "beta_contig"),
        ("comlang", "beta_lang"),
        ("rta", "beta_rta"),
    ):
        # correctly specified aggregate PPML: the truth within 4 robust standard errors
        assert abs(coef[term] - truth[key]) < 4 * se[term]


def test_potential_scales_with_the_value_unit() -> None:
    # PPML is scale-equivariant: all flows x c -> supply + demand + log c, same ease and growth
    panel, _ = world_panel()
    opts = PotentialOptions(window=3, horizon=2)
    base = fit_potential(panel, opts).frame
    scaled = fit_potential(panel.assign(value=panel["value"] * 1000.0), opts).frame
    np.testing.assert_allclose(scaled["potential"], base["potential"] * 1000.0, rtol=SCALE_RTOL)
    np.testing.assert_allclose(scaled["untapped"], base["untapped"] * 1000.0, rtol=SCALE_RTOL)
    np.testing.assert_allclose(
        scaled["realised_share"].fillna(-1), base["realised_share"].fillna(-1), rtol=SCALE_RTOL
    )


def test_fitted_flows_add_up_to_supply_and_demand_totals() -> None:
    # Fally (2015): with exporter x product and importer x product effects, PPML fitted values
    # add up to the observed totals of every identified group
    panel, _ = world_panel()
    res = fit_potential(panel, PotentialOptions(window=3, horizon=0))
    fit = res.product_fit
    assert fit is not None
    sample = res.frame.iloc[fit.sample].assign(fitted_in_sample=fit.fitted)
    for keys in (["exporter", "product"], ["importer", "product"]):
        totals = sample.groupby(keys)[["actual", "fitted_in_sample"]].sum()
        # convergence is measured in the mu-weighted norm, so tiny groups are looser in relative
        # terms: 1e-6 relative, or 1e-9 of world trade
        atol = 1e-9 * float(sample["actual"].sum())
        np.testing.assert_allclose(
            totals["fitted_in_sample"], totals["actual"], rtol=1e-6, atol=atol
        )


def test_no_future_data_leaks_into_training() -> None:
    panel, _ = world_panel()
    cutoff = int(panel["year"].max()) - 3
    opts = PotentialOptions(year=cutoff, window=3, horizon=3)
    features = relatedness_features()
    ranked = rank_opportunities(panel[panel["year"] <= cutoff], opts, features)
    honest = ranked.frame
    future = panel["year"] > cutoff
    scrambled = panel.copy()
    rng = np.random.default_rng(0)
    scrambled.loc[future, "value"] = rng.permutation(scrambled.loc[future, "value"].to_numpy())
    leaked = opportunities(scrambled, opts, features)
    pd.testing.assert_frame_equal(honest, leaked)
    # the relatedness features entered the score
    assert {"density", "market_relatedness", "similar_exporters"} <= set(honest.columns)
    assert "density" in ranked.components.feasibility


def test_feasibility_is_monotone_in_density() -> None:
    frame = pd.DataFrame(
        {
            "exporter": ["A"] * 5,
            "importer": list("BCDEF"),
            "untapped": [10.0] * 5,
            "density": [0.1, 0.2, 0.3, 0.4, 0.5],
            "demand_growth": [0.02] * 5,
        }
    )
    scored = score_opportunities(
        frame, {"untapped": 0.2, "feasibility": 0.6, "attractiveness": 0.2}
    )
    assert scored["feasibility"].is_monotonic_increasing
    assert scored.sort_values("density")["rank"].tolist() == [5, 4, 3, 2, 1]


def test_itc_baseline_reproduces_observed_pair_totals() -> None:
    # with zero growth, ITC's ease makes the predicted pair totals equal the observed ones
    panel, _ = world_panel()
    frame = fit_potential(panel, PotentialOptions(window=3, horizon=0)).frame
    frame = frame.assign(supply_growth=0.0, demand_growth=0.0)
    itc = itc_potential(frame, horizon=0)
    predicted = itc.groupby([frame["exporter"], frame["importer"]]).sum()
    observed = frame.groupby(["exporter", "importer"])["actual"].sum()
    np.testing.assert_allclose(predicted, observed, rtol=1e-9)


def test_aggregate_panel_without_products() -> None:
    panel, _ = world_panel()
    agg = panel.groupby(["exporter", "importer", "year"], as_index=False).agg(
        value=("value", "sum"),
        dist=("dist", "first"),
        contig=("contig", "first"),
        comlang=("comlang", "first"),
        rta=("rta", "first"),
    )
    frame = opportunities(agg, PotentialOptions(window=3, horizon=1))
    assert "product" not in frame.columns
    assert frame["potential"].gt(0).all()


def test_bad_inputs_are_clear_errors() -> None:
    panel, _ = world_panel()
    with pytest.raises(DataError, match="missing \\['value'\\]"):
        fit_potential(panel.drop(columns="value"))
    with pytest.raises(DataError, match=r"potential\.year 1900 is not in the panel"):
        fit_potential(panel, PotentialOptions(year=1900))
    with pytest.raises(DataError, match="ease term column\\(s\\) \\['distance'\\]"):
        fit_potential(panel, PotentialOptions(ease_terms=["log(distance)"]))
    with pytest.raises(ValueError, match="preset 'custom' needs 'weights"):
        PotentialOptions(preset="custom")


def test_classification_metrics_against_hand_computed_values() -> None:
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.05])
    out = classification_metrics(labels, scores, [2])
    # positives ranked 1st and 3rd: 5 of 6 positive-negative pairs ordered correctly
    assert out["roc_auc"] == pytest.approx(5 / 6)
    assert out["auc_pr"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert out["precision_at_2"] == pytest.approx(0.5)


# ranking_areas sums the same terms as scikit-learn in another order: agreement to rounding
AREA_RTOL = 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_areas_match_scikit_learn_with_ties(seed: int) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(seed)
    n = 5_000
    labels = (rng.random(n) < 0.1).astype(int)
    # rounded scores: many ties, within and across the two classes
    scores = np.round(rng.normal(size=n) + labels, 1 + seed)
    out = classification_metrics(labels, scores, [10])
    np.testing.assert_allclose(out["roc_auc"], roc_auc_score(labels, scores), rtol=AREA_RTOL)
    np.testing.assert_allclose(
        out["auc_pr"], average_precision_score(labels, scores), rtol=AREA_RTOL
    )


def test_backtest_runs_and_beats_persistence_on_new_flows() -> None:
    panel, _ = world_panel()
    result = run_backtest(
        panel, PotentialOptions(window=3), BacktestOptions(horizon=2, max_splits=2)
    )
    m = result.metrics
    assert set(m["target"]) == {"new_flow", "product_entry", "level"}
    assert list(m.columns) == ["target", "model", "metric", "value", "split"]
    auc = (
        m[(m["target"] == "new_flow") & (m["metric"] == "roc_auc")].groupby("model")["value"].mean()
    )
    # the structural model knows frictions and supply: it must beat the base-year value
    assert auc["gravity"] > auc["persistence"]
    assert "## new_flow" in result.summary_markdown()


def test_bootstrap_intervals_are_seeded_and_bracket_the_estimate() -> None:
    panel, _ = world_panel()
    opts = PotentialOptions(
        window=3, horizon=1, interval_method="bootstrap", bootstrap_draws=6, seed=7
    )
    first = fit_potential(panel, opts).frame
    again = fit_potential(panel, opts).frame
    pd.testing.assert_frame_equal(first, again)  # same seed, same intervals
    positive = first["potential"] > 0
    assert (first.loc[positive, "potential_low"] <= first.loc[positive, "potential"]).all()
    assert (first.loc[positive, "potential"] <= first.loc[positive, "potential_high"]).all()
    empirical = fit_potential(panel, opts.model_copy(update={"interval_method": "empirical"}))
    # same point estimates; the bootstrap reflects estimation error only, so it is narrower
    # than the empirical band, which also holds the flows' own noise
    np.testing.assert_allclose(first["potential"], empirical.frame["potential"])
    width_boot = np.log(first["potential_high"] / first["potential_low"])[positive].median()
    width_emp = np.log(empirical.frame["potential_high"] / empirical.frame["potential_low"])[
        positive
    ].median()
    assert 0 < width_boot < width_emp


def test_opportunities_read_only_the_window_so_the_backtest_may_drop_earlier_years() -> None:
    # run_backtest hands the gravity potential only the window's years (a speed-up): that is
    # exact only if nothing before the window enters the opportunity table
    panel, _ = world_panel()
    opts = PotentialOptions(window=3, horizon=2, year=int(panel["year"].max()) - 1)
    related = relatedness_features()
    t = opts.year
    train = panel[panel["year"] <= t]
    window = train[train["year"] > t - opts.window]
    assert window["year"].nunique() < train["year"].nunique()
    full = opportunities(train, opts, related)
    pd.testing.assert_frame_equal(opportunities(window, opts, related), full, check_exact=True)


def test_backtest_lookup_equals_a_left_merge_with_zeros() -> None:
    from gravity.potential.backtest import _lookup

    rng = np.random.default_rng(5)
    keys = ["exporter", "importer", "product"]
    cells = pd.MultiIndex.from_product([list("ABCD"), list("ABCDE"), ["01", "02", "03"]])
    table = cells.to_frame(index=False, name=keys).sample(frac=0.7, random_state=1)
    table["value"] = rng.random(len(table))
    # frame rows in another order, with cells absent from the table and labels it never has
    frame = cells.to_frame(index=False, name=keys).sample(frac=1.0, random_state=2)
    frame.loc[frame.index[:3], "product"] = "99"
    frame = frame.reset_index(drop=True)
    merged = frame.merge(table, on=keys, how="left")["value"].fillna(0.0).to_numpy()
    np.testing.assert_array_equal(_lookup(frame, table, keys), merged)


def test_backtest_splits_in_parallel_give_the_same_metrics() -> None:
    panel, _ = world_panel()
    potential = PotentialOptions(window=3)
    related = relatedness_features()
    serial = run_backtest(panel, potential, BacktestOptions(horizon=2, max_splits=2), related)
    parallel = run_backtest(
        panel, potential, BacktestOptions(horizon=2, max_splits=2, n_jobs=2), related
    )
    assert len(serial.splits) == 2
    pd.testing.assert_frame_equal(parallel.metrics, serial.metrics, check_exact=True)
