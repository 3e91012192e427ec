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

__all__ = ["Progress", "SharedArguments", "TaskRunner", "task_runner"]

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
            shared = SharedArguments(client)
            futures = [client.submit(func, *args, pure=False) for args in shared.swap(tasks)]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                client.cancel(futures)
                shared.release()

        yield run_dask


class SharedArguments:
    """Arguments every task of a pass shares, sent to each Dask worker once instead of per task.

    A task's arguments are pickled into it: the world's ease model, the global tables of the
    forecast passes and the fitted forecast would travel with every chunk (megabytes times
    hundreds of chunks at HS6). An argument that is the *same object* in the pass's first two
    tasks is shared: it is scattered once to every worker (``broadcast=True``) and each task
    carries its future. Both tasks are referenced while they are compared, and a scattered
    object until the pass ends, so no ``id`` can meanwhile belong to another object.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.futures: dict[int, tuple[Any, Any]] = {}  # id -> (object kept alive, future)

    def swap(self, tasks: Iterable[Task]) -> Iterator[list[Any]]:
        """Each task's arguments, its shared ones replaced by their futures."""
        iterator = iter(tasks)
        first = next(iterator, None)
        if first is None:
            return
        second = next(iterator, None)
        if second is not None:
            for a, b in zip(first, second, strict=False):
                if a is b and not _small(a) and id(a) not in self.futures:
                    [future] = self.client.scatter([a], broadcast=True, hash=False)
                    self.futures[id(a)] = (a, future)
        yield self._replace(first)
        if second is None:
            return
        yield self._replace(second)
        for task in iterator:
            yield self._replace(task)

    def _replace(self, task: Task) -> list[Any]:
        out = []
        for argument in task:
            held = self.futures.get(id(argument))
            out.append(held[1] if held is not None and held[0] is argument else argument)
        return out

    def release(self) -> None:
        """The pass is over: drop the futures (the cluster frees what they held)."""
        self.futures.clear()


def _small(argument: object) -> bool:
    # numbers, strings and tuples of them cost less to send than a future's round trip
    if isinstance(argument, int | float | str | bytes | bool) or argument is None:
        return True
    return isinstance(argument, tuple) and all(
        isinstance(a, int | float | str | bytes | bool) for a in argument
    )


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
