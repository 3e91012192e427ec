"""Bad counterfactual input gives one clear error naming the key, the value and the fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from gravity.counterfactual import CounterfactualOptions, solve_counterfactual
from gravity.exceptions import DataError, OptionsError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    names = ["AAA", "BBB", "CCC", "DDD"]
    n = len(names)
    dist = rng.uniform(1, 5, (n, n))
    flows = rng.uniform(1, 10, n)[:, None] * rng.uniform(1, 10, n)[None, :] / dist
    return pd.DataFrame(
        {
            "exporter": np.repeat(names, n),
            "importer": np.tile(names, n),
            "year": 2000,
            "trade": flows.ravel(),
            "dist": dist.ravel(),
            "rta": (rng.uniform(size=n * n) > 0.5).astype(float),
        }
    )


def _options(**change: Any) -> CounterfactualOptions:
    base: dict[str, Any] = {
        "baseline_year": 2000,
        "outcome": "trade",
        "sigma": 5,
        "reference": "DDD",
        "costs": {"regressors": ["log(dist)", "rta"]},
        "scenarios": [{"name": "s", "set": {"rta": 0}, "pairs": [["AAA", "BBB"]]}],
    }
    return CounterfactualOptions(**{**base, **change})


def test_valid_input_runs(data: pd.DataFrame) -> None:
    result = solve_counterfactual(data, _options())
    assert set(result.countries_frame()["country"]) == {"AAA", "BBB", "CCC", "DDD"}


def test_unknown_country(data: pd.DataFrame) -> None:
    options = _options(scenarios=[{"name": "s", "set": {"rta": 0}, "groups": [["AAA", "XYZ"]]}])
    with pytest.raises(DataError, match=r"scenario 's': countries \['XYZ'\] are not in"):
        solve_counterfactual(data, options)


def test_unknown_regressor(data: pd.DataFrame) -> None:
    options = _options(scenarios=[{"name": "s", "set": {"fta": 0}}])
    with pytest.raises(DataError, match=r"'fta' is not a cost regressor.*\['dist', 'rta'\]"):
        solve_counterfactual(data, options)


def test_cost_regressor_not_in_data(data: pd.DataFrame) -> None:
    options = _options(costs={"regressors": ["log(distance)"]})
    with pytest.raises(DataError, match=r"column\(s\) \['distance'\] not in the data"):
        solve_counterfactual(data, options)


@pytest.mark.parametrize("sigma", [1, 0.5, -2])
def test_sigma_must_exceed_one(sigma: float) -> None:
    with pytest.raises(OptionsError, match=r"CounterfactualOptions.sigma: Input should be greater"):
        _options(sigma=sigma)


def test_baseline_year_not_in_panel(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"baseline_year 2006 is not in the data.*2000\.\.2000"):
        solve_counterfactual(data, _options(baseline_year=2006))


def test_reference_not_in_data(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"reference 'DEU' is not a country"):
        solve_counterfactual(data, _options(reference="DEU"))


def test_missing_pairs_are_refused(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"has 15 rows, not the 16 of a square table"):
        solve_counterfactual(data.iloc[1:], _options())


def test_scenario_that_changes_nothing() -> None:
    with pytest.raises(OptionsError, match=r"scenarios.0: .*scenario 'idle' changes nothing"):
        _options(scenarios=[{"name": "idle", "pairs": [["AAA", "BBB"]]}])


def test_country_without_output_is_refused(data: pd.DataFrame) -> None:
    silent = data.assign(trade=data["trade"].where(data["exporter"] != "CCC", 0.0))
    with pytest.raises(DataError, match=r"\['CCC'\] have no output or no expenditure in 2000"):
        solve_counterfactual(silent, _options())
