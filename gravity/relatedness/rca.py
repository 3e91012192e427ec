"""Revealed comparative advantage (Balassa), revealed per-capita advantage and presence ``M_cp``.

All functions take a dense ``(countries, products)`` matrix of non-negative export values whose
rows and columns have positive totals (what :func:`gravity.relatedness.inputs.prepare_exports`
delivers) and return new arrays.
"""

from __future__ import annotations

import numpy as np

from gravity.exceptions import DataError

__all__ = ["balassa_rca", "diversity_ubiquity", "presence", "rpop"]


def _check(values: np.ndarray) -> None:
    if values.ndim != 2:
        raise DataError(f"exports must be a (countries, products) matrix, got shape {values.shape}")
    if values.size and ((values.sum(axis=1) <= 0).any() or (values.sum(axis=0) <= 0).any()):
        raise DataError(
            "every country and product needs positive total exports (RCA is 0/0 otherwise); "
            "drop empty rows and columns first (prepare_exports does)"
        )


def balassa_rca(values: np.ndarray) -> np.ndarray:
    """Balassa's revealed comparative advantage.

    ``RCA_cp = (X_cp / sum_p X_cp) / (sum_c X_cp / sum_cp X_cp)``.

    Parameters
    ----------
    values
        ``(countries, products)`` exports; every row and column must have a positive total.

    Returns
    -------
    numpy.ndarray
        RCA, same shape; invariant to scaling all values.

    Notes
    -----
    Computed as ``(X_cp * X) / (X_c * X_p)`` so that a share equal to the world's gives exactly
    1.0 (e.g. a one-country world), not 1 - 1e-16 on the wrong side of the threshold.
    """
    _check(values)
    row = values.sum(axis=1, keepdims=True)
    col = values.sum(axis=0, keepdims=True)
    return (values * row.sum()) / (row * col)


def rpop(values: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Revealed per-capita advantage: ``RPOP_cp = (X_cp / pop_c) / (sum_c X_cp / sum_c pop_c)``.

    Parameters
    ----------
    values
        ``(countries, products)`` exports.
    population
        Population of each country (positive).

    Returns
    -------
    numpy.ndarray
        RPOP, same shape as ``values``.
    """
    _check(values)
    pop = np.asarray(population, dtype=np.float64)
    if pop.shape != (values.shape[0],) or not np.isfinite(pop).all() or (pop <= 0).any():
        raise DataError("population must be positive and finite, one value per country")
    col = values.sum(axis=0, keepdims=True)
    return (values * pop.sum()) / (pop[:, None] * col)


def presence(advantage: np.ndarray, threshold: float = 1.0, strict: bool = False) -> np.ndarray:
    """``M_cp = 1[advantage_cp >= threshold]`` (``>`` when ``strict``), as booleans."""
    return advantage > threshold if strict else advantage >= threshold


def diversity_ubiquity(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diversity ``k_c = sum_p M_cp`` and ubiquity ``k_p = sum_c M_cp`` (int64)."""
    return m.sum(axis=1, dtype=np.int64), m.sum(axis=0, dtype=np.int64)
