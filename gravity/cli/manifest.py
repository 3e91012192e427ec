"""The run manifest: what ran, on what inputs, with which versions, and what each step removed."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from gravity._base import Step
from gravity._version import __version__

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
class RunManifest:
    """Collects everything ``manifest.json`` records while a run goes on."""

    command: str
    config: dict[str, Any]
    config_path: str | None = None
    seed: int | None = None
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
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

    def add_steps(self, steps: Iterable[Step], prefix: str = "") -> None:
        """Record the steps of a stage (names prefixed, e.g. ``"panel: "``)."""
        self.steps.extend(step.manifest_dict(prefix) for step in steps)

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
            "steps": list(self.steps),
            "outputs": self.outputs,
        }

    def write(self, folder: Path) -> Path:
        """Write ``manifest.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "manifest.json"
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        return path
