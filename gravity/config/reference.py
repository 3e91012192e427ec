"""Generate the configuration reference (Markdown) from the config schema itself.

``python -m gravity.config.reference > docs/config-reference.md``; a test checks that the
committed file is up to date, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gravity.config.schema import RunConfig


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        if isinstance(annotation, type):
            return annotation.__name__
        return str(annotation).replace("typing.", "")
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is Annotated:
        return _type_name(args[0])
    inner = ", ".join(_type_name(a) for a in args)
    return f"{getattr(origin, '__name__', str(origin))}[{inner}]"


def _models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in get_args(annotation):
        found.extend(_models(arg))
    return found


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section defaults)"
    return f"`{value!r}`"


def _field_doc(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    if field.description:
        return field.description
    # attribute docstrings ("""...""" under the field) are kept in the class source
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return ""
    marker = f"    {name}:"
    at = source.find(marker)
    if at < 0:
        return ""
    rest = source[at:].split("\n", 1)[1].lstrip()
    if rest.startswith('"""'):
        return " ".join(rest[3:].split('"""', 1)[0].split())
    return ""


def render(root: type[BaseModel] = RunConfig) -> str:
    """Markdown tables of every section reachable from ``root``."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the config schema by `python -m gravity.config.reference`; do not edit.",
        "Unknown keys are errors (with a suggestion); relative paths are resolved against the",
        "config file's folder.",
    ]
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = [("(top level)", root)]
    while queue:
        path, model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        doc = inspect.getdoc(model) or ""
        lines += ["", f"## `{path}` — {model.__name__}", "", doc.split("\n\n")[0], ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            meaning = _field_doc(model, name, field).replace("|", "\\|")
            kind = _type_name(field.annotation).replace("|", "\\|")
            lines.append(f"| `{name}` | {kind} | {_default(field)} | {meaning} |")
            for sub in _models(field.annotation):
                prefix = name if path == "(top level)" else f"{path}.{name}"
                queue.append((prefix, sub))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
