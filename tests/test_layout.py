"""The package layout (CONTRIBUTING.md, "Layout and import directions"): no import cycle between
the top-level packages of src/cuecard, imports inside functions only where documented, and each
table written by the package that owns it.

The agent is two packages for that: `agents/` is the record (the settings table, the `agents`
row, scoping, the draft reset) at the bottom, which every sub-resource imports; `agent_api/` is
the Agent object (create, list, get, update, delete, embedding trainings, actions and numbers)
above the sub-resources. Publish, restore and diff are in `versions/`, above everything they
compile and gate; the snapshot they store (built, read, the `agent_versions` table) is in
`snapshots/`, below `runtime/`, which compiles it.

The graph is read from the source (the AST), not from an import: a cycle that Python happens
to resolve today still fails here.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cuecard"

# Imports inside a function that cross packages, each with the reason it is lazy. Anything else
# is imported at the top of its module.
DOCUMENTED_LAZY = {
    # `cuecard serve` imports the server only after it chose the metrics folder, so that a
    # missing package is reported before anything listens.
    ("core/serving.py", "cuecard.app"): "serve reports a missing server package first",
}
# The CLI's admin commands import the server inside their bodies (`@needs_server`), so that
# `pip install cuecard` (no server) can run `cuecard --help`; tests/cli/test_install_alone.py
# holds them to it.
LAZY_PACKAGES = {"cli"}

# Who writes each table. A table written by another package goes through the owner's
# repository functions.
OWNERS = {
    "environments": "auth",
    "api_tokens": "auth",
    "agents": "agents",
    "agent_versions": "snapshots",
    "trainings": "trainings",
    "agent_flows": "flows",
    "actions": "actions",
    "phone_numbers": "calling",
    "agent_phone_numbers": "calling",
    "agent_tests": "agent_tests",
    "agent_test_runs": "agent_tests",
    "audit_log": "audit",
    "calls": "calls",
    "call_events": "calls",
    "call_turns": "calls",
    "call_turn_trainings": "calls",
    "webhooks": "webhooks",
    "webhook_logs": "webhooks",
    "idempotency_keys": "core",
    "text_embeddings": "runtime",
}


@dataclass(frozen=True)
class Import:
    source: str  # file, relative to src/cuecard
    line: int
    module: str  # what it imports, cuecard.*
    lazy: bool  # inside a function


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _package_of(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Import] = []
    source = str(path.relative_to(SRC))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
                # `from cuecard import app` imports the module cuecard.app.
                module = names[1] if child.module == "cuecard" else child.module
                if module.startswith("cuecard"):
                    found.append(Import(source, child.lineno, module, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("cuecard."):
                        found.append(Import(source, child.lineno, alias.name, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def _all_imports() -> list[tuple[str, Import]]:
    return [
        (_package_of(path), imp)
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts
        for imp in _imports(path)
    ]


def package_graph() -> dict[str, dict[str, list[Import]]]:
    """package -> imported package -> the module-level imports that make the edge."""
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for package, imp in _all_imports():
        target = _package(imp.module)
        if target != package and not imp.lazy:
            graph[package][target].append(imp)
    return graph


def cycle_edges(graph: dict[str, dict[str, list[Import]]]) -> set[tuple[str, str]]:
    """Every edge that lies on a cycle: both ends in one strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    component: dict[str, int] = {}

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component[member] = index[node]
                if member == node:
                    break

    for node in list(graph):
        if node not in index:
            connect(node)
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if component.get(source) == component.get(target, -1)
    }


def _describe(graph: dict[str, dict[str, list[Import]]], edges: set[tuple[str, str]]) -> str:
    return "\n".join(
        f"  {a} -> {b}: " + ", ".join(f"{i.source}:{i.line}" for i in graph[a][b])
        for a, b in sorted(edges)
    )


class TestImportGraph:
    def test_no_cycle_between_packages(self) -> None:
        graph = package_graph()

        in_cycles = cycle_edges(graph)

        assert not in_cycles, "imports that close a cycle between packages:\n" + _describe(
            graph, in_cycles
        )

    def test_imports_inside_functions_are_documented(self) -> None:
        lazy = {
            (imp.source, imp.module)
            for package, imp in _all_imports()
            if imp.lazy and _package(imp.module) != package and package not in LAZY_PACKAGES
        }
        assert lazy == set(DOCUMENTED_LAZY)

    def test_the_finder_sees_a_cycle(self) -> None:
        fake: dict[str, dict[str, list[Import]]] = {
            "a": {"b": [Import("a/x.py", 1, "cuecard.b", False)]},
            "b": {"c": [Import("b/x.py", 1, "cuecard.c", False)]},
            "c": {"a": [Import("c/x.py", 1, "cuecard.a", False)], "d": []},
        }

        assert cycle_edges(fake) == {("a", "b"), ("b", "c"), ("c", "a")}


class TestCoreModules:
    def test_errors_and_validation_do_not_import_each_other(self) -> None:
        errors = {i.module for i in _imports(SRC / "core" / "errors.py")}
        validation = {i.module for i in _imports(SRC / "core" / "validation.py")}

        assert "cuecard.core.validation" not in errors
        assert "cuecard.core.errors" in validation


_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_]+)\b", re.IGNORECASE)


class TestTableOwners:
    def test_each_table_is_written_only_by_its_owner(self) -> None:
        wrong = []
        for path in sorted(SRC.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            package = _package_of(path)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    for table in _WRITE.findall(node.value):
                        owner = OWNERS.get(table.lower())
                        if owner is not None and owner != package:
                            wrong.append(f"{path.relative_to(SRC)} writes {table} ({owner}'s)")
        assert wrong == []

    def test_every_table_has_an_owner(self) -> None:
        from cuecard.models import Base

        assert set(Base.metadata.tables) == set(OWNERS)
