"""One exception hierarchy for the whole package.

Every error a user can trigger derives from :class:`GravityError`; the CLI turns these into one
line (what failed, where, how to fix it) and a non-zero exit code. Every warning derives from
:class:`GravityWarning` so that users (and our test suite) can filter or escalate them at once.
"""

from __future__ import annotations


class GravityError(Exception):
    """Root of every error raised by gravity on bad input or an impossible request."""


class ConfigError(GravityError):
    """A configuration file or option is invalid (unknown key, wrong type, missing value)."""


class OptionsError(ConfigError, ValueError):
    """An option given from Python is invalid (``Ppml(..., vcov="clustr")``); names the key.

    Also a :class:`ValueError`, so an options object built inside another one's validator is
    reported by pydantic as a validation error of the outer object.
    """


class BatchLockedError(GravityError):
    """Another batch process is using the same output folder (its lock is held)."""


class DataError(GravityError):
    """An input file or table is malformed: missing column, bad value, duplicate row, ..."""


class EstimationError(GravityError):
    """An estimator cannot proceed (empty sample, no variation, unknown level in predict, ...)."""


class GravityWarning(UserWarning):
    """Root of every warning emitted by gravity."""


class ConvergenceWarning(GravityWarning):
    """An iterative algorithm stopped before its tolerance; the message gives a diagnosis."""


class SeparationWarning(GravityWarning):
    """Observations were dropped because the Poisson MLE does not exist for them (separation)."""


class CollinearityWarning(GravityWarning):
    """Regressors were dropped because they are collinear with others or with the fixed effects."""


class DataWarning(GravityWarning):
    """Input data were usable but something deserves attention (e.g. unmatched country codes)."""
