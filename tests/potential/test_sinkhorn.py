"""Pass 1 of the chunked potential by matrix scaling, against the general HDFE PPML.

Reference: :class:`gravity.estimation.ppml.Ppml` (itself checked against statsmodels GLM with
explicit dummies in ``tests/estimation``) on the same grid, run to a tight tolerance so that its
own convergence error stays below the comparison's. At its default deviance tolerance (1e-10)
IRLS leaves relative errors up to ~3e-5 on the smallest fitted values of the demo world (its
exporter x product sums are off by as much), while the scaling meets every sum to 1e-12; run
tighter, the two agree to ~1e-9 (measured).
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.exceptions import GravityWarning
from gravity.panel.zeros import Axes, dense_flows
from gravity.potential.chunked import engine
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.chunked.runner import run_chunks
from gravity.potential.chunked.sinkhorn import (
    MAX_ITER,
    STALL_WINDOW,
    scale_products,
    will_converge,
)
from tests.potential.test_chunked import options, related, world_panel

TIGHT = PpmlOptions(irls=IrlsOptions(tol=1e-14, demean_tol=1e-12))
"""The reference fit, run past its default tolerance (see the module docstring)."""
FITTED_RTOL = 1e-8
"""Fitted values, scaling vs tight IRLS: measured <= 1e-9 relative on the demo world."""
SUMS_RTOL = 1e-10
"""The first-order conditions of the Poisson MLE (exporter x product and importer x product
sums of fitted values equal those of the flows); the solver stops at 1e-12 on the row sums."""
EFFECT_ATOL = 1e-7
"""Normalised log effects (supply, demand): differences of log fitted values of ~1e-9, spread
over the effects of a product by the minimum-norm split; measured <= 4e-8 on both worlds."""


def demo_grid(n_products: int = 6) -> pd.DataFrame:
    """The demo world's base-year grid for its first products, with a random pair ease."""
    panel = world_panel()
    base = int(panel["year"].max())
    products = tuple(sorted(panel["product"].unique()))[:n_products]
    countries = tuple(sorted(set(panel["exporter"]) | set(panel["importer"])))
    grid = dense_flows(panel, Axes(countries, countries, (), products), base)
    return with_ease(grid, np.random.default_rng(0), missing=0.0)


def with_ease(grid: pd.DataFrame, rng: np.random.Generator, missing: float) -> pd.DataFrame:
    """Ease by pair (normal), a share ``missing`` of pairs without ease dropped (as the engine)."""
    pairs = grid[["exporter", "importer"]].drop_duplicates()
    ease = rng.normal(-3.0, 2.0, len(pairs))
    ease[rng.random(len(pairs)) < missing] = np.nan
    by_pair = pd.Series(ease, index=pd.MultiIndex.from_frame(pairs))
    cell_pairs = pd.MultiIndex.from_frame(grid[["exporter", "importer"]])
    grid = grid.assign(ease=by_pair.reindex(cell_pairs).to_numpy())
    return grid[grid["ease"].notna()].reset_index(drop=True)


def sparse_grid(seed: int, sigma: float = 2.5) -> pd.DataFrame:
    """A random world with ~4% positive cells and lognormal values (~1e2..1e8 at ``sigma``
    2.5): many exporter x product and importer x product sums are zero (separated)."""
    rng = np.random.default_rng(seed)
    countries = tuple(f"C{i:02d}" for i in range(25))
    products = tuple(f"{k:04d}" for k in range(8))
    grid = dense_flows(
        pd.DataFrame({"exporter": [], "importer": [], "product": [], "value": []}),
        Axes(countries, countries, (), products),
    )
    positive = rng.random(len(grid)) < 0.04
    grid["value"] = np.where(positive, np.exp(rng.normal(12.0, sigma, len(grid))), 0.0)
    return with_ease(grid, rng, missing=0.1)


def ppml_path(grid: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """``_fit_products`` through the general solver (tight) instead of the scaling."""
    with monkeypatch.context() as m:
        m.setattr(engine, "scale_products", lambda _grid: None)
        m.setattr(engine, "Ppml", partial(Ppml, options=TIGHT))
        return engine._fit_products(grid)


def assert_same_fit(got: tuple, want: tuple) -> None:
    supply, demand, fitted, separated = got
    assert separated == want[3]
    np.testing.assert_array_equal(np.isnan(fitted), np.isnan(want[2]))
    ok = ~np.isnan(want[2])
    np.testing.assert_allclose(fitted[ok], want[2][ok], rtol=FITTED_RTOL)
    for frame, ref, key, column in (
        (supply, want[0], "exporter", "observed"),
        (demand, want[1], "importer", "demand"),
    ):
        merged = frame.merge(ref, on=[key, "product"], how="outer", indicator=True)
        assert (merged["_merge"] == "both").all()
        np.testing.assert_allclose(
            merged[f"{column}_x"], merged[f"{column}_y"], rtol=0.0, atol=EFFECT_ATOL
        )


def test_scaling_equals_ppml_on_the_demo_world(monkeypatch: pytest.MonkeyPatch) -> None:
    grid = demo_grid()
    scaled = scale_products(grid)
    assert scaled is not None  # the dense grid takes the scaling path
    assert_same_fit(engine._fit_products(grid), ppml_path(grid, monkeypatch))


@pytest.mark.parametrize("seed", [1, 2])
def test_scaling_equals_ppml_on_a_sparse_world(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    grid = sparse_grid(seed)
    scaled = scale_products(grid)
    assert scaled is not None
    # many empty rows and columns: the separated cells are a large share of the grid
    assert scaled.separated > len(grid) // 4
    assert_same_fit(engine._fit_products(grid), ppml_path(grid, monkeypatch))


def tiny_grid(flows: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Three countries, one product, ease 0, the given flows."""
    countries = ("A", "B", "C")
    grid = dense_flows(
        pd.DataFrame({"exporter": [], "importer": [], "product": [], "value": []}),
        Axes(countries, countries, (), ("0001",)),
    )
    keys = list(zip(grid["exporter"], grid["importer"], strict=True))
    grid["value"] = [flows.get(k, 0.0) for k in keys]
    grid["ease"] = 0.0
    return grid


def reference(grid: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GravityWarning)
        fit = Ppml("value ~ 1 | exporter^product + importer^product", grid, offset="ease").fit()
    fitted = np.full(len(grid), np.nan)
    fitted[fit.sample] = fit.fitted
    return fitted


def test_flows_sums_met_only_in_the_limit_go_to_the_general_solver() -> None:
    # B and C sell only to A, and A's sales are all that B and C buy: the fit drives B->C and
    # C->B to zero, which the scaling reaches only in the limit (no convergence within the cap)
    grid = tiny_grid({("A", "B"): 2.0, ("A", "C"): 3.0, ("B", "A"): 1.0, ("C", "A"): 4.0})
    assert scale_products(grid) is None
    np.testing.assert_array_equal(engine._fit_products(grid)[2], reference(grid))


def test_disconnected_product_goes_to_the_general_solver() -> None:
    # A and B trade only with each other: two blocks whose effects are not tied together
    grid = tiny_grid({("A", "B"): 5.0, ("B", "A"): 2.0})
    assert scale_products(grid) is None
    np.testing.assert_array_equal(engine._fit_products(grid)[2], reference(grid))


def test_grid_not_dense_over_products_goes_to_the_general_solver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grid = demo_grid(3).drop(index=[7]).reset_index(drop=True)
    assert scale_products(grid) is None
    fitted = engine._fit_products(grid)[2]
    np.testing.assert_array_equal(fitted, reference(grid))


def test_scaling_meets_the_first_order_conditions_on_heavy_tails() -> None:
    # values spanning ~1e-2..1e12: IRLS at a deviance tolerance leaves the sums of the smallest
    # fixed-effect groups off by up to 2e-4 here, the scaling meets every one
    grid = sparse_grid(2, sigma=4.0)
    scaled = scale_products(grid)
    assert scaled is not None
    cells = grid.assign(fitted=scaled.fitted).dropna(subset=["fitted"])
    assert len(grid) - len(cells) == scaled.separated
    for key in ("exporter", "importer"):
        sums = cells.groupby([key, "product"])[["value", "fitted"]].sum()
        assert (sums["value"] > 0).all()
        np.testing.assert_allclose(sums["fitted"], sums["value"], rtol=SUMS_RTOL)


def test_chunked_run_records_the_solver_of_each_chunk(tmp_path: Path) -> None:
    opts = options().model_copy(update={"chunks": ChunkOptions(products=4)})
    run = run_chunks(world_panel(), opts, tmp_path / "chunks", related())
    # the demo world's chunks are dense grids with one block per product: all scaled
    assert run.info["chunks"] == 4
    assert run.info["chunks_fit_by_scaling"] == run.info["chunks"]
    records = [run.store.fit_record(i) for i in range(run.info["chunks"])]
    assert {r["solver"] for r in records} == {"scaling"}
    assert all(0.0 <= r["fit_seconds"] <= r["seconds"] for r in records)


def test_a_scaling_that_cannot_converge_stops_early() -> None:
    # the support of test_flows_sums_met_only_in_the_limit...: the error falls like 1/k, so
    # the rate check stops it after a few windows rather than at the cap
    grid = tiny_grid({("A", "B"): 2.0, ("A", "C"): 3.0, ("B", "A"): 1.0, ("C", "A"): 4.0})
    stats: dict[str, int] = {}
    assert scale_products(grid, stats=stats) is None
    assert stats["iterations"] <= 5 * STALL_WINDOW < MAX_ITER
    # without the cap mattering, it is still the general solver's fit
    np.testing.assert_array_equal(engine._fit_products(grid)[2], reference(grid))


@pytest.mark.parametrize("seed", [1, 2])
def test_converging_scalings_are_not_stopped(seed: int) -> None:
    # the worlds above converge (linearly): the rate check lets them finish, to the same fit
    # as without it (a cap of one window leaves the check nothing to stop)
    for grid in (demo_grid(), sparse_grid(seed), sparse_grid(seed, sigma=4.0)):
        stats: dict[str, int] = {}
        scaled = scale_products(grid, stats=stats)
        assert scaled is not None
        assert stats["iterations"] > 1


def test_will_converge_reads_the_rate() -> None:
    tol, window = 1e-12, 100
    # linear convergence: 1e-3 -> 1e-4 over a window needs 8 more windows to reach 1e-12
    assert will_converge(1e-4, 1e-3, window, tol, left=801)
    assert not will_converge(1e-4, 1e-3, window, tol, left=799)
    # sublinear (1/k): from iteration 1,000 to 1,100 the error falls by a tenth only, a rate
    # that would need ~2.3e4 more iterations (the error itself would need ~1e9)
    assert not will_converge(1e-3 / 1.1, 1e-3, window, tol, left=MAX_ITER)
    # no progress, or an error that grew
    assert not will_converge(1e-3, 1e-3, window, tol, left=MAX_ITER)
    assert not will_converge(2e-3, 1e-3, window, tol, left=MAX_ITER)
    # the first window has nothing to compare with; a met tolerance is met
    assert will_converge(1e-3, np.inf, window, tol, left=0)
    assert will_converge(1e-13, 1e-3, window, tol, left=0)
