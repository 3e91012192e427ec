"""Read a YAML config safely, validate it, and turn every problem into one clear line."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gravity.config.safe_yaml import load_yaml
from gravity.config.schema import RunConfig
from gravity.exceptions import ConfigError, quote
from gravity.panel.readers.sources import (
    BaciSource,
    ComtradeSource,
    GenericSource,
    GeoDistSource,
    WdiSource,
)

_DISCRIMINATOR_TAGS = frozenset(
    str(model.model_fields["kind"].default)
    for model in (BaciSource, ComtradeSource, GenericSource, GeoDistSource, WdiSource)
)


def load_config(path: str | Path) -> RunConfig:
    """Load and validate a run configuration.

    Relative paths inside the file are resolved against the file's folder.

    Parameters
    ----------
    path : str or Path
        YAML file.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        With the file, the key path and a suggestion, e.g.
        ``configs/x.yaml: unknown key 'model.formla'; did you mean 'formula'?``.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} not found; pass the path of a YAML file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a UTF-8 text file; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config file ({exc.strerror})") from None
    raw = load_yaml(text.removeprefix("\ufeff"), str(file))
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the config must be a mapping of keys (output:, data:, ...)")
    return validate_config(raw, base_dir=file.resolve().parent, source=str(file))


def validate_config(raw: dict[str, Any], base_dir: Path, source: str = "<config>") -> RunConfig:
    """Validate an already-parsed mapping; see :func:`load_config`."""
    try:
        return RunConfig.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_errors(exc, raw)}") from None


def describe_errors(exc: ValidationError, raw: dict[str, Any]) -> str:
    """One line per error, each naming the key path; joined with '; '."""
    errors = exc.errors()
    unknown: dict[tuple[str, ...], list[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = _user_loc(err["loc"], keep_last=True)
            unknown.setdefault(tuple(loc[:-1]), []).append(loc[-1])
    lines = []
    for err in errors:
        kind = err["type"]
        loc = _user_loc(err["loc"], keep_last=kind == "extra_forbidden")
        if len(loc) > 1 and loc[-2] == "columns" and kind_is_literal(kind):
            loc = loc[:-1]  # a bad mapping key: pydantic reports the key's own value
        key = ".".join(loc) or "<top level>"
        if kind == "extra_forbidden":
            valid = _valid_keys(RunConfig, list(err["loc"][:-1]))
            close = _closest(loc[-1], valid)
            hint = f"; did you mean {close!r}?" if close else ""
            options = (
                f" (valid keys here: {', '.join(sorted(valid))})" if valid and not close else ""
            )
            lines.append(f"unknown key {quote(key)}{hint}{options}")
        elif kind == "missing":
            typos = unknown.get(tuple(loc[:-1]), [])
            if loc and any(_closest(typo, [loc[-1]]) for typo in typos):
                continue  # the unknown key's "did you mean" already names this one
            lines.append(f"missing required key {quote(key)}")
        elif kind == "literal_error":
            value = err.get("input")
            allowed = re.findall(r"'([^']*)'", err["msg"])
            close = _closest(str(value), allowed)
            hint = f"did you mean {close!r}? " if close else ""
            lines.append(
                f"key {quote(key)}: {quote(value)} is not allowed; {hint}use one of {allowed}"
            )
        else:
            msg = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            # the parsers' own messages already quote the value (capped); never repeat it
            repeated = isinstance(value, str) and quote(value) in msg
            shown = "" if isinstance(value, dict | list) or repeated else f" (got {quote(value)})"
            lines.append(f"key {quote(key)}: {msg[:300]}{shown}")
    return "; ".join(dict.fromkeys(lines))


def _closest(word: str, valid: list[str]) -> str | None:
    """The valid key a typo most likely meant (case differences count as typos)."""
    lowered = {v.lower(): v for v in valid}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[close[0]] if close else None


def _user_loc(loc: tuple[int | str, ...], keep_last: bool) -> list[str]:
    """The key path as the user wrote it: pydantic's union-member tags removed.

    The last part of an unknown-key error is the user's own key, kept even when it looks like a
    tag (``Output:``, ``Formula:``).
    """
    parts = [str(p) for p in loc]
    last = parts[-1:] if keep_last else []
    body = parts[:-1] if keep_last else parts
    return [p for p in body if not _is_union_tag(p)] + last


def kind_is_literal(error_type: str) -> bool:
    """Whether a pydantic error type is a failed choice among fixed values."""
    return error_type in ("literal_error", "enum")


def _is_union_tag(part: object) -> bool:
    # pydantic inserts the chosen union member into loc: a class or validator name
    # ("GenericSource", "function-after[...]") or a discriminator value ("generic", "baci")
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part in _DISCRIMINATOR_TAGS
    )


def _valid_keys(model: type[BaseModel], loc: list[int | str]) -> list[str]:
    """Keys allowed at ``loc`` (pydantic's raw location, union tags included).

    In a union-typed section (``data.trade``: BACI, Comtrade or generic) the tag pydantic puts in
    the location picks the member, so suggestions come from the keys of the member in use.
    """
    current: Any = model
    for raw in loc:
        part = str(raw)
        member = _union_member(current, part)
        if member is not None:
            current = member
            continue
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        elif part.isdigit():
            args = get_args(current)
            current = args[0] if args else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _union_member(annotation: Any, tag: str) -> type[BaseModel] | None:
    """The member of a union of models that pydantic's location tag ``tag`` names."""
    for member in _models_in(annotation):
        kind = member.model_fields.get("kind")
        if tag == member.__name__ or (kind is not None and tag == str(kind.default)):
            return member
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Union/list wrappers down to a single model class when there is one."""
    while True:
        origin = get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if origin in (list, tuple) and args:
            annotation = args[0]
        elif len(models) == 1:
            annotation = models[0]
        elif args:
            annotation = args[0]
        else:
            return annotation
