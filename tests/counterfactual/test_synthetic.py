"""A synthetic world with known costs: the counterfactual recovers the known GE response.

The truth comes from an independent solver written here: the Armington-CES model in levels
(factory-gate prices solve market clearing with the reference consumer price index as numeraire,
by ``scipy.optimize.root``), with no gravity estimation, no fixed effects and no balancing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import root

from gravity.counterfactual import CounterfactualOptions, solve_counterfactual
from gravity.exceptions import ConvergenceWarning

SIGMA = 5.0
DIST_ELASTICITY = -0.8
BORDER = -1.5
N = 8
REFERENCE = N - 1
GROUP = [0, 1, 2]
# The fixed point is iterated to 1e-12 and the data are exact: agreement to 1e-9 relative
# leaves only the root finder's and PPML's rounding.
EXACT_RTOL = 1e-9
# The book's procedure stops at its 0.01 rule; on this world it lands within 0.5% of the true
# price and real-GDP changes (measured 0.13% and 0.04%).
BOOK_RTOL = 5e-3


def _equilibrium(
    cost: np.ndarray, endowment: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def excess(log_p: np.ndarray) -> np.ndarray:
        p = np.exp(log_p)
        output = p * endowment
        supply = (beta * p) ** (1 - SIGMA)
        price_index = supply @ cost  # P_j^(1 - sigma)
        flows = supply[:, None] * cost * output[None, :] / price_index[None, :]
        out = flows.sum(axis=1) / output - 1
        out[REFERENCE] = np.log(price_index[REFERENCE])  # numeraire: P_ref = 1
        return np.asarray(out)

    sol = root(excess, np.zeros(N), tol=1e-13)
    # "xtol too small" also means the root is found to machine precision: check the residual
    assert np.max(np.abs(excess(sol.x))) < 1e-13
    p = np.exp(sol.x)
    output = p * endowment
    supply = (beta * p) ** (1 - SIGMA)
    price_index = supply @ cost
    flows = supply[:, None] * cost * output[None, :] / price_index[None, :]
    return p, price_index ** (1 / (1 - SIGMA)), flows


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    rng = np.random.default_rng(20261127)
    endowment = rng.uniform(1, 10, N)
    beta = rng.uniform(0.5, 2, N)
    xy = rng.uniform(0, 10, (N, 2))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(N)
    border = 1 - np.eye(N)
    cost = np.exp(DIST_ELASTICITY * np.log(dist) + BORDER * border)
    cost_cf = cost.copy()
    for i in GROUP:
        for j in GROUP:
            if i != j:
                cost_cf[i, j] /= np.exp(BORDER)
    p0, price0, flows0 = _equilibrium(cost, endowment, beta)
    p1, price1, flows1 = _equilibrium(cost_cf, endowment, beta)
    names = [f"C{k}" for k in range(N)]
    data = pd.DataFrame(
        {
            "exporter": np.repeat(names, N),
            "importer": np.tile(names, N),
            "year": 2020,
            "trade": flows0.ravel(),
            "dist": dist.ravel(),
            "border": border.ravel(),
        }
    )
    gdp0 = p0 * endowment / price0
    gdp1 = p1 * endowment / price1
    return {
        "data": data,
        "names": names,
        "price_change": 100 * (p1 / p0 - 1),
        "real_gdp_change": 100 * (gdp1 / gdp0 - 1),
        "exports_change": 100
        * ((flows1.sum(1) - np.diag(flows1)) / (flows0.sum(1) - np.diag(flows0)) - 1),
        "imr_change": 100 * (price1 / price0 - 1),
    }


def _options(method: str, scenario: dict[str, Any] | None = None) -> CounterfactualOptions:
    return CounterfactualOptions(
        baseline_year=2020,
        outcome="trade",
        sigma=SIGMA,
        reference=f"C{REFERENCE}",
        costs={"regressors": ["log(dist)", "border"]},
        scenarios=[
            scenario or {"name": "union", "set": {"border": 0}, "groups": [["C0", "C1", "C2"]]}
        ],
        method=method,
        tolerance=1e-12 if method == "fixed_point" else None,
    )


def test_costs_recovered_exactly(world: dict[str, Any]) -> None:
    result = solve_counterfactual(world["data"], _options("fixed_point"))
    coef = result.costs.coefficients
    assert coef["log(dist)"] == pytest.approx(DIST_ELASTICITY, rel=1e-8)
    assert coef["border"] == pytest.approx(BORDER, rel=1e-8)


def test_fixed_point_recovers_the_known_response(world: dict[str, Any]) -> None:
    result = solve_counterfactual(world["data"], _options("fixed_point"))
    table = result.countries_frame().set_index("country").loc[world["names"]]
    for column, key in [
        ("price_change_pct", "price_change"),
        ("real_gdp_change_pct", "real_gdp_change"),
        ("exports_full_change_pct", "exports_change"),
        ("imr_full_change_pct", "imr_change"),
    ]:
        truth = np.asarray(world[key])
        np.testing.assert_allclose(
            1 + table[column] / 100, 1 + truth / 100, rtol=EXACT_RTOL, err_msg=column
        )
    # members of the union gain, the reference country's price index stays the numeraire
    assert (table.loc[["C0", "C1", "C2"], "real_gdp_change_pct"] > 0).all()
    assert table.loc[f"C{REFERENCE}", "imr_full_change_pct"] == pytest.approx(0, abs=1e-10)


def test_book_procedure_lands_near_the_known_response(world: dict[str, Any]) -> None:
    result = solve_counterfactual(world["data"], _options("iterative"))
    table = result.countries_frame().set_index("country").loc[world["names"]]
    for column, key in [
        ("price_change_pct", "price_change"),
        ("real_gdp_change_pct", "real_gdp_change"),
    ]:
        truth = np.asarray(world[key])
        np.testing.assert_allclose(
            1 + table[column] / 100, 1 + truth / 100, rtol=BOOK_RTOL, err_msg=column
        )


def test_output_tables_are_consistent(world: dict[str, Any]) -> None:
    result = solve_counterfactual(world["data"], _options("fixed_point"))
    countries = result.countries_frame()
    pairs = result.pairs_frame()
    assert list(countries.columns[:2]) == ["scenario", "country"]
    for name in ("exports_full", "exports_conditional", "output", "price", "real_gdp"):
        assert any(c.startswith(name) and c.endswith("_change_pct") for c in countries.columns)
    assert len(pairs) == N * N and set(pairs["scenario"]) == {"union"}
    flows = pairs.pivot(index="exporter", columns="importer", values="flow_full")
    table = countries.set_index("country")
    # full-endowment flows add up to the new output, and exports exclude domestic sales
    np.testing.assert_allclose(flows.sum(axis=1), table["output_full"], rtol=1e-10)
    domestic = np.diag(flows.loc[table.index, table.index].to_numpy())
    np.testing.assert_allclose(
        flows.sum(axis=1).loc[table.index] - domestic, table["exports_full"], rtol=1e-10
    )
    # the scenario's costs differ from the baseline exactly on the union's international pairs
    changed = pairs.loc[pairs["log_cost_scenario"] != pairs["log_cost_baseline"]]
    assert set(zip(changed["exporter"], changed["importer"], strict=True)) == {
        (a, b) for a in ("C0", "C1", "C2") for b in ("C0", "C1", "C2") if a != b
    }
    np.testing.assert_allclose(
        changed["log_cost_scenario"] - changed["log_cost_baseline"], -BORDER, rtol=1e-8
    )


def test_iceberg_cost_change_equals_the_same_change_through_a_regressor(
    world: dict[str, Any],
) -> None:
    # removing the border inside the group multiplies t_ij by exp(-BORDER), i.e. iceberg costs
    # tau = t ** (1 / (1 - sigma)) change by exp(-BORDER / (1 - sigma)) - 1
    pct = 100 * (np.exp(-BORDER / (1 - SIGMA)) - 1)
    scenario = {"name": "union", "cost_change_pct": pct, "groups": [["C0", "C1", "C2"]]}
    result = solve_counterfactual(world["data"], _options("fixed_point", scenario))
    table = result.countries_frame().set_index("country").loc[world["names"]]
    truth = np.asarray(world["real_gdp_change"])
    np.testing.assert_allclose(
        1 + table["real_gdp_change_pct"] / 100, 1 + truth / 100, rtol=EXACT_RTOL
    )


@pytest.mark.parametrize("method", ["fixed_point", "iterative"])
def test_iteration_limit_warns(world: dict[str, Any], method: str) -> None:
    options = _options(method).model_copy(update={"tolerance": 1e-14, "max_iterations": 2})
    with pytest.warns(ConvergenceWarning, match=rf"full-endowment GE \({method}\) stopped"):
        result = solve_counterfactual(world["data"], options)
    assert not result.scenarios[0].solution.converged
    assert result.summary_dict()["scenarios"]["union"]["converged"] is False
