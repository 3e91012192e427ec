"""Fixed-effect estimates, multi-way clustering, RESET and regression tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from gravity.estimation.diagnostics import reset_test
from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from gravity.estimation.table import RegressionTable
from gravity.estimation.vcov import SmallSample, VcovInputs, VcovSpec, compute_vcov
from tests.estimation.test_oracle_statsmodels import small_panel

# fixed effects come from a sparse least-squares solve on the converged linear predictor
FE_ATOL = 1e-6


def test_fixed_effects_match_dummy_coefficients() -> None:
    df = small_panel(seed=11)
    res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    X = pd.DataFrame({"log(dist)": np.log(df["dist"]), "rta": df["rta"].astype(float)})
    dummies = pd.concat(
        [
            pd.get_dummies(df["exporter"], prefix="e", dtype=float),
            pd.get_dummies(df["importer"], prefix="i", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    glm = sm.GLM(df["trade"], pd.concat([X, dummies], axis=1), family=sm.families.Poisson())
    params = glm.fit(tol=1e-13).params
    fe = res.fixed_effects
    for level, value in fe["exporter"].items():
        assert value == pytest.approx(params[f"e_{level}"], abs=FE_ATOL)
    assert fe["importer"].iloc[0] == 0.0  # normalisation: first level of later dimensions
    for level, value in fe["importer"].iloc[1:].items():
        assert value == pytest.approx(params[f"i_{level}"], abs=FE_ATOL)


def brute_force_multiway(
    scores: np.ndarray, bread: np.ndarray, clusters: list[np.ndarray]
) -> np.ndarray:
    """Cameron-Gelbach-Miller by explicit loops over subsets and groups (no corrections)."""
    k = scores.shape[1]
    total = np.zeros((k, k))
    for size in range(1, len(clusters) + 1):
        for subset in itertools.combinations(clusters, size):
            keys = list(zip(*subset, strict=True))
            meat = np.zeros((k, k))
            for key in set(keys):
                rows = [i for i, kk in enumerate(keys) if kk == key]
                s = scores[rows].sum(axis=0)
                meat += np.outer(s, s)
            total += (-1) ** (size + 1) * meat
    return bread @ total @ bread


def test_three_way_clustering_equals_inclusion_exclusion() -> None:
    rng = np.random.default_rng(5)
    n = 300
    scores = rng.normal(size=(n, 2))
    bread = np.array([[2.0, 0.3], [0.3, 1.0]])
    clusters = [rng.integers(0, g, n) for g in (7, 11, 5)]
    spec = VcovSpec(
        type="cluster", by=("a", "b", "c"), ssc=SmallSample(adj=False, cluster_adj=False)
    )
    inputs = VcovInputs(bread=bread, scores=scores, dispersion=1.0, n_coef=2, fixed_effects=None)
    got = compute_vcov(spec, inputs, [(name, c) for name, c in zip("abc", clusters, strict=True)])
    expected = brute_force_multiway(scores, bread, clusters)
    # the estimator may clip negative eigenvalues; here the matrix is positive definite
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_min_cluster_adjustment_uses_smallest_g() -> None:
    rng = np.random.default_rng(6)
    n = 200
    scores = rng.normal(size=(n, 1))
    clusters = [("a", rng.integers(0, 4, n)), ("b", rng.integers(0, 9, n))]
    inputs = VcovInputs(
        bread=np.eye(1), scores=scores, dispersion=1.0, n_coef=1, fixed_effects=None
    )
    raw = compute_vcov(
        VcovSpec(type="cluster", by=("a", "b"), ssc=SmallSample(adj=False, cluster_adj=False)),
        inputs,
        clusters,
    )
    adjusted = compute_vcov(
        VcovSpec(type="cluster", by=("a", "b"), ssc=SmallSample(adj=False, cluster_adj=True)),
        inputs,
        clusters,
    )
    np.testing.assert_allclose(adjusted, raw * 4 / 3, rtol=1e-12)


def heteroskedastic_world(seed: int, n: int = 2000) -> pd.DataFrame:
    """E[y|x] = exp(1 + x1 + x2) with a log-normal error whose variance depends on x2.

    The log-linear model is then misspecified (E[log y|x] has a -var(x2)/2 term that is quadratic
    in x2) while the exponential mean is right: Santos Silva & Tenreyro's argument.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n) * 0.5
    x2 = rng.uniform(-1.5, 1.5, n)
    variance = 0.05 + 0.5 * x2**2
    error = np.exp(rng.normal(-variance / 2, np.sqrt(variance)))  # E[error | x] = 1
    return pd.DataFrame({"y": np.exp(1.0 + x1 + x2) * error, "x1": x1, "x2": x2})


def test_reset_size_and_power_in_a_simulated_world() -> None:
    replications = 20
    reject_ppml = reject_ols = 0
    for seed in range(replications):
        df = heteroskedastic_world(seed)
        ppml = Ppml("y ~ x1 + x2", df).fit()
        ols = Ols("log(y) ~ x1 + x2", df).fit()
        # PPML is consistent: the true slopes are within 4 standard errors
        assert np.all(np.abs(ppml.coef[["x1", "x2"]] - 1.0) < 4 * ppml.se[["x1", "x2"]])
        reject_ppml += reset_test(ppml).p_value < 0.05
        reject_ols += reset_test(ols).p_value < 0.05
    # power against the misspecified log-linear model; size near the nominal 5% for PPML
    # (P[>= 5 of 20 rejections] is 1.6% at a true size of 5%)
    assert reject_ols >= 18
    assert reject_ppml <= 4


def test_regression_table_renders_the_same_numbers_everywhere() -> None:
    df = small_panel(seed=2)
    ppml = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    ols = Ols("log(trade) ~ log(dist) + rta | exporter + importer", df).fit()
    table = RegressionTable.from_results([ppml, ols], ["PPML", "OLS"])
    coef = f"{ppml.coef['log(dist)']:.4f}"
    se = f"({ppml.se['log(dist)']:.4f})"
    assert table.coefficients.loc["log(dist)", "PPML"].startswith(coef)
    assert table.errors.loc["log(dist)", "PPML"] == se
    text, md, tex, html = table.to_text(), table.to_markdown(), table.to_latex(), table.to_html()
    for rendered in (text, md, html):
        assert coef in rendered and se in rendered
    assert coef in tex and "\\toprule" in tex and "log(dist)" in tex
    assert md.splitlines()[0] == "|  | PPML | OLS |"
    assert "<td>Observations</td>" in html
    assert f"{ols.nobs:,}" in text
    frame = table.to_frame()
    assert list(frame.columns) == ["PPML", "OLS"]
    assert frame.loc["Estimator"].tolist() == ["PPML", "OLS"]
