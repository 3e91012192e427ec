"""PPML and OLS results: named statistics, and clustering on any column named after the fit.

References: statsmodels GLM-Poisson and OLS with explicit dummy columns, clustered without small-
sample corrections (``use_correction=False`` with ``ssc: none``), as in
``test_oracle_statsmodels.py``; the degrees of freedom against a count by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from gravity.estimation.results import OlsResult, PpmlResult
from gravity.exceptions import EstimationError
from tests.estimation.test_oracle_statsmodels import dummy_glm, small_panel

# Both solvers converge to ~1e-10; standard errors inherit that plus the bread inversion.
SE_RTOL = 1e-6


def panel_with_region() -> pd.DataFrame:
    df = small_panel(seed=3)
    # a float-coded cluster variable that the formula never mentions: only the data hold it
    df["region"] = (df["importer"].str[1:].astype(int) % 3).astype(float)
    return df


def test_ppml_clusters_on_a_column_named_only_after_the_fit() -> None:
    df = panel_with_region()
    res = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    assert isinstance(res, PpmlResult)
    assert res.n_clusters == ()
    clustered = res.with_vcov({"type": "cluster", "by": ["region"], "ssc": "none"})
    glm = dummy_glm(df, ["exporter", "importer"], False, False).fit(
        tol=1e-13,
        cov_type="cluster",
        cov_kwds={"groups": df["region"].to_numpy(int), "use_correction": False},
    )
    np.testing.assert_allclose(clustered.se, glm.bse[["log(dist)", "rta"]], rtol=SE_RTOL)
    assert clustered.n_clusters == (3,)
    assert clustered.df_t == 2.0  # t with G - 1 degrees of freedom, as fixest


def test_ols_result_has_named_statistics_and_clusters_after_the_fit() -> None:
    df = panel_with_region()
    df = df[df["trade"] > 0].reset_index(drop=True)
    res = Ols("log(trade) ~ log(dist) + rta | exporter + importer", df).fit()
    assert isinstance(res, OlsResult)
    X = pd.concat(
        [
            pd.DataFrame({"log(dist)": np.log(df["dist"]), "rta": df["rta"].astype(float)}),
            pd.get_dummies(df["exporter"], dtype=float),
            pd.get_dummies(df["importer"], dtype=float).iloc[:, 1:],
        ],
        axis=1,
    )
    ref = sm.OLS(np.log(df["trade"]), X).fit()
    np.testing.assert_allclose(res.r2, ref.rsquared, rtol=1e-10)
    # coefficients + exporter levels + importer levels - 1 (one level shared by the two)
    k = 2 + df["exporter"].nunique() + df["importer"].nunique() - 1
    assert res.df_resid == len(df) - k == ref.df_resid
    clustered = res.with_vcov({"type": "cluster", "by": ["region"], "ssc": "none"})
    cl = sm.OLS(np.log(df["trade"]), X).fit(
        cov_type="cluster",
        cov_kwds={"groups": df["region"].to_numpy(int), "use_correction": False},
    )
    np.testing.assert_allclose(clustered.se, cl.bse[["log(dist)", "rta"]], rtol=SE_RTOL)


def test_clustering_on_a_column_not_in_the_data_names_what_is_there() -> None:
    res = Ppml("trade ~ log(dist) | exporter", small_panel()).fit()
    with pytest.raises(EstimationError, match=r"column\(s\) \['continent'\] not in the estimation"):
        res.with_vcov({"type": "cluster", "by": ["continent"]})


def test_p_values_and_intervals_equal_scipy_stats_to_the_bit() -> None:
    # results.py evaluates the normal and Student t tails with scipy.special (scipy.stats is slow
    # to import): the same functions scipy.stats calls, so the numbers must be identical
    from scipy import stats

    df = panel_with_region()
    ppml = Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit()
    ols = Ols("log(trade) ~ log(dist) + rta | exporter + importer", df[df["trade"] > 0]).fit()
    clustered = ols.with_vcov({"type": "cluster", "by": ["exporter"]})
    for res in (ppml, ols, clustered):
        z = np.abs(res.statistic.to_numpy())
        if np.isinf(res.df_t):
            p, crit = 2 * stats.norm.sf(z), stats.norm.ppf(0.975)
        else:
            assert res.df_t < 1e6  # the Student t branch is exercised
            p, crit = 2 * stats.t.sf(z, res.df_t), stats.t.ppf(0.975, res.df_t)
        np.testing.assert_array_equal(res.pvalues.to_numpy(), p)
        ci = res.conf_int(0.95)
        np.testing.assert_array_equal(ci["conf_low"].to_numpy(), (res.coef - crit * res.se))
