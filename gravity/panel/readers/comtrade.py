"""UN Comtrade reader: CSV exports of the Comtrade+ API, its bulk files, or the legacy layout.

Columns are found under the names each Comtrade generation used (first match wins):

============  ===========================================================================
reporter      ``reporterISO`` / ``Reporter ISO`` / ``rt3ISO``, else ``reporterCode`` /
              ``Reporter Code`` / ``rtCode`` (numeric)
partner       ``partnerISO`` / ``Partner ISO`` / ``pt3ISO``, else ``partnerCode`` / ...
flow          ``flowCode`` (X, M, RX, RM) / ``Trade Flow Code`` / ``rgCode`` (2 export,
              1 import, 3 re-export, 4 re-import) / ``flowDesc`` / ``Trade Flow``
product       ``cmdCode`` / ``Commodity Code``
year          ``refYear`` / ``Year`` / ``yr`` / ``period`` / ``Period``
month         (``frequency="monthly"`` only) ``period`` / ``Period`` (YYYYMM), else
              ``refYear`` with ``refMonth``
value         ``primaryValue`` / ``TradeValue`` / ``Trade Value (US$)`` / ``tradeValue``,
              else ``fobvalue`` (exports) or ``cifvalue`` (imports)
============  ===========================================================================

Rows of a breakdown (``customsCode`` other than ``C00``, ``motCode`` or ``partner2Code`` other
than 0), of other flows (re-exports, re-imports, or the flow not selected), with the World as
partner or reporter (code 0, ``W00``, ``WLD``) and with the ``TOTAL`` commodity are dropped and
counted.

Monthly files (``freqCode`` ``M`` or six-digit periods) are an error unless the source says
``frequency="monthly"``; then the table also has ``month`` (1-12) and ``period`` (``"YYYY-MM"``)
and the month is part of every key (duplicates, code merges, product aggregation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.countries import harmonize_countries
from gravity.panel.products import aggregate_products, normalize_hs_codes
from gravity.panel.readers._common import (
    FILE,
    LINE,
    ReadResult,
    bump,
    check_duplicates,
    check_missing_keys,
    check_nonnegative,
    find_column,
    parse_numbers,
    parse_years,
    read_csv_text,
    require_column,
    resolve_paths,
    where,
)
from gravity.panel.readers.sources import ComtradeSource

__all__ = ["read_comtrade"]

_REPORTER = (["reporterISO", "Reporter ISO", "rt3ISO"], ["reporterCode", "Reporter Code", "rtCode"])
_PARTNER = (["partnerISO", "Partner ISO", "pt3ISO"], ["partnerCode", "Partner Code", "ptCode"])
_FLOW = ["flowCode", "Trade Flow Code", "rgCode", "flowDesc", "Trade Flow", "rgDesc"]
_PRODUCT = ["cmdCode", "Commodity Code", "cmdcode"]
_YEAR = ["refYear", "Year", "yr", "period", "Period"]
_VALUE = ["primaryValue", "TradeValue", "Trade Value (US$)", "tradeValue"]
_CLASSIFICATION = ["classificationCode", "Classification", "pfCode"]
_BREAKDOWN = {"customsCode": {"C00", ""}, "motCode": {"0", ""}, "partner2Code": {"0", ""}}
_FLOW_ALIASES = {
    "X": ("X", "2", "EXPORT", "EXPORTS"),
    "M": ("M", "1", "IMPORT", "IMPORTS"),
    "RX": ("RX", "3", "RE-EXPORT", "RE-EXPORTS"),
    "RM": ("RM", "4", "RE-IMPORT", "RE-IMPORTS"),
}
_FLOWS = {alias: flow for flow, aliases in _FLOW_ALIASES.items() for alias in aliases}

_WORLD = {"0", "W00", "WLD", "WORLD"}
_TOTAL = {"TOTAL", "ALL", "AG0"}
_KEYS = ["exporter", "importer", "product", "year"]
_MONTHLY_KEYS = [*_KEYS, "month", "period"]
_PERIOD = ["period", "Period"]
_FREQ = ["freqCode"]


def _country_column(columns: list[str], names: tuple[list[str], list[str]], file: str) -> str:
    found = find_column(columns, names[0]) or find_column(columns, names[1])
    if found is None:
        return require_column(columns, [*names[0], *names[1]], file=file)
    return found


def _select_rows(
    frame: pd.DataFrame, keep: np.ndarray, log: dict[str, int], key: str
) -> pd.DataFrame:
    bump(log, key, int((~keep).sum()))
    return frame.loc[keep] if not keep.all() else frame


def _read_one(path: Path, source: ComtradeSource, log: dict[str, int]) -> pd.DataFrame:
    raw = read_csv_text(path, sep=source.sep, encoding=source.encoding)
    bump(log, "rows_read", len(raw))
    cols = [c for c in raw.columns if c not in (FILE, LINE)]
    reporter = _country_column(cols, _REPORTER, path.name)
    partner = _country_column(cols, _PARTNER, path.name)
    flow = require_column(cols, _FLOW, file=path.name)
    product = require_column(cols, _PRODUCT, file=path.name)
    if source.frequency == "monthly":
        year = find_column(cols, _PERIOD) or require_column(cols, ["refYear"], file=path.name)
    else:
        year = require_column(cols, _YEAR, file=path.name)
    wanted = "M" if source.flow == "mirror" else "X"
    if source.value_column is not None:
        value = require_column(cols, source.value_column, file=path.name)
    else:
        fallback = "cifvalue" if wanted == "M" else "fobvalue"
        value = require_column(cols, [*_VALUE, fallback], file=path.name)
    for col, totals in _BREAKDOWN.items():
        found = find_column(cols, [col])
        if found is not None:
            keep = raw[found].str.strip().isin(totals).to_numpy()
            raw = _select_rows(raw, keep, log, "dropped_breakdown_rows")
    flows = raw[flow].str.strip().str.upper().map(_FLOWS)
    raw = _select_rows(
        raw, (flows == wanted).to_numpy(dtype=bool, na_value=False), log, "dropped_other_flow"
    )
    world = np.zeros(len(raw), dtype=bool)
    for names in (_REPORTER, _PARTNER):
        for id_col in (find_column(cols, names[0]), find_column(cols, names[1])):
            if id_col is not None:
                world |= raw[id_col].str.strip().str.upper().isin(_WORLD).to_numpy()
    raw = _select_rows(raw, ~world, log, "dropped_world_partner")
    products = raw[product].str.strip()
    total = products.str.upper().isin(_TOTAL).to_numpy()
    raw, products = _select_rows(raw, ~total, log, "dropped_total_product"), products[~total]
    classification = find_column(cols, _CLASSIFICATION)
    if classification is not None:
        systems = sorted(set(raw[classification].str.strip()))
        if len(systems) > 1:
            raise DataError(
                f"{path.name}: column {classification!r} mixes classifications "
                f"({', '.join(systems)}); read one classification at a time"
            )
    exporter, importer = (partner, reporter) if wanted == "M" else (reporter, partner)
    out = pd.DataFrame(
        {
            "exporter": raw[exporter].str.strip(),
            "importer": raw[importer].str.strip(),
            "product": products,
            FILE: raw[FILE],
            LINE: raw[LINE],
        }
    )
    check_missing_keys(out, {"exporter": exporter, "importer": importer, "product": product})
    if source.frequency == "monthly":
        out["year"], out["month"] = _months(raw, year, cols, path.name)
        out["period"] = [f"{y:04d}-{m:02d}" for y, m in zip(out["year"], out["month"], strict=True)]
    else:
        _reject_monthly_freq(raw, cols)
        out["year"] = _years(raw, year)
    out["value"] = parse_numbers(raw, value).to_numpy()
    check_nonnegative(out, out["value"], label=value)
    return out


def _years(raw: pd.DataFrame, column: str) -> pd.Series:
    text = raw[column].str.strip()
    monthly = text.str.fullmatch(r"\d{6}").to_numpy(dtype=bool, na_value=False)
    if monthly.any():
        pos = int(np.flatnonzero(monthly)[0])
        raise DataError(
            f"{where(raw, pos)}: column {column!r} has the monthly period {text.iloc[pos]!r}; "
            "use annual data (or a refYear column)"
        )
    return parse_years(raw, column)


def _reject_monthly_freq(raw: pd.DataFrame, cols: list[str]) -> None:
    freq = find_column(cols, _FREQ)
    if freq is None:
        return
    monthly = (raw[freq].str.strip().str.upper() == "M").to_numpy(dtype=bool, na_value=False)
    if monthly.any():
        pos = int(np.flatnonzero(monthly)[0])
        raise DataError(
            f"{where(raw, pos)}: column {freq!r} is 'M' (monthly data); set frequency: monthly "
            "on the Comtrade source or download annual data"
        )


def _months(
    raw: pd.DataFrame, column: str, cols: list[str], file: str
) -> tuple[np.ndarray, np.ndarray]:
    """Years and months of a monthly file, from YYYYMM periods or refYear + refMonth."""
    if column in _PERIOD:
        text = raw[column].str.strip()
        ok = text.str.fullmatch(r"\d{4}(0[1-9]|1[0-2])").to_numpy(dtype=bool, na_value=False)
        if not ok.all():
            pos = int(np.flatnonzero(~ok)[0])
            raise DataError(
                f"{where(raw, pos)}: column {column!r} has {text.iloc[pos]!r}, which is not a "
                "monthly period; frequency: monthly needs YYYYMM periods such as '202311'"
            )
        digits = text.astype(int).to_numpy()
        return digits // 100, digits % 100
    month = require_column(cols, ["refMonth"], file=file)
    years = parse_years(raw, column).to_numpy(dtype=int)
    months = pd.to_numeric(raw[month].str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isin(months, np.arange(1, 13))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where(raw, pos)}: column {month!r} has {raw[month].iloc[pos]!r}, which is not a "
            "month (1-12); frequency: monthly needs a month on every row"
        )
    return years, months.astype(int)


def _products(frame: pd.DataFrame, source: ComtradeSource, log: dict[str, int]) -> pd.DataFrame:
    codes = frame["product"]
    digits = codes.str.fullmatch(r"[0-9]+").to_numpy(dtype=bool, na_value=False)
    if not digits.all():
        pos = int(np.flatnonzero(~digits)[0])
        raise DataError(
            f"{where(frame, pos)}: commodity code {codes.iloc[pos]!r} is not a number; "
            "Comtrade HS codes are digits (TOTAL rows are dropped automatically)"
        )
    lengths = codes.str.len()
    odd = (lengths % 2 == 1).to_numpy()
    bump(log, "zero_padded_product_codes", int(odd.sum()))
    if odd.any():  # leading zero lost (e.g. saved through a spreadsheet): HS codes have even length
        frame = frame.assign(product=codes.where(~odd, "0" + codes))
        lengths = frame["product"].str.len()
    if lengths.nunique() > 1:
        found = ", ".join(str(n) for n in sorted(lengths.unique()))
        raise DataError(
            f"{frame[FILE].iloc[0]}: commodity codes of different lengths ({found} digits) would "
            "count the same trade twice; download a single level (aggrLevel) or filter the file"
        )
    if source.product_level is not None and len(frame):
        if int(lengths.iloc[0]) != 6:
            raise DataError(
                f"{frame[FILE].iloc[0]}: product_level={source.product_level!r} needs six-digit "
                f"HS codes but the file has {int(lengths.iloc[0])}-digit codes; set product_level "
                "to None or download HS6 data"
            )
        frame = frame.assign(product=normalize_hs_codes(frame["product"], 6))
    return frame


def read_comtrade(source: ComtradeSource, base_dir: Path | None = None) -> ReadResult:
    """Read UN Comtrade CSV exports into the canonical trade table.

    Parameters
    ----------
    source : ComtradeSource
        Files (or glob patterns), flow choice (``"exports"`` or ``"mirror"``) and options.
    base_dir : pathlib.Path, optional
        Folder against which relative paths are resolved (default: the working directory).

    Returns
    -------
    ReadResult
        ``frame`` has ``exporter``, ``importer``, ``product`` (string), ``year`` and ``value``
        (USD as reported: FOB exports, or CIF imports with ``flow="mirror"``), plus ``month``
        (int) and ``period`` (``"YYYY-MM"``) with ``frequency="monthly"``. ``log`` counts
        ``rows_read``, ``dropped_breakdown_rows``, ``dropped_other_flow``,
        ``dropped_world_partner``, ``dropped_total_product``, ``dropped_missing_value``,
        ``zero_padded_product_codes``, ``dropped_unmatched_codes``, ``merged_code_collisions``,
        ``merged_to_product_level`` and ``rows_out``.

    Raises
    ------
    DataError
        Missing column, unparseable number, year or monthly period, monthly rows in an annual
        read, negative value, empty key,
        mixed classifications or code lengths, duplicate flows, or too much trade with
        unmatched country codes.
    """
    base = Path.cwd() if base_dir is None else base_dir
    paths = resolve_paths(source.paths, base)
    log: dict[str, int] = {"files_read": len(paths), "rows_read": 0}
    frame = pd.concat([_read_one(p, source, log) for p in paths], ignore_index=True)
    missing = frame["value"].isna().to_numpy()
    frame = _select_rows(frame, ~missing, log, "dropped_missing_value").reset_index(drop=True)
    frame = _products(frame, source, log)
    keys = _MONTHLY_KEYS if source.frequency == "monthly" else _KEYS
    check_duplicates(
        frame,
        keys,
        hint="Comtrade has one row per flow; remove repeated downloads or breakdown rows",
    )
    frame = frame.drop(columns=[FILE, LINE])
    frame, report = harmonize_countries(
        frame,
        codes=source.codes,
        max_unmatched_share=source.max_unmatched_share,
        overrides=source.code_overrides,
        source=paths[0].name if len(paths) == 1 else f"{len(paths)} Comtrade files",
    )
    bump(log, "dropped_unmatched_codes", report.unmatched_rows)
    rows = len(frame)
    if source.codes == "iso3" and frame.duplicated(keys).any():
        frame = frame.groupby(keys, sort=False)[["value"]].sum().reset_index()
    bump(log, "merged_code_collisions", rows - len(frame))
    rows = len(frame)
    if source.product_level is not None:
        frame = aggregate_products(
            frame,
            source.product_level,
            keys=[k for k in keys if k != "product"],
            source=paths[0].name,
        )
    bump(log, "merged_to_product_level", rows - len(frame))
    frame = frame[[*keys, "value"]].reset_index(drop=True)
    log["rows_out"] = len(frame)
    return ReadResult(
        frame=frame,
        log=log,
        kind="comtrade",
        files=tuple(str(p) for p in paths),
        countries=report,
    )
