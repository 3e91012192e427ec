"""PPML with fixed effects against statsmodels GLM-Poisson with explicit dummy columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from gravity.estimation.ppml import Ppml
from gravity.exceptions import EstimationError

# Both solvers converge to ~1e-10 here; 1e-7 leaves room for their different stopping rules.
COEF_RTOL = 1e-7
# Standard errors inherit the coefficient error plus the bread inversion: same order.
SE_RTOL = 1e-6


def small_panel(seed: int = 7, n_countries: int = 9, n_years: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (i, j, t)
        for i in range(n_countries)
        for j in range(n_countries)
        for t in range(n_years)
        if i != j
    ]
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year"])
    df["exporter"] = "C" + df["exporter"].astype(str)
    df["importer"] = "C" + df["importer"].astype(str)
    df["dist"] = rng.uniform(100, 9000, len(df))
    df["rta"] = rng.integers(0, 2, len(df))
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    df["off"] = rng.normal(0, 0.3, len(df))
    ex = df["exporter"].str[1:].astype(int).to_numpy()
    im = df["importer"].str[1:].astype(int).to_numpy()
    eta = 3 + 0.2 * ex - 0.1 * im + 0.05 * df["year"] - 0.8 * np.log(df["dist"]) + 0.4 * df["rta"]
    # continuous positive flows with 10% zeros: no fixed-effect group is all zero
    df["trade"] = np.exp(eta) * rng.gamma(2.0, 0.5, len(df)) * (rng.uniform(size=len(df)) > 0.1)
    return df


def dummy_glm(df: pd.DataFrame, fe: list[str], weights: bool, offset: bool) -> sm.GLM:
    X = pd.DataFrame({"log(dist)": np.log(df["dist"]), "rta": df["rta"].astype(float)})
    first = pd.get_dummies(df[fe[0]], prefix=fe[0], dtype=float)
    second = pd.get_dummies(df[fe[1]], prefix=fe[1], dtype=float)
    # full rank: drop the importer C0 columns (one per year for importer^year, one otherwise)
    second = second.loc[:, [c for c in second.columns if not c.startswith(f"{fe[1]}_C0")]]
    design = pd.concat([X, first, second], axis=1)
    return sm.GLM(
        df["trade"],
        design,
        family=sm.families.Poisson(),
        freq_weights=df["w"] if weights else None,
        offset=df["off"] if offset else None,
    )


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("offset", [False, True])
def test_matches_glm_with_dummies(weights: bool, offset: bool) -> None:
    df = small_panel()
    df["ey"] = df["exporter"] + "_" + df["year"].astype(str)
    df["iy"] = df["importer"] + "_" + df["year"].astype(str)
    res = Ppml(
        "trade ~ log(dist) + rta | exporter^year + importer^year",
        df,
        weights="w" if weights else None,
        offset="off" if offset else None,
        vcov="iid",
    ).fit()
    glm = dummy_glm(df, ["ey", "iy"], weights, offset).fit(tol=1e-13)
    np.testing.assert_allclose(res.coef, glm.params[["log(dist)", "rta"]], rtol=COEF_RTOL)
    # iid without small-sample factors is the inverse Hessian, as statsmodels reports
    iid = res.with_vcov({"type": "iid", "ssc": "none"})
    np.testing.assert_allclose(iid.se, glm.bse[["log(dist)", "rta"]], rtol=SE_RTOL)
    # HC0 sandwich (no small-sample factor) equals statsmodels' HC0
    if not weights:
        hc0 = dummy_glm(df, ["ey", "iy"], weights, offset).fit(tol=1e-13, cov_type="HC0")
        robust = res.with_vcov({"type": "hetero", "ssc": "none"})
        np.testing.assert_allclose(robust.se, hc0.bse[["log(dist)", "rta"]], rtol=SE_RTOL)
    np.testing.assert_allclose(res.deviance, glm.deviance, rtol=1e-9)
    np.testing.assert_allclose(res.fitted, glm.fittedvalues, rtol=1e-6)


def test_one_way_cluster_matches_statsmodels_without_correction() -> None:
    df = small_panel(seed=3)
    res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    groups = pd.factorize(df["exporter"])[0]
    glm = dummy_glm(df, ["exporter", "importer"], False, False).fit(
        tol=1e-13, cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    clustered = res.with_vcov({"type": "cluster", "by": ["exporter"], "ssc": "none"})
    np.testing.assert_allclose(clustered.se, glm.bse[["log(dist)", "rta"]], rtol=SE_RTOL)


def test_with_vcov_returns_new_result_and_keeps_original() -> None:
    df = small_panel()
    res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    before = res.se.copy()
    other = res.with_vcov({"type": "cluster", "by": ["exporter", "importer"]})
    pd.testing.assert_series_equal(res.se, before)
    assert other.vcov_spec.type == "cluster"
    assert not np.allclose(other.se, before)
    with pytest.raises(Exception, match=r"frozen|cannot assign"):
        res.nobs = 3  # type: ignore[misc]


def test_predict_reproduces_fitted_and_handles_unseen_levels() -> None:
    df = small_panel()
    res = Ppml("trade ~ log(dist) + rta | exporter^year + importer^year", df).fit()
    pred = res.predict(df.iloc[res.sample])
    np.testing.assert_allclose(pred, res.fitted, rtol=1e-6)
    new = df.iloc[:3].copy()
    new["exporter"] = "NEW"
    with pytest.raises(EstimationError, match="not in the estimation sample"):
        res.predict(new)
    out = res.predict(new, unseen="nan")
    assert np.isnan(out).all()


def test_negative_outcome_and_bad_formula_are_clear_errors() -> None:
    df = small_panel()
    df.loc[0, "trade"] = -1.0
    with pytest.raises(EstimationError, match="non-negative outcome"):
        Ppml("trade ~ log(dist) | exporter", df).fit()
    with pytest.raises(EstimationError, match="did you mean 'dist'"):
        Ppml("trade ~ log(dst) | exporter", df)
    with pytest.raises(EstimationError, match="exactly one '~'"):
        Ppml("trade log(dist)", df)
    with pytest.raises(EstimationError, match="unknown function 'lg'"):
        Ppml("trade ~ lg(dist)", df)


def test_collinear_regressor_is_dropped_with_named_warning() -> None:
    from gravity.exceptions import CollinearityWarning

    df = small_panel()
    df["exporter_code"] = df["exporter"].str[1:].astype(float)
    with pytest.warns(CollinearityWarning, match="'exporter_code'"):
        res = Ppml("trade ~ log(dist) + exporter_code | exporter + importer", df).fit()
    assert res.dropped_regressors == ("exporter_code",)
    assert list(res.coef.index) == ["log(dist)"]


def test_arrays_api_matches_formula_api() -> None:
    df = small_panel()
    res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    arr = Ppml.from_arrays(
        df["trade"].to_numpy(),
        np.column_stack([np.log(df["dist"]), df["rta"]]),
        df[["exporter", "importer"]],
    ).fit()
    np.testing.assert_allclose(arr.coef.to_numpy(), res.coef.to_numpy(), rtol=1e-12)


def test_blow_up_guard_on_huge_values() -> None:
    # trade values in units of 1e12 with a strong regressor: exp() must not overflow
    df = small_panel()
    df["trade"] = df["trade"] * 1e12
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    base = Ppml("trade ~ log(dist) + rta | exporter + importer", small_panel()).fit()
    np.testing.assert_allclose(res.coef, base.coef, rtol=1e-7)
    assert res.converged


def test_nearly_saturated_fit_converges_instead_of_chasing_rounding_noise() -> None:
    # three-way effects on a thin random sample of a structural-gravity panel (the process of
    # benchmarks/run.py): most groups hold one or two rows, the deviance goes to ~0 and its
    # changes are rounding noise; the solver must stop there, not fail in step-halving
    rng = np.random.default_rng(1)
    n_c, n_t = 60, 10
    e, i, t = np.meshgrid(np.arange(n_c), np.arange(n_c), np.arange(n_t), indexing="ij")
    keep = e != i
    e, i, t = e[keep], i[keep], t[keep]
    size = rng.normal(0, 1.5, n_c)
    growth = rng.normal(0.02, 0.02, n_c)
    pair = rng.normal(-2, 1.0, (n_c, n_c))
    entry = np.where(rng.uniform(size=(n_c, n_c)) < 0.3, rng.integers(0, n_t, (n_c, n_c)), n_t + 1)
    rta = (t >= entry[e, i]).astype(float)
    mu = np.exp(size[e] + growth[e] * t + size[i] + pair[e, i] + 0.4 * rta + 12)
    trade = rng.poisson(mu / 1e4) * 1e4 * rng.gamma(4, 0.25, mu.shape)
    df = pd.DataFrame(
        {"ey": e * 1000 + t, "iy": i * 1000 + t, "pair": e * 10_000 + i, "rta": rta, "trade": trade}
    )
    sample = df.sample(n=3000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Ppml("trade ~ rta | ey + iy + pair", sample).fit()
    assert res.converged
    assert np.isfinite(res.deviance)
