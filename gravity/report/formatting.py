"""Numbers formatted for people: money with T/B/M/K suffixes, percentages, changes, ranks.

The currency is the data's (the panel metadata or ``report.currency``), never assumed: a value of
unknown currency is shown as a plain number and labelled "value units".
"""

from __future__ import annotations

import math
from typing import Literal

Kind = Literal["text", "money", "share", "change", "score", "number", "int", "year", "pvalue"]
"""How a value is shown (and which spreadsheet number format it gets)."""

SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
MINUS = "\u2212"
MISSING = "\u2013"  # an en dash for a value that does not exist (not zero)


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _three_digits(number: float) -> str:
    # three significant digits, without a trailing ".0" noise for round values
    if number >= 100:
        return f"{number:.0f}"
    if number >= 10:
        return f"{number:.1f}"
    return f"{number:.2f}"


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5"}
"""Currencies written with a symbol before the number; others get their code after it."""
UNKNOWN_UNIT = "value units"
"""Label of values whose currency the data do not state."""


def currency_label(currency: str | None) -> str:
    """What a money column's header names: the ISO code, or :data:`UNKNOWN_UNIT`."""
    return currency or UNKNOWN_UNIT


def money_label(what: str, currency: str | None) -> str:
    """A header with its unit: ``money_label("Potential", "EUR")`` -> ``Potential (EUR)``."""
    return f"{what} ({currency_label(currency)})"


def format_money(value: object, currency: str | None) -> str:
    """Money with a suffix, three significant digits: ``€1.23B``, ``$45.6M``, ``−812K CHF``.

    Parameters
    ----------
    value : object
        The amount (missing or non-finite values give an en dash).
    currency : str or None
        ISO code of the data's currency; ``None`` shows the bare number (unknown currency).

    Returns
    -------
    str
    """
    number = _finite(value)
    if number is None:
        return MISSING
    sign = MINUS if number < 0 else ""
    size = abs(number)
    text = f"{size:.0f}"
    for scale, suffix in SUFFIXES:
        # 999.6K rounds to "1000K": promote such values to the next suffix
        if size >= scale * 0.9995:
            text = f"{_three_digits(size / scale)}{suffix}"
            break
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper())
    if symbol is not None:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}" if currency else f"{sign}{text}"


def format_share(value: object, digits: int = 1) -> str:
    """A share as a percentage: ``0.4512`` -> ``45.1%``."""
    number = _finite(value)
    if number is None:
        return MISSING
    text = f"{abs(number) * 100:.{digits}f}%"
    return f"{MINUS}{text}" if number < 0 and text.strip("0.%") else text


def format_change(value: object, digits: int = 1) -> str:
    """A relative change with its sign: ``0.045`` -> ``+4.5%``, ``-0.12`` -> ``−12.0%``."""
    number = _finite(value)
    if number is None:
        return MISSING
    text = f"{abs(number) * 100:.{digits}f}%"
    if not text.strip("0.%"):
        return text
    return f"{'+' if number > 0 else MINUS}{text}"


def format_number(value: object, digits: int = 3) -> str:
    """A plain number with thousands separators: ``1234.5678`` -> ``1,234.568``."""
    number = _finite(value)
    if number is None:
        return MISSING
    text = f"{abs(number):,.{digits}f}"
    return f"{MINUS}{text}" if number < 0 and text.strip("0.,") else text


def format_int(value: object) -> str:
    """A count with thousands separators: ``12345`` -> ``12,345``."""
    number = _finite(value)
    return MISSING if number is None else f"{round(number):,}".replace("-", MINUS)


def format_pvalue(value: object) -> str:
    """A p-value: three decimals, or ``<0.001``."""
    number = _finite(value)
    if number is None:
        return MISSING
    return "<0.001" if number < 0.001 else f"{number:.3f}"


def format_value(value: object, kind: Kind, currency: str | None = None) -> str:
    """Format ``value`` as ``kind`` (text is returned as is; missing values as an en dash).

    ``currency`` is the ISO code of ``money`` values (``None``: unknown, a bare number).
    """
    if kind == "text":
        return (
            MISSING
            if value is None or (isinstance(value, float) and math.isnan(value))
            else (str(value))
        )
    if kind == "year":
        number = _finite(value)
        return MISSING if number is None else str(round(number))
    if kind == "money":
        return format_money(value, currency)
    formatter = {
        "share": format_share,
        "change": format_change,
        "score": lambda v: format_number(v, 2),
        "number": format_number,
        "int": format_int,
        "pvalue": format_pvalue,
    }[kind]
    return formatter(value)
