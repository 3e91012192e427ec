"""Relatedness benchmark: gravity against py-ecomplexity, same input, same run, equal results.

    python benchmarks/relatedness.py                # SITC-4 world + 200 x 5,000 x 25 panel
    python benchmarks/relatedness.py --quick        # small generated panel (smoke run)
    python benchmarks/relatedness.py --peer-large   # also py-ecomplexity on one 200 x 5,000 year

Cases (each in its own subprocess, so peak memory is its own):

``sitc``
    The SITC-4 world 1998-2000 (226 countries x 785 products, ``../shared/data``), RCA through
    COG. gravity runs with py-ecomplexity's conventions (RCA >= 1, proximity diagonal 1, its
    normalization) so the two must agree; printed: best-of-N wall time of each, the ratio
    gravity / py-ecomplexity (target <= 0.2) and the largest absolute difference per measure.
``large``
    A generated world of 200 countries x 5,000 products x 25 years (positive flows only, about
    45 % of the cells), from the long table to every measure of every year (proximity matrices
    not kept). Printed: wall time (target < 60 s) and peak resident memory of the process
    (target < 4 GB), with the memory the input table itself takes.
``large-peer`` (``--peer-large``)
    One year of that world through py-ecomplexity and gravity: time ratio and equality.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRAVITY_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
SITC = SHARED / "economiccomplexity_sitc4_1998_2000" / "world_trade_avg_1998_to_2000.csv"
MEASURES = ["rca", "m", "density", "eci", "pci", "coi", "cog"]
PEER_NAMES = {"m": "mcp"}


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident memory in MB (from /proc; 0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def generated_world(n_c: int, n_p: int, n_years: int, seed: int = 11) -> pd.DataFrame:
    """Capabilities world: country ability grows, product difficulty fixed; positive flows only."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0, 1, n_c)
    growth = rng.normal(0.03, 0.02, n_c)
    difficulty = rng.normal(0, 1, n_p)
    size = rng.normal(0, 1.2, n_c)
    popularity = rng.normal(0, 1.5, n_p)
    countries = pd.Index([f"C{i:03d}" for i in range(n_c)])
    products = pd.Index([f"{j:06d}" for j in range(n_p)])
    parts = []
    for t in range(n_years):
        a = ability + growth * t
        prob = 1 / (1 + np.exp(-2.5 * (a[:, None] - difficulty[None, :])))
        present = rng.random((n_c, n_p)) < prob
        present[rng.integers(0, n_c, n_p), np.arange(n_p)] = True  # everyone's product exists
        c, p = np.nonzero(present)
        value = np.exp(12 + size[c] + popularity[p] + rng.normal(0, 1.5, c.size)).round()
        parts.append((np.full(c.size, 2000 + t, dtype=np.int32), c, p, value + 1.0))
    year, c, p, value = (np.concatenate(x) for x in zip(*parts, strict=True))
    return pd.DataFrame(
        {
            "country": pd.Categorical.from_codes(c.astype(np.int16), categories=countries),
            "product": pd.Categorical.from_codes(p.astype(np.int16), categories=products),
            "year": year,
            "value": value,
        }
    )


def _ours(data: pd.DataFrame, options: Any) -> tuple[Any, float]:
    from gravity.relatedness.model import Relatedness

    start = time.perf_counter()
    result = Relatedness(data, options).fit()
    return result, time.perf_counter() - start


def _peer(data: pd.DataFrame, cols: dict[str, str]) -> tuple[pd.DataFrame, float]:
    from ecomplexity import ecomplexity

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ecomplexity(data, cols, verbose=False, check_logsupermodularity=False)
    return out, time.perf_counter() - start


def _differences(result: Any, peer: pd.DataFrame, country: str, product: str) -> dict[str, float]:
    ours = result.country_product_frame().merge(result.country_frame(), on=["year", "country"])
    ours["country"] = ours["country"].astype(str)
    ours["product"] = ours["product"].astype(str)
    peer = peer.rename(columns={country: "country", product: "product"})
    peer["country"] = peer["country"].astype(str)
    peer["product"] = peer["product"].astype(str)
    merged = ours.merge(peer, on=["country", "product"], suffixes=("", "_peer"))
    if len(merged) != len(ours):
        raise RuntimeError(f"row mismatch: ours {len(ours)}, merged {len(merged)}")
    out = {}
    for name in MEASURES:
        theirs = merged[PEER_NAMES.get(name, f"{name}_peer")].to_numpy(dtype=float)
        out[name] = float(np.nanmax(np.abs(merged[name].to_numpy(dtype=float) - theirs)))
    return out


def _peer_options() -> Any:
    from gravity.relatedness.options import RelatednessOptions

    return RelatednessOptions(
        strict_threshold=False, proximity_diagonal="one", normalization="pyecomplexity"
    )


def case_sitc(repeats: int) -> dict[str, Any]:
    if not SITC.exists():
        return {"skipped": f"{SITC} not found"}
    data = pd.read_csv(SITC, dtype={"product": str, "country": str}).assign(year=2000)
    options = _peer_options()
    cols = {"time": "year", "loc": "country", "prod": "product", "val": "value"}
    result, _ = _ours(data, options)  # warm-up (imports, BLAS threads)
    peer, _ = _peer(data, cols)
    ours_times, peer_times = [], []
    for _ in range(repeats):  # alternate, so load from other processes hits both alike
        ours_times.append(_ours(data, options)[1])
        peer_times.append(_peer(data, cols)[1])
    return {
        "shape": "226 x 785 x 1",
        "gravity_s": min(ours_times),
        "peer_s": min(peer_times),
        "gravity_median_s": float(np.median(ours_times)),
        "peer_median_s": float(np.median(peer_times)),
        "max_abs_diff": _differences(result, peer, "country", "product"),
        "peak_mb": peak_rss_mb(),
    }


def case_large(n_c: int, n_p: int, n_years: int) -> dict[str, Any]:
    from gravity.relatedness.options import RelatednessOptions

    data = generated_world(n_c, n_p, n_years)
    base = current_rss_mb()
    result, seconds = _ours(data, RelatednessOptions(keep_proximity=False))
    eci = result.country_frame()["eci"].to_numpy()
    return {
        "shape": f"{n_c} x {n_p} x {n_years}",
        "rows": len(data),
        "gravity_s": seconds,
        "peak_mb": peak_rss_mb(),
        "rss_before_mb": base,
        "eci_finite": bool(np.isfinite(eci).all()),
    }


def case_large_peer(n_c: int, n_p: int) -> dict[str, Any]:
    data = generated_world(n_c, n_p, 1)
    data["country"] = data["country"].astype(str)
    data["product"] = data["product"].astype(str)
    options = _peer_options()
    result, _ = _ours(data, options)
    ours = min(_ours(data, options)[1] for _ in range(2))
    peer, peer_s = _peer(
        data, {"time": "year", "loc": "country", "prod": "product", "val": "value"}
    )
    return {
        "shape": f"{n_c} x {n_p} x 1",
        "gravity_s": ours,
        "peer_s": peer_s,
        "max_abs_diff": _differences(result, peer, "country", "product"),
        "peak_mb": peak_rss_mb(),
    }


def run_worker(argv: list[str]) -> dict[str, Any]:
    """Run one case in a fresh interpreter and return its JSON."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small generated panel only")
    parser.add_argument("--peer-large", action="store_true", help="py-ecomplexity on 200 x 5,000")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per tool (best of)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        case, *rest = args.worker
        sizes = [int(x) for x in rest]
        if case == "sitc":
            out = case_sitc(sizes[0])
        elif case == "large":
            out = case_large(*sizes)
        else:
            out = case_large_peer(*sizes)
        print(json.dumps(out))
        return 0

    print(f"relatedness benchmark on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    large = (50, 500, 5) if args.quick else (200, 5000, 25)
    rows = []
    if not args.quick:
        sitc = run_worker(["sitc", str(args.repeats)])
        rows.append(("SITC-4 world", sitc))
    rows.append(("generated", run_worker(["large", *map(str, large)])))
    if args.peer_large:
        rows.append(("generated, 1 year", run_worker(["large-peer", str(large[0]), str(large[1])])))

    print(f"{'case':<20}{'shape':<18}{'gravity s':>10}{'peer s':>10}{'ratio':>8}{'peak MB':>9}")
    for label, out in rows:
        if "error" in out or "skipped" in out:
            print(f"{label:<20}{out.get('error') or out.get('skipped')}")
            continue
        peer = out.get("peer_s")
        ratio = f"{out['gravity_s'] / peer:8.3f}" if peer else f"{'-':>8}"
        peer_txt = f"{peer:10.3f}" if peer else f"{'-':>10}"
        print(
            f"{label:<20}{out['shape']:<18}{out['gravity_s']:10.3f}{peer_txt}{ratio}"
            f"{out['peak_mb']:9.0f}"
        )
    for label, out in rows:
        if "max_abs_diff" in out:
            diffs = ", ".join(f"{k} {v:.1e}" for k, v in out["max_abs_diff"].items())
            print(f"{label}: max |gravity - py-ecomplexity|: {diffs}")
        if "peer_median_s" in out:
            print(
                f"{label}: medians gravity {out['gravity_median_s']:.3f} s, py-ecomplexity "
                f"{out['peer_median_s']:.3f} s (ratio "
                f"{out['gravity_median_s'] / out['peer_median_s']:.3f})"
            )
        if "rss_before_mb" in out:
            print(
                f"{label}: {out['rows']:,} input rows; the input table and interpreter take "
                f"{out['rss_before_mb']:.0f} MB of the peak; every ECI finite: "
                f"{out['eci_finite']}"
            )
    print("targets: SITC ratio <= 0.2; 200 x 5,000 x 25 under 60 s and 4,096 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
