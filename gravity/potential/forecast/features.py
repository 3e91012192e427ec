"""Features known at the origin ``t0``: history, partners, structural gravity, relatedness.

Relatedness on product panels: density, PCI and COG of the exporter and product, and on
bilateral product panels the market side (the importer's density in the product) and the
presence of similar exporters (peers of the exporter already selling the product there).

Every feature of a cell at year index ``a`` is computed from years ``<= a`` of the cube, the PPML
fitted on year ``a`` alone and relatedness measured in year ``a``; nothing later is read. A
missing history (no row, or no earlier year) stays NaN and whether the cell had a row is its own
feature, so "not reported" and "reported zero" remain distinguishable.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gravity.exceptions import GravityError, GravityWarning
from gravity.panel.zeros import axes_of
from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.forecast.cube import Cube
from gravity.potential.model import ease_columns, fit_ease
from gravity.potential.options import PotentialOptions


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


#: The panel columns a year's relatedness reads (the canonical bilateral panel's).
RELATEDNESS_COLUMNS = ("exporter", "importer", "product", "year", "value")


def frame_hash(columns: list[pd.Series]) -> np.ndarray:
    """``pandas.util.hash_pandas_object(frame, index=False)`` of the frame of ``columns``.

    The same row hashes, combined one column at a time as pandas combines them (CPython's tuple
    hash), so only one column of the rows is held at once, not a copy of them all.

    Parameters
    ----------
    columns : list of pandas.Series
        The frame's columns, in order, of equal length (at least one).

    Returns
    -------
    numpy.ndarray
        One uint64 hash per row.
    """
    n_items = len(columns)
    mult = np.uint64(1000003)
    out: np.ndarray | None = None
    for k, column in enumerate(columns):
        h = pd.util.hash_pandas_object(column, index=False).to_numpy()
        if out is None:
            out = np.zeros_like(h) + np.uint64(0x345678)
        out ^= h
        out *= mult
        inverse = n_items - k
        mult += np.uint64(82520 + inverse + inverse)
    assert out is not None  # at least one column
    out += np.uint64(97531)
    return out


def _growth(now: np.ndarray, before: np.ndarray, gap: float) -> np.ndarray:
    if gap <= 0:
        return np.full(now.shape, np.nan)
    return (_log(now) - _log(before)) / gap


def rca_matrix(values: np.ndarray) -> np.ndarray:
    """Balassa RCA of a (countries, products) export matrix (0 where undefined)."""
    by_country = values.sum(axis=1, keepdims=True)
    by_product = values.sum(axis=0, keepdims=True)
    total = values.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        rca = (values / by_country) / (by_product / total)
    return np.nan_to_num(rca, nan=0.0, posinf=0.0)


@dataclass
class GlobalTables:
    """The small tables that bilateral features read besides a cell's own history, by year index.

    Sums and counts of positive cells by exporter, importer, pair, exporter x product, importer x
    product and product; each year's total and smallest positive flow; the year's structural
    gravity components (country x country) and relatedness (country x product). They are a few
    country x product arrays per year however many cells there are, so product-chunked scoring
    computes them once from the whole panel and passes them to every chunk.
    """

    countries: pd.Index
    products: pd.Index | None
    years: np.ndarray
    sums: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    scalars: dict[tuple[int, str], float] = field(default_factory=dict)
    gravity: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    related: dict[int, dict[str, np.ndarray] | None] = field(default_factory=dict)
    markets: dict[int, Any] = field(default_factory=dict)

    @property
    def n_products(self) -> int:
        """Number of products (1 for aggregate panels)."""
        return 1 if self.products is None else len(self.products)

    def restrict(self, indices: list[int]) -> GlobalTables:
        """A copy holding only the tables of the year indices ``indices``."""
        keep = set(indices)
        return GlobalTables(
            self.countries,
            self.products,
            self.years,
            {k: v for k, v in self.sums.items() if k[0] in keep},
            {k: v for k, v in self.scalars.items() if k[0] in keep},
            {k: v for k, v in self.gravity.items() if k in keep},
            {k: v for k, v in self.related.items() if k in keep},
            {k: v for k, v in self.markets.items() if k in keep},
        )


@dataclass
class FeatureBuilder:
    """Features of cells at an origin, with per-year fits (gravity, relatedness) cached.

    Parameters
    ----------
    cube : Cube
        Bilateral cube (``new_flow``, ``level``) or exporter x product cube (``new_product``).
    panel : pandas.DataFrame
        The canonical panel the cube was built from (for the PPML and relatedness fits).
    lags : int
        Observed years of history.
    ease_terms : list of str
        Bilateral regressors of the per-year gravity PPML.
    relatedness : callable, optional
        Relatedness measures of a year (product panels); it is given that year's rows of the
        :data:`RELATEDNESS_COLUMNS`.
    shared : dict, optional
        Relatedness features by year, shared by the builders of one run (computed once a year).
    tables : GlobalTables, optional
        Global tables computed from the whole panel, for a builder over one product chunk; by
        default the builder computes them from its own cube.
    """

    cube: Cube
    panel: pd.DataFrame
    lags: int
    ease_terms: list[str]
    relatedness: RelatednessFn | None = None
    counts: dict[str, int] = field(default_factory=dict)
    shared: dict[int, RelatednessFeatures] = field(default_factory=dict)
    tables: GlobalTables | None = None

    def __post_init__(self) -> None:
        e, i, p = self.cube.codes(np.arange(self.cube.n_cells))
        self._e, self._i, self._p = e, i, p
        # a chunk's builder reads the tables of the whole panel; its products are a subset
        self._owns_tables = self.tables is None
        if self.tables is None:
            self.tables = GlobalTables(self.cube.countries, self.cube.products, self.cube.years)
        glob = self.tables
        if self.cube.products is None or glob.products is None:
            self._gp = p
        else:
            self._gp = glob.products.get_indexer(self.cube.products)[p]

    def covariate_hash(self, a: int) -> str:
        """Hash of the covariates of year index ``a``, in row order.

        The numeric columns other than value and year: those the gravity fit may use. Hashed a
        column at a time (:func:`frame_hash`): the year's rows of one column are held at once.
        """
        cols = [
            c
            for c in self.panel.columns
            if c not in ("value", "year") and pd.api.types.is_numeric_dtype(self.panel[c])
        ]
        if not cols:
            return ""
        year = int(self.cube.years[a])
        hashed = frame_hash([self.year_rows(year, [c])[c] for c in cols])
        return hashlib.sha256(hashed.tobytes()).hexdigest()

    def year_rows(self, year: int, columns: list[str] | None = None) -> pd.DataFrame:
        """The panel's rows of ``year``, in panel order, of ``columns`` only (all when omitted).

        Columns of ``columns`` the panel lacks are left out (a reader of them raises its own
        error). Rows that are one run of the panel (a single year, a panel sorted by year) are a
        slice of it, not a copy; only the columns asked for are copied otherwise. The row
        positions are found again at each call rather than kept: they would hold eight bytes
        per row of the panel for the whole run.

        Parameters
        ----------
        year : int
            The year.
        columns : list of str, optional
            The columns to keep.

        Returns
        -------
        pandas.DataFrame
            The rows, with the panel's index.
        """
        panel = self.panel
        rows = np.flatnonzero(panel["year"].to_numpy() == int(year))
        if columns is None and rows.size == len(panel):
            return panel
        # rows and columns taken in one step: only the year's rows of the columns asked are
        # copied (selecting the columns first would copy every year of them without copy-on-write)
        wanted = set(panel.columns if columns is None else columns)
        cols = [k for k, c in enumerate(panel.columns) if c in wanted]
        if rows.size and rows[-1] - rows[0] + 1 == rows.size:
            return panel.iloc[int(rows[0]) : int(rows[-1]) + 1, cols]
        return panel.iloc[rows, cols]

    # -- per-year components -----------------------------------------------------------------
    @property
    def glob(self) -> GlobalTables:
        """The global tables (the builder's own, or those of the whole panel for a chunk)."""
        assert self.tables is not None  # set in __post_init__
        return self.tables

    def _missing(self, what: str, a: int) -> GravityError:
        return GravityError(
            f"the {what} of {self.cube.years[a]} were not computed from the whole panel; "
            "score chunks only at the base year the model was fitted for"
        )

    def gravity(self, a: int) -> dict[str, np.ndarray]:
        """Structural gravity of year index ``a`` by country pair (C x C arrays).

        A PPML of that year's aggregate flows on ``ease_terms`` with exporter and importer
        effects: ``supply`` and ``demand`` are the effects, ``ease`` the bilateral index and
        ``log_fitted`` their sum; NaN where an effect is not identified (no trade that year).
        """
        if a in self.glob.gravity:
            return self.glob.gravity[a]
        if not self._owns_tables:
            raise self._missing("gravity components", a)
        year = int(self.cube.years[a])
        n_c = len(self.cube.countries)
        out = {k: np.full((n_c, n_c), np.nan) for k in ("supply", "demand", "ease")}
        try:
            # only what the fit reads: the year's flows and the ease terms' columns (inside the
            # try: terms that do not parse fail this year's fit, as they fail in the fit)
            sub = self.year_rows(
                year, ["exporter", "importer", "year", "value", *ease_columns(self.ease_terms)]
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GravityWarning)
                universe = axes_of(sub, [year])
                opts = PotentialOptions(ease_terms=self.ease_terms, pair_effects=False)
                ease, _, fe, _ = fit_ease(sub, universe, opts, year)
        except GravityError:
            self.counts["gravity_fits_failed"] = self.counts.get("gravity_fits_failed", 0) + 1
        else:
            countries = self.cube.countries
            e_lab = ease.index.get_level_values(0).astype(str)
            i_lab = ease.index.get_level_values(1).astype(str)
            ee, ii = countries.get_indexer(e_lab), countries.get_indexer(i_lab)
            ok = (ee >= 0) & (ii >= 0)
            out["ease"][ee[ok], ii[ok]] = ease.to_numpy()[ok]
            sup = fe["exporter^year"]
            dem = fe["importer^year"]
            s_idx = countries.get_indexer([str(x).rsplit("^", 1)[0] for x in sup.index])
            d_idx = countries.get_indexer([str(x).rsplit("^", 1)[0] for x in dem.index])
            s_vec = np.full(n_c, np.nan)
            d_vec = np.full(n_c, np.nan)
            s_vec[s_idx[s_idx >= 0]] = sup.to_numpy()[s_idx >= 0]
            d_vec[d_idx[d_idx >= 0]] = dem.to_numpy()[d_idx >= 0]
            out["supply"] = np.broadcast_to(s_vec[:, None], (n_c, n_c)).copy()
            out["demand"] = np.broadcast_to(d_vec[None, :], (n_c, n_c)).copy()
        out["log_fitted"] = out["supply"] + out["demand"] + out["ease"]
        self.glob.gravity[a] = out
        return out

    def related(self, a: int) -> dict[str, np.ndarray] | None:
        """Density, PCI and COG of year index ``a`` as (countries, products) arrays."""
        if self.cube.products is None:
            return None
        if a in self.glob.related:
            return self.glob.related[a]
        if not self._owns_tables:
            raise self._missing("relatedness features", a)
        if self.relatedness is None:
            self.glob.related[a] = None
            return None
        year = int(self.cube.years[a])
        # the year's own rows: relatedness of a year is measured on that year (and so reads
        # nothing after it)
        if year not in self.shared:
            self.shared[year] = self.relatedness(
                self.year_rows(year, list(RELATEDNESS_COLUMNS)), year
            )
        features = self.shared[year]
        frame = features.frame[features.frame["year"] == year]
        c = self.cube.countries.get_indexer(frame["country"].astype(str))
        p = self.cube.products.get_indexer(frame["product"].astype(str))
        ok = (c >= 0) & (p >= 0)
        shape = (len(self.cube.countries), self.cube.n_products)
        out = {}
        for name in ("density", "pci", "cog"):
            arr = np.full(shape, np.nan)
            arr[c[ok], p[ok]] = frame[name].to_numpy(dtype=float)[ok]
            out[name] = arr
        market = features.market
        if market is not None and self.cube.bilateral:
            # market side: how much the importer buys of products related to p
            imports = market.importer_frame()
            j = self.cube.countries.get_indexer(imports["importer"].astype(str))
            q = self.cube.products.get_indexer(imports["product"].astype(str))
            hit = (j >= 0) & (q >= 0)
            arr = np.full(shape, np.nan)
            arr[j[hit], q[hit]] = imports["importer_density"].to_numpy(dtype=float)[hit]
            out["market_relatedness"] = arr
            self.glob.markets[a] = market
        self.glob.related[a] = out
        return out

    def export_matrix(self, a: int) -> np.ndarray:
        """Exports by (country, product) in year index ``a``."""
        cube = self.cube
        n_c, n_p = len(cube.countries), cube.n_products
        flat = np.bincount(self._e * n_p + self._p, weights=cube.values[a], minlength=n_c * n_p)
        return flat.reshape(n_c, n_p)

    # -- features ----------------------------------------------------------------------------
    def _history(self, a: int, cells: np.ndarray, f: dict[str, np.ndarray]) -> None:
        cube, years = self.cube, self.cube.years
        v0 = cube.values[a, cells]
        f["log_value"] = _log(v0)
        f["observed"] = cube.observed[a, cells].astype(float)
        for lag in range(1, self.lags + 1):
            b = a - lag
            if b >= 0:
                f[f"log_value_lag{lag}"] = _log(cube.values[b, cells])
                f[f"observed_lag{lag}"] = cube.observed[b, cells].astype(float)
                f[f"gap_lag{lag}"] = np.full(cells.size, float(years[a] - years[b]))
            else:
                for name in ("log_value", "observed", "gap"):
                    f[f"{name}_lag{lag}"] = np.full(cells.size, np.nan)
        hist = cube.values[: a + 1, cells] > 0
        f["n_positive_years"] = hist.sum(axis=0).astype(float)
        f["n_observed_years"] = cube.observed[: a + 1, cells].sum(axis=0).astype(float)
        ever = hist.any(axis=0)
        last = a - np.argmax(hist[::-1], axis=0)
        f["years_since_positive"] = np.where(ever, years[a] - years[last], np.nan).astype(float)
        f["growth"] = (
            _growth(v0, cube.values[a - 1, cells], float(years[a] - years[a - 1]))
            if a > 0
            else np.full(cells.size, np.nan)
        )

    def _totals(self, a: int, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Sum and count of positive cells by ``name`` (exporter, importer, pair, ...), cached.

        Product keys use the global product codes, so a chunk reads the whole panel's tables.
        """
        sums = self.glob.sums
        if (a, name) not in sums:
            if not self._owns_tables:
                raise self._missing(f"{name} totals", a)
            n_c, n_p = len(self.cube.countries), self.glob.n_products
            key = {
                "exporter": self._e,
                "importer": self._i,
                "pair": self._e * n_c + self._i,
                "exporter_product": self._e * n_p + self._gp,
                "importer_product": self._i * n_p + self._gp,
                "product": self._gp,
            }[name]
            v = self.cube.values[a]
            sums[(a, name)] = (
                np.bincount(key, weights=v, minlength=n),
                np.bincount(key, v > 0, minlength=n),
            )
        return sums[(a, name)]

    def _scalar(self, a: int, name: str) -> float:
        """The year's total trade (``total``) or smallest positive flow (``min_positive``)."""
        key = (a, name)
        if key not in self.glob.scalars:
            if not self._owns_tables:
                raise self._missing(name, a)
            v = self.cube.values[a]
            self.glob.scalars[key] = float(v.sum() if name == "total" else v[v > 0].min())
        return self.glob.scalars[key]

    def min_positive(self, a: int) -> float:
        """The smallest positive flow of year index ``a`` in the whole panel."""
        return self._scalar(a, "min_positive")

    def prepare(self, a: int) -> None:
        """Compute every global table the bilateral features of year index ``a`` read."""
        n_c, n_p = len(self.cube.countries), self.glob.n_products
        for b in (a - 1, a):
            if b < 0:
                continue
            self._scalar(b, "total")
            for name in ("exporter", "importer"):
                self._totals(b, name, n_c)
            if self.cube.products is not None:
                self._totals(b, "importer_product", n_c * n_p)
        self.min_positive(a)
        for b in self.window(a):
            self.gravity(b)
            self._totals(b, "pair", n_c * n_c)
        if self.cube.products is not None:
            self._totals(a, "exporter_product", n_c * n_p)
            self._totals(a, "product", n_p)
            self.related(a)
        self.gravity(a)

    def window(self, a: int) -> range:
        """Year indices of the history window of ``a``: ``a`` and the ``lags`` years before."""
        return range(max(a - self.lags, 0), a + 1)

    def pair_effect(self, a: int, e: np.ndarray, i: np.ndarray) -> np.ndarray:
        """The country pair's PPML fixed effect over the history window, given the yearly fits.

        In a PPML with exporter-year, importer-year and pair effects, the first-order condition
        of the pair effect is ``exp(pair) = sum_t X_ijt / sum_t mu_ijt``, with ``mu`` the fitted
        value without it. Here ``mu`` is each year's structural gravity fit (:meth:`gravity`,
        fitted on that year alone) and ``t`` runs over :meth:`window`: years ``<= t0`` only. It is
        the log of that ratio: how much more the pair trades than its distance, contiguity and
        agreements predict, which the yearly fits leave out. NaN where the pair had no trade in
        the window (the effect is not identified: PPML puts it at minus infinity) or no year had
        a fit for it. Pairs are countries, whatever the product: on product panels ``X_ijt`` is
        the pair's total over products.
        """
        n_c = len(self.cube.countries)
        trade = np.zeros(e.size)
        fitted = np.zeros(e.size)
        for b in self.window(a):
            log_fit = self.gravity(b)["log_fitted"][e, i]
            ok = np.isfinite(log_fit)
            pair_tot, _ = self._totals(b, "pair", n_c * n_c)
            trade += np.where(ok, pair_tot[e * n_c + i], 0.0)
            fitted += np.where(ok, np.exp(np.where(ok, log_fit, 0.0)), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((trade > 0) & (fitted > 0), np.log(trade / fitted), np.nan)

    def bilateral(self, a: int, cells: np.ndarray, horizon: float) -> pd.DataFrame:
        """Features of bilateral cells at year index ``a`` for a forecast ``horizon`` years on."""
        cube, years = self.cube, self.cube.years
        n_c, n_p = len(cube.countries), self.glob.n_products
        e, i, local_p = cube.codes(cells)
        # global product codes: the tables are those of the whole panel
        p = self._gp[local_p] if cube.products is not None else local_p
        f: dict[str, np.ndarray] = {}
        self._history(a, cells, f)
        rev = cube.reverse(cells)
        f["log_reverse"] = _log(cube.values[a, rev])
        f["reverse_positive_years"] = (cube.values[: a + 1, rev] > 0).sum(axis=0).astype(float)
        gap = float(years[a] - years[a - 1]) if a > 0 else 0.0
        for name, idx in (("exporter", e), ("importer", i)):
            tot, cnt = self._totals(a, name, n_c)
            f[f"log_{name}_total"] = _log(tot[idx])
            f[f"{name}_partners"] = cnt[idx].astype(float)
            if a > 0:
                before, _ = self._totals(a - 1, name, n_c)
                f[f"{name}_growth"] = _growth(tot[idx], before[idx], gap)
            else:
                f[f"{name}_growth"] = np.full(cells.size, np.nan)
        pair = e * n_c + i
        if cube.products is not None:
            pair_tot, pair_cnt = self._totals(a, "pair", n_c * n_c)
            f["log_pair_total"] = _log(pair_tot[pair])
            f["pair_products"] = pair_cnt[pair].astype(float)
            xik, nik = self._totals(a, "exporter_product", n_c * n_p)
            mjk, njk = self._totals(a, "importer_product", n_c * n_p)
            wk, _ = self._totals(a, "product", n_p)
            f["log_exporter_product"] = _log(xik[e * n_p + p])
            f["exporter_product_partners"] = nik[e * n_p + p].astype(float)
            f["log_importer_product"] = _log(mjk[i * n_p + p])
            f["importer_product_partners"] = njk[i * n_p + p].astype(float)
            f["log_world_product"] = _log(wk[p])
            if a > 0:
                mjk0, _ = self._totals(a - 1, "importer_product", n_c * n_p)
                f["importer_product_growth"] = _growth(mjk[i * n_p + p], mjk0[i * n_p + p], gap)
            else:
                f["importer_product_growth"] = np.full(cells.size, np.nan)
            rca = rca_matrix(xik.reshape(n_c, n_p))
            f["rca"] = rca[e, p]
            rel = self.related(a)
            if rel is not None:
                for name, arr in rel.items():
                    f[name] = arr[i, p] if name == "market_relatedness" else arr[e, p]
            if a in self.glob.markets:
                # similarity-weighted share of the exporter's peers already selling p to j
                keys = cube.keys(cells)
                f["similar_exporters"] = self.glob.markets[a].peer_presence(
                    keys["exporter"], keys["importer"], keys["product"]
                )
        grav = self.gravity(a)
        for name in ("supply", "demand", "ease", "log_fitted"):
            f[f"gravity_{name}"] = grav[name][e, i]
        f["pair_effect"] = self.pair_effect(a, e, i)
        if cube.products is not None:
            # product-level structural prediction: the pair's gravity ease times the exporter's
            # supply and the importer's demand of the product (log X_ik + log M_jk - log W_k)
            f["gravity_log_fitted_product"] = (
                grav["ease"][e, i]
                + f["log_exporter_product"]
                + f["log_importer_product"]
                - f["log_world_product"]
            )
        f["world_growth"] = np.full(cells.size, self.world_growth(a))
        f["horizon"] = np.full(cells.size, float(horizon))
        # the persistence x growth baseline's own log change, in the form it uses it: one column
        # a tree can split on, where the product of two columns needs many splits
        f["world_growth_horizon"] = f["world_growth"] * f["horizon"]
        return pd.DataFrame(f)

    def world_growth(self, a: int) -> float:
        """Trailing annual log growth of all trade in the cube, previous observed year to ``a``."""
        if a == 0:
            return float("nan")
        now, before = self._scalar(a, "total"), self._scalar(a - 1, "total")
        if now <= 0 or before <= 0:
            return float("nan")
        return float(np.log(now / before) / (self.cube.years[a] - self.cube.years[a - 1]))

    def entry(self, a: int, cells: np.ndarray, horizon: float) -> pd.DataFrame:
        """Features of exporter x product cells (an exporter x product cube) at ``a``."""
        cube, years = self.cube, self.cube.years
        n_p = cube.n_products
        c, _, p = cube.codes(cells)
        f: dict[str, np.ndarray] = {}
        self._history(a, cells, f)
        mats = [self.export_matrix(b) for b in range(a + 1)]
        rcas = np.stack([rca_matrix(m)[c, p] for m in mats])
        f["rca"] = rcas[-1]
        for lag in range(1, self.lags + 1):
            f[f"rca_lag{lag}"] = rcas[-1 - lag] if a - lag >= 0 else np.full(cells.size, np.nan)
        # the trajectory: how RCA moved into the origin (per year, so irregular gaps compare)
        f["rca_change"] = (
            (rcas[-1] - rcas[-2]) / float(years[a] - years[a - 1])
            if a > 0
            else np.full(cells.size, np.nan)
        )
        comp = rcas >= 1
        f["n_rca_years"] = comp.sum(axis=0).astype(float)
        ever = comp.any(axis=0)
        last = a - np.argmax(comp[::-1], axis=0)
        f["years_since_rca"] = np.where(ever, years[a] - years[last], np.nan).astype(float)
        x = mats[-1]
        m = rca_matrix(x) >= 1
        f["log_exporter_total"] = _log(x.sum(axis=1)[c])
        f["log_product_total"] = _log(x.sum(axis=0)[p])
        f["diversity"] = m.sum(axis=1)[c].astype(float)
        f["ubiquity"] = m.sum(axis=0)[p].astype(float)
        if a > 0:
            gap = float(years[a] - years[a - 1])
            prev = mats[-2]
            f["exporter_growth"] = _growth(x.sum(axis=1)[c], prev.sum(axis=1)[c], gap)
            f["product_growth"] = _growth(x.sum(axis=0)[p], prev.sum(axis=0)[p], gap)
        else:
            f["exporter_growth"] = np.full(cells.size, np.nan)
            f["product_growth"] = np.full(cells.size, np.nan)
        # the product's world growth over the whole history window (annual, log)
        first = self.window(a)[0]
        f["product_growth_window"] = _growth(
            x.sum(axis=0)[p], mats[first].sum(axis=0)[p], float(years[a] - years[first])
        )
        rel = self.related(a)
        if rel is not None:
            for name in ("density", "pci", "cog"):
                f[name] = rel[name][c, p]
            before = self.related(a - 1) if a > 0 else None
            f["density_change"] = (
                (rel["density"][c, p] - before["density"][c, p]) / float(years[a] - years[a - 1])
                if before is not None
                else np.full(cells.size, np.nan)
            )
        f["world_growth"] = np.full(cells.size, self.world_growth(a))
        f["horizon"] = np.full(cells.size, float(horizon))
        del n_p
        return pd.DataFrame(f)
