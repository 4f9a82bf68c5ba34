"""The CRM screen on a minimal app against the simulator: lazy paging as the cursor moves, the
date-range filter, trading accounts, fake transactions, servers and closed positions, errors in place."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Select, Static

import ibmon_crm
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import ScreenHarness, make_context, wait_for
from ibmon_crm.screens import CrmScreen, LazyTable
from ibmon_crm.session import CrmSession, utc_today
from crm_support import Crm, crm_in_thread

LEADS = "/api/v1/ib/leads"


@pytest.fixture(scope="module")
def huge_crm():
    with crm_in_thread(huge_leads=1_000_000) as crm:
        yield crm


@pytest.fixture
def crm(huge_crm):
    return huge_crm.fresh()


def crm_provider():
    host = PluginHost()
    host.load(only=["crm"])
    return host.providers["crm"]


def session_for(crm: Crm, **overrides) -> CrmSession:
    provider = crm_provider()
    options = crm.options(**{"page_size": 50, "lookback_days": 30, **overrides})
    return provider.connect(make_context(provider, name="CRM", **options))


class Host(App):
    def __init__(self, session: CrmSession) -> None:
        super().__init__()
        self.harness = ScreenHarness(crm_provider(), session)

    async def on_mount(self) -> None:
        [spec] = ibmon_crm.SCREENS
        await self.push_screen(spec.factory(self.harness.context()))


async def settle(pilot, predicate, timeout: float = 10.0) -> None:
    async def check() -> None:
        while not predicate():
            await pilot.pause(0.02)

    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        app = pilot.app
        tables = [(t.id, t.row_count, t.loading, t.exhausted, [w.state for w in t.workers._workers])
                  for t in app.screen.query(LazyTable)]
        raise AssertionError(f"timed out: {status(app)} {tables}") from None


def status(app: App) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def test_leads_load_one_page_at_a_time_as_the_cursor_moves(crm):
    session = session_for(crm)
    app = Host(session)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.screen.query_one("#leads-table", LazyTable)
            # the status line follows the table in a later message: wait for both
            await settle(pilot, lambda: table.row_count == 50 and not table.loading and "50 of" in status(app))
            assert table.total == crm.control.population().select_leads(None, None).total or table.total > 0
            assert crm.control.requests(LEADS) == 1
            assert "50 of" in status(app) and "more as you scroll" in status(app)
            table.focus()
            await pilot.press("ctrl+end")
            await settle(pilot, lambda: table.row_count == 100 and not table.loading)
            assert crm.control.requests(LEADS) == 2
            await pilot.press("ctrl+end")
            await settle(pilot, lambda: table.row_count == 150 and not table.loading)
            await pilot.pause(0.1)
            assert crm.control.requests(LEADS) == 3
            pages = [r.query["page"] for r in crm.control.log() if r.path == LEADS]
            assert pages == ["1", "2", "3"]
            ids = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            assert len(set(ids)) == 150
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, CrmScreen)
    finally:
        await session.close()


async def test_the_date_filter_reloads_the_list_with_the_new_range(crm):
    session = session_for(crm)
    app = Host(session)
    day = utc_today() - timedelta(days=3)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.screen.query_one("#leads-table", LazyTable)
            await settle(pilot, lambda: table.row_count == 50)
            await pilot.press("d")
            app.screen.query_one("#date-from", Input).value = day.isoformat()
            app.screen.query_one("#date-to", Input).value = day.isoformat()
            app.screen.query_one("#date-from", Input).focus()
            await pilot.press("enter")
            await settle(pilot, lambda: table.row_count == 50 and not table.loading
                         and str(table.get_row_at(0)[4]).startswith(day.isoformat()))
            await pilot.pause(0.1)
            asked = [(r.query["registrationDateFrom"], r.query["registrationDateTo"], r.query["page"])
                     for r in crm.control.log() if r.path == LEADS]
            old_from = (utc_today() - timedelta(days=29)).isoformat()
            assert asked == [(old_from, utc_today().isoformat(), "1"), (day.isoformat(), day.isoformat(), "1")]
            await pilot.press("d")
            app.screen.query_one("#date-from", Input).value = "yesterday"
            await pilot.press("enter")
            await pilot.pause()
            assert "YYYY-MM-DD" in status(app)
    finally:
        await session.close()


async def test_registrations_show_their_trading_accounts(crm):
    session = session_for(crm)
    app = Host(session)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            await pilot.press("2")
            table = app.screen.query_one("#registrations-table", LazyTable)
            await settle(pilot, lambda: table.row_count == 50)
            accounts = [str(table.get_row_at(i)[5]) for i in range(table.row_count)]
            assert all("live" in text and ("mt4-live" in text or "mt5-live" in text) for text in accounts)
    finally:
        await session.close()


# the simulator marks 3 of every 50 consecutive transactions fake, so any page of 50 holds some
@pytest.mark.parametrize("include_fake, page_size, rows", [(False, 1000, 200), (True, 50, 50)])
async def test_fake_transactions_show_only_with_include_fake(crm, include_fake, page_size, rows):
    session = session_for(crm, include_fake=include_fake, page_size=page_size)
    app = Host(session)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            await pilot.press("3")
            table = app.screen.query_one("#transactions-table", LazyTable)
            await settle(pilot, lambda: table.row_count == rows)
            flags = {str(table.get_row_at(i)[7]) for i in range(table.row_count)}
            assert ("fake" in flags) is include_fake
            query = [r.query for r in crm.control.log() if r.path.endswith("transactions")][-1]
            assert query["includeFake"] == ("true" if include_fake else "false")
            # the screen's own page is at most 200 rows, however large page_size is
            assert query["pageSize"] == str(rows)
    finally:
        await session.close()


async def test_servers_by_platform_and_closed_positions_per_server(crm):
    session = session_for(crm, server_tag="mt5-live-01")
    app = Host(session)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            await pilot.press("4")
            servers = app.screen.query_one("#servers-table", DataTable)
            await settle(pilot, lambda: servers.row_count == 3)
            assert {tuple(map(str, servers.get_row_at(i))) for i in range(3)} == {
                ("mt4", "mt4-live-01"), ("mt4", "mt4-live-02"), ("mt5", "mt5-live-01")}
            await pilot.press("5")
            positions = app.screen.query_one("#positions-table", LazyTable)
            await settle(pilot, lambda: positions.row_count > 0 and not positions.loading)
            query = [r.query for r in crm.control.log() if r.path.endswith("positions")][-1]
            assert query["serverTag"] == "mt5-live-01"
            app.screen.query_one("#server", Select).value = "mt4-live-02"
            await settle(pilot, lambda: [r.query for r in crm.control.log() if r.path.endswith("positions")][-1]
                         ["serverTag"] == "mt4-live-02" and not positions.loading and positions.row_count > 0)
            assert "on mt4-live-02" in status(app)
            await pilot.pause(0.1)
            asked = [(r.query["serverTag"], r.query["page"]) for r in crm.control.log() if r.path.endswith("positions")]
            assert asked == [("mt5-live-01", "1"), ("mt4-live-02", "1")]
    finally:
        await session.close()


async def test_errors_show_in_place(crm):
    session = session_for(crm, domain="wrong.example")
    app = Host(session)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot, lambda: "HTTP 403" in status(app))
            assert "'wrong.example'" in status(app)
            assert app.screen.query_one("#status", Static).has_class("error")
    finally:
        await session.close()


async def test_the_dashboard_opens_the_crm_screen_with_its_key(crm):
    from ibmon.app import IbmonApp
    from ibmon.feeds import FeedRuntime

    host = PluginHost()
    host.load(only=["crm"])
    provider = host.providers["crm"]
    options = {"base_url": crm.url, "domain": crm.domain, "api_key": crm.api_key, "email": crm.email,
               "password": crm.password, "page_size": 50, "poll_seconds": 30.0}
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    runtime.add(provider, make_context(provider, name="CRM", **options))
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, lambda: "30d" in app.store.leads.get("CRM", {}))
        await pilot.press("l")
        await settle(pilot, lambda: isinstance(app.screen, CrmScreen))
        table = app.screen.query_one("#leads-table", LazyTable)
        await settle(pilot, lambda: table.row_count == 50)
        assert table.total == app.store.leads["CRM"]["30d"].leads
