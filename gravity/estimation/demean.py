"""Partialling out fixed effects: weighted alternating projections with Irons–Tuck acceleration.

The residual ``r = x - P x`` of a column ``x`` on the span of the fixed-effect dummies is the fixed
point of one sweep ``T(r) = r - mean_Q(... r - mean_1(r))`` (weighted group means, one dimension
after another). Plain sweeps converge linearly and can crawl on large, weakly connected panels, so
every third sweep is replaced by the Irons–Tuck extrapolation of the last two steps, as in fixest
and ppmlhdfe (Correia, Guimarães & Zylkin 2020). Because every iterate is ``x`` minus an element of
the fixed-effect span, any start of that form converges to the same residual: IRLS warm-starts from
the previous iteration's residuals.

On weakly connected graphs (worker–firm style panels) even accelerated projections crawl;
``solver="auto"`` then hands the column over to conjugate gradients on the normal equations
(:mod:`gravity.estimation.krylov`), which start from wherever the projections stopped.

Columns are solved in parallel (one per numba thread; ``NUMBA_NUM_THREADS`` caps them). Two
implementations sit behind :func:`demean`: the compiled kernels (default) and a plain numpy one
(:func:`demean_numpy`) kept as the test oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from gravity.estimation.fixed_effects import FixedEffects
from gravity.estimation.krylov import cg_column
from gravity.estimation.schur import SchurCache

DEFAULT_TOL = 1e-8
# largest Irons-Tuck step accepted; beyond it the sweep is taken plain (guards against overflow)
MAX_EXTRAPOLATION = 1e4
DEFAULT_MAXITER = 10_000
SOLVER_AP = 0
SOLVER_CG = 1
SOLVER_AUTO = 2
SOLVERS = {"ap": SOLVER_AP, "cg": SOLVER_CG, "auto": SOLVER_AUTO}
# preconditioners of the Krylov solver: the Schur complement of the largest dimension, factorised
# (falls back to Jacobi when it would not fit), or the diagonal (Jacobi) one
PRECONDITIONERS = ("schur", "jacobi")
# "auto" hands a column over to conjugate gradients after this many sweeps without convergence.
# Well-connected trade panels need at most about 20 (the benchmark panels: 8 to 20 for a cold
# solve, 5 warm-started); on weakly connected ones projections need hundreds to thousands, and
# their stopping rule (one sweep's change) then also understates the error. CG is at most ~1.4x
# slower than projections on the well-connected panels, so an early hand-over costs little.
AUTO_SWITCH_SWEEPS = 30
# columns are solved in parallel from this many observations on; below it a column takes a few
# milliseconds, so threads gain nothing while the parallel kernel's first compile takes ~3 s
PARALLEL_MIN_OBS = 100_000


@dataclass(frozen=True)
class DemeanResult:
    """Residuals of each column on the fixed effects, with convergence diagnostics."""

    residuals: np.ndarray
    iterations: int
    converged: bool
    solver: str = "ap"
    """``"cg"`` when conjugate gradients finished some column, else ``"ap"``."""


def _group_weights(fe: FixedEffects, weights: np.ndarray) -> list[np.ndarray]:
    inv = []
    for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
        total = np.bincount(code, weights=weights, minlength=n_lev)
        with np.errstate(divide="ignore"):
            inv.append(np.where(total > 0, 1.0 / total, 0.0))
    return inv


@numba.njit(cache=True, nogil=True)
def _sweep_one(
    r: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    acc: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Weighted group-mean removal for a single dimension, in place (exact in one pass).

    Two or more dimensions go through :func:`_sweep_into`.
    """
    n_levels = inv_wsum.shape[0]
    for g in range(n_levels):
        acc[g] = 0.0
    for i in range(r.shape[0]):
        acc[codes[0, i]] += weights[i] * r[i]
    for g in range(n_levels):
        acc[g] *= inv_wsum[g]
    for i in range(r.shape[0]):
        r[i] -= acc[codes[0, i]]


@numba.njit(cache=True, nogil=True)
def _finish_sweep(
    src: np.ndarray,
    dst: np.ndarray,
    prev: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    acc: np.ndarray,
    stats: bool,
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """``dst = T(src)`` for two or more dimensions, given dimension 0's weighted sums in ``acc``.

    The callers fill ``acc`` in a pass they make anyway (a copy, an extrapolation), so a sweep
    costs Q passes. With ``stats`` the last pass also returns, for the Irons–Tuck step from
    ``prev -> src -> dst``, the weighted squared change ``sum w (dst - src)^2`` and the two
    products of the extrapolation coefficient. ``dst`` may be ``src``.
    """
    n_dims = codes.shape[0]
    n = src.shape[0]
    for g in range(offsets[0], offsets[1]):
        acc[g] *= inv_wsum[g]
    nxt = offsets[1]
    for g in range(nxt, offsets[2]):
        acc[g] = 0.0
    for i in range(n):
        v = src[i] - acc[codes[0, i]]
        dst[i] = v
        acc[nxt + codes[1, i]] += weights[i] * v
    for g in range(nxt, offsets[2]):
        acc[g] *= inv_wsum[g]
    for q in range(1, n_dims - 1):
        start = offsets[q]
        nxt = offsets[q + 1]
        for g in range(nxt, offsets[q + 2]):
            acc[g] = 0.0
        for i in range(n):
            v = dst[i] - acc[start + codes[q, i]]
            dst[i] = v
            acc[nxt + codes[q + 1, i]] += weights[i] * v
        for g in range(nxt, offsets[q + 2]):
            acc[g] *= inv_wsum[g]
    last = offsets[n_dims - 1]
    change = 0.0
    num = 0.0
    den = 0.0
    if stats:
        for i in range(n):
            v = dst[i] - acc[last + codes[n_dims - 1, i]]
            dst[i] = v
            d2 = v - src[i]
            dd = d2 - (src[i] - prev[i])
            change += weights[i] * d2 * d2
            num += d2 * dd
            den += dd * dd
    else:
        for i in range(n):
            dst[i] -= acc[last + codes[n_dims - 1, i]]
    return change, num, den


@numba.njit(cache=True, nogil=True)
def _sweep_into(
    src: np.ndarray,
    dst: np.ndarray,
    prev: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    acc: np.ndarray,
    stats: bool,
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """``dst = T(src)`` (see :func:`_finish_sweep`)."""
    for g in range(offsets[0], offsets[1]):
        acc[g] = 0.0
    for i in range(src.shape[0]):
        acc[codes[0, i]] += weights[i] * src[i]
    return _finish_sweep(src, dst, prev, codes, weights, inv_wsum, offsets, acc, stats)


@numba.njit(cache=True, nogil=True)
def _inverse_weight_sums(
    codes: np.ndarray, weights: np.ndarray, offsets: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """``1 / (total weight of each level)`` over all dimensions (0 for an empty level)."""
    out = np.zeros(offsets[-1])
    for q in range(codes.shape[0]):
        base = offsets[q]
        for i in range(weights.shape[0]):
            out[base + codes[q, i]] += weights[i]
    for g in range(out.shape[0]):
        out[g] = 1.0 / out[g] if out[g] > 0.0 else 0.0
    return out


@numba.njit(cache=True, nogil=True)
def _project_column(
    r0: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    tol: float,
    maxiter: int,
    solver: int,
    switch_after: int,
) -> tuple[int, bool, bool, float]:  # pragma: no cover - compiled
    """Replace ``r0`` in place by its residual; returns (steps, converged, used CG, threshold).

    ``solver``: 0 alternating projections, 1 conjugate gradients, 2 projections that hand over
    to conjugate gradients after ``switch_after`` sweeps without convergence. ``threshold`` is
    the stopping value of the squared weighted criterion, set from the column on entry.
    """
    n = r0.shape[0]
    acc = np.empty(offsets[-1])
    if codes.shape[0] == 1:
        _sweep_one(r0, codes, weights, inv_wsum, acc)
        return 1, True, False, 0.0
    # weighted criterion: the WLS solution depends on the residuals through sum(w * r * x), so
    # precision is measured in the weighted norm (an unweighted max would be ruled by
    # observations with tiny weights and huge working values)
    scale = 0.0
    for i in range(n):
        scale += weights[i] * r0[i] * r0[i]
    threshold = tol * tol * max(scale, 1e-300)
    if solver == SOLVER_CG:
        steps, ok = cg_column(r0, codes, weights, inv_wsum, offsets, threshold, maxiter)
        return steps, ok, True, threshold
    budget = maxiter if solver == SOLVER_AP else min(maxiter, switch_after)
    r1 = np.empty(n)
    r2 = np.empty(n)
    it = 0
    while it < budget:
        _sweep_into(r0, r1, r0, codes, weights, inv_wsum, offsets, acc, False)
        change, num, den = _sweep_into(r1, r2, r0, codes, weights, inv_wsum, offsets, acc, True)
        it += 2
        if change <= threshold:
            # an element loop: a slice copy compiles numba's shape-mismatch error path (~1.4 s)
            for i in range(n):
                r0[i] = r2[i]
            return it, True, False, threshold
        # Irons–Tuck extrapolation from r0 -> r1 -> r2, then one more sweep from there
        coef = num / den if den > 0.0 else 0.0
        # a wild step (ill-conditioned weights: ratios of 1e4 and more) would overflow: skip it
        accepted = False
        if den > 0.0 and np.isfinite(coef) and abs(coef) < MAX_EXTRAPOLATION:
            norm = 0.0
            for g in range(offsets[0], offsets[1]):
                acc[g] = 0.0
            for i in range(n):
                v = r2[i] - coef * (r2[i] - r1[i])
                r0[i] = v
                norm += weights[i] * v * v
                acc[codes[0, i]] += weights[i] * v
            # the residual projection never grows the weighted norm: an extrapolated point
            # that does is a numerical artefact of ill-conditioning, so fall back to the sweep
            accepted = np.isfinite(norm) and norm <= scale * (1.0 + 1e-8)
        if accepted:
            _finish_sweep(r0, r0, r0, codes, weights, inv_wsum, offsets, acc, False)
        else:
            _sweep_into(r2, r0, r0, codes, weights, inv_wsum, offsets, acc, False)
        it += 1
    if solver == SOLVER_AP or it >= maxiter:
        return it, False, False, threshold
    # projections crawl: every iterate is x minus an element of the fixed-effect span, so
    # conjugate gradients carry on from where they stopped
    steps, ok = cg_column(r0, codes, weights, inv_wsum, offsets, threshold, maxiter - it)
    return it + steps, ok, True, threshold


@numba.njit(cache=True, nogil=True, parallel=True)
def _project_rows(
    rows: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    tol: float,
    maxiter: int,
    solver: int,
    switch_after: int,
    done: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[int, bool, bool]:  # pragma: no cover - compiled
    """Residualise each row of the ``(k, n)`` array in place, one column per thread.

    Each row's convergence goes to ``done`` and its stopping threshold to ``thresholds``.
    """
    k = rows.shape[0]
    steps = np.zeros(k, dtype=np.int64)
    cg = np.zeros(k, dtype=np.bool_)
    for j in numba.prange(k):
        s, c, used, thr = _project_column(
            rows[j], codes, weights, inv_wsum, offsets, tol, maxiter, solver, switch_after
        )
        steps[j] = s
        done[j] = c
        cg[j] = used
        thresholds[j] = thr
    return int(steps.max()) if k else 0, bool(done.all()), bool(cg.any())


@numba.njit(cache=True, nogil=True)
def _project_rows_serial(
    rows: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    inv_wsum: np.ndarray,
    offsets: np.ndarray,
    tol: float,
    maxiter: int,
    solver: int,
    switch_after: int,
    done: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[int, bool, bool]:  # pragma: no cover - compiled
    """:func:`_project_rows` on one thread (same arithmetic per column, so the same result)."""
    steps = 0
    ok = True
    cg = False
    for j in range(rows.shape[0]):
        s, c, used, thr = _project_column(
            rows[j], codes, weights, inv_wsum, offsets, tol, maxiter, solver, switch_after
        )
        steps = max(steps, s)
        ok = ok and c
        cg = cg or used
        done[j] = c
        thresholds[j] = thr
    return steps, ok, cg


def solver_code(solver: str) -> int:
    """Kernel code of a solver name (``"ap"``, ``"cg"`` or ``"auto"``)."""
    try:
        return SOLVERS[solver]
    except KeyError:
        raise ValueError(
            f"unknown demeaning solver {solver!r}; choose one of {sorted(SOLVERS)}"
        ) from None


def project_rows(
    rows: np.ndarray,
    fe: FixedEffects,
    weights: np.ndarray,
    tol: float,
    maxiter: int,
    solver: str = "auto",
    switch_after: int = AUTO_SWITCH_SWEEPS,
    preconditioner: str = "schur",
    cache: SchurCache | None = None,
) -> tuple[int, bool, bool]:
    """Residualise the rows of a C-contiguous ``(k, n)`` float array in place (no copies).

    The in-place core of :func:`demean` for callers that keep their own buffers (IRLS). Returns
    the largest number of steps, whether every row converged, and whether conjugate gradients
    were used for some row. ``preconditioner`` and ``cache``: see :func:`demean` and
    :class:`~gravity.estimation.schur.SchurCache` (which keeps one factorisation per weights).
    """
    code = solver_code(solver)
    if preconditioner not in PRECONDITIONERS:
        raise ValueError(
            f"unknown preconditioner {preconditioner!r}; choose one of {sorted(PRECONDITIONERS)}"
        )
    codes = fe.kernel_codes
    offsets = fe.kernel_offsets
    inv = _inverse_weight_sums(codes, weights, offsets)
    # small problems stay on one thread: a column takes milliseconds there, and the parallel
    # kernel costs seconds to compile on a fresh install (the demo never needs it)
    parallel = rows.shape[0] > 1 and rows.shape[1] >= PARALLEL_MIN_OBS
    kernel = _project_rows if parallel and numba.get_num_threads() > 1 else _project_rows_serial
    k = rows.shape[0]
    done = np.zeros(k, dtype=np.bool_)
    thresholds = np.zeros(k)
    reduce = code != SOLVER_AP and preconditioner == "schur" and len(fe) >= 2 and k > 0
    if not reduce:
        steps, ok, cg = kernel(
            rows, codes, weights, inv, offsets, float(tol), int(maxiter), code,
            int(switch_after), done, thresholds,
        )  # fmt: skip
        return int(steps), bool(ok), bool(cg)
    steps = 0
    if code == SOLVER_AUTO:
        # projections first: they finish well-connected graphs in a few sweeps
        budget = min(int(maxiter), int(switch_after))
        steps, ok, _ = kernel(
            rows, codes, weights, inv, offsets, float(tol), budget, SOLVER_AP, budget, done,
            thresholds,
        )  # fmt: skip
        if ok:
            return int(steps), True, False
    else:
        scale = np.einsum("ij,ij,j->i", rows, rows, weights)
        thresholds[:] = float(tol) ** 2 * np.maximum(scale, 1e-300)
    reduced = (cache or SchurCache()).get(fe, weights)
    ok = True
    extra = 0
    for j in np.flatnonzero(~done):
        # every iterate is x minus an element of the fixed-effect span, so the Krylov solver
        # carries on from wherever the projections stopped
        left = max(int(maxiter) - steps, 1)
        s_j, ok_j = 0, False
        if reduced is not None:
            s_j, ok_j = reduced.solve(rows[j], float(thresholds[j]), left)
        if not ok_j:
            # no factor (too large, or rounding broke it) or it stalled: Jacobi conjugate
            # gradients carry on from where it stopped
            more, ok_j = cg_column(
                rows[j], codes, weights, inv, offsets, thresholds[j], max(left - s_j, 1)
            )
            s_j += more
        extra = max(extra, s_j)
        ok = ok and ok_j
    return int(steps + extra), ok, True


def demean(
    x: np.ndarray,
    fe: FixedEffects,
    weights: np.ndarray | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    solver: str = "auto",
    preconditioner: str = "schur",
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
        weighted norm ``sqrt(sum(w * v**2))`` (conjugate gradients: when the group means still
        left in the column are that small).
    maxiter : int
        Maximum number of sweeps (or conjugate-gradient steps) per column.
    solver : {"auto", "ap", "cg"}
        Alternating projections with Irons–Tuck acceleration (``"ap"``), preconditioned
        conjugate gradients (``"cg"``), or projections that hand over to conjugate gradients
        when they converge slowly (``"auto"``).
    preconditioner : {"schur", "jacobi"}
        Of the conjugate gradients: ``"schur"`` eliminates the largest dimension exactly and
        preconditions the rest by the sparse factor of its Schur complement
        (:mod:`gravity.estimation.schur`; Jacobi when that would not fit), ``"jacobi"`` works
        on all dimensions with the levels' weight totals (:mod:`gravity.estimation.krylov`).

    Returns
    -------
    DemeanResult
    """
    arr = np.asarray(x, dtype=np.float64)
    one_d = arr.ndim == 1
    mat = arr.reshape(arr.shape[0], -1)
    if len(fe) == 0:
        return DemeanResult(mat[:, 0].copy() if one_d else mat.copy(), 0, True)
    w = np.ones(mat.shape[0]) if weights is None else np.ascontiguousarray(weights, dtype=float)
    rows = np.array(mat.T, dtype=np.float64, order="C", copy=True)  # solved in place
    steps, conv, used_cg = project_rows(
        rows, fe, w, tol, maxiter, solver, preconditioner=preconditioner
    )
    res = rows[0] if one_d else np.ascontiguousarray(rows.T)
    return DemeanResult(res, steps, conv, "cg" if used_cg else "ap")


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
