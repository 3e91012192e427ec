"""Numbers for people, escaping, names and options."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from gravity.exceptions import DataError, OptionsError
from gravity.report.charts import plotly_text
from gravity.report.data import ReportNames
from gravity.report.formatting import (
    format_change,
    format_int,
    format_pvalue,
    format_share,
    format_usd,
    format_value,
)
from gravity.report.markup import Markup, el, safe_json
from gravity.report.options import ReportOptions
from gravity.report.text import ordinal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_234_000_000, "$1.23B"),
        (45_600_000, "$45.6M"),
        (812_000, "$812K"),
        (999_700, "$1.00M"),  # would round to 1000K
        (950, "$950"),
        (0, "$0"),
        (-2_500_000, "\u2212$2.50M"),
        (3.2e12, "$3.20T"),
        (float("nan"), "\u2013"),
        (None, "\u2013"),
    ],
)
def test_usd(value: object, text: str) -> None:
    assert format_usd(value) == text


def test_shares_changes_counts_pvalues() -> None:
    assert format_share(0.4512) == "45.1%"
    assert format_share(1.074) == "107.4%"
    assert format_change(0.045) == "+4.5%"
    assert format_change(-0.12) == "\u221212.0%"
    assert format_change(0.0) == "0.0%"
    assert format_int(12345) == "12,345"
    assert format_pvalue(0.0004) == "<0.001"
    assert format_pvalue(0.0421) == "0.042"
    assert format_value(2009.0, "year") == "2009"
    assert format_value(0.913, "score") == "0.91"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]


def test_elements_escape_text_and_attributes() -> None:
    hostile = "<script>alert(1)</script>\"'&"
    out = el("td", {"title": hostile, "data-x": None, "hidden": True}, hostile, Markup("<b>ok</b>"))
    assert out == (
        '<td title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;" hidden>'
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;<b>ok</b></td>"
    )


def test_inline_json_cannot_close_the_script() -> None:
    data = {"name": "</script><script>alert(1)</script> & <!--", "x": float("nan")}
    text = safe_json(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": data["name"], "x": None}


def test_plotly_text_is_escaped() -> None:
    assert plotly_text("<b>A&B</b>") == "&lt;b&gt;A&amp;B&lt;/b&gt;"
    # plotly does not decode &quot;: quotes become numeric entities, which it does decode
    assert plotly_text("\"a'") == "&#34;a&#39;"


def test_names_fall_back_to_codes_and_hs_chapters() -> None:
    names = ReportNames.from_frames(
        pd.DataFrame({"country": ["MEX"], "name": ["Mexico"]}),
        pd.DataFrame({"product": ["0101"], "name": ["Horses"], "sector": ["Animals"]}),
    )
    assert names.country("MEX") == "Mexico"
    assert names.country("USA") == "USA"
    assert names.product("0101") == "Horses"
    assert names.group("0101") == "Animals"
    assert names.group("870323") == "HS 87"
    assert names.group("X1") == "All"
    merged = ReportNames(countries={"MEX": "México"}).merged(names)
    assert merged.country("MEX") == "México"
    assert merged.product("0101") == "Horses"


def test_names_need_a_name_column(tmp_path: Path) -> None:
    path = tmp_path / "countries.csv"
    path.write_text("country,label\nMEX,Mexico\n")
    with pytest.raises(DataError, match=r"country names: missing column\(s\) \['name'\]"):
        ReportNames.read(countries=path)


def test_names_files_keep_codes_as_text(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("product,name\n0101,Horses\n")
    assert ReportNames.read(products=path).product("0101") == "Horses"


def test_options_validate() -> None:
    options = ReportOptions()
    assert options.formats == ["html", "xlsx", "csv"]
    assert ReportOptions(formats=["pdf", "html", "pdf"]).formats == ["pdf", "html"]
    with pytest.raises(OptionsError, match="at least one"):
        ReportOptions(formats=[])
    with pytest.raises(OptionsError, match="docx"):
        ReportOptions(formats=["docx"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ReportOptions.model_validate({"exporters": ["MEX"]})
    with pytest.raises(OptionsError, match="must not be blank"):
        ReportOptions(exporter=" ")
    with pytest.raises(ValidationError, match="frozen"):
        options.top_n = 5  # type: ignore[misc]


def test_names_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    options = ReportOptions.model_validate(
        {"country_names": "names/countries.csv"}, context={"base_dir": tmp_path}
    )
    assert options.country_names == tmp_path / "names" / "countries.csv"
