"""Features of the forecast added for issue 14: the pair effect and the entry trajectories.

Reference: hand computations with pandas on small panels (RCA from its definition, the pair
effect from its first-order condition with each year's fitted gravity components), exact up to
float rounding (``EXACT``). A world that follows gravity exactly has a pair effect of zero up to
the PPML's convergence tolerance (``PPML_TOL``). Every feature is known at the origin: changing
every later year leaves the features equal bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.potential.features import RelatednessFeatures
from gravity.potential.forecast.cube import build_cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder

# float rounding of sums and logs of a few numbers
EXACT = 1e-12
# the per-year PPML stops at a relative deviance change of 1e-10: fitted values within ~1e-7
PPML_TOL = 1e-6
LAGS = 2


def _gravity_world(years: tuple[int, ...] = (2000, 2001, 2002, 2003)) -> pd.DataFrame:
    """Aggregate flows that follow gravity exactly: exp(s_it + d_jt - 0.8 log dist_ij)."""
    rng = np.random.default_rng(5)
    names = ["A", "B", "C", "D", "E"]
    n = len(names)
    coords = rng.uniform(0, 3, (n, 2))
    dist = np.sqrt(((coords[:, None] - coords[None]) ** 2).sum(-1))
    rows = []
    for year in years:
        s, d = rng.normal(2, 1, n), rng.normal(1, 1, n)
        for e in range(n):
            for i in range(n):
                if e != i:
                    value = np.exp(s[e] + d[i] - 0.8 * np.log(dist[e, i]))
                    rows.append((names[e], names[i], year, value, dist[e, i]))
    return pd.DataFrame(rows, columns=["exporter", "importer", "year", "value", "dist"])


def _builder(panel: pd.DataFrame, bilateral: bool = True, relatedness=None) -> FeatureBuilder:
    data = normalise_panel(panel)
    cube = build_cube(data, bilateral)
    return FeatureBuilder(cube, data, LAGS, ["log(dist)"] if bilateral else [], relatedness)


def _cells(builder: FeatureBuilder, pairs: list[tuple[str, str]]) -> np.ndarray:
    cube = builder.cube
    keys = cube.keys(np.arange(cube.n_cells))
    lookup = {
        (e, i): k for k, (e, i) in enumerate(zip(keys["exporter"], keys["importer"], strict=True))
    }
    return np.array([lookup[p] for p in pairs])


def test_pair_effect_is_zero_where_gravity_holds_exactly() -> None:
    builder = _builder(_gravity_world())
    cells = np.arange(builder.cube.n_cells)
    feats = builder.bilateral(3, cells[builder._e != builder._i], 1.0)
    np.testing.assert_allclose(feats["pair_effect"], 0.0, atol=PPML_TOL)


def test_pair_effect_against_its_first_order_condition_by_hand() -> None:
    panel = _gravity_world()
    # the pair A->B trades twice as much as gravity says in 2002 and 2003, C->D stops in 2002,
    # and D->C never trades (its window trade is zero: the effect is not identified)
    ab = (panel.exporter == "A") & (panel.importer == "B") & (panel.year >= 2002)
    panel.loc[ab, "value"] *= 2
    panel.loc[(panel.exporter == "C") & (panel.importer == "D") & (panel.year >= 2002), "value"] = 0
    panel.loc[(panel.exporter == "D") & (panel.importer == "C"), "value"] = 0
    builder = _builder(panel)
    pairs = [("A", "B"), ("C", "D"), ("D", "C"), ("B", "E")]
    cells = _cells(builder, pairs)
    a = 3  # 2003; window 2001..2003 with LAGS = 2
    feats = builder.bilateral(a, cells, 1.0)
    countries = list(builder.cube.countries)
    for k, (e, i) in enumerate(pairs):
        rows = panel[(panel.exporter == e) & (panel.importer == i) & (panel.year >= 2001)]
        trade = rows["value"].sum()
        fitted = sum(
            np.exp(builder.gravity(b)["log_fitted"][countries.index(e), countries.index(i)])
            for b in (1, 2, 3)
        )
        got = feats["pair_effect"].iloc[k]
        if trade == 0:
            assert np.isnan(got), (e, i)
        else:
            assert got == pytest.approx(np.log(trade / fitted), abs=EXACT), (e, i)
    # the doubled pair trades more than gravity predicts; C->D less (one year in three)
    assert feats["pair_effect"].iloc[0] > 0 > feats["pair_effect"].iloc[1]


def _entry_panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for year in (1990, 1995, 1997, 2000):
        for c in ("A", "B", "C", "D"):
            for p in ("p1", "p2", "p3"):
                if rng.uniform() < 0.9:
                    rows.append((c, "world", p, year, float(rng.integers(1, 100))))
    return pd.DataFrame(rows, columns=["exporter", "importer", "product", "year", "value"])


def _density_fn(panel: pd.DataFrame, year: int) -> RelatednessFeatures:
    """A stand-in relatedness: density = (year - 1990) / 10 + product number / 100."""
    rows = panel[panel["year"] == year][["exporter", "product"]].drop_duplicates()
    frame = pd.DataFrame(
        {
            "year": year,
            "country": rows["exporter"].to_numpy(),
            "product": rows["product"].to_numpy(),
            "density": (year - 1990) / 10 + rows["product"].str[1].astype(int).to_numpy() / 100,
            "pci": 0.0,
            "cog": 0.0,
        }
    )
    return RelatednessFeatures(frame)


def _rca_by_hand(panel: pd.DataFrame, year: int) -> pd.Series:
    x = panel[panel.year == year].pivot_table(
        index="exporter", columns="product", values="value", aggfunc="sum", fill_value=0.0
    )
    rca = x.div(x.sum(axis=1), axis=0).div(x.sum(axis=0) / x.to_numpy().sum(), axis=1)
    return rca.stack()


def test_entry_trajectories_against_hand_computations() -> None:
    panel = _entry_panel()
    builder = _builder(panel, bilateral=False, relatedness=_density_fn)
    cube = builder.cube
    cells = np.arange(cube.n_cells)
    a = 3  # 2000; previous observed year 1997 (gap 3); window 1995..2000 with LAGS = 2
    feats = builder.entry(a, cells, 5.0)
    keys = cube.keys(cells)
    now, before = _rca_by_hand(panel, 2000), _rca_by_hand(panel, 1997)
    world = panel.groupby(["year", "product"])["value"].sum()
    for k, (c, p) in enumerate(zip(keys["exporter"], keys["product"], strict=True)):
        r_now, r_before = now.get((c, p), 0.0), before.get((c, p), 0.0)
        assert feats["rca_change"].iloc[k] == pytest.approx((r_now - r_before) / 3, abs=EXACT)
        growth = np.log(world[(2000, p)] / world[(1995, p)]) / 5
        assert feats["product_growth_window"].iloc[k] == pytest.approx(growth, abs=EXACT)
        has = ((panel.exporter == c) & (panel["product"] == p)).groupby(panel.year).any()
        if has.get(2000, False) and has.get(1997, False):
            # the stand-in density rises by (2000 - 1997) / 10 over 3 years
            assert feats["density_change"].iloc[k] == pytest.approx(0.1, abs=EXACT)
        else:
            assert np.isnan(feats["density_change"].iloc[k])


def test_new_features_read_nothing_after_the_origin() -> None:
    panel = _gravity_world((2000, 2001, 2002, 2003, 2004))
    entry = _entry_panel()
    later = panel.assign(value=np.where(panel.year > 2002, panel.value * 7.0, panel.value))
    later_entry = entry.assign(
        value=np.where(entry.year > 1995, entry.value.to_numpy()[::-1], entry.value)
    )
    cols = ["pair_effect", "gravity_log_fitted"]
    a = _builder(panel).bilateral(2, np.arange(25), 4.0)[cols]
    b = _builder(later).bilateral(2, np.arange(25), 4.0)[cols]
    pd.testing.assert_frame_equal(a, b)
    cols = ["rca_change", "product_growth_window", "density_change"]
    x = _builder(entry, False, _density_fn).entry(1, np.arange(12), 5.0)[cols]
    y = _builder(later_entry, False, _density_fn).entry(1, np.arange(12), 5.0)[cols]
    pd.testing.assert_frame_equal(x, y)
