"""Config validation: every kind of mistake gives one clear line, all of them together."""

import os
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

from ibmon import config as cfg
from ibmon.errors import ConfigError
from ibmon.plugins import PluginHost
from ibmon.secrets import Secret, redact

SUPPORT = Path(__file__).parent / "support"

GOOD = """
refresh_seconds = 2
theme = "ibmon-light"
[keys]
refresh = "ctrl+r"
[[connections]]
name = "Demo A"
provider = "example"
url = "ws://127.0.0.1:1"
token = { env = "IBMON_TEST_TOKEN" }
symbols = ["EURUSD"]
"""


def validate(host: PluginHost, text: str, tmp_path: Path, mode: int = 0o600) -> cfg.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return cfg.build_config(cfg.read_document(path, required=True), host, path)


def test_a_good_config_resolves_env_secrets_and_keeps_them_hidden(example_host, tmp_path, monkeypatch):
    monkeypatch.setenv("IBMON_TEST_TOKEN", "tok-from-the-environment")
    config = validate(example_host, GOOD, tmp_path)
    assert config.problems == [] and config.warnings == []
    assert (config.refresh_seconds, config.theme, config.keys) == (2.0, "ibmon-light", {"refresh": "ctrl+r"})
    [conn] = config.connections
    token = conn.options["token"]
    assert isinstance(token, Secret) and token.reveal() == "tok-from-the-environment"
    assert conn.options["symbols"] == ["EURUSD"] and conn.options["poll_seconds"] == 0.5
    context = conn.context(global_read_only=True)
    assert context.read_only and "tok-from-the-environment" not in repr(context)
    assert redact("token tok-from-the-environment") == "token ***"


def test_every_mistake_is_reported_at_once_one_line_each(example_host, tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_MISSING_VAR", raising=False)
    text = """
refresh_secs = 5
[keys]
refrsh = "ctrl+r"
[[connections]]
name = "A"
provider = "example"
url = "ws://127.0.0.1:1"
tokn = "x"
token = "plain-token"
symbols = "EURUSD"
[[connections]]
name = "A"
provider = "exampel"
[[connections]]
name = "B"
provider = "example"
url = "ws://127.0.0.1:1"
token = { env = "IBMON_MISSING_VAR" }
[[connections]]
name = "C"
provider = "example"
token = "another-plain-token"
"""
    config = validate(example_host, text, tmp_path)
    assert config.connections == []
    expected = [
        'unknown top-level key "refresh_secs" (did you mean "refresh_seconds"?)',
        '[keys]: unknown binding id "refrsh" (did you mean "refresh"?)',
        'connection "A" (example): unknown key "tokn" (did you mean "token"?)',
        'connection "A" (example): key "symbols" must be a list of strings, not a string',
        'connection "A" (exampel): duplicate name: another connection is already called "A"',
        'connection "A" (exampel): unknown provider "exampel" (did you mean "example"?); '
        'registered providers: example (plugin example_plugin)',
        'connection "B" (example): key "token": environment variable IBMON_MISSING_VAR is not set',
        'connection "C" (example): missing required key "url" (WebSocket URL of the example feed)',
    ]
    for line in expected:
        assert any(problem.startswith(line) for problem in config.problems), (line, config.problems)
    assert len(config.problems) == len(expected), config.problems
    assert all("\n" not in problem for problem in config.problems)
    with pytest.raises(ConfigError) as caught:
        config.raise_problems()
    assert caught.value.problems == config.problems


@pytest.mark.parametrize("entry, message", [
    ('name = ""\nprovider = "example"\nurl = "ws://h:1"\ntoken = "t0ken"', 'connection #1 (example): key "name" must be a non-empty string'),
    ('name = "X"', 'connection "X": key "provider" is missing'),
    ('name = "X"\nprovider = "example"\nurl = "ws://h:1"\ntoken = "t0ken"\nenabled = "yes"',
     'connection "X" (example): key "enabled" must be true or false'),
    ('name = "X"\nprovider = "example"\nurl = "ws://h:1"\ntoken = "t0ken"\npoll_seconds = "fast"',
     'connection "X" (example): key "poll_seconds" must be a number, not a string'),
    ('name = "X"\nprovider = "example"\nurl = "h:1"\ntoken = "t0ken"',
     'connection "X" (example): key "url" must be a URL'),
    ('name = "X"\nprovider = "example"\nurl = "ws://h:1"\ntoken = { evn = "A" }',
     'connection "X" (example): key "token": a table here must be a secret reference, '
     '{ env = "VAR" } or { command = "program args" } (did you mean "env"?)'),
    ('name = "X"\nprovider = "example"\nurl = "ws://h:1"\ntoken = { command = "" }',
     'connection "X" (example): key "token": { command = ... } needs a non-empty string'),
])
def test_each_connection_mistake_has_its_message(example_host, tmp_path, entry, message):
    config = validate(example_host, f"[[connections]]\n{entry}\n", tmp_path)
    assert len(config.problems) == 1, config.problems
    assert config.problems[0].startswith(message), config.problems


@pytest.mark.parametrize("text, message", [
    ('refresh_seconds = 0', 'key "refresh_seconds" must be a positive number of seconds, not 0'),
    ('read_only = "no"', 'key "read_only" must be true or false'),
    ('plugin_dirs = "plugins"', 'key "plugin_dirs" must be a list of strings'),
    ('[keys]\nquit = 5', '[keys]: "quit" must be keys as a string'),
    ('connections = 3', 'connections must be written as [[connections]] tables'),
    ('layout = "diagonal"', 'key "layout" must be one of auto, stacked, side-by-side'),
    ('time_format = "HH:MM"', 'key "time_format" must be a strftime pattern'),
    ('timezone = "Mars/Olympus_Mons"', 'key "timezone" names no known time zone'),
])
def test_each_settings_mistake_has_its_message(example_host, tmp_path, text, message):
    problems = validate(example_host, text, tmp_path).problems
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_layout_time_format_and_timezone_are_read(example_host, tmp_path):
    config = validate(example_host, 'layout = "stacked"\ntime_format = "%H:%M %Z"\ntimezone = "Europe/Warsaw"',
                      tmp_path)
    assert not config.problems
    assert (config.layout, config.time_format, config.timezone) == ("stacked", "%H:%M %Z", "Europe/Warsaw")


def test_screen_binding_ids_are_accepted(example_host, tmp_path):
    config = validate(example_host, '[keys]\n"screen.example.orders" = "o"\nquit = "q,ctrl+q"\n', tmp_path)
    assert config.problems == [] and config.keys["screen.example.orders"] == "o"


def test_bad_toml_names_line_and_column(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('theme = "x"\nrefresh_seconds = \n')
    with pytest.raises(ConfigError) as caught:
        cfg.read_document(path, required=True)
    assert caught.value.problems == [f"{path}: invalid TOML: Invalid value (at line 2, column 19)"]


def test_missing_config_is_an_error_only_when_required(tmp_path):
    assert cfg.read_document(tmp_path / "nope.toml", required=False) == {}
    with pytest.raises(ConfigError, match="no config at .*ibmon config init"):
        cfg.read_document(tmp_path / "nope.toml", required=True)


def test_config_path_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(cfg.ENV_CONFIG, raising=False)
    assert cfg.config_path() == cfg.default_path()
    monkeypatch.setenv(cfg.ENV_CONFIG, str(tmp_path / "env.toml"))
    assert cfg.config_path() == tmp_path / "env.toml"
    assert cfg.config_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"


def connection_with_token(ref: str) -> str:
    return f'[[connections]]\nname = "S"\nprovider = "example"\nurl = "ws://h:1"\ntoken = {ref}\n'


def test_command_reference_runs_without_a_shell_and_is_stripped(example_host, tmp_path):
    script = tmp_path / "secret tool.py"
    script.write_text("import sys; print('  cmd-secret-' + sys.argv[1] + '  ')\n")
    command = shlex.join([sys.executable, str(script), "a b"])
    config = validate(example_host, connection_with_token(f"{{ command = {cfg._toml_value(command)} }}"), tmp_path)
    assert config.problems == []
    assert config.connections[0].options["token"].reveal() == "cmd-secret-a b"


def test_failing_command_names_program_and_status_never_output(example_host, tmp_path):
    script = tmp_path / "leaky.py"
    script.write_text("import sys; print('leaked-output-123'); sys.exit(3)\n")
    command = shlex.join([sys.executable, str(script)])
    config = validate(example_host, connection_with_token(f"{{ command = {cfg._toml_value(command)} }}"), tmp_path)
    assert config.problems == [f'connection "S" (example): key "token": command "{sys.executable}" '
                               "failed with exit status 3"]
    config = validate(example_host, connection_with_token('{ command = "no-such-program-ibmon --x" }'), tmp_path)
    assert config.problems == ['connection "S" (example): key "token": command "no-such-program-ibmon" not found']


def test_references_fill_non_secret_options_with_their_type(example_host, tmp_path, monkeypatch):
    monkeypatch.setenv("IBMON_TEST_POLL", "2.5")
    monkeypatch.setenv("IBMON_TEST_URL", "ws://127.0.0.1:9")
    text = connection_with_token('"t0ken"').replace('url = "ws://h:1"', 'url = { env = "IBMON_TEST_URL" }')
    config = validate(example_host, text + 'poll_seconds = { env = "IBMON_TEST_POLL" }\n', tmp_path)
    assert config.problems == []
    assert config.connections[0].options["poll_seconds"] == 2.5
    assert config.connections[0].options["url"] == "ws://127.0.0.1:9"


def test_plain_secrets_in_a_group_readable_file_warn_without_failing(example_host, tmp_path, monkeypatch):
    text = connection_with_token('"plain-t0ken"')
    config = validate(example_host, text, tmp_path, mode=0o644)
    assert config.problems == [] and len(config.connections) == 1
    [warning] = config.warnings
    assert 'connection "S" (example) key "token"' in warning and "chmod 600" in warning
    assert "plain-t0ken" not in warning
    assert validate(example_host, text, tmp_path, mode=0o600).warnings == []
    monkeypatch.setenv("IBMON_TEST_TOKEN", "t0ken")
    assert validate(example_host, connection_with_token('{ env = "IBMON_TEST_TOKEN" }'), tmp_path,
                    mode=0o644).warnings == []


def test_provider_of_a_failed_plugin_is_unavailable_not_a_mistake(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "acme.py").write_text("raise ImportError('needs acme-sdk')\n")
    path = tmp_path / "config.toml"
    path.write_text('plugin_dirs = ["plugins"]\n[[connections]]\nname = "Acme"\nprovider = "acme"\n'
                    '[[connections]]\nname = "Nope"\nprovider = "nope"\n')
    config, host = cfg.load(path, required=True)
    assert host.plugins["acme"].status == "failed"
    assert config.unavailable() == ['connection "Acme" (acme): provider "acme" is unavailable: plugin "acme" '
                                    'failed to load (import failed: ImportError: needs acme-sdk)']
    [problem] = config.problems
    assert problem.startswith('connection "Nope" (nope): unknown provider "nope"')
    assert "failed plugins: acme (see `ibmon plugins`)" in problem
    assert config.runnable() == []


def test_poll_seconds_without_a_default_takes_refresh_seconds(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    (tmp_path / "slow.py").write_text(
        "from ibmon import hookimpl\n"
        "from ibmon.api import Provider\n"
        "from ibmon.options import Option\n"
        "@hookimpl\n"
        "def ibmon_providers(register):\n"
        "    register(Provider('slow', 'Slow', connect=None, options=(Option('poll_seconds', 'float'),)))\n")
    path = tmp_path / "config.toml"
    path.write_text(f'refresh_seconds = 7\nplugin_dirs = ["{tmp_path}"]\n'
                    '[[connections]]\nname = "a"\nprovider = "slow"\n'
                    '[[connections]]\nname = "b"\nprovider = "slow"\npoll_seconds = 1.5\n')
    config, _host = cfg.load(path, required=True)
    assert config.problems == []
    assert [c.options["poll_seconds"] for c in config.connections] == [7.0, 1.5]


def test_template_lists_every_option_and_validates_once_filled_in(example_host, tmp_path, monkeypatch):
    text = cfg.template(example_host)
    assert "connections" not in tomllib.loads(text)  # every example is commented out
    provider = example_host.providers["example"]
    for option in provider.options:
        assert f"# {option.name} = " in text or f"# {option.name} = {{" in text
        assert option.help in text
    assert "required" in text and "secret" in text and 'token = { env = "EXAMPLE_TOKEN" }' in text
    for binding in ("quit", "refresh", "palette"):
        assert f"# {binding} = " in text

    block = False
    filled = []
    for line in text.splitlines():
        block = block or line.startswith("# [[connections]]")
        filled.append(line[2:] if block and line.startswith("# ") else line)
    monkeypatch.setenv("EXAMPLE_TOKEN", "t0ken-from-env")
    config = validate(example_host, "\n".join(filled), tmp_path)
    assert config.problems == []
    [conn] = config.connections
    assert conn.provider == "example" and conn.options["token"].reveal() == "t0ken-from-env"


def test_write_private_creates_mode_600(tmp_path):
    target = tmp_path / "deep" / "config.toml"
    cfg.write_private(target, "x = 1\n")
    assert target.read_text() == "x = 1\n"
    assert os.stat(target).st_mode & 0o777 == 0o600
