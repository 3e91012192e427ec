"""Harmonized System product codes: normalization and aggregation HS6 -> HS4 -> HS2 -> section.

Product codes are always strings: ``"010121"`` keeps its leading zero. HS sections are the 21
sections of the Harmonized System nomenclature, defined by ranges of chapters (two-digit codes)
and labelled with Roman numerals (``"I"`` .. ``"XXI"``), as in the nomenclature itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from gravity.exceptions import DataError

__all__ = [
    "HS_SECTIONS",
    "ProductLevel",
    "aggregate_products",
    "hs_section",
    "normalize_hs_codes",
    "product_level_codes",
]

ProductLevel = Literal["hs6", "hs4", "hs2", "section"]
"""Product detail: six, four or two HS digits, or the 21 HS sections."""

#: The 21 HS sections: (label, first chapter, last chapter, title).
HS_SECTIONS: tuple[tuple[str, int, int, str], ...] = (
    ("I", 1, 5, "Live animals; animal products"),
    ("II", 6, 14, "Vegetable products"),
    ("III", 15, 15, "Animal, vegetable or microbial fats and oils"),
    ("IV", 16, 24, "Prepared foodstuffs; beverages, spirits and vinegar; tobacco"),
    ("V", 25, 27, "Mineral products"),
    ("VI", 28, 38, "Products of the chemical or allied industries"),
    ("VII", 39, 40, "Plastics and rubber and articles thereof"),
    ("VIII", 41, 43, "Raw hides and skins, leather, furskins; saddlery; travel goods"),
    ("IX", 44, 46, "Wood, cork, straw and plaiting materials; articles thereof"),
    ("X", 47, 49, "Pulp of wood; paper and paperboard; printed matter"),
    ("XI", 50, 63, "Textiles and textile articles"),
    ("XII", 64, 67, "Footwear, headgear, umbrellas; prepared feathers; artificial flowers"),
    ("XIII", 68, 70, "Articles of stone, plaster, cement, asbestos, mica; ceramics; glass"),
    ("XIV", 71, 71, "Pearls, precious stones and metals; imitation jewellery; coin"),
    ("XV", 72, 83, "Base metals and articles of base metal"),
    ("XVI", 84, 85, "Machinery and mechanical appliances; electrical equipment"),
    ("XVII", 86, 89, "Vehicles, aircraft, vessels and associated transport equipment"),
    ("XVIII", 90, 92, "Optical, medical, measuring instruments; clocks; musical instruments"),
    ("XIX", 93, 93, "Arms and ammunition"),
    ("XX", 94, 96, "Miscellaneous manufactured articles"),
    ("XXI", 97, 97, "Works of art, collectors' pieces and antiques"),
)

_CHAPTER_TO_SECTION: dict[str, str] = {
    f"{chapter:02d}": label
    for label, first, last, _ in HS_SECTIONS
    for chapter in range(first, last + 1)
    if chapter != 77  # reserved for future use inside section XV
}
_DIGITS: dict[str, int] = {"hs6": 6, "hs4": 4, "hs2": 2}


def normalize_hs_codes(codes: pd.Series, digits: int = 6, *, source: str = "input") -> pd.Series:
    """Product codes as zero-padded strings of ``digits`` characters.

    Real files often write HS codes as numbers, losing the leading zero (``10121`` for
    ``010121``); this pads them back.

    Parameters
    ----------
    codes : pandas.Series
        Codes as integers, integral floats or digit strings (surrounding spaces are ignored).
    digits : int
        Target width (6 for HS6).
    source : str
        Name of the input, used in messages.

    Returns
    -------
    pandas.Series
        String codes of exactly ``digits`` characters, same index.

    Raises
    ------
    DataError
        If a code is missing, not made of digits, or longer than ``digits``.
    """
    text = _to_text(codes)
    text = text.str.strip()
    ok = text.str.fullmatch(rf"[0-9]{{1,{digits}}}").fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        pos = int(np.flatnonzero(~ok)[0])
        raise DataError(
            f"{source}: product code {codes.iloc[pos]!r} (row {pos + 1}) is not an HS code of at "
            f"most {digits} digits; fix or remove the row"
        )
    return text.str.pad(digits, side="left", fillchar="0")


def _to_text(codes: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(codes.dtype):
        values = codes.to_numpy(dtype=float)
        integral = np.isfinite(values) & (values == np.round(values))
        out = pd.Series(pd.array([None] * len(codes), dtype="str"), index=codes.index)
        out[integral] = pd.array(values[integral].astype(np.int64).astype(str), dtype="str")
        return out
    return codes.astype("str")


def hs_section(chapters: pd.Series, *, source: str = "input") -> pd.Series:
    """HS section label (``"I"`` .. ``"XXI"``) of two-digit chapter codes.

    Raises
    ------
    DataError
        For chapters outside every section (77 is reserved; 98 and 99 are national-use chapters).
    """
    labels = chapters.map(_CHAPTER_TO_SECTION)
    missing = labels.isna().to_numpy()
    if missing.any():
        bad = sorted(set(chapters[missing].astype(str)))
        raise DataError(
            f"{source}: HS chapter(s) {', '.join(bad)} belong to no HS section (chapter 77 is "
            "reserved, 98-99 are for national use); drop those products or use product_level "
            "'hs2' instead of 'section'"
        )
    return labels.astype("str")


def product_level_codes(
    codes: pd.Series, level: ProductLevel, *, source: str = "input"
) -> pd.Series:
    """Codes of ``level`` for six-digit HS codes (``"010121"`` -> ``"0101"``, ``"01"``, ``"I"``).

    Parameters
    ----------
    codes : pandas.Series
        Six-digit string codes (see :func:`normalize_hs_codes`).
    level : {"hs6", "hs4", "hs2", "section"}
        Target level.
    source : str
        Name of the input, used in messages.

    Returns
    -------
    pandas.Series
        String codes of the target level, same index.
    """
    text = codes.astype("str")
    if level == "section":
        return hs_section(text.str.slice(0, 2), source=source)
    return text.str.slice(0, _DIGITS[level])


def aggregate_products(
    frame: pd.DataFrame,
    level: ProductLevel,
    *,
    product_column: str = "product",
    keys: Sequence[Hashable] = ("exporter", "importer", "year"),
    value_columns: Sequence[Hashable] = ("value",),
    source: str = "input",
) -> pd.DataFrame:
    """Sum values of six-digit HS products up to ``level``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table with a six-digit string ``product_column``, the ``keys`` and the ``value_columns``.
    level : {"hs6", "hs4", "hs2", "section"}
        Target level; ``"hs6"`` returns a copy of the table.
    product_column : str
        Column with the HS6 codes.
    keys : sequence of str
        Other key columns kept in the grouping (those absent from ``frame`` are ignored).
    value_columns : sequence of str
        Columns summed; any other column is dropped.
    source : str
        Name of the input, used in messages.

    Returns
    -------
    pandas.DataFrame
        One row per (keys, product) with the summed values, products as strings.
    """
    if level == "hs6":
        return frame.copy()
    group = [k for k in keys if k in frame.columns]
    values = [v for v in value_columns if v in frame.columns]
    work = frame[[*group, *values]].copy()
    work[product_column] = product_level_codes(frame[product_column], level, source=source)
    out = work.groupby([*group, product_column], sort=True, observed=True, dropna=False)[
        values
    ].sum(min_count=1)
    out = out.reset_index()
    out[product_column] = out[product_column].astype("str")
    kept = {*group, product_column, *values}
    return out[[c for c in frame.columns if c in kept]]
