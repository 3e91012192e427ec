"""The forecast fitted once and scored product chunk by product chunk.

Reference: scoring the whole panel with the same fitted model (``fit_and_score``, the path of
``forecast_potential``). A chunk reads only its products' rows plus the global tables of the
fit, so the numbers must be the same to the last bit: the tolerance is exact equality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
from gravity.potential.features import relatedness_features
from gravity.potential.forecast.fitted import ForecastModel, fit_and_score
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions
from tests.potential.forecast.world import simulate

FAST = LearnerOptions(max_iter=40, min_samples_leaf=20)
EASE = ["log(dist)", "contig", "comlang", "rta"]
KEYS = ["exporter", "importer", "product"]
BASE = 2007
CHUNKS = 3


@pytest.fixture(scope="module")
def demo_world() -> pd.DataFrame:
    """A small version of the demo world (the same generator, 12 countries x 15 products)."""
    world = generate_world(SyntheticWorldOptions(n_countries=12, n_products=15, n_years=8))
    panel = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer", "product"):
        panel[column] = panel[column].astype(str)
    return panel


@pytest.fixture(scope="module")
def fitted(demo_world: pd.DataFrame) -> tuple[ForecastModel, pd.DataFrame]:
    assert demo_world["year"].max() == BASE
    opts = ForecastOptions(learner=FAST, ease_terms=EASE, interval_bands=3)
    return fit_and_score(demo_world, BASE, 2, opts, relatedness_features())


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS).reset_index(drop=True)


def test_chunked_scoring_equals_scoring_the_whole_panel(
    demo_world: pd.DataFrame, fitted: tuple[ForecastModel, pd.DataFrame]
) -> None:
    model, whole = fitted
    products = np.array(sorted(demo_world["product"].unique()))
    parts = []
    for chunk in np.array_split(products, CHUNKS):
        rows = demo_world[demo_world["product"].isin(chunk)]
        parts.append(model.score(rows))
    chunked = pd.concat(parts, ignore_index=True)
    assert len(whole) == 12 * 11 * 15
    pd.testing.assert_frame_equal(_sorted(chunked), _sorted(whole), check_exact=True)
    # relatedness and gravity features reached the chunks (else the scores would not match,
    # but make sure the test is not comparing two featureless models)
    assert whole["entry_probability"].nunique() > 100


def test_scoring_some_exporters_gives_their_rows_of_the_full_scoring(
    demo_world: pd.DataFrame, fitted: tuple[ForecastModel, pd.DataFrame]
) -> None:
    model, whole = fitted
    wanted = sorted(demo_world["exporter"].unique())[:2]
    some = model.score(demo_world, exporters=wanted)
    expected = whole[whole["exporter"].isin(wanted)]
    pd.testing.assert_frame_equal(_sorted(some), _sorted(expected), check_exact=True)


def test_aggregate_panels_score_the_same_through_the_fitted_model() -> None:
    world = simulate(n=15, years=range(2000, 2012))
    opts = ForecastOptions(learner=FAST, ease_terms=["log(dist)"])
    model, whole = fit_and_score(world, 2009, 2, opts)
    again = model.score(world)
    pd.testing.assert_frame_equal(again, whole, check_exact=True)


def test_a_chunk_with_products_the_fit_never_saw_is_one_clear_error(
    demo_world: pd.DataFrame, fitted: tuple[ForecastModel, pd.DataFrame]
) -> None:
    model, _ = fitted
    rows = demo_world[demo_world["product"] == demo_world["product"].iloc[0]].copy()
    rows["product"] = "9999"
    with pytest.raises(DataError, match=r"product \['9999'\] of the chunk were not in the panel"):
        model.score(rows)


def test_the_base_years_relatedness_passed_in_gives_the_same_forecast(
    demo_world: pd.DataFrame, fitted: tuple[ForecastModel, pd.DataFrame]
) -> None:
    # the opportunity table computes the base year's relatedness from the rows up to it and
    # hands it over, so the forecast does not compute it a second time
    rel = relatedness_features()
    shared = {BASE: rel(demo_world[demo_world["year"] <= BASE], BASE)}
    opts = ForecastOptions(learner=FAST, ease_terms=EASE, interval_bands=3)
    _, frame = fit_and_score(demo_world, BASE, 2, opts, rel, shared)
    pd.testing.assert_frame_equal(frame, fitted[1], check_exact=True)
    # and the other years it trained on were computed and added, each from its own rows
    assert sorted(shared) == [*range(2000, 2006), BASE]
