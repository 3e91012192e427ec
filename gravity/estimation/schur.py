"""Fixed effects on hard graphs: eliminate the largest dimension exactly, factor the rest.

On a worker–firm style panel the fixed-effect graph is weakly connected: a long, thin chain of
firms linked by few movers. Alternating projections then need thousands of sweeps and Jacobi
conjugate gradients (:mod:`gravity.estimation.krylov`) hundreds to thousands of steps, each a
pass over the data, because the number of steps grows with the diameter of the graph.

Here the normal equations ``D' W D a = D' W x`` are reduced instead. The largest dimension
(``D1``, e.g. 200k workers) is eliminated exactly: its block ``D1' W D1`` is diagonal. What
remains is the Schur complement on the other dimensions (``D2``, e.g. 20k firms and 10 years)::

    S = D2' W D2 - D2' W D1 (D1' W D1)^-1 D1' W D2 = D2' W M1 D2,

with ``M1`` the weighted within-transformation of dimension 1. ``S`` is a sparse matrix of the
size of the smaller dimensions, with a nonzero for every pair of their levels that share a level
of dimension 1 (a mover's two firms, a firm and a year). It is assembled once per weight vector
and factorised by a sparse LU with a fill-reducing symmetric ordering (SuperLU; weakly connected
graphs are the ones with small separators, so the factor stays sparse). The factor then serves
as the preconditioner of conjugate gradients on ``S a2 = D2' W M1 x``: every step applies ``S``
exactly by two passes over the observations, so the answer does not depend on the factor's
rounding, and with a (near) exact factor two to five steps suffice whatever the graph.

``S`` is singular (a constant can move between dimensions): it is factorised with a relative
ridge of :data:`RIDGE` on its diagonal, which changes the preconditioner only, never the system
solved. The residual ``r = M1 (x - D2 a2)`` is unique and is what callers get.

Stopping: as :mod:`gravity.estimation.krylov`, ``s' M^-1 s <= tol^2 * sum(w x^2)`` with ``s``
the normal-equation residual (``D1' W r = 0`` holds exactly) and ``M`` the levels' weight totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from gravity.estimation.fixed_effects import FixedEffects

if TYPE_CHECKING:
    # imported where used: fits on well-connected graphs (trade panels) never assemble S
    from scipy import sparse
    from scipy.sparse import linalg as splinalg

# relative ridge on the Schur complement's diagonal before it is factorised: makes the singular
# (but consistent) system factorisable. It perturbs only the preconditioner: the factor stays
# exact to ~1e-7 / (smallest relative eigenvalue of S), so conjugate gradients take a few steps
# more at most. A smaller ridge amplifies rounding along the null directions (a constant moved
# between dimensions) by its inverse: at 1e-9 a factor from earlier weights stalled at ~1e-11
# relative, at 1e-7 it reached 1e-13 in 9 steps (tests/estimation/test_schur.py)
RIDGE = 1e-7
# the reduction is skipped (Jacobi conjugate gradients instead) when the kept dimensions have
# more levels than this, or the Schur complement more nonzeros: its factor would not fit
MAX_KEPT_LEVELS = 2_000_000
MAX_SCHUR_NNZ = 100_000_000
# a Schur complement denser than this share is not a weakly connected graph's: exporter-year and
# importer-year levels linked through pair effects make it ~half dense (penppml: 4.8k levels),
# and its dense factorisation cost 30x the Jacobi solve; worker-firm graphs stay below 0.1%
# (2M rows: 0.09%). Up to DENSE_OK_LEVELS kept levels a dense factor is cheap anyway.
MAX_DENSITY = 0.05
DENSE_OK_LEVELS = 1_000
# rows of the Schur complement whose nonzeros are counted to estimate its density
DENSITY_SAMPLE = 64
# a factor built at earlier weights is kept while solves with it take at most this many steps
# (about the cost of one factorisation in passes over the data at 2M rows)
REFACTOR_STEPS = 10
# the recursive residual growing this much above its best means rounding has taken over
DIVERGENCE = 100.0
# restarts from the true residual when the recursive one has drifted (rounding) and the true
# one is not below the threshold yet
MAX_RESTARTS = 5


@numba.njit(cache=True, nogil=True)
def _eliminate(
    r: np.ndarray,
    ecode: np.ndarray,
    kcodes: np.ndarray,
    weights: np.ndarray,
    inv_e: np.ndarray,
    acc: np.ndarray,
    s: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``r = M1 r`` in place and ``s = D2' W r`` (two passes)."""
    acc[:] = 0.0
    s[:] = 0.0
    for i in range(r.shape[0]):
        acc[ecode[i]] += weights[i] * r[i]
    for g in range(acc.shape[0]):
        acc[g] *= inv_e[g]
    for i in range(r.shape[0]):
        v = r[i] - acc[ecode[i]]
        r[i] = v
        wv = weights[i] * v
        for q in range(kcodes.shape[0]):
            s[kcodes[q, i]] += wv


@numba.njit(cache=True, nogil=True)
def _apply(
    p: np.ndarray,
    ecode: np.ndarray,
    kcodes: np.ndarray,
    weights: np.ndarray,
    inv_e: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """``out = S p = D2' W M1 D2 p``; returns ``p' S p`` (two passes)."""
    acc[:] = 0.0
    out[:] = 0.0
    n_kept = kcodes.shape[0]
    for i in range(ecode.shape[0]):
        v = 0.0
        for q in range(n_kept):
            v += p[kcodes[q, i]]
        acc[ecode[i]] += weights[i] * v
    for g in range(acc.shape[0]):
        acc[g] *= inv_e[g]
    quad = 0.0
    for i in range(ecode.shape[0]):
        v = -acc[ecode[i]]
        for q in range(n_kept):
            v += p[kcodes[q, i]]
        wv = weights[i] * v
        quad += wv * v
        for q in range(n_kept):
            out[kcodes[q, i]] += wv
    return quad


@numba.njit(cache=True, nogil=True)
def _subtract(
    r: np.ndarray,
    a: np.ndarray,
    ecode: np.ndarray,
    kcodes: np.ndarray,
    weights: np.ndarray,
    inv_e: np.ndarray,
    acc: np.ndarray,
    s: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``r -= M1 D2 a`` in place and ``s = D2' W r`` recomputed from it (two passes)."""
    acc[:] = 0.0
    s[:] = 0.0
    n_kept = kcodes.shape[0]
    for i in range(r.shape[0]):
        v = 0.0
        for q in range(n_kept):
            v += a[kcodes[q, i]]
        acc[ecode[i]] += weights[i] * v
    for g in range(acc.shape[0]):
        acc[g] *= inv_e[g]
    for i in range(r.shape[0]):
        v = -acc[ecode[i]]
        for q in range(n_kept):
            v += a[kcodes[q, i]]
        ri = r[i] - v
        r[i] = ri
        wr = weights[i] * ri
        for q in range(n_kept):
            s[kcodes[q, i]] += wr


@dataclass(frozen=True)
class SchurLayout:
    """Which dimension is eliminated, and the other dimensions' codes in one index space."""

    eliminated: int
    ecode: np.ndarray
    kcodes: np.ndarray
    n_elim: int
    n_kept: int

    @classmethod
    def of(cls, fe: FixedEffects) -> SchurLayout | None:
        """Layout for ``fe``, or None when there is nothing to reduce or it would not fit."""
        if len(fe) < 2:
            return None
        levels = fe.n_levels
        elim = int(np.argmax(levels))
        kept = [q for q in range(len(fe)) if q != elim]
        n_kept = sum(levels[q] for q in kept)
        if n_kept > MAX_KEPT_LEVELS:
            return None
        codes = fe.kernel_codes
        dtype = np.int32 if n_kept < np.iinfo(np.int32).max else np.int64
        kcodes = np.empty((len(kept), fe.nobs), dtype=dtype)
        start = 0
        for j, q in enumerate(kept):
            np.add(codes[q], start, out=kcodes[j], casting="unsafe")
            start += levels[q]
        return cls(elim, codes[elim], kcodes, levels[elim], n_kept)


def schur_complement(
    layout: SchurLayout, weights: np.ndarray, check_density: bool = True
) -> sparse.csc_matrix | None:
    """``S = D2' W D2 - D2' W D1 (D1' W D1)^-1 D1' W D2`` as a sparse matrix (None: too large).

    Both terms are built from coordinate lists (duplicates summed by the conversion): a product
    of the n-row dummy matrices would transpose them, three times slower at 2M rows.
    """
    from scipy import sparse

    n_kept = layout.n_kept
    kc = layout.kcodes
    n_dims = kc.shape[0]
    # D1' W D2: each eliminated level's weight on each kept level
    b = sparse.coo_matrix(
        (np.tile(weights, n_dims), (np.tile(layout.ecode, n_dims), kc.ravel())),
        shape=(layout.n_elim, n_kept),
    ).tocsr()
    # an upper bound of S's nonzeros: each eliminated level couples all its kept levels
    per_row = np.diff(b.indptr).astype(np.int64)
    if int(per_row @ per_row) > MAX_SCHUR_NNZ:
        return None
    # (the pattern does not change with the weights: checked on a layout's first assembly only)
    if check_density and n_kept > DENSE_OK_LEVELS and _sampled_density(b, n_kept) > MAX_DENSITY:
        return None  # found before the products that assemble it (most of its cost)
    wsum = np.bincount(layout.ecode, weights=weights, minlength=layout.n_elim)
    inv = np.divide(1.0, wsum, out=np.zeros_like(wsum), where=wsum > 0)
    # D2' W D2: the kept levels' weights on the diagonal, and each pair of kept dimensions
    # met in one observation off it (both orders: the matrix is symmetric)
    pairs = [(q1, q2) for q1 in range(n_dims) for q2 in range(n_dims) if q1 != q2]
    rows = np.concatenate([np.arange(n_kept), *(kc[q1] for q1, _ in pairs)])
    cols = np.concatenate([np.arange(n_kept), *(kc[q2] for _, q2 in pairs)])
    vals = np.concatenate([_kept_weights(layout, weights), *(weights for _ in pairs)])
    gram = sparse.coo_matrix((vals, (rows, cols)), shape=(n_kept, n_kept)).tocsr()
    return (gram - (b.T.tocsr() @ sparse.diags(inv) @ b)).tocsc()


def _sampled_density(b: sparse.csr_matrix, n_kept: int) -> float:
    """Share of nonzeros in ``S``, measured exactly on :data:`DENSITY_SAMPLE` of its rows.

    Row ``k`` of ``S`` is nonzero at every kept level that shares a level of the eliminated
    dimension with ``k`` (the observations' own pairs of kept levels are among them, since each
    observation has an eliminated level). The rows are evenly spaced over the levels, so the
    estimate is deterministic; a trade panel's exporter-year x importer-year complement (about
    half dense) and a worker-firm one (below 0.1%) are far from :data:`MAX_DENSITY` either way.
    """
    levels_of = b.T.tocsr()
    rows = np.unique(np.linspace(0, n_kept - 1, DENSITY_SAMPLE).astype(np.int64))
    met = 0
    for k in rows:
        eliminated = levels_of.indices[levels_of.indptr[k] : levels_of.indptr[k + 1]]
        met += np.unique(b[eliminated].indices).size
    return met / (rows.size * n_kept)


def _kept_weights(layout: SchurLayout, weights: np.ndarray) -> np.ndarray:
    """The kept levels' own weight totals: the diagonal of ``D2' W D2``."""
    return np.bincount(
        layout.kcodes.ravel(), np.tile(weights, layout.kcodes.shape[0]), minlength=layout.n_kept
    )


def factorise(
    layout: SchurLayout, weights: np.ndarray, check_density: bool = True
) -> splinalg.SuperLU | None:
    """Sparse LU of the ridged Schur complement at ``weights`` (None when it would not pay)."""
    matrix = schur_complement(layout, weights, check_density)
    if matrix is None:
        return None
    if layout.n_kept > DENSE_OK_LEVELS and matrix.nnz > MAX_DENSITY * layout.n_kept**2:
        return None
    # the ridge scales with the kept levels' weight totals, not with S's own diagonal, which can
    # be zero: a firm whose workers never move is absorbed by them (its row of S is empty)
    ridge = RIDGE * np.maximum(_kept_weights(layout, weights), np.finfo(float).tiny)
    # COLAMD: a fill-reducing ordering that sets dense rows aside (a year meets every firm);
    # minimum degree on A + A' took seconds on them at 2M rows against 0.05 s
    from scipy import sparse
    from scipy.sparse import linalg as splinalg

    try:
        return splinalg.splu(
            (matrix + sparse.diags(ridge)).tocsc(),
            permc_spec="COLAMD",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError:  # a zero pivot: weights so extreme that rounding broke positivity
        return None


class SchurSolver:
    """Conjugate gradients on the Schur complement, preconditioned by a sparse LU factor.

    The operator uses ``weights`` exactly; the factor may come from earlier weights (IRLS
    reuses it while the solves stay short): it then preconditions a little less well, and the
    answer is the same.
    """

    def __init__(self, layout: SchurLayout, weights: np.ndarray, factor: splinalg.SuperLU):
        self.layout = layout
        self.weights = weights
        self.factor = factor
        wsum = np.bincount(layout.ecode, weights=weights, minlength=layout.n_elim)
        self.inv_e = np.divide(1.0, wsum, out=np.zeros_like(wsum), where=wsum > 0)
        # the scale of the stopping rule, as for projections
        kept_w = _kept_weights(layout, weights)
        self.inv_kept = np.divide(1.0, kept_w, out=np.zeros_like(kept_w), where=kept_w > 0)
        self.most_steps = 0
        """Most conjugate-gradient steps one solve has taken with this solver."""

    def solve(self, r: np.ndarray, threshold: float, maxiter: int) -> tuple[int, bool]:
        """Replace ``r`` in place by its weighted residual on the fixed effects.

        Parameters
        ----------
        r : numpy.ndarray
            Start value ``x - D a`` (any ``a``); overwritten with the residual.
        threshold : float
            Stop when ``s' M^-1 s`` falls to this value.
        maxiter : int
            Maximum conjugate-gradient steps (each two passes over the observations).

        Returns
        -------
        tuple
            Steps taken and whether the threshold was reached.
        """
        lay, w, inv_e = self.layout, self.weights, self.inv_e
        acc = np.empty(lay.n_elim)
        s = np.empty(lay.n_kept)
        sp = np.empty(lay.n_kept)
        _eliminate(r, lay.ecode, lay.kcodes, w, inv_e, acc, s)
        steps = 0
        for _ in range(MAX_RESTARTS + 1):
            if float(s @ (s * self.inv_kept)) <= threshold:
                self.most_steps = max(self.most_steps, steps)
                return steps, True
            if steps >= maxiter:
                break
            a = np.zeros(lay.n_kept)
            z = self.factor.solve(s)
            p = z.copy()
            gamma = float(s @ z)
            if not (np.isfinite(gamma) and gamma > 0.0):
                break  # a factor that lost positivity to rounding: the caller falls back
            best = np.inf
            while steps < maxiter:
                steps += 1
                quad = _apply(p, lay.ecode, lay.kcodes, w, inv_e, acc, sp)
                if not (np.isfinite(quad) and quad > 0.0):
                    break
                step = gamma / quad
                a += step * p
                s -= step * sp
                crit = float(s @ (s * self.inv_kept))
                # at the rounding floor the singular system's null directions start to grow:
                # stop there and restart from the true residual
                if crit <= threshold or crit > DIVERGENCE * best:
                    break
                best = min(best, crit)
                z = self.factor.solve(s)
                gamma_new = float(s @ z)
                if not (np.isfinite(gamma_new) and gamma_new > 0.0):
                    break
                p *= gamma_new / gamma
                p += z
                gamma = gamma_new
            # the residual itself, and the true normal-equation residual from it
            _subtract(r, a, lay.ecode, lay.kcodes, w, inv_e, acc, s)
        self.most_steps = max(self.most_steps, steps)
        return steps, float(s @ (s * self.inv_kept)) <= threshold


class SchurCache:
    """The layout of one set of fixed effects, and the solver and factor of the last weights.

    IRLS demeans several blocks of columns at the same weights (the first iteration, the final
    variance): the solver is reused while the weights are unchanged. New weights get a new
    operator but keep the last factor as long as the solves with it took at most
    :data:`REFACTOR_STEPS` steps: between IRLS iterations the weights move little, and a
    factorisation costs as much as dozens of steps. The weights are compared by value (one
    pass, far cheaper than a factorisation), since callers update their buffers in place.
    """

    def __init__(self) -> None:
        self._fe: FixedEffects | None = None
        self._layout: SchurLayout | None = None
        self._weights: np.ndarray | None = None
        self._solver: SchurSolver | None = None
        self.factorisations = 0
        """How many factorisations were built (a diagnostic)."""

    def get(self, fe: FixedEffects, weights: np.ndarray) -> SchurSolver | None:
        """Solver for ``fe`` at ``weights`` (None when the reduction does not fit)."""
        if self._fe is not fe:
            self._fe, self._layout = fe, SchurLayout.of(fe)
            self._weights = self._solver = None
        if self._weights is not None and np.array_equal(self._weights, weights):
            return self._solver
        if self._layout is None:
            return None
        self._weights = weights.copy()
        last = self._solver
        factor = last.factor if last is not None and last.most_steps <= REFACTOR_STEPS else None
        if factor is None:
            factor = factorise(self._layout, self._weights, self.factorisations == 0)
            if factor is None:
                self._layout = None  # too large: it stays too large at other weights
                return None
            self.factorisations += 1
        self._solver = SchurSolver(self._layout, self._weights, factor)
        return self._solver
