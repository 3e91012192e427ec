"""The chunked forecast potential (``model: forecast``): BACI-scale world, and the demo both ways.

    python benchmarks/forecast_chunks.py --world DIR        # 200 countries x 500 HS6 x 5 years
    python benchmarks/forecast_chunks.py --world DIR --products 1000 --skip-demo
    python benchmarks/forecast_chunks.py --skip-world --repeats 3   # the demo only

**World** (``--world``): a BACI-format world from ``gravity data synthetic baci`` (generated in
DIR when it is not there yet), and ``gravity potential`` with ``model: forecast`` in product
chunks (``backend: local``) for one exporter and for every exporter (each run builds the panel
first, as ``gravity potential`` does). Per run: wall time, peak resident memory of the process
tree, rows, and from
``potential/summary.json`` the time of the forecast's global tables, training sample, model fit
(training: the three together) against pass 3 (scoring every chunk), and the training rows.

**Demo** (``configs/demo.yaml``, 60 countries x 200 products, eight years): the same potential
with ``model: forecast``, unchunked and chunked (``chunks: {products: 25}``), taking turns
``--repeats`` times, each run in its own process. The demo's training blocks are above the
per-block cap, so the two train on different draws of the same design; the agreement of the
outputs is printed (rank correlation of ``potential``, mean entry probability).

The 1-minute load average is printed before every run: the machine is shared and timings are
indicative. Steps run in subprocesses under a memory guard (``--max-gb``) and a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from world_scale import GRAVITY, run_step  # noqa: E402


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _summary(out: Path) -> dict[str, Any]:
    path = out / "potential" / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _describe(result: dict[str, Any], out: Path) -> str:
    if result["status"] != "ok":
        return result["status"]
    info = _summary(out).get("chunks", {})
    training = sum(
        float(info.get(k, 0.0))
        for k in ("forecast_tables_seconds", "forecast_sample_seconds", "forecast_fit_seconds")
    )
    rows = info.get("forecast_training_rows", {})
    return (
        f"{info.get('chunks')} chunks; ease {info.get('ease_seconds')} s, pass 1 "
        f"{info.get('fit_seconds')} s, forecast training {training:.1f} s (tables "
        f"{info.get('forecast_tables_seconds')} s, sample {info.get('forecast_sample_seconds')} s,"
        f" fit {info.get('forecast_fit_seconds')} s; {rows} rows of "
        f"{info.get('forecast_sampled_from'):,} candidates), scoring {info.get('score_seconds')} "
        f"s; {_summary(out).get('rows', 0):,} rows"
    )


def bench_world(args: argparse.Namespace) -> None:
    world = args.world
    limit = {"timeout": args.timeout, "max_mb": args.max_gb * 1000}
    if not (world / "panel.yaml").is_file():
        print(f"generating the world ({load()})", flush=True)
        gen = run_step(
            [*GRAVITY, "data", "synthetic", "baci", "--dest", str(world), "--countries",
             str(args.countries), "--products", str(args.products), "--years", str(args.years),
             "--seed", "0", "--quiet"],
            world.parent, **limit,
        )
        print(f"  generate {gen['seconds']:.1f} s, {gen['peak_mb']:.0f} MB: {gen['status']}")
        config = world / "panel.yaml"
        text = config.read_text().replace("zeros: auto", "zeros: {mode: auto, max_rows: 0}")
        config.write_text(text)
    codes = next(world.glob("country_codes_*.csv")).read_text("latin-1").splitlines()
    exporter = args.exporter or codes[1].rsplit(",", 1)[1].strip('"')
    for label, exporters in ((f"one exporter ({exporter})", [exporter]), ("all exporters", None)):
        name = "out_forecast_" + ("one" if exporters else "all")
        config = yaml.safe_load((world / "panel.yaml").read_text())
        config["output"] = name
        config["potential"] = {
            "horizon": 2,
            "window": 3,
            "model": "forecast",
            "chunks": {"backend": "local"},
            **({"exporters": exporters} if exporters else {}),
        }
        path = world / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"potential, model: forecast, {label} ({load()})", flush=True)
        out = world / name
        result = run_step([*GRAVITY, "potential", path.name, "--quiet", "--force"], world, **limit)
        print(f"  {result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB; "
              f"{_describe(result, out)}", flush=True)


def _demo_config(work: Path, name: str, chunks: dict[str, Any] | None) -> Path:
    config = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    config["output"] = str(work / f"out_{name}")
    config["data"]["synthetic"]["folder"] = str(ROOT / "data" / "demo")
    config["potential"]["model"] = "forecast"
    if chunks is not None:
        config["potential"]["chunks"] = chunks
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def bench_demo(args: argparse.Namespace) -> None:
    import pandas as pd

    work = Path(tempfile.mkdtemp(prefix="forecast_chunks_"))
    limit = {"timeout": args.timeout, "max_mb": args.max_gb * 1000}
    configs = {
        "unchunked": _demo_config(work, "unchunked", None),
        "chunked": _demo_config(work, "chunked", {"products": 25, "progress": False}),
    }
    times: dict[str, list[float]] = {k: [] for k in configs}
    frames: dict[str, pd.DataFrame] = {}
    for repeat in range(args.repeats):
        for name, path in configs.items():
            before = load()
            result = run_step([*GRAVITY, "potential", str(path), "--quiet", "--force"], work,
                              **limit)
            times[name].append(result["seconds"])
            print(f"  {repeat + 1} {name:<10} {result['seconds']:7.1f} s "
                  f"{result['peak_mb']:6.0f} MB ({before}) {result['status']}", flush=True)
            if result["status"] == "ok":
                frames[name] = pd.read_parquet(work / f"out_{name}" / "potential" /
                                               "opportunities.parquet")
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"demo medians: unchunked {med['unchunked']:.1f} s, chunked {med['chunked']:.1f} s "
          f"(x{med['chunked'] / med['unchunked']:.2f})")
    if len(frames) == 2:
        keys = ["exporter", "importer", "product"]
        both = frames["unchunked"].merge(frames["chunked"], on=keys, suffixes=("_u", "_c"))
        corr = both["potential_u"].rank().corr(both["potential_c"].rank())
        print(f"  agreement: {len(both):,} of {len(frames['unchunked']):,} cells; rank "
              f"correlation of potential {corr:.4f}; mean entry probability "
              f"{both['entry_probability_u'].mean():.4f} unchunked, "
              f"{both['entry_probability_c'].mean():.4f} chunked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=None, help="the BACI world's folder")
    parser.add_argument("--countries", type=int, default=200)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--exporter", default=None, help="ISO3 of the one exporter")
    parser.add_argument("--repeats", type=int, default=2, help="demo runs of each kind")
    parser.add_argument("--skip-world", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per step")
    parser.add_argument("--max-gb", type=float, default=12.0, help="memory guard per step")
    args = parser.parse_args()
    print(f"start ({load()}; {os.cpu_count()} cores)")
    if not args.skip_world:
        if args.world is None:
            parser.error("--world DIR is needed (or --skip-world)")
        args.world = args.world.resolve()
        bench_world(args)
    if not args.skip_demo:
        bench_demo(args)
    print(f"end ({load()})")


if __name__ == "__main__":
    main()
