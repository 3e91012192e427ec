"""The Portugal report on the Eurostat EU15 panel, built by ``gravity run`` in a given folder.

Shared by ``benchmarks/report_load.py`` (page-load timing) and ``docs/screenshots.py`` (the
docs' PNGs), so both measure and show the same page. The data are R fixest's ``trade`` panel in
``../shared/data/fixest_trade`` (euros, 20 product groups known only by code).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GRAVITY_SHARED_DATA", ROOT.parent / "shared" / "data"))

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


def run_config(config: Path) -> None:
    """``gravity run CONFIG --quiet`` in a fresh interpreter (the way a user runs it)."""
    subprocess.run(
        [sys.executable, "-m", "gravity.cli.main", "run", str(config), "--quiet"], check=True
    )


def build_eu(folder: Path) -> Path:
    """Run the pipeline on the EU15 panel inside ``folder``; return the report page."""
    trade = SHARED / "fixest_trade" / "trade.csv"
    if not trade.is_file():
        sys.exit(f"{trade} not found (set GRAVITY_SHARED_DATA)")
    config = folder / "eu.yaml"
    config.write_text(EU_CONFIG.format(trade=trade), encoding="utf-8")
    (folder / "names.csv").write_text(NAMES, encoding="utf-8")
    (folder / "WDICountry.csv").write_text(INCOME, encoding="utf-8")
    run_config(config)
    return folder / "out" / "report" / "index.html"
