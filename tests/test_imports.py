"""No import cycles: the import graph, built from the source (AST; function-level and
TYPE_CHECKING imports included), has no cycle between modules, nor between packages at
any depth (imcsim.arch vs imcsim.designs, imcsim.designs.bitserial vs imcsim.designs.crossbar,
...). Layers import downwards only: config at the bottom, then tech, circuits, engine,
workload, functional, report, designs, arch, simulate, app and cli on top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_names() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "imcsim").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The imcsim modules `name` imports (a `from package import name` of a submodule
    counts as importing the submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known}


def import_graph() -> dict[str, set[str]]:
    known = module_names()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def collapse(graph: dict[str, set[str]], depth: int) -> dict[str, set[str]]:
    """The graph between packages `depth` names deep (imcsim.designs.bitserial: 3);
    edges inside one package are dropped."""
    def node(name: str) -> str:
        return ".".join(name.split(".")[:depth])

    out: dict[str, set[str]] = {}
    for a, targets in graph.items():
        for b in targets:
            if node(a) != node(b) and node(b).startswith(node(a)) is False:
                out.setdefault(node(a), set()).add(node(b))
    return out


def test_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    graph = {"p.x.m": {"p.y.n"}, "p.y.n": {"p.x.k"}}
    assert cycles(graph) == [] and cycles(collapse(graph, 2)) == [["p.x", "p.y"]]


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "imcsim.designs.registry" in graph["imcsim.simulate"]
    assert "imcsim.designs.bitserial.plan" in graph["imcsim.designs.bitserial"]  # in a method


def test_no_cycle_between_modules():
    assert cycles(import_graph()) == []


def test_no_cycle_between_packages():
    graph = import_graph()
    depth = max(len(name.split(".")) for name in graph)
    for d in range(2, depth):
        assert cycles(collapse(graph, d)) == [], f"packages {d} names deep"


def test_circuits_do_not_import_workloads_or_designs():
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith(("imcsim.circuits", "imcsim.tech", "imcsim.config",
                            "imcsim.engine")):
            assert not {t for t in targets if t.startswith(
                ("imcsim.workload", "imcsim.designs", "imcsim.arch"))}, name
