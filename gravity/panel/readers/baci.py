"""CEPII BACI reader: yearly ``BACI_HS{rev}_Y{year}_V{release}.csv`` files.

A BACI file has columns ``t`` (year), ``i`` (exporter) and ``j`` (importer) as numeric country
codes, ``k`` (HS6 product), ``v`` (value in thousand USD) and ``q`` (quantity in tonnes). One
world year is about 11 million rows (400 MB), so files are read with :mod:`pyarrow.csv`, only the
needed columns. Real files write ``k`` without its leading zero (``10121`` for ``010121``) and
``q`` quoted, space-padded and ``NA`` when unknown; the reader reads ``k`` as a number, gives
the text codes back their leading zeros, and trims ``q``. Each flow gets one int64 key ordered as
(t, i, j, k): a sorted key proves the absence of duplicates in one pass, and HS4/HS2 sums are
taken on it (``np.add.reduceat``) rather than by a group-by on four columns.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from gravity.exceptions import DataError
from gravity.panel.countries import CountryReport, harmonize_countries, resolve_code
from gravity.panel.products import aggregate_products
from gravity.panel.readers._common import (
    MISSING_TOKENS,
    ReadResult,
    bump,
    require_column,
    resolve_paths,
)
from gravity.panel.readers.sources import BaciSource

__all__ = ["check_revisions", "read_baci", "read_baci_country_codes"]

_NAME = re.compile(r"BACI_(HS\d{2})_Y(\d{4})", re.IGNORECASE)
_KEYS = ["exporter", "importer", "product", "year"]


def _header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    try:
        with path.open(encoding=encoding, newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name}: cannot decode the header ({exc.reason})") from exc


def read_baci_country_codes(path: Path) -> dict[str, str]:
    """Numeric code -> ISO3 from BACI's ``country_codes_V*.csv`` (latin-1).

    Accepts both layouts CEPII has used (``country_code, ..., iso_3digit_alpha`` and
    ``country_code, ..., country_iso3``). Codes whose ISO3 is empty or ``N/A`` (e.g. 490
    "Other Asia, nes") are left out, so they stay unmatched.
    """
    table = pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
    code_col = require_column(table.columns, "country_code", file=path.name)
    iso_col = require_column(table.columns, ["iso_3digit_alpha", "country_iso3"], file=path.name)
    out: dict[str, str] = {}
    for code, iso3 in zip(table[code_col], table[iso_col], strict=True):
        iso3 = iso3.strip().upper()
        if code.strip().isdigit() and len(iso3) == 3 and iso3.isalpha():
            out[str(int(code))] = iso3
    return out


def _first_bad_line(path: Path, column: str, kind: str) -> tuple[int, str] | None:
    """Line and text of the first value of ``column`` that does not parse as ``kind``."""
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=[column], column_types={column: pa.string()}
        ),
    )
    text = pd.Series(table.column(0).to_pandas(), dtype="str").str.strip()
    missing = text.isna() | text.isin(MISSING_TOKENS)
    numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if kind == "int":
        bad |= ~missing & numbers.notna() & (numbers != numbers.round())
    if not bad.any():
        return None
    pos = int(np.flatnonzero(bad.to_numpy())[0])
    return pos + 2, str(table.column(0)[pos].as_py())


def _read_table(path: Path, quantity: bool) -> pa.Table:
    header = _header(path)
    names = {}
    for col in ("t", "i", "j", "k", "v", *(["q"] if quantity else [])):
        names[col] = require_column(
            header, col, file=path.name, hint="a BACI file has columns t, i, j, k, v, q"
        )
    types = {
        names["t"]: pa.int32(),
        names["i"]: pa.int32(),
        names["j"]: pa.int32(),
        names["k"]: pa.int64(),  # parsed as a number (fast); zero-padded text comes later
        names["v"]: pa.float64(),
    }
    if quantity:
        types[names["q"]] = pa.string()
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=list(names.values()),
        null_values=["", "NA"],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid as exc:
        for col, kind in (("t", "int"), ("i", "int"), ("j", "int"), ("k", "int"), ("v", "float")):
            found = _first_bad_line(path, names[col], kind)
            if found is not None:
                line, text = found
                what = "an integer" if kind == "int" else "a number"
                if col == "k":
                    what = "an HS6 code (at most six digits)"
                raise DataError(
                    f"{path.name}: line {line}: column {names[col]!r} has {text!r}, which is not "
                    f"{what}; fix the value"
                ) from exc
        message = " ".join(str(exc).split())
        raise DataError(f"{path.name}: not a valid BACI CSV file ({message})") from exc
    return table.rename_columns([k for k in names if names[k] in table.column_names])


def _first_line(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0]) + 2


def _check_table(
    table: pa.Table, path: Path, log: dict[str, int]
) -> tuple[pa.Table, np.ndarray]:
    """Validate one file's columns.

    Returns the table with ``k`` as int64 codes and missing ``v`` dropped, and the flow key of each
    remaining row (see :func:`_check_duplicates`).
    """
    if table.num_rows == 0:
        raise DataError(f"{path.name}: the file has no data rows; check that it is complete")
    for col, what in (("t", "year"), ("i", "exporter"), ("j", "importer"), ("k", "product")):
        if table.column(col).null_count:
            raise DataError(
                f"{path.name}: line {_first_line(table.column(col).is_null())}: column {col!r} "
                f"({what}) is empty; every BACI row needs t, i, j and k"
            )
    codes, padded = _product_codes(table.column("k"), path)
    bump(log, "zero_padded_product_codes", padded)
    table = table.set_column(table.schema.get_field_index("k"), "k", codes)
    v = table.column("v")
    negative = pc.fill_null(pc.less(v, 0), False)
    if pc.any(negative).as_py():
        line = _first_line(negative)
        raise DataError(
            f"{path.name}: line {line}: column 'v' is negative ({v[line - 2].as_py()!r}); trade "
            "values must be zero or positive, fix or remove the row"
        )
    key = _check_duplicates(table, path)
    match = _NAME.search(path.name)
    if match is not None:
        years = pc.unique(table.column("t")).to_pylist()
        other = [y for y in years if y != int(match.group(2))]
        if other:
            raise DataError(
                f"{path.name}: the file name says year {match.group(2)} but column 't' holds "
                f"{other[0]}; check that the file is the one intended"
            )
    if "q" in table.column_names:
        table = table.set_column(
            table.schema.get_field_index("q"), "q", _quantities(table.column("q"), path)
        )
    n_missing = v.null_count
    bump(log, "dropped_missing_value", n_missing)
    if n_missing:
        keep = pc.invert(v.is_null())
        table = table.filter(keep)
        key = key[np.asarray(keep, dtype=bool)]
    return table, key


def _product_codes(column: pa.ChunkedArray, path: Path) -> tuple[pa.ChunkedArray, int]:
    """Check the HS6 codes (read as int64); count those written without their leading zero."""
    bad = pc.or_(pc.less(column, 0), pc.greater(column, 999_999))
    if pc.any(bad).as_py():
        line = _first_line(bad)
        raise DataError(
            f"{path.name}: line {line}: column 'k' has {str(column[line - 2].as_py())!r}, which "
            "is not an HS6 code (at most six digits); fix the value"
        )
    return column, int(pc.sum(pc.less(column, 100_000)).as_py() or 0)


def _code_text(codes: np.ndarray, digits: int) -> pd.Series:
    """Zero-padded text of integer product codes, built once per distinct code."""
    present = np.zeros(10**digits, dtype=bool)
    present[codes] = True
    distinct = np.flatnonzero(present)
    position = np.zeros(10**digits, dtype=np.int32)
    position[distinct] = np.arange(len(distinct), dtype=np.int32)
    labels = pa.array([f"{c:0{digits}d}" for c in distinct.tolist()], pa.string())
    return pd.Series(labels.take(pa.array(position[codes])).to_pandas(), dtype="str")


def _quantities(column: pa.ChunkedArray, path: Path) -> pa.ChunkedArray:
    """Column ``q`` as floats: trimmed (BACI pads it with spaces), ``NA`` or blank as null."""
    text = pc.utf8_trim_whitespace(column)
    text = pc.if_else(pc.is_in(text, pa.array(sorted(MISSING_TOKENS))), None, text)
    try:
        return pc.cast(text, pa.float64())
    except pa.ArrowInvalid as exc:
        values = pd.Series(text.to_pandas(), dtype="str")
        bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path.name}: line {pos + 2}: column 'q' has {values.iloc[pos]!r}, which is not a "
            "number; fix the value or write NA"
        ) from exc


def _check_duplicates(table: pa.Table, path: Path) -> np.ndarray:
    """Duplicate (t, i, j, k) rows, found on one int64 key per row (fast on 11 million rows).

    Returns the key, ``(((t - 1000) * 10^4 + i) * 10^4 + j) * 10^6 + k``, which orders rows as
    (t, i, j, k). BACI files are sorted that way, so a strictly increasing key proves there is
    no duplicate without hashing; otherwise the rows are hashed to find the first duplicate.
    """
    t = table.column("t").to_numpy()
    i = table.column("i").to_numpy()
    j = table.column("j").to_numpy()
    k = table.column("k").to_numpy()
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= 10_000):
        raise DataError(f"{path.name}: country codes in columns i and j must be within 0..9999")
    if t.size and (t.min() < 1000 or t.max() > 9999):
        bad = int(np.flatnonzero((t < 1000) | (t > 9999))[0])
        raise DataError(
            f"{path.name}: line {bad + 2}: column 't' has {t[bad]}, which is not a year; fix it"
        )
    key = t.astype(np.int64)  # in place from here: 11 million rows, no temporaries
    key -= 1000
    key *= 10_000
    key += i
    key *= 10_000
    key += j
    key *= 1_000_000
    key += k
    if key.size < 2 or bool((key[1:] > key[:-1]).all()):
        return key
    later = pd.Series(key).duplicated(keep="first").to_numpy()
    if later.any():
        second = int(np.flatnonzero(later)[0])
        first = int(np.flatnonzero(key == key[second])[0])
        raise DataError(
            f"{path.name}: lines {first + 2} and {second + 2}: duplicate key (t, i, j, k) = "
            f"({t[second]}, {i[second]}, {j[second]}, {f'{k[second]:06d}'!r}); "
            "a BACI file has one row per flow, remove the duplicate"
        )
    return key


def _aggregate_sorted(keys: list[np.ndarray], v: pa.ChunkedArray, digits: int) -> pd.DataFrame:
    """Sum ``v`` (thousand USD) to ``digits``-digit HS codes on the flow keys, in USD.

    Grouping on one sorted int64 key (``np.add.reduceat``) is several times faster and lighter
    than a pandas or Arrow group-by on four columns, which matters for 11 million rows a year.
    ``keys`` is emptied: the key array is modified in place, with no copy kept alive.
    """
    key = np.concatenate(keys) if len(keys) > 1 else keys[0]
    keys.clear()
    values = v.to_numpy()
    if key.size > 1 and not bool((key[1:] >= key[:-1]).all()):
        order = np.argsort(key, kind="stable")
        key, values = key[order], values[order]
        del order
    key //= 10 ** (6 - digits)
    change = np.ones(key.size, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    del change
    sums = np.add.reduceat(values, starts) if key.size else values[:0].copy()
    sums *= 1000.0  # thousand USD to USD, once per group rather than once per row
    del values
    group = key[starts]
    del key, starts
    code = (group % 10**digits).astype(np.int32)
    group //= 10**digits
    importer = (group % 10_000).astype(np.int32)
    group //= 10_000
    exporter = (group % 10_000).astype(np.int32)
    group //= 10_000
    group += 1000
    text = _code_text(code, digits)
    del code
    return pd.DataFrame(
        {
            "exporter": exporter,
            "importer": importer,
            "product": text,
            "year": group,
            "value": sums,
        }
    )


def check_revisions(paths: list[Path]) -> None:
    """Refuse BACI files of more than one HS revision (their product codes differ).

    Raises
    ------
    DataError
        Naming the revisions found.
    """
    revisions = {m.group(1).upper() for p in paths if (m := _NAME.search(p.name))}
    if len(revisions) > 1:
        raise DataError(
            f"BACI files of different HS revisions ({', '.join(sorted(revisions))}) cannot be "
            "combined; read one revision, or convert codes with a concordance first"
        )


def read_baci(source: BaciSource, base_dir: Path | None = None) -> ReadResult:
    """Read CEPII BACI yearly files into the canonical trade table.

    Parameters
    ----------
    source : BaciSource
        Files (or glob patterns), country-code file and options.
    base_dir : pathlib.Path, optional
        Folder against which relative paths are resolved (default: the working directory).

    Returns
    -------
    ReadResult
        ``frame`` has ``exporter``, ``importer`` (ISO3, or the numeric codes with
        ``codes="keep"``), ``product`` (six-digit string, or the aggregated level), ``year``,
        ``value`` (USD = ``v`` x 1000) and ``quantity`` (tonnes, NaN when unknown) if requested.
        ``log`` counts ``files_read``, ``rows_read``, ``zero_padded_product_codes``,
        ``dropped_missing_value``, ``merged_to_product_level``, ``dropped_unmatched_codes``,
        ``merged_code_collisions`` and ``rows_out``.

    Raises
    ------
    DataError
        Missing column, unparseable number (with its line), negative value, empty key, duplicate
        (t, i, j, k), a year that disagrees with the file name, files of different HS revisions
        or with overlapping years, or too much trade with unmatched country codes.
    """
    base = Path.cwd() if base_dir is None else base_dir
    paths = resolve_paths(source.paths, base)
    check_revisions(paths)
    log: dict[str, int] = {"files_read": len(paths), "rows_read": 0}
    tables: list[pa.Table] = []
    keys: list[np.ndarray] = []
    seen_years: dict[int, str] = {}
    for path in paths:
        table = _read_table(path, source.quantity)
        bump(log, "rows_read", table.num_rows)
        table, key = _check_table(table, path, log)
        keys.append(key)
        for year in pc.unique(table.column("t")).to_pylist():
            if year in seen_years:
                raise DataError(
                    f"{path.name}: year {year} is also in {seen_years[year]}; list each BACI "
                    "year once"
                )
            seen_years[year] = path.name
        tables.append(table)
    combined = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    rows = combined.num_rows
    del table, key
    if source.product_level in ("hs4", "hs2"):  # fast path on the numeric key
        v = combined.column("v")
        del combined, tables
        frame = _aggregate_sorted(keys, v, 4 if source.product_level == "hs4" else 2)
        del v
    else:
        del keys
        frame = pd.DataFrame(
            {
                "exporter": combined.column("i").to_numpy(),
                "importer": combined.column("j").to_numpy(),
                "product": _code_text(combined.column("k").to_numpy(), 6),
                "year": combined.column("t").to_numpy().astype(np.int64),
                "value": combined.column("v").to_numpy() * 1000.0,
            }
        )
        if source.quantity:
            frame["quantity"] = combined.column("q").to_numpy(zero_copy_only=False)
        del combined, tables
        if source.product_level != "hs6":  # at HS6 there is nothing to sum (and no copy)
            # aggregate on the numeric codes first: cheaper than on ISO3 strings
            frame = aggregate_products(
                frame,
                source.product_level,
                value_columns=["value", *(["quantity"] if source.quantity else [])],
                source=paths[0].name,
            )
    bump(log, "merged_to_product_level", rows - len(frame))
    frame, report = _harmonize(frame, source, base, paths, log)
    log["rows_out"] = len(frame)
    return ReadResult(
        frame=frame.reset_index(drop=True),
        log=log,
        kind="baci",
        files=tuple(str(p) for p in paths),
        countries=report,
    )


def _harmonize(
    frame: pd.DataFrame,
    source: BaciSource,
    base: Path,
    paths: list[Path],
    log: dict[str, int],
) -> tuple[pd.DataFrame, CountryReport]:
    """Numeric codes -> ISO3 (BACI's own table first), merging flows that collide."""
    overrides: dict[str, str] = {}
    if source.country_codes is not None and source.codes == "iso3":
        overrides = read_baci_country_codes(resolve_paths([source.country_codes], base)[0])
    overrides.update(source.code_overrides)
    present = np.union1d(frame["exporter"].unique(), frame["importer"].unique())
    resolved = [r for c in present if (r := resolve_code(int(c), overrides)) is not None]
    may_collide = len(set(resolved)) < len(resolved)
    frame, report = harmonize_countries(
        frame,
        ("exporter", "importer"),
        codes=source.codes,
        value_column="value",
        max_unmatched_share=source.max_unmatched_share,
        overrides=overrides,
        source=paths[0].name if len(paths) == 1 else f"{len(paths)} BACI files",
    )
    bump(log, "dropped_unmatched_codes", report.unmatched_rows)
    merged = 0
    if source.codes == "iso3" and may_collide and frame.duplicated(_KEYS).any():
        # two BACI codes for one country in the same year (e.g. 58 and 56 -> BEL): sum them
        rows = len(frame)
        values = ["value", *(["quantity"] if source.quantity else [])]
        grouped = frame.groupby(_KEYS, sort=False, observed=True)[values]
        frame = grouped.sum(min_count=1).reset_index()
        merged = rows - len(frame)
    bump(log, "merged_code_collisions", merged)
    return frame, report
