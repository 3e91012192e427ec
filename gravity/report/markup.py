"""Safe markup: elements built with every data string escaped, and JSON safe inside ``<script>``.

Markup is built only through :func:`el`, which escapes every string that is not already
:class:`Markup`. Data embedded for a script go through :func:`safe_json`, which escapes ``<``,
``>`` and ``&`` (so a ``</script>`` inside a name cannot close the script element).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Child", "Markup", "el", "esc", "join", "safe_json"]


class Markup(str):
    """A string of trusted markup (never built from unescaped data)."""

    __slots__ = ()


Child = str | Markup | None | Iterable["Child"]


def esc(value: object) -> Markup:
    """Escaped text (markup passes through unchanged)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def _children(children: Iterable[Child]) -> str:
    parts: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            parts.append(esc(child))
        else:
            parts.append(_children(child))
    return "".join(parts)


def el(tag: str, attrs: Mapping[str, object] | None = None, *children: Child) -> Markup:
    """An element; attribute values and text children are escaped.

    Attributes whose value is ``None`` or ``False`` are left out, ``True`` gives a bare one.
    """
    parts = [tag]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(key if value is True else f'{key}="{esc(value)}"')
    return Markup(f"<{' '.join(parts)}>{_children(children)}</{tag}>")


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def safe_json(value: Any) -> str:
    """JSON for an inline ``<script>``: non-finite numbers as null; ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(_clean(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return text


def join(parts: Iterable[Child]) -> Markup:
    """Several children as one piece of markup (text escaped)."""
    return Markup(_children(parts))
