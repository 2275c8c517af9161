"""The scoring package in layers: no module imports, even inside a function, one that imports it back."""

import ast
from pathlib import Path

from conftest import PROJECT_DIR

PACKAGE = PROJECT_DIR / "scoring"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    """The package's modules `path` imports anywhere in it (a module imported from a package counts as itself)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names & MODULES.keys()


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of `graph` (the modules in order, the first repeated at the end), or []."""
    done, path = set(), []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        path.append(module)
        for found in (visit(child) for child in sorted(graph[module])):
            if found:
                return found
        done.add(path.pop())
        return []

    return next((found for found in map(visit, sorted(graph)) if found), [])


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    graph = {name: imported(path) - {name} for name, path in MODULES.items()}
    # A command line (a package's __main__) sits above its package: the package never imports it.
    assert not [name for name, uses in graph.items() for used in uses if used.endswith(".__main__")]
    assert cycle(graph) == []


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []
