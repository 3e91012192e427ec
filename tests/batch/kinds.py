"""Job kinds for the tests, importable so that worker processes can unpickle them.

``slow_fit``: a ``fit`` that first sleeps ``GRAVITY_TEST_JOB_DELAY`` seconds (kill and lock
tests). ``crash_on_0002``: a ``fit`` whose worker process dies on product ``0002``.
"""

from __future__ import annotations

import os
import time

import pandas as pd

from gravity.batch.jobs import Job, JobOutput, register_job_kind, run_fit


def slow_fit(panel: pd.DataFrame, job: Job) -> JobOutput:
    time.sleep(float(os.environ.get("GRAVITY_TEST_JOB_DELAY", "0")))
    return run_fit(panel, job)


def crash_on_0002(panel: pd.DataFrame, job: Job) -> JobOutput:
    if job.slice.products == ("0002",):
        os._exit(3)
    return run_fit(panel, job)


register_job_kind("slow_fit", slow_fit)
register_job_kind("crash_on_0002", crash_on_0002)
