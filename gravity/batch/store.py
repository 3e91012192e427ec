"""The batch folder ``OUTPUT/batch/``: lock, job index, per-job results and the combined table.

Layout::

    OUTPUT/batch/batch.lock          exclusive lock (fcntl) of the running batch process
    OUTPUT/batch/index.sqlite        job index (SQLite, WAL): status, timings, errors, warnings
    OUTPUT/batch/jobs/KEY/           one folder per finished job: job.json and result.parquet
    OUTPUT/batch/results.parquet     every finished job's rows, in grid order

Only the main batch process writes here; workers send back their outcomes with the job files
already encoded. A job folder is written under a temporary name and renamed into place
(``os.replace``), then the index is updated, so a process killed at any moment leaves either a
complete job folder or none; a folder without its index row (killed between the two steps) is
adopted on ``--resume``, and temporary names left by a killed process are removed. Files are
not fsync'ed (that would cost milliseconds per job); after a machine crash, ``--resume`` checks
every finished job's files and runs again the jobs whose files did not reach the disk whole.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._version import __version__
from gravity.batch.jobs import Job
from gravity.batch.layout import TEMP_PREFIX, job_files_complete, read_record
from gravity.batch.worker import JobOutcome
from gravity.exceptions import BatchLockedError, ConfigError
from gravity.layout import OutputLayout, temp_name

__all__ = [
    "JOB_COLUMNS",
    "BatchLockedError",
    "BatchStore",
    "JobIndex",
    "batch_lock",
    "read_index",
]

JOB_COLUMNS: Final = (
    "job_key",
    "job",
    "spec",
    "products",
    "exporters",
    "first_year",
    "last_year",
)
"""Columns the batch puts in front of every job's rows in ``results.parquet``."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    products TEXT NOT NULL,
    exporters TEXT NOT NULL,
    first_year INTEGER,
    last_year INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    started_utc TEXT,
    seconds REAL,
    load_seconds REAL,
    worker TEXT,
    nobs INTEGER,
    converged INTEGER,
    warnings TEXT,
    error TEXT
);
"""


_HELD: dict[str, tuple[int, int]] = {}
_HELD_LOCK = threading.Lock()


@contextmanager
def batch_lock(output: Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``OUTPUT/batch`` for the duration of the block.

    Re-entrant within a process (the CLI can hold it around the panel stage and the batch); a
    second process gets :class:`BatchLockedError` at once instead of waiting. The lock is an
    ``fcntl.flock`` on ``batch.lock``, released by the kernel if the process dies.

    Raises
    ------
    BatchLockedError
        If another process holds the lock; the message names its pid and host.
    """
    root = OutputLayout(Path(output)).batch_dir
    root.mkdir(parents=True, exist_ok=True)
    path = root / "batch.lock"
    name = str(path.resolve())
    with _HELD_LOCK:
        held = _HELD.get(name)
        if held is not None:
            _HELD[name] = (held[0], held[1] + 1)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
                os.close(fd)
                raise BatchLockedError(
                    f"another gravity batch ({owner}) is using {root}; wait for it to finish "
                    "or choose another output folder"
                ) from None
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.ftruncate(fd, 0)
            owner = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n"
            os.pwrite(fd, owner.encode(), 0)
            _HELD[name] = (fd, 1)
    try:
        yield path
    finally:
        with _HELD_LOCK:
            fd, count = _HELD[name]
            if count > 1:
                _HELD[name] = (fd, count - 1)
            else:
                del _HELD[name]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)


def _temp_name(final: Path) -> Path:
    return temp_name(final)


class JobIndex:
    """The job index: one row per job, written only by the batch process holding the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            _create_index(path)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database, leaving a single file (no write-ahead log) when no one reads it."""
        try:
            self._db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:  # a reader holds it open: SQLite keeps the log for it
            pass
        self._db.close()

    def meta(self) -> dict[str, str]:
        """Return the ``meta`` table: panel fingerprint, creation time, gravity version."""
        return dict(self._db.execute("SELECT name, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        """Insert or replace ``meta`` entries."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def count(self) -> int:
        """Count the jobs in the index."""
        return int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def sync(self, jobs: list[Job]) -> None:
        """Add the grid's new jobs as pending; refresh the labels and positions of known ones."""
        rows = [
            (
                job.key,
                job.position,
                job.kind,
                job.spec_name,
                job.slice.product_label,
                job.slice.exporter_label,
                None if job.slice.years is None else job.slice.years[0],
                None if job.slice.years is None else job.slice.years[1],
            )
            for job in jobs
        ]
        with self._db:
            self._db.executemany(
                "INSERT INTO jobs (key, position, kind, spec, products, exporters, first_year, "
                "last_year) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "position=excluded.position, spec=excluded.spec, products=excluded.products, "
                "exporters=excluded.exporters",
                rows,
            )

    def statuses(self) -> dict[str, str]:
        """Status of every job: ``pending``, ``done`` or ``failed``."""
        return dict(self._db.execute("SELECT key, status FROM jobs").fetchall())

    def record(self, key: str, record: dict[str, Any]) -> None:
        """Store a job's outcome (``status`` ``done`` or ``failed``) and count the attempt."""
        converged = record.get("converged")
        with self._db:
            self._db.execute(
                "UPDATE jobs SET status=?, attempts=attempts+1, started_utc=?, seconds=?, "
                "load_seconds=?, worker=?, nobs=?, converged=?, warnings=?, error=? WHERE key=?",
                (
                    record["status"],
                    record.get("started_utc"),
                    record.get("seconds"),
                    record.get("load_seconds"),
                    record.get("worker"),
                    record.get("nobs"),
                    None if converged is None else int(bool(converged)),
                    json.dumps(list(record.get("warnings", []))),
                    record.get("error"),
                    key,
                ),
            )

    def reset(self, key: str) -> None:
        """Mark a job pending again (its result folder is gone)."""
        with self._db:
            self._db.execute("UPDATE jobs SET status='pending' WHERE key=?", (key,))

    def frame(self) -> pd.DataFrame:
        """Return the whole index as a DataFrame, in grid order."""
        return pd.read_sql_query("SELECT * FROM jobs ORDER BY position", self._db)


def _create_index(path: Path) -> None:
    """Create the index with its schema in a temporary file, then rename it into place.

    A reader (``read_index``, a ``--resume`` after a kill) therefore sees either no index or one
    with its tables, never a file whose schema is not written yet.
    """
    temp = _temp_name(path)
    try:
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _empty_index() -> pd.DataFrame:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(_SCHEMA)
        return pd.read_sql_query("SELECT * FROM jobs", db)
    finally:
        db.close()


def read_index(output: Path) -> pd.DataFrame:
    """Read ``OUTPUT/batch/index.sqlite`` (read-only; safe while a batch is running).

    Raises
    ------
    ConfigError
        If the folder holds no batch index.
    """
    path = OutputLayout(Path(output)).batch_dir / "index.sqlite"
    if not path.is_file():
        raise ConfigError(f"no batch index at {path}; run 'gravity batch' with this output first")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "jobs" not in tables:
            # an index from a batch killed while creating it (before indexes were created
            # atomically): the batch was starting and had no jobs yet
            return _empty_index()
        return pd.read_sql_query("SELECT * FROM jobs ORDER BY position", db)
    finally:
        db.close()


class BatchStore:
    """Files of a batch under ``OUTPUT/batch``; use while holding :func:`batch_lock`."""

    def __init__(self, output: Path) -> None:
        self.root = OutputLayout(Path(output)).batch_dir
        self.jobs_dir = self.root / "jobs"
        self.index_path = self.root / "index.sqlite"
        self.results_path = self.root / "results.parquet"

    def open(self, panel_fingerprint: str, resume: bool) -> JobIndex:
        """Open (or create) the index, refusing to mix with an earlier batch unless resuming.

        Raises
        ------
        ConfigError
            If the folder holds an earlier batch and ``resume`` is false, or if resuming on a
            panel that differs from the one the batch started with.
        """
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        index = JobIndex(self.index_path)
        try:
            earlier = index.meta().get("panel_fingerprint")
            if earlier is not None and index.count() > 0:
                if not resume:
                    raise ConfigError(
                        f"{self.root} holds an earlier batch ({index.count()} jobs); rerun with "
                        "--resume to continue it, or delete that folder to start over"
                    )
                if earlier != panel_fingerprint:
                    raise ConfigError(
                        f"cannot resume {self.root}: the panel changed since the batch started "
                        f"(data fingerprint {earlier[:12]} then, {panel_fingerprint[:12]} now); "
                        "delete that folder to start over on the new panel"
                    )
            else:
                index.set_meta(
                    {
                        "panel_fingerprint": panel_fingerprint,
                        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                        "gravity_version": __version__,
                    }
                )
        except BaseException:
            index.close()
            raise
        return index

    def clean_temp_files(self) -> int:
        """Remove temporary files and folders left by a killed process; return how many."""
        removed = 0
        for folder in (self.root, self.jobs_dir):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.name.startswith(TEMP_PREFIX):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                    removed += 1
        return removed

    def job_folder(self, key: str) -> Path:
        """``OUTPUT/batch/jobs/KEY``."""
        return self.jobs_dir / key

    def reconcile(self, jobs: list[Job], index: JobIndex) -> int:
        """Align index and folders; return the number of jobs adopted from their folders.

        A complete job folder whose index row is not ``done`` (the process died between the
        rename and the index update) is adopted: the job finished, so it is not run again. A
        ``done`` row whose folder is missing or damaged is set back to pending.
        """
        statuses = index.statuses()
        adopted = 0
        for job in jobs:
            folder = self.job_folder(job.key)
            done = statuses.get(job.key) == "done"
            if not folder.exists():
                if done:
                    index.reset(job.key)
                continue
            record = read_record(folder) if job_files_complete(folder) else None
            if record is None:
                shutil.rmtree(folder)
                if done:
                    index.reset(job.key)
            elif not done:
                index.record(job.key, record)
                adopted += 1
        return adopted

    def save(self, job: Job, outcome: JobOutcome, index: JobIndex) -> None:
        """Write a finished job's folder atomically (if it succeeded), then its index row."""
        if outcome.files:
            final = self.job_folder(job.key)
            temp = _temp_name(final)
            temp.mkdir()
            try:
                for name, content in outcome.files:
                    _write(temp / name, content)
                if final.exists():  # a damaged folder of an earlier attempt
                    shutil.rmtree(final)
                os.replace(temp, final)
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
        index.record(job.key, outcome.record())

    def combine(self, jobs: list[Job], index: JobIndex) -> Path:
        """Write ``results.parquet``: the rows of every finished job of the grid, in grid order."""
        statuses = index.statuses()
        done = [job for job in jobs if statuses.get(job.key) == "done"]
        tables = [pq.read_table(self.job_folder(job.key) / "result.parquet") for job in done]
        counts = [table.num_rows for table in tables]
        front = pd.DataFrame(
            {
                "job_key": [job.key for job in done],
                "job": [job.kind for job in done],
                "spec": [job.spec_name for job in done],
                "products": [job.slice.product_label for job in done],
                "exporters": [job.slice.exporter_label for job in done],
                "first_year": pd.array(
                    [None if j.slice.years is None else j.slice.years[0] for j in done],
                    dtype="Int64",
                ),
                "last_year": pd.array(
                    [None if j.slice.years is None else j.slice.years[1] for j in done],
                    dtype="Int64",
                ),
            },
            columns=list(JOB_COLUMNS),
        )
        front = front.loc[front.index.repeat(counts)].reset_index(drop=True)
        if tables:
            rows = pa.concat_tables(tables, promote_options="permissive").to_pandas()
            combined = pd.concat([front, rows], axis=1)
        else:
            combined = front
        temp = _temp_name(self.results_path)
        try:
            _write(temp, combined.to_parquet(index=False))
            os.replace(temp, self.results_path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return self.results_path
