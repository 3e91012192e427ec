"""Checks run on every input file before a reader opens it, each failing with one clear line.

Readers report bad values with their line; what they cannot see well is a file that is not the
text they expect: compressed (``.gz``, ``.zip``, ``.bz2``, ``.xz``), empty, header only, in
another encoding, or with another delimiter. :func:`check_text_file` looks at the first bytes
and says which, and what to do.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterable
from pathlib import Path

from gravity.exceptions import DataError
from gravity.panel.readers._common import resolve_paths
from gravity.panel.readers.generic import _SUFFIXES
from gravity.panel.readers.sources import (
    BaciSource,
    ComtradeSource,
    GenericSource,
    GeoDistSource,
    Source,
    WdiSource,
)

__all__ = ["check_source_files", "check_text_file"]

_SAMPLE = 1 << 18  # bytes looked at: enough for the header and a few thousand lines
_MAGIC = {
    b"\x1f\x8b": ("gzip", "gunzip {name}"),
    b"PK\x03\x04": ("zip", "unzip {name}"),
    b"BZh": ("bzip2", "bunzip2 {name}"),
    b"\xfd7zXZ\x00": ("xz", "unxz {name}"),
    b"7z\xbc\xaf\x27\x1c": ("7-Zip", "7z x {name}"),
}
_DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _compressed(path: Path, head: bytes) -> None:
    for magic, (kind, command) in _MAGIC.items():
        if not head.startswith(magic):
            continue
        inside = ""
        if kind == "zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.namelist() if not m.endswith("/")]
                shown = ", ".join(members[:5]) + (" ..." if len(members) > 5 else "")
                inside = f" holding {len(members)} file(s): {shown}"
            except zipfile.BadZipFile:
                inside = " (damaged)"
        raise DataError(
            f"{path.name}: the file is a {kind} archive{inside}, not a text table; extract it "
            f"first ({command.format(name=path.name)}; 'gravity data download' extracts for you) "
            "and point the config at the extracted file"
        )


def _decode(path: Path, head: bytes, encoding: str, complete: bool) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and "16" not in encoding:
        raise DataError(
            f"{path.name}: the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); "
            "set encoding: utf-16, or save it as UTF-8"
        )
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return decoder.decode(head, final=complete)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        byte = head[exc.start : exc.start + 1].hex()
        other = "latin-1" if encoding.lower().replace("_", "-") not in ("latin-1", "latin1") else (
            "utf-8"
        )
        raise DataError(
            f"{path.name}: line {line}: byte 0x{byte} is not valid {encoding}; set encoding to "
            f"the file's encoding (e.g. encoding: {other}; CEPII files are latin-1)"
        ) from exc


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def check_text_file(
    path: Path, *, sep: str = ",", encoding: str = "utf-8", header_only_ok: bool = False
) -> None:
    """Raise a :class:`DataError` when ``path`` is not a readable delimited text file.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    sep : str
        The delimiter the reader will use.
    encoding : str
        The encoding the reader will use.
    header_only_ok : bool
        Whether a file with a header and no data rows is acceptable.

    Raises
    ------
    DataError
        Empty file, compressed archive, wrong encoding (with the line), a header without the
        delimiter while another one is there, or no data rows.
    """
    size = path.stat().st_size
    if size == 0:
        raise DataError(
            f"{path.name}: the file is empty (0 bytes); download or export it again"
        )
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    _compressed(path, head)
    complete = size <= _SAMPLE
    text = _decode(path, head, encoding, complete)
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and lines:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        raise DataError(f"{path.name}: the file holds only blank lines; export it again")
    header = lines[0]
    if len(sep) == 1 and _count_outside_quotes(header, sep) == 0:
        others = {d: _count_outside_quotes(header, d) for d in _DELIMITERS if d != sep}
        best = max(others, key=lambda d: others[d])
        if others[best] > 0:
            raise DataError(
                f"{path.name}: line 1 has no {_NAMES.get(sep, repr(sep))} but {others[best]} "
                f"{_NAMES[best]} separators; set sep: {best!r} (the file's delimiter)"
            )
    if complete and len(lines) == 1 and not header_only_ok:
        names = next(csv.reader([header], delimiter=sep if len(sep) == 1 else ","), [])
        raise DataError(
            f"{path.name}: the file has a header ({', '.join(names[:6])}) but no data rows; "
            "check that the export or download is complete"
        )


def _text_format(path: Path, source: GenericSource) -> bool:
    if source.format != "auto":
        return source.format == "csv"
    return _SUFFIXES.get(path.suffix.lower(), "csv") == "csv"


def check_source_files(source: Source, base_dir: Path) -> list[Path]:
    """Resolve the files of ``source`` and check each one (see :func:`check_text_file`).

    Binary formats (Parquet, Stata, Excel) are only checked for being empty.

    Returns
    -------
    list of pathlib.Path
        The files, resolved.
    """
    patterns: Iterable[str] = (
        source.paths if isinstance(source, BaciSource | ComtradeSource | WdiSource) else
        [source.path]
    )
    paths = resolve_paths(patterns, base_dir)
    for path in paths:
        if isinstance(source, GenericSource) and not _text_format(path, source):
            if path.stat().st_size == 0:
                raise DataError(f"{path.name}: the file is empty (0 bytes); export it again")
            with path.open("rb") as handle:
                head = handle.read(8)
            if path.suffix.lower() in (".parquet", ".pq", ".dta"):
                _compressed(path, head)
            continue
        if isinstance(source, BaciSource):
            check_text_file(path, sep=",", encoding="utf-8")
        elif isinstance(source, WdiSource):
            check_text_file(path, sep=",", encoding=source.encoding, header_only_ok=True)
        elif isinstance(source, ComtradeSource | GeoDistSource):
            check_text_file(path, sep=source.sep, encoding=source.encoding)
        else:
            sep = source.sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
            check_text_file(path, sep=sep, encoding=source.encoding)
    if isinstance(source, BaciSource) and source.country_codes is not None:
        codes = resolve_paths([source.country_codes], base_dir)[0]
        check_text_file(codes, sep=",", encoding="latin-1")
    return paths
