"""YAML that cannot hurt: safe tags only, bounded nesting and alias expansion, no duplicate keys.

Config files are e-mailed between people and run unattended by batch jobs, so reading one must
never run code (PyYAML's ``SafeLoader``: ``!!python/...`` tags are rejected), never exhaust memory
or the stack (a 1 kB "billion laughs" file or a 20,000-deep list fails in milliseconds), and never
resolve an ambiguity silently (a key written twice is an error naming both lines, where PyYAML
keeps the last one).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gravity.exceptions import ConfigError, quote

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists; real configs use fewer than ten levels."""
MAX_NODES = 100_000
"""Most values a config may hold once aliases are expanded (a large batch grid uses thousands)."""
MAX_BYTES = 10_000_000
"""Largest config file read; a config is a page of settings, data live in data files."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (a merge ``<<:`` may still be overridden)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if first is not None:
                where = f"twice on line {line}" if first == line else f"on lines {first} and {line}"
                raise ConfigError(
                    f"duplicate key {quote(key)} {where}; keep one (YAML would silently use "
                    "the last)"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str) -> Any:
    """Parse config text safely.

    Parameters
    ----------
    text : str
        The file's content.
    source : str
        Name used in error messages (the file path).

    Returns
    -------
    object
        The parsed document (``None`` for an empty file).

    Raises
    ------
    ConfigError
        On invalid YAML, unsafe tags, nesting deeper than :data:`MAX_DEPTH`, more than
        :data:`MAX_NODES` values after expanding aliases, or a duplicate key.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"{source}: {len(text):,} characters is too large for a config file (limit "
            f"{MAX_BYTES:,}); keep data in data files"
        )
    try:
        _check_depth(text, source)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_size(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except ConfigError as exc:
        if str(exc).startswith(f"{source}:"):
            raise
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}:{where} invalid YAML: {problem[:200]}") from None
    except RecursionError:  # pragma: no cover - _check_depth stops deep files before this
        raise ConfigError(f"{source}: nested too deeply (limit {MAX_DEPTH} levels)") from None


def _check_depth(text: str, source: str) -> None:
    """Reject deep nesting from the event stream (PyYAML's parser is not recursive)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ConfigError(
                    f"{source}: line {line}: nested more than {MAX_DEPTH} levels deep; a config "
                    "is a few levels of keys and lists"
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _check_size(root: Node, source: str) -> None:
    """Count the document's values as if its aliases were expanded, without expanding them.

    Each shared node counts once per use; sizes are memoised per node, so this is linear in the
    size of the file.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # iterative post-order walk: sizes are memoised, so a shared node is walked once
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            sizes[key] = min(total, MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ConfigError(
                f"{source}: line {node.start_mark.line + 1}: an alias refers to the value that "
                "contains it (a recursive structure); write the values out"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    if sizes[id(root)] > MAX_NODES:
        raise ConfigError(
            f"{source}: more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
            "write the values out or use fewer aliases"
        )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
