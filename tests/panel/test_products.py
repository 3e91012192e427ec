"""HS product codes: zero-padding, levels (HS4, HS2, sections) and aggregation."""

from __future__ import annotations

import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.panel.products import (
    HS_SECTIONS,
    aggregate_products,
    normalize_hs_codes,
    product_level_codes,
)


def test_sections_partition_the_chapters() -> None:
    chapters = [c for _, first, last, _ in HS_SECTIONS for c in range(first, last + 1)]
    assert len(HS_SECTIONS) == 21
    assert sorted(chapters) == list(range(1, 98))
    assert len(chapters) == len(set(chapters))


def test_normalize_pads_lost_leading_zeros() -> None:
    codes = pd.Series([10121, 382390, 90111])
    assert normalize_hs_codes(codes).tolist() == ["010121", "382390", "090111"]
    text = pd.Series([" 10121", "010121", "1"])
    assert normalize_hs_codes(text).tolist() == ["010121", "010121", "000001"]
    floats = pd.Series([10121.0, 847130.0])
    assert normalize_hs_codes(floats).tolist() == ["010121", "847130"]
    assert normalize_hs_codes(pd.Series(["101"]), 4).tolist() == ["0101"]


@pytest.mark.parametrize("bad", ["12A456", "1234567", "", "01.01"])
def test_normalize_rejects_non_hs_codes(bad: str) -> None:
    codes = pd.Series(["010121", bad])
    with pytest.raises(DataError, match=r"f\.csv: product code .* \(row 2\) is not an HS code"):
        normalize_hs_codes(codes, source="f.csv")


def test_levels() -> None:
    codes = pd.Series(["010121", "847130", "970110", "270900", "150710"])
    assert product_level_codes(codes, "hs6").tolist() == codes.tolist()
    assert product_level_codes(codes, "hs4").tolist() == ["0101", "8471", "9701", "2709", "1507"]
    assert product_level_codes(codes, "hs2").tolist() == ["01", "84", "97", "27", "15"]
    assert product_level_codes(codes, "section").tolist() == ["I", "XVI", "XXI", "V", "III"]


def test_section_of_national_chapters_is_an_error() -> None:
    with pytest.raises(DataError, match=r"x: HS chapter\(s\) 77, 99 belong to no HS section"):
        product_level_codes(pd.Series(["010121", "999999", "770000"]), "section", source="x")


def test_aggregate_products_sums_within_keys() -> None:
    frame = pd.DataFrame(
        {
            "exporter": ["A", "A", "A", "B"],
            "importer": ["B", "B", "B", "A"],
            "product": ["010121", "010129", "020110", "010121"],
            "year": [2020, 2020, 2020, 2020],
            "value": [1.0, 2.0, 4.0, 8.0],
            "note": ["x", "y", "z", "w"],
        }
    )
    hs4 = aggregate_products(frame, "hs4")
    assert list(hs4.columns) == ["exporter", "importer", "product", "year", "value"]
    assert hs4[["exporter", "product", "value"]].values.tolist() == [
        ["A", "0101", 3.0],
        ["A", "0201", 4.0],
        ["B", "0101", 8.0],
    ]
    section = aggregate_products(frame, "section")
    assert section["value"].tolist() == [7.0, 8.0]
    assert section["product"].tolist() == ["I", "I"]
    assert aggregate_products(frame, "hs6").equals(frame)
