"""The real-data configs (configs/yotov2016_panel.yaml, eu_trade_panel.yaml) and the real BACI
sample, end to end.

They read ../shared/data and skip when it is absent. The panel's totals must equal the source
files' totals, and the manifest's steps must account for every row.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.cli.main import main
from gravity.exceptions import DataWarning
from gravity.panel.build import build_panel
from gravity.panel.options import SampleOptions
from gravity.panel.readers import BaciSource
from tests.conftest import REPO_ROOT, shared_file


def run_config(name: str, tmp_path: Path, source: Path) -> dict[str, object]:
    """Run ``gravity panel`` on a config of configs/, with outputs in ``tmp_path``."""
    text = (REPO_ROOT / "configs" / name).read_text()
    # outputs in a folder of their own: the config file beside them is not gravity's
    text = text.replace(f"output: ../out/{Path(name).stem}", f"output: {tmp_path / 'out'}")
    text = text.replace("../../shared/data/", f"{source.parents[1]}/")
    config = tmp_path / name
    config.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # WDI's 'CHI' (Channel Islands): counted
        assert main(["panel", str(config), "--quiet"]) == 0
    manifest: dict[str, object] = json.loads((tmp_path / "out" / "manifest.json").read_text())
    steps = [s for s in manifest["steps"] if s["name"].startswith("panel: ")]  # type: ignore[attr-defined]
    for before, step in itertools.pairwise(steps):
        assert step["rows_in"] == before["rows_out"]
    for step in steps:
        assert step["rows_out"] == step["rows_in"] - sum(step["removed"].values()) + sum(
            step["added"].values()
        )
    return manifest


def test_yotov_config_totals_and_row_accounting(tmp_path: Path) -> None:
    source = shared_file("yotov2016_agtpa/Chapter1Application1.dta")
    shared_file("cepii_geodist/dist_cepii.csv")
    shared_file("wdi/gdp_current_usd_1960_2023.csv")
    manifest = run_config("yotov2016_panel.yaml", tmp_path, source)
    raw = pd.read_stata(source)
    panel = pd.read_parquet(tmp_path / "out" / "panel" / "panel.parquet")
    assert len(panel) == len(raw) == 99_981
    assert panel["value"].sum() == pytest.approx(raw["trade"].sum(), rel=1e-13)
    by_year = panel.groupby("year")["value"].sum()
    np.testing.assert_allclose(by_year.to_numpy(), raw.groupby("year")["trade"].sum(), rtol=1e-13)
    steps = [s for s in manifest["steps"] if s["name"].startswith("panel: ")]  # type: ignore[attr-defined]
    assert steps[0]["rows_in"] == len(raw) and steps[-1]["rows_out"] == len(panel)
    roles = {v["role"] for v in manifest["inputs"].values()}  # type: ignore[attr-defined]
    assert {"trade", "covariate", "config"} <= roles
    usa = panel.set_index(["exporter", "importer", "year"]).loc[("USA", "CAN", 2006)]
    # the book's DIST is CEPII's population-weighted distw (1e-6: the CSV keeps 7 digits)
    assert usa["distw"] == pytest.approx(usa["DIST"], rel=1e-6)
    assert usa["log_dist"] == pytest.approx(np.log(usa["dist"]), rel=1e-15)
    assert usa["gdp_o"] > 1e13 and usa["gdppc_o"] == pytest.approx(usa["gdp_o"] / usa["pop_o"])
    assert "ROU" in set(panel["exporter"]) and "ROM" not in set(panel["exporter"])
    sidecar = json.loads((tmp_path / "out" / "panel" / "panel.json").read_text())
    assert sidecar["value"]["unit"] == "million USD"
    assert sidecar["columns"]["gdp_o"]["unit"] == "current USD"


def test_eu_trade_config_fills_zeros_and_keeps_totals(tmp_path: Path) -> None:
    source = shared_file("fixest_trade/trade.csv")
    shared_file("cepii_geodist/dist_cepii.csv")
    shared_file("wdi/gdp_current_usd_1960_2023.csv")
    manifest = run_config("eu_trade_panel.yaml", tmp_path, source)
    raw = pd.read_csv(source)
    panel = pd.read_parquet(tmp_path / "out" / "panel" / "panel.parquet")
    assert len(panel) == 15 * 14 * 20 * 10
    assert panel["value"].sum() == raw["Euros"].sum()  # whole euros: exact
    steps = {s["name"]: s for s in manifest["steps"]}  # type: ignore[attr-defined]
    assert steps["panel: zeros"]["added"] == {"zero_flows": len(panel) - len(raw)}
    assert steps["panel: read generic"]["rows_in"] == len(raw)
    assert {"GBR", "GRC"} <= set(panel["exporter"])  # Eurostat's GB and GR (EL) as ISO3
    assert panel["gdp_o"].notna().all() and panel["log_distw"].notna().all()
    assert panel.loc[panel["value"] == 0, "dist_km"].isna().all()  # carried column: not filled


def test_real_baci_sample_with_zeros() -> None:
    path = shared_file("baci_sample/BACI_HS92_Y2021_sample_AFG_ZAF.csv")
    codes = shared_file("baci_sample/country_codes_V202201.csv")
    source = BaciSource(paths=[str(path)], country_codes=str(codes), product_level="hs2")
    with pytest.warns(DataWarning, match="'490'"):
        panel = build_panel(source, None, SampleOptions(), path.parent)
    raw = pd.read_csv(path, usecols=["i", "j", "k", "v"])
    read = panel.steps[0]
    assert read.rows_in == len(raw) == 71_192
    unmatched = raw.loc[raw["j"] == 490, "v"].sum() * 1000  # "Other Asia, nes": no ISO3
    assert panel.frame["value"].sum() == pytest.approx(raw["v"].sum() * 1000 - unmatched,
                                                       rel=1e-12)
    # codes are harmonized after the HS2 sums: one unmatched row per (exporter, chapter) to 490
    other_asia = raw.loc[raw["j"] == 490].assign(chapter=lambda f: f["k"] // 10_000)
    assert read.removed["dropped_unmatched_codes"] == len(
        other_asia[["i", "chapter"]].drop_duplicates()
    )
    zeros = next(s for s in panel.steps if s.name == "zeros")
    # 2 exporters x importers x 97 HS2 chapters, minus the observed flows: all zeros are new rows
    assert zeros.added["zero_flows"] == len(panel.frame) - read.rows_out
    assert set(panel.frame["exporter"]) == {"AFG", "ZAF"}
