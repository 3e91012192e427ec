"""Generic reader: a CSV, Parquet, Stata or Excel table with a column mapping.

The mapping gives, for each canonical name, the file's column (``{"exporter": "Origin",
"importer": "Destination", "product": "Product", "year": "Year", "value": "Euros"}``). Mapped
columns are renamed and typed: ``product`` becomes text (integral numbers lose their ``.0``;
``product_digits`` restores leading zeros), ``year`` an integer, ``value`` a float (times
``value_scale``). Every other column is carried along unchanged. Excel needs the optional
packages ``openpyxl`` (``.xlsx``) or ``xlrd`` (``.xls``); Stata and Parquet files are read with
pandas and pyarrow.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.countries import harmonize_countries
from gravity.panel.duplicates import sum_duplicates
from gravity.panel.products import aggregate_products, normalize_hs_codes
from gravity.panel.readers._common import (
    FILE,
    LINE,
    ReadResult,
    bump,
    check_duplicates,
    check_magnitudes,
    check_missing_keys,
    check_nonnegative,
    csv_line_numbers,
    parse_numbers,
    parse_years,
    require_column,
    resolve_paths,
)
from gravity.panel.readers.sources import CANONICAL_COLUMNS, GenericSource

__all__ = ["file_format", "missing_markers", "read_generic", "read_table", "text_columns"]

Format = Literal["csv", "parquet", "stata", "excel"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".dta": "stata",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}
_TEXT_KEYS = ("exporter", "importer", "country", "product", "indicator")
_KEYS = ["exporter", "importer", "country", "product", "year", "indicator"]
_NA = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "#N/A", "..", "."]


def file_format(path: Path, source: GenericSource) -> Format:
    """The format of ``path``: ``source.format``, or guessed from the suffix."""
    if source.format != "auto":
        return source.format
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path.name}: unknown file type {path.suffix!r}; set format to one of 'csv', "
            "'parquet', 'stata', 'excel'"
        )
    return fmt


def text_columns(header: Iterable[object], source: GenericSource) -> list[str]:
    """File columns holding codes: read as text from the first byte (``0101``, Namibia's ``NA``).

    Mapped code columns, and columns already named like a code column when nothing else is
    mapped to that name.
    """
    names = [str(c) for c in header]
    mapped = [source.columns[k] for k in _TEXT_KEYS if k in source.columns]
    canonical = [k for k in _TEXT_KEYS if k in names and k not in source.columns]
    return [c for c in dict.fromkeys([*mapped, *canonical]) if c in names]


def missing_markers(
    header: Iterable[object], text_cols: list[str], source: GenericSource
) -> dict[str, list[str]]:
    """Missing-value text per column: codes keep ``NA`` (Namibia) unless the user says so."""
    return {
        str(c): [*source.missing] if str(c) in text_cols else [*_NA, *source.missing]
        for c in header
    }


def _read_csv(path: Path, source: GenericSource) -> pd.DataFrame:
    sep = source.sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    try:
        header = pd.read_csv(path, sep=sep, encoding=source.encoding, nrows=0).columns
        text_cols = text_columns(header, source)
        return pd.read_csv(
            path,
            sep=sep,
            encoding=source.encoding,
            dtype={c: str for c in text_cols},
            keep_default_na=False,
            na_values=missing_markers(header, text_cols, source),
        )
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: the file is not valid {source.encoding} ({exc.reason}); set encoding "
            "(e.g. 'latin-1')"
        ) from exc
    except LookupError:
        raise DataError(
            f"{path.name}: unknown encoding {source.encoding!r}; use e.g. 'utf-8' or 'latin-1'"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"{path.name}: cannot parse the CSV file ({message}); check sep") from exc


def _read_excel(path: Path, source: GenericSource) -> pd.DataFrame:
    engine = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    if importlib.util.find_spec(engine) is None:
        raise DataError(
            f"{path.name}: reading {path.suffix} files needs the optional package {engine!r}, "
            f"which is not installed; install it (pip install {engine}) or save the sheet as CSV"
        )
    sheet = 0 if source.sheet is None else source.sheet
    try:
        header = pd.read_excel(path, sheet_name=sheet, engine=engine, nrows=0).columns
        text_cols = text_columns(header, source)
        return pd.read_excel(
            path,
            sheet_name=sheet,
            engine=engine,
            dtype={c: str for c in text_cols},
            keep_default_na=False,
            na_values=missing_markers(header, text_cols, source),
        )
    except (ValueError, KeyError) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"{path.name}: cannot read sheet {sheet!r} ({message})") from exc
    except Exception as exc:
        # openpyxl/xlrd/zipfile raise their own types on a damaged workbook
        message = " ".join(str(exc).split())[:200]
        raise DataError(
            f"{path.name}: cannot read the workbook ({type(exc).__name__}: {message}); open and "
            "save it again in a spreadsheet program, or export the sheet as CSV"
        ) from None


def read_table(path: Path, source: GenericSource) -> pd.DataFrame:
    """Read the whole file as pandas would, plus ``_file`` and ``_line`` columns.

    ``_line`` is the line in a CSV file (header = line 1), the row in an Excel sheet (header =
    row 1), or the 1-based row of a Parquet or Stata file.
    """
    fmt = file_format(path, source)
    try:
        if fmt == "csv":
            frame, first = _read_csv(path, source), 2
        elif fmt == "parquet":
            frame, first = pd.read_parquet(path), 1
        elif fmt == "stata":
            frame, first = pd.read_stata(path, convert_categoricals=False), 1
        else:
            frame, first = _read_excel(path, source), 2
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise DataError(f"{path.name}: cannot read the file as {fmt} ({message})") from exc
    except Exception as exc:
        if fmt == "csv":
            raise
        # pyarrow and pandas' Stata reader raise their own types on a damaged file
        message = " ".join(str(exc).split())[:200]
        raise DataError(
            f"{path.name}: cannot read the file as {fmt} ({type(exc).__name__}: {message}); "
            "write it again, or export the table as CSV"
        ) from None
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    for col in (FILE, LINE):
        if col in frame.columns:
            raise DataError(f"{path.name}: column name {col!r} is reserved; rename the column")
    if fmt == "csv":
        sep = source.sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
        lines = csv_line_numbers(path, sep, source.encoding, len(frame))
    else:
        lines = np.arange(len(frame), dtype=np.int64) + first
    # one concat, not two inserts: a wide table would warn that the frame is fragmented
    where = pd.DataFrame({FILE: path.name, LINE: lines}, index=frame.index)
    return pd.concat([frame, where], axis=1)


def _product_text(frame: pd.DataFrame, source: GenericSource) -> pd.Series:
    codes = frame["product"]
    if pd.api.types.is_float_dtype(codes.dtype):
        values = codes.to_numpy(dtype=float)
        integral = np.isfinite(values) & (values == np.round(values))
        text = pd.Series(codes.astype("str").to_numpy(), index=codes.index, dtype="str")
        text[integral] = values[integral].astype(np.int64).astype(str)
        text[~np.isfinite(values)] = None
    else:
        text = codes.astype("str").str.strip()
    if source.product_digits is not None:
        text = text.str.pad(source.product_digits, side="left", fillchar="0")
    return text


def read_generic(source: GenericSource, base_dir: Path | None = None) -> ReadResult:
    """Read any table through a column mapping.

    Parameters
    ----------
    source : GenericSource
        The file, the mapping (canonical name -> file column) and options.
    base_dir : pathlib.Path, optional
        Folder against which a relative path is resolved (default: the working directory).

    Returns
    -------
    ReadResult
        ``frame`` has the mapped canonical columns first (``exporter``, ``importer``,
        ``country``, ``product`` as text, ``year`` as int, ``value`` as float, ``indicator``),
        then every unmapped column unchanged. ``log`` counts ``rows_read``,
        ``dropped_missing_value``, ``merged_duplicate_rows`` (``duplicates="sum"``),
        ``dropped_unmatched_codes`` (``codes="iso3"``),
        ``merged_to_product_level`` and ``rows_out``.

    Raises
    ------
    DataError
        Unknown file type, missing optional package for Excel, a mapped column missing (the
        message suggests the closest name), a column named like a canonical one that another
        column is mapped to, an
        empty key, unparseable number or year, negative value, duplicate key rows, or too many
        unmatched country codes.
    """
    base = Path.cwd() if base_dir is None else base_dir
    paths = resolve_paths([source.path], base)
    path = paths[0]
    frames = [read_table(p, source) for p in paths]
    log: dict[str, int] = {"rows_read": sum(len(f) for f in frames)}
    if len(paths) > 1:
        # a glob reads every matching file; each file's row count goes to the manifest
        names = [[str(c) for c in f.columns] for f in frames]
        for other, columns in zip(paths[1:], names[1:], strict=True):
            if columns != names[0]:
                raise DataError(
                    f"{other.name}: its columns ({', '.join(columns[:-2])}) differ from those of "
                    f"{path.name} ({', '.join(names[0][:-2])}); the files of a pattern must "
                    "share one header"
                )
        for p, f in zip(paths, frames, strict=True):
            log[f"rows_read_file:{p.name}"] = len(f)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    available = [c for c in frame.columns if c not in (FILE, LINE)]
    labels: dict[str, str] = {str(k): v for k, v in source.columns.items()}  # canonical -> file
    for name in CANONICAL_COLUMNS:  # columns already named canonically map to themselves
        if name in available and name not in labels and name not in labels.values():
            labels[name] = name
    rename: dict[str, str] = {}
    for canonical, column in labels.items():
        found = require_column(
            available, column, file=path.name, hint=f"fix the mapping for {canonical!r}"
        )
        rename[found] = canonical
        labels[canonical] = found
    clash = [c for c in available if c in labels and c not in rename]
    if clash:
        raise DataError(
            f"{path.name}: column {clash[0]!r} has a canonical name but another column is mapped "
            f"to {clash[0]!r}; rename it or drop it from the file"
        )
    frame = frame.rename(columns=rename)
    check_missing_keys(frame, {k: v for k, v in labels.items() if k in _KEYS})
    if "product" in frame.columns:
        frame["product"] = _product_text(frame, source)
    if "year" in frame.columns:
        frame["year"] = parse_years(frame, "year", label=labels["year"])
    if "value" in frame.columns:
        frame["value"] = parse_numbers(frame, "value", label=labels["value"])
        missing = frame["value"].isna().to_numpy()
        bump(log, "dropped_missing_value", int(missing.sum()))
        frame = frame.loc[~missing]
        check_nonnegative(frame, frame["value"], label=labels["value"])
        frame["value"] = frame["value"] * source.value_scale
        check_magnitudes(frame, frame["value"], label=labels["value"])
    if source.duplicates == "sum":
        frame, merged = sum_duplicates(frame, _KEYS)
        bump(log, "merged_duplicate_rows", merged)
    check_duplicates(
        frame,
        _KEYS,
        hint="set duplicates: sum to add them up, or map the column that distinguishes them",
    )
    frame, report = harmonize_countries(
        frame,
        ("exporter", "importer", "country"),
        codes=source.codes,
        max_unmatched_share=source.max_unmatched_share,
        overrides=source.code_overrides,
        source=path.name,
    )
    bump(log, "dropped_unmatched_codes", report.unmatched_rows)
    if report.renamed:  # a historical code and its successor may now collide
        if source.duplicates == "sum":
            frame, merged = sum_duplicates(frame, _KEYS)
            bump(log, "merged_duplicate_rows", merged)
        check_duplicates(frame, _KEYS, hint="a historical code and its successor both appear")
    frame = frame.drop(columns=[FILE, LINE])
    if source.product_level is not None and "product" in frame.columns:
        rows = len(frame)
        frame["product"] = normalize_hs_codes(frame["product"], 6, source=path.name)
        frame = aggregate_products(
            frame,
            source.product_level,
            keys=("exporter", "importer", "country", "year"),
            source=path.name,
        )
        bump(log, "merged_to_product_level", rows - len(frame))
    mapped = [c for c in [*_KEYS[:5], "value", "indicator"] if c in frame.columns]
    mapped = list(dict.fromkeys(mapped))
    frame = frame[mapped + [c for c in frame.columns if c not in mapped]].reset_index(drop=True)
    log["rows_out"] = len(frame)
    files = tuple(str(p) for p in paths)
    return ReadResult(frame=frame, log=log, kind="generic", files=files, countries=report)
