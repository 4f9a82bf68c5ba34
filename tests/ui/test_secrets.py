"""No secret reaches the screen: not from the config, not from a provider's error, not from a plugin."""

from __future__ import annotations

from ibmon.app import IbmonApp
from ibmon.model import HealthState

from ui_support import CONNECTION, TOKEN, add_example, load_host, make_runtime, notifications, screen_text, until


async def test_the_example_token_never_appears_on_screen(quiet_simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host, startup_problems=[f"secret command printed {TOKEN}"])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.positions.row_count == 1)
        runtime.notify(CONNECTION, f"login refused for {TOKEN}", "error")
        app.notify(f"a plugin said {TOKEN}", title=f"title {TOKEN}")
        runtime.connections[CONNECTION].publish(HealthState.ERROR, f"rejected ws://h/?token={TOKEN}")
        await until(pilot, lambda: len(notifications(app)) >= 3 and "error" in screen_text(app))
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "***" in text
        assert TOKEN not in text
        assert not any(TOKEN in n for n in notifications(app))
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert TOKEN not in screen_text(app)
