"""Pass 1's product-level PPML as a matrix-scaling problem (Sinkhorn / RAS).

The model ``value ~ 1 | exporter^product + importer^product`` with a pair-level offset
``ease`` has no regressors, so its Poisson MLE ``mu_ijp = a_ip K_ij b_jp`` (``K = exp(ease)``)
is characterised by its first-order conditions alone: for every product, the row sums
(exporter) and column sums (importer) of ``mu`` equal those of the flows. Scaling ``K`` to
these marginals is iterative proportional fitting (RAS, Sinkhorn-Knopp); the equivalence of
PPML with exporter and importer fixed effects and RAS is shown in Fally (2015), "Structural
gravity and fixed effects", *Journal of International Economics* 97(1), 76-85.

On the dense chunk grid ``K`` is the same matrix for every product, so one iteration is two
BLAS products over (countries x products) matrices for the whole chunk, where the general
HDFE :class:`~gravity.estimation.ppml.Ppml` runs a separation check, IRLS and a fixed-effect
recovery cell by cell. Rows or columns whose flows sum to zero have effects at minus infinity:
their cells are the separated ones (``fe_zero`` of :class:`~gravity.estimation.ppml.Ppml`)
and get no effect and a NaN fitted value.

:func:`scale_products` returns ``None`` when the grid does not have that shape, when a
product's cells do not form one connected block (its effects would then be identified only up
to a constant per block, which the general solver normalises its own way) or when the scaling
does not converge; the caller then fits with :class:`~gravity.estimation.ppml.Ppml`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from threadpoolctl import threadpool_limits

from gravity.potential.chunked.coded import CodedGrid

__all__ = ["MARGIN_TOL", "MAX_ITER", "Scaled", "scale_coded", "scale_products", "will_converge"]

MARGIN_TOL = 1e-12
"""Stop when the largest relative error of an exporter x product sum is below this: the column
sums are exact after each half-step, so the row sums carry the whole error of the first-order
conditions. At 1e-12 the fitted values agree with :class:`~gravity.estimation.ppml.Ppml` at its
default tolerance (deviance 1e-10) to about 1e-9 relative."""

MAX_ITER = 5_000
"""Iteration cap; a product whose sums are still off after it (a support that admits the flows'
sums only in the limit, with some fitted values tending to zero) goes to the general solver."""

EASE_RANGE = 600.0
"""Largest spread of ``ease`` (in logs) scaled in floating point: ``exp`` of a wider spread
underflows, and such a chunk goes to the general solver."""


STALL_WINDOW = 100
"""Iterations between two checks of the convergence rate (:func:`will_converge`); the scaling
gives up after two checks in a row that say the cap will not be reached."""


def will_converge(error: float, earlier: float, window: int, tol: float, left: int) -> bool:
    """Whether ``error`` reaches ``tol`` within ``left`` iterations at the last window's rate.

    The scaling converges linearly where the MLE exists: the error falls by a constant factor
    per iteration, and ``log(tol / error) / rate`` iterations remain. Where the flows' sums are
    met only in the limit the fall is sublinear, the estimated rate keeps shrinking, and the
    estimate exceeds any cap; an error that did not fall at all never converges.
    """
    if error <= tol:
        return True
    if not (0.0 < error < earlier) or not np.isfinite(earlier):
        return not np.isfinite(earlier)  # the first window has nothing to compare with
    rate = np.log(error / earlier) / window  # < 0: log-error change per iteration
    return bool(np.log(tol / error) / rate <= left)


@dataclass(frozen=True)
class Scaled:
    """The scaled fit of one chunk (effects in logs, up to a constant per product)."""

    supply: pd.DataFrame
    """exporter, product, observed: log ``a`` of every exporter x product with flows."""
    demand: pd.DataFrame
    """importer, product, demand: log ``b`` of every importer x product with flows."""
    fitted: np.ndarray
    """Fitted value per grid cell, NaN on separated cells."""
    separated: int
    """Cells in an exporter x product or importer x product whose flows are all zero."""
    iterations: int


def _layout(
    grid: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Pair codes (exporter, importer) and products of a grid sorted by pair then product.

    ``None`` unless every pair carries every product in the same order (the dense grid).
    """
    exp_codes, exporters = pd.factorize(grid["exporter"], sort=True)
    imp_codes, importers = pd.factorize(grid["importer"], sort=True)
    prod_codes, products = pd.factorize(grid["product"], sort=True)
    n_prod = len(products)
    if n_prod == 0 or len(grid) % n_prod:
        return None
    n_pairs = len(grid) // n_prod
    prod = prod_codes.reshape(n_pairs, n_prod)
    ex = exp_codes.reshape(n_pairs, n_prod)
    im = imp_codes.reshape(n_pairs, n_prod)
    if not (
        (prod == np.arange(n_prod)).all() and (ex == ex[:, :1]).all() and (im == im[:, :1]).all()
    ):
        return None
    names = (np.asarray(exporters), np.asarray(importers), np.asarray(products))
    return ex[:, 0], im[:, 0], *names


def _connected(k: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> bool:
    """Whether, for every product, its active rows and columns form one block through ``k > 0``.

    Sufficient and cheap: an active row reaching every active column joins them all (and every
    active row reaches some active column). The few products without such a row get a
    connected-components check.
    """
    missing = (k == 0).astype(float)
    unreached = missing @ cols.astype(float)  # active columns each row does not reach
    hub = (rows & (unreached == 0)).any(axis=0)
    for p in np.flatnonzero(~hub):
        r = np.flatnonzero(rows[:, p])
        c = np.flatnonzero(cols[:, p])
        ii, jj = np.nonzero(k[np.ix_(r, c)] > 0)
        graph = coo_matrix((np.ones(len(ii)), (ii, len(r) + jj)), shape=(len(r) + len(c),) * 2)
        if connected_components(graph, directed=False)[0] > 1:
            return False
    return True


def scale_products(
    grid: pd.DataFrame,
    tol: float = MARGIN_TOL,
    max_iter: int = MAX_ITER,
    stats: dict[str, int] | None = None,
) -> Scaled | None:
    """Fit ``value ~ 1 | exporter^product + importer^product`` (offset ``ease``) by scaling.

    Parameters
    ----------
    grid : pandas.DataFrame
        The chunk's base-year grid: exporter, importer, product, value, ease, sorted by
        exporter, importer, product (as :func:`gravity.panel.zeros.dense_flows` writes it).
    tol : float
        Largest relative error of the exporter x product sums at which to stop.
    max_iter : int
        Iteration cap (the scaling stops earlier when its rate cannot reach ``tol`` within it,
        :func:`will_converge`).
    stats : dict, optional
        Receives ``iterations``, the iterations run (when the scaling got that far).

    Returns
    -------
    Scaled or None
        The effects, fitted values and separated count; ``None`` when the grid is not dense
        over pairs x products, a product's cells are not one connected block, ``ease`` spans
        too wide a range, or the sums have not converged after ``max_iter`` iterations (the
        caller then uses the general solver).
    """
    layout = _layout(grid)
    if layout is None:
        return None
    ex, im, exporters, importers, products = layout
    n_prod = len(products)
    y = grid["value"].to_numpy(dtype=float).reshape(len(ex), n_prod)
    ease = grid["ease"].to_numpy(dtype=float)[::n_prod]
    return _scale(ex, im, (exporters, importers, products), y, ease, tol, max_iter, stats)


def scale_coded(
    grid: CodedGrid, tol: float = MARGIN_TOL, max_iter: int = MAX_ITER
) -> Scaled | None:
    """:func:`scale_products` on an integer-coded grid (no text keys to factorise).

    A :class:`~gravity.potential.chunked.coded.CodedGrid` is dense over its pairs x products
    by construction; its exporters and importers are renumbered over those in the grid, as
    :func:`scale_products` factorises them.
    """
    n_prod = len(grid.products)
    if n_prod == 0 or not len(grid):
        return None
    used_e, ex = np.unique(grid.pe, return_inverse=True)
    used_i, im = np.unique(grid.pi, return_inverse=True)
    names = (
        grid.exporters.to_numpy()[used_e],
        grid.importers.to_numpy()[used_i],
        grid.products.to_numpy(),
    )
    return _scale(ex, im, names, grid.value2d, grid.pair_ease, tol, max_iter, None)


def _scale(
    ex: np.ndarray,
    im: np.ndarray,
    names: tuple[np.ndarray, np.ndarray, np.ndarray],
    y: np.ndarray,
    ease: np.ndarray,
    tol: float,
    max_iter: int,
    stats: dict[str, int] | None,
) -> Scaled | None:
    """The scaling on pair codes ``ex``, ``im`` and flows ``y`` (pairs x products)."""
    exporters, importers, products = names
    n_pairs, n_prod = y.shape
    n_exp, n_imp = len(exporters), len(importers)
    spread = float(ease.max() - ease.min()) if n_pairs else 0.0
    if n_pairs == 0 or not np.isfinite(spread) or spread > EASE_RANGE:
        return None
    top = float(ease.max())
    k = np.zeros((n_exp, n_imp))
    k[ex, im] = np.exp(ease - top)
    # flows scaled by each product's total keep every sum within [0, 1] (values reach 1e10+)
    total = y.sum(axis=0)
    scale = np.where(total > 0, total, 1.0)
    ys = y / scale
    # exporter x product and importer x product sums through the (small) dense cube: np.add.at
    # over the pairs is many times slower
    cube = np.zeros((n_exp, n_imp, n_prod))
    cube[ex, im] = ys
    r, c = cube.sum(axis=1), cube.sum(axis=0)
    del cube
    rows, cols = r > 0, c > 0
    if not _connected(k, rows, cols):
        return None
    a = rows.astype(float)
    b = cols.astype(float)
    safe_r = np.where(rows, r, 1.0)
    iterations = 0
    converged = False
    slow, before = False, np.inf
    kb = k @ b
    # one BLAS thread: the products are small (countries^2 x products) and threads spinning
    # against another process on a 2-core machine made each chunk ~8x slower (measured)
    with np.errstate(divide="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
        for iterations in range(1, max_iter + 1):
            a = np.where(rows, r / kb, 0.0)
            b = np.where(cols, c / (k.T @ a), 0.0)
            kb = k @ b  # the column sums are now exact: the row sums carry the error
            worst = float((np.abs(a * kb - r) / safe_r).max(initial=0.0))
            if worst <= tol:
                converged = True
                break
            if iterations % STALL_WINDOW == 0:
                # a support that admits the sums only in the limit converges sublinearly: stop
                # once the rate of the last windows cannot reach tol within the cap
                late = not will_converge(worst, before, STALL_WINDOW, tol, max_iter - iterations)
                if late and slow:
                    break
                slow, before = late, worst
    if stats is not None:
        stats["iterations"] = iterations
    if not converged or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    active = rows[ex] & cols[im]
    fitted = np.where(active, a[ex] * k[ex, im][:, None] * b[im] * scale, np.nan)
    with np.errstate(divide="ignore"):
        log_a = np.log(a) + np.log(scale) - top  # mu = a K b with K = exp(ease - top)
        log_b = np.log(b)
    ie, pe = np.nonzero(rows)
    ii, pi = np.nonzero(cols)
    supply = pd.DataFrame(
        {"exporter": exporters[ie], "product": products[pe], "observed": log_a[ie, pe]}
    )
    demand = pd.DataFrame(
        {"importer": importers[ii], "product": products[pi], "demand": log_b[ii, pi]}
    )
    return Scaled(
        supply=supply,
        demand=demand,
        fitted=fitted.reshape(-1),
        separated=int((~active).sum()),
        iterations=iterations,
    )
