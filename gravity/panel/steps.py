"""The record of one panel-building step: rows and trade value in, out, removed and added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PanelStep", "count_text"]

_REASONS = {
    "years": "outside sample.years",
    "exporters": "outside sample.exporters",
    "importers": "outside sample.importers",
    "products": "outside sample.products",
    "countries": "outside sample.countries",
    "domestic": "of domestic flows (sample.exclude_domestic)",
    "min_population": "of countries below min_population",
    "min_exports": "of countries below min_exports",
}


def count_text(counts: Mapping[str, int], verb: str = "removed") -> str:
    """Counts by reason as words: ``removed 5,322,228 rows outside sample.years``.

    Zero counts are left out; console messages never show a raw dict.
    """
    parts = [
        f"{int(n):,} row{'s' if n != 1 else ''} {_REASONS.get(k, '(' + k.replace('_', ' ') + ')')}"
        for k, n in counts.items()
        if n
    ]
    return f"{verb} " + (", ".join(parts) if parts else "no rows")


@dataclass(frozen=True)
class PanelStep:
    """What one step did to the panel.

    ``rows_out == rows_in - sum(removed.values()) + sum(added.values())`` for every step, so the
    steps account for every row from the files read to the panel written. ``value_in`` and
    ``value_out`` are the total trade value before and after (``None`` where not known, e.g.
    before a file is read), ``removed_value`` the value each filter removed and ``added_value``
    the value a step brought in (domestic flows), so ``value_out == value_in -
    sum(removed_value) + sum(added_value)``.
    """

    name: str
    rows_in: int
    rows_out: int
    removed: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    value_in: float | None = None
    value_out: float | None = None
    removed_value: dict[str, float] = field(default_factory=dict)
    added_value: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, for the panel's sidecar JSON."""
        return {
            "name": self.name,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "removed": dict(self.removed),
            "added": dict(self.added),
            "value_in": self.value_in,
            "value_out": self.value_out,
            "removed_value": dict(self.removed_value),
            "added_value": dict(self.added_value),
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }

    def value_note(self) -> str | None:
        """One line on the trade value, for the run manifest (whose steps count only rows)."""
        if self.value_out is None:
            return None
        parts = [f"value out {self.value_out:.17g}"]
        if self.value_in is not None:
            parts.insert(0, f"value in {self.value_in:.17g}")
        removed = {k: v for k, v in self.removed_value.items() if v}
        if removed:
            parts.append("value removed " + ", ".join(f"{k}: {v:.17g}" for k, v in removed.items()))
        if self.added_value:
            parts.append("value added " + ", ".join(
                f"{k}: {v:.17g}" for k, v in self.added_value.items()))
        return "; ".join(parts)
