"""The Dask runner sends the arguments every chunk task shares once per worker, not per task.

Checked against the definition (the same object in the pass's first two tasks) with a client
that records what is scattered; the real LocalCluster runs that use it are the backend equality
tests (``test_chunked.py``, ``test_chunked_forecast.py``), which compare with the local run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gravity.potential.chunked.backends import SharedArguments


class RecordingClient:
    """Stands for ``distributed.Client``: records ``scatter`` calls, returns tagged futures."""

    def __init__(self) -> None:
        self.scattered: list[Any] = []

    def scatter(self, items: list[Any], broadcast: bool, hash: bool) -> list[tuple[str, int]]:
        assert broadcast and not hash and len(items) == 1
        self.scattered.append(items[0])
        return [("future", len(self.scattered))]


def test_shared_objects_are_scattered_once_and_the_rest_travels_with_its_task() -> None:
    client = RecordingClient()
    world, forecast = np.arange(1000), {"model": np.ones(500)}
    readers = [np.full(10, i) for i in range(4)]
    tasks = [(world, i, ("p1", "p2"), readers[i], {"rows": i}, forecast) for i in range(4)]
    shared = SharedArguments(client)
    sent = list(shared.swap(iter(tasks)))
    assert [id(o) for o in client.scattered] == [id(world), id(forecast)]
    for i, args in enumerate(sent):
        assert args[0] == ("future", 1) and args[5] == ("future", 2)
        # per-task arguments, and small shared ones, are sent as they are
        assert args[1] == i and args[2] == ("p1", "p2") and args[3] is readers[i]
        assert args[4] == {"rows": i}
    shared.release()
    assert not shared.futures


def test_equal_is_not_same_and_one_task_shares_nothing() -> None:
    client = RecordingClient()
    shared = SharedArguments(client)
    # equal tables built per task are per-task objects: nothing to scatter
    sent = list(shared.swap([(np.zeros(5), 0), (np.zeros(5), 1)]))
    assert client.scattered == [] and len(sent) == 2
    only = (np.zeros(5), 0)
    assert list(shared.swap([only])) == [list(only)] and client.scattered == []
    assert list(shared.swap([])) == []
