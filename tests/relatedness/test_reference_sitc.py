"""The SITC-4 world 1998-2000 (226 x 785): R ``economiccomplexity`` outputs, exactly.

Provenance (../shared/data/README.md, section 4): GitHub ``pachadotdev/economiccomplexity`` at
commit ``423d5b4``, ``data/*.rda`` converted losslessly. The reference outputs are the package's
``economiccomplexity_output`` on ``world_trade_avg_1998_to_2000``:

* ``balassa_index(data, discrete = TRUE, cutoff = 1)``: ``RCA < 1 -> 0``, ``RCA >= 1 -> 1``
  (``R/balassa_index.R``); ``ref_mcp.csv`` lists the pairs with 1;
* ``proximity(balassa_index)``: ``crossprod(M, M) / outer(k_p, k_p, pmax)`` for products and
  ``tcrossprod(M, M) / outer(k_c, k_c, pmax)`` for countries, diagonal 1 (``R/proximity.R``),
  stored as the upper triangle with the diagonal.

Hence ``strict_threshold=False, proximity_diagonal="one"``. The same world also checks our ECI
against the Atlas's published SITC ECI (``atlas_growthlab/rankings.dta``), and, when the
benchmark peer py-ecomplexity is installed, every measure against it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from gravity.relatedness.complexity import complexity_eigenvectors
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.results import YearRelatedness
from tests.conftest import shared_file

R_OPTIONS = RelatednessOptions(strict_threshold=False, proximity_diagonal="one")
# Proximities are ratios of small integers. The reference files hold R's values printed with 15
# significant digits (so they differ from the IEEE quotient by up to 5e-16); rounded the same way,
# ours are identical, which the tests assert, besides this absolute tolerance.
PROXIMITY_ATOL = 1e-15
# ECI vs the Atlas: different vintages of the data (Atlas: cleaned Comtrade, yearly), so only a
# strong rank agreement is expected; we measure 0.88 over 126 countries with the population filter.
ATLAS_ECI_MIN_SPEARMAN = 0.85
# Equality with py-ecomplexity: same formulas, different eigen solver (numpy eig on 785 x 785).
PEER_ATOL = 1e-9


def _trade() -> pd.DataFrame:
    path = shared_file("economiccomplexity_sitc4_1998_2000/world_trade_avg_1998_to_2000.csv")
    trade = pd.read_csv(path, dtype={"product": str, "country": str})
    return trade.assign(year=2000)


@pytest.fixture(scope="module")
def world() -> YearRelatedness:
    return Relatedness(_trade(), R_OPTIONS).fit().year(2000)


def test_world_shape(world: YearRelatedness) -> None:
    assert world.shape == (226, 785)


def test_mcp_set_exact(world: YearRelatedness) -> None:
    ref = pd.read_csv(
        shared_file("economiccomplexity_sitc4_1998_2000/ref_mcp.csv"), dtype={"product": str}
    )
    rows, cols = np.nonzero(world.m)
    ours = set(zip(world.countries[rows], world.products[cols], strict=True))
    theirs = set(zip(ref["country"], ref["product"], strict=True))
    assert len(ours) == len(theirs) == 31_951
    assert ours == theirs


def _check_upper_triangle(matrix: np.ndarray, labels: np.ndarray, ref: pd.DataFrame) -> None:
    index = pd.Index(labels)
    a = index.get_indexer(ref.iloc[:, 0].astype(str))
    b = index.get_indexer(ref.iloc[:, 1].astype(str))
    assert (a >= 0).all() and (b >= 0).all()
    n = len(labels)
    assert len(ref) == n * (n + 1) // 2  # every pair of the upper triangle, diagonal included
    ours = matrix[a, b]
    np.testing.assert_allclose(ours, ref["proximity"], rtol=0, atol=PROXIMITY_ATOL)
    as_stored = np.array([float(f"{x:.15g}") for x in ours])  # R's 15 significant digits
    np.testing.assert_array_equal(as_stored, ref["proximity"].to_numpy())
    np.testing.assert_array_equal(matrix, matrix.T)


def test_product_proximity_exact(world: YearRelatedness) -> None:
    ref = pd.read_parquet(
        shared_file("economiccomplexity_sitc4_1998_2000/ref_proximity_product.parquet")
    )
    assert world.proximity is not None
    _check_upper_triangle(world.proximity, world.products, ref)


def test_country_proximity_exact(world: YearRelatedness) -> None:
    ref = pd.read_parquet(
        shared_file("economiccomplexity_sitc4_1998_2000/ref_proximity_country.parquet")
    )
    _check_upper_triangle(world.country_proximity, world.countries, ref)


def test_sparse_eigensolver_matches_dense(world: YearRelatedness) -> None:
    dense = complexity_eigenvectors(world.m, solver="dense")
    arpack = complexity_eigenvectors(world.m, solver="sparse")
    # ARPACK at machine-precision tolerance; eigenvectors agree to ~1e-12 on this gap (0.05)
    np.testing.assert_allclose(arpack.kp, dense.kp, atol=1e-10)
    np.testing.assert_allclose(arpack.kc, dense.kc, atol=1e-10)
    np.testing.assert_allclose(arpack.eigenvalues[:2], dense.eigenvalues[:2], atol=1e-12)


def _population_1998_2000() -> pd.Series:
    pop = pd.read_csv(shared_file("wdi/population_1960_2024.csv"))
    pop = pop[pop["Year"].between(1998, 2000)]
    mean = pop.groupby("Country Code")["Value"].mean()
    mean.index = mean.index.str.lower()
    return mean


def test_eci_rank_correlates_with_atlas_sitc_eci(
    record_property: Callable[[str, object], None],
) -> None:
    rankings = pd.read_stata(shared_file("atlas_growthlab/rankings.dta"))
    atlas = rankings[rankings["year"].between(1998, 2000)].groupby("code")["sitc_eci"].mean()
    atlas.index = atlas.index.str.lower()
    pop = _population_1998_2000()
    population = pd.DataFrame({"country": pop.index, "year": 2000, "population": pop.to_numpy()})
    rhos = {}
    for label, options in {
        "all countries": R_OPTIONS,
        "Atlas population filter": R_OPTIONS.model_copy(update={"min_population": 1.2e6}),
    }.items():
        result = Relatedness(_trade(), options, population).fit()
        frame = result.country_frame().assign(country=lambda f: f["country"].astype(str))
        joined = frame.set_index("country")["eci"].to_frame().join(atlas, how="inner").dropna()
        rho = spearmanr(joined["eci"], joined["sitc_eci"]).statistic
        rhos[label] = (float(rho), len(joined))
        if options.min_population is not None:  # the filter's row counts are reported
            step = next(s for s in result.steps if s.name == "min population")
            assert step.removed == {"population below 1.2e+06": 22_657, "population unknown": 5_810}
            assert step.rows_in - step.rows_out == 22_657 + 5_810
        record_property(f"spearman_eci_atlas_{label}", f"{rho:.4f} (n={len(joined)})")
    print("Spearman(our ECI, Atlas SITC ECI 1998-2000):", rhos)
    assert rhos["Atlas population filter"][0] > ATLAS_ECI_MIN_SPEARMAN
    assert rhos["all countries"][0] > 0.8


def test_equal_to_py_ecomplexity() -> None:
    ecomplexity = pytest.importorskip("ecomplexity")
    trade = _trade()
    options = RelatednessOptions(
        strict_threshold=False, proximity_diagonal="one", normalization="pyecomplexity"
    )
    ours = Relatedness(trade, options).fit().year(2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = ecomplexity.ecomplexity(
            trade,
            {"time": "year", "loc": "country", "prod": "product", "val": "value"},
            verbose=False,
            check_logsupermodularity=False,
        )
    frame = ours.country_product_frame().merge(ours.country_frame(), on=["year", "country"])
    frame["country"] = frame["country"].astype(str)
    frame["product"] = frame["product"].astype(str)
    merged = frame.merge(peer, on=["country", "product"], suffixes=("", "_peer"))
    assert len(merged) == 226 * 785
    np.testing.assert_array_equal(merged["m"], merged["mcp"])
    for measure in ["rca", "density", "eci", "pci", "coi", "cog"]:
        np.testing.assert_allclose(
            merged[measure],
            merged[f"{measure}_peer"],
            rtol=1e-12 if measure == "rca" else 0,
            atol=0 if measure == "rca" else PEER_ATOL,
            err_msg=measure,
        )
