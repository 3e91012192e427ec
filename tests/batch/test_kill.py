"""A batch killed with SIGKILL resumes cleanly; a second batch on the same folder is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from gravity.batch.runner import run_batch
from gravity.batch.store import BatchLockedError, read_index
from tests.batch import kinds  # noqa: F401  (registers the test job kinds)
from tests.batch.conftest import assert_clean, batch_options
from tests.conftest import REPO_ROOT

N_JOBS = 36


def start_batch(panel: Path, output: Path, *args: str, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRAVITY_TEST_JOB_DELAY": str(delay)}
    command = [sys.executable, "-m", "tests.batch.batch_script", str(panel), str(output), *args]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def wait_for_done(process: subprocess.Popen[bytes], output: Path, n: int, limit: float) -> int:
    """Poll the job index until ``n`` jobs are done; return how many are done."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0].decode()
        if (output / "batch" / "index.sqlite").is_file():
            try:
                done = int((read_index(output)["status"] == "done").sum())
            except pd.errors.DatabaseError:
                # the file exists a moment before its tables do (a starting batch): poll again
                done = -1
            if done >= n:
                return done
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the batch did not finish {n} jobs within {limit} s")


def descendants(pid: int) -> list[int]:
    """Processes started by ``pid`` (its loky workers), read from /proc."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [p for p, pp in parent.items() if pp == current]
        found.extend(children)
        todo.extend(children)
    return found


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the batch process, then its orphaned workers (they would idle for minutes)."""
    children = descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, panel_path: Path) -> pd.DataFrame:
    """Results of an uninterrupted run of the same grid and job kind."""
    output = tmp_path_factory.mktemp("reference")
    summary = run_batch(batch_options(job="slow_fit"), panel_path, output)
    assert summary.ok and summary.n_jobs == N_JOBS
    return pd.read_parquet(summary.results_path)


@pytest.mark.timeout(120)
def test_sigkill_then_resume_finishes_every_job_once(
    tmp_path: Path, panel_path: Path, reference: pd.DataFrame
) -> None:
    process = start_batch(panel_path, tmp_path, "--backend", "joblib", delay=0.15)
    done = wait_for_done(process, tmp_path, 4, limit=60)
    kill(process)
    assert done < N_JOBS
    resumed = start_batch(panel_path, tmp_path, "--backend", "joblib", "--resume", delay=0)
    log = resumed.communicate(timeout=90)[0].decode()
    assert resumed.returncode == 0, log
    assert f"batch: {N_JOBS} jobs, {N_JOBS} done" in log
    index = read_index(tmp_path)
    assert len(index) == N_JOBS
    assert (index["status"] == "done").all()
    assert (index["attempts"] == 1).all()  # every job finished exactly once
    assert_clean(tmp_path)
    assert sorted(p.name for p in (tmp_path / "batch" / "jobs").iterdir()) == sorted(index["key"])
    results = pd.read_parquet(tmp_path / "batch" / "results.parquet")
    pd.testing.assert_frame_equal(results, reference, check_exact=True)


@pytest.mark.timeout(120)
def test_second_batch_on_the_same_folder_is_refused(
    tmp_path: Path, panel_path: Path, reference: pd.DataFrame
) -> None:
    process = start_batch(panel_path, tmp_path, delay=0.3)
    try:
        wait_for_done(process, tmp_path, 1, limit=60)
        refused = rf"another gravity batch \(pid {process.pid} on "
        with pytest.raises(BatchLockedError, match=refused):
            run_batch(batch_options(job="slow_fit"), panel_path, tmp_path, resume=True)
    finally:
        kill(process)
    # the kernel released the lock of the killed process: this one may now resume (serially)
    summary = run_batch(batch_options(job="slow_fit"), panel_path, tmp_path, resume=True)
    assert summary.ok and 1 <= summary.n_skipped < N_JOBS
    assert (read_index(tmp_path)["attempts"] == 1).all()
    assert_clean(tmp_path)
    results = pd.read_parquet(summary.results_path)
    pd.testing.assert_frame_equal(results, reference, check_exact=True)
