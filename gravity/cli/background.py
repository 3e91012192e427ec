"""One CLI stage in a forked process, beside the stages the main process runs meanwhile.

``gravity run`` with ``backtest.background: true`` starts the backtest right after the panel is
built and runs the fit, relatedness and potential stages while it works: the backtest reads only
the panel, so its files are the same as when it runs in turn. On a machine with a free core the
run takes about the backtest's time less. ``fork`` gives the child the panel and the loaded
modules without copying or importing them again; where the platform does not fork by default
(anything but Linux) the stage runs in turn instead.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from gravity.cli.manifest import StageOutput
from gravity.exceptions import GravityError

__all__ = ["BackgroundStage", "can_fork"]


def can_fork() -> bool:
    """Whether a stage can run in a forked process here (Linux: ``fork`` is safe and default)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _child(stage: Callable[[], StageOutput], conn: Connection) -> None:
    start = time.perf_counter()
    try:
        output = stage()
        conn.send(("ok", output, time.perf_counter() - start))
    except BaseException as exc:  # the parent raises it (or says what it was) in its place
        try:
            conn.send(("error", exc, 0.0))
        except Exception:  # an exception that does not pickle: its text
            conn.send(("error", GravityError(f"{type(exc).__name__}: {exc}"), 0.0))
    finally:
        conn.close()


@dataclass
class BackgroundStage:
    """A stage started in a forked process; :meth:`result` waits for what it returned."""

    name: str
    process: Any
    conn: Connection

    @classmethod
    def start(cls, name: str, stage: Callable[[], StageOutput]) -> BackgroundStage:
        """Fork a process that runs ``stage()`` and sends back its output."""
        # what the parent buffered would otherwise be written twice, once by the child
        sys.stdout.flush()
        sys.stderr.flush()
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(stage, send), name=f"gravity-{name}")
        process.start()
        send.close()  # the child holds its end: end of file here when it exits
        return cls(name, process, receive)

    def result(self) -> tuple[StageOutput, float]:
        """The stage's output and its own seconds; raises what the stage raised."""
        try:
            status, value, extra = self.conn.recv()
        except EOFError:
            self.process.join()
            raise GravityError(
                f"the {self.name} stage's process ended without a result (exit code "
                f"{self.process.exitcode}); set {self.name}.background: false to run it in turn"
            ) from None
        finally:
            self.conn.close()
        self.process.join()
        if status == "error":
            raise value
        return value, float(extra)

    def stop(self) -> None:
        """End the process if it still runs (the run failed before waiting for it)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()
