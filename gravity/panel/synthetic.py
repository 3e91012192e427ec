"""A deterministic synthetic world with known structural-gravity parameters (the demo data).

:func:`generate_world` draws, from one ``numpy.random.default_rng(seed)`` stream, a world of
countries (ISO 3166 user-assigned style codes ``XAA``, ``XAB``, ... so they can never be mistaken
for real ones), products (codes ``"0001"``, ``"0002"``, ...) and years, and product-level
bilateral international flows in USD. The random draws live in
:mod:`gravity.panel.synthetic_process`; this module documents the model, builds the tables and
reads and writes them.

The world
---------
* **Countries** sit around seven fictional region centres (lat/lon, at least 250 km apart).
  ``dist`` is the haversine great-circle distance in km; ``contig`` is 1 for pairs closer than
  800 km, or nearest neighbours closer than 1500 km; ``comlang`` is 1 when both speak the same of
  ten languages (one per region plus three global ones); ``rta`` is 1 from the entry year of the
  pair's agreement on (45 % of same-region and 6 % of other pairs sign one, entering at a year drawn
  uniformly from 20 years before the sample to 5 years after it, so many enter *during* it).
* **Macro**: population and GDP per capita are log-normal in the first year; real GDP per capita
  grows with convergence, common and idiosyncratic shocks; nominal USD GDP adds 2 % inflation.
* **Capabilities**: each capability ``q`` has a difficulty ``h_q``; country ``i`` holds it in year
  ``t`` when ``development_it + aptitude_iq > h_q``. Development tracks real GDP per capita and
  never falls, so capability sets only grow. Product ``k`` (in one of ``n_sectors`` sectors) needs
  ``1 + Binomial(7, 0.4)`` capabilities, drawn mostly from its own sector; ``M_ikt`` counts those
  that ``i`` lacks. Products that share capabilities are co-exported (a product space), and a
  country that acquires a capability enters the related products that needed it.

The model (the truth)
---------------------
For ``i != j`` (international flows only), product ``k`` and year ``t``::

    E[X_ijkt] = mu_ijkt = exp(s_ikt + d_jkt + beta_dist * ln(dist_ij) + beta_contig * contig_ij
                              + beta_lang * comlang_ij + beta_rta * rta_ijt)
    s_ikt = ln A_t + supply_gdp_elasticity * ln(GDP_it) - capability_penalty * M_ikt
            + v_ik + e_ikt                     (v_ik ~ N(0, comparative_advantage_sd^2),
                                                e_ikt ~ N(0, supply_shock_sd^2))
    d_jkt = demand_gdp_elasticity * ln(GDP_jt) + ln(alpha_kt)

``alpha_kt`` are product expenditure shares common to all importers (they sum to one each year)
and ``A_t`` scales year ``t`` so that expected world trade is ``trade_to_gdp`` times world GDP.
Flows are compound Poisson-gamma: ``N ~ Poisson(lambda)`` shipments with
``lambda = (mu / m0_t) ** (1 - shipment_elasticity)``, each ``Gamma(shipment_shape, theta)``
with ``theta = mu / (lambda * shipment_shape)``. So ``E[X | mu] = mu`` exactly,
``P(X = 0) = exp(-lambda)`` and ``Var(X) = mu * m * (1 + 1 / shipment_shape)`` where
``m = mu / lambda`` is the mean shipment value. The shipment scale ``m0_t`` is the
``zero_quantile`` order statistic of year ``t``'s cell means, which pins the zero share (about
46 % for the defaults). Values are rounded to whole USD (a draw under half a dollar is no flow;
the mean moves by at most 50 cents a cell, nothing next to shipment scales in the thousands).

Which fit recovers which parameter:

* **Product level.** PPML of ``X_ijkt`` on ``ln(dist), contig, comlang, rta`` with
  exporter x product x year and importer x product x year fixed effects is correctly specified:
  the fixed effects absorb ``s_ikt`` and ``d_jkt``, so ``beta_*`` are the true coefficients. As
  ``d_jkt`` is importer-year plus product-year, exporter x product x year plus importer x year
  effects are also correctly specified.
* **Aggregate.** Summing over products, ``E[X_ijt] = exp(beta'z_ijt) * S_it * E_jt`` with
  ``S_it = sum_k exp(s_ikt + ln alpha_kt)`` and ``E_jt = GDP_jt ** demand_gdp_elasticity``, because
  demand shares do not depend on the importer. PPML of :meth:`SyntheticWorld.aggregate_trade` on
  the same regressors with exporter x year and importer x year effects is therefore correctly
  specified with the *same* ``beta_*`` (an exact factorisation, not an approximation). Adding pair
  effects would absorb distance, contiguity and language; ``beta_rta`` stays identified from the
  agreements that enter during the sample.
* Elasticities to GDP, the capability penalty and the noise parameters are absorbed by the fixed
  effects in both fits; they are part of the truth for relatedness and forecasting checks.
* :attr:`SyntheticWorld.truth` records all of this as JSON: the options, ``beta_dist``,
  ``beta_contig``, ``beta_lang``, ``beta_rta``, the regressor each multiplies, the fits that
  recover them, and the per-year calibration constants ``ln A_t`` and ``m0_t``.

Size
----
The default world (60 countries, 200 products, 2000-2021) has 15.6 million product-level cells;
only the positive ones are kept (``trade``: about 8.4 million rows, about 200 MB in memory,
32 MB as Parquet; a couple of seconds to draw).
:meth:`SyntheticWorld.dense_trade` rectangularises any selection of products and years, and
:meth:`SyntheticWorld.aggregate_trade` sums over products with zeros filled in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity.exceptions import ConfigError, DataError
from gravity.panel.synthetic_process import (
    FORMAT_VERSION,
    Capabilities,
    Geography,
    Macro,
    SyntheticWorldOptions,
    describe_truth,
    draw_capabilities,
    draw_flows,
    draw_geography,
    draw_macro,
)

__all__ = [
    "SyntheticSource",
    "SyntheticWorld",
    "SyntheticWorldOptions",
    "generate_world",
    "load_or_generate_world",
    "write_world",
]



class SyntheticSource(SyntheticWorldOptions):
    """The synthetic demo world as a panel's trade source (generated with a seed, cached)."""

    folder: Path = Path("data/demo")
    """Cache folder of the generated world (reused when it holds the same options)."""
    level: Literal["aggregate", "product"] = "aggregate"
    """Flows summed over products (``aggregate``) or product-level flows, zeros filled; product
    level keeps only ``sample.years`` (all 22 years of 200 products are 15.6 million rows)."""


FILE_NAMES: Final = {
    "trade": "trade.parquet",
    "countries": "countries.csv",
    "macro": "macro.csv",
    "pairs": "pairs.csv",
    "products": "products.csv",
    "truth": "truth.json",
}
# Column dtypes of every table; applied after generation and after reading, so both agree.
SCHEMAS: Final[dict[str, dict[str, str]]] = {
    "countries": {
        "country": "str",
        "name": "str",
        "region": "str",
        "language": "str",
        "lat": "float64",
        "lon": "float64",
    },
    "macro": {"country": "str", "year": "int64", "gdp": "float64", "population": "int64"},
    "pairs": {
        "exporter": "str",
        "importer": "str",
        "year": "int64",
        "dist": "float64",
        "contig": "int64",
        "comlang": "int64",
        "rta": "int64",
    },
    "products": {
        "product": "str",
        "name": "str",
        "sector": "str",
        "n_capabilities": "int64",
        "capabilities": "str",
        "complexity": "float64",
        "ubiquity": "float64",
    },
}
TRADE_COLUMNS: Final = ("exporter", "importer", "product", "year", "value")
# pandas < 3.1 needs the round-trip float parser for exact CSV reads; 3.1 made it the only one
# (and deprecated the argument).
_PANDAS_VERSION = tuple(int(v) for v in re.findall(r"\d+", pd.__version__)[:2])
CSV_READ_OPTIONS: Final[dict[str, Any]] = (
    {} if _PANDAS_VERSION >= (3, 1) else {"float_precision": "round_trip"}
)
# zstd level of trade.parquet: high enough to shrink the key columns, fast enough to stay light.
PARQUET_ZSTD_LEVEL: Final = 3


def country_codes(n: int) -> list[str]:
    """Synthetic country codes ``XAA, XAB, ..., XAZ, XBA, ...``.

    ISO 3166-1 leaves ``XAA``-``XZZ`` to users, so no real country has such a code (some bodies
    use ``XKX`` for Kosovo; it is only reached by worlds of more than 283 countries).
    """
    letters = [chr(ord("A") + c) for c in range(26)]
    return [f"X{letters[i // 26]}{letters[i % 26]}" for i in range(n)]


def product_codes(n: int) -> list[str]:
    """Zero-padded product codes ``"0001"`` to ``f"{n:04d}"``."""
    return [f"{k + 1:04d}" for k in range(n)]


def _conform(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Order and cast the columns of table ``name`` to :data:`SCHEMAS`."""
    schema = SCHEMAS[name]
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise DataError(f"synthetic table {name!r} lacks column(s) {missing}")
    return frame.loc[:, list(schema)].astype(schema).reset_index(drop=True)


def _key_dtypes(countries: list[str], products: list[str]) -> dict[str, pd.CategoricalDtype]:
    """Categorical dtypes of the trade key columns (categories in code order)."""
    country = pd.CategoricalDtype(pd.Index(countries, dtype="str"))
    return {
        "exporter": country,
        "importer": country,
        "product": pd.CategoricalDtype(pd.Index(products, dtype="str")),
    }


def _trade_frame(
    codes: tuple[np.ndarray, np.ndarray, np.ndarray],
    year: np.ndarray,
    value: np.ndarray,
    dtypes: dict[str, pd.CategoricalDtype],
) -> pd.DataFrame:
    """Build a trade table from exporter, importer and product codes, years and values."""
    keys = {
        col: pd.Categorical.from_codes(code, dtype=dtypes[col])
        for col, code in zip(("exporter", "importer", "product"), codes, strict=True)
    }
    return pd.DataFrame({**keys, "year": year.astype(np.int64), "value": value.astype(np.float64)})


def _conform_trade(frame: pd.DataFrame, countries: list[str], products: list[str]) -> pd.DataFrame:
    """Cast a read trade table to its schema: categorical keys, int64 year, float64 value."""
    out = frame.loc[:, list(TRADE_COLUMNS)].copy()
    for col, dtype in _key_dtypes(countries, products).items():
        out[col] = out[col].cat.set_categories(dtype.categories).astype(dtype)
    return out.astype({"year": "int64", "value": "float64"}).reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class SyntheticWorld:
    """A synthetic world: its options, its tables and the true parameters.

    Attributes
    ----------
    options : SyntheticWorldOptions
        The options it was drawn with (seed, sizes, true parameters).
    trade : pandas.DataFrame
        Positive product-level international flows: ``exporter``, ``importer``, ``product``
        (categoricals of the country and product codes), ``year`` (int64), ``value`` (float64,
        whole USD). Rows are sorted by year, exporter, importer, product.
    countries : pandas.DataFrame
        Static attributes: ``country``, ``name``, ``region``, ``language``, ``lat``, ``lon``.
    macro : pandas.DataFrame
        ``country``, ``year``, ``gdp`` (nominal USD), ``population``.
    pairs : pandas.DataFrame
        Every ordered pair and year: ``exporter``, ``importer``, ``year``, ``dist`` (km),
        ``contig``, ``comlang``, ``rta`` (int 0/1).
    products : pandas.DataFrame
        ``product``, ``name``, ``sector``, ``n_capabilities``, ``capabilities`` (space-separated
        capability ids), ``complexity`` (mean difficulty of the required capabilities) and
        ``ubiquity`` (share of country-years that hold every required capability).
    truth : dict
        JSON-serialisable true parameters and how they enter (see the module docstring).
    trade_years : tuple of int, optional
        The years ``trade`` holds when the world was read for some years only
        (:func:`load_or_generate_world` with ``years``); None when it holds every year.
    trade_rows : int, optional
        Positive flows of the whole world when ``trade`` holds some years only.
    """

    options: SyntheticWorldOptions
    trade: pd.DataFrame
    countries: pd.DataFrame
    macro: pd.DataFrame
    pairs: pd.DataFrame
    products: pd.DataFrame
    truth: dict[str, Any]
    trade_years: tuple[int, ...] | None = None
    trade_rows: int | None = None

    @property
    def n_positive(self) -> int:
        """Positive flows of the whole world (every year, whatever ``trade`` holds)."""
        return len(self.trade) if self.trade_rows is None else self.trade_rows

    @property
    def n_cells(self) -> int:
        """Cells of the rectangular product-level panel (ordered pairs x products x years)."""
        o = self.options
        return o.n_countries * (o.n_countries - 1) * o.n_products * o.n_years

    @property
    def zero_share(self) -> float:
        """Share of zero flows in the rectangular product-level panel."""
        return 1.0 - self.n_positive / self.n_cells

    def _years(self) -> np.ndarray:
        return np.arange(self.options.first_year, self.options.first_year + self.options.n_years)

    def aggregate_trade(self) -> pd.DataFrame:
        """Flows summed over products for every ordered pair and year, zeros included.

        Returns
        -------
        pandas.DataFrame
            ``exporter``, ``importer``, ``year``, ``value``; rows in the order of :attr:`pairs`.

        Raises
        ------
        DataError
            If the world was read for some years only.
        """
        if self.trade_years is not None:
            raise DataError(
                f"aggregate_trade: the world was read for the years {list(self.trade_years)} "
                "only; load it without years to sum every year"
            )
        n, n_t = self.options.n_countries, self.options.n_years
        key = (
            self.trade["exporter"].cat.codes.to_numpy(np.int64) * n
            + self.trade["importer"].cat.codes.to_numpy(np.int64)
        ) * n_t + (self.trade["year"].to_numpy() - self.options.first_year)
        total = np.bincount(key, weights=self.trade["value"].to_numpy(), minlength=n * n * n_t)
        off = ~np.eye(n, dtype=bool)
        values = total.reshape(n, n, n_t)[off].ravel()
        out = self.pairs.loc[:, ["exporter", "importer", "year"]].copy()
        out["value"] = values
        return out

    def dense_trade(
        self, products: list[str] | None = None, years: list[int] | None = None
    ) -> pd.DataFrame:
        """Rectangularise the product-level flows: every ordered pair x product x year, zeros in.

        Parameters
        ----------
        products : list of str, optional
            Product codes to keep (all by default: 15.6 million rows for the default world).
        years : list of int, optional
            Years to keep (all by default).

        Returns
        -------
        pandas.DataFrame
            Same columns and dtypes as :attr:`trade`, sorted by year, exporter, importer, product.

        Raises
        ------
        DataError
            If a requested product or year is not in the world.
        """
        chosen, yrs = self._selection(products, years)
        o = self.options
        n, n_prod = o.n_countries, chosen.size
        exp_idx, imp_idx = np.nonzero(~np.eye(n, dtype=bool))
        n_pair = exp_idx.size
        # position of each product, year and ordered pair in the output grid (-1: not selected)
        prod_pos = np.full(o.n_products, -1, dtype=np.int64)
        prod_pos[chosen] = np.arange(n_prod)
        year_pos = np.full(o.n_years, -1, dtype=np.int64)
        year_pos[yrs - o.first_year] = np.arange(yrs.size)
        pair_pos = np.full((n, n), -1, dtype=np.int64)
        pair_pos[exp_idx, imp_idx] = np.arange(n_pair)
        codes = {c: self.trade[c].cat.codes.to_numpy(np.int64) for c in ("exporter", "importer")}
        prod = prod_pos[self.trade["product"].cat.codes.to_numpy(np.int64)]
        year = year_pos[self.trade["year"].to_numpy() - o.first_year]
        keep = (prod >= 0) & (year >= 0)
        pair = pair_pos[codes["exporter"][keep], codes["importer"][keep]]
        values = np.zeros(yrs.size * n_pair * n_prod)
        observed = self.trade["value"].to_numpy()[keep]
        values[(year[keep] * n_pair + pair) * n_prod + prod[keep]] = observed
        grid_pair = np.tile(np.repeat(np.arange(n_pair), n_prod), yrs.size)
        grid_codes = (exp_idx[grid_pair], imp_idx[grid_pair], np.tile(chosen, n_pair * yrs.size))
        dtypes = {c: self.trade[c].dtype for c in ("exporter", "importer", "product")}
        return _trade_frame(grid_codes, np.repeat(yrs, n_pair * n_prod), values, dtypes)

    def _selection(
        self, products: list[str] | None, years: list[int] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate a product and year selection; return product positions and years."""
        all_products = list(self.products["product"])
        position = {p: k for k, p in enumerate(all_products)}
        prods = all_products if products is None else list(products)
        yrs = self._years() if years is None else np.asarray(years, dtype=np.int64)
        unknown = [p for p in prods if p not in position]
        held = self._years().tolist() if self.trade_years is None else list(self.trade_years)
        bad_years = sorted(set(yrs.tolist()) - set(held))
        if unknown or bad_years or len(set(prods)) < len(prods) or np.unique(yrs).size < yrs.size:
            raise DataError(
                f"dense_trade: unknown product(s) {unknown[:5]} or year(s) {bad_years[:5]}, or "
                f"duplicates; give distinct products among {all_products[0]}..{all_products[-1]} "
                f"and years among {held[0] if held else '-'}..{held[-1] if held else '-'}"
            )
        return np.asarray([position[p] for p in prods], dtype=np.int64), yrs


def join_pair_covariates(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """``frame.merge(pairs, on=["exporter", "importer", "year"])``, by position.

    The same rows, order and columns as the inner merge, from integer arithmetic on the
    categorical codes of ``frame`` (a merge of millions of rows on three keys takes seconds);
    the key columns keep ``frame``'s categorical dtype (the merge makes them strings).
    Falls back to the merge when ``frame``'s keys are not categorical or ``pairs`` has codes
    outside the categories or duplicate keys.
    """
    keys = ["exporter", "importer", "year"]
    dtype = frame["exporter"].dtype
    categorical = isinstance(dtype, pd.CategoricalDtype) and frame["importer"].dtype == dtype
    if not categorical or not len(pairs):
        return frame.merge(pairs, on=keys)
    n = len(dtype.categories)
    exp = pd.Categorical(pairs["exporter"], dtype=dtype).codes.astype(np.int64)
    imp = pd.Categorical(pairs["importer"], dtype=dtype).codes.astype(np.int64)
    year = pairs["year"].to_numpy(np.int64)
    first, n_years = int(year.min()), int(year.max() - year.min() + 1)
    key = (exp * n + imp) * n_years + (year - first)
    if (exp < 0).any() or (imp < 0).any() or np.unique(key).size < key.size:
        return frame.merge(pairs, on=keys)
    position = np.full(n * n * n_years, -1, dtype=np.int64)
    position[key] = np.arange(key.size)
    f_year = frame["year"].to_numpy(np.int64) - first
    inside = (f_year >= 0) & (f_year < n_years)
    f_key = (
        frame["exporter"].cat.codes.to_numpy(np.int64) * n
        + frame["importer"].cat.codes.to_numpy(np.int64)
    ) * n_years + np.where(inside, f_year, 0)
    at = np.where(inside, position[f_key], -1)
    matched = at >= 0
    out = frame.copy() if matched.all() else frame[matched].reset_index(drop=True)
    at = at[matched]
    for col in pairs.columns:
        if col not in keys:
            out[col] = pairs[col].to_numpy()[at]
    return out


def keys_as_str(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Turn categorical key columns into strings in place (a take of the categories' strings)."""
    for col in columns:
        if col not in frame.columns:
            continue
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype) and not values.isna().any():
            labels = values.cat.categories.astype(str)
            frame[col] = pd.Series(
                labels.take(values.cat.codes.to_numpy()).array, index=frame.index
            )
        else:
            frame[col] = values.astype(str)


def _tables(
    options: SyntheticWorldOptions, geo: Geography, macro: Macro, caps: Capabilities
) -> dict[str, pd.DataFrame]:
    """Build the country, macro, pair and product tables from the draws."""
    n, n_t = options.n_countries, options.n_years
    codes = np.asarray(country_codes(n), dtype=object)
    years = np.arange(options.first_year, options.first_year + n_t)
    countries = pd.DataFrame(
        {
            "country": codes,
            "name": [f"Synthetic country {c}" for c in codes],
            "region": [f"R{r + 1}" for r in geo.region],
            "language": [f"L{g + 1:02d}" for g in geo.language],
            "lat": geo.lat,
            "lon": geo.lon,
        }
    )
    macro_frame = pd.DataFrame(
        {
            "country": np.repeat(codes, n_t),
            "year": np.tile(years, n),
            "gdp": macro.gdp_usd.ravel(),
            "population": macro.population.ravel(),
        }
    )
    exp_idx, imp_idx = np.nonzero(~np.eye(n, dtype=bool))
    entry = geo.rta_entry_year[exp_idx, imp_idx]
    pairs = pd.DataFrame(
        {
            "exporter": np.repeat(codes[exp_idx], n_t),
            "importer": np.repeat(codes[imp_idx], n_t),
            "year": np.tile(years, exp_idx.size),
            "dist": np.repeat(geo.dist_km[exp_idx, imp_idx], n_t),
            "contig": np.repeat(geo.contig[exp_idx, imp_idx], n_t),
            "comlang": np.repeat(geo.comlang[exp_idx, imp_idx], n_t),
            "rta": (np.repeat(entry, n_t) <= np.tile(years, exp_idx.size)).astype(np.int64),
        }
    )
    req = caps.requirements
    n_req = req.sum(axis=1)
    cap_ids = np.asarray([f"C{q + 1:03d}" for q in range(options.n_capabilities)], dtype=object)
    products = pd.DataFrame(
        {
            "product": product_codes(options.n_products),
            "name": [
                f"Synthetic product {k + 1:04d} (sector S{s + 1:02d})"
                for k, s in enumerate(caps.product_sector)
            ],
            "sector": [f"S{s + 1:02d}" for s in caps.product_sector],
            "n_capabilities": n_req,
            "capabilities": [" ".join(cap_ids[row]) for row in req],
            "complexity": (req @ caps.difficulty) / n_req,
            "ubiquity": (caps.missing == 0).mean(axis=(0, 1)),
        }
    )
    frames = {"countries": countries, "macro": macro_frame, "pairs": pairs, "products": products}
    return {name: _conform(frame, name) for name, frame in frames.items()}


def generate_world(options: SyntheticWorldOptions | None = None) -> SyntheticWorld:
    """Draw a synthetic world (deterministic given the options, seed included).

    Parameters
    ----------
    options : SyntheticWorldOptions, optional
        Sizes, seed and true parameters; the documented defaults when omitted.

    Returns
    -------
    SyntheticWorld

    Raises
    ------
    ConfigError
        If ``options`` is not a :class:`SyntheticWorldOptions`.
    """
    if options is None:
        options = SyntheticWorldOptions()
    if not isinstance(options, SyntheticWorldOptions):
        raise ConfigError(
            f"generate_world expects SyntheticWorldOptions, got {type(options).__name__}; "
            "build one with SyntheticWorldOptions(**settings)"
        )
    rng = np.random.default_rng(options.seed)
    geo = draw_geography(rng, options)
    macro = draw_macro(rng, options)
    caps = draw_capabilities(rng, options, macro)
    flows = draw_flows(rng, options, geo, macro, caps)
    tables = _tables(options, geo, macro, caps)
    dtypes = _key_dtypes(list(tables["countries"]["country"]), list(tables["products"]["product"]))
    codes = (flows.exporter, flows.importer, flows.product)
    trade = _trade_frame(codes, flows.year, flows.value_usd, dtypes)
    return SyntheticWorld(
        options=options, trade=trade, truth=describe_truth(options, flows), **tables
    )


def write_world(world: SyntheticWorld, folder: Path) -> dict[str, Path]:
    """Write the world's tables to ``folder`` with deterministic bytes.

    ``trade.parquet`` is written by pyarrow without pandas or Arrow schema metadata (zstd,
    dictionary-encoded keys), the tables as CSV with Unix line ends and shortest round-trip
    floats, and ``truth.json`` with sorted keys, so the same options give byte-identical files.

    Parameters
    ----------
    world : SyntheticWorld
        The world to write.
    folder : pathlib.Path
        Target folder, created if needed; existing files of the same names are replaced.

    Returns
    -------
    dict of str to pathlib.Path
        Path of each file, keyed ``trade``, ``countries``, ``macro``, ``pairs``, ``products``,
        ``truth``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / file for name, file in FILE_NAMES.items()}
    table = pa.Table.from_pandas(world.trade, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(
        table,
        paths["trade"],
        compression="zstd",
        compression_level=PARQUET_ZSTD_LEVEL,
        use_dictionary=["exporter", "importer", "product"],
        use_byte_stream_split=["value"],
        store_schema=False,
    )
    for name in SCHEMAS:
        frame: pd.DataFrame = getattr(world, name)
        frame.to_csv(paths[name], index=False, lineterminator="\n")
    paths["truth"].write_text(json.dumps(world.truth, indent=2, sort_keys=True) + "\n")
    return paths


def _read_world(
    paths: dict[str, Path],
    options: SyntheticWorldOptions,
    truth: dict[str, Any],
    years: tuple[int, ...] | None = None,
) -> SyntheticWorld:
    """Read a written world back, with the same dtypes as :func:`generate_world` gives.

    With ``years``, only those years' trade rows are read (Parquet predicate pushdown: the file
    is sorted by year, so whole row groups are skipped).
    """
    tables: dict[str, pd.DataFrame] = {}
    try:
        for name, schema in SCHEMAS.items():
            raw = pd.read_csv(paths[name], dtype=schema, **CSV_READ_OPTIONS)
            tables[name] = _conform(raw, name)
        raw_trade = pq.read_table(
            paths["trade"],
            read_dictionary=["exporter", "importer", "product"],
            filters=None if years is None else [("year", "in", list(years))],
        ).to_pandas()
        trade = _conform_trade(
            raw_trade, list(tables["countries"]["country"]), list(tables["products"]["product"])
        )
        total = None if years is None else pq.ParquetFile(paths["trade"]).metadata.num_rows
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise DataError(
            f"cannot read the synthetic world in {paths['trade'].parent}: {exc}; "
            "delete the folder to regenerate it"
        ) from exc
    return SyntheticWorld(
        options=options, trade=trade, truth=truth, trade_years=years, trade_rows=total, **tables
    )


def load_or_generate_world(
    folder: Path, options: SyntheticWorldOptions | None = None, years: list[int] | None = None
) -> SyntheticWorld:
    """Load the world written in ``folder`` if it matches ``options``; else generate and write it.

    Parameters
    ----------
    folder : pathlib.Path
        Cache folder holding the files of :func:`write_world`.
    options : SyntheticWorldOptions, optional
        Wanted options (defaults when omitted). The cache is reused only when every file exists
        and ``truth.json`` records the same options and format version.
    years : list of int, optional
        Read only these years' trade rows from the cache (a freshly generated world holds every
        year); :attr:`SyntheticWorld.trade_years` then names them. The cache files are the same
        whatever is read.

    Returns
    -------
    SyntheticWorld

    Raises
    ------
    DataError
        If the cached files match the options but cannot be read.
    """
    options = SyntheticWorldOptions() if options is None else options
    folder = Path(folder)
    paths = {name: folder / file for name, file in FILE_NAMES.items()}
    truth: dict[str, Any] | None = None
    if all(p.is_file() for p in paths.values()):
        try:
            truth = json.loads(paths["truth"].read_text())
        except (OSError, ValueError):
            truth = None
    if (
        isinstance(truth, dict)
        and truth.get("format_version") == FORMAT_VERSION
        and truth.get("options") == options.model_dump(mode="json")
    ):
        wanted = None if years is None else tuple(sorted({int(y) for y in years}))
        return _read_world(paths, options, truth, wanted)
    world = generate_world(options)
    write_world(world, folder)
    return world
