"""Options of the export-potential stage: the ``potential:`` and ``backtest:`` config sections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gravity._base import StrictModel
from gravity.estimation.formula import FormulaError, check_term
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions, LevelWeights

# Weights of the three ranked components (untapped USD, feasibility, attractiveness) per preset.
# Documented in docs/user-guide.md ("Export potential"): each component is a percentile rank in
# [0, 1] within the exporter's opportunities; the score is their weighted mean. With
# ``model: forecast`` untapped is the expected gain (forecast potential - actual) and feasibility
# is the forecast's entry probability.
PRESETS: dict[str, dict[str, float]] = {
    # easy wins: large gaps in products and markets the exporter is already close to
    "low_hanging_fruit": {"untapped": 0.4, "feasibility": 0.5, "attractiveness": 0.1},
    # the Atlas-style balanced portfolio
    "balanced": {"untapped": 0.4, "feasibility": 0.3, "attractiveness": 0.3},
    # strategic bets: complex, fast-growing products further from today's basket
    "long_jumps": {"untapped": 0.2, "feasibility": 0.2, "attractiveness": 0.6},
}


class ScoreWeights(StrictModel):
    """Custom weights of the ranked components (normalised to sum to one)."""

    untapped: float = Field(0.4, ge=0)
    feasibility: float = Field(0.3, ge=0)
    attractiveness: float = Field(0.3, ge=0)

    @model_validator(mode="after")
    def _positive_total(self) -> ScoreWeights:
        if self.untapped + self.feasibility + self.attractiveness <= 0:
            raise ValueError("score weights must not all be zero")
        return self

    def normalised(self) -> dict[str, float]:
        """Weights scaled to sum to one."""
        total = self.untapped + self.feasibility + self.attractiveness
        return {
            "untapped": self.untapped / total,
            "feasibility": self.feasibility / total,
            "attractiveness": self.attractiveness / total,
        }


class PotentialOptions(StrictModel):
    """How export potential is estimated and ranked.

    The model (see :mod:`gravity.potential.model`): potential ``v_ijk = exp(S_ik + D_jk + E_ij)``
    at ``year + horizon``, with supply ``S`` and demand ``D`` from a product-level PPML with
    exporter x product and importer x product fixed effects, and ease ``E`` from an aggregate PPML
    of ``ease_terms`` (plus pair effects when ``pair_effects``).
    """

    model: Literal["gravity", "forecast"] = "gravity"
    """``gravity``: structural potential (supply x demand x ease, projected with growth);
    ``forecast``: the hurdle forecast of :mod:`gravity.potential.forecast` trained out of time
    on earlier years: ``potential`` = P(trade at year + horizon) x E[value | trade],
    ``potential_low`` .. ``potential_high`` its split-conformal interval given trade at
    ``interval``, and ``entry_probability`` replaces the fixed-weight feasibility in the score."""
    learner: LearnerOptions = Field(default_factory=LearnerOptions)
    """Tree learners of ``model: forecast`` (training-sample cap, iterations, threads)."""
    level_weights: LevelWeights = Field(default_factory=LevelWeights)
    """``model: forecast``: fixed weights of the level forecast's combination of the model,
    ``persistence`` and ``persistence_growth`` (``backtest.level_weights``; equal thirds)."""
    level_blend: bool = False
    """``model: forecast``: blend the level forecast with the naive rules as chosen on an
    earlier origin (``backtest.level_blend``), instead of ``level_weights``; off by default."""
    year: int | None = Field(None, ge=1000, le=9999)
    """Base year (latest year of the data when omitted); training uses years up to it."""
    horizon: int = Field(5, ge=0, le=30)
    """Years ahead of the base year that potential refers to."""
    window: int = Field(5, ge=1, le=50)
    """Training years (ending at the base year) for the ease fit and growth rates."""
    exporters: list[str] | None = None
    """Exporters to rank (all when omitted); the model is always fitted on every exporter."""
    importers: list[str] | None = None
    """Destinations to keep in the ranking (all when omitted)."""
    ease_terms: list[str] = Field(default_factory=lambda: ["log(dist)", "contig", "comlang", "rta"])
    """Bilateral regressors of the aggregate ease fit (formula terms on panel columns)."""
    pair_effects: bool = False
    """Add exporter x importer effects to the ease fit (needs several years)."""
    demand_growth: Literal["imports", "none"] = "imports"
    """Demand growth of a market and product: its historical import growth over the window."""
    supply_growth: Literal["exports", "none"] = "exports"
    """Supply growth of an exporter: its historical total export growth over the window."""
    max_annual_growth: float = Field(0.25, gt=0, le=2.0)
    """Cap on absolute annual log growth rates (guards against tiny bases)."""
    preset: Literal["low_hanging_fruit", "balanced", "long_jumps", "custom"] = "balanced"
    weights: ScoreWeights | None = None
    """Custom weights (needs ``preset: custom``)."""
    interval: float = Field(0.9, gt=0, lt=1)
    """Coverage of the potential interval (``potential_low`` .. ``potential_high``): empirical
    quantiles of the base-year log residuals of positive flows, by product; the backtest
    reports the coverage actually achieved."""
    interval_method: Literal["empirical", "bootstrap"] = "empirical"
    """``empirical``: quantiles of base-year log residuals by product (fast); ``bootstrap``:
    quantiles of the potential over refits on resampled exporter-importer pairs."""
    bootstrap_draws: int = Field(30, ge=5, le=2000)
    """Number of bootstrap refits."""
    background: bool = False
    """``gravity run`` only: start the backtest in a second process as soon as the panel is
    built, beside the fit, relatedness and potential stages (Linux; elsewhere it runs in turn).
    It reads only the panel, so its files are the same; the run is shorter by up to the
    backtest's time when a second core is free, and holds the backtest's tables in that second
    process meanwhile."""
    n_jobs: int = Field(1, ge=-1)
    """Parallel workers for the bootstrap (joblib processes; -1 = all cores)."""
    seed: int = Field(20261125, ge=0, lt=2**63)
    """Seed of the bootstrap draws (draw b uses ``default_rng([seed, b])``)."""
    min_flow: float = Field(0.0, ge=0)
    """Flows at or below this value (USD) count as absent."""
    top: int | None = Field(None, ge=1)
    """Keep only the best ``top`` opportunities per exporter in the output (all when omitted)."""
    chunks: ChunkOptions | None = None
    """Estimate and score in product chunks, locally or on a Dask cluster, resumably
    (``products``, ``backend``, ``workers``, ``scheduler``, ``resume``, ``csv_max_rows``,
    ``progress``); omitted, product panels whose dense grid exceeds 20 million cells are
    chunked with the defaults. Needs empirical intervals; ``model: forecast`` is fitted once
    from the chunks (its training sample drawn chunk by chunk) and scored chunk by chunk."""

    @field_validator("ease_terms")
    @classmethod
    def _terms_parse(cls, terms: list[str]) -> list[str]:
        try:
            return [check_term(term) for term in terms]
        except FormulaError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _weights_with_custom(self) -> PotentialOptions:
        if self.preset == "custom" and self.weights is None:
            raise ValueError(
                "preset 'custom' needs 'weights: {untapped:, feasibility:, attractiveness:}'"
            )
        if self.preset != "custom" and self.weights is not None:
            raise ValueError(
                f"'weights' are only used with preset: custom (preset is {self.preset!r})"
            )
        return self

    def forecast_options(self) -> ForecastOptions:
        """Options of the forecast potential (``model: forecast``)."""
        return ForecastOptions(
            interval=self.interval,
            seed=self.seed,
            ease_terms=self.ease_terms,
            min_flow=self.min_flow,
            learner=self.learner,
            level_weights=self.level_weights,
            level_blend=self.level_blend,
        )

    def score_weights(self) -> dict[str, float]:
        """Normalised weights of the chosen preset or the custom ones."""
        if self.preset == "custom" and self.weights is not None:
            return self.weights.normalised()
        return dict(PRESETS[self.preset])


# keys that select the forecast backtest (gravity.potential.forecast) over the legacy one
FORECAST_KEYS = ("tasks", "origins", "horizons")


class BacktestOptions(ForecastOptions):
    """Out-of-time evaluation: train on years <= t, predict t + horizon, for several t.

    With any of ``tasks``, ``origins`` or ``horizons`` set, ``gravity backtest`` runs the
    forecast backtest (:mod:`gravity.potential.forecast`: tasks, named baselines, the hurdle
    forecast, conformal intervals at ``interval``); otherwise the legacy backtest of the
    potential model (``cutoffs``, ``horizon``, ``step``, ``max_splits``, ``material_share``).
    """

    cutoffs: list[int] | None = None
    """Training end years (default: every ``step`` years from the earliest feasible one)."""
    horizon: int = Field(3, ge=1, le=20)
    step: int = Field(2, ge=1)
    max_splits: int = Field(4, ge=1, le=50)
    material_share: float = Field(0.001, gt=0, lt=1)
    """A new flow is 'material' when it reaches this share of the exporter's total exports."""
    top_k: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [100, 1000])
    """k of precision@k."""
    background: bool = False
    """``gravity run`` only: start the backtest in a second process as soon as the panel is
    built, beside the fit, relatedness and potential stages (Linux; elsewhere it runs in turn).
    It reads only the panel, so its files are the same; the run is shorter by up to the
    backtest's time when a second core is free, and holds the backtest's tables in that second
    process meanwhile."""
    n_jobs: int = Field(1, ge=-1)
    """Splits evaluated in parallel (joblib processes; -1 = all cores). The splits are
    independent, so the metrics are the same; each process holds its split's rows and starts
    by importing gravity (seconds), so it pays only with idle cores and splits of several
    seconds each."""

    @property
    def forecast(self) -> bool:
        """Whether the forecast backtest was asked for (any of ``FORECAST_KEYS`` set)."""
        return any(k in self.model_fields_set for k in FORECAST_KEYS)

    def forecast_options(self, cache_dir: Path | None = None) -> ForecastOptions:
        """The forecast backtest's options (``cache_dir`` set when given)."""
        fields = {k: getattr(self, k) for k in ForecastOptions.model_fields}
        if cache_dir is not None:
            fields["cache_dir"] = cache_dir
        return ForecastOptions(**fields)
