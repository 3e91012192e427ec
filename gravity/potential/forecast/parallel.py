"""Hurdle models fitted at the same time, in threads, without changing a number.

Most of a forecast's time goes to fitting its gradient-boosted hurdle models, one after the
other, each on one core. The models of a task's origins and of their calibration origins are
independent: :func:`prefetch_models` builds their training examples in the main thread (the
feature caches stay in one place) and hands each fit to a small thread pool, and
:meth:`~.harness.TaskHarness.model` then waits for the one it needs while the main thread goes
on with features, predictions and metrics.

Threads rather than processes: the fits run in scikit-learn's compiled code, which releases the
GIL, the training frames are not copied, and nothing is imported again. Threads rather than the
learners' own OpenMP threads (``learner.threads``): those meet at a barrier after every node, so
a thread the operating system holds back stalls the others, and on a shared 2-core machine a
two-thread fit ran several times slower than a one-thread one. A fit's result depends only on
its examples and seed, never on the thread that ran it or the order the fits finish, so the
predictions are identical for any number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gravity.potential.forecast.conformal import calibration_target
from gravity.potential.forecast.options import Horizon, LearnerOptions

if TYPE_CHECKING:
    from gravity.potential.forecast.harness import TaskHarness

# Default ceiling on the fits run at once: each holds its training matrix, and beyond a few the
# Python parts of the tree learners (the GIL) serialise them anyway.
MAX_DEFAULT_WORKERS = 4
# name of the pool's threads (tests check that fits ran there)
THREAD_PREFIX = "gravity-fit"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fit_workers(learner: LearnerOptions) -> int:
    """How many hurdle models to fit at once: ``learner.workers``, else the cores / threads."""
    if learner.workers is not None:
        return learner.workers
    return max(1, min(MAX_DEFAULT_WORKERS, usable_cores() // learner.threads))


@contextmanager
def fit_pool(learner: LearnerOptions) -> Iterator[Executor | None]:
    """A thread pool of :func:`fit_workers` threads, or None where that is 1.

    On leaving, fits nobody waited for are cancelled (those already running finish first).
    """
    workers = fit_workers(learner)
    if workers < 2:
        yield None
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix=THREAD_PREFIX)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def calibration_origin(harness: TaskHarness, a: int, horizon: Horizon) -> int | None:
    """The origin whose model :func:`~.conformal.calibrate` reads at ``a`` (None: none)."""
    if horizon == "next":
        return None
    found = calibration_target(harness, a, horizon)
    return None if found is None else found[0]


def prefetch_models(
    harness: TaskHarness,
    origins: Iterable[int],
    horizons: Iterable[Horizon],
    calibrated: bool,
) -> None:
    """Start fitting the models the forecast at ``origins`` will ask for (no-op without a pool).

    For each origin index: its own model; for entry tasks that of the latest training origin
    (the blend's validation forecasts); with ``calibrated`` (level intervals) that of each
    horizon's calibration origin. A model asked for that is not among these is fitted when
    asked, as without a pool.
    """
    if harness.pool is None:
        return
    for a in origins:
        wanted = [a]
        if harness.task != "level":
            earlier = [
                t for t in {t for t, _ in harness.training_pairs(a)} if harness.training_pairs(t)
            ]
            wanted += [max(earlier)] if earlier else []
        if calibrated:
            wanted += [c for h in horizons if (c := calibration_origin(harness, a, h)) is not None]
        for c in wanted:
            harness.prefetch(c)
