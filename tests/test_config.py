"""Config validation: every kind of mistake gives one clear line, all of them together."""

import os
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

from ibmon import config as cfg
from ibmon.errors import ConfigError
from ibmon.keymap import CORE_BINDINGS
from ibmon.plugins import PluginHost
from ibmon.secrets import Secret, redact

SUPPORT = Path(__file__).parent / "support"

GOOD = """
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
    assert (config.theme, config.keys) == ("ibmon-light", {"refresh": "ctrl+r"})
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
them = "ibmon-light"
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
        'unknown top-level key "them" (did you mean "theme"?)',
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
    ('theme = 3', 'key "theme" must be a theme name (a string)'),
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


def test_refresh_seconds_is_obsolete_a_warning_that_names_what_to_use_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    (tmp_path / "slow.py").write_text(
        "from ibmon.sdk import Option, Provider, hookimpl\n"
        "@hookimpl\n"
        "def ibmon_providers(register):\n"
        "    register(Provider('slow', 'Slow', connect=None, options=(Option('poll_seconds', 'float'),)))\n")
    path = tmp_path / "config.toml"
    path.write_text(f'refresh_seconds = 7\nplugin_dirs = ["{tmp_path}"]\n'
                    '[[connections]]\nname = "a"\nprovider = "slow"\n'
                    '[[connections]]\nname = "b"\nprovider = "slow"\npoll_seconds = 1.5\n')
    config, _host = cfg.load(path, required=True)
    assert config.problems == []
    [warning] = config.warnings
    assert warning.startswith('key "refresh_seconds" is obsolete and ignored: ') and '"poll_seconds"' in warning
    assert [c.options["poll_seconds"] for c in config.connections] == [None, 1.5]
    assert not hasattr(config, "refresh_seconds")


def test_every_top_level_key_is_declared_once_and_drives_the_check(example_host, tmp_path):
    names = [setting.name for setting in cfg.SETTINGS]
    assert len(names) == len(set(names)) and cfg.TOP_LEVEL_KEYS == tuple(names)
    assert names[-1] == "connections" and not set(cfg.OBSOLETE_KEYS) & set(names)
    defaults = cfg.Config()
    for setting in cfg.SETTINGS:
        assert setting.help.strip() and setting.type
        if setting.check is not None:
            assert setting.check(setting.default) is None, setting.name  # the default passes its own check
            assert getattr(defaults, setting.name) == setting.default, setting.name
            problems = validate(example_host, f"{setting.name} = {{ a = 1 }}\n", tmp_path).problems
            assert len(problems) == 1 and problems[0].startswith(f'key "{setting.name}" '), problems


def test_the_template_writes_every_setting_with_its_default(example_host):
    written = tomllib.loads(cfg.template(example_host))
    plain = [s for s in cfg.SETTINGS if s.type not in ("table", "array of tables")]
    assert written == {**{s.name: s.default for s in plain if s.default is not None}, "keys": {}}
    assert all(f"# {s.name} = " in cfg.template(example_host) for s in plain if s.default is None)
    text = cfg.template(example_host)
    assert all(f"# {s.help}" in text for s in cfg.SETTINGS if s.name != "connections")
    assert "refresh_seconds" not in text


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


# -- what the app refuses at start, reported by the check ------------------------------------------

#: A third-party plugin declaring rules across its options and a screen, as any plugin would.
RULED_PLUGIN = """
from ibmon import hookimpl
from ibmon.api import Provider, ScreenSpec
from ibmon.options import Option, one_of, requires

OPTIONS = (Option("url", "url", required=True, schemes=("https",)), Option("cert", "str"), Option("key", "str"),
           Option("user", "str"), Option("password", "str", secret=True), Option("api_key", "str", secret=True),
           Option("mode", "str", default="ok"))


def mode_rule(values):
    \"\"\"mode "boom" breaks this rule, "many" floods it, "text" answers with a bare line\"\"\"
    if values["mode"] == "boom":
        raise ZeroDivisionError("the rule itself is broken")
    if values["mode"] == "many":
        return (f"problem {n}\\nwith a line break" for n in range(10_000))
    if values["mode"] == "text":
        return "a bare line"
    return None


@hookimpl
def ibmon_providers(register):
    register(Provider("ruled", "Ruled", connect=None, options=OPTIONS,
                      rules=(requires("cert", "key"), one_of("api_key", ("user", "password")), mode_rule),
                      screens=(ScreenSpec("ruled.orders", "Orders", factory=lambda ctx: None, key="o"),)))
"""


@pytest.fixture
def ruled_host(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    folder = tmp_path / "ruled_plugins"
    folder.mkdir()
    (folder / "ruled.py").write_text(RULED_PLUGIN)
    host = PluginHost()
    host.load(plugin_dirs=[folder], entry_points=False)
    assert host.plugins["ruled"].status == "ok", host.plugins["ruled"].error
    return host


def ruled(body: str, name: str = "R") -> str:
    return f'[[connections]]\nname = "{name}"\nprovider = "ruled"\nurl = "https://h"\n{body}\n'


@pytest.mark.parametrize("body, problems", [
    ('api_key = "ruled-key-8812"', []),
    ('user = "u"\npassword = "ruled-pw-8812"', []),
    ('user = "u"', ['connection "R" (ruled): needs "api_key", or "user" with "password" ("password" missing)']),
    ('', ['connection "R" (ruled): needs "api_key", or "user" with "password"']),
    ('api_key = ""', ['connection "R" (ruled): key "api_key" must not be empty (a string)']),
    ('api_key = "ruled-key-8812"\ncert = "c"', ['connection "R" (ruled): "cert" needs "key" ("key" missing)']),
    ('api_key = "ruled-key-8812"\nmode = "boom"', ['connection "R" (ruled): a check of these options failed: '
                                         'ZeroDivisionError: the rule itself is broken']),
    ('api_key = "ruled-key-8812"\nmode = "text"', ['connection "R" (ruled): a bare line']),
])
def test_a_plugins_rules_across_options_name_the_connection_and_keys(ruled_host, tmp_path, body, problems):
    assert validate(ruled_host, ruled(body), tmp_path).problems == problems


def test_rules_run_only_once_every_option_is_right_and_are_bounded(ruled_host, tmp_path):
    config = validate(ruled_host, ruled('user = 5'), tmp_path)
    assert config.problems == ['connection "R" (ruled): key "user" must be a string, not an integer']
    flood = validate(ruled_host, ruled('api_key = "ruled-key-8812"\nmode = "many"'), tmp_path).problems
    assert len(flood) == 20 and all("\n" not in line and line.endswith("↵with a line break") for line in flood)


def test_the_same_rules_run_in_the_plugin_testing_kit(ruled_host):
    from ibmon.testing import make_context

    provider = ruled_host.providers["ruled"]
    with pytest.raises(ConfigError) as caught:
        make_context(provider, name="T", url="https://h", user="u")
    assert caught.value.problems == ['connection "T": needs "api_key", or "user" with "password" ("password" missing)']
    assert make_context(provider, url="https://h", api_key="ruled-key-8812").options["api_key"].reveal() == "ruled-key-8812"


@pytest.fixture(scope="module")
def real_host():
    _settings, host = cfg.load_plugins({}, None, only=None)
    return host


def first_party(provider: str, options: str) -> str:
    return f'[[connections]]\nname = "C"\nprovider = "{provider}"\n{options}\n'


XTB = 'user_id = "1"\npassword = "xtb-pw-6620"\n'
SECRET = "rest-secret-3391"  # long and odd: a made-up secret is masked in every later message
REST_REQUIRED = {"b2core": f'token = "{SECRET}"',
                 "crm": f'domain = "d"\napi_key = "{SECRET}"\nemail = "e"\npassword = "{SECRET}"',
                 "ctrader": f'access_token = "{SECRET}"', "ibkr_flex": f'token = "{SECRET}"\nquery_id = "1"'}


@pytest.mark.parametrize("provider", sorted(REST_REQUIRED))
def test_rest_providers_take_http_and_https_urls_only(real_host, tmp_path, monkeypatch, provider):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    for url in ("http://127.0.0.1:1/api", "https://h.example"):
        text = first_party(provider, f'base_url = "{url}"\n{REST_REQUIRED[provider]}')
        assert validate(real_host, text, tmp_path).problems == []
    for url, why in (("wss://h", "must start with http:// or https://, not wss://"),
                     ("https://", "must be a URL with a host, like scheme://host:port"),
                     ("https://h:99999", "must be a URL with a port from 0 to 65535 after the host")):
        text = first_party(provider, f'base_url = "{url}"\n{REST_REQUIRED[provider]}')
        assert validate(real_host, text, tmp_path).problems == [f'connection "C" ({provider}): key "base_url" {why}']


def test_xtb_takes_socket_and_websocket_urls_and_sockets_need_a_port(real_host, tmp_path):
    for scheme in ("tls", "ssl", "tcp", "ws", "wss"):
        text = first_party("xtb", f'url = "{scheme}://h:5124"\nstream_url = "{scheme}://h:5125"\n{XTB}')
        assert validate(real_host, text, tmp_path).problems == [], scheme
    text = first_party("xtb", f'url = "wss://h/demo"\nstream_url = "ssl://h"\n{XTB}')
    assert validate(real_host, text, tmp_path).problems == [
        'connection "C" (xtb): key "stream_url": ssl://h: a ssl:// URL needs a port (e.g. 5124 demo, 5112 real)']
    text = first_party("xtb", f'url = "https://h:1"\nstream_url = "tls://h:2"\n{XTB}')
    assert validate(real_host, text, tmp_path).problems == [
        'connection "C" (xtb): key "url" must start with tls://, ssl://, ws://, wss:// or tcp://, not https://']


def test_b2core_declares_its_credentials_rule_and_connect_no_longer_refuses(real_host, tmp_path):
    base = 'base_url = "https://h/api"\n'
    assert validate(real_host, first_party("b2core", base + 'client_id = "id"'), tmp_path).problems == [
        'connection "C" (b2core): needs "token", or "client_id" with "client_secret" ("client_secret" missing)']
    config = validate(real_host, first_party("b2core", base + 'client_id = "id"\nclient_secret = "b2-secret-4410"'), tmp_path)
    assert config.problems == []
    [connection] = config.connections
    real_host.providers["b2core"].connect(connection.context())  # no ConfigError at start any more


def test_an_unknown_theme_is_a_problem_and_every_theme_the_app_knows_is_accepted(real_host, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    themes = tmp_path / "data" / "ibmon" / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\n')
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    for name in ("ibmon-dark", "ibmon-nord", "nord", "textual-light", "mine"):
        assert validate(real_host, f'theme = "{name}"', tmp_path).problems == [], name
    [problem] = validate(real_host, 'theme = "ibmon-nrod"', tmp_path).problems
    assert problem.startswith('key "theme": unknown theme "ibmon-nrod" (did you mean "ibmon-nord"?); themes: ')
    assert "mine" in problem and "broken" not in problem.split("themes: ")[1]
    assert validate(real_host, 'theme = "broken"', tmp_path).problems[0].startswith('key "theme": unknown theme')


XTB_CONNECTION = first_party("xtb", f'url = "tcp://127.0.0.1:1"\nstream_url = "tcp://127.0.0.1:2"\n{XTB}')


@pytest.mark.parametrize("keys, problems", [
    ('screen.xtb = "f6"', []),  # TOML's dotted form
    ('"screen.xtb" = "f6"', []),
    ('screen.xbt = "f6"', ['[keys]: unknown screen id "screen.xbt" (did you mean "screen.xtb"?); screens: '
                           'screen.b2core, screen.crm, screen.ctrader, screen.ibkr_flex, screen.xtb']),
    ('screen.xtb = "f6"\n"screen.xtb" = "f7"', ['[keys]: "screen.xtb" is given twice']),
    ('refresh = "q"', ['[keys]: "q" is the key of both quit and refresh: give one of them another key']),
    ('refresh = "f5"\nhelp = "f5"', ['[keys]: "f5" is the key of both help and refresh: give one of them another key']),
    ('refresh = "?"', ['[keys]: "?" is the key of both help and refresh: give one of them another key']),
    ('screen.xtb = "h"', ['[keys]: "h" is the key of both toggle_health and screen.xtb: give one of them another key']),
    ('quit = "r"\nrefresh = "q"', []),  # a swap
    ('refresh = "r,,f5"', ['[keys]: "refresh": an empty key in "r,,f5" (keys are separated by single commas)']),
    ('screen = "s"', [f'[keys]: unknown binding id "screen"; ids: {", ".join(CORE_BINDINGS)} or screen.<screen id>']),
])
def test_keys_are_checked_as_the_dashboard_binds_them(real_host, tmp_path, keys, problems):
    config = validate(real_host, f"[keys]\n{keys}\n{XTB_CONNECTION}", tmp_path)
    assert config.problems == problems
    assert config.warnings == []


def test_a_screen_key_is_checked_only_where_the_dashboard_binds_it(real_host, tmp_path):
    """A provider without connections binds no screen key; one whose suggested key the user took
    yields it (a warning, not a mistake: the palette and `s` still open it)."""
    assert validate(real_host, '[keys]\nrefresh = "x"\nscreen.b2core = "h"\n', tmp_path).problems == []
    config = validate(real_host, f'[keys]\nrefresh = "x"\n{XTB_CONNECTION}', tmp_path)
    assert config.problems == [] and config.keys == {"refresh": "x"}
    assert config.warnings == ['[keys]: the screen screen.xtb suggests "x", which is the key of refresh: it has no '
                               'key of its own until [keys] gives it one, e.g. "screen.xtb" = "f6"']


def test_the_default_keys_and_the_first_party_screen_keys_are_all_different(real_host):
    from ibmon.bindings import resolve_keys

    defaults = [key for keys, _ in CORE_BINDINGS.values() for key in keys.split(",")]
    screens = [spec.key for provider in real_host.providers.values() for spec in provider.screens]
    assert len(set(defaults + screens)) == len(defaults + screens)
    resolved = resolve_keys({}, real_host.providers.values(), real_host.providers.values())
    assert resolved.problems == resolved.warnings == []
    assert {binding: keys for binding, (_spec, keys) in resolved.screens.items()} == {
        "screen.b2core": "b", "screen.crm": "l", "screen.ctrader": "c", "screen.ibkr_flex": "i", "screen.xtb": "x"}


def test_a_plugins_screen_ids_are_known_from_its_declaration(ruled_host, tmp_path):
    config = validate(ruled_host, '[keys]\nscreen.ruled.orders = "f9"\n', tmp_path)
    assert config.problems == [] and config.keys == {"screen.ruled.orders": "f9"}


def test_the_template_of_the_first_party_providers_validates_once_filled_in(real_host, tmp_path, monkeypatch):
    text = cfg.template(real_host)
    assert '# "screen.xtb" = "x"  # open XTB: symbols, chart, history' in text
    assert '# # rule: needs "token", or "client_id" with "client_secret"' in text
    filled, block = [], False
    for line in text.splitlines():  # uncomment each example: from "# [[connections]]" to its blank line
        block = (block or line.startswith("# [[connections]]")) and line != ""
        filled.append(line[2:] if block else line)
    for name in ("B2CORE_CLIENT_SECRET", "CRM_API_KEY", "CRM_PASSWORD", "CTRADER_ACCESS_TOKEN", "IBKR_FLEX_TOKEN",
                 "XTB_PASSWORD"):
        monkeypatch.setenv(name, "s3cret-from-env")
    config = validate(real_host, "\n".join(filled), tmp_path)
    assert config.problems == []
    assert sorted(c.provider for c in config.connections) == ["b2core", "crm", "ctrader", "ibkr_flex", "xtb"]
