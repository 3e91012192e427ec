"""Running a batch: outputs, failures that stay alone, resume, refusals, backends agree."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.batch.jobs import JobOutput, register_job_kind
from gravity.batch.layout import TEMP_PREFIX
from gravity.batch.runner import run_batch
from gravity.batch.store import read_index
from gravity.estimation.spec import fit as fit_model
from gravity.exceptions import ConfigError, DataError, GravityError, SeparationWarning
from tests.batch import kinds  # noqa: F401  (registers the test job kinds)
from tests.batch.conftest import TWO_WAY, assert_clean, batch_options


def test_serial_run_writes_results_index_and_job_folders(
    serial_run: Path, panel_frame: pd.DataFrame
) -> None:
    results = pd.read_parquet(serial_run / "batch" / "results.parquet")
    assert list(results.columns[:7]) == [
        "job_key",
        "job",
        "spec",
        "products",
        "exporters",
        "first_year",
        "last_year",
    ]
    for column in ("term", "estimate", "std_error", "nobs", "converged"):
        assert column in results.columns
    assert results["job_key"].nunique() == 36
    # one row per coefficient: up to 4 in two-way, 2 in dist-iid (some drop as collinear)
    per_job = results.groupby("job_key", sort=False).size()
    assert per_job.between(1, 4).all() and len(results) <= 6 * 3 * (4 + 2)
    index = read_index(serial_run)
    assert (index["status"] == "done").all() and (index["attempts"] == 1).all()
    assert index["seconds"].gt(0).all() and index["error"].isna().all()
    assert_clean(serial_run)
    # one job checked against a direct fit on the same rows
    row = index.iloc[0]
    job = json.loads((serial_run / "batch" / "jobs" / row["key"] / "job.json").read_text())
    rows = panel_frame[(panel_frame["product"] == "0001") & panel_frame["year"].between(2000, 2003)]
    with pytest.warns(SeparationWarning, match="189 observation"):
        direct = fit_model(batch_options().grid.specs[0], rows.reset_index(drop=True))
    # the batch recorded the same warning instead of showing it
    assert json.loads(row["warnings"]) == [
        "SeparationWarning: 189 observation(s) removed before PPML (189 fe_zero): their fitted "
        "values would be exactly zero, so they carry no information"
    ]
    mine = results[results["job_key"] == row["key"]]
    np.testing.assert_array_equal(mine["estimate"], direct.coef.to_numpy())
    np.testing.assert_array_equal(mine["std_error"], direct.se.to_numpy())
    assert job["details"]["nobs"] == direct.nobs == row["nobs"]
    assert job["slice"]["products"] == ["0001"] and job["slice"]["years"] == [2000, 2003]


def test_joblib_gives_the_serial_results(
    tmp_path: Path, panel_path: Path, serial_run: Path
) -> None:
    summary = run_batch(batch_options(backend="joblib", n_workers=2), panel_path, tmp_path)
    assert summary.ok and summary.backend == "joblib, 2 workers"
    pd.testing.assert_frame_equal(
        pd.read_parquet(summary.results_path),
        pd.read_parquet(serial_run / "batch" / "results.parquet"),
        check_exact=True,
    )
    workers = set(read_index(tmp_path)["worker"])
    assert 1 <= len(workers) <= 2


def test_bad_job_fails_alone_with_its_message(
    tmp_path: Path, panel_frame: pd.DataFrame, serial_run: Path
) -> None:
    bad = panel_frame.copy()
    bad.loc[(bad["product"] == "0003") & (bad["year"] == 2005), "value"] = -1.0
    path = tmp_path / "panel.parquet"
    bad.to_parquet(path, index=False)
    summary = run_batch(batch_options(), path, tmp_path / "out")
    # only the window reaching 2005 of product 0003 sees the negative values, under both specs
    assert (summary.n_done, summary.n_failed) == (34, 2)
    assert [f.label for f in summary.failures] == [
        "fit two-way: products 0003, exporters pooled, years 2002-2005",
        "fit dist-iid: products 0003, exporters pooled, years 2002-2005",
    ]
    message = "EstimationError: PPML needs a non-negative outcome: 90 negative values of 'value'"
    assert all(f.error == message for f in summary.failures)
    assert "failed jobs (2):" in summary.to_text() and message in summary.to_text()
    index = read_index(tmp_path / "out")
    failed = index[index["status"] == "failed"]
    assert list(failed["error"]) == [message, message]
    assert not (tmp_path / "out" / "batch" / "jobs" / failed["key"].iloc[0]).exists()
    good = pd.read_parquet(serial_run / "batch" / "results.parquet")
    good = good[~good["job_key"].isin(failed["key"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_parquet(summary.results_path), good, check_exact=True)


def test_resume_runs_only_what_is_missing(tmp_path: Path, panel_path: Path) -> None:
    small = batch_options(grid={"products": ["0001", "0002"]})
    first = run_batch(small, panel_path, tmp_path)
    assert (first.n_jobs, first.n_done, first.n_skipped) == (12, 12, 0)
    earlier = r"holds an earlier batch \(12 jobs\); rerun with --resume"
    with pytest.raises(ConfigError, match=earlier):
        run_batch(small, panel_path, tmp_path)
    # a grown grid: the 12 finished jobs are kept, the 6 new ones run
    grown = batch_options(grid={"products": ["0001", "0002", "0003"]})
    second = run_batch(grown, panel_path, tmp_path, resume=True)
    assert (second.n_jobs, second.n_done, second.n_skipped) == (18, 18, 12)
    assert (read_index(tmp_path)["attempts"] == 1).all()
    assert pd.read_parquet(second.results_path)["job_key"].nunique() == 18
    assert_clean(tmp_path)


def test_resume_adopts_a_finished_folder_and_cleans_temporaries(
    tmp_path: Path, panel_path: Path
) -> None:
    small = batch_options(grid={"products": ["0001"]})
    run_batch(small, panel_path, tmp_path)
    index = tmp_path / "batch" / "index.sqlite"
    key = read_index(tmp_path)["key"].iloc[0]
    with sqlite3.connect(index) as db:  # as if killed between the folder rename and the index
        db.execute("UPDATE jobs SET status='pending', attempts=0 WHERE key=?", (key,))
    db.close()
    (tmp_path / "batch" / "jobs" / f"{TEMP_PREFIX}abc-1-2").mkdir()
    (tmp_path / "batch" / f"{TEMP_PREFIX}results.parquet-1-2").write_bytes(b"partial")
    summary = run_batch(small, panel_path, tmp_path, resume=True)
    assert (summary.n_done, summary.n_skipped) == (6, 6)
    assert (read_index(tmp_path)["attempts"] == 1).all()
    assert_clean(tmp_path)


def test_resume_refuses_a_changed_panel(
    tmp_path: Path, panel_path: Path, panel_frame: pd.DataFrame
) -> None:
    small = batch_options(grid={"products": ["0001"], "windows": None})
    run_batch(small, panel_path, tmp_path / "out")
    changed = tmp_path / "panel.parquet"
    panel_frame.iloc[:-1].to_parquet(changed, index=False)
    with pytest.raises(ConfigError, match="the panel changed since the batch started"):
        run_batch(small, changed, tmp_path / "out", resume=True)


def test_missing_panel_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"panel file .*missing.parquet' not found"):
        run_batch(batch_options(), tmp_path / "missing.parquet", tmp_path)


def _no_output(panel: pd.DataFrame, job: object) -> JobOutput:
    raise RuntimeError("boom\nsecond line")


register_job_kind("always_fails", _no_output)


def test_unexpected_exception_is_recorded_on_one_line(tmp_path: Path, panel_path: Path) -> None:
    options = batch_options(job="always_fails", grid={"products": ["0001"], "windows": None})
    summary = run_batch(options, panel_path, tmp_path)
    assert summary.n_failed == 2 and not summary.ok
    assert {f.error for f in summary.failures} == {"RuntimeError: boom second line"}
    assert pd.read_parquet(summary.results_path).empty


def test_dead_joblib_worker_stops_the_batch_with_one_line(tmp_path: Path, panel_path: Path) -> None:
    options = batch_options(
        job="crash_on_0002",
        backend="joblib",
        grid={"products": ["0001", "0002"], "windows": None, "specs": [{"formula": TWO_WAY}]},
    )
    with pytest.raises(GravityError, match=r"the joblib workers failed: .*rerun with --resume"):
        run_batch(options, panel_path, tmp_path)
    assert set(read_index(tmp_path)["status"]) <= {"done", "pending"}
    assert_clean(tmp_path)
