"""Economic and product complexity (ECI, PCI) and the complexity outlook (COI, COG).

ECI and PCI (Hausmann & Hidalgo 2009; Atlas of Economic Complexity) are the eigenvectors of the
second-largest eigenvalue of ``D^-1 M U^-1 M'`` (countries) and ``U^-1 M' D^-1 M`` (products),
with ``D`` and ``U`` the diagonal diversity and ubiquity. Both matrices are similar to the
symmetric ``S = D^-1/2 M U^-1 M' D^-1/2``, so we solve the symmetric problem on the smaller side
(``eigh``; ``eigsh`` on a sparse operator when that side is large), map it to the product
eigenvector ``kp`` and set ``kc = D^-1 M kp`` as the Growth Lab does. The sign is chosen so that
ECI correlates positively with diversity.

COI and COG (Hausmann et al., Atlas 2014)::

    COI_c  = sum_p density_cp (1 - M_cp) PCI_p
    COG_cp = (1 - M_cp) sum_p' [phi_pp' / sum_p'' phi_p'p''] (1 - M_cp') PCI_p'
             [- (1 - M_cp) density_cp PCI_p   with the Atlas-book term]

Scaling conventions are in :data:`~gravity.relatedness.options.Normalization`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, sparse
from scipy.sparse.linalg import LinearOperator, eigsh

from gravity.exceptions import DataWarning
from gravity.relatedness.options import Normalization

__all__ = [
    "ComplexityVectors",
    "EigenSolver",
    "NormalizedComplexity",
    "complexity_eigenvectors",
    "normalize_complexity",
    "outlook",
]

EigenSolver = Literal["auto", "dense", "sparse"]

# Up to this many rows on the smaller side the symmetric problem is solved densely (eigh on a
# 4,000^2 matrix takes seconds); beyond it, ARPACK (eigsh) on the sparse operator.
DENSE_EIGEN_MAX = 4000
# eigsh tolerance: 0 asks ARPACK for machine precision, which the fixtures need (1e-5 on PCI).
_EIGSH_TOL = 0.0
# The leading eigenvalue is exactly 1; a second eigenvalue this close to 1 means the
# country-product network has several connected components and ECI only separates them.
DISCONNECTED_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class ComplexityVectors:
    """Raw eigenvectors with their sign fixed; NaN for countries/products without presence."""

    kc: np.ndarray
    """``D^-1 M kp`` per country."""
    kp: np.ndarray
    """Product eigenvector, unit Euclidean norm over products with presence."""
    eigenvalues: np.ndarray
    """The three largest eigenvalues (1, lambda_2, lambda_3; NaN where undefined)."""

    @property
    def defined(self) -> bool:
        """Whether ECI/PCI exist (at least two countries and two products with presence)."""
        return bool(np.isfinite(self.kc).any())


def _undefined(n_c: int, n_p: int) -> ComplexityVectors:
    return ComplexityVectors(np.full(n_c, np.nan), np.full(n_p, np.nan), np.full(3, np.nan))


def _top_eigen(
    mv: np.ndarray, d: np.ndarray, u: np.ndarray, solver: EigenSolver
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, up to 3) and the product eigenvector of lambda_2 (unnormalized)."""
    n_c, n_p = mv.shape
    small = min(n_c, n_p)
    use_sparse = solver == "sparse" or (solver == "auto" and small > DENSE_EIGEN_MAX)
    if use_sparse and small > 3:
        ms = sparse.csr_matrix(mv)
        mst = ms.T.tocsr()
        rd, iu = 1.0 / np.sqrt(d), 1.0 / u
        q = np.sqrt(d) / np.linalg.norm(np.sqrt(d))  # eigenvector of eigenvalue 1

        def matvec(x: np.ndarray) -> np.ndarray:
            x = np.ravel(x)
            y = rd * (ms @ (iu * (mst @ (rd * x))))
            return np.asarray(y - q * (q @ x))  # deflate the known top pair

        op = LinearOperator((n_c, n_c), matvec=matvec, dtype=np.float64)
        vals, vecs = eigsh(op, k=2, which="LA", tol=_EIGSH_TOL)
        order = np.argsort(vals)[::-1]
        vals, vecs = vals[order], vecs[:, order]
        kp = iu * (mst @ (rd * vecs[:, 0]))
        return np.concatenate([[1.0], vals]), kp
    if n_c <= n_p:
        a = mv / np.sqrt(u)[None, :]
        s = (a @ a.T) / np.sqrt(np.outer(d, d))
        lo = max(n_c - 3, 0)
        vals, vecs = linalg.eigh(s, subset_by_index=[lo, n_c - 1])
        vals, vecs = vals[::-1], vecs[:, ::-1]
        kc0 = vecs[:, 1] / np.sqrt(d)
        kp = (mv.T @ kc0) / u
    else:
        b = mv / np.sqrt(d)[:, None]
        s = (b.T @ b) / np.sqrt(np.outer(u, u))
        lo = max(n_p - 3, 0)
        vals, vecs = linalg.eigh(s, subset_by_index=[lo, n_p - 1])
        vals, vecs = vals[::-1], vecs[:, ::-1]
        kp = vecs[:, 1] / np.sqrt(u)
    return vals, kp


def complexity_eigenvectors(
    m: np.ndarray, *, year: int | None = None, solver: EigenSolver = "auto"
) -> ComplexityVectors:
    """ECI/PCI eigenvectors of a presence matrix, sign fixed so ECI rises with diversity.

    Parameters
    ----------
    m
        ``(countries, products)`` presence (bool or 0/1).
    year
        Only used in warning messages.
    solver
        ``auto`` (dense ``eigh`` on the smaller side up to :data:`DENSE_EIGEN_MAX`, else
        ``eigsh``), ``dense`` or ``sparse``.

    Returns
    -------
    ComplexityVectors
        ``kc`` and ``kp`` with NaN for countries (products) with zero diversity (ubiquity); all
        NaN, with a :class:`~gravity.exceptions.DataWarning`, when fewer than two countries or
        two products have presence (e.g. a single-country year).
    """
    mb = np.asarray(m, dtype=bool)
    n_c, n_p = mb.shape
    d_all, u_all = mb.sum(axis=1), mb.sum(axis=0)
    rows, cols = d_all > 0, u_all > 0
    label = f"year {year}: " if year is not None else ""
    if rows.sum() < 2 or cols.sum() < 2:
        warnings.warn(
            f"{label}ECI/PCI/COI/COG need at least two countries and two products with presence "
            f"(M_cp = 1); got {int(rows.sum())} and {int(cols.sum())}, so they are NaN",
            DataWarning,
            stacklevel=2,
        )
        return _undefined(n_c, n_p)
    mv = mb[np.ix_(rows, cols)].astype(np.float64)
    d, u = d_all[rows].astype(np.float64), u_all[cols].astype(np.float64)
    vals, kp_valid = _top_eigen(mv, d, u, solver)
    kp_valid = kp_valid / np.linalg.norm(kp_valid)
    kc_valid = (mv @ kp_valid) / d
    corr = np.corrcoef(d, kc_valid)[0, 1] if np.ptp(d) > 0 and np.ptp(kc_valid) > 0 else np.nan
    if np.isfinite(corr) and corr != 0:
        sign = np.sign(corr)
    else:  # no diversity variation: make the largest |kc| positive (order-independent)
        sign = np.sign(kc_valid[np.argmax(np.abs(kc_valid))]) or 1.0
    if vals.size > 1 and vals[1] > 1.0 - DISCONNECTED_TOL:
        warnings.warn(
            f"{label}the country-product network is disconnected (second eigenvalue "
            f"{vals[1]:.12f} = 1): ECI/PCI only separate its components",
            DataWarning,
            stacklevel=2,
        )
    kc, kp = np.full(n_c, np.nan), np.full(n_p, np.nan)
    kc[rows], kp[cols] = sign * kc_valid, sign * kp_valid
    eig = np.full(3, np.nan)
    eig[: min(3, vals.size)] = vals[:3]
    return ComplexityVectors(kc, kp, eig)


@dataclass(frozen=True, eq=False)
class NormalizedComplexity:
    """ECI and PCI on the output scale, and the PCI vector that COI/COG are computed with."""

    eci: np.ndarray
    pci: np.ndarray
    outlook_pci: np.ndarray
    """PCI in the units COI and COG use (0 where PCI is undefined)."""


def _zscore(x: np.ndarray, ddof: int, repeat: int = 1) -> np.ndarray:
    """Standardize finite entries; ``repeat`` counts each value that many times (Stata cells)."""
    ok = np.isfinite(x)
    if ok.sum() * repeat - ddof <= 0:
        return np.full_like(x, np.nan)
    mean = x[ok].mean()
    sd = np.sqrt(repeat * ((x[ok] - mean) ** 2).sum() / (ok.sum() * repeat - ddof))
    return (x - mean) / sd if sd > 0 else np.full_like(x, np.nan)


def normalize_complexity(
    vectors: ComplexityVectors, normalization: Normalization
) -> NormalizedComplexity:
    """Scale the raw eigenvectors (see :data:`~gravity.relatedness.options.Normalization`)."""
    kc, kp = vectors.kc, vectors.kp
    ok = np.isfinite(kc)
    if not ok.any():
        return NormalizedComplexity(kc.copy(), kp.copy(), np.zeros_like(kp))
    n_p = kp.size
    if normalization in ("growthlab", "pyecomplexity"):
        mean = kc[ok].mean()
        if normalization == "growthlab":  # Stata: sum over the country x product cells, n-1
            sd = np.sqrt(n_p * ((kc[ok] - mean) ** 2).sum() / (ok.sum() * n_p - 1))
        else:  # numpy's std over countries (ddof 0)
            sd = kc[ok].std()
        return NormalizedComplexity((kc - mean) / sd, (kp - mean) / sd, np.nan_to_num(kp / sd))
    if normalization == "atlas":
        pci = _zscore(kp, ddof=1)
        return NormalizedComplexity(_zscore(kc, ddof=1), pci, np.nan_to_num(pci))
    return NormalizedComplexity(kc.copy(), kp.copy(), np.nan_to_num(kp))


def normalize_coi(coi: np.ndarray, normalization: Normalization, n_products: int) -> np.ndarray:
    """Scale COI as the chosen convention does (z-score, or raw)."""
    if normalization == "growthlab":
        return _zscore(coi, ddof=1, repeat=n_products)
    if normalization == "pyecomplexity":
        return _zscore(coi, ddof=0)
    if normalization == "atlas":
        return _zscore(coi, ddof=1)
    return coi


def outlook(
    m: np.ndarray,
    levels: np.ndarray,
    phi: np.ndarray,
    pci: np.ndarray,
    *,
    atlas_term: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Density, COI and COG in one pass over the proximity matrix.

    Parameters
    ----------
    m
        ``(countries, products)`` presence.
    levels
        What density weighs: ``M`` (discrete) or RCA (continuous proximity).
    phi
        ``(products, products)`` symmetric proximity.
    pci
        PCI in the units COI/COG should have (finite; 0 for products without PCI).
    atlas_term
        Subtract ``(1 - M_cp) density_cp PCI_p`` from COG (Atlas book).

    Returns
    -------
    tuple of numpy.ndarray
        ``density`` (countries, products; NaN where a product relates to nothing), raw ``coi``
        (countries) and ``cog`` (countries, products; NaN where density is NaN).
    """
    mf = np.asarray(m, dtype=np.float64)
    weights = phi.sum(axis=0)  # = row sums: phi is symmetric
    safe = np.where(weights > 0, weights, 1.0)
    g = pci / safe
    n_c = mf.shape[0]
    # one BLAS call: [levels; M * g] @ phi gives density's numerator and COG's M-part
    stacked = np.empty((2 * n_c, mf.shape[1]))
    stacked[:n_c] = levels
    np.multiply(mf, g[None, :], out=stacked[n_c:])
    prod = stacked @ phi
    del stacked
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = prod[:n_c] / weights[None, :]
    absent = 1.0 - mf
    # sum_p' (1 - M_cp') phi_p'p g_p' = g @ phi - (M * g) @ phi
    cog = prod[n_c:]
    np.subtract(g @ phi, cog, out=cog)
    cog *= absent
    dens_absent = np.nan_to_num(dens) * absent
    if atlas_term:
        cog -= dens_absent * pci[None, :]
    coi = dens_absent @ pci
    cog[:, weights <= 0] = np.nan
    return dens, coi, cog
