"""The bilateral profile against hand computations on a tiny panel.

Flows (USD) of four economies A, B, C, D and three products; the profile is A with partner B in
2016. Every expected value below is worked out by hand from the rows in ``tiny_panel``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.report.profile import bilateral_profile, yearly_flows

# exact arithmetic on a few sums: only floating-point rounding separates the two sides
RTOL = 1e-12

ROWS = [
    # exporter, importer, product, year, value
    ("A", "B", "p1", 2016, 100.0),
    ("A", "B", "p2", 2016, 50.0),
    ("B", "A", "p1", 2016, 20.0),
    ("B", "A", "p2", 2016, 10.0),
    ("B", "A", "p3", 2016, 30.0),
    ("A", "C", "p1", 2016, 200.0),
    ("C", "A", "p2", 2016, 5.0),
    ("A", "D", "p3", 2016, 40.0),
    ("D", "A", "p1", 2016, 5.0),
    ("B", "C", "p1", 2016, 300.0),
    ("C", "B", "p2", 2016, 30.0),
    ("D", "B", "p3", 2016, 5.0),
    ("A", "B", "p1", 2015, 80.0),
    ("A", "B", "p2", 2015, 25.0),
    ("B", "A", "p1", 2015, 20.0),
    ("B", "A", "p2", 2015, 20.0),
    ("B", "A", "p3", 2015, 20.0),
    ("A", "B", "p1", 2011, 50.0),
    ("A", "B", "p2", 2011, 25.0),
    ("B", "A", "p3", 2011, 40.0),
    ("A", "B", "p1", 2012, 60.0),
    ("A", "B", "p1", 2013, 60.0),
    ("A", "B", "p1", 2014, 60.0),
]


def tiny_panel() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["exporter", "importer", "product", "year", "value"])


def profile(**kwargs: object):  # type: ignore[no-untyped-def]
    return bilateral_profile(tiny_panel(), "A", "B", 2016, **kwargs)  # type: ignore[arg-type]


def value(key: str) -> float | None:
    return profile().figure(key).value


def test_totals_each_direction_and_balance() -> None:
    assert value("exports") == 150.0  # 100 + 50
    assert value("imports") == 60.0  # 20 + 10 + 30
    assert value("total") == 210.0
    assert value("balance") == 90.0
    assert profile().figure("exports").period == "2016"


def test_year_on_year_changes() -> None:
    np.testing.assert_allclose(value("exports_yoy"), 150 / 105 - 1, rtol=RTOL)
    assert value("imports_yoy") == 0.0  # 60 both years
    np.testing.assert_allclose(value("total_yoy"), 210 / 165 - 1, rtol=RTOL)
    assert profile().figure("total_yoy").period == "2015\u20132016"


def test_five_year_compound_growth() -> None:
    np.testing.assert_allclose(value("exports_cagr5"), (150 / 75) ** (1 / 5) - 1, rtol=RTOL)
    np.testing.assert_allclose(value("imports_cagr5"), (60 / 40) ** (1 / 5) - 1, rtol=RTOL)
    np.testing.assert_allclose(value("total_cagr5"), (210 / 115) ** (1 / 5) - 1, rtol=RTOL)
    assert profile().figure("total_cagr5").period == "2011\u20132016"


def test_growth_is_missing_without_a_base_year() -> None:
    early = bilateral_profile(tiny_panel(), "A", "B", 2011)
    assert early.figure("total_yoy").value is None
    assert early.figure("total_yoy").note == "no data for 2010"
    assert early.figure("total_cagr5").value is None


def test_partner_ranks_and_share() -> None:
    # A's partners in 2016 by total trade: B 210, C 200 + 5 = 205, D 40 + 5 = 45
    result = profile()
    assert result.figure("partner_rank_total").value == 1
    assert result.figure("partner_rank_total").note == "of 3 partners"
    assert result.figure("partner_rank_exports").value == 2  # C 200 > B 150 > D 40
    assert result.figure("partner_rank_imports").value == 1  # B 60 > C 5 = D 5
    np.testing.assert_allclose(result.figure("partner_share").value, 210 / 460, rtol=RTOL)
    # B's partners: C 300 + 30 = 330, A 210, D 5
    assert result.figure("exporter_rank_at_partner").value == 2


def test_top_products_each_way_with_rca_from_the_panel() -> None:
    result = profile()
    exports = result.top_products["exports"]
    assert exports["product"].tolist() == ["p1", "p2"]  # p3 is not exported to B
    np.testing.assert_allclose(exports["value"], [100, 50], rtol=RTOL)
    np.testing.assert_allclose(exports["share"], [100 / 150, 50 / 150], rtol=RTOL)
    np.testing.assert_allclose(exports["yoy"], [100 / 80 - 1, 50 / 25 - 1], rtol=RTOL)
    # Balassa RCA in 2016: A exports p1 300, p2 50, p3 40 (390); world p1 625, p2 95, p3 75 (795)
    np.testing.assert_allclose(
        exports["rca"], [(300 / 390) / (625 / 795), (50 / 390) / (95 / 795)], rtol=RTOL
    )
    imports = result.top_products["imports"]
    assert imports["product"].tolist() == ["p3", "p1", "p2"]
    np.testing.assert_allclose(imports["share"], [0.5, 20 / 60, 10 / 60], rtol=RTOL)
    np.testing.assert_allclose(imports["yoy"], [30 / 20 - 1, 0.0, 10 / 20 - 1], rtol=RTOL)
    # B exports p1 320, p2 10, p3 30 (360)
    np.testing.assert_allclose(
        imports["rca"],
        [(30 / 360) / (75 / 795), (320 / 360) / (625 / 795), (10 / 360) / (95 / 795)],
        rtol=RTOL,
    )


def test_top_n_limits_the_lists() -> None:
    assert profile(top_n=1).top_products["imports"]["product"].tolist() == ["p3"]


def test_growth_contributors() -> None:
    result = profile()
    exports = result.contributors["exports"]
    # p1 +20, p2 +25 on a 2015 total of 105
    assert exports["product"].tolist() == ["p2", "p1"]
    np.testing.assert_allclose(exports["change"], [25, 20], rtol=RTOL)
    np.testing.assert_allclose(exports["contribution"], [25 / 105, 20 / 105], rtol=RTOL)
    np.testing.assert_allclose(exports["contribution"].sum(), value("exports_yoy"), rtol=RTOL)
    assert exports["move"].tolist() == ["increase", "increase"]  # nothing fell
    imports = result.contributors["imports"]
    # p1 0, p2 -10, p3 +10: the riser first, then the faller; an unchanged product is neither
    assert imports["product"].tolist() == ["p3", "p2"]
    assert imports["move"].tolist() == ["increase", "decrease"]
    np.testing.assert_allclose(imports["contribution"], [10 / 60, -10 / 60], rtol=RTOL)


def test_falling_trade_lists_the_products_that_fell() -> None:
    panel = tiny_panel()
    panel.loc[
        (panel["year"] == 2016) & (panel["exporter"] == "A") & (panel["importer"] == "B"), "value"
    ] = [10.0, 20.0]
    moved = bilateral_profile(panel, "A", "B", 2016).contributors["exports"]
    assert moved["product"].tolist() == ["p1", "p2"]  # -70, -5
    assert moved["move"].tolist() == ["decrease", "decrease"]
    np.testing.assert_allclose(moved["contribution"], [-70 / 105, -5 / 105], rtol=RTOL)


def test_rca_and_eci_from_relatedness_outputs() -> None:
    country_product = pd.DataFrame(
        {
            "year": [2016, 2016, 2015],
            "country": ["A", "B", "A"],
            "product": ["p1", "p3", "p2"],
            "rca": [1.7, 2.5, 9.0],
        }
    )
    country = pd.DataFrame(
        {
            "year": [2016] * 4 + [2015],
            "country": ["A", "B", "C", "D", "A"],
            "eci": [0.5, 1.2, -0.3, 0.1, 9.0],
        }
    )
    result = profile(country_product=country_product, country=country)
    np.testing.assert_allclose(result.top_products["exports"]["rca"], [1.7, np.nan])
    np.testing.assert_allclose(result.top_products["imports"]["rca"][:1], [2.5])
    assert result.figure("eci_rank_exporter").value == 2  # B 1.2 > A 0.5 > D 0.1 > C -0.3
    assert result.figure("eci_rank_partner").value == 1
    assert result.figure("eci_rank_exporter").note == "of 4 economies"
    assert result.figure("eci_exporter").value == 0.5


def test_top_potential_each_way() -> None:
    opportunities = pd.DataFrame(
        {
            "exporter": ["A", "A", "A", "B"],
            "importer": ["B", "B", "C", "A"],
            "product": ["p1", "p2", "p1", "p3"],
            "year": [2018] * 4,
            "actual": [1.0] * 4,
            "potential": [11.0, 31.0, 51.0, 6.0],
            "untapped": [10.0, 30.0, 50.0, 5.0],
            "rank": [3, 1, 2, 1],
        }
    )
    result = profile(opportunities=opportunities)
    assert result.potential["exports"]["product"].tolist() == ["p2", "p1"]
    assert result.potential["imports"]["product"].tolist() == ["p3"]


def test_history_table() -> None:
    history = yearly_flows(tiny_panel(), "A", "B").set_index("year")
    assert history.index.tolist() == [2011, 2012, 2013, 2014, 2015, 2016]
    assert history.loc[2012].tolist() == [60.0, 0.0, 60.0, 60.0]


def test_monthly_data_compare_the_same_month_a_year_earlier() -> None:
    rows = [("A", "B", "p1", 2015, m, 10.0 * m) for m in range(1, 13)]
    rows += [("A", "B", "p1", 2016, m, 15.0 * m) for m in range(1, 4)]
    rows += [("B", "A", "p1", 2015, 3, 8.0), ("B", "A", "p1", 2016, 3, 6.0)]
    panel = pd.DataFrame(
        rows, columns=["exporter", "importer", "product", "year", "month", "value"]
    )
    result = bilateral_profile(panel, "A", "B", 2016)
    np.testing.assert_allclose(result.figure("exports_month_yoy").value, 45 / 30 - 1, rtol=RTOL)
    np.testing.assert_allclose(result.figure("imports_month_yoy").value, 6 / 8 - 1, rtol=RTOL)
    np.testing.assert_allclose(result.figure("total_month_yoy").value, 51 / 38 - 1, rtol=RTOL)
    assert result.figure("total_month_yoy").period == "2015-03 to 2016-03"
    assert result.figure("exports").value == 15 + 30 + 45


def test_aggregate_panel_has_no_product_lists() -> None:
    panel = tiny_panel().groupby(["exporter", "importer", "year"], as_index=False)["value"].sum()
    result = bilateral_profile(panel, "A", "B", 2016)
    assert result.figure("total").value == 210.0
    assert result.top_products == {}
    assert "aggregate" in result.notes[0]


@pytest.mark.parametrize(
    ("exporter", "partner", "year", "match"),
    [
        ("A", "A", 2016, "needs two economies"),
        ("Z", "B", 2016, "report.exporter 'Z' is not in the panel"),
        ("A", "Z", 2016, "report.partner 'Z' is not in the panel"),
        ("A", "B", 1999, "report.year 1999 is not in the panel"),
    ],
)
def test_bad_choices_are_one_line_errors(
    exporter: str, partner: str, year: int, match: str
) -> None:
    with pytest.raises(DataError, match=match):
        bilateral_profile(tiny_panel(), exporter, partner, year)


def test_the_narrative_states_the_figures() -> None:
    from gravity.report.data import ReportNames
    from gravity.report.text import profile_sentences

    names = ReportNames(countries={"A": "Aland", "B": "Borduria"}, products={"p1": "Wheat"})
    text = profile_sentences(profile(), names, "USD")
    assert text.startswith(
        "In 2016, Aland exported $150 of goods to Borduria and imported $60 from it, a total "
        "trade of $210 and a trade surplus of $90 for Aland."
    )
    assert (
        "Total trade changed +27.3% on 2015 and by +12.8% a year on average over 2011\u20132016."
        in text
    )
    assert (
        "Borduria is Aland's largest trading partner (of 3 partners), with 45.7% of its total "
        "trade." in text
    )
    assert "Aland is Borduria's 2nd largest partner." in text
    assert "Aland's largest export to Borduria is Wheat ($100, 66.7% of the total)." in text
