"""The run's processing steps in words for people: what happened to the rows, and why.

The manifest records each step with internal counter names (``cells_separated``, ``fe_zero``,
``dropped_world_partner``); the report says them as sentences ("12,345 rows outside the chosen
years"). Unknown names are shown with their underscores turned into spaces, so a new counter is
never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["REASON_WORDS", "reason_words", "step_sentence"]

REASON_WORDS: dict[str, str] = {
    "fe_zero": "rows in a group whose trade is all zero (they carry no information for PPML)",
    "singleton": "rows alone in their fixed-effect group",
    "regressor": "rows separated by a regressor (the model cannot fit them)",
    "cells_separated": "cells the potential model cannot fit (all-zero groups)",
    "cells_without_ease": "cells without a trade-cost (ease) estimate",
    "cells_without_demand_or_supply": "cells without a demand or supply estimate",
    "cells_read": "cells read",
    "ease_rows_separated": "pair rows the ease model cannot fit (all-zero groups)",
    "ease_rows_without_covariates": "pair rows without the trade-cost variables",
    "pairs_without_pair_effect": "pairs without a pair effect (they never traded)",
    "domestic_rows_ignored": "domestic rows (a country's trade with itself) left out",
    "domestic_flows": "domestic flows added",
    "supply_observed": "exporter-product cells with observed supply",
    "supply_predicted": "exporter-product cells with supply predicted from related products",
    "supply_missing": "exporter-product cells without supply",
    "zero_flows": "zero flows added (pairs and products that did not trade)",
    "rows_read": "rows read",
    "dropped_aggregates": "rows of aggregate areas (e.g. 'World', 'EU') left out",
    "flagged_aggregates": "rows of aggregate areas flagged",
    "dropped_footer_lines": "footer lines of the file left out",
    "dropped_missing_value": "rows without a trade value left out",
    "dropped_secondary_cities": "rows of secondary cities left out",
    "dropped_unmatched_codes": "rows whose country code matches no country left out",
    "dropped_world_partner": "rows with the World as partner left out",
    "dropped_total_product": "rows of the all-products total left out",
    "dropped_breakdown_rows": "rows of partner or customs breakdowns left out",
    "dropped_other_flow": "rows of other flows (re-exports, imports) left out",
    "dropped_regressors": "regressors dropped as collinear",
    "merged_code_collisions": "rows merged because two codes mean one country",
    "merged_duplicate_rows": "duplicate rows merged",
    "merged_to_product_level": "rows summed to the chosen product level",
    "zero_padded_product_codes": "product codes given their leading zeros back",
    "no_match": "rows with no match",
    "years": "rows outside the chosen years",
    "exporters": "rows of exporters not chosen",
    "importers": "rows of importers not chosen",
    "products": "rows of products not chosen",
    "countries": "rows of countries not chosen",
    "domestic": "domestic rows (a country's trade with itself) left out",
    "min_population": "rows of countries below the minimum population",
    "min_exports": "rows of countries below the minimum exports",
    "summed over importers": "rows summed over importers",
}
"""Counter names of the steps, in words (each follows a count)."""


def reason_words(reason: str) -> str:
    """The words for one counter name (unknown names: underscores as spaces)."""
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def step_sentence(step: Mapping[str, Any]) -> str:
    """One step of the manifest as a sentence.

    Parameters
    ----------
    step : Mapping
        ``name``, ``rows_in``, ``rows_out``, ``removed`` and ``added`` (counts by reason).

    Returns
    -------
    str
        E.g. ``"38,325 rows in, 42,000 out: 3,675 zero flows added (pairs and products that did
        not trade)."``; ``"Nothing changed (38,325 rows)."`` when nothing was removed or added.
    """
    rows_in, rows_out = step.get("rows_in"), step.get("rows_out")
    parts = []
    for key in ("removed", "added"):
        for reason, count in (step.get(key) or {}).items():
            if count:
                parts.append(f"{_count(count)} {reason_words(str(reason))}")
    if not parts:
        if rows_in == rows_out and rows_in is not None:
            return f"Nothing changed ({_count(rows_in)} rows)."
        return f"{_count(rows_in)} rows in, {_count(rows_out)} out."
    return f"{_count(rows_in)} rows in, {_count(rows_out)} out: " + "; ".join(parts) + "."
