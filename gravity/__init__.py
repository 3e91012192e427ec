"""gravity: export potential from PPML gravity, product relatedness and ranked opportunities.

The public API, one function per stage (see :mod:`gravity.api`)::

    import gravity as gv
    fit = gv.ppml("value ~ log(dist) + rta | exporter^year + importer^year", data)
"""

from gravity._version import __version__
from gravity.api import (
    backtest,
    build_panel,
    counterfactual,
    ols,
    potential,
    ppml,
    relatedness,
    report,
)
from gravity.exceptions import (
    CollinearityWarning,
    ConfigError,
    ConvergenceWarning,
    DataError,
    EstimationError,
    GravityError,
    GravityWarning,
    OptionsError,
    SeparationWarning,
)

__all__ = [
    "CollinearityWarning",
    "ConfigError",
    "ConvergenceWarning",
    "DataError",
    "EstimationError",
    "GravityError",
    "GravityWarning",
    "OptionsError",
    "SeparationWarning",
    "__version__",
    "backtest",
    "build_panel",
    "counterfactual",
    "ols",
    "potential",
    "ppml",
    "relatedness",
    "report",
]
