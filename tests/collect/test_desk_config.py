"""[collect] and attach_url in the config: one line per mistake, tokens masked, loopback by default."""

from __future__ import annotations

import pytest

from ibmon import config as cfg
from ibmon.desk import DEFAULT_LISTEN, DEFAULT_PORT
from ibmon.plugins import PluginHost
from ibmon.secrets import redact

TOKEN = "desk-token-0123456789abcdef"


def build(doc: dict, tmp_path=None):
    return cfg.build_config(doc, PluginHost(), tmp_path / "c.toml" if tmp_path else None)


def test_defaults_serve_loopback_and_attach_nowhere():
    config = build({})
    assert not config.problems
    assert (config.collect.listen, config.collect.port, config.collect.tls) == (DEFAULT_LISTEN, DEFAULT_PORT, False)
    assert config.attach is None


def test_tokens_are_secrets_from_references(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_TOKEN", TOKEN)
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    config = build({"collect": {"listen": "0.0.0.0", "token": {"env": "DESK_TOKEN"}, "tls_cert": "c.pem",
                                "tls_key": str(key)},
                    "attach_url": "wss://desk.example:9464/attach", "attach_token": {"env": "DESK_TOKEN"}}, tmp_path)
    assert not config.problems
    assert config.collect.tls_cert == cert  # relative to the config's folder
    assert config.collect.token.reveal() == TOKEN and config.attach.token.reveal() == TOKEN
    assert redact(f"Bearer {TOKEN}") == "Bearer ***"


@pytest.mark.parametrize("doc, problem", [
    ({"collect": {"listen": "192.0.2.1"}}, '[collect] listen = "192.0.2.1" is not loopback: it needs tls_cert '
                                           "and tls_key and a token"),
    ({"collect": {"port": 70000}}, '[collect] key "port" must be a port number (0 picks a free one), not 70000'),
    ({"collect": {"prot": 1}}, '[collect]: unknown key "prot" (did you mean "port"?)'),
    ({"collect": {"token": "short"}}, '[collect] key "token": a token needs at least 16 printable characters'),
    ({"collect": {"tls_cert": "/no/such.pem"}}, '[collect] key "tls_cert": no file at /no/such.pem'),
    ({"collect": {"token": TOKEN, "read_only_token": TOKEN}}, '[collect]: "token" and "read_only_token" must differ'),
    ({"attach_url": "http://127.0.0.1:9464/attach"}, 'key "attach_url" must be a ws:// or wss:// URL'),
    ({"attach_url": "ws://desk.example/attach"}, 'key "attach_url" must use wss:// (TLS)'),
    ({"attach_url": "wss://u:p@desk.example/attach"}, 'key "attach_url" must not carry credentials'),
    ({"attach_token": {"env": "X"}}, 'key "attach_token" has no effect without "attach_url"'),
])
def test_each_mistake_is_one_line(doc, problem):
    problems = build(doc).problems
    assert any(line.startswith(problem) for line in problems), problems
    assert TOKEN not in " ".join(problems)


@pytest.mark.parametrize("argv, says", [
    (["attach"], "ibmon: say which collector: `ibmon attach ws://HOST:PORT/attach`, or attach_url in the config"),
    (["attach", "http://127.0.0.1:9464/attach"], "ibmon: URL must be a ws:// or wss:// URL"),
    (["attach", "ws://desk.example:9464/attach"], "ibmon: URL must use wss:// (TLS)"),
])
def test_attach_refuses_what_cannot_reach_a_collector(tmp_path, monkeypatch, capsys, argv, says):
    from ibmon.cli import main

    monkeypatch.setenv("IBMON_CONFIG", str(tmp_path / "missing.toml"))
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith(says)


def test_collect_needs_connections(tmp_path, capsys):
    from ibmon.cli import main

    (tmp_path / "c.toml").write_text("[collect]\nport = 0\n")
    assert main(["--config", str(tmp_path / "c.toml"), "collect"]) == 1
    assert "ibmon: no connection to collect: add [[connections]] to the config" in capsys.readouterr().err
