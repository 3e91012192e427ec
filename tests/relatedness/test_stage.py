"""The CLI stage: files, columns, row counts, and the same numbers as the library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.cli.stage_relatedness import stage_relatedness
from gravity.exceptions import DataError
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.results import COUNTRY_COLUMNS, COUNTRY_PRODUCT_COLUMNS, PROXIMITY_COLUMNS
from tests.relatedness.test_similarity import bilateral


def test_stage_on_a_bilateral_panel(tmp_path: Path) -> None:
    panel = pd.concat([bilateral(seed=2).assign(year=2010), bilateral(seed=3).assign(year=2011)])
    files = stage_relatedness({"normalization": "atlas", "years": [2010, 2011]}, panel, tmp_path)
    assert set(files) == {
        "country_product",
        "country",
        "product",
        "proximity",
        "country_similarity",
        "importer_product",
        "steps",
    }
    assert all(
        path.parent == tmp_path / "relatedness" and path.is_file() for path in files.values()
    )
    cp = pd.read_parquet(files["country_product"])
    assert tuple(cp.columns) == COUNTRY_PRODUCT_COLUMNS
    assert tuple(pd.read_parquet(files["country"]).columns) == COUNTRY_COLUMNS
    prox = pd.read_parquet(files["proximity"])
    assert tuple(prox.columns) == PROXIMITY_COLUMNS
    assert (prox["product_a"] < prox["product_b"]).all() and (prox["proximity"] > 0).all()
    assert sorted(cp["year"].unique()) == [2010, 2011]

    result = Relatedness(panel, RelatednessOptions(normalization="atlas")).fit()
    expected = result.country_product_frame()
    np.testing.assert_allclose(cp["density"], expected["density"], atol=0)
    np.testing.assert_allclose(cp["cog"], expected["cog"], atol=0)
    np.testing.assert_array_equal(cp["country"], expected["country"].astype(str))
    np.testing.assert_allclose(cp["distance"], 1 - cp["density"])

    steps = json.loads(files["steps"].read_text())
    assert [s["name"] for s in steps] == [s.name for s in files.steps]
    first = files.steps[0]
    assert first.rows_in == len(panel) and first.rows_out == len(cp)
    assert all(set(s) >= {"name", "rows_in", "rows_out", "removed"} for s in steps)


def test_stage_on_a_country_table_with_defaults(tmp_path: Path) -> None:
    table = (
        bilateral(seed=4)
        .groupby(["exporter", "product", "year"], as_index=False)["value"]
        .sum()
        .rename(columns={"exporter": "country"})
    )
    files = stage_relatedness(None, table, tmp_path)
    assert "importer_product" not in files
    country = pd.read_parquet(files["country"])
    assert country["diversity"].dtype == np.int64
    # growthlab: ECI has n-1 sd 1 over the country x product cells
    cells = pd.read_parquet(files["country_product"]).merge(country, on=["year", "country"])
    assert cells["eci"].std(ddof=1) == pytest.approx(1.0, abs=1e-12)


def test_stage_rejects_aggregate_panels_and_bad_options(tmp_path: Path) -> None:
    panel = bilateral().drop(columns="product")
    with pytest.raises(DataError, match="product-level trade"):
        stage_relatedness(None, panel, tmp_path)
    with pytest.raises(ValueError, match="normalization"):
        stage_relatedness({"normalization": "zz"}, bilateral(), tmp_path)


def test_result_to_parquet_round_trip(tmp_path: Path) -> None:
    result = Relatedness(bilateral(seed=5)).fit()
    paths = result.to_parquet(tmp_path)
    assert set(paths) == {"country_product", "country", "product", "proximity"}
    back = pd.read_parquet(paths["country_product"])
    frame = result.country_product_frame()
    assert len(back) == len(frame)
    np.testing.assert_array_equal(back["rca"], frame["rca"])
    assert len(result) == 1 and result.year(2010) is result.years[0]
    with pytest.raises(DataError, match="year 1999 not in the result"):
        result.year(1999)
