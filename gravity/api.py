"""The public API: one function per stage, ``import gravity as gv``.

Each function validates its options (mappings as in a config file, or the options objects),
calls the library stage and returns its frozen result; nothing here writes a file. Invalid
options raise :class:`~gravity.exceptions.OptionsError` naming the argument and the key.

The examples run as doctests (``tests/test_api.py``) on a small synthetic world.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from gravity._base import validate_options
from gravity.counterfactual.model import solve_counterfactual
from gravity.counterfactual.options import CounterfactualOptions
from gravity.counterfactual.results import CounterfactualResult
from gravity.estimation.results import FitResult
from gravity.estimation.spec import ModelSpec, fit
from gravity.estimation.vcov import VcovSpec
from gravity.exceptions import ConfigError
from gravity.panel.build import TradeSource
from gravity.panel.build import build_panel as _build_panel
from gravity.panel.dataset import Panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import parse_source
from gravity.panel.synthetic import SyntheticSource
from gravity.potential.forecast.options import ForecastOptions
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.relatedness.inputs import population_for
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.results import RelatednessResult
from gravity.report.build import Report, build_report
from gravity.report.data import ReportNames, load_inputs
from gravity.report.options import ReportOptions

if TYPE_CHECKING:
    # imported by the functions that run them: the forecast's learner loads scikit-learn (about
    # 60 MB and 1 s) and the potential stage joblib, which a fit through `gv.ppml` never needs
    from gravity.potential.backtest import BacktestResult
    from gravity.potential.forecast.backtest import ForecastBacktest
    from gravity.potential.pipeline import RelatednessFn

__all__ = [
    "backtest",
    "build_panel",
    "counterfactual",
    "forecast_backtest",
    "ols",
    "potential",
    "ppml",
    "relatedness",
    "report",
]

Options = Mapping[str, Any]
VcovArg = VcovSpec | str | Mapping[str, Any] | None


def _fit(
    estimator: Literal["ppml", "ols"],
    formula: str,
    data: pd.DataFrame,
    vcov: VcovArg,
    weights: str | None,
    offset: str | None,
    options: dict[str, Any],
) -> FitResult:
    given: dict[str, Any] = {"formula": formula, "estimator": estimator, **options}
    given.update(weights=weights, offset=offset)
    if vcov is not None:
        given["vcov"] = vcov.model_dump() if isinstance(vcov, VcovSpec) else vcov
    return fit(validate_options(ModelSpec, given, estimator), data)


def ppml(
    formula: str,
    data: pd.DataFrame,
    *,
    vcov: VcovArg = None,
    weights: str | None = None,
    offset: str | None = None,
    **options: Any,
) -> FitResult:
    """Fit a PPML gravity model with high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        fixest-style formula, ``outcome ~ regressors | fixed effects`` (``exporter^year``
        interacts two columns).
    data : pandas.DataFrame
        Estimation data.
    vcov : str, mapping or VcovSpec, optional
        ``"iid"``, ``"hetero"`` (the default) or ``{"type": "cluster", "by": [...]}``; any
        column of ``data`` can also be clustered on after the fit with ``with_vcov``.
    weights, offset : str, optional
        Columns of observation weights and of an offset of the linear predictor.
    **options
        Other keys of a config file's ``model:`` section: ``separation``, ``solver``,
        ``aggregate_products``, ``name``, ``bias_correction`` (``"analytic"``: Weidner &
        Zylkin 2021 bias-corrected coefficients and adjusted variance for two-way and three-way
        fixed effects on ``exporter``, ``importer``, ``year``; the result is a
        :class:`~gravity.estimation.bias.BiasCorrectedResult` keeping the original fit).

    Returns
    -------
    FitResult
        Frozen: ``coef``, ``se``, ``to_frame()``, ``with_vcov()``, ``predict()``.

    Raises
    ------
    OptionsError
        An unknown or invalid option (the message names it).
    EstimationError
        The model cannot be estimated on ``data``.

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=12, n_products=4, n_years=6))
    >>> flows = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    >>> fit = gv.ppml("value ~ log(dist) + rta | exporter^year + importer^year", flows,
    ...               vcov={"type": "cluster", "by": ["exporter^importer"]})
    >>> fit.coef.round(1).to_dict()
    {'log(dist)': -1.0, 'rta': 0.5}
    >>> by_exporter = fit.with_vcov({"type": "cluster", "by": ["exporter"]})
    >>> by_exporter.se.index.tolist(), fit.vcov_spec.by
    (['log(dist)', 'rta'], ('exporter^importer',))
    """
    return _fit("ppml", formula, data, vcov, weights, offset, options)


def ols(
    formula: str,
    data: pd.DataFrame,
    *,
    vcov: VcovArg = None,
    weights: str | None = None,
    offset: str | None = None,
    **options: Any,
) -> FitResult:
    """Fit a log-linear OLS gravity model with high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        fixest-style formula; write ``log(value) ~ ...`` (rows with ``log(0)`` are dropped and
        counted).
    data : pandas.DataFrame
        Estimation data.
    vcov : str, mapping or VcovSpec, optional
        As for :func:`ppml`.
    weights, offset : str, optional
        Columns of observation weights and of an offset (subtracted from the outcome).
    **options
        Other keys of a config file's ``model:`` section (``solver``, ``aggregate_products``,
        ``name``).

    Returns
    -------
    FitResult

    Raises
    ------
    OptionsError
        An unknown or invalid option.
    EstimationError
        The model cannot be estimated on ``data``.

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=12, n_products=4, n_years=6))
    >>> flows = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    >>> fit = gv.ols("log(value) ~ log(dist) | exporter^year + importer^year", flows)
    >>> fit.to_frame()["term"].tolist()
    ['log(dist)']
    >>> gv.ols("log(value) ~ log(dist)", flows, vcov="clustr")
    Traceback (most recent call last):
    ...
    gravity.exceptions.OptionsError: ols.vcov.type: Input should be 'iid', 'hetero' or 'cluster' (got 'clustr')
    """  # noqa: E501
    return _fit("ols", formula, data, vcov, weights, offset, options)


def build_panel(
    trade: TradeSource | Options | None = None,
    *,
    synthetic: SyntheticSource | Options | None = None,
    sample: SampleOptions | Options | None = None,
    options: PanelOptions | Options | None = None,
    base_dir: str | Path = ".",
) -> Panel:
    """Build the canonical panel from a trade file (or the synthetic world), every step counted.

    Parameters
    ----------
    trade : source or mapping, optional
        A trade source as in a config file's ``data.trade`` (``{"kind": "baci", "paths":
        [...]}``, ``{"kind": "generic", "path": ..., "columns": {...}}``, ...).
    synthetic : SyntheticSource or mapping, optional
        The synthetic demo world instead of a file (``folder`` caches it).
    sample : SampleOptions or mapping, optional
        Row filters (``years``, ``exporters``, ``exclude_domestic``, ...).
    options : PanelOptions or mapping, optional
        Domestic flows, covariates, derived variables, zeros and value metadata.
    base_dir : str or Path
        Folder that relative paths are resolved against.

    Returns
    -------
    Panel
        Frozen: ``frame`` (also ``to_frame()``), ``steps``, ``zeros``, ``universe``, ``dense()``.

    Raises
    ------
    ConfigError
        Not exactly one of ``trade`` and ``synthetic``, or an invalid option.
    DataError
        Bad input (the message names the file, row or column).

    Examples
    --------
    >>> import tempfile
    >>> import gravity as gv
    >>> cache = tempfile.mkdtemp()
    >>> panel = gv.build_panel(
    ...     synthetic={"folder": cache, "n_countries": 8, "n_products": 5, "n_years": 4,
    ...                "level": "product"},
    ...     sample={"exclude_domestic": True})
    >>> sorted(panel.frame.columns[:5])
    ['exporter', 'importer', 'product', 'value', 'year']
    >>> [step.name for step in panel.steps]
    ['synthetic world (product)', 'sample']
    """
    if (trade is None) == (synthetic is None):
        raise ConfigError("build_panel: give exactly one of 'trade' (a file) or 'synthetic'")
    source = parse_source(trade) if isinstance(trade, Mapping) else trade
    if source is not None and not isinstance(source, TradeSource):
        raise ConfigError(
            f"build_panel: trade source kind {source.kind!r} is not a trade table; use "
            "baci, comtrade or generic (covariate sources go in options.covariates)"
        )
    world = None
    if synthetic is not None:
        world = validate_options(SyntheticSource, synthetic, "synthetic")
    return _build_panel(
        source,
        world,
        validate_options(SampleOptions, sample, "sample"),
        Path(base_dir),
        validate_options(PanelOptions, options, "options"),
    )


def relatedness(
    data: pd.DataFrame,
    options: RelatednessOptions | Options | None = None,
    *,
    population: pd.DataFrame | None = None,
) -> RelatednessResult:
    """Product relatedness and complexity (RCA, proximity, density, ECI/PCI, COG) per year.

    Parameters
    ----------
    data : pandas.DataFrame
        A bilateral product panel (``exporter, importer, product, year, value``; summed over
        importers) or a ``country, product, year, value`` table.
    options : RelatednessOptions or mapping, optional
        Conventions and sample filters (a config file's ``relatedness:`` section).
    population : pandas.DataFrame, optional
        ``country, year, population`` (for ``presence="rpop"`` and ``min_population``); by
        default ``options.population_file`` is read when set.

    Returns
    -------
    RelatednessResult
        One result per year; ``country_product_frame()``, ``country_frame()``, ``steps``.

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=12, n_products=15, n_years=3))
    >>> result = gv.relatedness(world.trade, {"years": [2002]})
    >>> sorted(result.country_frame().columns)[:3]
    ['coi', 'country', 'diversity']
    """
    opts = validate_options(RelatednessOptions, options, "options")
    return Relatedness(data, opts, population_for(opts, population)).fit()


def _features(
    panel: pd.DataFrame, relatedness: RelatednessOptions | Options | Literal[False] | None
) -> RelatednessFn | None:
    # as the CLI does: product panels get relatedness features unless they are turned off
    if relatedness is False or "product" not in panel.columns:
        return None
    from gravity.potential.features import relatedness_features

    return relatedness_features(validate_options(RelatednessOptions, relatedness, "relatedness"))


def potential(
    panel: pd.DataFrame,
    options: PotentialOptions | Options | None = None,
    *,
    relatedness: RelatednessOptions | Options | Literal[False] | None = None,
) -> pd.DataFrame:
    """Rank export opportunities: potential, actual and untapped trade per exporter, destination.

    Parameters
    ----------
    panel : pandas.DataFrame
        The canonical panel (``Panel.frame``).
    options : PotentialOptions or mapping, optional
        A config file's ``potential:`` section (``horizon``, ``window``, ``year``, ...).
    relatedness : RelatednessOptions, mapping or False, optional
        Options of the relatedness features of product panels (defaults when ``None``);
        ``False`` leaves them out.

    Returns
    -------
    pandas.DataFrame
        The table written to ``opportunities.parquet`` (contract columns first).

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=8, n_products=1, n_years=6))
    >>> flows = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    >>> table = gv.potential(flows, {"horizon": 2, "window": 3})
    >>> table.columns[:5].tolist()
    ['exporter', 'importer', 'year', 'actual', 'potential']
    """
    opts = validate_options(PotentialOptions, options, "options")
    from gravity.potential.pipeline import opportunities

    return opportunities(panel, opts, _features(panel, relatedness))


def backtest(
    panel: pd.DataFrame,
    potential: PotentialOptions | Options | None = None,
    options: BacktestOptions | Options | None = None,
    *,
    relatedness: RelatednessOptions | Options | Literal[False] | None = None,
) -> BacktestResult:
    """Evaluate the potential model out of time (train up to ``t``, score ``t + horizon``).

    Parameters
    ----------
    panel : pandas.DataFrame
        The canonical panel covering training and outcome years.
    potential : PotentialOptions or mapping, optional
        The potential model (its ``year`` and ``horizon`` are set per split).
    options : BacktestOptions or mapping, optional
        A config file's ``backtest:`` section (``horizon``, ``max_splits``, ...).
    relatedness : RelatednessOptions, mapping or False, optional
        As for :func:`potential`.

    Returns
    -------
    BacktestResult
        ``metrics`` (the ``metrics.csv`` table), ``splits`` and ``summary_markdown()``.

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=8, n_products=1, n_years=7))
    >>> flows = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    >>> result = gv.backtest(flows, {"window": 3}, {"horizon": 2, "max_splits": 1})
    >>> result.metrics.columns.tolist()[:4]
    ['target', 'model', 'metric', 'value']
    """
    pot = validate_options(PotentialOptions, potential, "potential")
    opts = validate_options(BacktestOptions, options, "options")
    from gravity.potential.backtest import run_backtest

    return run_backtest(panel, pot, opts, _features(panel, relatedness))


def forecast_backtest(
    panel: pd.DataFrame,
    options: ForecastOptions | Options | None = None,
    *,
    relatedness: RelatednessOptions | Options | Literal[False] | None = None,
) -> ForecastBacktest:
    """Backtest the hurdle forecast and the named baselines out of time.

    Parameters
    ----------
    panel : pandas.DataFrame
        The canonical panel covering training and outcome years.
    options : ForecastOptions or mapping, optional
        ``tasks``, ``origins``, ``horizons``, ``interval`` and the learner (as in a config's
        ``backtest:`` section).
    relatedness : RelatednessOptions, mapping or False, optional
        As for :func:`potential`.

    Returns
    -------
    ForecastBacktest
        ``predictions`` (``predictions.parquet``), ``metrics`` (``metrics.csv``), ``notes`` and
        ``summary_markdown()``.

    Examples
    --------
    >>> import gravity as gv
    >>> from gravity.panel.synthetic import SyntheticWorldOptions, generate_world
    >>> world = generate_world(SyntheticWorldOptions(n_countries=8, n_products=1, n_years=7))
    >>> flows = world.aggregate_trade()
    >>> result = gv.forecast_backtest(flows, {"tasks": ["level"], "horizons": [1]})
    >>> sorted(result.predictions["model"].unique())[:3]
    ['forecast', 'gravity', 'itc']
    """
    opts = validate_options(ForecastOptions, options, "options")
    from gravity.potential.forecast.backtest import run_forecast_backtest

    return run_forecast_backtest(panel, opts, _features(panel, relatedness))


def report(
    output: str | Path,
    options: ReportOptions | Options | None = None,
    *,
    names: ReportNames | None = None,
) -> Report:
    """Assemble the policy report (tables, charts, figures, as data) from a run's output folder.

    Nothing is written: render the result with :func:`gravity.report.html.render_html` (text)
    or let ``gravity report`` write every format. Each input is optional; a section whose input
    is missing says so in :meth:`Report.note`.

    Parameters
    ----------
    output : str or Path
        A run's output folder (``panel/``, ``fit/``, ``potential/``, ... as ``gravity run``
        writes them).
    options : ReportOptions or mapping, optional
        A config file's ``report:`` section (``exporter``, ``partner``, ``year``, ...).
    names : ReportNames, optional
        Country and product names.

    Returns
    -------
    Report

    Raises
    ------
    DataError
        ``output`` is not a folder, an input exists but cannot be read, or the exporter, partner
        or year is not in the data.

    Examples
    --------
    >>> import tempfile
    >>> import gravity as gv
    >>> empty = tempfile.mkdtemp()
    >>> report = gv.report(empty)
    >>> report.exporter is None, report.note("opportunities")[0][:40]
    (True, 'No opportunity table: potential/opportun')
    """
    opts = validate_options(ReportOptions, options, "options")
    return build_report(load_inputs(Path(output)), opts, names)


def counterfactual(
    data: pd.DataFrame, options: CounterfactualOptions | Options
) -> CounterfactualResult:
    """General-equilibrium counterfactual of structural gravity (Yotov et al. 2016, ch. 2).

    Parameters
    ----------
    data : pandas.DataFrame
        Flows with domestic flows included (``exporter``, ``importer``, ``year``, ``value`` and
        the cost regressors); the baseline year must be a full square table.
    options : CounterfactualOptions or mapping
        The ``counterfactual:`` section of a config file: ``baseline_year``, ``sigma``,
        ``reference``, ``costs``, ``scenarios``, ``method``, ``tolerance``.

    Returns
    -------
    CounterfactualResult
        Frozen: ``countries_frame()`` (levels and ``*_change_pct`` per scenario and country),
        ``pairs_frame()``, ``costs``.

    Raises
    ------
    OptionsError
        An unknown or invalid option (e.g. ``sigma`` not above 1).
    DataError
        A baseline year, reference country, scenario country or regressor not in the data.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import gravity as gv
    >>> names = ["A", "B", "C"]
    >>> dist = np.array([[1, 2, 4], [2, 1, 3], [4, 3, 1.0]])
    >>> rta = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0.0]])
    >>> flows = pd.DataFrame({
    ...     "exporter": np.repeat(names, 3), "importer": np.tile(names, 3), "year": 2020,
    ...     "value": np.exp(2 - np.log(dist) + 0.5 * rta).ravel(),
    ...     "dist": dist.ravel(), "rta": rta.ravel()})
    >>> res = gv.counterfactual(flows, {
    ...     "baseline_year": 2020, "sigma": 5, "reference": "C",
    ...     "costs": {"regressors": ["log(dist)", "rta"]},
    ...     "scenarios": [{"name": "no_rta", "set": {"rta": 0}, "groups": [["A", "B"]]}]})
    >>> res.costs.coefficients.round(6).to_dict()
    {'log(dist)': -1.0, 'rta': 0.5}
    >>> res.countries_frame().set_index("country")["real_gdp_change_pct"].round(2).to_dict()
    {'A': -4.5, 'B': -4.38, 'C': 0.92}
    """
    return solve_counterfactual(
        data, validate_options(CounterfactualOptions, options, "counterfactual")
    )
