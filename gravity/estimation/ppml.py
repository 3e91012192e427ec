"""PPML gravity model: the validated specification, and ``fit()`` returning a frozen result."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from gravity._base import StrictModel, validate_options
from gravity.estimation.design import Design, build_design
from gravity.estimation.fixed_effects import interaction_columns
from gravity.estimation.irls import IrlsOptions, fit_poisson
from gravity.estimation.results import PpmlResult, vcov_matrix
from gravity.estimation.separation import detect_separation
from gravity.estimation.vcov import VcovInputs, VcovSpec, as_vcov_spec
from gravity.exceptions import EstimationError, SeparationWarning

# Below this many regressors IRLS's BLAS products are dot products over the observations: BLAS
# threads gain nothing on them, and their spinning after each call takes the cores that the
# demeaning kernel's threads need (at 2 threads on 2 busy cores: 1.41 s against 1.06 s at 450k)
BLAS_THREADS_MIN_REGRESSORS = 16


class SeparationOptions(StrictModel):
    """Which observations to drop before PPML because their MLE does not exist.

    Defaults follow R fixest's ``fepois`` (drop fixed-effect groups whose outcomes are all zero,
    keep singletons) plus the ReLU check for separation by regressors (ppmlhdfe), which fixest
    lacks: on data without regressor separation both give the same sample.
    """

    fe_zero: bool = True
    singletons: bool = False
    regressor: bool = True


class PpmlOptions(StrictModel):
    """Options of a PPML fit: solver settings and separation handling."""

    irls: IrlsOptions = IrlsOptions()
    separation: SeparationOptions = SeparationOptions()


class Ppml:
    """Poisson pseudo-maximum likelihood with high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        fixest-style formula, e.g.
        ``"value ~ log(dist) + contig + rta | exporter^year + importer^year + exporter^importer"``.
    data : pandas.DataFrame
        Estimation data.
    weights, offset : str, optional
        Columns with observation weights and an offset of the linear predictor.
    vcov : VcovSpec, str or dict
        Variance estimate of the result (``"hetero"`` by default); ``with_vcov`` on the result
        gives another (clustered on any column of ``data``).
    options : PpmlOptions, optional
        Solver and separation options.
    cluster_columns : sequence of str
        Columns copied with the fit for later clustering (any other column of ``data`` is read
        from it when ``with_vcov`` names it).

    Examples
    --------
    >>> res = Ppml("trade ~ log(dist) + contig | exporter^year + importer^year", df).fit()
    >>> res.to_frame()  # doctest: +SKIP
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        weights: str | None = None,
        offset: str | None = None,
        vcov: VcovSpec | str | dict[str, Any] | None = None,
        options: PpmlOptions | Mapping[str, Any] | None = None,
        cluster_columns: Sequence[str] = (),
    ) -> None:
        self.vcov = as_vcov_spec(vcov)
        self.options = validate_options(PpmlOptions, options, "options")
        extra = [c for name in self.vcov.by for c in interaction_columns(name)]
        self.design = build_design(
            formula,
            data,
            weights=weights,
            offset=offset,
            keep_columns=(*extra, *cluster_columns),
        )

    @classmethod
    def from_arrays(
        cls,
        y: np.ndarray,
        X: np.ndarray | pd.DataFrame | None = None,
        fixed_effects: np.ndarray | pd.DataFrame | Mapping[str, np.ndarray] | None = None,
        *,
        weights: np.ndarray | None = None,
        offset: np.ndarray | None = None,
        vcov: VcovSpec | str | dict[str, Any] | None = None,
        options: PpmlOptions | Mapping[str, Any] | None = None,
        clusters: pd.DataFrame | None = None,
        intercept: bool | None = None,
    ) -> Ppml:
        """Build the model from arrays instead of a formula.

        ``X`` columns are named ``x0, x1, ...`` unless it is a DataFrame; ``fixed_effects`` holds
        one column of identifiers per dimension. Without fixed effects an intercept is added
        unless ``intercept=False``.
        """
        n = len(y)
        frame = pd.DataFrame({"__y": np.asarray(y, dtype=float)})
        x_names: list[str] = []
        if X is not None:
            xf = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X).reshape(n, -1))
            xf = xf.rename(columns=lambda c: f"x{c}" if isinstance(c, int) else str(c))
            x_names = list(xf.columns)
            frame = pd.concat([frame, xf.reset_index(drop=True)], axis=1)
        fe_names: list[str] = []
        if fixed_effects is not None:
            if isinstance(fixed_effects, pd.DataFrame):
                ff = fixed_effects
            elif isinstance(fixed_effects, Mapping):
                ff = pd.DataFrame(dict(fixed_effects))
            else:
                ff = pd.DataFrame(np.asarray(fixed_effects).reshape(n, -1))
            ff = ff.rename(columns=lambda c: f"fe{c}" if isinstance(c, int) else str(c))
            fe_names = list(ff.columns)
            frame = pd.concat([frame, ff.reset_index(drop=True)], axis=1)
        extra: list[str] = []
        if weights is not None:
            frame["__w"] = weights
        if offset is not None:
            frame["__offset"] = offset
        if clusters is not None:
            frame = pd.concat([frame, clusters.reset_index(drop=True)], axis=1)
            extra = list(map(str, clusters.columns))
        rhs = " + ".join(x_names) if x_names else "1"
        if intercept is False and not fe_names:
            rhs += " + 0"
        formula = "__y ~ " + rhs + (" | " + " + ".join(fe_names) if fe_names else "")
        return cls(
            formula,
            frame,
            weights="__w" if weights is not None else None,
            offset="__offset" if offset is not None else None,
            vcov=vcov,
            options=options,
            cluster_columns=extra,
        )

    def fit(self) -> PpmlResult:
        """Estimate the model; returns a new frozen :class:`PpmlResult`."""
        design = self.design
        opts = self.options.separation
        if np.any(design.y < 0):
            raise EstimationError(
                "PPML needs a non-negative outcome: "
                f"{int((design.y < 0).sum())} negative values of {design.formula.outcome.name!r}"
            )
        sep = detect_separation(
            design.y,
            design.X if design.X.shape[1] else None,
            design.fe if len(design.fe) else None,
            weights=design.weights,
            fe_zero=opts.fe_zero,
            singletons=opts.singletons,
            regressor=opts.regressor,
        )
        dropped = {**design.dropped, **sep.dropped}
        n_sep = int((~sep.keep).sum())
        if n_sep:
            detail = ", ".join(f"{v} {k}" for k, v in sep.dropped.items() if v)
            warnings.warn(
                f"{n_sep} observation(s) removed before PPML ({detail}): their fitted values "
                "would be exactly zero, so they carry no information",
                SeparationWarning,
                stacklevel=2,
            )
            design = design.subset(sep.keep)
        if design.y.shape[0] == 0:
            raise EstimationError("no observation left after removing separated observations")
        return finish_poisson(design, self.vcov, self.options, dropped)


def finish_poisson(
    design: Design, vcov: VcovSpec, options: PpmlOptions, dropped: dict[str, int]
) -> PpmlResult:
    """Run IRLS on a prepared design (separation already handled) and build the result.

    Shared by :meth:`Ppml.fit` and the RESET diagnostic (which refits an augmented design).
    """
    with _blas_threads_for(design.X.shape[1]):
        out = fit_poisson(
            design.y,
            design.X,
            design.fe,
            design.names,
            weights=design.weights,
            offset=design.offset,
            options=options.irls,
        )
    names = tuple(design.names[j] for j in out.kept_columns)
    w0 = np.ones_like(design.y) if design.weights is None else design.weights
    Xd = out.X_demeaned
    xw = Xd * (w0 * out.mu)[:, None]
    bread = np.linalg.inv(xw.T @ Xd) if Xd.shape[1] else np.zeros((0, 0))
    scores = Xd * (w0 * (design.y - out.mu))[:, None]
    inputs = VcovInputs(
        bread=bread,
        scores=scores,
        dispersion=1.0,
        n_coef=len(names),
        fixed_effects=design.fe if len(design.fe) else None,
    )
    matrix, n_clusters = vcov_matrix(vcov, inputs, design)
    loglik = float(np.sum(w0 * (design.y * out.eta - out.mu - gammaln(design.y + 1))))
    mu0 = np.average(design.y, weights=w0)
    loglik_null = float(np.sum(w0 * (design.y * np.log(mu0) - mu0 - gammaln(design.y + 1))))
    offset = 0.0 if design.offset is None else design.offset
    linear_fe = out.eta - offset - (design.X[:, out.kept_columns] @ out.beta if names else 0.0)
    coef = pd.Series(out.beta, index=pd.Index(names, name="term"), name="estimate")
    return PpmlResult(
        formula=design.formula.text,
        coef=coef,
        vcov=pd.DataFrame(matrix, index=coef.index, columns=coef.index),
        vcov_spec=vcov,
        nobs=int(design.y.shape[0]),
        nobs_input=design.n_input,
        nobs_dropped=dropped,
        iterations=out.iterations,
        converged=out.converged,
        deviance=out.deviance,
        loglik=loglik,
        loglik_null=loglik_null,
        fitted=out.mu,
        fixed_effect_names=design.fe.names,
        fixed_effect_sizes=dict(zip(design.fe.names, design.fe.n_levels, strict=True)),
        dropped_regressors=tuple(n for n in design.names if n not in names),
        _design=design,
        _vcov_inputs=inputs,
        _linear_fe=np.asarray(linear_fe),
        n_clusters=n_clusters,
        deviance_path=tuple(out.deviance_path),
    )


def _blas_threads_for(n_regressors: int) -> contextlib.AbstractContextManager[object]:
    """One BLAS thread while IRLS runs, unless there are enough regressors for threads to pay."""
    if n_regressors >= BLAS_THREADS_MIN_REGRESSORS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
