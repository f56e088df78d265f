"""The architecture holds: no import cycle at run time, and each integration declares the ones it imports.

The graph comes from each module's syntax tree: every import counts, function-local ones too, except those
under ``if TYPE_CHECKING:``. ``from package import name`` depends on ``package.name`` when that is a module
and on ``package`` otherwise. Importing a module also runs the ``__init__`` of each package around it, so that
is an edge too, except for the importer's own packages (already running when it imports).
"""
from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from scada_core.loader import Integration, discover

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scada_core", "integrations", "web")

Graph = dict[str, set[str]]


def project_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, tuple[Path, bool]]:
    """Map each module's dotted name to its file and whether it is a package's ``__init__``."""
    modules: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    """Tell whether an ``if`` tests ``TYPE_CHECKING`` (bare or as ``typing.TYPE_CHECKING``)."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Collect the absolute names a module imports at run time."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.names: list[str] = []

    def visit_If(self, node: ast.If) -> None:
        """Skip the body of ``if TYPE_CHECKING:`` (its ``else`` runs)."""
        for child in node.orelse if _is_type_checking(node.test) else [node.test, *node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        """``import a.b``: a.b."""
        self.names.extend(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """``from x import n``: x.n, which the graph falls back to x when x.n is not a module."""
        base = self.package[: len(self.package) - node.level + 1] if node.level else []
        source = ".".join([*base, *([node.module] if node.module else [])])
        self.names.extend(source if alias.name == "*" else f"{source}.{alias.name}" for alias in node.names)


def _nearest_module(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """Return ``name`` or its nearest enclosing project module (None outside the project)."""
    while name not in modules:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    """Return, for each project module, the project modules it imports at run time."""
    modules = project_modules(root, packages)
    graph: Graph = {}
    for module, (path, is_package) in modules.items():
        imports = _Imports(module, is_package)
        imports.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        targets = {target for name in imports.names if (target := _nearest_module(name, modules))}
        graph[module] = {
            package
            for target in targets
            for package in _with_packages(target)
            if package in modules and not _is_within(module, package)
        }
    return graph


def _with_packages(module: str) -> Iterator[str]:
    """Yield ``module`` and each package around it (``a.b.c``: a, a.b, a.b.c)."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _is_within(module: str, package: str) -> bool:
    """Tell whether ``module`` is ``package`` or lies inside it."""
    return module == package or module.startswith(f"{package}.")


def strongly_connected(graph: Graph) -> Iterator[list[str]]:
    """Yield each set of two or more modules that reach one another (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                yield from visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                yield sorted(component)

    for node in sorted(graph):
        if node not in index:
            yield from visit(node)


def one_cycle(graph: Graph, component: list[str]) -> list[str]:
    """Return a shortest import path from the component's first module back to it, inside the component."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(graph[node] & members):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"{component} is not strongly connected")


def describe_cycles(graph: Graph) -> list[str]:
    """Name each import cycle: its modules and one path around it."""
    return [
        f"{len(component)} modules ({', '.join(component)}): {' -> '.join(one_cycle(graph, component))}"
        for component in strongly_connected(graph)
    ]


def test_no_runtime_import_cycles() -> None:
    """scada_core/, integrations/ and web/ import each other without a cycle outside TYPE_CHECKING."""
    cycles = describe_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_cycle_finder_sees_local_imports_and_skips_type_checking(tmp_path: Path) -> None:
    """A function-local import and a package's __init__ close cycles; an import under TYPE_CHECKING does not."""
    package = tmp_path / "app"
    package.mkdir()
    files = {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "def late():\n    from app.c import value\n",
        "c.py": "import app.a\nvalue = 1\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app import e\nelse:\n    import os\n",
        "e.py": "from app.d import *\n",
        "sub/__init__.py": "def setup():\n    import app.f\n",
        "sub/g.py": "VALUE = 1\n",
        "f.py": "from app.sub.g import VALUE\n",
    }
    (package / "sub").mkdir()
    for name, source in files.items():
        (package / name).write_text(source, encoding="utf-8")
    graph = import_graph(tmp_path, ["app"])
    assert graph["app.e"] == {"app.d"} and graph["app.d"] == set()
    assert describe_cycles(graph) == [
        "3 modules (app.a, app.b, app.c): app.a -> app.b -> app.c -> app.a",
        "2 modules (app.f, app.sub): app.f -> app.sub -> app.f",  # app.sub.g runs app/sub/__init__.py first
    ]


def _domain_of(module: str, packages: dict[str, str]) -> str | None:
    """Return the integration whose package holds ``module`` (the innermost one: web.tenant inside web)."""
    holders = [package for package in packages if _is_within(module, package)]
    return packages[max(holders, key=len)] if holders else None


def undeclared_imports(graph: Graph, integrations: dict[str, Integration]) -> dict[str, set[str]]:
    """Map each integration to the integrations it imports without naming them in its manifest."""
    packages = {integration.package: domain for domain, integration in integrations.items()}
    missing: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if (domain := _domain_of(module, packages)) is None:
            continue
        integration = integrations[domain]
        declared = {domain, *integration.dependencies, *integration.after_dependencies}
        used = {_domain_of(target, packages) for target in targets} - {None, *declared}
        if used:
            missing.setdefault(domain, set()).update(used)  # type: ignore[arg-type]
    return missing


def test_manifests_declare_the_integrations_they_import() -> None:
    """An integration that imports another names it in dependencies or after_dependencies (hassfest's rule)."""
    graph, integrations = import_graph(), discover()
    assert undeclared_imports(graph, integrations) == {}
    simulator = integrations["dtsy1352_simulator"]
    undeclared = replace(simulator, after_dependencies=[])
    assert undeclared_imports(graph, {**integrations, "dtsy1352_simulator": undeclared}) == {
        "dtsy1352_simulator": {"acrel_dtsy1352"}
    }
