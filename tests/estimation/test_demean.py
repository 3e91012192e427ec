"""The compiled demeaning kernel against the plain numpy oracle, and its guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.demean import AUTO_SWITCH_SWEEPS, demean, demean_numpy
from gravity.estimation.fixed_effects import FixedEffects

# both solve the same projection to 1e-12 in the weighted norm; elementwise 1e-8 is ample
RESIDUAL_ATOL = 1e-8
# weakly connected graph: the plain-sweep oracle itself is only this accurate there
SLOW_GRAPH_ATOL = 1e-7


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


def weakly_connected_fe(seed: int, n_workers: int, n_firms: int) -> FixedEffects:
    """Worker and firm effects linked by few local movers: projections crawl on this graph."""
    rng = np.random.default_rng(seed)
    worker = np.repeat(np.arange(n_workers), 6)
    period = np.tile(np.arange(6), n_workers)
    home = (np.arange(n_workers) * n_firms) // n_workers
    moves = rng.uniform(size=n_workers) < 0.05
    dest = np.clip(home + rng.integers(-3, 4, n_workers), 0, n_firms - 1)
    firm = np.where(moves[worker] & (period >= 3), dest[worker], home[worker])
    frame = pd.DataFrame({"worker": worker, "firm": firm, "period": period})
    return FixedEffects.from_frame(frame, [["worker"], ["firm"], ["period"]])


@pytest.mark.parametrize("levels", [(40, 30), (40, 30, 200)])
def test_conjugate_gradients_match_numpy_oracle(levels: tuple[int, ...]) -> None:
    fe, rng = random_fe(4, 5000, levels)
    x = rng.normal(size=(5000, 2))
    w = rng.uniform(0.1, 5.0, 5000)
    fast = demean(x, fe, w, tol=1e-13, solver="cg")
    slow = demean_numpy(x, fe, w, tol=1e-14, maxiter=100_000)
    assert fast.converged and fast.solver == "cg"
    np.testing.assert_allclose(fast.residuals, slow.residuals, atol=RESIDUAL_ATOL)


def test_auto_hands_slow_graphs_to_conjugate_gradients() -> None:
    fe = weakly_connected_fe(5, 3000, 600)
    rng = np.random.default_rng(6)
    x = rng.normal(size=fe.nobs) + np.sin(fe.codes[1] / 20.0)
    w = rng.uniform(0.5, 2.0, fe.nobs)
    projections = demean(x, fe, w, tol=1e-11, solver="ap", maxiter=200_000)
    # the graph is slow for projections: many more sweeps than the hand-over point
    assert projections.converged and projections.iterations > AUTO_SWITCH_SWEEPS
    auto = demean(x, fe, w, tol=1e-11, solver="auto")
    assert auto.converged and auto.solver == "cg"
    slow = demean_numpy(x, fe, w, tol=1e-15, maxiter=400_000)
    # the oracle's stopping rule is on one plain sweep's change, so on this slow graph its own
    # error is of the order of its tolerance times the iterations: compare at 1e-7
    np.testing.assert_allclose(auto.residuals, slow.residuals, atol=SLOW_GRAPH_ATOL)
    np.testing.assert_allclose(projections.residuals, slow.residuals, atol=SLOW_GRAPH_ATOL)


def test_demean_leaves_its_input_alone() -> None:
    fe, rng = random_fe(7, 500, (20, 10))
    x = rng.normal(size=(500, 1))
    before = x.copy()
    demean(x, fe, tol=1e-10)
    np.testing.assert_array_equal(x, before)


def test_unknown_solver_is_named() -> None:
    fe, rng = random_fe(8, 100, (5, 5))
    with pytest.raises(ValueError, match="unknown demeaning solver 'lsqr'"):
        demean(rng.normal(size=100), fe, solver="lsqr")
