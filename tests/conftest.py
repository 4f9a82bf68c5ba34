import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
#: The platform folders ibmon (through platformdirs) reads and writes, by environment variable.
USER_FOLDERS = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
#: Settings of the user's own that must not reach a test (their config file, their log level).
USER_SETTINGS = ("IBMON_CONFIG", "IBMON_LOG_LEVEL")
_home: Path | None = None


def pytest_configure(config):
    """The whole run, and every command it starts (they inherit the environment), uses config, log,
    data and cache folders under one temporary folder: a test never reads the user's config nor
    writes into their log or config folders. Tests that look at these folders give themselves their
    own (`debug_home`)."""
    global _home
    _home = Path(tempfile.mkdtemp(prefix="ibmon-tests-"))
    for var in USER_FOLDERS:
        os.environ[var] = str(_home / var.lower())
    for var in USER_SETTINGS:
        os.environ.pop(var, None)


def pytest_unconfigure(config):
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _secrets_of_the_test_only():
    """Secrets a test makes up are forgotten after it: one made-up "short" must not mask the word in
    every later test's messages (wider fixtures' secrets, made before, stay)."""
    from ibmon.testing import secrets_kept_apart

    with secrets_kept_apart():
        yield


@pytest.fixture(scope="session")
def test_home() -> Path:
    """The temporary folder that holds every test's platform folders."""
    assert _home is not None
    return _home


@pytest.fixture
def example_host():
    """A PluginHost with only the example single-file plugin loaded."""
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(plugin_dirs=[SUPPORT], only=["example_plugin"], entry_points=False)
    assert host.plugins["example_plugin"].status == "ok", host.plugins["example_plugin"].error
    return host


class DebugHome:
    """Config, state and data folders of the test's own, set in this process's environment too, with
    DEBUG logging: `env` for a command the test runs, `log_text()` for what every log file holds."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    @staticmethod
    def log_text() -> str:
        from ibmon.logs import log_dir

        folder = log_dir()
        return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("*"))) if folder.exists() else ""


@pytest.fixture
def debug_home(tmp_path, monkeypatch) -> DebugHome:
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("IBMON_LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    return DebugHome(dict(os.environ))


@pytest.fixture
def configured_runtime():
    """Build what `ibmon run` builds from a list of [[connections]] tables: the installed plugins,
    the validated config, and a feed runtime holding every connection (not started)."""

    def build(connections: list[dict], backoff=None):
        from ibmon import config as cfg
        from ibmon.feeds import FeedRuntime
        from ibmon.store import Store

        _settings, host = cfg.load_plugins({}, None)
        config = cfg.build_config({"connections": connections}, host)
        config.raise_problems()
        runtime = FeedRuntime(Store(), **({"backoff": backoff} if backoff else {}))
        for connection in config.connections:
            runtime.add(host.providers[connection.provider], connection.context())
        return runtime, host

    return build
