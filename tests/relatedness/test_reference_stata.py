"""The Growth Lab's Stata ``ecomplexity`` ground truth, reproduced row by row.

Provenance (see ../shared/data/README.md, section 3): ``pyecomplexity_fixtures/`` comes from
GitHub ``cid-harvard/py-ecomplexity`` ``tests/fixtures/`` at commit ``554cc5dc``. The ground truth
was produced by the Growth Lab's Stata package (``tests/generate_stata_fixtures.do`` there)::

    import delimited trade_data_sample.csv, clear
    ecomplexity export_val, i(origin) p(hs92) t(year)
    export delimited stata_ground_truth.csv

i.e. RCA threshold 1 (Stata tests ``RCA > 1``), discrete symmetric proximity with a zero diagonal
(``proxdiscrete.ado`` subtracts the identity), each year separately, ECI standardized over the
country x product rows with Stata's n-1 ``sum`` sd and PCI/COG scaled by the same numbers
(``ecomplexity.ado``). Our defaults are exactly these conventions.

``import delimited`` reads ``export_val`` as float32, which is why the ground truth's
``export_val`` differs from the input file in the 8th digit; we feed the ground truth's own
values (what Stata computed with), and separately check the float64 input file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from tests.conftest import shared_file

# We solve the same eigenproblem symmetrically and match Stata to ~1e-14 on every column; 1e-9
# leaves room for BLAS/LAPACK differences across machines. The issue's tolerances (1e-5 for
# eci/pci/rca, 1e-4 for density/coi/cog, as py-ecomplexity's own tests) are thus met 10^4 over.
MEASURE_ATOL = 1e-9
# RCA: Stata stored it from float32-read values (float32 has 7 significant digits).
RCA_RTOL_FLOAT32_INPUT = 1e-6

MEASURES = ["density", "eci", "pci", "coi", "cog"]


def _ground_truth() -> pd.DataFrame:
    return pd.read_csv(
        shared_file("pyecomplexity_fixtures/stata_ground_truth.csv"), dtype={"hs92": str}
    )


def _merged(table: pd.DataFrame, options: RelatednessOptions | None = None) -> pd.DataFrame:
    result = Relatedness(table, options).fit()
    ours = (
        result.country_product_frame()
        .merge(result.country_frame(), on=["year", "country"])
        .merge(result.product_frame()[["year", "product", "ubiquity"]], on=["year", "product"])
    )
    ours["country"] = ours["country"].astype(str)
    ours["product"] = ours["product"].astype(str)
    truth = _ground_truth().rename(columns={"origin": "country", "hs92": "product"})
    merged = ours.merge(truth, on=["year", "country", "product"], suffixes=("", "_stata"))
    assert len(merged) == len(truth) == len(ours) == 600
    return merged


@pytest.fixture(scope="module")
def stata_merged() -> pd.DataFrame:
    truth = _ground_truth()
    table = truth[["year", "origin", "hs92", "export_val"]].rename(
        columns={"origin": "country", "hs92": "product", "export_val": "value"}
    )
    return _merged(table)


def test_fixture_options_are_our_defaults() -> None:
    options = RelatednessOptions()
    assert (options.presence, options.threshold, options.strict_threshold) == ("rca", 1.0, True)
    assert (options.proximity_diagonal, options.normalization) == ("zero", "growthlab")
    assert options.cog_atlas_term is False


def test_presence_diversity_ubiquity_exact(stata_merged: pd.DataFrame) -> None:
    np.testing.assert_array_equal(stata_merged["m"], stata_merged["M"])
    np.testing.assert_array_equal(stata_merged["diversity"], stata_merged["diversity_stata"])
    np.testing.assert_array_equal(stata_merged["ubiquity"], stata_merged["ubiquity_stata"])


def test_rca_row_by_row(stata_merged: pd.DataFrame) -> None:
    np.testing.assert_allclose(
        stata_merged["rca"], stata_merged["rca_stata"], rtol=RCA_RTOL_FLOAT32_INPUT, atol=0
    )


@pytest.mark.parametrize("measure", MEASURES)
def test_measure_row_by_row(stata_merged: pd.DataFrame, measure: str) -> None:
    ours = stata_merged[measure].to_numpy()
    stata = stata_merged[f"{measure}_stata"].to_numpy()
    assert np.isfinite(ours).all() and np.isfinite(stata).all()
    np.testing.assert_allclose(ours, stata, rtol=0, atol=MEASURE_ATOL, err_msg=measure)


def test_documented_stata_conventions(stata_merged: pd.DataFrame) -> None:
    # COG is 0 where M = 1; ECI has sd sqrt((n-1)/n) across the 300 cells of a year
    assert (stata_merged.loc[stata_merged["m"] == 1, "cog"] == 0).all()
    for _, year in stata_merged.groupby("year"):
        assert year["eci"].std(ddof=1) == pytest.approx(1.0, abs=1e-12)
        by_country = year.groupby("country")["eci"].first()
        assert by_country.std(ddof=0) == pytest.approx(np.sqrt(299 / 300), abs=1e-12)


def test_float64_input_file_within_issue_tolerances() -> None:
    table = pd.read_csv(
        shared_file("pyecomplexity_fixtures/trade_data_sample.csv"), dtype={"hs92": str}
    ).rename(columns={"origin": "country", "hs92": "product", "export_val": "value"})
    merged = _merged(table)
    np.testing.assert_array_equal(merged["m"], merged["M"])
    # the issue's tolerances: 1e-5 relative for rca/eci/pci, 1e-4 for density/coi/cog
    np.testing.assert_allclose(merged["rca"], merged["rca_stata"], rtol=1e-5)
    for measure, tol in [
        ("eci", 1e-5),
        ("pci", 1e-5),
        ("density", 1e-4),
        ("coi", 1e-4),
        ("cog", 1e-4),
    ]:
        np.testing.assert_allclose(
            merged[measure], merged[f"{measure}_stata"], rtol=tol, atol=tol, err_msg=measure
        )


def test_same_numbers_from_the_bilateral_layout() -> None:
    truth = _ground_truth()
    # split every export over two importers: summing over importers must give the same measures
    half = truth[["year", "origin", "hs92", "export_val"]].rename(
        columns={"origin": "exporter", "hs92": "product", "export_val": "value"}
    )
    half["value"] = half["value"] / 2
    panel = pd.concat([half.assign(importer="zz1"), half.assign(importer="zz2")])
    bilateral = Relatedness(panel).fit().country_frame()
    table = half.rename(columns={"exporter": "country"}).assign(value=half["value"] * 2)
    direct = Relatedness(table).fit().country_frame()
    np.testing.assert_allclose(bilateral["eci"], direct["eci"], atol=1e-12)
