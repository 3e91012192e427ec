"""The potential and backtest stages as the CLI runs them: call the library, write contract files.

``OUTPUT/potential/opportunities.parquet`` and ``.csv`` (the opportunity table, contract columns
first), ``OUTPUT/potential/summary.json`` (base year, counts, ease coefficients) and
``OUTPUT/backtest/metrics.csv`` (target, model, metric, value, split) with ``summary.md``; with
``backtest.{tasks, origins, horizons}`` the forecast backtest's ``predictions.parquet``,
``metrics.csv`` (task, horizon, origin, model, metric, value, n, positives, + target and split)
and ``summary.md``.
"""

from __future__ import annotations

import json
import logging
import time

import pandas as pd

from gravity._base import Step
from gravity.cli.manifest import StageOutput
from gravity.config.schema import RunConfig
from gravity.layout import OutputLayout
from gravity.panel.dataset import Panel
from gravity.potential.backtest import run_backtest
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.chunked.rank import rank_chunks
from gravity.potential.chunked.runner import chunk_options_for, run_chunks
from gravity.potential.features import RelatednessFeatures
from gravity.potential.model import describe
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import RelatednessFn, rank_opportunities

log = logging.getLogger("gravity")


def stage_potential(
    config: RunConfig, panel: Panel, relatedness: RelatednessFn | None = None
) -> StageOutput:
    """Rank opportunities and write ``OUTPUT/potential/``."""
    start = time.perf_counter()
    options = config.potential or PotentialOptions()
    frame_in = panel.to_frame()
    chunk_options = chunk_options_for(frame_in, options)
    if chunk_options is not None:
        base_year = options.year if options.year is not None else int(frame_in["year"].max())
        related = None
        if relatedness is not None and "product" in frame_in.columns:
            # the features read the base year's rows only: a copy of every earlier year's
            # rows would be most of the panel (gigabytes at HS6)
            related = relatedness(frame_in[frame_in["year"] == base_year], base_year)
        return _stage_chunked(config, frame_in, options, chunk_options, related, start, relatedness)
    # rank_opportunities computes the base year's relatedness once and hands it to the forecast,
    # which needs the relatedness of its earlier training years too
    ranked = rank_opportunities(frame_in, options, relatedness)
    result, frame = ranked.potential, ranked.frame
    layout = OutputLayout(config.output)
    layout.potential_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "parquet": layout.opportunities,
        "csv": layout.opportunities.with_suffix(".csv"),
        "summary": layout.potential_summary,
    }
    frame.to_parquet(paths["parquet"], index=False)
    frame.to_csv(paths["csv"], index=False)
    summary = {
        **describe(result),
        "options": options.model_dump(mode="json"),
        "rows": len(frame),
        "components": ranked.components.to_dict(),
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
    # the counts describe the cells (separated, supply imputed, ...): informational
    counts = {k: v for k, v in result.counts.items() if v}
    step = Step.summarising(
        "potential",
        len(frame_in),
        len(frame),
        "panel rows summarised into ranked cells",
        seconds=seconds,
        counts=counts,
    )
    return StageOutput(paths, (step,))


def _stage_chunked(
    config: RunConfig,
    frame_in: pd.DataFrame,
    options: PotentialOptions,
    chunk_options: ChunkOptions,
    related: RelatednessFeatures | None,
    start: float,
    relatedness: RelatednessFn | None = None,
) -> StageOutput:
    """The potential in product chunks (``potential.chunks``, or a large grid)."""
    layout = OutputLayout(config.output)
    layout.potential_dir.mkdir(parents=True, exist_ok=True)
    options = options.model_copy(update={"chunks": chunk_options})
    run = run_chunks(frame_in, options, layout.potential_chunks, related, layout.panel, relatedness)
    paths = {"parquet": layout.opportunities, "summary": layout.potential_summary}
    csv = layout.opportunities.with_suffix(".csv")
    ranked = rank_chunks(run, layout.opportunities, csv)
    notes: tuple[str, ...] = ()
    if ranked.csv_written:
        paths["csv"] = csv
    else:
        csv.unlink(missing_ok=True)  # a stale one from an earlier run would mislead
        notes = (
            f"opportunities.csv skipped: {ranked.rows:,} rows > potential.chunks.csv_max_rows "
            f"({chunk_options.csv_max_rows:,}); read opportunities.parquet",
        )
    chunks = {
        **run.info,
        "rank_batches": ranked.batches,
        "rank_seconds": round(ranked.seconds, 3),
        "rows": ranked.rows,
    }
    summary = {
        "base_year": run.base_year,
        "counts": dict(run.counts),
        "options": options.model_dump(mode="json"),
        "rows": ranked.rows,
        "components": ranked.components.to_dict(),
        "chunks": chunks,
    }
    if run.ease_fit is not None:
        summary["ease_coefficients"] = {k: float(v) for k, v in run.ease_fit.coef.items()}
    paths["summary"].write_text(json.dumps(summary, indent=2, default=str) + "\n")
    seconds = time.perf_counter() - start
    log.info(
        "[potential] %s opportunities in %d chunks (%s, %d reused) in %.1f s",
        f"{ranked.rows:,}",
        run.info["chunks"],
        run.info["backend"],
        run.info["chunks_reused"],
        seconds,
    )
    counts = {k: v for k, v in run.counts.items() if v}
    counts.update(
        {
            "chunks": int(run.info["chunks"]),
            "chunks_reused": int(run.info["chunks_reused"]),
            "chunks_fit_by_scaling": int(run.info["chunks_fit_by_scaling"]),
            "largest_chunk_cells": int(run.info["largest_chunk_cells"]),
        }
    )
    if "forecast_training_rows" in run.info:  # model: forecast
        counts["forecast_training_rows"] = sum(run.info["forecast_training_rows"].values())
        counts["forecast_sampled_from"] = int(run.info["forecast_sampled_from"])
        notes = (
            *notes,
            *run.info["forecast_notes"],
            f"forecast: tables {run.info['forecast_tables_seconds']} s, training sample "
            f"{run.info['forecast_sample_seconds']} s, fit {run.info['forecast_fit_seconds']} s"
            + (" (reused from the chunk folder)" if run.info["forecast_reused"] else ""),
        )
    notes = (
        *notes,
        f"chunked: {run.info['chunks']} chunks of {run.info['products_per_chunk']} products, "
        f"backend {run.info['backend']}; ease {run.info['ease_seconds']} s, fits "
        f"{run.info['fit_seconds']} s, global {run.info['global_seconds']} s, scores "
        f"{run.info['score_seconds']} s",
    )
    step = Step.summarising(
        "potential",
        len(frame_in),
        ranked.rows,
        "panel rows summarised into ranked cells",
        seconds=seconds,
        counts=counts,
        notes=notes,
    )
    return StageOutput(paths, (step,))


def stage_backtest(
    config: RunConfig, panel: Panel, relatedness: RelatednessFn | None = None
) -> StageOutput:
    """Run the out-of-time backtest and write ``OUTPUT/backtest/``."""
    start = time.perf_counter()
    frame = panel.to_frame()
    potential = config.potential or PotentialOptions()
    options = config.backtest or BacktestOptions()
    if options.forecast:
        return stage_forecast_backtest(config, frame, options, relatedness)
    result = run_backtest(frame, potential, options, relatedness, progress=log.info)
    layout = OutputLayout(config.output)
    layout.backtest_dir.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": layout.metrics, "summary": layout.backtest_summary}
    result.metrics.to_csv(paths["metrics"], index=False, float_format="%.6g")
    paths["summary"].write_text(result.summary_markdown())
    seconds = time.perf_counter() - start
    log.info(
        "[backtest] %d splits in %.1f s; summary: %s",
        len(result.splits),
        seconds,
        paths["summary"],
    )
    notes = tuple(f"train<={t} -> {t + h}" for t, h in result.splits)
    step = Step.summarising(
        "backtest",
        len(frame),
        len(result.metrics),
        "panel rows summarised into metrics",
        seconds=seconds,
        notes=notes,
    )
    return StageOutput(paths, (step,))


def stage_forecast_backtest(
    config: RunConfig,
    frame: pd.DataFrame,
    options: BacktestOptions,
    relatedness: RelatednessFn | None = None,
) -> StageOutput:
    """Run the forecast backtest; write ``predictions.parquet``, ``metrics.csv``, ``summary.md``.

    Fitted models are cached in ``OUTPUT/backtest/cache/`` so that re-runs are fast.
    """
    # imported here: the forecast's learners load scikit-learn (about a second of start-up that
    # runs without the forecast, the demo's included, do not need)
    from gravity.potential.forecast.backtest import run_forecast_backtest
    from gravity.potential.forecast.report import verdicts

    start = time.perf_counter()
    layout = OutputLayout(config.output)
    layout.backtest_dir.mkdir(parents=True, exist_ok=True)
    result = run_forecast_backtest(
        frame,
        options.forecast_options(layout.forecast_cache),
        relatedness,
        progress=log.info,
    )
    paths = {
        "predictions": layout.predictions,
        "metrics": layout.metrics,
        "summary": layout.backtest_summary,
    }
    result.predictions.to_parquet(paths["predictions"], index=False)
    result.metrics.to_csv(paths["metrics"], index=False, float_format="%.6g")
    paths["summary"].write_text(result.summary_markdown())
    lines = [
        line.removeprefix("- ").replace("**", "")
        for line in verdicts(result.metrics, result.options)
    ]
    seconds = time.perf_counter() - start
    log.info("[backtest] forecast backtest in %.1f s; summary: %s", seconds, paths["summary"])
    step = Step(
        "backtest", len(frame), len(result.predictions), seconds=seconds, notes=result.notes
    )
    return StageOutput(paths, (step,), console="\n".join(lines))
