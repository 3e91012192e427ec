"""From a panel to the ranked opportunity table: potential, relatedness, ITC baseline, scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from gravity.potential.forecast.potential import forecast_potential
from gravity.potential.itc import itc_potential
from gravity.potential.model import PotentialResult, fit_potential
from gravity.potential.options import PotentialOptions
from gravity.potential.scoring import score_opportunities

RelatednessFn = Callable[[pd.DataFrame, int], pd.DataFrame]
"""``f(panel, year) -> country_product frame`` (year, country, product, rca, density, pci, cog,
and optionally market-side columns keyed by exporter, importer, product)."""

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


def _with_forecast(
    panel: pd.DataFrame,
    frame: pd.DataFrame,
    options: PotentialOptions,
    base_year: int,
    relatedness: RelatednessFn | None,
) -> pd.DataFrame:
    """Replace potential and its interval by the hurdle forecast; keep gravity's as a column."""
    fc = forecast_potential(
        panel, base_year, options.horizon, options.forecast_options(), relatedness
    )
    keys = [c for c in ("exporter", "importer", "product") if c in frame.columns]
    out = frame.rename(
        columns={
            "potential": "gravity_potential",
            "potential_low": "gravity_potential_low",
            "potential_high": "gravity_potential_high",
        }
    ).merge(fc.frame, on=keys, how="left")
    actual = out["actual"].to_numpy(dtype=float)
    potential = out["potential"].to_numpy(dtype=float)
    out["untapped"] = np.maximum(potential - actual, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["realised_share"] = np.where(potential > 0, actual / potential, np.nan)
    out.attrs["forecast_notes"] = list(fc.notes)
    return out


def opportunities(
    panel: pd.DataFrame,
    options: PotentialOptions,
    relatedness: RelatednessFn | None = None,
    result: PotentialResult | None = None,
) -> pd.DataFrame:
    """Build the full opportunity table for ``options``' exporters and destinations.

    Columns: the contract ``OPPORTUNITY_COLUMNS`` first (``product`` only for product panels),
    then components and diagnostics (base_year, itc_potential, supply_source, supply, demand,
    ease, demand_growth, supply_growth, density, pci, cog, ...).
    """
    has_product = "product" in panel.columns
    base_year = options.year if options.year is not None else int(panel["year"].max())
    related = None
    if relatedness is not None and has_product:
        related = relatedness(panel[panel["year"] <= base_year], base_year)
    res = result or fit_potential(panel, options, related)
    frame = res.frame
    frame["itc_potential"] = itc_potential(frame, options.horizon).to_numpy()
    if options.model == "forecast":
        frame = _with_forecast(panel, frame, options, base_year, relatedness)
    if related is not None:
        rel = related[related["year"] == base_year].rename(columns={"country": "exporter"})
        keep = [c for c in ("density", "pci", "cog") if c in rel.columns]
        rel = rel.assign(exporter=rel["exporter"].astype(str), product=rel["product"].astype(str))
        frame = frame.merge(
            rel[["exporter", "product", *keep]], on=["exporter", "product"], how="left"
        )
        market = related.attrs.get("market")
        if market is not None:
            imports = market.importer_frame()
            key = imports["importer"].astype(str) + "^" + imports["product"].astype(str)
            density_j = pd.Series(imports["importer_density"].to_numpy(), index=key)
            frame["market_relatedness"] = (frame["importer"] + "^" + frame["product"]).map(
                density_j
            )
            frame["similar_exporters"] = market.peer_presence(
                frame["exporter"].to_numpy(),
                frame["importer"].to_numpy(),
                frame["product"].to_numpy(),
            )
    if options.exporters is not None:
        frame = frame[frame["exporter"].isin([str(e) for e in options.exporters])]
    if options.importers is not None:
        frame = frame[frame["importer"].isin([str(i) for i in options.importers])]
    frame = score_opportunities(frame.reset_index(drop=True), options.score_weights())
    if options.top is not None:
        frame = frame[frame["rank"] <= options.top]
    order = [c for c in OPPORTUNITY_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in order]
    frame = frame[order + rest].sort_values(["exporter", "rank"], kind="stable")
    frame["realised_share"] = frame["realised_share"].astype(float)
    return frame.reset_index(drop=True).replace([np.inf, -np.inf], np.nan)
