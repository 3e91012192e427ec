"""The run manifest: what ran, on what inputs, with which versions, and what each step removed."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from gravity._base import Step
from gravity._version import __version__
from gravity.layout import OutputLayout

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


@dataclass(frozen=True)
class StageOutput:
    """What one CLI stage did: the files it wrote (by name), its steps, the files it read.

    Every stage returns one; :meth:`RunManifest.record` turns it into manifest entries.
    """

    files: Mapping[str, Path]
    steps: tuple[Step, ...] = ()
    inputs: tuple[tuple[Path, str], ...] = ()
    """Files read, with their role (``trade``, ``covariate``, ...)."""
    console: str | None = None
    """Text the command prints when the stage is done (e.g. the regression table)."""
    digests: Mapping[Path, str] = field(default_factory=dict)
    """sha256 of files the stage hashed already (by resolved path): not read again."""
    sections: Mapping[str, Any] = field(default_factory=dict)
    """Top-level manifest entries the stage adds (``panel``: built or reused, and why)."""


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
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds of each stage (panel, fit, ..., report), in the order they ran."""
    started: float = field(default_factory=time.time)
    status: str = "running"
    error: str | None = None
    sections: dict[str, Any] = field(default_factory=dict)
    """Entries stages add at the top level (``panel``: built or reused)."""

    def add_input(self, path: Path, role: str, digest: str | None = None) -> None:
        """Record an input file with its sha256 (``digest`` when known) and size."""
        resolved = path.resolve()
        if str(resolved) in self.inputs:
            return
        self.inputs[str(resolved)] = {
            "role": role,
            "sha256": digest or sha256_file(resolved),
            "bytes": resolved.stat().st_size,
        }

    def add_output(self, path: Path, root: Path, digest: str | None = None) -> None:
        """Record an output file (relative to the output folder) with its sha256."""
        self.outputs[str(path.relative_to(root))] = digest or sha256_file(path)

    def record(self, output: StageOutput, root: Path, prefix: str = "") -> None:
        """Record a stage's inputs, steps (names prefixed) and files written under ``root``."""
        for path, role in output.inputs:
            self.add_input(path, role, output.digests.get(path.resolve()))
        self.add_steps(output.steps, prefix)
        for path in output.files.values():
            self.add_output(path, root, output.digests.get(path.resolve()))
        self.sections.update(output.sections)

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
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "outputs": self.outputs,
            **self.sections,
        }

    def write(self, folder: Path) -> Path:
        """Write ``manifest.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = OutputLayout(folder).manifest
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        return path
