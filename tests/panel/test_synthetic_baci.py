"""The synthetic BACI world (:mod:`gravity.panel.synthetic_baci`).

Checked against: the files themselves (byte identity for determinism), an independent count of
their rows against the target density, the real BACI reader and ``gravity panel`` (layout), and
PPML on the world's own data-generating process (the true ease coefficients in ``truth.json``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

import gravity as gv
from gravity.cli.main import main
from gravity.panel.build import build_panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.products import HS_SECTIONS
from gravity.panel.readers import BaciSource
from gravity.panel.synthetic_baci import BaciWorldOptions, write_baci_world

#: Relative tolerance on the share of positive cells. The scale of each product is solved so
#: that its expected share is the target; the realised share of a year is a sum of ~150,000
#: independent draws (sd ~1% of the target), so 6% is about six standard deviations.
DENSITY_RTOL = 0.06

#: Ease coefficients from one world (seed 0, 40 countries x 30 products x 2 years, 30% of
#: cells positive): allowed distance from the truth (-1, 0.5, 0.3, 0.4). Over 20 seeds of this
#: world (seeds 0..19, the same build and formula as the test) the PPML estimates averaged
#: -0.992, 0.519, 0.297, 0.415 (each within about one standard error of the truth: no bias)
#: with standard deviations 0.071 (log distance), 0.243 (contiguity: few contiguous pairs),
#: 0.142 (common language) and 0.225 (RTA): heavy-tailed flows make small worlds noisy. The
#: tolerances are about three of those standard deviations.
EASE_ATOL = {"log(dist)": 0.2, "contig": 0.75, "comlang": 0.45, "rta": 0.7}

SMALL = {"countries": 15, "products": 40, "years": 2}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_whatever_the_block(tmp_path: Path) -> None:
    first = write_baci_world(tmp_path / "a", BaciWorldOptions(**SMALL, block=7))
    write_baci_world(tmp_path / "b", BaciWorldOptions(**SMALL, block=64))
    write_baci_world(tmp_path / "c", BaciWorldOptions(**SMALL, seed=1))
    a, b, c = (files_of(tmp_path / n) for n in "abc")
    assert len(a) == 2 + 5 and a == b  # 2 BACI years, codes, products, pairs, truth, config
    assert a[first.trade_files[0].name] != c[first.trade_files[0].name]


def test_layout_as_cepii_writes_it(tmp_path: Path) -> None:
    world = write_baci_world(tmp_path, BaciWorldOptions(**SMALL))
    lines = world.trade_files[0].read_text().splitlines()
    assert lines[0] == "t,i,j,k,v,q"
    table = pacsv.read_csv(world.trade_files[0]).to_pandas()
    assert (table["t"] == 2017).all() and len(table) == world.truth["rows_per_year"]["2017"]
    assert (table["i"] != table["j"]).all()  # no domestic flows
    assert not table.duplicated(["i", "j", "k"]).any()
    assert (table["v"] >= 0.001).all() and table["q"].isna().any()
    assert any(len(line.split(",")[3]) == 5 for line in lines[1:])  # k without leading zero
    codes = pd.read_csv(world.country_codes, dtype=str, encoding="latin-1")  # as CEPII's
    assert set(table["i"].astype(str)) <= set(codes["country_code"])
    products = pd.read_csv(world.product_codes, dtype=str)
    assert len(products) == SMALL["products"] and (products["code"].str.len() == 6).all()
    assert set(table["k"]) <= {int(c) for c in products["code"]}
    chapters = products["code"].str[:2].astype(int)
    for code, chapter, text in zip(products["code"], chapters, products["description"],
                                   strict=True):
        label = next(s[0] for s in HS_SECTIONS if s[1] <= chapter <= s[2])
        assert f"heading {code[:4]}, chapter {code[:2]}, section {label}:" in text
    pairs = pd.read_csv(world.covariates, sep=";")
    assert len(pairs) == 15 * 14 and set(pairs.columns) >= {"dist", "contig", "comlang_off", "rta"}
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["parameters"] == {"log(dist)": -1.0, "contig": 0.5, "comlang": 0.3, "rta": 0.4}


@pytest.mark.parametrize("density", [0.05, 0.2])
def test_share_of_positive_cells_near_the_target(tmp_path: Path, density: float) -> None:
    options = BaciWorldOptions(countries=40, products=100, years=2, density=density)
    world = write_baci_world(tmp_path, options)
    cells = 40 * 39 * 100
    for path in world.trade_files:
        rows = pacsv.read_csv(path).num_rows  # counted from the file, not from the truth
        assert rows / cells == pytest.approx(density, rel=DENSITY_RTOL)


def test_gravity_panel_reads_the_world(tmp_path: Path) -> None:
    world = write_baci_world(tmp_path, BaciWorldOptions(**SMALL))
    text = world.config.read_text().replace("zeros: auto", "zeros: {mode: auto, max_rows: 100}")
    world.config.write_text(text)
    assert main(["panel", str(world.config), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["panel: read baci"]["rows_out"] == world.rows
    panel = json.loads((tmp_path / "out" / "panel" / "panel.json").read_text())
    assert panel["value_total"] == pytest.approx(
        1000 * sum(world.truth["value_thousand_usd"].values()), rel=1e-12
    )
    assert panel["zeros"]["mode"] == "implicit"
    assert panel["zeros"]["cells"] == 15 * 14 * SMALL["products"] * SMALL["years"]
    assert {"dist", "contig", "comlang", "rta"} <= set(panel["columns"])


def test_ppml_recovers_the_true_ease(tmp_path: Path) -> None:
    options = BaciWorldOptions(countries=40, products=30, years=2, density=0.3, seed=0)
    world = write_baci_world(tmp_path, options)
    covariate = {"kind": "geodist", "path": "dist_cepii.csv",
                 "variables": {"dist": "dist", "contig": "contig", "comlang": "comlang_off",
                               "rta": "rta"}}
    panel_options = PanelOptions(covariates=[covariate])
    source = BaciSource(paths=["BACI_HS17_Y*_V202401b.csv"],
                        country_codes="country_codes_V202401b.csv")
    frame = build_panel(source, None, SampleOptions(), tmp_path, panel_options).dense()
    assert len(frame) == 40 * 39 * 30 * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation notes: products some countries never sell
        fit = gv.ppml("value ~ log(dist) + contig + comlang + rta"
                      " | exporter^product^year + importer^product^year", frame)
    estimates = fit.to_frame().set_index("term")["estimate"]
    for term, truth in world.truth["parameters"].items():
        assert abs(estimates[term] - truth) <= EASE_ATOL[term], (term, estimates[term])
    assert np.sign(estimates["log(dist)"]) == -1


def test_bad_options_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "synthetic", "baci", "--dest", str(tmp_path), "--countries", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert err.startswith("gravity data: error: BaciWorldOptions.countries: Input should be")
    assert main(["data", "synthetic", "baci", "--dest", str(tmp_path), "--density", "0.9"]) == 1
    assert "density" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_writes_the_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["data", "synthetic", "baci", "--dest", str(tmp_path), "--countries", "10",
            "--products", "12", "--years", "2", "--seed", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "positive flows" in out and "2 BACI files" in out
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["options"]["seed"] == 3 and truth["products"] == 12


def test_baci_codes_of_france_and_the_usa(tmp_path: Path) -> None:
    world = write_baci_world(tmp_path, BaciWorldOptions(countries=240, products=3, years=1))
    codes = pd.read_csv(world.country_codes, dtype=str, encoding="latin-1")
    by_iso = dict(zip(codes["country_iso3"], codes["country_code"], strict=True))
    assert by_iso["FRA"] == "251" and by_iso["USA"] == "842"  # BACI's codes, not ISO's 250, 840
    source = BaciSource(paths=[world.trade_files[0].name],
                        country_codes=world.country_codes.name)
    panel = build_panel(source, None, SampleOptions(), tmp_path,
                        PanelOptions(zeros="none"))  # type: ignore[arg-type]
    assert {"FRA", "USA"} <= set(panel.frame["exporter"]) | set(panel.frame["importer"])
    assert len(panel.frame) == world.rows
