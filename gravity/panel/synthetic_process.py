"""The data-generating process of the synthetic demo world (options, draws, statement of truth).

:mod:`gravity.panel.synthetic` turns these draws into tables and documents the model; this module
holds the options schema, the vectorised numpy code that draws every random quantity from one
``numpy.random.default_rng(options.seed)`` stream in a fixed order, and :func:`describe_truth`,
the JSON statement of the true parameters. Nothing here knows about files or frames. Array axes
follow the names ``i`` (exporter), ``j`` (importer), ``k`` (product), ``q`` (capability) and
``t`` (year index ``0 .. n_years - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

import numpy as np
from pydantic import Field

from gravity._base import StrictModel

# Bump whenever the generating process changes, so that cached worlds are regenerated.
FORMAT_VERSION: Final = 1

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

# Seven fictional "continents": (latitude, longitude) of each region's centre, in degrees.
REGION_CENTRES: Final = (
    (48.0, 12.0),
    (40.0, -95.0),
    (-15.0, -58.0),
    (5.0, 20.0),
    (26.0, 78.0),
    (36.0, 118.0),
    (-25.0, 135.0),
)
# Standard deviation of a country's position around its region centre (degrees, lat and lon).
REGION_SPREAD_DEG: Final = (7.0, 10.0)
# Mean Earth radius (IUGG), used by the haversine great-circle distance.
EARTH_RADIUS_KM: Final = 6371.0088
# Countries are placed at least this far apart (candidates that come closer are rejected).
MIN_SEPARATION_KM: Final = 250.0
# Candidate positions drawn per country; the first one far enough from the others is kept.
PLACEMENT_CANDIDATES: Final = 64
# Two countries are contiguous when closer than this, or when one is the other's nearest
# neighbour and closer than NEIGHBOUR_CONTIGUITY_KM.
CONTIGUITY_KM: Final = 800.0
NEIGHBOUR_CONTIGUITY_KM: Final = 1500.0
# Languages: one per region plus GLOBAL_LANGUAGES spread worldwide (colonial-style languages).
GLOBAL_LANGUAGES: Final = 3
REGIONAL_LANGUAGE_PROB: Final = 0.6
# Probability that an unordered pair ever signs a trade agreement (same region / other regions);
# entry years are uniform on [first_year - RTA_LEAD_YEARS, last_year + RTA_LAG_YEARS].
RTA_PROB_SAME_REGION: Final = 0.45
RTA_PROB_OTHER_REGION: Final = 0.06
RTA_LEAD_YEARS: Final = 20
RTA_LAG_YEARS: Final = 5
# Macro: first-year population and GDP per capita (USD) of the median country, their log spreads,
# real growth, common dollar inflation and the growth shocks.
MEDIAN_POPULATION: Final = 12e6
LOG_POPULATION_SD: Final = 1.3
MEDIAN_GDP_PER_CAPITA_USD: Final = 9000.0
GDP_PER_CAPITA_LOADING: Final = 1.1  # ln GDP per capita = ln median + loading * development
REAL_GROWTH_MEAN: Final = 0.028
REAL_GROWTH_CONVERGENCE: Final = 0.008  # richer countries grow slower
REAL_GROWTH_SD: Final = 0.01
COMMON_SHOCK_SD: Final = 0.015
IDIOSYNCRATIC_SHOCK_SD: Final = 0.02
DOLLAR_INFLATION: Final = 0.02
POPULATION_GROWTH_MEAN: Final = 0.015
# Capabilities: spread of a country's idiosyncratic aptitude for each capability, number of
# requirements per product (1 + Binomial(REQUIREMENT_TRIALS, REQUIREMENT_PROB)), and the pull of
# a product's own sector when its requirements are drawn.
CAPABILITY_APTITUDE_SD: Final = 0.8
REQUIREMENT_TRIALS: Final = 7
REQUIREMENT_PROB: Final = 0.4
SECTOR_PULL: Final = 2.0
# Product demand shares: log-level spread and spread of the yearly log trend.
DEMAND_SHARE_SD: Final = 1.0
DEMAND_TREND_SD: Final = 0.03


class SyntheticWorldOptions(StrictModel):
    """Sizes, seed and true parameters of the synthetic demo world.

    Every field has a default; the defaults give the documented demo world of 60 countries,
    200 products and 22 years (2000-2021). Tests use smaller worlds by overriding the sizes.
    """

    seed: int = Field(default=20261125, ge=0)
    """Seed of the single ``numpy.random.default_rng`` stream that draws everything."""
    n_countries: int = Field(default=60, ge=4, le=676)
    """Number of countries, coded ``XAA``, ``XAB``, ... (at most 26 * 26)."""
    n_products: int = Field(default=200, ge=1, le=9999)
    """Number of products, coded ``"0001"``, ``"0002"``, ..."""
    first_year: int = Field(default=2000, ge=1900, le=2100)
    """First calendar year of the panel."""
    n_years: int = Field(default=22, ge=1, le=100)
    """Number of consecutive years."""
    n_capabilities: int = Field(default=40, ge=1, le=1000)
    """Number of latent capabilities behind production."""
    n_sectors: int = Field(default=10, ge=1, le=1000)
    """Number of sectors; a product draws its requirements mostly from its sector's capabilities."""
    beta_dist: FiniteFloat = -0.9
    """True elasticity of trade to great-circle distance (regressor ``ln(dist)``)."""
    beta_contig: FiniteFloat = 0.5
    """True coefficient of the contiguity dummy."""
    beta_lang: FiniteFloat = 0.3
    """True coefficient of the common-language dummy."""
    beta_rta: FiniteFloat = 0.4
    """True coefficient of the (time-varying) trade-agreement dummy."""
    supply_gdp_elasticity: FiniteFloat = 1.0
    """Elasticity of exporter supply to exporter GDP (absorbed by exporter-year effects)."""
    demand_gdp_elasticity: FiniteFloat = 1.0
    """Elasticity of importer expenditure to importer GDP (absorbed by importer-year effects)."""
    capability_penalty: float = Field(default=2.0, ge=0.0, le=50.0)
    """Log-points of supply lost per required capability the exporter lacks."""
    comparative_advantage_sd: float = Field(default=1.0, ge=0.0, le=10.0)
    """Standard deviation of the persistent exporter-product log supply shifter."""
    supply_shock_sd: float = Field(default=0.1, ge=0.0, le=10.0)
    """Standard deviation of the yearly exporter-product log supply shock."""
    trade_to_gdp: float = Field(default=0.25, gt=0.0, le=10.0)
    """Expected world international trade over world GDP, every year (sets the USD scale)."""
    zero_quantile: float = Field(default=0.55, gt=0.0, lt=1.0)
    """Quantile of the year's cell means used as the shipment scale (drives the zero share)."""
    shipment_elasticity: float = Field(default=0.5, ge=0.0, lt=1.0)
    """Elasticity of the mean shipment value to the cell mean (0: fixed shipment size)."""
    shipment_shape: float = Field(default=1.0, gt=0.0, le=1000.0)
    """Gamma shape of a single shipment's value (1: exponential shipments)."""


@dataclass(frozen=True)
class Geography:
    """Static country attributes and bilateral geography (all matrices are ``(i, j)``)."""

    region: np.ndarray
    language: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    dist_km: np.ndarray
    contig: np.ndarray
    comlang: np.ndarray
    rta_entry_year: np.ndarray
    """Calendar year the pair's agreement enters into force; ``NO_RTA`` where it never does."""


# Entry year stored for pairs that never sign an agreement.
NO_RTA: Final = 9999


@dataclass(frozen=True)
class Macro:
    """Country-year size and development, arrays of shape ``(i, t)``."""

    gdp_usd: np.ndarray
    population: np.ndarray
    development: np.ndarray
    """Latent development level driving capabilities; non-decreasing over time."""


@dataclass(frozen=True)
class Capabilities:
    """Latent capabilities: who holds what, and what each product needs."""

    requirements: np.ndarray
    """Boolean ``(k, q)``: product ``k`` needs capability ``q``."""
    difficulty: np.ndarray
    """``(q,)`` development level needed (on average) to hold each capability."""
    holdings: np.ndarray
    """Boolean ``(i, t, q)``: country ``i`` holds capability ``q`` in year ``t``."""
    missing: np.ndarray
    """``(i, t, k)`` number of product ``k``'s required capabilities that ``i`` lacks in ``t``."""
    product_sector: np.ndarray
    """``(k,)`` sector of each product."""


@dataclass(frozen=True)
class Flows:
    """Positive product-level international flows in year-major order, plus calibration values."""

    year: np.ndarray
    """``int64`` calendar year of each flow."""
    exporter: np.ndarray
    """``int16`` exporter index (position in the country list)."""
    importer: np.ndarray
    """``int16`` importer index."""
    product: np.ndarray
    """``int16`` product index."""
    value_usd: np.ndarray
    """``float64`` value in whole USD, strictly positive."""
    n_cells: int
    """Number of cells of the rectangular panel (ordered pairs x products x years)."""
    log_scale: np.ndarray
    """``(t,)`` calibration constant ``ln A_t`` added to every exporter's supply."""
    shipment_scale_usd: np.ndarray
    """``(t,)`` shipment scale ``m0_t`` (the ``zero_quantile`` of the year's cell means)."""


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def _place_countries(rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scatter countries around their region centres, keeping them MIN_SEPARATION_KM apart."""
    n = region.shape[0]
    centres = np.asarray(REGION_CENTRES)[region]
    # larger worlds spread wider so that the separation rule can still be met
    spread = np.asarray(REGION_SPREAD_DEG) * max(1.0, np.sqrt(n / 60.0))
    noise = rng.standard_normal((n, PLACEMENT_CANDIDATES, 2)) * spread
    cand_lat = np.clip(centres[:, None, 0] + noise[..., 0], -55.0, 70.0)
    cand_lon = (centres[:, None, 1] + noise[..., 1] + 180.0) % 360.0 - 180.0
    lat = np.empty(n)
    lon = np.empty(n)
    for i in range(n):  # loop over countries (not rows): each placement depends on earlier ones
        if i == 0:
            best = 0
        else:
            gap = haversine_km(
                cand_lat[i][:, None], cand_lon[i][:, None], lat[None, :i], lon[None, :i]
            )
            nearest = gap.min(axis=1)
            ok = np.flatnonzero(nearest >= MIN_SEPARATION_KM)
            best = int(ok[0]) if ok.size else int(np.argmax(nearest))
        lat[i], lon[i] = cand_lat[i, best], cand_lon[i, best]
    return lat, lon


def _symmetric_upper(values: np.ndarray) -> np.ndarray:
    """Copy the strict upper triangle onto the lower one (the diagonal is left as is)."""
    upper = np.triu(values, k=1)
    return upper + upper.T + np.diag(np.diag(values))


def draw_geography(rng: np.random.Generator, options: SyntheticWorldOptions) -> Geography:
    """Draw regions, positions, languages and agreements; derive distance and contiguity."""
    n = options.n_countries
    n_regions = len(REGION_CENTRES)
    region = rng.permutation(np.arange(n) % n_regions)
    lat, lon = _place_countries(rng, region)
    dist = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2.0  # exact symmetry despite rounding
    off = ~np.eye(n, dtype=bool)
    masked = np.where(off, dist, np.inf)
    nearest = masked == masked.min(axis=1, keepdims=True)
    near = (masked < CONTIGUITY_KM) | (nearest & (masked < NEIGHBOUR_CONTIGUITY_KM))
    contig = (near | near.T) & off
    regional = rng.random(n) < REGIONAL_LANGUAGE_PROB
    language = np.where(regional, region, n_regions + rng.integers(0, GLOBAL_LANGUAGES, n))
    comlang = (language[:, None] == language[None, :]) & off
    same_region = region[:, None] == region[None, :]
    prob = np.where(same_region, RTA_PROB_SAME_REGION, RTA_PROB_OTHER_REGION)
    signed = rng.random((n, n)) < prob
    last_year = options.first_year + options.n_years - 1
    entry = rng.integers(options.first_year - RTA_LEAD_YEARS, last_year + RTA_LAG_YEARS + 1, (n, n))
    entry = _symmetric_upper(np.where(signed, entry, NO_RTA))
    np.fill_diagonal(entry, NO_RTA)
    return Geography(
        region=region,
        language=language,
        lat=lat,
        lon=lon,
        dist_km=dist,
        contig=contig.astype(np.int64),
        comlang=comlang.astype(np.int64),
        rta_entry_year=entry,
    )


def draw_macro(rng: np.random.Generator, options: SyntheticWorldOptions) -> Macro:
    """Draw population and nominal GDP paths; development follows real GDP per capita."""
    n, n_t = options.n_countries, options.n_years
    development = rng.standard_normal(n)
    ln_pop0 = np.log(MEDIAN_POPULATION) + LOG_POPULATION_SD * rng.standard_normal(n)
    pop_growth = np.clip(
        POPULATION_GROWTH_MEAN - 0.006 * development + 0.004 * rng.standard_normal(n), -0.01, 0.04
    )
    trend = (
        REAL_GROWTH_MEAN
        - REAL_GROWTH_CONVERGENCE * development
        + REAL_GROWTH_SD * rng.standard_normal(n)
    )
    common = COMMON_SHOCK_SD * rng.standard_normal(n_t)
    idio = IDIOSYNCRATIC_SHOCK_SD * rng.standard_normal((n, n_t))
    growth = trend[:, None] + common[None, :] + idio
    growth[:, 0] = 0.0
    cum_real = np.cumsum(growth, axis=1)
    years = np.arange(n_t)
    ln_gdppc = (
        np.log(MEDIAN_GDP_PER_CAPITA_USD)
        + GDP_PER_CAPITA_LOADING * development[:, None]
        + cum_real
        + DOLLAR_INFLATION * years[None, :]
    )
    ln_pop = ln_pop0[:, None] + pop_growth[:, None] * years[None, :]
    latent = development[:, None] + cum_real / GDP_PER_CAPITA_LOADING
    return Macro(
        gdp_usd=np.exp(ln_gdppc + ln_pop),
        population=np.round(np.exp(ln_pop)),
        development=np.maximum.accumulate(latent, axis=1),
    )


def draw_capabilities(
    rng: np.random.Generator, options: SyntheticWorldOptions, macro: Macro
) -> Capabilities:
    """Draw capability difficulties, product requirements and country holdings over time."""
    n_q, n_k = options.n_capabilities, options.n_products
    difficulty = rng.standard_normal(n_q)
    cap_sector = rng.integers(0, options.n_sectors, n_q)
    product_sector = rng.integers(0, options.n_sectors, n_k)
    n_req = np.minimum(1 + rng.binomial(REQUIREMENT_TRIALS, REQUIREMENT_PROB, n_k), n_q)
    score = SECTOR_PULL * (product_sector[:, None] == cap_sector[None, :]) + rng.gumbel(
        size=(n_k, n_q)
    )
    rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
    requirements = rank < n_req[:, None]
    aptitude = CAPABILITY_APTITUDE_SD * rng.standard_normal((options.n_countries, n_q))
    holdings = macro.development[:, :, None] + aptitude[:, None, :] > difficulty[None, None, :]
    held = holdings.astype(np.float64) @ requirements.T.astype(np.float64)
    missing = n_req[None, None, :] - np.rint(held).astype(np.int64)
    return Capabilities(
        requirements=requirements,
        difficulty=difficulty,
        holdings=holdings,
        missing=missing,
        product_sector=product_sector,
    )


def draw_flows(
    rng: np.random.Generator,
    options: SyntheticWorldOptions,
    geo: Geography,
    macro: Macro,
    caps: Capabilities,
) -> Flows:
    """Draw the positive product-level international flows, year by year (see the model docs)."""
    n, n_k, n_t = options.n_countries, options.n_products, options.n_years
    ln_demand_share = DEMAND_SHARE_SD * rng.standard_normal(n_k)
    demand_trend = DEMAND_TREND_SD * rng.standard_normal(n_k)
    advantage = options.comparative_advantage_sd * rng.standard_normal((n, n_k))
    exp_idx, imp_idx = np.nonzero(~np.eye(n, dtype=bool))  # ordered pairs, exporter-major
    ln_dist = np.log(geo.dist_km[exp_idx, imp_idx])
    static = (
        options.beta_dist * ln_dist
        + options.beta_contig * geo.contig[exp_idx, imp_idx]
        + options.beta_lang * geo.comlang[exp_idx, imp_idx]
    )
    ln_gdp = np.log(macro.gdp_usd)
    codes = np.arange(max(n, n_k), dtype=np.int16)
    exp_code, imp_code = codes[exp_idx], codes[imp_idx]
    parts: list[tuple[np.ndarray, ...]] = []
    log_scale = np.empty(n_t)
    shipment_scale = np.empty(n_t)
    for t in range(n_t):  # loop over years: each year is one vectorised (pairs x products) block
        year = options.first_year + t
        rta = (geo.rta_entry_year[exp_idx, imp_idx] <= year).astype(np.float64)
        friction = static + options.beta_rta * rta
        share = ln_demand_share + demand_trend * t
        share = share - share.max()
        share = share - np.log(np.exp(share).sum())
        supply = (
            options.supply_gdp_elasticity * ln_gdp[:, t, None]
            - options.capability_penalty * caps.missing[:, t, :]
            + advantage
            + options.supply_shock_sd * rng.standard_normal((n, n_k))
        )
        demand = options.demand_gdp_elasticity * ln_gdp[:, t, None] + share[None, :]
        log_mu = supply[exp_idx] + demand[imp_idx] + friction[:, None]
        shift = log_mu.max()
        mu = np.exp(log_mu - shift).ravel()
        scale = options.trade_to_gdp * macro.gdp_usd[:, t].sum() / mu.sum()
        mu *= scale
        log_scale[t] = np.log(scale) - shift
        m0 = float(np.quantile(mu, options.zero_quantile, method="inverted_cdf"))
        shipment_scale[t] = m0
        rate = (mu / m0) ** (1.0 - options.shipment_elasticity)
        count = rng.poisson(rate)
        pos = np.flatnonzero(count)
        unit = mu[pos] / (rate[pos] * options.shipment_shape)
        value = np.round(rng.gamma(count[pos] * options.shipment_shape, unit))
        pos = pos[value > 0.0]  # a draw below half a dollar rounds to no trade
        pair, product = np.divmod(pos, n_k)
        parts.append((exp_code[pair], imp_code[pair], codes[product], value[value > 0.0]))
    counts = np.array([p[3].size for p in parts], dtype=np.int64)
    return Flows(
        year=np.repeat(np.arange(options.first_year, options.first_year + n_t), counts),
        exporter=np.concatenate([p[0] for p in parts]),
        importer=np.concatenate([p[1] for p in parts]),
        product=np.concatenate([p[2] for p in parts]),
        value_usd=np.concatenate([p[3] for p in parts]),
        n_cells=n * (n - 1) * n_k * n_t,
        log_scale=log_scale,
        shipment_scale_usd=shipment_scale,
    )


def describe_truth(options: SyntheticWorldOptions, flows: Flows) -> dict[str, Any]:
    """State the true parameters and how they enter, as a JSON-serialisable dict."""
    years = list(range(options.first_year, options.first_year + options.n_years))
    return {
        "format_version": FORMAT_VERSION,
        "options": options.model_dump(mode="json"),
        "beta_dist": options.beta_dist,
        "beta_contig": options.beta_contig,
        "beta_lang": options.beta_lang,
        "beta_rta": options.beta_rta,
        "regressors": {
            "beta_dist": "ln(pairs.dist), distance in km",
            "beta_contig": "pairs.contig",
            "beta_lang": "pairs.comlang",
            "beta_rta": "pairs.rta (time-varying)",
        },
        "mean": (
            "E[value_ijkt] = exp(s_ikt + d_jkt + beta_dist*ln(dist_ij) + beta_contig*contig_ij"
            " + beta_lang*comlang_ij + beta_rta*rta_ijt), i != j"
        ),
        "supply": (
            "s_ikt = log_scale_t + supply_gdp_elasticity*ln(gdp_it) - capability_penalty*"
            "missing_ikt + N(0, comparative_advantage_sd^2)_ik + N(0, supply_shock_sd^2)_ikt"
        ),
        "demand": "d_jkt = demand_gdp_elasticity*ln(gdp_jt) + ln(alpha_kt), sum_k alpha_kt = 1",
        "noise": (
            "compound Poisson-gamma: lambda = (mu/m0_t)^(1-shipment_elasticity), "
            "N ~ Poisson(lambda) shipments, each Gamma(shape=shipment_shape) with mean mu/lambda; "
            "E[value] = mu, P(value = 0) = exp(-lambda); values rounded to whole USD"
        ),
        "recovered_by": {
            "product_level": (
                "PPML of trade with zeros (dense_trade) on ln(dist), contig, comlang, rta with "
                "exporter-product-year and importer-product-year fixed effects (exporter-product-"
                "year and importer-year fixed effects are also correctly specified)"
            ),
            "aggregate": (
                "PPML of aggregate_trade() on ln(dist), contig, comlang, rta with exporter-year "
                "and importer-year fixed effects (same beta: demand shares are importer-invariant)"
            ),
        },
        "calibration": {
            "year": years,
            "log_scale": flows.log_scale.tolist(),
            "shipment_scale_usd": flows.shipment_scale_usd.tolist(),
        },
    }
