"""PPML benchmark: gravity against pyfixest (and R fixest when Rscript has it), same rows, same run.

    python benchmarks/run.py                 # all panels
    python benchmarks/run.py --sizes 450k    # one synthetic panel
    python benchmarks/run.py --quick         # a small panel, for a smoke run

Each estimator runs in its own subprocess (so peak memory is its own), after a warm-up fit that
compiles JIT kernels. Printed: wall time of the fit, peak resident memory of the process, IRLS
iterations, the coefficient, and the ratios gravity / peer. Panels: synthetic structural gravity
with exporter-year, importer-year and pair fixed effects (about 450k and 1.2M rows), and the real
three-way panel ``../shared/data/penppml_trade_dta`` when present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
FORMULA = "trade ~ rta | exp_year + imp_year + pair"
SIZES = {"quick": (60, 10), "450k": (150, 20), "1.2M": (200, 30)}


def synthetic_panel(n_countries: int, n_years: int, seed: int = 1) -> pd.DataFrame:
    """Structural gravity with pair effects and agreements that switch on over time."""
    rng = np.random.default_rng(seed)
    exp_i, imp_i, year = np.meshgrid(
        np.arange(n_countries), np.arange(n_countries), np.arange(n_years), indexing="ij"
    )
    keep = exp_i != imp_i
    exp_i, imp_i, year = exp_i[keep], imp_i[keep], year[keep]
    size = rng.normal(0, 1.5, n_countries)
    growth = rng.normal(0.02, 0.02, n_countries)
    pair_effect = rng.normal(-2, 1.0, (n_countries, n_countries))
    entry = np.where(
        rng.uniform(size=(n_countries, n_countries)) < 0.3,
        rng.integers(0, n_years, (n_countries, n_countries)),
        n_years + 1,
    )
    rta = (year >= entry[exp_i, imp_i]).astype(float)
    eta = (
        size[exp_i]
        + growth[exp_i] * year
        + size[imp_i]
        + pair_effect[exp_i, imp_i]
        + 0.4 * rta
        + 12
    )
    mu = np.exp(eta)
    trade = rng.poisson(mu / 1e4) * 1e4 * rng.gamma(4, 0.25, mu.shape)
    return pd.DataFrame(
        {
            "exp_year": exp_i * 1000 + year,
            "imp_year": imp_i * 1000 + year,
            "pair": exp_i * 10_000 + imp_i,
            "rta": rta,
            "trade": trade,
        }
    )


def penppml_panel() -> pd.DataFrame | None:
    path = SHARED / "penppml_trade_dta" / "trade.parquet"
    if not path.exists():
        return None
    raw = pd.read_parquet(path)
    return pd.DataFrame(
        {
            "exp_year": raw["exp"].astype(str) + "_" + raw["time"].astype(str),
            "imp_year": raw["imp"].astype(str) + "_" + raw["time"].astype(str),
            "pair": raw["exp"].astype(str) + "_" + raw["imp"].astype(str),
            "rta": (raw["id"] > 0).astype(float),
            "trade": raw["export"],
        }
    )


def worker(package: str, data_path: str) -> None:
    """Run one estimator on one panel and print a JSON line."""
    data = pd.read_parquet(data_path)
    # warm-up (JIT compilation) on a small well-posed panel of the same shape
    warm = synthetic_panel(30, 5, seed=2)
    if package.startswith("gravity"):
        import warnings

        from gravity.estimation.ppml import Ppml, PpmlOptions, SeparationOptions

        warnings.simplefilter("ignore")
        # "gravity-fe": the same separation checks as pyfixest's default (fixed effects only)
        relu = package == "gravity"
        options = PpmlOptions(separation=SeparationOptions(regressor=relu))
        Ppml(FORMULA, warm, options=options).fit()
        start = time.perf_counter()
        res = Ppml(FORMULA, data, options=options).fit()
        seconds = time.perf_counter() - start
        coef, iters, nobs = float(res.coef["rta"]), res.iterations, res.nobs
        se = float(res.se["rta"])
    else:
        import pyfixest as pf

        try:
            pf.fepois(FORMULA, warm, vcov="hetero")
        except Exception:  # the warm-up only compiles; a failure here is not the measurement
            pass
        start = time.perf_counter()
        fit = pf.fepois(FORMULA, data, vcov="hetero")
        seconds = time.perf_counter() - start
        coef = float(fit.coef()["rta"])
        se = float(fit.se()["rta"])
        iters = int(getattr(fit, "_iter", -1) or -1)
        nobs = int(fit._N)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "package": package,
                "seconds": seconds,
                "peak_mb": peak_mb,
                "iterations": iters,
                "coef": coef,
                "se": se,
                "nobs": nobs,
            }
        )
    )


def run_worker(package: str, path: Path) -> dict[str, float] | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", package, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        errors = [ln for ln in proc.stderr.strip().splitlines() if "rror" in ln or "panic" in ln]
        print(f"  {package}: failed: {(errors or proc.stderr.strip().splitlines())[-1][:200]}")
        return None
    return dict(json.loads(lines[-1]))


def run_fixest(path: Path) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    script = f"""
suppressMessages({{library(fixest); library(arrow)}})
setFixest_nthreads(1)
d <- as.data.frame(read_parquet("{path}"))
invisible(fepois({FORMULA}, d[1:5000, ]))
t0 <- Sys.time(); e <- fepois({FORMULA}, d, vcov = "hetero"); t1 <- Sys.time()
cat(sprintf(paste0('{{"package": "fixest", "seconds": %f, "iterations": %d, ',
    '"coef": %.15g, "se": %.15g, "nobs": %d, "peak_mb": -1}}\\n'),
    as.numeric(t1 - t0, units = "secs"), e$iterations, coef(e)["rta"], se(e)["rta"], nobs(e)))
"""
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return dict(json.loads(lines[-1])) if lines else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", nargs=2, metavar=("PACKAGE", "DATA"))
    parser.add_argument("--sizes", nargs="*", default=["450k", "1.2M"], choices=list(SIZES))
    parser.add_argument("--quick", action="store_true", help="one small synthetic panel")
    parser.add_argument("--no-real", action="store_true", help="skip the penppml panel")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    panels: list[tuple[str, pd.DataFrame]] = []
    for size in ["quick"] if args.quick else args.sizes:
        n, t = SIZES[size]
        panels.append((f"synthetic {size} ({n} countries x {t} years)", synthetic_panel(n, t)))
    real = None if (args.no_real or args.quick) else penppml_panel()
    if real is not None:
        panels.append(("penppml_trade_dta (real, 3-way FE)", real))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, frame in panels:
            path = Path(tmp) / "panel.parquet"
            frame.to_parquet(path)
            print(f"{label}: {len(frame):,} rows")
            results = {}
            for package in ("gravity", "gravity-fe", "pyfixest"):
                out = run_worker(package, path)
                if out:
                    results[package] = out
                    print(
                        f"  {package:10s} {out['seconds']:8.2f} s  {out['peak_mb']:8.0f} MB  "
                        f"iter {out['iterations']:3d}  rta {out['coef']:.10f}  se {out['se']:.6g}"
                    )
            fx = run_fixest(path)
            if fx:
                results["fixest"] = fx
                print(
                    f"  fixest    {fx['seconds']:8.2f} s  iter {fx['iterations']:3d}  "
                    f"rta {fx['coef']:.10f}"
                )
            rows.append((label, len(frame), results))
    print("\nSummary (ratios gravity / pyfixest; < 1 means gravity is faster or lighter).")
    print("gravity runs ppmlhdfe's ReLU separation check by default; gravity-fe checks only")
    print("fixed-effect separation, as pyfixest and fixest do by default.")
    print(
        f"{'panel':45s} {'rows':>10s} {'time':>8s} {'memory':>8s} "
        f"{'coef rel. diff':>15s} {'vs fixest':>10s}"
    )
    for label, n, res in rows:
        p = res.get("pyfixest")
        fx = res.get("fixest")
        for name in ("gravity", "gravity-fe"):
            g = res.get(name)
            if not g:
                continue
            vs_fx = f"{g['seconds'] / fx['seconds']:.2f}" if fx else "n/a (no R)"
            title = f"{label[:33]} [{name}]"
            if not p:
                print(f"{title:45s} {n:>10,} {'(pyfixest failed)':>34s} {vs_fx:>10s}")
                continue
            diff = abs(g["coef"] - p["coef"]) / abs(p["coef"])
            print(
                f"{title:45s} {n:>10,} {g['seconds'] / p['seconds']:>8.2f} "
                f"{g['peak_mb'] / p['peak_mb']:>8.2f} {diff:>15.2e} {vs_fx:>10s}"
            )


if __name__ == "__main__":
    main()
