"""Grid expansion: job counts and order, stable keys, product groups, windows, bad requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gravity.batch.grid import PanelAxes, expand_grid, panel_fingerprint
from gravity.batch.jobs import job_key
from gravity.config.schema import ModelConfig
from gravity.exceptions import ConfigError, DataError
from tests.batch.conftest import TWO_WAY, batch_options


@pytest.fixture(scope="module")
def axes(panel_frame: pd.DataFrame) -> PanelAxes:
    return PanelAxes.from_frame(panel_frame)


def test_axes_from_parquet_match_frame(panel_path: Path, axes: PanelAxes) -> None:
    assert PanelAxes.from_parquet(panel_path) == axes
    assert axes.products == ("0001", "0002", "0003", "0004", "0005", "0006")
    assert axes.years == (2000, 2001, 2002, 2003, 2004, 2005)


def test_full_grid_order_and_keys(axes: PanelAxes) -> None:
    jobs = expand_grid(batch_options(), axes)
    assert len(jobs) == 6 * 3 * 2
    assert [j.position for j in jobs] == list(range(36))
    assert len({j.key for j in jobs}) == 36
    first = jobs[0]
    assert (first.slice.products, first.slice.years, first.spec_name) == (
        ("0001",),
        (2000, 2003),
        "two-way",
    )
    assert [j.slice.years for j in jobs[:6:2]] == [(2000, 2003), (2001, 2004), (2002, 2005)]
    assert first.label == "fit two-way: products 0001, exporters pooled, years 2000-2003"
    # the same grid gives the same keys: they do not depend on the process or the run
    assert [j.key for j in expand_grid(batch_options(), axes)] == [j.key for j in jobs]


def test_key_ignores_spec_name_and_defaults_but_not_content(axes: PanelAxes) -> None:
    jobs = expand_grid(batch_options(), axes)
    spec, slice_ = jobs[0].spec, jobs[0].slice
    renamed = spec.model_copy(update={"name": "another name"})
    explicit_default = ModelConfig(formula=TWO_WAY, name="x", estimator="ppml")
    assert job_key("fit", renamed, slice_) == jobs[0].key
    assert job_key("fit", explicit_default, slice_) == jobs[0].key
    assert job_key("fit", ModelConfig(formula=TWO_WAY, vcov="iid"), slice_) != jobs[0].key
    assert job_key("fit", spec, jobs[2].slice) != jobs[0].key


def test_pooled_and_per_exporter(axes: PanelAxes) -> None:
    options = batch_options(
        grid={"products": "pooled", "exporters": ["XAB", "XAA"], "windows": None}
    )
    jobs = expand_grid(options, axes)
    assert [(j.slice.exporters, j.spec_name) for j in jobs] == [
        (("XAB",), "two-way"),
        (("XAB",), "dist-iid"),
        (("XAA",), "two-way"),
        (("XAA",), "dist-iid"),
    ]
    assert all(j.slice.products is None and j.slice.years is None for j in jobs)
    everyone = expand_grid(batch_options(grid={"exporters": "all", "windows": None}), axes)
    assert len(everyone) == 6 * 10 * 2


def test_windows_with_step_and_bounds(axes: PanelAxes) -> None:
    options = batch_options(
        grid={"products": "pooled", "windows": {"size": 2, "step": 2, "first_year": 2001}}
    )
    assert [j.slice.years for j in expand_grid(options, axes)][::2] == [(2001, 2002), (2003, 2004)]


def test_hs_sections_and_named_groups() -> None:
    codes = ["010121", "020110", "847130", "850440", "870323"]
    frame = pd.DataFrame({"product": codes, "exporter": "A", "year": 2020})
    axes = PanelAxes.from_frame(frame)
    by_section = batch_options(grid={"products": {"by": "section"}, "windows": None})
    labels = [(j.slice.product_label, j.slice.products) for j in expand_grid(by_section, axes)]
    assert labels[::2] == [
        ("I", ("010121", "020110")),
        ("XVI", ("847130", "850440")),
        ("XVII", ("870323",)),
    ]
    only = batch_options(grid={"products": {"by": "hs2", "only": ["84"]}, "windows": None})
    assert [j.slice.products for j in expand_grid(only, axes)] == [("847130",)] * 2
    groups = batch_options(
        grid={"products": {"groups": {"cars": ["870323", "870324"]}}, "windows": None}
    )
    assert expand_grid(groups, axes)[0].slice.products == ("870323",)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"products": ["0001", "9999"]}, r"code\(s\) \['9999'\] are not in the panel"),
        ({"exporters": ["XZZ"]}, r"batch.grid.exporters: code\(s\) \['XZZ'\]"),
        ({"windows": {"size": 7}}, "no window of 7 years fits in 2000-2005"),
        ({"products": {"by": "hs2", "only": ["99"]}}, r"group\(s\) \['99'\] are not in the panel"),
        ({"products": {"groups": {"g": ["1234"]}}}, "none of its codes"),
    ],
)
def test_grid_that_does_not_fit_the_panel(
    axes: PanelAxes, grid: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        expand_grid(batch_options(grid=grid), axes)


def test_aggregate_panel_has_no_products() -> None:
    axes = PanelAxes.from_frame(pd.DataFrame({"exporter": ["A"], "year": [2000]}))
    with pytest.raises(ConfigError, match=r"needs a 'product' column.*use 'products: pooled'"):
        expand_grid(batch_options(), axes)


def with_metadata(frame: pd.DataFrame, path: Path, metadata: dict[str, Any]) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {b"gravity": json.dumps(metadata).encode()}
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **extra}), path)
    return path


def test_fingerprint_follows_the_data_not_the_metadata(
    tmp_path: Path, panel_frame: pd.DataFrame
) -> None:
    first = with_metadata(panel_frame, tmp_path / "a.parquet", {"steps": [{"seconds": 0.1}]})
    again = with_metadata(panel_frame, tmp_path / "b.parquet", {"steps": [{"seconds": 0.2}]})
    assert first.read_bytes() != again.read_bytes()
    assert panel_fingerprint(first) == panel_fingerprint(again)
    changed = panel_frame.copy()
    changed.loc[0, "value"] += 1.0
    other = with_metadata(changed, tmp_path / "c.parquet", {"steps": [{"seconds": 0.1}]})
    assert panel_fingerprint(other) != panel_fingerprint(first)
    (tmp_path / "d.parquet").write_text("exporter,importer\n")
    with pytest.raises(DataError, match="is not a Parquet file"):
        panel_fingerprint(tmp_path / "d.parquet")


def test_panel_with_implicit_zeros_is_refused(tmp_path: Path, panel_frame: pd.DataFrame) -> None:
    path = with_metadata(panel_frame, tmp_path / "p.parquet", {"zeros": {"mode": "implicit"}})
    with pytest.raises(DataError, match=r"keeps its zero flows implicit.*data.zeros: fill"):
        PanelAxes.from_parquet(path)
    filled = with_metadata(panel_frame, tmp_path / "f.parquet", {"zeros": {"mode": "filled"}})
    assert PanelAxes.from_parquet(filled).products is not None
