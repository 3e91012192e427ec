"""The bilateral trade profile of two economies, as data: every figure with its year.

For an ``exporter`` A and a ``partner`` B in year ``t`` (flows from the panel, summed over
products; A's imports from B are B's exports to A as the panel records them):

- exports (A to B), imports (B to A), total trade (their sum) and the balance (exports minus
  imports);
- year-on-year change ``v_t / v_{t-1} - 1`` and 5-year compound annual growth
  ``(v_t / v_{t-5}) ** (1 / 5) - 1`` of each; with a ``month`` column, also the latest month of
  ``t`` against the same month of ``t - 1``;
- B's rank among A's partners by total trade (1 = largest; ties share the best rank), as a
  destination of A's exports and as a source of A's imports, B's share of A's total trade, and
  A's rank among B's partners;
- top products each way, with their share of the direction's total, their year-on-year change
  and the sender's revealed comparative advantage (Balassa RCA: the product's share in the
  sender's exports over its share in world exports);
- the products that moved trade most in each direction from ``t - 1`` to ``t``: the largest
  increases and the largest decreases (contribution = the product's change over the
  direction's ``t - 1`` total, so the contributions of all products add up to the direction's
  growth rate);
- the Economic Complexity Index of both economies and their ranks (1 = most complex);
- the top export-potential products each way (largest untapped potential).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.report.formatting import Kind

__all__ = ["CAGR_YEARS", "BilateralProfile", "Figure", "bilateral_profile", "yearly_flows"]

CAGR_YEARS = 5
DIRECTIONS = ("exports", "imports")


@dataclass(frozen=True)
class Figure:
    """One figure of the profile: a value, how to show it, the year(s) it refers to."""

    key: str
    label: str
    value: float | None
    kind: Kind
    period: str
    note: str = ""


@dataclass(frozen=True)
class BilateralProfile:
    """Everything the bilateral section shows, computed from the data (no text about it)."""

    exporter: str
    partner: str
    year: int
    figures: tuple[Figure, ...]
    history: pd.DataFrame
    """``year, exports, imports, total, balance`` for every year of the panel."""
    top_products: dict[str, pd.DataFrame] = field(default_factory=dict)
    """By direction: ``product, value, share, yoy, rca`` (largest first)."""
    contributors: dict[str, pd.DataFrame] = field(default_factory=dict)
    """By direction: ``product, value_prev, value, change, contribution, move`` (``increase``
    rows, largest first, then ``decrease`` rows, largest fall first)."""
    eci: pd.DataFrame | None = None
    """``country, year, eci, rank, of`` for the two economies."""
    potential: dict[str, pd.DataFrame] = field(default_factory=dict)
    """By direction: the top opportunities of the sender in the other market."""
    notes: tuple[str, ...] = ()

    def figure(self, key: str) -> Figure:
        """The figure called ``key``."""
        for fig in self.figures:
            if fig.key == key:
                return fig
        raise KeyError(f"no figure {key!r}; figures: {[f.key for f in self.figures]}")


def _direction_frame(panel: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    pair = panel[
        ((panel["exporter"] == a) & (panel["importer"] == b))
        | ((panel["exporter"] == b) & (panel["importer"] == a))
    ]
    return pair.assign(direction=np.where(pair["exporter"] == a, "exports", "imports"))


def yearly_flows(panel: pd.DataFrame, exporter: str, partner: str) -> pd.DataFrame:
    """Exports, imports, total and balance of the pair in every year of the panel."""
    years = np.sort(panel["year"].unique())
    flows = _direction_frame(panel, exporter, partner)
    table = (
        flows.pivot_table(index="year", columns="direction", values="value", aggfunc="sum")
        .reindex(index=years, columns=list(DIRECTIONS))
        .fillna(0.0)
    )
    table["total"] = table["exports"] + table["imports"]
    table["balance"] = table["exports"] - table["imports"]
    table.columns.name = None
    return table.rename_axis("year").reset_index()


def _growth(now: float | None, before: float | None, years: int) -> float | None:
    if now is None or before is None or before <= 0 or now < 0:
        return None
    return float((now / before) ** (1.0 / years) - 1.0)


def _ranks(panel: pd.DataFrame, country: str, year: int, partner: str) -> dict[str, tuple]:
    """Rank of ``partner`` among ``country``'s partners: by total, as destination, as source."""
    rows = panel[panel["year"] == year]
    out_ = rows[rows["exporter"] == country].groupby("importer")["value"].sum()
    in_ = rows[rows["importer"] == country].groupby("exporter")["value"].sum()
    total = out_.add(in_, fill_value=0.0)
    result: dict[str, tuple] = {}
    for key, series in (("total", total), ("exports", out_), ("imports", in_)):
        series = series[(series > 0) & (series.index != country)]
        if partner in series.index:
            rank = int((series > series[partner]).sum()) + 1
            result[key] = (rank, len(series), float(series[partner] / series.sum()))
        else:
            result[key] = (None, len(series), 0.0)
    return result


def _rca(panel: pd.DataFrame, country_product: pd.DataFrame | None, year: int) -> pd.Series:
    """Balassa RCA by (country, product): the relatedness output, else computed from the panel."""
    if country_product is not None and (country_product["year"] <= year).any():
        latest = int(country_product.loc[country_product["year"] <= year, "year"].max())
        rows = country_product[country_product["year"] == latest]
        return rows.set_index(["country", "product"])["rca"]
    exports = panel[panel["year"] == year].groupby(["exporter", "product"])["value"].sum()
    exports.index = exports.index.set_names(["country", "product"])
    by_country = exports.groupby(level=0).transform("sum")
    by_product = exports.groupby(level=1).transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((exports / by_country) / (by_product / exports.sum())).fillna(0.0)


def _top_products(
    flows: pd.DataFrame, rca: pd.Series, sender: str, year: int, top_n: int, has_prev: bool
) -> pd.DataFrame:
    now = flows[flows["year"] == year].groupby("product")["value"].sum()
    before = flows[flows["year"] == year - 1].groupby("product")["value"].sum()
    now = now[now > 0].sort_values(ascending=False, kind="stable")
    top = now.head(top_n)
    prev = before.reindex(top.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        yoy = np.where(has_prev & (prev > 0), top / prev - 1.0, np.nan)
    keys = pd.MultiIndex.from_arrays([[sender] * len(top), top.index.astype(str)])
    return pd.DataFrame(
        {
            "product": top.index.astype(str),
            "value": top.to_numpy(dtype=float),
            "share": (top / now.sum()).to_numpy(dtype=float) if len(top) else [],
            "yoy": yoy.astype(float),
            "rca": rca.reindex(keys).to_numpy(dtype=float),
        }
    )


def _contributors(flows: pd.DataFrame, year: int, top_n: int) -> pd.DataFrame:
    now = flows[flows["year"] == year].groupby("product")["value"].sum()
    before = flows[flows["year"] == year - 1].groupby("product")["value"].sum()
    both = pd.concat({"value_prev": before, "value": now}, axis=1).fillna(0.0)
    both["change"] = both["value"] - both["value_prev"]
    base = both["value_prev"].sum()
    both["contribution"] = both["change"] / base if base > 0 else np.nan
    # both ways: the largest increases (largest first), then the largest decreases
    up = both[both["change"] > 0].sort_values("change", ascending=False, kind="stable")
    down = both[both["change"] < 0].sort_values("change", ascending=True, kind="stable")
    moved = pd.concat(
        [up.head(top_n).assign(move="increase"), down.head(top_n).assign(move="decrease")]
    )
    return (
        moved.rename_axis("product")
        .reset_index()
        .assign(product=lambda f: f["product"].astype(str))
    )


def _eci(country: pd.DataFrame | None, codes: list[str], year: int) -> pd.DataFrame | None:
    if country is None or not (country["year"] <= year).any():
        return None
    latest = int(country.loc[country["year"] <= year, "year"].max())
    rows = country[(country["year"] == latest) & country["eci"].notna()]
    ranks = rows["eci"].rank(ascending=False, method="min")
    table = rows.assign(rank=ranks.astype(int), of=len(rows))
    return table[table["country"].isin(codes)][
        ["country", "year", "eci", "rank", "of"]
    ].reset_index(drop=True)


def _potential(
    opportunities: pd.DataFrame | None, sender: str, market: str, top_n: int
) -> pd.DataFrame | None:
    if opportunities is None:
        return None
    rows = opportunities[
        (opportunities["exporter"] == sender) & (opportunities["importer"] == market)
    ]
    if rows.empty:
        return None
    rows = rows[rows["year"] == rows["year"].max()]
    return (
        rows.sort_values(["untapped", "rank"], ascending=[False, True], kind="stable")
        .head(top_n)
        .reset_index(drop=True)
    )


def _flow_figures(history: pd.DataFrame, year: int) -> list[Figure]:
    by_year = history.set_index("year")

    def value(column: str, when: int) -> float | None:
        return float(by_year.at[when, column]) if when in by_year.index else None

    labels = {"exports": "Exports", "imports": "Imports", "total": "Total trade"}
    figures = [Figure(key, labels[key], value(key, year), "money", str(year)) for key in labels]
    figures.append(Figure("balance", "Trade balance", value("balance", year), "money", str(year)))
    for key, label in labels.items():
        prev = value(key, year - 1)
        note = "" if prev is not None else f"no data for {year - 1}"
        figures.append(
            Figure(
                f"{key}_yoy",
                f"{label}, change on a year earlier",
                _growth(value(key, year), prev, 1),
                "change",
                f"{year - 1}\u2013{year}",
                note,
            )
        )
    for key, label in labels.items():
        start = year - CAGR_YEARS
        base = value(key, start)
        note = "" if base is not None else f"no data for {start}"
        if base is not None and base <= 0:
            note = f"not defined: no trade in {start}"
        figures.append(
            Figure(
                f"{key}_cagr{CAGR_YEARS}",
                f"{label}, {CAGR_YEARS}-year compound annual growth",
                _growth(value(key, year), base, CAGR_YEARS),
                "change",
                f"{start}\u2013{year}",
                note,
            )
        )
    return figures


def _month_figures(flows: pd.DataFrame, year: int) -> list[Figure]:
    months = flows.loc[flows["year"] == year, "month"]
    if months.empty:
        return []
    month = int(months.max())
    figures = []
    for key, label in (("exports", "Exports"), ("imports", "Imports"), ("total", "Total trade")):
        sel = flows if key == "total" else flows[flows["direction"] == key]
        now = float(sel.loc[(sel["year"] == year) & (sel["month"] == month), "value"].sum())
        prev_rows = sel[(sel["year"] == year - 1) & (sel["month"] == month)]
        prev = float(prev_rows["value"].sum()) if not prev_rows.empty else None
        figures.append(
            Figure(
                f"{key}_month_yoy",
                f"{label}, month on the same month a year earlier",
                _growth(now, prev, 1),
                "change",
                f"{year - 1}-{month:02d} to {year}-{month:02d}",
            )
        )
    return figures


def _partial_year(panel: pd.DataFrame, year: int) -> list[str]:
    """A note when monthly data cover a different number of months in ``year`` and before."""
    months = panel.groupby("year")["month"].nunique()
    now, before = int(months.get(year, 0)), int(months.get(year - 1, 0))
    if not before or now == before:
        return []
    return [
        f"the data hold {now} months of {year} and {before} of {year - 1}: changes on a year "
        "earlier compare different numbers of months; the month-on-month figures compare "
        "like with like"
    ]


def _rank_figures(panel: pd.DataFrame, a: str, b: str, year: int) -> list[Figure]:
    mine, theirs = _ranks(panel, a, year, b), _ranks(panel, b, year, a)
    period = str(year)
    out = []
    for key, label in (
        ("total", "by total trade"),
        ("exports", "as a destination of exports"),
        ("imports", "as a source of imports"),
    ):
        rank, of, _ = mine[key]
        out.append(
            Figure(
                f"partner_rank_{key}",
                f"Partner's rank {label}",
                rank,
                "int",
                period,
                f"of {of} partners",
            )
        )
    out.append(
        Figure("partner_share", "Partner's share of total trade", mine["total"][2], "share", period)
    )
    rank, of, _ = theirs["total"]
    out.append(
        Figure(
            "exporter_rank_at_partner",
            "Rank among the partner's partners",
            rank,
            "int",
            period,
            f"of {of} partners",
        )
    )
    return out


def bilateral_profile(
    panel: pd.DataFrame,
    exporter: str,
    partner: str,
    year: int,
    top_n: int = 10,
    country_product: pd.DataFrame | None = None,
    country: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
) -> BilateralProfile:
    """Compute the bilateral profile of ``exporter`` and ``partner`` in ``year``.

    Parameters
    ----------
    panel : pandas.DataFrame
        The canonical panel: ``exporter, importer, [product,] year, value`` (and ``month`` for
        monthly data), key columns as strings.
    exporter, partner : str
        The two economies (the profile is written from the exporter's side).
    year : int
        Year of the figures.
    top_n : int
        Rows of each product list.
    country_product, country : pandas.DataFrame, optional
        Relatedness outputs (RCA; ECI). RCA is computed from the panel when the first is absent.
    opportunities : pandas.DataFrame, optional
        The opportunity table (top export-potential products each way).

    Returns
    -------
    BilateralProfile

    Raises
    ------
    DataError
        ``exporter`` equals ``partner``, either is not in the panel, or ``year`` is not.
    """
    if exporter == partner:
        raise DataError(f"the bilateral profile needs two economies; both are {exporter!r}")
    countries = set(panel["exporter"].unique()) | set(panel["importer"].unique())
    for role, code in (("exporter", exporter), ("partner", partner)):
        if code not in countries:
            sample = ", ".join(sorted(countries)[:8])
            raise DataError(
                f"report.{role} {code!r} is not in the panel ({len(countries)} countries: "
                f"{sample}, ...); set report.{role} to one of them"
            )
    years = sorted(int(y) for y in panel["year"].unique())
    if year not in years:
        raise DataError(
            f"report.year {year} is not in the panel (years {years[0]}..{years[-1]}); "
            "set report.year to one of them"
        )
    history = yearly_flows(panel, exporter, partner)
    flows = _direction_frame(panel, exporter, partner)
    figures = _flow_figures(history, year)
    notes: list[str] = []
    if "month" in panel.columns:
        figures += _month_figures(flows, year)
        notes += _partial_year(panel, year)
    figures += _rank_figures(panel, exporter, partner, year)
    top: dict[str, pd.DataFrame] = {}
    contrib: dict[str, pd.DataFrame] = {}
    if "product" in panel.columns:
        rca = _rca(panel, country_product, year)
        for direction, sender in (("exports", exporter), ("imports", partner)):
            sel = flows[flows["direction"] == direction]
            top[direction] = _top_products(sel, rca, sender, year, top_n, year - 1 in years)
            if year - 1 in years:
                contrib[direction] = _contributors(sel, year, top_n)
        if year - 1 not in years:
            notes.append(f"no data for {year - 1}: no year-on-year change by product")
    else:
        notes.append("the panel is aggregate (no product column): no product breakdown")
    eci = _eci(country, [exporter, partner], year)
    if eci is not None:
        for code, role in ((exporter, "exporter"), (partner, "partner")):
            row = eci[eci["country"] == code]
            value = float(row["eci"].iloc[0]) if len(row) else None
            rank = float(row["rank"].iloc[0]) if len(row) else None
            period = str(int(row["year"].iloc[0])) if len(row) else str(year)
            of = f"of {int(row['of'].iloc[0])} economies" if len(row) else "not ranked"
            figures.append(
                Figure(
                    f"eci_{role}", f"Economic Complexity Index ({role})", value, "number", period
                )
            )
            figures.append(
                Figure(f"eci_rank_{role}", f"ECI rank ({role})", rank, "int", period, of)
            )
    potential: dict[str, pd.DataFrame] = {}
    for direction, sender, market in (
        ("exports", exporter, partner),
        ("imports", partner, exporter),
    ):
        found = _potential(opportunities, sender, market, top_n)
        if found is not None:
            potential[direction] = found
    return BilateralProfile(
        exporter=exporter,
        partner=partner,
        year=year,
        figures=tuple(figures),
        history=history,
        top_products=top,
        contributors=contrib,
        eci=eci,
        potential=potential,
        notes=tuple(notes),
    )
