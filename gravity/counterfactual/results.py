"""Frozen results of a general-equilibrium counterfactual and their output tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gravity.counterfactual.costs import TradeCosts
from gravity.counterfactual.options import CounterfactualOptions
from gravity.counterfactual.solver import Equilibrium, Solution


def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.asarray(100.0 * (new / old - 1.0))


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario: its trade costs and the three equilibria."""

    name: str
    log_cost: np.ndarray
    solution: Solution


@dataclass(frozen=True)
class CounterfactualResult:
    """Result of :func:`gravity.counterfactual.solve_counterfactual`; never changes.

    Changes are ``100 * (scenario / baseline - 1)``: a negative ``real_gdp_change_pct`` means the
    scenario lowers real GDP. (The book's NAFTA tables report the opposite direction, the effect
    of the agreement relative to its removal; see the reference tests.)
    """

    options: CounterfactualOptions
    costs: TradeCosts
    scenarios: tuple[ScenarioResult, ...]

    @property
    def countries(self) -> tuple[str, ...]:
        """Country codes, in the order of every array."""
        return self.costs.countries

    def _mr(self, eq: Equilibrium, which: str) -> np.ndarray:
        # resistances are solved in (1 - sigma) powers; report them as price indices
        values = eq.imr if which == "imr" else eq.omr
        return np.asarray(values ** (1.0 / (1.0 - self.options.sigma)))

    def _exports(self, eq: Equilibrium) -> np.ndarray:
        return np.asarray(eq.flows.sum(axis=1) - np.diag(eq.flows))

    def countries_frame(self) -> pd.DataFrame:
        """Per scenario and country: levels and percent changes (``counterfactual/countries.csv``).

        Exports are international exports (domestic sales excluded) from the fitted flows;
        ``imr``/``omr`` are the inward/outward multilateral resistances as price indices (the
        reference country's inward resistance is one); factory-gate prices are one in the
        baseline; real GDP is output deflated by the inward resistance.
        """
        frames = []
        for sc in self.scenarios:
            base, cond, full = sc.solution.baseline, sc.solution.conditional, sc.solution.full
            cols: dict[str, object] = {"scenario": sc.name, "country": list(self.countries)}
            xb, xc, xf = self._exports(base), self._exports(cond), self._exports(full)
            cols |= {
                "exports_baseline": xb,
                "exports_conditional": xc,
                "exports_conditional_change_pct": _pct(xc, xb),
                "exports_full": xf,
                "exports_full_change_pct": _pct(xf, xb),
                "output_baseline": base.output,
                "output_full": full.output,
                "output_change_pct": _pct(full.output, base.output),
                "price_baseline": base.price,
                "price_full": full.price,
                "price_change_pct": _pct(full.price, base.price),
            }
            for which in ("imr", "omr"):
                b, c, f = (self._mr(e, which) for e in (base, cond, full))
                cols |= {
                    f"{which}_baseline": b,
                    f"{which}_conditional": c,
                    f"{which}_conditional_change_pct": _pct(c, b),
                    f"{which}_full": f,
                    f"{which}_full_change_pct": _pct(f, b),
                }
            gdp_b = base.output / self._mr(base, "imr")
            gdp_f = full.output / self._mr(full, "imr")
            cols |= {
                "real_gdp_baseline": gdp_b,
                "real_gdp_full": gdp_f,
                "real_gdp_change_pct": _pct(gdp_f, gdp_b),
            }
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)

    def pairs_frame(self) -> pd.DataFrame:
        """Per scenario and directed pair: costs and flows (``counterfactual/pairs.parquet``)."""
        n = len(self.countries)
        names = np.asarray(self.countries)
        observed = self.costs.frame[self.options.outcome].to_numpy(dtype=float)
        base_cost = self.costs.log_cost().ravel()
        frames = []
        for sc in self.scenarios:
            sol = sc.solution
            fb, fc, ff = (e.flows.ravel() for e in (sol.baseline, sol.conditional, sol.full))
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": sc.name,
                        "exporter": np.repeat(names, n),
                        "importer": np.tile(names, n),
                        "trade": observed,
                        "log_cost_baseline": base_cost,
                        "log_cost_scenario": sc.log_cost.ravel(),
                        "flow_baseline": fb,
                        "flow_conditional": fc,
                        "flow_conditional_change_pct": _pct(fc, fb),
                        "flow_full": ff,
                        "flow_full_change_pct": _pct(ff, fb),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def summary_dict(self) -> dict[str, Any]:
        """Solver facts per scenario and the cost estimates, JSON-serialisable."""
        return {
            "baseline_year": self.options.baseline_year,
            "sigma": self.options.sigma,
            "reference": self.options.reference,
            "method": self.options.method,
            "tolerance": self.options.solver_tolerance,
            "cost_method": self.options.costs.method,
            "cost_coefficients": {k: float(v) for k, v in self.costs.coefficients.items()},
            "filled_pairs": self.costs.filled_pairs,
            "countries": len(self.countries),
            "scenarios": {
                sc.name: {
                    "iterations": sc.solution.iterations,
                    "converged": sc.solution.converged,
                    "last_step": sc.solution.max_price_step,
                }
                for sc in self.scenarios
            },
        }
