"""Out-of-time forecasts of trade: backtest tasks, named baselines and the hurdle forecast.

Modules: :mod:`~gravity.forecast.options` (the ``backtest:`` task options),
:mod:`~gravity.forecast.cube` (the panel as year x cell arrays), :mod:`~gravity.forecast.features`
(features known at the origin), :mod:`~gravity.forecast.baselines` (named naive rules),
:mod:`~gravity.forecast.learner` (the hurdle model and split-conformal intervals),
:mod:`~gravity.forecast.metrics` and :mod:`~gravity.forecast.backtest` (the harness).
"""
