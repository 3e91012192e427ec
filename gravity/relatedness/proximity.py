"""The product space: proximity, density and distance; and the country analogue of proximity.

Proximity (Hidalgo, Klinger, Barabási & Hausmann 2007) is the minimum of the two conditional
probabilities of co-export: ``phi_pp' = sum_c M_cp M_cp' / max(k_p, k_p')``; it is symmetric and
its diagonal is a convention (:data:`~gravity.relatedness.options.ProximityDiagonal`). Products
that no country has (``k_p = 0``) have proximity 0 to everything, their diagonal included, so
their density is NaN (0/0), never a silent number.

Kernels are dense BLAS: at 200 x 5,000 the co-occurrence matrix is itself almost full, and a dense
``sgemm`` on 0/1 values (exact in float32 below 2**24 countries) is far faster than a sparse
product that fills in.
"""

from __future__ import annotations

import numpy as np

from gravity.relatedness.options import ProximityDiagonal

__all__ = [
    "correlation_proximity",
    "country_proximity",
    "density",
    "product_proximity",
]

# Rows per block when dividing the co-occurrence matrix, so the max(k_p, k_p') denominator never
# needs a second products^2 array (5,000 products: 512 x 5,000 doubles = 20 MB per block).
_BLOCK_ROWS = 512


def _cooccurrence(m: np.ndarray) -> np.ndarray:
    """``M' M`` in float64, computed in float32 (exact: integer counts below 2**24)."""
    m32 = np.ascontiguousarray(m, dtype=np.float32)
    return (m32.T @ m32).astype(np.float64)


def _min_conditional(co: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``co / max(k_a, k_b)`` in place, blockwise; 0 where both ``k`` are 0 (then ``co`` is 0)."""
    kf = np.maximum(k.astype(np.float64), 1.0)
    for start in range(0, co.shape[0], _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, co.shape[0])
        co[start:stop] /= np.maximum(kf[start:stop, None], kf[None, :])
    return co


def _set_diagonal(phi: np.ndarray, k: np.ndarray, diagonal: ProximityDiagonal) -> np.ndarray:
    idx = np.arange(phi.shape[0])
    phi[idx, idx] = (k > 0).astype(np.float64) if diagonal == "one" else 0.0
    return phi


def product_proximity(m: np.ndarray, diagonal: ProximityDiagonal = "zero") -> np.ndarray:
    """Product proximity ``phi_pp' = sum_c M_cp M_cp' / max(k_p, k_p')``.

    Parameters
    ----------
    m
        ``(countries, products)`` presence (bool or 0/1).
    diagonal
        ``"zero"`` (Growth Lab Stata) or ``"one"`` (py-ecomplexity, R ``economiccomplexity``).

    Returns
    -------
    numpy.ndarray
        ``(products, products)`` symmetric proximity in [0, 1].
    """
    k = np.asarray(m, dtype=bool).sum(axis=0)
    return _set_diagonal(_min_conditional(_cooccurrence(m), k), k, diagonal)


def country_proximity(m: np.ndarray) -> np.ndarray:
    """Country proximity ``lambda_cc' = sum_p M_cp M_c'p / max(k_c, k_c')`` (diagonal 1).

    The country analogue of product proximity, as in R ``economiccomplexity::proximity``:
    the share of the more diversified country's products that the other also exports.
    Countries with no product (``k_c = 0``) get 0 everywhere.
    """
    k = np.asarray(m, dtype=bool).sum(axis=1)
    return _set_diagonal(_min_conditional(_cooccurrence(np.asarray(m).T), k), k, "one")


def correlation_proximity(levels: np.ndarray, diagonal: ProximityDiagonal = "zero") -> np.ndarray:
    """Continuous proximity ``(1 + corr(R_p, R_p')) / 2`` over countries (Growth Lab ``cont``).

    Columns with no variation across countries have correlation 0 (proximity 1/2) with every
    other product instead of NaN.
    """
    x = np.asarray(levels, dtype=np.float64)
    centered = x - x.mean(axis=0, keepdims=True)
    norm = np.sqrt((centered * centered).sum(axis=0))
    scaled = np.divide(centered, norm, out=np.zeros_like(centered), where=norm > 0)
    phi = (scaled.T @ scaled + 1.0) / 2.0
    np.clip(phi, 0.0, 1.0, out=phi)
    idx = np.arange(phi.shape[0])
    phi[idx, idx] = 1.0 if diagonal == "one" else 0.0
    return phi


def density(levels: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Density ``omega_cp = sum_p' L_cp' phi_p'p / sum_p' phi_p'p``.

    ``L`` is ``M`` (discrete proximity) or RCA (continuous proximity).
    NaN where a product's proximity column sums to 0 (it is related to nothing).
    """
    weights = phi.sum(axis=0)
    num = np.asarray(levels, dtype=np.float64) @ phi
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / weights[None, :]
