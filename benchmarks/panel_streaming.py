"""Streaming vs in-memory ``gravity panel`` on synthetic BACI worlds (time and peak memory).

    python benchmarks/panel_streaming.py                    # both parts below
    python benchmarks/panel_streaming.py --skip-big         # the comparison only
    python benchmarks/panel_streaming.py --root DIR --keep  # worlds in DIR, kept afterwards

1. **Comparison**: one world (``--countries`` x ``--products`` x ``--years``, default
   200 x 1,000 x 5 HS-6 products), ``gravity panel`` with ``data.streaming: false`` (the
   in-memory build) and ``true``, alternating ``--repeats`` times; each run in its own
   subprocess, its wall time and peak resident memory (the process tree, sampled, and
   ``RUSAGE_CHILDREN``), as :mod:`world_scale` measures them. The two ``panel.parquet`` files
   are checked to hold the same rows.
2. **Big**: the streaming build alone on the 20-year HS-6 world of the world-scale issue
   (``--big-countries`` x ``--big-products`` x ``--big-years``, default 200 x 5,000 x 20,
   about 7 GB of CSV), which the in-memory build (~125 bytes a row) could not hold in 24 GB.

Both use zeros kept implicit (``zeros.max_rows: 0``), the path BACI takes. The worlds are
written under ``--root`` (default: a temporary folder) and removed at the end unless ``--keep``.
Printed: the 1-minute load average before and after each part, one row per run, the ratio
streaming / in-memory (time and memory). Goal: the big world's peak well under 24 GB (<= 8 GB).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from world_scale import GRAVITY, load_average, run_step


def generate(root: Path, name: str, countries: int, products: int, years: int,
             limit: dict[str, float]) -> Path:
    """Write one world; returns its folder."""
    world = root / name
    result = run_step([*GRAVITY, "data", "synthetic", "baci", "--dest", str(world),
                       "--countries", str(countries), "--products", str(products), "--years",
                       str(years), "--quiet"], root, **limit)
    size = sum(p.stat().st_size for p in world.glob("BACI_*.csv")) / 1e9
    print(f"  generate {name}: {result['seconds']:.0f} s, {result['peak_mb']:.0f} MB, "
          f"{size:.2f} GB of CSV ({result['status']})", flush=True)
    if result["status"] != "ok":
        raise SystemExit(f"generation failed: {result['status']}")
    return world


def config(world: Path, streaming: bool, budget: float) -> Path:
    """A panel config of ``world`` with implicit zeros and the streaming option set."""
    text = (world / "panel.yaml").read_text()
    mode = "stream" if streaming else "memory"
    text = text.replace("output: out", f"output: out_{mode}").replace(
        "zeros: auto",
        f"zeros: {{mode: auto, max_rows: 0}}\n  streaming: {{enabled: {str(streaming).lower()}, "
        f"memory_budget_gb: {budget}}}",
    )
    path = world / f"panel_{mode}.yaml"
    path.write_text(text)
    return path


def panel_run(world: Path, streaming: bool, budget: float,
              limit: dict[str, float]) -> dict[str, Any]:
    """``gravity panel`` once; seconds, peak MB, rows and the streaming counts."""
    path = config(world, streaming, budget)
    result = run_step([*GRAVITY, "panel", path.name, "--quiet", "--force"], world, **limit)
    out = world / f"out_{'stream' if streaming else 'memory'}"
    manifest = out / "manifest.json"
    steps = {s["name"]: s for s in json.loads(manifest.read_text())["steps"]} if (
        manifest.is_file()) else {}
    result["rows"] = steps.get("panel: read baci", {}).get("rows_out")
    result["counts"] = steps.get("panel: streaming", {}).get("counts", {})
    result["file"] = out / "panel" / "panel.parquet"
    return result


def show(label: str, result: dict[str, Any]) -> None:
    counts = result["counts"]
    extra = (f"{counts.get('pieces')} pieces (largest {counts.get('largest_piece_rows'):,}), "
             f"{counts.get('buckets')} buckets (largest {counts.get('largest_bucket_rows'):,})"
             if counts else "")
    rows = f"{result['rows']:,}" if result["rows"] else "-"
    print(f"  {label:<10} {result['seconds']:8.1f} s {result['peak_mb']:8.0f} MB  rows {rows}"
          f"  {result['status']}  {extra}", flush=True)


def same_rows(a: Path, b: Path) -> bool:
    """Whether two panel files hold the same rows (compared row group by row group)."""
    import pyarrow.parquet as pq

    one, two = pq.ParquetFile(a), pq.ParquetFile(b)
    if one.metadata.num_row_groups != two.metadata.num_row_groups:
        return False
    return all(one.read_row_group(i).equals(two.read_row_group(i))
               for i in range(one.metadata.num_row_groups))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--countries", type=int, default=200)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--big-countries", type=int, default=200)
    parser.add_argument("--big-products", type=int, default=5000)
    parser.add_argument("--big-years", type=int, default=20)
    parser.add_argument("--budget", type=float, default=4.0, help="memory_budget_gb")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-comparison", action="store_true")
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per step")
    parser.add_argument("--max-gb", type=float, default=16.0, help="memory guard per step")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="panel_streaming_")) if args.root is None else args.root
    root.mkdir(parents=True, exist_ok=True)
    limit = {"timeout": args.timeout, "max_mb": args.max_gb * 1000}
    try:
        if not args.skip_comparison:
            print(f"comparison: {args.countries} countries x {args.products} products x "
                  f"{args.years} years; {load_average()}", flush=True)
            world = generate(root, "world_compare", args.countries, args.products, args.years,
                             limit)
            runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            for _ in range(args.repeats):
                for streaming in (False, True):  # alternating, the peer in the same run
                    runs[streaming].append(panel_run(world, streaming, args.budget, limit))
                    show("streaming" if streaming else "in-memory", runs[streaming][-1])
            best = {k: min(r["seconds"] for r in v) for k, v in runs.items()}
            peak = {k: max(r["peak_mb"] for r in v) for k, v in runs.items()}
            same = same_rows(runs[False][-1]["file"], runs[True][-1]["file"])
            print(f"  streaming / in-memory: time x{best[True] / best[False]:.2f} (best of "
                  f"{args.repeats}), peak memory x{peak[True] / peak[False]:.2f}; same rows: "
                  f"{same}; {load_average()}", flush=True)
            if not args.keep:
                shutil.rmtree(world)
        if not args.skip_big:
            print(f"big: {args.big_countries} countries x {args.big_products} products x "
                  f"{args.big_years} years, streaming only; {load_average()}", flush=True)
            world = generate(root, "world_big", args.big_countries, args.big_products,
                             args.big_years, limit)
            result = panel_run(world, True, args.budget, limit)
            show("streaming", result)
            if result["file"].is_file():
                size = result["file"].stat().st_size / 1e9
                print(f"  panel.parquet {size:.2f} GB; {load_average()}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
