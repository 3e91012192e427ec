"""The floor every layer stands on: the options base class and the step record.

Nothing here imports another gravity module except :mod:`gravity.exceptions`, so every stage
(panel, estimation, relatedness, potential, report, batch) and the edges on top of them (config,
cli) can import it without reaching up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic._internal._model_construction import ModelMetaclass

from gravity.exceptions import OptionsError

__all__ = ["Step", "StrictModel", "describe_validation", "validate_options"]

M = TypeVar("M", bound=BaseModel)


def describe_validation(owner: str, exc: ValidationError) -> str:
    """One line naming the option path of every problem (``VcovSpec.type: Input should be ...``).

    Parameters
    ----------
    owner : str
        What was validated (a class name or a config key).
    exc : pydantic.ValidationError
        The error to describe.
    """
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{owner}.{loc}" if loc else owner
        given = err.get("input")
        shown = f" (got {given!r})" if not isinstance(given, (dict, list, BaseModel)) else ""
        parts.append(f"{where}: {err['msg']}{shown}")
    return "; ".join(parts)


class _StrictMeta(ModelMetaclass):
    """Turns a failed direct construction (``VcovSpec(type="clustr")``) into an OptionsError.

    Only calling the class goes through here: pydantic validates nested options and
    ``model_validate`` without calling the class, so the config loader still receives pydantic's
    ``ValidationError`` with the full key path and names the file's keys itself.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise OptionsError(describe_validation(cls.__name__, exc)) from None


class StrictModel(BaseModel, metaclass=_StrictMeta):
    """Frozen pydantic model that rejects unknown keys.

    Every option group in gravity (estimator options, data sources, report settings) derives from
    this class, so the same object validates a YAML config section and a Python call. Entry
    points that accept options as strings or mappings validate them with
    :func:`validate_options`, which raises :class:`~gravity.exceptions.OptionsError` naming the
    argument and the key; calling the class directly with a bad value raises the same
    ``OptionsError`` (``VcovSpec.type: ...``); inside a config file the loader names the file's
    key path.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True
    )


def validate_options(cls: type[M], value: M | Mapping[str, Any] | None, where: str) -> M:
    """Accept an options object, a mapping as in a config file, or ``None`` (the defaults).

    Parameters
    ----------
    cls : type
        The options class.
    value : cls, mapping or None
        What the caller gave.
    where : str
        The argument's name, used in the error message.

    Raises
    ------
    OptionsError
        If the mapping does not validate; the message names ``where`` and the key.
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        raise OptionsError(describe_validation(where, exc)) from None


@dataclass(frozen=True)
class Step:
    """What one step of a stage did: rows (and trade value) in, out, removed and added.

    Every stage records its steps with this one type (panel building, relatedness filters, fits,
    potential, backtest, batch), and the CLI builds the run manifest from them.

    ``rows_out == rows_in - sum(removed.values()) + sum(added.values())`` for every panel step,
    so the steps account for every row from the files read to the panel written. ``value_in``
    and ``value_out`` are the total trade value before and after (``None`` where not known, e.g.
    before a file is read), ``removed_value`` the value each filter removed and ``added_value``
    the value a step brought in (domestic flows).
    """

    name: str
    rows_in: int | None = None
    rows_out: int | None = None
    removed: Mapping[str, int] = field(default_factory=dict)
    added: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    value_in: float | None = None
    value_out: float | None = None
    removed_value: Mapping[str, float] = field(default_factory=dict)
    added_value: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain-data form (the panel's sidecar JSON, relatedness ``steps.json``)."""
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
            parts.append(
                "value added " + ", ".join(f"{k}: {v:.17g}" for k, v in self.added_value.items())
            )
        return "; ".join(parts)

    def manifest_dict(self, prefix: str = "") -> dict[str, object]:
        """The run manifest's step record: rows, removals by reason, seconds and notes.

        The trade value (when known) goes into the notes, as one line.
        """
        value = self.value_note()
        return {
            "name": f"{prefix}{self.name}",
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "removed": dict(self.removed),
            "added": dict(self.added),
            "seconds": round(self.seconds, 3),
            "notes": [*self.notes, *([value] if value else [])],
        }
