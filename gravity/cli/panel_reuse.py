"""Reuse the panel an earlier run built in the same output folder, when nothing it needs changed.

Every command builds the panel first; at HS6 that is minutes spent rewriting a file already on
disk. After a build, :func:`stamp_panel` writes ``OUTPUT/panel/build.json``: the *key* of the
build (panel format, gravity version, a digest of the panel-building code, the numpy, pandas
and pyarrow versions, the ``data:`` and ``sample:`` keys) and the sha256 and size of every
input file it read and of every file it wrote. :func:`check_panel` reuses the panel only when
all of them are unchanged.

Why content hashes and not modification times: a file copied with its times kept (``cp -p``,
``rsync -t``, a restored backup, a re-download onto the same name) has a new content under an
old time, and a touched file keeps its content under a new time; only the content says whether
the panel would come out the same. The size is a free necessary condition, checked first (a
file whose size changed is not hashed); the hash is the sufficient one. Hashing is cheap beside
a build (sha256 reads about 1 GB/s; the manifest hashed every input on every run already, and
now takes these hashes instead of reading the files twice). The panel's own files are hashed
too, so a truncated or edited ``panel.parquet`` is rebuilt, never read.

The stamp is removed before a build starts and written (to a temporary name, then renamed)
after the panel files are complete, so a build that was killed leaves no stamp and the next
run builds again. Files matched by a glob pattern in ``data:`` are listed again: a new year's
file makes a rebuild. ``data.streaming`` is not part of the key (the streamed build writes the
same rows as the in-memory one; its tests check it). The synthetic source reads no input file:
its options and seed are in the ``data:`` keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import gravity.panel
from gravity._version import __version__
from gravity.cli.manifest import sha256_file
from gravity.config.schema import RunConfig
from gravity.exceptions import GravityError
from gravity.layout import OutputLayout, temp_name
from gravity.panel.readers._common import resolve_paths

__all__ = ["PANEL_FORMAT", "ReuseCheck", "check_panel", "forget_panel", "panel_key",
           "stamp_panel", "stamp_path"]

PANEL_FORMAT = 1
"""Version of what a panel build writes and of the stamp; a change that makes an older panel
wrong for the code reading it, and that the code digest would not see, raises it."""

_PATH_FIELDS = frozenset({"path", "paths", "country_codes"})
"""Fields of the ``data:`` options that name input files (paths or glob patterns)."""

_NOT_IN_KEY = frozenset({"streaming", "reuse_panel"})
"""``data:`` keys that change how the panel is built, or whether it is, not what it holds."""

_VERSIONED = ("numpy", "pandas", "pyarrow")
"""Packages whose versions are in the key (readers and writers of the rows)."""


def stamp_path(layout: OutputLayout) -> Path:
    """``OUTPUT/panel/build.json``: what the panel beside it was built from."""
    return layout.panel_dir / "build.json"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """sha256 of the source of :mod:`gravity.panel` (gravity's version rarely moves in between)."""
    root = Path(gravity.panel.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def panel_key(config: RunConfig) -> dict[str, Any]:
    """What a panel depends on besides its input files' content (compared key by key)."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            versions[name] = "missing"
    return {
        "format": PANEL_FORMAT,
        "gravity": __version__,
        "code": _code_digest(),
        "versions": versions,
        "data": config.data.model_dump(mode="json", exclude=set(_NOT_IN_KEY)),
        "sample": config.sample.model_dump(mode="json"),
    }


def _patterns(model: BaseModel) -> Iterator[str]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        if name in _PATH_FIELDS:
            yield from (str(v) for v in items if isinstance(v, str | Path))
            continue
        for item in items:
            if isinstance(item, BaseModel):
                yield from _patterns(item)


def configured_files(config: RunConfig) -> list[Path]:
    """The input files the ``data:`` section names now, glob patterns listed again.

    Raises
    ------
    GravityError
        A path that does not exist or a pattern that matches nothing (the build says it too).
    """
    return [p.resolve() for p in resolve_paths(_patterns(config.data), config.base_dir)]


def _difference(old: Any, new: Any, where: str) -> str | None:
    """The first key path where ``old`` and ``new`` differ (``None`` when equal)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            found = _difference(old.get(key), new.get(key), f"{where}.{key}" if where else key)
            if found:
                return found
        return None
    return None if old == new else where


_KEY_NAMES = {"format": "the panel format", "gravity": "gravity's version",
              "code": "gravity's panel-building code"}


@dataclass(frozen=True)
class ReuseCheck:
    """Whether the panel on disk can be reused, and why not."""

    reusable: bool
    reason: str
    """``"unchanged"``, or what changed (a key, a file), for the log and the manifest."""
    stamp: Mapping[str, Any] = field(default_factory=dict)
    digests: Mapping[Path, str] = field(default_factory=dict)
    """sha256 of the files hashed by the check (inputs and panel files), by resolved path."""

    @classmethod
    def rebuild(cls, reason: str) -> ReuseCheck:
        """A check that says: build the panel (``reason`` says why)."""
        return cls(False, reason)


def _same_file(path: Path, record: Mapping[str, Any], digests: dict[Path, str]) -> str | None:
    """Why ``path`` is not the file ``record`` describes (``None``: the same content)."""
    try:
        size = path.stat().st_size
    except OSError:
        return f"{path.name} is gone"
    if size != record.get("bytes"):
        return f"{path.name} changed size ({record.get('bytes')} -> {size} bytes)"
    digest = digests.get(path) or sha256_file(path)
    digests[path] = digest
    return None if digest == record.get("sha256") else f"{path.name} changed content (sha256)"


def check_panel(config: RunConfig, layout: OutputLayout) -> ReuseCheck:
    """Whether ``OUTPUT/panel`` holds a panel built from what ``config`` would build it from.

    Cheap checks come first (the stamp, the key, sizes); files are hashed last. Any doubt
    (no stamp, an unreadable one, a missing file) means build.
    """
    path = stamp_path(layout)
    if not path.is_file():
        return ReuseCheck.rebuild("no panel built by an earlier run (no panel/build.json)")
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
        key, inputs, files = stamp["key"], stamp["inputs"], stamp["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return ReuseCheck.rebuild("panel/build.json is unreadable")
    changed = _difference(key, panel_key(config), "")
    if changed:
        top, _, rest = changed.partition(".")
        what = f"{rest}'s version" if top == "versions" else _KEY_NAMES.get(top, changed)
        return ReuseCheck.rebuild(f"{what} changed")
    try:
        now = configured_files(config)
    except GravityError as exc:
        return ReuseCheck.rebuild(f"an input is missing ({exc})")
    recorded = {Path(i["path"]).resolve(): i for i in inputs}
    for new in now:
        if new not in recorded:
            return ReuseCheck.rebuild(f"{new.name} is a new input file")
    sized = [*recorded.items(), *(((layout.root / rel).resolve(), r) for rel, r in files.items())]
    for file_path, record in sized:  # sizes of everything before any hash
        if not file_path.is_file() or file_path.stat().st_size != record.get("bytes"):
            return ReuseCheck.rebuild(_same_file(file_path, record, {}) or "")
    digests: dict[Path, str] = {}
    for file_path, record in sized:
        why = _same_file(file_path, record, digests)
        if why:
            return ReuseCheck.rebuild(why)
    return ReuseCheck(True, "unchanged", stamp, digests)


def forget_panel(layout: OutputLayout) -> None:
    """Remove the stamp before a build: a build killed half-way must not look complete."""
    stamp_path(layout).unlink(missing_ok=True)


def stamp_panel(
    config: RunConfig,
    layout: OutputLayout,
    inputs: tuple[tuple[Path, str], ...],
    written: Mapping[str, Path],
    seconds: float,
) -> dict[Path, str]:
    """Write ``build.json`` for the panel files ``written`` (relative to the output folder).

    Returns
    -------
    dict
        sha256 of every input and written file, by resolved path (the manifest takes them).
    """
    digests: dict[Path, str] = {}

    def record(path: Path) -> dict[str, Any]:
        resolved = path.resolve()
        digests[resolved] = digests.get(resolved) or sha256_file(resolved)
        return {"sha256": digests[resolved], "bytes": resolved.stat().st_size}

    unique = {Path(p).resolve(): role for p, role in inputs}
    stamp = {
        "key": panel_key(config),
        "built_utc": datetime.now(UTC).isoformat(),
        "build_seconds": round(seconds, 3),
        "inputs": [{"path": str(p), "role": role, **record(p)} for p, role in unique.items()],
        "files": {rel: record(p) for rel, p in sorted(written.items())},
    }
    target = stamp_path(layout)
    temporary = temp_name(target)
    temporary.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return digests
