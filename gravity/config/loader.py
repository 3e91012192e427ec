"""Read a YAML config safely, validate it, and turn every problem into one clear line."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

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
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}:{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a UTF-8 text file") from None
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
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
        if len(loc) > 1 and loc[-2] == "columns" and kind_is_literal(err["type"]):
            loc = loc[:-1]  # a bad mapping key: pydantic reports the key's own value
        key = ".".join(loc) or "<top level>"
        kind = err["type"]
        if kind == "extra_forbidden":
            valid = _valid_keys(RunConfig, loc[:-1])
            close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            options = (
                f" (valid keys here: {', '.join(sorted(valid))})" if valid and not close else ""
            )
            lines.append(f"unknown key {key!r}{hint}{options}")
        elif kind == "missing":
            lines.append(f"missing required key {key!r}")
        elif kind == "literal_error":
            value = err.get("input")
            allowed = re.findall(r"'([^']*)'", err["msg"])
            close = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            lines.append(f"key {key!r}: {quote(value)} is not allowed; {hint}use one of {allowed}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            # the parsers' own messages already quote the value (capped); never repeat it
            repeated = isinstance(value, str) and quote(value) in msg
            shown = "" if isinstance(value, dict | list) or repeated else f" (got {quote(value)})"
            lines.append(f"key {key!r}: {msg}{shown}")
    return "; ".join(dict.fromkeys(lines))


def kind_is_literal(error_type: str) -> bool:
    """Whether a pydantic error type is a failed choice among fixed values."""
    return error_type in ("literal_error", "enum")


def _is_union_tag(part: object) -> bool:
    # pydantic inserts the chosen union member into loc: a class or validator name
    # ("GenericSource", "function-after[...]") or a discriminator value ("generic", "baci")
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part in _DISCRIMINATOR_TAGS
    )


def _valid_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    current: Any = model
    for part in loc:
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
