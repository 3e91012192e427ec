"""The structural gravity cross-section: PPML with exporter and importer effects and known costs.

With only exporter and importer effects and the log trade costs as an offset, the PPML first-order
conditions say that fitted flows add up to each exporter's observed output and each importer's
observed expenditure (Fally 2015). Two routes to that fit are provided: the package's PPML
estimator (as the book's do-files use ``ppml ..., offset()``), and a direct balancing of a cost
matrix to given row and column totals, used by the fixed-point solver where the totals are not
those of an observed matrix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions, SeparationOptions
from gravity.exceptions import ConvergenceWarning, EstimationError

# The book's GE steps refit PPML many times on near-identical data; a tight IRLS tolerance keeps
# the fitted flows accurate to ~1e-10 relative, far below the 0.01 stopping rule on prices
_PPML = PpmlOptions(
    irls=IrlsOptions(tol=1e-12),
    separation=SeparationOptions(fe_zero=False, singletons=False, regressor=False),
)
# Balancing stops when every row and column total is matched to this relative precision
BALANCE_RTOL = 1e-12
BALANCE_MAXITER = 100_000


@dataclass(frozen=True)
class StructuralFit:
    """Fitted flows and the exponentiated fixed effects of one structural gravity fit.

    ``exporter_effect`` (the book's ``exp_pi``) and ``importer_effect`` (``exp_chi``) satisfy
    ``fitted[i, j] = exporter_effect[i] * importer_effect[j] * cost[i, j]`` with the reference
    country's importer effect equal to one.
    """

    fitted: np.ndarray
    exporter_effect: np.ndarray
    importer_effect: np.ndarray


def _effects(fitted: np.ndarray, cost: np.ndarray, reference: int) -> StructuralFit:
    # log fitted - log cost = log pi_i + log chi_j exactly (two-way additive), so the effects
    # follow from the reference column, normalising log chi_ref = 0
    resid = np.log(fitted) - np.log(cost)
    log_pi = resid[:, reference]
    log_chi = (resid - log_pi[:, None]).mean(axis=0)
    log_chi -= log_chi[reference]
    return StructuralFit(fitted, np.exp(log_pi), np.exp(log_chi))


def fit_ppml(flows: np.ndarray, cost: np.ndarray, reference: int) -> StructuralFit:
    """PPML of ``flows`` on exporter and importer effects with offset ``log(cost)``.

    Parameters
    ----------
    flows : numpy.ndarray
        Square matrix of flows (exporter by importer), domestic flows on the diagonal.
    cost : numpy.ndarray
        Positive matrix of trade costs ``t_ij`` (the ``(1 - sigma)`` power of iceberg costs).
    reference : int
        Position of the country whose importer effect is normalised to one.

    Returns
    -------
    StructuralFit
    """
    n = flows.shape[0]
    codes = np.arange(n)
    model = Ppml.from_arrays(
        flows.ravel(),
        fixed_effects={"exporter": np.repeat(codes, n), "importer": np.tile(codes, n)},
        offset=np.log(cost).ravel(),
        options=_PPML,
    )
    result = model.fit()
    return _effects(np.asarray(result.fitted).reshape(n, n), cost, reference)


def fit_balanced(
    rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, reference: int
) -> StructuralFit:
    """Scale ``cost`` to ``pi_i * chi_j * cost_ij`` with given row and column totals.

    Alternating proportional fitting; the result is the PPML fit of any flows with row totals
    ``rows`` and column totals ``cols``.

    Parameters
    ----------
    rows, cols : numpy.ndarray
        Output and expenditure per country; their sums must agree.
    cost : numpy.ndarray
        Positive trade-cost matrix.
    reference : int
        Country whose importer effect is normalised to one.

    Returns
    -------
    StructuralFit
    """
    if not np.isclose(rows.sum(), cols.sum(), rtol=1e-10):
        raise EstimationError(
            f"balancing needs equal totals of output ({rows.sum():.6g}) and expenditure "
            f"({cols.sum():.6g})"
        )
    chi = np.ones_like(cols)
    for _ in range(BALANCE_MAXITER):
        pi = rows / (cost @ chi)
        chi = cols / (cost.T @ pi)
        fitted = pi[:, None] * chi[None, :] * cost
        if np.max(np.abs(fitted.sum(axis=1) / rows - 1)) < BALANCE_RTOL:
            break
    else:
        warnings.warn(
            f"balancing of trade flows stopped after {BALANCE_MAXITER} sweeps",
            ConvergenceWarning,
            stacklevel=2,
        )
    scale = chi[reference]
    return StructuralFit(fitted, pi * scale, chi / scale)
