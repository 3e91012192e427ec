"""``make fuzz``: run many generated cases through the CLI and print the count of each outcome.

Usage: ``python -m tests.fuzz.run [--cases 2000] [--seed N]``; the commands drawn are
``GRAVITY_FUZZ_COMMANDS`` (comma-separated; ``make fuzz`` adds relatedness, potential and
backtest to validate, panel and fit). Exits 1 if any case is a
traceback, an internal error, a badly formatted error, a wrong success, an accounting mismatch or
a side effect; the first few of each are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from hypothesis import HealthCheck, given, seed, settings

from tests.fuzz.cases import BAD, OUTCOMES, Case, cases, run_case


def main(argv: list[str] | None = None) -> int:
    """Run the cases; print the counts; return 1 if any bad outcome occurred."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    start = time.monotonic()

    @settings(
        max_examples=args.cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases())
    def one(case: Case) -> None:
        outcome, detail = run_case(case)
        counts[outcome] += 1
        if outcome in BAD and len(examples.setdefault(outcome, [])) < 3:
            examples[outcome].append(f"{detail}\n    {case}")

    if args.seed is not None:
        one = seed(args.seed)(one)
    one()
    total = sum(counts.values())
    print(
        f"gravity fuzz: {total:,} cases in {time.monotonic() - start:.0f} s "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    for outcome in OUTCOMES:
        print(f"  {outcome:15s} {counts[outcome]:6,}")
    for outcome, found in examples.items():
        print(f"\nfirst {outcome} cases:")
        for example in found:
            print(f"  - {example}")
    return 1 if any(counts[o] for o in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
