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
        await until(pilot, lambda: any("Unknown binding ids in [keys]: refrsh" in n for n in notifications(app)))
