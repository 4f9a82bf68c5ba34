"""A single-file plugin whose name is already taken (by a first-party plugin, an earlier plugin file,
or a module such as a first-party plugin's package or the standard library's) is not loaded and is
reported, by `ibmon plugins` and by the app's plugin failure notice, instead of silently winning or
losing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ibmon.app import IbmonApp
from ibmon.feeds import FeedRuntime
from ibmon.plugins import PluginHost
from ibmon.store import Store

IBMON = Path(sys.prefix) / "bin" / "ibmon"

PLUGIN = '''from ibmon import hookimpl
from ibmon.api import Provider


@hookimpl
def ibmon_providers(register):
    register(Provider(name="{provider}", title="from {file}", connect=None))
'''


def plugin_file(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(PLUGIN.format(provider=f"shadow_{name}", file=path.name))
    return path


def shadowing_dirs(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    for name in ("xtb", "ibmon_crm", "json", "mine"):
        plugin_file(first, name)
    plugin_file(second, "mine")  # a second plugin of the same name
    return first, second


def test_plugin_files_that_shadow_a_plugin_or_a_module_are_refused_and_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    first, second = shadowing_dirs(tmp_path)
    host = PluginHost()
    host.load(plugin_dirs=[first, second])
    assert host.plugins["xtb"].source == "entry point ibmon_xtb" and host.plugins["xtb"].status == "ok"
    assert host.plugins["mine"].source == str(first / "mine.py") and host.plugins["mine"].status == "ok"
    errors = {name: info.error for name, info in host.plugins.items() if info.status == "failed"}
    assert errors == {
        "xtb.py": 'not loaded: its name "xtb" is already taken by plugin "xtb" (entry point ibmon_xtb); '
                  "rename the file",
        "ibmon_crm.py": f'not loaded: its name "ibmon_crm" is already taken by the module ibmon_crm '
                        f"({Path(sys.modules['ibmon_crm'].__file__).resolve()}); rename the file",
        "json.py": f'not loaded: its name "json" is already taken by the module json '
                   f"({Path(sys.modules['json'].__file__).resolve()}); rename the file",
        "mine.py": f'not loaded: its name "mine" is already taken by plugin "mine" '
                   f"({first / 'mine.py'}); rename the file",
    }
    registered = {name for name in host.providers if name.startswith("shadow_")}
    assert registered == {"shadow_mine"}  # only the first "mine" ran
    assert "xtb" in host.providers and host.plugin_of("xtb") == "xtb"


def test_a_plugin_file_that_is_itself_importable_is_not_refused(tmp_path, monkeypatch):
    plugin_file(tmp_path, "on_the_path")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = PluginHost()
    host.load(plugin_dirs=[tmp_path], entry_points=False, only=["on_the_path"])
    assert host.plugins["on_the_path"].status == "ok" and "shadow_on_the_path" in host.providers


def test_ibmon_plugins_lists_the_refused_files_with_the_reason(tmp_path):
    first, second = shadowing_dirs(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"))
    out = subprocess.run([str(IBMON), "--plugin-dir", str(first), "--plugin-dir", str(second), "plugins"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"xtb.py -: failed  ({first / 'xtb.py'})" in out.stdout
    assert '  error: not loaded: its name "xtb" is already taken by plugin "xtb" (entry point ibmon_xtb)' in out.stdout
    assert 'its name "json" is already taken by the module json' in out.stdout
    assert 'its name "ibmon_crm" is already taken by the module ibmon_crm' in out.stdout
    assert f"mine.py -: failed  ({second / 'mine.py'})" in out.stdout


async def test_the_app_names_the_refused_files_in_its_plugin_failure_notice(tmp_path, monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    first, second = shadowing_dirs(tmp_path)
    host = PluginHost()
    host.load(plugin_dirs=[first, second])
    app = IbmonApp(FeedRuntime(Store(), watchdog_interval=None), host)
    shown: list[tuple[str, str]] = []
    notify = app.notify
    app.notify = lambda message, *, title="", **kw: (shown.append((title, message)), notify(message, title=title, **kw))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        failed = [message for title, message in shown if title == "4 plugin(s) failed"]
        assert len(failed) == 1, shown
        assert 'xtb.py: not loaded: its name "xtb" is already taken by plugin "xtb"' in failed[0]
        assert 'json.py: not loaded: its name "json" is already taken by the module json' in failed[0]
        assert app.is_running and app.screen is app.dashboard
