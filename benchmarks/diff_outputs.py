"""Compare two output folders of ``gravity run``: are the results the same?

    python benchmarks/diff_outputs.py OLD_FOLDER NEW_FOLDER

Used before and after a speed change to show that every output stayed the same:

- Parquet files: the frames must be equal exactly (values, dtypes, column order, row order);
- CSV, Markdown, JSON, TeX, HTML and other text files: byte-identical once the lines that hold
  timings, hashes, dates or absolute paths are set aside (``VOLATILE``); a JSON file is
  compared as data with those keys dropped;
- binary files (xlsx): byte-identical, or, for zip containers, the same members with the same
  contents apart from the members' timestamps.

Prints one line per file that differs and exits 1 if any does, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

# keys whose values change from run to run by design (wall-clock timings, hashes of files whose
# bytes carry a timestamp, dates, versions, paths of the machine)
VOLATILE_KEYS = {
    "seconds",
    "stage_seconds",
    "started",
    "finished",
    "created",
    "timestamp",
    "elapsed",
    "sha256",
    "hash",
    "path",
    "output",
    "versions",
    "python",
    "platform",
    "hostname",
    "git",
    "command",
    "fit_seconds",
    "argv",
    "started_utc",
    "outputs",  # the manifest's hash per output file: the files themselves are compared here
}
# in text files: date-times and hashes (SHA-256 of files whose bytes carry a date) are blanked,
# everything else on their lines is still compared
VOLATILE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?|[0-9a-f]{64}")
DATE_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?")
TEXT_SUFFIXES = {".csv", ".md", ".tex", ".txt", ".html", ".svg", ".json"}


def _scrub(value: Any) -> Any:
    """A JSON value with the volatile keys removed, at any depth."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _text_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [VOLATILE_TEXT.sub("#", line) for line in text.splitlines()]


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename: _scrub_zip_member(info.filename, archive.read(info))
            for info in archive.infolist()
        }


def _scrub_zip_member(name: str, data: bytes) -> bytes:
    # an xlsx holds its creation date-time (docProps/core.xml) and the report's "made on" cell
    if name.endswith(".xml"):
        return DATE_TIME.sub(b"", data)
    return data


def differs(old: Path, new: Path) -> str | None:
    """Why two files differ, or None when they hold the same results."""
    suffix = old.suffix.lower()
    if suffix == ".parquet":
        a, b = pd.read_parquet(old), pd.read_parquet(new)
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as error:
            return str(error).splitlines()[0] if str(error) else "frames differ"
        return None
    if suffix == ".json":
        a_json = _scrub(json.loads(old.read_text()))
        b_json = _scrub(json.loads(new.read_text()))
        return None if a_json == b_json else "JSON content differs"
    if suffix in TEXT_SUFFIXES:
        a_lines, b_lines = _text_lines(old), _text_lines(new)
        if a_lines == b_lines:
            return None
        for i, (x, y) in enumerate(zip(a_lines, b_lines, strict=False)):
            if x != y:
                return f"line {i + 1}: {x[:80]!r} vs {y[:80]!r}"
        return f"{len(a_lines)} vs {len(b_lines)} lines"
    if old.read_bytes() == new.read_bytes():
        return None
    if zipfile.is_zipfile(old) and zipfile.is_zipfile(new):
        a_zip, b_zip = _zip_members(old), _zip_members(new)
        if a_zip == b_zip:
            return None
        changed = sorted(k for k in a_zip.keys() | b_zip.keys() if a_zip.get(k) != b_zip.get(k))
        return f"zip members differ: {', '.join(changed[:5])}"
    return "bytes differ"


def compare(old: Path, new: Path) -> list[str]:
    """One line per file that is missing on one side or differs."""
    old_files = {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
    new_files = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    problems = [f"only in {old}: {p}" for p in sorted(old_files - new_files)]
    problems += [f"only in {new}: {p}" for p in sorted(new_files - old_files)]
    for rel in sorted(old_files & new_files):
        reason = differs(old / rel, new / rel)
        if reason is not None:
            problems.append(f"{rel}: {reason}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    problems = compare(args.old, args.new)
    print("\n".join(problems) if problems else f"same results: {args.old} and {args.new}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
