"""Poisson IRLS with fixed effects partialled out (Correia, Guimarães & Zylkin 2020).

Each iteration is a weighted least-squares fit of the working variable
``z = eta - offset + (y - mu) / mu`` on the regressors, with weights ``mu`` and the fixed effects
partialled out by :func:`gravity.estimation.demean.demean`. The new linear predictor is
``z - residual`` (fitted regressors plus fitted fixed effects) without ever forming the dummies.

Guards against the failures users of other packages report most:

- *blow-ups*: the linear predictor is capped so ``exp`` cannot overflow, and a step that raises
  the deviance or makes it non-finite is halved (up to ``max_halvings`` times);
- *silent non-convergence*: a :class:`~gravity.exceptions.ConvergenceWarning` names the step
  that failed, the last deviances and a likely cause;
- *stalling inner solves*: the demeaning tolerance starts loose and tightens as the deviance
  converges, every solve warm-starts from the previous residuals, and a non-converged inner
  solve is reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pydantic import Field
from scipy import linalg

from gravity._base import StrictModel
from gravity.estimation.demean import demean
from gravity.estimation.fixed_effects import FixedEffects
from gravity.exceptions import CollinearityWarning, ConvergenceWarning, EstimationError

# exp(+-700) is about 1e(+-304): the widest linear predictor that neither overflows nor
# underflows a double
ETA_CAP = 700.0
# a step may raise the relative deviance by this much before it is halved (rounding noise)
DEVIANCE_RISE_TOL = 1e-12
# the deviance is a sum of n terms of the size of the outcome: changes below this share of the
# total outcome are rounding noise (they matter when the fit is nearly saturated, deviance ~ 0,
# where the relative criterion alone would chase noise and step-halving would fail)
DEVIANCE_NOISE = 1e-11


class IrlsOptions(StrictModel):
    """Convergence settings of the PPML solver (fixest names in brackets)."""

    tol: float = Field(1e-10, gt=0.0, lt=1.0)
    """Stop when ``|dev - dev_old| / (0.1 + |dev|)`` falls below this [glm.tol; fixest uses 1e-8,
    we go two orders further because near the optimum it costs about one iteration]."""
    maxiter: int = Field(100, ge=1, le=100_000)
    """Maximum IRLS iterations [glm.iter]."""
    demean_tol: float = Field(1e-9, gt=0.0, lt=1.0)
    """Final relative tolerance of the fixed-effect demeaning [fixef.tol]."""
    demean_maxiter: int = Field(50_000, ge=1, le=100_000_000)
    """Maximum alternating-projection sweeps per column and IRLS iteration [fixef.iter]."""
    collinearity_tol: float = Field(1e-9, gt=0.0, lt=1.0)
    """A regressor whose demeaned weighted norm falls below this share of its own is dropped."""
    max_halvings: int = Field(30, ge=0, le=1_000)
    """Step-halving attempts before giving up on an iteration."""


@dataclass(frozen=True)
class IrlsOutput:
    """Raw solution of the IRLS problem on the estimation sample."""

    beta: np.ndarray
    kept_columns: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    X_demeaned: np.ndarray
    deviance: float
    iterations: int
    converged: bool
    deviance_path: tuple[float, ...]


def poisson_deviance(y: np.ndarray, mu: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Poisson deviance ``2 * sum(w * (y * log(y / mu) - (y - mu)))`` with ``0 * log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    if weights is not None:
        term = term * weights
    return float(2.0 * term.sum())


def select_columns(
    Xd: np.ndarray, X: np.ndarray, w: np.ndarray, tol: float
) -> tuple[np.ndarray, list[int]]:
    """Greedy rank check on the weighted Gram matrix: keep columns in order unless collinear."""
    k = Xd.shape[1]
    gram = (Xd * w[:, None]).T @ Xd
    own = np.einsum("ij,ij,i->j", X, X, w)
    kept: list[int] = []
    dropped: list[int] = []
    for j in range(k):
        if kept:
            sub = gram[np.ix_(kept, kept)]
            g = gram[kept, j]
            try:
                resid = gram[j, j] - g @ linalg.solve(sub, g, assume_a="pos")
            except linalg.LinAlgError:
                resid = 0.0
        else:
            resid = gram[j, j]
        if resid <= tol * max(own[j], 1e-300):
            dropped.append(j)
        else:
            kept.append(j)
    return np.array(kept, dtype=np.int64), dropped


def fit_poisson(
    y: np.ndarray,
    X: np.ndarray,
    fe: FixedEffects,
    names: tuple[str, ...],
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    options: IrlsOptions | None = None,
) -> IrlsOutput:
    """Solve the Poisson pseudo-likelihood with fixed effects by IRLS.

    Parameters
    ----------
    y : numpy.ndarray
        Non-negative outcome, separation already removed.
    X : numpy.ndarray
        ``n x k`` regressors (may have zero columns).
    fe : FixedEffects
        Fixed effects of the same rows (may be empty).
    names : tuple of str
        Regressor names, for warnings.
    weights, offset : numpy.ndarray, optional
        Observation weights and an offset added to the linear predictor.
    options : IrlsOptions, optional
        Convergence settings.

    Returns
    -------
    IrlsOutput
    """
    opts = options or IrlsOptions()
    n = y.shape[0]
    w0 = np.ones(n) if weights is None else weights
    off = np.zeros(n) if offset is None else offset
    if np.any(y < 0):
        raise EstimationError("PPML needs a non-negative outcome; found negative values")
    if float((w0 * y).sum()) <= 0:
        raise EstimationError("PPML needs some positive outcomes; every outcome is zero")
    # Start from mu = (y + mean(y)) / 2 (ppmlhdfe, fixest), a safe interior point
    mu = 0.5 * (y + np.average(y, weights=w0))
    eta = np.log(mu)
    k = X.shape[1]
    X_res = X.copy()
    z_prev = np.zeros(n)
    z_res = np.zeros(n)
    kept = np.arange(k)
    beta = np.zeros(0)
    dev = poisson_deviance(y, mu, w0)
    noise = DEVIANCE_NOISE * float(np.sum(w0 * y))
    path: list[float] = [dev]
    inner_tol = max(opts.demean_tol, 1e-4) if len(fe) else opts.demean_tol
    converged = False
    iteration = 0
    inner_ok = True
    for iteration in range(1, opts.maxiter + 1):
        w = w0 * mu
        z = eta - off + (y - mu) / mu
        start = np.column_stack([z - z_prev + z_res, X_res]) if len(fe) else np.column_stack([z, X])
        solved = demean(start, fe, w, tol=inner_tol, maxiter=opts.demean_maxiter)
        inner_ok = inner_ok and solved.converged
        res = solved.residuals
        z_prev, z_res, X_res = z, res[:, 0].copy(), np.ascontiguousarray(res[:, 1:])
        if iteration == 1 and k:
            kept, dropped = select_columns(X_res, X, w, opts.collinearity_tol)
            if dropped:
                warnings.warn(
                    "regressor(s) "
                    + ", ".join(repr(names[j]) for j in dropped)
                    + " dropped: collinear with other regressors or absorbed by the fixed effects",
                    CollinearityWarning,
                    stacklevel=3,
                )
        Xk = X_res[:, kept]
        if not (np.all(np.isfinite(z_res)) and np.all(np.isfinite(Xk))):
            raise EstimationError(
                f"IRLS iteration {iteration}: the working variables are not finite (fitted "
                f"values range {float(mu.min()):.3g} to {float(mu.max()):.3g}); the model is "
                "probably separated: keep separation.regressor on, or rescale the regressors"
            )
        if Xk.shape[1]:
            xw = Xk * w[:, None]
            try:
                beta_new = linalg.solve(xw.T @ Xk, xw.T @ z_res, assume_a="pos")
            except (linalg.LinAlgError, ValueError):
                raise EstimationError(
                    f"IRLS iteration {iteration}: the weighted regressors became collinear "
                    f"({', '.join(names[j] for j in kept)}); the model is probably separated "
                    "or a regressor barely varies in the sample: check the sample and the "
                    "regressors, or keep separation.regressor on"
                ) from None
            resid = z_res - Xk @ beta_new
        else:
            beta_new = np.zeros(0)
            resid = z_res
        # cap both ways: exp() must neither overflow nor underflow to an exact zero (0/0 in z)
        eta_new = np.clip(z - resid + off, -ETA_CAP, ETA_CAP)
        mu_new = np.exp(eta_new)
        dev_new = poisson_deviance(y, mu_new, w0)
        halvings = 0
        while (
            not np.isfinite(dev_new) or dev_new > dev * (1 + DEVIANCE_RISE_TOL) + noise
        ) and iteration > 1:
            halvings += 1
            if halvings > opts.max_halvings:
                raise EstimationError(
                    f"IRLS iteration {iteration}: the deviance could not be decreased after "
                    f"{opts.max_halvings} step halvings (last deviances {path[-3:]}); the model "
                    "is probably not identified: check for separation or extreme regressors"
                )
            eta_new = 0.5 * (eta_new + eta)
            beta_new = 0.5 * (beta_new + beta) if beta.shape == beta_new.shape else beta_new
            mu_new = np.exp(eta_new)
            dev_new = poisson_deviance(y, mu_new, w0)
        change = abs(dev_new - dev) / (0.1 + abs(dev_new))
        settled = change < opts.tol or abs(dev_new - dev) <= noise
        eta, mu, dev, beta = eta_new, mu_new, dev_new, beta_new
        path.append(dev)
        if settled and inner_tol <= opts.demean_tol * 1.0001:
            converged = True
            break
        if len(fe):
            inner_tol = max(opts.demean_tol, min(inner_tol, 0.1 * change))
            if settled or change < 10 * opts.tol:
                inner_tol = opts.demean_tol
    if not converged:
        tail = ", ".join(f"{d:.10g}" for d in path[-4:])
        cause = (
            "the fixed-effect demeaning did not converge (raise demean_maxiter)"
            if not inner_ok
            else "slow convergence: raise maxiter, or check for separation and extreme values"
        )
        warnings.warn(
            f"PPML did not converge in {opts.maxiter} IRLS iterations (last deviances {tail}); "
            f"likely cause: {cause}",
            ConvergenceWarning,
            stacklevel=3,
        )
    # final demeaned regressors at the converged weights, for the variance
    if len(fe) and k:
        final = demean(X_res, fe, w0 * mu, tol=opts.demean_tol, maxiter=opts.demean_maxiter)
        X_res = final.residuals.reshape(n, -1)
    elif k:
        X_res = X
    return IrlsOutput(
        beta=beta,
        kept_columns=kept,
        eta=eta,
        mu=mu,
        X_demeaned=np.ascontiguousarray(X_res[:, kept]),
        deviance=dev,
        iterations=iteration,
        converged=converged,
        deviance_path=tuple(path),
    )
