"""The potential and backtest stages as the CLI runs them: call the library, write contract files.

``OUTPUT/potential/opportunities.parquet`` and ``.csv`` (the opportunity table, contract columns
first), ``OUTPUT/potential/summary.json`` (base year, counts, ease coefficients) and
``OUTPUT/backtest/metrics.csv`` (target, model, metric, value, split) with ``summary.md``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd

from gravity.cli.manifest import RunManifest
from gravity.potential.backtest import run_backtest
from gravity.potential.model import describe, fit_potential
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import RelatednessFn, opportunities

log = logging.getLogger("gravity")


def stage_potential(
    options: PotentialOptions,
    panel: pd.DataFrame,
    output: Path,
    manifest: RunManifest | None = None,
    relatedness: RelatednessFn | None = None,
) -> pd.DataFrame:
    """Rank opportunities and write ``OUTPUT/potential/``."""
    start = time.perf_counter()
    has_product = "product" in panel.columns
    base_year = options.year if options.year is not None else int(panel["year"].max())
    related = None
    if relatedness is not None and has_product:
        related = relatedness(panel[panel["year"] <= base_year], base_year)
    result = fit_potential(panel, options, related)
    frame = opportunities(
        panel, options, (lambda _p, _y: related) if related is not None else None, result
    )
    folder = output / "potential"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "parquet": folder / "opportunities.parquet",
        "csv": folder / "opportunities.csv",
        "summary": folder / "summary.json",
    }
    frame.to_parquet(paths["parquet"], index=False)
    frame.to_csv(paths["csv"], index=False)
    summary = {
        **describe(result),
        "options": options.model_dump(mode="json"),
        "rows": len(frame),
        "components": frame.attrs.get("components", {}),
    }
    paths["summary"].write_text(json.dumps(summary, indent=2, default=str) + "\n")
    seconds = time.perf_counter() - start
    log.info(
        "[potential] %s opportunities (base year %d, horizon %d) in %.1f s",
        f"{len(frame):,}",
        result.base_year,
        options.horizon,
        seconds,
    )
    if manifest is not None:
        record = manifest.step("potential")
        # the counts describe the cells (separated, supply imputed, ...): informational
        record.counts = {k: v for k, v in result.counts.items() if v}
        record.balance(len(panel), len(frame), "panel rows summarised into ranked cells")
        record.seconds = round(seconds, 3)
        for path in paths.values():
            manifest.add_output(path, output)
    return frame


def stage_backtest(
    potential: PotentialOptions,
    options: BacktestOptions,
    panel: pd.DataFrame,
    output: Path,
    manifest: RunManifest | None = None,
    relatedness: RelatednessFn | None = None,
) -> pd.DataFrame:
    """Run the out-of-time backtest and write ``OUTPUT/backtest/``."""
    start = time.perf_counter()
    result = run_backtest(panel, potential, options, relatedness, progress=log.info)
    folder = output / "backtest"
    folder.mkdir(parents=True, exist_ok=True)
    metrics_path = folder / "metrics.csv"
    summary_path = folder / "summary.md"
    result.metrics.to_csv(metrics_path, index=False, float_format="%.6g")
    summary_path.write_text(result.summary_markdown())
    seconds = time.perf_counter() - start
    log.info(
        "[backtest] %d splits in %.1f s; summary: %s", len(result.splits), seconds, summary_path
    )
    if manifest is not None:
        record = manifest.step("backtest")
        record.balance(len(panel), len(result.metrics), "panel rows summarised into metrics")
        record.seconds = round(seconds, 3)
        record.notes = [f"train<={t} -> {t + h}" for t, h in result.splits]
        for path in (metrics_path, summary_path):
            manifest.add_output(path, output)
    return result.metrics
