"""The panel builder: zeros, duplicates, domestic flows, filters, output and the step accounting.

Small format-faithful fixtures written to ``tmp_path`` (BACI layout as CEPII writes it: ``k``
without its leading zero, ``q`` quoted); every count asserted here is worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gravity.cli.main import main
from gravity.config.loader import validate_config
from gravity.exceptions import ConfigError, DataError
from gravity.panel.build import Panel, build_panel
from gravity.panel.io import METADATA_KEY, load_panel, read_panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import BaciSource, GenericSource

BACI = (
    '"t","i","j","k","v","q"\n'
    '2021,4,24,382390,52.051,"       13.235"\n'
    '2021,4,710,10121,0.5,"           NA"\n'
    '2021,710,4,90111,1.25,"        0.022"\n'
    '2021,710,251,847130,2,""\n'
    '2021,24,710,847130,3,""\n'
)


def baci_dir(tmp_path: Path) -> Path:
    (tmp_path / "BACI_HS92_Y2021_V202201.csv").write_text(BACI)
    return tmp_path


def baci_source(**kw: object) -> BaciSource:
    return BaciSource(paths=["BACI_HS92_Y2021_V202201.csv"], **kw)  # type: ignore[arg-type]


def trade_csv(tmp_path: Path, rows: list[tuple[object, ...]], name: str = "t.csv") -> Path:
    frame = pd.DataFrame(rows, columns=["o", "d", "yr", "v"])
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def generic(name: str = "t.csv", **kw: object) -> GenericSource:
    columns = {"exporter": "o", "importer": "d", "year": "yr", "value": "v"}
    return GenericSource(path=name, columns=columns, **kw)  # type: ignore[arg-type]


def check_accounting(panel: Panel) -> None:
    """Rows and value of every step add up, and chain from one step to the next."""
    previous = None
    for step in panel.steps:
        assert step.rows_out == step.rows_in - sum(step.removed.values()) + sum(
            step.added.values()
        ), step
        if step.value_in is not None and step.value_out is not None:
            expected = (step.value_in - sum(step.removed_value.values())
                        + sum(step.added_value.values()))
            assert step.value_out == pytest.approx(expected, rel=1e-12, abs=1e-9), step
        if previous is not None:
            assert step.rows_in == previous.rows_out, (previous.name, step.name)
        previous = step
    assert panel.steps[-1].rows_out == len(panel.frame)


def test_baci_zeros_filled_by_default(tmp_path: Path) -> None:
    panel = build_panel(baci_source(), None, SampleOptions(), baci_dir(tmp_path))
    frame = panel.frame
    # exporters AFG, AGO, ZAF; importers AFG, AGO, FRA, ZAF: 12 - 3 domestic = 9 pairs x 4 HS6
    assert len(frame) == 36 and (frame["value"] > 0).sum() == 5
    assert not (frame["exporter"] == frame["importer"]).any()
    zeros = next(s for s in panel.steps if s.name == "zeros")
    assert zeros.added == {"zero_flows": 31}
    assert frame["value"].sum() == pytest.approx(1000 * (52.051 + 0.5 + 1.25 + 2 + 3), rel=1e-12)
    assert list(frame.columns) == ["exporter", "importer", "product", "year", "value"]
    assert all(isinstance(frame[c].dtype, pd.StringDtype) for c in ("exporter", "product"))
    assert frame["year"].dtype == np.int64 and frame["value"].dtype == np.float64
    assert frame.equals(frame.sort_values(["exporter", "importer", "product"]))
    assert panel.metadata["value"]["currency"] == "USD"
    assert panel.metadata["zeros"]["zero_rows"] == 31
    check_accounting(panel)


def test_zeros_none_keeps_baci_rows(tmp_path: Path) -> None:
    options = PanelOptions(zeros="none")  # type: ignore[arg-type]
    panel = build_panel(baci_source(), None, SampleOptions(), baci_dir(tmp_path), options)
    assert len(panel.frame) == 5 and panel.zeros is None
    assert [s.name for s in panel.steps] == ["read baci", "sample"]


def test_implicit_zeros_dense_and_round_trip(tmp_path: Path) -> None:
    base = baci_dir(tmp_path)
    filled = build_panel(baci_source(), None, SampleOptions(), base).frame
    options = PanelOptions(zeros={"max_rows": 20})  # type: ignore[arg-type]
    panel = build_panel(baci_source(), None, SampleOptions(), base, options)
    assert len(panel.frame) == 5 and panel.zeros is not None
    assert panel.zeros.mode == "implicit" and panel.zeros.zero_rows == 31
    step = next(s for s in panel.steps if s.name == "zeros")
    assert step.added == {} and "31 zero rows kept implicit" in step.notes[0]
    pd.testing.assert_frame_equal(panel.dense(), filled)
    one = panel.dense(["847130"])
    assert len(one) == 9 and one["value"].sum() == pytest.approx(5000.0)
    written = panel.to_parquet(tmp_path / "out" / "panel.parquet")
    loaded = load_panel(written[0])
    pd.testing.assert_frame_equal(loaded.dense(["847130"]), one)
    assert loaded.metadata["zeros"]["mode"] == "implicit"


def test_generic_tables_kept_as_given_unless_asked(tmp_path: Path) -> None:
    rows = [("A", "B", 2020, 1.0), ("B", "A", 2020, 2.0), ("A", "C", 2021, 3.0),
            ("A", "A", 2020, 9)]
    trade_csv(tmp_path, rows)
    kept = build_panel(generic(), None, SampleOptions(), tmp_path)
    assert len(kept.frame) == 4 and kept.zeros is None
    options = PanelOptions(zeros="fill")  # type: ignore[arg-type]
    filled = build_panel(generic(), None, SampleOptions(), tmp_path, options)
    # exporters A, B; importers A, B, C; years 2020, 2021: (6 - 2 domestic) x 2 = 8 cells
    assert filled.zeros is not None and filled.zeros.cells == 8
    assert filled.zeros.zero_rows == 8 - 3
    assert len(filled.frame) == 8 + 1  # the domestic flow is kept, never filled
    assert filled.frame["value"].sum() == 15.0
    by_year = build_panel(generic(), None, SampleOptions(), tmp_path,
                          PanelOptions(zeros={"mode": "fill", "universe": "year"}))  # type: ignore[arg-type]
    # 2020: exporters A, B x importers A, B -> 2 cells; 2021: A x C -> 1 cell
    assert by_year.zeros is not None and by_year.zeros.zero_rows == 0
    check_accounting(filled)


def test_zero_rows_leave_other_columns_empty_and_say_so(tmp_path: Path) -> None:
    frame = pd.DataFrame({"o": ["A", "B"], "d": ["B", "C"], "yr": [2020, 2020],
                          "v": [1.0, 2.0], "dist": [10.0, 20.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    options = PanelOptions(zeros="fill")  # type: ignore[arg-type]
    panel = build_panel(generic(), None, SampleOptions(), tmp_path, options)
    assert panel.frame["dist"].isna().sum() == 1  # the zero row A -> C (B -> B is domestic)
    note = next(s for s in panel.steps if s.name == "zeros").notes
    assert any("columns empty (NaN) on the zero rows: dist" in n for n in note)


def test_duplicates_error_by_default_and_summed_on_request(tmp_path: Path) -> None:
    rows = [("A", "B", 2020, 1.0), ("A", "B", 2020, 2.5), ("B", "A", 2020, 4.0)]
    trade_csv(tmp_path, rows)
    with pytest.raises(DataError, match=r"t\.csv: lines 2 and 3: duplicate key .*duplicates: sum"):
        build_panel(generic(), None, SampleOptions(), tmp_path)
    panel = build_panel(generic(duplicates="sum"), None, SampleOptions(), tmp_path)
    assert panel.frame["value"].tolist() == [3.5, 4.0]
    assert panel.steps[0].removed == {"merged_duplicate_rows": 1}
    check_accounting(panel)


def test_duplicates_sum_refuses_conflicting_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"o": ["A", "A"], "d": ["B", "B"], "yr": [2020, 2020],
                          "v": [1.0, 2.0], "unit": ["USD", "EUR"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"t\.csv: line 2: rows with the same key .* 'unit'"):
        build_panel(generic(duplicates="sum"), None, SampleOptions(), tmp_path)


def test_domestic_flows_appended_counted_and_filtered(tmp_path: Path) -> None:
    trade_csv(tmp_path, [("A", "B", 2020, 1.0), ("B", "A", 2020, 2.0)])
    pd.DataFrame({"c": ["A", "B"], "yr": [2020, 2020], "v": [10.0, 20.0]}).to_csv(
        tmp_path / "dom.csv", index=False)
    domestic = GenericSource(path="dom.csv", columns={"country": "c", "year": "yr", "value": "v"})
    options = PanelOptions(domestic=domestic, zeros="fill")  # type: ignore[arg-type]
    panel = build_panel(generic(), None, SampleOptions(), tmp_path, options)
    step = next(s for s in panel.steps if s.name == "domestic flows")
    assert step.added == {"domestic_flows": 2} and len(panel.frame) == 4
    assert panel.frame["value"].sum() == 33.0
    assert ("dom.csv" in {p.name for p, role in panel.inputs if role == "domestic"})
    no_dom = build_panel(generic(), None, SampleOptions(exclude_domestic=True), tmp_path, options)
    sample = next(s for s in no_dom.steps if s.name == "sample")
    assert sample.removed == {"domestic": 2} and sample.removed_value == {"domestic": 30.0}
    check_accounting(panel)


def test_domestic_errors(tmp_path: Path) -> None:
    trade_csv(tmp_path, [("A", "B", 2020, 1.0), ("A", "A", 2020, 5.0)])
    pd.DataFrame({"o": ["A", "B"], "d": ["A", "C"], "yr": [2020, 2020], "v": [1.0, 2.0]}).to_csv(
        tmp_path / "dom.csv", index=False)
    bad = PanelOptions(domestic=generic("dom.csv"))
    with pytest.raises(DataError, match=r"dom\.csv: domestic flows need exporter == importer.*'B'"):
        build_panel(generic(), None, SampleOptions(), tmp_path, bad)
    pd.DataFrame({"o": ["A"], "d": ["A"], "yr": [2020], "v": [1.0]}).to_csv(
        tmp_path / "dom.csv", index=False)
    with pytest.raises(DataError, match=r"domestic flow \(A, A, 2020\) is also in the trade"):
        build_panel(generic(), None, SampleOptions(), tmp_path, bad)


def test_sample_filters_count_rows_and_value(tmp_path: Path) -> None:
    rows = [("A", "B", 2019, 1.0), ("A", "B", 2020, 2.0), ("B", "C", 2020, 4.0),
            ("C", "A", 2020, 8.0), ("A", "A", 2020, 16.0)]
    trade_csv(tmp_path, rows)
    sample = SampleOptions(years=[2020], countries=["A", "B", "C"], exporters=["A", "B"],
                           exclude_domestic=True)
    panel = build_panel(generic(), None, sample, tmp_path)
    step = panel.steps[-1]
    assert step.removed == {"years": 1, "exporters": 1, "countries": 0, "domestic": 1}
    assert step.removed_value == {"years": 1.0, "exporters": 8.0, "countries": 0.0,
                                  "domestic": 16.0}
    assert panel.frame["value"].tolist() == [2.0, 4.0]
    with pytest.raises(ConfigError, match=r"sample\.products is set but the panel has no"):
        build_panel(generic(), None, SampleOptions(products=["01"]), tmp_path)
    with pytest.raises(DataError, match="the sample filters removed every row"):
        build_panel(generic(), None, SampleOptions(years=[1990]), tmp_path)


def test_atlas_thresholds(tmp_path: Path) -> None:
    rows = [("A", "B", 2020, 5e9), ("B", "A", 2020, 2e9), ("C", "A", 2020, 1e8),
            ("A", "C", 2020, 3e9), ("B", "D", 2020, 1.5e9), ("A", "E", 2020, 7e9),
            ("E", "A", 2020, 2e9)]
    trade_csv(tmp_path, rows)
    pd.DataFrame({"iso": ["A", "B", "C", "E"], "year": [2020] * 4,
                  "pop": [5e7, 4e5, 2e6, 3e6]}).to_csv(tmp_path / "pop.csv", index=False)
    covariate = {"path": "pop.csv", "columns": {"country": "iso", "year": "year"},
                 "variables": {"pop": "pop"}}
    options = PanelOptions(covariates=[covariate])  # type: ignore[list-item]
    sample = SampleOptions(min_population=1e6, min_exports=1e9)
    panel = build_panel(generic(), None, sample, tmp_path, options)
    step = next(s for s in panel.steps if s.name == "sample: thresholds")
    # B: 400,000 people, D: no population data -> fail; then C: exports 1e8 < 1e9
    assert step.removed == {"min_population": 3, "min_exports": 2}
    assert step.removed_value == {"min_population": 5e9 + 2e9 + 1.5e9,
                                  "min_exports": 3e9 + 1e8}
    assert any("no 'pop' data for 1 countries (D)" in n for n in step.notes)
    assert sorted(panel.frame["exporter"] + panel.frame["importer"]) == ["AE", "EA"]
    assert panel.frame["pop_o"].tolist() == [5e7, 3e6]
    exporter_only = SampleOptions(min_exports=1e9, thresholds_apply_to="exporter")
    kept = build_panel(generic(), None, exporter_only, tmp_path, options)
    assert set(kept.frame["exporter"]) == {"A", "B", "E"} and "C" in set(kept.frame["importer"])
    check_accounting(kept)
    with pytest.raises(ConfigError, match="min_population needs a country-level covariate named"):
        build_panel(generic(), None, sample, tmp_path)


def test_output_parquet_metadata_sidecar_and_cli(tmp_path: Path) -> None:
    baci_dir(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(
        "output: out\n"
        "data:\n"
        "  trade: {kind: baci, paths: [BACI_HS92_Y2021_V202201.csv], product_level: hs2}\n"
        "  zeros: auto\n"
        "sample: {exporters: [AFG, ZAF]}\n"
    )
    assert main(["panel", str(config), "--quiet"]) == 0
    path = tmp_path / "out" / "panel" / "panel.parquet"
    frame, metadata = read_panel(path)
    assert METADATA_KEY in pq.read_schema(path).metadata
    assert metadata["value"]["currency"] == "USD" and metadata["zeros"]["mode"] == "filled"
    assert metadata["columns"]["product"]["dtype"] == "str"
    assert metadata["sources"][0]["kind"] == "baci"
    sidecar = json.loads((tmp_path / "out" / "panel" / "panel.json").read_text())
    assert sidecar["rows"] == len(frame) and sidecar["file"] == "panel.parquet"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["panel: sample"]["removed"] == {"exporters": 1}
    assert steps["panel: zeros"]["added"]["zero_flows"] == len(frame) - 4
    assert any(n.startswith("value in") for n in steps["panel: sample"]["notes"])
    assert {"panel/panel.parquet", "panel/panel.json"} <= set(manifest["outputs"])


def test_config_accepts_panel_sections(tmp_path: Path) -> None:
    raw = {
        "output": "out",
        "data": {
            "trade": {"path": "t.csv"},
            "zeros": "fill",
            "covariates": [
                {"path": "g.csv", "columns": {"country": "iso"}},
                {"kind": "geodist", "path": "dist_cepii.csv", "variables": {"dist": "dist"}},
                {"kind": "wdi", "paths": "gdp.csv", "indicator": "gdp"},
            ],
            "derived": [{"name": "gdppc", "op": "ratio", "of": ["gdp", "pop"]}],
            "metadata": {"currency": "EUR"},
        },
        "sample": {"min_population": 1e6, "countries": "FRA"},
    }
    config = validate_config(raw, base_dir=tmp_path)
    assert config.data.zeros.mode == "fill"
    assert [c.kind for c in config.data.covariates] == ["generic", "geodist", "wdi"]
    assert config.sample.countries == ["FRA"]
    raw["data"]["derived"] = [{"name": "x", "op": "log", "of": ["a", "b"]}]  # type: ignore[index]
    with pytest.raises(ConfigError, match="op 'log' takes 1 input column"):
        validate_config(raw, base_dir=tmp_path)
    raw["data"]["derived"] = []  # type: ignore[index]
    raw["data"]["zeros"] = "fil"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"key 'data.zeros.mode': 'fil' is not allowed"):
        validate_config(raw, base_dir=tmp_path)


def test_tables_that_are_not_country_panels_pass(tmp_path: Path) -> None:
    pd.DataFrame({"y": [0.0, 1.0, 2.0], "x": [1.0, 2.0, 3.0], "id": [7, 8, 9]}).to_csv(
        tmp_path / "s.csv", index=False)
    panel = build_panel(GenericSource(path="s.csv"), None, SampleOptions(), tmp_path)
    assert panel.frame.columns.tolist() == ["y", "x", "id"] and len(panel.frame) == 3
    with pytest.raises(ConfigError, match=r"sample\.exclude_domestic needs exporter and importer"):
        build_panel(GenericSource(path="s.csv"), None, SampleOptions(exclude_domestic=True),
                    tmp_path)
    with pytest.raises(ConfigError, match="zeros: fill needs exporter, importer and value"):
        build_panel(GenericSource(path="s.csv"), None, SampleOptions(), tmp_path,
                    PanelOptions(zeros="fill"))  # type: ignore[arg-type]
