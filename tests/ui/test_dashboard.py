"""The dashboard fills from the example simulator over loopback, and shows every connection's health."""

from __future__ import annotations

from decimal import Decimal

from ibmon.app import IbmonApp
from ibmon.model import Account
from ibmon.store import Store
from ibmon.feeds import FeedRuntime

from ui_support import CONNECTION, TOKEN, add_example, load_host, make_runtime, notifications, screen_text, until


async def test_panels_fill_from_the_simulator(simulator):
    host = load_host()
    runtime = make_runtime()
    add_example(runtime, host, simulator)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(200, 50)) as pilot:
        dash = app.dashboard
        await until(pilot, lambda: dash.ticks.row_count == 2 and dash.positions.row_count == 1
                    and dash.accounts.row_count == 1 and dash.leads.row_count == 1)
        assert dash.accounts.get_cells(("account", CONNECTION, "A1"))[3] == "10,000.00"
        position = dash.positions.get_cells((CONNECTION, "A1", "1"))
        assert position[2] == "EURUSD" and position[3] == ("buy", "up") and position[7] == ("12.30", "up")
        lead_row = dash.leads.get_cells((CONNECTION, "30d"))
        assert int(lead_row[3]) >= 11

        first = {key: dash.ticks.get_cells(key)[2] for key in dash.ticks.keys()}
        await until(pilot, lambda: any(dash.ticks.get_cells(k)[2] != v for k, v in first.items()))

        text = screen_text(app)
        for expected in ("Balances", "Ticks", "Positions", "Lead funnel", "EURUSD", "GOLD", "10,000.00",
                         "Example feed", "live", "updated"):
            assert expected in text, expected
        assert TOKEN not in text
        assert not app.dashboard.has_class("-stacked")  # wide enough: the tick board beside the positions


async def test_a_small_terminal_stacks_the_panels_and_compacts_the_health_bar():
    app = IbmonApp(make_runtime(), load_host())
    async with app.run_test(size=(100, 30)) as pilot:
        dash = app.dashboard
        await pilot.pause()
        assert dash.has_class("-stacked")
        assert dash.ticks.region.y < dash.positions.region.y and dash.ticks.region.width > 90
        assert dash.health.compact  # a short terminal starts with one health line


async def test_health_line_counts_seconds_since_data(quiet_simulator):
    now = [1000.0]
    host = load_host()
    runtime = make_runtime(clock=lambda: now[0])
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(160, 40)) as pilot:
        dash = app.dashboard
        dash.second_timer.pause()
        line = f"● {CONNECTION}  Example feed  live · updated 0 s ago"
        await until(pilot, lambda: line in screen_text(app))
        await pilot.press("h")  # connection details hidden: markers and names only
        assert f"● {CONNECTION}" in screen_text(app) and "updated" not in screen_text(app)
        await pilot.press("h")
        now[0] += 7.2  # the runtime's clock: data that arrives now is stamped 1007.2
        runtime.store.last_data[CONNECTION] = 1000.0
        dash.every_second()
        await pilot.pause()
        assert f"● {CONNECTION}  Example feed  live · updated 7 s ago" in screen_text(app)


async def test_totals_per_currency_are_never_mixed():
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    app = IbmonApp(runtime, load_host())
    store = runtime.store
    async with app.run_test(size=(200, 40)) as pilot:
        store.set_account("a", Account("1", Decimal("100.10"), "USD", equity=Decimal("90.05")))
        store.set_account("b", Account("2", Decimal("0.01"), "USD", equity=Decimal("5"),
                                       computed=frozenset({"equity"})))
        store.set_account("b", Account("3", Decimal("7"), "EUR", equity=Decimal("7")))
        accounts = app.dashboard.accounts
        await until(pilot, lambda: accounts.row_count == 4)
        total = accounts.get_cells(("total", "USD"))
        assert total[2] == "USD" and total[3] == "100.11" and total[4] == "≈95.05"
        assert accounts.get_cells(("account", "b", "2"))[4] == "≈5"
        assert ("total", "EUR") not in accounts  # one account: nothing to add up
        assert accounts.keys()[-1] == ("total", "USD")
        store.set_account("c", Account("4", Decimal("1"), "EUR"))
        await until(pilot, lambda: ("total", "EUR") in accounts)
        assert accounts.get_cells(("total", "EUR"))[3] == "8" and accounts.get_cells(("total", "EUR"))[4] == "—"


async def test_a_record_a_panel_cannot_show_is_reported_and_the_rest_goes_on():
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    app = IbmonApp(runtime, load_host())
    store = runtime.store
    async with app.run_test(size=(200, 40)) as pilot:
        store.set_account("a", Account("1", Decimal("1"), "USD"))
        store.leads.setdefault("a", {})["30d"] = "not a LeadCounts"  # a plugin bug reaching the store
        store._changed("leads", "a", "30d")
        await until(pilot, lambda: any("Lead funnel: cannot show an update" in n for n in notifications(app)))
        store.set_account("a", Account("2", Decimal("2"), "USD"))
        await until(pilot, lambda: app.dashboard.accounts.row_count == 3)
        assert app.is_running


async def test_frames_run_only_when_the_store_changes_and_at_most_at_frame_rate():
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    app = IbmonApp(runtime, load_host())
    async with app.run_test(size=(160, 40)) as pilot:
        dash = app.dashboard
        await pilot.pause(0.2)
        frames, timer = dash.frames, dash.frame_timer
        await pilot.pause(0.3)
        assert dash.frame_timer is timer and dash.frames == frames  # idle: nothing scheduled, nothing run
        for n in range(50):  # a burst of changes schedules one frame
            runtime.store.set_account("a", Account(str(n), Decimal(n), "USD"))
        scheduled = dash.frame_timer
        assert scheduled is not timer
        runtime.store.set_account("a", Account("x", Decimal(1), "USD"))
        assert dash.frame_timer is scheduled
        await until(pilot, lambda: dash.accounts.row_count >= 51)
        assert dash.frames == frames + 1
