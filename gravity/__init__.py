"""gravity: export potential from PPML gravity, product relatedness and ranked opportunities.

The public API, one function per stage (see :mod:`gravity.api`)::

    import gravity as gv
    fit = gv.ppml("value ~ log(dist) + rta | exporter^year + importer^year", data)
"""

import sys
import types
from typing import TYPE_CHECKING, Any

from gravity._version import __version__
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

if TYPE_CHECKING:
    from gravity.api import (
        backtest,
        build_panel,
        counterfactual,
        forecast_backtest,
        ols,
        potential,
        ppml,
        relatedness,
        report,
    )

_API = frozenset(
    {
        "backtest",
        "build_panel",
        "counterfactual",
        "forecast_backtest",
        "ols",
        "potential",
        "ppml",
        "relatedness",
        "report",
    }
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
    "forecast_backtest",
    "ols",
    "potential",
    "ppml",
    "relatedness",
    "report",
]


class _Package(types.ModuleType):
    """``gravity`` itself: the API functions load on first use, and win over sub-packages.

    The API imports every stage (numba kernels included), so it is loaded when a function is
    first read, keeping ``import gravity.exceptions`` (batch workers, ``gravity --help``)
    instant. Four functions share their names with sub-packages (``report``, ``relatedness``,
    ``potential``, ``counterfactual``): importing a sub-package binds it as an attribute of this
    module, so reads of those names are answered here, always with the function.
    """

    def __getattribute__(self, name: str) -> Any:
        if name in _API:
            from gravity import api

            return getattr(api, name)
        return super().__getattribute__(name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_API})


sys.modules[__name__].__class__ = _Package
