"""The run manifest: what ran, on what inputs, with which versions, and what each step removed."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from gravity import __version__

PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "numba",
    "pyarrow",
    "pydantic",
    "joblib",
    "PyYAML",
)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (BACI files are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of gravity's dependencies (``"missing"`` when not installed)."""
    out = {"gravity": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


@dataclass
class StepRecord:
    """One pipeline step: rows in and out, removals by reason, time taken."""

    name: str
    rows_in: int | None = None
    rows_out: int | None = None
    removed: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    """Informational counts (supply observed or predicted, cells separated, ...): not rows removed
    or added, so ``rows_in - sum(removed) + sum(added) == rows_out`` holds without them."""

    def balance(self, rows_in: int, rows_out: int, merged: str) -> None:
        """Set rows in and out of a step that turns rows into other rows (sums, summaries).

        The difference goes to ``removed[merged]`` (or ``added[merged]`` when the step makes more
        rows than it read), so the step's accounting balances.
        """
        self.rows_in, self.rows_out = rows_in, rows_out
        change = rows_in - sum(self.removed.values()) + sum(self.added.values()) - rows_out
        if change > 0:
            self.removed[merged] = change
        elif change < 0:
            self.added[merged] = -change


@dataclass
class RunManifest:
    """Collects everything ``manifest.json`` records while a run goes on."""

    command: str
    config: dict[str, Any]
    config_path: str | None = None
    seed: int | None = None
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    status: str = "running"
    error: str | None = None

    def add_input(self, path: Path, role: str) -> None:
        """Record an input file with its sha256 and size."""
        resolved = path.resolve()
        if str(resolved) in self.inputs:
            return
        self.inputs[str(resolved)] = {
            "role": role,
            "sha256": sha256_file(resolved),
            "bytes": resolved.stat().st_size,
        }

    def add_output(self, path: Path, root: Path) -> None:
        """Record an output file (relative to the output folder) with its sha256."""
        self.outputs[str(path.relative_to(root))] = sha256_file(path)

    def step(self, name: str) -> StepRecord:
        """Start a new step record."""
        record = StepRecord(name)
        self.steps.append(record)
        return record

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable content."""
        return {
            "gravity_version": __version__,
            "command": self.command,
            "status": self.status,
            "error": self.error,
            "started_utc": datetime.fromtimestamp(self.started, UTC).isoformat(),
            "seconds": round(time.time() - self.started, 3),
            "argv": sys.argv,
            "platform": platform.platform(),
            "config_path": self.config_path,
            "config": self.config,
            "seed": self.seed,
            "versions": package_versions(),
            "inputs": self.inputs,
            "steps": [vars(s) for s in self.steps],
            "outputs": self.outputs,
        }

    def write(self, folder: Path) -> Path:
        """Write ``manifest.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "manifest.json"
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        return path
