"""Sentences of the report, generated from its figures, and the method in plain words."""

from __future__ import annotations

from typing import Any

from gravity.report.data import ReportNames
from gravity.report.formatting import format_change, format_money, format_share
from gravity.report.profile import CAGR_YEARS, BilateralProfile

__all__ = ["FORMULAS", "ordinal", "profile_sentences", "scoring_sentence"]

FORMULAS: tuple[tuple[str, str], ...] = (
    (
        "Potential exports",
        "For each product and destination, the exports that the exporter's supply capacity, the "
        "destination's demand for the product and the ease of trade between the two countries "
        "(distance, a common border, a common language, trade agreements) lead the model to "
        "expect, projected to the horizon year with the recent growth of the exporter's exports "
        "and of the destination's imports of the product. In symbols: potential = exp(supply + "
        "demand + ease + horizon \u00d7 growth). Supply and demand come from a Poisson (PPML) "
        "gravity regression of the base year's trade; where the exporter does not yet export the "
        "product competitively, its supply is predicted from how related the product is to what "
        "it already exports.",
    ),
    (
        "Interval",
        "The low and high potentials span the usual gap between the model and actual trade in "
        "the base year (quantiles of the past prediction errors), at the configured coverage.",
    ),
    (
        "Untapped potential",
        "Potential minus actual exports, or zero when actual exports already exceed the potential.",
    ),
    (
        "Realised share",
        "Actual exports divided by potential: 100% means the potential is fully used.",
    ),
    (
        "Feasibility",
        "How close the exporter already is to the opportunity: the average of percentile ranks "
        "(0 to 1, among the exporter's opportunities) of relatedness to its current exports "
        "(density), of how much the destination buys of related products, of whether similar "
        "economies already sell the product there, and of the ease of trade with the destination.",
    ),
    (
        "Attractiveness",
        "What the opportunity offers: the average of percentile ranks of the growth of the "
        "destination's imports of the product, the size of its demand, the product's complexity "
        "(PCI) and the gain in complexity it would bring the exporter (COG).",
    ),
    (
        "Score and rank",
        "The weighted mean of the percentile ranks of untapped potential, feasibility and "
        "attractiveness, with the weights of the chosen preset; rank 1 is the exporter's best "
        "opportunity.",
    ),
    (
        "Revealed comparative advantage (RCA)",
        "The product's share in a country's exports divided by its share in world exports; above "
        "1 means the country specialises in the product.",
    ),
    (
        "Economic Complexity Index (ECI)",
        "A measure of how diverse and sophisticated a country's exports are, from which countries "
        "export which products competitively; rank 1 is the most complex economy in the data.",
    ),
    (
        f"Compound annual growth ({CAGR_YEARS} years)",
        f"(value now \u00f7 value {CAGR_YEARS} years earlier) to the power 1/{CAGR_YEARS}, minus "
        "1: the constant yearly growth rate that leads from the first value to the last.",
    ),
    (
        "Contribution to growth",
        "A product's change in value divided by the previous year's total of the same flow: the "
        "contributions of all products add up to the total's growth rate.",
    ),
    (
        "Imports",
        "A country's imports from its partner are the partner's exports to it as recorded in the "
        "panel (mirror flows), so both directions are measured the same way.",
    ),
)


def ordinal(n: int) -> str:
    """``1`` -> ``1st``, ``2`` -> ``2nd``, ``11`` -> ``11th``, ``23`` -> ``23rd``."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _largest(rank: int) -> str:
    return "largest" if rank == 1 else f"{ordinal(rank)} largest"


def scoring_sentence(scoring: dict[str, Any] | None) -> str:
    """How the scores were weighted, or that it was not recorded."""
    if not scoring:
        return "The preset and weights of the scores were not recorded in the run manifest."
    parts = []
    if "preset" in scoring:
        weights = scoring.get("weights") or {}
        listed = ", ".join(f"{k} {format_share(v, 0)}" for k, v in weights.items())
        preset = str(scoring["preset"]).replace("_", " ")
        parts.append(f"Scores use the \u2018{preset}\u2019 preset (weights: {listed}).")
    else:
        parts.append("The preset and weights of the scores were not recorded in the run manifest.")
    if "base_year" in scoring:
        parts.append(f"Base year {scoring['base_year']}, horizon {scoring['horizon']} years.")
    return " ".join(parts)


def profile_sentences(
    profile: BilateralProfile, names: ReportNames, currency: str | None = None
) -> str:
    """The profile's headline figures as a short narrative (plain text), in ``currency``."""

    def money(amount: object) -> str:
        return format_money(amount, currency)

    a, b, t = names.country(profile.exporter), names.country(profile.partner), profile.year

    def value(key: str) -> float | None:
        return profile.figure(key).value

    exports, imports, total, balance = (
        value(k) for k in ("exports", "imports", "total", "balance")
    )
    out = [
        f"In {t}, {a} exported {money(exports)} of goods to {b} and imported "
        f"{money(imports)} from it, a total trade of {money(total)}"
    ]
    if balance is not None and balance != 0:
        kind = "surplus" if balance > 0 else "deficit"
        out[0] += f" and a trade {kind} of {money(abs(balance))} for {a}."
    else:
        out[0] += "."
    yoy, cagr = value("total_yoy"), value(f"total_cagr{CAGR_YEARS}")
    if yoy is not None:
        sentence = f"Total trade changed {format_change(yoy)} on {t - 1}"
        if cagr is not None:
            sentence += (
                f" and by {format_change(cagr)} a year on average over {t - CAGR_YEARS}\u2013{t}"
            )
        out.append(sentence + ".")
    rank = value("partner_rank_total")
    if rank is not None:
        note = profile.figure("partner_rank_total").note
        share = format_share(value("partner_share"))
        out.append(
            f"{b} is {a}'s {_largest(int(rank))} trading partner ({note}), with "
            f"{share} of its total trade."
        )
    back = value("exporter_rank_at_partner")
    if back is not None:
        out.append(f"{a} is {b}'s {_largest(int(back))} partner.")
    top = profile.top_products.get("exports")
    if top is not None and len(top):
        row = top.iloc[0]
        out.append(
            f"{a}'s largest export to {b} is {names.product(row['product'])} "
            f"({money(row['value'])}, {format_share(row['share'])} of the total)."
        )
    for role, who in (("exporter", a), ("partner", b)):
        try:
            fig = profile.figure(f"eci_rank_{role}")
        except KeyError:
            continue
        if fig.value is not None:
            out.append(
                f"{who} ranks {ordinal(int(fig.value))} by economic complexity "
                f"({fig.note}, {fig.period})."
            )
    return " ".join(out)
