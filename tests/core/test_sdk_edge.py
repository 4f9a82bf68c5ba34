"""The plugin SDK's edge: first-party plugins reach the host only through the public modules, and
those modules offer the whole plugin API (tests/core/test_import_light.py: without pulling in
Textual or a network library)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ibmon.api
import ibmon.sdk
import ibmon.sdk.ui

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
#: The host modules a plugin may import: everything else in `ibmon` is internal.
SDK_MODULES = {"ibmon.sdk", "ibmon.sdk.ui", "ibmon.simkit", "ibmon.testing"}
HOST_MODULES = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                for path in (ROOT / "ibmon").rglob("*.py")}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in `tree`, wherever it is (top level, a function, a
    TYPE_CHECKING block) and by `importlib.import_module("...")` with a literal name. `from a import b`
    names the module `a.b` when that is a host module (`from ibmon import api`), else `a`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names
                          if f"{node.module}.{alias.name}" in HOST_MODULES]
            found += [(node.lineno, name) for name in submodules]
            if len(submodules) < len(node.names):
                found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            found.append((node.lineno, node.args[0].value))
    return found


def edge_crossings(package: str, tree: ast.AST) -> list[tuple[int, str]]:
    """The imports of a plugin package that break the edge: host modules outside the SDK, and other
    plugins' packages (a plugin is on its own: what two need goes into the SDK)."""
    crossings = []
    for line, module in imported_modules(tree):
        top = module.split(".")[0]
        if top == "ibmon" and module not in SDK_MODULES:
            crossings.append((line, module))
        elif top.startswith("ibmon_") and top != package:
            crossings.append((line, module))
    return crossings


def plugin_files() -> list[Path]:
    files = sorted(PLUGINS.rglob("*.py"))
    assert len({path.relative_to(PLUGINS).parts[0] for path in files}) >= 5, "the first-party plugins are missing"
    return files


def test_first_party_plugins_import_the_host_only_through_the_sdk():
    crossings, used = [], set()
    for path in plugin_files():
        package = path.relative_to(PLUGINS).parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        used |= {module for _line, module in imported_modules(tree) if module.split(".")[0] == "ibmon"}
        crossings += [f"{path.relative_to(ROOT)}:{line}: imports {module}"
                      for line, module in edge_crossings(package, tree)]
    assert not crossings, "plugins must import the host only from " + ", ".join(sorted(SDK_MODULES)) + ":\n" + \
        "\n".join(crossings)
    # every module the plugins import, listed against the SDK list
    assert used <= SDK_MODULES and {"ibmon.sdk", "ibmon.sdk.ui", "ibmon.simkit"} <= used, sorted(used)


@pytest.mark.parametrize("source, expected", [
    ("from ibmon.store import Store", ["ibmon.store"]),
    ("from ibmon import hookimpl", ["ibmon"]),
    ("from ibmon import model, sdk", ["ibmon.model"]),
    ("import ibmon.widgets.format as fmt", ["ibmon.widgets.format"]),
    ("def screen():\n    from ibmon.screens.confirm import ConfirmScreen", ["ibmon.screens.confirm"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ibmon.feeds import FeedRuntime", ["ibmon.feeds"]),
    ("import importlib\nimportlib.import_module('ibmon.config')", ["ibmon.config"]),
    ("from ibmon_crm.client import CrmClient", ["ibmon_crm.client"]),
    ("from ibmon.sdk import Provider\nfrom ibmon.sdk.ui import money\nfrom ibmon.simkit import Faults\n"
     "from ibmon.testing import RecordingSink\nfrom ibmon_xtb.framing import FrameError\nfrom . import sim", []),
])
def test_the_check_sees_every_way_of_importing_the_host(source, expected):
    assert [module for _line, module in edge_crossings("ibmon_xtb", ast.parse(source))] == expected


def test_the_sdk_offers_every_public_name_of_the_plugin_api():
    tree = ast.parse(Path(ibmon.api.__file__).read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    defined |= {target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)}
    public = {name for name in defined if not name.startswith("_")}
    assert {"Provider", "Session", "Sink", "ScreenContext", "MIN_POLL_INTERVAL"} <= public
    assert public <= set(ibmon.api.__all__), public - set(ibmon.api.__all__)
    assert set(ibmon.api.__all__) <= set(ibmon.sdk.__all__)
    for name in ibmon.api.__all__:
        assert getattr(ibmon.sdk, name) is getattr(ibmon.api, name)
    # the standard library's and typing's helpers that api.py imports are not part of it
    assert not {"Any", "Protocol", "dataclass", "field", "TYPE_CHECKING", "annotations", "Callable"} & \
        set(ibmon.api.__all__)


@pytest.mark.parametrize("module", [ibmon.sdk, ibmon.sdk.ui], ids=["sdk", "sdk.ui"])
def test_every_listed_name_is_there(module):
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing and len(module.__all__) == len(set(module.__all__))


def test_the_sdk_names_the_kits_a_provider_needs():
    expected = {"hookimpl", "Provider", "Session", "Sink", "Option", "Secret", "reveal", "ProviderError",
                "AuthError", "Account", "Position", "Tick", "LeadCounts", "dec", "dec_or_none", "safe_text",
                "HttpClient", "Walk", "WalkLimits", "map_each", "map_one", "Rejected"}
    assert expected <= set(ibmon.sdk.__all__), expected - set(ibmon.sdk.__all__)
    assert ibmon.sdk.hookimpl.project_name == "ibmon"
    assert {"safe_rich", "money", "number", "when", "MISSING"} <= set(ibmon.sdk.ui.__all__)
