"""World-scale benchmark: a synthetic BACI world -> ``gravity panel`` -> ``gravity potential``.

    python benchmarks/world_scale.py              # 200 countries x 500..5,000 HS6 x 5 years
    python benchmarks/world_scale.py --quick      # 40 countries x 100, 200 products x 3 years
    python benchmarks/world_scale.py --products 500,1000 --countries 200 --years 5
    python benchmarks/world_scale.py --skip-potential   # generator, panel and chunk reads only
    python benchmarks/world_scale.py --keep DIR   # keep the worlds and outputs in DIR
    python benchmarks/world_scale.py --keep DIR --reuse --products 500 --potential 1 \
        --baseline OLD_SRC --rounds 2     # the kept world; old code vs this one, alternating

For each number of products, each step runs in its own subprocess (its peak resident memory is
its own: ``resource.getrusage(RUSAGE_CHILDREN)``, the largest of the processes it waited for),
with a wall-clock limit (``--timeout``) and a memory guard (``--max-gb``: the process tree is
stopped when its resident memory passes it, so one step cannot take the shared machine down):

* **generate**: ``gravity data synthetic baci`` (:mod:`gravity.panel.synthetic_baci`);
* **duckdb**: the peer of the panel step: scan the same CSV files and write them to Parquet
  sorted by product (no validation, no ISO3 codes, no covariates);
* **panel**: ``gravity panel`` on the world's ``panel.yaml`` (read, validate, ISO3, covariates,
  zeros implicit at every size, ``zeros.max_rows: 0``, so that small worlds take the path of
  large ones; a product-sorted ``panel.parquet``);
* **chunks**: every product's cells read back with zeros filled (``PanelChunks.read(...,
  dense=True)``, about 2 million cells a chunk): the input a product-chunked potential streams;
* **potential 1** and **potential all**: ``gravity potential`` for one exporter and for every
  exporter (its time includes rebuilding the panel; the potential steps' own seconds come from
  the manifest, and chunks/s when the manifest records chunks);
* **potential all dask**: the same with ``potential.chunks: {backend: dask, workers: 2}`` (a
  local Dask cluster), when the config accepts it (the chunked potential engine);
* **potential 1 dask** and **potential 1 forecast** (``--potential dask1,forecast1``): one
  exporter on a local Dask cluster of 2 workers, and one exporter with ``model: forecast``.

``--panel-first`` runs ``gravity panel`` in each potential run's output folder first (its own
row), so that the timed ``gravity potential`` reuses that panel instead of building it; with
``--baseline`` the other code writes its own output folder (``..._baseline``), so its runs
build their panel as that code does.

``--reuse`` keeps a world (and its panel) already in ``--keep DIR`` and skips generating it,
the DuckDB peer, the panel and the chunk reads. ``--potential`` picks the potential runs (``1``,
``all``, ``dask``). ``--baseline SRC`` runs each potential step alternately with the ``gravity``
package of another source tree (``SRC/gravity``, e.g. ``git archive main``), ``--rounds`` times
each, in the same environment: the before/after comparison of one change, same world, same load.

Printed: the 1-minute load average before and after, one table row per step (seconds, peak MB,
rows, notes), the ratio panel / duckdb, and the scaling curve (time and memory vs products).
Goal of the world-scale issue on a 2-core, 24 GB machine: peak <= 8 GB, one exporter <= 5 min,
all exporters <= 30 min.
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
from typing import Any

HERE = Path(__file__).resolve().parent
GRAVITY = [sys.executable, "-m", "gravity.cli.main"]
#: Cells (zeros included) per chunk of the ``chunks`` step, as the chunked potential's default.
CHUNK_CELLS = 2_000_000


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)"


def _tree_rss(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB (0 when it has gone)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 1e6


def run_step(command: list[str], cwd: Path, timeout: float, max_mb: float,
             env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` (``env`` added to the environment); wall time, peak RSS of the
    children, and how it ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
                            start_new_session=True)
    status, tree_peak = "ok", 0.0
    while proc.poll() is None:
        tree_peak = max(tree_peak, _tree_rss(proc.pid))
        if tree_peak > max_mb:
            status = f"stopped: memory over {max_mb / 1000:.0f} GB"
        elif time.perf_counter() - start > timeout:
            status = f"stopped: over {timeout:.0f} s"
        if status != "ok":
            os.killpg(proc.pid, 9)
            break
        time.sleep(0.2)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    after, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    if status == "ok" and proc.returncode != 0:
        status = f"failed ({proc.returncode}): {(err.strip().splitlines() or [''])[-1][:120]}"
    # ru_maxrss of the children is the largest so far: it only says something when it grew
    peak = max(after / 1024 if after > before else 0.0, tree_peak)
    # CPU seconds (user + system of the finished children): what a change saves, less
    # sensitive than wall time to other work on a shared machine
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak, "status": status, "stdout": out}


def child_chunks(panel: str) -> None:
    """Subprocess body of the ``chunks`` step: read every chunk dense, print counts."""
    from gravity.panel.chunks import PanelChunks

    chunks = PanelChunks.open(Path(panel))
    start = time.perf_counter()
    rows = largest = 0
    cells = chunks.universe.cells() if chunks.universe is not None else CHUNK_CELLS
    size = min(len(chunks.products), max(1, CHUNK_CELLS * len(chunks.products) // max(cells, 1)))
    blocks = chunks.batches(size)
    for block in blocks:
        frame = chunks.read(block, dense=True)
        rows += len(frame)
        largest = max(largest, len(frame))
        del frame
    seconds = time.perf_counter() - start
    print("RESULT " + json.dumps({"rows": rows, "chunks": len(blocks), "largest": largest,
                                  "seconds": seconds, "size": size}))


def child_duckdb(folder: str) -> None:
    """Subprocess body of the ``duckdb`` step."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    target = Path(folder) / "duckdb.parquet"
    con.execute(
        f"""COPY (SELECT t, i, j, lpad(CAST(k AS VARCHAR), 6, '0') AS k, v * 1000 AS value
                  FROM read_csv('{Path(folder) / "BACI_*.csv"}', header = true,
                                columns = {{'t': 'INTEGER', 'i': 'INTEGER', 'j': 'INTEGER',
                                           'k': 'INTEGER', 'v': 'DOUBLE', 'q': 'VARCHAR'}})
                  ORDER BY k, i, j, t)
            TO '{target}' (FORMAT parquet)"""
    )
    rows = con.execute(f"SELECT count(*) FROM '{target}'").fetchone()
    print("RESULT " + json.dumps({"rows": int(rows[0]) if rows else 0}))


def _result(step: dict[str, Any]) -> dict[str, Any]:
    lines = [ln for ln in step["stdout"].splitlines() if ln.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else {}


def _manifest(out: Path) -> dict[str, Any]:
    path = out / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _potential_config(world: Path, name: str, exporters: list[str] | None,
                      backend: dict[str, Any] | None) -> Path:
    text = (world / "panel.yaml").read_text().replace("output: out", f"output: {name}")
    text += "potential:\n  horizon: 2\n  window: 3\n"
    if exporters:
        text += f"  exporters: [{', '.join(exporters)}]\n"
    for key, value in (backend or {}).items():
        text += f"  {key}: {json.dumps(value)}\n"
    path = world / f"{name}.yaml"
    path.write_text(text)
    return path


def _accepts(config: Path, cwd: Path) -> bool:
    done = subprocess.run([*GRAVITY, "validate", str(config), "--quiet"], cwd=cwd,
                          capture_output=True, text=True, check=False)
    return done.returncode == 0


def _first_exporter(world: Path) -> str:
    codes = next(world.glob("country_codes_*.csv")).read_text("latin-1").splitlines()
    return codes[1].rsplit(",", 1)[1].strip('"')


def _potential_note(out: Path) -> tuple[str, int | None]:
    manifest = _manifest(out)
    steps = [s for s in manifest.get("steps", []) if s["name"].startswith("potential")]
    seconds = sum(float(s.get("seconds", 0.0)) for s in steps)
    chunks = training = None
    for step in steps:
        counts = step.get("counts", {}) or {}
        if "chunks" in counts:
            chunks = int(counts["chunks"])
        if "forecast_training_rows" in counts:
            training = int(counts["forecast_training_rows"])
    note = f"potential steps {seconds:.1f} s"
    if chunks:
        note += f", {chunks} chunks, {chunks / max(seconds, 1e-9):.2f} chunks/s"
    if training is not None:
        note += f", {training:,} training rows"
    panel = manifest.get("panel", {})
    if panel.get("status"):
        seconds = manifest.get("stage_seconds", {}).get("panel", 0.0)
        note += f"; panel {panel['status']} ({seconds:.1f} s)"
    rows = next((s["rows_out"] for s in reversed(steps)), None)
    summary = out / "potential" / "summary.json"
    info = json.loads(summary.read_text()).get("chunks", {}) if summary.is_file() else {}
    # where the potential's time goes: pass 1 (fits), pass 3 (scores), the ranking
    passes = [(k, info[f"{k}_seconds"]) for k in ("fit", "score", "rank") if f"{k}_seconds" in info]
    if passes:
        note += " (" + ", ".join(f"{k} {v:.0f} s" for k, v in passes) + ")"
    return note, rows


def bench_world(args: argparse.Namespace, root: Path, products: int) -> list[dict[str, Any]]:
    """Every step for one world of ``products`` products; one dict per table row."""
    world = root / f"world_{products}"
    limit = {"timeout": args.timeout, "max_mb": args.max_gb * 1000}
    rows: list[dict[str, Any]] = []

    def record(step: str, result: dict[str, Any], count: int | None, note: str = "") -> None:
        rows.append({"products": products, "step": step, "seconds": result["seconds"],
                     "cpu": result["cpu"],
                     "peak_mb": result["peak_mb"], "rows": count,
                     "note": note if result["status"] == "ok" else result["status"]})
        print(f"  {products:>6} {step:<16} {result['seconds']:8.1f} s {result['cpu']:8.1f} s CPU"
              f" {result['peak_mb']:8.0f} MB"
              f"  {note if result['status'] == 'ok' else result['status']}", flush=True)

    if args.reuse and (world / "out" / "panel" / "panel.parquet").is_file():
        print(f"  {products:>6} {'(reused world)':<16} {world}", flush=True)
        return rows + bench_potential(args, world, products, record)
    gen = run_step([*GRAVITY, "data", "synthetic", "baci", "--dest", str(world), "--countries",
                    str(args.countries), "--products", str(products), "--years", str(args.years),
                    "--seed", str(args.seed), "--quiet"], root, **limit)
    truth = json.loads((world / "truth.json").read_text()) if gen["status"] == "ok" else {}
    flows = sum(truth.get("rows_per_year", {}).values())
    size = sum(p.stat().st_size for p in world.glob("BACI_*.csv")) / 1e6
    record("generate", gen, flows, f"{size:,.0f} MB of CSV")
    if gen["status"] != "ok":
        return rows
    config = world / "panel.yaml"  # zeros implicit at every size: the path BACI takes
    config.write_text(config.read_text().replace("zeros: auto", "zeros: {mode: auto, max_rows: 0}"))
    duck = run_step([sys.executable, __file__, "--child", "duckdb", str(world)], world, **limit)
    record("duckdb (peer)", duck, _result(duck).get("rows"), "CSV -> Parquet sorted by k")
    panel = run_step([*GRAVITY, "panel", "panel.yaml", "--quiet", "--force"], world, **limit)
    meta_path = world / "out" / "panel" / "panel.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    parquet = world / "out" / "panel" / "panel.parquet"
    note = ""
    if parquet.is_file():
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(parquet).metadata.num_row_groups
        note = (f"{parquet.stat().st_size / 1e6:,.0f} MB, {groups} row groups, zeros "
                f"{meta.get('zeros', {}).get('mode')}; x{panel['seconds'] / duck['seconds']:.2f}"
                " duckdb")
    record("panel", panel, meta.get("rows"), note)
    if panel["status"] != "ok":
        return rows
    chunks = run_step([sys.executable, __file__, "--child", "chunks", str(parquet)], world, **limit)
    got = _result(chunks)
    note = (f"{got.get('chunks')} chunks of {got.get('size')} products, "
            f"{got.get('chunks', 0) / max(got.get('seconds', 1e-9), 1e-9):.1f} chunks/s, "
            f"largest {got.get('largest', 0):,} rows") if got else ""
    record("chunks (dense)", chunks, got.get("rows"), note)
    if args.skip_potential:
        return rows
    return rows + bench_potential(args, world, products, record)


def bench_potential(args: argparse.Namespace, world: Path, products: int,
                    record: Any) -> list[dict[str, Any]]:
    """The potential runs of ``--potential`` on one world (``--baseline``: alternating)."""
    limit = {"timeout": args.timeout, "max_mb": args.max_gb * 1000}
    exporter = args.exporter or _first_exporter(world)
    # chunked explicitly: below the automatic threshold (20M grid cells) the potential would
    # take its unchunked path, which is not what this benchmark measures
    # resume: false, or a rerun (and the other code of --baseline) would reuse the chunks
    local = {"chunks": {"backend": "local", "resume": False}}
    # a LocalCluster of 2 workers
    dask = {"chunks": {"backend": "dask", "workers": 2, "resume": False}}
    dask1 = {"chunks": {"backend": "dask", "workers": 2, "resume": False}}
    forecast = {"model": "forecast", **local}
    plans: list[tuple[str, list[str] | None, dict[str, Any] | None]] = []
    wanted = {p.strip() for p in args.potential.split(",")}
    if "1" in wanted:
        plans.append((f"potential 1 ({exporter})", [exporter], local))
    if "dask1" in wanted:
        plans.append((f"potential 1 dask ({exporter})", [exporter], dask1))
    if "forecast1" in wanted:
        plans.append((f"potential 1 forecast ({exporter})", [exporter], forecast))
    if "all" in wanted:
        plans.append(("potential all", None, local))
    if "dask" in wanted:
        plans.append(("potential all dask", None, dask))
    codes: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.baseline is not None:
        baseline = {"PYTHONPATH": str(Path(args.baseline).resolve())}
        codes = [(" [baseline]", baseline), ("", {})]
    for label, exporters, backend in plans:
        name = "out_" + label.split(" (")[0].replace(" ", "_")
        config = _potential_config(world, name, exporters, backend)
        if backend in (dask, dask1) and not _accepts(config, world):
            print(f"  {products:>6} {label:<16} n/a: this build has no "
                  "potential.chunks.backend: dask")
            continue
        if args.panel_first:
            # the panel built once in this output folder: the timed runs below reuse it
            built = run_step([*GRAVITY, "panel", config.name, "--quiet", "--force"], world,
                             **limit)
            record(f"panel ({name})", built, None, "built for the runs that reuse it")
        # the baseline writes its own folder: its panel must not replace the one reused here
        other = _potential_config(world, name + "_baseline", exporters, backend)
        for _ in range(args.rounds):
            for tag, env in codes:  # alternating: baseline, this code, baseline, ...
                target = other if tag else config
                result = run_step([*GRAVITY, "potential", target.name, "--quiet", "--force"],
                                  world, env=env, **limit)
                note, count = _potential_note(world / target.stem)
                record(label + tag, result, count, f"{note}; {load_average().split(',')[0]}")
    return []


def print_curve(rows: list[dict[str, Any]]) -> None:
    steps = list(dict.fromkeys(r["step"] for r in rows))
    products = sorted({r["products"] for r in rows})
    print("\nscaling curve (seconds / peak MB) by number of products:")
    print(f"  {'step':<24}" + "".join(f"{p:>16,}" for p in products))
    for step in steps:
        cells = []
        for p in products:
            row = next((r for r in rows if r["products"] == p and r["step"] == step), None)
            ok = row is not None and not str(row["note"]).startswith(("stopped", "failed"))
            cells.append(f"{row['seconds']:7.1f}/{row['peak_mb']:6.0f}" if ok and row else "-")
        print(f"  {step[:24]:<24}" + "".join(f"{c:>16}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", default="500,1000,2000,5000",
                        help="comma-separated numbers of products (one world each)")
    parser.add_argument("--countries", type=int, default=200)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="40 countries, 100 and 200 products, 3 years")
    parser.add_argument("--exporter", default=None, help="ISO3 of the one exporter")
    parser.add_argument("--skip-potential", action="store_true")
    parser.add_argument("--timeout", type=float, default=2400.0, help="seconds per step")
    parser.add_argument("--max-gb", type=float, default=12.0, help="memory guard per step")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument("--reuse", action="store_true",
                        help="use a world (and panel) already in --keep DIR as it is")
    parser.add_argument("--potential", default="1,all,dask",
                        help="potential runs: any of 1 (one exporter), dask1 (one exporter, "
                        "2 Dask workers), forecast1 (one exporter, model: forecast), all, dask")
    parser.add_argument("--panel-first", action="store_true",
                        help="build each potential output's panel first (untimed), so that "
                        "the timed potential runs reuse it")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="source tree of other code (SRC/gravity) run alternately")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each potential step")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, target = args.child
        child_chunks(target) if kind == "chunks" else child_duckdb(target)
        return
    if args.quick:
        args.countries, args.years, args.products = 40, 3, "100,200"
    sizes = [int(p) for p in args.products.split(",") if p.strip()]
    root = args.keep or Path(tempfile.mkdtemp(prefix="gravity-world-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"world scale: {args.countries} countries x {sizes} products x {args.years} years; "
          f"{os.cpu_count()} CPUs; {load_average()}")
    print(f"  {'prods':>6} {'step':<16} {'wall':>10} {'CPU':>14} {'peak':>11}  notes")
    rows: list[dict[str, Any]] = []
    try:
        for products in sizes:
            rows += bench_world(args, root, products)
            if args.keep is None:
                shutil.rmtree(root / f"world_{products}", ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print_curve(rows)
    print(f"\n{load_average()}")
    print("goal: peak <= 8,000 MB; potential for one exporter <= 300 s, all <= 1,800 s")


if __name__ == "__main__":
    main()
