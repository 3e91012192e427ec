"""Trade costs for a counterfactual: estimated once, then evaluated under each scenario.

Two routes, as in Yotov, Piermartini, Monteiro & Larch (2016), Chapter 2:

- ``regressors`` (Application 1): PPML on the baseline year with exporter and importer effects;
  ``log t_ij`` is the sum of the estimated regressor terms.
- ``pair_effects`` (Application 2; Anderson & Yotov 2016): PPML on a panel with exporter-year,
  importer-year and pair effects. ``log t_ij`` is the pair effect plus the policy terms. Pair
  effects are normalised so that domestic pairs have zero (the book lumps all domestic pairs into
  the omitted pair; with exporter-year and importer-year effects that is a normalisation). Pairs
  that never trade have no pair effect: a second PPML of ``exp(pair effect)`` on exporter and
  importer effects and ``fill_covariates`` over the international pairs of the baseline year
  predicts theirs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.counterfactual.options import CostOptions, CounterfactualOptions, Scenario
from gravity.estimation.formula import Term, parse_formula
from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.estimation.results import FitResult
from gravity.exceptions import DataError, SeparationWarning

# General equilibrium amplifies small errors in the cost estimates: fit them to a tolerance
# well below the estimator's default so the published digits are reproduced
_COST_FIT = PpmlOptions(irls=IrlsOptions(tol=1e-10))


@dataclass(frozen=True)
class TradeCosts:
    """Estimated trade costs of the baseline year and the estimates behind them.

    ``frame`` holds the baseline-year rows in country order (exporter-major), ``base_log_cost``
    the part of ``log t_ij`` that no scenario changes (pair effects, or zero), and ``terms`` the
    cost terms with their coefficients.
    """

    countries: tuple[str, ...]
    frame: pd.DataFrame
    base_log_cost: np.ndarray
    coefficients: pd.Series
    terms: tuple[Term, ...]
    estimate: FitResult
    filled_pairs: int = 0
    fill_estimate: FitResult | None = field(default=None, repr=False)

    def log_cost(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """``log t_ij`` as an exporter-by-importer matrix on ``frame`` (default: the baseline)."""
        data = self.frame if frame is None else frame
        total = self.base_log_cost.ravel().copy()
        for term in self.terms:
            total += self.coefficients[term.name] * term.evaluate(data)
        n = len(self.countries)
        return total.reshape(n, n)

    def scenario_mask(self, scenario: Scenario, options: CounterfactualOptions) -> np.ndarray:
        """Which baseline-year rows (exporter-major) the scenario changes."""
        exp = self.frame[options.exporter].to_numpy()
        imp = self.frame[options.importer].to_numpy()
        known = set(self.countries)
        listed: list[str] = []
        if scenario.pairs is not None:
            listed = [c for pair in scenario.pairs for c in pair]
        elif scenario.groups is not None:
            listed = [c for group in scenario.groups for c in group]
        unknown = sorted(set(listed) - known)
        if unknown:
            raise DataError(
                f"scenario {scenario.name!r}: countries {unknown} are not in the baseline year "
                f"{options.baseline_year} (the data have {len(known)} countries, e.g. "
                f"{sorted(known)[:5]})"
            )
        if scenario.pairs is not None:
            wanted = {(a, b) for a, b in scenario.pairs}
            return np.array([(a, b) in wanted for a, b in zip(exp, imp, strict=True)])
        if scenario.groups is not None:
            mask = np.zeros(len(exp), dtype=bool)
            for group in scenario.groups:
                members = list(set(group))
                mask |= np.isin(exp, members) & np.isin(imp, members) & (exp != imp)
            return mask
        return np.asarray(exp != imp)

    def scenario_log_cost(self, scenario: Scenario, options: CounterfactualOptions) -> np.ndarray:
        """``log t_ij`` under the scenario, as an exporter-by-importer matrix.

        ``set``/``scale`` change regressor columns and the cost terms are evaluated again;
        ``cost_change_pct`` changes iceberg costs ``tau``, so ``log t = (1 - sigma) log tau``
        moves by ``(1 - sigma) * log(1 + pct / 100)``.
        """
        columns = sorted({c for term in self.terms for c in term.columns()})
        for name in [*scenario.set, *scenario.scale]:
            if name not in columns:
                raise DataError(
                    f"scenario {scenario.name!r}: {name!r} is not a cost regressor; the costs "
                    f"use the columns {columns} (counterfactual.costs.regressors)"
                )
        mask = self.scenario_mask(scenario, options)
        out = self.frame.copy()
        for name, value in scenario.set.items():
            out[name] = out[name].astype(float)
            out.loc[mask, name] = value
        for name, factor in scenario.scale.items():
            out[name] = out[name].astype(float)
            out.loc[mask, name] = out.loc[mask, name] * factor
        log_cost = self.log_cost(out).ravel()
        if scenario.cost_change_pct is not None:
            shift = (1.0 - options.sigma) * np.log1p(scenario.cost_change_pct / 100.0)
            log_cost = log_cost + np.where(mask, shift, 0.0)
        return log_cost.reshape(len(self.countries), -1)


def _check_columns(data: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"{where}: column(s) {missing} not in the data (available: {sorted(data.columns)})"
        )


def baseline_frame(data: pd.DataFrame, options: CounterfactualOptions) -> pd.DataFrame:
    """Rows of the baseline year as a full square exporter-by-importer table, sorted."""
    ex, im, yr = options.exporter, options.importer, options.year
    _check_columns(data, [ex, im, yr, options.outcome], "counterfactual data")
    years = pd.to_numeric(data[yr], errors="coerce")
    frame = data.loc[years == options.baseline_year]
    if frame.empty:
        present = sorted(int(y) for y in years.dropna().unique())
        raise DataError(
            f"counterfactual.baseline_year {options.baseline_year} is not in the data (column "
            f"{yr!r} has {present[0]}..{present[-1]}); choose one of the panel's years"
        )
    countries = sorted(set(frame[ex].astype(str)) | set(frame[im].astype(str)))
    if options.reference not in countries:
        raise DataError(
            f"counterfactual.reference {options.reference!r} is not a country of the baseline "
            f"year {options.baseline_year} (e.g. {countries[:5]})"
        )
    frame = frame.assign(**{ex: frame[ex].astype(str), im: frame[im].astype(str)})
    if frame.duplicated([ex, im]).any():
        raise DataError(
            f"counterfactual data: {int(frame.duplicated([ex, im]).sum())} duplicated "
            f"({ex}, {im}) rows in {options.baseline_year}; aggregate them first"
        )
    n = len(countries)
    if len(frame) != n * n:
        raise DataError(
            f"counterfactual data: the baseline year {options.baseline_year} has {len(frame)} "
            f"rows, not the {n * n} of a square table of {n} countries with domestic flows; "
            "general equilibrium needs every pair (zeros included)"
        )
    flows = pd.to_numeric(frame[options.outcome], errors="coerce")
    if flows.isna().any() or (flows < 0).any():
        raise DataError(
            f"counterfactual data: column {options.outcome!r} needs non-negative numbers in "
            f"{options.baseline_year} ({int(flows.isna().sum())} missing, "
            f"{int((flows < 0).sum())} negative)"
        )
    output = flows.groupby(frame[ex]).sum()
    spending = flows.groupby(frame[im]).sum()
    empty = sorted(set(output.index[output <= 0]) | set(spending.index[spending <= 0]))
    if empty:
        raise DataError(
            f"counterfactual data: {empty} have no output or no expenditure in "
            f"{options.baseline_year} (all flows zero); general equilibrium needs both for "
            "every country: drop them from the data"
        )
    order = {c: k for k, c in enumerate(countries)}
    key = frame[ex].map(order) * n + frame[im].map(order)
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def estimate_costs(data: pd.DataFrame, options: CounterfactualOptions) -> TradeCosts:
    """Estimate bilateral trade costs as ``options.costs`` says.

    Parameters
    ----------
    data : pandas.DataFrame
        Flows with exporter, importer, year, outcome and the cost regressors' columns.
    options : CounterfactualOptions
        The counterfactual; see :class:`~gravity.counterfactual.options.CostOptions`.

    Returns
    -------
    TradeCosts
    """
    base = baseline_frame(data, options)
    costs = options.costs
    rhs = " + ".join(costs.regressors)
    formula = parse_formula(f"{options.outcome} ~ {rhs}")
    _check_columns(data, formula.columns(), "counterfactual.costs.regressors")
    countries = tuple(sorted(set(base[options.exporter])))
    if costs.method == "regressors":
        ex, im = options.exporter, options.importer
        fit = Ppml(f"{options.outcome} ~ {rhs} | {ex} + {im}", base, options=_COST_FIT).fit()
        _require(fit, formula.regressors)
        return TradeCosts(countries, base, np.zeros(len(base)), fit.coef, formula.regressors, fit)
    return _pair_effect_costs(data, base, countries, options, costs, formula.regressors)


def _require(fit: FitResult, terms: tuple[Term, ...]) -> None:
    lost = [t.name for t in terms if t.name not in fit.coef.index]
    if lost:
        raise DataError(
            f"counterfactual cost regressor(s) {lost} were dropped from the PPML (collinear with "
            "the fixed effects or constant); their effect cannot be estimated"
        )


def _pair_key(data: pd.DataFrame, options: CounterfactualOptions, kind: str) -> pd.Series:
    ex = data[options.exporter].astype(str)
    im = data[options.importer].astype(str)
    if kind == "symmetric":
        low = ex.where(ex < im, im)
        high = im.where(ex < im, ex)
        return low + "^" + high
    return ex + "^" + im


def _pair_effect_costs(
    data: pd.DataFrame,
    base: pd.DataFrame,
    countries: tuple[str, ...],
    options: CounterfactualOptions,
    costs: CostOptions,
    terms: tuple[Term, ...],
) -> TradeCosts:
    ex, im, yr = options.exporter, options.importer, options.year
    panel = data
    if costs.years is not None:
        absent = sorted(set(costs.years) - set(pd.to_numeric(data[yr]).unique()))
        if absent:
            raise DataError(f"counterfactual.costs.years {absent} are not in the data")
        panel = data.loc[pd.to_numeric(data[yr]).isin(costs.years)]
    panel = panel.assign(__pair=_pair_key(panel, options, costs.pair_effects).to_numpy())
    rhs = " + ".join(t.name for t in terms)
    with warnings.catch_warnings():
        # pairs that never trade are dropped by design; they get filled costs below
        warnings.simplefilter("ignore", SeparationWarning)
        fit = Ppml(
            f"{options.outcome} ~ {rhs} | {ex}^{yr} + {im}^{yr} + __pair", panel, options=_COST_FIT
        ).fit()
    _require(fit, terms)
    effects = fit.fixed_effects["__pair"]
    key = _pair_key(base, options, costs.pair_effects)
    gamma = key.map(effects).to_numpy(dtype=float)
    n = len(countries)
    gamma_m = gamma.reshape(n, n)
    own = np.diag(gamma_m).copy()
    if np.isnan(own).any():
        raise DataError(
            "counterfactual costs: some countries have no domestic flow in the panel, so "
            "their pair effects cannot be normalised"
        )
    gamma_m = gamma_m - (own[:, None] + own[None, :]) / 2
    missing = np.isnan(gamma_m)
    fill_fit = None
    if missing.any():
        fill_fit, gamma_m = _fill(base, gamma_m, options, costs)
    return TradeCosts(
        countries,
        base,
        gamma_m.ravel(),
        fit.coef,
        terms,
        fit,
        filled_pairs=int(missing.sum()),
        fill_estimate=fill_fit,
    )


def _fill(
    base: pd.DataFrame, gamma: np.ndarray, options: CounterfactualOptions, costs: CostOptions
) -> tuple[FitResult, np.ndarray]:
    ex, im = options.exporter, options.importer
    rhs = " + ".join(costs.fill_covariates)
    fill_terms = parse_formula(f"{options.outcome} ~ {rhs}").regressors
    fill_columns = [c for t in fill_terms for c in t.columns()]
    _check_columns(base, fill_columns, "counterfactual.costs.fill_covariates")
    n = gamma.shape[0]
    frame = base.assign(__tij=np.exp(gamma.ravel()))
    international = (frame[ex] != frame[im]).to_numpy()
    known = international & ~np.isnan(gamma.ravel())
    fit = Ppml(f"__tij ~ {rhs} | {ex} + {im}", frame.loc[known], options=_COST_FIT).fit()
    predicted = fit.predict(frame, unseen="nan")
    filled = gamma.ravel().copy()
    todo = np.isnan(filled)
    filled[todo] = np.log(predicted[todo])
    if np.isnan(filled).any():
        raise DataError(
            "counterfactual costs: could not predict the costs of pairs without trade "
            "(an exporter or importer has no trading pair at all)"
        )
    return fit, filled.reshape(n, n)
