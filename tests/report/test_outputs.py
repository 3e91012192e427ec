"""The report stage end to end (without a browser): files, spreadsheet, CSV, missing inputs."""

from __future__ import annotations

import hashlib
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gravity.cli.stage_report import stage_report
from gravity.exceptions import ConfigError, DataError
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import opportunities
from gravity.report.build import build_report
from gravity.report.data import ReportNames, load_inputs
from gravity.report.options import ReportOptions
from tests.report.conftest import XSS_COUNTRY, XSS_PRODUCT, RunFolder

CHROMIUM = Path("/usr/bin/chromium")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith("#"):
                self.found.append(f"<{tag} {key}={value}>")


def external_references(text: str) -> list[str]:
    """src/href attributes that load something (script bodies are not parsed as markup)."""
    parser = _References()
    parser.feed(text)
    return parser.found


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_writes_every_format_only_under_report(run: RunFolder) -> None:
    root = run.output.parent
    before = snapshot(root)
    paths = stage_report(ReportOptions(), run.output, run.names)
    after = snapshot(root)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed and all(k.startswith("out/report/") for k in changed)
    assert set(before) <= set(after)
    assert {"html", "xlsx", "csv:opportunities", "csv:profile", "csv:coefficients"} <= set(paths)
    assert all(p.is_relative_to(run.output / "report") for p in paths.values())


def test_default_exporter_is_the_largest_and_partner_its_largest_partner(run: RunFolder) -> None:
    report = build_report(load_inputs(run.output), ReportOptions(), run.names)
    last = run.panel[run.panel["year"] == run.panel["year"].max()]
    assert report.exporter == last.groupby("exporter")["value"].sum().idxmax()
    mine = last[(last["exporter"] == report.exporter) | (last["importer"] == report.exporter)]
    other = mine["importer"].where(mine["exporter"] == report.exporter, mine["exporter"])
    assert report.partner == mine.groupby(other)["value"].sum().idxmax()
    assert report.opportunities is not None
    assert len(report.opportunities) == (run.opportunities["exporter"] == report.exporter).sum()


def test_html_is_self_contained_escaped_and_flags_synthetic_data(run: RunFolder) -> None:
    page = stage_report(ReportOptions(formats=["html"]), run.output, run.names)["html"]
    text = page.read_text(encoding="utf-8")
    assert 'id="synthetic-banner"' in text
    assert XSS_PRODUCT not in text and "window.__xss=1</script>" not in text
    assert XSS_COUNTRY not in text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in text
    assert external_references(text) == []  # nothing loaded from files or the network
    assert "Plotly" in text and len(text) > 4_000_000  # the library itself is inlined
    for section in ("opportunities", "profile", "model", "method"):
        assert f'<section id="{section}">' in text


def test_spreadsheet_sheets_headers_formats_and_frozen_panes(run: RunFolder) -> None:
    products = pd.DataFrame({"product": ["0001"], "name": ["=1+2"]})
    names = ReportNames.from_frames(products=products).merged(run.names)
    paths = stage_report(ReportOptions(exporter="XAA"), run.output, names)
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames[:4] == ["About", "Opportunities", "Destinations", "Products"]
    assert {"Bilateral profile", "Top exports", "Coefficients", "Backtest", "Sources"} <= set(
        book.sheetnames
    )
    assert book["About"]["A3"].value == "SYNTHETIC DATA"
    sheet = book["Opportunities"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Rank", "Product", "Product code", "Product group"]
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "C2"  # header row, rank and product
    assert sheet.max_row == 1 + (run.opportunities["exporter"] == "XAA").sum()
    column = {name: i + 1 for i, name in enumerate(header)}
    untapped = sheet.cell(2, column["Untapped (USD)"])
    # the currency is in the header, not in the number format
    assert isinstance(untapped.value, float) and untapped.number_format == "#,##0"
    assert sheet.cell(2, column["Realised share"]).number_format == "0.0%"
    products_shown = [sheet.cell(r, column["Product"]).value for r in range(2, sheet.max_row + 1)]
    assert XSS_PRODUCT in products_shown
    formula_cell = next(
        sheet.cell(r, column["Product"])
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(r, column["Product code"]).value == "0001"
    )
    assert formula_cell.value == "=1+2" and formula_cell.data_type == "s"
    assert book["Coefficients"].freeze_panes == "B2"


def test_csv_tables(run: RunFolder) -> None:
    products = pd.DataFrame({"product": ["0001"], "name": ["=1+2"]})
    names = ReportNames.from_frames(products=products).merged(run.names)
    paths = stage_report(ReportOptions(exporter="XAA", formats=["csv"]), run.output, names)
    assert "html" not in paths and "xlsx" not in paths
    frame = pd.read_csv(paths["csv:opportunities"], dtype={"Product code": str})
    assert len(frame) == (run.opportunities["exporter"] == "XAA").sum()
    assert frame["Rank"].tolist() == sorted(frame["Rank"])
    assert XSS_PRODUCT in set(frame["Product"])
    assert "'=1+2" in set(frame["Product"])  # a spreadsheet would run =1+2 as a formula
    coefficients = pd.read_csv(paths["csv:coefficients"])
    assert coefficients["Term"].tolist() == ["log(dist)", "contig", "comlang", "rta"]


def test_stale_csv_of_an_earlier_run_is_removed(run: RunFolder) -> None:
    stage_report(ReportOptions(formats=["csv"]), run.output, run.names)
    assert (run.output / "report" / "csv" / "backtest.csv").is_file()
    shutil.rmtree(run.output / "backtest")
    stage_report(ReportOptions(formats=["csv"]), run.output, run.names)
    assert not (run.output / "report" / "csv" / "backtest.csv").exists()


def test_an_empty_output_folder_gives_a_report_that_says_what_is_missing(tmp_path: Path) -> None:
    paths = stage_report(ReportOptions(), tmp_path)
    text = paths["html"].read_text(encoding="utf-8")
    assert "No opportunity table: potential/opportunities.parquet was not found" in text
    assert "No bilateral profile: panel/panel.parquet was not found" in text
    assert "No regression results: fit/coefficients.csv was not found" in text
    assert "No run manifest" in text
    assert 'id="synthetic-banner"' not in text
    assert list((tmp_path / "report").iterdir())
    assert {p.name for p in tmp_path.iterdir()} == {"report"}


def test_aggregate_panel_and_opportunities(tmp_path: Path, run_template: RunFolder) -> None:
    (tmp_path / "panel").mkdir()
    (tmp_path / "potential").mkdir()
    aggregate = run_template.panel.groupby(["exporter", "importer", "year"], as_index=False).agg(
        value=("value", "sum"),
        dist=("dist", "first"),
        contig=("contig", "first"),
        comlang=("comlang", "first"),
        rta=("rta", "first"),
    )
    aggregate.to_parquet(tmp_path / "panel" / "panel.parquet")
    opps = opportunities(aggregate, PotentialOptions(horizon=2, window=3))
    opps.to_parquet(tmp_path / "potential" / "opportunities.parquet")
    paths = stage_report(ReportOptions(exporter="XAC", partner="XAD"), tmp_path)
    text = paths["html"].read_text(encoding="utf-8")
    assert "The panel is aggregate (no product column)" in text
    assert "In 2007, XAC exported" in text
    data = json.loads(text.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["table"]["n"] == (opps["exporter"] == "XAC").sum()
    assert 'id="chart-products"' not in text and 'id="chart-markets"' in text
    book = openpyxl.load_workbook(paths["xlsx"])
    assert [c.value for c in book["Opportunities"][1]][:3] == [
        "Rank",
        "Destination",
        "Destination code",
    ]
    assert "Products" not in book.sheetnames
    assert book["Data"]["B5"].value == "aggregate flows (no product detail)"


def test_unknown_exporter_is_a_one_line_error(run: RunFolder) -> None:
    with pytest.raises(DataError, match=r"report\.exporter 'MEX' is not in the data"):
        stage_report(ReportOptions(exporter="MEX"), run.output)


def test_unreadable_input_is_an_error(run: RunFolder) -> None:
    (run.output / "fit" / "fit.json").write_text("{not json")
    with pytest.raises(DataError, match=r"cannot read .*fit\.json \(fit\)"):
        stage_report(ReportOptions(), run.output)


def test_missing_output_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no-run is not a folder"):
        load_inputs(tmp_path / "no-run")


def test_refuses_a_report_folder_that_links_outside(run: RunFolder, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run.output / "report").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="outside"):
        stage_report(ReportOptions(), run.output)
    assert not list(elsewhere.iterdir())


@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Chromium not installed at {CHROMIUM}")
def test_pdf_through_headless_chromium(run: RunFolder) -> None:
    paths = stage_report(ReportOptions(formats=["pdf"]), run.output, run.names)
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    assert paths["pdf"].stat().st_size > 50_000  # text and charts, not a blank page
    left = {p.name for p in (run.output / "report").iterdir()}
    assert left == {"index.html", "report.pdf"}  # Chromium's profile is gone


def test_pdf_without_chromium_says_how_to_fix(run: RunFolder, tmp_path: Path) -> None:
    options = ReportOptions(formats=["pdf"], chromium=tmp_path / "no-chromium")
    with pytest.raises(ConfigError, match=r"remove 'pdf' from report\.formats"):
        stage_report(options, run.output)
