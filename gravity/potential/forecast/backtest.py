"""The forecast backtest: every task, origin and horizon, the forecast against named baselines.

For each task and origin ``t0`` the hurdle model is trained on earlier origins only
(:class:`~.harness.TaskHarness`), the candidates at ``t0`` are scored by the
forecast and every baseline, and the outcome at ``t0 + h`` is read only to score them. Level
intervals are split-conformal by horizon: the calibration residuals are the out-of-time errors
of the model of the latest earlier origin ``c`` (``c + h <= t0``) on its own candidates, so they
are known at ``t0`` and come from the same kind of forecast as the one they bound.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.forecast.baselines import (
    entry_baselines,
    level_baselines,
    new_flow_baselines,
)
from gravity.potential.forecast.conformal import calibrate
from gravity.potential.forecast.cube import build_cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder
from gravity.potential.forecast.harness import Examples, TaskHarness
from gravity.potential.forecast.metrics import entry_metrics, level_metrics
from gravity.potential.forecast.options import ForecastOptions, Task
from gravity.potential.forecast.parallel import fit_pool, prefetch_models
from gravity.potential.forecast.report import summary_markdown
from gravity.potential.grid import check_panel

FORECAST = "forecast"
PREDICTION_COLUMNS = [
    "task",
    "exporter",
    "importer",
    "product",
    "origin",
    "horizon",
    "model",
    "score",
    "low",
    "high",
    "actual",
    "actual_origin",
    "observed_origin",
    "observed_target",
]
METRIC_COLUMNS = [
    "task",
    "horizon",
    "origin",
    "model",
    "metric",
    "value",
    "n",
    "positives",
    # the legacy backtest's columns, so readers of metrics.csv (the report) keep working
    "target",
    "split",
]


@dataclass(frozen=True)
class ForecastBacktest:
    """Predictions of every model on every evaluated cell, their metrics, and run notes."""

    predictions: pd.DataFrame
    """One row per cell and model in the ``predictions.parquet`` layout."""
    metrics: pd.DataFrame
    """``metrics.csv`` layout; rows with ``origin == "mean"`` average over origins."""
    notes: tuple[str, ...]
    """Training horizons, samples and counts, in words."""
    options: ForecastOptions

    def summary_markdown(self) -> str:
        """Plain-language verdicts per task and horizon, then the tables."""
        return summary_markdown(self.metrics, self.notes, self.options)


def default_tasks(panel: pd.DataFrame) -> list[Task]:
    """The tasks a panel supports: bilateral tasks need several importers, entry needs products."""
    tasks: list[Task] = []
    if panel["importer"].nunique() > 1:
        tasks += ["new_flow", "level"]
    if "product" in panel.columns:
        tasks.append("new_product")
    return tasks


def _origins(harness: TaskHarness, options: ForecastOptions) -> list[int]:
    years = harness.cube.years
    if options.origins != "auto":
        missing = [o for o in options.origins if o not in years]
        if missing:
            raise DataError(
                f"backtest.origins {missing} are not years of the panel "
                f"({years[0]}..{years[-1]}); list panel years or use 'auto'"
            )
        return [int(np.flatnonzero(years == o)[0]) for o in options.origins]
    usable = [
        a
        for a in range(len(years))
        if harness.training_pairs(a)
        and any(harness.target(a, h) is not None for h in options.horizons)
    ]
    return usable[-options.max_origins :]


def _frame(ex: Examples, harness: TaskHarness, model: str, score: np.ndarray) -> pd.DataFrame:
    keys = harness.cube.keys(ex.cells)
    n = ex.cells.size
    return pd.DataFrame(
        {
            "task": harness.task,
            "exporter": keys["exporter"],
            "importer": keys.get("importer", np.full(n, None, dtype=object)),
            "product": keys.get("product", np.full(n, None, dtype=object)),
            "origin": ex.origin,
            "horizon": ex.target - ex.origin,
            "model": model,
            "score": score,
            "low": np.nan,
            "high": np.nan,
            "actual": ex.actual,
            "actual_origin": ex.actual_origin,
            "observed_origin": ex.observed_origin,
            "observed_target": ex.observed_target,
        }
    )


def _evaluate(
    harness: TaskHarness, a: int, b: int, notes: list[str]
) -> tuple[list[pd.DataFrame], list[dict[str, object]]]:
    options = harness.options
    model = harness.model(a)
    if model is None:
        return [], []
    ex = harness.examples(a, b, options.max_eval_cells, salt=2)
    blend = harness.blend(a, float(ex.target - ex.origin))
    prob, value = harness.predict(model, ex, blend)
    where = f"{harness.task} origin {ex.origin}" + (
        f", h = {ex.target - ex.origin}" if harness.task == "level" else ""
    )
    if not any(n.startswith(f"{where}: blend") for n in notes):
        notes.append(f"{where}: blend {blend.describe()}")
    horizon = float(ex.target - ex.origin)
    frames: list[pd.DataFrame] = []
    if harness.task == "new_flow":
        scores = {
            FORECAST: prob,
            **new_flow_baselines(harness.cube, a, ex.cells, ex.features, horizon, options.lags),
        }
    elif harness.task == "new_product":
        scores = {FORECAST: prob, **entry_baselines(ex.features, options.lags)}
    else:
        scores = {
            FORECAST: value,
            **level_baselines(harness.cube, a, ex.cells, ex.features, horizon),
        }
    rows: list[dict[str, object]] = []
    positives = int((ex.actual >= 1).sum() if harness.task == "new_product" else ex.label.sum())
    for name, score in scores.items():
        frame = _frame(ex, harness, name, score)
        if harness.task == "level":
            low = high = None
            if name == FORECAST:
                width = calibrate(harness, a, int(horizon), options.max_eval_cells)
                notes.append(
                    f"level {ex.origin}->{ex.target}: conformal calibration on {width.source} "
                    f"({width.n:,} residuals), {width.describe()}"
                )
                q = width.half_width(ex.actual_origin)
                low, high = value * np.exp(-q), value * np.exp(q)
                frame["low"], frame["high"] = low, high
            values = level_metrics(ex.actual, score, low, high)
            n_rows, pos = int((ex.actual > 0).sum()), int((ex.actual > 0).sum())
        else:
            label = (ex.actual >= 1) if harness.task == "new_product" else ex.label
            values = entry_metrics(np.asarray(label, dtype=int), score, options.top_k)
            n_rows, pos = ex.cells.size, positives
        frames.append(frame)
        rows += [
            {
                "task": harness.task,
                "horizon": int(horizon),
                "origin": str(ex.origin),
                "model": name,
                "metric": metric,
                "value": v,
                "n": n_rows,
                "positives": pos,
            }
            for metric, v in values.items()
        ]
    if ex.sampled_from > ex.cells.size:
        notes.append(
            f"{harness.task} {ex.origin}->{ex.target}: {ex.cells.size:,} of "
            f"{ex.sampled_from:,} candidates evaluated (seeded sample)"
        )
    return frames, rows


def run_forecast_backtest(
    panel: pd.DataFrame,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
    progress: Callable[[str], None] | None = None,
) -> ForecastBacktest:
    """Backtest the hurdle forecast and the baselines out of time.

    Parameters
    ----------
    panel : pandas.DataFrame
        Canonical panel: exporter, importer, [product,] year, value (+ ``ease_terms`` columns).
        Cells without a row count as zero and are flagged as unobserved.
    options : ForecastOptions, optional
        Tasks, origins, horizons, interval level and learner settings.
    relatedness : callable, optional
        ``f(panel up to year, year) -> country x product frame`` (density, pci, cog) for
        product panels.
    progress : callable, optional
        Receives one line per task and origin.

    Returns
    -------
    ForecastBacktest
    """
    opts = options or ForecastOptions()
    # the models of a task's origins are independent: they are fitted in a thread pool
    # (:mod:`.parallel`) while this thread computes features and scores, with the same numbers
    with fit_pool(opts.learner) as pool:
        return _run(panel, opts, relatedness, progress, pool)


def _run(
    panel: pd.DataFrame,
    opts: ForecastOptions,
    relatedness: RelatednessFn | None,
    progress: Callable[[str], None] | None,
    pool: Executor | None,
) -> ForecastBacktest:
    notes: list[str] = []
    if "importer" not in panel.columns and "product" in panel.columns:
        # exporter x product exports (to the world): product entry is the only task
        panel = panel.assign(importer="world")
        notes.append("no importer column: exporter x product panel (exports to the world)")
    check_panel(panel)
    data = normalise_panel(panel)
    tasks = opts.tasks or default_tasks(data)
    if data["importer"].nunique() < 2 and any(t != "new_product" for t in tasks):
        raise DataError(
            f"backtest tasks {tasks}: new_flow and level need bilateral flows (an importer "
            "column with several destinations); use tasks: [new_product]"
        )
    domestic = int((data["exporter"] == data["importer"]).sum())
    if domestic:
        notes.append(f"{domestic:,} domestic rows (exporter == importer) are not candidates")
    frames: list[pd.DataFrame] = []
    rows: list[dict[str, object]] = []
    cubes: dict[bool, FeatureBuilder] = {}
    related_by_year: dict[int, RelatednessFeatures] = {}
    for task in tasks:
        bilateral = task != "new_product"
        if task == "new_product" and "product" not in data.columns:
            raise DataError("backtest task new_product needs a product column in the panel")
        if bilateral not in cubes:
            cube = build_cube(data, bilateral, opts.min_flow)
            rel = relatedness if "product" in data.columns else None
            cubes[bilateral] = FeatureBuilder(
                cube, data, opts.lags, opts.ease_terms, rel, shared=related_by_year
            )
        builder = cubes[bilateral]
        harness = TaskHarness(
            task, builder.cube, builder, opts, data, values=task == "level", pool=pool
        )
        origins = _origins(harness, opts)
        if not origins:
            notes.append(f"{task}: no origin has both labelled training data and an outcome year")
            continue
        prefetch_models(harness, origins, opts.horizons, calibrated=task == "level")
        for a in origins:
            pairs = harness.training_pairs(a)
            years = builder.cube.years
            notes.append(
                f"{task} origin {years[a]}: trained on "
                + ", ".join(f"{years[t]}->{years[b]}" for t, b in pairs)
            )
            for h in opts.horizons:
                b = harness.target(a, h)
                if b is None:
                    notes.append(f"{task} origin {years[a]}: no outcome year for horizon {h}")
                    continue
                f, r = _evaluate(harness, a, b, notes)
                frames += f
                rows += r
            if progress is not None:
                progress(f"[backtest] {task} origin {years[a]} done")
    predictions = (
        pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS]
        if frames
        else pd.DataFrame(columns=PREDICTION_COLUMNS)
    )
    if "product" not in data.columns:
        predictions = predictions.drop(columns="product")
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS[:8])
    if len(metrics):
        mean = (
            metrics.groupby(["task", "horizon", "model", "metric"], sort=False)
            .agg(value=("value", "mean"), n=("n", "sum"), positives=("positives", "sum"))
            .reset_index()
            .assign(origin="mean")
        )
        metrics = pd.concat([metrics, mean], ignore_index=True)
        metrics["target"] = metrics["task"]
        metrics["split"] = [
            "mean" if o == "mean" else f"train<={o},predict={int(o) + int(h)}"
            for o, h in zip(metrics["origin"], metrics["horizon"], strict=True)
        ]
        metrics = metrics[METRIC_COLUMNS]
    return ForecastBacktest(predictions, metrics, tuple(notes), opts)
