"""One gravity model as data (:class:`ModelSpec`) and the one path from a spec to a fit.

The config file's ``model:`` / ``compare:`` sections and every batch job embed :class:`ModelSpec`,
and the CLI, the batch runner, the public API, the tests and the benchmarks all fit through
:func:`fit`, so a spec means the same thing wherever it is written.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import field_validator, model_validator

from gravity._base import StrictModel
from gravity.estimation.bias import bias_correct
from gravity.estimation.fixed_effects import interaction_columns
from gravity.estimation.formula import FormulaError, parse_formula
from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml, PpmlOptions, SeparationOptions
from gravity.estimation.results import FitResult
from gravity.estimation.vcov import VcovSpec
from gravity.exceptions import ConfigError

__all__ = ["AGGREGATE_KEYS", "ModelSpec", "aggregate_over_products", "fit"]

AGGREGATE_KEYS = ("exporter", "importer", "year")
"""The keys within which ``aggregate_products`` sums flows over products."""


class ModelSpec(StrictModel):
    """One gravity model: formula, estimator, variance, weights, offset and solver options."""

    formula: str
    """fixest-style formula on panel columns, e.g. ``value ~ log(dist) | exporter + importer``."""
    estimator: Literal["ppml", "ols"] = "ppml"
    """PPML (levels, zeros kept) or log-linear OLS (write ``log(value) ~ ...``)."""
    vcov: VcovSpec = VcovSpec()
    """Variance: ``{type: iid | hetero | cluster, by: [...], ssc: fixest | stata | none}``."""
    weights: str | None = None
    """Column of observation weights."""
    offset: str | None = None
    """Column added to the linear predictor with coefficient one (for OLS: subtracted from the
    outcome, as ``fixest::feols(offset = ...)`` does)."""
    name: str | None = None
    """Column title in the regression table."""
    separation: SeparationOptions = SeparationOptions()
    """Which observations without a finite MLE to drop before PPML."""
    solver: IrlsOptions = IrlsOptions()
    """Convergence settings of IRLS and of the fixed-effect demeaning."""
    aggregate_products: bool = False
    """Fit on flows summed over products (within exporter, importer, year), as aggregate gravity
    does on a product panel; the formula's other columns must not vary across products."""
    bias_correction: Literal["none", "analytic"] = "none"
    """``analytic``: Weidner & Zylkin (2021) bias-corrected coefficients and adjusted
    pair-clustered variance, for PPML with ``exporter^year + importer^year`` (+
    ``exporter^importer``) effects; the result keeps the original fit (``uncorrected``) and the
    regression table shows both."""

    @model_validator(mode="after")
    def _bias_correction_needs_ppml(self) -> ModelSpec:
        if self.bias_correction != "none" and self.estimator != "ppml":
            raise ValueError("bias_correction applies to PPML only (estimator: ppml)")
        if self.bias_correction != "none" and self.weights is not None:
            raise ValueError("bias_correction does not support weights")
        return self

    @field_validator("vcov", mode="before")
    @classmethod
    def _vcov_string(cls, value: object) -> object:
        return {"type": value} if isinstance(value, str) else value

    @field_validator("formula")
    @classmethod
    def _parseable(cls, value: str) -> str:
        # the parser fit uses, so a config (and `gravity validate`) rejects what a fit would
        try:
            parse_formula(value)
        except FormulaError as exc:
            raise ValueError(str(exc)) from None
        return value

    def title(self, position: int) -> str:
        """Column title in a table: ``name``, else ``"(position) ESTIMATOR"`` (1-based)."""
        return self.name or f"({position}) {self.estimator.upper()}"


def aggregate_over_products(
    spec: ModelSpec,
    panel: pd.DataFrame,
    cache: dict[tuple[str, ...], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Sum ``value`` over products within exporter, importer and year.

    The other columns the model reads (regressors, fixed effects, clusters, weights, offset)
    are carried along and must be constant within those groups: a column that varies across
    products cannot enter an aggregate model, and that is an error, not a silent choice.

    ``cache`` (a dict the caller keeps for one panel) holds the aggregates already built, keyed
    by the columns carried: models that read the same columns share one (a copy each).

    Raises
    ------
    ConfigError
        If the model uses ``product`` or a column that varies across products.
    """
    keys = [k for k in AGGREGATE_KEYS if k in panel.columns]
    formula = parse_formula(spec.formula)
    needed = set(formula.columns()) | {c for b in spec.vcov.by for c in interaction_columns(b)}
    needed |= {c for c in (spec.weights, spec.offset) if c}
    carried = sorted(
        c for c in needed if c in panel.columns and c not in {*keys, "value", "product"}
    )
    if "product" in needed:
        raise ConfigError(
            "model.aggregate_products sums over products, but the model uses 'product'; "
            "drop it from the formula or set aggregate_products: false"
        )
    if cache is not None and tuple(carried) in cache:
        return cache[tuple(carried)].copy()
    grouped = panel.groupby(keys, observed=True, sort=True)
    out = grouped["value"].sum().reset_index()
    if carried:
        low = grouped[carried].min()
        high = grouped[carried].max()
        varying = [c for c in carried if not (low[c].fillna(0) == high[c].fillna(0)).all()]
        if varying:
            raise ConfigError(
                f"model.aggregate_products: column(s) {varying} vary across products within "
                "exporter, importer and year, so they cannot enter the aggregate model"
            )
        out = out.merge(low.reset_index(), on=keys, how="left")
    if cache is not None:
        cache[tuple(carried)] = out.copy()
    return out


def fit(spec: ModelSpec, panel: pd.DataFrame) -> FitResult:
    """Estimate one model on a panel (summed over products first if the spec asks).

    Parameters
    ----------
    spec : ModelSpec
        The model.
    panel : pandas.DataFrame
        Estimation data (the columns the formula, weights, offset and clusters name).

    Returns
    -------
    FitResult
        A new frozen result.

    Raises
    ------
    ConfigError
        If ``aggregate_products`` cannot be applied (see :func:`aggregate_over_products`).
    EstimationError
        From the estimator (negative outcome, nothing left after separation, ...).
    """
    if spec.aggregate_products and "product" in panel.columns:
        panel = aggregate_over_products(spec, panel)
    if spec.estimator == "ols":
        return Ols(
            spec.formula,
            panel,
            weights=spec.weights,
            offset=spec.offset,
            vcov=spec.vcov,
            options=spec.solver,
        ).fit()
    result = Ppml(
        spec.formula,
        panel,
        weights=spec.weights,
        offset=spec.offset,
        vcov=spec.vcov,
        options=PpmlOptions(irls=spec.solver, separation=spec.separation),
    ).fit()
    if spec.bias_correction == "analytic":
        return bias_correct(result, exporter="exporter", importer="importer", time="year")
    return result
