"""Screenshots of the report for the docs: the Portugal (EU15, euros) report and the demo's.

    python docs/screenshots.py                         # builds both runs in a temporary folder
    python docs/screenshots.py --demo out/demo/report/index.html   # reuse a demo report

Writes ``docs/img/report_eu_*.png`` and ``docs/img/report_demo_*.png`` (viewport-sized PNGs of
the opportunities, accuracy and profile sections, and the page at 420 px wide) with Debian's
Chromium driven headless by Playwright, from disk (no network).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("GRAVITY_SHARED_DATA", ROOT.parent / "shared" / "data"))
CHROMIUM = Path("/usr/bin/chromium")
IMAGES = HERE / "img"

EU_CONFIG = """
output: out
data:
  trade:
    path: {trade}
    columns: {{exporter: Origin, importer: Destination, product: Product, year: Year,
               value: Euros}}
  zeros: fill
  metadata: {{currency: EUR, unit: EUR}}
relatedness: {{}}
potential: {{ease_terms: [], pair_effects: true, horizon: 3, window: 4}}
report: {{exporter: PT, formats: [html], product_names: names.csv,
          country_groups: WDICountry.csv,
          title: "Export opportunities of Portugal (EU15 data)"}}
"""
# the data ship the 20 product groups as codes 1..20 only; the names table says just that
NAMES = "product,name\n" + "".join(f"{k},Product group {k:02d}\n" for k in range(1, 21))
# the World Bank's income classification in the layout of WDICountry.csv: every EU15 member and
# the UK are high-income economies
INCOME = "Country Code,Income Group\n" + "".join(
    f"{c},High income\n"
    for c in "AUT BEL DEU DNK ESP FIN FRA GBR GRC IRL ITA LUX NLD PRT SWE".split()
)


def _run(config: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "gravity.cli.main", "run", str(config), "--quiet"], check=True
    )


def build_eu(folder: Path) -> Path:
    """The Portugal report on ``../shared/data/fixest_trade``; returns its page."""
    trade = SHARED / "fixest_trade" / "trade.csv"
    if not trade.is_file():
        sys.exit(f"{trade} not found (set GRAVITY_SHARED_DATA)")
    config = folder / "eu.yaml"
    config.write_text(EU_CONFIG.format(trade=trade), encoding="utf-8")
    (folder / "names.csv").write_text(NAMES, encoding="utf-8")
    (folder / "WDICountry.csv").write_text(INCOME, encoding="utf-8")
    _run(config)
    return folder / "out" / "report" / "index.html"


def build_demo(folder: Path) -> Path:
    """The demo report (configs/demo.yaml with its output and data moved to ``folder``)."""
    config = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    config["output"] = str(folder / "demo")
    config["data"]["synthetic"]["folder"] = str(folder / "demo_data")
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    _run(path)
    return folder / "demo" / "report" / "index.html"


def shoot(browser: object, page: Path, name: str) -> list[Path]:
    """Viewport screenshots of three sections at 1400 px, and the top of the page at 420 px."""
    written = []
    for width, height, sections in (
        (1400, 1000, ("opportunities", "accuracy", "profile")),
        (420, 900, ("mobile",)),
    ):
        context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        tab = context.new_page()
        tab.goto(page.resolve().as_uri())
        tab.wait_for_function("window.__gravityTiming !== undefined", timeout=120_000)
        for section in sections:
            if section != "mobile":
                # instant, not the page's smooth scrolling, so the shot shows the section
                tab.evaluate(
                    f"window.scrollTo({{top: document.getElementById('{section}').offsetTop - 60,"
                    " behavior: 'instant'})"
                )
            out = IMAGES / f"report_{name}_{section}.png"
            tab.screenshot(path=str(out))
            written.append(out)
        context.close()
    return written


def main() -> None:
    """Build the reports (or take them), then write the PNGs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eu", type=Path, help="an existing EU15 report page")
    parser.add_argument("--demo", type=Path, help="an existing demo report page")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = {"eu": args.eu or build_eu(folder), "demo": args.demo or build_demo(folder)}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            for name, page in pages.items():
                for path in shoot(browser, page, name):
                    print(path.relative_to(ROOT))
            browser.close()


if __name__ == "__main__":
    main()
