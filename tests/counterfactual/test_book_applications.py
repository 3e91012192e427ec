"""Yotov et al. (2016), Chapter 2: the two GE applications against the published tables.

Provenance of the expected numbers: reference/PROVENANCE.md. Data: ../shared/data/yotov2016_agtpa
(skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.counterfactual import CounterfactualOptions, solve_counterfactual
from gravity.counterfactual.options import BOOK_TOLERANCE
from tests.conftest import shared_file

PUBLISHED = Path(__file__).parent / "reference" / "yotov2016_ch2_published.csv"
# Percentage points. The published tables come from Stata's ppml (iter(30)) and are written with
# 9 significant digits; our refits are converged to 1e-12, and the largest gap we see on all
# 69 countries and 5 columns is 7e-5 pp, so 1e-3 pp leaves room for BLAS differences only.
PCT_ATOL = 1e-3
# Baseline output is the observed data: only rounding in the transcription.
OUTPUT_RTOL = 1e-8
# The book stops when price steps change by less than 0.01; the exact equilibrium of the fixed
# point must lie within that distance of the book's answer (in percentage points of the price).
BOOK_PRICE_ATOL_PP = 100 * BOOK_TOLERANCE
COLUMNS = {
    "change_Xi_CDL": "exports_conditional_change_pct",
    "change_Xi_FULL": "exports_full_change_pct",
    "change_price_FULL": "price_change_pct",
    "change_IMR_FULL": "imr_full_change_pct",
    "change_rGDP_FULL": "real_gdp_change_pct",
}
YEARS_EVERY_4 = [1986, 1990, 1994, 1998, 2002, 2006]


@pytest.fixture(scope="module")
def agtpa() -> pd.DataFrame:
    data = pd.read_parquet(shared_file("yotov2016_agtpa/agtpa_applications.parquet"))
    return data.assign(intl_border=(data["exporter"] != data["importer"]).astype(float))


def _options(application: str, method: str) -> CounterfactualOptions:
    if application == "no_border":
        return CounterfactualOptions(
            baseline_year=2006,
            outcome="trade",
            sigma=7,
            reference="DEU",
            costs={"method": "regressors", "regressors": ["log(dist)", "cntg", "intl_border"]},
            scenarios=[{"name": "no_border", "set": {"intl_border": 0}}],
            method=method,
        )
    return CounterfactualOptions(
        baseline_year=1994,
        outcome="trade",
        sigma=7,
        reference="DEU",
        costs={"method": "pair_effects", "regressors": ["rta"], "years": YEARS_EVERY_4},
        scenarios=[
            {
                "name": "no_nafta",
                "set": {"rta": 0},
                "pairs": [
                    ["CAN", "USA"], ["USA", "CAN"], ["CAN", "MEX"],
                    ["MEX", "CAN"], ["MEX", "USA"], ["USA", "MEX"],
                ],
            }
        ],
        method=method,
    )  # fmt: skip


def _published(application: str) -> pd.DataFrame:
    book = pd.read_csv(PUBLISHED).query("application == @application").set_index("country")
    if application == "no_nafta":
        # the book reports baseline relative to the scenario; convert to scenario vs baseline
        for col in COLUMNS:
            if col == "change_price_FULL":
                book[col] = -book[col]
            else:
                book[col] = 100 * (1 / (1 + book[col] / 100) - 1)
    return book


@pytest.mark.parametrize("application", ["no_border", "no_nafta"])
def test_book_procedure_reproduces_published_changes(agtpa: pd.DataFrame, application: str) -> None:
    result = solve_counterfactual(agtpa, _options(application, "iterative"))
    ours = result.countries_frame().set_index("country")
    book = _published(application)
    assert sorted(ours.index) == sorted(book.index)
    ours = ours.loc[book.index]
    for theirs, mine in COLUMNS.items():
        np.testing.assert_allclose(
            ours[mine], book[theirs], rtol=0, atol=PCT_ATOL, err_msg=f"{application} {mine}"
        )
    np.testing.assert_allclose(ours["output_baseline"], book["Y_BLN"], rtol=OUTPUT_RTOL)


def test_nafta_cost_stage_matches_the_log(agtpa: pd.DataFrame) -> None:
    result = solve_counterfactual(agtpa, _options("no_nafta", "fixed_point"))
    # RTAsEffects.log, line 3347: RTA .5571853 (s.e. .055771); 7 pairs never trade (84 rows
    # excluded over 6 years), each filled in both directions
    assert result.costs.coefficients["rta"] == pytest.approx(0.5571853, abs=5e-8)
    assert result.costs.estimate.nobs_dropped["fe_zero"] == 84
    assert result.costs.filled_pairs == 14


@pytest.mark.parametrize("application", ["no_border", "no_nafta"])
def test_exact_equilibrium_is_within_the_book_stopping_rule(
    agtpa: pd.DataFrame, application: str
) -> None:
    result = solve_counterfactual(agtpa, _options(application, "fixed_point"))
    assert result.scenarios[0].solution.converged
    ours = result.countries_frame().set_index("country")
    book = _published(application)
    np.testing.assert_allclose(
        ours.loc[book.index, "price_change_pct"],
        book["change_price_FULL"],
        rtol=0,
        atol=BOOK_PRICE_ATOL_PP,
    )
    # conditional GE has no iteration: both methods agree with the book exactly
    np.testing.assert_allclose(
        ours.loc[book.index, "exports_conditional_change_pct"],
        book["change_Xi_CDL"],
        rtol=0,
        atol=PCT_ATOL,
    )
