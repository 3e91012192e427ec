"""Run chunk tasks in this process, in joblib processes or on a Dask cluster; report progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from joblib import Parallel, delayed

from gravity.exceptions import ConfigError, GravityError
from gravity.potential.chunked.options import ChunkOptions

__all__ = ["Progress", "TaskRunner", "task_runner"]

log = logging.getLogger("gravity")

Task = tuple[Any, ...]
TaskRunner = Callable[[Callable[..., dict[str, Any]], Iterable[Task]], Iterator[dict[str, Any]]]
"""``run(func, tasks)`` yields ``func(*task)`` for every task as it finishes (any order)."""


class Progress:
    """Chunks done, rate and time left, logged at most every ``every`` seconds."""

    def __init__(self, label: str, total: int, enabled: bool, every: float = 2.0) -> None:
        self.label, self.total, self.enabled, self.every = label, total, enabled, every
        self.done = 0
        self.start = time.perf_counter()
        self._last = 0.0

    def step(self) -> None:
        """One more chunk done."""
        self.done += 1
        now = time.perf_counter()
        if not self.enabled or (now - self._last < self.every and self.done < self.total):
            return
        self._last = now
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        log.info(
            "[potential] %s: %d/%d chunks, %.2f chunks/s, %.0f s elapsed, ETA %.0f s",
            self.label,
            self.done,
            self.total,
            rate,
            elapsed,
            left,
        )


def _local(func: Callable[..., dict[str, Any]], tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield func(*task)


@contextmanager
def task_runner(options: ChunkOptions) -> Iterator[TaskRunner]:
    """A runner for the configured backend, open for every pass of one potential run."""
    if options.backend == "local":
        yield _local
        return
    if options.backend == "joblib":

        def run_joblib(
            func: Callable[..., dict[str, Any]], tasks: Iterable[Task]
        ) -> Iterator[dict[str, Any]]:
            parallel = Parallel(
                n_jobs=options.workers, backend="loky", return_as="generator_unordered"
            )
            return iter(parallel(delayed(func)(*task) for task in tasks))

        yield run_joblib
        return
    with _dask_client(options) as client:
        from distributed import as_completed

        def run_dask(
            func: Callable[..., dict[str, Any]], tasks: Iterable[Task]
        ) -> Iterator[dict[str, Any]]:
            futures = [client.submit(func, *task, pure=False) for task in tasks]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                client.cancel(futures)

        yield run_dask


@contextmanager
def _quiet_dask() -> Iterator[None]:
    # the cluster's own INFO lines (workers starting, comms closing) are not the user's business
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _dask_client(options: ChunkOptions) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "potential.chunks.backend: dask needs Dask's distributed package, an optional "
            "extra: pip install 'gravity[dask]' (or use backend: joblib on one machine)"
        ) from None
    with _quiet_dask():
        cluster = None
        try:
            if options.scheduler is None:
                cluster = LocalCluster(
                    n_workers=options.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            client = Client(cluster or options.scheduler, timeout=30)
        except Exception as exc:  # distributed raises OSError, TimeoutError or RuntimeError here
            if cluster is not None:
                cluster.close()
            where = (
                f"reach the Dask scheduler at {options.scheduler}"
                if options.scheduler
                else "start a local Dask cluster"
            )
            raise GravityError(
                f"cannot {where}: {exc}; check potential.chunks.scheduler, or use backend: joblib"
            ) from None
        try:
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
