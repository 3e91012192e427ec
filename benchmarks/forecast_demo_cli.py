"""The demo forecast backtest and forecast potential through the CLI, against another commit.

    python benchmarks/forecast_demo_cli.py --baseline main            # 3 alternating rounds
    python benchmarks/forecast_demo_cli.py --baseline main --rounds 1 --commands backtest

Each side runs ``gravity backtest configs/forecast_demo.yaml`` (its model cache removed first,
so every model is fitted) and ``gravity potential configs/forecast_demo.yaml`` in its own
process, the way a user runs them: interpreter start-up, imports and the panel's reuse
included; the panel is built once per side beforehand (untimed). With ``--baseline REF`` the
code of commit ``REF`` (``git archive``, first on ``sys.path``) runs its own config beside this
checkout's, the sides taking turns and swapping their order every round, so that the drift of
a shared machine hits both alike. Printed per run: wall time, user and system CPU seconds of
the child (``user`` above ``wall`` means a second core was used), peak resident memory and the
1-minute load average before the run; then the medians.

The two sides' ``backtest/predictions.parquet``, ``backtest/metrics.csv`` and
``potential/opportunities.parquet`` / ``.csv`` are compared byte for byte after every round:
a speed change must not change a number. The script exits 1 when one differs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo_pipeline import LAUNCH, REPO, archive

CONFIG = Path("configs") / "forecast_demo.yaml"
OUTPUT = Path("out") / "forecast_demo"
WORLD = Path("data") / "demo"
COMMANDS = ("backtest", "potential")
# the files of each command that must be the same on both sides, byte for byte
COMPARED = {
    "backtest": ("backtest/predictions.parquet", "backtest/metrics.csv"),
    "potential": ("potential/opportunities.parquet", "potential/opportunities.csv"),
}


def run_once(source: Path, command: str) -> dict[str, float]:
    """One CLI command on the side's forecast demo config; the child's own resource usage."""
    if command == "backtest":
        shutil.rmtree(source / OUTPUT / "backtest" / "cache", ignore_errors=True)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(source), command, str(source / CONFIG), "--quiet"],
        cwd=tempfile.gettempdir(),  # not the checkout: its folder would shadow `source`
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"gravity {command} failed ({code}) with the code of {source}")
    return {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "load": load,
    }


def differing(sides: dict[str, Path], commands: list[str]) -> list[str]:
    """The compared files whose bytes differ between the two sides."""
    first, second = sides.values()
    out = []
    for command in commands:
        for name in COMPARED[command]:
            a, b = first / OUTPUT / name, second / OUTPUT / name
            if a.read_bytes() != b.read_bytes():
                out.append(name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--baseline", help="a git ref whose code runs alternately with this one")
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    args = parser.parse_args()
    print(f"1-minute load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    failed = False
    with tempfile.TemporaryDirectory(prefix="gravity-forecast-bench-") as tmp:
        sides = {"this": REPO}
        if args.baseline:
            base = archive(args.baseline, Path(tmp) / "baseline")
            if (REPO / WORLD).is_dir():
                # the same seeded synthetic world: generated once, read by both sides
                (base / WORLD).parent.mkdir(parents=True, exist_ok=True)
                (base / WORLD).symlink_to(REPO / WORLD)
            sides[args.baseline] = base
        for name, source in sides.items():
            run_once(source, "panel")  # builds (or reuses) the side's panel, untimed
            print(f"panel of {name} ready")
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for r in range(args.rounds):
            order = list(sides.items())
            if r % 2:
                order.reverse()
            for name, source in order:
                for command in args.commands:
                    run = run_once(source, command)
                    results.setdefault((command, name), []).append(run)
                    print(
                        f"round {r + 1} {command:<9} {name:<8} {run['wall']:6.1f} s wall "
                        f"{run['user']:6.1f} s user {run['sys']:5.1f} s sys "
                        f"{run['peak_mb']:7.0f} MB   (load {run['load']:.2f})",
                        flush=True,
                    )
            if len(sides) == 2:
                bad = differing(sides, args.commands)
                failed |= bool(bad)
                print(f"round {r + 1}: " + (f"DIFFER: {bad}" if bad else "outputs identical"))
    print()
    print(f"{'median':<20}{'wall':>8}{'user':>8}{'sys':>8}{'peak MB':>9}")
    for (command, name), runs in sorted(results.items()):
        med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        print(
            f"{command + ' ' + name:<20}{med['wall']:>8.1f}{med['user']:>8.1f}{med['sys']:>8.1f}"
            f"{med['peak_mb']:>9.0f}"
        )
    print(f"1-minute load average at end: {os.getloadavg()[0]:.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
