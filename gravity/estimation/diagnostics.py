"""Specification tests: RESET, as Santos Silva & Tenreyro (2006) use it to compare OLS and PPML.

RESET (Ramsey 1969) adds the squared fitted linear index to the model and tests that its
coefficient is zero. Santos Silva & Tenreyro report it for log-linear OLS and PPML to show that
the log-linear model is misspecified under heteroskedasticity while PPML passes. Here the index
includes the fixed effects, the model is refitted on the same sample with the same fixed effects
and variance estimate, and the test is a Wald (z for PPML, t for OLS) test of that coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ols import fit_ols_design
from gravity.estimation.ppml import PpmlOptions, SeparationOptions, finish_poisson
from gravity.estimation.results import FitResult
from gravity.exceptions import EstimationError

RESET_TERM = "reset(index^2)"


@dataclass(frozen=True)
class ResetTest:
    """Result of a RESET test."""

    statistic: float
    p_value: float
    coefficient: float
    std_error: float
    distribution: str

    def __str__(self) -> str:
        return (
            f"RESET: coefficient of the squared index {self.coefficient:.4g} "
            f"(se {self.std_error:.4g}), {self.distribution} = {self.statistic:.3f}, "
            f"p = {self.p_value:.4g}"
        )


def reset_test(result: FitResult) -> ResetTest:
    """RESET test of a fitted PPML or OLS model.

    Parameters
    ----------
    result : FitResult
        A fit from :class:`~gravity.estimation.ppml.Ppml` or :class:`~gravity.estimation.ols.Ols`.

    Returns
    -------
    ResetTest
        Wald statistic and p-value of the squared fitted index (including fixed effects), under
        the result's own variance estimate.
    """
    design = result._design
    index = np.log(result.fitted) if result.estimator == "ppml" else result.fitted
    if design.offset is not None:
        index = index - design.offset
    # centre and scale the added regressor: same test, better-conditioned normal equations
    centred = index - np.average(index)
    added = (centred / max(np.std(centred), 1e-300)) ** 2
    augmented = replace(
        design,
        X=np.column_stack([design.X, added]),
        names=(*design.names, RESET_TERM),
    )
    refit: FitResult
    if result.estimator == "ppml":
        refit = finish_poisson(
            augmented,
            result.vcov_spec,
            PpmlOptions(separation=SeparationOptions()),
            dict(result.nobs_dropped),
        )
    else:
        refit = fit_ols_design(augmented, result.vcov_spec, IrlsOptions())
    if RESET_TERM not in refit.coef.index:
        raise EstimationError("RESET: the squared index is collinear with the model's regressors")
    coef = float(refit.coef[RESET_TERM])
    se = float(refit.se[RESET_TERM])
    stat = coef / se
    if np.isinf(refit.df_t):
        # scipy.special: scipy.stats' norm.sf / t.sf to the bit, without importing scipy.stats
        return ResetTest(stat, float(2 * special.ndtr(-abs(stat))), coef, se, "z")
    return ResetTest(stat, float(2 * special.stdtr(refit.df_t, -abs(stat))), coef, se, "t")
