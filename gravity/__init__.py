"""gravity: export potential from PPML gravity, product relatedness and ranked opportunities."""

from gravity.exceptions import (
    CollinearityWarning,
    ConfigError,
    ConvergenceWarning,
    DataError,
    EstimationError,
    GravityError,
    GravityWarning,
    SeparationWarning,
)

__version__ = "0.1.0"

__all__ = [
    "CollinearityWarning",
    "ConfigError",
    "ConvergenceWarning",
    "DataError",
    "EstimationError",
    "GravityError",
    "GravityWarning",
    "SeparationWarning",
    "__version__",
]
