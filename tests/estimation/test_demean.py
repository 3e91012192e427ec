"""The compiled demeaning kernel against the plain numpy oracle, and its guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.demean import demean, demean_numpy
from gravity.estimation.fixed_effects import FixedEffects

# both solve the same projection to 1e-12 in the weighted norm; elementwise 1e-8 is ample
RESIDUAL_ATOL = 1e-8


def random_fe(
    seed: int, n: int, levels: tuple[int, ...]
) -> tuple[FixedEffects, np.random.Generator]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{q}": rng.integers(0, g, n) for q, g in enumerate(levels)})
    return FixedEffects.from_frame(frame, [[c] for c in frame.columns]), rng


@pytest.mark.parametrize("levels", [(40,), (40, 30), (40, 30, 200)])
def test_kernel_matches_numpy_oracle(levels: tuple[int, ...]) -> None:
    fe, rng = random_fe(1, 5000, levels)
    x = rng.normal(size=(5000, 3))
    w = rng.uniform(0.1, 5.0, 5000)
    fast = demean(x, fe, w, tol=1e-13)
    slow = demean_numpy(x, fe, w, tol=1e-14, maxiter=100_000)
    assert fast.converged and slow.converged
    np.testing.assert_allclose(fast.residuals, slow.residuals, atol=RESIDUAL_ATOL)
    # residuals are orthogonal to every fixed-effect dummy (weighted group sums are zero)
    for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
        sums = np.bincount(code, weights=w * fast.residuals[:, 0], minlength=n_lev)
        np.testing.assert_allclose(sums, 0.0, atol=1e-8)


def test_extreme_weights_stay_finite_and_bounded() -> None:
    # weight ratios of 1e6 make alternating projections crawl; the kernel must not blow up
    fe, rng = random_fe(2, 400, (20, 15, 10))
    x = rng.normal(size=400)
    w = np.where(rng.uniform(size=400) < 0.5, 1e6, 1.0)
    out = demean(x, fe, w, maxiter=2000)
    assert np.all(np.isfinite(out.residuals))
    norm = np.sqrt(np.sum(w * out.residuals**2))
    assert norm <= np.sqrt(np.sum(w * x**2)) * (1 + 1e-8)


def test_warm_start_gives_same_answer() -> None:
    fe, rng = random_fe(3, 3000, (50, 60))
    x = rng.normal(size=3000)
    w = rng.uniform(0.5, 2.0, 3000)
    cold = demean(x, fe, w, tol=1e-13).residuals
    shifted = x - (rng.normal(size=50)[fe.codes[0]] + rng.normal(size=60)[fe.codes[1]])
    warm = demean(shifted, fe, w, tol=1e-13).residuals
    np.testing.assert_allclose(warm, cold, atol=RESIDUAL_ATOL)
