"""Panel-builder benchmark: one BACI-sized year to a harmonized HS4 panel, against bare DuckDB.

    python benchmarks/panel_baci.py                  # 11 million rows (~370 MB), as in BACI
    python benchmarks/panel_baci.py --rows 1000000   # a quicker run
    python benchmarks/panel_baci.py --keep DIR       # keep the generated file and outputs in DIR
    python benchmarks/panel_baci.py --repeat 3       # best of 3 runs each (on a busy machine)

A BACI-format file (``t,i,j,k,v,q``; ~200 countries with BACI/ISO numeric codes, ~5,000 HS6
products in ~1,200 HS4 headings, ``k`` written without its leading zero and ``q`` quoted with
``NA`` where unknown, as CEPII writes them) is generated in a temporary folder with BACI's
``country_codes`` file. Then, each in its own subprocess so that peak memory is its own:

* **duckdb**: the bare query: scan the CSV and sum ``v`` by year, exporter, importer and HS4
  heading, into memory;
* **gravity**: ``gravity panel`` on a config reading that file at ``product_level: hs4``: read,
  validate (types, negative values, duplicate flows), harmonize the numeric codes to ISO3
  through BACI's table, aggregate, count the zero flows (kept implicit: 200 x 200 x 1,200 HS4
  is ~48 million cells), write ``panel.parquet`` with its metadata and the manifest (which hashes
  the 370 MB input);
* **zeros**: what filling the zeros costs: :meth:`Panel.dense` for 100 products, then for all.

Printed: wall time, peak resident memory, rows out, and the ratio gravity / duckdb (target: at
most 2x, and under 2 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
YEAR = 2021
NAME = f"BACI_HS92_Y{YEAR}_V202401b.csv"
CODES = "country_codes_V202401b.csv"


def generate(folder: Path, rows: int, seed: int = 0) -> Path:
    """Write a BACI-format file of ``rows`` flows (and BACI's country-code table) in ``folder``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from gravity.panel.countries import country_table

    rng = np.random.default_rng(seed)
    table = country_table()
    iso = table.loc[(table["status"] == "iso") & table["numeric"].notna()]
    chosen = iso.sample(200, random_state=seed).sort_values("numeric")
    nums = chosen["numeric"].astype(int).to_numpy()
    lines = ['"country_code","country_name","country_iso2","country_iso3"']
    lines += [
        f'{n},"{name}","{a2}","{a3}"'
        for n, name, a2, a3 in zip(
            nums,
            chosen["name"].str.replace('"', "'"),
            chosen["iso2"].fillna(""),
            chosen["iso3"],
            strict=True,
        )
    ]
    (folder / CODES).write_text("\n".join(lines) + "\n", encoding="latin-1", errors="replace")
    chapters = np.array([c for c in range(1, 98) if c != 77])
    per_chapter = rng.multinomial(1220 - len(chapters), np.full(len(chapters), 1 / len(chapters)))
    headings = np.concatenate(
        [c * 100 + np.arange(1, n + 2) for c, n in zip(chapters, per_chapter, strict=True)]
    )
    subs = rng.integers(1, 9, len(headings))
    products = np.concatenate(
        [
            h * 100 + np.sort(rng.choice(np.arange(10, 100), s, replace=False))
            for h, s in zip(headings, subs, strict=True)
        ]
    )[:5000]
    n_c, n_p = len(nums), len(products)
    size_c = rng.lognormal(0, 0.8, n_c)
    size_p = rng.lognormal(0, 0.5, n_p)
    draws = int(rows * 1.25) + 1000
    i = rng.choice(n_c, draws, p=size_c / size_c.sum())
    j = rng.choice(n_c, draws, p=size_c / size_c.sum())
    k = rng.choice(n_p, draws, p=size_p / size_p.sum())
    key = np.unique(((i.astype(np.int64) * n_c + j) * n_p + k)[i != j])
    if len(key) < rows:
        raise SystemExit(f"could only draw {len(key)} distinct flows; ask for fewer rows")
    key = np.sort(rng.permutation(key)[:rows])
    k, ij = key % n_p, key // n_p
    j, i = ij % n_c, ij // n_c
    q_text = pa.array(np.round(rng.lognormal(0.0, 2.5, rows), 3)).cast(pa.string())
    q_text = pc.if_else(pa.array(rng.uniform(size=rows) < 0.03), pa.scalar("NA"), q_text)
    data = pa.table(
        {
            "t": pa.array(np.full(rows, YEAR, np.int32)),
            "i": pa.array(nums[i].astype(np.int32)),
            "j": pa.array(nums[j].astype(np.int32)),
            "k": pa.array(products[k].astype(np.int32)),
            "v": pa.array(np.round(rng.lognormal(2.0, 2.5, rows), 3)),
            "q": q_text,
        }
    )
    path = folder / NAME
    pacsv.write_csv(data, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path


def peak_mb() -> float:
    """Peak resident memory of this process, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_duckdb(folder: Path) -> dict[str, float]:
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    result = con.execute(
        f"""
        SELECT t, i, j, substr(lpad(k, 6, '0'), 1, 4) AS k4, sum(v) * 1000 AS value
        FROM read_csv('{folder / NAME}', header = true,
                      columns = {{'t': 'INTEGER', 'i': 'INTEGER', 'j': 'INTEGER', 'k': 'VARCHAR',
                                 'v': 'DOUBLE', 'q': 'VARCHAR'}})
        GROUP BY ALL
        """
    ).to_arrow_table()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": result.num_rows,
        "peak_mb": peak_mb(),
        "value": float(result.column("value").to_numpy().sum()),
    }


def write_config(folder: Path) -> Path:
    config = folder / "panel.yaml"
    config.write_text(
        "output: out\n"
        "data:\n"
        "  trade:\n"
        "    kind: baci\n"
        f"    paths: [{NAME}]\n"
        f"    country_codes: {CODES}\n"
        "    product_level: hs4\n"
        "  zeros: auto\n"
    )
    return config


def run_gravity(folder: Path) -> dict[str, float]:
    from gravity.cli import commands  # noqa: F401 - imported before timing, as duckdb is
    from gravity.cli.main import main

    config = write_config(folder)
    start = time.perf_counter()
    code = main(["panel", str(config), "--quiet"])
    seconds = time.perf_counter() - start
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    zeros = steps.get("panel: zeros", {})
    return {
        "seconds": seconds,
        "exit": code,
        "rows": steps["panel: read baci"]["rows_out"],
        "peak_mb": peak_mb(),
        "step_seconds": {k: v["seconds"] for k, v in steps.items()},
        "zeros_note": (zeros.get("notes") or [""])[0],
        "parquet_mb": (folder / "out" / "panel" / "panel.parquet").stat().st_size / 1e6,
    }


def run_zeros(folder: Path, all_products: bool) -> dict[str, float]:
    from gravity.panel.io import load_panel

    panel = load_panel(folder / "out" / "panel" / "panel.parquet")
    products = sorted(panel.frame["product"].unique())
    wanted = None if all_products else products[:100]
    start = time.perf_counter()
    dense = panel.dense(wanted)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": len(dense),
        "peak_mb": peak_mb(),
        "products": len(products) if wanted is None else len(wanted),
    }


def child(part: str, folder: Path) -> None:
    if part == "duckdb":
        out = run_duckdb(folder)
    elif part == "gravity":
        out = run_gravity(folder)
    else:
        out = run_zeros(folder, all_products=part == "zeros-all")
    print("RESULT " + json.dumps(out))


def spawn(part: str, folder: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", part, "--keep", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{part} failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, object] = json.loads(lines[-1][len("RESULT ") :])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=11_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run duckdb and gravity this many times each, report the best",
    )
    parser.add_argument(
        "--skip-dense-all",
        action="store_true",
        help="do not time filling every zero (48M rows at HS4)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.keep)
        return
    holder = None
    if args.keep is None:
        holder = tempfile.TemporaryDirectory(prefix="gravity-bench-")
        folder = Path(holder.name)
    else:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        path = folder / NAME
        if not path.exists():
            generate(folder, args.rows)
        print(
            f"input: {path.name}, {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
            f"(generated in {time.perf_counter() - start:.1f} s); {os.cpu_count()} CPUs"
        )
        ducks, gravs = [], []
        for _ in range(args.repeat):  # alternate, so that a busy spell hits both
            ducks.append(spawn("duckdb", folder))
            gravs.append(spawn("gravity", folder))
        duck = min(ducks, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
        grav = min(gravs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
        ratio = float(grav["seconds"]) / float(duck["seconds"])  # type: ignore[arg-type]
        if args.repeat > 1:
            print(
                f"best of {args.repeat} runs each; all runs (s): duckdb "
                + ", ".join(f"{float(r['seconds']):.2f}" for r in ducks)  # type: ignore[arg-type]
                + "; gravity "
                + ", ".join(f"{float(r['seconds']):.2f}" for r in gravs)
            )  # type: ignore[arg-type]
        print(
            f"duckdb  scan + HS4 aggregate : {duck['seconds']:6.2f} s  "
            f"peak {duck['peak_mb']:6.0f} MB  {duck['rows']:,} rows"
        )
        print(
            f"gravity panel (whole build)  : {grav['seconds']:6.2f} s  "
            f"peak {grav['peak_mb']:6.0f} MB  {grav['rows']:,} rows  "
            f"parquet {grav['parquet_mb']:.0f} MB"
        )
        print(f"ratio gravity / duckdb       : {ratio:6.2f}x   (target <= 2x, < 2,000 MB)")
        print(
            "gravity steps (s)            : "
            + ", ".join(
                f"{k.removeprefix('panel: ')} {v:.2f}" for k, v in grav["step_seconds"].items()
            )
        )  # type: ignore[union-attr]
        print(f"zeros                        : {grav['zeros_note']}")
        some = spawn("zeros-100", folder)
        print(
            f"dense(100 products)          : {some['seconds']:6.2f} s  "
            f"peak {some['peak_mb']:6.0f} MB  {some['rows']:,} rows"
        )
        if not args.skip_dense_all:
            every = spawn("zeros-all", folder)
            print(
                f"dense(all {every['products']} products)      : {every['seconds']:6.2f} s  "
                f"peak {every['peak_mb']:6.0f} MB  {every['rows']:,} rows"
            )
    finally:
        if holder is not None:
            holder.cleanup()


if __name__ == "__main__":
    main()
