"""Third-party proof: a plugin built and installed as its own distribution (tests/fixtures/tiny_plugin,
entry point group "ibmon") is found, listed and run by the installed `ibmon` command."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_plugin"
IBMON = Path(sys.prefix) / "bin" / "ibmon"


def setuptools_builds_wheels_offline() -> bool:
    """setuptools >= 70.1 has bdist_wheel built in; older ones need the `wheel` package."""
    try:
        from importlib.metadata import version

        major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    except Exception:
        return False
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory) -> Path:
    """The tiny plugin installed by pip into a folder of its own (built once per test session)."""
    work = tmp_path_factory.mktemp("tiny")
    source = shutil.copytree(FIXTURE, work / "src")  # the build leaves files next to the sources
    site = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
               "--target", str(site), str(source)]
    if setuptools_builds_wheels_offline():
        command += ["--no-build-isolation", "--no-index"]
    # else pip fetches setuptools into an isolated build environment, as for any sdist
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return site


def run_ibmon(tmp_path: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update(PYTHONPATH=str(site), XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_DATA_HOME=str(tmp_path / "d"), IBMON_CONFIG=str(tmp_path / "config.toml"))
    return subprocess.run([str(IBMON), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_installed_command_lists_the_separate_distribution(tiny_site, tmp_path):
    assert IBMON.exists(), f"ibmon is not installed in {sys.prefix}"
    done = run_ibmon(tmp_path, tiny_site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
    assert plugins["tiny"] == {"name": "tiny", "version": "0.3.1", "source": "entry point ibmon_tiny",
                               "providers": ["tiny"], "simulators": [], "status": "ok", "error": None}


def test_the_installed_command_runs_its_provider(tiny_site, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[[connections]]\nname = "Tiny"\nprovider = "tiny"\nbalance = "1000.10"\n'
                      '[[connections]]\nname = "Tiny too"\nprovider = "tiny"\nbalanse = "1"\n')
    done = run_ibmon(tmp_path, tiny_site, "config", "check")
    assert done.returncode == 1
    assert 'ibmon: connection "Tiny too" (tiny): unknown key "balanse" (did you mean "balance"?)' in done.stderr

    config.write_text('[[connections]]\nname = "Tiny"\nprovider = "tiny"\nbalance = "1000.10"\n')
    done = run_ibmon(tmp_path, tiny_site, "snapshot", "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    [conn] = json.loads(done.stdout)["connections"]
    assert (conn["name"], conn["provider"], conn["ok"]) == ("Tiny", "tiny", True)
    assert conn["accounts"] == [{"id": "T-1", "number": "T-1", "currency": "EUR", "balance": "1000.10", "equity": None,
                                 "margin": None, "free_margin": None, "margin_level": None, "credit": None,
                                 "profit": None}]


def test_without_the_distribution_the_provider_is_unknown(tmp_path):
    (tmp_path / "config.toml").write_text('[[connections]]\nname = "Tiny"\nprovider = "tiny"\n')
    done = run_ibmon(tmp_path, tmp_path / "empty", "config", "check")
    assert done.returncode == 1 and 'unknown provider "tiny"' in done.stderr
