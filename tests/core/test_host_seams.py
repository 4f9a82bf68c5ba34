"""Clean seams inside the host: no import cycle between its modules (the app imports its screens,
never the other way round), and Textual's private API used only through ibmon/textual_seams.py
(tests/core/test_textual_seams.py checks each of those against the installed Textual)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import textual.widgets
from textual.app import App
from textual.binding import BindingsMap
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget

from ibmon.app import IbmonApp
from ibmon.screens.dashboard import DashboardHost

ROOT = Path(__file__).resolve().parents[2]
SEAMS = ROOT / "ibmon" / "textual_seams.py"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Host module -> the host modules it imports, counting every import statement: at the top, in
    a function, and under TYPE_CHECKING (a type-only cycle still ties the two modules together)."""
    files = {module_name(path): path for path in (ROOT / "ibmon").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module if node.level == 0 else _relative(name, path, node)
                imported.add(base)
                imported |= {f"{base}.{alias.name}" for alias in node.names}
        graph[name] = {module for module in imported if module in files and module != name}
    return graph


def _relative(name: str, path: Path, node: ast.ImportFrom) -> str:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    return ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).rstrip(".")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as one path from a module back to itself (depth-first, each module once)."""
    found, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
    ({"app": {"dashboard", "store"}, "dashboard": {"store", "widgets"}, "widgets": {"app"}, "store": set()},
     [["app", "dashboard", "widgets", "app"]]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert cycles(graph) == expected


def test_the_host_has_no_import_cycle():
    graph = import_graph()
    assert "ibmon.screens.dashboard" in graph["ibmon.app"]  # the graph sees the app's imports
    assert not cycles(graph), "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles(graph))


def test_no_screen_or_widget_imports_the_app():
    graph = import_graph()
    importing = [name for name, imported in graph.items()
                 if name.startswith(("ibmon.screens", "ibmon.widgets")) and "ibmon.app" in imported]
    assert not importing


async def test_the_app_is_what_the_dashboard_asks_of_its_host():
    from tests.ui.ui_support import load_host, make_runtime

    app = IbmonApp(make_runtime(), load_host())
    assert isinstance(app, DashboardHost)
    for name, member in vars(DashboardHost).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            wanted = list(inspect.signature(member).parameters)[1:]
            assert list(inspect.signature(getattr(app, name)).parameters) == wanted, name
            assert inspect.iscoroutinefunction(getattr(app, name)) == inspect.iscoroutinefunction(member), name


# -- Textual's private API ---------------------------------------------------------------------


def textual_private_names() -> set[str]:
    """The underscore names of Textual's app, screens, widgets and bindings: on the classes, and what
    their instances set up."""
    classes = [App, Screen, ModalScreen, Widget, ScrollView, BindingsMap]
    classes += [value for value in map(lambda name: getattr(textual.widgets, name), textual.widgets.__all__)
                if isinstance(value, type)]
    names = {name for cls in classes for name in dir(cls)}
    for instance in (App(), Screen(), Widget(), textual.widgets.DataTable(), textual.widgets.Static(),
                     textual.widgets.Input(), textual.widgets.Label()):
        names |= set(vars(instance))
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def private_uses(tree: ast.AST, private: set[str]) -> list[tuple[int, str]]:
    """(line, name) of every private Textual name `tree` imports, reads, sets or overrides. A class
    with no base is not a Textual one: its own `self._x` are left alone."""
    plain = {id(node) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef) and not cls.bases
             for node in ast.walk(cls)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"}
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textual":
            uses += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr in private and id(node) not in plain:
            uses.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in private:
            uses.append((node.lineno, node.name))
    return sorted(uses)


def imports_textual(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textual"
               or isinstance(node, ast.Import) and any(a.name.split(".")[0] == "textual" for a in node.names)
               for node in ast.walk(tree))


def test_the_check_sees_private_textual_use():
    private = textual_private_names()
    assert {"_handle_exception", "_bindings", "_add_binding"} <= private
    source = ("from textual.keys import _character_to_key\n"
              "class A(App):\n    def _handle_exception(self, error): ...\n"
              "def bind(node, b):\n    node._bindings._add_binding(b)\n"
              "class Guard:\n    def install(self, loop):\n        self._loop = loop\n"
              "class Panel(Widget):\n    def on_mount(self):\n        self._loop = None\n")
    assert private_uses(ast.parse(source), private) == [
        (1, "_character_to_key"), (3, "_handle_exception"), (5, "_add_binding"), (5, "_bindings"), (11, "_loop")]


def test_private_textual_api_is_used_only_in_textual_seams():
    private = textual_private_names()
    found = []
    for path in [*sorted((ROOT / "ibmon").rglob("*.py")), *sorted((ROOT / "plugins").rglob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path == SEAMS or not imports_textual(tree):  # only code that works with Textual's objects
            continue
        found += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in private_uses(tree, private)]
    assert not found, "private Textual API outside ibmon/textual_seams.py:\n" + "\n".join(found)
    assert private_uses(ast.parse(SEAMS.read_text(encoding="utf-8")), private)  # the wrappers are there
