"""Expand the batch grid into jobs with stable keys: products x exporters x windows x specs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity.batch.jobs import Job, JobSlice, job_key
from gravity.batch.options import BatchOptions, GridOptions, ProductGroups, WindowOptions
from gravity.exceptions import ConfigError, DataError
from gravity.panel.products import HS_SECTIONS, product_level_codes

__all__ = [
    "PanelAxes",
    "expand_grid",
    "exporter_slices",
    "panel_fingerprint",
    "product_slices",
    "year_windows",
]

_SECTION_ORDER = {label: i for i, (label, *_) in enumerate(HS_SECTIONS)}

Slices = list[tuple[str, tuple[str, ...] | None]]
"""``(label, codes)`` per slice of one axis; ``codes=None`` keeps every value."""


@dataclass(frozen=True)
class PanelAxes:
    """Distinct products, exporters and years of the panel (``None``: no such column)."""

    products: tuple[str, ...] | None
    exporters: tuple[str, ...] | None
    years: tuple[int, ...] | None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> PanelAxes:
        """Read the axes from a panel frame."""

        def distinct(column: str) -> tuple[str, ...] | None:
            if column not in frame.columns:
                return None
            return tuple(sorted(frame[column].dropna().astype(str).unique().tolist()))

        years = None
        if "year" in frame.columns:
            years = tuple(int(y) for y in np.unique(frame["year"].dropna().to_numpy()))
        return cls(distinct("product"), distinct("exporter"), years)

    @classmethod
    def from_parquet(cls, path: Path) -> PanelAxes:
        """Read the axes from the panel's Parquet file (only the three key columns).

        Raises
        ------
        DataError
            If the file cannot be read as Parquet, or keeps its zero flows implicit (a batch
            slices the rows as they are, so zeros must be in the file).
        """
        try:
            schema = pq.read_schema(path)
            columns = [c for c in ("product", "exporter", "year") if c in set(schema.names)]
            frame = pq.read_table(path, columns=columns).to_pandas()
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read the panel {str(path)!r} as Parquet: {exc}") from None
        if _zeros_mode(schema) == "implicit":
            raise DataError(
                f"the panel {str(path)!r} keeps its zero flows implicit, so PPML jobs on its "
                "slices would miss them; build it with zeros filled (data.zeros: fill)"
            )
        return cls.from_frame(frame)


def _zeros_mode(schema: pa.Schema) -> str | None:
    """``zeros.mode`` of the gravity panel metadata in the file, if any."""
    raw = (schema.metadata or {}).get(b"gravity")
    try:
        zeros = json.loads(raw).get("zeros", {}) if raw else {}
    except (ValueError, AttributeError):
        return None
    return zeros.get("mode") if isinstance(zeros, dict) else None


def panel_fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of the panel's data: the Parquet column chunks and the column names and types.

    The footer's key-value metadata (pandas index, build steps with their timings) is left out,
    so rebuilding the same panel keeps the fingerprint and ``--resume`` accepts it; any change
    to the rows changes it.

    Raises
    ------
    DataError
        If the file is not Parquet.
    """
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(max(size - 8, 0))
        tail = handle.read(8)
        footer = int.from_bytes(tail[:4], "little")
        if len(tail) < 8 or tail[4:] != b"PAR1" or footer + 12 > size:
            raise DataError(f"the panel {str(path)!r} is not a Parquet file")
        remaining = size - 8 - footer
        handle.seek(0)
        while remaining > 0:
            block = handle.read(min(chunk, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    digest.update(str(pq.read_schema(path).remove_metadata()).encode("utf-8"))
    return digest.hexdigest()


def _require(values: tuple[str, ...] | None, column: str, setting: str) -> tuple[str, ...]:
    if values is None:
        raise ConfigError(
            f"batch.grid.{setting} needs a {column!r} column, which the panel lacks; "
            f"use '{setting}: pooled'"
        )
    return values


def _check_listed(listed: list[str], present: tuple[str, ...], setting: str) -> None:
    missing = [code for code in listed if code not in set(present)]
    if missing:
        example = ", ".join(present[:5])
        raise ConfigError(
            f"batch.grid.{setting}: code(s) {missing[:10]} are not in the panel "
            f"({len(present)} values, e.g. {example}); fix the list"
        )


def product_slices(option: GridOptions, axes: PanelAxes) -> Slices:
    """List the product slices of the grid: pooled, one per product, or one per group."""
    setting = option.products
    if setting == "pooled":
        return [("pooled", None)]
    present = _require(axes.products, "product", "products")
    if setting == "all":
        return [(code, (code,)) for code in present]
    if isinstance(setting, list):
        _check_listed(setting, present, "products")
        return [(code, (code,)) for code in setting]
    return _groups(setting, present)


def _groups(setting: ProductGroups, present: tuple[str, ...]) -> Slices:
    if setting.groups is not None:
        available = set(present)
        out: Slices = []
        for name, codes in setting.groups.items():
            kept = tuple(c for c in codes if c in available)
            if not kept:
                raise ConfigError(
                    f"batch.grid.products.groups.{name}: none of its codes {codes[:5]} is in the "
                    "panel; fix the codes or drop the group"
                )
            out.append((name, kept))
    elif setting.by is not None:
        labels = product_level_codes(
            pd.Series(present, dtype="str"), setting.by, source="batch.grid.products"
        )
        members: dict[str, list[str]] = {}
        for code, label in zip(present, labels.tolist(), strict=True):
            members.setdefault(str(label), []).append(code)
        order = _SECTION_ORDER if setting.by == "section" else {}
        names = sorted(members, key=lambda lab: (order.get(lab, 0), lab))
        out = [(name, tuple(members[name])) for name in names]
    else:  # pragma: no cover - ProductGroups requires 'by' or 'groups'
        raise ConfigError("batch.grid.products: give 'by' or 'groups'")
    if setting.only is not None:
        known = [label for label, _ in out]
        unknown = [label for label in setting.only if label not in known]
        if unknown:
            raise ConfigError(
                f"batch.grid.products.only: group(s) {unknown} are not in the panel "
                f"(groups found: {known[:25]}); fix the list"
            )
        out = [(label, codes) for label, codes in out if label in set(setting.only)]
    return out


def exporter_slices(option: GridOptions, axes: PanelAxes) -> Slices:
    """List the exporter slices of the grid: pooled, or one per exporter."""
    setting = option.exporters
    if setting == "pooled":
        return [("pooled", None)]
    present = _require(axes.exporters, "exporter", "exporters")
    if setting == "all":
        return [(code, (code,)) for code in present]
    _check_listed(setting, present, "exporters")
    return [(code, (code,)) for code in setting]


def year_windows(windows: WindowOptions | None, axes: PanelAxes) -> list[tuple[int, int] | None]:
    """List rolling windows ``(first, last)`` over the panel's years (``[None]``: all years).

    Raises
    ------
    ConfigError
        If no window of the requested size fits in the panel's years.
    """
    if windows is None:
        return [None]
    if axes.years is None:
        raise ConfigError(
            "batch.grid.windows needs a 'year' column, which the panel lacks; remove 'windows'"
        )
    first = windows.first_year if windows.first_year is not None else axes.years[0]
    last = windows.last_year if windows.last_year is not None else axes.years[-1]
    out: list[tuple[int, int] | None] = [
        (start, start + windows.size - 1)
        for start in range(first, last - windows.size + 2, windows.step)
    ]
    if not out:
        raise ConfigError(
            f"batch.grid.windows: no window of {windows.size} years fits in {first}-{last}; "
            "lower 'size' or widen the years"
        )
    return out


def expand_grid(options: BatchOptions, axes: PanelAxes) -> list[Job]:
    """All jobs of the grid, in a fixed order: products, exporters, windows, then specs.

    Parameters
    ----------
    options : BatchOptions
        The batch section (grid and job kind).
    axes : PanelAxes
        The panel's products, exporters and years.

    Returns
    -------
    list of Job
        ``position`` numbers the jobs in grid order; keys are unique.

    Raises
    ------
    ConfigError
        If an axis needs a column the panel lacks, lists codes it lacks, or two jobs coincide.
    """
    grid = options.grid
    names = grid.spec_names()
    jobs: list[Job] = []
    seen: dict[str, Job] = {}
    for product_label, products in product_slices(grid, axes):
        for exporter_label, exporters in exporter_slices(grid, axes):
            for years in year_windows(grid.windows, axes):
                slice_ = JobSlice(products, exporters, years, product_label, exporter_label)
                for name, spec in zip(names, grid.specs, strict=True):
                    key = job_key(options.job, spec, slice_)
                    job = Job(key, options.job, name, spec, slice_, len(jobs))
                    if key in seen:
                        raise ConfigError(
                            f"batch.grid: jobs '{seen[key].label}' and '{job.label}' are the "
                            "same fit; remove the duplicate group or spec"
                        )
                    seen[key] = job
                    jobs.append(job)
    return jobs
