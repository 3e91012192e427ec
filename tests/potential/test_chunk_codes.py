"""The chunk passes on integer codes against the text-key computations they replace.

References: the text-frame functions the unchunked model still runs
(:func:`gravity.panel.zeros.dense_flows`, :mod:`gravity.potential.itc`,
:func:`gravity.potential.model.product_demand_growth`, ``project_grid``, ``add_intervals``,
:func:`gravity.potential.chunked.sinkhorn.scale_products`), and the text path of pass 3 as it
was before the codes (:func:`text_pass3`, kept here as the oracle), on the demo world with
random pair ease and on a categorical copy of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from gravity.panel.zeros import Axes, dense_flows
from gravity.potential import itc
from gravity.potential.chunked.cells import (
    CellInputs,
    chunk_cells,
    demand_growth,
    effect_matrix,
    pair_matrices,
    relatedness_columns,
)
from gravity.potential.chunked.coded import (
    coded_grid,
    dense_lookup,
    itc_pair_sums,
    itc_predicted,
    pair_year_totals,
)
from gravity.potential.chunked.sinkhorn import scale_coded, scale_products
from gravity.potential.chunked.source import ProductIndex
from gravity.potential.model import (
    add_intervals,
    pair_covariates,
    product_demand_growth,
    project_grid,
)
from gravity.potential.pipeline import add_relatedness_columns
from tests.potential.test_chunked import options, related, world_panel

SUM_ORDER_RTOL = 1e-12
"""Sums taken in another order (bincount, numpy's pairwise reductions) than pandas' grouped
sums (compensated) differ in the last bits only: measured <= 3e-16 relative here (the pass-3
columns come out bit-identical)."""
KEYS = ["exporter", "importer", "product"]


def world(categorical: bool = False) -> tuple[pd.DataFrame, Axes, pd.Series, int]:
    """The demo world's rows, its axes, a random ease by pair (a tenth missing), base year."""
    panel = world_panel()[[*KEYS, "year", "value"]]
    if categorical:
        panel = panel.assign(**{k: panel[k].astype("category") for k in KEYS})
    base = int(panel["year"].max())
    countries = tuple(sorted(set(panel["exporter"].astype(str))))
    products = tuple(sorted(set(panel["product"].astype(str))))
    rng = np.random.default_rng(5)
    pairs = pd.MultiIndex.from_product([countries, countries], names=["exporter", "importer"])
    ease = pd.Series(rng.normal(-2.0, 1.5, len(pairs)), index=pairs)
    ease[rng.random(len(pairs)) < 0.1] = np.nan
    return panel, Axes(countries, countries, tuple(range(base - 2, base + 1)), products), ease, base


def text_grid(panel: pd.DataFrame, axes: Axes, ease: pd.Series, base: int) -> pd.DataFrame:
    """The text path's chunk grid: dense_flows, ease by pair, cells without ease dropped."""
    grid = dense_flows(panel, Axes(axes.exporters, axes.importers, (), axes.products), base)
    grid["ease"] = ease.reindex(pd.MultiIndex.from_frame(grid[["exporter", "importer"]])).to_numpy()
    return grid[grid["ease"].notna()].reset_index(drop=True)


def coded(panel: pd.DataFrame, axes: Axes, ease: pd.Series, base: int):
    exporters, importers = pd.Index(axes.exporters), pd.Index(axes.importers)
    matrix = dense_lookup(ease, exporters, importers).astype(float)
    return coded_grid(panel, exporters, importers, pd.Index(axes.products), base, matrix)


@pytest.mark.parametrize("categorical", [False, True], ids=["text", "categorical"])
def test_coded_grid_is_the_text_grid(categorical: bool) -> None:
    panel, axes, ease, base = world(categorical)
    grid = coded(panel, axes, ease, base)
    want = text_grid(world()[0], axes, ease, base)
    assert_frame_equal(grid.frame(), want)
    international = len(axes.exporters) * (len(axes.importers) - 1) * len(axes.products)
    assert len(grid) + grid.without_ease == international


def test_dense_flows_of_categorical_keys_equal_text_keys() -> None:
    panel, axes, _, base = world(categorical=True)
    rect = Axes(axes.exporters, axes.importers, (), axes.products)
    assert_frame_equal(dense_flows(panel, rect, base), dense_flows(world()[0], rect, base))


def test_itc_sums_equal_the_text_computation() -> None:
    panel, axes, ease, base = world()
    grid = coded(panel, axes, ease, base)
    frame = grid.frame().rename(columns={"value": "actual"})
    # a threshold that zeroes some flows, as min_flow does
    frame["actual"] = frame["actual"].where(frame["actual"] > 1e4, 0.0)
    actual = frame["actual"].to_numpy()
    want = itc.itc_predicted(frame)
    got = itc_predicted(grid, actual).reshape(-1)
    np.testing.assert_allclose(got, want, rtol=SUM_ORDER_RTOL, atol=0.0)
    sums = itc_pair_sums(grid, got, actual)
    ref = itc.itc_pair_sums(frame, want).reset_index()
    assert_frame_equal(sums[["exporter", "importer"]], ref[["exporter", "importer"]])
    for column in ("predicted", "actual"):
        np.testing.assert_allclose(sums[column], ref[column], rtol=SUM_ORDER_RTOL)


def test_scaling_on_codes_is_the_scaling_on_text() -> None:
    panel, axes, ease, base = world()
    grid = coded(panel, axes, ease, base)
    got, want = scale_coded(grid), scale_products(grid.frame())
    assert got is not None and want is not None
    np.testing.assert_array_equal(got.fitted, want.fitted)
    assert got.separated == want.separated
    assert_frame_equal(got.supply, want.supply)
    assert_frame_equal(got.demand, want.demand)


@pytest.mark.parametrize("categorical", [False, True], ids=["text", "categorical"])
def test_totals_and_demand_growth_equal_the_grouped_sums(categorical: bool) -> None:
    panel, axes, ease, base = world(categorical)
    text = world()[0]
    first, last = axes.years[0], axes.years[-1]
    grid = coded(panel, axes, ease, base)
    got = pair_year_totals(panel, grid.exporters, grid.importers, (first, last))
    sub = text[text["year"].isin([first, last]) & (text["exporter"] != text["importer"])]
    want = sub.groupby(["exporter", "importer", "year"], as_index=False)["value"].sum()
    assert_frame_equal(got.drop(columns="value"), want.drop(columns="value"))
    np.testing.assert_allclose(got["value"], want["value"], rtol=SUM_ORDER_RTOL)

    opts = options(max_annual_growth=0.05)  # a cap that binds on some markets
    by_market = pd.Series(np.linspace(-0.05, 0.05, len(axes.importers)), index=axes.importers)
    rates = demand_growth(panel, grid, by_market, axes.years, opts)
    ref = product_demand_growth(text, by_market, axes, opts)
    cells = pd.MultiIndex.from_product([axes.importers, axes.products])
    expected = ref.reindex(cells).to_numpy().reshape(rates.shape)
    expected = np.where(np.isnan(expected), by_market.to_numpy()[:, None], expected)
    np.testing.assert_allclose(rates, expected, rtol=SUM_ORDER_RTOL, atol=1e-15)
    assert (np.abs(rates) == 0.05).any()


def test_pair_covariates_keep_the_first_row_of_each_key() -> None:
    panel = world_panel()
    for frame in (panel, panel.assign(exporter=panel["exporter"].astype("category"))):
        got = pair_covariates(frame, ["dist", "contig"])
        want = frame[["exporter", "importer", "year", "dist", "contig"]].drop_duplicates(
            ["exporter", "importer", "year"]
        )
        assert_frame_equal(got, want.reset_index(drop=True))


def text_pass3(
    grid: pd.DataFrame, tables: dict[str, object], rows: pd.DataFrame, axes: Axes
) -> tuple[pd.DataFrame, int]:
    """Pass 3 on the text grid, as the engine computed it before the codes (the oracle)."""
    opts = options()
    ek = pd.MultiIndex.from_frame(grid[["exporter", "product"]])
    observed = tables["observed"].reindex(ek)  # type: ignore[attr-defined]
    grid["supply"] = tables["supply"].reindex(ek).to_numpy()  # type: ignore[attr-defined]
    grid["supply_source"] = tables["source"].reindex(ek).to_numpy()  # type: ignore[attr-defined]
    ik = pd.MultiIndex.from_frame(grid[["importer", "product"]])
    grid["demand"] = tables["demand"].reindex(ik).to_numpy()  # type: ignore[attr-defined]
    importer_growth: pd.Series = tables["importer_growth"]  # type: ignore[assignment]
    by_market = importer_growth.reindex(grid["importer"]).to_numpy()
    g_demand = product_demand_growth(rows, importer_growth, axes, opts).reindex(ik)
    grid["demand_growth"] = np.where(g_demand.isna(), by_market, g_demand.to_numpy())
    in_sample = observed.notna().to_numpy() & grid["demand"].notna().to_numpy()
    own = np.exp(observed.to_numpy() + grid["demand"].to_numpy() + grid["ease"].to_numpy())
    full = np.exp(grid["supply"] + grid["demand"] + grid["ease"]).to_numpy()
    grid["fitted"] = np.where(in_sample, own, full)
    grid, no_potential = project_grid(grid, tables["supply_growth"], opts)  # type: ignore[arg-type]
    add_intervals(grid, opts, True, pooled=tables["pooled"])  # type: ignore[arg-type]
    grid["itc_potential"] = itc.itc_potential(grid, opts.horizon, tables["pairs"]).to_numpy()  # type: ignore[arg-type]
    return grid, no_potential


def test_pass3_cells_equal_the_text_pass3() -> None:
    panel, axes, ease, base = world()
    grid = coded(panel, axes, ease, base)
    rng = np.random.default_rng(7)
    e_p = pd.MultiIndex.from_product([axes.exporters, axes.products])
    i_p = pd.MultiIndex.from_product([axes.importers, axes.products])
    # effects with gaps (separated rows, no supply), as pass 1 and 2 leave them
    observed = pd.Series(rng.normal(8.0, 2.0, len(e_p)), index=e_p)
    observed[rng.random(len(e_p)) < 0.2] = np.nan
    supply = observed.fillna(pd.Series(rng.normal(6.0, 1.0, len(e_p)), index=e_p))
    supply[rng.random(len(e_p)) < 0.05] = np.nan
    source = pd.Series(np.where(observed.notna(), "observed", "predicted"), index=e_p)
    demand = pd.Series(rng.normal(2.0, 1.0, len(i_p)), index=i_p)
    demand[rng.random(len(i_p)) < 0.1] = np.nan
    importer_growth = pd.Series(rng.normal(0.0, 0.03, len(axes.importers)), index=axes.importers)
    supply_growth = pd.Series(rng.normal(0.0, 0.03, len(axes.exporters)), index=axes.exporters)
    frame = grid.frame()
    frame["actual"] = frame["value"]
    predicted = itc.itc_predicted(frame)
    pairs = itc.itc_pair_sums(frame, predicted * rng.uniform(0.5, 2.0, len(frame)))
    pooled = (-0.7, 0.9)
    tables = {
        "observed": observed, "supply": supply, "source": source, "demand": demand,
        "importer_growth": importer_growth, "supply_growth": supply_growth, "pairs": pairs,
        "pooled": pooled,
    }  # fmt: skip
    want, want_missing = text_pass3(grid.frame(), tables, world()[0], axes)

    def table(series: pd.Series, key: str, value: str) -> pd.DataFrame:
        return series.rename(value).rename_axis([key, "product"]).reset_index().dropna()

    inputs = CellInputs(
        observed=effect_matrix(
            table(observed, "exporter", "observed"), "exporter", "observed",
            grid.exporters, grid.products, 0.0,
        ),
        supply=dense_lookup(supply, grid.exporters, grid.products).astype(float),
        source=dense_lookup(source, grid.exporters, grid.products),
        demand=effect_matrix(
            table(demand, "importer", "demand"), "importer", "demand",
            grid.importers, grid.products, 0.0,
        ),
        demand_growth=demand_growth(panel, grid, importer_growth, axes.years, options()),
        supply_growth=supply_growth.reindex(grid.exporters).fillna(0.0).to_numpy(),
        pair_predicted=pair_matrices(pairs, grid.exporters, grid.importers)[0],
        pair_actual=pair_matrices(pairs, grid.exporters, grid.importers)[1],
        pooled=pooled,
    )  # fmt: skip
    cells = chunk_cells(grid, inputs, options())
    assert cells.no_potential == want_missing > 0
    for column, values in cells.columns.items():
        got = values.reshape(-1)
        if column == "supply_source":
            assert list(got) == list(want[column])
            continue
        np.testing.assert_allclose(got, want[column], rtol=SUM_ORDER_RTOL, err_msg=column)


def test_product_index_of_a_sorted_panel_takes_the_same_rows() -> None:
    panel = world(categorical=True)[0]
    products = tuple(sorted(set(panel["product"].astype(str))))
    by_product = panel.sort_values("product", kind="stable").reset_index(drop=True)
    chunk = products[3:7]
    for frame in (panel, by_product):  # argsort path, then the sorted shortcut
        got = ProductIndex(frame).rows(chunk).read()
        want = frame[frame["product"].astype(str).isin(chunk)].reset_index(drop=True)
        assert_frame_equal(got, want)


@pytest.mark.parametrize("exporters", [None, ["XAB", "XAE"]], ids=["all", "two"])
def test_relatedness_columns_equal_the_merge(exporters: list[str] | None) -> None:
    panel, axes, ease, base = world()
    grid = coded(panel, axes, ease, base)
    pairs = None if exporters is None else grid.exporters.isin(exporters)[grid.pe]
    frame = grid.frame(pairs)
    want = add_relatedness_columns(frame, related(), base)
    got = relatedness_columns(grid, pairs, related(), base)
    assert list(got) == [c for c in want.columns if c not in frame.columns]
    assert want["similar_exporters"].notna().any() and want["density"].notna().any()
    for column, values in got.items():
        np.testing.assert_array_equal(values, want[column].to_numpy(dtype=float), err_msg=column)
