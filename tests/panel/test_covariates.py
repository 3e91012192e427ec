"""Covariates merged on pairs and countries (``_o``/``_d``), unmatched rows, derived variables.

Fixtures copy the real layouts: GeoDist ``dist_cepii.csv`` is ``;``-separated, latin-1, ``.`` for
missing and uses ``ROM``; the WDI file is the World Bank's wide bulk download with metadata
lines on top.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import ConfigError, DataError
from gravity.panel.build import build_panel
from gravity.panel.options import DerivedVariable, PanelOptions, SampleOptions
from gravity.panel.readers import GenericSource

DIST = (
    "iso_o;iso_d;contig;comlang_off;colony;dist;distw\n"
    "AGO;ZAF;0;1;0;2500.5;2600\n"
    "ZAF;AGO;0;1;0;2500.5;2600\n"
    "ROM;ZAF;0;0;0;8000;.\n"
    "ZAF;ROM;0;0;0;8000;.\n"
    "AGO;ROM;0;0;0;6000;6100\n"
)
WDI = (
    '\ufeff"Data Source","World Development Indicators",\n'
    "\n"
    '"Last Updated Date","2024-06-28",\n'
    "\n"
    '"Country Name","Country Code","Indicator Name","Indicator Code","2019","2020",\n'
    '"Angola","AGO","GDP (current US$)","NY.GDP.MKTP.CD","80","60",\n'
    '"South Africa","ZAF","GDP (current US$)","NY.GDP.MKTP.CD","400","350",\n'
    '"Romania","ROU","GDP (current US$)","NY.GDP.MKTP.CD","250","..",\n'
    '"World","WLD","GDP (current US$)","NY.GDP.MKTP.CD","87000","85000",\n'
)
POP = "country,year,pop\nAGO,2019,30\nAGO,2020,32\nZAF,2019,58\nZAF,2020,0\nROU,2019,19\n"
TRADE = [
    ("AGO", "ZAF", 2019, 10.0),
    ("ZAF", "AGO", 2019, 20.0),
    ("ROU", "ZAF", 2019, 30.0),
    ("ZAF", "ROU", 2020, 40.0),
    ("ZAF", "AGO", 2020, 50.0),
]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "dist_cepii.csv").write_text(DIST, encoding="latin-1")
    (tmp_path / "API_NY.GDP.MKTP.CD.csv").write_text(WDI, encoding="utf-8")
    (tmp_path / "pop.csv").write_text(POP)
    pd.DataFrame(TRADE, columns=["o", "d", "yr", "v"]).to_csv(tmp_path / "t.csv", index=False)
    return tmp_path


def trade() -> GenericSource:
    return GenericSource(path="t.csv", columns={"exporter": "o", "importer": "d", "year": "yr",
                                                "value": "v"}, codes="iso3")


GEODIST = {"kind": "geodist", "path": "dist_cepii.csv",
           "variables": {"dist": "dist", "distw": "distw", "comlang": "comlang_off"},
           "units": {"dist": "km"}}
GDP = {"kind": "wdi", "paths": ["API_NY.GDP.MKTP.CD.csv"],
       "variables": {"gdp": "NY.GDP.MKTP.CD"}, "units": {"gdp": "current USD"}}
POPULATION = {"path": "pop.csv", "variables": {"pop": "pop"}}


def build(base: Path, *covariates: dict[str, object], **options: object):  # type: ignore[no-untyped-def]
    panel_options = PanelOptions(covariates=list(covariates), **options)  # type: ignore[arg-type]
    return build_panel(trade(), None, SampleOptions(), base, panel_options)


def test_pair_and_country_covariates(world: Path) -> None:
    panel = build(world, GEODIST, GDP)
    frame = panel.frame.set_index(["exporter", "importer", "year"])
    assert list(panel.frame.columns)[:5] == ["exporter", "importer", "year", "value", "dist"]
    # ROM in GeoDist and ROU in the trade file are the same country
    assert frame.loc[("ROU", "ZAF", 2019), "dist"] == 8000.0
    assert np.isnan(frame.loc[("ROU", "ZAF", 2019), "distw"])
    assert frame.loc[("ZAF", "AGO", 2020), "gdp_o"] == 350.0
    assert frame.loc[("ZAF", "AGO", 2020), "gdp_d"] == 60.0
    assert np.isnan(frame.loc[("ZAF", "ROU", 2020), "gdp_d"])  # WDI wrote '..'
    dist_step = next(s for s in panel.steps if s.name == "covariate dist_cepii")
    assert any("{'distw': 2}" in n for n in dist_step.notes)  # matched, but '.' in the file
    gdp_step = next(s for s in panel.steps if s.name == "covariate API_NY.GDP.MKTP.CD")
    assert "1 of 5 rows have no match (kept with NaN; importer: 1); keys not found: " \
        "ROU 2020" in " ".join(gdp_step.notes)
    assert any("dropped_aggregates=2" in n for n in gdp_step.notes)  # WLD, two years
    assert panel.metadata["columns"]["gdp_o"] == {
        "dtype": "float64", "origin": "covariate API_NY.GDP.MKTP.CD", "unit": "current USD"}
    assert panel.metadata["columns"]["dist"]["unit"] == "km"
    assert {p.name for p, role in panel.inputs if role == "covariate"} == {
        "dist_cepii.csv", "API_NY.GDP.MKTP.CD.csv"}


def test_unmatched_rows_dropped_or_error(world: Path) -> None:
    dropped = build(world, {**GDP, "on_missing": "drop"})
    step = dropped.steps[-1]
    assert step.removed == {"no_match": 1} and step.removed_value == {"no_match": 40.0}
    assert len(dropped.frame) == 4 and dropped.frame["value"].sum() == 110.0
    with pytest.raises(DataError, match=r"covariate 'API_NY.GDP.MKTP.CD': 1 panel rows have no "
                                        r"match \(keys not found: ROU 2020\)"):
        build(world, {**GDP, "on_missing": "error"})


def test_derived_variables(world: Path) -> None:
    derived = [
        DerivedVariable(name="log_dist", op="log", of=["dist"]),
        DerivedVariable(name="gdppc", op="ratio", of=["gdp", "pop"]),
        DerivedVariable(name="log_gdppc", op="log", of=["gdppc"]),
    ]
    panel = build(world, GEODIST, GDP, POPULATION, derived=derived)
    frame = panel.frame.set_index(["exporter", "importer", "year"])
    row = frame.loc[("AGO", "ZAF", 2019)]
    assert row["log_dist"] == pytest.approx(np.log(2500.5), rel=1e-15)
    assert row["gdppc_o"] == pytest.approx(80 / 30) and row["gdppc_d"] == pytest.approx(400 / 58)
    assert row["log_gdppc_d"] == pytest.approx(np.log(400 / 58))
    assert np.isnan(frame.loc[("ZAF", "AGO", 2020), "gdppc_o"])  # ZAF's population 0 in 2020
    notes = " ".join(panel.steps[-1].notes)
    assert "gdppc_o: NaN on 0 rows with a missing input and 2 rows where it is undefined" in notes
    assert panel.metadata["columns"]["gdppc_o"]["origin"] == "derived: ratio(gdp, pop)"


def test_covariate_configuration_errors(world: Path) -> None:
    with pytest.raises(ConfigError, match=r"variables.dist names 'distance'.*did you mean 'dist'"):
        build(world, {**GEODIST, "variables": {"dist": "distance"}})
    with pytest.raises(ConfigError, match=r"column 'gdp_o' already exists in the panel"):
        build(world, GDP, {**GDP, "name": "again"})
    with pytest.raises(ConfigError, match=r"keys: country_year but the table is keyed by pair"):
        build(world, {**GEODIST, "keys": "country_year"})
    with pytest.raises(ConfigError, match=r"derived variable 'x': column 'gdpp' is not in the "
                                          r"panel.*did you mean 'gdp_o'"):
        build(world, GDP, derived=[DerivedVariable(name="x", op="log", of=["gdpp"])])
    with pytest.raises(ConfigError, match=r"covariates cannot use duplicates: sum"):
        build(world, {**POPULATION, "duplicates": "sum"})


def test_yearly_table_on_a_cross_section(world: Path) -> None:
    frame = pd.DataFrame(TRADE, columns=["o", "d", "yr", "v"]).query("yr == 2019")
    frame.drop(columns="yr").to_csv(world / "cross.csv", index=False)
    source = GenericSource(path="cross.csv", columns={"exporter": "o", "importer": "d",
                                                      "value": "v"})
    with pytest.raises(ConfigError, match=r"one row per year but the panel is merged without "
                                          r"years; set year: N"):
        build_panel(source, None, SampleOptions(), world, PanelOptions(covariates=[GDP]))  # type: ignore[list-item]
    options = PanelOptions(covariates=[{**GDP, "year": 2019}])  # type: ignore[list-item]
    panel = build_panel(source, None, SampleOptions(), world, options)
    assert panel.frame["gdp_o"].tolist() == [80.0, 400.0, 250.0]


def test_implicit_zeros_get_covariates_when_filled(world: Path, tmp_path: Path) -> None:
    rows = [("AGO", "ZAF", 2019, "01", 1.0), ("ZAF", "AGO", 2019, "02", 2.0),
            ("ROU", "ZAF", 2019, "01", 3.0)]
    pd.DataFrame(rows, columns=["o", "d", "yr", "k", "v"]).to_csv(world / "p.csv", index=False)
    source = GenericSource(path="p.csv", codes="iso3", columns={
        "exporter": "o", "importer": "d", "year": "yr", "product": "k", "value": "v"})
    derived = [DerivedVariable(name="log_gdp", op="log", of=["gdp"])]
    options = PanelOptions(covariates=[GEODIST, GDP], derived=derived,  # type: ignore[list-item]
                           zeros={"mode": "fill", "max_rows": 5})  # type: ignore[arg-type]
    panel = build_panel(source, None, SampleOptions(), world, options)
    assert panel.zeros is not None and panel.zeros.mode == "implicit"
    # exporters AGO, ROU, ZAF x importers AGO, ZAF minus 2 domestic = 4 pairs x 2 products
    assert panel.zeros.zero_rows == 8 - 3
    dense = panel.dense(["02"])
    assert len(dense) == 4 and dense["value"].sum() == 2.0
    row = dense.set_index(["exporter", "importer"]).loc[("ROU", "AGO")]  # a zero row
    assert row["value"] == 0.0 and row["gdp_o"] == 250.0 and row["gdp_d"] == 80.0
    assert row["log_gdp_d"] == pytest.approx(np.log(80.0)) and np.isnan(row["dist"])
    assert list(dense.columns) == list(panel.frame.columns)
    files = panel.to_parquet(tmp_path / "out" / "panel.parquet")
    assert {f.name for f in files} >= {"panel.parquet", "panel.json", "dist_cepii.parquet"}
    from gravity.panel.io import load_panel

    pd.testing.assert_frame_equal(load_panel(files[0]).dense(["02"]), dense)
