"""Country codes: harmonize exporter and importer identifiers to ISO 3166-1 alpha-3.

Trade and macro sources identify countries in many ways: UN Comtrade and CEPII BACI use numeric
codes (ISO 3166-1 numeric plus trade-statistics groupings such as 842 "USA, Puerto Rico and US
Virgin Islands"), Eurostat uses alpha-2 codes (with ``UK`` and ``EL``), CEPII GeoDist and older
World Bank files use historical alpha-3 codes (``ROM``, ``ZAR``, ``TMP``), and some files carry
names. :func:`resolve_code` turns any of these into one alpha-3 code, and
:func:`harmonize_countries` applies it to the country columns of a table, reporting every code it
could not resolve.

Rules for historical codes
--------------------------
*Renamed countries* map to their current code, because the territory is the same:
``ROM -> ROU`` (Romania), ``ZAR -> COD`` (Zaire), ``TMP -> TLS`` (East Timor), ``BUR -> MMR``
(Burma), ``DHY -> BEN``, ``UPV -> BFA``, ``NHB -> VUT``, CEPII's ``PAL`` and the World Bank's
former ``WBG`` to ``PSE``, ``ADO -> AND``, ``IMY -> IMN``, ``KSV -> XKX``; alpha-2 ``UK -> GBR``
and ``EL -> GRC`` (Eurostat), ``ZR``, ``TP``, ``BU``, ``FQ``. Numeric trade-statistics codes of
a *continuing state* map to it as well: 280 (Federal Republic of Germany) to ``DEU``, 736 (Sudan
before 2011) to ``SDN``, and the reporting groupings 251, 381, 579, 699, 711, 757 and 842 to
``FRA``, ``ITA``, ``NOR``, ``IND``, ``ZAF``, ``CHE`` and ``USA`` (the CEPII BACI convention).

*Former states* keep their own code: ``YUG`` (Yugoslavia; numeric 890), ``SCG`` (Serbia and
Montenegro; numeric 891), ``SUN`` (USSR), ``CSK`` (Czechoslovakia), ``DDR`` (German Democratic
Republic), ``ANT`` (Netherlands Antilles), ``BLX`` (Belgium-Luxembourg, numeric 58) and ``YMD``
(Democratic Yemen). Each split into several successors or merged into another state, so mapping
it to one successor would either attribute the trade of several countries to one, or create
duplicate rows in years when the former state and its successor both report. They count as
matched (they are not in :attr:`CountryReport.unmatched`) and are listed in
:attr:`CountryReport.former_states`. ``YUG`` is ambiguous in practice (CEPII uses it for Serbia
and Montenegro), which is one more reason not to map it. The alpha-2 code ``CS`` (used for both
Czechoslovakia and Serbia and Montenegro) is ambiguous and left unmatched.

Statistical areas with no country behind them (BACI/Comtrade 490 "Other Asia, nes", 697 "Europe
EFTA, nes", 849, 899 "Areas nes", 0 "World") are unmatched; pass ``overrides={"490": "TWN"}`` to
map them deliberately.

With ``codes="keep"`` identifiers are left exactly as they are (numeric ids, region codes or any
generic identifier work), and nothing is reported.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from gravity.exceptions import DataError, DataWarning
from gravity.panel._country_table import (
    ALPHA2_RENAMED,
    ALPHA3_RENAMED,
    FORMER_STATES,
    ISO3166,
    NAME_ALIASES,
    NUMERIC_EXTRA,
    USER_ASSIGNED,
    WDI_AGGREGATES,
)

__all__ = [
    "FORMER_STATE_CODES",
    "WDI_AGGREGATE_CODES",
    "CodeMode",
    "CountryReport",
    "country_table",
    "harmonize_countries",
    "resolve_code",
]

CodeMode = Literal["iso3", "keep"]
"""How country identifiers are treated: converted to ISO3, or kept as they are."""

Status = Literal["iso", "user_assigned", "former"]

#: Regional and income-group aggregate codes of the World Bank WDI (``WLD``, ``EUU``, ``HIC``, ...).
WDI_AGGREGATE_CODES: frozenset[str] = WDI_AGGREGATES


def _parse_table(
    text: str, status: Status
) -> list[tuple[str, str | None, int | None, str, Status]]:
    rows: list[tuple[str, str | None, int | None, str, Status]] = []
    for line in text.splitlines():
        alpha3, alpha2, numeric, name = line.split(" ", 3)
        rows.append(
            (
                alpha3,
                None if alpha2 == "--" else alpha2,
                None if numeric == "---" else int(numeric),
                name,
                status,
            )
        )
    return rows


_ROWS = (
    _parse_table(ISO3166, "iso")
    + _parse_table(USER_ASSIGNED, "user_assigned")
    + _parse_table(FORMER_STATES, "former")
)

#: Alpha-3 codes of former states, kept as their own code (see the module docstring).
FORMER_STATE_CODES: frozenset[str] = frozenset(r[0] for r in _ROWS if r[4] == "former")


def _normalize_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("&", " and ").casefold()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


_BY_ALPHA3: dict[str, str] = {r[0]: r[0] for r in _ROWS}
_BY_ALPHA2: dict[str, str] = {r[1]: r[0] for r in _ROWS if r[1] is not None}
_BY_NUMERIC: dict[int, str] = {r[2]: r[0] for r in _ROWS if r[2] is not None}
_BY_NUMERIC.update(NUMERIC_EXTRA)
_BY_NAME: dict[str, str] = {_normalize_name(r[3]): r[0] for r in _ROWS}
_BY_NAME.update({_normalize_name(k): v for k, v in NAME_ALIASES.items()})


def country_table() -> pd.DataFrame:
    """Return the built-in country table.

    Returns
    -------
    pandas.DataFrame
        One row per code with columns ``iso3``, ``iso2``, ``numeric`` (nullable integer),
        ``name`` and ``status`` (``"iso"`` for ISO 3166-1, ``"user_assigned"`` for ``XKX``,
        ``"former"`` for former states kept as their own code).
    """
    frame = pd.DataFrame(_ROWS, columns=["iso3", "iso2", "numeric", "name", "status"])
    frame["numeric"] = frame["numeric"].astype("Int64")
    return frame


def _as_text(value: object) -> str | None:
    """Text form of one identifier; integral floats (Stata, parquet) lose their ``.0``."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    return str(value)


def _lookup(text: str) -> tuple[str | None, bool]:
    """Resolve stripped text; the flag tells whether a historical/renamed code was used."""
    if text.isdigit():
        return _BY_NUMERIC.get(int(text)), False
    upper = text.upper()
    if len(upper) == 3 and upper.isalpha():
        if upper in _BY_ALPHA3:
            return upper, False
        if upper in ALPHA3_RENAMED:
            return ALPHA3_RENAMED[upper], True
    if len(upper) == 2 and upper.isalpha():
        if upper in _BY_ALPHA2:
            return _BY_ALPHA2[upper], False
        if upper in ALPHA2_RENAMED:
            return ALPHA2_RENAMED[upper], True
    return _BY_NAME.get(_normalize_name(text)), False


def resolve_code(code: object, overrides: Mapping[str, str] | None = None) -> str | None:
    """ISO3 code of one country identifier, or ``None`` when it cannot be resolved.

    Parameters
    ----------
    code : object
        An alpha-3 code (current or historical, any case), an alpha-2 code, a numeric code
        (int, integral float or digit string, ISO 3166-1 or UN Comtrade/BACI), or an English
        name (ISO, UN, World Bank or CEPII spelling).
    overrides : mapping of str to str, optional
        Explicit translations tried first, keyed by the identifier's text (e.g. ``{"490": "TWN"}``).

    Returns
    -------
    str or None
        The alpha-3 code (a former state's own code for ``YUG``, ``SUN``, ...), or ``None``.

    Examples
    --------
    >>> resolve_code("ROM"), resolve_code(710), resolve_code("NA"), resolve_code("Viet Nam")
    ('ROU', 'ZAF', 'NAM', 'VNM')
    """
    text = _as_text(code)
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if overrides:
        if text in overrides:
            return overrides[text]
        if text.upper() in overrides:
            return overrides[text.upper()]
    return _lookup(text)[0]


@dataclass(frozen=True)
class CountryReport:
    """What country-code harmonization did to one table.

    Attributes
    ----------
    mode : {"iso3", "keep"}
        The mode applied; with ``"keep"`` every other field is empty.
    columns : tuple of str
        The columns harmonized.
    unmatched : tuple of str
        Every distinct identifier (as text, ``"<missing>"`` for an empty one) that could not be
        resolved, sorted.
    unmatched_rows : int
        Rows dropped because at least one of their country columns was unmatched.
    unmatched_share : float
        Share of the table (by ``value`` when available, else by rows) that was dropped.
    share_basis : {"value", "rows"}
        What :attr:`unmatched_share` measures.
    renamed : dict of str to str
        Historical codes found and the current code they were mapped to (``{"ROM": "ROU"}``).
    former_states : tuple of str
        Former-state codes present after harmonization, kept as their own code.
    """

    mode: CodeMode
    columns: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    unmatched_rows: int = 0
    unmatched_share: float = 0.0
    share_basis: Literal["value", "rows"] = "rows"
    renamed: dict[str, str] = field(default_factory=dict)
    former_states: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, for the run manifest."""
        return {
            "mode": self.mode,
            "columns": list(self.columns),
            "unmatched": list(self.unmatched),
            "unmatched_rows": self.unmatched_rows,
            "unmatched_share": self.unmatched_share,
            "share_basis": self.share_basis,
            "renamed": dict(self.renamed),
            "former_states": list(self.former_states),
        }


def _harmonize_column(
    column: pd.Series, overrides: Mapping[str, str] | None
) -> tuple[np.ndarray, list[str | None], set[str], dict[str, str]]:
    """Resolve one column's distinct values.

    Returns the factorized codes (``-1`` for missing values), the ISO3 code of each distinct
    value (``None`` when unmatched), the unmatched texts and the historical codes renamed.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    resolved: list[str | None] = []
    unmatched: set[str] = set()
    renamed: dict[str, str] = {}
    for value in np.asarray(uniques, dtype=object):
        text = _as_text(value)
        stripped = "" if text is None else text.strip()
        iso3: str | None
        if not stripped:
            iso3 = None
        elif overrides and (stripped in overrides or stripped.upper() in overrides):
            iso3 = overrides.get(stripped, overrides.get(stripped.upper()))
        else:
            iso3, was_renamed = _lookup(stripped)
            if was_renamed and iso3 is not None:
                renamed[stripped] = iso3
        if iso3 is None:
            unmatched.add(stripped or "<missing>")
        resolved.append(iso3)
    if (codes < 0).any():
        unmatched.add("<missing>")
    return codes.astype(np.int64), resolved, unmatched, renamed


def _format_codes(codes: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(c) for c in codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def harmonize_countries(
    frame: pd.DataFrame,
    columns: Sequence[Hashable] = ("exporter", "importer"),
    *,
    codes: CodeMode = "iso3",
    value_column: Hashable | None = "value",
    max_unmatched_share: float = 0.05,
    overrides: Mapping[str, str] | None = None,
    source: str = "input",
) -> tuple[pd.DataFrame, CountryReport]:
    """Convert country columns to ISO3, dropping (and reporting) rows with unmatched codes.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; it is not modified.
    columns : sequence of str
        Country columns to harmonize (those absent from ``frame`` are skipped).
    codes : {"iso3", "keep"}
        ``"keep"`` returns ``frame`` unchanged with an empty report.
    value_column : str or None
        Column whose total measures the share of unmatched rows (trade value); when ``None`` or
        absent, or when the total is zero, the share is a share of rows.
    max_unmatched_share : float
        Largest tolerated share of unmatched rows; above it a :class:`DataError` is raised.
    overrides : mapping of str to str, optional
        Explicit translations tried before the built-in tables, keyed by the identifier's text.
    source : str
        Name of the input (file name), used in messages.

    Returns
    -------
    frame : pandas.DataFrame
        Rows whose codes all resolved, with ISO3 strings in ``columns``, index reset.
    report : CountryReport
        Unmatched codes, the rows and share dropped, historical codes mapped, former states.

    Raises
    ------
    DataError
        If the unmatched share exceeds ``max_unmatched_share``.

    Warns
    -----
    DataWarning
        Listing the unmatched codes, when some are dropped.
    """
    present = tuple(str(c) for c in columns if c in frame.columns)
    if codes == "keep":
        return frame, CountryReport(mode="keep", columns=present)
    bad = np.zeros(len(frame), dtype=bool)
    unmatched: set[str] = set()
    renamed: dict[str, str] = {}
    converted: dict[str, tuple[np.ndarray, list[str | None]]] = {}
    for col in present:
        codes_, resolved, col_unmatched, col_renamed = _harmonize_column(frame[col], overrides)
        codes_[codes_ < 0] = len(resolved)  # missing -> the trailing None
        resolved.append(None)
        converted[col] = (codes_, resolved)
        bad |= np.array([r is None for r in resolved], dtype=bool)[codes_]
        unmatched |= col_unmatched
        renamed.update(col_renamed)
    n_bad = int(bad.sum())
    basis: Literal["value", "rows"] = "rows"
    share = n_bad / len(frame) if len(frame) else 0.0
    if value_column is not None and value_column in frame.columns and n_bad:
        weights = pd.to_numeric(frame[value_column], errors="coerce").to_numpy(dtype=float)
        total = float(np.nansum(weights))
        if total > 0:
            basis = "value"
            share = float(np.nansum(weights[bad])) / total
    elif value_column is not None and value_column in frame.columns:
        basis = "value"
    listed = sorted(unmatched)
    if n_bad and share > max_unmatched_share:
        raise DataError(
            f"{source}: {share:.2%} of the {'trade value' if basis == 'value' else 'rows'} "
            f"({n_bad} rows) has country codes that do not resolve to ISO3 "
            f"(max_unmatched_share={max_unmatched_share:g}): {_format_codes(listed)}; map them "
            "with overrides, fix the codes, use codes='keep', or raise max_unmatched_share"
        )
    # copy-on-write: the country columns are replaced below, the others stay shared
    out = frame.loc[~bad].copy() if n_bad else frame.copy(deep=False)
    for col, (codes_, resolved) in converted.items():
        kept = codes_[~bad] if n_bad else codes_
        # build the text column in Arrow: much faster than from 10 million Python strings
        text = pa.array(resolved, type=pa.string()).take(pa.array(kept))
        out[col] = pd.array(text, dtype="str")
    out = out.reset_index(drop=True)
    former = sorted(
        {r for _, resolved in converted.values() for r in resolved if r in FORMER_STATE_CODES}
    )
    report = CountryReport(
        mode="iso3",
        columns=present,
        unmatched=tuple(listed),
        unmatched_rows=n_bad,
        unmatched_share=share,
        share_basis=basis,
        renamed=dict(sorted(renamed.items())),
        former_states=tuple(former),
    )
    if n_bad:
        warnings.warn(
            f"{source}: dropped {n_bad} rows ({share:.2%} of the "
            f"{'trade value' if basis == 'value' else 'rows'}) whose country code does not "
            f"resolve to ISO3: {_format_codes(listed)}",
            DataWarning,
            stacklevel=2,
        )
    return out, report
