"""The forecast's per-year reads of the panel: only the columns each reader needs, same results.

Each year's structural gravity, relatedness and covariate hash read that year's rows; they are
given only the columns they read (and a slice, not a copy, where the year's rows are one run of
the panel). The references, compared exactly (the same arithmetic on the same rows gives the
same bits, so there is no tolerance):

- :func:`frame_hash` against ``pandas.util.hash_pandas_object(frame, index=False)``;
- ``covariate_hash`` against the hash of the year's rows of every numeric covariate taken at
  once (the code before);
- ``year_rows`` against a boolean selection of the panel;
- each year's gravity and relatedness against a builder whose ``year_rows`` gives every column
  of the year's rows (the code before).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from gravity.potential.features import RelatednessFeatures, relatedness_features
from gravity.potential.forecast.cube import build_cube, normalise_panel
from gravity.potential.forecast.features import RELATEDNESS_COLUMNS, FeatureBuilder, frame_hash
from tests.potential.test_chunked import world_panel

EASE = ["log(dist)", "contig"]


def _shuffled() -> pd.DataFrame:
    """The demo world's flows with the years interleaved (rows in a random order)."""
    panel = normalise_panel(world_panel(6))
    order = np.random.default_rng(11).permutation(len(panel))
    return panel.iloc[order].reset_index(drop=True)


class _AllColumns(FeatureBuilder):
    """The builder before: every reader of a year gets all the year's columns, copied."""

    def year_rows(self, year: int, columns: list[str] | None = None) -> pd.DataFrame:
        return self.panel.iloc[np.flatnonzero(self.panel["year"].to_numpy() == year)]


def _builders(panel: pd.DataFrame) -> tuple[FeatureBuilder, FeatureBuilder, list[list[str]]]:
    seen: list[list[str]] = []
    fn = relatedness_features()

    def recording(rows: pd.DataFrame, year: int) -> RelatednessFeatures:
        seen.append(list(rows.columns))
        return fn(rows, year)

    cube = build_cube(panel, True)
    new = FeatureBuilder(cube, panel, 2, EASE, recording)
    old = _AllColumns(cube, panel, 2, EASE, fn)
    return new, old, seen


def test_frame_hash_is_pandas_hash_of_the_frame() -> None:
    rng = np.random.default_rng(2)
    n = 500
    frame = pd.DataFrame(
        {
            "x": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.normal(size=n)),
            "k": rng.integers(-5, 5, n),
            "small": rng.integers(0, 200, n).astype(np.uint8),
            "flag": rng.uniform(size=n) < 0.5,
            "nullable": pd.array(np.where(rng.uniform(size=n) < 0.2, None, 3), dtype="Int64"),
        }
    )
    for k in range(1, frame.shape[1] + 1):
        part = frame.iloc[:, :k]
        want = pd.util.hash_pandas_object(part, index=False).to_numpy()
        got = frame_hash([part[c] for c in part.columns])
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("arrange", ["interleaved", "by_year"])
def test_year_rows_are_the_years_rows_of_the_columns_asked(arrange: str) -> None:
    panel = _shuffled()
    if arrange == "by_year":
        panel = panel.sort_values("year", kind="stable").reset_index(drop=True)
    builder = FeatureBuilder(build_cube(panel, True), panel, 2, EASE)
    for year in sorted(panel["year"].unique()):
        want = panel[panel["year"] == year]
        pd.testing.assert_frame_equal(builder.year_rows(year), want)
        # the panel's column order; a column the panel lacks is left out
        got = builder.year_rows(year, ["value", "exporter", "no_such_column"])
        pd.testing.assert_frame_equal(got, want[["exporter", "value"]])
        if arrange == "by_year":
            # one run of rows: a slice of the panel's column, not a copy
            assert np.shares_memory(got["value"].to_numpy(), panel["value"].to_numpy())


def test_a_panel_of_one_year_is_given_as_it_is() -> None:
    panel = _shuffled()
    one = panel[panel["year"] == panel["year"].max()].reset_index(drop=True)
    builder = FeatureBuilder(build_cube(one, True), one, 2, EASE)
    got = builder.year_rows(int(one["year"].iloc[0]), ["exporter", "value"])
    pd.testing.assert_frame_equal(got, one[["exporter", "value"]])
    assert np.shares_memory(got["value"].to_numpy(), one["value"].to_numpy())


def test_covariate_hash_is_that_of_the_years_covariates_taken_at_once() -> None:
    panel = _shuffled()
    builder = FeatureBuilder(build_cube(panel, True), panel, 2, EASE)
    cols = [
        c
        for c in panel.columns
        if c not in ("value", "year") and pd.api.types.is_numeric_dtype(panel[c])
    ]
    assert len(cols) >= 2  # several columns combined
    for a, year in enumerate(builder.cube.years):
        rows = panel[cols][panel["year"].to_numpy() == year]
        hashed = pd.util.hash_pandas_object(rows, index=False).to_numpy()
        assert builder.covariate_hash(a) == hashlib.sha256(hashed.tobytes()).hexdigest()


def test_gravity_and_relatedness_read_only_their_columns_with_the_same_result() -> None:
    panel = _shuffled()
    new, old, seen = _builders(panel)
    for a in range(len(new.cube.years)):
        got, want = new.gravity(a), old.gravity(a)
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
        assert np.isfinite(got["ease"]).any()  # the fits ran
        rel_got, rel_want = new.related(a), old.related(a)
        assert rel_got is not None and rel_want is not None
        assert set(rel_got) == set(rel_want)
        for name in rel_want:
            np.testing.assert_array_equal(rel_got[name], rel_want[name])
        assert a in new.glob.markets
    assert seen and all(c == list(RELATEDNESS_COLUMNS) for c in seen)
