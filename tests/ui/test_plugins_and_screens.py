"""Failing plugins and failing provider screens are reported while the dashboard keeps working;
provider screens open by their key, a remapped key, the palette and the provider_screen binding."""

from __future__ import annotations

from decimal import Decimal

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Label

from ibmon.api import Action, Provider, ScreenContext, ScreenSpec, Session
from ibmon.app import IbmonApp
from ibmon.model import Account
from ibmon.screens.confirm import ConfirmScreen
from ibmon.screens.picker import Picker
from ibmon.testing import make_context

from ui_support import add_example, load_host, make_runtime, notifications, screen_text, until


async def test_failed_plugins_are_shown_and_the_dashboard_keeps_working(quiet_simulator):
    host = load_host(broken=True)
    assert {info.name for info in host.failures()} == {"raises_on_import", "raises_in_hook"}
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host, startup_problems=["config: unknown key 'refresh_secs'"])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1 and app.dashboard.ticks.row_count == 2)
        failed = [n for n in notifications(app) if "plugin(s) failed" in n]
        assert len(failed) == 1
        assert "raises_on_import: import failed: RuntimeError: this plugin is broken on purpose" in failed[0]
        assert "raises_in_hook: ibmon_providers failed: ValueError: provider table exploded" in failed[0]
        assert any("refresh_secs" in n for n in notifications(app))
        app.show_plugin_failures()
        await until(pilot, lambda: len([n for n in notifications(app) if "plugin(s) failed" in n]) == 2)


class Details(Screen):
    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        accounts = self.ctx.view.records("account", self.ctx.connection)
        selected = self.ctx.selected.id if isinstance(self.ctx.selected, Account) else "nothing"
        yield Label(f"details of {self.ctx.connection}: {len(accounts)} account(s), {selected} selected")


class Crashing(Screen):
    """A plugin screen whose own work fails after it opened (an unexpected error in a worker)."""

    BINDINGS = [("k", "load", "Load")]

    def compose(self) -> ComposeResult:
        yield Label("about to fail")

    def action_load(self) -> None:
        self.run_worker(self.load())

    async def load(self) -> None:
        raise ZeroDivisionError("plugin screen bug")


def broken_factory(ctx: ScreenContext):
    raise RuntimeError("the screen factory broke")


class ScreenSession(Session):
    poll_interval = 60.0

    def __init__(self) -> None:
        self.resets: list[str] = []

    async def poll(self, sink) -> None:
        sink.account(Account("S1", Decimal("1.00"), "EUR"))

    def actions(self) -> list[Action]:
        async def reset(account: Account) -> str:
            self.resets.append(account.id)
            return f"reset {account.id}"

        return [Action("reset", "Reset account", "account", reset, typed_confirmation=lambda a: a.id)]


PROVIDER = Provider(name="screens", title="Screens provider", connect=lambda ctx: ScreenSession(),
                    screens=(ScreenSpec("details", "Details", Details, key="d"),
                             ScreenSpec("broken", "Broken", broken_factory, key="b"),
                             ScreenSpec("crashing", "Crashing", lambda ctx: Crashing(), key="c")))


def screens_app(**kwargs) -> tuple[IbmonApp, object]:
    runtime = make_runtime()
    runtime.add(PROVIDER, make_context(PROVIDER, name="Screens"))
    return IbmonApp(runtime, load_host(), **kwargs), runtime


async def test_a_screen_factory_that_raises_is_reported_and_the_app_keeps_running():
    app, runtime = screens_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press("b")
        await until(pilot, lambda: any("Broken could not open: RuntimeError: the screen factory broke" in n
                                       for n in notifications(app)))
        assert app.screen is app.dashboard and app.is_running
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Details))
        assert "details of Screens: 1 account(s), S1 selected" in screen_text(app)  # the row under the cursor


async def test_an_error_inside_an_open_plugin_screen_closes_it_and_the_app_keeps_running():
    app, runtime = screens_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, Crashing))
        await pilot.press("k")
        await until(pilot, lambda: any("Crashing failed and was closed: ZeroDivisionError: plugin screen bug" in n
                                       for n in notifications(app)))
        assert app.screen is app.dashboard and app.is_running
        runtime.store.set_account("Screens", Account("S2", Decimal("2.00"), "EUR"))
        await until(pilot, lambda: ("Screens", "S2") in app.dashboard.accounts)


async def test_screens_by_remapped_key_palette_and_provider_screen_binding():
    app, runtime = screens_app(keys={"screen.details": "f6"})
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press("d")
        await pilot.pause(0.1)
        assert app.screen is app.dashboard
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, Details))
        await pilot.press("escape")  # Details binds no way back: the app's "back" closes it
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("escape")
        assert app.screen is app.dashboard

        opener = next(run for title, _h, run in app.palette_commands() if title == "Open Details — Screens")
        opener()
        await until(pilot, lambda: isinstance(app.screen, Details))
        app.pop_screen()
        await until(pilot, lambda: app.screen is app.dashboard)

        await pilot.press("s")  # the selected account's connection offers two screens: pick one
        await until(pilot, lambda: isinstance(app.screen, Picker))
        assert [c.label for c in app.screen.choices] == ["Details", "Broken", "Crashing"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Details))
        # opened on the account selected on the dashboard
        assert app.screen.ctx.selected == runtime.store.accounts["Screens"]["S1"]
        assert "1 account(s), S1 selected" in screen_text(app)


async def test_typed_confirmation_requires_the_exact_text():
    app, runtime = screens_app()
    session = None
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        session = runtime.connections["Screens"].session
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")  # "y" is text here: a typed confirmation needs the account id
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen) and session.resets == []
        app.screen.query_one("Input").value = "S1"
        await pilot.press("enter")
        await until(pilot, lambda: session.resets == ["S1"])
        await until(pilot, lambda: any("reset S1" in n for n in notifications(app)))


async def test_provider_screens_run_actions_through_the_hosts_confirmation():
    app, runtime = screens_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.dashboard.accounts.row_count == 1)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Details))
        ctx = app.screen.ctx
        session = runtime.connections["Screens"].session
        action = ctx.actions()[0]
        account = ctx.view.get("account", "Screens", "S1")

        cancelled = app.run_worker(ctx.run_action(action, account))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await cancelled.wait()
        assert session.resets == [] and isinstance(app.screen, Details)

        confirmed = app.run_worker(ctx.run_action(action, account))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.screen.query_one("Input").value = "S1"
        await pilot.press("enter")
        await confirmed.wait()
        assert session.resets == ["S1"]
