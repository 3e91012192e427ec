"""Shared pieces of the readers: the result object, the filter log, and input validation.

Every check that can fail on user input raises :class:`~gravity.exceptions.DataError` with one
line naming the file, the line (1-based, counting the header) or column, what is wrong and what
to do. Readers keep two private columns while they work, ``_file`` and ``_line``, so that a
problem found after filtering or concatenation still points at the original line.
"""

from __future__ import annotations

import csv
import difflib
import glob
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gravity.exceptions import DataError, quote
from gravity.panel.countries import CountryReport

__all__ = [
    "MISSING_TOKENS",
    "ReadResult",
    "bump",
    "check_duplicates",
    "check_magnitudes",
    "check_missing_keys",
    "check_nonnegative",
    "find_column",
    "parse_numbers",
    "parse_years",
    "read_csv_text",
    "require_column",
    "resolve_paths",
    "show",
    "where",
]

#: Text that means "no value" in the sources we read (WDI writes ``..``, CEPII writes ``.``).
MISSING_TOKENS: frozenset[str] = frozenset(
    {"", ".", "..", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "#N/A", "-"}
)

MAX_LISTED = 20
"""Columns listed in a 'not found' message (a file may have thousands)."""

FILE = "_file"
LINE = "_line"


@dataclass(frozen=True)
class ReadResult:
    """A table read from one source, with the record of every filter step.

    Attributes
    ----------
    frame : pandas.DataFrame
        The data with canonical column names: ``exporter``, ``importer``, ``product`` (str),
        ``year`` (int) and ``value`` (float, USD for trade sources) where they apply; covariate
        sources use ``country`` or ``exporter``/``importer`` plus their own columns.
    log : dict of str to int
        Counts of each step, in order: ``rows_read`` first, then every ``dropped_*`` reason
        (missing value, world partner, aggregates, unmatched codes, ...), informative counts such
        as ``zero_padded_product_codes``, and ``rows_out`` last. Nothing is dropped without a count.
    kind : str
        The source kind (``"baci"``, ``"comtrade"``, ``"geodist"``, ``"wdi"``, ``"generic"``).
    files : tuple of str
        The files read, in order.
    countries : CountryReport or None
        What country-code harmonization did, or ``None`` for sources without country columns.
    """

    frame: pd.DataFrame
    log: dict[str, int]
    kind: str
    files: tuple[str, ...] = ()
    countries: CountryReport | None = field(default=None)

    def to_manifest(self) -> dict[str, object]:
        """Plain-data summary (kind, files, counts, country report) for the run manifest."""
        return {
            "kind": self.kind,
            "files": list(self.files),
            "log": dict(self.log),
            "columns": [str(c) for c in self.frame.columns],
            "countries": None if self.countries is None else self.countries.to_dict(),
        }


def show(value: object) -> str:
    """``repr`` of a value as the user wrote it (numpy scalars as plain Python values).

    Capped at about 80 characters: a cell can hold a megabyte of text.
    """
    return quote(value.item() if isinstance(value, np.generic) else value)


def bump(log: dict[str, int], key: str, count: int | np.integer) -> None:
    """Add ``count`` to ``log[key]`` (creating it)."""
    log[key] = log.get(key, 0) + int(count)


def where(frame: pd.DataFrame, position: int) -> str:
    """Locate the row at ``position`` as ``"file.csv: line 12"`` (from ``_file``/``_line``)."""
    file = frame[FILE].iloc[position]
    line = frame[LINE].iloc[position]
    unit = "row" if not str(file).lower().endswith((".csv", ".txt", ".tsv", ".tab")) else "line"
    return f"{file}: {unit} {int(line)}"


def resolve_paths(patterns: Iterable[str | Path], base_dir: Path) -> list[Path]:
    """Files named by ``patterns`` (paths or glob patterns), relative ones under ``base_dir``.

    Raises
    ------
    DataError
        If a path does not exist or a pattern matches nothing.
    """
    out: list[Path] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        if glob.has_magic(str(path)):
            matches = sorted(Path(p) for p in glob.glob(str(path)))
            if not matches:
                raise DataError(
                    f"{pattern}: the pattern matches no file under {base_dir}; check the path"
                )
            out.extend(matches)
        elif not path.is_file():
            raise DataError(f"{path}: file not found; check the path (relative to {base_dir})")
        else:
            out.append(path)
    return out


def find_column(columns: Sequence[Hashable], candidates: Sequence[str]) -> str | None:
    """First of ``candidates`` present in ``columns`` (exact, then case-insensitive), or None."""
    names = [str(c) for c in columns]
    for cand in candidates:
        if cand in names:
            return cand
    lowered = {n.casefold().strip(): n for n in names}
    for cand in candidates:
        hit = lowered.get(cand.casefold())
        if hit is not None:
            return hit
    return None


def require_column(
    columns: Sequence[Hashable], wanted: str | Sequence[str], *, file: str, hint: str = ""
) -> str:
    """Return the column ``wanted`` (or the first present of several names), else raise.

    The message lists the available columns and suggests the closest name (difflib).
    """
    candidates = [wanted] if isinstance(wanted, str) else list(wanted)
    found = find_column(columns, candidates)
    if found is not None:
        return found
    names = [str(c) for c in columns]
    close: list[str] = []
    for cand in candidates:
        close += difflib.get_close_matches(cand, names, n=1, cutoff=0.6)
    lowered = {n.casefold(): n for n in names}
    for cand in candidates:
        close += difflib.get_close_matches(cand.casefold(), list(lowered), n=1, cutoff=0.6)
        close = [lowered.get(c, c) for c in close]
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    label = repr(candidates[0]) if len(candidates) == 1 else " / ".join(map(repr, candidates))
    shown = ", ".join(names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        shown += f", ... ({len(names) - MAX_LISTED:,} more)"
    raise DataError(
        f"{file}: column {label[:120]} not found{suggestion[:120]} Available "
        f"columns: {shown[:600]}{'; ' + hint if hint else ''}"
    )


def parse_numbers(frame: pd.DataFrame, column: Hashable, *, label: str | None = None) -> pd.Series:
    """Float values of ``frame[column]``; missing tokens become NaN, other text is an error.

    Raises
    ------
    DataError
        At the first value that is neither a number nor a missing token.
    """
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype(float)
    text = series.astype("str").str.strip()
    missing = text.isna() | text.isin(MISSING_TOKENS)
    numbers = pd.to_numeric(text.where(~missing), errors="coerce").astype(float)
    bad = numbers.isna() & ~missing
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where(frame, pos)}: column {label or column!r} has {show(series.iloc[pos])}, which "
            "is not a number; fix the value or write it as empty/NA if it is missing"
        )
    return numbers


def parse_years(frame: pd.DataFrame, column: Hashable, *, label: str | None = None) -> pd.Series:
    """Integer years of ``frame[column]``; missing, non-numeric or fractional years are errors."""
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        arr = series.to_numpy(dtype=float)
    else:
        arr = pd.to_numeric(series.astype("str").str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where(frame, pos)}: column {label or column!r} has {show(series.iloc[pos])}, which "
            "is not a year; every row needs an integer year"
        )
    return pd.Series(arr.astype(np.int64), index=frame.index)


MAX_MAGNITUDE = 1e250
"""Largest absolute value accepted: beyond it squares and sums in the solvers overflow float64."""
MIN_MAGNITUDE = float(np.finfo(np.float64).tiny)
"""Smallest non-zero absolute value accepted (denormals lose precision and slow the solvers)."""


def check_magnitudes(frame: pd.DataFrame, values: pd.Series, *, label: str) -> None:
    """Raise a ``DataError`` at the first infinite, huge (≥ 1e250) or denormal value.

    NaN (missing) is left to the caller, which counts and drops it.
    """
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    size = np.abs(arr)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(arr) | (size >= MAX_MAGNITUDE) | ((size > 0) & (size < MIN_MAGNITUDE))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = arr[pos]
        what = "infinite" if np.isinf(value) else "too large" if size[pos] >= 1 else "too small"
        raise DataError(
            f"{where(frame, pos)}: column {label!r} has {show(values.iloc[pos])}, which is "
            f"{what} to estimate with (allowed: 0 or magnitudes between {MIN_MAGNITUDE:.1e} and "
            f"{MAX_MAGNITUDE:.0e}); fix the value, or rescale the column (value_scale)"
        )


def check_nonnegative(frame: pd.DataFrame, values: pd.Series, *, label: str) -> None:
    """Raise a ``DataError`` at the first negative value."""
    negative = (values < 0).to_numpy()
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise DataError(
            f"{where(frame, pos)}: column {label!r} is negative ({show(values.iloc[pos])}); trade "
            "values must be zero or positive, fix or remove the row"
        )


def check_missing_keys(frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Raise a ``DataError`` at the first empty key (``columns`` maps column to source label)."""
    for col, label in columns.items():
        if col not in frame.columns:
            continue
        values = frame[col]
        empty = values.isna()
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            empty |= values.astype("str").str.strip().fillna("") == ""
        if empty.any():
            pos = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(
                f"{where(frame, pos)}: column {label!r} is empty; every row needs a {col}, "
                "fill it in or remove the row"
            )


def check_duplicates(frame: pd.DataFrame, keys: Sequence[str], *, hint: str = "") -> None:
    """Raise a ``DataError`` naming the first two lines that share the same key."""
    present = [k for k in keys if k in frame.columns]
    if not present or len(frame) < 2:
        return
    later = frame.duplicated(present, keep="first").to_numpy()
    if not later.any():
        return
    second = int(np.flatnonzero(later)[0])
    key_values = frame[present].iloc[second]
    same = np.ones(len(frame), dtype=bool)
    for k in present:
        same &= (frame[k] == key_values[k]).to_numpy(dtype=bool, na_value=False)
    first = int(np.flatnonzero(same)[0])
    key_text = ", ".join(show(v) for v in key_values)
    a, b = where(frame, first), where(frame, second)
    file_a, loc_a = a.split(": ", 1)
    file_b, loc_b = b.split(": ", 1)
    if file_a == file_b:
        unit = loc_a.split(" ")[0]
        place = f"{file_a}: {unit}s {loc_a.split(' ')[1]} and {loc_b.split(' ')[1]}"
    else:
        place = f"{a} and {b}"
    raise DataError(
        f"{place}: duplicate key ({', '.join(present)}) = ({key_text}); "
        f"{hint or 'aggregate (sum) the rows or remove one of them'}"
    )


def read_csv_text(
    path: Path, *, sep: str = ",", encoding: str = "utf-8-sig", skiprows: int = 0
) -> pd.DataFrame:
    """Every column of a CSV file as text (nothing turned into NaN), plus ``_file``/``_line``.

    Reading as text keeps codes intact (Namibia's ``NA``, leading zeros); the readers convert
    numbers themselves so that a bad value is reported with its line.
    """
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            skiprows=skiprows,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: the file is not valid {encoding} ({exc.reason} at byte {exc.start}); "
            "set encoding (e.g. 'latin-1')"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"{path.name}: cannot parse the CSV file ({message}); check sep") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[FILE] = path.name
    frame[LINE] = csv_line_numbers(path, sep, encoding, len(frame), skiprows)
    return frame


def csv_line_numbers(
    path: Path, sep: str, encoding: str, n_rows: int, skiprows: int = 0
) -> np.ndarray:
    """Line in the file where each data row starts (the header is line ``skiprows + 1``).

    Row ``i`` is on line ``i + skiprows + 2`` unless the file has blank lines (pandas skips them)
    or quoted fields spanning lines; only then is the file scanned with :mod:`csv` to find each
    row's line. If the two parsers disagree on the number of rows, row numbers are kept.
    """
    simple = np.arange(n_rows, dtype=np.int64) + skiprows + 2
    with path.open("rb") as handle:
        body = handle.read().replace(b"\r\n", b"\n").rstrip(b"\n")
    if b'"' not in body and b"\n\n" not in body:
        return simple
    lines: list[int] = []
    with path.open(encoding=encoding, errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=sep)
        start = 1
        for i, record in enumerate(reader):
            if i > skiprows and (len(record) > 1 or any(f.strip() for f in record)):
                lines.append(start)
            start = reader.line_num + 1
    if len(lines) != n_rows:
        return simple
    return np.asarray(lines, dtype=np.int64)
