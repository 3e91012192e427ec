"""Plain-loop implementations of the methods brief's formulas, the test oracle for the kernels.

Written straight from ../shared/docs/methods.md section 2 with Python loops (no vectorization, no
shared code with gravity.relatedness), for matrices of a few countries and products.
"""

from __future__ import annotations

import numpy as np


def rca(x: np.ndarray) -> np.ndarray:
    n_c, n_p = x.shape
    total = x.sum()
    out = np.zeros_like(x, dtype=float)
    for c in range(n_c):
        for p in range(n_p):
            out[c, p] = (x[c, p] / x[c, :].sum()) / (x[:, p].sum() / total)
    return out


def proximity(m: np.ndarray, diagonal: float) -> np.ndarray:
    n_c, n_p = m.shape
    k = m.sum(axis=0)
    phi = np.zeros((n_p, n_p))
    for a in range(n_p):
        for b in range(n_p):
            if a == b:
                phi[a, b] = diagonal if k[a] > 0 else 0.0
            elif max(k[a], k[b]) > 0:
                phi[a, b] = sum(m[c, a] * m[c, b] for c in range(n_c)) / max(k[a], k[b])
    return phi


def density(levels: np.ndarray, phi: np.ndarray) -> np.ndarray:
    n_c, n_p = levels.shape
    out = np.full((n_c, n_p), np.nan)
    for c in range(n_c):
        for p in range(n_p):
            den = sum(phi[q, p] for q in range(n_p))
            if den > 0:
                out[c, p] = sum(levels[c, q] * phi[q, p] for q in range(n_p)) / den
    return out


def coi_cog(
    m: np.ndarray, dens: np.ndarray, phi: np.ndarray, pci: np.ndarray, atlas: bool
) -> tuple[np.ndarray, np.ndarray]:
    n_c, n_p = m.shape
    coi = np.zeros(n_c)
    cog = np.zeros((n_c, n_p))
    for c in range(n_c):
        coi[c] = sum(dens[c, p] * (1 - m[c, p]) * pci[p] for p in range(n_p))
        for p in range(n_p):
            total = 0.0
            for q in range(n_p):
                row = sum(phi[r, q] for r in range(n_p))
                total += phi[p, q] / row * (1 - m[c, q]) * pci[q]
            if atlas:
                total -= dens[c, p] * pci[p]
            cog[c, p] = (1 - m[c, p]) * total
    return coi, cog


def eci_pci_power(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second eigenvector of U^-1 M' D^-1 M by numpy's general eigen solver (Growth Lab style)."""
    d = m.sum(axis=1)
    u = m.sum(axis=0)
    mpp = (m / u[None, :] / d[:, None]).T @ m
    vals, vecs = np.linalg.eig(mpp)
    idx = np.argsort(-np.real(vals))[1]
    kp = np.real(vecs[:, idx])
    kc = (m / d[:, None]) @ kp
    if np.corrcoef(d, kc)[0, 1] < 0:
        kp, kc = -kp, -kc
    return kc, kp
