"""Relatedness features of the potential score, computed from the training data only.

For base year ``T`` the relatedness stage's measures are computed on year ``T`` of the panel it
is given (the caller passes only years <= T, so nothing later can leak in): RCA, density, PCI and
COG per exporter x product; market relatedness (how much the destination imports of products
related to ``p``) and peer presence (whether economies similar to ``i`` already sell ``p`` to
``j``) per exporter x destination x product.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from gravity.exceptions import GravityWarning
from gravity.relatedness.inputs import population_for
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.similarity import MarketRelatedness, market_relatedness

__all__ = ["RelatednessFeatures", "RelatednessFn", "relatedness_features"]


@dataclass(frozen=True)
class RelatednessFeatures:
    """The relatedness features of one base year, as the potential and forecast stages read them."""

    frame: pd.DataFrame
    """``country_product`` table: year, country, product, rca, density, pci, cog."""
    market: MarketRelatedness | None = None
    """The year's market relatedness and peer presence (exporter x destination x product)."""


RelatednessFn = Callable[[pd.DataFrame, int], RelatednessFeatures]
"""``f(panel, year) -> RelatednessFeatures`` computed from the rows given (years <= ``year``)."""


def relatedness_features(options: RelatednessOptions | None = None) -> RelatednessFn:
    """A function ``f(panel, year) -> RelatednessFeatures`` for :func:`opportunities`.

    The result holds the year's ``country_product`` table and its
    :class:`~gravity.relatedness.similarity.MarketRelatedness`, for the exporter x destination x
    product features.
    """
    base = options or RelatednessOptions()
    # the population file (if any) is read once here, not once per year
    population = population_for(base)

    def features(panel: pd.DataFrame, year: int) -> RelatednessFeatures:
        opts = base.model_copy(update={"years": [year], "keep_proximity": True})
        same = (panel["year"] == year).to_numpy()
        # a year's rows already (the forecast's per-year fits): no copy of them
        rows = panel if same.all() else panel[same]
        with warnings.catch_warnings():
            # products or countries without exports this year are dropped and counted there
            warnings.simplefilter("ignore", GravityWarning)
            result = Relatedness(rows, opts, population).fit().year(year)
            market = market_relatedness(rows, result, opts)
        frame = result.country_product_frame()
        frame["country"] = frame["country"].astype(str)
        frame["product"] = frame["product"].astype(str)
        return RelatednessFeatures(frame, market)

    return features
