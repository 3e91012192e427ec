"""Partialling out fixed effects: weighted alternating projections with Irons–Tuck acceleration.

The residual ``r = x - P x`` of a column ``x`` on the span of the fixed-effect dummies is the fixed
point of one sweep ``T(r) = r - mean_Q(... r - mean_1(r))`` (weighted group means, one dimension
after another). Plain sweeps converge linearly and can crawl on large, weakly connected panels, so
every third sweep is replaced by the Irons–Tuck extrapolation of the last two steps, as in fixest
and ppmlhdfe (Correia, Guimarães & Zylkin 2020). Because every iterate is ``x`` minus an element of
the fixed-effect span, any start of that form converges to the same residual: IRLS warm-starts from
the previous iteration's residuals.

Two implementations sit behind :func:`demean`: a compiled numba kernel (default) and a plain numpy
one (:func:`demean_numpy`) kept as the test oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from gravity.estimation.fixed_effects import FixedEffects

DEFAULT_TOL = 1e-8
# largest Irons-Tuck step accepted; beyond it the sweep is taken plain (guards against overflow)
MAX_EXTRAPOLATION = 1e4
DEFAULT_MAXITER = 10_000


@dataclass(frozen=True)
class DemeanResult:
    """Residuals of each column on the fixed effects, with convergence diagnostics."""

    residuals: np.ndarray
    iterations: int
    converged: bool


def _group_weights(fe: FixedEffects, weights: np.ndarray) -> list[np.ndarray]:
    inv = []
    for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
        total = np.bincount(code, weights=weights, minlength=n_lev)
        with np.errstate(divide="ignore"):
            inv.append(np.where(total > 0, 1.0 / total, 0.0))
    return inv


@numba.njit(cache=True, nogil=True)
def _sweep(
    r: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    acc: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One pass of weighted group-mean removal over every dimension, in place.

    Removing dimension q's means and summing for dimension q + 1 share one pass over the data
    (Q + 1 passes per sweep instead of 2Q: the loop is memory-bound).
    """
    n_dims = codes.shape[0]
    n = r.shape[0]
    for g in range(offsets[0], offsets[1]):
        acc[g] = 0.0
    for i in range(n):
        acc[codes[0, i]] += weights[i] * r[i]
    for g in range(offsets[0], offsets[1]):
        acc[g] *= inv_wsum[g]
    for q in range(n_dims - 1):
        start = offsets[q]
        nxt = offsets[q + 1]
        for g in range(nxt, offsets[q + 2]):
            acc[g] = 0.0
        for i in range(n):
            r[i] -= acc[start + codes[q, i]]
            acc[nxt + codes[q + 1, i]] += weights[i] * r[i]
        for g in range(nxt, offsets[q + 2]):
            acc[g] *= inv_wsum[g]
    last = offsets[n_dims - 1]
    for i in range(n):
        r[i] -= acc[last + codes[n_dims - 1, i]]


@numba.njit(cache=True, nogil=True)
def _demean_column(
    x: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, int, bool]:  # pragma: no cover - compiled
    n = x.shape[0]
    acc = np.empty(offsets[-1])
    r0 = x.copy()
    if codes.shape[0] == 1:
        _sweep(r0, codes, weights, inv_wsum, offsets, acc)
        return r0, 1, True
    # weighted criterion: the WLS solution depends on the residuals through sum(w * r * x), so
    # precision is measured in the weighted norm (an unweighted max would be ruled by
    # observations with tiny weights and huge working values)
    scale = 0.0
    for i in range(n):
        scale += weights[i] * x[i] * x[i]
    threshold = tol * tol * max(scale, 1e-300)
    r1 = r0.copy()
    r2 = r0.copy()
    it = 0
    while it < maxiter:
        r1[:] = r0
        _sweep(r1, codes, weights, inv_wsum, offsets, acc)
        r2[:] = r1
        _sweep(r2, codes, weights, inv_wsum, offsets, acc)
        it += 2
        change = 0.0
        for i in range(n):
            d = r2[i] - r1[i]
            change += weights[i] * d * d
        if change <= threshold:
            return r2, it, True
        # Irons–Tuck extrapolation from r0 -> r1 -> r2
        num = 0.0
        den = 0.0
        for i in range(n):
            d2 = r2[i] - r1[i]
            dd = d2 - (r1[i] - r0[i])
            num += d2 * dd
            den += dd * dd
        coef = num / den if den > 0.0 else 0.0
        # a wild step (ill-conditioned weights: ratios of 1e4 and more) would overflow: skip it
        accepted = False
        if den > 0.0 and np.isfinite(coef) and abs(coef) < MAX_EXTRAPOLATION:
            norm = 0.0
            for i in range(n):
                r0[i] = r2[i] - coef * (r2[i] - r1[i])
                norm += weights[i] * r0[i] * r0[i]
            # the residual projection never grows the weighted norm: an extrapolated point
            # that does is a numerical artefact of ill-conditioning, so fall back to the sweep
            accepted = np.isfinite(norm) and norm <= scale * (1.0 + 1e-8)
        if not accepted:
            r0[:] = r2
        _sweep(r0, codes, weights, inv_wsum, offsets, acc)
        it += 1
    return r0, it, False


@numba.njit(cache=True, parallel=False, nogil=True)
def _demean_matrix(
    x: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, int, bool]:  # pragma: no cover - compiled
    out = np.empty_like(x)
    worst = 0
    ok = True
    for j in range(x.shape[1]):
        col, it, conv = _demean_column(
            np.ascontiguousarray(x[:, j]), codes, weights, inv_wsum, offsets, tol, maxiter
        )
        out[:, j] = col
        worst = max(worst, it)
        ok = ok and conv
    return out, worst, ok


def demean(
    x: np.ndarray,
    fe: FixedEffects,
    weights: np.ndarray | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> DemeanResult:
    """Residuals of the columns of ``x`` on the fixed effects (weighted least squares).

    Parameters
    ----------
    x : numpy.ndarray
        ``(n,)`` or ``(n, k)`` array. A start value of the form ``x - s`` with ``s`` in the
        fixed-effect span (e.g. the previous IRLS residuals) gives the same answer faster.
    fe : FixedEffects
        Encoded fixed effects of the same ``n`` observations.
    weights : numpy.ndarray, optional
        Positive observation weights; ones when omitted.
    tol : float
        Stop when one sweep changes the column by less than ``tol`` times its size, both in the
        weighted norm ``sqrt(sum(w * v**2))``.
    maxiter : int
        Maximum number of sweeps per column.

    Returns
    -------
    DemeanResult
    """
    arr = np.asarray(x, dtype=np.float64)
    one_d = arr.ndim == 1
    mat = np.ascontiguousarray(arr.reshape(arr.shape[0], -1))
    if len(fe) == 0:
        return DemeanResult(mat[:, 0].copy() if one_d else mat.copy(), 0, True)
    w = np.ones(mat.shape[0]) if weights is None else np.ascontiguousarray(weights, dtype=float)
    inv = _group_weights(fe, w)
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in inv])]).astype(np.int64)
    res, iters, conv = _demean_matrix(
        mat, fe.kernel_codes, w, np.concatenate(inv), offsets, float(tol), int(maxiter)
    )
    return DemeanResult(res[:, 0] if one_d else res, int(iters), bool(conv))


def demean_numpy(
    x: np.ndarray,
    fe: FixedEffects,
    weights: np.ndarray | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> DemeanResult:
    """Plain alternating projections in numpy, without acceleration: the test oracle."""
    arr = np.asarray(x, dtype=np.float64)
    one_d = arr.ndim == 1
    r = arr.reshape(arr.shape[0], -1).copy()
    w = np.ones(r.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    inv = _group_weights(fe, w)
    converged = len(fe) == 0
    it = 0
    for it in range(1, maxiter + 1):  # noqa: B007 - iteration count is reported
        before = r.copy()
        for code, inv_w, n_lev in zip(fe.codes, inv, fe.n_levels, strict=True):
            for j in range(r.shape[1]):
                means = np.bincount(code, weights=w * r[:, j], minlength=n_lev) * inv_w
                r[:, j] -= means[code]
        scale = np.maximum(np.abs(arr.reshape(r.shape)).max(axis=0), 1e-300)
        if len(fe) == 1 or np.all(np.abs(r - before).max(axis=0) <= tol * scale):
            converged = True
            break
    return DemeanResult(r[:, 0] if one_d else r, it, converged)
