"""The "How accurate is this?" section: the backtest in plain words, wins and losses alike.

Reads ``backtest/metrics.csv`` in either layout the backtest writes:

- the forecast backtest (``task, horizon, origin, model, metric, value, n, positives``; rows with
  ``origin == "mean"`` average over origins; the model is ``forecast``);
- the potential backtest (``target, model, metric, value, split``; the model is ``combined``
  (the opportunity score) for entry targets and ``gravity`` for levels).

For each task it compares the model with the best **naive rule** (carrying last year forward,
lagged presence, market size, ...; the best other baseline when no naive rule was run): the hit
rate of the top k candidates for entry tasks, and for levels the typical error and the
interval's coverage against its nominal level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from gravity.report.formatting import format_share
from gravity.report.tables import Column, ReportTable

__all__ = ["NAIVE_RULES", "Accuracy", "accuracy"]

NAIVE_RULES = frozenset(
    {
        "persistence",
        "persistence_growth",
        "lagged_presence",
        "mass",
        "count_mass",
        "reverse_flow",
        "rca",
    }
)
"""Baselines that need no model: last year's flows carried forward, their growth, presence,
market size and flow counts, the reverse flow, today's comparative advantage (RCA)."""

TASK_WORDS = {
    "new_flow": "new export flows (a product starts to go to a market)",
    "new_product": "new products (a country becomes a competitive exporter of a product)",
    "product_entry": "new products (a country starts to export a product)",
    "level": "the value of existing flows",
}
ERROR_METRICS = ("median_abs_log_error", "mae_log_level")
COVERAGE_METRICS = ("coverage", "interval_coverage")


@dataclass(frozen=True)
class Accuracy:
    """Plain sentences (one per task and horizon) and the comparison as a table."""

    sentences: tuple[str, ...]
    table: ReportTable


def _long(metrics: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """task, horizon, model, metric, value averaged over origins or splits; and the layout."""
    if "task" in metrics.columns:
        frame = metrics
        if "origin" in frame.columns and frame["origin"].astype(str).eq("mean").any():
            frame = frame[frame["origin"].astype(str) == "mean"]
        frame = frame.assign(horizon=frame.get("horizon", pd.Series(pd.NA, index=frame.index)))
        layout = "forecast"
    else:
        frame = metrics.rename(columns={"target": "task"}).assign(horizon=pd.NA)
        layout = "potential"
    frame = frame.assign(value=pd.to_numeric(frame["value"], errors="coerce"))
    mean = (
        frame.groupby(["task", "horizon", "model", "metric"], dropna=False, sort=False)["value"]
        .mean()
        .reset_index()
    )
    return mean, layout


def _own_model(block: pd.DataFrame, task: str, layout: str) -> str | None:
    models = list(dict.fromkeys(block["model"].astype(str)))
    if layout == "forecast":
        wanted = ["forecast"]
    else:
        wanted = ["gravity"] if task == "level" else ["combined", "gravity"]
    return next((m for m in wanted if m in models), None)


def _value(block: pd.DataFrame, model: str, metric: str) -> float:
    hit = block[(block["model"] == model) & (block["metric"] == metric)]["value"]
    return float(hit.iloc[0]) if len(hit) and pd.notna(hit.iloc[0]) else math.nan


def _best_rule(
    block: pd.DataFrame, own: str, metric: str, larger: bool
) -> tuple[str | None, float, bool]:
    rows = block[(block["metric"] == metric) & (block["model"] != own)].dropna(subset=["value"])
    naive = rows[rows["model"].isin(NAIVE_RULES)]
    pool, is_naive = (naive, True) if len(naive) else (rows, False)
    if pool.empty:
        return None, math.nan, False
    pick = pool.loc[pool["value"].idxmax() if larger else pool["value"].idxmin()]
    return str(pick["model"]), float(pick["value"]), is_naive


def _top_k(block: pd.DataFrame) -> tuple[str, int] | None:
    names = [m for m in block["metric"].unique() if str(m).startswith("precision_at_")]
    if not names:
        return None
    metric = min(names, key=lambda m: int(str(m).rsplit("_", 1)[1]))
    return str(metric), int(str(metric).rsplit("_", 1)[1])


def _rule_words(name: str | None, naive: bool) -> str:
    if name is None:
        return "no baseline"
    plain = name.replace("_", " ")
    return f"the best naive rule ({plain})" if naive else f"the best baseline ({plain})"


def accuracy(metrics: pd.DataFrame, level: float | None) -> Accuracy:
    """Sentences and a table comparing the model with the best naive rule, per task.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``backtest/metrics.csv`` in either layout (see the module docstring).
    level : float or None
        Nominal coverage of the backtest's intervals (``None``: not recorded).

    Returns
    -------
    Accuracy
    """
    mean, layout = _long(metrics)
    sentences: list[str] = []
    rows: list[dict[str, object]] = []
    for (task, horizon), block in mean.groupby(["task", "horizon"], dropna=False, sort=False):
        task = str(task)
        own = _own_model(block, task, layout)
        if own is None:
            continue
        after = "" if pd.isna(horizon) else f" {int(horizon)} years ahead"
        what = TASK_WORDS.get(task, task.replace("_", " "))
        if task == "level":
            metric = next((m for m in ERROR_METRICS if m in set(block["metric"])), None)
            if metric is None:
                continue
            own_err = _value(block, own, metric)
            rule, rule_err, naive = _best_rule(block, own, metric, larger=False)
            wins = own_err < rule_err
            sentence = (
                f"Predicting {what}{after}: the model's typical error is a factor of "
                f"{math.exp(own_err):.2f}, against {math.exp(rule_err):.2f} for "
                f"{_rule_words(rule, naive)}; the model "
                + ("beats it." if wins else "does NOT beat it.")
            )
            cover_metric = next((m for m in COVERAGE_METRICS if m in set(block["metric"])), None)
            cover = _value(block, own, cover_metric) if cover_metric else math.nan
            if math.isfinite(cover):
                nominal = format_share(level, 0) if level is not None else "its nominal level"
                sentence += (
                    f" Its intervals, meant to hold {nominal} of outcomes, held "
                    f"{format_share(cover, 0)}."
                )
            rows.append(
                {
                    "task": what,
                    "horizon": horizon,
                    "measure": "typical error (factor)",
                    "model": math.exp(own_err),
                    "rule": rule or "",
                    "rule_value": math.exp(rule_err),
                    "verdict": "beats" if wins else "does not beat",
                    "coverage": cover,
                    "nominal": level if math.isfinite(cover) else math.nan,
                }
            )
        else:
            top = _top_k(block)
            if top is None:
                continue
            metric, k = top
            own_hit = _value(block, own, metric)
            rule, rule_hit, naive = _best_rule(block, own, metric, larger=True)
            wins = own_hit > rule_hit
            sentence = (
                f"Predicting {what}{after}: of the model's top {k} candidates, "
                f"{format_share(own_hit, 0)} happened; of the top {k} of "
                f"{_rule_words(rule, naive)}, {format_share(rule_hit, 0)}. The model "
                + ("beats it." if wins else "does NOT beat it.")
            )
            rows.append(
                {
                    "task": what,
                    "horizon": horizon,
                    "measure": f"hit rate of the top {k}",
                    "model": own_hit,
                    "rule": rule or "",
                    "rule_value": rule_hit,
                    "verdict": "beats" if wins else "does not beat",
                    "coverage": math.nan,
                    "nominal": math.nan,
                }
            )
        sentences.append(sentence)
    frame = pd.DataFrame(
        rows,
        columns=[
            "task",
            "horizon",
            "measure",
            "model",
            "rule",
            "rule_value",
            "verdict",
            "coverage",
            "nominal",
        ],
    )
    table = ReportTable(
        "accuracy",
        "How accurate is this? The model against the best naive rule",
        (
            Column("task", "What is predicted"),
            Column("horizon", "Years ahead", "int"),
            Column("measure", "Measure"),
            Column("model", "Model", "number"),
            Column("rule", "Best naive rule"),
            Column("rule_value", "Naive rule", "number"),
            Column("verdict", "Verdict"),
            Column("coverage", "Interval coverage", "share"),
            Column("nominal", "Nominal level", "share"),
        ),
        frame,
        "Hit rates and errors averaged over the out-of-time backtest's origins or splits.",
    )
    return Accuracy(tuple(sentences), table)
