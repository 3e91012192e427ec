"""Reading a panel by product chunks (:class:`gravity.panel.chunks.PanelChunks`).

The reference is the whole panel loaded in memory (:func:`gravity.panel.io.load_panel`) and
filled by :meth:`Panel.dense`: every chunk read must equal the same slice of it exactly (same
rows, order, dtypes and values). The panels are built by ``gravity panel``'s builder from small
synthetic BACI worlds (:mod:`gravity.panel.synthetic_baci`) with covariates and a derived
variable, so zero rows need covariates merged too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gravity.exceptions import DataError
from gravity.panel import dataset
from gravity.panel.build import build_panel
from gravity.panel.chunks import PanelChunks
from gravity.panel.dataset import Panel
from gravity.panel.io import load_panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import BaciSource
from gravity.panel.synthetic_baci import BaciWorldOptions, write_baci_world

#: Row-group target used here so that a small panel spans many row groups.
SMALL_ROW_GROUPS = 400

OPTIONS = {
    "covariates": [{"kind": "geodist", "path": "dist_cepii.csv",
                    "variables": {"dist": "dist", "contig": "contig", "rta": "rta"}}],
    "derived": [{"name": "log_dist", "op": "log", "of": "dist"}],
}


def world_panel(folder: Path, max_rows: int = 100, universe: str = "panel", **kw: object) -> Panel:
    options = BaciWorldOptions(countries=12, products=25, years=3, density=0.2, **kw)
    write_baci_world(folder, options)
    source = BaciSource(paths=["BACI_HS17_Y*_V202401b.csv"],
                        country_codes="country_codes_V202401b.csv")
    zeros = {"mode": "auto", "max_rows": max_rows, "universe": universe}
    panel_options = PanelOptions(**OPTIONS, zeros=zeros)
    return build_panel(source, None, SampleOptions(), folder, panel_options)


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dataset, "PRODUCT_ROW_GROUP_ROWS", SMALL_ROW_GROUPS)
    panel = world_panel(tmp_path / "world")
    assert panel.zeros is not None and panel.zeros.mode == "implicit"
    return panel.to_parquet(tmp_path / "out" / "panel.parquet")[0]


def test_file_sorted_by_product_in_whole_product_row_groups(written: Path) -> None:
    table = pq.read_table(written).to_pandas()
    keys = ["product", "exporter", "importer", "year"]
    pd.testing.assert_frame_equal(table, table.sort_values(keys, ignore_index=True))
    meta = pq.ParquetFile(written).metadata
    assert meta.num_row_groups > 5
    chunks = PanelChunks.open(written)
    assert chunks.metadata["layout"]["sorted_by"] == keys
    sizes = table.groupby("product").size()
    for group, (low, high) in enumerate(chunks.group_products):
        rows = meta.row_group(group).num_rows
        assert low is not None and high is not None  # statistics on product are written
        inside = sizes.loc[low:high]
        assert int(inside.sum()) == rows  # whole products only
        # a group is over the target only when it holds a single product
        assert rows <= SMALL_ROW_GROUPS or len(inside) == 1


def test_one_product_touches_one_row_group(written: Path) -> None:
    chunks = PanelChunks.open(written)
    meta = pq.ParquetFile(written).metadata
    for product in chunks.products:
        assert len(chunks.row_groups([product])) == 1
    block = chunks.batches(6)[1]
    groups = chunks.row_groups(block)
    rows_read = sum(meta.row_group(g).num_rows for g in groups)
    rows_block = int(chunks.read(block).shape[0])
    # consecutive products: at most the groups they fill plus one shared at each end
    assert len(groups) <= math.ceil(rows_block / SMALL_ROW_GROUPS) + 2
    assert rows_read < meta.num_rows


@pytest.mark.parametrize("universe", ["panel", "year"])
def test_chunks_equal_the_dense_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, universe: str
) -> None:
    monkeypatch.setattr(dataset, "PRODUCT_ROW_GROUP_ROWS", SMALL_ROW_GROUPS)
    panel = world_panel(tmp_path / "world", universe=universe)
    path = panel.to_parquet(tmp_path / "out" / "panel.parquet")[0]
    full = load_panel(path)
    dense = full.dense()
    chunks = PanelChunks.open(path)
    assert chunks.universe == full.universe
    assert chunks.products == tuple(sorted(dense["product"].unique()))
    years = sorted(dense["year"].unique())[1:]
    pieces = []
    for block in chunks.batches(7):
        got = chunks.read(block, dense=True)
        keep = dense["product"].isin(block).to_numpy()
        pd.testing.assert_frame_equal(got, dense.loc[keep].reset_index(drop=True))
        some = chunks.read(block, years=years, dense=True)
        keep = keep & dense["year"].isin(years).to_numpy()
        pd.testing.assert_frame_equal(some, dense.loc[keep].reset_index(drop=True))
        observed = chunks.read(block, years=years)
        rows = full.frame.loc[full.frame["product"].isin(block) & full.frame["year"].isin(years)]
        pd.testing.assert_frame_equal(observed, rows.reset_index(drop=True))
        pieces.append(got)
    keys = ["exporter", "importer", "product", "year"]
    together = pd.concat(pieces).sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(together, dense.sort_values(keys, ignore_index=True))


def test_largest_frame_is_one_chunk(written: Path) -> None:
    chunks = PanelChunks.open(written)
    assert chunks.universe is not None
    everything = chunks.universe.cells()
    largest = 0
    for block, frame in chunks.iter_chunks(5, dense=True):
        # exactly the cells of these products: never the countries^2 x products rectangle
        assert len(frame) == chunks.universe.restrict(block).cells()
        assert set(frame["product"]) <= set(block)
        largest = max(largest, len(frame))
    assert largest <= everything * 5 / len(chunks.products) * 2  # products differ in coverage
    assert largest < everything


def test_columns_and_filled_panels(tmp_path: Path) -> None:
    panel = world_panel(tmp_path / "world", max_rows=10**9)  # small: zeros filled in the file
    assert panel.zeros is not None and panel.zeros.mode == "filled"
    path = panel.to_parquet(tmp_path / "out" / "panel.parquet")[0]
    chunks = PanelChunks.open(path)
    assert chunks.universe is None
    frame = load_panel(path).frame
    block = chunks.products[3:9]
    got = chunks.read(block, columns=["value", "log_dist"], dense=True)
    want = frame.loc[frame["product"].isin(block),
                     ["exporter", "importer", "product", "year", "value", "log_dist"]]
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True))
    assert np.isclose(got["value"].sum(), want["value"].sum(), rtol=0, atol=0)


def test_bad_requests_are_one_line_errors(written: Path, tmp_path: Path) -> None:
    chunks = PanelChunks.open(written)
    with pytest.raises(DataError, match=r"product '999999' is not in the panel \(1 unknown"):
        chunks.read([chunks.products[0], "999999"])
    with pytest.raises(DataError, match=r"no column 'gdp'; the panel has exporter"):
        chunks.read(chunks.products[:1], columns=["gdp"])
    with pytest.raises(DataError, match=r"no products asked for"):
        chunks.read([])
    with pytest.raises(DataError, match=r"chunk size must be at least 1"):
        chunks.batches(0)
    with pytest.raises(DataError, match=r"no such panel file"):
        PanelChunks.open(tmp_path / "missing.parquet")
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"product": ["01"], "value": [1.0]}).to_parquet(plain)
    with pytest.raises(DataError, match=r"no gravity panel metadata"):
        PanelChunks.open(plain)
    text = tmp_path / "text.parquet"
    text.write_text("not parquet")
    with pytest.raises(DataError, match=r"not a Parquet panel file"):
        PanelChunks.open(text)


def test_sort_by_product_matches_pandas(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({
        "exporter": pd.array(rng.choice(["AGO", "BRA", "CHN"], n), dtype="str"),
        "importer": pd.array(rng.choice(["DEU", "ESP"], n), dtype="str"),
        "product": pd.array(rng.choice(["010121", "010129", "847130", "9"], n), dtype="str"),
        "year": rng.choice([2020, 2021], n).astype(np.int64),
        "value": rng.uniform(size=n),
    })
    keys = ["product", "exporter", "importer", "year"]
    want = frame.sort_values(keys, kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(dataset.sort_by_product(frame), want)
    assert dataset.product_order(want) is None  # already sorted: no sort key built
    pd.testing.assert_frame_equal(dataset.sort_owned_by_product([frame.copy()]), want)
    # only the last key out of order: still found
    late = pd.DataFrame({"exporter": ["A", "A"], "importer": ["B", "B"], "product": ["1", "1"],
                         "year": [2021, 2020]}).astype({"exporter": "str", "importer": "str",
                                                        "product": "str"})
    assert dataset.product_order(late) is not None
    assert dataset.product_order(late.iloc[::-1].reset_index(drop=True)) is None


def test_built_panel_is_the_file(tmp_path: Path) -> None:
    panel = world_panel(tmp_path / "world")
    path = panel.to_parquet(tmp_path / "out" / "panel.parquet")[0]
    pd.testing.assert_frame_equal(load_panel(path).frame, panel.frame)  # sorted in memory too


def test_pickled_as_its_path_and_reopened_once(written: Path) -> None:
    """A Dask task carries the file's path, not the covariate tables (megabytes at HS6)."""
    import pickle

    from gravity.panel import chunks as chunks_module
    from gravity.potential.chunked.source import ParquetRows

    opened = PanelChunks.open(written)
    whole = pickle.dumps(PanelChunks(**{k: getattr(opened, k) for k in (
        "path", "metadata", "products", "universe", "zeros", "covariates", "derived",
        "columns", "group_products")}))  # not made by open(): pickled whole
    small = pickle.dumps(opened)
    assert len(small) < 1_000 < len(whole)
    chunks_module._OPENED.clear()
    back = pickle.loads(small)
    for name in ("path", "metadata", "products", "universe", "zeros", "derived", "columns",
                 "group_products"):
        assert getattr(back, name) == getattr(opened, name)
    for got, want in zip(back.covariates, opened.covariates, strict=True):
        pd.testing.assert_frame_equal(got.frame, want.frame)
    assert pickle.loads(small) is back  # one open per process
    expected = opened.read(opened.products[:3], columns=["value"])
    pd.testing.assert_frame_equal(back.read(opened.products[:3], columns=["value"]), expected)
    # the file rewritten after the task was made: the worker says so instead of reading it
    chunks_module._OPENED.clear()
    written.write_bytes(written.read_bytes() + b"\0")
    stale = pickle.loads(small)
    with pytest.raises(DataError, match="changed on disk while the potential ran"):
        ParquetRows(stale, opened.products[:3], (2017,)).read()
