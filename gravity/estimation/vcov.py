"""Variance estimators: iid, heteroskedasticity-robust and multi-way clustered sandwiches.

Every estimator is a pure function of the fitted model's *bread* (inverse Hessian of the
concentrated objective, i.e. of the fixed-effect-demeaned regressors) and *scores*; the small-
sample correction is an explicit, named object so that both R fixest's defaults and Stata's
``ppmlhdfe``/``reghdfe`` convention can be reproduced.

Small-sample factor (fixest's ``ssc``; see its vignette "On standard errors")::

    V = adj_K * adj_G * B M B
    adj_K = (n - 1) / (n - K)            if ssc.adj           (K: coefficients + fixed effects)
    adj_G = G / (G - 1)                  if ssc.cluster_adj   (G = n for "hetero")

``K`` counts fixed-effect parameters as ``sum(levels) - (n_fe - 1)``; with ``fixef_k="nested"``
a fixed effect nested in a cluster variable does not count (its levels minus the one already
subtracted are removed). Multi-way clustering follows Cameron, Gelbach & Miller (2011): the sum
over non-empty subsets S of the cluster variables of ``(-1)^(|S|+1) V_S`` where ``V_S`` clusters
by the intersection of S; with ``cluster_df="min"`` every term uses the smallest G (fixest and
reghdfe), with ``"conventional"`` each term its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator

from gravity._base import StrictModel, validate_options
from gravity.estimation.fixed_effects import FixedEffects, encode_interaction, interaction_columns
from gravity.exceptions import EstimationError

VcovType = Literal["iid", "hetero", "cluster"]

_TYPE_ALIASES = {
    "iid": "iid",
    "standard": "iid",
    "hetero": "hetero",
    "robust": "hetero",
    "hc1": "hetero",
    "white": "hetero",
    "cluster": "cluster",
    "clustered": "cluster",
    "twoway": "cluster",
}


class SmallSample(StrictModel):
    """Small-sample correction of a variance estimate (fixest's ``ssc``)."""

    adj: bool = True
    """Multiply by ``(n - 1) / (n - K)``."""
    fixef_k: Literal["nested", "full", "none"] = "nested"
    """How fixed effects enter K: all, none, or all but those nested in a cluster variable."""
    cluster_adj: bool = True
    """Multiply by ``G / (G - 1)`` (``n / (n - 1)`` for hetero)."""
    cluster_df: Literal["min", "conventional"] = "min"
    """Which G multi-way clustering uses: the smallest for every term, or each term's own."""


SSC_PRESETS: dict[str, SmallSample] = {
    # R fixest >= 0.10 defaults: ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE,
    # cluster.df = "min")
    "fixest": SmallSample(),
    # Stata ppmlhdfe / reghdfe as documented: (N-1)/(N-K) * G/(G-1), K without FE nested in
    # clusters, the smallest G in multi-way clustering -- the same formula as fixest's default.
    # Not verified against Stata output (none is recorded in ../shared); see the issue note.
    "stata": SmallSample(adj=True, fixef_k="nested", cluster_adj=True, cluster_df="min"),
    # no correction at all (the textbook sandwich)
    "none": SmallSample(adj=False, fixef_k="none", cluster_adj=False),
}


class VcovSpec(StrictModel):
    """Which variance to compute: ``{type: cluster, by: [exporter, importer]}`` in a config."""

    type: VcovType = "hetero"
    by: tuple[str, ...] = ()
    ssc: SmallSample = SSC_PRESETS["fixest"]

    @field_validator("type", mode="before")
    @classmethod
    def _alias(cls, value: object) -> object:
        if isinstance(value, str) and value.lower() in _TYPE_ALIASES:
            return _TYPE_ALIASES[value.lower()]
        return value

    @field_validator("by", mode="before")
    @classmethod
    def _by_list(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("ssc", mode="before")
    @classmethod
    def _preset(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in SSC_PRESETS:
                raise ValueError(f"unknown ssc preset {value!r}; use one of {sorted(SSC_PRESETS)}")
            return SSC_PRESETS[value]
        return value

    def model_post_init(self, __context: object) -> None:
        """Check that clustering has variables and other types have none."""
        if self.type == "cluster" and not self.by:
            raise ValueError("vcov type 'cluster' needs 'by', e.g. by: [exporter]")
        if self.type != "cluster" and self.by:
            raise ValueError(f"vcov type {self.type!r} takes no 'by'; use type: cluster")

    def describe(self) -> str:
        """Short human-readable label, e.g. ``"cluster (exporter, importer)"``."""
        if self.type == "cluster":
            return f"cluster ({', '.join(self.by)})"
        return {"iid": "iid", "hetero": "heteroskedasticity-robust"}[self.type]


def as_vcov_spec(value: VcovSpec | str | dict[str, object] | None) -> VcovSpec:
    """Accept a spec, a type name (``"hetero"``) or a dict as in a config file.

    Raises
    ------
    OptionsError
        If the type or an option is invalid (``vcov.type: Input should be ...``).
    """
    if isinstance(value, str):
        value = {"type": value}
    return validate_options(VcovSpec, value, "vcov")


@dataclass(frozen=True)
class VcovInputs:
    """What a fitted model hands to the variance estimators."""

    bread: np.ndarray
    """Inverse of the (weighted) cross-product of the demeaned regressors, ``k x k``."""
    scores: np.ndarray
    """Per-observation scores ``n x k`` (demeaned regressor times working residual)."""
    dispersion: float
    """Scale for iid: 1 for Poisson, residual variance for OLS (before small-sample factors)."""
    n_coef: int
    fixed_effects: FixedEffects | None


def cluster_codes(frame: pd.DataFrame, names: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """Integer codes for each cluster variable (``"exporter^importer"`` interactions allowed)."""
    out = []
    for name in names:
        cols = list(interaction_columns(name))
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise EstimationError(
                f"cluster variable {name!r}: column(s) {missing} not in the estimation data"
            )
        codes, _ = encode_interaction([frame[c] for c in cols])
        if (codes < 0).any():
            raise EstimationError(f"cluster variable {name!r} has missing values")
        out.append((name, codes))
    return out


def _fe_dof(fe: FixedEffects | None, clusters: Sequence[np.ndarray], mode: str) -> int:
    if fe is None or len(fe) == 0 or mode == "none":
        return 0
    total = fe.dof
    if mode == "full" or not clusters:
        return total
    for code, n_lev in zip(fe.codes, fe.n_levels, strict=True):
        if any(_is_nested(code, n_lev, cl) for cl in clusters):
            total -= n_lev - 1
    return total


def _is_nested(fe_code: np.ndarray, n_levels: int, cluster: np.ndarray) -> bool:
    pairs = np.unique(fe_code.astype(np.int64) * (int(cluster.max()) + 1) + cluster)
    return len(pairs) == n_levels


def _meat(scores: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    n_groups = int(codes.max()) + 1
    sums = np.empty((n_groups, scores.shape[1]))
    for j in range(scores.shape[1]):
        sums[:, j] = np.bincount(codes, weights=scores[:, j], minlength=n_groups)
    return sums.T @ sums, n_groups


def compute_vcov(
    spec: VcovSpec,
    inputs: VcovInputs,
    clusters: Sequence[tuple[str, np.ndarray]] = (),
) -> np.ndarray:
    """Variance matrix of the coefficients under ``spec``.

    Parameters
    ----------
    spec : VcovSpec
        Type, cluster variables and small-sample correction.
    inputs : VcovInputs
        Bread, scores and counts from the fitted model.
    clusters : sequence of (name, codes)
        Integer codes of each cluster variable in ``spec.by`` (from :func:`cluster_codes`).

    Returns
    -------
    numpy.ndarray
        ``k x k`` variance matrix.
    """
    bread, scores = inputs.bread, inputs.scores
    n = scores.shape[0]
    ssc = spec.ssc
    cluster_arrays = [c for _, c in clusters]
    k_total = inputs.n_coef + _fe_dof(
        inputs.fixed_effects, cluster_arrays if spec.type == "cluster" else [], ssc.fixef_k
    )
    adj_k = (n - 1) / (n - k_total) if ssc.adj and n > k_total else 1.0
    if spec.type == "iid":
        return np.asarray(bread * inputs.dispersion * adj_k)
    if spec.type == "hetero":
        meat = scores.T @ scores
        adj_g = n / (n - 1) if ssc.cluster_adj else 1.0
        return np.asarray(bread @ meat @ bread * adj_k * adj_g)
    if len(clusters) != len(spec.by):
        raise EstimationError("cluster codes do not match the variables named in the vcov spec")
    n_single = [int(c.max()) + 1 for c in cluster_arrays]
    g_min = min(n_single)
    total = np.zeros_like(bread)
    for size in range(1, len(cluster_arrays) + 1):
        for subset in itertools.combinations(range(len(cluster_arrays)), size):
            if size == 1:
                codes = cluster_arrays[subset[0]]
            else:
                key = pd.DataFrame({i: cluster_arrays[i] for i in subset})
                codes = key.groupby(list(subset), sort=False).ngroup().to_numpy()
            meat, g = _meat(scores, codes)
            g_used = g_min if ssc.cluster_df == "min" else g
            adj_g = g_used / (g_used - 1) if ssc.cluster_adj and g_used > 1 else 1.0
            total += (-1) ** (size + 1) * adj_g * meat
    vcov = bread @ total @ bread * adj_k
    return _psd(vcov)


def _psd(vcov: np.ndarray) -> np.ndarray:
    """Multi-way clustered matrices can be indefinite: clip negative eigenvalues as fixest does."""
    sym = (vcov + vcov.T) / 2
    values, vectors = np.linalg.eigh(sym)
    if values.min() >= 0:
        return sym
    values = np.clip(values, 0.0, None)
    return np.asarray((vectors * values) @ vectors.T)
