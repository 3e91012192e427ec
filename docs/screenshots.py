"""Screenshots of the report for the docs: the Portugal (EU15, euros) report and the demo's.

    python docs/screenshots.py                         # builds both runs in a temporary folder
    python docs/screenshots.py --demo out/demo/report/index.html   # reuse a demo report

Writes ``docs/img/report_eu_*.png`` and ``docs/img/report_demo_*.png`` (viewport-sized PNGs of
the opportunities, accuracy and profile sections, and the page at 420 px wide) with Debian's
Chromium driven headless by Playwright, from disk (no network).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMAGES = HERE / "img"
# the EU page is built the way the page-load benchmark builds it
sys.path.insert(0, str(ROOT / "benchmarks"))

from eu_report import build_eu, run_config  # noqa: E402

from gravity.report.browser import launch  # noqa: E402


def build_demo(folder: Path) -> Path:
    """The demo report (configs/demo.yaml with its output and data moved to ``folder``)."""
    config = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    config["output"] = str(folder / "demo")
    config["data"]["synthetic"]["folder"] = str(folder / "demo_data")
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run_config(path)
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
            browser = launch(playwright)
            for name, page in pages.items():
                for path in shoot(browser, page, name):
                    print(path.relative_to(ROOT))
            browser.close()


if __name__ == "__main__":
    main()
