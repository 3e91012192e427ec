"""Feasibility, attractiveness and the ranked opportunity score.

Every component is a percentile rank in [0, 1] within the exporter's candidate opportunities, so
components in USD, shares and indices combine without arbitrary scaling:

- feasibility: the rank of the forecast's entry probability (``model: forecast``), else the mean
  rank of density (how related k is to what i exports), market relatedness
  (how much j imports of products related to k), similar exporters (do economies like i already
  sell k to j) and ease (i's bilateral ease with j) — of those available;
- attractiveness: mean rank of demand growth (j's import growth of k), market size (the demand
  effect D_jk), PCI (complexity of k) and COG (complexity gain for i);
- score: the preset's (or custom) weighted mean of the untapped-USD rank, feasibility and
  attractiveness; rank 1 is the best opportunity of each exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy

FEASIBILITY = ("density", "market_relatedness", "similar_exporters", "ease")
ATTRACTIVENESS = ("demand_growth", "demand", "pci", "cog")


@dataclass(frozen=True)
class ScoreComponents:
    """The columns that entered feasibility and attractiveness (those present and not all NaN)."""

    feasibility: tuple[str, ...]
    attractiveness: tuple[str, ...]

    def to_dict(self) -> dict[str, list[str]]:
        """Plain-data form, for the potential summary (``components``)."""
        return {"feasibility": list(self.feasibility), "attractiveness": list(self.attractiveness)}


def score_components(frame: pd.DataFrame) -> ScoreComponents:
    """The components :func:`score_opportunities` combines for ``frame``."""
    # the forecast's entry probability, when present, is the feasibility: it is learned out of
    # time from the same signals, instead of weighting them equally
    feasibility_columns = (
        ("entry_probability",) if "entry_probability" in frame.columns else FEASIBILITY
    )
    feas = tuple(c for c in feasibility_columns if c in frame.columns and frame[c].notna().any())
    attr = tuple(c for c in ATTRACTIVENESS if c in frame.columns and frame[c].notna().any())
    return ScoreComponents(feas, attr)


def _pct_rank(groups: DataFrameGroupBy, column: str) -> pd.Series:
    return groups[column].rank(pct=True, method="average")


def score_opportunities(
    frame: pd.DataFrame, weights: dict[str, float], components: ScoreComponents | None = None
) -> pd.DataFrame:
    """Add ``feasibility``, ``attractiveness``, ``score`` and ``rank`` to a potential frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Potential frame (exporter, importer, [product,] untapped and any component columns).
    weights : dict
        Weights of ``untapped``, ``feasibility`` and ``attractiveness`` (summing to one).
    components : ScoreComponents, optional
        The columns to combine, when ``frame`` is part of a larger table (some exporters only):
        those of the whole table; by default :func:`score_components` of ``frame``.

    Returns
    -------
    pandas.DataFrame
        A copy with the four columns added; :func:`score_components` names what entered each.
    """
    # a shallow copy: pandas copies on write, so adding columns leaves ``frame`` as it was
    out = frame.copy(deep=False)
    components = components or score_components(out)
    feas, attr = components.feasibility, components.attractiveness
    # one grouping for every rank: the exporter labels are factorised once, not once per column
    groups = frame.groupby("exporter", observed=True)
    out["feasibility"] = (
        pd.concat([_pct_rank(groups, c) for c in feas], axis=1).mean(axis=1) if feas else 0.5
    )
    out["attractiveness"] = (
        pd.concat([_pct_rank(groups, c) for c in attr], axis=1).mean(axis=1) if attr else 0.5
    )
    untapped_rank = _pct_rank(groups, "untapped")
    out["score"] = (
        weights["untapped"] * untapped_rank
        + weights["feasibility"] * out["feasibility"]
        + weights["attractiveness"] * out["attractiveness"]
    )
    out["rank"] = (
        out["score"]
        .groupby(groups.ngroup().to_numpy())
        .rank(ascending=False, method="first")
        .astype(int)
    )
    return out
