"""PPML benchmark: gravity against pyfixest and R fixest, same rows, same run, tools alternated.

    python benchmarks/run.py                     # every panel, 1 and 2 threads, 3 rounds
    python benchmarks/run.py --panels 450k       # one panel (450k, 1.2M, penppml, difficult)
    python benchmarks/run.py --quick             # a small panel, one round: a smoke run
    python benchmarks/run.py --relu              # also gravity's default (ReLU separation check)
    python benchmarks/run.py --baseline ../old   # also the gravity of another checkout, alternated
    python benchmarks/run.py --panels difficult --difficult-rows 2000000 --threads 1 \
        --rounds 1 --timeout 1200                # hard graph; a peer past 1200 s shows as ">="

Panels (``benchmarks/panels.py``): synthetic structural gravity with exporter-year, importer-year
and pair fixed effects (about 450k and 1.2M rows), the real three-way panel
``../shared/data/penppml_trade_dta`` when present, and a "difficult" worker–firm panel (1M rows,
100k workers, 10k firms, 5% movers: a weakly connected fixed-effect graph; ``--difficult-rows``
sets its size: fixest needs minutes per fit on it, so 2M rows takes a long run).

Each fit runs in its own subprocess (so peak memory is its own) after a warm-up fit that compiles
JIT kernels; the tools take turns round-robin within each round, so drift of the shared machine
hits all of them alike, and the table shows medians over rounds. R fixest runs through
``Rscript`` (data read with data.table, timed inside R) when ``R_LIBS_USER`` holds it; otherwise
"fixest: not installed". Threads: numba/BLAS/rayon threads for the Python tools,
``setFixest_nthreads`` for fixest.

Printed per panel and thread count: wall time of the fit, peak resident memory of the process
during the fit (the peak is reset just before it, so it includes the loaded data and libraries),
IRLS iterations, the coefficient and its heteroskedasticity-robust SE against fixest's, the
ratios gravity / fixest and gravity / pyfixest, and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from panels import (  # noqa: E402
    GRAVITY_FORMULA,
    SYNTHETIC_SIZES,
    Panel,
    build_panels,
    synthetic_panel,
    worker_firm_panel,
)

PANEL_KEYS = {"450k": "synthetic-450k", "1.2M": "synthetic-1.2M"}
WORKER_TIMEOUT_S = 1800
THREAD_VARS = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return -1.0


def _reset_peak() -> None:
    # "5" resets the peak resident set size (VmHWM) of this process (Linux >= 4.0)
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def worker(tool: str, data_path: str, formula: str, coef_name: str) -> None:
    """Run one estimator on one panel and print a JSON line."""
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")
    data = pd.read_parquet(data_path)
    if formula == GRAVITY_FORMULA:
        warm = synthetic_panel(30, 5, seed=2)
    else:
        warm = worker_firm_panel(2000, 200)
    if tool.startswith("gravity"):
        # "gravity-base": the same fit with the checkout named by --baseline (first on the path)
        import numba
        import numpy as np

        from gravity.estimation.demean import PARALLEL_MIN_OBS, demean, project_rows
        from gravity.estimation.fixed_effects import FixedEffects
        from gravity.estimation.ppml import Ppml, PpmlOptions, SeparationOptions

        # "gravity-fe": only fixed-effect separation is checked, as pyfixest and fixest do
        options = PpmlOptions(separation=SeparationOptions(regressor=tool == "gravity"))
        if tool == "gravity-base":
            options = PpmlOptions(separation=SeparationOptions(regressor=False))
        Ppml(formula, warm, options=options).fit()
        if formula != GRAVITY_FORMULA:
            # the hard graphs' fits hand over to conjugate gradients, which the small warm-up
            # fit does not reach; trade panels never do, so their process does not load them
            small = FixedEffects.from_frame(warm, [[c] for c in warm.columns[-2:]])
            demean(warm.iloc[:, 1].to_numpy(), small, solver="cg")
        if numba.get_num_threads() > 1:
            # with threads, columns are demeaned in parallel from PARALLEL_MIN_OBS rows on, a
            # size the small warm-up fit lacks: load that kernel (and start its threads) too
            n = PARALLEL_MIN_OBS
            groups = FixedEffects.from_frame(pd.DataFrame({"g": np.arange(n) % 100}), [["g"]])
            project_rows(np.ones((2, n)), groups, np.ones(n), 1e-8, 10)

        def fit() -> tuple[float, float, int, int]:
            res = Ppml(formula, data, options=options).fit()
            return float(res.coef[coef_name]), float(res.se[coef_name]), res.iterations, res.nobs

    else:
        import pyfixest as pf

        kwargs = {}
        if tool == "pyfixest-lsmr":
            from pyfixest.demeaners import LsmrDemeaner

            kwargs["demeaner"] = LsmrDemeaner()
        try:
            pf.fepois(formula, warm, vcov="hetero", **kwargs)
        except Exception:  # the warm-up only compiles; a failure here is not the measurement
            pass

        def fit() -> tuple[float, float, int, int]:
            res = pf.fepois(formula, data, vcov="hetero", **kwargs)
            iters = int(getattr(res, "_iter", -1) or -1)
            return float(res.coef()[coef_name]), float(res.se()[coef_name]), iters, int(res._N)

    _reset_peak()
    base_mb = _status_mb("VmRSS")
    start = time.perf_counter()
    coef, se, iters, nobs = fit()
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "peak_mb": _status_mb("VmHWM"), "base_mb": base_mb}
    out["iterations"] = iters
    print(json.dumps({**out, "coef": coef, "se": se, "nobs": nobs}))


def _thread_env(threads: int, baseline: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if baseline:
        # ahead of the editable install of this checkout: its `gravity` package is imported
        paths = [str(Path(baseline).resolve()), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    for var in THREAD_VARS:
        env[var] = str(threads)
    return env


def _timed_out(tool: str, timeout: float) -> dict[str, float]:
    """A fit stopped at the time cap: its time is a lower bound (printed as ">=")."""
    print(f"    {tool}: timed out after {timeout:.0f} s (reported as a lower bound)")
    nan = float("nan")
    return {"seconds": timeout, "timed_out": 1.0, "peak_mb": nan, "base_mb": nan}


def run_python(
    tool: str,
    panel: Panel,
    path: Path,
    threads: int,
    timeout: float = WORKER_TIMEOUT_S,
    baseline: str | None = None,
) -> dict[str, float] | None:
    """One fit of a Python tool in a fresh subprocess (at most ``timeout`` seconds)."""
    cmd = [sys.executable, __file__, "--worker", tool, str(path), panel.formula, panel.coef]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=_thread_env(threads, baseline if tool == "gravity-base" else None),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return _timed_out(tool, timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        errors = [ln for ln in proc.stderr.strip().splitlines() if "rror" in ln or "panic" in ln]
        tail = (errors or proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        print(f"    {tool}: failed: {tail}")
        return None
    return dict(json.loads(lines[-1]))


R_SCRIPT = r"""
suppressMessages({library(fixest); library(data.table)})
args <- commandArgs(TRUE)
setFixest_nthreads(as.integer(args[2]))
fml <- as.formula(args[3])
status_mb <- function(field) {
  s <- readLines("/proc/self/status")
  as.numeric(strsplit(trimws(sub(paste0(field, ":"), "", grep(paste0("^", field, ":"), s,
    value = TRUE))), " ")[[1]][1]) / 1024
}
d <- fread(args[1], showProgress = FALSE)
invisible(suppressWarnings(suppressMessages(try(fepois(fml, d[1:5000, ]), silent = TRUE))))
try(cat("5", file = "/proc/self/clear_refs"), silent = TRUE)
base_mb <- status_mb("VmRSS")
t0 <- Sys.time()
e <- suppressMessages(fepois(fml, d, vcov = "hetero"))
t1 <- Sys.time()
cat(sprintf(paste0('{"seconds": %.6f, "iterations": %d, "coef": %.17g, "se": %.17g, ',
    '"nobs": %d, "peak_mb": %.1f, "base_mb": %.1f}\n'), as.numeric(t1 - t0, units = "secs"),
    e$iterations, coef(e)[args[4]], se(e)[args[4]], nobs(e), status_mb("VmHWM"), base_mb))
"""


def fixest_available() -> bool:
    """Whether ``Rscript`` runs and finds fixest and data.table."""
    if shutil.which("Rscript") is None:
        return False
    probe = 'cat(all(sapply(c("fixest", "data.table"), requireNamespace, quietly = TRUE)))'
    proc = subprocess.run(["Rscript", "-e", probe], capture_output=True, text=True, check=False)
    return proc.stdout.strip() == "TRUE"


def run_fixest(
    panel: Panel, csv: Path, threads: int, timeout: float = WORKER_TIMEOUT_S
) -> dict[str, float] | None:
    """One fit of R fixest in a fresh ``Rscript`` (at most ``timeout`` seconds)."""
    # fixest caps its threads at OMP_NUM_THREADS: leave it unset
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    cmd = ["Rscript", "-e", R_SCRIPT, str(csv), str(threads), panel.formula, panel.coef]
    # Rscript runs R as a child process: on a timeout the whole process group must go
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return _timed_out("fixest", timeout)
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        print(f"    fixest: failed: {(stderr.strip().splitlines() or ['no output'])[-1]}")
        return None
    return dict(json.loads(lines[-1]))


def _median(runs: list[dict[str, float]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _fmt(value: float | None, spec: str, width: int, bound: str = "") -> str:
    if value is None or value != value:  # absent, or NaN (a fit stopped at the time cap)
        return f"{'-':>{width}s}"
    return f"{bound + format(value, spec):>{width}s}"


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Medians over the finished runs; when every run hit the time cap, the cap (a lower bound)."""
    done = [r for r in runs if not r.get("timed_out")]
    if done:
        return {k: _median(done, k) for k in done[0]}
    nan = float("nan")
    keys = ("coef", "se", "iterations", "peak_mb", "base_mb")
    capped = max(r["seconds"] for r in runs)
    return {"seconds": capped, "timed_out": 1.0, **dict.fromkeys(keys, nan)}


def summarize(panel: Panel, threads: int, runs: dict[str, list[dict[str, float]]]) -> list[str]:
    """Rows of the final table for one panel and thread count.

    A peer stopped at the time cap shows its time as ">=cap" and the ratio against it as "<=".
    """
    med = {tool: _medians(r) for tool, r in runs.items() if r}
    fx = med.get("fixest")
    lines = []
    for tool in (t for t in med if t.startswith("gravity")):
        g = med[tool]
        p = med.get("pyfixest")
        ratio_fx = g["seconds"] / fx["seconds"] if fx else None
        ratio_pf = g["seconds"] / p["seconds"] if p else None
        d_coef = abs(g["coef"] - fx["coef"]) / abs(fx["coef"]) if fx else None
        d_se = abs(g["se"] - fx["se"]) / abs(fx["se"]) if fx else None
        trio = (tool, "pyfixest", "fixest")
        mem = "/".join(_fmt(med[t]["peak_mb"], ".0f", 1) if t in med else "-" for t in trio)
        # what the fit itself adds on top of the process (libraries and loaded data)
        fit_mem = "/".join(
            _fmt(med[t]["peak_mb"] - med[t]["base_mb"], ".0f", 1) if t in med else "-" for t in trio
        )
        its = "/".join(_fmt(med[t]["iterations"], ".0f", 1) if t in med else "-" for t in trio)
        loads = [r["load"] for rs in runs.values() for r in rs]
        capped = {t: ">=" if med[t].get("timed_out") else "" for t in med}
        lo = {t: "<=" if med[t].get("timed_out") else "" for t in med}
        lines.append(
            f"{panel.key[:16]:16s} {tool:10s} {threads:>2d} "
            f"{_fmt(g['seconds'], '.2f', 7, capped[tool])} "
            f"{_fmt(p['seconds'] if p else None, '.2f', 7, capped.get('pyfixest', ''))} "
            f"{_fmt(fx['seconds'] if fx else None, '.2f', 8, capped.get('fixest', ''))} "
            f"{_fmt(ratio_fx, '.3f', 7, lo.get('fixest', ''))} "
            f"{_fmt(ratio_pf, '.3f', 7, lo.get('pyfixest', ''))} {mem:>15s} {fit_mem:>15s} "
            f"{its:>9s} {_fmt(d_coef, '.1e', 8)} {_fmt(d_se, '.1e', 8)} "
            f"{statistics.mean(loads):5.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", nargs=4, metavar=("TOOL", "DATA", "FORMULA", "COEF"))
    parser.add_argument(
        "--panels",
        nargs="*",
        default=["450k", "1.2M", "penppml", "difficult"],
        choices=["450k", "1.2M", "penppml", "difficult"],
    )
    parser.add_argument("--quick", action="store_true", help="one small panel, one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median taken)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--difficult-rows", type=int, default=1_000_000)
    parser.add_argument("--relu", action="store_true", help="also gravity's default options")
    parser.add_argument("--lsmr", action="store_true", help="also pyfixest's LSMR demeaner")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also time the gravity package of another checkout (gravity-base), alternated",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=WORKER_TIMEOUT_S,
        help="seconds one fit may take; a fit stopped there is reported as a lower bound",
    )
    parser.add_argument(
        "--tools",
        nargs="*",
        choices=["gravity", "pyfixest", "fixest"],
        default=["gravity", "pyfixest", "fixest"],
        help="which tools run (gravity stands for gravity-fe, plus gravity with --relu)",
    )
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    chosen = set(args.panels)
    sizes = ["quick"] if args.quick else [s for s in SYNTHETIC_SIZES if s in chosen]
    panels = build_panels(
        sizes,
        real="penppml" in chosen and not args.quick,
        difficult_rows=args.difficult_rows if "difficult" in chosen and not args.quick else 0,
    )
    rounds = 1 if args.quick else args.rounds
    tools = []
    if "gravity" in args.tools:
        tools += ["gravity-fe", *(["gravity"] if args.relu else [])]
        if args.baseline:
            tools.append("gravity-base")
    if "pyfixest" in args.tools:
        tools += ["pyfixest", *(["pyfixest-lsmr"] if args.lsmr else [])]
    has_r = "fixest" in args.tools and fixest_available()
    if not has_r and "fixest" in args.tools:
        print("fixest: not installed (set R_LIBS_USER to a library holding fixest and data.table)")
    print(f"1-minute load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    table: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for panel in panels:
            path, csv = Path(tmp) / f"{panel.key}.parquet", Path(tmp) / f"{panel.key}.csv"
            panel.frame.to_parquet(path)
            if has_r:
                panel.frame.to_csv(csv, index=False)
            print(f"{panel.label}: {len(panel.frame):,} rows, {panel.formula}")
            runs: dict[int, dict[str, list[dict[str, float]]]] = {
                t: {tool: [] for tool in [*tools, *(["fixest"] if has_r else [])]}
                for t in args.threads
            }
            for rnd in range(rounds):
                for threads in args.threads:
                    for tool in runs[threads]:
                        load = os.getloadavg()[0]
                        out = (
                            run_fixest(panel, csv, threads, args.timeout)
                            if tool == "fixest"
                            else run_python(tool, panel, path, threads, args.timeout, args.baseline)
                        )
                        if out is None:
                            continue
                        out["load"] = load
                        runs[threads][tool].append(out)
                        if out.get("timed_out"):
                            continue
                        print(
                            f"  round {rnd + 1} threads {threads} {tool:13s} "
                            f"{out['seconds']:8.2f} s {out['peak_mb']:7.0f} MB "
                            f"iter {out['iterations']:3.0f} {panel.coef} {out['coef']:.12f} "
                            f"se {out['se']:.10g} load {load:.2f}"
                        )
            for threads in args.threads:
                table.extend(summarize(panel, threads, runs[threads]))
    print(
        "\nMedians over rounds. Ratios < 1: gravity faster. Memory: peak resident MB of the fit's "
        "process\n(gravity/pyfixest/fixest); fit MB: that peak less the process's size "
        "before the fit. Differences: relative to fixest. Load: mean 1-minute "
        "load average\nwhile the panel ran. gravity-fe checks fixed-effect separation only, as "
        "pyfixest and fixest do;\ngravity (--relu) adds ppmlhdfe's ReLU check, its default; "
        "gravity-base: gravity-fe\nfrom the --baseline checkout."
    )
    print(
        f"{'panel':16s} {'tool':10s} {'th':>2s} {'gravity':>7s} {'pyfix':>7s} {'fixest':>8s} "
        f"{'g/fx':>7s} {'g/pf':>7s} {'peak MB g/p/f':>15s} {'fit MB g/p/f':>15s} {'iter':>9s} "
        f"{'d coef':>8s} {'d se':>8s} {'load':>5s}"
    )
    print("\n".join(table))
    print(f"1-minute load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
