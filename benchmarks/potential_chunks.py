"""Chunked export potential: chunked vs unchunked on a mid-size world, and a panel at scale.

    python benchmarks/potential_chunks.py                      # mid-size world, both ways
    python benchmarks/potential_chunks.py --countries 60 --products 200
    python benchmarks/potential_chunks.py --panel out/panel/panel.parquet --exporter MEX
    python benchmarks/potential_chunks.py --panel ... --skip-all   # one exporter only

Mid-size world (the demo generator, observed flows only): the unchunked potential (one PPML over
the dense grid) and the chunked one (``backend: local``), taking turns ``--repeats`` times, each
run in its own process; the opportunities of the two are compared (largest relative difference
of ``potential``, and whether ranks are identical).

``--panel``: a panel written by ``gravity panel`` (e.g. from ``gravity data synthetic baci``),
chunked for one exporter, for every exporter (local), and for every exporter on a 2-worker Dask
``LocalCluster``. Relatedness features are not computed (the ranking uses the gravity components
only), so the times are those of the potential model itself.

Columns: wall time of the run (panel read included), peak resident memory of the process tree
(sampled every 0.2 s), chunks, chunks/s over the fit and score passes, and rows written. The
1-minute load average is printed before and after: the machine is shared, timings are
indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve()


def _peak_rss(process: subprocess.Popen[bytes]) -> float:
    """Wait for ``process``; the peak RSS (GB) of it and its children, sampled."""
    parent = psutil.Process(process.pid)
    peak = 0.0
    while process.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            total = sum(p.memory_info().rss for p in procs if p.is_running())
        except psutil.Error:
            total = 0
        peak = max(peak, total / 1e9)
        time.sleep(0.2)
    return peak


def _run(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task in a fresh process; its result with wall time and peak memory."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(HERE), "--task", json.dumps(task), "--result", str(out)]
    )
    peak = _peak_rss(process)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        return {"error": f"exit {process.returncode}", "wall": wall, "peak_gb": peak}
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return {**result, "wall": wall, "peak_gb": peak}


def _mid_world(countries: int, products: int, years: int) -> Any:
    from gravity.panel.synthetic import SyntheticWorldOptions, generate_world

    world = generate_world(
        SyntheticWorldOptions(n_countries=countries, n_products=products, n_years=years, seed=11)
    )
    panel = world.dense_trade().merge(world.pairs, on=["exporter", "importer", "year"], how="left")
    for col in ("exporter", "importer", "product"):
        panel[col] = panel[col].astype(str)
    return panel[panel["value"] > 0].reset_index(drop=True)


def _task(task: dict[str, Any]) -> dict[str, Any]:
    """The work of one process (``--task``)."""
    import warnings

    import pandas as pd

    from gravity.potential.chunked.options import ChunkOptions
    from gravity.potential.chunked.rank import rank_chunks
    from gravity.potential.chunked.runner import run_chunks
    from gravity.potential.options import PotentialOptions
    from gravity.potential.pipeline import rank_opportunities

    warnings.simplefilter("ignore")
    folder = Path(task["folder"])
    if task.get("panel"):
        panel = pd.read_parquet(task["panel"])
        for key in ("exporter", "importer", "product"):
            if not isinstance(panel[key].dtype, pd.CategoricalDtype):
                panel[key] = panel[key].astype("category")
    else:
        panel = _mid_world(task["countries"], task["products"], task["years"])
    fields: dict[str, Any] = {"horizon": 3, "window": 3}
    if task.get("exporter"):
        fields["exporters"] = [task["exporter"]]
    if task["mode"] == "unchunked":
        frame = rank_opportunities(panel, PotentialOptions.model_validate(fields)).frame
        frame.to_parquet(folder / "opportunities.parquet", index=False)
        return {"rows": len(frame), "chunks": 0, "chunks_per_s": None}
    chunks = ChunkOptions(
        products=task.get("chunk_products", "auto"),
        backend=task.get("backend", "local"),
        workers=task.get("workers", 2),
        resume=False,
        progress=False,
        csv_max_rows=0,
    )
    opts = PotentialOptions.model_validate({**fields, "chunks": chunks})
    run = run_chunks(panel, opts, folder / "chunks", None, task.get("panel_path"))
    files = rank_chunks(run, folder / "opportunities.parquet", None)
    passes = run.info["fit_seconds"] + run.info["score_seconds"]
    return {
        "rows": files.rows,
        "chunks": run.info["chunks"],
        "chunks_per_s": 2 * run.info["chunks"] / passes if passes else None,
        "info": run.info,
    }


def _compare(a: Path, b: Path) -> str:
    """How far two opportunity tables are apart (cells of potential >= 1 USD, and ranks)."""
    import pandas as pd

    keys = ["exporter", "importer", "product"]
    x, y = pd.read_parquet(a), pd.read_parquet(b)
    both = x.merge(y, on=keys, suffixes=("_a", "_b"))
    big = both["potential_a"] >= 1.0
    rel = ((both["potential_a"] - both["potential_b"]).abs() / both["potential_a"])[big]
    top_a = x[x["rank"] <= 20][keys]
    top_b = y[y["rank"] <= 20][keys]
    return (
        f"cells {len(x):,} / {len(y):,}, matched {len(both):,}; potential >= 1 USD: max rel. "
        f"diff {rel.max():.1e}, 99.9% {rel.quantile(0.999):.1e}, share > 1e-6 "
        f"{(rel > 1e-6).mean():.4f}; same rank {(both['rank_a'] == both['rank_b']).mean():.4f}; "
        f"top-20 per exporter shared {len(top_a.merge(top_b)) / max(len(top_a), 1):.4f}"
    )


def _row(label: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{label:<34} failed ({result['error']}) after {result['wall']:.1f} s"
    rate = result.get("chunks_per_s")
    return (
        f"{label:<34} {result['wall']:8.1f} s {result['peak_gb']:7.2f} GB "
        f"{result['chunks']:7d} {(f'{rate:.2f}' if rate else '-'):>9} {result['rows']:>12,}"
    )


def main() -> None:
    """Parse the arguments; run the tasks; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--countries", type=int, default=40)
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--panel", type=Path, help="panel.parquet to run at scale")
    parser.add_argument("--exporter", help="the one exporter of the --panel runs")
    parser.add_argument("--skip-all", action="store_true", help="--panel: one exporter only")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        Path(args.result).write_text(json.dumps(_task(json.loads(args.task)), default=str))
        return
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    header = f"{'run':<34} {'wall':>10} {'peak':>10} {'chunks':>7} {'chunks/s':>9} {'rows':>12}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.panel is None:
            world = {"countries": args.countries, "products": args.products, "years": args.years}
            label = f"{args.countries} x {args.products} x {args.years}"
            for repeat in range(args.repeats):
                for mode in ("unchunked", "chunked"):  # taking turns
                    folder = root / f"{mode}{repeat}"
                    folder.mkdir()
                    task = {**world, "mode": mode, "folder": str(folder)}
                    print(_row(f"{label} {mode}", _run(task)), flush=True)
            print(
                _compare(
                    root / "unchunked0" / "opportunities.parquet",
                    root / "chunked0" / "opportunities.parquet",
                )
            )
        else:
            runs = [("one exporter, local", {"exporter": args.exporter})]
            if not args.skip_all:
                runs += [
                    ("all exporters, local", {}),
                    ("all exporters, dask 2 workers", {"backend": "dask", "workers": 2}),
                ]
            for label, extra in runs:
                folder = root / label.replace(" ", "_").replace(",", "")
                folder.mkdir()
                task = {
                    "mode": "chunked",
                    "folder": str(folder),
                    "panel": str(args.panel),
                    "panel_path": str(args.panel),
                    **extra,
                }
                print(_row(label, _run(task)), flush=True)
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
