"""`ibmon plugin new`: the generated distribution installs, passes its own tests (ibmon's plugin
contract among them), is listed by `ibmon plugins --json`, and `ibmon snapshot --json` reads its
data from its simulator. The installed `ibmon` command does all of it; the plugin is installed
editable into this environment and uninstalled afterwards."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ibmon.errors import ConfigError
from ibmon.plugin_kit import check_name, new_plugin, render

IBMON = Path(sys.prefix) / "bin" / "ibmon"
NAME = "kitdemo"
DIST = "ibmon-kitdemo"
SDK_MODULES = {"ibmon.sdk", "ibmon.sdk.ui", "ibmon.simkit", "ibmon.testing"}


def run(*argv: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")} | env
    return subprocess.run(list(argv), cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def pip(*args: str) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args, timeout=180)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The generated plugin, installed editable into this environment (and only for this module)."""
    parent = tmp_path_factory.mktemp("kit")
    done = run(str(IBMON), "plugin", "new", NAME, "--dir", str(parent))
    assert done.returncode == 0, done.stderr
    folder = parent / DIST
    assert f"wrote {folder}" in done.stdout
    pip("uninstall", "--yes", DIST)  # a run that was killed may have left it
    done = pip("install", "--no-deps", "--no-build-isolation", "--no-index", "-e", str(folder))
    assert done.returncode == 0, done.stderr
    try:
        yield folder
    finally:
        done = pip("uninstall", "--yes", DIST)
        assert done.returncode == 0, done.stderr


def test_the_generated_plugin_passes_its_own_tests(installed):
    done = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=installed, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout


def test_ibmon_plugins_lists_it(installed, tmp_path):
    done = run(str(IBMON), "plugins", "--json", IBMON_CONFIG=str(tmp_path / "none.toml"))
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    assert plugins[NAME] == {"name": NAME, "version": "0.1.0", "source": "entry point ibmon_kitdemo",
                             "providers": [NAME], "simulators": [NAME], "status": "ok", "error": None}


def test_ibmon_snapshot_reads_its_data_from_its_simulator(installed, tmp_path):
    config = tmp_path / "config.toml"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")} | {"IBMON_PLUGINS": NAME}
    sim = subprocess.Popen([str(IBMON), "sim", NAME, "--set", "accounts=2", "--write-config", str(config)],
                           env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in sim.stdout:  # bounded by the test timeout should the simulator never start
            lines.append(line)
            if line.startswith("serving until interrupted"):
                break
        assert config.exists(), "".join(lines)
        done = run(str(IBMON), "snapshot", "--json", "--timeout", "20", "--config", str(config),
                   IBMON_PLUGINS=NAME)
    finally:
        sim.terminate()
        sim.wait(20)
    assert done.returncode == 0, done.stderr
    [connection] = json.loads(done.stdout)["connections"]
    assert (connection["provider"], connection["ok"]) == (NAME, True)
    accounts = {a["id"]: a for a in connection["accounts"]}
    assert set(accounts) == {"1001", "1002"}
    # money as decimal strings, exact to the cent the simulator sent
    assert all(isinstance(a["balance"], str) and a["balance"].endswith(".25") for a in accounts.values())
    assert len(connection["positions"]) == 4
    assert {t["symbol"] for t in connection["ticks"]} == {"EURUSD", "XAUUSD"}


def test_the_template_imports_the_host_only_through_the_sdk():
    for path, text in render("acme").items():
        if not path.endswith(".py"):
            continue
        tree = ast.parse(text, path)
        for node in ast.walk(tree):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for module in modules:
                if module.split(".")[0] == "ibmon":
                    assert module in SDK_MODULES, f"{path}:{node.lineno} imports {module}"
                else:
                    assert not module.startswith("ibmon_") or module.split(".")[0] == "ibmon_acme", module


def test_the_names_filled_in_everywhere():
    files = render("acme_markets", "ACME Markets")
    assert set(files) == {"pyproject.toml", "README.md", ".gitignore", "tests/test_acme_markets.py",
                          *(f"ibmon_acme_markets/{m}.py" for m in ("__init__", "records", "screens", "session", "sim"))}
    assert 'acme_markets = "ibmon_acme_markets"' in files["pyproject.toml"]
    assert 'name = "ibmon-acme-markets"' in files["pyproject.toml"]
    assert "class AcmeMarketsSession(Session)" in files["ibmon_acme_markets/session.py"]
    assert 'TITLE = "ACME Markets"' in files["ibmon_acme_markets/__init__.py"]
    assert not any("${" in text for text in files.values())


@pytest.mark.parametrize("name", ["Acme", "acme-fx", "1acme", "acme_", "a__b", "", "x" * 41, "class", "match",
                                  "acme fx", "acme\x1b"])
def test_a_bad_name_is_refused_naming_the_rule(name):
    with pytest.raises(ConfigError, match="plugin name"):
        check_name(name)


def test_an_existing_folder_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "ibmon-acme"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    done = run(str(IBMON), "plugin", "new", "acme", "--dir", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr == f"ibmon: {folder} exists already: choose another name or --dir (nothing was written)\n"
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]


def test_an_installed_providers_name_is_refused(tmp_path):
    done = run(str(IBMON), "plugin", "new", "xtb", "--dir", str(tmp_path))
    assert done.returncode == 1 and 'a provider named "xtb" is installed already' in done.stderr
    assert not list(tmp_path.iterdir())


def test_new_plugin_writes_every_file(tmp_path):
    folder = new_plugin("acme", tmp_path)
    assert folder == tmp_path / "ibmon-acme"
    written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert written == set(render("acme"))
