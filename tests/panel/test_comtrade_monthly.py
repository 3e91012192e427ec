"""Monthly UN Comtrade files: reader -> bilateral profile month-on-same-month figure.

Provenance: the fixture follows the Comtrade+ API / bulk CSV layout (``freqCode`` ``M``,
``refPeriodId`` YYYYMM01, ``refYear``, ``refMonth``, ``period`` YYYYMM), written in the test
with values from simple integer formulas, so the expected figures are hand computations below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gravity.exceptions import DataError, OptionsError
from gravity.panel.readers import ComtradeSource, read_comtrade
from gravity.report.profile import bilateral_profile

HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
    "flowCode,partnerCode,partnerISO,partner2Code,classificationCode,cmdCode,customsCode,"
    "motCode,fobvalue,primaryValue\n"
)
#: 24 months, December 2021 to November 2023: the latest month of 2023 is November.
MONTHS = [(2021, 12)] + [(2022, m) for m in range(1, 13)] + [(2023, m) for m in range(1, 12)]
PRODUCTS = ("080510", "010121")
REPORTERS = {"ZAF": "710", "DEU": "276", "NAM": "516"}


def _row(year: int, month: int, reporter: str, flow: str, partner: str, code: str, v: int) -> str:
    partner_code = "0" if partner == "W00" else REPORTERS[partner]
    return (
        f"C,M,{year}{month:02d}01,{year},{month},{year}{month:02d},{REPORTERS[reporter]},"
        f"{reporter},{flow},{partner_code},{partner},0,H5,{code},C00,0,{v},{v}\n"
    )


def zaf_to_deu(year: int, month: int, product: int) -> int:
    return 100 * month + 10 * product + (500 if year == 2023 else 0)


def deu_to_zaf(year: int, month: int) -> int:
    return 50 * month + (100 if year == 2023 else 0)


def monthly_csv() -> str:
    lines = [HEADER]
    for year, month in MONTHS:
        for i, code in enumerate(PRODUCTS):
            lines.append(_row(year, month, "ZAF", "X", "DEU", code, zaf_to_deu(year, month, i)))
            lines.append(_row(year, month, "ZAF", "X", "NAM", code, 7 * month + i))
            lines.append(_row(year, month, "ZAF", "M", "DEU", code, 999))  # other flow: dropped
        lines.append(_row(year, month, "DEU", "X", "ZAF", PRODUCTS[0], deu_to_zaf(year, month)))
        lines.append(_row(year, month, "ZAF", "X", "W00", PRODUCTS[0], 12345))  # World: dropped
    return "".join(lines)


@pytest.fixture
def monthly_file(tmp_path: Path) -> Path:
    (tmp_path / "monthly.csv").write_text(monthly_csv(), encoding="utf-8")
    return tmp_path


def test_monthly_read_keeps_month_and_period(monthly_file: Path) -> None:
    source = ComtradeSource(paths=["monthly.csv"], frequency="monthly")
    result = read_comtrade(source, monthly_file)
    frame = result.frame
    assert list(frame.columns) == [
        "exporter",
        "importer",
        "product",
        "year",
        "month",
        "period",
        "value",
    ]
    # per month: 2 products x (ZAF->DEU, ZAF->NAM) + DEU->ZAF = 5 rows kept, 3 dropped
    assert len(frame) == 5 * len(MONTHS)
    assert result.log["rows_read"] == 8 * len(MONTHS)
    assert result.log["dropped_other_flow"] == 2 * len(MONTHS)
    assert result.log["dropped_world_partner"] == len(MONTHS)
    assert result.log["rows_out"] == result.log["rows_read"] - 3 * len(MONTHS)
    row = frame[
        (frame["exporter"] == "ZAF")
        & (frame["importer"] == "DEU")
        & (frame["product"] == "080510")
        & (frame["period"] == "2023-11")
    ]
    assert row[["year", "month"]].to_numpy().tolist() == [[2023, 11]]
    assert row["value"].tolist() == [zaf_to_deu(2023, 11, 0)]
    assert set(frame["period"]) == {f"{y}-{m:02d}" for y, m in MONTHS}


def test_monthly_profile_november_on_november(monthly_file: Path) -> None:
    source = ComtradeSource(paths=["monthly.csv"], frequency="monthly")
    panel = read_comtrade(source, monthly_file).frame
    profile = bilateral_profile(panel, "ZAF", "DEU", 2023)
    figures = {f.key: f for f in profile.figures}
    # hand computation: Nov 2022 ZAF->DEU = 1100 + 1110, Nov 2023 = 1600 + 1610;
    # DEU->ZAF Nov 2022 = 550, Nov 2023 = 650.
    assert figures["exports_month_yoy"].value == 3210 / 2210 - 1
    assert figures["imports_month_yoy"].value == 650 / 550 - 1
    assert figures["total_month_yoy"].value == 3860 / 2760 - 1
    assert figures["exports_month_yoy"].period == "2022-11 to 2023-11"
    # 2023 stops in November: the annual change compares 11 months with 12, and says so
    assert profile.notes == (
        "the data hold 11 months of 2023 and 12 of 2022: changes on a year earlier compare "
        "different numbers of months; the month-on-month figures compare like with like",
    )


def test_monthly_duplicates_include_month(monthly_file: Path) -> None:
    text = monthly_csv() + _row(2023, 11, "ZAF", "X", "DEU", "080510", 1)
    (monthly_file / "monthly.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"monthly\.csv: lines \d+ and \d+: duplicate key.*month"):
        read_comtrade(ComtradeSource(paths=["monthly.csv"], frequency="monthly"), monthly_file)


def test_annual_config_rejects_monthly_rows(monthly_file: Path) -> None:
    with pytest.raises(DataError, match=r"monthly\.csv: line 2: column 'freqCode'.*monthly"):
        read_comtrade(ComtradeSource(paths=["monthly.csv"]), monthly_file)


def test_annual_config_rejects_yyyymm_period_column(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "period,reporterISO,flowCode,partnerISO,cmdCode,primaryValue\n202311,ZAF,X,DEU,080510,5\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"p\.csv: line 2: column 'period'.*monthly period"):
        read_comtrade(ComtradeSource(paths=["p.csv"]), tmp_path)


@pytest.mark.parametrize("bad", ["2023-13", "20231", "202313", "202300"])
def test_bad_monthly_period_is_one_clear_line(tmp_path: Path, bad: str) -> None:
    text = monthly_csv().splitlines(keepends=True)
    fields = text[5].split(",")
    fields[5] = bad
    text[5] = ",".join(fields)
    (tmp_path / "monthly.csv").write_text("".join(text), encoding="utf-8")
    source = ComtradeSource(paths=["monthly.csv"], frequency="monthly")
    with pytest.raises(DataError) as info:
        read_comtrade(source, tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("monthly.csv: line 6: column 'period'")
    assert repr(bad) in message


def test_monthly_from_ref_year_and_month(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text(
        "refYear,refMonth,reporterISO,flowCode,partnerISO,cmdCode,primaryValue\n"
        "2023,11,ZAF,X,DEU,080510,5\n2023,13,ZAF,X,DEU,080510,6\n",
        encoding="utf-8",
    )
    source = ComtradeSource(paths=["r.csv"], frequency="monthly")
    with pytest.raises(DataError, match=r"r\.csv: line 3: column 'refMonth' has '13'"):
        read_comtrade(source, tmp_path)


def test_monthly_option_in_config_schema() -> None:
    with pytest.raises(OptionsError, match=r"ComtradeSource\.frequency: .*'monthly'"):
        ComtradeSource(paths=["x.csv"], frequency="weekly")  # type: ignore[arg-type]
