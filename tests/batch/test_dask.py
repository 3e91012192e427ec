"""The Dask backend on a real ``distributed.LocalCluster``: same results as the serial run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import LocalCluster

from gravity.batch.runner import run_batch
from gravity.batch.store import read_index
from gravity.exceptions import GravityError
from tests.batch.conftest import assert_clean, batch_options


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # worker processes (not threads): each reads the panel once, as on a real cluster
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        timeout=30,
    ) as local:
        yield local


@pytest.mark.timeout(90)
def test_dask_cluster_matches_serial(
    cluster: LocalCluster, tmp_path: Path, panel_path: Path, serial_run: Path
) -> None:
    address = cluster.scheduler_address
    options = batch_options(backend="dask", scheduler=address, connect_timeout_s=20)
    summary = run_batch(options, panel_path, tmp_path)
    assert summary.ok and summary.backend == f"dask at {address}"
    pd.testing.assert_frame_equal(
        pd.read_parquet(summary.results_path),
        pd.read_parquet(serial_run / "batch" / "results.parquet"),
        check_exact=True,
    )
    index = read_index(tmp_path)
    assert index["worker"].nunique() == 2  # both workers took jobs
    # each worker read the panel once: only its first job has a load time
    assert (index["load_seconds"] > 0).sum() <= 2
    assert_clean(tmp_path)


@pytest.mark.timeout(90)
def test_dask_backend_starts_its_own_local_cluster(
    tmp_path: Path, panel_path: Path, serial_run: Path
) -> None:
    options = batch_options(backend="dask", n_workers=2, grid={"products": ["0002"]})
    summary = run_batch(options, panel_path, tmp_path)
    assert summary.ok and summary.n_jobs == 6
    expected = pd.read_parquet(serial_run / "batch" / "results.parquet")
    expected = expected[expected["products"] == "0002"].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_parquet(summary.results_path), expected, check_exact=True)


def test_unreachable_scheduler_is_one_line(tmp_path: Path, panel_path: Path) -> None:
    options = batch_options(backend="dask", scheduler="tcp://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(GravityError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_batch(options, panel_path, tmp_path)
