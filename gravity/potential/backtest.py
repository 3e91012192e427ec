"""Out-of-time backtests: train on years <= t, predict t + h, compare with what happened.

Nothing after ``t`` enters the training data: the panel is cut before the potential model,
relatedness and growth rates are computed (``train = panel[year <= t]``), and the outcome year
``t + h`` is read only to build the labels.

Targets:

- ``new_flow``: a cell (exporter x importer x product) that was absent or tiny at ``t`` — below
  ``material_share`` of the exporter's total exports — reaches that size at ``t + h``;
- ``product_entry``: an exporter-product with RCA < 1 at ``t`` has RCA >= 1 at ``t + h``
  (product panels only);
- ``level``: log levels and log growth of flows positive at both ``t`` and ``t + h``; interval
  coverage of ``potential_low .. potential_high``.

Models compared on the same candidates: ``combined`` (the opportunity score), ``gravity``
(potential in USD), ``density`` (relatedness alone, product panels), ``itc`` (the ITC-style
baseline) and ``persistence`` (the base-year value).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from gravity.exceptions import DataError, GravityWarning
from gravity.panel.zeros import Axes, dense_flows
from gravity.potential.grid import check_panel
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import RelatednessFn, opportunities

METRIC_COLUMNS = ["target", "model", "metric", "value", "split"]


@dataclass(frozen=True)
class BacktestResult:
    """Metrics of every split, in the ``metrics.csv`` layout, and a Markdown summary."""

    metrics: pd.DataFrame
    splits: tuple[tuple[int, int], ...]

    def summary_markdown(self) -> str:
        """Mean of each metric over splits, one table per target."""
        lines = ["# Backtest", ""]
        lines.append(
            "Splits (train ≤ t → predict t+h): " + ", ".join(f"{t}→{t + h}" for t, h in self.splits)
        )
        for target, block in self.metrics.groupby("target", sort=False):
            table = block.pivot_table(
                index="model", columns="metric", values="value", aggfunc="mean", sort=False
            )
            lines += ["", f"## {target}", "", _markdown(table)]
        return "\n".join(lines) + "\n"


def _markdown(table: pd.DataFrame) -> str:
    header = "| model | " + " | ".join(map(str, table.columns)) + " |"
    rule = "|---|" + "---:|" * len(table.columns)
    counts = [_is_count(str(c)) for c in table.columns]
    body = [
        f"| {index} | "
        + " | ".join(_cell(v, count) for v, count in zip(row, counts, strict=True))
        + " |"
        for index, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    return "\n".join([header, rule, *body])


def _is_count(metric: str) -> bool:
    return metric == "n" or metric.startswith("n_")


def _cell(value: float, count: bool) -> str:
    # counts are whole numbers (the mean over splits is rounded), never '1234.0000'
    if pd.isna(value):
        return ""
    return f"{round(value):,}" if count else f"{value:.4f}"


def ranking_areas(labels: np.ndarray, scores: np.ndarray, order: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and average precision (AUC-PR) of ``scores`` for binary ``labels``.

    Parameters
    ----------
    labels : numpy.ndarray
        0/1 labels, both present.
    scores : numpy.ndarray
        Finite scores, higher meaning more likely positive.
    order : numpy.ndarray
        Positions of ``scores`` in descending order.

    Returns
    -------
    tuple of float
        The area under the ROC curve (trapezoids, so tied scores count one half) and the average
        precision ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds: the
        definitions of scikit-learn's ``roc_auc_score`` and ``average_precision_score``, from one
        sort instead of their two.
    """
    ranked = scores[order]
    # the last position of each run of tied scores: one threshold per distinct score
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]
    tps = np.cumsum(labels[order], dtype=np.float64)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps] / tps[-1]
    fpr = np.r_[0.0, fps] / fps[-1]
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
    average_precision = float(np.sum(np.diff(tpr) * (tps / (tps + fps))))
    return roc_auc, average_precision


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, top_k: list[int]
) -> dict[str, float]:
    """ROC-AUC, AUC-PR (average precision), precision@k, prevalence and count."""
    ok = np.isfinite(scores)
    labels, scores = labels[ok], scores[ok]
    out = {"n": float(labels.size), "prevalence": float(labels.mean()) if labels.size else np.nan}
    if labels.size == 0 or labels.min() == labels.max():
        return {**out, "roc_auc": np.nan, "auc_pr": np.nan}
    order = np.argsort(-scores, kind="stable")
    out["roc_auc"], out["auc_pr"] = ranking_areas(labels, scores, order)
    for k in top_k:
        if k <= labels.size:
            out[f"precision_at_{k}"] = float(labels[order[:k]].mean())
    return out


def _rca(exports: pd.Series) -> pd.Series:
    """Balassa RCA of an exporter x product series."""
    by_country = exports.groupby(level=0).transform("sum")
    by_product = exports.groupby(level=1).transform("sum")
    total = exports.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        rca = (exports / by_country) / (by_product / total)
    return rca.fillna(0.0)


def _default_cutoffs(years: list[int], options: BacktestOptions, window: int) -> list[int]:
    first = years[0] + max(window - 1, 1)
    last = years[-1] - options.horizon
    if last < first:
        raise DataError(
            f"backtest: the panel's years {years[0]}..{years[-1]} are too few for a {window}-year "
            f"window and a {options.horizon}-year horizon; shorten backtest.horizon or "
            "potential.window"
        )
    cutoffs = list(range(last, first - 1, -options.step))[: options.max_splits]
    return sorted(c for c in cutoffs if c in years and c + options.horizon in years)


def run_backtest(
    panel: pd.DataFrame,
    potential: PotentialOptions,
    options: BacktestOptions,
    relatedness: RelatednessFn | None = None,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Evaluate the potential model out of time.

    Parameters
    ----------
    panel : pandas.DataFrame
        Canonical panel covering the training and outcome years.
    potential : PotentialOptions
        The potential model (its ``year`` and ``horizon`` are replaced by each split's).
    options : BacktestOptions
        Cutoffs, horizon and metrics.
    relatedness : callable, optional
        ``f(train_panel, year) -> country_product frame`` computed from the training data only.
    progress : callable, optional
        Receives one line per split.

    Returns
    -------
    BacktestResult
    """
    has_product = check_panel(panel)
    years = sorted(int(y) for y in panel["year"].unique())
    cutoffs = options.cutoffs or _default_cutoffs(years, options, potential.window)
    h = options.horizon
    for t in cutoffs:
        if t + h not in years:
            raise DataError(
                f"backtest: outcome year {t + h} (cutoff {t} + horizon {h}) is not in the panel"
            )
    # each split's rows are cut when it starts (a generator: not every split's copy at once)
    parts = (_split_rows(panel, t, h, potential) for t in cutoffs)
    args = (potential, options, relatedness, has_product)
    n_jobs = min(options.n_jobs if options.n_jobs > 0 else os.cpu_count() or 1, len(cutoffs))
    if n_jobs > 1:
        # the splits are independent: the same computations in worker processes, the same numbers
        done = Parallel(n_jobs=n_jobs)(
            delayed(_evaluate_split)(train, outcome, t, *args)
            for (train, outcome), t in zip(parts, cutoffs, strict=True)
        )
    else:
        done = (
            _evaluate_split(train, outcome, t, *args)
            for (train, outcome), t in zip(parts, cutoffs, strict=True)
        )
    rows: list[dict[str, object]] = []
    for t, (split_rows, cells) in zip(cutoffs, done, strict=True):
        rows += split_rows
        if progress is not None:
            progress(f"[backtest] train<={t},predict={t + h}: {cells:,} cells")
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    return BacktestResult(metrics, tuple((t, h) for t in cutoffs))


def _split_rows(
    panel: pd.DataFrame, t: int, h: int, potential: PotentialOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows a split reads: its training rows (years <= ``t``) and the outcome year's flows."""
    year = panel["year"].to_numpy()
    keep = year <= t
    if potential.model == "gravity":
        # the gravity potential reads only its window's years (and relatedness the last):
        # earlier rows would be copied for nothing. The forecast reads the whole history.
        keep &= year > t - potential.window
    flows = [c for c in ("exporter", "importer", "product", "year", "value") if c in panel]
    return panel[keep], panel.loc[year == t + h, flows]


def _evaluate_split(
    train: pd.DataFrame,
    outcome: pd.DataFrame,
    t: int,
    potential: PotentialOptions,
    options: BacktestOptions,
    relatedness: RelatednessFn | None,
    has_product: bool,
) -> tuple[list[dict[str, object]], int]:
    """One split's metric rows (train on years <= ``t``, predict ``t + horizon``) and cells."""
    h = options.horizon
    split = f"train<={t},predict={t + h}"
    # every exporter and destination is evaluated, whatever the ranking is restricted to
    opts = potential.model_copy(
        update={"year": t, "horizon": h, "top": None, "exporters": None, "importers": None}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GravityWarning)
        frame = opportunities(train, opts, relatedness)
    outcome_axes = Axes(
        tuple(sorted(frame["exporter"].unique())),
        tuple(sorted(frame["importer"].unique())),
        products=tuple(sorted(frame["product"].unique())) if has_product else (),
    )
    future = dense_flows(outcome, outcome_axes, t + h)
    keys = ["exporter", "importer", *(["product"] if has_product else [])]
    frame["future"] = _lookup(frame, future, keys)
    rows = _new_flows(frame, options, split, has_product)
    rows += _levels(frame, split)
    if has_product:
        rows += _entries(frame, options, split)
    return rows, len(frame)


def _lookup(frame: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """``table["value"]`` at each row of ``frame`` by ``keys`` (0 where absent).

    A left merge of ``frame`` with ``table`` (unique keys) followed by ``fillna(0)``, by
    integer codes from one factorisation of both sides' labels per key (missing labels match
    each other, as in the merge).
    """
    n = len(frame)
    ids = np.zeros(n + len(table), dtype=np.int64)
    size = 1
    for key in keys:
        both = pd.concat([frame[key], table[key]], ignore_index=True)
        codes, uniques = pd.factorize(both, use_na_sentinel=False)
        ids = ids * len(uniques) + codes
        size *= len(uniques)
    out = np.zeros(size, dtype=np.float64)
    out[ids[n:]] = table["value"].to_numpy(dtype=np.float64)
    return out[ids[:n]]


def _scores(frame: pd.DataFrame, has_product: bool) -> dict[str, np.ndarray]:
    out = {
        "combined": frame["score"].to_numpy(dtype=float),
        "gravity": frame["potential"].to_numpy(dtype=float),
        "itc": frame["itc_potential"].to_numpy(dtype=float),
        "persistence": frame["actual"].to_numpy(dtype=float),
    }
    if has_product and "density" in frame.columns and frame["density"].notna().any():
        out["density"] = frame["density"].to_numpy(dtype=float)
    return out


def _records(
    target: str, split: str, model: str, values: dict[str, float]
) -> list[dict[str, object]]:
    return [
        {"target": target, "model": model, "metric": k, "value": v, "split": split}
        for k, v in values.items()
    ]


def _new_flows(
    frame: pd.DataFrame, options: BacktestOptions, split: str, has_product: bool
) -> list[dict[str, object]]:
    total = frame.groupby("exporter")["actual"].transform("sum")
    threshold = options.material_share * total
    candidates = (frame["actual"] < threshold).to_numpy()
    labels = (frame["future"] >= threshold).to_numpy()[candidates]
    rows: list[dict[str, object]] = []
    for model, scores in _scores(frame, has_product).items():
        rows += _records(
            "new_flow",
            split,
            model,
            classification_metrics(labels.astype(int), scores[candidates], options.top_k),
        )
    return rows


def _entries(frame: pd.DataFrame, options: BacktestOptions, split: str) -> list[dict[str, object]]:
    by = frame.groupby(["exporter", "product"])
    now = _rca(by["actual"].sum())
    later = _rca(by["future"].sum())
    predicted = _rca(by["potential"].sum())
    itc = _rca(by["itc_potential"].sum())
    candidates = now < 1
    labels = (later[candidates] >= 1).astype(int).to_numpy()
    density = by["density"].first() if "density" in frame.columns else None
    # the combined entry score uses every signal known at t: how close the exporter already is
    # (RCA), how related the product is (density) and what gravity predicts (predicted RCA)
    signals = [now, predicted] + (
        [density] if density is not None and density.notna().any() else []
    )
    combined = pd.concat([s.rank(pct=True) for s in signals], axis=1).mean(axis=1)
    models = {
        "combined": combined[candidates].to_numpy(),
        "gravity": predicted[candidates].to_numpy(),
        "itc": itc[candidates].to_numpy(),
        "persistence": now[candidates].to_numpy(),
    }
    if density is not None and density.notna().any():
        models["density"] = density[candidates].to_numpy(dtype=float)
    rows: list[dict[str, object]] = []
    for model, scores in models.items():
        rows += _records(
            "product_entry", split, model, classification_metrics(labels, scores, options.top_k)
        )
    return rows


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _levels(frame: pd.DataFrame, split: str) -> list[dict[str, object]]:
    both = (frame["actual"] > 0) & (frame["future"] > 0)
    sub = frame[both]
    actual_growth = np.log(sub["future"] / sub["actual"])
    rows: list[dict[str, object]] = []
    for model, column in (
        ("gravity", "potential"),
        ("itc", "itc_potential"),
        ("persistence", "actual"),
    ):
        pred = sub[column].to_numpy(dtype=float)
        ok = pred > 0
        err = np.log(pred[ok]) - np.log(sub["future"].to_numpy()[ok])
        predicted_growth = np.log(pred[ok] / sub["actual"].to_numpy()[ok])
        realised_growth = actual_growth.to_numpy()[ok]
        # (the RMSE of growth equals that of levels on the same flows, so growth is judged by
        # how well the predicted ordering of growth rates matches the realised one)
        values = {
            "n": float(ok.sum()),
            "rmse_log_level": float(np.sqrt(np.mean(err**2))) if ok.any() else np.nan,
            "mae_log_level": float(np.mean(np.abs(err))) if ok.any() else np.nan,
            "growth_correlation": _correlation(predicted_growth, realised_growth),
        }
        if model == "gravity":
            inside = (sub["future"] >= sub["potential_low"]) & (
                sub["future"] <= sub["potential_high"]
            )
            values["interval_coverage"] = float(inside.mean()) if len(sub) else np.nan
        rows += _records("level", split, model, values)
    return rows
