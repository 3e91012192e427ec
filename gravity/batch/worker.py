"""What runs inside a worker: read the panel once per process, slice it, run one job.

Workers receive a :class:`PanelRef` (path, size, modification time), never the panel itself;
the first job a process runs reads the Parquet file and keeps it with lazily built row indices,
so each later job only gathers its own rows. This module imports no scheduler, so joblib (loky)
and Dask workers load only the panel, the job kind and the estimator.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gravity.batch.jobs import Job, JobFunction, JobOutput, JobSlice
from gravity.batch.layout import encode_job_files

__all__ = ["JobOutcome", "PanelRef", "PanelView", "execute_job", "one_line_error", "panel_view"]

MAX_ERROR_CHARS = 500
"""Longest error message kept in the job index (one line)."""


@dataclass(frozen=True)
class PanelRef:
    """Where the shared panel lives, with what identifies its version (size, modification time)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> PanelRef:
        """Refer to the Parquet file at ``path`` as it is now."""
        stat = path.stat()
        return cls(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class JobOutcome:
    """What a worker sends back for one job: its record and encoded files, or a one-line error."""

    key: str
    error: str | None
    started: float
    """Unix time at which the job started."""
    seconds: float
    """Wall time of the job in the worker (slicing and the job function)."""
    load_seconds: float
    """Time spent reading the panel (non-zero only for a process's first job)."""
    worker: str
    """``host:pid`` of the process that ran it."""
    warnings: tuple[str, ...] = ()
    nobs: int | None = None
    converged: bool | None = None
    files: tuple[tuple[str, bytes], ...] = ()
    """``(name, content)`` of the job folder's files (none for a failed job)."""

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The job's row of the index (also kept in ``job.json``)."""
        return {
            "status": "done" if self.ok else "failed",
            "started_utc": datetime.fromtimestamp(self.started, UTC).isoformat(
                timespec="milliseconds"
            ),
            "seconds": round(self.seconds, 6),
            "load_seconds": round(self.load_seconds, 6),
            "worker": self.worker,
            "nobs": self.nobs,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "error": self.error,
        }


class PanelView:
    """The panel of one worker process, with row indices per product and exporter code."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._positions: dict[str, dict[str, np.ndarray]] = {}
        self._years: np.ndarray | None = None
        self._lock = threading.Lock()

    def _rows(self, column: str, codes: tuple[str, ...]) -> np.ndarray:
        with self._lock:
            if column not in self._positions:
                labels = self.frame[column].astype(str).to_numpy()
                self._positions[column] = dict(pd.Series(labels).groupby(labels).indices)
            positions = self._positions[column]
        parts = [positions[c] for c in codes if c in positions]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(parts))

    def _year_values(self) -> np.ndarray:
        with self._lock:
            if self._years is None:
                self._years = self.frame["year"].to_numpy()
            return self._years

    def take(self, slice_: JobSlice) -> pd.DataFrame:
        """Rows of the slice, in panel order (the panel itself when the slice keeps every row).

        Job functions must not modify the frame they receive: pooled slices share it.
        """
        rows: np.ndarray | None = None
        if slice_.products is not None:
            rows = self._rows("product", slice_.products)
        if slice_.exporters is not None:
            exporters = self._rows("exporter", slice_.exporters)
            if rows is None:
                rows = exporters
            else:
                rows = np.intersect1d(rows, exporters, assume_unique=True)
        if slice_.years is not None:
            first, last = slice_.years
            years = self._year_values()
            if rows is None:
                rows = np.flatnonzero((years >= first) & (years <= last))
            else:
                picked = years[rows]
                rows = rows[(picked >= first) & (picked <= last)]
        if rows is None:
            return self.frame
        return self.frame.take(rows).reset_index(drop=True)


_CACHE: dict[PanelRef, PanelView] = {}
_CACHE_LOCK = threading.Lock()


def panel_view(ref: PanelRef) -> tuple[PanelView, float]:
    """Return this process's view of the panel (read on first use) and the seconds spent reading.

    Only the latest panel is kept, so a long-lived worker (a Dask cluster serving several
    batches) does not accumulate panels.
    """
    with _CACHE_LOCK:
        view = _CACHE.get(ref)
        if view is not None:
            return view, 0.0
        start = time.perf_counter()
        frame = pd.read_parquet(ref.path)
        view = PanelView(frame)
        _CACHE.clear()
        _CACHE[ref] = view
        return view, time.perf_counter() - start


def one_line_error(exc: BaseException) -> str:
    """``ErrorType: message`` on one line, shortened to :data:`MAX_ERROR_CHARS`."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def execute_job(func: JobFunction, panel: PanelRef, job: Job) -> JobOutcome:
    """Run one job where this function is called; never raises for a failing job.

    Warnings are recorded (not shown, not escalated), so a job behaves the same in the main
    process and in a worker whatever the warning filters there.
    """
    started = time.time()
    clock = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    load_seconds = 0.0
    caught: list[warnings.WarningMessage] = []
    output: JobOutput | None = None
    error: str | None = None
    try:
        view, load_seconds = panel_view(panel)
        data = view.take(job.slice)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            output = func(data, job)
        if not isinstance(output, JobOutput):
            kind = type(output).__name__
            raise TypeError(f"job kind {job.kind!r} returned {kind}, not JobOutput")
    except Exception as exc:  # a failing job is recorded, the batch goes on
        output, error = None, one_line_error(exc)
    messages = tuple(
        dict.fromkeys(" ".join(f"{w.category.__name__}: {w.message}".split()) for w in caught)
    )
    outcome = JobOutcome(
        key=job.key,
        error=error,
        started=started,
        seconds=time.perf_counter() - clock - load_seconds,
        load_seconds=load_seconds,
        worker=worker,
        warnings=messages,
        nobs=None if output is None else output.nobs,
        converged=None if output is None else output.converged,
    )
    if output is None:
        return outcome
    try:
        files = encode_job_files(job, output, outcome.record())
    except Exception as exc:  # e.g. details that JSON cannot hold: the job failed
        return replace(outcome, error=one_line_error(exc), nobs=None, converged=None)
    return replace(outcome, files=files)
