"""Bad input files: each problem is one line naming the file, the line or column, and the fix."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from gravity.exceptions import DataError
from gravity.panel.build import build_panel
from gravity.panel.inputs import check_text_file
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import BaciSource, GenericSource, GeoDistSource

CSV = "o,d,yr,v\nFRA,DEU,2020,1.5\nDEU,FRA,2020,2.5\n"
COLUMNS = {"exporter": "o", "importer": "d", "year": "yr", "value": "v"}


def build_generic(tmp_path: Path, name: str, **kw: object) -> None:
    source = GenericSource(path=name, columns=COLUMNS, **kw)  # type: ignore[arg-type]
    build_panel(source, None, SampleOptions(), tmp_path)


def write_gzip(path: Path) -> None:
    path.write_bytes(gzip.compress(CSV.encode()))


def write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("BACI_HS92_Y2021_V202401b.csv", CSV)
        archive.writestr("country_codes_V202401b.csv", "a,b\n")


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("t.csv.gz", write_gzip, r"t\.csv\.gz: the file is a gzip archive, not a text table; "
                                 r"extract it first \(gunzip t\.csv\.gz"),
        ("t.csv", write_gzip, r"t\.csv: the file is a gzip archive"),  # whatever its name says
        ("t.zip", write_zip, r"t\.zip: the file is a zip archive holding 2 file\(s\): "
                             r"BACI_HS92_Y2021_V202401b\.csv, country_codes_V202401b\.csv, not a "
                             r"text table; extract it first \(unzip t\.zip"),
        ("t.csv", lambda p: p.write_bytes(b""), r"t\.csv: the file is empty \(0 bytes\)"),
        ("t.csv", lambda p: p.write_text("o,d,yr,v\n"),
         r"t\.csv: the file has a header \(o, d, yr, v\) but no data rows"),
        ("t.csv", lambda p: p.write_text(CSV.replace(",", ";")),
         r"t\.csv: line 1 has no ',' but 3 ';' separators; set sep: ';'"),
        ("t.csv", lambda p: p.write_text(CSV.replace(",", "\t")),
         r"t\.csv: line 1 has no ',' but 3 tab separators; set sep: '\\t'"),
        ("t.csv", lambda p: p.write_bytes(CSV.replace("FRA,DEU", "Côte,DEU").encode("latin-1")),
         r"t\.csv: line 2: byte 0xf4 is not valid utf-8-sig; set encoding .*latin-1"),
        ("t.csv", lambda p: p.write_text(CSV, encoding="utf-16"),
         r"t\.csv: the file is UTF-16 encoded .*set encoding: utf-16"),
        ("t.parquet", lambda p: p.write_bytes(b""), r"t\.parquet: the file is empty"),
    ],
)
def test_bad_files_one_clear_line(tmp_path: Path, name: str, write, message: str) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / name)
    with pytest.raises(DataError, match=message) as info:
        build_generic(tmp_path, name)
    assert "\n" not in str(info.value)


def test_baci_compressed_and_wrong_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "BACI_HS92_Y2021_V202401b.csv"
    path.write_bytes(gzip.compress(b"t,i,j,k,v,q\n2021,4,24,10121,1,1\n"))
    with pytest.raises(DataError, match=r"BACI_HS92_Y2021_V202401b\.csv: the file is a gzip"):
        build_panel(BaciSource(paths=[path.name]), None, SampleOptions(), tmp_path)
    path.write_text("t;i;j;k;v;q\n2021;4;24;10121;1;1\n")
    with pytest.raises(DataError, match=r"line 1 has no ',' but 5 ';' separators; set sep: ';'"):
        build_panel(BaciSource(paths=[path.name]), None, SampleOptions(), tmp_path)


def test_covariate_files_are_checked_too(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(CSV)
    (tmp_path / "dist_cepii.csv").write_text("iso_o,iso_d,dist\nFRA,DEU,1\n")  # not ';'
    options = PanelOptions(covariates=[GeoDistSource(path="dist_cepii.csv").model_dump()])  # type: ignore[list-item]
    source = GenericSource(path="t.csv", columns=COLUMNS)
    with pytest.raises(DataError, match=r"dist_cepii\.csv: line 1 has no ';' but 2 ','"):
        build_panel(source, None, SampleOptions(), tmp_path, options)


def test_good_file_passes_and_quoted_delimiters_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text('"name;with;semicolons",b\n1,2\n')
    check_text_file(path, sep=",", encoding="utf-8")
    big = tmp_path / "big.csv"  # longer than the sample: the cut last line is not judged
    big.write_text("a,b\n" + "1,2\n" * 100_000)
    check_text_file(big, sep=",", encoding="utf-8")
