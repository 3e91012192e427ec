"""Entry point of a general-equilibrium counterfactual: costs, then each scenario's equilibria."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gravity.counterfactual.costs import estimate_costs
from gravity.counterfactual.options import CounterfactualOptions
from gravity.counterfactual.results import CounterfactualResult, ScenarioResult
from gravity.counterfactual.solver import solve


def solve_counterfactual(
    data: pd.DataFrame, options: CounterfactualOptions
) -> CounterfactualResult:
    """Estimate trade costs and solve every scenario's conditional and full-endowment GE.

    Parameters
    ----------
    data : pandas.DataFrame
        Flows with domestic flows included: exporter, importer, year, outcome and the cost
        regressors' columns; the baseline year must be a full square table (zeros included).
    options : CounterfactualOptions
        Baseline year, sigma, reference country, cost estimation and scenarios.

    Returns
    -------
    CounterfactualResult

    Raises
    ------
    gravity.exceptions.DataError
        A baseline year, reference country, scenario country or regressor not in the data, or a
        baseline year that is not a square table of flows.
    """
    costs = estimate_costs(data, options)
    flows = costs.frame[options.outcome].to_numpy(dtype=float).reshape(len(costs.countries), -1)
    base_cost = costs.log_cost()
    reference = costs.countries.index(options.reference)
    results = []
    for scenario in options.scenarios:
        log_cost = costs.scenario_log_cost(scenario, options)
        solution = solve(
            flows,
            np.exp(base_cost),
            np.exp(log_cost),
            sigma=options.sigma,
            reference=reference,
            method=options.method,
            tolerance=options.solver_tolerance,
            max_iterations=options.max_iterations,
        )
        results.append(ScenarioResult(scenario.name, log_cost, solution))
    return CounterfactualResult(options, costs, tuple(results))
