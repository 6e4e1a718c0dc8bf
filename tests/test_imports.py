"""The import graph of lstm_apps has no cycle.

Every module is parsed with ``ast``: imports at module level and inside
functions and classes count (an import under ``if TYPE_CHECKING:`` does not),
relative imports are resolved, ``from package import name`` points at the
submodule when ``name`` is one and at the package otherwise, and importing
``a.b.c`` also runs the ``__init__`` of the packages ``a.b`` and ``a`` that
are not already above the importing module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lstm_apps"


def module_paths(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of ``package`` under ``root``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


class _ImportCollector(ast.NodeVisitor):
    """``(module, names, level)`` of every import statement, at any depth."""

    def __init__(self):
        self.imports: list[tuple[str, tuple[str, ...], int]] = []

    def visit_If(self, node):
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":  # not run: only the else branch counts
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node):
        self.imports.extend((alias.name, (), 0) for alias in node.names)

    def visit_ImportFrom(self, node):
        self.imports.append((node.module or "", tuple(alias.name for alias in node.names), node.level))


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``."""
    modules = module_paths(root, package)

    def known(name):  # the longest prefix of a dotted name that is a module of the package
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        collector = _ImportCollector()
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges = set()
        for module, names, level in collector.imports:
            if level:  # relative: from the current package, one level up per extra dot
                base = here[: len(here) - (level - 1)] if level - 1 <= len(here) else []
                module = ".".join(base + ([module] if module else []))
            targets = [f"{module}.{n}" if f"{module}.{n}" in modules else module for n in names] or [module]
            for target in filter(None, map(known, targets)):
                # importing a.b.c also runs the __init__ of its packages not already above us
                edges.update(p for p in _ancestors(target) if p in modules and p not in _ancestors(name))
                edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as ``[a, b, ..., a]``, or ``None`` when it has none."""
    state = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the current path, 2 done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt, 2) == 1:
                return path[path.index(nxt) :] + [nxt]
            if state.get(nxt) == 0:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state[node] == 0:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_lstm_apps_import_graph_has_no_cycle():
    graph = import_graph()
    assert "lstm_apps.layers.lstm1997" in graph and "lstm_apps.telemetry" in graph
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle in lstm_apps: {' -> '.join(cycle)}"


def test_kernels_telemetry_and_layer_modules_keep_their_direction():
    """Kernels import nothing of the package outside the kernels; telemetry imports no layer;
    the factory is the one module that knows every kind (no layer module imports it)."""
    graph = import_graph()
    kernels = {m for m in graph if m.startswith("lstm_apps.layers.kernels")}
    assert len(kernels) >= 3
    for module in kernels:
        assert graph[module] <= kernels, f"{module} imports {sorted(graph[module] - kernels)}"
    assert not {m for m in graph["lstm_apps.telemetry"] if m.startswith("lstm_apps.layers")}
    importers = {m for m, edges in graph.items() if "lstm_apps.layers.factory" in edges}
    assert importers == {"lstm_apps.layers"}, importers
    assert {
        "lstm_apps.layers.lstm1997",
        "lstm_apps.layers.adaptive_forget",
        "lstm_apps.layers.forgetting_curve",
        "lstm_apps.layers.methylation",
    } <= graph["lstm_apps.layers.factory"]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_graph_resolves_relative_function_level_and_package_imports(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import thing\n",
            "pkg/sub/__init__.py": "from .impl import thing\n",
            "pkg/sub/impl.py": "thing = 1\n",
            "pkg/user.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    import pkg.other\n"
                "def f():\n    from .sub import impl\n    from . import other\n    return impl, other\n"
            ),
            "pkg/other.py": "import os\nimport pkg.sub.impl as impl\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg"] == {"pkg.sub"}
    assert graph["pkg.sub"] == {"pkg.sub.impl"}
    assert graph["pkg.user"] == {"pkg.sub", "pkg.sub.impl", "pkg.other"}  # function level, relative
    assert graph["pkg.other"] == {"pkg.sub", "pkg.sub.impl"}  # importing pkg.sub.impl runs pkg.sub
    assert find_cycle(graph) is None


def test_a_cycle_is_found_and_named(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/layer.py": "from pkg import kernel\n",
            "pkg/kernel.py": "def check(x):\n    from .layer import Layer\n    return isinstance(x, Layer)\n",
        },
    )
    assert find_cycle(import_graph(tmp_path, "pkg")) == ["pkg.kernel", "pkg.layer", "pkg.kernel"]
    # a submodule taking a name from its partly initialised package is a cycle too
    _write(tmp_path, {"pkg/__init__.py": "from pkg.a import x\n", "pkg/a.py": "from pkg import y\nx = y\n"})
    (tmp_path / "pkg/layer.py").unlink()
    (tmp_path / "pkg/kernel.py").unlink()
    assert find_cycle(import_graph(tmp_path, "pkg")) == ["pkg", "pkg.a", "pkg"]
