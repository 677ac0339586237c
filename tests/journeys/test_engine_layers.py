"""The engine is layered without a cycle, and stays within its size budget.

The import graph is read from the source (every import, at module level or
inside a function; only `if TYPE_CHECKING:` blocks are left out, since they
never run), over the journeys modules the engine reaches. A module outside a
package that imports one of its submodules also depends on the package's
`__init__` (Python runs it first), which is how the engine's re-exports once
closed a loop through journeys.services.
"""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "journeys.engine"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module named by an import in `tree` (relative imports resolved)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` names the submodule; any other name, the module.
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if _path_of(name) is not None else base)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _edges(module: str) -> set[str]:
    path = _path_of(module)
    assert path is not None, module
    targets = set()
    for name in _imported(ast.parse(path.read_text()), module, path.name == "__init__.py"):
        if not name.startswith("journeys") or _path_of(name) is None or name == module:
            continue
        targets.add(name)
        # Importing a submodule from outside its package runs the package's __init__.
        parts = name.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if not module.startswith(package + ".") and module != package:
                targets.add(package)
    return targets - {module}


def _graph() -> dict[str, set[str]]:
    """The journeys modules reachable from the engine's, with their import edges."""
    engine_dir = ROOT / "journeys" / "engine"
    todo = [_module_of(path) for path in sorted(engine_dir.glob("*.py"))]
    graph: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in graph:
            continue
        graph[module] = _edges(module)
        todo.extend(graph[module] - graph.keys())
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_engine_reaches_journeys_services_and_posthog_in_its_graph():
    graph = _graph()
    assert {"journeys.engine.runner", "journeys.services", "journeys.posthog"} <= graph.keys()


def test_the_engine_has_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_names_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_layers_point_one_way():
    graph = _graph()
    assert graph["journeys.engine.errors"] == set()
    assert graph["journeys.engine.journal"] <= {"journeys.engine.errors", "journeys.models",
                                                 "journeys"}
    for low in ("waits", "sends", "primitives", "execution", "journal"):
        assert not graph[f"{ENGINE}.{low}"] & {f"{ENGINE}.context", f"{ENGINE}.runner",
                                               f"{ENGINE}.batch", "journeys.services"}, low


# --- sizes --------------------------------------------------------------------------------

CORE = ["definition", "context", "runner", "journal", "when", "conditions", "waits", "sends"]
# The mailer and the modules it was split into (one job each).
MAILER = ["mailer", "send_types", "send_rows", "send_checks", "send_props", "provider",
          "redrive", "rows", "skeleton", "links"]
MEASURED = [*sorted((ROOT / "journeys" / "engine").glob("*.py")),
            *(ROOT / "tracking" / f"{name}.py" for name in MAILER)]


def _function_lengths() -> dict[str, int]:
    lengths = {}
    for path in MEASURED:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lengths[f"{path.stem}.{node.name}:{node.lineno}"] = (
                    node.end_lineno - node.lineno + 1)
    return lengths


def test_the_engine_core_fits_its_line_budget():
    lines = sum(len((ROOT / "journeys" / "engine" / f"{name}.py").read_text().splitlines())
                for name in CORE)
    assert lines <= 2500


def test_no_engine_or_mailer_function_is_long():
    lengths = _function_lengths()
    assert {name: n for name, n in lengths.items() if n > 60} == {}
    assert statistics.quantiles(lengths.values(), n=10)[-1] <= 25
