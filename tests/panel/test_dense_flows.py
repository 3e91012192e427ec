"""The one zero-filling implementation: dense grids of flows for the potential stage.

Oracle: ``_old_dense_flows`` below is the potential stage's own grid code as it was before the
potential started to use :func:`gravity.panel.zeros.dense_flows` (an independent bincount over
``pandas.Index`` positions), kept here verbatim in logic so the new grid can be compared to it
cell by cell. The worlds are random and contain what the two implementations must agree on:
duplicate rows of a cell (summed), observed domestic rows (left out), rows off the rectangle
(left out), other years (left out) and absent cells (zeros).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.panel.zeros import Axes, axes_of, dense_flows, fill_zeros, universe_of

SUM_RTOL = 1e-12
"""For sums of the same rows in another order (groupby vs bincount); the grids compared with the
old code add the same rows in the same order and are compared exactly."""


def _old_dense_flows(
    panel: pd.DataFrame,
    exporters: pd.Index,
    importers: pd.Index,
    products: pd.Index | None,
    year: int,
) -> pd.DataFrame:
    sub = panel[panel["year"] == year]
    e_code = exporters.get_indexer(sub["exporter"].astype(str))
    i_code = importers.get_indexer(sub["importer"].astype(str))
    keep = (e_code >= 0) & (i_code >= 0)
    n_e, n_i = len(exporters), len(importers)
    n_p = 1 if products is None else len(products)
    key = e_code.astype(np.int64) * n_i + i_code
    if products is not None:
        p_code = products.get_indexer(sub["product"].astype(str))
        keep &= p_code >= 0
        key = key * n_p + p_code
    values = np.bincount(
        key[keep], weights=sub["value"].to_numpy(dtype=float)[keep], minlength=n_e * n_i * n_p
    )
    e_idx, i_idx = np.divmod(np.arange(n_e * n_i), n_i)
    pair_ok = exporters[e_idx].to_numpy() != importers[i_idx].to_numpy()
    frame = {
        "exporter": np.repeat(exporters.to_numpy()[e_idx[pair_ok]], n_p),
        "importer": np.repeat(importers.to_numpy()[i_idx[pair_ok]], n_p),
    }
    if products is not None:
        frame["product"] = np.tile(products.to_numpy(), int(pair_ok.sum()))
    out = pd.DataFrame(frame)
    out["value"] = values.reshape(n_e * n_i, n_p)[pair_ok].ravel()
    return out


def _world(seed: int, with_product: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    countries = [f"C{i:02d}" for i in range(7)]
    n = 400
    frame = pd.DataFrame(
        {
            "exporter": rng.choice(countries[:6], n),  # C06 only imports
            "importer": rng.choice(countries, n),  # domestic rows included on purpose
            "year": rng.choice([2001, 2002, 2003], n),
            "value": rng.exponential(10.0, n).round(3),
        }
    )
    if with_product:
        frame.insert(2, "product", rng.choice(["0101", "0202", "0303", "8703"], n))
    return frame  # duplicates of a cell are frequent: 400 rows over ~500 cells x years


@pytest.mark.parametrize("with_product", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_flows_equals_the_old_potential_grid(seed: int, with_product: bool) -> None:
    panel = _world(seed, with_product)
    # the window the potential uses: everything observed in 2002-2003, graded on 2003
    axes = axes_of(panel, [2002, 2003])
    assert axes.years == (2002, 2003)
    products = pd.Index(list(axes.products)) if with_product else None
    for year in (2002, 2003, 2001):
        expected = _old_dense_flows(
            panel, pd.Index(list(axes.exporters)), pd.Index(list(axes.importers)), products, year
        )
        got = dense_flows(panel, axes, year)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert (got["exporter"] != got["importer"]).all()


def test_dense_flows_on_an_outcome_rectangle_ignores_rows_off_it() -> None:
    # the backtest grades on the exporters/importers/products of the ranking only
    panel = _world(3, with_product=True)
    axes = Axes(("C00", "C02", "C05"), ("C01", "C02", "C06"), products=("0202", "8703"))
    expected = _old_dense_flows(
        panel,
        pd.Index(list(axes.exporters)),
        pd.Index(list(axes.importers)),
        pd.Index(list(axes.products)),
        2003,
    )
    pd.testing.assert_frame_equal(dense_flows(panel, axes, 2003), expected, check_exact=True)
    # 3 x 3 pairs less the domestic C02 -> C02, times 2 products
    assert len(expected) == 16


def test_dense_flows_is_the_summed_form_of_fill_zeros() -> None:
    # the same rectangle filled by the panel builder, then summed by cell, is the dense grid
    panel = _world(4, with_product=True)
    international = panel[panel["exporter"] != panel["importer"]]
    year_rows = international[international["year"] == 2002]
    (_, axes), *_ = universe_of(year_rows).axes
    filled, report = fill_zeros(year_rows, universe_of(year_rows))
    keys = ["exporter", "importer", "product"]
    summed = filled.groupby(keys, observed=True, sort=True)["value"].sum().reset_index()
    got = dense_flows(year_rows, axes)
    assert len(got) == axes.cells() == report.cells
    np.testing.assert_allclose(got["value"].to_numpy(), summed["value"].to_numpy(), rtol=SUM_RTOL)
    assert got[keys].astype(str).equals(summed[keys].astype(str))
    assert got["year"].eq(2002).all()
