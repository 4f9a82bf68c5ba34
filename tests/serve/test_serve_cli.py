"""`ibmon serve` refuses to listen beyond loopback without a password and TLS, says why, and checks
its [serve] table with the rest of the config; what a browser session runs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ibmon.cli import main
from ibmon.errors import IbmonError
from ibmon.serve import resolve_password, session_command
from ibmon.serve.settings import ServeSettings, bind_problems, is_loopback

SUPPORT = Path(__file__).parents[1] / "support"
BOOK = '[[connections]]\nname = "Static"\nprovider = "static_book"\n'


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.setenv("IBMON_PLUGINS", "static_book")

    def write(serve_table: str = "") -> Path:
        path = tmp_path / "config.toml"
        path.write_text(BOOK + (f"\n[serve]\n{serve_table}" if serve_table else ""))
        path.chmod(0o600)
        return path

    return write


def serve(path: Path, *args: str) -> int:
    return main(["--config", str(path), "--plugin-dir", str(SUPPORT), "serve", *args])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_every_interface_without_password_and_tls_is_refused_naming_both(book, capsys):
    port = free_port()
    assert serve(book(), "--host", "0.0.0.0", "--port", str(port)) == 1
    err = capsys.readouterr().err
    assert "--host 0.0.0.0 is not a loopback address: a password is required" in err
    assert "TLS is required" in err and not listening(port)


def test_a_password_without_tls_is_still_refused(book, capsys, monkeypatch):
    monkeypatch.setenv("IBMON_TEST_SERVE_PW", "long enough password")
    assert serve(book('password = { env = "IBMON_TEST_SERVE_PW" }\n'), "--host", "192.0.2.1") == 1
    err = capsys.readouterr().err
    assert "TLS is required" in err and "password is required" not in err


def test_bind_rule_loopback_free_anything_else_needs_both(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    both = ServeSettings(password={"env": "X"}, tls_cert=cert, tls_key=key)
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"):
        assert is_loopback(host) and bind_problems(host, ServeSettings()) == [], host
    for host in ("0.0.0.0", "::", "", "192.0.2.1", "2001:db8::1"):
        assert not is_loopback(host), host
        assert len(bind_problems(host, ServeSettings())) == 2, host
        assert bind_problems(host, both) == [], host


def test_tls_and_password_serve_beyond_loopback_with_a_certificate_that_loads(book, tmp_path, monkeypatch, capsys):
    """The refusal is about the settings, not the address: with both, only a bad certificate stops it."""
    monkeypatch.setenv("IBMON_TEST_SERVE_PW", "long enough password")
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    table = 'password = { env = "IBMON_TEST_SERVE_PW" }\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n'
    assert serve(book(table), "--host", "0.0.0.0", "--port", str(free_port())) == 1
    err = capsys.readouterr().err
    assert f"cannot load {tmp_path / 'cert.pem'}" in err and "long enough password" not in err


def test_the_serve_table_is_checked_with_the_config(book, capsys, tmp_path):
    path = book('password = "plain-pw-in-file"\ntls_cert = "c.pem"\nidle_minute = 5\nidle_minutes = 0\n')
    assert main(["--config", str(path), "--plugin-dir", str(SUPPORT), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert '[serve] key "password" must be a secret reference' in err
    assert 'TLS needs both "tls_cert" and "tls_key"' in err
    assert '[serve]: unknown key "idle_minute" (did you mean "idle_minutes"?)' in err
    assert '[serve] key "idle_minutes" must be a number of minutes from 1 to 1440' in err
    assert "plain-pw-in-file" not in err


def test_the_password_comes_from_its_reference_and_leaves_the_environment(monkeypatch):
    monkeypatch.setenv("IBMON_TEST_SERVE_PW", "long enough password")
    secret = resolve_password(ServeSettings(password={"env": "IBMON_TEST_SERVE_PW"}))
    assert secret.reveal() == "long enough password" and "IBMON_TEST_SERVE_PW" not in os.environ
    assert resolve_password(ServeSettings()) is None
    with pytest.raises(IbmonError, match='key "password": environment variable IBMON_TEST_SERVE_PW is not set'):
        resolve_password(ServeSettings(password={"env": "IBMON_TEST_SERVE_PW"}))
    monkeypatch.setenv("IBMON_TEST_SERVE_PW", "short")
    with pytest.raises(IbmonError, match="too short"):
        resolve_password(ServeSettings(password={"env": "IBMON_TEST_SERVE_PW"}))


def test_every_browser_session_attaches_to_the_collector_read_only_when_serve_is(tmp_path):
    config = tmp_path / "config.toml"
    url = "ws://127.0.0.1:9464/attach"
    command = session_command(url, config, read_only=True, plugin_dirs=["plugins"])
    assert command.argv[-2:] == ["attach", url] and "--read-only" in command.argv
    assert command.argv[command.argv.index("--config") + 1] == str(config.absolute())
    assert command.argv[command.argv.index("--plugin-dir") + 1] == str(Path("plugins").absolute())
    assert "--read-only" not in session_command(url, config, read_only=False, plugin_dirs=[]).argv
    assert command.label == f"collector {url}"


def test_config_read_only_reaches_the_session_command_too(book, monkeypatch):
    """`read_only = true` in the config or --read-only on serve: every session gets --read-only."""
    seen = {}
    monkeypatch.setenv("IBMON_ATTACH_TOKEN", "")  # serve's own collector sets it: restored after the test

    def capture(settings, sessions, host, port, say, **collector):
        seen["argv"] = sessions("ws://127.0.0.1:1/attach").argv
        return 0

    monkeypatch.setattr("ibmon.serve.serve", capture)
    path = book()
    path.write_text("read_only = true\n" + path.read_text())
    assert serve(path) == 0 and "--read-only" in seen["argv"]
    assert main(["--config", str(book()), "--plugin-dir", str(SUPPORT), "serve", "--read-only"]) == 0
    assert "--read-only" in seen["argv"]


def test_browser_sessions_share_one_collector_its_own_or_the_one_attach_url_names(book, monkeypatch):
    """Ten tabs never mean ten logins: without attach_url serve runs one collector (loopback, a
    token of this run for the sessions' environment); with it, every session attaches there."""
    seen = {}
    monkeypatch.setenv("IBMON_ATTACH_TOKEN", "")

    def capture(settings, sessions, host, port, say, attach_url=None, collector=None):
        seen.update(attach_url=attach_url, collector=collector, argv=sessions("ws://127.0.0.1:1/attach").argv)
        return 0

    monkeypatch.setattr("ibmon.serve.serve", capture)
    path = book()
    assert serve(path) == 0 and seen["attach_url"] is None
    collector = seen["collector"]
    assert collector.settings.listen == "127.0.0.1" and collector.settings.port == 0
    assert collector.settings.token.reveal() == os.environ["IBMON_ATTACH_TOKEN"]
    assert seen["argv"][-2] == "attach" and os.environ["IBMON_ATTACH_TOKEN"] not in " ".join(seen["argv"])
    path.write_text('attach_url = "ws://127.0.0.1:9464/attach"\n' + path.read_text())
    assert serve(path) == 0 and seen["attach_url"] == "ws://127.0.0.1:9464/attach" and seen["collector"] is None
