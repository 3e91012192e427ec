"""Plain-language verdicts and tables of a forecast backtest (``summary.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gravity.potential.forecast.options import ForecastOptions

FORECAST = "forecast"
# the metric each task is judged on, and whether larger is better
PRIMARY = {
    "new_flow": ("auc_pr", True),
    "new_product": ("auc_pr", True),
    "level": ("median_abs_log_error", False),
}
WHAT = {"new_flow": "new flows", "new_product": "new comparative advantages", "level": "levels"}


def best_baseline(block: pd.DataFrame, metric: str, larger: bool) -> tuple[str, float]:
    """Name and value of the best baseline on ``metric`` in a mean-over-origins block."""
    rows = block[(block["metric"] == metric) & (block["model"] != FORECAST)].dropna(
        subset=["value"]
    )
    if rows.empty:
        return "none", float("nan")
    pick = rows.loc[rows["value"].idxmax() if larger else rows["value"].idxmin()]
    return str(pick["model"]), float(pick["value"])


def _value(block: pd.DataFrame, model: str, metric: str) -> float:
    hit = block[(block["model"] == model) & (block["metric"] == metric)]["value"]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def verdicts(metrics: pd.DataFrame, options: ForecastOptions) -> list[str]:
    """One sentence per task and horizon, averaged over origins, wins and losses alike."""
    mean = metrics[metrics["origin"] == "mean"]
    out = []
    k = options.top_k[0] if options.top_k else None
    for (task, horizon), block in mean.groupby(["task", "horizon"], sort=False):
        metric, larger = PRIMARY[str(task)]
        name, base = best_baseline(block, metric, larger)
        own = _value(block, FORECAST, metric)
        wins = (own > base) if larger else (own < base)
        verdict = "beats" if wins else "does NOT beat"
        line = (
            f"- **{task}, h = {horizon}**: the forecast {verdict} the best baseline on "
            f"{metric} ({own:.3f} vs {base:.3f}, `{name}`)."
        )
        if task != "level" and k is not None:
            col = f"precision_at_{k}"
            naive, naive_value = best_baseline(block, col, True)
            line += (
                f" Of the forecast's top {k} candidate {WHAT[str(task)]}, "
                f"{100 * _value(block, FORECAST, col):.0f}% appeared; the best naive rule's top "
                f"{k} (`{naive}`): {100 * naive_value:.0f}%."
            )
        if task == "level":
            cover = _value(block, FORECAST, "coverage")
            line += (
                f" Its {100 * options.interval:.0f}% intervals contained "
                + (f"{100 * cover:.0f}%" if np.isfinite(cover) else "(no calibration)")
                + " of the outcomes."
            )
        out.append(line)
    return out


def _table(block: pd.DataFrame) -> str:
    wide = block.pivot_table(index="model", columns="metric", values="value", sort=False)
    cols = list(wide.columns)
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for model, row in wide.iterrows():
        cells = [f"{v:.4f}" if pd.notna(v) else "" for v in row.to_numpy()]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(
    metrics: pd.DataFrame, notes: tuple[str, ...], options: ForecastOptions
) -> str:
    """The ``summary.md`` of a forecast backtest."""
    lines = ["# Forecast backtest", "", "## Verdict (mean over origins)", ""]
    lines += verdicts(metrics, options) or ["- nothing was evaluated"]
    mean = metrics[metrics["origin"] == "mean"]
    for (task, horizon), block in mean.groupby(["task", "horizon"], sort=False):
        lines += ["", f"## {task}, horizon {horizon} (mean over origins)", "", _table(block)]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
