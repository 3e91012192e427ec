"""PPML and OLS against recorded R fixest output (see reference/PROVENANCE.md for provenance)."""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from gravity.exceptions import SeparationWarning
from tests.conftest import shared_file

# The contract: coefficients to 1e-6 relative, standard errors to 1e-4 relative.
COEF_RTOL = 1e-6
SE_RTOL = 1e-4
# fixest stops IRLS at |Δdev|/(0.1+|dev|) < 1e-8; deviance and log-likelihood agree to that order.
DEVIANCE_RTOL = 1e-6

VCOV_SPECS: dict[str, Any] = {
    "hetero": "hetero",
    "cluster_iso_o": {"type": "cluster", "by": ["iso_o"]},
    "cluster_iso_o_no_ssc": {
        "type": "cluster",
        "by": ["iso_o"],
        "ssc": {"adj": False, "cluster_adj": False},
    },
    "twoway_iso_o_iso_d": {"type": "cluster", "by": ["iso_o", "iso_d"]},
    "cluster_pair": {"type": "cluster", "by": ["exp^imp"]},
    "twoway_exp_imp": {"type": "cluster", "by": ["exp", "imp"]},
}


def reference(name: str) -> dict[str, Any]:
    path = shared_file("reference/fixest_reference.json")
    return dict(json.loads(path.read_text())[name])


@cache
def hmr() -> pd.DataFrame:
    return pd.read_csv(shared_file("gravity_hmr_cross_section/gravity_zeros.csv"))


@cache
def penppml() -> pd.DataFrame:
    frame = pd.read_parquet(shared_file("penppml_trade_dta/trade.parquet"))
    frame["rta"] = (frame["id"] > 0).astype(int)  # as in make_fixest_reference.R
    return frame


def check_against(result: Any, ref: dict[str, Any]) -> None:
    assert result.nobs == ref["nobs"]
    removed = sum(v for k, v in result.nobs_dropped.items())
    assert removed == ref["nobs_removed"]
    coef = pd.Series(ref["coef"])
    np.testing.assert_allclose(result.coef[coef.index], coef, rtol=COEF_RTOL)
    for vname, ses in ref["se"].items():
        se = pd.Series(ses)
        got = result.with_vcov(VCOV_SPECS[vname]).se[se.index]
        np.testing.assert_allclose(got, se, rtol=SE_RTOL, err_msg=vname)


def test_hmr_cross_section_with_fixed_effects() -> None:
    ref = reference("hmr_zeros_fe")
    res = Ppml("flow ~ log(distw) + contig + comlang_off + rta | iso_o + iso_d", hmr()).fit()
    check_against(res, ref)
    assert res.fixed_effect_sizes == ref["fixef_sizes"]
    np.testing.assert_allclose(res.deviance, ref["deviance"], rtol=DEVIANCE_RTOL)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=DEVIANCE_RTOL)
    assert res.converged


def test_hmr_cross_section_without_fixed_effects() -> None:
    ref = reference("hmr_zeros_nofe")
    formula = "flow ~ log(gdp_o) + log(gdp_d) + log(distw) + contig + comlang_off + rta"
    res = Ppml(formula, hmr()).fit()
    check_against(res, ref)
    np.testing.assert_allclose(res.deviance, ref["deviance"], rtol=DEVIANCE_RTOL)


def test_hmr_log_linear_ols_positive_flows() -> None:
    ref = reference("hmr_positive_ols_fe")
    data = hmr()
    res = Ols(
        "log(flow) ~ log(distw) + contig + comlang_off + rta | iso_o + iso_d",
        data[data["flow"] > 0],
    ).fit()
    check_against(res, ref)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=DEVIANCE_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["penppml_threeway", "penppml_threeway_provisions"])
def test_threeway_panel_with_separation(name: str) -> None:
    ref = reference(name)
    formula = ref["call"].split("(", 1)[1].split(",")[0]
    with pytest.warns(SeparationWarning, match="32192 observation"):
        res = Ppml(formula, penppml()).fit()
    check_against(res, ref)
    assert res.nobs_dropped["fe_zero"] == 32_192
    assert res.fixed_effect_sizes == ref["fixef_sizes"]
    np.testing.assert_allclose(res.deviance, ref["deviance"], rtol=DEVIANCE_RTOL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert res.converged


def test_fixest_walkthrough_eurostat_poisson() -> None:
    # fixest's introduction vignette ("fixest walkthrough"), first model:
    # fepois(Euros ~ log(dist_km) | Origin + Destination + Product + Year, trade), SEs clustered
    # by Origin: Estimate -1.52787, Std. Error 0.115678 (printed to 6 significant digits:
    # tolerances are half a unit of the last digit).
    data = pd.read_csv(shared_file("fixest_trade/trade.csv"))
    res = Ppml(
        "Euros ~ log(dist_km) | Origin + Destination + Product + Year",
        data,
        vcov={"type": "cluster", "by": ["Origin"]},
    ).fit()
    assert res.nobs == 38_325
    assert res.coef["log(dist_km)"] == pytest.approx(-1.52787, abs=5e-6)
    assert res.se["log(dist_km)"] == pytest.approx(0.115678, abs=5e-7)
    # clustered inference uses the t distribution with G - 1 = 14 degrees of freedom, as fixest
    assert res.df_t == 14
    t = res.coef["log(dist_km)"] / res.se["log(dist_km)"]
    assert res.pvalues["log(dist_km)"] == pytest.approx(2 * stats.t.sf(abs(t), 14), rel=1e-12)
