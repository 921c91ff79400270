"""The import graph between the packages under app/: no two import each other (apart from the
allow-list below, which only shrinks), and the platform never imports a kind of transaction.

Read from the source with `ast`: every import counts, also inside functions, except those under
`if TYPE_CHECKING:` (annotations only, never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Packages that import each other. Empty since issue 10 (payments follows orders through recorded
# events and the kind registry; the public profile moved to app/profiles); keep it empty.
ALLOWED_CYCLES: set[frozenset[str]] = set()
KINDS = {"orders", "lending", "clubs"}  # kinds of transaction
# Packages that kinds use and that follow kinds only through events or the registry (payments
# through the money rules of each kind's registry entry).
NEVER_IMPORT_A_KIND = {"transactions", "notifications", "messaging", "payments", "reviews"}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[str]:
    """Every module imported in `tree`, skipping `if TYPE_CHECKING:` blocks."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "app":  # from app import cli, templating
                found.extend(f"app.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _package(module: str) -> str | None:
    """The package (or top-level module) under app/ a module belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 else None


def import_graph(root: Path = APP) -> dict[str, set[str]]:
    """{package: the other packages under app/ it imports}."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        source = _package(".".join(relative.parts))
        if source in (None, "__init__"):  # app/__init__.py: the factory wires everything
            continue
        targets = {_package(m) for m in _imports(ast.parse(path.read_text(), str(path)))}
        graph.setdefault(source, set()).update(targets - {None, source, "__init__"})
    return graph


def mutual_imports(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    return {
        frozenset({a, b}) for a, targets in graph.items() for b in targets if a in graph.get(b, ())
    }


def test_no_two_packages_import_each_other_beyond_the_shrinking_allow_list():
    cycles = mutual_imports(import_graph())
    new = cycles - ALLOWED_CYCLES
    assert not new, f"packages that import each other: {sorted(sorted(c) for c in new)}"


def test_the_allow_list_names_only_cycles_that_still_exist():
    gone = ALLOWED_CYCLES - mutual_imports(import_graph())
    assert not gone, (
        f"remove these from ALLOWED_CYCLES, they are fixed: {sorted(map(sorted, gone))}"
    )


def test_the_platform_notifications_and_payments_never_import_a_kind():
    graph = import_graph()
    for package in NEVER_IMPORT_A_KIND:
        assert not graph.get(package, set()) & KINDS, (package, graph.get(package))


def test_the_graph_sees_imports_in_functions_but_not_type_checking_ones(tmp_path):
    (tmp_path / "app" / "a").mkdir(parents=True)
    (tmp_path / "app" / "b").mkdir()
    (tmp_path / "app" / "a" / "services.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from app.b.models import B\n"
        "def f():\n    from app.b import services\n"
    )
    (tmp_path / "app" / "b" / "models.py").write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    import app.a.services\n"
    )
    graph = import_graph(tmp_path / "app")
    assert graph == {"a": {"b"}, "b": set()}
    (tmp_path / "app" / "b" / "models.py").write_text("from app.a.services import f\n")
    assert mutual_imports(import_graph(tmp_path / "app")) == {frozenset({"a", "b"})}
