import os
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"


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
