"""One path from a model spec to a fit: ``ModelSpec`` + ``fit``, OLS offsets, option errors.

Reference for the OLS offset: statsmodels WLS with explicit dummy columns on ``y - offset`` (what
``fixest::feols(offset = ~ off)`` estimates: the offset enters with coefficient one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from gravity.estimation.spec import ModelSpec, fit
from gravity.exceptions import ConfigError
from tests.estimation.test_oracle_statsmodels import small_panel

# Demeaning and the dummy regression both solve to ~1e-12 here; 1e-8 leaves room for the
# alternating-projection stopping rule.
COEF_RTOL = 1e-8
# Fitted values (offset included) go through the same solves.
FITTED_RTOL = 1e-8

FORMULA = "log(trade) ~ log(dist) + rta | exporter + importer"


def positive_panel() -> pd.DataFrame:
    df = small_panel()
    return df[df["trade"] > 0].reset_index(drop=True)


@pytest.mark.parametrize("weights", [False, True])
def test_ols_offset_matches_dummy_regression_on_shifted_outcome(weights: bool) -> None:
    df = positive_panel()
    res = Ols(FORMULA, df, offset="off", weights="w" if weights else None).fit()
    X = pd.concat(
        [
            pd.DataFrame({"log(dist)": np.log(df["dist"]), "rta": df["rta"].astype(float)}),
            pd.get_dummies(df["exporter"], dtype=float),
            pd.get_dummies(df["importer"], dtype=float).iloc[:, 1:],
        ],
        axis=1,
    )
    y = np.log(df["trade"]) - df["off"]
    ref = sm.WLS(y, X, weights=df["w"] if weights else 1.0).fit()
    np.testing.assert_allclose(res.coef, ref.params[["log(dist)", "rta"]], rtol=COEF_RTOL)
    # fitted values are on the outcome's scale, so they include the offset
    np.testing.assert_allclose(res.fitted, ref.fittedvalues + df["off"], rtol=FITTED_RTOL)
    np.testing.assert_allclose(res.predict(df, offset="off"), res.fitted, rtol=FITTED_RTOL)
    without = Ols(FORMULA, df).fit()
    assert not np.allclose(without.coef, res.coef, rtol=1e-3)


@pytest.mark.parametrize("estimator", ["ppml", "ols"])
def test_fit_passes_every_spec_field_to_the_estimator(estimator: str) -> None:
    df = positive_panel()
    formula = FORMULA if estimator == "ols" else FORMULA.replace("log(trade)", "trade")
    spec = ModelSpec(
        formula=formula, estimator=estimator, weights="w", offset="off", vcov="iid"
    )
    model = Ols if estimator == "ols" else Ppml
    direct = model(formula, df, weights="w", offset="off", vcov="iid").fit()
    got = fit(spec, df)
    np.testing.assert_allclose(got.coef, direct.coef, rtol=COEF_RTOL)
    np.testing.assert_allclose(got.se, direct.se, rtol=COEF_RTOL)
    # the offset changes the estimates, so a spec that dropped it would fail above
    plain = model(formula, df, weights="w", vcov="iid").fit()
    assert not np.allclose(plain.coef, got.coef, rtol=1e-3)


def test_invalid_options_from_python_name_the_argument_and_key() -> None:
    df = positive_panel()
    with pytest.raises(ConfigError, match=r"vcov\.type: Input should be 'iid', .*'clustr'"):
        Ppml("trade ~ log(dist) | exporter", df, vcov="clustr")
    extra = r"options\.max_iterations: Extra inputs are not permitted"
    with pytest.raises(ConfigError, match=extra):
        Ols(FORMULA, df, options={"max_iterations": 3})
    with pytest.raises(ConfigError, match=r"vcov: .*'hetero' takes no 'by'; use type: cluster"):
        Ppml("trade ~ log(dist) | exporter", df, vcov={"type": "hetero", "by": ["exporter"]})


def test_aggregate_cache_is_shared_by_models_reading_the_same_columns() -> None:
    from gravity.estimation.spec import aggregate_over_products

    rng = np.random.default_rng(4)
    cells = pd.MultiIndex.from_product(
        [["A", "B", "C"], ["A", "B", "C"], ["01", "02"], [2000, 2001]],
        names=["exporter", "importer", "product", "year"],
    ).to_frame(index=False)
    cells = cells[cells["exporter"] != cells["importer"]].reset_index(drop=True)
    cells["value"] = rng.integers(0, 50, len(cells)).astype(float)
    cells["dist"] = cells["exporter"].map({"A": 1.0, "B": 2.0, "C": 3.0}) + cells["importer"].map(
        {"A": 10.0, "B": 20.0, "C": 30.0}
    )
    ppml = ModelSpec(formula="value ~ log(dist) | exporter^year + importer^year")
    ols = ModelSpec(formula="log(value) ~ log(dist) | exporter^year + importer^year")
    cache: dict[tuple[str, ...], pd.DataFrame] = {}
    first = aggregate_over_products(ppml, cells, cache)
    second = aggregate_over_products(ols, cells, cache)
    assert list(cache) == [("dist",)]
    pd.testing.assert_frame_equal(first, aggregate_over_products(ppml, cells))
    pd.testing.assert_frame_equal(second, first)
    assert second is not first  # each model gets its own copy
    other = aggregate_over_products(ModelSpec(formula="value ~ 1 | exporter"), cells, cache)
    assert len(cache) == 2 and "dist" not in other.columns
