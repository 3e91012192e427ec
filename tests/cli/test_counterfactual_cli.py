"""`gravity counterfactual` on the shipped NAFTA config, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.cli.main import main
from tests.conftest import REPO_ROOT, shared_file

CONFIG = "yotov2016_ch2_nafta.yaml"
PUBLISHED = REPO_ROOT / "tests" / "counterfactual" / "reference" / "yotov2016_ch2_published.csv"
# The shipped config solves the exact equilibrium; the book stops its iteration when price
# steps change by less than 0.01, so real GDP agrees to within that (in percentage points).
BOOK_STOP_PP = 1.0


def _config(tmp_path: Path, source: Path, **replace: str) -> Path:
    text = (REPO_ROOT / "configs" / CONFIG).read_text()
    text = text.replace(f"output: ../out/{Path(CONFIG).stem}", f"output: {tmp_path / 'out'}")
    text = text.replace("../../shared/data/", f"{source.parents[1]}/")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / CONFIG
    path.write_text(text)
    return path


def test_shipped_nafta_config(tmp_path: Path) -> None:
    source = shared_file("yotov2016_agtpa/agtpa_applications.parquet")
    assert main(["counterfactual", str(_config(tmp_path, source)), "--quiet"]) == 0
    out = tmp_path / "out"
    countries = pd.read_csv(out / "counterfactual" / "countries.csv")
    pairs = pd.read_parquet(out / "counterfactual" / "pairs.parquet")
    for column in (
        "exports_conditional_change_pct",
        "exports_full_change_pct",
        "output_change_pct",
        "price_change_pct",
        "imr_full_change_pct",
        "omr_full_change_pct",
        "real_gdp_change_pct",
        "real_gdp_baseline",
        "real_gdp_full",
    ):
        assert column in countries.columns
    assert set(countries["scenario"]) == {"no_nafta"} and len(countries) == 69
    assert len(pairs) == 69 * 69
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert "counterfactual/countries.csv" in manifest["outputs"]
    assert any(s["name"] == "counterfactual: no_nafta" for s in manifest["steps"])
    # against the book (which reports baseline relative to the scenario)
    book = pd.read_csv(PUBLISHED).query("application == 'no_nafta'").set_index("country")
    ours = countries.set_index("country").loc[book.index, "real_gdp_change_pct"]
    expected = 100 * (1 / (1 + book["change_rGDP_FULL"] / 100) - 1)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=BOOK_STOP_PP)
    assert ours["MEX"] < ours["CAN"] < ours["USA"] < 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("sigma: 7", "sigma: 1", "counterfactual.sigma"),
        ("[[CAN, MEX, USA]]", "[[CAN, MEX, XXX]]", "countries ['XXX'] are not in"),
        ("set: {rta: 0}", "set: {fta: 0}", "'fta' is not a cost regressor"),
        ("baseline_year: 1994", "baseline_year: 2007", "baseline_year 2007 is not in the data"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    source = shared_file("yotov2016_agtpa/agtpa_applications.parquet")
    config = _config(tmp_path, source, **{old: new})
    assert main(["counterfactual", str(config), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("gravity counterfactual: error:") and message in err[0]
