"""Solver options of PPML: conjugate gradients for the fixed effects, and the IRLS stopping rule.

Oracles: statsmodels GLM-Poisson with explicit dummy columns (independent of our demeaning), and
our own fit at a much tighter IRLS tolerance (the stopping rule must not cost accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.exceptions import CollinearityWarning, OptionsError
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
from tests.estimation.test_oracle_statsmodels import COEF_RTOL, SE_RTOL, dummy_glm, small_panel

# fixest's stopping rule (relative deviance change 1e-8) against a fit stopped at 1e-13:
# IRLS converges quadratically in the coefficients, so they agree far below fixest's 1e-8 target
# (measured ~1e-14 here); SEs also depend on the last weights, measured ~1e-10.
STOPPING_COEF_RTOL = 1e-9
STOPPING_SE_RTOL = 1e-7


def gravity_panel(seed: int = 14, n_countries: int = 30, n_years: int = 8) -> pd.DataFrame:
    """Structural gravity with exporter-year, importer-year and pair effects (known truth 0.4)."""
    rng = np.random.default_rng(seed)
    ex, im, year = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(n_countries), np.arange(n_countries), np.arange(n_years), indexing="ij"
        )
    )
    keep = ex != im
    ex, im, year = ex[keep], im[keep], year[keep]
    size = rng.normal(0, 1.0, n_countries)
    pair = rng.normal(-1, 1.0, (n_countries, n_countries))
    entry = rng.integers(0, n_years + 3, (n_countries, n_countries))
    rta = (year >= entry[ex, im]).astype(float)
    mu = np.exp(6 + size[ex] + size[im] + 0.03 * year * size[ex] + pair[ex, im] + 0.4 * rta)
    trade = rng.poisson(mu) * rng.gamma(4.0, 0.25, mu.shape)
    return pd.DataFrame(
        {
            "exp_year": ex * 100 + year,
            "imp_year": im * 100 + year,
            "pair": ex * 1000 + im,
            "rta": rta,
            "trade": trade,
        }
    )


FORMULA = "trade ~ rta | exp_year + imp_year + pair"


@pytest.mark.parametrize("solver", ["cg", "auto"])
def test_conjugate_gradient_fit_matches_glm_with_dummies(solver: str) -> None:
    df = small_panel(seed=5)
    df["ey"] = df["exporter"] + "_" + df["year"].astype(str)
    df["iy"] = df["importer"] + "_" + df["year"].astype(str)
    options = PpmlOptions(irls=IrlsOptions(demean_solver=solver))
    res = Ppml(
        "trade ~ log(dist) + rta | exporter^year + importer^year",
        df,
        weights="w",
        vcov="iid",
        options=options,
    ).fit()
    glm = dummy_glm(df, ["ey", "iy"], weights=True, offset=False).fit(tol=1e-13)
    np.testing.assert_allclose(res.coef, glm.params[["log(dist)", "rta"]], rtol=COEF_RTOL)
    iid = res.with_vcov({"type": "iid", "ssc": "none"})
    np.testing.assert_allclose(iid.se, glm.bse[["log(dist)", "rta"]], rtol=SE_RTOL)
    np.testing.assert_allclose(res.deviance, glm.deviance, rtol=1e-9)


# a few pairs trade nothing in this draw: they are dropped (as fixest drops them) with a warning
@pytest.mark.filterwarnings("ignore::gravity.exceptions.SeparationWarning")
def test_fixest_stopping_rule_keeps_coefficient_accuracy() -> None:
    df = gravity_panel()
    default = Ppml(FORMULA, df, options=PpmlOptions(irls=IrlsOptions(tol=1e-8))).fit()
    tight = Ppml(
        FORMULA, df, options=PpmlOptions(irls=IrlsOptions(tol=1e-13, demean_tol=1e-12))
    ).fit()
    assert default.converged and tight.converged
    assert tight.iterations > default.iterations  # the tight fit really went further
    np.testing.assert_allclose(default.coef, tight.coef, rtol=STOPPING_COEF_RTOL)
    np.testing.assert_allclose(default.se, tight.se, rtol=STOPPING_SE_RTOL)
    # and the simulated truth is recovered (sampling error only)
    assert abs(default.coef["rta"] - 0.4) < 4 * default.se["rta"]


@pytest.mark.filterwarnings("ignore::gravity.exceptions.SeparationWarning")
def test_three_solvers_agree_on_a_three_way_panel() -> None:
    df = gravity_panel(seed=12)
    fits = {
        s: Ppml(FORMULA, df, options=PpmlOptions(irls=IrlsOptions(demean_solver=s))).fit()
        for s in ("ap", "cg", "auto")
    }
    for s in ("cg", "auto"):
        np.testing.assert_allclose(fits[s].coef, fits["ap"].coef, rtol=STOPPING_COEF_RTOL)
        np.testing.assert_allclose(fits[s].se, fits["ap"].se, rtol=STOPPING_SE_RTOL)


def test_unknown_solver_is_rejected_with_the_choices() -> None:
    with pytest.raises(OptionsError, match="demean_solver: Input should be 'auto', 'ap' or 'cg'"):
        IrlsOptions(demean_solver="lsqr")  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::gravity.exceptions.SeparationWarning")
def test_regressor_absorbed_by_fixed_effects_is_dropped_with_many_zeros() -> None:
    # 84% zero flows: 'rta' is absorbed by the fixed effects on this sample. Its residual must be
    # computed at full precision before the collinearity check; at the loose first-step demeaning
    # tolerance it passed for a regressor and the weighted Gram matrix turned singular later on.
    world = generate_world(SyntheticWorldOptions(n_countries=10, n_products=6, n_years=6))
    frame = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    sub = frame[(frame["product"].astype(str) == "0003") & frame["year"].between(2002, 2005)]
    formula = "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year"
    with pytest.warns(CollinearityWarning, match="'rta'"):
        res = Ppml(formula, sub).fit()
    assert res.converged and res.dropped_regressors == ("rta",)
    tight = PpmlOptions(irls=IrlsOptions(tol=1e-13, demean_tol=1e-12))
    with pytest.warns(CollinearityWarning, match="'rta'"):
        ref = Ppml(formula, sub, options=tight).fit()
    np.testing.assert_allclose(res.coef, ref.coef, rtol=STOPPING_COEF_RTOL)
    np.testing.assert_allclose(res.se, ref.se, rtol=STOPPING_SE_RTOL)
