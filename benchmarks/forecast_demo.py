"""Forecast benchmark: the demo backtest and the demo potential, against the legacy models.

    python benchmarks/forecast_demo.py            # 2 alternating rounds
    python benchmarks/forecast_demo.py --rounds 3

The demo panel (synthetic, 60 countries x 200 products, 2014-2021) is built once with
``gravity panel configs/forecast_demo.yaml``. Each round times, in alternating order:

* ``forecast backtest``: the forecast backtest of the config (tasks, origins, horizons, a seeded
  50,000-candidate sample per task and origin, 40,000 training examples per model), without a
  model cache;
* ``forecast backtest (cached)``: the same with the models cached by the previous run;
* ``legacy backtest``: the potential model's old backtest (``backtest.horizon: 2``, 2 splits);
* ``forecast potential`` / ``gravity potential``: ``opportunities`` with ``model: forecast``
  and with the structural gravity model, base year 2021, horizon 2, for the config's three
  exporters and its learner settings;
* ``forecast fit + 4 chunks``: the forecast fitted once, then every cell of the panel scored in
  four product chunks (the path of product-chunked potentials).

The 1-minute load average is printed before every timing: the machine is shared, so compare
rows of the same round.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gravity.exceptions import GravityWarning
from gravity.potential.backtest import run_backtest
from gravity.potential.features import relatedness_features
from gravity.potential.forecast.backtest import run_forecast_backtest
from gravity.potential.forecast.fitted import fit_forecast
from gravity.potential.forecast.options import ForecastOptions, LearnerOptions
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.potential.pipeline import opportunities

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "forecast_demo.yaml"
PANEL = ROOT / "out" / "forecast_demo" / "panel" / "panel.parquet"
EASE = ["log(dist)", "contig", "comlang", "rta"]


def panel() -> pd.DataFrame:
    if not PANEL.exists():
        gravity = Path(sys.executable).with_name("gravity")
        subprocess.run([str(gravity), "panel", str(CONFIG)], check=True, cwd=ROOT)
    return pd.read_parquet(PANEL)


def timed(name: str, fn: Callable[[], object]) -> float:
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GravityWarning)
        fn()
    seconds = time.perf_counter() - start
    # CPU seconds of this process: on a shared machine wall time grows with the load, CPU time
    # is close to what the (single-threaded) work takes on an idle one
    cpu = time.process_time() - cpu
    print(f"  {name:<28} {seconds:7.1f} s wall {cpu:7.1f} s CPU   (load {load:.2f})", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = panel()
    rel = relatedness_features()
    print(f"demo panel: {len(data):,} rows, years {data['year'].min()}-{data['year'].max()}")
    small = LearnerOptions(max_train_rows=40_000)
    fc_opts = ForecastOptions(
        tasks=["new_flow", "level", "new_product"],
        origins=[2018, 2019],
        horizons=[2],
        max_eval_cells=50_000,
        learner=small,
        ease_terms=EASE,
    )
    pot = PotentialOptions(
        year=2021,
        horizon=2,
        window=4,
        ease_terms=EASE,
        exporters=["XAA", "XAB", "XAC"],
        learner=small,
    )
    products = sorted(data["product"].unique())
    chunks = [products[k::4] for k in range(4)]

    def chunked() -> None:
        model = fit_forecast(data, 2021, 2, pot.forecast_options(), rel)
        for chunk in chunks:
            model.score(data[data["product"].isin(chunk)])

    legacy = BacktestOptions(horizon=2, max_splits=2)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            cache = Path(tmp) / f"cache{r}"
            print(f"round {r + 1}")
            jobs = [
                (
                    "forecast backtest",
                    lambda c=cache: run_forecast_backtest(
                        data, fc_opts.model_copy(update={"cache_dir": c}), rel
                    ),
                ),
                ("legacy backtest", lambda: run_backtest(data, pot, legacy, rel)),
                (
                    "forecast backtest (cached)",
                    lambda c=cache: run_forecast_backtest(
                        data, fc_opts.model_copy(update={"cache_dir": c}), rel
                    ),
                ),
                (
                    "forecast potential",
                    lambda: opportunities(data, pot.model_copy(update={"model": "forecast"}), rel),
                ),
                ("gravity potential", lambda: opportunities(data, pot, rel)),
                ("forecast fit + 4 chunks", chunked),
            ]
            if r % 2:
                # alternate the order of the peers (the cached run must follow its first run)
                jobs = [jobs[5], jobs[4], jobs[3], jobs[1], jobs[0], jobs[2]]
            for name, fn in jobs:
                timed(name, fn)


if __name__ == "__main__":
    main()
