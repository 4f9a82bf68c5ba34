"""[keys] remaps bindings by id; help lists the keys actually in force."""

from __future__ import annotations

from ibmon.app import IbmonApp
from ibmon.screens.help import HelpScreen

from ui_support import CONNECTION, add_example, load_host, make_runtime, notifications, screen_text, until


def help_row(app, binding_id: str) -> tuple[str, str, str]:
    return next(row for row in app.screen.rows if row[2] == binding_id)


async def test_help_shows_the_remapped_key_with_its_description(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host, keys={"refresh": "ctrl+r", "quit": "ctrl+x"})
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys, description, _ = help_row(app, "refresh")
        assert keys == "^r" and description == "Refresh all polling connections now"
        quit_keys = help_row(app, "quit")[0].split(", ")
        assert "^x" in quit_keys and "q" not in quit_keys  # ^q is Textual's own, also in force
        assert help_row(app, "help")[0] == "?"
        assert help_row(app, "action")[0] == "⏎"
        assert help_row(app, "quick action") == ("x", "Close position (selected position, Example feed)",
                                                 "quick action")
        text = screen_text(app)
        assert "^r" in text and "Refresh all polling connections now" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_a_remapped_key_triggers_its_action_and_the_old_key_does_not(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator, poll_seconds=60)
    app = IbmonApp(runtime, host, keys={"refresh": "f5"})
    async with app.run_test(size=(120, 36)) as pilot:
        session = None
        await until(pilot, lambda: runtime.connections[CONNECTION].session.polls == 1)
        session = runtime.connections[CONNECTION].session
        await pilot.press("r")
        await pilot.pause(0.1)
        assert session.polls == 1
        await pilot.press("f5")
        await until(pilot, lambda: session.polls == 2)
        assert any("Refreshing all connections" in n for n in notifications(app))


async def test_unknown_binding_ids_are_reported():
    app = IbmonApp(make_runtime(), load_host(), keys={"refrsh": "f5"})
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: any('[keys]: unknown binding id "refrsh" (did you mean "refresh"?)' in n
                                       for n in notifications(app)))


def _screened_runtime(screen_key: str):
    """A runtime with one connection whose provider declares a screen suggesting `screen_key`. The
    session never connects: screen keys come from the declaration, not from a session."""
    from textual.screen import Screen
    from textual.widgets import Label

    from ibmon.api import Provider, ScreenSpec, Session
    from ibmon.testing import make_context

    class Orders(Screen):
        def compose(self):
            yield Label("orders screen")

    class Idle(Session):
        poll_interval = 3600.0

        async def poll(self, sink) -> None:
            sink.ready()

    provider = Provider("orders", "Orders provider", connect=lambda ctx: Idle(),
                        screens=(ScreenSpec("orders", "Orders", lambda ctx: Orders(), key=screen_key),))
    runtime = make_runtime()
    runtime.add(provider, make_context(provider, name="O"))
    return runtime, Orders


async def test_a_screen_keeps_its_declared_key_or_yields_one_the_core_bindings_hold():
    runtime, orders = _screened_runtime("k")
    app = IbmonApp(runtime, load_host())
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: runtime.connections["O"].session is not None)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, orders))

    runtime, orders = _screened_runtime("r")  # refresh's key: the screen yields it
    app = IbmonApp(runtime, load_host())
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: any("the screen screen.orders suggests \"r\", which is the key of refresh" in n
                                       for n in notifications(app)))
        await pilot.press("r")
        await until(pilot, lambda: any("Refreshing all connections" in n for n in notifications(app)))
        assert not isinstance(app.screen, orders)


async def test_the_dotted_screen_key_of_the_config_opens_the_screen(tmp_path):
    from ibmon import config as cfg

    runtime, orders = _screened_runtime("r")
    host = load_host()
    host.providers["orders"] = runtime.connections["O"].provider
    path = tmp_path / "config.toml"
    path.write_text('[keys]\nscreen.orders = "f6"\n')
    config = cfg.build_config(cfg.read_document(path, required=True), host, path)
    assert config.problems == [] and config.keys == {"screen.orders": "f6"}
    app = IbmonApp(runtime, host, keys=config.keys)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: runtime.connections["O"].session is not None)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, orders))
        assert not any(n.startswith("Keys:") for n in notifications(app))
