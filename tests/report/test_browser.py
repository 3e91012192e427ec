"""The page in a real browser: Debian's Chromium driven headless by Playwright, from disk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.stage_report import stage_report
from gravity.report.browser import DEFAULT_CHROMIUM, launch
from gravity.report.country_groups import INCOME_MISSING
from gravity.report.formatting import format_money
from gravity.report.options import ReportOptions
from tests.report.conftest import EU_EXPORTER, EU_NAMES, XSS_COUNTRY, XSS_PRODUCT, RunFolder

CHROMIUM = DEFAULT_CHROMIUM
EXPORTER = "XAA"
PAGE_TIMEOUT_MS = 180_000
"""How long a tab waits for a load or a selector. Playwright's 30 s default was exceeded once
when the report's charts rendered on a 2-core machine running other heavy jobs; the waits are
on conditions, so a longer limit costs nothing when the page is quick."""

if not CHROMIUM.is_file():
    pytest.skip(
        f"Chromium not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
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


@contextmanager
def _watched_tab(browser: object, url: str) -> Iterator[tuple[object, list[str]]]:
    """A 1400x1000 tab on ``url``, with the console errors and warnings, page errors and
    non-file requests it raises collected in the list yielded beside it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
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
    tab.goto(url)
    yield tab, problems
    context.close()


@pytest.fixture
def page(browser: object, page_url: str) -> Iterator[tuple[object, list[str]]]:
    with _watched_tab(browser, page_url) as (tab, problems):
        tab.wait_for_selector("#chart-scatter .main-svg")  # type: ignore[attr-defined]
        yield tab, problems


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
    # synthetic countries have no region, group or income group: the filters are disabled
    assert INCOME_MISSING not in tab.evaluate("document.body.innerText")
    for key in ("region", "bloc", "income"):
        assert tab.locator(f"#f-{key}").is_disabled(), key
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


@pytest.fixture
def eu_page(browser: object, eu_run: Path) -> Iterator[tuple[object, list[str]]]:
    """The Portugal report on the Eurostat EU15 data (euros, names table), loaded offline."""
    url = (eu_run / "report" / "index.html").resolve().as_uri()
    with _watched_tab(browser, url) as (tab, problems):
        tab.wait_for_function("window.__gravityTiming !== undefined")  # type: ignore[attr-defined]
        yield tab, problems


def _eu_rows(eu_run: Path) -> pd.DataFrame:
    frame = pd.read_parquet(eu_run / "potential" / "opportunities.parquet")
    return frame[frame["exporter"] == EU_EXPORTER]


def _ticks(tab: object, chart: str) -> list[str]:
    return tab.locator(f"#chart-{chart} .ytick text").all_text_contents()  # type: ignore[attr-defined]


def test_real_report_shows_names_and_euros_never_usd(eu_page: tuple, eu_run: Path) -> None:
    tab, problems = eu_page
    text = tab.evaluate("document.body.innerText")
    assert "USD" not in text and "$" not in text
    assert "Portugal" in text and "Spain" in text and EU_NAMES["9"] in text
    assert "\u20ac" in text and "(EUR)" in text
    assert "exports 2016 \u2192 potential 2019" in text
    for chart in ("products", "markets", "intervals", "destinations"):
        assert "(EUR)" in tab.locator(f"#chart-{chart} .xtitle").text_content(), chart
    headers = tab.locator("#opportunity-table th").all_inner_texts()
    assert "Potential, low (EUR)" in headers and "Potential, high (EUR)" in headers
    assert "Intervals: 90% level" in text
    # intervals are visible: columns in the table and error bars in the chart
    assert tab.locator("#chart-intervals .errorbar").count() >= 1
    assert visible_rows(tab) == len(_eu_rows(eu_run))
    assert problems == []


def test_real_filters_change_rows_and_charts(eu_page: tuple, eu_run: Path) -> None:
    tab, problems = eu_page
    rows = _eu_rows(eu_run)
    before = _ticks(tab, "markets")
    assert len(before) > 1
    tab.select_option("#f-dest", "ES")
    assert visible_rows(tab) == int((rows["importer"] == "ES").sum())
    assert _ticks(tab, "markets") == ["Spain (ES)"]
    tab.select_option("#f-list", "new")
    new = (rows["importer"] == "ES") & (rows["supply_source"] != "observed")
    assert visible_rows(tab) == int(new.sum())
    shown_products = set(_ticks(tab, "products"))
    expected = {f"{EU_NAMES[p]} ({p})" for p in rows.loc[new, "product"]}
    assert shown_products and shown_products <= expected
    tab.click("#f-reset")
    assert visible_rows(tab) == len(rows)
    assert _ticks(tab, "markets") == before
    tab.select_option("#f-bloc", "EU")
    assert visible_rows(tab) == int((rows["importer"] != "GB").sum())  # the UK is not in the EU
    tab.click("#f-reset")
    tab.select_option("#f-region", "Southern Europe")  # UN M49: Spain, Greece, Italy
    southern = rows["importer"].isin(["ES", "EL", "GR", "IT"])
    assert visible_rows(tab) == int(southern.sum()) > 0
    tab.click("#f-reset")
    assert tab.locator("#f-income option").all_inner_texts() == [
        "All income groups",
        "High income",
    ]
    tab.select_option("#f-income", "High income")
    assert visible_rows(tab) == len(rows)
    assert problems == []


def test_real_report_is_usable_at_420_px(browser: object, eu_run: Path) -> None:
    context = browser.new_context(viewport={"width": 420, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    tab = context.new_page()
    tab.goto((eu_run / "report" / "index.html").resolve().as_uri())
    tab.wait_for_function("window.__gravityTiming !== undefined")
    # nothing wider than the screen but the scrolling table: no sideways scrolling of the page
    assert tab.evaluate("document.documentElement.scrollWidth") <= 420
    widths = tab.evaluate(
        "Array.from(document.querySelectorAll('[data-chart] svg.main-svg'))"
        ".map(s => s.getBoundingClientRect().right)"
    )
    assert widths and max(widths) <= 420
    # titles and source notes are wrapped, not cut off at the edge
    rights = tab.evaluate(
        "Array.from(document.querySelectorAll('[data-chart] .gtitle, [data-chart] "
        ".annotation-text')).map(t => t.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= 420
    context.close()


SIGNIFICANT_RTOL = 1e-6
"""The page embeds numbers to 7 significant digits (gravity.report.interactive.SIGNIFICANT)."""


def test_real_forecast_chart_follows_the_filters(eu_page: tuple, eu_run: Path) -> None:
    tab, problems = eu_page
    rows = _eu_rows(eu_run)
    panel = pd.read_parquet(eu_run / "panel" / "panel.parquet")
    partner = tab.evaluate(
        "JSON.parse(document.getElementById('report-data').textContent).forecast.partner"
    )
    mine = rows[(rows["importer"] == partner) & (rows["year"] == rows["year"].max())]

    def trace(index: int) -> list[float]:
        return tab.evaluate(f"document.getElementById('chart-forecast').data[{index}].y")  # type: ignore[no-any-return]

    before = trace(1)[0]
    assert before == pytest.approx(mine["potential"].sum(), rel=SIGNIFICANT_RTOL)
    tab.select_option("#f-list", "new")
    new = mine[mine["supply_source"] != "observed"]
    assert trace(1)[0] == pytest.approx(new["potential"].sum(), rel=SIGNIFICANT_RTOL)
    assert trace(1)[0] != pytest.approx(before, rel=1e-3)
    # the exports line: the same products' exports to the partner, by year
    pair = panel[(panel["exporter"] == EU_EXPORTER) & (panel["importer"] == partner)]
    chosen = pair[pair["product"].astype(str).isin(set(new["product"].astype(str)))]
    by_year = chosen.groupby("year")["value"].sum().reindex(sorted(panel["year"].unique()))
    assert trace(0) == pytest.approx(by_year.fillna(0.0).tolist(), rel=SIGNIFICANT_RTOL)
    tab.click("#f-reset")
    assert trace(1)[0] == pytest.approx(before, rel=SIGNIFICANT_RTOL)
    assert problems == []
