"""Themes: shipped TOML files, switching by key and palette, broken files named in one notification."""

from __future__ import annotations

from pathlib import Path

import pytest

from ibmon.app import IbmonApp
from ibmon.themes import builtin_themes_dir, discover_themes, load_theme_file

from ui_support import load_host, make_runtime, notifications, until


def test_shipped_themes_are_valid():
    names = {load_theme_file(path).name for path in builtin_themes_dir().glob("*.toml")}
    assert {"ibmon-dark", "ibmon-light", "ibmon-nord"} <= names


@pytest.mark.parametrize("text, reason", [
    ('name = "x"\nprimary = "#12345"\n', "primary = '#12345' is not a colour"),
    ('name = "x"\nprimary = "#123456"\nsurfce = "#000000"\n', "unknown key surfce"),
    ('primary = "#123456"\n', '"name" is missing'),
    ('name = "x"\n', '"primary" is missing'),
    ('name = "x"\nprimary = "#123456"\n[variables]\nfoo = 1\n', '"variables" must be a table of strings'),
    ('name = = "x"\n', "not valid TOML"),
])
def test_theme_file_problems_say_what_is_wrong(tmp_path: Path, text: str, reason: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_theme_file(path)
    assert reason in str(info.value)


def header_color(app) -> str:
    """The colour the balances panel's header is painted with."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if segment.text.startswith("Connection") and segment.style and segment.style.color:
                return segment.style.color.name
    raise AssertionError("no header on screen")


async def test_theme_binding_cycles_and_palette_switches():
    app = IbmonApp(make_runtime(), load_host(), theme="ibmon-dark")
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "ibmon-dark"
        dark_header = header_color(app)
        await pilot.press("ctrl+t")
        assert app.theme == app.theme_names[(app.theme_names.index("ibmon-dark") + 1) % len(app.theme_names)]
        switch = next(run for title, _help, run in app.palette_commands() if title == "Switch theme: ibmon-nord")
        switch()
        await pilot.pause()
        assert app.theme == "ibmon-nord"
        assert app.current_theme.primary == "#88C0D0"
        await pilot.pause()
        assert header_color(app) != dark_header  # cached rows were repainted in the new colours


PLUGIN = '''
from pathlib import Path
from ibmon import hookimpl
from ibmon.api import ThemeSpec


@hookimpl
def ibmon_themes(register):
    register(ThemeSpec(name="plugin-theme", colors={"primary": "#336699", "accent": "#FFAA00"}))
    register(ThemeSpec(name="plugin-broken", colors={"primary": "#33669"}))
    register(Path(__file__).with_name("broken_theme.toml"))
'''


async def test_plugin_themes_register_and_broken_ones_name_their_plugin(tmp_path: Path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "themer.py").write_text(PLUGIN)
    (plugins / "broken_theme.toml").write_text('name = "b"\nprimary = "#12"\n')
    app = IbmonApp(make_runtime(), load_host(extra_dirs=(plugins,)), theme="plugin-theme",
                   user_themes_dir=tmp_path / "none")
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "plugin-theme" and app.current_theme.accent == "#FFAA00"
        await until(pilot, lambda: any("broken theme" in n for n in notifications(app)))
        (broken,) = [n for n in notifications(app) if "broken theme" in n]
        assert "plugin-broken (plugin themer)" in broken and "broken_theme.toml (plugin themer)" in broken


async def test_broken_theme_files_are_named_in_one_notification(tmp_path: Path):
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#102030"\ndark = false\n')
    (tmp_path / "bad-colour.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n')
    (tmp_path / "bad-toml.toml").write_text('name = "oops\n')
    app = IbmonApp(make_runtime(), load_host(), theme="mine", user_themes_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "mine"
        await until(pilot, lambda: any("broken theme" in n for n in notifications(app)))
        broken = [n for n in notifications(app) if "broken theme" in n or ".toml" in n]
        assert len(broken) == 1
        assert "bad-colour.toml" in broken[0] and "bad-toml.toml" in broken[0]
        assert "not-a-colour" in broken[0] and "not valid TOML" in broken[0]


async def test_an_unknown_theme_falls_back_to_the_default_with_a_notification():
    app = IbmonApp(make_runtime(), load_host(), theme="no-such-theme")
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "ibmon-dark"
        await until(pilot, lambda: any("Unknown theme 'no-such-theme'" in n for n in notifications(app)))


def test_user_themes_override_shipped_ones_by_name(tmp_path: Path):
    (tmp_path / "dark.toml").write_text('name = "ibmon-dark"\nprimary = "#FF0000"\n')
    themes, problems = discover_themes(None, tmp_path)
    assert problems == []
    assert [t.colors["primary"] for t in themes if t.name == "ibmon-dark"][-1] == "#FF0000"
