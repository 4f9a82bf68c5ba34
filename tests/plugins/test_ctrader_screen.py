"""The cTrader screen on a minimal App, driven by keys, against the real simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Select, Sparkline, Static

import ibmon_ctrader
from ibmon.testing import ScreenHarness, make_context, simulator_in_thread
from ibmon_ctrader.sim import start

DEMO_EUR, LIVE_USD = "5010002", "5010001"


def declared():
    found = []
    ibmon_ctrader.ibmon_providers(found.append)
    return found[0]


@pytest.fixture(scope="module")
def running():
    # One simulator for the module, on a loop of its own thread; its ticker stays still.
    with simulator_in_thread(start, interval=3600, seed=5) as running:
        yield running


@pytest.fixture
async def setup(running):
    provider = declared()
    session = provider.connect(make_context(provider, name="ct", base_url=running.endpoints["api"],
                                            access_token=running.connections[0]["access_token"],
                                            accounts=[DEMO_EUR, LIVE_USD], symbols=["XAUUSD"]))
    ran: list[tuple[str, str]] = []

    async def run_action(action, target):  # the host confirms; here: yes
        ran.append((action.id, await harness.runtime.run_action("ct", action, target)))

    harness = ScreenHarness(provider, session, run_action=run_action)
    await harness.poll()
    [spec] = ibmon_ctrader.SCREENS
    screen = spec.factory(harness.context())
    yield running.control, screen, ran
    await session.close()


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.start_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.start_screen)


async def settle(pilot, predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(predicate)
        await pilot.pause(0.02)


def text(screen, widget_id):
    return str(screen.query_one(widget_id, Static).render())


async def test_deals_load_more_follows_the_cursor_and_escape_closes(setup):
    sim, screen, _ = setup
    async with Host(screen).run_test(size=(140, 40)) as pilot:
        deals = screen.query_one("#deals-table", DataTable)
        await settle(pilot, lambda: deals.row_count == 50)
        assert screen.query_one("#account", Select).value == DEMO_EUR
        total = len(sim.account(int(DEMO_EUR)).deals)
        newest = max(sim.account(int(DEMO_EUR)).deals, key=lambda d: (d["createTimestamp"], d["dealId"]))
        assert str(deals.get_row_at(0)[1]) == str(newest["dealId"])
        await pilot.press("m")
        await settle(pilot, lambda: deals.row_count == min(100, total))
        while deals.row_count < total:
            before = deals.row_count
            await pilot.press("m")
            await settle(pilot, lambda: deals.row_count > before)
        assert "no more" in text(screen, "#deals-status")
        ids = [str(deals.get_row_at(i)[1]) for i in range(deals.row_count)]
        assert len(set(ids)) == total
        await pilot.press("escape")
        await pilot.pause()
        assert screen not in pilot.app.screen_stack


async def test_cash_flow_tab_shows_exact_amounts(setup):
    sim, screen, _ = setup
    async with Host(screen).run_test(size=(140, 40)) as pilot:
        await pilot.press("2")
        table = screen.query_one("#cashflow-table", DataTable)
        await settle(pilot, lambda: table.row_count > 0)
        newest = max(sim.account(int(DEMO_EUR)).cashflow, key=lambda c: (c["changeTimestamp"], c["cashflowId"]))
        assert str(table.get_row_at(0)[2]) == f"{Decimal(newest['delta']).scaleb(-2):,}"


async def test_chart_draws_trendbars_and_shows_errors_in_place(setup):
    _, screen, _ = setup
    async with Host(screen).run_test(size=(140, 40)) as pilot:
        await pilot.press("3")
        spark = screen.query_one("#sparkline", Sparkline)
        await settle(pilot, lambda: len(spark.data or []) > 100)
        assert "XAUUSD h1" in text(screen, "#chart-status")
        symbol = screen.query_one("#symbol", Input)
        symbol.value = "NOPE"
        symbol.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: "CH_SYMBOL_NOT_FOUND" in text(screen, "#chart-status"))
        assert not spark.data


async def test_reload_picks_up_accounts_that_arrived_after_the_screen_opened(running):
    provider = declared()
    session = provider.connect(make_context(provider, name="ct", base_url=running.endpoints["api"],
                                            access_token=running.connections[0]["access_token"]))
    harness = ScreenHarness(provider, session)
    screen = ibmon_ctrader.SCREENS[0].factory(harness.context())
    try:
        async with Host(screen).run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            assert "waiting for the first poll" in text(screen, "#account-status")
            await harness.poll()
            await pilot.press("r")
            deals = screen.query_one("#deals-table", DataTable)
            await settle(pilot, lambda: deals.row_count == 50)
            assert screen.query_one("#account", Select).value in harness.view.records("account", "ct")
            assert text(screen, "#account-status") == ""
    finally:
        await session.close()


async def test_demo_deposit_from_the_screen_goes_through_the_host(setup):
    sim, screen, ran = setup
    async with Host(screen).run_test(size=(140, 40)) as pilot:
        await settle(pilot, lambda: screen.query_one("#deals-table", DataTable).row_count > 0)
        before = sim.account(int(DEMO_EUR)).balance
        await pilot.press("d")
        await settle(pilot, lambda: bool(ran))
        assert ran[0][0] == "ctrader.demo_deposit" and sim.account(int(DEMO_EUR)).balance == before + 100_000
        live_before = sim.account(int(LIVE_USD)).balance
        screen.query_one("#account", Select).value = LIVE_USD
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause(0.1)
        assert len(ran) == 1 and sim.account(int(LIVE_USD)).balance == live_before


async def test_opens_on_the_selected_account_and_a_request_error_stays_in_place(running):
    provider = declared()
    session = provider.connect(make_context(provider, name="ct", base_url=running.endpoints["api"],
                                            access_token=running.connections[0]["access_token"],
                                            accounts=[DEMO_EUR, LIVE_USD]))
    harness = ScreenHarness(provider, session)
    await harness.poll()
    live = harness.view.get("account", "ct", LIVE_USD)
    screen = ibmon_ctrader.SCREENS[0].factory(harness.context(selected=live))
    try:
        async with Host(screen).run_test(size=(140, 40)) as pilot:
            deals = screen.query_one("#deals-table", DataTable)
            await settle(pilot, lambda: deals.row_count > 0)
            assert screen.query_one("#account", Select).value == LIVE_USD
            running.control.revoke_token()  # the provider refuses the next requests
            try:
                await pilot.press("r")
                await settle(pilot, lambda: screen.query_one("#deals-status", Static).has_class("error"))
                assert screen.is_attached and pilot.app.screen is screen  # shown in place, contained
                assert "access_token" in text(screen, "#deals-status") or "401" in text(screen, "#deals-status")
            finally:
                running.control.restore_token()
    finally:
        await session.close()
