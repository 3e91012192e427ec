"""Panels for the PPML benchmark: synthetic structural gravity, a real three-way panel, and a
"difficult" worker–firm style panel whose fixed-effect graph is weakly connected.

Every panel is a frame with integer fixed-effect identifiers (the same rows and codes go to every
tool) and a :class:`Panel` record naming its formula and the coefficient compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GRAVITY_FORMULA = "trade ~ rta | exp_year + imp_year + pair"
WORKER_FIRM_FORMULA = "y ~ x | worker + firm + year"


@dataclass(frozen=True)
class Panel:
    """One benchmark panel: a label, the data, the formula and the coefficient to compare."""

    key: str
    label: str
    frame: pd.DataFrame
    formula: str
    coef: str


def synthetic_panel(n_countries: int, n_years: int, seed: int = 1) -> pd.DataFrame:
    """Structural gravity with pair effects and agreements that switch on over time."""
    rng = np.random.default_rng(seed)
    exp_i, imp_i, year = np.meshgrid(
        np.arange(n_countries), np.arange(n_countries), np.arange(n_years), indexing="ij"
    )
    keep = exp_i != imp_i
    exp_i, imp_i, year = exp_i[keep], imp_i[keep], year[keep]
    size = rng.normal(0, 1.5, n_countries)
    growth = rng.normal(0.02, 0.02, n_countries)
    pair_effect = rng.normal(-2, 1.0, (n_countries, n_countries))
    entry = np.where(
        rng.uniform(size=(n_countries, n_countries)) < 0.3,
        rng.integers(0, n_years, (n_countries, n_countries)),
        n_years + 1,
    )
    rta = (year >= entry[exp_i, imp_i]).astype(float)
    eta = (
        size[exp_i]
        + growth[exp_i] * year
        + size[imp_i]
        + pair_effect[exp_i, imp_i]
        + 0.4 * rta
        + 12
    )
    mu = np.exp(eta)
    trade = rng.poisson(mu / 1e4) * 1e4 * rng.gamma(4, 0.25, mu.shape)
    return pd.DataFrame(
        {
            "exp_year": exp_i * 1000 + year,
            "imp_year": imp_i * 1000 + year,
            "pair": exp_i * 10_000 + imp_i,
            "rta": rta,
            "trade": trade,
        }
    )


def penppml_panel() -> pd.DataFrame | None:
    """The real three-way panel of ``../shared/data/penppml_trade_dta`` (None when absent)."""
    path = SHARED / "penppml_trade_dta" / "trade.parquet"
    if not path.exists():
        return None
    raw = pd.read_parquet(path)
    exp, imp, year = (raw[c].astype(str) for c in ("exp", "imp", "time"))
    return pd.DataFrame(
        {
            "exp_year": pd.factorize(exp + "_" + year)[0],
            "imp_year": pd.factorize(imp + "_" + year)[0],
            "pair": pd.factorize(exp + "_" + imp)[0],
            "rta": (raw["id"] > 0).astype(float),
            "trade": raw["export"].astype(float),
        }
    )


def worker_firm_panel(
    n_workers: int = 200_000,
    n_firms: int = 20_000,
    n_years: int = 10,
    movers: float = 0.05,
    window: int = 50,
    seed: int = 3,
) -> pd.DataFrame:
    """A weakly connected two-sided panel (matched employer–employee style), Poisson outcome.

    Each worker is observed every year at a home firm (firms ordered on a line, ``n_workers /
    n_firms`` workers each); a share ``movers`` of the workers moves once, in a random year, to a
    firm at most ``window`` places away. Firms are thus linked only through few movers and only
    locally, so the worker–firm graph is a long, thin band: alternating projections converge
    very slowly on it (the setting of fixest's and FixedEffectModels.jl's "difficult" benchmark).
    Outcome: ``y ~ Poisson(exp(0.5 x + worker + firm + year effects))``.
    """
    rng = np.random.default_rng(seed)
    worker = np.repeat(np.arange(n_workers), n_years)
    year = np.tile(np.arange(n_years), n_workers)
    home = (np.arange(n_workers) * n_firms) // n_workers
    moves = rng.uniform(size=n_workers) < movers
    when = rng.integers(1, n_years, n_workers)
    dest = np.clip(home + rng.integers(-window, window + 1, n_workers), 0, n_firms - 1)
    firm = np.where(moves[worker] & (year >= when[worker]), dest[worker], home[worker])
    x = rng.normal(size=worker.size) + 0.3 * np.sin(firm)
    eta = 0.5 * x + rng.normal(0, 0.5, n_workers)[worker] + np.sin(firm / 50.0) + 0.05 * year
    y = rng.poisson(np.exp(eta)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "worker": worker, "firm": firm, "year": year})


SYNTHETIC_SIZES = {"quick": (60, 10), "450k": (150, 20), "1.2M": (200, 30)}


def build_panels(sizes: list[str], real: bool, difficult_rows: int) -> list[Panel]:
    """The panels of one benchmark run, in order."""
    panels = []
    for size in sizes:
        n, t = SYNTHETIC_SIZES[size]
        panels.append(
            Panel(
                f"synthetic-{size}",
                f"synthetic {size} ({n} countries x {t} years)",
                synthetic_panel(n, t),
                GRAVITY_FORMULA,
                "rta",
            )
        )
    frame = penppml_panel() if real else None
    if frame is not None:
        panels.append(Panel("penppml", "penppml_trade_dta (real)", frame, GRAVITY_FORMULA, "rta"))
    if difficult_rows:
        workers = difficult_rows // 10
        panels.append(
            Panel(
                "difficult",
                f"worker-firm ({workers:,} workers, {workers // 10:,} firms, 5% movers)",
                worker_firm_panel(workers, workers // 10),
                WORKER_FIRM_FORMULA,
                "x",
            )
        )
    return panels
