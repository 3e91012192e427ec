"""CEPII GeoDist reader: ``dist_cepii.csv`` (pairs) and ``geo_cepii.csv`` (countries).

Both files are ``;``-separated, latin-1 encoded, and write ``.`` for a missing value.
``dist_cepii.csv`` has one row per ordered pair (``iso_o``, ``iso_d``, including the diagonal
with internal distances) and the columns ``contig, comlang_off, comlang_ethno, colony, comcol,
curcol, col45, smctry, dist, distcap, distw, distwces`` (km). ``geo_cepii.csv`` has one row per
country and city (``iso2, iso3, cnum, country, ..., area, dis_int, landlocked, continent, lat,
lon, ...``); the reader keeps the main-city row of each country (``maincity == 1``).

CEPII uses some historical codes (``ROM``, ``ZAR``, ``TMP``, ``PAL``) and former states
(``YUG`` for Serbia and Montenegro, ``ANT``); with ``codes="iso3"`` they follow the rules of
:mod:`gravity.panel.countries`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gravity.panel.countries import harmonize_countries
from gravity.panel.readers._common import (
    FILE,
    LINE,
    ReadResult,
    bump,
    check_duplicates,
    check_missing_keys,
    find_column,
    read_csv_text,
    require_column,
    resolve_paths,
)
from gravity.panel.readers.sources import GeoDistSource

__all__ = ["read_geodist"]

_DIST_KEYS = {"exporter": "iso_o", "importer": "iso_d"}
_MISSING = {"", "."}  # CEPII writes "." for missing (and "NA" is Namibia's alpha-2 code)


def _convert_columns(frame: pd.DataFrame, skip: set[str]) -> pd.DataFrame:
    """Numeric columns to numbers (int when complete and integral), ``.`` to missing."""
    out = {}
    for col in frame.columns:
        if col in skip or col in (FILE, LINE):
            out[col] = frame[col]
            continue
        text = frame[col].str.strip()
        missing = text.isin(_MISSING)
        numbers = pd.to_numeric(text.where(~missing), errors="coerce")
        if bool((numbers.notna() | missing).all()) and not bool(missing.all()):
            numbers = numbers.astype(float)
            if not missing.any() and bool((numbers == numbers.round()).all()):
                out[col] = numbers.astype(np.int64)
            else:
                out[col] = numbers
        else:
            out[col] = text.where(~missing).astype("str")
    return pd.DataFrame(out, index=frame.index)


def read_geodist(source: GeoDistSource, base_dir: Path | None = None) -> ReadResult:
    """Read a CEPII GeoDist file.

    Parameters
    ----------
    source : GeoDistSource
        The file and options (``table="auto"`` recognizes ``dist`` or ``geo`` from the columns).
    base_dir : pathlib.Path, optional
        Folder against which a relative path is resolved (default: the working directory).

    Returns
    -------
    ReadResult
        For ``dist_cepii.csv``: ``exporter`` (from ``iso_o``), ``importer`` (from ``iso_d``) and
        every other column (numbers; NaN where CEPII wrote ``.``). For ``geo_cepii.csv``:
        ``country`` (from ``iso3``) and the other columns (CEPII's ``country`` name becomes
        ``country_name``), one row per country. ``log`` counts
        ``rows_read``, ``dropped_secondary_cities`` (geo), ``dropped_unmatched_codes``,
        ``missing_<column>`` for columns with missing values, and ``rows_out``.

    Raises
    ------
    DataError
        Missing key column, empty code, a pair (or country) listed twice (also after historical
        codes are mapped, e.g. both ``ROM`` and ``ROU``), or too many unmatched codes.
    """
    base = Path.cwd() if base_dir is None else base_dir
    path = resolve_paths([source.path], base)[0]
    raw = read_csv_text(path, sep=source.sep, encoding=source.encoding)
    log: dict[str, int] = {"rows_read": len(raw)}
    columns = [c for c in raw.columns if c not in (FILE, LINE)]
    table = source.table
    if table == "auto":
        table = "dist" if find_column(columns, ["iso_o"]) is not None else "geo"
    if table == "dist":
        rename = {
            require_column(columns, src, file=path.name, hint="is this dist_cepii.csv?"): dst
            for dst, src in _DIST_KEYS.items()
        }
        keys = ["exporter", "importer"]
    else:
        iso3 = require_column(columns, "iso3", file=path.name, hint="is this geo_cepii.csv?")
        rename = {iso3: "country"}
        if "country" in columns:  # CEPII's country name
            rename["country"] = "country_name"
        keys = ["country"]
    frame = raw.rename(columns=rename)
    check_missing_keys(frame, {k: src for src, k in rename.items() if k in keys})
    frame = _convert_columns(frame, skip=set(keys))
    for key in keys:
        frame[key] = frame[key].str.strip()
    if table == "geo":
        main = find_column(columns, ["maincity"])
        if main is not None:
            keep = (frame[main] == 1).to_numpy()
            bump(log, "dropped_secondary_cities", int((~keep).sum()))
            frame = frame.loc[keep]
    check_duplicates(frame, keys, hint="each pair/country must appear once in a GeoDist file")
    frame, report = harmonize_countries(
        frame,
        keys,
        codes=source.codes,
        value_column=None,
        max_unmatched_share=source.max_unmatched_share,
        overrides=source.code_overrides,
        source=path.name,
    )
    bump(log, "dropped_unmatched_codes", report.unmatched_rows)
    if report.renamed:  # e.g. a file listing both ROM and ROU
        check_duplicates(frame, keys, hint="a historical code and its successor both appear")
    frame = frame.drop(columns=[FILE, LINE]).reset_index(drop=True)
    frame = frame[keys + [c for c in frame.columns if c not in keys]]
    for col in frame.columns:
        n_missing = int(frame[col].isna().sum())
        if n_missing and col not in keys:
            log[f"missing_{col}"] = n_missing
    log["rows_out"] = len(frame)
    return ReadResult(frame=frame, log=log, kind="geodist", files=(str(path),), countries=report)
