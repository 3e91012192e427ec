"""Run a batch in its own process: ``python -m tests.batch.batch_script PANEL OUTPUT [options]``.

Used by the kill and lock tests; the grid is :func:`tests.batch.conftest.batch_options` with job
kind ``slow_fit``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gravity.batch.runner import run_batch
from tests.batch import kinds  # noqa: F401  (registers the test job kinds)
from tests.batch.conftest import batch_options


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("panel", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--backend", default="serial")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    options = batch_options(job="slow_fit", backend=args.backend, n_workers=2)
    summary = run_batch(options, args.panel, args.output, resume=args.resume)
    print(summary.to_text())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
