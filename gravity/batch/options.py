"""Options of a batch run: the grid of jobs and how to run them (the ``batch:`` config section).

Example (YAML)::

    batch:
      job: fit
      grid:
        products: {by: section}          # or: pooled (default), all, [list of codes]
        exporters: all                   # or: pooled (default), [list of codes]
        windows: {size: 10, step: 1}     # rolling 10-year windows; omit for all years at once
        specs:
          - name: two-way
            formula: "value ~ log(dist) + contig + rta | exporter^year + importer^year"
          - name: three-way
            formula: "value ~ rta | exporter^year + importer^year + exporter^importer"
      backend: joblib                    # serial | joblib | dask
      n_workers: 4
      # scheduler: tcp://10.0.0.5:8786   # dask only; without it a local Dask cluster is started
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gravity._base import StrictModel
from gravity.batch.jobs import registered_job_kinds
from gravity.estimation.spec import ModelSpec

Backend = Literal["serial", "joblib", "dask"]
"""Where jobs run: in this process, in local joblib (loky) processes, or on a Dask cluster."""


def _no_duplicates(values: list[str], what: str) -> list[str]:
    twice = sorted(v for v, n in Counter(values).items() if n > 1)
    if twice:
        raise ValueError(f"{what} listed more than once: {twice}; list each once")
    return values


class ProductGroups(StrictModel):
    """Products pooled into groups, one job per group.

    Give ``by`` (HS chapters ``hs2``, headings ``hs4`` or the 21 HS sections of the
    six-digit product codes in the panel) or explicit named ``groups``.
    """

    by: Literal["hs2", "hs4", "section"] | None = None
    groups: dict[str, list[str]] | None = None
    """Named groups of product codes, e.g. ``{machinery: ["8401", "8402"], textiles: [...]}``."""
    only: list[str] | None = None
    """Keep only these group labels (e.g. sections ``["XV", "XVI"]``); all groups by default."""

    @model_validator(mode="after")
    def _one_rule(self) -> ProductGroups:
        if (self.by is None) == (self.groups is None):
            raise ValueError("give exactly one of 'by' (hs2, hs4, section) or 'groups' (a mapping)")
        if self.groups is not None:
            empty = [name for name, codes in self.groups.items() if not codes]
            if empty:
                raise ValueError(f"product group(s) {empty} are empty; list at least one code")
        if self.only is not None:
            _no_duplicates(self.only, "group label(s) in 'only'")
        return self


class WindowOptions(StrictModel):
    """Rolling year windows: ``size`` consecutive calendar years, moved forward by ``step``."""

    size: int = Field(ge=1)
    """Years in each window (e.g. 10)."""
    step: int = Field(default=1, ge=1)
    """Years between the first years of two consecutive windows."""
    first_year: int | None = None
    """First year of the first window (the panel's first year by default)."""
    last_year: int | None = None
    """No window reaches past this year (the panel's last year by default)."""

    @model_validator(mode="after")
    def _ordered(self) -> WindowOptions:
        if self.first_year is not None and self.last_year is not None:
            if self.last_year - self.first_year + 1 < self.size:
                raise ValueError(
                    f"windows of {self.size} years do not fit in {self.first_year}-"
                    f"{self.last_year}; lower 'size' or widen 'first_year'/'last_year'"
                )
        return self


class GridOptions(StrictModel):
    """The grid: every combination of product slice, exporter slice, window and spec is a job."""

    specs: list[ModelSpec] = Field(min_length=1)
    """Model specifications; each needs a distinct ``name`` when there are several."""
    products: Literal["pooled", "all"] | list[str] | ProductGroups = "pooled"
    """``pooled``: one slice with every product; ``all``: one job per product in the panel;
    a list: one job per listed product; ``{by: section}`` etc.: one job per product group."""
    exporters: Literal["pooled", "all"] | list[str] = "pooled"
    """``pooled``: every exporter together; ``all``: one job per exporter; a list: one job per
    listed exporter."""
    windows: WindowOptions | None = None
    """Rolling year windows; without it every job uses all years of the panel."""

    @field_validator("products", "exporters", mode="before")
    @classmethod
    def _codes_are_text(cls, value: object) -> object:
        if isinstance(value, list):
            numbers = [v for v in value if not isinstance(v, str)]
            if numbers:
                raise ValueError(
                    f"codes must be quoted text, e.g. '0101' (YAML reads 0101 as a number); "
                    f"got {numbers[:3]}"
                )
        return value

    @field_validator("products", "exporters")
    @classmethod
    def _distinct(cls, value: object) -> object:
        if isinstance(value, list):
            if not value:
                raise ValueError("the list is empty; list codes, or use 'pooled' or 'all'")
            _no_duplicates([str(v) for v in value], "code(s)")
        return value

    @field_validator("specs")
    @classmethod
    def _named(cls, specs: list[ModelSpec]) -> list[ModelSpec]:
        if len(specs) > 1 and any(s.name is None for s in specs):
            missing = [i + 1 for i, s in enumerate(specs) if s.name is None]
            raise ValueError(f"spec(s) number {missing} have no 'name'; name every spec")
        _no_duplicates([s.name or "" for s in specs], "spec name(s)")
        contents = [s.model_dump_json(exclude={"name"}) for s in specs]
        if len(set(contents)) < len(contents):
            raise ValueError("two specs are identical apart from their names; drop one")
        return specs

    def spec_names(self) -> list[str]:
        """Name of every spec (``"model"`` for a single unnamed one)."""
        return [s.name or "model" for s in self.specs]


class BatchOptions(StrictModel):
    """A batch run: the grid of jobs, the job kind and the execution backend."""

    grid: GridOptions
    job: str = "fit"
    """Job kind run on every (panel slice, spec) pair; see
    :func:`gravity.batch.jobs.register_job_kind`."""
    backend: Backend = "joblib"
    n_workers: int = Field(default=2, ge=1)
    """Worker processes (joblib, or a local Dask cluster); ignored by ``serial`` and by a remote
    Dask scheduler, whose cluster has its own workers."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``); dask backend only. Its workers
    need gravity installed and the panel file at the same path (a shared filesystem); run them
    single-threaded (``dask worker --nthreads 1``) so that each job's warnings are recorded."""
    connect_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds to wait for the Dask scheduler or local cluster to answer."""
    resume: bool = False
    """Continue an earlier batch in the same output folder, skipping its finished jobs."""
    progress: bool = True
    """Show a progress bar with ETA on stderr."""

    @field_validator("job")
    @classmethod
    def _known_job(cls, value: str) -> str:
        kinds = registered_job_kinds()
        if value not in kinds:
            raise ValueError(f"unknown job kind {value!r}; use one of {kinds}")
        return value

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> BatchOptions:
        if self.scheduler is not None and self.backend != "dask":
            raise ValueError(
                f"'scheduler' is set but backend is {self.backend!r}; set 'backend: dask' "
                "or remove 'scheduler'"
            )
        return self
