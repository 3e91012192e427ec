"""Conjugate gradients on the Schur complement (hard fixed-effect graphs) against two oracles.

Oracles: a dense weighted least-squares solve with explicit dummy columns (``numpy.linalg.lstsq``,
independent of any demeaning code), and the plain numpy alternating projections
(:func:`~gravity.estimation.demean.demean_numpy`). Fits: statsmodels GLM-Poisson with explicit
dummies on a small worker–firm panel where projections crawl.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg, sparse

from gravity.estimation import schur
from gravity.estimation.demean import AUTO_SWITCH_SWEEPS, demean, demean_numpy, project_rows
from gravity.estimation.fixed_effects import FixedEffects
from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.estimation.schur import SchurCache, SchurLayout, schur_complement
from tests.estimation.test_demean import RESIDUAL_ATOL, random_fe
from tests.estimation.test_oracle_statsmodels import COEF_RTOL, SE_RTOL
from tests.estimation.test_solver_options import STOPPING_COEF_RTOL, STOPPING_SE_RTOL, gravity_panel

# the dense least-squares oracle is exact to rounding (~1e-13 on these sizes); the solver stops
# at tol 1e-13 in the weighted norm, so elementwise residuals agree far below 1e-9
DENSE_ATOL = 1e-9
# weighted group sums of a residual: zero up to the stopping tolerance times the column's size
ORTHOGONALITY_ATOL = 1e-8


def worker_firm(
    seed: int, n_workers: int, n_firms: int, periods: int = 6, window: int = 3
) -> pd.DataFrame:
    """Workers at a home firm on a line; 5% move once, at most ``window`` firms away."""
    rng = np.random.default_rng(seed)
    worker = np.repeat(np.arange(n_workers), periods)
    period = np.tile(np.arange(periods), n_workers)
    home = (np.arange(n_workers) * n_firms) // n_workers
    moves = rng.uniform(size=n_workers) < 0.05
    when = rng.integers(1, periods, n_workers)
    dest = np.clip(home + rng.integers(-window, window + 1, n_workers), 0, n_firms - 1)
    firm = np.where(moves[worker] & (period >= when[worker]), dest[worker], home[worker])
    x = rng.normal(size=worker.size) + 0.3 * np.sin(firm)
    eta = 0.5 * x + rng.normal(0, 0.5, n_workers)[worker] + np.sin(firm / 10.0) + 0.05 * period
    y = rng.poisson(np.exp(eta)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "worker": worker, "firm": firm, "period": period})


def encode(frame: pd.DataFrame, dims: tuple[str, ...]) -> FixedEffects:
    return FixedEffects.from_frame(frame, [[d] for d in dims])


def dense_residual(x: np.ndarray, fe: FixedEffects, w: np.ndarray) -> np.ndarray:
    """``x`` less its weighted least-squares fit on every dummy column (the exact answer)."""
    dummies = np.hstack([np.eye(n)[code] for code, n in zip(fe.codes, fe.n_levels, strict=True)])
    root = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(dummies * root[:, None], x * root, rcond=None)
    return x - dummies @ coef


@pytest.mark.parametrize("dims", [("worker", "firm"), ("worker", "firm", "period")])
def test_schur_matches_dense_least_squares_on_a_weakly_connected_graph(
    dims: tuple[str, ...],
) -> None:
    frame = worker_firm(1, 600, 120)
    fe = encode(frame, dims)
    rng = np.random.default_rng(2)
    x = rng.normal(size=fe.nobs) + np.sin(fe.codes[1] / 7.0)
    w = rng.uniform(0.2, 5.0, fe.nobs)
    out = demean(x, fe, w, tol=1e-13, solver="cg", preconditioner="schur")
    assert out.converged and out.solver == "cg"
    # the factor is (near) exact: a handful of steps, where Jacobi CG needs dozens
    jacobi = demean(x, fe, w, tol=1e-13, solver="cg", preconditioner="jacobi")
    assert out.iterations <= 5 < jacobi.iterations
    np.testing.assert_allclose(out.residuals, dense_residual(x, fe, w), atol=DENSE_ATOL)
    np.testing.assert_allclose(jacobi.residuals, out.residuals, atol=DENSE_ATOL)
    for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
        sums = np.bincount(code, weights=w * out.residuals, minlength=n_lev)
        np.testing.assert_allclose(sums, 0.0, atol=ORTHOGONALITY_ATOL)


def test_firms_without_movers_leave_empty_rows_in_the_schur_complement() -> None:
    # a firm whose workers never move is absorbed by them: its row of S is zero, and the factor
    # must still exist (the ridge is scaled by the firm's own weight, not by S's diagonal)
    frame = worker_firm(3, 600, 120)
    fe = encode(frame, ("worker", "firm", "period"))
    w = np.random.default_rng(4).uniform(0.5, 2.0, fe.nobs)
    layout = SchurLayout.of(fe)
    assert layout is not None and layout.eliminated == 0  # the workers: most levels
    matrix = schur_complement(layout, w)
    assert matrix is not None
    firm_diag = matrix.diagonal()[: fe.n_levels[1]]
    assert np.sum(firm_diag < 1e-9) > 10
    assert SchurCache().get(fe, w) is not None


def test_a_factor_from_earlier_weights_gives_the_same_residual() -> None:
    frame = worker_firm(7, 600, 120)
    fe = encode(frame, ("worker", "firm", "period"))
    rng = np.random.default_rng(8)
    x = rng.normal(size=fe.nobs)
    w1 = rng.uniform(0.5, 2.0, fe.nobs)
    w2 = w1 * rng.uniform(0.8, 1.25, fe.nobs)  # an IRLS step's change of weights
    cache = SchurCache()
    first = np.array([x])
    project_rows(first, fe, w1, 1e-13, 1000, "cg", cache=cache)
    second = np.array([x])
    _, ok, used = project_rows(second, fe, w2, 1e-13, 1000, "cg", cache=cache)
    assert ok and used and cache.factorisations == 1  # the first factor preconditioned both
    np.testing.assert_allclose(first[0], dense_residual(x, fe, w1), atol=DENSE_ATOL)
    np.testing.assert_allclose(second[0], dense_residual(x, fe, w2), atol=DENSE_ATOL)


def test_too_large_for_a_factor_falls_back_to_jacobi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schur, "MAX_SCHUR_NNZ", 0)
    frame = worker_firm(9, 300, 60)
    fe = encode(frame, ("worker", "firm", "period"))
    w = np.random.default_rng(10).uniform(0.5, 2.0, fe.nobs)
    x = frame["x"].to_numpy()
    assert SchurCache().get(fe, w) is None
    out = demean(x, fe, w, tol=1e-13, solver="cg")
    assert out.converged and out.iterations > 5  # Jacobi's step count, not the factor's
    np.testing.assert_allclose(out.residuals, dense_residual(x, fe, w), atol=DENSE_ATOL)


def test_well_connected_random_graph_matches_the_oracle() -> None:
    fe, rng = random_fe(11, 5000, (40, 30, 200))
    x = rng.normal(size=(5000, 2))
    w = rng.uniform(0.1, 5.0, 5000)
    fast = demean(x, fe, w, tol=1e-13, solver="cg")
    slow = demean_numpy(x, fe, w, tol=1e-14, maxiter=100_000)
    assert fast.converged and slow.converged
    np.testing.assert_allclose(fast.residuals, slow.residuals, atol=RESIDUAL_ATOL)


def difficult_panel() -> pd.DataFrame:
    return worker_firm(12, 300, 60)


def dummy_poisson(frame: pd.DataFrame) -> sm.GLM:
    """GLM-Poisson of y on x and explicit worker, firm and period dummies.

    The dummies are collinear (one per extra dimension, and every firm whose workers never move
    is absorbed by them): a pivoted QR keeps a full-rank subset, so the covariance is an inverse,
    not a pseudo-inverse.
    """
    dummies = pd.concat(
        [pd.get_dummies(frame[c], prefix=c, dtype=float) for c in ("worker", "firm", "period")],
        axis=1,
    )
    _, r, piv = linalg.qr(dummies.to_numpy(), mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-9 * abs(r[0, 0])))
    design = pd.concat([frame[["x"]], dummies.iloc[:, np.sort(piv[:rank])]], axis=1)
    return sm.GLM(frame["y"], design, family=sm.families.Poisson())


SOLVER_CASES = [("cg", "schur"), ("auto", "schur"), ("cg", "jacobi"), ("auto", "jacobi")]


@pytest.fixture(scope="module")
def glm_on_difficult_panel() -> tuple[float, float]:
    """Coefficient and SE of x from GLM with dummies (fitted once: ~3 s)."""
    frame = difficult_panel()
    # workers who never earn anything are separated (fitted value 0): fixest and we drop them,
    # and GLM's maximum-likelihood estimate is the same on the remaining rows
    kept = frame.groupby("worker")["y"].transform("sum") > 0
    glm = dummy_poisson(frame[kept].reset_index(drop=True)).fit(tol=1e-13)
    return float(glm.params["x"]), float(glm.bse["x"])


@pytest.mark.filterwarnings("ignore::gravity.exceptions.SeparationWarning")
@pytest.mark.parametrize(("solver", "preconditioner"), SOLVER_CASES)
def test_fit_on_a_difficult_graph_matches_glm_with_dummies(
    solver: str, preconditioner: str, glm_on_difficult_panel: tuple[float, float]
) -> None:
    frame = difficult_panel()
    options = PpmlOptions(
        irls=IrlsOptions(demean_solver=solver, demean_preconditioner=preconditioner)  # type: ignore[arg-type]
    )
    res = Ppml("y ~ x | worker + firm + period", frame, vcov="iid", options=options).fit()
    coef, se = glm_on_difficult_panel
    np.testing.assert_allclose(res.coef["x"], coef, rtol=COEF_RTOL)
    iid = res.with_vcov({"type": "iid", "ssc": "none"})
    np.testing.assert_allclose(iid.se["x"], se, rtol=SE_RTOL)


@pytest.mark.filterwarnings("ignore::gravity.exceptions.SeparationWarning")
def test_every_solver_agrees_on_a_difficult_graph() -> None:
    frame = difficult_panel()
    fe = encode(frame, ("worker", "firm", "period"))
    x = frame["x"].to_numpy()
    # the graph is hard: projections need more sweeps than the hand-over point, so "auto"
    # really hands over to the Krylov solver
    assert demean(x, fe, tol=1e-9, solver="ap").iterations > AUTO_SWITCH_SWEEPS
    fits = {
        (s, p): Ppml(
            "y ~ x | worker + firm + period",
            frame,
            options=PpmlOptions(
                irls=IrlsOptions(demean_solver=s, demean_preconditioner=p)  # type: ignore[arg-type]
            ),
        ).fit()
        for s, p in [("ap", "schur"), *SOLVER_CASES]
    }
    ref = fits[("ap", "schur")]
    for fit in fits.values():
        assert fit.converged
        np.testing.assert_allclose(fit.coef, ref.coef, rtol=STOPPING_COEF_RTOL)
        np.testing.assert_allclose(fit.se, ref.se, rtol=STOPPING_SE_RTOL)


def test_a_stalled_schur_solve_is_finished_by_jacobi(monkeypatch: pytest.MonkeyPatch) -> None:
    # a factor broken by rounding (extreme weights) makes the Schur solve give up at once
    monkeypatch.setattr(schur.SchurSolver, "solve", lambda self, r, threshold, maxiter: (0, False))
    frame = worker_firm(13, 300, 60)
    fe = encode(frame, ("worker", "firm", "period"))
    w = np.random.default_rng(14).uniform(0.5, 2.0, fe.nobs)
    x = frame["x"].to_numpy()
    out = demean(x, fe, w, tol=1e-13, solver="cg")
    assert out.converged and out.iterations > 5
    np.testing.assert_allclose(out.residuals, dense_residual(x, fe, w), atol=DENSE_ATOL)


def test_dense_schur_complements_are_left_to_jacobi(monkeypatch: pytest.MonkeyPatch) -> None:
    # exporter-year and importer-year levels linked through pair effects give a Schur complement
    # about half dense: its factor would cost more than Jacobi's steps (penppml: 30x), so the
    # reduction is declined there, and kept on the worker-firm graph (density below 1%)
    monkeypatch.setattr(schur, "DENSE_OK_LEVELS", 0)
    trade = gravity_panel(seed=3)
    fe = encode(trade, ("exp_year", "imp_year", "pair"))
    w = np.random.default_rng(15).uniform(0.5, 2.0, fe.nobs)
    assert SchurCache().get(fe, w) is None
    out = demean(trade["rta"].to_numpy(), fe, w, tol=1e-13, solver="cg")
    assert out.converged
    wf = encode(worker_firm(16, 3000, 600), ("worker", "firm", "period"))
    assert SchurCache().get(wf, np.ones(wf.nobs)) is not None


# the sampled density counts DENSITY_SAMPLE whole rows exactly: on these graphs the rows' fill
# varies by a factor of a few, so the estimate stays within a third of the exact share (and both
# far from MAX_DENSITY: ~0.5 on the trade panel, < 0.01 on the worker-firm graph)
DENSITY_RTOL = 1 / 3


@pytest.mark.parametrize("kind", ["trade", "worker_firm"])
def test_sampled_density_matches_the_assembled_complement(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "trade":
        fe = encode(gravity_panel(seed=3), ("exp_year", "imp_year", "pair"))
    else:
        fe = encode(worker_firm(16, 3000, 600), ("worker", "firm", "period"))
    layout = schur.SchurLayout.of(fe)
    assert layout is not None
    w = np.random.default_rng(17).uniform(0.5, 2.0, fe.nobs)
    limit = schur.MAX_DENSITY
    monkeypatch.setattr(schur, "MAX_DENSITY", 1.0)  # assemble it whatever its density
    exact = schur.schur_complement(layout, w)
    assert exact is not None
    kc = layout.kcodes
    b = sparse.coo_matrix(
        (np.ones(kc.size), (np.tile(layout.ecode, kc.shape[0]), kc.ravel())),
        shape=(layout.n_elim, layout.n_kept),
    ).tocsr()
    # the pattern, before any entry cancels: each eliminated level couples its kept levels
    pattern = (b.T @ b).tocsr()
    share = pattern.nnz / layout.n_kept**2
    estimate = schur._sampled_density(b, layout.n_kept)
    assert estimate == pytest.approx(share, rel=DENSITY_RTOL)
    assert exact.nnz <= pattern.nnz
    assert (share > limit) == (kind == "trade")
