"""More of the bilateral profile: advantage, third markets, peers, GDP, agreements, forecast.

Every function works on the canonical panel (``exporter, importer, [product,] year, value`` and
any covariates) and returns a frame, or the one-line reason (a string) the section cannot be
shown, so the report says so instead of leaving the section out:

- comparative advantage: the products with the highest Balassa RCA of each side (RCA above 1);
- third markets: the partner's neighbours (contiguity from the panel's ``contig`` column, or
  CEPII GeoDist when the config gives it; see :func:`neighbours`), else its largest markets
  (other than the exporter), each with its imports from the exporter and from the partner in
  the year, and which of the two sells more there;
- similar economies: the countries whose export baskets (product shares) are closest to the
  exporter's by cosine similarity, and the products they export with comparative advantage
  (RCA >= 1) where the exporter has none, by how many of them do;
- GDP per capita of each side from the WDI files of the config when they hold it
  (:mod:`gravity.report.country_facts`), else from a panel covariate (``gdp_pc``/``gdppc``/
  ``gdp_per_capita`` with ``_o``/``_d`` suffixes), or GDP over population;
- agreements in force: the pair's agreement column (``rta``, ``fta``, ``agreement``) in the year;
- forecast path: the exporter's exports to the partner by year, then the potential at the
  horizon (the sum over products) with a band that combines the products' intervals as
  independent errors: each side's half-widths added in quadrature,
  ``low = P - sqrt(sum((p_i - low_i)^2))`` and ``high = P + sqrt(sum((high_i - p_i)^2))``
  (exact for independent normal errors; summing the interval ends, the widest case of fully
  dependent errors, would overstate the interval of the sum).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gravity.panel.countries import resolve_code
from gravity.report.country_facts import CountryFacts

__all__ = [
    "agreements",
    "combined_band",
    "comparative_advantage",
    "forecast_path",
    "gdp_per_capita",
    "neighbours",
    "similar_economies",
    "third_markets",
]

AGREEMENT_COLUMNS = ("rta", "fta", "agreement", "trade_agreement")
GDP_PC_BASES = ("gdp_pc", "gdppc", "gdp_per_capita", "gdpcap")


def _rca(panel: pd.DataFrame, year: int) -> pd.DataFrame:
    """Balassa RCA of every (country, product) of ``year``: a country x product frame."""
    rows = panel[panel["year"] == year]
    exports = rows.pivot_table(
        index="exporter", columns="product", values="value", aggfunc="sum", fill_value=0.0
    )
    share = exports.div(exports.sum(axis=1).replace(0.0, np.nan), axis=0)
    world = exports.sum(axis=0) / exports.to_numpy().sum()
    return share.div(world.replace(0.0, np.nan), axis=1).fillna(0.0)


def comparative_advantage(
    panel: pd.DataFrame, countries: tuple[str, str], year: int, top_n: int
) -> pd.DataFrame | str:
    """The ``top_n`` products of highest RCA (above 1) of each country: country, product, rca."""
    if "product" not in panel.columns:
        return "The panel is aggregate (no product column): no comparative advantage by product."
    rca = _rca(panel, year)
    frames = []
    for country in countries:
        if country not in rca.index:
            continue
        row = rca.loc[country]
        top = row[row > 1.0].sort_values(ascending=False, kind="stable").head(top_n)
        frames.append(
            pd.DataFrame(
                {"country": country, "product": top.index.astype(str), "rca": top.to_numpy()}
            )
        )
    if not frames:
        return f"Neither economy exports in {year}: no comparative advantage to show."
    return pd.concat(frames, ignore_index=True)


def neighbours(
    panel: pd.DataFrame, partner: str, facts: CountryFacts | None = None
) -> tuple[list[str], str] | None:
    """The partner's neighbours among the panel's countries, and where contiguity came from.

    The panel's ``contig`` column (a pair covariate: 1 = a shared border) on any row of the
    partner's, in either direction, else the contiguity pairs of ``facts`` (CEPII GeoDist),
    matched to the data's codes through ISO3. ``None``: no contiguity is available.
    """
    if "contig" in panel.columns:
        contig = pd.to_numeric(panel["contig"], errors="coerce") == 1
        out_ = panel.loc[contig & (panel["exporter"] == partner), "importer"]
        in_ = panel.loc[contig & (panel["importer"] == partner), "exporter"]
        found = sorted({str(c) for c in pd.concat([out_, in_])} - {partner})
        return found, "the panel's contig column"
    if facts is None or facts.contiguity is None:
        return None
    iso3 = resolve_code(partner)
    if iso3 is None:
        return None
    border = set(facts.neighbours(iso3))
    codes = {str(c) for c in pd.concat([panel["exporter"], panel["importer"]]).unique()}
    found = sorted(c for c in codes - {partner} if resolve_code(c) in border)
    return found, facts.contiguity_source


def third_markets(
    panel: pd.DataFrame,
    exporter: str,
    partner: str,
    year: int,
    top_n: int,
    markets_of: Sequence[str] | None = None,
) -> pd.DataFrame | str:
    """Third markets: imports from each of the two, and who sells more.

    ``markets_of`` (e.g. the partner's neighbours) fixes the markets, the exporter left out;
    without it they are the partner's ``top_n`` largest markets. Returns ``market,
    from_exporter, from_partner, leader`` (``exporter``, ``partner`` or ``tie``), by the
    partner's exports there, largest first.
    """
    rows = panel[panel["year"] == year]
    sums = rows.groupby(["exporter", "importer"])["value"].sum()
    if partner not in sums.index.get_level_values(0):
        return f"The partner has no exports in {year}: no third markets to compare."
    markets = sums.loc[partner]
    if markets_of is not None:
        chosen = [m for m in markets_of if m not in (exporter, partner)]
        if not chosen:
            return "The partner has no neighbour in the data other than the exporter."
        markets = markets.reindex(chosen).fillna(0.0)
        markets = markets.sort_values(ascending=False, kind="stable")
    else:
        markets = markets[(markets.index != exporter) & (markets.index != partner) & (markets > 0)]
        markets = markets.sort_values(ascending=False, kind="stable").head(top_n)
    if markets.empty:
        return f"The partner sells to no third market in {year}."
    mine = (
        sums.loc[exporter].reindex(markets.index).fillna(0.0)
        if exporter in sums.index.get_level_values(0)
        else pd.Series(0.0, index=markets.index)
    )
    theirs = markets.astype(float)
    leader = np.where(mine > theirs, "exporter", np.where(mine < theirs, "partner", "tie"))
    return pd.DataFrame(
        {
            "market": markets.index.astype(str),
            "from_exporter": mine.to_numpy(dtype=float),
            "from_partner": theirs.to_numpy(dtype=float),
            "leader": leader,
        }
    )


def similar_economies(
    panel: pd.DataFrame, exporter: str, year: int, top_n: int
) -> tuple[pd.DataFrame, pd.DataFrame] | str:
    """Economies with the closest export baskets, and products they export where it does not.

    Returns
    -------
    (similar, products) or str
        ``similar``: ``country, similarity`` (cosine of product shares, largest first);
        ``products``: ``product, economies`` (how many of the similar economies have RCA >= 1
        where the exporter's RCA is below 1), most first; or the reason it cannot be shown.
    """
    if "product" not in panel.columns:
        return "The panel is aggregate (no product column): no export baskets to compare."
    rows = panel[panel["year"] == year]
    exports = rows.pivot_table(
        index="exporter", columns="product", values="value", aggfunc="sum", fill_value=0.0
    )
    if exporter not in exports.index or exports.loc[exporter].sum() <= 0:
        return f"The exporter has no exports in {year}: no basket to compare."
    shares = exports.div(exports.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
    norms = np.sqrt((shares**2).sum(axis=1)).replace(0.0, np.nan)
    mine = shares.loc[exporter]
    similarity = (shares @ mine) / (norms * norms[exporter])
    similarity = similarity.drop(exporter).dropna().sort_values(ascending=False, kind="stable")
    similar = similarity.head(top_n)
    if similar.empty:
        return f"No other economy exports in {year}."
    rca = _rca(panel, year)
    others = (rca.loc[similar.index] >= 1.0).sum(axis=0)
    lacking = rca.loc[exporter] < 1.0
    counts = others[lacking & (others > 0)].sort_values(ascending=False, kind="stable")
    products = pd.DataFrame(
        {"product": counts.index.astype(str), "economies": counts.to_numpy(dtype=int)}
    ).head(top_n)
    frame = pd.DataFrame(
        {"country": similar.index.astype(str), "similarity": similar.to_numpy(dtype=float)}
    )
    return frame, products


def _side(panel: pd.DataFrame, base: str, country: str, year: int) -> float | None:
    for column, key in ((f"{base}_o", "exporter"), (f"{base}_d", "importer")):
        if column in panel.columns:
            values = panel.loc[(panel[key] == country) & (panel["year"] == year), column]
            values = pd.to_numeric(values, errors="coerce").dropna()
            if len(values):
                return float(values.iloc[0])
    return None


def _from_wdi(wdi: pd.DataFrame, country: str, year: int) -> float | None:
    iso3 = resolve_code(country)
    rows = wdi[(wdi["country"] == iso3) & (wdi["year"] == year)]["gdp_per_capita"].dropna()
    return float(rows.iloc[0]) if len(rows) else None


def gdp_per_capita(
    panel: pd.DataFrame,
    countries: tuple[str, str],
    year: int,
    wdi: pd.DataFrame | None = None,
) -> pd.DataFrame | str:
    """GDP per capita of each country in ``year``: ``country, gdp_per_capita``.

    ``wdi`` (``country`` ISO3, ``year``, ``gdp_per_capita``; see
    :func:`gravity.report.country_facts.read_country_facts`) is used first; the panel's
    covariates fill what it lacks.
    """
    out = {}
    for country in countries:
        value = _from_wdi(wdi, country, year) if wdi is not None else None
        for base in GDP_PC_BASES if value is None else ():
            value = _side(panel, base, country, year)
            if value is not None:
                break
        if value is None:
            gdp, pop = _side(panel, "gdp", country, year), _side(panel, "pop", country, year)
            if gdp is not None and pop:
                value = gdp / pop
        out[country] = value
    if all(v is None for v in out.values()):
        if wdi is not None:
            return f"GDP per capita not available: the WDI files have no value for {year}."
        return (
            "GDP per capita not available: add WDI GDP and population (or NY.GDP.PCAP.CD) "
            "to data.covariates, or a gdp_pc covariate."
        )
    return pd.DataFrame({"country": list(out), "gdp_per_capita": list(out.values())})


def agreements(panel: pd.DataFrame, exporter: str, partner: str, year: int) -> str:
    """One sentence: whether the pair's agreement column says an agreement is in force."""
    column = next((c for c in AGREEMENT_COLUMNS if c in panel.columns), None)
    if column is None:
        return (
            "Trade agreements not available: the panel has no agreement column (rta or fta); "
            "add one as a pair covariate."
        )
    pair = panel[
        (panel["year"] == year)
        & (
            ((panel["exporter"] == exporter) & (panel["importer"] == partner))
            | ((panel["exporter"] == partner) & (panel["importer"] == exporter))
        )
    ]
    values = pd.to_numeric(pair[column], errors="coerce").dropna()
    if values.empty:
        return f"No value of {column} for the pair in {year}."
    if (values > 0).any():
        return f"A trade agreement is in force between the two in {year} ({column} = 1)."
    return f"No trade agreement between the two in {year} ({column} = 0)."


def combined_band(rows: pd.DataFrame) -> tuple[float, float]:
    """The band of the sum of ``potential`` over ``rows``, products' errors independent.

    Each side's half-widths (``potential - potential_low``, ``potential_high - potential``,
    zero where the interval does not straddle the potential) are added in quadrature; NaN
    when the rows have no interval columns.
    """
    if not {"potential_low", "potential_high"} <= set(rows.columns):
        return float("nan"), float("nan")
    value = rows["potential"].to_numpy(dtype=float)
    below = np.clip(value - rows["potential_low"].to_numpy(dtype=float), 0.0, None)
    above = np.clip(rows["potential_high"].to_numpy(dtype=float) - value, 0.0, None)
    total = float(value.sum())
    return total - float(np.sqrt(np.nansum(below**2))), total + float(
        np.sqrt(np.nansum(above**2))
    )


def forecast_path(
    panel: pd.DataFrame, opportunities: pd.DataFrame | None, exporter: str, partner: str
) -> pd.DataFrame | str:
    """Exports to the partner by year, then the potential at the horizon with its interval.

    Returns ``year, value, low, high, kind`` (``actual`` rows, then one ``potential`` row).
    """
    if opportunities is None:
        return "No forecast path: the potential stage did not run."
    rows = opportunities[
        (opportunities["exporter"] == exporter) & (opportunities["importer"] == partner)
    ]
    if rows.empty:
        return "No forecast path: the opportunity table has no rows for this pair."
    rows = rows[rows["year"] == rows["year"].max()]
    actual = (
        panel[(panel["exporter"] == exporter) & (panel["importer"] == partner)]
        .groupby("year")["value"]
        .sum()
    )
    path = pd.DataFrame(
        {
            "year": actual.index.astype(int),
            "value": actual.to_numpy(dtype=float),
            "low": np.nan,
            "high": np.nan,
            "kind": "actual",
        }
    )

    low, high = combined_band(rows)
    last = pd.DataFrame(
        {
            "year": [int(rows["year"].iloc[0])],
            "value": [float(rows["potential"].sum())],
            "low": [low],
            "high": [high],
            "kind": ["potential"],
        }
    )
    return pd.concat([path, last], ignore_index=True)
