"""Metrics of the forecast backtest, recomputable from ``predictions.parquet``.

Entry tasks: AUC-PR (average precision), ROC-AUC, precision@k and recall@k (the share of the
cells that turned positive found in the top k). Levels, on cells positive at the outcome year:
median absolute log error, RMSE of logs, and for models with intervals their coverage and mean
log width. Scores that are not finite rank below every finite score (a baseline that cannot
score a cell says nothing about it), so every model is judged on the same cells.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def _finite(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    ok = np.isfinite(s)
    if ok.all():
        return s
    floor = (s[ok].min() if ok.any() else 0.0) - 1.0
    return np.where(ok, s, floor)


def entry_metrics(labels: np.ndarray, scores: np.ndarray, top_k: list[int]) -> dict[str, float]:
    """AUC-PR, ROC-AUC, precision@k and recall@k (NaN when only one class is present)."""
    y = np.asarray(labels, dtype=int)
    s = _finite(scores)
    out: dict[str, float] = {}
    one_class = y.size == 0 or y.min() == y.max()
    out["auc_pr"] = np.nan if one_class else float(average_precision_score(y, s))
    out["roc_auc"] = np.nan if one_class else float(roc_auc_score(y, s))
    # ties at the k-th score are broken by cell order (stable), as a user reading the top k would
    order = np.argsort(-s, kind="stable")
    positives = y.sum()
    for k in top_k:
        top = y[order[: min(k, y.size)]]
        out[f"precision_at_{k}"] = float(top.mean()) if top.size else np.nan
        out[f"recall_at_{k}"] = float(top.sum() / positives) if positives else np.nan
    return out


def level_metrics(
    actual: np.ndarray,
    predicted: np.ndarray,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> dict[str, float]:
    """Log-error metrics on rows with a positive outcome and a positive prediction."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ok = (a > 0) & np.isfinite(p) & (p > 0)
    out: dict[str, float] = {"scored_share": float(ok.mean()) if a.size else np.nan}
    if not ok.any():
        return {**out, "median_abs_log_error": np.nan, "rmse_log": np.nan}
    err = np.log(p[ok]) - np.log(a[ok])
    out["median_abs_log_error"] = float(np.median(np.abs(err)))
    out["rmse_log"] = float(np.sqrt(np.mean(err**2)))
    if low is not None and high is not None:
        lo, hi = np.asarray(low, dtype=float)[ok], np.asarray(high, dtype=float)[ok]
        has = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        if has.any():
            inside = (a[ok][has] >= lo[has]) & (a[ok][has] <= hi[has])
            out["coverage"] = float(inside.mean())
            out["width_log"] = float(np.mean(np.log(hi[has]) - np.log(lo[has])))
    return out
