"""The ``batch`` stage as the CLI runs it: many fits over a grid, resumable (``gravity batch``)."""

from __future__ import annotations

import logging
from pathlib import Path

from gravity.batch.options import BatchOptions
from gravity.batch.runner import BatchSummary, run_batch

__all__ = ["BatchSummary", "stage_batch"]

log = logging.getLogger("gravity")


def stage_batch(batch: BatchOptions, panel_path: Path, output: Path, resume: bool) -> BatchSummary:
    """Run the ``batch:`` section on the panel file; write ``OUTPUT/batch/``.

    Parameters
    ----------
    batch : BatchOptions
        The ``batch:`` section of the config.
    panel_path : Path
        The panel as Parquet (``OUTPUT/panel/panel.parquet``); workers read it once each.
    output : Path
        The run's output folder.
    resume : bool
        ``--resume``: skip the jobs an earlier run of this batch finished.

    Returns
    -------
    BatchSummary
        Counts, failures with their one-line errors, and the paths of ``results.parquet`` and
        the job index; :meth:`BatchSummary.to_text` is what the CLI prints.

    Raises
    ------
    BatchLockedError
        If another batch process is using ``output``.
    ConfigError, DataError
        On a grid that does not fit the panel, an earlier batch without ``resume``, or a missing
        panel file.
    """
    summary = run_batch(batch, panel_path, output, resume=resume)
    for failure in summary.failures:
        log.warning("[batch] failed: %s %s: %s", failure.key, failure.label, failure.error)
    return summary
