"""Report page load: first render of ``index.html`` in headless Chromium, against plotly alone.

    python benchmarks/report_load.py                      # the Eurostat EU15 report (Portugal)
    python benchmarks/report_load.py OUT/report/index.html ...   # any report pages, e.g. the demo's

The EU15 report is built first (``gravity run`` on ``../shared/data/fixest_trade``, euros, in a
temporary folder). Each page is opened in a fresh browser context from disk, ``--rounds`` times,
alternating with the peer: a page holding only the same inlined plotly bundle, so the ratio
says what the report adds on top of the chart library it cannot avoid. "First render" is the
time from navigation until the page's script has drawn the charts and the table
(``window.__gravityTiming``; for pages of older versions, every chart drawn); the peer's is
until plotly is defined. Pass an older version's page to compare versions in the same run.
Printed: the median and best of each, the ratio report / plotly-only, the page size and the
1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from eu_report import build_eu

from gravity.report.browser import launch


def plotly_only(folder: Path) -> Path:
    """A page with nothing but the inlined plotly bundle the report uses."""
    from plotly.offline import get_plotlyjs

    page = folder / "plotly_only.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<script>{get_plotlyjs()}</script>"
        "<script>window.__gravityTiming = {done: performance.now()};</script></body></html>",
        encoding="utf-8",
    )
    return page


READY = (
    "window.__gravityTiming !== undefined || (document.readyState === 'complete' && "
    "Array.from(document.querySelectorAll('[data-chart]'))"
    ".every(d => d.querySelector('.main-svg')))"
)
"""First render done: the page's own mark, or (pages of older versions, which draw every chart
synchronously) the document loaded with every chart drawn."""


def first_render(browser: object, page: Path) -> float:
    """Seconds from navigation to the page's first render (charts and table drawn)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    tab = context.new_page()
    start = time.perf_counter()
    tab.goto(page.resolve().as_uri())
    tab.wait_for_function(READY, timeout=120_000)
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def main() -> None:
    """Build (or take) the pages, time them alternately with the peer, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="report pages (default: EU15)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = list(args.pages) or [build_eu(folder)]
        peer = plotly_only(folder)
        load_before = os.getloadavg()[0]
        times: dict[Path, list[float]] = {p: [] for p in [*pages, peer]}
        with sync_playwright() as playwright:
            browser = launch(playwright)
            first_render(browser, peer)  # warm the browser's caches once, untimed
            for _ in range(args.rounds):
                for page in pages:  # alternate: report, peer, report, peer, ...
                    times[page].append(first_render(browser, page))
                    times[peer].append(first_render(browser, peer))
            browser.close()
        load_after = os.getloadavg()[0]
        base = statistics.median(times[peer])
        print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after")
        print(f"{'page':<48} {'MB':>6} {'median s':>9} {'best s':>7} {'/ plotly':>9}")
        for page, values in times.items():
            name = "plotly.js only (peer)" if page == peer else str(page)[-48:]
            mb = page.stat().st_size / 1e6
            median = statistics.median(values)
            print(f"{name:<48} {mb:6.2f} {median:9.2f} {min(values):7.2f} {median / base:9.2f}")


if __name__ == "__main__":
    main()
