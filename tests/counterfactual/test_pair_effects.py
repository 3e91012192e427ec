"""Costs from pair effects on a synthetic panel: recovered up to the factors GE is invariant to.

Flows are generated exactly from ``exp(a_it + b_jt + gamma_ij + beta * rta_ij)``, with pair costs
``gamma_ij`` that are an exact function of distance, contiguity and country effects, so the
second stage that fills pairs without trade recovers them too. General equilibrium depends on
costs only up to exporter and importer factors (``t_ij -> f_i g_j t_ij`` rescales the
resistances and leaves every change unchanged), so the counterfactual from estimated costs must
equal the one solved directly on the true costs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.counterfactual import CounterfactualOptions, solve_counterfactual
from gravity.counterfactual.solver import solve

N = 7
YEARS = [2000, 2004, 2008]
BETA = 0.5
# exact data: PPML recovers costs to its convergence tolerance, the GE solver to 1e-12
RTOL = 1e-7


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(99)
    names = [f"K{k}" for k in range(N)]
    xy = rng.uniform(0, 10, (N, 2))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(N)
    cntg = (rng.uniform(size=(N, N)) > 0.7).astype(float)
    cntg = np.triu(cntg, 1) + np.triu(cntg, 1).T
    gamma = rng.normal(0, 0.3, N)[:, None] + rng.normal(0, 0.3, N)[None, :]
    gamma = gamma - 0.8 * np.log(dist) + 0.4 * cntg
    np.fill_diagonal(gamma, 1.5)  # home bias: any value, the normalisation removes it
    rows = []
    for k, year in enumerate(YEARS):
        rta = np.zeros((N, N))
        if k > 0:
            rta[0, 1] = rta[1, 0] = 1.0
        if k > 1:
            rta[2, 3] = rta[3, 2] = rta[0, 2] = 1.0  # one directed agreement
        a = rng.normal(0, 1, N)
        b = rng.normal(0, 1, N)
        flows = np.exp(a[:, None] + b[None, :] + gamma + BETA * rta)
        flows[4, 5] = 0.0  # a pair that never trades: its cost comes from the second stage
        for i in range(N):
            for j in range(N):
                rows.append(
                    {
                        "exporter": names[i],
                        "importer": names[j],
                        "year": year,
                        "value": flows[i, j],
                        "rta": rta[i, j],
                        "dist": dist[i, j],
                        "cntg": cntg[i, j],
                        "lang": 0.0,
                        "clny": 0.0,
                    }
                )
    true_log_cost = gamma + BETA * rta  # rta of the last year
    return pd.DataFrame(rows), true_log_cost


def test_pair_effect_costs_give_the_true_counterfactual(
    panel: tuple[pd.DataFrame, np.ndarray],
) -> None:
    data, true_log_cost = panel
    options = CounterfactualOptions(
        baseline_year=2008,
        sigma=4,
        reference="K6",
        costs={
            "method": "pair_effects",
            "regressors": ["rta"],
            "pair_effects": "directional",
            "fill_covariates": ["log(dist)", "cntg"],
        },
        scenarios=[{"name": "end", "set": {"rta": 0}, "pairs": [["K0", "K1"], ["K1", "K0"]]}],
        tolerance=1e-12,
    )
    result = solve_counterfactual(data, options)
    assert result.costs.coefficients["rta"] == pytest.approx(BETA, rel=1e-8)
    assert result.costs.filled_pairs == 1
    # estimated costs = true costs times exporter and importer factors
    diff = result.costs.log_cost() - true_log_cost
    diff = diff - diff[:, [0]] - diff[[0], :] + diff[0, 0]
    np.testing.assert_allclose(diff, 0, atol=1e-7)
    # the same counterfactual solved directly on the true costs
    scenario_cost = true_log_cost.copy()
    scenario_cost[0, 1] -= BETA
    scenario_cost[1, 0] -= BETA
    flows = data.loc[data["year"] == 2008, "value"].to_numpy().reshape(N, N)
    truth = solve(
        flows,
        np.exp(true_log_cost),
        np.exp(scenario_cost),
        sigma=4,
        reference=N - 1,
        method="fixed_point",
        tolerance=1e-12,
    )
    ours = result.scenarios[0].solution
    np.testing.assert_allclose(ours.full.price, truth.full.price, rtol=RTOL)
    np.testing.assert_allclose(ours.full.flows, truth.full.flows, rtol=RTOL)
    np.testing.assert_allclose(ours.conditional.flows, truth.conditional.flows, rtol=RTOL)
