"""Misbehaving plugins (single files in tests/hostile/plugins, loaded through plugin_dirs) run in the
real app: a plugin screen that raises in on_mount, compose, a key action, a key handler, a message
handler or render, or calls sys.exit() / raises SystemExit or KeyboardInterrupt in a key action, a
key handler, on mount or a worker, is closed with a notification naming the screen and its plugin,
and the dashboard keeps running; so do plugins that exit at import, in a hook or in a palette
command."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from ibmon.app import IbmonApp
from ibmon.feeds import FeedRuntime
from ibmon.model import Account
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import make_context

PLUGINS = Path(__file__).parent / "plugins"
CONNECTION = "Hostile"


def load_host(*names: str) -> PluginHost:
    host = PluginHost()
    host.load(plugin_dirs=[PLUGINS], only=list(names), entry_points=False)
    return host


class Shown:
    """Every notification the app makes, as (title, message)."""

    def __init__(self, app: IbmonApp) -> None:
        self.items: list[tuple[str, str]] = []
        notify = app.notify

        def record(message, *, title="", **kwargs):
            self.items.append((title, message))
            return notify(message, title=title, **kwargs)

        app.notify = record  # type: ignore[method-assign]

    def matching(self, *parts: str) -> list[tuple[str, str]]:
        return [(t, m) for t, m in self.items if all(part in f"{t}: {m}" for part in parts)]


def hostile_app() -> tuple[IbmonApp, Shown]:
    host = load_host("hostile_screens")
    assert host.plugins["hostile_screens"].status == "ok", host.plugins["hostile_screens"].error
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    provider = host.providers["hostile"]
    runtime.add(provider, make_context(provider, name=CONNECTION))
    app = IbmonApp(runtime, host)
    return app, Shown(app)


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert pilot.app.is_running, "the app stopped"
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s")
        await pilot.pause(0.02)


async def assert_dashboard_keeps_running(app: IbmonApp, pilot) -> None:
    """Still running, the dashboard on top, and still updating from the store."""
    await until(pilot, lambda: app.screen is app.dashboard)
    assert app.is_running and len(app.screen_stack) == 1
    app.store.set_account(CONNECTION, Account("H2", Decimal("2.00"), "EUR"))
    await until(pilot, lambda: (CONNECTION, "H2") in app.dashboard.accounts)


CASES = [  # screen key, whether "k" makes it misbehave, its title, what the notification says
    ("1", False, "Raises on mount", "RuntimeError: on_mount exploded"),
    ("2", False, "Raises in compose", "ValueError: compose exploded"),
    ("3", True, "Raises in a key action", "LookupError: key action exploded"),
    ("4", True, "Raises in on_key", "KeyError: 'key handler exploded'"),
    ("5", True, "Raises in a message handler", "ArithmeticError: message handler exploded"),
    ("6", False, "Raises in render", "TypeError: render exploded"),
    ("7", True, "Exits in a key action", "SystemExit: the key action called sys.exit()"),
    ("8", True, "Exits in on_key", "SystemExit: 2"),
    ("9", False, "Exits on mount", "SystemExit: on_mount raised SystemExit"),
    ("0", True, "Interrupts in a worker", "KeyboardInterrupt"),
]


@pytest.mark.parametrize("key, press_k, title, reason", CASES, ids=[case[2] for case in CASES])
async def test_a_failing_plugin_screen_is_closed_and_the_dashboard_keeps_running(key, press_k, title, reason):
    app, shown = hostile_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press(key)
        if press_k:
            await until(pilot, lambda: app.screen is not app.dashboard)
            await pilot.press("k")
        await until(pilot, lambda: shown.matching(title, "failed and was closed"))
        assert shown.matching(CONNECTION, title, "plugin hostile_screens", reason), shown.items
        await assert_dashboard_keeps_running(app, pilot)
        # the same screen opens again (and fails again, alone)
        await pilot.press(key)
        if press_k:
            await until(pilot, lambda: app.screen is not app.dashboard)
            await pilot.press("k")
        await until(pilot, lambda: len(shown.matching(title, "failed and was closed")) == 2)
        await assert_dashboard_keeps_running(app, pilot)
    assert app.return_code in (0, None)


@pytest.mark.parametrize("command, reason", [
    ("Hostile: exit", "SystemExit: the palette command called sys.exit()"),
    ("Hostile: explode", "RuntimeError: the palette command exploded"),
])
async def test_a_palette_command_that_exits_or_raises_is_a_plugin_failure(command, reason):
    app, shown = hostile_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen is not app.dashboard)
        await pilot.press(*command)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: shown.matching(command, "failed"))
        assert shown.matching("plugin hostile_screens", command, reason), shown.items
        await assert_dashboard_keeps_running(app, pilot)


async def test_a_screen_a_palette_command_pushed_is_contained_as_the_plugins():
    app, shown = hostile_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        opener = next(run for title, _help, run in app.palette_commands() if title == "Hostile: open a failing screen")
        opener()
        await until(pilot, lambda: shown.matching("RaisesOnMount failed and was closed"))
        assert shown.matching("plugin hostile_screens", "RuntimeError: on_mount exploded"), shown.items
        await assert_dashboard_keeps_running(app, pilot)


def test_plugins_exiting_at_import_or_in_hooks_are_failed_plugins():
    host = load_host("exits_on_import", "exits_in_hooks", "hostile_screens")
    on_import, in_hooks = host.plugins["exits_on_import"], host.plugins["exits_in_hooks"]
    assert on_import.status == "failed" and in_hooks.status == "failed"
    assert on_import.error == "import failed: SystemExit: this plugin exits on import"
    assert "ibmon_providers failed: SystemExit: 4" in in_hooks.error
    assert "ibmon_commands failed: KeyboardInterrupt" in in_hooks.error
    assert host.plugins["hostile_screens"].status == "ok" and "hostile" in host.providers


async def test_the_app_reports_plugins_that_exited_and_runs_the_others():
    host = load_host("exits_on_import", "exits_in_hooks", "hostile_screens")
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    runtime.add(host.providers["hostile"], make_context(host.providers["hostile"], name=CONNECTION))
    app = IbmonApp(runtime, host)
    shown = Shown(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        failed = shown.matching("2 plugin(s) failed")
        assert len(failed) == 1, shown.items
        assert "exits_on_import: import failed: SystemExit: this plugin exits on import" in failed[0][1]
        assert "exits_in_hooks: ibmon_providers failed: SystemExit: 4" in failed[0][1]
        await assert_dashboard_keeps_running(app, pilot)


async def test_sys_exit_in_a_task_a_session_started_names_the_plugin_and_the_app_runs_on():
    host = load_host("exits_in_a_task")
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    provider = host.providers["exits_in_a_task"]
    runtime.add(provider, make_context(provider, name=CONNECTION))
    app = IbmonApp(runtime, host)
    shown = Shown(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: shown.matching("plugin exits_in_a_task", "tried to end the app", "SystemExit"))
        await assert_dashboard_keeps_running(app, pilot)
