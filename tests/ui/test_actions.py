"""Quick actions: picked for the selected row, confirmed before anything changes, refused read-only."""

from __future__ import annotations

from ibmon.app import IbmonApp
from ibmon.screens.confirm import ConfirmScreen
from ibmon.screens.picker import Picker

from ui_support import CONNECTION, add_example, load_host, make_runtime, notifications, until


async def open_position_actions(app, pilot) -> None:
    dash = app.dashboard
    await until(pilot, lambda: dash.positions.row_count == 1)
    dash.positions.focus()
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, Picker))


async def test_cancel_does_nothing_and_confirm_closes_the_position(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_position_actions(app, pilot)
        assert [c.label for c in app.screen.choices] == ["Close position …"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question == "Close buy 1.00 EURUSD?"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.pause(0.2)
        assert ("A1", "1") in runtime.store.positions[CONNECTION]
        assert not any("closed" in n for n in notifications(app))

        await pilot.press("x")  # the action's own key skips the picker, never the confirmation
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: not runtime.store.positions[CONNECTION])
        await until(pilot, lambda: any("closed EURUSD 1" in n for n in notifications(app)))
        await until(pilot, lambda: app.dashboard.positions.row_count == 0)


async def test_read_only_lists_mutating_actions_disabled_and_refuses_them(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        assert "read-only" in app.sub_title
        await open_position_actions(app, pilot)
        choice = app.screen.choices[0]
        assert choice.disabled_reason == "read-only mode"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, Picker)  # a disabled action cannot be picked
        await pilot.press("escape")
        action = runtime.connections[CONNECTION].session.actions()[0]
        position = runtime.store.positions[CONNECTION][("A1", "1")]
        await app.perform_action(CONNECTION, action, position)
        await until(pilot, lambda: any("disabled: read-only mode" in n for n in notifications(app)))
        assert ("A1", "1") in runtime.store.positions[CONNECTION]


async def test_a_read_only_connection_refuses_even_when_the_app_is_not(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator, read_only=True)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_position_actions(app, pilot)
        assert app.screen.choices[0].disabled_reason == "read-only mode"
