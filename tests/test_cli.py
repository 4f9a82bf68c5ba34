"""The `ibmon` command: one-line errors, config path/init/check, plugins, sim, crash logs, logging."""

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ibmon import cli
from ibmon.cli import main
from ibmon.logs import LOG_FILE, log_dir
from ibmon.secrets import Secret

SUPPORT = Path(__file__).parent / "support"
BROKEN = SUPPORT / "broken"


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """No real user folders; only the test plugins; returns the config path."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("IBMON_PLUGINS", "example_plugin,raises_on_import,raises_in_hook")
    monkeypatch.setenv("IBMON_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path / "config.toml"


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update({"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_STATE_HOME": str(tmp_path / "s"),
                "XDG_DATA_HOME": str(tmp_path / "d"), "IBMON_PLUGINS": "example_plugin"}, **extra)
    return env


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip().startswith("ibmon 0.")


def test_usage_mistakes_are_one_line_with_exit_2(env, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["snapshot", "--timeout", "soon"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ibmon: argument --timeout: not a number: 'soon'")


def test_config_path_follows_option_then_environment(env, tmp_path, capsys):
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(env)
    assert main(["--config", str(tmp_path / "other.toml"), "config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "other.toml")
    assert main(["config", "--config", str(tmp_path / "after.toml"), "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "after.toml")


def test_config_init_writes_a_private_template_and_refuses_to_overwrite(env, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "config", "init"]) == 0
    assert "one commented example per provider: example" in capsys.readouterr().out
    assert env.stat().st_mode & 0o777 == 0o600
    assert 'provider = "example"' in env.read_text()
    env.write_text("# mine\n")
    assert main(["config", "init"]) == 1
    assert "already exists" in capsys.readouterr().err and env.read_text() == "# mine\n"
    assert main(["--plugin-dir", str(SUPPORT), "config", "init", "--force"]) == 0
    assert 'provider = "example"' in env.read_text()


def test_config_check_lists_problems_or_says_ok(env, capsys, monkeypatch):
    env.write_text(f'plugin_dirs = ["{SUPPORT}", "{BROKEN}"]\n[[connections]]\nname = "E"\nprovider = "example"\n'
                   'url = "ws://127.0.0.1:1"\npasword = "x"\n')
    assert main(["config", "check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert 'ibmon: warning: plugin "raises_on_import" failed: import failed: RuntimeError: ' \
           'this plugin is broken on purpose' in err
    assert 'ibmon: connection "E" (example): unknown key "pasword"' in err
    assert 'ibmon: connection "E" (example): missing required key "token" (access token)' in err
    monkeypatch.setenv("IBMON_TEST_TOKEN", "t0ken-value")
    env.write_text(f'plugin_dirs = ["{SUPPORT}"]\n[[connections]]\nname = "E"\nprovider = "example"\n'
                   'url = "ws://127.0.0.1:1"\ntoken = { env = "IBMON_TEST_TOKEN" }\n')
    assert main(["config", "check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "config OK: 1 connection" and "t0ken-value" not in captured.err


def test_config_check_says_refresh_seconds_is_obsolete_and_what_to_use(env, capsys):
    env.write_text(f'refresh_seconds = 5\nplugin_dirs = ["{SUPPORT}"]\n')
    assert main(["config", "check"]) == 0
    captured = capsys.readouterr()
    [warning] = captured.err.splitlines()
    assert warning.startswith('ibmon: warning: key "refresh_seconds" is obsolete and ignored: ')
    assert '"poll_seconds"' in warning and captured.out.strip() == "config OK: 0 connections"


def test_config_reference_lists_the_settings_and_the_installed_providers(env, capsys):
    env.write_text(f'plugin_dirs = ["{SUPPORT}"]\n')
    assert main(["config", "reference"]) == 0
    out = capsys.readouterr().out
    assert "| `theme` | str | `\"ibmon-dark\"` |" in out and "| `read_only` | bool | `false` |" in out
    assert "### `example`" in out and "| `url` |" in out  # the plugin the config's plugin_dirs loads
    env.write_text("not = [toml")
    assert main(["config", "reference"]) == 0 and "| `layout` |" in capsys.readouterr().out


def test_config_actions_take_the_common_options_after_them_too(env, tmp_path, capsys, monkeypatch):
    other = tmp_path / "other.toml"
    assert main(["config", "path", "--config", str(other)]) == 0
    assert capsys.readouterr().out.strip() == str(other)
    assert main(["config", "init", "--config", str(other), "--plugin-dir", str(SUPPORT)]) == 0
    assert 'provider = "example"' in other.read_text() and not env.exists()
    capsys.readouterr()
    other.write_text('theme = "no-such-theme"\n[keys]\nrefresh = "q"\n')
    # the action's --config wins over one given before the subcommand, as for every other command
    assert main(["--config", str(env), "config", "check", "--config", str(other)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning" not in line] == [
        'ibmon: key "theme": unknown theme "no-such-theme"; themes: ibmon-dark, ibmon-light, ibmon-nord '
        "(`ibmon themes` lists them with their files), or one of Textual's own such as textual-dark or textual-light",
        'ibmon: [keys]: "q" is the key of both quit and refresh: give one of them another key']
    assert main(["config", "check", "--config", str(tmp_path / "missing.toml")]) == 1
    assert "no config at" in capsys.readouterr().err


def test_every_command_and_config_action_takes_the_common_options_after_it():
    import argparse

    def commands(parser, prefix=()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from commands(child, (*prefix, name)) if any(
                        isinstance(a, argparse._SubParsersAction) for a in child._actions) else [(*prefix, name)]

    found = list(commands(cli.build_parser()))
    assert ("config", "reference") in found and ("sim",) in found and ("collect",) in found \
        and ("serve",) in found and ("history",) in found and len(found) == 15
    for argv in found:
        args = cli.build_parser().parse_args(["--config", "before.toml", *argv, "--config", "after.toml",
                                              "--read-only", "--plugin-dir", "p"])
        assert (args.config, args.read_only, args.plugin_dir) == ("after.toml", True, ["p"]), argv


def test_config_check_warns_of_broken_theme_files_the_app_would_skip(env, tmp_path, capsys):
    themes = tmp_path / "xdg_data_home" / "ibmon" / "themes"
    themes.mkdir(parents=True)
    (themes / "bad.toml").write_text('name = "bad"\nprimary = "#12"\n')
    env.write_text("")
    assert main(["config", "check"]) == 0
    assert f"ibmon: warning: broken theme: {themes / 'bad.toml'}: primary = '#12' is not a colour" in \
        capsys.readouterr().err.splitlines()


def test_plugins_json_shows_ok_and_failed_plugins(env, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "--plugin-dir", str(BROKEN), "plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert plugins["example_plugin"] == {"name": "example_plugin", "version": "", "source": str(SUPPORT / "example_plugin.py"),
                                         "providers": ["example"], "simulators": ["example"], "status": "ok",
                                         "error": None}
    assert plugins["raises_on_import"]["status"] == "failed"
    assert plugins["raises_on_import"]["error"] == "import failed: RuntimeError: this plugin is broken on purpose"
    assert plugins["raises_in_hook"]["status"] == "failed"
    assert "ibmon_providers failed: ValueError: provider table exploded" in plugins["raises_in_hook"]["error"]


def test_plugins_text_lists_providers_with_titles(env, capsys):
    env.write_text(f'plugin_dirs = ["{SUPPORT}"]\ndisabled_plugins = ["raises_in_hook"]\n')
    assert main(["--plugin-dir", str(BROKEN), "plugins"]) == 0
    out = capsys.readouterr().out
    assert "example_plugin -: ok" in out and "  provider example: Example feed" in out
    assert "raises_on_import -: failed" in out and "error: import failed" in out
    assert "raises_in_hook -: disabled" in out


def test_an_unexpected_error_is_one_line_with_a_redacted_crash_log(env, capsys, monkeypatch):
    secret = Secret("crash-secret-9876")

    def explode(_args):
        raise RuntimeError(f"boom with {secret.reveal()}")

    monkeypatch.setitem(cli.COMMANDS, "plugins", explode)
    assert main(["plugins"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "crash-secret-9876" not in err
    assert err.startswith("ibmon: unexpected error: RuntimeError: boom with *** (details in ")
    crash_log = Path(err.rsplit("(details in ", 1)[1].rstrip(")\n"))
    text = crash_log.read_text()
    assert "Traceback" in text and "explode" in text and "crash-secret-9876" not in text


def test_log_records_go_to_the_file_redacted(env, capsys, monkeypatch):
    monkeypatch.setenv("IBMON_LOG_LEVEL", "debug")
    secret = Secret("log-secret-5555")
    assert main(["plugins"]) == 0
    logging.getLogger("websockets.client").warning("connection to %s failed", f"wss://h/?token={secret.reveal()}")
    logging.getLogger("ibmon.test").debug("debug line")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (log_dir() / LOG_FILE).read_text()
    assert "connection to wss://h/?token=*** failed" in text and "debug line" in text
    assert "log-secret-5555" not in text
    assert "connection to" not in capsys.readouterr().err


def test_light_commands_do_not_import_textual(env, tmp_path):
    code = ("import sys; from ibmon.cli import main; "
            "[main(a) for a in (['plugins'], ['config', 'path'], ['plugins', '--json'])]; "
            "sys.exit('textual' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(tmp_path), capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_sim_writes_a_config_that_snapshot_reaches(env, tmp_path, capsys):
    target = tmp_path / "sim.toml"
    command = [sys.executable, "-m", "ibmon", "--plugin-dir", str(SUPPORT), "sim", "example",
               "--write-config", str(target), "--set", "interval=60"]
    proc = subprocess.Popen(command, env=subprocess_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not target.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists(), proc.stderr.read() if proc.poll() is not None else "no config after 20 s"
        assert target.stat().st_mode & 0o777 == 0o600
        assert main(["--config", str(target), "snapshot", "--json", "--timeout", "10"]) == 0
        [conn] = json.loads(capsys.readouterr().out)["connections"]
        assert conn["ok"] and conn["accounts"][0]["balance"] == "10000.00"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "example feed: ws://127.0.0.1:" in out and f"wrote {target}" in out
    assert 'provider = "example"' in out and err == ""


def test_sim_names_an_unknown_simulator(env, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "sim", "exampel"]) == 1
    assert capsys.readouterr().err == ('ibmon: no simulator for "exampel" (did you mean "example"?); '
                                       "simulators: example\n")


@pytest.fixture
def dashboard(monkeypatch):
    """Stands in for the Textual app: records what the command hands it and checks, while the
    command's simulators still run, that every connection reaches its simulator."""
    seen = {}

    def fake(config, host, read_only, problems, welcome=None):
        from ibmon.snapshot import take_snapshot

        seen.update(config=config, host=host, read_only=read_only, problems=problems, welcome=welcome,
                    snapshot=asyncio.run(take_snapshot(config, host, 10)))
        return 0

    monkeypatch.setattr(cli, "_run_dashboard", fake)
    return seen


def test_demo_connects_to_every_simulator_without_writing_config(env, dashboard, tmp_path):
    assert main(["--plugin-dir", str(SUPPORT), "demo", "--read-only"]) == 0
    [conn] = dashboard["snapshot"]["connections"]
    assert conn["name"] == "Example demo" and conn["ok"], conn
    assert str(conn["accounts"][0]["balance"]) == "10000.00"
    assert dashboard["read_only"] is True and not env.exists()
    assert {p.name for p in dashboard["host"].failures()} == set()


def test_demo_goes_on_with_a_broken_user_config_and_failed_plugins(env, dashboard):
    env.write_text("theme = \n")
    assert main(["--plugin-dir", str(SUPPORT), "--plugin-dir", str(BROKEN), "demo", "--only", "example"]) == 0
    assert dashboard["problems"][0].startswith(f"ignored: {env}: invalid TOML")
    assert {p.name for p in dashboard["host"].failures()} == {"raises_on_import", "raises_in_hook"}
    assert dashboard["snapshot"]["connections"][0]["ok"]


def test_demo_names_an_unknown_simulator(env, dashboard, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "demo", "--only", "nope"]) == 1
    assert capsys.readouterr().err.startswith('ibmon: no simulator for "nope"; simulators: example')
    assert dashboard == {}


def test_run_needs_a_valid_config(env, dashboard, capsys):
    assert main([]) == 1
    assert capsys.readouterr().err.startswith("ibmon: no config at ")
    env.write_text(f'plugin_dirs = ["{SUPPORT}"]\nread_only = true\n[[connections]]\nname = "E"\nprovider = "example"\n')
    assert main(["run"]) == 1
    assert 'missing required key "url"' in capsys.readouterr().err and dashboard == {}


def test_run_hands_the_dashboard_its_connections(env, dashboard, monkeypatch):
    monkeypatch.setenv("IBMON_TEST_TOKEN", "t0ken-value")
    env.write_text(f'plugin_dirs = ["{SUPPORT}", "missing-folder"]\nread_only = true\n[[connections]]\nname = "E"\n'
                   'provider = "example"\nurl = "ws://127.0.0.1:1"\ntoken = { env = "IBMON_TEST_TOKEN" }\n')
    assert main([]) == 0
    assert [c.name for c in dashboard["config"].connections] == ["E"] and dashboard["read_only"] is False
    assert dashboard["config"].read_only is True
    assert dashboard["problems"] == [f"plugin_dirs: {env.parent / 'missing-folder'} is not a folder"]


def test_themes_lists_themes_and_names_broken_files(env, tmp_path, capsys):
    user_themes = tmp_path / "xdg_data_home" / "ibmon" / "themes"
    user_themes.mkdir(parents=True)
    (user_themes / "broken.toml").write_text("name = 3\n")
    assert main(["themes"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^ibmon-dark\s+dark\s+\S+ibmon-dark\.toml$", captured.out, re.M)
    assert re.search(r"^ibmon-light\s+light\s", captured.out, re.M)
    assert captured.err.startswith(f"ibmon: warning: broken theme: {user_themes / 'broken.toml'}: ")


def test_a_dashboard_crash_is_one_line_and_a_redacted_crash_log(env, capsys, monkeypatch):
    from ibmon.app import IbmonApp

    secret = Secret("dashboard-secret-4242")

    async def explode(self):
        leaked = secret.reveal()  # a local variable: Textual's traceback shows locals
        raise RuntimeError(f"dashboard exploded near {leaked}")

    run = IbmonApp.run
    monkeypatch.setattr(IbmonApp, "on_mount", explode)
    monkeypatch.setattr(IbmonApp, "run", lambda self, **kw: run(self, headless=True, **kw))
    assert main(["--plugin-dir", str(SUPPORT), "demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ibmon: the dashboard stopped on an unexpected error (details in ")
    text = Path(err.rsplit("(details in ", 1)[1].rstrip(")\n")).read_text()
    assert "dashboard exploded near ***" in text and "dashboard-secret-4242" not in text


def test_sim_settings_are_toml_scalars(env, capsys):
    assert cli._parse_settings(["interval=0.2", "faults=true", "size=3", "mode=slow", 'name="a b"']) == \
        {"interval": 0.2, "faults": True, "size": 3, "mode": "slow", "name": "a b"}
    assert main(["--plugin-dir", str(SUPPORT), "sim", "--set", "interval"]) == 1
    assert capsys.readouterr().err == "ibmon: --set takes KEY=VALUE, not 'interval'\n"


def test_sim_help_lists_each_named_simulators_settings(env, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "sim", "example", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ibmon sim ") and "--set KEY=VALUE" in out
    assert "example simulator (Example feed) settings:" in out
    assert "  token     str    the token the feed accepts; default " in out  # (masked once seen as a secret)
    assert "  interval  float  seconds between ticks; default 0.05" in out
    assert main(["--plugin-dir", str(SUPPORT), "sim", "exampel", "-h"]) == 1
    assert 'no simulator for "exampel"' in capsys.readouterr().err


def test_sim_refuses_an_unknown_or_ill_typed_setting_naming_it(env, capsys):
    assert main(["--plugin-dir", str(SUPPORT), "sim", "example", "--set", "intervall=0.2"]) == 1
    assert capsys.readouterr().err == ('ibmon: unknown simulator setting "intervall" (did you mean "interval"?): '
                                       "no simulator started here (example) takes it\n")
    assert main(["--plugin-dir", str(SUPPORT), "sim", "example", "--set", "interval=fast"]) == 1
    assert capsys.readouterr().err == ('ibmon: simulator "example": setting "interval" must be a number, '
                                       "not a string\n")
