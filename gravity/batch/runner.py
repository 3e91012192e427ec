"""Run a batch: expand the grid, skip finished jobs, run the rest on a backend, combine results.

Backends (``batch.backend``):

* ``serial``: in this process, one job after the other (the reference for the others);
* ``joblib``: ``n_workers`` local processes (joblib's loky backend);
* ``dask``: a Dask cluster, at ``scheduler`` if given, else a local one with ``n_workers``
  single-threaded worker processes.

Every backend sends workers the panel's path (a :class:`~gravity.batch.worker.PanelRef`), not
the panel: each worker process reads it once. Results come back to this process, which alone
writes the job folders, the index and ``results.parquet`` (see :mod:`gravity.batch.store`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from joblib import Parallel, delayed
from tqdm import tqdm

from gravity.batch.grid import PanelAxes, expand_grid, panel_fingerprint
from gravity.batch.jobs import Job, JobFunction, job_function
from gravity.batch.options import BatchOptions
from gravity.batch.store import BatchStore, JobIndex, batch_lock
from gravity.batch.worker import JobOutcome, PanelRef, execute_job, one_line_error
from gravity.exceptions import ConfigError, DataError, GravityError

if TYPE_CHECKING:
    from distributed import Future, LocalCluster

__all__ = ["BatchSummary", "JobFailure", "iter_outcomes", "run_batch"]

log = logging.getLogger("gravity")


@dataclass(frozen=True)
class JobFailure:
    """A failed job: its key, what it was, and its one-line error."""

    key: str
    label: str
    error: str


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    n_jobs : int
        Jobs in the grid.
    n_done : int
        Jobs finished, including those finished by an earlier run (``n_skipped``).
    n_failed : int
        Jobs that raised (listed in ``failures``).
    n_skipped : int
        Jobs found finished at the start (``--resume``) and not run again.
    failures : tuple of JobFailure
        In grid order.
    results_path, index_path : Path
        ``results.parquet`` and the job index.
    backend : str
        Where the jobs ran.
    seconds : float
        Wall time of the run.
    job_seconds : float
        Sum of the jobs' own run times in the workers (run in this call).
    """

    n_jobs: int
    n_done: int
    n_failed: int
    n_skipped: int
    failures: tuple[JobFailure, ...]
    results_path: Path
    index_path: Path
    backend: str
    seconds: float
    job_seconds: float = 0.0
    warnings: dict[str, int] = field(default_factory=dict)
    """Warning messages of this run's jobs, with the number of jobs that raised each."""

    @property
    def ok(self) -> bool:
        """Whether every job of the grid finished."""
        return self.n_done == self.n_jobs

    def to_text(self) -> str:
        """Summary for the terminal: counts, where results are, and each failure on one line."""
        lines = [
            f"batch: {self.n_jobs} jobs, {self.n_done} done ({self.n_skipped} from an earlier "
            f"run), {self.n_failed} failed, in {self.seconds:.1f} s on {self.backend}",
            f"results: {self.results_path}",
            f"job index: {self.index_path}",
        ]
        if self.failures:
            lines.append(f"failed jobs ({len(self.failures)}):")
            lines.extend(f"  {f.key}  {f.label}: {f.error}" for f in self.failures)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable content (for the run manifest)."""
        return {
            "n_jobs": self.n_jobs,
            "n_done": self.n_done,
            "n_failed": self.n_failed,
            "n_skipped": self.n_skipped,
            "failures": [vars(f) for f in self.failures],
            "results_path": str(self.results_path),
            "index_path": str(self.index_path),
            "backend": self.backend,
            "seconds": round(self.seconds, 3),
            "job_seconds": round(self.job_seconds, 3),
            "warnings": dict(self.warnings),
        }


def _serial(jobs: list[Job], func: JobFunction, panel: PanelRef) -> Iterator[JobOutcome]:
    for job in jobs:
        yield execute_job(func, panel, job)


def _joblib(
    jobs: list[Job], func: JobFunction, panel: PanelRef, n_workers: int
) -> Iterator[JobOutcome]:
    parallel = Parallel(n_jobs=n_workers, backend="loky", return_as="generator_unordered")
    outcomes: Iterator[JobOutcome] = parallel(
        delayed(execute_job)(func, panel, job) for job in jobs
    )
    try:
        yield from outcomes
    except Exception as exc:  # jobs never raise: a worker died or a task could not be sent
        raise GravityError(
            f"the joblib workers failed: {one_line_error(exc)}; the jobs finished so far are "
            "saved, rerun with --resume to run the others"
        ) from exc


def distributed_module() -> ModuleType:
    """Dask's ``distributed``, an optional dependency (the ``dask`` extra) of the dask backend.

    Raises
    ------
    ConfigError
        If it is not installed, naming the extra to install.
    """
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "batch.backend: dask needs Dask's distributed package, an optional extra: "
            "pip install 'gravity[dask]' (or use backend: joblib on one machine)"
        ) from None
    return distributed


def _dask(
    jobs: list[Job], func: JobFunction, panel: PanelRef, options: BatchOptions
) -> Iterator[JobOutcome]:
    dd = distributed_module()
    cluster: LocalCluster | None = None
    try:
        if options.scheduler is None:
            cluster = dd.LocalCluster(
                n_workers=options.n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        client = dd.Client(cluster or options.scheduler, timeout=options.connect_timeout_s)
    except Exception as exc:  # distributed raises OSError, TimeoutError or RuntimeError here
        if cluster is not None:
            cluster.close()
        if options.scheduler is not None:
            hint = "check the address in batch.scheduler, or raise batch.connect_timeout_s"
            where = f"reach the Dask scheduler at {options.scheduler}"
        else:
            hint = "run 'gravity batch' from a script guarded by if __name__ == '__main__'"
            where = "start a local Dask cluster"
        raise GravityError(f"cannot {where}: {one_line_error(exc)}; {hint}") from None
    futures: dict[Future, Job] = {}
    try:
        for job in jobs:
            future = client.submit(execute_job, func, panel, job, pure=False)
            futures[future] = job
        for future in dd.as_completed(futures):
            job = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died or the task was lost: the job failed
                outcome = JobOutcome(job.key, one_line_error(exc), time.time(), 0.0, 0.0, "dask")
            yield outcome
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()


def iter_outcomes(
    jobs: list[Job], func: JobFunction, panel: PanelRef, options: BatchOptions
) -> Iterator[JobOutcome]:
    """Run ``jobs`` on the configured backend; yield outcomes as they finish (any order)."""
    if not jobs:
        return iter(())
    if options.backend == "serial":
        return _serial(jobs, func, panel)
    if options.backend == "joblib":
        return _joblib(jobs, func, panel, options.n_workers)
    return _dask(jobs, func, panel, options)


def _backend_name(options: BatchOptions) -> str:
    if options.backend == "serial":
        return "serial"
    if options.backend == "dask" and options.scheduler is not None:
        return f"dask at {options.scheduler}"
    return f"{options.backend}, {options.n_workers} workers"


def run_batch(
    options: BatchOptions, panel_path: Path, output: Path, *, resume: bool = False
) -> BatchSummary:
    """Run every job of the grid on the panel; write ``OUTPUT/batch/``.

    Parameters
    ----------
    options : BatchOptions
        Grid, job kind and backend.
    panel_path : Path
        The panel as a Parquet file (e.g. ``OUTPUT/panel/panel.parquet``); workers read it.
    output : Path
        Output folder; the batch writes under ``output/batch``.
    resume : bool
        Continue the batch already in ``output/batch`` (also set by ``options.resume``): finished
        jobs are skipped, failed and unfinished ones run.

    Returns
    -------
    BatchSummary

    Raises
    ------
    BatchLockedError
        If another batch process is using the output folder.
    ConfigError
        On a grid that does not fit the panel, or an earlier batch in the folder without
        ``resume``.
    DataError
        If the panel file is missing or unreadable.
    """
    start = time.perf_counter()
    panel_path = Path(panel_path)
    if not panel_path.is_file():
        raise DataError(f"panel file {str(panel_path)!r} not found; build the panel first")
    func = job_function(options.job)
    backend = _backend_name(options)
    store = BatchStore(output)
    with batch_lock(output):
        jobs = expand_grid(options, PanelAxes.from_parquet(panel_path))
        index = store.open(panel_fingerprint(panel_path), resume=resume or options.resume)
        try:
            removed = store.clean_temp_files()
            index.sync(jobs)
            adopted = store.reconcile(jobs, index)
            statuses = index.statuses()
            pending = [job for job in jobs if statuses.get(job.key) != "done"]
            skipped = len(jobs) - len(pending)
            log.info(
                "[batch] %d jobs: %d finished earlier, %d to run on %s%s",
                len(jobs),
                skipped,
                len(pending),
                backend,
                f" ({removed} temporary files of a killed run removed, {adopted} jobs adopted)"
                if removed or adopted
                else "",
            )
            run = _run_pending(store, index, pending, func, PanelRef.of(panel_path), options)
            statuses = index.statuses()
            results = store.combine(jobs, index)
        finally:
            index.close()
    by_key = {job.key: job for job in jobs}
    failures = tuple(
        JobFailure(job.key, job.label, run.errors.get(job.key, "failed in an earlier run"))
        for job in jobs
        if statuses.get(job.key) == "failed"
    )
    summary = BatchSummary(
        n_jobs=len(jobs),
        n_done=sum(statuses.get(key) == "done" for key in by_key),
        n_failed=len(failures),
        n_skipped=skipped,
        failures=failures,
        results_path=results,
        index_path=store.index_path,
        backend=backend,
        seconds=time.perf_counter() - start,
        job_seconds=run.job_seconds,
        warnings=run.warnings,
    )
    log.info(
        "[batch] %d done, %d failed (%.1f s)", summary.n_done, summary.n_failed, summary.seconds
    )
    return summary


@dataclass
class _RunStats:
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    job_seconds: float = 0.0


def _run_pending(
    store: BatchStore,
    index: JobIndex,
    pending: list[Job],
    func: JobFunction,
    panel: PanelRef,
    options: BatchOptions,
) -> _RunStats:
    """Run the pending jobs with a progress bar; save each outcome as it arrives."""
    stats = _RunStats()
    by_key = {job.key: job for job in pending}
    bar = tqdm(
        total=len(pending),
        unit="job",
        desc="batch",
        disable=not options.progress or not pending,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    with bar:
        for outcome in iter_outcomes(pending, func, panel, options):
            store.save(by_key[outcome.key], outcome, index)
            stats.job_seconds += outcome.seconds
            for message in outcome.warnings:
                stats.warnings[message] = stats.warnings.get(message, 0) + 1
            if outcome.error is not None:
                stats.errors[outcome.key] = outcome.error
                bar.set_postfix(failed=len(stats.errors), refresh=False)
            bar.update(1)
    return stats
