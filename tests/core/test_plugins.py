from pathlib import Path

from ibmon.plugins import PluginHost

SUPPORT = Path(__file__).parents[1] / "support"


def load(monkeypatch, *dirs, env=None, **kwargs) -> PluginHost:
    if env is None:
        monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("IBMON_PLUGINS", env)
    host = PluginHost()
    host.load(plugin_dirs=list(dirs), entry_points=False, **kwargs)
    return host


def test_broken_plugins_are_recorded_and_the_others_load(monkeypatch):
    host = load(monkeypatch, SUPPORT, SUPPORT / "broken")
    assert host.plugins["example_plugin"].status == "ok"
    assert "example" in host.providers and "example" in host.simulators
    on_import = host.plugins["raises_on_import"]
    assert on_import.status == "failed"
    assert on_import.error == "import failed: RuntimeError: this plugin is broken on purpose"
    in_hook = host.plugins["raises_in_hook"]
    assert in_hook.status == "failed"
    assert "ibmon_providers failed: ValueError: provider table exploded" in in_hook.error
    assert "ibmon_commands failed: KeyError" in in_hook.error
    assert {info.name for info in host.failures()} == {"raises_on_import", "raises_in_hook"}


def test_ibmon_plugins_env_restricts_and_none_loads_nothing(monkeypatch):
    host = load(monkeypatch, SUPPORT, SUPPORT / "broken", env="example_plugin")
    assert list(host.plugins) == ["example_plugin"]
    host = load(monkeypatch, SUPPORT, env="none")
    assert host.plugins == {} and host.providers == {}


def test_disabled_plugins_are_listed_but_not_loaded(monkeypatch):
    host = load(monkeypatch, SUPPORT, disabled=["example_plugin"])
    assert host.plugins["example_plugin"].status == "disabled"
    assert "example" not in host.providers


def test_a_second_plugin_taking_a_provider_name_fails_alone(monkeypatch, tmp_path):
    (tmp_path / "copycat.py").write_text(
        "from ibmon import hookimpl\n"
        "from ibmon.api import Provider\n"
        "@hookimpl\n"
        "def ibmon_providers(register):\n"
        "    register(Provider(name='example', title='Copy', connect=None))\n")
    (tmp_path / "wrongtype.py").write_text(
        "from ibmon import hookimpl\n"
        "@hookimpl\n"
        "def ibmon_commands(register):\n"
        "    register('not a command')\n")
    host = load(monkeypatch, SUPPORT, tmp_path)
    assert host.plugin_of("example") == "example_plugin"
    assert 'already registered by plugin "example_plugin"' in host.plugins["copycat"].error
    assert "takes an ibmon.api.Command, not str" in host.plugins["wrongtype"].error
    assert host.plugins["example_plugin"].status == "ok"


def test_a_provider_declaring_bad_rules_or_screens_fails_its_plugin_alone(monkeypatch, tmp_path):
    declarations = {
        "bad_rules": "rules=('not callable',)",
        "bad_screens": "screens=[ScreenSpec('ok', 'Ok', print), 'not a screen']",
        "bad_screen_id": "screens=(ScreenSpec('has space', 'T', print),)",
        "bad_screen_key": "screens=(ScreenSpec('k', 'T', print, key='x\\n'),)",
        "good": "rules=[lambda values: None], screens=[ScreenSpec('fine', 'Fine', print, key='f9')]",
    }
    for name, declaration in declarations.items():
        (tmp_path / f"{name}.py").write_text(
            "from ibmon import hookimpl\n"
            "from ibmon.api import Provider, ScreenSpec\n"
            "@hookimpl\n"
            "def ibmon_providers(register):\n"
            f"    register(Provider(name={name!r}, title='T', connect=None, {declaration}))\n")
    host = load(monkeypatch, tmp_path)
    assert "rules must be a tuple of callables" in host.plugins["bad_rules"].error
    assert "screens must be a tuple of ScreenSpec" in host.plugins["bad_screens"].error
    assert "ScreenSpec id must be letters, digits" in host.plugins["bad_screen_id"].error
    assert "key must be keys as a string" in host.plugins["bad_screen_key"].error
    assert list(host.providers) == ["good"] and host.plugins["good"].status == "ok"
    good = host.providers["good"]
    assert isinstance(good.rules, tuple) and [spec.id for spec in good.screens] == ["fine"]


def test_first_party_plugins_register_through_entry_points(monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    host = PluginHost()
    host.load()
    assert {"xtb", "ctrader", "b2core", "crm", "ibkr_flex"} <= set(host.plugins)
    assert all(info.source.startswith("entry point ibmon_") for name, info in host.plugins.items()
               if name in {"xtb", "ctrader", "b2core", "crm", "ibkr_flex"})
