"""Batch benchmark: 200 small PPML fits serially, then with 2 workers (joblib and Dask).

    python benchmarks/batch.py                # 200 jobs: 50 products x 4 rolling windows
    python benchmarks/batch.py --quick        # 40 jobs, for a smoke run
    python benchmarks/batch.py --countries 40 # bigger fits

Rows printed:

* ``plain loop``: the same fits in a Python loop on pre-sliced frames, without the batch
  machinery (the lower bound of the serial run);
* ``serial``: ``gravity batch`` with ``backend: serial`` (slicing, job folders, index, results);
* ``joblib``: 2 loky worker processes (their start and the panel read included);
* ``dask (own cluster)``: ``backend: dask`` without a scheduler, so the run starts and stops a
  2-worker ``LocalCluster`` (included in the time);
* ``dask (running cluster)``: ``backend: dask`` given the address of a 2-worker cluster started
  beforehand, as on a real cluster.

Columns: ``speed-up`` is the serial batch time over the row's time; ``start-up`` the time from
the call to the first job's start (grid, panel hash, worker start and imports); ``overhead/job``
the worker time between consecutive jobs (dispatch, result transfer, saving in the main process),
per job, i.e. the marginal cost of the batch machinery; ``wrap-up`` the time after the last job
(``results.parquet``, shutting workers down).

The first line measures the machine itself: the same pure-Python loop in 1 and in 2 processes.
Its ratio is the ceiling of any 2-worker speed-up on this machine (about 2 on two real cores,
less on shared or hyper-threaded virtual CPUs). Every run's ``results.parquet`` is checked to be
identical to the serial one.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from distributed import LocalCluster

from gravity.batch.grid import PanelAxes, expand_grid
from gravity.batch.jobs import Job, JobOutput, register_job_kind
from gravity.batch.options import BatchOptions
from gravity.batch.runner import run_batch
from gravity.batch.store import read_index
from gravity.batch.worker import PanelRef, panel_view
from gravity.estimation.spec import fit as fit_model
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world

FORMULA = "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year"


def build_panel(n_countries: int, n_products: int, n_years: int, folder: Path) -> Path:
    options = SyntheticWorldOptions(n_countries=n_countries, n_products=n_products, n_years=n_years)
    world = generate_world(options)
    frame = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    for column in ("exporter", "importer", "product"):
        frame[column] = frame[column].astype(str)
    path = folder / "panel.parquet"
    frame.to_parquet(path, index=False)
    return path


def options(backend: str, window: int, **extra: object) -> BatchOptions:
    return BatchOptions.model_validate(
        {
            "grid": {
                "products": "all",
                "windows": {"size": window, "step": 1},
                "specs": [{"name": "two-way", "formula": FORMULA}],
            },
            "backend": backend,
            "n_workers": 2,
            "progress": False,
            **extra,
        }
    )


def plain_loop(panel: Path, batch: BatchOptions) -> tuple[float, int]:
    """Time the fits alone (slices prepared beforehand, warnings silenced as in the batch)."""
    jobs = expand_grid(batch, PanelAxes.from_parquet(panel))
    view, _ = panel_view(PanelRef.of(panel))
    slices = [view.take(job.slice) for job in jobs]
    fit_model(jobs[0].spec, slices[0])  # JIT warm-up, as the batch workers load cached kernels
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for job, data in zip(jobs, slices, strict=True):
            fit_model(job.spec, data)
    return time.perf_counter() - start, len(jobs)


def noop(panel: pd.DataFrame, job: Job) -> JobOutput:
    """A job that does nothing: what is left of its time is the batch machinery."""
    return JobOutput(pd.DataFrame({"term": ["x"], "estimate": [0.0]}))


register_job_kind("noop", noop)


def burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_scaling(n: int = 10_000_000) -> float:
    """Speed-up of a pure-Python loop in 2 processes over 1 (the ceiling on this machine)."""
    start = time.perf_counter()
    burn(n)
    burn(n)
    one = time.perf_counter() - start
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(burn, [1000, 1000]))  # start the processes first
        start = time.perf_counter()
        list(pool.map(burn, [n, n]))
        two = time.perf_counter() - start
    return one / two


@dataclass
class Row:
    name: str
    wall: float
    startup: float
    overhead: float
    wrap_up: float


def timed(name: str, batch: BatchOptions, panel: Path, output: Path) -> tuple[Row, Path]:
    start_unix, start = time.time(), time.perf_counter()
    summary = run_batch(batch, panel, output)
    wall = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(summary.to_text())
    index = read_index(output)
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    begin = ((pd.to_datetime(index["started_utc"]) - epoch) / pd.Timedelta(seconds=1)).to_numpy()
    busy = index["seconds"].to_numpy() + index["load_seconds"].to_numpy()
    index = index.assign(begin=begin, end=begin + busy, busy=busy)
    gaps = 0.0
    for _, jobs in index.groupby("worker"):
        gaps += jobs["end"].max() - jobs["begin"].min() - jobs["busy"].sum()
    row = Row(
        name,
        wall,
        startup=float(index["begin"].min() - start_unix),
        overhead=gaps / len(index),
        wrap_up=float(start_unix + wall - index["end"].max()),
    )
    return row, summary.results_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--countries", type=int, default=30)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--years", type=int, default=8)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10 products: 40 jobs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    products = 10 if args.quick else args.products
    ceiling = machine_scaling()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        panel = build_panel(args.countries, products, args.years, folder)
        loop_s, n_jobs = plain_loop(panel, options("serial", args.window))
        row, serial_path = timed("serial", options("serial", args.window), panel, folder / "s")
        rows.append(row)
        reference = pd.read_parquet(serial_path)

        def parallel(name: str, batch: BatchOptions) -> None:
            row, path = timed(name, batch, panel, folder / str(len(rows)))
            pd.testing.assert_frame_equal(pd.read_parquet(path), reference, check_exact=True)
            rows.append(row)

        parallel("joblib", options("joblib", args.window))
        parallel("dask (own cluster)", options("dask", args.window))
        with LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster:
            address = cluster.scheduler_address
            parallel("dask (running cluster)", options("dask", args.window, scheduler=address))
            machinery = [
                timed(name, batch, panel, folder / f"noop{i}")[0]
                for i, (name, batch) in enumerate(
                    [
                        ("serial", options("serial", args.window, job="noop")),
                        ("joblib", options("joblib", args.window, job="noop")),
                        (
                            "dask (running cluster)",
                            options("dask", args.window, job="noop", scheduler=address),
                        ),
                    ]
                )
            ]

    rows_per_fit = args.countries * (args.countries - 1) * args.window
    print(
        f"\n{n_jobs} PPML fits ({args.countries} countries, {products} products x rolling "
        f"{args.window}-year windows of {args.years} years; {rows_per_fit} rows each); "
        f"{os.cpu_count()} CPU cores"
    )
    print(f"machine: a pure-Python loop runs {ceiling:.2f}x faster in 2 processes than in 1")
    print(f"plain loop of the fits: {loop_s:.2f} s ({loop_s / n_jobs * 1000:.1f} ms per fit)\n")
    serial_s = rows[0].wall
    header = f"{'run':<24}{'wall s':>8}{'speed-up':>10}{'start-up s':>12}"
    print(header + f"{'overhead/job ms':>17}{'wrap-up s':>11}")
    for r in rows:
        print(
            f"{r.name:<24}{r.wall:>8.2f}{serial_s / r.wall:>9.2f}x{r.startup:>12.2f}"
            f"{r.overhead * 1000:>17.1f}{r.wrap_up:>11.2f}"
        )
    print("\nresults.parquet identical to the serial run for every backend")
    print(f"\nthe batch machinery alone: {n_jobs} jobs that do nothing")
    print(f"{'run':<24}{'wall s':>8}{'start-up s':>12}{'per job ms':>12}")
    for r in machinery:
        per_job = (r.wall - r.startup - r.wrap_up) / n_jobs
        print(f"{r.name:<24}{r.wall:>8.2f}{r.startup:>12.2f}{per_job * 1000:>12.1f}")


if __name__ == "__main__":
    main()
