"""A BACI-format synthetic world at realistic sparsity, written without a dense grid.

:func:`write_baci_world` writes, in a folder, what CEPII publishes for BACI plus a GeoDist-style
pair file, for a made-up world with a known gravity structure:

* ``BACI_HS17_Y{year}_V202401b.csv``, one per year: ``t,i,j,k,v,q`` (numeric country codes,
  ``k`` without its leading zero, ``v`` in thousand USD with three decimals, ``q`` in tonnes or
  ``NA``), only the positive flows, by blocks of products (within a block by product, exporter,
  importer);
* ``country_codes_V202401b.csv``: numeric code, name, ISO2, ISO3 (real codes and names; the
  geography is made up);
* ``product_codes_HS17_V202401b.csv``: six-digit codes nested in real HS chapters and sections
  (made-up headings and subheadings), with descriptions;
* ``dist_cepii.csv`` (``;``-separated, as CEPII's): ``iso_o, iso_d, contig, comlang_off, dist,
  distw, rta`` for every ordered pair of distinct countries;
* ``truth.json``: the options, the true parameters and what was written (rows per year, the
  share of cells that are positive); ``panel.yaml``: a config that builds the panel.

The data-generating process, for exporter i, importer j, product k and year t::

    mu_ijkt = exp(c_k + s_ikt + d_jkt + b_dist log(dist_ij) + b_contig contig_ij
                  + b_comlang comlang_ij + b_rta rta_ij)                    (thousand USD)
    p_ijkt  = min(1, m_kt (mu_ijkt / mean_k mu)^gamma)   share of cells positive = density_k
    v_ijkt  = 1[U_ijkt < p_ijkt] mu_ijkt / p_ijkt exp(sigma w_ijkt - sigma^2 / 2)

so that E[v_ijkt] = mu_ijkt exactly: PPML with exporter x product x year and importer x product
x year fixed effects and the four ease terms recovers ``b_*`` (the zeros are those of a gravity
model, many where mu is small). Supply ``s`` and demand ``d`` are country size times a
heavy-tailed product draw plus a yearly trend; each product's density ``density_k`` is spread
around ``density`` (ubiquitous and rare products). Persistence: a cell keeps last year's draw
``U`` with probability ``persistence`` (else draws anew), and ``w`` has a permanent part of
variance ``persistence``, so flows that exist tend to continue.

Memory is bounded by one block of products (``block`` x countries^2 cells, float32): the world is
never held as a countries^2 x products array. Each product draws from its own random stream
(seeded by ``seed`` and its position), so the files do not depend on ``block`` and the same seed
gives byte-identical files.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import Field, model_validator

from gravity._base import StrictModel
from gravity.panel.countries import country_table
from gravity.panel.products import HS_SECTIONS

__all__ = ["BaciWorld", "BaciWorldOptions", "baci_product_codes", "write_baci_world"]

#: Release tag in the file names (the layout of CEPII's 2024 releases).
RELEASE = "V202401b"
#: HS revision in the file names.
REVISION = "HS17"
#: HS chapters in use (77 is reserved in the nomenclature).
_CHAPTERS = tuple(c for c in range(1, 98) if c != 77)
#: Share of ``q`` written ``NA`` (BACI leaves some quantities unknown).
_Q_MISSING = 0.03
#: Spread of a product's supply and demand across countries (log scale).
_SPREAD = 1.2
#: Weight of country size in supply and demand (log scale).
_SIZE = 0.8
#: Mean positive flow (thousand USD): BACI's ~20 trillion USD over ~11 million flows a year.
_MEAN_FLOW = 1800.0
#: Earth radius (km), for great-circle distances between the made-up capitals.
_EARTH_KM = 6371.0


class BaciWorldOptions(StrictModel):
    """Size, sparsity and true parameters of the synthetic BACI world."""

    countries: int = Field(200, ge=3, le=240, description="Countries (real ISO codes).")
    products: int = Field(5000, ge=1, le=20_000, description="HS6-like products.")
    years: int = Field(5, ge=1, le=50, description="Consecutive years, one file each.")
    first_year: int = Field(2017, ge=1000, le=9999 - 50, description="The first year.")
    density: float = Field(
        0.05, gt=0.0, le=0.5, description="Mean share of exporter x importer cells positive."
    )
    seed: int = Field(0, ge=0, description="Seed: the same seed writes byte-identical files.")
    block: int = Field(
        64, ge=1, le=5000, description="Products generated together (memory: block x countries^2)."
    )
    dist: float = Field(-1.0, description="True coefficient of log(distance).")
    contig: float = Field(0.5, description="True coefficient of contiguity.")
    comlang: float = Field(0.3, description="True coefficient of a common official language.")
    rta: float = Field(0.4, description="True coefficient of a regional trade agreement.")
    extensive: float = Field(
        0.5, ge=0.0, le=2.0,
        description="How strongly a cell's chance of being positive follows its expected flow "
        "(the exponent gamma; 0: positive cells drawn at random).",
    )
    value_sigma: float = Field(
        1.0, ge=0.0, le=3.0, description="Log-normal spread of a positive flow around its mean."
    )
    persistence: float = Field(
        0.8, ge=0.0, lt=1.0, description="Chance that a cell keeps last year's draw."
    )

    @model_validator(mode="after")
    def _enough_countries(self) -> BaciWorldOptions:
        available = len(_country_pool())
        if self.countries > available:
            raise ValueError(f"countries: at most {available} are available (got {self.countries})")
        return self


@dataclass(frozen=True)
class BaciWorld:
    """What :func:`write_baci_world` wrote."""

    folder: Path
    trade_files: tuple[Path, ...]
    country_codes: Path
    product_codes: Path
    covariates: Path
    truth: dict[str, Any]
    config: Path
    seconds: float

    @property
    def rows(self) -> int:
        """Positive flows written, all years."""
        return int(sum(self.truth["rows_per_year"].values()))


#: Countries whose BACI (Comtrade) code is not their ISO numeric code (France includes Monaco,
#: the USA Puerto Rico and the Virgin Islands, ...): BACI's own codes, as its files write them.
_BACI_CODES = {"FRA": 251, "USA": 842, "IND": 699, "CHE": 757, "NOR": 579}


def _country_pool() -> pd.DataFrame:
    table = country_table()
    pool = table.loc[(table["status"] == "iso") & table["numeric"].notna()].copy()
    pool["numeric"] = [_BACI_CODES.get(str(i), int(n))
                       for i, n in zip(pool["iso3"], pool["numeric"], strict=True)]
    return pool.sort_values("numeric").reset_index(drop=True)


def baci_product_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct sorted six-digit codes (as int) nested in HS chapters and headings.

    About four subheadings per heading, headings spread over the 96 chapters, as in HS6.
    """
    headings_wanted = max(1, min(n, int(np.ceil(n / 4.2))))
    per_chapter = 99  # heading numbers 01..99 within a chapter
    pool = np.array([c * 100 + h for c in _CHAPTERS for h in range(1, per_chapter + 1)])
    headings = np.sort(rng.choice(pool, headings_wanted, replace=False))
    counts = np.ones(len(headings), dtype=np.int64)
    extra = n - len(headings)
    while extra > 0:  # spread the rest at random, at most 90 subheadings (10..99) per heading
        room = 90 - counts
        add = rng.multinomial(extra, room / room.sum())
        add = np.minimum(add, room)
        counts += add
        extra = n - int(counts.sum())
    codes = [h * 100 + np.sort(rng.choice(np.arange(10, 100), c, replace=False))
             for h, c in zip(headings, counts, strict=True)]
    return np.concatenate(codes)


def _section_of(chapter: int) -> tuple[str, str]:
    for label, first, last, title in HS_SECTIONS:
        if first <= chapter <= last:
            return label, title
    raise AssertionError(chapter)  # pragma: no cover - every chapter 1..97 has a section


def _geography(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Made-up capitals, languages and trade blocs; pair matrices (n x n)."""
    lat = np.degrees(np.arcsin(rng.uniform(-0.8, 0.95, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    la, lo = np.radians(lat), np.radians(lon)
    cos = (np.sin(la)[:, None] * np.sin(la)[None, :]
           + np.cos(la)[:, None] * np.cos(la)[None, :] * np.cos(lo[:, None] - lo[None, :]))
    dist = _EARTH_KM * np.arccos(np.clip(cos, -1.0, 1.0))
    dist = np.maximum(np.round(dist, 1), 10.0)
    np.fill_diagonal(dist, np.nan)
    # contiguous: each country's two nearest neighbours within 1,500 km, symmetric
    near = np.argsort(np.where(np.isnan(dist), np.inf, dist), axis=1)[:, :2]
    contig = np.zeros((n, n), dtype=np.int8)
    for i in range(n):
        for j in near[i]:
            if dist[i, j] < 1500.0:
                contig[i, j] = contig[j, i] = 1
    languages = rng.choice(12, n, p=np.r_[0.25, 0.15, 0.1, 0.1, np.full(8, 0.05)])
    comlang = (languages[:, None] == languages[None, :]).astype(np.int8)
    # trade blocs: the nearest of eight bloc centres, three in four countries are members
    centres = rng.choice(n, 8, replace=False)
    bloc = np.argmin(np.where(np.isnan(dist[:, centres]), 0.0, dist[:, centres]), axis=1)
    member = rng.uniform(size=n) < 0.75
    rta = ((bloc[:, None] == bloc[None, :]) & member[:, None] & member[None, :]).astype(np.int8)
    for matrix in (contig, comlang, rta):
        np.fill_diagonal(matrix, 0)
    return {"dist": dist, "contig": contig, "comlang": comlang, "rta": rta, "lat": lat, "lon": lon}


def _write_countries(path: Path, chosen: pd.DataFrame) -> None:
    lines = ['"country_code","country_name","country_iso2","country_iso3"']
    for row in chosen.itertuples(index=False):
        name = str(row.name).replace('"', "'")
        iso2 = "" if pd.isna(row.iso2) else str(row.iso2)
        lines.append(f'{int(row.numeric)},"{name}","{iso2}","{row.iso3}"')
    path.write_text("\n".join(lines) + "\n", encoding="latin-1", errors="replace")


def _write_products(path: Path, codes: np.ndarray) -> None:
    lines = ['"code","description"']
    for code in codes.tolist():
        chapter, heading = code // 10_000, code // 100
        label, title = _section_of(chapter)
        lines.append(
            f'"{code:06d}","Synthetic product {code:06d} (heading {heading:04d}, chapter '
            f'{chapter:02d}, section {label}: {title.replace(chr(34), chr(39))})"'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_pairs(path: Path, iso3: list[str], geo: dict[str, np.ndarray]) -> None:
    n = len(iso3)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    names = np.asarray(iso3, dtype=object)
    frame = pd.DataFrame({
        "iso_o": names[i], "iso_d": names[j],
        "contig": geo["contig"][i, j], "comlang_off": geo["comlang"][i, j],
        "dist": geo["dist"][i, j], "distw": geo["dist"][i, j], "rta": geo["rta"][i, j],
    })
    frame.to_csv(path, sep=";", index=False, float_format="%.1f", lineterminator="\n")


def _product_stream(seed: int, position: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, position])


@dataclass(frozen=True)
class _Fixed:
    """Country and product parameters drawn once (all small: countries x products at most)."""

    log_ease: np.ndarray  # n x n, -inf on the diagonal
    size: np.ndarray  # n, log country size
    growth: np.ndarray  # n, yearly trend of supply and demand
    price: np.ndarray  # products, tonnes per thousand USD
    scale: np.ndarray  # products, log of the product's world scale
    density: np.ndarray  # products, share of cells positive


def _fixed(options: BaciWorldOptions, geo: dict[str, np.ndarray],
           rng: np.random.Generator) -> _Fixed:
    n, p = options.countries, options.products
    log_ease = (options.dist * np.log(np.where(np.isnan(geo["dist"]), 1.0, geo["dist"]))
                + options.contig * geo["contig"] + options.comlang * geo["comlang"]
                + options.rta * geo["rta"])
    np.fill_diagonal(log_ease, -np.inf)  # no domestic flows in BACI
    size = rng.normal(0.0, 1.2, n)
    # the scale that makes the mean positive flow about _MEAN_FLOW: E[v] over all cells is
    # density x _MEAN_FLOW; exp(N(-0.5, 1)) and exp(N(0, _SPREAD)) have means 1 and
    # exp(_SPREAD^2 / 2)
    off = ~np.eye(n, dtype=bool)
    base = (np.log(_MEAN_FLOW * options.density) - np.log(np.mean(np.exp(log_ease[off])))
            - 2 * np.log(np.mean(np.exp(_SIZE * size))) - _SPREAD**2)
    # product densities: a beta around the mean (rare and ubiquitous products), clipped
    a = 1.5
    density = rng.beta(a, a * (1 - options.density) / options.density, p)
    density = np.clip(density, 0.2 / (n - 1), 0.95)
    density *= options.density / density.mean()
    return _Fixed(
        log_ease=log_ease,
        size=size,
        growth=rng.normal(0.03, 0.02, n),
        price=rng.lognormal(0.0, 1.5, p),
        scale=rng.normal(-0.5, 1.0, p) + base,
        density=np.clip(density, 0.0, 0.95),
    )


def _block(options: BaciWorldOptions, fixed: _Fixed, first: int, count: int) -> list[pa.Table]:
    """The positive flows of products ``first .. first + count - 1``, one table per year."""
    n, years = options.countries, options.years
    streams = [_product_stream(options.seed, first + b) for b in range(count)]
    # per product: supply and demand (heavy-tailed), the first year's draws and the value noise
    supply = np.stack([r.normal(0.0, _SPREAD, n) for r in streams])  # count x n
    demand = np.stack([r.normal(0.0, _SPREAD, n) for r in streams])
    supply += _SIZE * fixed.size[None, :]
    demand += _SIZE * fixed.size[None, :]
    draw = np.stack([r.random((n, n), dtype=np.float32) for r in streams])  # count x n x n
    lasting = np.stack([r.standard_normal((n, n), dtype=np.float32) for r in streams])
    ease = fixed.log_ease.astype(np.float32)
    gamma, sigma, rho = options.extensive, options.value_sigma, options.persistence
    out = []
    for t in range(years):
        if t:  # keep last year's draw with probability rho, else a fresh uniform
            r = np.stack([s.random((n, n), dtype=np.float32) for s in streams])
            fresh = r >= rho
            draw[fresh] = (r[fresh] - rho) / (1.0 - rho)
            del r, fresh
        trend = (fixed.growth * t).astype(np.float32)
        s_t = (supply + trend[None, :]).astype(np.float32)
        d_t = (demand + trend[None, :]).astype(np.float32)
        log_mu = s_t[:, :, None] + d_t[:, None, :] + ease[None, :, :]  # count x n x n
        # chance of a positive flow: proportional to mu^gamma, scaled to the product's density
        # (relative to each product's largest cell: the same numbers whatever the block)
        with np.errstate(invalid="ignore"):  # gamma = 0 times -inf on the diagonal
            weight = np.exp(gamma * (log_mu - log_mu.max(axis=(1, 2), keepdims=True)))
        diagonal = np.arange(n)
        weight[:, diagonal, diagonal] = 0.0  # no domestic flows
        target = fixed.density[first : first + count].astype(np.float64)
        cells = n * (n - 1)
        scale = target * cells / weight.sum(axis=(1, 2), dtype=np.float64)
        for _ in range(4):  # a few fixed-point steps: capped cells (p = 1) leave less to share
            prob = np.minimum(weight * scale[:, None, None].astype(np.float32), 1.0)
            got = prob.sum(axis=(1, 2), dtype=np.float64) / cells
            scale *= target / np.maximum(got, 1e-12)
        prob = np.minimum(weight * scale[:, None, None].astype(np.float32), 1.0)
        del weight
        positive = draw < prob
        b, i, j = np.nonzero(positive)
        del positive
        p_pos = prob[b, i, j].astype(np.float64)
        mean = np.exp(log_mu[b, i, j].astype(np.float64) + fixed.scale[first + b])
        del prob, log_mu
        noise = np.concatenate([
            streams[k].standard_normal(int(c))
            for k, c in enumerate(np.bincount(b, minlength=count))
        ])
        w = np.sqrt(rho) * lasting[b, i, j] + np.sqrt(1.0 - rho) * noise
        value = mean / p_pos * np.exp(sigma * w - sigma * sigma / 2.0)
        value = np.maximum(np.round(value, 3), 0.001)  # BACI's smallest positive value
        tonnes = np.round(value * fixed.price[first + b], 3)
        unknown = np.concatenate([
            streams[k].random(int(c)) < _Q_MISSING
            for k, c in enumerate(np.bincount(b, minlength=count))
        ])
        out.append(pa.table({
            "t": pa.array(np.full(len(b), options.first_year + t, dtype=np.int32)),
            "i": pa.array(i.astype(np.int32)),
            "j": pa.array(j.astype(np.int32)),
            "k": pa.array((first + b).astype(np.int32)),
            "v": pa.array(value),
            "q": pa.array(tonnes, mask=unknown),  # written NA
        }))
    return out


def write_baci_world(folder: Path, options: BaciWorldOptions | None = None) -> BaciWorld:
    """Write the synthetic BACI world of ``options`` into ``folder`` (see the module docstring).

    Parameters
    ----------
    folder : pathlib.Path
        Created if needed; files of the same names are overwritten.
    options : BaciWorldOptions, optional
        Size, sparsity, seed and true parameters (default: 200 countries, 5,000 products,
        5 years, 5% of cells positive).

    Returns
    -------
    BaciWorld
        The files written and the truth (also in ``truth.json``).
    """
    options = options or BaciWorldOptions()
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([options.seed, 0])
    pool = _country_pool()
    chosen = pool.iloc[np.sort(rng.choice(len(pool), options.countries, replace=False))]
    numeric = chosen["numeric"].astype(int).to_numpy()
    iso3 = chosen["iso3"].astype(str).tolist()
    geo = _geography(options.countries, rng)
    codes = baci_product_codes(options.products, rng)
    fixed = _fixed(options, geo, rng)
    country_file = folder / f"country_codes_{RELEASE}.csv"
    product_file = folder / f"product_codes_{REVISION}_{RELEASE}.csv"
    pair_file = folder / "dist_cepii.csv"
    _write_countries(country_file, chosen)
    _write_products(product_file, codes)
    _write_pairs(pair_file, iso3, geo)
    years = [options.first_year + t for t in range(options.years)]
    paths = [folder / f"BACI_{REVISION}_Y{y}_{RELEASE}.csv" for y in years]
    rows = dict.fromkeys(years, 0)
    value = dict.fromkeys(years, 0)
    schema = pa.schema([("t", pa.int32()), ("i", pa.int32()), ("j", pa.int32()),
                        ("k", pa.int32()), ("v", pa.float64()), ("q", pa.float64())])
    writers = [pacsv.CSVWriter(p, schema, write_options=pacsv.WriteOptions(
        quoting_style="none", quoting_header="none", null_string="NA")) for p in paths]
    codes_arr, numeric_arr = pa.array(codes.astype(np.int32)), pa.array(numeric.astype(np.int32))
    try:
        for first in range(0, options.products, options.block):
            count = min(options.block, options.products - first)
            for year, writer, table in zip(years, writers, _block(options, fixed, first, count),
                                           strict=True):
                table = table.set_column(1, "i", numeric_arr.take(table.column("i")))
                table = table.set_column(2, "j", numeric_arr.take(table.column("j")))
                table = table.set_column(3, "k", codes_arr.take(table.column("k")))
                writer.write_table(table)
                rows[year] += table.num_rows
                # in thousandths, as integers: the total does not depend on the blocks
                value[year] += int(np.rint(table.column("v").to_numpy() * 1000).sum())
    finally:
        for writer in writers:
            writer.close()
    cells = options.countries * (options.countries - 1) * options.products
    truth: dict[str, Any] = {
        "generator": "gravity.panel.synthetic_baci",
        "options": options.model_dump(exclude={"block"}),  # files do not depend on it
        "parameters": {"log(dist)": options.dist, "contig": options.contig,
                       "comlang": options.comlang, "rta": options.rta},
        "model": "E[v] = exp(c_k + s_ikt + d_jkt + b . ease_ij) in thousand USD; fixed effects "
                 "exporter^product^year and importer^product^year",
        "countries": options.countries,
        "products": options.products,
        "years": years,
        "cells_per_year": cells,
        "rows_per_year": {str(y): rows[y] for y in years},
        "positive_share": {str(y): rows[y] / cells for y in years},
        "value_thousand_usd": {str(y): value[y] / 1000 for y in years},
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    config = folder / "panel.yaml"
    config.write_text(_CONFIG.format(revision=REVISION, release=RELEASE), encoding="utf-8")
    return BaciWorld(folder, tuple(paths), country_file, product_file, pair_file, truth, config,
                     time.perf_counter() - start)


_CONFIG = """\
# Panel of the synthetic BACI world (gravity.panel.synthetic_baci); zeros stay implicit.
output: out
data:
  trade:
    kind: baci
    paths: [BACI_{revision}_Y*_{release}.csv]
    country_codes: country_codes_{release}.csv
  zeros: auto
  covariates:
    - kind: geodist
      path: dist_cepii.csv
      variables: {{dist: dist, contig: contig, comlang: comlang_off, rta: rta}}
"""
