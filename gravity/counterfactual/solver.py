"""Conditional and full-endowment general equilibrium of structural gravity.

Follows Yotov, Piermartini, Monteiro & Larch (2016), Chapter 2, and its Stata do-files
("GEPPML", Anderson, Larch & Yotov 2018). Notation: ``t_ij`` is the ``(1 - sigma)`` power of
bilateral trade costs, ``pi_i``/``chi_j`` the exponentiated exporter/importer effects of the
structural PPML (importer effect of the reference country ``R`` equal to one), ``Y``/``E``
output and expenditure. Then

- outward resistance ``OMR_i = Y_i E_R / pi_i`` and inward ``IMR_j = E_j / (chi_j E_R)``, both in
  ``(1 - sigma)`` powers (``IMR_R = 1``: the reference consumer price index is the numeraire);
- factory-gate prices change by ``((pi_i' / pi_i) / (E_R' / E_R)) ** (1 / (1 - sigma))``;
- output changes with the price (endowments are fixed) and expenditure keeps its baseline ratio
  to output, ``E_j = phi_j Y_j``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from gravity.counterfactual.structural import StructuralFit, fit_balanced, fit_ppml
from gravity.exceptions import ConvergenceWarning, EstimationError


@dataclass(frozen=True)
class Equilibrium:
    """Levels of one equilibrium (arrays over countries, flows exporter by importer)."""

    flows: np.ndarray
    output: np.ndarray
    expenditure: np.ndarray
    omr: np.ndarray
    imr: np.ndarray
    price: np.ndarray


@dataclass(frozen=True)
class Solution:
    """Baseline, conditional and full-endowment equilibria of one scenario."""

    baseline: Equilibrium
    conditional: Equilibrium
    full: Equilibrium
    iterations: int
    converged: bool
    max_price_step: float


def _levels(
    fit: StructuralFit, output: np.ndarray, expenditure: np.ndarray, ref: int, price: np.ndarray
) -> Equilibrium:
    e_ref = expenditure[ref]
    return Equilibrium(
        flows=fit.fitted,
        output=output,
        expenditure=expenditure,
        omr=output * e_ref / fit.exporter_effect,
        imr=expenditure / (fit.importer_effect * e_ref),
        price=price,
    )


def _price_change(
    new: StructuralFit, old: StructuralFit, e_ref_new: float, e_ref_old: float, sigma: float
) -> np.ndarray:
    ratio = (new.exporter_effect / old.exporter_effect) / (e_ref_new / e_ref_old)
    return np.asarray(ratio ** (1.0 / (1.0 - sigma)))


def solve(
    flows: np.ndarray,
    cost_baseline: np.ndarray,
    cost_scenario: np.ndarray,
    *,
    sigma: float,
    reference: int,
    method: str = "iterative",
    tolerance: float = 0.01,
    max_iterations: int = 1000,
) -> Solution:
    """Solve the baseline, conditional and full-endowment equilibria of a cost change.

    Parameters
    ----------
    flows : numpy.ndarray
        Observed flows of the baseline year (exporter by importer, domestic on the diagonal).
    cost_baseline, cost_scenario : numpy.ndarray
        Trade costs ``t_ij`` before and after the change.
    sigma : float
        Elasticity of substitution (> 1).
    reference : int
        Position of the reference country.
    method : {"iterative", "fixed_point"}
        The book's iterative PPML procedure, or a direct fixed point on factory-gate prices.
    tolerance : float
        Stop when the largest change between iterations of any factory-gate price step is below
        this.
    max_iterations : int
        Iterations before a :class:`~gravity.exceptions.ConvergenceWarning`.

    Returns
    -------
    Solution
    """
    if method not in ("fixed_point", "iterative"):
        raise EstimationError(f"unknown GE method {method!r}; use 'fixed_point' or 'iterative'")
    output = flows.sum(axis=1)
    expenditure = flows.sum(axis=0)
    ones = np.ones_like(output)
    base_fit = fit_ppml(flows, cost_baseline, reference)
    baseline = _levels(base_fit, output, expenditure, reference, ones)
    cond_fit = fit_ppml(flows, cost_scenario, reference)
    conditional = _levels(cond_fit, output, expenditure, reference, ones)
    if method == "fixed_point":
        full, iterations, converged, step = _fixed_point(
            base_fit,
            output,
            expenditure,
            cost_scenario,
            sigma,
            reference,
            tolerance,
            max_iterations,
        )
    else:
        full, iterations, converged, step = _iterative(
            base_fit,
            cond_fit,
            output,
            expenditure,
            cost_scenario,
            sigma,
            reference,
            tolerance,
            max_iterations,
        )
    if not converged:
        warnings.warn(
            f"full-endowment GE ({method}) stopped after {iterations} iterations with a price "
            f"step of {step:.3g} (tolerance {tolerance:g}); raise max_iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return Solution(baseline, conditional, full, iterations, converged, step)


def _iterative(
    base_fit: StructuralFit,
    cond_fit: StructuralFit,
    output: np.ndarray,
    expenditure: np.ndarray,
    cost: np.ndarray,
    sigma: float,
    ref: int,
    tol: float,
    max_iterations: int,
) -> tuple[Equilibrium, int, bool, float]:
    # The book's Step III.b: scale the last fitted flows by the last change in prices and
    # resistances, refit the constrained PPML, update output, expenditure, prices and resistances.
    # Its stopping rule compares the price steps of the two previous iterations (it lags one
    # iteration behind the newest step), and the final equilibrium is the newest iteration.
    phi = expenditure / output
    e_ref = expenditure[ref]
    old_fit, old_e_ref = base_fit, e_ref
    fit, fit_e_ref = cond_fit, e_ref
    step_prev = np.zeros_like(output)  # the book's change_pricei_0 = 0
    step = _price_change(fit, old_fit, fit_e_ref, old_e_ref, sigma)
    omr = output * e_ref / fit.exporter_effect
    imr = expenditure / (fit.importer_effect * e_ref)
    d_omr = np.ones_like(output)
    d_imr = np.ones_like(output)
    out_now, exp_now = output, expenditure
    gap, done = np.inf, False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        scaled = fit.fitted * np.outer(step, step) / np.outer(d_omr, d_imr)
        new_fit = fit_ppml(scaled, cost, ref)
        out_now = new_fit.fitted.sum(axis=1)
        exp_now = phi * out_now
        new_e_ref = float(exp_now[ref])
        new_step = _price_change(new_fit, fit, new_e_ref, fit_e_ref, sigma)
        new_omr = out_now * new_e_ref / new_fit.exporter_effect
        new_imr = exp_now / (new_fit.importer_effect * new_e_ref)
        d_omr, d_imr = new_omr / omr, new_imr / imr
        omr, imr = new_omr, new_imr
        gap, done = _book_rule(step - step_prev, tol)
        step_prev, step = step, new_step
        fit, fit_e_ref = new_fit, new_e_ref
        if done:
            break
    price = _price_change(fit, base_fit, fit_e_ref, e_ref, sigma)
    y_full = price * output
    e_full = phi * y_full
    omr_full = y_full * fit_e_ref / fit.exporter_effect
    imr_full = exp_now / (fit.importer_effect * fit_e_ref)
    flows_full = np.outer(y_full, e_full) * cost / np.outer(omr_full, imr_full)
    full = Equilibrium(flows_full, y_full, e_full, omr_full, imr_full, price)
    return full, iterations, done, gap


def _book_rule(diff: np.ndarray, tol: float) -> tuple[float, bool]:
    # The do-files stop when both the standard deviation and the (signed) maximum of the price
    # step differences are at most tol; Stata computes them over the N*N rows of the pair table,
    # where each country's value appears N times
    n = diff.shape[0]
    dev = diff - diff.mean()
    sd = float(np.sqrt(n * np.sum(dev**2) / (n * n - 1)))
    top = abs(float(diff.max()))
    return max(sd, top), sd <= tol and top <= tol


def _fixed_point(
    base_fit: StructuralFit,
    output: np.ndarray,
    expenditure: np.ndarray,
    cost: np.ndarray,
    sigma: float,
    ref: int,
    tol: float,
    max_iterations: int,
) -> tuple[Equilibrium, int, bool, float]:
    # Factory-gate prices solve p = F(p): output p*Y, expenditure phi*p*Y (rescaled so world
    # expenditure equals world output, which the fitted flows need), balance the cost matrix to
    # those totals and read the price off the new exporter effects. F contracts with factor
    # about 1/(sigma - 1), so plain iteration converges.
    phi = expenditure / output
    e_ref = expenditure[ref]
    price = np.ones_like(output)
    gap = np.inf
    iterations = 0
    fit = base_fit
    y_new, e_new = output, expenditure
    while iterations < max_iterations:
        iterations += 1
        y_new = price * output
        e_new = phi * y_new
        e_new *= y_new.sum() / e_new.sum()
        fit = fit_balanced(y_new, e_new, cost, ref)
        new_price = _price_change(fit, base_fit, e_new[ref], e_ref, sigma)
        gap = float(np.max(np.abs(new_price - price)))
        price = new_price
        if gap <= tol:
            break
    y_new = price * output
    e_new = phi * y_new
    e_new *= y_new.sum() / e_new.sum()
    fit = fit_balanced(y_new, e_new, cost, ref)
    full = _levels(fit, y_new, e_new, ref, price)
    return full, iterations, gap <= tol, gap
