"""`ibmon` with nothing to connect to opens the dashboard's first-run panel, unless the user named a
config file that is not there (a typo is an error)."""

from __future__ import annotations

import pytest

from ibmon import cli, config as cfg
from ibmon.cli import main


@pytest.fixture
def opened(tmp_path, monkeypatch) -> dict:
    """What `ibmon` hands the dashboard (the dashboard itself does not start)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("IBMON_PLUGINS", "none")
    monkeypatch.delenv(cfg.ENV_CONFIG, raising=False)
    seen: dict = {}

    def dashboard(config, host, read_only, problems, welcome=None):
        seen.update(connections=config.connections, welcome=welcome)
        return 0

    monkeypatch.setattr(cli, "_run_dashboard", dashboard)
    return seen


def test_no_config_at_the_default_path_is_a_first_run(opened):
    assert main([]) == 0
    assert opened["welcome"] == (cfg.default_path(), True) and opened["connections"] == []
    assert not cfg.default_path().exists()


def test_a_config_without_connections_says_so(opened):
    cfg.default_path().parent.mkdir(parents=True)
    cfg.default_path().write_text('theme = "ibmon-dark"\n')
    assert main(["run"]) == 0
    assert opened["welcome"] == (cfg.default_path(), False)


def test_a_missing_file_the_user_named_is_an_error(opened, tmp_path, monkeypatch, capsys):
    assert main(["--config", str(tmp_path / "typo.toml")]) == 1
    assert capsys.readouterr().err.startswith(f"ibmon: no config at {tmp_path / 'typo.toml'}")
    monkeypatch.setenv(cfg.ENV_CONFIG, str(tmp_path / "typo.toml"))
    assert main([]) == 1
    assert opened == {}
