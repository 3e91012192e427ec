"""One task's candidates, labelled examples and out-of-time models over a cube.

For a model at origin index ``a`` the training examples are the candidates of every earlier
origin ``t`` whose outcome year (``t`` plus any configured horizon) is at most ``a``; their
features are computed as of ``t``. Nothing after ``a`` is read, so the model (and therefore
every prediction it makes at ``a``) is unchanged when later years change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.potential.forecast.baselines import (
    entry_baselines,
    lagged_presence,
    new_flow_signals,
)
from gravity.potential.forecast.blend import (
    MIN_VALIDATION_POSITIVES,
    Blend,
    fit_entry_blend,
    fit_level_blend,
    fixed_level_blend,
)
from gravity.potential.forecast.cube import Cube
from gravity.potential.forecast.features import FeatureBuilder, rca_matrix
from gravity.potential.forecast.learner import (
    FittedHurdle,
    cache_key,
    cross_fit_probability,
    fit_hurdle,
    load_or_fit,
)
from gravity.potential.forecast.options import ForecastOptions, Horizon, Task

# the blend of an origin is chosen on at most this many (seeded) validation cells per outcome
VALIDATION_CELLS = 50_000
# a level blend is chosen on the out-of-time forecasts of up to this many earlier origins. More
# would steady the choice (one year's outcomes make growing or not a bet on that year's world
# growth), but each needs its own model, and so does the calibration origin's own blend: with
# three, the demo's forecast potential fitted six level models where it had fitted two (38.0
# against 26.3 s of CPU, load 5)
LEVEL_VALIDATION_ORIGINS = 1
# folds of the cross-fitted predictions an entry blend falls back to without out-of-time ones
CROSS_FIT_FOLDS = 5


@dataclass(frozen=True)
class Examples:
    """Candidate cells at an origin with their features and (when known) outcomes."""

    origin: int
    target: int
    cells: np.ndarray
    features: pd.DataFrame
    actual_origin: np.ndarray
    observed_origin: np.ndarray
    anchor: np.ndarray
    """log of the value the regressor's log ratio is relative to."""
    actual: np.ndarray
    observed_target: np.ndarray
    sampled_from: int
    lagged: np.ndarray | None = None
    """New flows: the ``lagged_presence`` rule of each cell at this horizon (it reads the cell's
    own history, which a product chunk's examples keep and the global tables do not)."""

    @property
    def label(self) -> np.ndarray:
        """1 where the outcome is positive (RCA >= 1 for product entry)."""
        return np.asarray(self.actual > 0, dtype=int)


def log_anchor(
    builder: FeatureBuilder, a: int, cells: np.ndarray, feats: pd.DataFrame
) -> np.ndarray:
    """Log of the naive prediction that the regressor corrects.

    The value at ``t0`` where positive, else the structural gravity fit, else the year's smallest
    positive flow (in the whole panel, so a product chunk gets the same anchor). Learning the
    change from it rather than the level keeps the trees' job small. It is not grown with
    trailing world growth: one period's growth extrapolated over ``h`` years amplifies that
    period's noise (measured: on Yotov's panel at h = 8 a grown anchor gave a median absolute
    log error of 0.71 against 0.60). Whether to add that growth, and how much of the learned
    change to keep, is chosen per horizon on out-of-time validation
    (:func:`~.blend.fit_level_blend`).
    """
    cube = builder.cube
    v0 = cube.values[a, cells]
    gravity = (
        feats["gravity_log_fitted_product"]
        if cube.products is not None
        else feats["gravity_log_fitted"]
    ).to_numpy(dtype=float)
    floor = np.log(builder.min_positive(a))
    base = np.where(
        v0 > 0,
        np.log(np.where(v0 > 0, v0, 1.0)),
        np.where(np.isfinite(gravity), gravity, floor),
    )
    return base


def growth_term(feats: pd.DataFrame) -> np.ndarray:
    """Horizon times the trailing annual growth of world trade (0 where unknown), in logs."""
    growth = np.nan_to_num(feats["world_growth"].to_numpy(dtype=float), nan=0.0)
    return feats["horizon"].to_numpy(dtype=float) * growth


@dataclass
class TaskHarness:
    """Candidates, examples and models of one task on one cube."""

    task: Task
    cube: Cube
    builder: FeatureBuilder
    options: ForecastOptions
    panel: pd.DataFrame
    values: bool = False
    """Also fit the regressor of the value given a positive outcome (levels, potential)."""
    _examples: dict[tuple[int, int, int | None, int, float | None], Examples] = field(
        default_factory=dict
    )
    _models: dict[int, FittedHurdle | None] = field(default_factory=dict)
    _blends: dict[tuple[int, float | None], Blend] = field(default_factory=dict)
    _rca: dict[int, np.ndarray] = field(default_factory=dict)
    _feature_frames: dict[tuple[int, str], pd.DataFrame] = field(default_factory=dict)
    _year_hash: dict[int, str] = field(default_factory=dict)

    # -- years -------------------------------------------------------------------------------
    def target(self, a: int, horizon: Horizon) -> int | None:
        """Year index of the outcome ``horizon`` after year index ``a`` (None if absent)."""
        years = self.cube.years
        if horizon == "next":
            return a + 1 if a + 1 < len(years) else None
        hit = np.flatnonzero(years == years[a] + horizon)
        return int(hit[0]) if hit.size else None

    def training_pairs(self, a: int) -> list[tuple[int, int]]:
        """(origin, outcome) year indices whose outcome is at or before ``a``."""
        pairs = set()
        for t in range(a):
            for h in self.options.horizons:
                b = self.target(t, h)
                if b is not None and b <= a:
                    pairs.add((t, b))
        return sorted(pairs)

    # -- cells -------------------------------------------------------------------------------
    def _entry_rca(self, a: int) -> np.ndarray:
        if a not in self._rca:
            self._rca[a] = rca_matrix(self.builder.export_matrix(a)).ravel()
        return self._rca[a]

    def candidates(self, a: int, active_only: bool = True) -> np.ndarray:
        """Candidate cells at year index ``a``.

        With ``active_only`` (backtests) the exporter, importer and product must trade in that
        year (the panel's universe of the year); otherwise every non-domestic cell is one.
        """
        cube = self.cube
        e, i, p = self.builder._e, self.builder._i, self.builder._p
        v = cube.values[a]
        active = np.ones(cube.n_cells, dtype=bool)
        if active_only:
            n_c, n_p = len(cube.countries), cube.n_products
            exporting = np.bincount(e, weights=v, minlength=n_c) > 0
            traded = np.bincount(p, weights=v, minlength=n_p) > 0
            active = exporting[e] & traded[p]
        if self.task == "new_product":
            return np.flatnonzero(active & (self._entry_rca(a) < 1))
        if active_only:
            active &= (np.bincount(i, weights=v, minlength=len(cube.countries)) > 0)[i]
        active &= e != i
        if self.task == "new_flow":
            return np.flatnonzero(active & (v <= 0))
        return np.flatnonzero(active & (v > 0))

    def _positive(self, b: int, cells: np.ndarray) -> np.ndarray:
        """Whether each cell's outcome at year index ``b`` is positive (RCA >= 1 for entry)."""
        if self.task == "new_product":
            return self._entry_rca(b)[cells] >= 1
        return self.cube.values[b, cells] > 0

    def examples(
        self,
        a: int,
        b: int,
        sample: int | None,
        salt: int,
        negative_rate: float | None = None,
    ) -> Examples:
        """Candidates at ``a`` with features as of ``a`` and the outcome at ``b``.

        ``sample`` caps the cells (seeded, uniform); ``negative_rate`` (training only) first
        keeps that share of the cells with a negative outcome (and every positive one).
        """
        key = (a, b, sample, salt, negative_rate)
        if key in self._examples:
            return self._examples[key]
        cube, years = self.cube, self.cube.years
        cells = self.candidates(a)
        n_all = cells.size
        rng = np.random.default_rng([self.options.seed, salt, int(years[a]), int(years[b])])
        if negative_rate is not None and negative_rate < 1:
            negative = ~self._positive(b, cells)
            cells = cells[~negative | (rng.uniform(size=cells.size) < negative_rate)]
        if sample is not None and cells.size > sample:
            cells = np.sort(rng.choice(cells, sample, replace=False))
        horizon = float(years[b] - years[a])
        feats = self._features(a, cells, horizon)
        if self.task == "new_product":
            actual_origin = self._entry_rca(a)[cells]
            actual = self._entry_rca(b)[cells]
            # a new comparative advantage is RCA >= 1; the label is read from ``actual``
            label_value = np.where(actual >= 1, actual, 0.0)
            anchor = np.zeros(cells.size)
        else:
            actual_origin = cube.values[a, cells]
            actual = cube.values[b, cells]
            label_value = actual
            anchor = log_anchor(self.builder, a, cells, feats)
        ex = Examples(
            origin=int(years[a]),
            target=int(years[b]),
            cells=cells,
            features=feats,
            actual_origin=actual_origin,
            observed_origin=cube.observed[a, cells],
            anchor=anchor,
            actual=label_value if self.task != "new_product" else actual,
            observed_target=cube.observed[b, cells],
            sampled_from=n_all,
            lagged=(lagged_presence(cube, a, cells, horizon) if self.task == "new_flow" else None),
        )
        self._examples[key] = ex
        return ex

    def _features(self, a: int, cells: np.ndarray, horizon: float) -> pd.DataFrame:
        """Features of ``cells`` at year index ``a``, computed once for every horizon.

        Only the ``horizon`` and ``world_growth_horizon`` columns depend on the horizon: the
        same cells at the same origin (every candidate, or the same sample) reuse the frame with
        those columns replaced.
        """
        key = (a, hashlib.sha256(np.ascontiguousarray(cells).tobytes()).hexdigest())
        frame = self._feature_frames.get(key)
        if frame is None:
            frame = (
                self.builder.entry(a, cells, horizon)
                if self.task == "new_product"
                else self.builder.bilateral(a, cells, horizon)
            )
            self._feature_frames[key] = frame
            return frame
        extra = {"horizon": np.full(cells.size, horizon)}
        if "world_growth_horizon" in frame.columns:
            extra["world_growth_horizon"] = frame["world_growth"].to_numpy() * horizon
        return frame.assign(**extra)

    # -- models ------------------------------------------------------------------------------
    def model(self, a: int) -> FittedHurdle | None:
        """The hurdle model for origin index ``a`` (None when nothing is labelled by then)."""
        if a in self._models:
            return self._models[a]
        pairs = self.training_pairs(a)
        if not pairs:
            self._models[a] = None
            return None
        learner = self.options.learner

        def fit() -> FittedHurdle:
            rate = learner.negative_rate
            blocks = self._training_blocks(a)
            frame = pd.concat([x.features for x in blocks], ignore_index=True)
            ratio = None
            label = np.concatenate([self._label(x) for x in blocks])
            if self.values:
                with np.errstate(divide="ignore"):
                    ratio = np.concatenate(
                        [
                            np.where(x.actual > 0, np.log(x.actual), np.nan) - x.anchor
                            for x in blocks
                        ]
                    )
            return fit_hurdle(frame, label, ratio, learner, self.options.seed + a, rate)

        year = int(self.cube.years[a])
        spec = {
            "values": self.values,
            "pairs": [(int(self.cube.years[t]), int(self.cube.years[b])) for t, b in pairs],
            # what only scores or bounds the predictions (interval level and bands, k of
            # precision@k) does not change the model, so it does not change the key
            "options": self.options.model_dump(
                mode="json",
                exclude={
                    "cache_dir",
                    "origins",
                    "interval",
                    "interval_bands",
                    "top_k",
                    "level_blend",
                    "level_weights",
                },
            ),
        }
        key = cache_key(self._history_hash(a), self.task, year, spec)
        model = load_or_fit(self.options.cache_dir, key, fit)
        self._models[a] = model
        return model

    def _training_blocks(self, a: int) -> list[Examples]:
        """The labelled examples of every training pair of origin index ``a``."""
        learner = self.options.learner
        per_pair = max(learner.max_train_rows // 2, 1000)
        rate = learner.negative_rate
        return [
            self.examples(t, b, per_pair, salt=1, negative_rate=rate)
            for t, b in self.training_pairs(a)
        ]

    def _history_hash(self, a: int) -> str:
        """Hash of the data up to year index ``a``.

        The cube's values and row presence, its labels, and the panel's numeric covariates of
        those years (hashed once a year). Hashing the cube rather than the panel's rows avoids
        re-reading millions of string labels; a changed row order or a new label only costs a
        cache miss.
        """
        cube = self.cube
        digest = hashlib.sha256()
        for labels in (cube.countries, cube.products if cube.products is not None else []):
            digest.update("\x1f".join(map(str, labels)).encode())
        digest.update(np.ascontiguousarray(cube.years[: a + 1]).tobytes())
        digest.update(np.ascontiguousarray(cube.values[: a + 1]).tobytes())
        digest.update(np.ascontiguousarray(cube.observed[: a + 1]).tobytes())
        for b in range(a + 1):
            if b not in self._year_hash:
                self._year_hash[b] = self.builder.covariate_hash(b)
            digest.update(self._year_hash[b].encode())
        return digest.hexdigest()[:32]

    def signals(
        self,
        a: int,
        cells: np.ndarray,
        feats: pd.DataFrame,
        horizon: float,
        names: list[str] | None = None,
        lagged: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Scores of the naive rules a blend can stack with, for ``cells`` at year index ``a``.

        ``lagged``: the cells' ``lagged_presence`` when already known (examples drawn from
        product chunks); otherwise it is read from the cube.
        """
        if self.task == "new_product":
            out = entry_baselines(feats, self.options.lags)
        elif self.task == "new_flow":
            out = new_flow_signals(
                self.cube, a, cells, feats, horizon, self.options.lags, lagged=lagged
            )
        else:
            return {}
        return out if names is None else {k: out[k] for k in names if k in out}

    def _label(self, ex: Examples) -> np.ndarray:
        return (ex.actual >= 1).astype(int) if self.task == "new_product" else ex.label

    def blend(self, a: int, horizon: float | None = None) -> Blend:
        """How the model of origin index ``a`` is combined with a naive rule (:mod:`.blend`).

        Chosen on out-of-time predictions, known at ``a``: those of the model of an earlier
        origin ``c`` on ``c``'s candidates whose outcome year is at or before ``a``.

        - Levels: by default the fixed ``level_weights`` (:func:`~.blend.fixed_level_blend`),
          which read nothing. With ``level_blend`` (per ``horizon``, in years): chosen on the
          latest (``LEVEL_VALIDATION_ORIGINS``) origin ``c`` with an outcome ``horizon`` years
          later, at or before ``a``; the model alone if there is none.
        - Entry tasks (all horizons): the latest ``c``, adding earlier origins until the cells
          hold ``MIN_VALIDATION_POSITIVES`` events. Without enough (the first trainable origins,
          a panel with a single training pair) the model's cross-fitted predictions of its own
          training examples (:func:`~.learner.cross_fit_probability`): validation within the
          training data, never on the origin's outcomes. Such validation, or one with fewer
          than ``MIN_SELECTION_EVENTS`` entries, selects nothing: a clear bootstrap winner alone
          (out of time only) or the equal-weight combination (:func:`~.blend.fit_entry_blend`).
        """
        key = (a, horizon if self.task == "level" else None)
        if key not in self._blends:
            if self.task == "level" and not self.options.level_blend:
                w = self.options.level_weights
                self._blends[key] = fixed_level_blend(w.model, w.persistence, w.persistence_growth)
            elif self.task == "level":
                self._blends[key] = self._level_blend(a, horizon)
            else:
                self._blends[key] = self._entry_blend(a)
        return self._blends[key]

    def _level_blend(self, a: int, horizon: float | None) -> Blend:
        years = self.cube.years
        parts: list[tuple[np.ndarray, Examples]] = []
        for c in range(a - 1, -1, -1):
            if horizon is None or len(parts) == LEVEL_VALIDATION_ORIGINS:
                break
            hit = np.flatnonzero(years == years[c] + horizon)
            if not hit.size or hit[0] > a:
                continue
            model = self.model(c)
            if model is None:
                continue
            ex = self.examples(c, int(hit[0]), VALIDATION_CELLS, salt=2)
            parts.append((model.log_ratio(ex.features), ex))
        if not parts:
            return Blend()
        source = "the out-of-time forecasts " + ", ".join(
            f"{ex.origin}->{ex.target}" for _, ex in parts
        )
        return fit_level_blend(
            np.concatenate([ex.anchor for _, ex in parts]),
            np.concatenate([growth_term(ex.features) for _, ex in parts]),
            np.concatenate([r for r, _ in parts]),
            np.concatenate([ex.actual for _, ex in parts]),
            source,
        )

    def _stack(
        self,
        parts: list[tuple[np.ndarray, Examples]],
        a: int,
        source: str,
        out_of_time: bool = True,
    ) -> Blend:
        """Stack on (model probabilities, examples) pairs: :func:`~.blend.fit_entry_blend`."""
        prob = np.concatenate([p for p, _ in parts])
        per_ex = [
            self.signals(
                self.cube.index_of(ex.origin),
                ex.cells,
                ex.features,
                float(ex.target - ex.origin),
                lagged=ex.lagged,
            )
            for _, ex in parts
        ]
        signals = {k: np.concatenate([s[k] for s in per_ex]) for k in per_ex[0]}
        label = np.concatenate([self._label(ex) for _, ex in parts])
        return fit_entry_blend(prob, signals, label, self.options.seed + a, source, out_of_time)

    def _entry_blend(self, a: int) -> Blend:
        pairs = self.training_pairs(a)
        parts: list[tuple[np.ndarray, Examples]] = []
        events = 0
        for c in sorted({t for t, _ in pairs}, reverse=True):
            model = self.model(c)
            if model is None:
                continue
            for ex in (self.examples(t, b, VALIDATION_CELLS, salt=2) for t, b in pairs if t == c):
                parts.append((model.probability(ex.features), ex))
                events += int(self._label(ex).sum())
            if events >= MIN_VALIDATION_POSITIVES:
                source = "the out-of-time forecasts " + ", ".join(
                    f"{ex.origin}->{ex.target}" for _, ex in parts
                )
                return self._stack(parts, a, source)
        if not pairs or self.options.learner.negative_rate is not None:
            # (with a share of the negatives the training examples' event rate is not the
            # population's, and a stacker fitted on them would be miscalibrated)
            return Blend()
        blocks = self._training_blocks(a)
        frame = pd.concat([x.features for x in blocks], ignore_index=True)
        label = np.concatenate([self._label(x) for x in blocks])
        oof = cross_fit_probability(
            frame, label, self.options.learner, self.options.seed + a, CROSS_FIT_FOLDS
        )
        bounds = np.cumsum([0] + [x.cells.size for x in blocks])
        parts = [(oof[lo:hi], x) for lo, hi, x in zip(bounds[:-1], bounds[1:], blocks, strict=True)]
        source = f"{CROSS_FIT_FOLDS}-fold cross-fitted forecasts of the training examples"
        return self._stack(parts, a, source, out_of_time=False)

    def predict(
        self, model: FittedHurdle, ex: Examples, blend: Blend | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probability of a positive outcome and the predicted value given one.

        With ``blend`` (:meth:`blend` of the origin the forecast is for) the model is stacked
        with its naive rule or its level correction shrunk; without, the model alone.
        """
        a = self.cube.index_of(ex.origin)
        horizon = float(ex.target - ex.origin)
        return self.predict_cells(model, a, ex.cells, ex.features, ex.anchor, horizon, blend)

    def predict_cells(
        self,
        model: FittedHurdle,
        a: int,
        cells: np.ndarray,
        feats: pd.DataFrame,
        anchor: np.ndarray,
        horizon: float,
        blend: Blend | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` for ``cells`` at year index ``a`` with their features and anchor."""
        blend = blend or Blend()
        prob = model.probability(feats)
        if blend.signal is not None:
            signal = self.signals(a, cells, feats, horizon, [blend.signal])[blend.signal]
            prob = blend.probability(prob, signal)
        if self.task == "new_product":
            return prob, np.full(prob.size, np.nan)
        value = np.exp(anchor + blend.log_ratio(model.log_ratio(feats), growth_term(feats)))
        return prob, value
