"""The learned forecast combined with the best naive rule, chosen on out-of-time validation.

The model of origin ``t0`` is trained on earlier origins only; its blend is chosen on the model
of the latest earlier origin ``c`` (trained on outcomes up to ``c``), scored on ``c``'s candidates
whose outcomes are known by ``t0``. Those predictions are out of time, like the ones the blend
is applied to, and nothing after ``t0`` is read. Without such a model (the first trainable
origin, or a panel with a single training pair) entry blends use cross-fitted predictions of the
training examples (:meth:`~.harness.TaskHarness.blend`), on which nothing is selected (below).

- Entry tasks (stacked generalisation, Wolpert 1992): each naive rule that reads only a cell's
  features and own history (:func:`~.baselines.new_flow_signals`,
  :func:`~.baselines.entry_baselines`) is scored on the validation cells; the best by AUC-PR is
  stacked with the model by a logistic regression of the outcome on the model's log-odds and the
  rule's standardised score. Of the model alone, the rule alone (a logistic curve of its score,
  which ranks as the rule does) and the stack, the one with the best validation AUC-PR is kept,
  the stack only if it wins by ``STACK_MARGIN``. The result is always a probability.
  That choice is made only where the validation can support it: out of time and with at least
  ``MIN_SELECTION_EVENTS`` entries. With fewer, a paired bootstrap of the AUC-PR difference
  between the model and the rule over the validation cells decides only a clear winner (its
  interval excludes zero), used alone; otherwise, and always where the validation is
  cross-fitted within the training period (which says nothing of how the model carries to a
  later origin), the two are combined with fixed equal weights (Bates and Granger 1969; the
  "forecast-combination puzzle": on small validation sets equal weights beat estimated or
  selected ones, Smith and Wallis 2009): the mean of the model's standardised log-odds and the
  rule's standardised score, turned into a probability by a logistic curve of that mean (which
  ranks as the mean does).
- Levels: the regressor predicts the log change from the value at the origin
  (:func:`~.harness.log_anchor`). The forecast is ``log v0 + w * correction + g * h * growth``
  (``growth``: trailing annual growth of world trade), with ``w`` from ``SHRINK_GRID`` and ``g``
  0 or 1 chosen per horizon for the smallest validation median absolute log error. The family
  holds the model alone (``w = 1, g = 0``), ``persistence`` (0, 0) and ``persistence_growth``
  (0, 1): short horizons, where changes are mostly noise, can fall back to a baseline. That
  choice is the option ``level_blend``; by default the weights are fixed instead
  (:func:`fixed_level_blend`: equal thirds of the model, ``persistence`` and
  ``persistence_growth``), with no choice made on validation cells.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.linear_model import LogisticRegression

from gravity.potential.forecast.metrics import entry_metrics

# weights of the learned log correction tried on the validation cells (1: the model alone,
# 0: a baseline); ties keep the earlier entry (the model alone first)
SHRINK_GRID = (1.0, 0.75, 0.5, 0.25, 0.0)
# weights of the trailing world growth term (0: persistence, 1: persistence x growth)
GROWTH_GRID = (0.0, 1.0)
# a stacking logistic regression of two inputs needs a few events on each side to be estimated
MIN_VALIDATION_POSITIVES = 10
# probabilities are clipped this far from 0 and 1 before taking log-odds
PROB_EPS = 1e-6
# validation AUC-PR the stack must gain over the better of the model and the rule alone: its
# two weights are fitted on the validation cells, which flatters it (on simulated validation
# sets of 4,000 cells a model of pure noise gained up to 0.0012 in-sample; fewer cells, more)
STACK_MARGIN = 0.005
# rules whose scores are flows or fitted values: stacked on their logarithm (heavy tails)
LOG_SIGNALS = frozenset({"reverse_flow", "gravity"})
# paired bootstrap of the validation AUC-PR difference (model - rule): seeded resamples of the
# validation cells, and the central interval that must exclude zero for the validation to
# choose between them (90%: a one-sided 5% test in the direction it picks)
BOOTSTRAP_DRAWS = 200
BOOTSTRAP_LEVEL = 0.90
# below this many validation entries the model, the rule and the stack are not selected among
# (nor the stack's weights fitted): about 10 events per estimated coefficient (Peduzzi et al.
# 1996) for the stack's intercept and two weights
MIN_SELECTION_EVENTS = 30
# a model whose log-odds vary less than this (relative to their size) scores every cell alike
FLAT_SD = 1e-9


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), PROB_EPS, 1 - PROB_EPS)
    return np.log(q / (1 - q))


def _raw_signal(name: str, score: np.ndarray) -> np.ndarray:
    s = np.asarray(score, dtype=float)
    if name in LOG_SIGNALS:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(s > 0, np.log(np.where(s > 0, s, 1.0)), np.nan)
    return s


@dataclass(frozen=True)
class Blend:
    """How the model's outputs are combined with a naive rule at one origin.

    The default is the model alone.
    """

    shrink: float = 1.0
    """Levels: weight of the learned log correction over the value at the origin."""
    growth: float = 0.0
    """Levels: weight of horizon x trailing world growth (log) added to the forecast."""
    signal: str | None = None
    """Entry: the naive rule stacked with the model (None: the model alone)."""
    coef: tuple[float, float, float] = (0.0, 1.0, 0.0)
    """Entry: intercept and weights of the model's log-odds and of the standardised rule."""
    fill: float = 0.0
    """Rule score given to cells the rule cannot score (below its lowest validation score)."""
    center: float = 0.0
    scale: float = 1.0
    source: str = "none (no earlier out-of-time model)"
    """Where the blend was chosen, in words."""
    combined: bool = False
    """Entry: the fixed equal-weight combination of the model and the rule (not selected)."""
    fixed: bool = False
    """Levels: the weights are fixed in advance (``level_weights``), not chosen on validation."""

    def standardised(self, score: np.ndarray) -> np.ndarray:
        """The rule's score on the stacker's scale (increasing in the score)."""
        assert self.signal is not None
        s = _raw_signal(self.signal, score)
        s = np.where(np.isfinite(s), s, self.fill)
        return (s - self.center) / self.scale

    def probability(self, p: np.ndarray, score: np.ndarray | None) -> np.ndarray:
        """The stacked probability (``p`` itself without a rule)."""
        if self.signal is None or score is None:
            return p
        b0, b1, b2 = self.coef
        z = b0 + b1 * _logit(p) + b2 * self.standardised(score)
        return 1.0 / (1.0 + np.exp(-z))

    def log_ratio(self, correction: np.ndarray, growth: np.ndarray | float = 0.0) -> np.ndarray:
        """The log change over the anchor: shrunk correction plus weighted world growth."""
        return self.shrink * correction + self.growth * growth

    def describe(self) -> str:
        """The blend in words."""
        if self.signal is not None and self.combined:
            return f"equal-weight combination with `{self.signal}` ({self.source})"
        if self.signal is not None and self.coef[1] == 0:
            return f"the rule `{self.signal}` alone (chosen on {self.source})"
        if self.signal is not None:
            _, b1, b2 = self.coef
            return (
                f"stacked with `{self.signal}` (chosen on {self.source}): "
                f"log-odds weight {b1:.3f}, rule weight {b2:.3f}"
            )
        if self.fixed:
            rest = 1.0 - self.shrink - self.growth
            return (
                f"fixed combination in logs: model x {self.shrink:.3g}, persistence x "
                f"{rest:.3g}, persistence_growth x {self.growth:.3g} ({self.source})"
            )
        if self.shrink != 1.0 or self.growth != 0.0:
            return (
                f"learned change x {self.shrink:g} + trailing world growth x {self.growth:g} "
                f"(chosen on {self.source})"
            )
        return f"model alone (validation: {self.source})"


def fit_entry_blend(
    prob: np.ndarray,
    signals: dict[str, np.ndarray],
    label: np.ndarray,
    seed: int,
    source: str,
    out_of_time: bool = True,
) -> Blend:
    """Stack the model with the best rule on out-of-time validation cells.

    Parameters
    ----------
    prob : numpy.ndarray
        The earlier origin's model's probabilities on the validation cells.
    signals : dict
        Each candidate rule's scores on the same cells.
    label : numpy.ndarray
        The validation outcomes (1: entered).
    seed : int
        Seed of the logistic regression (its solver is deterministic; kept for the record).
    source : str
        The validation origin and outcomes, in words.
    out_of_time : bool
        Whether the validation predictions are out of time (an earlier origin's model on its
        own later outcomes); False for cross-fitted predictions of the training examples.

    Returns
    -------
    Blend
        The model alone when the validation cells have too few events of either class, no rule
        scores them, or the stack does not beat the model there; the equal-weight combination
        (:func:`combine_equally`) when the validation is not out of time or its paired
        bootstrap (:func:`auc_pr_difference_interval`) cannot tell the model and the rule apart.
    """
    y = np.asarray(label, dtype=int)
    if min(y.sum(), y.size - y.sum()) < MIN_VALIDATION_POSITIVES:
        return Blend(source=f"{source}: too few validation events")
    base = entry_metrics(y, prob, [])["auc_pr"]
    ranked = sorted(
        ((entry_metrics(y, s, [])["auc_pr"], name) for name, s in signals.items()),
        key=lambda t: -np.nan_to_num(t[0], nan=-1.0),
    )
    if not ranked or not np.isfinite(ranked[0][0]):
        return Blend(source=source)
    name = ranked[0][1]
    raw = _raw_signal(name, signals[name])
    finite = raw[np.isfinite(raw)]
    if finite.size == 0:
        return Blend(source=source)
    # cells the rule cannot score rank below every scored one, as the metrics rank them
    fill = float(finite.min() - 1.0)
    filled = np.where(np.isfinite(raw), raw, fill)
    center, scale = float(filled.mean()), float(filled.std())
    if scale <= 0:
        return Blend(source=source)
    z = (filled - center) / scale
    # the rule alone, as a probability: a logistic curve of its score (same ranking)
    alone = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit(z[:, None], y)
    rule = Blend(
        signal=name,
        coef=(float(alone.intercept_[0]), 0.0, float(alone.coef_[0, 0])),
        fill=fill,
        center=center,
        scale=scale,
        source=source,
    )

    if not out_of_time or min(y.sum(), y.size - y.sum()) < MIN_SELECTION_EVENTS:
        chosen = _without_selection(y, prob, z, filled, rule, seed, out_of_time)
        if chosen is not None:
            return chosen

    x = np.column_stack([_logit(prob), z])
    lr = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit(x, y)
    coef = (float(lr.intercept_[0]), float(lr.coef_[0, 0]), float(lr.coef_[0, 1]))
    stack = Blend(signal=name, coef=coef, fill=fill, center=center, scale=scale, source=source)

    def auc(blend: Blend) -> float:
        return float(
            np.nan_to_num(
                entry_metrics(y, blend.probability(prob, signals[name]), [])["auc_pr"], nan=-1.0
            )
        )

    best = (float(np.nan_to_num(base, nan=-1.0)), Blend(source=f"{source}: the model did best"))
    # (a rule weighted against its own ranking is not the rule)
    if rule.coef[2] > 0 and auc(rule) > best[0]:
        best = (auc(rule), rule)
    # the stack's weights were fitted on these cells: it must win by more than that optimism
    if auc(stack) > best[0] + STACK_MARGIN:
        best = (auc(stack), stack)
    return best[1]


def weighted_auc_pr(label: np.ndarray, order: np.ndarray, ends: np.ndarray, w: np.ndarray) -> float:
    """Average precision of a ranking with case weights (``sample_weight`` in scikit-learn).

    ``order`` sorts the cells by decreasing score and ``ends`` holds the last sorted position of
    each group of tied scores (a threshold takes a whole tie group, as scikit-learn's does).
    NaN when the weighted cells hold no positive.
    """
    yw = (w * label)[order]
    tp = np.cumsum(yw)[ends]
    seen = np.cumsum(w[order])[ends]
    if tp[-1] <= 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
    recall_gain = np.diff(tp, prepend=0.0) / tp[-1]
    return float(np.sum(recall_gain * precision))


def _ranking(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells by decreasing score and the last position of each tie group."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    return order, ends


def auc_pr_difference_interval(
    label: np.ndarray, first: np.ndarray, second: np.ndarray, seed: int
) -> tuple[float, float]:
    """Paired bootstrap interval of AUC-PR(first) - AUC-PR(second) over the same cells.

    ``BOOTSTRAP_DRAWS`` seeded resamples of the cells (with replacement, as multinomial case
    weights, so both scores see the same resample; Efron and Tibshirani 1993, ch. 13); the
    central ``BOOTSTRAP_LEVEL`` interval of the differences. Scores must be finite.
    """
    y = np.asarray(label, dtype=float)
    rng = np.random.default_rng([seed, BOOTSTRAP_DRAWS])
    a, b = _ranking(np.asarray(first, dtype=float)), _ranking(np.asarray(second, dtype=float))
    diffs = []
    for _ in range(BOOTSTRAP_DRAWS):
        w = np.bincount(rng.integers(0, y.size, y.size), minlength=y.size).astype(float)
        d = weighted_auc_pr(y, *a, w) - weighted_auc_pr(y, *b, w)
        if np.isfinite(d):
            diffs.append(d)
    if not diffs:
        return float("-inf"), float("inf")
    tail = (1.0 - BOOTSTRAP_LEVEL) / 2.0
    lo, hi = np.quantile(diffs, [tail, 1.0 - tail])
    return float(lo), float(hi)


def _without_selection(
    y: np.ndarray,
    prob: np.ndarray,
    z: np.ndarray,
    raw: np.ndarray,
    rule: Blend,
    seed: int,
    out_of_time: bool,
) -> Blend | None:
    """The blend where the validation is too small or not out of time to fit a stack.

    Out of time, a clear winner of the paired bootstrap (:func:`auc_pr_difference_interval`)
    is used alone; otherwise, and always for cross-fitted validation, the equal-weight
    combination (:func:`combine_equally`) with ``rule`` (the rule alone, fitted on the
    validation cells; the combination keeps its scaling and replaces its weights). None: the
    combination ranks against the outcome.
    """
    if out_of_time:
        lo, hi = auc_pr_difference_interval(y, _logit(prob), raw, seed)
        if lo > 0:
            return Blend(source=f"{rule.source}: the model did best (bootstrap)")
        # (a rule weighted against its own ranking is not the rule)
        if hi < 0 and rule.coef[2] > 0:
            return replace(rule, source=f"{rule.source} (bootstrap)")
    combined = combine_equally(prob, z, y, seed)
    if combined is None:
        return None
    why = (
        "the bootstrap cannot tell the model and the rule apart"
        if out_of_time
        else "not out of time, so nothing is selected on it"
    )
    return replace(rule, coef=combined, combined=True, source=f"{rule.source}: {why}")


def combine_equally(
    prob: np.ndarray, rule: np.ndarray, label: np.ndarray, seed: int
) -> tuple[float, float, float] | None:
    """Coefficients of the equal-weight combination of the model and a standardised rule.

    The score is ``(logit(p) - m) / s / 2 + rule / 2`` (``m``, ``s``: mean and sd of the
    model's log-odds on the validation cells; ``rule`` already standardised there); a logistic
    curve of that score, fitted on the validation cells, makes it a probability. Returned as
    :class:`Blend`'s ``coef`` (intercept, log-odds weight, rule weight). None when the model's
    log-odds do not vary or the curve would reverse the combined ranking.
    """
    logit = _logit(prob)
    m, s = float(logit.mean()), float(logit.std())
    # (a constant's computed sd is rounding, not spread)
    if s <= FLAT_SD * max(1.0, abs(m)):
        return None
    score = 0.5 * (logit - m) / s + 0.5 * rule
    curve = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit(score[:, None], label)
    k, c = float(curve.coef_[0, 0]), float(curve.intercept_[0])
    if k <= 0:
        return None
    return (c - 0.5 * k * m / s, 0.5 * k / s, 0.5 * k)


def fit_level_blend(
    anchor: np.ndarray,
    growth: np.ndarray,
    correction: np.ndarray,
    actual: np.ndarray,
    source: str,
) -> Blend:
    """The weights (``SHRINK_GRID`` x ``GROWTH_GRID``) with the smallest validation error.

    Parameters
    ----------
    anchor : numpy.ndarray
        Log of the value at the origin on the validation cells.
    growth : numpy.ndarray
        Horizon times trailing annual world growth (log) on the same cells.
    correction : numpy.ndarray
        The earlier origin's model's log change on the same cells.
    actual : numpy.ndarray
        The outcomes (only positive ones are scored).
    source : str
        The validation origin and outcomes, in words.

    Returns
    -------
    Blend
        Median absolute log error; ties keep the model alone, then less growth.
    """
    ok = np.asarray(actual, dtype=float) > 0
    if not ok.any():
        return Blend(source=f"{source}: no positive outcome")
    target = np.log(actual[ok])
    best: tuple[float, float, float] | None = None
    for g in GROWTH_GRID:
        for w in SHRINK_GRID:
            pred = anchor[ok] + w * correction[ok] + g * growth[ok]
            err = float(np.median(np.abs(pred - target)))
            if best is None or err < best[0]:
                best = (err, w, g)
    assert best is not None
    return Blend(shrink=best[1], growth=best[2], source=source)


def fixed_level_blend(model: float, persistence: float, persistence_growth: float) -> Blend:
    """The level forecast as a fixed combination, in logs, of the model and two baselines.

    ``model * (a + c) + persistence * log v0 + persistence_growth * (log v0 + h * growth)``
    with ``a`` the regressor's anchor and ``c`` its learned change. For cells positive at the
    origin (the level task) ``a = log v0``, so with weights adding up to one this is ``a +
    model * c + persistence_growth * h * growth``: a :class:`Blend` with ``shrink = model`` and
    ``growth = persistence_growth``. Nothing is chosen on data (Bates and Granger 1969; Smith
    and Wallis 2009: with few validation origins fixed equal weights usually forecast better
    than chosen ones).

    Parameters
    ----------
    model, persistence, persistence_growth : float
        The weights (non-negative, adding up to one: ``LevelWeights`` checks them).

    Returns
    -------
    Blend
    """
    return Blend(
        shrink=model,
        growth=persistence_growth,
        fixed=True,
        source="`level_weights`, fixed in advance",
    )
