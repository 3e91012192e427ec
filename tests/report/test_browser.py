"""The page in a real browser: Debian's Chromium driven headless by Playwright, from disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gravity.cli.stage_report import stage_report
from gravity.report.formatting import format_money
from gravity.report.options import ReportOptions
from tests.report.conftest import XSS_COUNTRY, XSS_PRODUCT, RunFolder

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPORTER = "XAA"

if not CHROMIUM.is_file():
    pytest.skip(
        f"Chromium not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_url(run_template: RunFolder, tmp_path_factory: pytest.TempPathFactory) -> str:
    import shutil

    output = tmp_path_factory.mktemp("browser") / "out"
    shutil.copytree(run_template.output, output)
    paths = stage_report(
        ReportOptions(exporter=EXPORTER, top_n=11, formats=["html"]), output, run_template.names
    )
    return paths["html"].resolve().as_uri()


@pytest.fixture
def page(browser: object, page_url: str) -> Iterator[tuple[object, list[str]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    tab = context.new_page()
    problems: list[str] = []
    tab.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    tab.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    tab.on(
        "request",
        lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None,
    )
    tab.goto(page_url)
    tab.wait_for_selector("#chart-scatter .main-svg")
    yield tab, problems
    context.close()


def visible_rows(tab: object) -> int:
    """Rows that pass the filters (the table renders only those in view)."""
    return int(tab.locator("#opportunity-table").get_attribute("data-shown"))  # type: ignore[attr-defined]


def test_page_loads_offline_without_console_errors(
    page: tuple, run_template: RunFolder, tmp_path: Path
) -> None:
    tab, problems = page
    expected = int((run_template.opportunities["exporter"] == EXPORTER).sum())
    assert visible_rows(tab) == expected
    assert (
        tab.locator("#opportunity-count").inner_text()
        == f"Showing {expected} of {expected} opportunities"
    )
    assert tab.locator("#synthetic-banner").is_visible()
    for name in ("products", "markets", "scatter", "destinations", "history"):
        assert tab.locator(f"#chart-{name} svg.main-svg").count() >= 1, name
        assert tab.locator(f"#chart-{name} .gtitle").text_content()  # every chart has a title
    x_title = tab.locator("#chart-products .xtitle").text_content()
    assert x_title == "Untapped export potential (USD)"
    assert "Source:" in tab.locator("#chart-products .annotation-text").text_content()
    assert tab.locator("#chart-scatter .point").count() == expected
    assert [
        tab.locator(f"nav a[href='#{s}']").count()
        for s in ("opportunities", "profile", "model", "method")
    ] == [1, 1, 1, 1]
    tab.locator("nav a[href='#method']").click()
    tab.screenshot(path=str(tmp_path / "method.png"))
    tab.locator("nav a[href='#opportunities']").click()
    tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert problems == []


def test_filters_and_sorting_change_the_table(page: tuple, run_template: RunFolder) -> None:
    tab, problems = page
    mine = run_template.opportunities[run_template.opportunities["exporter"] == EXPORTER]
    tab.select_option("#f-dest", "XAD")
    assert visible_rows(tab) == int((mine["importer"] == "XAD").sum())
    group = run_template.names.group("0003")
    tab.select_option("#f-group", group)
    in_group = mine["product"].map(run_template.names.group) == group
    assert visible_rows(tab) == int(((mine["importer"] == "XAD") & in_group).sum())
    tab.click("#f-reset")
    assert visible_rows(tab) == len(mine)
    tab.fill("#f-search", "script")
    assert visible_rows(tab) == int((mine["product"] == "0015").sum())
    tab.click("#f-reset")
    header = tab.locator("#opportunity-table th", has_text="Untapped (USD)")
    header.locator("button").click()
    header.locator("button").click()  # second click: largest first
    assert header.get_attribute("aria-sort") == "descending"
    first = tab.locator("#opportunity-table tbody tr:not(.spacer)").first
    column = tab.locator("#opportunity-table th").all_inner_texts().index("Untapped (USD)")
    # the script formats as gravity.report.formatting does
    assert first.locator("td").nth(column).inner_text() == format_money(
        mine["untapped"].max(), "USD"
    )
    assert problems == []


def test_hostile_names_are_shown_as_text_and_never_run(page: tuple) -> None:
    tab, problems = page
    assert tab.evaluate("window.__xss") is None
    assert tab.evaluate("window.__xss2") is None
    cells = tab.locator("#opportunity-table td", has_text="window.__xss=1")
    assert cells.count() > 0
    assert cells.first.inner_text().startswith(XSS_PRODUCT)
    assert tab.locator("#opportunity-table img").count() == 0
    destinations = tab.locator("#f-dest option").all_inner_texts()
    assert XSS_COUNTRY in destinations
    ticks = tab.locator("#chart-products .ytick text").all_text_contents()
    assert f"{XSS_PRODUCT} (0015)" in ticks
    assert (
        tab.locator("#chart-markets .ytick text").all_text_contents().count(f"{XSS_COUNTRY} (XAB)")
        == 1
    )
    assert problems == []
