"""The demo pipeline end to end: wall time, CPU time, peak memory and per-stage seconds.

    python benchmarks/demo_pipeline.py                    # 3 timed runs of this checkout
    python benchmarks/demo_pipeline.py --runs 5
    python benchmarks/demo_pipeline.py --baseline main    # alternate with another commit's code
    python benchmarks/demo_pipeline.py --candidate HEAD --baseline main   # two commits
    python benchmarks/demo_pipeline.py --cold             # also a first run with empty JIT caches

Each run is ``gravity run configs/demo.yaml --force`` in its own process, the way a user runs
it: interpreter start-up and imports included, the synthetic world already cached in
``data/demo`` (an untimed warm-up run generates it and compiles the JIT kernels). Each side
runs its own ``configs/demo.yaml``, writing beside it. Wall time
and peak resident memory come from the child's resource usage (what ``/usr/bin/time -v``
reports), stage times from ``manifest.json`` (``stage_seconds``).

With ``--baseline REF`` the code of commit ``REF`` (``git archive``, in a temporary folder
first on ``sys.path``) runs its demo config on its own copy of the same world, and the two take
turns run by run, so that the drift of a shared machine hits both alike. ``--cold`` adds, for
each side, one run with a fresh numba cache folder: the first run after an install, JIT
compilation included. Printed: medians, each side's runs, and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# each side runs its own configs/demo.yaml (an older commit may not know newer keys); its
# output and cached world are then beside that config: out/demo and data/demo of the side
CONFIG = Path("configs") / "demo.yaml"
OUTPUT = Path("out") / "demo"
STAGES = ("panel", "fit", "relatedness", "potential", "backtest", "report")
# runs the CLI from the source folder given first on sys.path (the checkout itself, or an
# archived commit): the editable install would otherwise always resolve this checkout
LAUNCH = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "sys.argv[0] = 'gravity'; runpy.run_module('gravity.cli.main', run_name='__main__')"
)


def archive(ref: str, into: Path) -> Path:
    """Extract the tree of commit ``ref`` into ``into``; return the folder."""
    into.mkdir(parents=True, exist_ok=True)
    tar = into / "src.tar"
    with tar.open("wb") as handle:
        subprocess.run(["git", "archive", ref], cwd=REPO, stdout=handle, check=True)
    with tarfile.open(tar) as archive_file:
        archive_file.extractall(into / "src", filter="data")
    return into / "src"


def run_once(source: Path, numba_cache: Path | None = None) -> dict[str, float]:
    """One ``gravity run`` of the demo; wall, CPU and peak memory of the child, stage seconds."""
    env = dict(os.environ)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    command = ["run", str(source / CONFIG), "--force", "--quiet"]
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(source), *command],
        cwd=tempfile.gettempdir(),  # not the checkout: its folder would shadow `source`
        env=env,
        stdout=subprocess.DEVNULL,
    )
    # this child's own resource usage (what /usr/bin/time -v prints): CPU and peak RSS
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"gravity run failed ({child.returncode}) with the code of {source}")
    manifest = json.loads((source / OUTPUT / "manifest.json").read_text())
    out = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "load": os.getloadavg()[0],
    }
    stage_seconds = manifest.get("stage_seconds")
    if stage_seconds is None:
        # code from before stage_seconds: the steps' seconds of the stages that record them all
        stage_seconds = {
            stage: sum(
                step["seconds"] or 0.0
                for step in manifest["steps"]
                if step["name"] == stage or step["name"].startswith(f"{stage}: ")
            )
            for stage in ("panel", "fit", "potential", "backtest")
        }
    for stage, seconds in stage_seconds.items():
        out[stage] = float(seconds)
    return out


def _median(runs: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float("nan")


def table(results: dict[str, list[dict[str, float]]]) -> list[str]:
    """Medians per side: wall, CPU, each stage (seconds) and peak RSS (MB)."""
    keys = ["wall", "cpu", *STAGES, "peak_mb"]
    names = list(results)
    lines = [f"{'median':<12}" + "".join(f"{n:>12}" for n in names)]
    if len(names) == 2:
        lines[0] += f"{'ratio':>8}"
    for key in keys:
        values = [_median(results[n], key) for n in names]
        line = f"{key:<12}" + "".join(f"{v:>12.2f}" for v in values)
        if len(names) == 2 and values[1] > 0:
            line += f"{values[0] / values[1]:>8.2f}"
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side (default 3)")
    parser.add_argument("--baseline", help="a git ref whose code runs alternately with this one")
    parser.add_argument(
        "--candidate", help="measure this git ref instead of the working tree (free to edit)"
    )
    parser.add_argument("--cold", action="store_true", help="add a run with empty JIT caches")
    args = parser.parse_args()
    print(f"1-minute load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="gravity-demo-bench-") as tmp:
        sides = {"this": REPO}
        if args.candidate:
            sides = {args.candidate: archive(args.candidate, Path(tmp) / "candidate")}
        if args.baseline:
            sides[args.baseline] = archive(args.baseline, Path(tmp) / "baseline")
        for name, source in sides.items():
            run_once(source)  # warm-up: generates the world once, compiles the JIT kernels
            print(f"warm-up of {name} done")
        cold: dict[str, dict[str, float]] = {}
        if args.cold:
            for name, source in sides.items():
                cold[name] = run_once(source, Path(tmp) / f"numba-{name}")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for i in range(args.runs):
            for name, source in sides.items():
                run = run_once(source)
                results[name].append(run)
                print(
                    f"run {i + 1} {name}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU, "
                    f"load {run['load']:.2f}"
                )
    print()
    print("\n".join(table(results)))
    for name, run in cold.items():
        print(f"cold JIT cache, {name}: {run['wall']:.1f} s wall ({run.get('fit', 0):.1f} s fit)")
    print(f"1-minute load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
