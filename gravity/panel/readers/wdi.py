"""World Bank WDI reader: wide, long and raw DataBank CSV layouts, to one long table.

Recognized layouts (the header is the first line holding ``Country Code``, so metadata lines on
top, as in the World Bank's bulk downloads, are skipped):

* wide: ``Country Name, Country Code, Indicator Name, Indicator Code, 1960, 1961, ...`` (the
  bulk download), or DataBank's wide export with ``Series Code`` and ``2009 [YR2009]`` columns;
* long: ``Country Name, Country Code, Year, Value`` (e.g. the datahub.io packages);
* DataBank long: ``Series Name, Series Code, Country Name, Country Code, Time, Time Code,
  Value`` with footer lines (empty codes, then ``Data from database: ...`` and ``Last Updated``).

Missing values (``..``, empty) are dropped and counted. Regional and income-group aggregates
(``WLD``, ``EUU``, ``HIC``, ...; see :data:`gravity.panel.countries.WDI_AGGREGATE_CODES`) are
dropped and counted, or kept and flagged in ``is_aggregate``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.countries import WDI_AGGREGATE_CODES, harmonize_countries
from gravity.panel.readers._common import (
    FILE,
    LINE,
    ReadResult,
    bump,
    check_duplicates,
    find_column,
    parse_numbers,
    parse_years,
    read_csv_text,
    require_column,
    resolve_paths,
    where,
)
from gravity.panel.readers.sources import WdiSource

__all__ = ["read_wdi"]

_YEAR_COLUMN = re.compile(r"^(\d{4})(?:\s*\[YR\d{4}\])?$")
_HEADER_SEARCH = 30
_KEYS = ["country", "year", "indicator"]


def _header_line(path: Path, encoding: str) -> int:
    """0-based index of the line holding the column names (the first with ``Country Code``)."""
    try:
        with path.open(encoding=encoding, newline="") as handle:
            lines = [line for _, line in zip(range(_HEADER_SEARCH), handle, strict=False)]
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: the file is not valid {encoding} ({exc.reason}); set encoding"
        ) from exc
    for index, line in enumerate(lines):
        fields = [f.strip() for f in next(csv.reader([line]), [])]
        if "Country Code" in fields:
            return index
    first = next(csv.reader(lines[:1]), []) if lines else []
    raise DataError(
        f"{path.name}: no 'Country Code' column in the first {_HEADER_SEARCH} lines (first line: "
        f"{', '.join(first) or 'empty'}); is this a World Bank WDI file?"
    )


def _drop_footer(frame: pd.DataFrame, code: str, log: dict[str, int]) -> pd.DataFrame:
    empty = (frame[code].str.strip() == "").to_numpy()
    if not empty.any():
        return frame
    filled = np.flatnonzero(~empty)
    last = int(filled[-1]) if filled.size else -1
    inner = np.flatnonzero(empty[: last + 1])
    if inner.size:
        raise DataError(
            f"{where(frame, int(inner[0]))}: column {code!r} is empty; every data row needs a "
            "country code (only footer lines at the end may lack one)"
        )
    bump(log, "dropped_footer_lines", len(frame) - last - 1)
    return frame.iloc[: last + 1]


def _to_long(
    frame: pd.DataFrame, path: Path, source: WdiSource, log: dict[str, int]
) -> pd.DataFrame:
    columns = [c for c in frame.columns if c not in (FILE, LINE)]
    code = require_column(columns, "Country Code", file=path.name)
    indicator_col = find_column(columns, ["Indicator Code", "Series Code"])
    indicator = source.indicator or path.stem
    year_cols = {c: int(m.group(1)) for c in columns if (m := _YEAR_COLUMN.match(c))}
    year_col = find_column(columns, ["Year", "Time"])
    value_col = find_column(columns, ["Value"])
    if year_col is not None and value_col is not None:
        long = pd.DataFrame(
            {
                "country": frame[code].str.strip(),
                "year_text": frame[year_col].str.strip().str.removeprefix("YR"),
                "indicator": frame[indicator_col] if indicator_col else indicator,
                FILE: frame[FILE],
                LINE: frame[LINE],
            }
        )
        long["year"] = parse_years(long, "year_text", label=year_col)
        long["value"] = parse_numbers(frame, value_col).to_numpy()
        long = long.drop(columns="year_text")
    elif year_cols:
        bump(log, "cells_read", len(frame) * len(year_cols))
        ids = {"country": frame[code].str.strip(), FILE: frame[FILE], LINE: frame[LINE]}
        ids["indicator"] = frame[indicator_col] if indicator_col else indicator
        values = {year: parse_numbers(frame, col) for col, year in year_cols.items()}
        wide = pd.DataFrame(ids).join(pd.DataFrame(values, index=frame.index))
        long = wide.melt(
            id_vars=["country", "indicator", FILE, LINE], var_name="year", value_name="value"
        )
        long["year"] = long["year"].astype(np.int64)
    else:
        raise DataError(
            f"{path.name}: neither a long WDI table (columns Year/Time and Value) nor a wide one "
            f"(one column per year such as 1960 or '2009 [YR2009]'); columns: {', '.join(columns)}"
        )
    long["indicator"] = long["indicator"].astype("str").str.strip()
    return long


def _read_one(path: Path, source: WdiSource, log: dict[str, int]) -> pd.DataFrame:
    raw = read_csv_text(
        path, encoding=source.encoding, skiprows=_header_line(path, source.encoding)
    )
    unnamed = [c for c in raw.columns if c == "" or c.startswith("Unnamed:")]
    raw = raw.drop(columns=[c for c in unnamed if (raw[c].str.strip() == "").all()])
    bump(log, "rows_read", len(raw))
    code = require_column(
        [c for c in raw.columns if c not in (FILE, LINE)], "Country Code", file=path.name
    )
    raw = _drop_footer(raw, code, log)
    return _to_long(raw, path, source, log)


def read_wdi(source: WdiSource, base_dir: Path | None = None) -> ReadResult:
    """Read World Bank WDI files into a long table.

    Parameters
    ----------
    source : WdiSource
        Files (or glob patterns) and options.
    base_dir : pathlib.Path, optional
        Folder against which relative paths are resolved (default: the working directory).

    Returns
    -------
    ReadResult
        ``frame`` has ``country`` (ISO3, or as written with ``codes="keep"``), ``year`` (int),
        ``indicator`` (the indicator/series code, else ``source.indicator`` or the file stem),
        ``value`` (float) and, with ``aggregates="flag"``, ``is_aggregate``. ``log`` counts
        ``files_read``, ``rows_read``, ``cells_read`` (wide files), ``dropped_footer_lines``,
        ``dropped_missing_value``, ``dropped_aggregates`` or ``flagged_aggregates``,
        ``dropped_unmatched_codes`` and ``rows_out``.

    Raises
    ------
    DataError
        No header, unknown layout, unparseable number or year, an empty country code before the
        footer, the same (country, year, indicator) twice, or too many unmatched codes.
    """
    base = Path.cwd() if base_dir is None else base_dir
    paths = resolve_paths(source.paths, base)
    log: dict[str, int] = {"files_read": len(paths), "rows_read": 0}
    frame = pd.concat([_read_one(p, source, log) for p in paths], ignore_index=True)
    missing = frame["value"].isna().to_numpy()
    bump(log, "dropped_missing_value", int(missing.sum()))
    frame = frame.loc[~missing]
    aggregate = frame["country"].str.upper().isin(WDI_AGGREGATE_CODES).to_numpy()
    if source.aggregates == "drop":
        bump(log, "dropped_aggregates", int(aggregate.sum()))
        aggregates, countries = frame.iloc[:0], frame.loc[~aggregate]
    else:
        bump(log, "flagged_aggregates", int(aggregate.sum()))
        aggregates, countries = frame.loc[aggregate], frame.loc[~aggregate]
    countries, report = harmonize_countries(
        countries,
        ["country"],
        codes=source.codes,
        value_column=None,
        max_unmatched_share=source.max_unmatched_share,
        overrides=source.code_overrides,
        source=paths[0].name if len(paths) == 1 else f"{len(paths)} WDI files",
    )
    bump(log, "dropped_unmatched_codes", report.unmatched_rows)
    parts = [countries.assign(is_aggregate=False), aggregates.assign(is_aggregate=True)]
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    frame = frame.sort_values([FILE, LINE, "year"], kind="stable").reset_index(drop=True)
    check_duplicates(frame, _KEYS, hint="each country, year and indicator must appear once")
    columns = ["country", "year", "indicator", "value"]
    if source.aggregates == "flag":
        columns.append("is_aggregate")
    frame = frame[columns].reset_index(drop=True)
    frame["country"] = frame["country"].astype("str")
    log["rows_out"] = len(frame)
    return ReadResult(
        frame=frame, log=log, kind="wdi", files=tuple(str(p) for p in paths), countries=report
    )
