"""What a batch job is: a spec applied to a slice of the panel, and the registry of job kinds.

A job kind is a plain function ``(panel_slice, job) -> JobOutput``. ``"fit"`` (one gravity fit,
:func:`run_fit`) is registered here; later stages plug in their own kinds (e.g. export-potential
scoring) with :func:`register_job_kind`, and the batch runner, the store and the resume logic work
unchanged for them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gravity.estimation.spec import ModelSpec, fit
from gravity.exceptions import ConfigError, DataError

__all__ = [
    "Job",
    "JobFunction",
    "JobOutput",
    "JobSlice",
    "job_function",
    "job_key",
    "register_job_kind",
    "registered_job_kinds",
    "run_fit",
]

KEY_LENGTH = 16
"""Hex characters of a job key (64 bits of sha256: no collision among millions of jobs)."""


@dataclass(frozen=True)
class JobSlice:
    """The rows of the panel a job uses: products, exporters and years (``None``: all of them).

    Attributes
    ----------
    products, exporters : tuple of str, optional
        Codes kept (``None`` keeps every one).
    years : tuple of (int, int), optional
        First and last year kept, inclusive.
    product_label, exporter_label : str
        Short names of the product and exporter slices (``"pooled"``, a code, a group label).
    """

    products: tuple[str, ...] | None = None
    exporters: tuple[str, ...] | None = None
    years: tuple[int, int] | None = None
    product_label: str = "pooled"
    exporter_label: str = "pooled"

    def identity(self) -> dict[str, Any]:
        """Return what defines the slice (labels excluded), as JSON-serialisable values."""
        return {
            "products": None if self.products is None else sorted(self.products),
            "exporters": None if self.exporters is None else sorted(self.exporters),
            "years": None if self.years is None else list(self.years),
        }

    def describe(self) -> str:
        """``products XVI, exporters pooled, years 2000-2009``."""
        years = "all" if self.years is None else f"{self.years[0]}-{self.years[1]}"
        return f"products {self.product_label}, exporters {self.exporter_label}, years {years}"


@dataclass(frozen=True)
class Job:
    """One unit of work: job kind, named spec and panel slice, with its stable key."""

    key: str
    kind: str
    spec_name: str
    spec: ModelSpec
    slice: JobSlice
    position: int
    """Place of the job in the grid (orders the combined results)."""

    @property
    def label(self) -> str:
        """Human-readable description: kind, spec and slice."""
        return f"{self.kind} {self.spec_name}: {self.slice.describe()}"


@dataclass(frozen=True)
class JobOutput:
    """What a job kind returns.

    Attributes
    ----------
    table : pandas.DataFrame
        Rows for the combined ``results.parquet`` (the batch adds the job columns in front).
    details : dict
        JSON-serialisable record written to ``jobs/KEY/job.json`` (e.g. the fit summary).
    nobs : int, optional
        Observations used, shown in the job index.
    converged : bool, optional
        Whether the estimator converged, shown in the job index.
    """

    table: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)
    nobs: int | None = None
    converged: bool | None = None


JobFunction = Callable[[pd.DataFrame, Job], JobOutput]
"""A job kind: ``(panel slice, job) -> JobOutput``; raise a :class:`GravityError` on bad input."""

_REGISTRY: dict[str, JobFunction] = {}


def register_job_kind(name: str, func: JobFunction, *, replace: bool = False) -> JobFunction:
    """Make ``func`` available as job kind ``name`` (``batch.job: name`` in a config).

    The function must be importable by name (defined at module level) so that worker processes
    can unpickle it; it receives the panel slice and the :class:`Job`.

    Parameters
    ----------
    name : str
        Kind name.
    func : callable
        ``(pandas.DataFrame, Job) -> JobOutput``.
    replace : bool
        Allow replacing a kind registered under the same name.

    Returns
    -------
    callable
        ``func``, unchanged.

    Raises
    ------
    ConfigError
        If ``name`` is taken by another function and ``replace`` is false.
    """
    current = _REGISTRY.get(name)
    if current is not None and current is not func and not replace:
        raise ConfigError(f"job kind {name!r} is already registered; pass replace=True to override")
    _REGISTRY[name] = func
    return func


def registered_job_kinds() -> list[str]:
    """Names of the registered job kinds, sorted."""
    return sorted(_REGISTRY)


def job_function(name: str) -> JobFunction:
    """Return the function of job kind ``name``.

    Raises
    ------
    ConfigError
        For an unknown kind; the message lists the registered ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown job kind {name!r}; use one of {registered_job_kinds()}"
        ) from None


def job_key(kind: str, spec: ModelSpec, slice_: JobSlice) -> str:
    """Stable key of a job: a hash of the kind, the spec (its name and defaults aside), the slice.

    Renaming a spec or upgrading gravity with a new option that keeps its default does not change
    the key, so ``--resume`` keeps finished work; any change to what is estimated does.
    """
    payload = {
        "kind": kind,
        "spec": spec.model_dump(mode="json", exclude={"name"}, exclude_defaults=True),
        "slice": slice_.identity(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


RESULT_COLUMNS = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "nobs",
    "converged",
    "iterations",
)
"""Columns of the rows a ``fit`` job adds to ``results.parquet``."""


def run_fit(panel: pd.DataFrame, job: Job) -> JobOutput:
    """Job kind ``fit``: estimate ``job.spec`` on the slice; one row per coefficient.

    Raises
    ------
    DataError
        If the slice has no rows.
    EstimationError
        From the estimator (negative outcome, nothing left after separation, ...).
    """
    if len(panel) == 0:
        raise DataError(f"the slice ({job.slice.describe()}) has no rows in the panel")
    result = fit(job.spec, panel)
    coefficients = result.to_frame()
    table = pd.DataFrame(
        {
            "term": coefficients["term"].astype(str),
            "estimate": coefficients["estimate"],
            "std_error": coefficients["std_error"],
            "statistic": coefficients["statistic"],
            "p_value": coefficients["p_value"],
            "nobs": result.nobs,
            "converged": result.converged,
            "iterations": result.iterations,
        },
        columns=list(RESULT_COLUMNS),
    )
    return JobOutput(
        table=table,
        details=result.summary_dict(),
        nobs=result.nobs,
        converged=result.converged,
    )


register_job_kind("fit", run_fit)
