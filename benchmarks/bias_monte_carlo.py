"""Monte Carlo: three-way (and two-way) PPML with and without the Weidner-Zylkin correction.

    python benchmarks/bias_monte_carlo.py                 # 20 countries, 5 periods, 200 draws
    python benchmarks/bias_monte_carlo.py --countries 40  # the bias shrinks like 1/N
    python benchmarks/bias_monte_carlo.py --reps 50       # a quick run

Data-generating process (in the spirit of Weidner & Zylkin 2021, section 5): directed pairs of
distinct countries over ``T`` periods, ``lambda = exp(beta x + a_it + g_jt + h_ij)`` with normal
effects (standard deviation ``--effects-sd``), a binary regressor correlated with all three
(``x = 1`` when ``a_it + g_jt + h_ij`` plus noise is positive, as an agreement chosen by trading
partners), and outcomes with mean ``lambda`` and one of three error laws: ``poisson``
(``Poisson(5 lambda) / 5``, variance proportional to the mean), ``gamma`` (``lambda`` times an
exponential draw, variance proportional to the squared mean), ``lognormal`` (``lambda`` times a
log-normal with log-variance 1). The two-way model is run on the same worlds without pair
effects (with them it would be misspecified).

After each table: the mean estimated bias, from the fit (what the correction subtracts) and from
the same formula evaluated at the true means, which separates the formula from its plug-in.

Printed per estimator: mean bias of the coefficient (and relative to the standard deviation of
the estimates), standard deviation, mean standard error, and coverage of nominal 95% intervals.
"uncorrected" is PPML with the usual pair-clustered variance (``G / (G - 1)``); "corrected" is
``bias_correct``: coefficient minus the estimated bias, adjusted variance. The load average is
printed because other processes slow the fits (not the accuracy).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from gravity.estimation.bias import bias_correct
from gravity.estimation.ppml import Ppml
from gravity.exceptions import GravityWarning

BETA = 1.0
LEVEL = 0.95


def draw(
    rng: np.random.Generator, n: int, t: int, errors: str, sd: float, pair_effects: bool
) -> pd.DataFrame:
    ex, im, yr = np.meshgrid(np.arange(n), np.arange(n), np.arange(t), indexing="ij")
    keep = ex != im
    ex, im, yr = ex[keep], im[keep], yr[keep]
    a = rng.normal(0, sd, (n, t))[ex, yr]
    g = rng.normal(0, sd, (n, t))[im, yr]
    h = rng.normal(0, sd, (n, n))[ex, im] if pair_effects else np.zeros(len(ex))
    x = (a + g + h + rng.normal(0, sd, len(ex)) > 0).astype(float)
    lam = np.exp(BETA * x + a + g + h)
    if errors == "poisson":
        y = rng.poisson(5 * lam) / 5.0
    elif errors == "gamma":
        y = lam * rng.exponential(1.0, len(ex))
    else:
        y = lam * np.exp(rng.normal(-0.5, 1.0, len(ex)))
    return pd.DataFrame(
        {
            "exporter": ex.astype(str),
            "importer": im.astype(str),
            "year": yr,
            "y": y,
            "x": x,
            "lam": lam,
        }
    )


def summarise(name: str, est: np.ndarray, se: np.ndarray) -> dict[str, float | str]:
    crit = stats.norm.ppf(1 - (1 - LEVEL) / 2)
    covered = np.abs(est - BETA) <= crit * se
    return {
        "estimator": name,
        "mean bias": est.mean() - BETA,
        "bias / sd": (est.mean() - BETA) / est.std(ddof=1),
        "sd": est.std(ddof=1),
        "mean se": se.mean(),
        "se / sd": se.mean() / est.std(ddof=1),
        f"coverage {LEVEL:.0%}": covered.mean(),
    }


def run(
    n: int, t: int, reps: int, errors: str, sd: float, seed: int, three_way: bool
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fe = "exporter^year + importer^year" + (" + exporter^importer" if three_way else "")
    rows: dict[str, list[float]] = {k: [] for k in ("b0", "s0", "b1", "s1", "truth")}
    fit_time = corr_time = 0.0
    for _ in range(reps):
        data = draw(rng, n, t, errors, sd, three_way)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GravityWarning)
            fit = Ppml(f"y ~ x | {fe}", data).fit()
        mid = time.perf_counter()
        res = bias_correct(fit, exporter="exporter", importer="importer", time="year")
        end = time.perf_counter()
        fit_time += mid - start
        corr_time += end - mid
        frame = res.to_frame().set_index("term").loc["x"]
        rows["b0"].append(frame["uncorrected_estimate"])
        rows["s0"].append(frame["uncorrected_std_error"])
        rows["b1"].append(frame["estimate"])
        rows["s1"].append(frame["std_error"])
        # the same formula evaluated at the true means instead of the fitted ones
        at_truth = replace(fit, fitted=data["lam"].to_numpy()[fit.sample])
        rows["truth"].append(bias_correct(at_truth).bias["x"])
    table = pd.DataFrame(
        [
            summarise("uncorrected", np.array(rows["b0"]), np.array(rows["s0"])),
            summarise("corrected", np.array(rows["b1"]), np.array(rows["s1"])),
        ]
    )
    kind = "three-way" if three_way else "two-way"
    print(
        f"\n{kind}, {errors} errors: N={n} countries, T={t}, {reps} draws; "
        f"mean time per fit {fit_time / reps:.3f} s, per correction {corr_time / reps:.3f} s"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    estimated = np.mean(np.array(rows["b0"]) - np.array(rows["b1"]))
    print(
        f"estimated bias: {estimated:.4f} (from the fit), {np.mean(rows['truth']):.4f} (the "
        "formula at the true means)"
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--countries", type=int, default=20)
    parser.add_argument("--periods", type=int, default=5)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--errors", default="poisson,gamma,lognormal")
    parser.add_argument("--effects-sd", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    print(f"1-minute load average at start: {os.getloadavg()[0]:.2f}")
    for errors in args.errors.split(","):
        for three_way in (True, False):
            run(
                args.countries,
                args.periods,
                args.reps,
                errors,
                args.effects_sd,
                args.seed,
                three_way,
            )
    print(f"1-minute load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
