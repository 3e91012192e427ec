"""Santos Silva & Tenreyro (2006), "The Log of Gravity", REStat 88(4), Table 3 (traditional
gravity, 136 countries, 1990): PPML on all 18,360 pairs and OLS of log trade on the 9,613 positive
ones, heteroskedasticity-robust standard errors, from the authors' log_of_gravity.dta."""

from __future__ import annotations

import warnings
from functools import cache

import pandas as pd
import pytest

from gravity.estimation.diagnostics import reset_test
from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from tests.conftest import shared_file

# Published to three decimals: half a unit of the last digit, plus 1e-4 for values that sit on
# a rounding boundary in our higher-precision output (e.g. 0.7325 published as 0.733).
PUBLISHED_ATOL = 6e-4

RHS = (
    "lypex + lypim + lyex + lyim + ldist + border + comlang + colony + landl_ex + landl_im"
    " + lremot_ex + lremot_im + comfrt_wto + open_wto"
)

# term: (PPML estimate, PPML se, OLS estimate, OLS se) — Table 3, columns PPML and OLS
TABLE_3 = {
    "lypex": (0.733, 0.027, 0.938, 0.012),
    "lypim": (0.741, 0.027, 0.798, 0.012),
    "lyex": (0.157, 0.053, 0.207, 0.017),
    "lyim": (0.135, 0.045, 0.106, 0.018),
    "ldist": (-0.784, 0.055, -1.166, 0.034),
    "border": (0.193, 0.104, 0.314, 0.127),
    "comlang": (0.746, 0.135, 0.678, 0.067),
    "colony": (0.025, 0.150, 0.397, 0.070),
    "landl_ex": (-0.863, 0.157, -0.062, 0.062),
    "landl_im": (-0.696, 0.141, -0.665, 0.061),
    "lremot_ex": (0.660, 0.134, 0.467, 0.079),
    "lremot_im": (0.562, 0.119, -0.205, 0.085),
    "comfrt_wto": (0.181, 0.088, 0.491, 0.097),
    "open_wto": (-0.107, 0.131, -0.170, 0.053),
}


@cache
def data() -> pd.DataFrame:
    return pd.read_stata(shared_file("santos_silva_tenreyro2006/log_of_gravity.dta"))


def test_ppml_column_of_table_3() -> None:
    res = Ppml("trade ~ " + RHS, data(), vcov="hetero").fit()
    assert res.nobs == 18_360
    for term, (coef, se, _, _) in TABLE_3.items():
        assert res.coef[term] == pytest.approx(coef, abs=PUBLISHED_ATOL), term
        assert res.se[term] == pytest.approx(se, abs=PUBLISHED_ATOL), term


def test_ols_column_of_table_3() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Ols("log(trade) ~ " + RHS, data(), vcov="hetero").fit()
    assert res.nobs == 9_613
    assert res.nobs_dropped["missing"] == 18_360 - 9_613  # log(0): the zeros OLS cannot use
    for term, (_, _, coef, se) in TABLE_3.items():
        assert res.coef[term] == pytest.approx(coef, abs=PUBLISHED_ATOL), term
        assert res.se[term] == pytest.approx(se, abs=PUBLISHED_ATOL), term


def test_reset_rejects_ols_not_ppml() -> None:
    # the paper's conclusion: the log-linear model fails RESET, PPML passes
    ppml = Ppml("trade ~ " + RHS, data(), vcov="hetero").fit()
    ols = Ols("log(trade) ~ " + RHS, data(), vcov="hetero").fit()
    assert reset_test(ols).p_value < 0.01
    assert reset_test(ppml).p_value > 0.05
