"""What each chunk task of the chunked potential ships to a worker: pickled bytes per argument.

    python benchmarks/dask_payload.py                     # 100 countries x 300 products x 4 years
    python benchmarks/dask_payload.py --countries 200 --products 500 --model forecast

A synthetic BACI world is written and its panel built; ``gravity potential`` then runs in this
process with the chunk runner replaced by one that runs every task here and pickles each of its
arguments (as Dask does to send a task). Printed per pass (fits, forecast passes, scores): the
tasks, and for each argument its type, its size in the first task and whether it is the *same
object* in every task. Shared arguments are what the Dask runner scatters once to every worker
(:func:`gravity.potential.chunked.backends.task_runner`); the rest is what each task carries.
Not a timed benchmark: sizes only, on whatever load (printed anyway).
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gravity.cli.main import main as gravity
from gravity.panel.synthetic_baci import BaciWorldOptions, write_baci_world
from gravity.potential.chunked import runner


class Recorder:
    """A local runner that records the pickled size of every task argument, pass by pass."""

    def __init__(self) -> None:
        self.passes: list[dict[str, Any]] = []

    def run(self, func: Callable[..., dict[str, Any]],
            tasks: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        record: dict[str, Any] = {"func": func.__name__, "tasks": 0, "bytes": [], "first": None}
        self.passes.append(record)
        for task in tasks:
            if record["first"] is None:
                record["first"] = task  # kept alive: ids below cannot be reused
            record["tasks"] += 1
            record["bytes"].append([len(pickle.dumps(arg, protocol=5)) for arg in task])
            record.setdefault("same", [True] * len(task))
            record["same"] = [s and a is b for s, a, b in
                              zip(record["same"], record["first"], task, strict=True)]
            record.setdefault("types", [type(a).__name__ for a in task])
            yield func(*task)

    def report(self) -> None:
        print(f"  {'pass':<28} {'tasks':>5}  {'argument':<18} {'shared':>6} {'first task':>12}"
              f" {'all tasks':>12}")
        for record in self.passes:
            if not record["tasks"]:
                continue
            per_task = [sum(b) for b in record["bytes"]]
            shipped = [sum(b for b, s in zip(row, record["same"], strict=True) if not s)
                       for row in record["bytes"]]
            shared = sum(b for b, s in zip(record["bytes"][0], record["same"], strict=True) if s)
            for k, name in enumerate(record["types"]):
                total = sum(row[k] for row in record["bytes"])
                print(f"  {record['func']:<28} {record['tasks']:>5}  {name:<18} "
                      f"{'yes' if record['same'][k] else 'no':>6} "
                      f"{record['bytes'][0][k] / 1e6:>10.3f}MB {total / 1e6:>10.1f}MB")
            print(f"  {record['func']:<28} every argument in every task: "
                  f"{sum(per_task) / 1e6:,.1f} MB; scattered once: {shared / 1e6:,.1f} MB "
                  f"+ per task {max(shipped) / 1e6:,.3f} MB at most "
                  f"({sum(shipped) / 1e6:,.1f} MB in all)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--countries", type=int, default=100)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--model", choices=["gravity", "forecast"], default="gravity")
    parser.add_argument("--chunk-products", type=int, default=None,
                        help="products per chunk (default: the engine's choice)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.countries} countries x {args.products}"
          f" products x {args.years} years; model: {args.model}")
    with tempfile.TemporaryDirectory(prefix="gravity-payload-") as tmp:
        world = write_baci_world(Path(tmp), BaciWorldOptions(
            countries=args.countries, products=args.products, years=args.years, seed=0))
        config = world.config
        # backend dask: the tasks are those Dask gets (readers of the Parquet file, not rows);
        # the runner below replaces the cluster
        chunks: dict[str, Any] = {"backend": "dask", "resume": False, "progress": False}
        if args.chunk_products:
            chunks["products"] = args.chunk_products
        text = config.read_text().replace("zeros: auto", "zeros: {mode: auto, max_rows: 0}")
        text += (f"potential:\n  horizon: 1\n  window: 2\n  model: {args.model}\n"
                 f"  chunks: {chunks}\n")
        config.write_text(text)
        recorder = Recorder()

        @contextmanager
        def recording(options: Any) -> Iterator[Any]:
            yield recorder.run

        runner.task_runner = recording  # type: ignore[assignment]
        code = gravity(["potential", str(config), "--quiet"])
        if code != 0:
            raise SystemExit(code)
        recorder.report()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
