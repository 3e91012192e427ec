"""Frozen results of PPML and OLS fits: estimates, inference, fit statistics and prediction.

:class:`FitResult` holds what both share; :class:`PpmlResult` and :class:`OlsResult` add their
own statistics as named fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import special

from gravity.estimation.design import Design
from gravity.estimation.fixed_effects import interaction_columns
from gravity.estimation.vcov import (
    VcovInputs,
    VcovSpec,
    as_vcov_spec,
    cluster_codes,
    compute_vcov,
)
from gravity.exceptions import EstimationError


@dataclass(frozen=True)
class FitResult:
    """What every fit returns (:class:`PpmlResult`, :class:`OlsResult`); never changes.

    Use :meth:`with_vcov` for another variance estimate, :meth:`predict` for new data and
    :meth:`to_frame` for the coefficient table.
    """

    estimator: ClassVar[Literal["ppml", "ols"]]
    formula: str
    coef: pd.Series
    vcov: pd.DataFrame
    vcov_spec: VcovSpec
    nobs: int
    nobs_input: int
    nobs_dropped: dict[str, int]
    iterations: int
    converged: bool
    deviance: float
    loglik: float
    loglik_null: float
    fitted: np.ndarray
    fixed_effect_names: tuple[str, ...]
    fixed_effect_sizes: dict[str, int]
    dropped_regressors: tuple[str, ...]
    _design: Design = field(repr=False)
    _vcov_inputs: VcovInputs = field(repr=False)
    _linear_fe: np.ndarray = field(repr=False)
    n_clusters: tuple[int, ...] = ()
    """Clusters of each variable of a clustered variance (empty otherwise)."""

    # -- inference -------------------------------------------------------------------------
    @property
    def se(self) -> pd.Series:
        """Standard errors under the current variance estimate."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.coef.index, name="se")

    @property
    def statistic(self) -> pd.Series:
        """Z (PPML) or t (OLS) statistics."""
        return (self.coef / self.se).rename("statistic")

    @property
    def df_t(self) -> float:
        """Degrees of freedom of the t distribution used for p-values and intervals.

        As R fixest: with clustered errors t with ``G - 1`` (smallest G), for PPML and OLS
        alike; otherwise the normal for PPML and t with ``n - K`` for OLS.
        """
        if self.n_clusters:
            return float(min(self.n_clusters) - 1)
        if self.estimator == "ppml":
            return float("inf")
        return float(self.df_resid)

    @property
    def df_resid(self) -> int:
        """Observations less the coefficients and the parameters the fixed effects absorb."""
        return self.nobs - len(self.coef) - self._design.fe.dof

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values (see :attr:`df_t` for the distribution)."""
        stat = np.abs(self.statistic.to_numpy())
        # scipy.special's distribution functions are what scipy.stats' norm.sf / t.sf (and
        # ppf below) evaluate, to the bit, without importing scipy.stats (~0.5 s, ~30 MB)
        if np.isinf(self.df_t):
            p = 2 * special.ndtr(-stat)
        else:
            p = 2 * special.stdtr(self.df_t, -stat)
        return pd.Series(p, index=self.coef.index, name="p_value")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals at ``level``."""
        q = 1 - (1 - level) / 2
        crit = special.ndtri(q) if np.isinf(self.df_t) else special.stdtrit(self.df_t, q)
        return pd.DataFrame(
            {"conf_low": self.coef - crit * self.se, "conf_high": self.coef + crit * self.se}
        )

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: term, estimate, std_error, statistic, p_value, conf_low/high."""
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "term": self.coef.index,
                "estimate": self.coef.to_numpy(),
                "std_error": self.se.to_numpy(),
                "statistic": self.statistic.to_numpy(),
                "p_value": self.pvalues.to_numpy(),
                "conf_low": ci["conf_low"].to_numpy(),
                "conf_high": ci["conf_high"].to_numpy(),
            }
        )

    def with_vcov(self, vcov: VcovSpec | str | dict[str, Any]) -> FitResult:
        """A new result with another variance estimate; this one is unchanged.

        Cluster variables can be any column of the data the model was fitted on, named now
        (``exporter^importer`` interactions allowed), as fixest's ``summary(est, cluster=)``.
        """
        spec = as_vcov_spec(vcov)
        matrix, n_clusters = vcov_matrix(spec, self._vcov_inputs, self._design)
        frame = pd.DataFrame(matrix, index=self.coef.index, columns=self.coef.index)
        return replace(self, vcov=frame, vcov_spec=spec, n_clusters=n_clusters)

    # -- fit statistics --------------------------------------------------------------------
    @property
    def pseudo_r2(self) -> float:
        """McFadden pseudo R² against the constant-only model, ``1 - loglik / loglik_null``."""
        return float(1 - self.loglik / self.loglik_null)

    @property
    def sample(self) -> np.ndarray:
        """Positions (in the input data) of the observations used in the fit."""
        return self._design.rows

    # -- fixed effects and prediction -------------------------------------------------------
    @cached_property
    def fixed_effects(self) -> dict[str, pd.Series]:
        """Estimated fixed effects per dimension, labelled by level.

        Normalised as fixest does: the first level of every dimension but the first is zero.
        Only combinations seen in the sample are identified; predictions use them as such.
        """
        fe = self._design.fe
        if len(fe) == 0:
            return {}
        blocks = []
        offset = 0
        for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
            blocks.append(code + offset)
            offset += n_lev
        n = fe.nobs
        rows = np.repeat(np.arange(n), len(fe))
        cols = np.column_stack(blocks).ravel()
        # imported here: the fixed effects are recovered on request, after the fit
        from scipy import sparse
        from scipy.sparse.linalg import lsqr

        dummies = sparse.csr_matrix((np.ones(n * len(fe)), (rows, cols)), shape=(n, offset))
        solution = lsqr(dummies, self._linear_fe, atol=1e-14, btol=1e-14, iter_lim=100_000)[0]
        out: dict[str, pd.Series] = {}
        start = 0
        shift = 0.0
        values = []
        for n_lev in fe.n_levels:
            values.append(solution[start : start + n_lev].copy())
            start += n_lev
        for q in range(1, len(values)):
            shift += values[q][0]
            values[q] -= values[q][0]
        values[0] += shift
        for name, level, vals in zip(fe.names, fe.levels, values, strict=True):
            out[name] = pd.Series(vals, index=level, name=name)
        return out

    def predict(
        self,
        data: pd.DataFrame | None = None,
        *,
        kind: Literal["response", "link"] = "response",
        unseen: Literal["error", "nan"] = "error",
        offset: str | None = None,
    ) -> np.ndarray:
        """Predict on new data (or return the fitted values when ``data`` is None).

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Rows to predict; needs the regressor and fixed-effect columns of the formula.
        kind : {"response", "link"}
            Expected outcome (``exp`` of the linear predictor for PPML) or linear predictor.
        unseen : {"error", "nan"}
            What to do with a fixed-effect level not seen in the estimation sample.
        offset : str, optional
            Column with an offset to add to the linear predictor.

        Returns
        -------
        numpy.ndarray
        """
        if data is None:
            link = np.log(self.fitted) if self.estimator == "ppml" else self.fitted
            return self.fitted if kind == "response" else link
        formula = self._design.formula
        eta = np.zeros(len(data))
        for term in formula.regressors:
            if term.name in self.coef.index:
                eta += self.coef[term.name] * term.evaluate(data)
        if "(Intercept)" in self.coef.index:
            eta += self.coef["(Intercept)"]
        for name, cols in zip(formula.fixed_effect_names, formula.fixed_effects, strict=True):
            missing = [c for c in cols if c not in data.columns]
            if missing:
                raise EstimationError(f"predict: fixed-effect column(s) {missing} not in the data")
            # column-wise concatenation: a row-wise join is ~100x slower on large frames
            key = data[cols[0]].astype(str)
            for col in cols[1:]:
                key = key + "^" + data[col].astype(str)
            values = key.map(self.fixed_effects[name]).to_numpy(dtype=float)
            if unseen == "error" and np.isnan(values).any():
                first = key[np.isnan(values)].iloc[0]
                raise EstimationError(
                    f"predict: level {first!r} of fixed effect {name!r} was not in the estimation "
                    f"sample ({int(np.isnan(values).sum())} rows); pass unseen='nan' to get NaN"
                )
            eta += values
        if offset is not None:
            eta += pd.to_numeric(data[offset]).to_numpy(dtype=float)
        if kind == "link" or self.estimator == "ols":
            return eta
        return np.exp(eta)

    # -- output ----------------------------------------------------------------------------
    def summary_dict(self) -> dict[str, Any]:
        """Everything ``fit.json`` records, JSON-serialisable at full precision."""
        return {
            "estimator": self.estimator,
            "formula": self.formula,
            "nobs": self.nobs,
            "nobs_input": self.nobs_input,
            "nobs_dropped": dict(self.nobs_dropped),
            "iterations": self.iterations,
            "converged": self.converged,
            "deviance": self.deviance,
            "loglik": self.loglik,
            "pseudo_r2": self.pseudo_r2 if self.estimator == "ppml" else None,
            "r2": self.r2 if isinstance(self, OlsResult) else None,
            "vcov": {
                "type": self.vcov_spec.type,
                "by": list(self.vcov_spec.by),
                "ssc": self.vcov_spec.ssc.model_dump(),
                "description": self.vcov_spec.describe(),
            },
            "fixed_effects": dict(self.fixed_effect_sizes),
            "dropped_regressors": list(self.dropped_regressors),
            "coefficients": {
                term: {"estimate": float(self.coef[term]), "std_error": float(self.se[term])}
                for term in self.coef.index
            },
        }


@dataclass(frozen=True)
class PpmlResult(FitResult):
    """Result of :meth:`~gravity.estimation.ppml.Ppml.fit`."""

    estimator: ClassVar[Literal["ppml", "ols"]] = "ppml"
    deviance_path: tuple[float, ...] = ()
    """Deviance after each IRLS iteration."""


@dataclass(frozen=True)
class OlsResult(FitResult):
    """Result of :meth:`~gravity.estimation.ols.Ols.fit`."""

    estimator: ClassVar[Literal["ppml", "ols"]] = "ols"
    r2: float = float("nan")
    """R² of the full model (fixed effects included)."""
    r2_within: float = float("nan")
    """R² after the fixed effects are partialled out."""


def vcov_matrix(
    spec: VcovSpec, inputs: VcovInputs, design: Design
) -> tuple[np.ndarray, tuple[int, ...]]:
    """The variance matrix under ``spec`` and the number of clusters of each cluster variable.

    Cluster variables are read from the estimation rows of the fitted data
    (:meth:`~gravity.estimation.design.Design.columns`).
    """
    clusters: list[tuple[str, np.ndarray]] = []
    if spec.type == "cluster":
        needed = list(dict.fromkeys(c for name in spec.by for c in interaction_columns(name)))
        try:
            frame = design.columns(needed)
        except EstimationError as exc:
            raise EstimationError(f"cluster variable(s) {spec.by}: {exc}") from None
        clusters = cluster_codes(frame, spec.by)
    n_clusters = tuple(int(c.max()) + 1 for _, c in clusters)
    if inputs.bread.shape[0] == 0:
        return np.zeros((0, 0)), n_clusters
    return compute_vcov(spec, inputs, clusters), n_clusters
