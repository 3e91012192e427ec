"""Readers: BACI, Comtrade, GeoDist, WDI and generic tables, on real files and small fixtures.

The fixtures written to ``tmp_path`` copy the real layouts byte for byte where it matters
(BACI's quoted, space-padded ``q`` and its codes without leading zeros, WDI's metadata lines and
DataBank footer, Comtrade+ column names). Tests on ``../shared/data`` skip when it is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest

from gravity.exceptions import ConfigError, DataError, DataWarning
from gravity.panel.readers import (
    BaciSource,
    ComtradeSource,
    GenericSource,
    GeoDistSource,
    WdiSource,
    read_baci,
    read_comtrade,
    read_generic,
    read_geodist,
    read_source,
    read_wdi,
)
from tests.conftest import shared_file

# ----------------------------------------------------------------------------------------- BACI

BACI_HEADER = '"t","i","j","k","v","q"\n'
BACI_ROWS = (
    '2021,4,24,382390,52.051,"       13.235"\n'
    '2021,4,710,10121,0.5,"           NA"\n'
    '2021,710,4,90111,1.25,"        0.022"\n'
    '2021,710,490,847130,0.1,"        1.000"\n'
    '2021,710,251,847130,2,""\n'
    '2021,710,4,847150,,"        1.000"\n'
)
COUNTRY_CODES = (
    '"country_code","country_name_abbreviation","country_name_full","iso_2digit_alpha",'
    '"iso_3digit_alpha"\n'
    '4,"Afghanistan","Afghanistan","AF","AFG"\n'
    '24,"Angola","Angola","AO","AGO"\n'
    '251,"France","France, Monaco","FR","FRA"\n'
    '384,"Côte d\'Ivoire","Côte d\'Ivoire","CI","CIV"\n'
    '490,"Other Asia, nes","Other Asia, not elsewhere specified","N/A","N/A"\n'
    '710,"South Africa","South Africa","ZA","ZAF"\n'
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def baci_dir(tmp_path: Path) -> Path:
    write(tmp_path / "BACI_HS92_Y2021_V202201.csv", BACI_HEADER + BACI_ROWS)
    write(tmp_path / "country_codes_V202201.csv", COUNTRY_CODES, encoding="latin-1")
    return tmp_path


def baci(tmp_path: Path, rows: str, name: str = "BACI_HS92_Y2021_V202201.csv") -> BaciSource:
    write(tmp_path / name, BACI_HEADER + rows)
    return BaciSource(paths=[name])


def test_baci_fixture(baci_dir: Path) -> None:
    source = BaciSource(
        paths=["BACI_HS92_Y2021_V202201.csv"],
        country_codes="country_codes_V202201.csv",
        quantity=True,
    )
    with pytest.warns(DataWarning, match=r"dropped 1 rows .*'490'"):
        result = read_baci(source, baci_dir)
    frame = result.frame
    assert list(frame.columns) == ["exporter", "importer", "product", "year", "value", "quantity"]
    assert frame["product"].tolist() == ["382390", "010121", "090111", "847130"]
    assert frame["exporter"].tolist() == ["AFG", "AFG", "ZAF", "ZAF"]
    assert frame["importer"].tolist() == ["AGO", "ZAF", "AFG", "FRA"]  # 251 -> FRA
    np.testing.assert_allclose(frame["value"], [52051.0, 500.0, 1250.0, 2000.0], rtol=1e-12)
    np.testing.assert_allclose(frame["quantity"], [13.235, np.nan, 0.022, np.nan])
    assert frame["year"].dtype == np.int64 and pd.api.types.is_string_dtype(frame["product"])
    assert result.log == {
        "files_read": 1,
        "rows_read": 6,
        "zero_padded_product_codes": 2,
        "dropped_missing_value": 1,
        "merged_to_product_level": 0,
        "dropped_unmatched_codes": 1,
        "merged_code_collisions": 0,
        "rows_out": 4,
    }
    assert result.countries is not None and result.countries.unmatched == ("490",)
    assert result.to_manifest()["log"] == result.log


def test_baci_keep_codes_and_product_levels(baci_dir: Path) -> None:
    keep = read_baci(BaciSource(paths=["BACI_*.csv"], codes="keep"), baci_dir)
    assert keep.frame["exporter"].tolist() == [4, 4, 710, 710, 710]
    assert keep.frame["importer"].tolist() == [24, 710, 4, 490, 251]
    assert keep.countries is not None and keep.countries.mode == "keep"
    hs2 = read_baci(BaciSource(paths=["BACI_*.csv"], codes="keep", product_level="hs2"), baci_dir)
    assert hs2.frame["product"].tolist() == ["38", "01", "09", "84", "84"]
    section = read_baci(
        BaciSource(paths=["BACI_*.csv"], codes="keep", product_level="section"), baci_dir
    )
    assert section.frame["product"].tolist() == ["VI", "I", "II", "XVI", "XVI"]


def test_baci_without_codes_file_uses_builtin_table(baci_dir: Path) -> None:
    with pytest.warns(DataWarning, match="'490'"):
        result = read_baci(BaciSource(paths=["BACI_HS92_Y2021_V202201.csv"]), baci_dir)
    assert result.frame["importer"].tolist() == ["AGO", "ZAF", "AFG", "FRA"]


def test_baci_overrides_and_unmatched_share(baci_dir: Path) -> None:
    mapped = read_baci(
        BaciSource(paths=["BACI_HS92_Y2021_V202201.csv"], code_overrides={"490": "TWN"}),
        baci_dir,
    )
    assert "TWN" in set(mapped.frame["importer"])
    assert mapped.log["dropped_unmatched_codes"] == 0
    strict = BaciSource(paths=["BACI_HS92_Y2021_V202201.csv"], max_unmatched_share=0.0001)
    with pytest.raises(DataError, match=r"BACI_HS92_Y2021_V202201\.csv: 0\.\d+% of the trade"):
        read_baci(strict, baci_dir)


def test_baci_merges_codes_of_one_country(tmp_path: Path) -> None:
    rows = "2021,4,710,847130,1,1\n2021,4,711,847130,2,1\n"
    result = read_baci(baci(tmp_path, rows), tmp_path)
    assert result.frame["value"].tolist() == [3000.0]
    assert result.log["merged_code_collisions"] == 1


def test_baci_several_years_by_glob(tmp_path: Path) -> None:
    write(tmp_path / "BACI_HS92_Y2020_V202201.csv", BACI_HEADER + "2020,4,24,10121,1,1\n")
    write(tmp_path / "BACI_HS92_Y2021_V202201.csv", BACI_HEADER + "2021,4,24,10121,2,1\n")
    result = read_baci(BaciSource(paths="BACI_HS92_Y*_V202201.csv"), tmp_path)
    assert result.frame["year"].tolist() == [2020, 2021]
    assert result.log["files_read"] == 2 and len(result.files) == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2021,4,24,10121,1,1\n2021,4,24,20110,abc,1\n", r"line 3: column 'v' has 'abc', which"),
        ("2021,4,2x4,10121,1,1\n", r"line 2: column 'j' has '2x4', which is not an integer"),
        ("2021,4,24,10121,-1.5,1\n", r"line 2: column 'v' is negative \(-1\.5\)"),
        ("2021,4,24,12A,1,1\n", r"line 2: column 'k' has '12A', which is not an HS6 code"),
        ("2021,4,24,1234567,1,1\n", r"line 2: column 'k' has '1234567'"),
        ("2021,,24,10121,1,1\n", r"line 2: column 'i' \(exporter\) is empty"),
        (
            "2021,4,24,10121,1,1\n2021,4,36,10121,1,1\n2021,4,24,010121,3,1\n",
            r"lines 2 and 4: duplicate key \(t, i, j, k\) = \(2021, 4, 24, '010121'\)",
        ),
        ("2020,4,24,10121,1,1\n", r"the file name says year 2021 but column 't' holds 2020"),
        ('2021,4,24,10121,,1\n2021,4,36,10121,1,"  1,5"\n', r"line 3: column 'q' has '1,5'"),
        ("", r"the file has no data rows"),
    ],
)
def test_baci_errors(tmp_path: Path, rows: str, message: str) -> None:
    source = baci(tmp_path, rows).model_copy(update={"quantity": True})
    with pytest.raises(DataError, match=r"BACI_HS92_Y2021_V202201\.csv: " + message):
        read_baci(source, tmp_path)


def test_baci_missing_column(tmp_path: Path) -> None:
    write(tmp_path / "BACI_HS92_Y2021_V1.csv", "t,i,j,k,value,q\n2021,4,24,10121,1,1\n")
    with pytest.raises(
        DataError,
        match=r"Y2021_V1\.csv: column 'v' not found.*Available columns: t, i, j, k, value",
    ):
        read_baci(BaciSource(paths=["BACI_HS92_Y2021_V1.csv"]), tmp_path)


def test_baci_file_set_errors(tmp_path: Path) -> None:
    write(tmp_path / "BACI_HS92_Y2021_V202201.csv", BACI_HEADER + "2021,4,24,10121,1,1\n")
    write(tmp_path / "BACI_HS17_Y2021_V202201.csv", BACI_HEADER + "2021,4,24,10121,1,1\n")
    write(tmp_path / "BACI_HS92_Y2021_V202301.csv", BACI_HEADER + "2021,4,24,10121,1,1\n")
    with pytest.raises(DataError, match=r"different HS revisions \(HS17, HS92\)"):
        read_baci(BaciSource(paths=["BACI_HS*_Y2021_V202201.csv"]), tmp_path)
    with pytest.raises(DataError, match=r"V202301\.csv: year 2021 is also in .*V202201\.csv"):
        read_baci(BaciSource(paths=["BACI_HS92_*.csv"]), tmp_path)
    with pytest.raises(DataError, match=r"BACI_HS12_\*\.csv: the pattern matches no file"):
        read_baci(BaciSource(paths=["BACI_HS12_*.csv"]), tmp_path)
    with pytest.raises(DataError, match=r"nothere\.csv: file not found"):
        read_baci(BaciSource(paths=["nothere.csv"]), tmp_path)


def test_baci_real_sample() -> None:
    path = shared_file("baci_sample/BACI_HS92_Y2021_sample_AFG_ZAF.csv")
    codes = shared_file("baci_sample/country_codes_V202201.csv")
    keep = read_baci(BaciSource(paths=[str(path)], codes="keep", quantity=True))
    assert keep.log["rows_read"] == 71192
    assert keep.log["zero_padded_product_codes"] == 4442
    assert int(keep.frame["quantity"].isna().sum()) == 2306
    assert keep.frame["product"].str.len().eq(6).all()
    assert set(keep.frame["exporter"]) == {4, 710}
    with pytest.warns(DataWarning, match="'490'"):
        result = read_baci(BaciSource(paths=[str(path)], country_codes=str(codes)))
    frame = result.frame.set_index(["exporter", "importer", "product"])
    # file line 2: 2021,4,24,382390,52.051  -> AFG to AGO, thousand USD -> USD
    assert frame.loc[("AFG", "AGO", "382390"), "value"] == pytest.approx(52051.0, rel=1e-12)
    assert set(result.frame["exporter"]) == {"AFG", "ZAF"}  # 710 -> ZAF
    assert result.countries is not None and result.countries.unmatched == ("490",)
    assert result.log["rows_out"] == 71192 - result.log["dropped_unmatched_codes"]
    hs2 = read_baci(BaciSource(paths=[str(path)], codes="keep", product_level="hs2"))
    np.testing.assert_allclose(hs2.frame["value"].sum(), keep.frame["value"].sum(), rtol=1e-12)


# ------------------------------------------------------------------------------------- Comtrade

COMTRADE_PLUS = """\
typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,reporterDesc,\
flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,partner2ISO,partner2Desc,\
classificationCode,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,mosCode,motCode,qty,netWgt,\
cifvalue,fobvalue,primaryValue,isReported,isAggregate
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,276,DEU,Germany,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,0,1000,1000,,1500000.5,1500000.5,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,516,NAM,Namibia,0,W00,World,H5,010121,\
Horses,6,True,C00,0,0,2,900,,2000,2000,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,0,W00,World,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,0,9000,9000,,9900000,9900000,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,M,Import,276,DEU,Germany,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,0,1,1,300,,300,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,RX,Re-export,276,DEU,Germany,0,W00,World,H5,\
080510,Oranges,6,True,C00,0,0,1,1,,50,50,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,276,DEU,Germany,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,2100,10,10,,7000,7000,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,899,_X,"Areas, nes",0,W00,World,H5,\
080510,Oranges,6,True,C00,0,0,1,1,,10,10,True,False
C,A,20210101,2021,52,2021,276,DEU,Germany,M,Import,710,ZAF,South Africa,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,0,1,1,1600000,,1600000,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,842,USA,USA,0,W00,World,H5,TOTAL,\
All commodities,0,False,C00,0,0,,,,1,1,True,False
C,A,20210101,2021,52,2021,710,ZAF,South Africa,X,Export,842,USA,USA,0,W00,World,H5,080510,\
Oranges,6,True,C00,0,0,,,,,,True,False
"""

COMTRADE_LEGACY = """\
Classification,Year,Period,Aggregate Level,Trade Flow Code,Trade Flow,Reporter Code,Reporter,\
Reporter ISO,Partner Code,Partner,Partner ISO,Commodity Code,Commodity,Trade Value (US$)
HS,2015,2015,2,2,Export,36,Australia,AUS,156,China,CHN,26,Ores,1000
HS,2015,2015,2,1,Import,36,Australia,AUS,156,China,CHN,85,Electrical,500
HS,2015,2015,2,2,Export,36,Australia,AUS,0,World,WLD,26,Ores,5000
HS,2015,2015,2,2,Export,36,Australia,AUS,392,Japan,JPN,9,Coffee,10
"""


def test_comtrade_plus_exports(tmp_path: Path) -> None:
    write(tmp_path / "comtrade.csv", COMTRADE_PLUS)
    with pytest.warns(DataWarning, match=r"dropped 1 rows .*'_X'"):
        result = read_comtrade(ComtradeSource(paths=["comtrade.csv"]), tmp_path)
    frame = result.frame
    assert list(frame.columns) == ["exporter", "importer", "product", "year", "value"]
    assert frame.values.tolist() == [
        ["ZAF", "DEU", "080510", 2021, 1500000.5],
        ["ZAF", "NAM", "010121", 2021, 2000.0],
    ]
    assert result.log == {
        "files_read": 1,
        "rows_read": 10,
        "dropped_breakdown_rows": 1,
        "dropped_other_flow": 3,
        "dropped_world_partner": 1,
        "dropped_total_product": 1,
        "dropped_missing_value": 1,
        "zero_padded_product_codes": 0,
        "dropped_unmatched_codes": 1,
        "merged_code_collisions": 0,
        "merged_to_product_level": 0,
        "rows_out": 2,
    }


def test_comtrade_plus_mirror(tmp_path: Path) -> None:
    write(tmp_path / "comtrade.csv", COMTRADE_PLUS)
    source = ComtradeSource(paths=["comtrade.csv"], flow="mirror", product_level="hs4")
    result = read_comtrade(source, tmp_path)
    assert result.frame.values.tolist() == [
        ["DEU", "ZAF", "0805", 2021, 300.0],
        ["ZAF", "DEU", "0805", 2021, 1600000.0],
    ]
    assert result.log["dropped_other_flow"] == 7
    assert result.log["dropped_world_partner"] == 0


def test_comtrade_legacy_layout_keep_codes(tmp_path: Path) -> None:
    write(tmp_path / "legacy.csv", COMTRADE_LEGACY)
    result = read_comtrade(ComtradeSource(paths=["legacy.csv"], codes="keep"), tmp_path)
    assert result.frame.values.tolist() == [
        ["AUS", "CHN", "26", 2015, 1000.0],
        ["AUS", "JPN", "09", 2015, 10.0],
    ]
    assert result.log["zero_padded_product_codes"] == 1
    assert result.log["dropped_world_partner"] == 1 and result.log["dropped_other_flow"] == 1


def test_comtrade_numeric_codes_only(tmp_path: Path) -> None:
    text = "refYear,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\n"
    text += "2020,842,124,X,01,5\n2020,842,0,X,01,50\n2020,251,699,X,01,7\n"
    result = read_comtrade(ComtradeSource(paths=["c.csv"]), write(tmp_path / "c.csv", text).parent)
    assert result.frame[["exporter", "importer"]].values.tolist() == [
        ["USA", "CAN"],
        ["FRA", "IND"],
    ]
    assert result.log["dropped_world_partner"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValu\n2020,USA,CAN,X,01,5\n",
            r"c\.csv: column 'primaryValue' / .* not found; did you mean 'primaryValu'\?",
        ),
        (
            "period,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n202001,USA,CAN,X,01,5\n",
            r"c\.csv: line 2: column 'period' has the monthly period '202001'",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n"
            "2020,USA,CAN,X,01,5\n2020,USA,CAN,X,0101,5\n",
            r"c\.csv: commodity codes of different lengths \(2, 4 digits\)",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n"
            "2020,USA,CAN,X,01,5\n2020,USA,MEX,X,01,-5\n",
            r"c\.csv: line 3: column 'primaryValue' is negative \(-5\.0\)",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n"
            "2020,USA,CAN,X,01,5\n2020,USA,MEX,X,01,1\n2020,USA,CAN,X,01,5\n",
            r"c\.csv: lines 2 and 4: duplicate key \(exporter, importer, product, year\) = "
            r"\('USA', 'CAN', '01', 2020\)",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n2020,USA,CAN,X,01,5e\n",
            r"c\.csv: line 2: column 'primaryValue' has '5e', which is not a number",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue,classificationCode\n"
            "2020,USA,CAN,X,01,5,H4\n2020,USA,MEX,X,01,5,H5\n",
            r"c\.csv: column 'classificationCode' mixes classifications \(H4, H5\)",
        ),
        (
            "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n2020,USA,CAN,X,01,5\n",
            r"c\.csv: product_level='hs6' needs six-digit HS codes",
        ),
    ],
)
def test_comtrade_errors(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "c.csv", text)
    level = "hs6" if "product_level" in message else None
    with pytest.raises(DataError, match=message):
        read_comtrade(ComtradeSource(paths=["c.csv"], product_level=level), tmp_path)


# -------------------------------------------------------------------------------------- GeoDist

DIST_HEADER = (
    "iso_o;iso_d;contig;comlang_off;comlang_ethno;colony;comcol;curcol;col45;smctry;"
    "dist;distcap;distw;distwces\n"
)


def test_geodist_real_dist() -> None:
    path = shared_file("cepii_geodist/dist_cepii.csv")
    result = read_geodist(GeoDistSource(path=str(path)))
    frame = result.frame.set_index(["exporter", "importer"])
    assert len(frame) == 50176 and frame.index.is_unique
    fra_deu = frame.loc[("FRA", "DEU")]
    assert fra_deu["dist"] == pytest.approx(439.8984)
    assert fra_deu["distw"] == pytest.approx(789.5815)
    assert fra_deu["contig"] == 1
    assert frame.loc[("ROU", "USA"), "dist"] == pytest.approx(7656.178)  # written ROM in the file
    assert result.log["missing_distw"] == 2215
    assert result.countries is not None
    assert result.countries.renamed == {"PAL": "PSE", "ROM": "ROU", "TMP": "TLS", "ZAR": "COD"}
    assert result.countries.former_states == ("ANT", "YUG")


def test_geodist_real_geo() -> None:
    path = shared_file("cepii_geodist/geo_cepii.csv")
    result = read_geodist(GeoDistSource(path=str(path)))
    frame = result.frame.set_index("country")
    assert len(frame) == 225 and frame.index.is_unique
    assert result.log["dropped_secondary_cities"] == 13
    assert frame.loc["NAM", "iso2"] == "NA"  # Namibia's code is not a missing value
    assert frame.loc["CAN", "city_en"] == "Toronto"  # main city, not the capital
    assert frame.loc["ROU", "country_name"] == "Romania"
    assert frame.loc["FRA", "landlocked"] == 0


def test_geodist_fixture_missing_and_collision(tmp_path: Path) -> None:
    text = DIST_HEADER + "ROM;FRA;0;1;1;0;0;0;0;0;1000,5;1100;.;.\n"
    write(tmp_path / "d.csv", text.replace("1000,5", "1000.5"), encoding="latin-1")
    result = read_geodist(GeoDistSource(path="d.csv"), tmp_path)
    assert result.frame.loc[0, "exporter"] == "ROU" and np.isnan(result.frame.loc[0, "distw"])
    assert result.log["missing_distw"] == 1
    text = DIST_HEADER + "ROM;FRA;0;1;1;0;0;0;0;0;1000;1100;.;.\nROU;FRA;0;1;1;0;0;0;0;0;1;1;1;1\n"
    write(tmp_path / "d.csv", text)
    with pytest.raises(
        DataError, match=r"d\.csv: lines 2 and 3: duplicate key \(exporter, importer\)"
    ):
        read_geodist(GeoDistSource(path="d.csv"), tmp_path)
    keep = read_geodist(GeoDistSource(path="d.csv", codes="keep"), tmp_path)
    assert keep.frame["exporter"].tolist() == ["ROM", "ROU"]


def test_geodist_wrong_file(tmp_path: Path) -> None:
    write(tmp_path / "x.csv", "a;b\n1;2\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'iso3' not found.*geo_cepii"):
        read_geodist(GeoDistSource(path="x.csv"), tmp_path)


# ------------------------------------------------------------------------------------------ WDI

WDI_WIDE = (
    '\ufeff"Data Source","World Development Indicators",\n'
    "\n"
    '"Last Updated Date","2024-06-28",\n'
    "\n"
    '"Country Name","Country Code","Indicator Name","Indicator Code","2019","2020","2021",\n'
    '"Aruba","ABW","GDP (current US$)","NY.GDP.MKTP.CD","3395798882.68","2481857302.38","",\n'
    '"World","WLD","GDP (current US$)","NY.GDP.MKTP.CD","87.5","85.1","96.5",\n'
    '"Romania","ROM","GDP (current US$)","NY.GDP.MKTP.CD","250","251","..",\n'
)


def test_wdi_wide_with_metadata_lines(tmp_path: Path) -> None:
    write(tmp_path / "API_NY.GDP.MKTP.CD.csv", WDI_WIDE)
    result = read_wdi(WdiSource(paths=["API_*.csv"]), tmp_path)
    frame = result.frame
    assert list(frame.columns) == ["country", "year", "indicator", "value"]
    assert frame[["country", "year"]].values.tolist() == [
        ["ABW", 2019],
        ["ABW", 2020],
        ["ROU", 2019],
        ["ROU", 2020],
    ]
    assert frame.loc[0, "value"] == pytest.approx(3395798882.68)
    assert set(frame["indicator"]) == {"NY.GDP.MKTP.CD"}
    assert result.log == {
        "files_read": 1,
        "rows_read": 3,
        "cells_read": 9,
        "dropped_missing_value": 2,
        "dropped_aggregates": 3,
        "dropped_unmatched_codes": 0,
        "rows_out": 4,
    }
    flagged = read_wdi(WdiSource(paths=["API_*.csv"], aggregates="flag", codes="keep"), tmp_path)
    assert flagged.frame.loc[flagged.frame["is_aggregate"], "country"].unique().tolist() == ["WLD"]
    assert "ROM" in set(flagged.frame["country"]) and flagged.log["flagged_aggregates"] == 3


def test_wdi_databank_export_with_footer() -> None:
    path = shared_file("wdi/gdp_constant2010usd_2009_2018.csv")
    result = read_wdi(WdiSource(paths=[str(path)]))
    assert result.log["rows_read"] == 2645
    assert result.log["dropped_footer_lines"] == 5
    assert result.log["dropped_missing_value"] == 200
    assert result.log["rows_out"] == 2640 - 200 - result.log["dropped_aggregates"]
    frame = result.frame.set_index(["country", "year"])
    assert frame.loc[("AFG", 2009), "value"] == pytest.approx(13865194314.7185)
    assert frame.loc[("AFG", 2009), "indicator"] == "NY.GDP.MKTP.KD"
    assert "WLD" not in frame.index.get_level_values("country")


def test_wdi_long_table_with_aggregates() -> None:
    path = shared_file("wdi/gdp_current_usd_1960_2023.csv")
    with pytest.warns(DataWarning, match="'CHI'"):  # Channel Islands: no ISO 3166 code
        result = read_wdi(WdiSource(paths=[str(path)], indicator="NY.GDP.MKTP.CD"))
    assert result.log["rows_read"] == 13979
    assert result.log["dropped_unmatched_codes"] == 17
    assert set(result.frame["indicator"]) == {"NY.GDP.MKTP.CD"}
    with pytest.warns(DataWarning, match="'CHI'"):
        flagged = read_wdi(WdiSource(paths=[str(path)], aggregates="flag"))
    world = flagged.frame[flagged.frame["country"] == "WLD"]
    assert world["is_aggregate"].all() and len(world) > 50
    assert flagged.log["flagged_aggregates"] == result.log["dropped_aggregates"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Country Name,Country Code,Year,Value\nA,ABW,2000,1\nB,,2000,2\nC,AFG,2000,3\n",
            r"w\.csv: line 3: column 'Country Code' is empty",
        ),
        (
            "Country Name,Country Code,Year,Value\nA,ABW,2000,1\nA,ABW,2001,1.2.3\n",
            r"w\.csv: line 3: column 'Value' has '1\.2\.3', which is not a number",
        ),
        (
            "Country Name,Country Code,Year,Value\nA,ABW,20x0,1\n",
            r"w\.csv: line 2: column 'Year' has '20x0', which is not a year",
        ),
        (
            "Country Name,Country Code,1999,2000\nA,ABW,1,x\n",
            r"w\.csv: line 2: column '2000' has 'x', which is not a number",
        ),
        ("Name,Code,Year,Value\nA,ABW,2000,1\n", r"w\.csv: no 'Country Code' column"),
        ("Country Name,Country Code,Value\nA,ABW,1\n", r"w\.csv: neither a long WDI table"),
        (
            "Country Name,Country Code,Year,Value\nA,ABW,2000,1\nA,ABW,2000,2\n",
            r"w\.csv: lines 2 and 3: duplicate key \(country, year, indicator\) = "
            r"\('ABW', 2000, 'w'\)",
        ),
    ],
)
def test_wdi_errors(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "w.csv", text)
    with pytest.raises(DataError, match=message):
        read_wdi(WdiSource(paths=["w.csv"]), tmp_path)


def test_wdi_duplicates_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "Country Name,Country Code,Year,Value\nA,ABW,2000,1\n")
    write(tmp_path / "b.csv", "Country Name,Country Code,Year,Value\nA,ABW,2000,1\n")
    with pytest.raises(DataError, match=r"a\.csv: line 2 and b\.csv: line 2: duplicate key"):
        read_wdi(WdiSource(paths=["a.csv", "b.csv"], indicator="gdp"), tmp_path)


# -------------------------------------------------------------------------------------- generic

FIXEST_COLUMNS = {
    "exporter": "Origin",
    "importer": "Destination",
    "product": "Product",
    "year": "Year",
    "value": "Euros",
}


def test_generic_real_csv_with_iso2_codes() -> None:
    path = shared_file("fixest_trade/trade.csv")
    result = read_generic(GenericSource(path=str(path), columns=FIXEST_COLUMNS, codes="iso3"))
    frame = result.frame
    assert list(frame.columns) == [*FIXEST_COLUMNS, "dist_km"]  # unmapped column carried along
    assert len(frame) == 38325 and result.log["rows_out"] == 38325
    assert frame.loc[0].tolist()[:5] == ["BEL", "LUX", "1", 2007, 2966697.0]  # file: "LU","BE",1
    assert set(frame["exporter"]) >= {"GBR", "GRC", "DEU"}
    assert pd.api.types.is_string_dtype(frame["product"])
    keep = read_generic(GenericSource(path=str(path), columns=FIXEST_COLUMNS))
    assert keep.frame.loc[0, "exporter"] == "BE"


def test_generic_real_parquet_keeps_all_codes() -> None:
    path = shared_file("penppml_trade_dta/trade.parquet")
    columns = {"exporter": "exp", "importer": "imp", "year": "time", "value": "export"}
    result = read_generic(GenericSource(path=str(path), columns=columns))
    assert len(result.frame) == 316317
    assert {"BLX", "KN1", "DDR"} <= set(result.frame["exporter"])  # non-ISO ids kept as is
    assert "agreement" in result.frame.columns and result.frame["year"].dtype == np.int64


def test_generic_real_stata_with_rom() -> None:
    path = shared_file("yotov2016_agtpa/Chapter1Application1.dta")
    columns = {"exporter": "exporter", "importer": "importer", "year": "year", "value": "trade"}
    source = GenericSource(path=str(path), columns=columns, codes="iso3", value_scale=1e6)
    result = read_generic(source)
    assert len(result.frame) == 99981
    assert "ROU" in set(result.frame["exporter"]) and "ROM" not in set(result.frame["exporter"])
    assert result.countries is not None and result.countries.renamed == {"ROM": "ROU"}
    raw = pd.read_stata(path)
    assert result.frame["value"].sum() == pytest.approx(raw["trade"].sum() * 1e6, rel=1e-12)
    assert result.frame["year"].dtype == np.int64 and "DIST" in result.frame.columns


def test_generic_fixture_namibia_and_product_digits(tmp_path: Path) -> None:
    text = "Origin,Destination,Product,Year,Euros,Note\nNA,FR,10121,2019,5,x\nFR,NA,10121,2019,,y\n"
    write(tmp_path / "t.csv", text)
    source = GenericSource(
        path="t.csv", columns=FIXEST_COLUMNS, codes="iso3", product_digits=6, value_scale=2
    )
    result = read_generic(source, tmp_path)
    assert result.frame.values.tolist() == [["NAM", "FRA", "010121", 2019, 10.0, "x"]]
    assert result.log == {
        "rows_read": 2,
        "dropped_missing_value": 1,
        "dropped_unmatched_codes": 0,
        "rows_out": 1,
    }
    hs2 = read_generic(source.model_copy(update={"product_level": "hs2"}), tmp_path)
    assert hs2.frame.values.tolist() == [["NAM", "FRA", "01", 2019, 10.0]]


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        (
            "Origin,Destination,Year,Euros\nBE,LU,2007,1\n",
            {"exporter": "Origin", "value": "Euro"},
            r"t\.csv: column 'Euro' not found; did you mean 'Euros'\? Available columns: Origin, "
            r"Destination, Year, Euros; fix the mapping for 'value'",
        ),
        (
            "Origin,Destination,Product,Year,Euros\nBE,LU,01,2007,1\nBE,NL,01,2007,-2\n",
            FIXEST_COLUMNS | {"product": "Product"},
            r"t\.csv: line 3: column 'Euros' is negative",
        ),
        (
            "Origin,Destination,Year,Euros\nBE,LU,2007,1\nBE,NL,2007,1\nBE,LU,2007,3\n",
            {"exporter": "Origin", "importer": "Destination", "year": "Year", "value": "Euros"},
            r"t\.csv: lines 2 and 4: duplicate key \(exporter, importer, year\) = "
            r"\('BE', 'LU', 2007\)",
        ),
        (
            "Origin,Destination,Year,Euros\nBE,LU,2007.5,1\n",
            {"exporter": "Origin", "year": "Year"},
            r"t\.csv: line 2: column 'Year' has 2007\.5, which is not a year",
        ),
        (
            "Origin,Destination,Year,Euros\nBE,LU,2007,1\nBE,LU,2007,12,5\n",
            {"exporter": "Origin", "value": "Euros"},
            r"t\.csv: cannot parse the CSV file",
        ),
        (
            "Origin,Destination,Year,Euros\nBE,LU,2007,abc\n",
            {"exporter": "Origin", "value": "Euros"},
            r"t\.csv: line 2: column 'Euros' has 'abc', which is not a number",
        ),
        (
            "Origin,Destination,Year,Euros\n,LU,2007,1\n",
            {"exporter": "Origin"},
            r"t\.csv: line 2: column 'Origin' is empty",
        ),
        (
            "Origin,year,Year,Euros\nBE,2007,2007,1\n",
            {"exporter": "Origin", "year": "Year"},
            r"t\.csv: column 'year' has a canonical name but another column is mapped to 'year'",
        ),
    ],
)
def test_generic_errors(tmp_path: Path, text: str, columns: dict[str, str], message: str) -> None:
    write(tmp_path / "t.csv", text)
    source = GenericSource.model_validate({"path": "t.csv", "columns": columns})
    with pytest.raises(DataError, match=message):
        read_generic(source, tmp_path)


def test_generic_row_numbers_in_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"o": ["A", "B"], "d": ["B", "A"], "v": [1.0, -1.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    source = GenericSource(path="t.parquet", columns={"exporter": "o", "value": "v"})
    with pytest.raises(DataError, match=r"t\.parquet: row 2: column 'v' is negative"):
        read_generic(source, tmp_path)


def test_generic_excel(tmp_path: Path) -> None:
    frame = pd.DataFrame({"o": ["FR"], "d": ["DE"], "v": [1.0]})
    source = GenericSource(path="t.xlsx", columns={"exporter": "o", "importer": "d", "value": "v"})
    if importlib.util.find_spec("openpyxl") is None:
        write(tmp_path / "t.xlsx", "not really excel")
        with pytest.raises(DataError, match=r"t\.xlsx: reading \.xlsx files needs .*'openpyxl'"):
            read_generic(source, tmp_path)
    else:
        frame.to_excel(tmp_path / "t.xlsx", index=False)
        assert read_generic(source, tmp_path).frame["value"].tolist() == [1.0]


def test_generic_unknown_suffix(tmp_path: Path) -> None:
    write(tmp_path / "t.json", "{}")
    with pytest.raises(DataError, match=r"t\.json: unknown file type '\.json'; set format"):
        read_generic(GenericSource(path="t.json"), tmp_path)


# ---------------------------------------------------------------------------------- read_source


def test_read_source_dispatches_and_resolves_relative_paths(baci_dir: Path) -> None:
    config = {"kind": "baci", "paths": ["BACI_HS92_Y2021_V202201.csv"], "codes": "keep"}
    result = read_source(config, baci_dir)
    assert result.kind == "baci" and result.log["rows_out"] == 5
    write(baci_dir / "g.csv", "o,d,v\nFR,DE,1\n")
    generic = read_source(
        GenericSource(path="g.csv", columns={"exporter": "o", "importer": "d", "value": "v"}),
        baci_dir,
    )
    assert generic.kind == "generic" and generic.frame.loc[0, "exporter"] == "FR"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "eurostat", "path": "x"}, r"invalid data source: .*eurostat"),
        ({"kind": "baci", "paths": ["x"], "colour": 1}, r"baci\.colour: Extra inputs"),
        ({"kind": "generic", "path": "x", "columns": {"origin": "o"}}, r"generic\.columns\.origin"),
        (
            {"kind": "baci", "paths": ["x"], "quantity": True, "product_level": "hs2"},
            r"quantity=True is only available with product_level='hs6'",
        ),
    ],
)
def test_invalid_source_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_source(config, Path("."))


def test_sources_are_frozen() -> None:
    source = WdiSource(paths="w.csv")
    assert source.paths == ["w.csv"]
    with pytest.raises(pydantic.ValidationError):
        source.aggregates = "flag"  # type: ignore[misc]
