"""A small simulated trade world with known truth, for the forecast tests.

Aggregate flows among ``n`` countries over consecutive years:

- the latent log level of a pair follows a Gaussian random walk,
  ``z_ijt = z_ij,t-1 + e_ijt`` with ``e ~ N(0, SIGMA^2)``, starting at
  ``m_i + m_j - d_ij + u_ij``, so the value ``h`` years after a positive year is
  ``log y_t+h = log y_t + N(0, h SIGMA^2)`` and the oracle 80% interval has log half-width
  ``z_0.9 * SIGMA * sqrt(h)``;
- whether the pair trades is a Markov chain: a non-trading pair starts with probability
  ``sigmoid(ALPHA + m_i + m_j - d_ij)``, a trading pair stops with probability ``EXIT``;
- the value is ``exp(z)`` while the pair trades, an observed zero otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGMA = 0.3
ALPHA = -1.5
EXIT = 0.1


def simulate(
    n: int = 30, years: range = range(2000, 2015), seed: int = 7, hetero: float = 0.0
) -> pd.DataFrame:
    """Canonical aggregate panel of the world.

    Columns exporter, importer, year, value, dist and ``attract`` (the true entry index, which
    only the tests read: a monotone transform of the true entry probability). With ``hetero``
    the random walk's step of a pair has standard deviation
    ``SIGMA * exp(-hetero * standardised attract)``: small flows move more than large ones.
    """
    rng = np.random.default_rng(seed)
    mass = rng.normal(0.0, 1.0, n)
    coords = rng.uniform(0.0, 1.0, (n, 2))
    dist = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)) * 3.0
    e, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    off = e != i
    e, i = e[off], i[off]
    attract = mass[e] + mass[i] - dist[e, i]
    z = 10.0 + attract + rng.normal(0.0, 1.0, e.size)
    start = 1.0 / (1.0 + np.exp(-(ALPHA + attract)))
    step = SIGMA * np.exp(-hetero * (attract - attract.mean()) / attract.std())
    trade = rng.uniform(size=e.size) < start * 3.0
    names = np.array([f"C{k:02d}" for k in range(n)])
    frames = []
    for year in years:
        z = z + rng.normal(0.0, 1.0, e.size) * step
        u = rng.uniform(size=e.size)
        trade = np.where(trade, u >= EXIT, u < start)
        frames.append(
            pd.DataFrame(
                {
                    "exporter": names[e],
                    "importer": names[i],
                    "year": year,
                    "value": np.where(trade, np.exp(z), 0.0),
                    "dist": dist[e, i],
                    "attract": attract,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def simulate_products(
    n: int = 20, products: int = 25, years: tuple[int, ...] = (1962, 1980, 2017), seed: int = 3
) -> pd.DataFrame:
    """Exporter x product exports (importer ``WLD``) in a few irregular years."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0.0, 1.0, (n, products))
    frames = []
    for year in years:
        ability = 0.8 * ability + rng.normal(0.0, 0.6, ability.shape)
        value = np.exp(ability * 2.0 + 8.0) * (rng.uniform(size=ability.shape) < 0.8)
        c, p = np.meshgrid(np.arange(n), np.arange(products), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "exporter": [f"C{k:02d}" for k in c.ravel()],
                    "importer": "WLD",
                    "product": [f"{k:04d}" for k in p.ravel()],
                    "year": year,
                    "value": value.ravel(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    # exporters list positive flows only (as BACI does): zeros have no row
    return out[out["value"] > 0].reset_index(drop=True)
