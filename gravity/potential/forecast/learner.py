"""The hurdle forecast and its split-conformal intervals.

``P(value > 0 at t0 + h)`` (or ``P(RCA >= 1)``) from a gradient-boosted classifier, and
``E[log value | value > 0]`` from a gradient-boosted regressor of the log ratio of the outcome to
an anchor known at ``t0`` (:func:`~.harness.log_anchor`: the value at ``t0``,
or the structural gravity fit where there is none): trees do not extrapolate, so predicting the
change rather than the level lets one model serve large and small flows. Both are scikit-learn
``HistGradientBoosting*`` models, which take NaN as its own branch (missing history stays
missing), seeded with the run's seed. With fewer than ``MIN_TREE_POSITIVES`` positive examples
the classifier is a regularised logistic regression instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from gravity.potential.forecast.options import LearnerOptions

# Below this many positive training examples the classifier is an L2 logistic regression on
# standardised features with missing-value indicators: boosted trees need more events than
# that to split reliably (a 15-country, 20-product panel gives a few dozen entries per origin).
MIN_TREE_POSITIVES = 200
# inverse L2 strengths the small classifier's cross-validation chooses from, and its folds
SMALL_CS = tuple(float(c) for c in np.logspace(-3, 1, 9))
SMALL_CV_FOLDS = 5
# Part of every cache key: bump it whenever features, anchors or learners change, so that a
# model fitted by older code is never reused.
MODEL_VERSION = 8
# early stopping holds out this share of the (seeded) training rows
VALIDATION_FRACTION = 0.1
# rounds without improvement on the held-out rows before boosting stops
N_ITER_NO_CHANGE = 20


@dataclass(frozen=True)
class FittedHurdle:
    """A fitted hurdle model: classifier and (for value tasks) the log-ratio regressor."""

    features: tuple[str, ...]
    classifier: HistGradientBoostingClassifier | Pipeline | None
    regressor: HistGradientBoostingRegressor | None
    n_train: int
    n_available: int
    positives: int
    base_rate: float
    threads: int = 1
    negative_rate: float | None = None
    """Share of the negative examples the classifier was trained on (None: all)."""

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """P(positive outcome) per row (the training base rate if one class only was seen).

        A classifier trained on a share ``r`` of the negatives estimates odds ``1 / r`` times
        the population's; they are multiplied back by ``r`` (Elkan 2001, theorem 2; Dal
        Pozzolo et al. 2015). Measured on the simulated world this keeps the mean prediction
        and each decile at the observed rate, where inverse-probability weights of the kept
        negatives left the probabilities a third too high (leaves that by chance hold few of
        the up-weighted negatives overshoot).
        """
        if self.classifier is None or not len(frame):
            return undersampling_correction(np.full(len(frame), self.base_rate), self.negative_rate)
        x = frame[list(self.features)].to_numpy(dtype=float)
        with threadpool_limits(self.threads, user_api="openmp"):
            p = np.asarray(self.classifier.predict_proba(x)[:, 1], dtype=float)
        return undersampling_correction(p, self.negative_rate)

    def log_ratio(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted log(outcome / anchor) given a positive outcome."""
        if self.regressor is None or not len(frame):
            return np.zeros(len(frame))
        x = frame[list(self.features)].to_numpy(dtype=float)
        with threadpool_limits(self.threads, user_api="openmp"):
            return np.asarray(self.regressor.predict(x), dtype=float)


def undersampling_correction(p: np.ndarray, negative_rate: float | None) -> np.ndarray:
    """Probabilities of a classifier trained on a share of the negatives, on the population.

    ``p * r / (p * r + 1 - p)``: the odds times ``r``; ``p`` unchanged when ``r`` is None or 1.
    """
    if negative_rate is None or negative_rate >= 1:
        return p
    return p * negative_rate / (p * negative_rate + 1.0 - p)


def _tree_settings(options: LearnerOptions, seed: int) -> dict[str, Any]:
    """Keyword arguments shared by the gradient-boosted classifier and regressor."""
    return {
        "max_iter": options.max_iter,
        "learning_rate": options.learning_rate,
        "max_leaf_nodes": options.max_leaf_nodes,
        "min_samples_leaf": options.min_samples_leaf,
        "l2_regularization": options.l2_regularization,
        "early_stopping": True,
        "validation_fraction": VALIDATION_FRACTION,
        "n_iter_no_change": N_ITER_NO_CHANGE,
        "random_state": seed,
    }


def _classifier(options: LearnerOptions, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(**_tree_settings(options, seed))


def _small_pipeline(c: float, seed: int) -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=c, max_iter=2000, random_state=seed),
    )


def _small_classifier(x: np.ndarray, y: np.ndarray, seed: int) -> Pipeline:
    """L2 logistic regression with its strength chosen by cross-validated AUC-PR.

    A few dozen events for ~50 features: a fixed strength lets the weights fit noise. Each
    ``C`` of ``SMALL_CS`` is scored on seeded stratified folds of the training examples
    (validation within the training data); ties keep the stronger penalty.
    """
    events = int(min(y.sum(), y.size - y.sum()))
    folds = min(SMALL_CV_FOLDS, events)
    best_c = 1.0
    if folds >= 2:
        split = StratifiedKFold(folds, shuffle=True, random_state=seed)
        scores = []
        for c in SMALL_CS:
            ap = []
            for train, test in split.split(x, y):
                fitted = _small_pipeline(c, seed).fit(x[train], y[train])
                ap.append(average_precision_score(y[test], fitted.predict_proba(x[test])[:, 1]))
            scores.append(float(np.mean(ap)))
        best_c = SMALL_CS[int(np.argmax(scores))]
    return _small_pipeline(best_c, seed).fit(x, y)


def _regressor(options: LearnerOptions, seed: int) -> HistGradientBoostingRegressor:
    # absolute error: the conditional median of the log ratio, which is what the median
    # absolute log error scores
    return HistGradientBoostingRegressor(loss="absolute_error", **_tree_settings(options, seed))


def fit_hurdle(
    frame: pd.DataFrame,
    label: np.ndarray,
    log_ratio: np.ndarray | None,
    options: LearnerOptions,
    seed: int,
    negative_rate: float | None = None,
) -> FittedHurdle:
    """Fit the classifier on ``label`` and, where given, the regressor on positive rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training features (stacked earlier origins and horizons).
    label : numpy.ndarray
        1 where the outcome is positive (or RCA >= 1).
    log_ratio : numpy.ndarray, optional
        log(outcome / anchor) (NaN where the outcome is zero); no regressor when None.
    options : LearnerOptions
        Tree settings and the cap on training rows.
    seed : int
        Seed of the row sample and of the learners.
    negative_rate : float, optional
        The share of negative examples kept in ``frame`` (all positives kept): the classifier's
        odds are multiplied by it when predicting (:meth:`FittedHurdle.probability`). The
        regressor sees positive rows only and is unaffected.

    Returns
    -------
    FittedHurdle
    """
    rng = np.random.default_rng(seed)
    n = len(frame)
    rows = np.arange(n)
    if n > options.max_train_rows:
        rows = np.sort(rng.choice(n, options.max_train_rows, replace=False))
    # a column with no value in the training rows (e.g. a lag before the first year) carries
    # nothing and cannot be binned
    sub = frame.iloc[rows]
    keep = [c for c in sub.columns if np.isfinite(sub[c].to_numpy(dtype=float)).any()]
    x = sub[keep].to_numpy(dtype=float)
    y = label[rows].astype(int)
    positives = int(y.sum())
    clf = None
    reg = None
    # OpenMP threads that outnumber free cores spin and wait: on a shared 2-core machine a
    # two-thread fit ran many times slower than a one-thread fit, so the thread count is explicit
    with threadpool_limits(options.threads, user_api="openmp"):
        if 0 < positives < MIN_TREE_POSITIVES and positives < y.size:
            clf = _small_classifier(x, y, seed)
        elif 0 < positives < y.size:
            clf = _classifier(options, seed).fit(x, y)
        if log_ratio is not None:
            r = log_ratio[rows]
            ok = np.isfinite(r)
            if ok.sum() >= 2 * options.min_samples_leaf:
                reg = _regressor(options, seed).fit(x[ok], r[ok])
    return FittedHurdle(
        features=tuple(keep),
        classifier=clf,
        regressor=reg,
        n_train=int(rows.size),
        n_available=n,
        positives=positives,
        base_rate=float(y.mean()) if y.size else 0.0,
        threads=options.threads,
        negative_rate=negative_rate,
    )


def cross_fit_probability(
    frame: pd.DataFrame, label: np.ndarray, options: LearnerOptions, seed: int, folds: int
) -> np.ndarray:
    """Out-of-fold probabilities: each example scored by a classifier fitted without its fold.

    Folds are a seeded random partition of the rows. Used to choose a blend where no earlier
    origin has an out-of-time model: the stacker must see predictions of examples the model did
    not train on, or it trusts the model more than it deserves.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training features.
    label : numpy.ndarray
        1 where the outcome is positive.
    options : LearnerOptions
        As for :func:`fit_hurdle`.
    seed : int
        Seed of the folds and the learners.
    folds : int
        Number of folds.

    Returns
    -------
    numpy.ndarray
        One probability per row of ``frame``.
    """
    fold = np.random.default_rng([seed, folds]).integers(0, folds, len(frame))
    out = np.empty(len(frame))
    for k in range(folds):
        test = fold == k
        if not test.any():
            continue
        train = ~test
        model = fit_hurdle(
            frame[train].reset_index(drop=True), label[train], None, options, seed + k
        )
        out[test] = model.probability(frame[test])
    return out


def conformal_quantile(residuals: np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ``ceil((n + 1) level) / n`` quantile of ``|residuals|``.

    With exchangeable calibration and test residuals the interval ``prediction +- q`` covers a
    new outcome with probability at least ``level`` (Vovk et al. 2005; Lei et al. 2018). NaN
    without residuals; infinite when ``n`` is too small for the level.
    """
    r = np.abs(residuals[np.isfinite(residuals)])
    n = r.size
    if n == 0:
        return float("nan")
    rank = int(np.ceil((n + 1) * level))
    if rank > n:
        return float("inf")
    return float(np.sort(r)[rank - 1])


def cache_key(data_hash: str, task: str, origin: int, spec: dict[str, object]) -> str:
    """Key of a fitted model: the data up to the origin, the task, the origin and options."""
    text = json.dumps(
        {"version": MODEL_VERSION, "data": data_hash, "task": task, "origin": origin, **spec},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load_or_fit(
    cache_dir: Path | None,
    key: str,
    fit: Callable[[], FittedHurdle],
) -> FittedHurdle:
    """The cached model under ``key``, or ``fit()`` (a callable) stored there."""
    path = None if cache_dir is None else Path(cache_dir) / f"forecast-{key}.joblib"
    if path is not None and path.exists():
        model = joblib.load(path)
        if isinstance(model, FittedHurdle):
            return model
    model = fit()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, path)
    return model
