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
from typing import Literal

import numba
import numpy as np
from pydantic import Field
from scipy import linalg

from gravity._base import StrictModel
from gravity.estimation.demean import AUTO_SWITCH_SWEEPS, project_rows
from gravity.estimation.fixed_effects import FixedEffects
from gravity.estimation.schur import SchurCache
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
# IRLS starts from mu = y + START_SHIFT * mean(y): near the saturated fit, which a gravity model
# with pair effects nearly reaches, and positive for zero flows. R's glm and fixest start from
# y + 0.1 in the outcome's units; the shift relative to the mean is the same idea, scale-free.
# It saves a third of the iterations against ppmlhdfe's (y + mean(y)) / 2 on the benchmark panels.
START_SHIFT = 0.01


class IrlsOptions(StrictModel):
    """Convergence settings of the PPML solver (fixest names in brackets)."""

    tol: float = Field(1e-10, gt=0.0, lt=1.0)
    """Stop when ``|dev - dev_old| / (0.1 + |dev|)`` falls below this [glm.tol; fixest uses 1e-8].
    IRLS is Newton's method, so at 1e-8 the coefficients are typically accurate to 1e-12 already;
    the fitted values of observations near separation converge more slowly (about 1e-6 at 1e-8),
    and export potential is built from them, hence the tighter default: one to three more
    iterations."""
    maxiter: int = Field(100, ge=1, le=100_000)
    """Maximum IRLS iterations [glm.iter]."""
    demean_tol: float = Field(1e-9, gt=0.0, lt=1.0)
    """Final relative tolerance of the fixed-effect demeaning [fixef.tol]."""
    demean_maxiter: int = Field(50_000, ge=1, le=100_000_000)
    """Maximum sweeps (or conjugate-gradient steps) per column and IRLS iteration [fixef.iter]."""
    demean_solver: Literal["auto", "ap", "cg"] = "auto"
    """Fixed-effect solver: alternating projections with Irons–Tuck acceleration (``ap``),
    preconditioned conjugate gradients on the normal equations (``cg``, for weakly
    connected graphs such as worker–firm panels), or ``auto``: projections, handing over to
    conjugate gradients when a solve takes more than ``demean_switch_after`` sweeps (and using
    them for the remaining IRLS steps)."""
    demean_switch_after: int = Field(default=AUTO_SWITCH_SWEEPS, ge=1, le=100_000_000)
    """Sweeps after which ``auto`` switches a slow solve to conjugate gradients."""
    demean_preconditioner: Literal["schur", "jacobi"] = "schur"
    """Preconditioner of the conjugate gradients: ``schur`` eliminates the fixed effect with the
    most levels exactly and factorises the sparse Schur complement of the others (a handful of
    steps per solve on weakly connected graphs; Jacobi when the factor would not fit in
    memory), ``jacobi`` divides by each level's weight total (the previous default)."""
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


# The IRLS loop is memory-bound: each step below is one fused pass over the observations instead
# of the five to ten temporary arrays the numpy expressions would allocate and traverse.


@numba.njit(cache=True, nogil=True)
def _working(
    y: np.ndarray,
    eta: np.ndarray,
    mu: np.ndarray,
    off: np.ndarray,
    w0: np.ndarray,
    w: np.ndarray,
    z: np.ndarray,
    z_start: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Weights ``w0 * mu``, working variable ``z`` and its warm start ``z - z_prev + z_res``.

    On entry ``z`` holds the previous working variable and ``z_start`` its residual.
    """
    for i in range(y.shape[0]):
        zi = eta[i] - off[i] + (y[i] - mu[i]) / mu[i]
        w[i] = w0[i] * mu[i]
        z_start[i] += zi - z[i]
        z[i] = zi


@numba.njit(cache=True, nogil=True)
def _deviance_term(
    yi: float, logyi: float, etai: float, mui: float
) -> float:  # pragma: no cover - compiled
    # y log(y / mu) = y (log y - eta): log y is computed once per fit, not once per step (the
    # rounding, ~1e-16 |log y| per term, stays far below the deviance noise floor)
    if yi > 0.0:
        return yi * (logyi - etai) - (yi - mui)
    return mui


@numba.njit(cache=True, nogil=True)
def _predict(
    z: np.ndarray,
    z_res: np.ndarray,
    xb: np.ndarray,
    off: np.ndarray,
    y: np.ndarray,
    logy: np.ndarray,
    w0: np.ndarray,
    eta_new: np.ndarray,
    mu_new: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """New linear predictor ``z - (z_res - X_res b) + offset`` (capped), its mean and deviance."""
    dev = 0.0
    for i in range(z.shape[0]):
        # cap both ways: exp() must neither overflow nor underflow to an exact zero (0/0 in z)
        e = min(max(z[i] - z_res[i] + xb[i] + off[i], -ETA_CAP), ETA_CAP)
        eta_new[i] = e
        m = np.exp(e)
        mu_new[i] = m
        dev += w0[i] * _deviance_term(y[i], logy[i], e, m)
    return 2.0 * dev


@numba.njit(cache=True, nogil=True)
def _halve(
    eta: np.ndarray,
    y: np.ndarray,
    logy: np.ndarray,
    w0: np.ndarray,
    eta_new: np.ndarray,
    mu_new: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """Step halving: ``eta_new`` moves half way back to ``eta``; returns the new deviance."""
    dev = 0.0
    for i in range(eta.shape[0]):
        e = 0.5 * (eta_new[i] + eta[i])
        eta_new[i] = e
        m = np.exp(e)
        mu_new[i] = m
        dev += w0[i] * _deviance_term(y[i], logy[i], e, m)
    return 2.0 * dev


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
    y = np.ascontiguousarray(y, dtype=np.float64)
    # no weights or offset: one value read n times (a zero-stride view), not two n-vectors of
    # ones and zeros; the kernels' arithmetic is the same, 1.0 * x and x + 0.0
    w0 = (
        np.broadcast_to(np.float64(1.0), (n,))
        if weights is None
        else np.ascontiguousarray(weights, dtype=np.float64)
    )
    off = (
        np.broadcast_to(np.float64(0.0), (n,))
        if offset is None
        else np.ascontiguousarray(offset, dtype=np.float64)
    )
    if np.any(y < 0):
        raise EstimationError("PPML needs a non-negative outcome; found negative values")
    if float((w0 * y).sum()) <= 0:
        raise EstimationError("PPML needs some positive outcomes; every outcome is zero")
    mu = y + START_SHIFT * np.average(y, weights=w0)
    eta = np.log(mu)
    with np.errstate(divide="ignore"):
        logy = np.log(y)  # -inf where y = 0, never read there
    k = X.shape[1]
    has_fe = len(fe) > 0
    # rows[0]: residual of the working variable; rows[1:]: demeaned regressors. Kept between
    # iterations as the warm start of the next solve and overwritten in place.
    rows = np.empty((k + 1, n))
    rows[0] = 0.0
    rows[1:] = X.T
    z = np.zeros(n)
    w = np.empty(n)
    eta_new = np.empty(n)
    mu_new = np.empty(n)
    kept = np.arange(k)
    beta = np.zeros(0)
    dev = poisson_deviance(y, mu, w0)
    noise = DEVIANCE_NOISE * float(np.sum(w0 * y))
    path: list[float] = [dev]
    inner_tol = max(opts.demean_tol, 1e-4) if has_fe else opts.demean_tol
    solver = opts.demean_solver
    # one factorisation per weight vector, shared by the solves at those weights
    cache = SchurCache()
    converged = False
    iteration = 0
    inner_ok = True
    for iteration in range(1, opts.maxiter + 1):
        if not has_fe:
            rows[0] = 0.0
            z[:] = 0.0
        _working(y, eta, mu, off, w0, w, z, rows[0])
        if has_fe:
            if iteration == 1 and k:
                # the collinearity check below needs the regressors' residuals at full precision:
                # a column absorbed by the fixed effects only shows as a residual of the size of
                # the tolerance, which at a loose one passes for a regressor
                _, ok, used_cg = project_rows(
                    rows[1:],
                    fe,
                    w,
                    opts.demean_tol,
                    opts.demean_maxiter,
                    solver,
                    opts.demean_switch_after,
                    opts.demean_preconditioner,
                    cache,
                )
                inner_ok = inner_ok and ok
                solver = "cg" if used_cg and solver == "auto" else solver
                todo = rows[:1]
            else:
                todo = rows
            _, ok, used_cg = project_rows(
                todo,
                fe,
                w,
                inner_tol,
                opts.demean_maxiter,
                solver,
                opts.demean_switch_after,
                opts.demean_preconditioner,
                cache,
            )
            inner_ok = inner_ok and ok
            # a graph on which projections crawled once crawls at every IRLS step
            solver = "cg" if used_cg and solver == "auto" else solver
        z_res = rows[0]
        if iteration == 1 and k:
            kept, dropped = select_columns(rows[1:].T, X, w, opts.collinearity_tol)
            if dropped:
                warnings.warn(
                    "regressor(s) "
                    + ", ".join(repr(names[j]) for j in dropped)
                    + " dropped: collinear with other regressors or absorbed by the fixed effects",
                    CollinearityWarning,
                    stacklevel=3,
                )
        # a view while no column was dropped (the usual case): a fancy index would copy k rows
        Xk = rows[1:] if kept.size == k else rows[1 + kept]
        if not (np.all(np.isfinite(z_res)) and np.all(np.isfinite(Xk))):
            raise EstimationError(
                f"IRLS iteration {iteration}: the working variables are not finite (fitted "
                f"values range {float(mu.min()):.3g} to {float(mu.max()):.3g}); the model is "
                "probably separated: keep separation.regressor on, or rescale the regressors"
            )
        if Xk.shape[0]:
            xw = Xk * w
            try:
                beta_new = linalg.solve(xw @ Xk.T, xw @ z_res, assume_a="pos")
                del xw  # (k, n): not held through the deviance pass below
            except (linalg.LinAlgError, ValueError):
                raise EstimationError(
                    f"IRLS iteration {iteration}: the weighted regressors became collinear "
                    f"({', '.join(names[j] for j in kept)}); the model is probably separated "
                    "or a regressor barely varies in the sample: check the sample and the "
                    "regressors, or keep separation.regressor on"
                ) from None
            xb = beta_new @ Xk
        else:
            beta_new = np.zeros(0)
            xb = np.zeros(n)
        dev_new = float(_predict(z, z_res, xb, off, y, logy, w0, eta_new, mu_new))
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
            beta_new = 0.5 * (beta_new + beta) if beta.shape == beta_new.shape else beta_new
            dev_new = float(_halve(eta, y, logy, w0, eta_new, mu_new))
        change = abs(dev_new - dev) / (0.1 + abs(dev_new))
        settled = change < opts.tol or abs(dev_new - dev) <= noise
        eta, eta_new = eta_new, eta
        mu, mu_new = mu_new, mu
        dev, beta = dev_new, beta_new
        path.append(dev)
        if settled and inner_tol <= opts.demean_tol * 1.0001:
            converged = True
            break
        if has_fe:
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
    X_res = rows[1:]
    if has_fe and k:
        project_rows(
            X_res,
            fe,
            w0 * mu,
            opts.demean_tol,
            opts.demean_maxiter,
            solver,
            opts.demean_switch_after,
            opts.demean_preconditioner,
            cache,
        )
    elif k:
        X_res = X.T
    return IrlsOutput(
        beta=beta,
        kept_columns=kept,
        eta=eta,
        mu=mu,
        X_demeaned=np.ascontiguousarray(X_res[kept].T),
        deviance=dev,
        iterations=iteration,
        converged=converged,
        deviance_path=tuple(path),
    )
