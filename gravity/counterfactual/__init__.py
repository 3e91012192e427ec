"""General-equilibrium counterfactuals of structural gravity (Yotov et al. 2016, Chapter 2)."""

from gravity.counterfactual.model import solve_counterfactual
from gravity.counterfactual.options import CostOptions, CounterfactualOptions, Scenario
from gravity.counterfactual.results import CounterfactualResult

__all__ = [
    "CostOptions",
    "CounterfactualOptions",
    "CounterfactualResult",
    "Scenario",
    "solve_counterfactual",
]
