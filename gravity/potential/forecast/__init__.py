"""Out-of-time forecasts of trade: backtest tasks, named baselines and the hurdle forecast.

Modules: ``options`` (the ``backtest:`` task options), ``cube`` (the panel as year x cell
arrays), ``features`` (features known at the origin), ``baselines`` (named naive rules),
``learner`` (the hurdle model and split-conformal intervals), ``harness`` (one task's candidates,
examples and out-of-time models), ``metrics``, ``report`` (verdicts), ``backtest`` (the
backtest) and ``potential`` (the forecast as export potential).
"""
