"""The output folder: created or reused safely, and every file gravity writes stays inside it.

``output:`` may name any folder, but a typo must not spray files into a home directory or
overwrite someone's file: an existing file, an unwritable place, or a non-empty folder that no
gravity run wrote (no ``manifest.json``) is refused with one line, unless ``--force``. Sub-folders
or files that are symbolic links leading out of the output folder are refused too, so a link
planted inside it cannot redirect a write elsewhere.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from gravity.exceptions import ConfigError

__all__ = ["GRAVITY_MARKERS", "check_inside", "check_output", "prepare_output"]

GRAVITY_MARKERS = ("manifest.json", "batch/index.sqlite")
"""Files that show a folder was written by gravity (a batch killed before its manifest was
written still has its index)."""

_WRITTEN = (
    "manifest.json",
    "panel",
    "fit",
    "relatedness",
    "potential",
    "backtest",
    "report",
    "batch",
)
"""What gravity writes at the top of the output folder."""


def prepare_output(folder: Path, *, force: bool = False) -> Path:
    """Create (or check) the output folder before anything is written.

    Parameters
    ----------
    folder : pathlib.Path
        The ``output:`` of the config (already resolved against the config's folder).
    force : bool
        Accept an existing non-empty folder that holds no gravity manifest.

    Returns
    -------
    pathlib.Path
        The folder, created if needed.

    Raises
    ------
    ConfigError
        If ``folder`` is an existing file, cannot be created or written, is a non-empty folder
        not written by gravity (without ``force``), or holds a link leading out of it.
    """
    check_output(folder, force=force)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".gravity-write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"output: cannot write to {folder} ({reason}); choose a folder you can write to"
        ) from None
    return folder


def check_output(folder: Path, *, force: bool = False) -> None:
    """The checks of :func:`prepare_output` that create nothing (``gravity validate``)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(
            f"output: {folder} is an existing file, not a folder; name a folder for the results"
        )
    if folder.is_dir() and not force and not _written_by_gravity(folder):
        try:
            non_empty = any(folder.iterdir())
        except OSError as exc:
            raise ConfigError(f"output: cannot read the folder {folder} ({exc.strerror})") from None
        if non_empty:
            raise ConfigError(
                f"output: {folder} already holds files that gravity did not write (no "
                "manifest.json); name a new or empty folder, or pass --force to write into it"
            )
    if folder.is_dir():
        root = folder.resolve()
        for name in _WRITTEN:
            check_inside(folder / name, root)


def check_inside(path: Path, root: Path) -> Path:
    """Return ``path`` if it resolves inside ``root``; a link leading out of it is an error."""
    if not os.path.lexists(path):
        return path
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise ConfigError(
            f"output: {path} is a link to {resolved}, outside the output folder {root}; "
            "remove the link (gravity writes only inside its output folder)"
        )
    return path


def _written_by_gravity(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in GRAVITY_MARKERS)
