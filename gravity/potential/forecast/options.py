"""Options of the forecast backtest: tasks, origins, horizons, interval level and the learner."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gravity._base import StrictModel

Task = Literal["new_flow", "new_product", "level"]
TASKS: tuple[Task, ...] = ("new_flow", "new_product", "level")
Horizon = int | Literal["next"]


class LearnerOptions(StrictModel):
    """Gradient-boosted trees of the hurdle model (scikit-learn ``HistGradientBoosting*``)."""

    max_iter: int = Field(200, ge=10, le=5000)
    learning_rate: float = Field(0.08, gt=0, le=1)
    max_leaf_nodes: int = Field(31, ge=4, le=1024)
    min_samples_leaf: int = Field(40, ge=1)
    l2_regularization: float = Field(1.0, ge=0)
    max_train_rows: int = Field(250_000, ge=1000)
    """Training examples beyond this are sampled uniformly (seeded); the count is reported."""
    negative_rate: float | None = Field(None, gt=0, le=1)
    """Keep this share of the negative training examples (no trade, or no RCA >= 1, at the
    outcome year; seeded) and every positive one, before the ``max_train_rows`` cap; the
    classifier's odds are multiplied by the rate when predicting, so its probabilities stay
    calibrated. For panels where entries are rare (HS-6): features are computed only for the
    kept cells. Omitted: every example is kept."""
    threads: int = Field(1, ge=1, le=256)
    """OpenMP threads of the tree learners (results are reproducible for a given count)."""


# the level weights must add up to one (a combination of forecasts, not a rescaling of them)
LEVEL_WEIGHTS_ATOL = 1e-9


class LevelWeights(StrictModel):
    """Fixed weights of the level forecast, a combination (in logs) of three forecasts.

    ``log forecast = model * log(model's forecast) + persistence * log v0 + persistence_growth *
    (log v0 + h * trailing world growth)``; the weights add up to one. Equal weights need no
    choice among the forecasts: with a few origins to choose on, equal weights usually forecast
    better than estimated or selected ones (Bates and Granger 1969; Stock and Watson 2004;
    Smith and Wallis 2009, the "forecast combination puzzle"). ``{model: 1}``: the model alone.
    """

    model: float = Field(1 / 3, ge=0, le=1)
    """Weight of the learned forecast (the value at the origin times the learned change)."""
    persistence: float = Field(1 / 3, ge=0, le=1)
    """Weight of the ``persistence`` baseline (the value at the origin)."""
    persistence_growth: float = Field(1 / 3, ge=0, le=1)
    """Weight of the ``persistence_growth`` baseline (the value at the origin times trailing
    world growth over the horizon)."""

    @model_validator(mode="after")
    def _sum_to_one(self) -> LevelWeights:
        total = self.model + self.persistence + self.persistence_growth
        if abs(total - 1.0) > LEVEL_WEIGHTS_ATOL:
            raise ValueError(
                f"level_weights add up to {total:g}; give model, persistence and "
                "persistence_growth weights that add up to 1"
            )
        return self


class ForecastOptions(StrictModel):
    """What the forecast backtest evaluates and how the shipped forecast is trained.

    For origin ``t0`` and horizon ``h`` the candidates are read at ``t0`` and the outcome at
    ``t0 + h``. The model for ``t0`` is trained only on data up to ``t0``: every earlier origin
    ``t'`` with ``t' + h' <= t0`` (``h'`` any of the horizons) gives labelled examples, stacked,
    with the horizon as a feature.
    """

    tasks: list[Task] | None = None
    """``new_flow``, ``new_product``, ``level`` (default: every task the panel supports)."""
    origins: list[int] | Literal["auto"] = "auto"
    """Origin years evaluated; ``auto``: the latest ``max_origins`` with a trainable model."""
    max_origins: int = Field(4, ge=1, le=50)
    horizons: list[Horizon] = Field(default_factory=lambda: list[Horizon]([4]))
    """Years ahead; ``next`` is the next observed year (panels with irregular years)."""
    interval: float = Field(0.8, gt=0, lt=1)
    """Nominal coverage of the split-conformal level intervals."""
    interval_bands: int = Field(3, ge=1, le=10)
    """Size bands of the value at the origin for the conformal intervals: equal-count bands of
    the calibration cells, each with its own quantile (one with fewer than 200 residuals uses the
    pooled one); 1: one pooled quantile."""
    lags: int = Field(3, ge=1, le=20)
    """Observed years of history used as features and by the persistence baseline."""
    top_k: list[int] = Field(default_factory=lambda: [100])
    """k of precision@k and recall@k."""
    min_flow: float = Field(0.0, ge=0)
    """Flows at or below this value count as absent (zero)."""
    ease_terms: list[str] = Field(default_factory=list)
    """Bilateral regressors of the per-origin structural gravity PPML (panel columns)."""
    seed: int = 20261127
    learner: LearnerOptions = Field(default_factory=LearnerOptions)
    level_weights: LevelWeights = Field(default_factory=LevelWeights)
    """Levels: the forecast is a fixed combination, in logs, of the model, ``persistence`` and
    ``persistence_growth`` (equal thirds by default; ``{model: 1, persistence: 0,
    persistence_growth: 0}`` for the model alone); the intervals are calibrated on the same
    combination. Unused with ``level_blend: true``."""
    level_blend: bool = False
    """Levels: combine the learned change with the naive rules, per horizon, as chosen on the
    latest earlier origin's out-of-time forecasts (``log v0 + w * change + g * h * growth``,
    :mod:`gravity.potential.forecast.blend`), instead of the fixed ``level_weights``. Off by
    default: on the real panels it won one cell and lost two that the model alone wins
    (``docs/forecast-backtests.md``). The entry tasks' blend with a naive rule is always on."""
    max_eval_cells: int | None = Field(None, ge=1000)
    """Evaluate a seeded sample of at most this many candidates per task and origin (all when
    omitted); the sampled share is reported."""
    cache_dir: Path | None = None
    """Folder for fitted models, keyed by (data up to the origin, task, origin, options)."""

    @field_validator("horizons")
    @classmethod
    def _positive(cls, value: list[Horizon]) -> list[Horizon]:
        if not value:
            raise ValueError("backtest.horizons needs at least one horizon")
        for h in value:
            if h != "next" and (not isinstance(h, int) or h < 1):
                raise ValueError(f"backtest.horizons: {h!r} must be a positive integer or 'next'")
        return value
