"""From a panel to the ranked opportunity table: potential, relatedness, ITC baseline, scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.itc import itc_potential
from gravity.potential.model import PotentialResult, add_gap_columns, fit_potential
from gravity.potential.options import PotentialOptions
from gravity.potential.scoring import ScoreComponents, score_components, score_opportunities

__all__ = [
    "OPPORTUNITY_COLUMNS",
    "OpportunityResult",
    "RelatednessFeatures",
    "RelatednessFn",
    "add_relatedness_columns",
    "finish_ranking",
    "opportunities",
    "rank_opportunities",
    "select_cells",
]

OPPORTUNITY_COLUMNS = [
    "exporter",
    "importer",
    "product",
    "year",
    "actual",
    "potential",
    "potential_low",
    "potential_high",
    "untapped",
    "realised_share",
    "feasibility",
    "attractiveness",
    "score",
    "rank",
]


@dataclass(frozen=True)
class OpportunityResult:
    """The ranked opportunity table and what went into it."""

    frame: pd.DataFrame
    """The table written to ``opportunities.parquet`` (contract columns first)."""
    potential: PotentialResult
    """The gravity potential the table was built from."""
    components: ScoreComponents
    """The columns that entered feasibility and attractiveness."""
    forecast_notes: tuple[str, ...] = ()
    """The hurdle forecast's notes (``model: forecast`` only)."""


def _with_forecast(
    panel: pd.DataFrame,
    frame: pd.DataFrame,
    options: PotentialOptions,
    base_year: int,
    relatedness: RelatednessFn | None,
    related: RelatednessFeatures | None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Replace potential and its interval by the hurdle forecast; keep gravity's as a column.

    The base year's relatedness, already computed for the table, is handed to the forecast, and
    only the exporters and importers the table keeps are scored.
    """
    # imported here: the forecast loads scikit-learn, which the gravity potential never needs
    from gravity.potential.forecast.potential import forecast_potential

    fc = forecast_potential(
        panel,
        base_year,
        options.horizon,
        options.forecast_options(),
        relatedness,
        shared={base_year: related} if related is not None else None,
        exporters=options.exporters,
        importers=options.importers,
    )
    keys = [c for c in ("exporter", "importer", "product") if c in frame.columns]
    out = frame.rename(
        columns={
            "potential": "gravity_potential",
            "potential_low": "gravity_potential_low",
            "potential_high": "gravity_potential_high",
        }
    ).merge(fc.frame, on=keys, how="left")
    add_gap_columns(out)
    return out, tuple(fc.notes)


def opportunities(
    panel: pd.DataFrame,
    options: PotentialOptions,
    relatedness: RelatednessFn | None = None,
    result: PotentialResult | None = None,
) -> pd.DataFrame:
    """Build the full opportunity table for ``options``' exporters and destinations.

    Columns: the contract ``OPPORTUNITY_COLUMNS`` first (``product`` only for product panels),
    then components and diagnostics (base_year, itc_potential, supply_source, supply, demand,
    ease, demand_growth, supply_growth, density, pci, cog, ...). The table of
    :func:`rank_opportunities`, without what went into it.
    """
    return rank_opportunities(panel, options, relatedness, result).frame


def rank_opportunities(
    panel: pd.DataFrame,
    options: PotentialOptions,
    relatedness: RelatednessFn | None = None,
    result: PotentialResult | None = None,
) -> OpportunityResult:
    """The opportunity table of :func:`opportunities`, with the potential and score components.

    Parameters
    ----------
    panel : pandas.DataFrame
        The trade panel (exporter, importer, [product,] year, value).
    options : PotentialOptions
        The potential model, score and ranking.
    relatedness : callable, optional
        The relatedness features of product panels, as a function of (rows up to the base
        year, base year); see :func:`gravity.potential.features.relatedness_features`.
    result : PotentialResult, optional
        The gravity potential, when already fitted (with the same features).
    """
    has_product = "product" in panel.columns
    base_year = options.year if options.year is not None else int(panel["year"].max())
    related: RelatednessFeatures | None = None
    if relatedness is not None and has_product:
        related = relatedness(panel[panel["year"] <= base_year], base_year)
    res = result or fit_potential(panel, options, related.frame if related else None)
    frame = res.frame
    frame["itc_potential"] = itc_potential(frame, options.horizon).to_numpy()
    notes: tuple[str, ...] = ()
    if options.model == "forecast":
        frame, notes = _with_forecast(panel, frame, options, base_year, relatedness, related)
    if related is not None:
        frame = add_relatedness_columns(frame, related, base_year)
    frame = select_cells(frame, options)
    components = score_components(frame)
    frame = finish_ranking(frame, options, components)
    return OpportunityResult(frame, res, components, notes)


def add_relatedness_columns(
    frame: pd.DataFrame, related: RelatednessFeatures, base_year: int
) -> pd.DataFrame:
    """Add density, pci, cog, market_relatedness and similar_exporters to a potential frame."""
    rel = related.frame[related.frame["year"] == base_year].rename(columns={"country": "exporter"})
    keep = [c for c in ("density", "pci", "cog") if c in rel.columns]
    rel = rel.assign(exporter=rel["exporter"].astype(str), product=rel["product"].astype(str))
    frame = frame.merge(rel[["exporter", "product", *keep]], on=["exporter", "product"], how="left")
    market = related.market
    if market is not None:
        frame["market_relatedness"] = market.importer_density_at(
            frame["importer"], frame["product"]
        )
        frame["similar_exporters"] = market.peer_presence(
            frame["exporter"].to_numpy(),
            frame["importer"].to_numpy(),
            frame["product"].to_numpy(),
        )
    return frame


def select_cells(frame: pd.DataFrame, options: PotentialOptions) -> pd.DataFrame:
    """The rows of ``options``' exporters and destinations (all when not set)."""
    if options.exporters is not None:
        frame = frame[frame["exporter"].isin([str(e) for e in options.exporters])]
    if options.importers is not None:
        frame = frame[frame["importer"].isin([str(i) for i in options.importers])]
    return frame.reset_index(drop=True)


def finish_ranking(
    frame: pd.DataFrame, options: PotentialOptions, components: ScoreComponents
) -> pd.DataFrame:
    """Score, rank, keep the ``top`` and order the columns and rows of the opportunity table.

    Every exporter's rows must all be in ``frame`` (scores are ranks within an exporter);
    ``components`` are those of the whole table (:func:`score_components`).
    """
    frame = score_opportunities(frame, options.score_weights(), components)
    if options.top is not None:
        frame = frame[frame["rank"] <= options.top]
    order = [c for c in OPPORTUNITY_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in order]
    frame = frame[order + rest].sort_values(["exporter", "rank"], kind="stable")
    frame["realised_share"] = frame["realised_share"].astype(float)
    return frame.reset_index(drop=True).replace([np.inf, -np.inf], np.nan)
