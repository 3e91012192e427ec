"""Conjugate gradients on the fixed-effect normal equations, for graphs where projections crawl.

Alternating projections (:mod:`gravity.estimation.demean`) converge at a rate set by the
connectivity of the fixed-effect graph. On worker–firm style panels (many levels linked by few
"movers") that rate is close to one and thousands of sweeps are needed. Conjugate gradients on the
normal equations ``D' W D a = D' W x`` with the diagonal (Jacobi) preconditioner ``diag(D' W D)``,
i.e. each level's weight total, converge in about the square root as many steps: this is CGLS,
algebraically LSQR/LSMR on the column-scaled weighted dummies (Paige & Saunders 1982; Fong &
Saunders 2011), the solver FixedEffectModels.jl and pyfixest use for such graphs.

The iterate is kept as the residual ``r = x - D a`` itself (the coefficients ``a`` are never
needed), so the solver can start from any point of the form ``x - D a``: an alternating-projection
iterate that stalled, or the previous IRLS residuals. The system is singular (one redundant level
per extra dimension) but consistent, and CG converges to one of its solutions; the residual is
unique.

Stopping: ``s' M^-1 s <= tol^2 * sum(w x^2)`` with ``s = D' W r`` the normal-equation residual.
``s' M^-1 s = sum_g W_g * mean_g(r)^2`` is the weighted norm of the group means still left in
``r``, i.e. the size of the next projection step: the same scale as the alternating-projection
criterion.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _gather_scatter(
    r: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    s: np.ndarray,
    offsets: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``s = D' W r`` (one pass over the observations)."""
    s[:] = 0.0
    n_dims = codes.shape[0]
    for i in range(r.shape[0]):
        v = weights[i] * r[i]
        for q in range(n_dims):
            s[offsets[q] + codes[q, i]] += v


@numba.njit(cache=True, nogil=True)
def cg_column(
    r: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    threshold: float,
    maxiter: int,
) -> tuple[int, bool]:  # pragma: no cover - compiled
    """Replace ``r`` in place by its weighted residual on the fixed effects (Jacobi-CGLS).

    Parameters
    ----------
    r : numpy.ndarray
        Start value ``x - D a`` (any ``a``); overwritten with the residual.
    codes, weights, inv_wsum, offsets
        Kernel encoding of the fixed effects (see :func:`gravity.estimation.demean.demean`).
    threshold : float
        Stop when ``s' M^-1 s`` falls to this value (``tol**2 * sum(w x**2)``).
    maxiter : int
        Maximum CG steps (each costs two passes over the observations).

    Returns
    -------
    tuple
        Steps taken and whether the threshold was reached.
    """
    n = r.shape[0]
    n_dims = codes.shape[0]
    size = offsets[-1]
    s = np.empty(size)
    p = np.empty(size)
    _gather_scatter(r, codes, weights, s, offsets)
    gamma = 0.0
    for g in range(size):
        p[g] = s[g] * inv_wsum[g]
        gamma += s[g] * p[g]
    if gamma <= threshold:
        return 0, True
    for it in range(1, maxiter + 1):
        # delta = || W^1/2 D p ||^2
        delta = 0.0
        for i in range(n):
            v = 0.0
            for q in range(n_dims):
                v += p[offsets[q] + codes[q, i]]
            delta += weights[i] * v * v
        if not delta > 0.0:
            return it, gamma <= threshold
        step = gamma / delta
        # r -= step * D p, and s = D' W r recomputed from r (CGLS: keeps s consistent with r)
        s[:] = 0.0
        for i in range(n):
            v = 0.0
            for q in range(n_dims):
                v += p[offsets[q] + codes[q, i]]
            r[i] -= step * v
            wr = weights[i] * r[i]
            for q in range(n_dims):
                s[offsets[q] + codes[q, i]] += wr
        gamma_new = 0.0
        for g in range(size):
            gamma_new += s[g] * s[g] * inv_wsum[g]
        if gamma_new <= threshold:
            return it, True
        beta = gamma_new / gamma
        gamma = gamma_new
        for g in range(size):
            p[g] = s[g] * inv_wsum[g] + beta * p[g]
    return maxiter, False
