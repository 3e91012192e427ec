"""Analytic bias correction of two-way and three-way PPML gravity (Weidner & Zylkin 2021).

With exporter-time, importer-time and pair fixed effects, PPML coefficients carry an incidental
parameter bias of order ``1/N`` and the pair-clustered sandwich variance is biased downward, also
of order ``1/N`` (Weidner & Zylkin 2021, *J. Int. Econ.* 132, 103513). With exporter-time and
importer-time effects only, the coefficients are unbiased but the variance still is not.

Notation (per directed pair ``ij``, over its ``T`` periods, missing periods zero-filled):
``lambda`` the fitted flows, ``e = y - lambda`` the scores, ``x`` the regressors partialled out
of all fixed effects with weights ``lambda``, and the Hessian of the pair-profiled likelihood
``H = diag(lambda) - lambda lambda' / sum(lambda)`` (three-way) or ``diag(lambda)`` (two-way).

- Bias (three-way): ``W^{-1} (N_i / (N_i - 1) B / (P / N_i) + N_j / (N_j - 1) D / (P / N_j))`` with
  ``W = sum lambda x x' / P``, where ``B`` averages over exporters ``-tr(M_i H_i^+) +
  tr(H_i^+ G_i H_i^+ S_i) / 2`` (``M_i = sum_j e (H x)'``, ``G_i = -sum_j (diag(x) H + H diag(x))``,
  ``S_i = sum_j e e'``, ``H_i = sum_j H``, ``^+`` the pseudo-inverse) and ``D`` the same over
  importers.
- Adjusted variance: the pair-clustered sandwich with each pair's score outer product
  ``e e'`` replaced by ``(I - H (x V_x x' + d V_d d'))^{-1} e e'``, a local de-biasing by the
  leverage of the estimated coefficients (``V_x = (sum lambda x x')^{-1}``) and of the
  exporter-time and importer-time effects (``V_d`` the inverse of their pair-profiled Hessian).

This follows the estimator of the authors' Stata package ``ppml_fe_bias`` (exact leverage,
``G / (G - 1)`` small-sample factor); the reference test reproduces its published example.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from gravity.estimation.demean import demean
from gravity.estimation.results import FitResult, PpmlResult
from gravity.estimation.vcov import VcovSpec
from gravity.exceptions import EstimationError

# Partialling the regressors out of the fixed effects: the correction is a difference of
# O(1/N) terms, so the residuals must be far more accurate than the estimator's default
DEMEAN_TOL = 1e-12
# Eigenvalues below this share of the largest span the null space of the fixed-effect Hessian
# (one constant per country and period dimension); any generalised inverse gives the same answer
NULL_RTOL = 1e-9
# The variance adjustment inverts the dense Hessian of the exporter-time and importer-time
# effects; beyond this many effects (a 290 MB matrix, minutes to decompose) we refuse rather
# than exhaust memory
MAX_TIME_EFFECTS = 6000


@dataclass(frozen=True)
class BiasCorrectedResult(PpmlResult):
    """A PPML fit with bias-corrected coefficients and the adjusted pair-clustered variance.

    Everything a :class:`PpmlResult` offers, with ``coef`` the corrected coefficients (three-way;
    two-way keeps them) and ``vcov`` the adjusted variance; the original fit stays reachable as
    :attr:`uncorrected`, unchanged. The fixed effects and fitted values are those of the
    original fit.
    """

    bias: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    """Estimated bias, subtracted from the original coefficients (zero for two-way models)."""
    uncorrected: PpmlResult | None = field(default=None, repr=False)
    """The original fit."""
    uncorrected_vcov: pd.DataFrame | None = field(default=None, repr=False)
    """The usual pair-clustered variance of the original fit (``G / (G - 1)``), for comparison."""
    kind: Literal["three-way", "two-way"] = "three-way"
    """Which fixed-effect structure the correction assumed."""

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Corrected coefficient table with the bias and the uncorrected estimates.

        Adds ``bias``, ``uncorrected_estimate`` and ``uncorrected_std_error`` (pair-clustered,
        ``G / (G - 1)``) to the columns of :meth:`FitResult.to_frame`.
        """
        out = super().to_frame(level)
        out["bias"] = self.bias.to_numpy()
        base = self.uncorrected.coef if self.uncorrected is not None else self.coef + self.bias
        out["uncorrected_estimate"] = base.to_numpy()
        if self.uncorrected_vcov is not None:
            out["uncorrected_std_error"] = np.sqrt(np.diag(self.uncorrected_vcov.to_numpy()))
        return out

    def summary_dict(self) -> dict[str, Any]:
        """``fit.json`` content of the corrected fit, plus the correction and the original."""
        out = super().summary_dict()
        out["bias_correction"] = {
            "method": "analytic",
            "reference": "Weidner & Zylkin (2021), J. Int. Econ. 132, 103513",
            "kind": self.kind,
            "bias": {k: float(v) for k, v in self.bias.items()},
            "uncorrected": None if self.uncorrected is None else self.uncorrected.summary_dict(),
        }
        return out

    def with_vcov(self, vcov: VcovSpec | str | dict[str, Any]) -> FitResult:
        """Refused: another variance would drop the adjustment.

        Use ``result.uncorrected.with_vcov(...)`` for other variances of the original fit.
        """
        raise EstimationError(
            "a bias-corrected result keeps its adjusted pair-clustered variance; use "
            "result.uncorrected.with_vcov(...) for another variance of the original fit"
        )


def _fe_columns(name: str) -> frozenset[str]:
    return frozenset(c.strip() for c in name.split("^"))


def _kind(result: PpmlResult, i: str, j: str, t: str) -> Literal["three-way", "two-way"]:
    dims = {_fe_columns(n) for n in result.fixed_effect_names}
    two = {frozenset({i, t}), frozenset({j, t})}
    if dims == two | {frozenset({i, j})}:
        return "three-way"
    if dims == two:
        return "two-way"
    raise EstimationError(
        "bias correction needs the fixed effects "
        f"{i}^{t} + {j}^{t} (two-way) or {i}^{t} + {j}^{t} + {i}^{j} (three-way); the fit has "
        f"{list(result.fixed_effect_names)}"
    )


def _pinv_psd(mat: np.ndarray) -> np.ndarray:
    # pseudo-inverse of symmetric positive semi-definite matrices (stacked), cutting the null
    # space explicitly: numpy's default cutoff keeps rounding-noise eigenvalues
    vals, vecs = np.linalg.eigh(mat)
    top = vals.max(axis=-1, keepdims=True)
    keep = vals > NULL_RTOL * top
    inv = np.where(keep, 1.0 / np.where(keep, vals, 1.0), 0.0)
    return np.asarray((vecs * inv[..., None, :]) @ np.swapaxes(vecs, -1, -2))


def _group_sum(codes: np.ndarray, n_groups: int, blocks: np.ndarray) -> np.ndarray:
    onehot = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_groups, len(codes))
    )
    flat = blocks.reshape(len(codes), -1)
    return np.asarray(onehot @ flat).reshape((n_groups, *blocks.shape[1:]))


def bias_correct(
    result: PpmlResult,
    *,
    exporter: str = "exporter",
    importer: str = "importer",
    time: str = "year",
) -> BiasCorrectedResult:
    """Weidner & Zylkin (2021) analytic bias correction of a two-way or three-way PPML fit.

    Parameters
    ----------
    result : PpmlResult
        A PPML fit with fixed effects ``exporter^time + importer^time`` (two-way) or
        ``exporter^time + importer^time + exporter^importer`` (three-way), without weights.
    exporter, importer, time : str
        Data columns of the three panel dimensions (kept with the fit).

    Returns
    -------
    BiasCorrectedResult
        Corrected coefficients (three-way) and adjusted pair-clustered variance; the
        uncorrected fit stays reachable as ``.uncorrected``.

    Raises
    ------
    gravity.exceptions.EstimationError
        For an OLS fit, weights, other fixed effects or missing panel columns.
    """
    if not isinstance(result, PpmlResult) or isinstance(result, BiasCorrectedResult):
        raise EstimationError("bias correction applies to (uncorrected) PPML fits only")
    design = result._design
    if design.weights is not None:
        raise EstimationError("bias correction does not support weighted PPML fits")
    kind = _kind(result, exporter, importer, time)
    try:
        frame = design.columns([exporter, importer, time])
    except EstimationError as exc:
        raise EstimationError(f"bias correction needs the panel dimensions: {exc}") from None
    cols = [design.names.index(n) for n in result.coef.index]
    if not cols:
        raise EstimationError("bias correction needs at least one regressor")
    lam = np.asarray(result.fitted, dtype=float)
    x = demean(design.X[:, cols], design.fe, weights=lam, tol=DEMEAN_TOL).residuals
    x = x.reshape(len(lam), -1)
    i_code, i_lev = pd.factorize(frame[exporter].astype(str), sort=True)
    j_code, j_lev = pd.factorize(frame[importer].astype(str), sort=True)
    t_code, t_lev = pd.factorize(frame[time], sort=True)
    p_code, p_lev = pd.factorize(i_code.astype(np.int64) * len(j_lev) + j_code, sort=True)
    n_i, n_j, n_t, n_p, k = len(i_lev), len(j_lev), len(t_lev), len(p_lev), x.shape[1]
    if n_p < 2:
        raise EstimationError("bias correction needs more than one pair")
    # balanced (pair, period) arrays, zero where a period is missing
    lam_pt = np.zeros((n_p, n_t))
    e_pt = np.zeros((n_p, n_t))
    x_pt = np.zeros((n_p, n_t, k))
    lam_pt[p_code, t_code] = lam
    e_pt[p_code, t_code] = design.y - lam
    x_pt[p_code, t_code] = x
    pair_i = (np.asarray(p_lev) // len(j_lev)).astype(np.int64)
    pair_j = (np.asarray(p_lev) % len(j_lev)).astype(np.int64)

    hess = lam_pt[:, :, None] * np.eye(n_t)[None]
    if kind == "three-way":
        total = lam_pt.sum(axis=1)
        hess = hess - lam_pt[:, :, None] * lam_pt[:, None, :] / total[:, None, None]
    w_mat = np.einsum("ptk,pt,ptl->kl", x_pt, lam_pt, x_pt) / n_p
    w_inv = np.linalg.inv(w_mat)
    scores = e_pt[:, :, None] * e_pt[:, None, :]

    bias = np.zeros(k)
    if kind == "three-way":
        b_term = _side_bias(hess, x_pt, e_pt, scores, pair_i, n_i)
        d_term = _side_bias(hess, x_pt, e_pt, scores, pair_j, n_j)
        bias = w_inv @ (n_i / (n_i - 1) * b_term * n_i / n_p + n_j / (n_j - 1) * d_term * n_j / n_p)

    d_v_d = _fe_leverage(hess, pair_i, pair_j, n_i, n_j, n_t)
    x_v_x = np.einsum("prk,kl,psl->prs", x_pt, w_inv / n_p, x_pt)
    lev = np.linalg.inv(np.eye(n_t)[None] - hess @ (x_v_x + d_v_d))
    adjusted = _sandwich(lev @ scores, x_pt, w_inv, n_p)
    original = _sandwich(scores, x_pt, w_inv, n_p)

    names = result.coef.index
    bias_s = pd.Series(bias, index=names, name="bias")
    base = {f.name: getattr(result, f.name) for f in fields(result) if f.init}
    base.update(
        coef=(result.coef - bias_s).rename("estimate"),
        vcov=pd.DataFrame((adjusted + adjusted.T) / 2, index=names, columns=names),
        vcov_spec=VcovSpec(type="cluster", by=[f"{exporter}^{importer}"]),
        n_clusters=(n_p,),
    )
    return BiasCorrectedResult(
        **base,
        bias=bias_s,
        uncorrected=result,
        uncorrected_vcov=pd.DataFrame(original, index=names, columns=names),
        kind=kind,
    )


def _side_bias(
    hess: np.ndarray,
    x_pt: np.ndarray,
    e_pt: np.ndarray,
    scores: np.ndarray,
    side: np.ndarray,
    n_side: int,
) -> np.ndarray:
    # one side (exporters or importers) of the three-way bias: -mean tr(M H^+) + mean tr(H^+ G
    # H^+ S) / 2, per regressor
    h_side = _group_sum(side, n_side, hess)
    h_pinv = _pinv_psd(h_side)
    s_side = _group_sum(side, n_side, scores)
    hx = np.einsum("prs,psk->prk", hess, x_pt)
    out = np.zeros(x_pt.shape[2])
    for kk in range(x_pt.shape[2]):
        m = e_pt[:, :, None] * hx[:, None, :, kk]
        m_side = _group_sum(side, n_side, m)
        xk = x_pt[:, :, kk]
        g = -(xk[:, :, None] * hess + hess * xk[:, None, :])
        g_side = _group_sum(side, n_side, g)
        first = np.einsum("nrt,ntr->n", m_side, h_pinv)
        second = np.einsum("nrt,ntr->n", h_pinv @ g_side @ h_pinv, s_side)
        out[kk] = -first.mean() + second.mean() / 2
    return out


def _fe_leverage(
    hess: np.ndarray, pair_i: np.ndarray, pair_j: np.ndarray, n_i: int, n_j: int, n_t: int
) -> np.ndarray:
    # d V_d d' per pair, where d selects the pair's exporter-time and importer-time effects and
    # V_d is a generalised inverse of their Hessian (after profiling out the pair effects)
    t_idx = np.arange(n_t)
    idx = np.concatenate(
        [pair_i[:, None] * n_t + t_idx, n_i * n_t + pair_j[:, None] * n_t + t_idx], axis=1
    )
    big = np.tile(hess, (1, 2, 2))
    size = (n_i + n_j) * n_t
    if size > MAX_TIME_EFFECTS:
        raise EstimationError(
            f"bias correction: {size} exporter-time and importer-time effects exceed the "
            f"{MAX_TIME_EFFECTS} whose dense Hessian the variance adjustment inverts; use fewer "
            "periods (e.g. every fourth year) or countries"
        )
    fe_hess = np.zeros((size, size))
    np.add.at(fe_hess, (idx[:, :, None], idx[:, None, :]), big)
    v_d = _pinv_psd(fe_hess)
    a, b = idx[:, :n_t], idx[:, n_t:]
    return np.asarray(
        v_d[a[:, :, None], a[:, None, :]]
        + v_d[a[:, :, None], b[:, None, :]]
        + v_d[b[:, :, None], a[:, None, :]]
        + v_d[b[:, :, None], b[:, None, :]]
    )


def _sandwich(meat_pairs: np.ndarray, x_pt: np.ndarray, w_inv: np.ndarray, n_p: int) -> np.ndarray:
    omega = np.einsum("prk,prs,psl->kl", x_pt, meat_pairs, x_pt) / n_p
    return np.asarray(w_inv @ omega @ w_inv / n_p * n_p / (n_p - 1))
