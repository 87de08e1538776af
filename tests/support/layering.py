"""Static check that the folders are layers: every import runs down, and no module imports itself back.

Reads the source tree with ast, never imports it, so a module counts with every import it writes:
module level, under ``if TYPE_CHECKING:``, and inside functions. A function-local import still ties
the two modules together (it only postpones the cycle), so it is held to the same rules.

Layers, top to bottom; an import may go down or stay in its layer, never up:

    gateway.http -> resolvers -> gateway.data -> gateway.core -> gateway.stores -> gateway.errors

gateway.core sits above gateway.stores because that is how the code already ran (the runtime
foundation holds the stores; no store imports core). gateway.ops stands aside: it may import anything,
and nothing outside it imports it. Below the schema nothing imports strawberry (graphql-core's GraphQLError is the error vocabulary's
base, so graphql-core may be imported anywhere).

Run it on a checkout: ``python -m tests.support.layering [ROOT]``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("gateway", "resolvers")
LAYERS = ("gateway.http", "resolvers", "gateway.data", "gateway.core", "gateway.stores", "gateway.errors")
ASIDE = "gateway.ops"
SCHEMA_LIBRARY = "strawberry"


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def modules_of(root: Path) -> dict[str, Path]:
    """Every module of the walked packages, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    keep = len(base) - node.level + (1 if is_package else 0)
    return ".".join(base[:keep] + ([node.module] if node.module else []))


def _named(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """Each dotted name an import statement loads, most specific first per name."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = _absolute(node, module, is_package)
    for alias in node.names:
        yield f"{base}.{alias.name}" if alias.name != "*" else base
        yield base


def imports_of(root: Path) -> list[Import]:
    """Every import between modules of the tree, plus those of strawberry."""
    modules = modules_of(root)
    found: list[Import] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            seen: set[str] = set()
            for name in _named(node, module, is_package):
                target = _resolve(name, modules)
                if target is None and name.split(".")[0] == SCHEMA_LIBRARY:
                    target = SCHEMA_LIBRARY
                if target is None or target == module or target in seen:
                    continue
                # ``from pkg import sub`` names the submodule; it needs no second edge to pkg
                if isinstance(node, ast.ImportFrom) and any(_within(s, target) for s in seen):
                    continue
                seen.add(target)
                found.append(Import(module, target, node.lineno))
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def layer_of(module: str) -> int | None:
    """Index in LAYERS (0 is the top); None for gateway.ops and modules of no layer."""
    for rank, prefix in enumerate(LAYERS):
        if _within(module, prefix):
            return rank
    return None


def direction_problems(imports: list[Import]) -> list[str]:
    problems: list[str] = []
    for edge in imports:
        where = f"{edge.source} (line {edge.line}) imports {edge.target}"
        if _within(edge.target, ASIDE) and not _within(edge.source, ASIDE):
            problems.append(f"{where}: nothing outside {ASIDE} imports it")
        elif edge.target == SCHEMA_LIBRARY:
            rank = layer_of(edge.source)
            if rank is not None and rank > LAYERS.index("resolvers"):
                problems.append(f"{where}: only the schema and the HTTP layer build on strawberry")
        else:
            source, target = layer_of(edge.source), layer_of(edge.target)
            if source is not None and target is not None and target < source:
                problems.append(f"{where}: upward, {LAYERS[source]} is below {LAYERS[target]}")
    return problems


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(sorted(members))
    return found


def _cycle_through(first: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from ``first`` back to itself inside one component (breadth first)."""
    parents: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(parents[path[-1]])
                    return [*reversed(path), first]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{first} is in a component but on no cycle")


def cycle_problems(imports: list[Import]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for edge in imports:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    problems = []
    for members in _components(graph):
        path = _cycle_through(members[0], set(members), graph)
        problems.append(f"import cycle among {', '.join(members)}: {' -> '.join(path)}")
    return problems


def problems_of(root: Path) -> list[str]:
    imports = imports_of(root)
    return direction_problems(imports) + cycle_problems(imports)


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    problems = problems_of(root)
    print("\n".join(problems) or "imports run one way and close no cycle")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
