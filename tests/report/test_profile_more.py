"""The profile's extra sections against hand computations on the tiny panel of test_profile.

2016 exports by product (p1, p2, p3): A (300, 50, 40) = 390, B (320, 10, 30) = 360,
C (0, 35, 0) = 35, D (5, 0, 5) = 10; world (625, 95, 75) = 795. Balassa RCA = (x_cp / x_c) /
(x_p / x): A: p1 0.978, p2 1.073, p3 1.087; B: p1 1.131. Cosine similarity to A's basket:
B 97,700 / (sqrt(94,100) sqrt(103,400)) = 0.9905, D 1,700 / (sqrt(94,100) sqrt(50)) = 0.7837,
C 50 / sqrt(94,100) = 0.1630.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gravity.report.profile_more import (
    agreements,
    comparative_advantage,
    forecast_path,
    gdp_per_capita,
    similar_economies,
    third_markets,
)
from tests.report.test_profile import RTOL, tiny_panel


def test_comparative_advantage_of_each_side() -> None:
    rca = comparative_advantage(tiny_panel(), ("A", "B"), 2016, 5)
    assert isinstance(rca, pd.DataFrame)
    a = rca[rca["country"] == "A"]
    assert a["product"].tolist() == ["p3", "p2"]  # p1's 0.978 is below 1
    np.testing.assert_allclose(
        a["rca"], [(40 / 390) / (75 / 795), (50 / 390) / (95 / 795)], rtol=RTOL
    )
    b = rca[rca["country"] == "B"]
    assert b["product"].tolist() == ["p1"]
    np.testing.assert_allclose(b["rca"], [(320 / 360) / (625 / 795)], rtol=RTOL)
    aggregate = tiny_panel().drop(columns="product")
    assert "aggregate" in str(comparative_advantage(aggregate, ("A", "B"), 2016, 5))


def test_third_markets_say_who_sells_more() -> None:
    panel = pd.concat(
        [
            tiny_panel(),
            pd.DataFrame(
                [("B", "D", "p1", 2016, 7.0), ("A", "D", "p1", 2016, 3.0)],
                columns=["exporter", "importer", "product", "year", "value"],
            ),
        ]
    )
    markets = third_markets(panel, "A", "B", 2016, 5)
    assert isinstance(markets, pd.DataFrame)
    # B's markets other than A: C 300, D 7; A sells C 200, D 40 + 3
    assert markets["market"].tolist() == ["C", "D"]
    np.testing.assert_allclose(markets["from_partner"], [300.0, 7.0], rtol=RTOL)
    np.testing.assert_allclose(markets["from_exporter"], [200.0, 43.0], rtol=RTOL)
    assert markets["leader"].tolist() == ["partner", "exporter"]
    assert "no exports" in str(third_markets(tiny_panel(), "A", "Z", 2016, 5))


def test_similar_economies_and_what_they_export() -> None:
    found = similar_economies(tiny_panel(), "A", 2016, 2)
    assert not isinstance(found, str)
    economies, products = found
    assert economies["country"].tolist() == ["B", "D"]
    norm_a = math.sqrt(300**2 + 50**2 + 40**2)
    expected = [97_700 / (norm_a * math.sqrt(103_400)), 1_700 / (norm_a * math.sqrt(50))]
    np.testing.assert_allclose(economies["similarity"], expected, rtol=RTOL)
    # A lacks RCA only in p1; of B and D, B has it (1.131), D does not (0.636)
    assert products.to_dict("records") == [{"product": "p1", "economies": 1}]


def test_gdp_per_capita_and_agreements_or_one_line() -> None:
    panel = tiny_panel()
    assert "not available" in str(gdp_per_capita(panel, ("A", "B"), 2016))
    assert agreements(panel, "A", "B", 2016).startswith("Trade agreements not available")
    gdp = {"A": 30_000.0, "B": 10_000.0, "C": 5.0, "D": 1.0}
    panel = panel.assign(
        gdp_pc_o=panel["exporter"].map(gdp),
        gdp_pc_d=panel["importer"].map(gdp),
        rta=np.where(panel["year"] >= 2016, 1, 0),
    )
    table = gdp_per_capita(panel, ("A", "B"), 2016)
    assert isinstance(table, pd.DataFrame)
    assert table["gdp_per_capita"].tolist() == [30_000.0, 10_000.0]
    assert "in force" in agreements(panel, "A", "B", 2016)
    assert "No trade agreement" in agreements(panel, "A", "B", 2015)
    by_gdp = panel.drop(columns=["gdp_pc_o", "gdp_pc_d"]).assign(
        gdp_o=panel["exporter"].map({"A": 60.0, "B": 20.0, "C": 1.0, "D": 1.0}),
        pop_o=panel["exporter"].map({"A": 2.0, "B": 4.0, "C": 1.0, "D": 1.0}),
    )
    table = gdp_per_capita(by_gdp, ("A", "B"), 2016)
    assert isinstance(table, pd.DataFrame)
    assert table["gdp_per_capita"].tolist() == pytest.approx([30.0, 5.0], rel=RTOL)


def test_forecast_path_ends_with_the_potential_and_its_band() -> None:
    opps = pd.DataFrame(
        {
            "exporter": ["A", "A", "A"],
            "importer": ["B", "B", "C"],
            "product": ["p1", "p2", "p1"],
            "year": [2019, 2019, 2019],
            "potential": [10.0, 20.0, 99.0],
            "potential_low": [5.0, 15.0, 1.0],
            "potential_high": [20.0, 30.0, 999.0],
        }
    )
    path = forecast_path(tiny_panel(), opps, "A", "B")
    assert isinstance(path, pd.DataFrame)
    assert path["year"].tolist() == [2011, 2012, 2013, 2014, 2015, 2016, 2019]
    np.testing.assert_allclose(path["value"], [75, 60, 60, 60, 105, 150, 30], rtol=RTOL)
    last = path.iloc[-1]
    assert last["kind"] == "potential"
    # half-widths below (5, 5) and above (10, 10) of the pair's two products, in quadrature
    np.testing.assert_allclose(
        [last["low"], last["high"]], [30 - math.sqrt(50), 30 + math.sqrt(200)], rtol=RTOL
    )
    assert "did not run" in str(forecast_path(tiny_panel(), None, "A", "B"))
