"""Observations for which the Poisson pseudo-MLE does not exist (separation).

An observation ``i`` with ``y_i = 0`` is *separated* when some linear combination ``z`` of the
regressors and fixed-effect dummies is zero on every observation with ``y > 0``, non-negative on
every observation with ``y = 0`` and strictly positive at ``i``: moving the coefficients along
``-z`` then raises the pseudo-likelihood forever, so ``mu_i -> 0`` and some estimates diverge.
Dropping every separated observation leaves a sample whose estimates exist and are the same for
the coefficients that are identified (Correia, Guimarães & Zylkin 2019, "Verifying the existence
of maximum likelihood estimates for generalized linear models"; the method of ``ppmlhdfe``).

:func:`detect_separation` iterates three rules to a fixed point:

1. ``fe_zero``: a fixed-effect group whose outcomes are all zero is separated by its own dummy;
2. ``singleton``: an observation alone in a group is fitted exactly by its dummy and carries no
   information (dropping it is optional, as in ``ppmlhdfe``'s ``keepsing``);
3. ``regressor``: the ReLU (iterative rectifier) method finds the remaining separated
   observations, those separated by combinations of regressors and fixed effects.

The ReLU method solves a sequence of least-squares problems: with a working outcome ``u`` equal
to ``1`` where ``y = 0`` and ``0`` where ``y > 0``, it regresses ``u`` on the regressors and the
fixed effects with an equality constraint ``xb = 0`` on the observations with ``y > 0``, then
replaces ``u`` by ``max(xb, 0)`` where ``y = 0``. It stops once ``xb`` is non-negative on every
``y = 0`` observation: ``xb`` is then a certificate of separation and the observations where it
is positive are separated. Three additions to ``ppmlhdfe``'s version make it exact on random
designs (checked against a linear program) and fast where it crawls:

* the constraint, imposed by a large weight, is then enforced by the method of multipliers, so
  that the weighting error cannot pass for separation;
* the "no negative residual" stopping rule only proposes candidates, which are certified by a
  projection before being dropped (taken as final, as ``ppmlhdfe`` takes it, the rule dropped
  non-separated rows on some random designs);
* once the set where ``u > 0`` stops changing, the iteration jumps to its limit, the projection
  of ``u`` on the certificates supported there, and stops if that is a certificate.

The least squares run on the sparse design ``[X, D]`` with LSMR (scipy), as ``ppmlhdfe`` does:
the weighting makes the problem too ill-conditioned for alternating projections
(:func:`gravity.estimation.demean.demean` stalls, or returns NaN, once the weights differ by more
than about 1e4), while a Krylov solver copes with the two clusters of singular values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gravity.estimation.fixed_effects import FixedEffects, dense_codes
from gravity.exceptions import EstimationError, SeparationWarning

if TYPE_CHECKING:
    # imported where used: only the ReLU check (separation.regressor) builds sparse designs
    import scipy.sparse as sp

__all__ = ["DROP_REASONS", "SeparationResult", "detect_separation"]

DROP_REASONS: tuple[str, ...] = ("fe_zero", "singleton", "regressor")
"""Keys of :attr:`SeparationResult.dropped`, in the order the rules are applied."""

# --- tolerances of the ReLU method --------------------------------------------------------------
# The working outcome starts at 1 on the y = 0 observations and every fit is a projection of the
# previous one, so the fitted xb lives on a scale of order one: the thresholds below are absolute.

RELU_TOL = 1e-4
"""A fitted ``xb`` above this (plus the weighting error) marks a ``y = 0`` observation as
separated, and one within ``[-RELU_TOL / 10, RELU_TOL]`` counts as zero. ``ppmlhdfe``'s default
(``relu_tol``); the band is tighter below zero so that rounding cannot hide a negative fit, which
would end the iterations with a false certificate."""

RELU_ZERO_TOL = 1e-10
"""Residuals smaller than this in absolute value are exactly zero in the "no negative residual"
stopping rule. ``ppmlhdfe`` defaults to 1e-8 but needs 1e-10 on the hardest case of its suite
(07): a residual of rounding size must not stop the iterations early."""

CONSTRAINT_WEIGHT = float(np.finfo(np.float64).eps ** -0.5)
"""Weight (about 6.7e7) of the ``y > 0`` observations in the least squares that imposes
``xb = 0`` on them. The error of this method of weighting shrinks like ``1 / weight`` while the
rounding error grows like ``weight * eps``; ``eps ** -1/2`` balances the two (Van Loan 1985, as in
``ppmlhdfe``)."""

MAX_REFINEMENTS = 5
"""Corrections of the targets of the constrained rows per fit (the method of multipliers): each
divides the constraint error of the weighting by about ``1 + weight * s**2`` (``s`` the smallest
singular value of the constrained rows' design); one or two usually bring it below ``tol``.
Without them a design whose constrained rows are nearly collinear (``s`` about 1e-2) leaves
errors of 1e-4 that pass for separation."""

LSMR_TOL_FACTOR = CONSTRAINT_WEIGHT**-0.5
"""LSMR stops on a backward error (``atol = btol = tol * LSMR_TOL_FACTOR``); the weighting
multiplies the condition number by ``sqrt(CONSTRAINT_WEIGHT)`` (about 8e3), so the backward error
must be that much smaller than the target accuracy ``tol`` of the fitted values. With ``atol =
tol`` the fits of ill-conditioned designs are off by 1e-4 and miss separated observations."""

MAX_SHRINKS = 20
"""Times the support of a candidate certificate may shrink (see ``_certificate_on``)."""

LSMR_MAXITER = 100_000
"""Cap on the LSMR iterations of one least-squares fit (a few hundred are typical)."""

STABLE_ITERATIONS = 1
"""Iterations with an unchanged set of positive ``u`` after which the ReLU method jumps to the
limit of its iteration, which is then linear: the projection of ``u`` on the certificates
supported on that set. Plain iterations converge linearly and take thousands of steps on some
designs (1,355 on a random 60-row design); the jump is accepted only when it yields a valid
certificate. Jumping after one stable iteration rather than three halves the time on a
300k-row two-way design whose ReLU iterations each cost some 700 LSMR steps."""


@dataclass(frozen=True)
class SeparationResult:
    """Which observations stay in the estimation sample, and why the others were dropped.

    Attributes
    ----------
    keep : numpy.ndarray
        Boolean mask of length ``n``; ``True`` for observations that stay in the sample.
    dropped : dict of str to int
        Number of observations dropped by each rule, keys ``"fe_zero"`` (in a fixed-effect group
        whose outcomes are all zero), ``"singleton"`` (alone in a fixed-effect group) and
        ``"regressor"`` (separated by a combination of regressors and fixed effects, found by the
        ReLU method). Each observation is counted once, under the first rule that dropped it.
    iterations : int
        Rounds of the outer fixed-point loop.
    relu_iterations : int
        Total iterations of the ReLU method over all rounds (0 when it never ran).
    """

    keep: np.ndarray
    dropped: dict[str, int]
    iterations: int
    relu_iterations: int = field(default=0)

    @property
    def n_dropped(self) -> int:
        """Total number of observations dropped."""
        return int(self.keep.size - np.count_nonzero(self.keep))

    @property
    def nobs(self) -> int:
        """Number of observations kept."""
        return int(np.count_nonzero(self.keep))


def detect_separation(
    y: np.ndarray,
    X: np.ndarray | None,
    fe: FixedEffects | None,
    *,
    weights: np.ndarray | None = None,
    fe_zero: bool = True,
    singletons: bool = False,
    regressor: bool = True,
    intercept: bool = True,
    tol: float = 1e-8,
    maxiter: int = 1000,
) -> SeparationResult:
    """Find the observations to drop so that the Poisson pseudo-MLE exists.

    Parameters
    ----------
    y : numpy.ndarray
        Outcome, shape ``(n,)``, finite and non-negative.
    X : numpy.ndarray or None
        Regressors, shape ``(n, k)`` (a 1-D array is one regressor); ``None`` or ``k = 0`` for
        none. Columns that are zero, constant or collinear are harmless.
    fe : FixedEffects or None
        Fixed effects of the same ``n`` observations (no missing codes); ``None`` or an empty
        :class:`FixedEffects` for none.
    weights : numpy.ndarray, optional
        Observation weights, validated (finite, positive) but otherwise unused: which
        observations are separated depends only on which outcomes are zero and on the span of
        the regressors and fixed effects, never on positive weights (``ppmlhdfe`` ignores them).
    fe_zero : bool
        Drop observations in a fixed-effect group (of any dimension) whose outcomes are all zero.
    singletons : bool
        Drop observations alone in a fixed-effect group. They do not change the estimates, only
        the degrees of freedom; ``ppmlhdfe`` drops them by default, ``fixest`` does not.
    regressor : bool
        Run the ReLU method on the kept observations (also without regressors: the fixed effects
        together can separate observations that no single group isolates).
    intercept : bool
        Whether the model has a constant when ``fe`` has no dimension (as ``ppmlhdfe`` and
        ``fixest`` do). Ignored with fixed effects, which absorb it.
    tol : float
        Target accuracy, in ``(0, 1)``, of the fitted values of the ReLU least squares; see
        :data:`LSMR_TOL_FACTOR`.
    maxiter : int
        Maximum number of rounds of the outer loop, and of iterations of each ReLU run.

    Returns
    -------
    SeparationResult

    Raises
    ------
    EstimationError
        If the inputs are inconsistent (lengths, missing fixed-effect codes), ``y`` or ``X`` is
        not finite, ``y`` is negative, ``weights`` is not positive, or ``tol`` or ``maxiter`` is
        out of range.

    Warns
    -----
    SeparationWarning
        If the ReLU method or the outer loop stops at ``maxiter`` before converging: some
        separated observations may then remain in the sample.

    Notes
    -----
    The ReLU method runs again whenever the sample changed since its last run, including by its
    own drops: its limit can miss separated observations whose fit it clipped to zero early, and
    those are found on the reduced sample (dropping separated observations keeps every other
    separated observation separated).
    """
    y_arr, x_arr, codes = _validate(y, X, fe, weights, tol, maxiter)
    n = y_arr.shape[0]
    keep = np.ones(n, dtype=bool)
    dropped = dict.fromkeys(DROP_REASONS, 0)
    positive = y_arr > 0
    can_separate = x_arr.shape[1] > 0 or bool(codes) or intercept
    relu_iterations = 0
    relu_sample_size = -1  # number of kept observations when the ReLU method last ran
    converged = False
    rounds = 0
    for rounds in range(1, maxiter + 1):  # noqa: B007 - the round count is reported
        changed = False
        if fe_zero and codes:
            changed |= _drop(keep, _in_all_zero_group(codes, positive, keep), dropped, "fe_zero")
        if singletons and codes:
            changed |= _drop(keep, _in_singleton_group(codes, keep), dropped, "singleton")
        n_kept = int(np.count_nonzero(keep))
        if regressor and can_separate and n_kept and n_kept != relu_sample_size:
            idx = np.flatnonzero(keep)
            design = _design(x_arr[idx], tuple(code[idx] for code in codes), intercept)
            # LSMR's vector operations are too small for BLAS threads to pay: with two cores
            # and threads competing they made it 10-20x slower
            from threadpoolctl import threadpool_limits  # the ReLU check only

            with threadpool_limits(limits=1, user_api="blas"):
                sep, iters = _relu_separated(y_arr[idx], design, tol=tol, maxiter=maxiter)
            relu_iterations += iters
            relu_sample_size = n_kept
            out = np.zeros(n, dtype=bool)
            out[idx[sep]] = True
            changed |= _drop(keep, out, dropped, "regressor")
        if not changed:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"separation check stopped after maxiter={maxiter} rounds while still dropping "
            "observations; some separated observations may remain. Increase maxiter.",
            SeparationWarning,
            stacklevel=2,
        )
    return SeparationResult(keep, dropped, rounds, relu_iterations)


# --- validation ---------------------------------------------------------------------------------


def _validate(
    y: np.ndarray,
    X: np.ndarray | None,
    fe: FixedEffects | None,
    weights: np.ndarray | None,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Check the inputs; return ``y`` and ``X`` as float arrays and the fixed-effect codes."""
    y_arr = np.asarray(y, dtype=np.float64)
    if y_arr.ndim != 1:
        raise EstimationError(f"y must be one-dimensional; got shape {y_arr.shape}")
    n = y_arr.shape[0]
    if n == 0:
        raise EstimationError("empty sample: y has no observations")
    bad = ~np.isfinite(y_arr)
    if bad.any():
        raise EstimationError(
            f"y has {int(bad.sum())} missing or infinite values; drop them before the "
            "separation check"
        )
    if (y_arr < 0).any():
        raise EstimationError(
            f"Poisson outcome must be non-negative; y has {int((y_arr < 0).sum())} negative "
            f"values (minimum {y_arr.min():g})"
        )
    x_arr = _validate_regressors(X, n)
    codes: tuple[np.ndarray, ...] = ()
    if fe is not None and len(fe) > 0:
        if fe.nobs != n:
            raise EstimationError(
                f"fixed effects cover {fe.nobs} observations but y has {n}; encode the fixed "
                "effects on the same rows"
            )
        for name, code in zip(fe.names, fe.codes, strict=True):
            if (code < 0).any():
                raise EstimationError(
                    f"fixed effect {name!r} has {int((code < 0).sum())} missing codes; "
                    "drop those observations first"
                )
        codes = tuple(np.asarray(code, dtype=np.int64) for code in fe.codes)
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise EstimationError(f"weights must have shape ({n},); got {w.shape}")
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise EstimationError(
                f"weights must be finite and positive; {int((~(np.isfinite(w) & (w > 0))).sum())} "
                "are not. Drop observations with zero or missing weights first"
            )
    if not 0 < tol < 1:
        raise EstimationError(f"tol must be in (0, 1); got {tol!r}")
    if maxiter < 1:
        raise EstimationError(f"maxiter must be at least 1; got {maxiter!r}")
    return y_arr, x_arr, codes


def _validate_regressors(X: np.ndarray | None, n: int) -> np.ndarray:
    """Regressors as an ``(n, k)`` float array (``k = 0`` for none)."""
    if X is None:
        return np.zeros((n, 0))
    x_arr = np.asarray(X, dtype=np.float64)
    if x_arr.ndim == 1:
        x_arr = x_arr[:, None]
    if x_arr.ndim != 2 or x_arr.shape[0] != n:
        raise EstimationError(
            f"X must have shape (n, k) with n = len(y) = {n}; got shape {x_arr.shape}"
        )
    bad = ~np.isfinite(x_arr)
    if bad.any():
        raise EstimationError(
            f"X has {int(bad.sum())} missing or infinite values; drop those observations "
            "before the separation check"
        )
    return x_arr


# --- rules 1 and 2: group counts ----------------------------------------------------------------


def _in_all_zero_group(
    codes: tuple[np.ndarray, ...], positive: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Kept observations whose group, in some dimension, has no kept positive outcome."""
    out = np.zeros(keep.shape[0], dtype=bool)
    kept_positive = (positive & keep).astype(np.float64)
    for code in codes:
        n_positive = np.bincount(code, weights=kept_positive)
        out |= n_positive[code] == 0
    return out & keep


def _in_singleton_group(codes: tuple[np.ndarray, ...], keep: np.ndarray) -> np.ndarray:
    """Kept observations alone, among kept observations, in their group of some dimension."""
    out = np.zeros(keep.shape[0], dtype=bool)
    kept = keep.astype(np.float64)
    for code in codes:
        size = np.bincount(code, weights=kept)
        out |= size[code] == 1
    return out & keep


def _drop(keep: np.ndarray, out: np.ndarray, dropped: dict[str, int], reason: str) -> bool:
    """Drop the kept observations flagged in ``out`` (in place), counting them under ``reason``."""
    newly = out & keep
    count = int(np.count_nonzero(newly))
    if count:
        keep &= ~newly
        dropped[reason] += count
    return count > 0


# --- rule 3: the ReLU method --------------------------------------------------------------------


def _design(x: np.ndarray, codes: tuple[np.ndarray, ...], intercept: bool) -> sp.csr_matrix:
    """Sparse design: regressors scaled to a largest value of 1, then fixed-effect dummies.

    Zero columns are left out; so are the dummies of groups with no observation (their codes
    do not occur among the rows). A column of ones stands for the intercept without fixed effects.
    """
    import scipy.sparse as sp

    n = x.shape[0]
    scale = np.abs(x).max(axis=0) if x.shape[1] else np.zeros(0)
    dense_x = x[:, scale > 0] / scale[scale > 0]
    # every row holds the same number of entries: the non-zero regressor columns (stored even
    # where a value is zero) and one dummy per dimension, so CSR arrays are built directly
    parts_idx: list[np.ndarray] = [np.broadcast_to(np.arange(dense_x.shape[1]), dense_x.shape)]
    parts_val: list[np.ndarray] = [dense_x]
    offset = dense_x.shape[1]
    for code in codes:
        dense, used = dense_codes(code)
        parts_idx.append((dense + offset)[:, None])
        parts_val.append(np.ones((n, 1)))
        offset += used.size
    if not codes and intercept:
        parts_idx.append(np.full((n, 1), offset))
        parts_val.append(np.ones((n, 1)))
        offset += 1
    if offset == 0:
        return sp.csr_matrix((n, 0))
    indices = np.hstack(parts_idx).astype(np.int64).ravel()
    data = np.hstack(parts_val).ravel()
    per_row = indices.size // n if n else 0
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int64) if n else np.zeros(1, np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(n, offset))


class _ConstrainedFit:
    """Least squares of ``u`` on a design with ``xb = 0`` imposed on some rows.

    The constraint is imposed by weighting (weight :data:`CONSTRAINT_WEIGHT` on the constrained
    rows) and its residual error removed by shifting the targets of those rows (the method of
    multipliers). Successive fits share the coefficients and the shifts: each LSMR run solves for
    a change only, which warm-starts it while keeping its relative stopping rule meaningful.
    """

    def __init__(self, design: sp.csr_matrix, constrained: np.ndarray, tol: float) -> None:
        import scipy.sparse as sp

        self.constrained = constrained
        self.sw = np.sqrt(np.where(constrained, CONSTRAINT_WEIGHT, 1.0))
        weighted = sp.diags(self.sw) @ design
        norm = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=0)).ravel())
        norm[norm == 0] = 1.0
        self.weighted = sp.csr_matrix(weighted @ sp.diags(1.0 / norm))
        self.coef = np.zeros(design.shape[1])
        self.fitted = np.zeros(design.shape[0])
        self.shift = np.zeros(design.shape[0])
        self.tol = tol
        self.exhausted = False

    def fit(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """Fitted values ``xb`` of ``u`` and the largest ``|xb|`` left on the constrained rows."""
        xb = self._solve(u + self.shift)
        violation = 0.0
        for _ in range(MAX_REFINEMENTS + 1):
            violation = float(np.abs(xb[self.constrained]).max()) if self.constrained.any() else 0.0
            if violation <= self.tol:
                break
            self.shift[self.constrained] -= xb[self.constrained]
            xb = self._solve(u + self.shift)
        return xb, violation

    def _solve(self, target: np.ndarray) -> np.ndarray:
        from scipy.sparse.linalg import lsmr

        lsmr_tol = self.tol * LSMR_TOL_FACTOR
        sol = lsmr(
            self.weighted,
            self.sw * target - self.fitted,
            atol=lsmr_tol,
            btol=lsmr_tol,
            conlim=0.0,  # no limit: the weighting makes the condition number large on purpose
            maxiter=LSMR_MAXITER,
        )
        self.exhausted |= sol[1] == 7  # istop 7: iteration limit reached
        self.coef += sol[0]
        self.fitted = self.weighted @ self.coef
        return np.asarray(self.fitted / self.sw)


def _relu_separated(
    y: np.ndarray, design: sp.csr_matrix, *, tol: float, maxiter: int
) -> tuple[np.ndarray, int]:
    """Mask of the observations separated by the columns of ``design``, and the iterations."""
    n = y.shape[0]
    boundary = y == 0
    n_boundary = int(np.count_nonzero(boundary))
    if n_boundary == 0 or design.shape[1] == 0:
        return np.zeros(n, dtype=bool), 0
    solver = _ConstrainedFit(design, ~boundary, tol)
    u = boundary.astype(np.float64)
    active = boundary.copy()  # observations where u > 0
    stable = 0
    tried: np.ndarray | None = None
    for iteration in range(1, maxiter + 1):
        xb, violation = solver.fit(u)
        delta = RELU_TOL + violation
        xb_b = _rectify_band(xb[boundary], delta)
        if (xb_b >= 0).all():  # xb is a certificate of separation
            return _scatter(boundary, xb_b > 0), iteration

        # Normal equations: z'We = 0 for every certificate z, so when no residual is negative,
        # the separated observations with u > 0 have a zero residual. ppmlhdfe declares all such
        # candidates separated; some may not be (false positives on random designs), so the
        # candidates are certified first.
        resid_b = u[boundary] - xb[boundary]
        resid_b[np.abs(resid_b) < RELU_ZERO_TOL] = 0.0
        if (resid_b >= 0).all():
            candidates = _scatter(boundary, (xb_b > 0) & (resid_b <= delta))
            if not candidates.any():
                return candidates, iteration
            certified = _certificate_on(design, candidates, u, tol)
            if certified is not None:
                return certified, iteration

        u = np.zeros(n)
        u[boundary] = np.maximum(xb_b, 0.0)
        now_active = u > 0
        stable = stable + 1 if np.array_equal(now_active, active) else 0
        active = now_active
        if stable >= STABLE_ITERATIONS and active.any():
            if tried is None or not np.array_equal(tried, active):
                tried = active
                jump = _certificate_on(design, active, u, tol)
                if jump is not None:
                    return jump, iteration
    if solver.exhausted:
        warnings.warn(
            f"LSMR hit its cap of {LSMR_MAXITER} iterations in the ReLU separation check",
            SeparationWarning,
            stacklevel=3,
        )
    warnings.warn(
        f"ReLU separation check did not converge in maxiter={maxiter} iterations on "
        f"{n_boundary} zero outcomes; some separated observations may remain and the estimates "
        "may diverge. Increase maxiter.",
        SeparationWarning,
        stacklevel=3,
    )
    return np.zeros(n, dtype=bool), maxiter


def _certificate_on(
    design: sp.csr_matrix, support: np.ndarray, u: np.ndarray, tol: float
) -> np.ndarray | None:
    """Separated observations certified by projecting ``u`` on certificates within ``support``.

    The projection (the limit of the ReLU iterations while ``u > 0`` stays on ``support``) is a
    certificate when it is non-negative and zero off ``support``, within the constraint error:
    the observations where it is positive are separated. A projection that is zero everywhere
    means that the iterations decay to zero: an empty mask. When the projection is negative
    somewhere, the support shrinks to where it is positive and the projection is repeated, at
    most :data:`MAX_SHRINKS` times; ``None`` when that yields no certificate.
    """
    for attempt in range(MAX_SHRINKS + 1):
        xb, violation = _ConstrainedFit(design, ~support, tol).fit(np.where(support, u, 0.0))
        if violation > RELU_TOL:
            return None
        xb_s = _rectify_band(xb[support], RELU_TOL + violation)
        positive = xb_s > 0
        if (xb_s >= 0).all() and (positive.any() or attempt == 0):
            return _scatter(support, positive)
        if not positive.any():
            return None
        support = _scatter(support, positive)
    return None


def _rectify_band(xb: np.ndarray, delta: float) -> np.ndarray:
    """Copy of ``xb`` with the values within ``[-delta / 10, delta]`` set to zero."""
    out = xb.copy()
    out[(out >= -0.1 * delta) & (out <= delta)] = 0.0
    return out


def _scatter(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Full-length boolean array equal to ``values`` on ``mask`` and false elsewhere."""
    out = np.zeros(mask.shape[0], dtype=bool)
    out[mask] = values
    return out
