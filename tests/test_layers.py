"""The package's layering stays true: imports go downwards only, and there is no import cycle.

The graph is read from the source with :mod:`ast` (every ``import`` statement, including those
inside functions, which is where a cycle or an upward import would hide), so nothing is executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gravity"

# Lower rank = lower layer. A module may import its own sub-package or a strictly lower rank;
# sub-packages of equal rank (estimation, relatedness) do not import each other.
RANK = {
    "gravity._version": 0,
    "gravity.exceptions": 0,
    "gravity._base": 1,
    "gravity.layout": 1,
    "gravity.panel": 2,
    "gravity.estimation": 3,
    "gravity.relatedness": 3,
    "gravity.potential": 4,
    "gravity.counterfactual": 4,
    "gravity.report": 5,
    "gravity.batch": 6,
    "gravity.api": 7,
    "gravity": 8,
    "gravity.config": 9,
    "gravity.cli": 10,
}
LIBRARY = (
    "panel",
    "estimation",
    "relatedness",
    "potential",
    "counterfactual",
    "report",
    "batch",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """The entry of :data:`RANK` a module belongs to (its longest matching prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANK:
            return prefix
    raise AssertionError(f"{module} is in no layer: add it to RANK in {__file__}")


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every gravity module ``path`` imports, with the line (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gravity":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "gravity":
                continue
            # "from gravity.x import y" may import the sub-module gravity.x.y
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if _exists(sub) else target), node.lineno


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        edges = graph.setdefault(module_name(path), {})
        for target, line in imports_of(path):
            if target != module_name(path):
                edges.setdefault(target, line)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle (as a list of modules, first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_graph_is_read() -> None:
    # the walk must see the known edges, or the tests below would pass on an empty graph
    graph = import_graph()
    assert "gravity.estimation.spec" in graph["gravity.batch.jobs"]
    assert "gravity.config.schema" in graph["gravity.cli.stages"]
    assert len(graph) > 80


def test_no_upward_import() -> None:
    problems = []
    for module, edges in import_graph().items():
        own = layer(module)
        for target, line in edges.items():
            other = layer(target)
            if other != own and RANK[other] >= RANK[own]:
                problems.append(f"{module} (line {line}) imports {target}")
    assert not problems, "upward or sideways imports:\n" + "\n".join(problems)


@pytest.mark.parametrize("stage", LIBRARY)
def test_library_never_imports_the_edges(stage: str) -> None:
    bad = [
        f"{module} imports {target}"
        for module, edges in import_graph().items()
        if module.startswith(f"gravity.{stage}")
        for target in edges
        if target.startswith(("gravity.cli", "gravity.config"))
    ]
    assert not bad


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_catch_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None
