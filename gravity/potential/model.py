"""Export potential from structural gravity: supply x demand x ease, projected to a horizon.

For exporter ``i``, destination ``j`` and product ``k`` (base year ``T``, horizon ``h``)::

    v_ijk(T + h) = exp( S_ik + D_jk + E_ij + h * (g_i + g_jk) )

- ``E_ij`` (ease) is the bilateral part of an aggregate PPML over the training window,
  ``X_ijt = exp(pi_it + chi_jt + beta' z_ijt [+ mu_ij])``: ``beta' z_ijT (+ mu_ij)``. Pairs whose
  pair effect is not identified (no trade in the window) get the 10th percentile of the
  identified ones — never-traded pairs are harder than average, but not impossible.
- ``S_ik`` and ``D_jk`` are the exporter x product and importer x product fixed effects of a
  product-level PPML of base-year flows with ``E_ij`` as an offset: supply and demand, with the
  structural interpretation of Anderson & van Wincoop (2003) once ease is fixed.
- Where ``i`` does not export ``k`` competitively (RCA < 1) or at all (its fixed effect is not
  identified), supply is predicted from relatedness: an OLS of the identified competitive
  ``S_ik`` on density and PCI with exporter and product effects, evaluated at ``i``'s density
  for ``k``. Potential supply is then the larger of observed and predicted.
- ``g_jk`` is the annual log growth of ``j``'s imports of ``k`` over the window (falling back to
  ``j``'s total import growth) and ``g_i`` that of ``i``'s total exports, both capped.
- Without a product dimension, ``S_i`` and ``D_j`` are the exporter-year and importer-year
  effects of the ease fit at the base year.

Untapped potential is ``max(v - X, 0)`` with ``X`` the base-year flow, and the realised share
``X / v``. Intervals: empirical quantiles of the base-year log residuals ``log(X / fitted)`` of
positive flows, by product (pooled when a product has fewer than ``MIN_RESIDUALS``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml
from gravity.estimation.results import FitResult
from gravity.exceptions import DataError, GravityWarning
from gravity.panel.zeros import Axes, axes_of, dense_flows
from gravity.potential.grid import check_panel, log_growth
from gravity.potential.options import PotentialOptions

# pairs without an identified pair effect get this quantile of the identified ones
UNIDENTIFIED_PAIR_QUANTILE = 0.10
# a product needs this many positive base-year flows for its own residual quantiles
MIN_RESIDUALS = 30
# density enters the supply regression as log(density + DENSITY_FLOOR): density is a share in [0, 1]
DENSITY_FLOOR = 1e-3


@dataclass(frozen=True)
class PotentialResult:
    """Potential values per exporter x importer (x product), and how they were built."""

    frame: pd.DataFrame
    """exporter, importer, [product,] base_year, year, actual, fitted, potential,
    potential_low, potential_high, untapped, realised_share, supply, demand, ease,
    demand_growth, supply_growth, supply_source."""
    ease_fit: FitResult | None
    product_fit: FitResult | None
    options: PotentialOptions
    base_year: int
    counts: dict[str, int] = field(default_factory=dict)
    """Rows removed or imputed by reason, for the manifest."""


def _terms_frame(pairs: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    from gravity.estimation.formula import Term

    out = pairs[["exporter", "importer", "year"]].copy()
    for term in terms:
        out[term] = Term(term).evaluate(pairs)
    return out


def pair_covariates(panel: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per exporter, importer, year with the covariate columns (first value)."""
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise DataError(
            f"export potential: ease term column(s) {missing} are not in the panel; set "
            "potential.ease_terms to columns it has (or [] with pair_effects: true)"
        )
    keys = ["exporter", "importer", "year"]
    # the first row of each key, found on integer codes: a copy of the key and covariate
    # columns of every row (tens of millions at HS6) would cost gigabytes
    ids = np.zeros(len(panel), dtype=np.int64)
    for key in keys:
        column = panel[key]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, size = column.cat.codes.to_numpy(), len(column.cat.categories)
        else:
            codes, uniques = pd.factorize(column)
            size = len(uniques)
        ids = ids * (size + 1) + (codes + 1)  # -1 (missing) is a key of its own
    _, first = np.unique(ids, return_index=True)
    return panel[keys + columns].take(np.sort(first)).reset_index(drop=True)


def _pair_weight(frame: pd.DataFrame, weights: pd.Series) -> np.ndarray:
    key = frame["exporter"].astype(str) + "^" + frame["importer"].astype(str)
    return key.map(weights).fillna(0.0).to_numpy(dtype=float)


def ease_columns(ease_terms: list[str]) -> list[str]:
    """The panel columns the ease terms read (``[]`` without terms).

    Parameters
    ----------
    ease_terms : list of str
        Bilateral regressors, as ``potential.ease_terms``.

    Returns
    -------
    list of str
        The columns, in the terms' order (a column read by two terms is listed twice).
    """
    if not ease_terms:
        return []
    from gravity.estimation.formula import parse_formula

    probe = parse_formula("value ~ " + " + ".join(ease_terms))
    return [c for t in probe.regressors for c in t.columns()]


def fit_ease(
    panel: pd.DataFrame,
    universe: Axes,
    options: PotentialOptions,
    base_year: int,
    pair_weights: pd.Series | None = None,
) -> tuple[pd.Series, FitResult | None, dict[str, pd.Series], dict[str, int]]:
    """Aggregate PPML over the window; returns ease by pair at the base year, and the fit."""
    counts: dict[str, int] = {}
    needed = ease_columns(options.ease_terms)
    covs = pair_covariates(panel, needed) if needed else None
    frames = []
    for year in universe.years:
        grid = dense_flows(panel, Axes(universe.exporters, universe.importers), year)
        grid["year"] = year
        frames.append(grid)
    agg = pd.concat(frames, ignore_index=True)
    if covs is not None:
        agg = agg.merge(covs, on=["exporter", "importer", "year"], how="left")
        lacking = agg[needed].isna().any(axis=1)
        counts["ease_rows_without_covariates"] = int(lacking.sum())
    fe = "exporter^year + importer^year" + (" + exporter^importer" if options.pair_effects else "")
    rhs = " + ".join(options.ease_terms) if options.ease_terms else "1"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GravityWarning)
        weights = None
        if pair_weights is not None:
            agg["__pair_weight"] = _pair_weight(agg, pair_weights)
            weights = "__pair_weight"
        fit = Ppml(f"value ~ {rhs} | {fe}", agg, weights=weights).fit()
    counts["ease_rows_separated"] = int(fit.nobs_dropped.get("fe_zero", 0))
    for w in caught:
        if not issubclass(w.category, GravityWarning) or "removed before PPML" not in str(
            w.message
        ):
            warnings.warn(w.message, w.category, stacklevel=2)
    base = agg[agg["year"] == base_year][["exporter", "importer"]].reset_index(drop=True)
    ease = pd.Series(0.0, index=pd.MultiIndex.from_frame(base))
    if options.ease_terms:
        terms = _terms_frame(
            agg[agg["year"] == base_year].reset_index(drop=True), list(fit.coef.index)
        )
        ease = pd.Series(
            terms[list(fit.coef.index)].to_numpy() @ fit.coef.to_numpy(),
            index=pd.MultiIndex.from_frame(base),
        )
    if options.pair_effects:
        mu = fit.fixed_effects["exporter^importer"]
        key = base["exporter"] + "^" + base["importer"]
        pair = key.map(mu)
        fill = float(np.nanquantile(mu.to_numpy(), UNIDENTIFIED_PAIR_QUANTILE))
        counts["pairs_without_pair_effect"] = int(pair.isna().sum())
        ease = ease + pair.fillna(fill).to_numpy()
    return ease, fit, fit.fixed_effects, counts


def growth_rates(
    panel: pd.DataFrame, universe: Axes, options: PotentialOptions, has_product: bool
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Annual log growth over the window.

    Returns the growth of exporters' total exports, of importers' total imports, and of
    importer x product imports (None without products).
    """
    first, last = universe.years[0], universe.years[-1]
    span = last - first
    used = [c for c in ("exporter", "importer", "product", "year", "value") if c in panel.columns]
    sub = panel.loc[
        (panel["year"].isin([first, last]) & (panel["exporter"] != panel["importer"])).to_numpy(),
        used,
    ]
    exports = sub.groupby(["year", "exporter"], observed=True)["value"].sum()
    imports = sub.groupby(["year", "importer"], observed=True)["value"].sum()
    cap = options.max_annual_growth
    exporters, importers = pd.Index(universe.exporters), pd.Index(universe.importers)
    zero_e = pd.Series(0.0, index=exporters)
    supply = zero_e
    if options.supply_growth == "exports" and span > 0:
        supply = log_growth(
            exports.get(first, zero_e).reindex(exporters),
            exports.get(last, zero_e).reindex(exporters).fillna(0.0),
            span,
            cap,
        )
    importer_growth = pd.Series(0.0, index=importers)
    if options.demand_growth == "imports" and span > 0:
        zero_i = pd.Series(0.0, index=importers)
        importer_growth = log_growth(
            imports.get(first, zero_i).reindex(importers),
            imports.get(last, zero_i).reindex(importers).fillna(0.0),
            span,
            cap,
        )
    if not has_product or options.demand_growth == "none" or span == 0:
        return supply, importer_growth, None
    return supply, importer_growth, product_demand_growth(sub, importer_growth, universe, options)


def product_demand_growth(
    panel: pd.DataFrame, importer_growth: pd.Series, universe: Axes, options: PotentialOptions
) -> pd.Series:
    """Annual log growth of importer x product imports over the window.

    Where a market's imports of a product start or end at zero, the market's total import
    growth ``importer_growth`` is used. ``panel`` may hold only some products (a chunk): each
    product's rate reads its own rows only.
    """
    first, last = universe.years[0], universe.years[-1]
    sub = panel[panel["year"].isin([first, last]) & (panel["exporter"] != panel["importer"])]
    by_prod = sub.groupby(["year", "importer", "product"], observed=True)["value"].sum()
    end = by_prod.get(last, pd.Series(dtype=float))
    start = by_prod.get(first, pd.Series(dtype=float))
    end.index = end.index.set_names(["importer", "product"])
    start.index = start.index.set_names(["importer", "product"])
    fallback = pd.Series(
        importer_growth.reindex(end.index.get_level_values("importer")).to_numpy(), index=end.index
    )
    return log_growth(start, end, last - first, options.max_annual_growth, fallback)


def impute_supply(
    supply: pd.DataFrame, relatedness: pd.DataFrame | None, base_year: int
) -> tuple[pd.Series, pd.Series, dict[str, int]]:
    """Potential supply per exporter x product: observed, predicted from relatedness, or both."""
    frame = supply.copy()
    counts: dict[str, int] = {}
    features: list[str] = []
    if relatedness is not None:
        rel = relatedness[relatedness["year"] == base_year]
        rel = rel.rename(columns={"country": "exporter"})[
            ["exporter", "product", "rca", "density", "pci"]
        ]
        rel = rel.assign(exporter=rel["exporter"].astype(str), product=rel["product"].astype(str))
        frame = frame.merge(rel, on=["exporter", "product"], how="left")
        frame["log_density"] = np.log(frame["density"].fillna(0.0) + DENSITY_FLOOR)
        features = ["log_density"]
        competitive = frame["observed"].notna() & (frame["rca"].fillna(0.0) >= 1.0)
    else:
        competitive = frame["observed"].notna()
    counts["supply_observed"] = int(frame["observed"].notna().sum())
    train = frame[competitive]
    predicted = pd.Series(np.nan, index=frame.index)
    if len(train) > len(features) + 2 and train["exporter"].nunique() > 1:
        formula = (
            "observed ~ " + (" + ".join(features) if features else "1") + " | exporter + product"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GravityWarning)
            fit = Ols(formula, train.reset_index(drop=True)).fit()
        predicted = pd.Series(fit.predict(frame, unseen="nan"), index=frame.index)
    need = frame["observed"].isna() | ~competitive
    potential = frame["observed"].copy()
    better = need & predicted.notna() & (predicted > potential.fillna(-np.inf))
    potential[better] = predicted[better]
    source = pd.Series(np.where(frame["observed"].notna(), "observed", "none"), index=frame.index)
    source[better] = "predicted"
    counts["supply_predicted"] = int(better.sum())
    counts["supply_missing"] = int(potential.isna().sum())
    index = pd.MultiIndex.from_frame(frame[["exporter", "product"]])
    return (
        pd.Series(potential.to_numpy(), index=index),
        pd.Series(source.to_numpy(), index=index),
        counts,
    )


def _quantiles(
    residuals: pd.DataFrame, key: str | None, level: float
) -> tuple[pd.Series, float, float]:
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    pooled_lo, pooled_hi = pooled_interval(residuals["r"].to_numpy(), level)
    if key is None:
        return pd.Series(dtype=object), pooled_lo, pooled_hi
    grouped = residuals.groupby(key)["r"]
    sizes = grouped.size()
    q = grouped.quantile([lo_q, hi_q]).unstack()
    q = q[sizes.reindex(q.index) >= MIN_RESIDUALS]
    return pd.Series(list(zip(q[lo_q], q[hi_q], strict=True)), index=q.index), pooled_lo, pooled_hi


def add_gap_columns(frame: pd.DataFrame) -> None:
    """Add ``untapped`` and ``realised_share`` to ``frame`` in place.

    ``untapped`` is potential - actual floored at 0; ``realised_share`` is actual / potential,
    NaN where potential is not positive.
    """
    potential = frame["potential"].to_numpy(dtype=float)
    actual = frame["actual"].to_numpy(dtype=float)
    frame["untapped"] = np.maximum(potential - actual, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["realised_share"] = np.where(potential > 0, actual / potential, np.nan)


def fit_potential(
    panel: pd.DataFrame,
    options: PotentialOptions | None = None,
    relatedness: pd.DataFrame | None = None,
    pair_weights: pd.Series | None = None,
) -> PotentialResult:
    """Estimate export potential for every exporter, importer (and product).

    Parameters
    ----------
    panel : pandas.DataFrame
        Canonical panel: exporter, importer, [product,] year, value, and the columns that
        ``options.ease_terms`` use. Absent flows may be missing rows or zeros.
    options : PotentialOptions, optional
        Base year, horizon, window and the ease specification.
    relatedness : pandas.DataFrame, optional
        ``country_product`` table of the relatedness stage (year, country, product, rca,
        density, pci): enables supply prediction from relatedness.

    Returns
    -------
    PotentialResult
    """
    opts = options or PotentialOptions()
    has_product = check_panel(panel)
    panel = panel.assign(
        exporter=panel["exporter"].astype(str), importer=panel["importer"].astype(str)
    )
    if has_product:
        panel = panel.assign(product=panel["product"].astype(str))
    years = sorted(int(y) for y in panel["year"].unique())
    base_year = opts.year if opts.year is not None else years[-1]
    if base_year not in years:
        raise DataError(
            f"potential.year {base_year} is not in the panel (years {years[0]}..{years[-1]})"
        )
    window = [y for y in years if base_year - opts.window < y <= base_year]
    universe = axes_of(panel, window)
    counts: dict[str, int] = {
        "domestic_rows_ignored": int((panel["exporter"] == panel["importer"]).sum())
    }
    ease, ease_fit, ease_fe, ease_counts = fit_ease(panel, universe, opts, base_year, pair_weights)
    counts.update(ease_counts)
    g_supply, g_importer, g_demand = growth_rates(panel, universe, opts, has_product)
    if has_product:
        grid = dense_flows(panel, universe, base_year)
        pair_index = pd.MultiIndex.from_frame(grid[["exporter", "importer"]])
        grid["ease"] = ease.reindex(pair_index).to_numpy()
        lacking = grid["ease"].isna()
        counts["cells_without_ease"] = int(lacking.sum())
        grid = grid[~lacking].reset_index(drop=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GravityWarning)
            weights = None
            if pair_weights is not None:
                grid["__pair_weight"] = _pair_weight(grid, pair_weights)
                weights = "__pair_weight"
            product_fit = Ppml(
                "value ~ 1 | exporter^product + importer^product",
                grid,
                offset="ease",
                weights=weights,
            ).fit()
        counts["cells_separated"] = int(product_fit.nobs_dropped.get("fe_zero", 0))
        fe = product_fit.fixed_effects
        supply_obs = fe["exporter^product"]
        split = supply_obs.index.str.split("^", n=1, expand=True)
        supply_frame = pd.DataFrame(
            {
                "exporter": split.get_level_values(0),
                "product": split.get_level_values(1),
                "observed": supply_obs.to_numpy(),
            }
        )
        full = pd.MultiIndex.from_product(
            [pd.Index(universe.exporters), pd.Index(universe.products)],
            names=["exporter", "product"],
        )
        supply_frame = supply_frame.set_index(["exporter", "product"]).reindex(full).reset_index()
        supply, source, supply_counts = impute_supply(supply_frame, relatedness, base_year)
        counts.update(supply_counts)
        demand = fe["importer^product"]
        ek = pd.MultiIndex.from_frame(grid[["exporter", "product"]])
        grid["supply"] = supply.reindex(ek).to_numpy()
        grid["supply_source"] = source.reindex(ek).to_numpy()
        grid["demand"] = (grid["importer"] + "^" + grid["product"]).map(demand).to_numpy()
        by_market = g_importer.reindex(grid["importer"]).to_numpy()
        if g_demand is not None:
            by_product = g_demand.reindex(pd.MultiIndex.from_frame(grid[["importer", "product"]]))
            grid["demand_growth"] = np.where(by_product.isna(), by_market, by_product.to_numpy())
        else:
            grid["demand_growth"] = by_market
        fitted_full = np.exp(grid["supply"] + grid["demand"] + grid["ease"])
        observed_fit = pd.Series(np.nan, index=grid.index)
        in_sample = np.zeros(len(grid), dtype=bool)
        in_sample[product_fit.sample] = True
        observed_fit[in_sample] = product_fit.fitted
        grid["fitted"] = observed_fit.fillna(fitted_full)
    else:
        grid = dense_flows(panel, universe, base_year)
        pair_index = pd.MultiIndex.from_frame(grid[["exporter", "importer"]])
        grid["ease"] = ease.reindex(pair_index).to_numpy()
        product_fit = None
        ey = ease_fe["exporter^year"]
        iy = ease_fe["importer^year"]
        grid["supply"] = (grid["exporter"] + f"^{base_year}").map(ey).to_numpy()
        grid["demand"] = (grid["importer"] + f"^{base_year}").map(iy).to_numpy()
        grid["supply_source"] = np.where(grid["supply"].notna(), "observed", "none")
        grid["demand_growth"] = g_importer.reindex(grid["importer"]).to_numpy()
        grid["fitted"] = np.exp(grid["supply"] + grid["demand"] + grid["ease"])
    grid, counts["cells_without_demand_or_supply"] = project_grid(grid, g_supply, opts)
    add_intervals(grid, opts, has_product)
    if opts.interval_method == "bootstrap" and pair_weights is None:
        _bootstrap_intervals(grid, panel, opts, relatedness, has_product)
    grid = grid.drop(columns=["__pair_weight"], errors="ignore")
    grid.insert(2 + has_product, "base_year", base_year)
    grid.insert(3 + has_product, "year", base_year + opts.horizon)
    return PotentialResult(grid, ease_fit, product_fit, opts, base_year, counts)


def project_grid(
    grid: pd.DataFrame, g_supply: pd.Series, opts: PotentialOptions
) -> tuple[pd.DataFrame, int]:
    """Potential at the horizon, actual flows and the gap columns of a base-year grid.

    ``grid`` has supply, demand, ease, demand_growth and value (the base-year flow, renamed
    ``actual``); returns the grid and the number of cells without demand or supply.
    """
    grid["supply_growth"] = g_supply.reindex(grid["exporter"]).fillna(0.0).to_numpy()
    grid["demand_growth"] = grid["demand_growth"].fillna(0.0)
    link = grid["supply"] + grid["demand"] + grid["ease"]
    grid["potential"] = np.exp(
        link + opts.horizon * (grid["supply_growth"] + grid["demand_growth"])
    )
    no_potential = int(grid["potential"].isna().sum())
    grid["potential"] = grid["potential"].fillna(0.0)
    grid = grid.rename(columns={"value": "actual"})
    grid["actual"] = grid["actual"].where(grid["actual"] > opts.min_flow, 0.0)
    add_gap_columns(grid)
    return grid, no_potential


def log_residuals(grid: pd.DataFrame) -> pd.DataFrame:
    """``r = log(actual / fitted)`` of the positive cells (with ``product`` when present)."""
    positive = (grid["actual"] > 0) & (grid["fitted"] > 0)
    residuals = pd.DataFrame(
        {"r": np.log(grid.loc[positive, "actual"] / grid.loc[positive, "fitted"])}
    )
    if "product" in grid.columns:
        residuals["product"] = grid.loc[positive, "product"].to_numpy()
    return residuals


def pooled_interval(residuals: np.ndarray, level: float) -> tuple[float, float]:
    """The pooled log-residual quantiles of a ``level`` interval (0 without residuals)."""
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    if not len(residuals):
        return 0.0, 0.0
    return float(np.quantile(residuals, lo_q)), float(np.quantile(residuals, hi_q))


def add_intervals(
    grid: pd.DataFrame,
    opts: PotentialOptions,
    has_product: bool,
    pooled: tuple[float, float] | None = None,
) -> None:
    """Add ``potential_low`` and ``potential_high``.

    ``pooled`` replaces the pooled quantiles of the grid's own residuals (a chunk of products
    uses those of every product).
    """
    residuals = log_residuals(grid)
    key = "product" if has_product else None
    by_key, lo, hi = _quantiles(residuals, key, opts.interval)
    if pooled is not None:
        lo, hi = pooled
    if key is not None and len(by_key):
        # products without their own quantiles (fewer than MIN_RESIDUALS) take the pooled ones
        at = by_key.index.get_indexer(grid["product"])
        lo_arr = np.where(at >= 0, np.array([p[0] for p in by_key])[at], lo)
        hi_arr = np.where(at >= 0, np.array([p[1] for p in by_key])[at], hi)
    else:
        lo_arr = np.full(len(grid), lo)
        hi_arr = np.full(len(grid), hi)
    grid["potential_low"] = grid["potential"] * np.exp(lo_arr)
    grid["potential_high"] = grid["potential"] * np.exp(hi_arr)


def _bootstrap_draw(
    panel: pd.DataFrame,
    opts: PotentialOptions,
    relatedness: pd.DataFrame | None,
    pairs: pd.Index,
    seed: int,
    draw: int,
    keys: list[str],
) -> pd.Series:
    rng = np.random.default_rng([seed, draw])
    counts = rng.multinomial(len(pairs), np.full(len(pairs), 1.0 / len(pairs)))
    weights = pd.Series(counts.astype(float), index=pairs)
    frame = fit_potential(panel, opts, relatedness, pair_weights=weights).frame.set_index(keys)
    defined = frame["supply"].notna() & frame["demand"].notna() & frame["ease"].notna()
    return frame["potential"].where(defined)


def _bootstrap_intervals(
    grid: pd.DataFrame,
    panel: pd.DataFrame,
    opts: PotentialOptions,
    relatedness: pd.DataFrame | None,
    has_product: bool,
) -> None:
    """Pairs bootstrap of the potential interval.

    Resample exporter-importer pairs (multinomial frequency weights), refit the ease and
    product-level models, and take quantiles of each cell's potential over the draws.
    """
    keys = ["exporter", "importer", *(["product"] if has_product else [])]
    pairs = pd.Index(sorted(set(grid["exporter"] + "^" + grid["importer"])))
    plain = opts.model_copy(update={"interval_method": "empirical"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GravityWarning)
        draws = Parallel(n_jobs=opts.n_jobs)(
            delayed(_bootstrap_draw)(panel, plain, relatedness, pairs, opts.seed, b, keys)
            for b in range(opts.bootstrap_draws)
        )
    index = pd.MultiIndex.from_frame(grid[keys]) if len(keys) > 1 else pd.Index(grid[keys[0]])
    values = np.column_stack([d.reindex(index).to_numpy(dtype=float) for d in draws])
    lo_q, hi_q = (1 - opts.interval) / 2, 1 - (1 - opts.interval) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: cells never identified
        low = np.nanquantile(values, lo_q, axis=1)
        high = np.nanquantile(values, hi_q, axis=1)
    ok = np.isfinite(low) & np.isfinite(high)
    grid.loc[ok, "potential_low"] = np.minimum(low[ok], grid.loc[ok, "potential"])
    grid.loc[ok, "potential_high"] = np.maximum(high[ok], grid.loc[ok, "potential"])


def describe(result: PotentialResult) -> dict[str, Any]:
    """Summary for the manifest: counts, base year, fits."""
    out: dict[str, Any] = {"base_year": result.base_year, "counts": dict(result.counts)}
    if result.ease_fit is not None:
        out["ease_coefficients"] = {k: float(v) for k, v in result.ease_fit.coef.items()}
    return out
