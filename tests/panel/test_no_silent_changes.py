"""Inputs are never changed or dropped silently (hardening issue, section 3).

Each expectation is derived from the input written in the test itself: the codes, row counts and
line numbers are those of the file the test writes, so a reader that changes a value fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.formula import Term
from gravity.exceptions import DataError, EstimationError
from gravity.panel.readers._common import LINE, read_csv_text
from gravity.panel.readers.generic import read_generic
from gravity.panel.readers.sources import GenericSource

MAPPING = {"exporter": "o", "importer": "d", "product": "k", "year": "t", "value": "v"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_glob_reads_every_matching_file_and_counts_each(tmp_path: Path) -> None:
    write(tmp_path / "t_2019.csv", "o,d,k,t,v\nAAA,BBB,0101,2019,1\nBBB,AAA,0101,2019,2\n")
    write(tmp_path / "t_2020.csv", "o,d,k,t,v\nAAA,BBB,0101,2020,3\n")
    result = read_generic(GenericSource(path="t_*.csv", columns=MAPPING), tmp_path)
    assert len(result.frame) == 3 and result.log["rows_read"] == 3
    assert result.log["rows_read_file:t_2019.csv"] == 2
    assert result.log["rows_read_file:t_2020.csv"] == 1
    assert [Path(f).name for f in result.files] == ["t_2019.csv", "t_2020.csv"]
    assert sorted(result.frame["value"]) == [1.0, 2.0, 3.0]


def test_files_of_a_glob_must_share_a_header(tmp_path: Path) -> None:
    write(tmp_path / "t_1.csv", "o,d,k,t,v\nAAA,BBB,0101,2019,1\n")
    write(tmp_path / "t_2.csv", "o,d,k,t,value\nAAA,BBB,0101,2020,3\n")
    with pytest.raises(DataError, match=r"t_2.csv: its columns .* differ from those of t_1.csv"):
        read_generic(GenericSource(path="t_*.csv", columns=MAPPING), tmp_path)


def test_codes_are_text_from_the_first_byte_mapped_or_not(tmp_path: Path) -> None:
    # canonical column names need no mapping, and must not pass through a number on the way
    write(tmp_path / "t.csv", "exporter,importer,product,year,value\nNA,ZAF,0101,2019,5\n")
    frame = read_generic(GenericSource(path="t.csv"), tmp_path).frame
    assert frame["product"].tolist() == ["0101"]
    assert frame["exporter"].tolist() == ["NA"]  # Namibia, not a missing value


def test_excel_codes_and_namibia_survive(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    table = pd.DataFrame({"o": ["NA", "ZAF"], "d": ["ZAF", "NA"], "k": ["0101", "0102"],
                          "t": [2019, 2019], "v": [1.0, 2.0]})  # fmt: skip
    table.to_excel(tmp_path / "t.xlsx", index=False)
    frame = read_generic(GenericSource(path="t.xlsx", columns=MAPPING), tmp_path).frame
    assert frame["exporter"].tolist() == ["NA", "ZAF"]
    assert frame["product"].tolist() == ["0101", "0102"]


def test_corrupt_workbook_is_one_clear_line(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    (tmp_path / "t.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(DataError, match=r"t.xlsx: cannot read the (workbook|file)"):
        read_generic(GenericSource(path="t.xlsx", columns=MAPPING), tmp_path)


@pytest.mark.parametrize(
    ("value", "what"),
    [("inf", "infinite"), ("-inf", "negative"), ("1e300", "too large"), ("1e-310", "too small")],
)
def test_non_finite_and_extreme_values_name_file_line_and_column(
    tmp_path: Path, value: str, what: str
) -> None:
    write(tmp_path / "t.csv", f"o,d,k,t,v\nAAA,BBB,01,2019,1\nBBB,AAA,01,2019,{value}\n")
    with pytest.raises(DataError, match=rf"t.csv: line 3: column 'v' (has|is) .*{what}"):
        read_generic(GenericSource(path="t.csv", columns=MAPPING), tmp_path)


def test_missing_values_are_counted_not_silent(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "o,d,k,t,v\nAAA,BBB,01,2019,NaN\nBBB,AAA,01,2019,2\n")
    result = read_generic(GenericSource(path="t.csv", columns=MAPPING), tmp_path)
    assert result.log["dropped_missing_value"] == 1
    assert result.log["rows_read"] - result.log["dropped_missing_value"] == result.log["rows_out"]


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    text = 'o,d,k,t,v\n\nAAA,BBB,01,2019,1\n"B\nB",AAA,01,2019,2\n\nCCC,AAA,01,2019,-5\n'
    write(tmp_path / "t.csv", text)
    # the negative value is on line 7 of the file (header 1, blank 2, AAA 3, "B / B" 4-5, blank 6)
    with pytest.raises(DataError, match=r"t.csv: line 7: column 'v' is negative"):
        read_generic(GenericSource(path="t.csv", columns=MAPPING), tmp_path)


def test_unknown_encoding_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        GenericSource(path="t.csv", encoding="klingon")


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e300])
def test_infinite_or_huge_regressors_are_errors_not_nan_fits(bad: float) -> None:
    frame = pd.DataFrame({"dist": [1.0, bad, 3.0]})
    with pytest.raises(EstimationError, match=r"column 'dist' .* row 2 of the panel"):
        Term("log(dist)").evaluate(frame)


def test_na_is_missing_only_when_the_user_says_so(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "o,d,k,t,v\nNA,ZAF,01,2019,5\nZAF,NAM,01,2019,7\n")
    with pytest.raises(DataError, match=r"t.csv: line 2: column 'o' is empty"):
        read_generic(GenericSource(path="t.csv", columns=MAPPING, missing=["NA"]), tmp_path)
    frame = read_generic(GenericSource(path="t.csv", columns=MAPPING), tmp_path).frame
    assert frame["exporter"].tolist() == ["NA", "ZAF"]


def test_text_reader_line_numbers_after_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    # the reader of BACI, Comtrade and WDI files: same rule as the generic reader
    path = write(tmp_path / "b.csv", 't,i,j,k,v\n\n2019,4,8,"01\n01",1\n\n2019,8,4,0101,2\n')
    frame = read_csv_text(path)
    assert frame[LINE].tolist() == [3, 6]
    assert frame["k"].tolist() == ["01\n01", "0101"]


def test_huge_cells_are_quoted_capped(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", f"o,d,k,t,v\nAAA,BBB,01,2019,{'9' * 5000}x\n")
    with pytest.raises(DataError) as info:
        read_generic(GenericSource(path="t.csv", columns=MAPPING), tmp_path)
    assert "is not a number" in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("name", "content"),
    [("t.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1"), ("t.dta", b"\x71\x02\x01" + b"\xff" * 300)],
)
def test_damaged_binary_files_are_one_clear_line(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=rf"{name}: cannot read the file as (parquet|stata)"):
        read_generic(GenericSource(path=name, columns=MAPPING), tmp_path)


def test_one_file_column_cannot_play_two_roles() -> None:
    with pytest.raises(ValueError, match="column 'o' is mapped to exporter and importer"):
        GenericSource(path="t.csv", columns={"exporter": "o", "importer": "o", "value": "v"})


def test_a_missing_column_lists_a_capped_number_of_columns(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(5_000))
    write(tmp_path / "wide.csv", header + "\n" + ",".join("1" * 5_000) + "\n")
    with pytest.raises(DataError, match=r"column 'v' not found") as info:
        read_generic(GenericSource(path="wide.csv", columns={"value": "v"}), tmp_path)
    assert "(4,980 more)" in str(info.value) and len(str(info.value)) < 800
