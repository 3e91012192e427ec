"""Log-linear OLS with the same formulas and demeaning core as PPML (the classic baseline).

Santos Silva & Tenreyro (2006) show that this estimator is inconsistent under heteroskedasticity
and cannot use zero flows; it is provided so that the comparison can be shown on the same data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from gravity._base import validate_options
from gravity.estimation.demean import demean
from gravity.estimation.design import Design, build_design
from gravity.estimation.fixed_effects import interaction_columns
from gravity.estimation.irls import IrlsOptions, select_columns
from gravity.estimation.results import OlsResult, vcov_matrix
from gravity.estimation.vcov import VcovInputs, VcovSpec, as_vcov_spec
from gravity.exceptions import CollinearityWarning, ConvergenceWarning, EstimationError


class Ols:
    """Least squares with high-dimensional fixed effects partialled out.

    Parameters
    ----------
    formula : str
        fixest-style formula, e.g. ``"log(value) ~ log(dist) | exporter^year + importer^year"``.
    data : pandas.DataFrame
        Estimation data; rows where the outcome or a regressor is missing or not finite (such
        as ``log(0)``) are dropped and counted as ``missing``.
    weights : str, optional
        Column of observation weights.
    offset : str, optional
        Column subtracted from the outcome before the fit (its coefficient is fixed at one), as
        ``fixest::feols(offset = ~ x)`` does; fitted values include it.
    vcov : VcovSpec, str or dict
        Variance estimate (``"hetero"`` by default).
    options : IrlsOptions, optional
        Only the demeaning and collinearity tolerances are used.
    cluster_columns : sequence of str
        Columns copied with the fit for later clustering (any other column of ``data`` is read
        from it when ``with_vcov`` names it).
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        weights: str | None = None,
        offset: str | None = None,
        vcov: VcovSpec | str | dict[str, Any] | None = None,
        options: IrlsOptions | Mapping[str, Any] | None = None,
        cluster_columns: Sequence[str] = (),
    ) -> None:
        self.vcov = as_vcov_spec(vcov)
        self.options = validate_options(IrlsOptions, options, "options")
        extra = [c for name in self.vcov.by for c in interaction_columns(name)]
        self.design = build_design(
            formula,
            data,
            weights=weights,
            offset=offset,
            keep_columns=(*extra, *cluster_columns),
        )

    def fit(self) -> OlsResult:
        """Estimate by least squares; returns a new frozen :class:`OlsResult`."""
        return fit_ols_design(self.design, self.vcov, self.options)


def fit_ols_design(d: Design, vcov: VcovSpec, options: IrlsOptions) -> OlsResult:
    """Least squares on a prepared design (shared by :class:`Ols` and the diagnostics)."""
    n = d.y.shape[0]
    w = np.ones(n) if d.weights is None else d.weights
    off = np.zeros(n) if d.offset is None else d.offset
    y = d.y - off
    solved = demean(
        np.column_stack([y, d.X]),
        d.fe,
        w,
        tol=options.demean_tol * 1e-2,
        maxiter=options.demean_maxiter,
    )
    if not solved.converged:
        warnings.warn(
            "fixed-effect demeaning did not converge; raise demean_maxiter",
            ConvergenceWarning,
            stacklevel=2,
        )
    yd, Xd = solved.residuals[:, 0], solved.residuals[:, 1:]
    kept, dropped = select_columns(Xd, d.X, w, options.collinearity_tol)
    if dropped:
        warnings.warn(
            "regressor(s) "
            + ", ".join(repr(d.names[j]) for j in dropped)
            + " dropped: collinear with other regressors or absorbed by the fixed effects",
            CollinearityWarning,
            stacklevel=2,
        )
    Xk = Xd[:, kept]
    names = tuple(d.names[j] for j in kept)
    if not names and len(d.fe) == 0:
        raise EstimationError("OLS needs a regressor, an intercept or fixed effects")
    xw = Xk * w[:, None]
    # a model of fixed effects only is allowed (its fitted values are the group structure)
    bread = linalg.inv(xw.T @ Xk) if names else np.zeros((0, 0))
    beta = bread @ (xw.T @ yd) if names else np.zeros(0)
    resid = yd - Xk @ beta
    rss = float(np.sum(w * resid**2))
    tss_within = float(np.sum(w * yd**2))
    ybar = np.average(y, weights=w)
    tss = float(np.sum(w * (y - ybar) ** 2))
    inputs = VcovInputs(
        bread=bread,
        scores=Xk * (w * resid)[:, None],
        dispersion=rss / (n - 1),
        n_coef=len(names),
        fixed_effects=d.fe if len(d.fe) else None,
    )
    matrix, n_clusters = vcov_matrix(vcov, inputs, d)
    loglik = -0.5 * n * (np.log(2 * np.pi) + np.log(rss / n) + 1)
    loglik_null = -0.5 * n * (np.log(2 * np.pi) + np.log(tss / n) + 1)
    fitted = d.y - resid  # the offset included
    coef = pd.Series(beta, index=pd.Index(names, name="term"), name="estimate")
    return OlsResult(
        formula=d.formula.text,
        coef=coef,
        vcov=pd.DataFrame(matrix, index=coef.index, columns=coef.index),
        vcov_spec=vcov,
        nobs=n,
        nobs_input=d.n_input,
        nobs_dropped=dict(d.dropped),
        iterations=solved.iterations,
        converged=solved.converged,
        deviance=rss,
        loglik=float(loglik),
        loglik_null=float(loglik_null),
        fitted=fitted,
        fixed_effect_names=d.fe.names,
        fixed_effect_sizes=dict(zip(d.fe.names, d.fe.n_levels, strict=True)),
        dropped_regressors=tuple(x for x in d.names if x not in names),
        _design=d,
        _vcov_inputs=inputs,
        _linear_fe=fitted - off - d.X[:, kept] @ beta,
        n_clusters=n_clusters,
        r2=1 - rss / tss if tss > 0 else float("nan"),
        r2_within=1 - rss / tss_within if tss_within > 0 else float("nan"),
    )
