"""`model: {bias_correction: analytic}` through `gravity fit`: the ppml_fe_bias example end to end.

Expected numbers: the package's published three-way example (see
tests/estimation/test_bias_correction.py for provenance and tolerances).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.main import main
from tests.conftest import shared_file

# printed with 7 decimals by the package
PUBLISHED_ATOL = 2e-7
CONFIG = """\
output: {out}
data:
  trade:
    path: {path}
    columns: {{exporter: isoexp, importer: isoimp, product: category, year: year, value: trade}}
sample:
  products: [MANUF]
model:
  name: PPML
  formula: "value ~ fta | exporter^year + importer^year + exporter^importer"
  vcov: {{type: cluster, by: ["exporter^importer"]}}
  bias_correction: analytic
  solver: {{tol: 1.0e-10}}
"""


def test_fit_with_bias_correction_writes_both(tmp_path: Path) -> None:
    source = shared_file("ppml_fe_bias/PPMLFEBIAS_EXAMPLE_DATA.dta")
    config = tmp_path / "bias.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "out", path=source))
    assert main(["fit", str(config), "--quiet"]) == 0
    fit_dir = tmp_path / "out" / "fit"
    coef = pd.read_csv(fit_dir / "coefficients.csv").set_index("term").loc["fta"]
    assert coef["estimate"] == pytest.approx(0.1703722, abs=PUBLISHED_ATOL)
    assert coef["std_error"] == pytest.approx(0.0419559, abs=PUBLISHED_ATOL)
    assert coef["bias"] == pytest.approx(0.0076568, abs=PUBLISHED_ATOL)
    assert coef["uncorrected_estimate"] == pytest.approx(0.1780290, abs=PUBLISHED_ATOL)
    summary = json.loads((fit_dir / "fit.json").read_text())
    assert summary["bias_correction"]["kind"] == "three-way"
    table = (fit_dir / "table.md").read_text()
    assert "PPML, bias-corrected" in table and "0.1780" in table and "0.1704" in table
