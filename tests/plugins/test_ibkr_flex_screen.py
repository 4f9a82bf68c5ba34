"""The IBKR Flex screen on a minimal App, driven by keys, with a statement from the simulator."""

from __future__ import annotations

import re

import pytest
from textual.app import App
from textual.widgets import DataTable, Sparkline, Static

from ibmon.api import Provider
from ibmon.model import Position
from ibmon.testing import ScreenHarness, make_context
from ibmon.widgets.format import money, when
from ibmon_ibkr_flex import OPTIONS, PROVIDER, SCREENS, connect
from ibmon_ibkr_flex.dates import as_eastern
from ibmon_ibkr_flex.kinds import KINDS
from ibmon_ibkr_flex.ratelimit import RateLimiter
from ibmon_ibkr_flex.session import FlexSession
from ibmon_ibkr_flex.sim import start

PROVIDER_DECLARED = Provider(name=PROVIDER, title="IBKR Flex", connect=connect, options=OPTIONS, kinds=KINDS)


def flex_harness(running) -> tuple[FlexSession, ScreenHarness]:
    """A session on the simulator, writing through the runtime's sink into a store the screen reads."""
    options = {k: v for k, v in running.connections[0].items() if k not in ("name", "provider")}
    session = FlexSession(make_context(PROVIDER_DECLARED, name="flex", **options),
                          limiter=RateLimiter(0, 10_000, margin=0))
    return session, ScreenHarness(PROVIDER_DECLARED, session)


@pytest.fixture
async def setup():
    running = await start(pending_polls=0, min_interval=0, max_per_minute=10_000, interval=3600, seed=2)
    session, harness = flex_harness(running)
    [spec] = SCREENS
    yield running.control.portfolio(), session, harness, spec
    await session.close()
    await running.stop()


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def test_screen_shows_each_account_of_the_statement(setup):
    portfolio, session, harness, spec = setup
    await session.poll(harness.sink)
    app = App()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = spec.factory(harness.context())
        await app.push_screen(screen)
        await pilot.pause()
        for index, book in enumerate(portfolio.accounts):
            assert text(screen, "#header").startswith(f"{book.id} · {book.name} · account {index + 1} of 3")
            assert f"NAV {money(portfolio.nav(book))} {book.base}" in text(screen, "#summary")
            assert "generated" in text(screen, "#age") and "ago" in text(screen, "#age")
            assert len(screen.query_one("#nav", Sparkline).data) == len(book.nav_history)
            positions = screen.query_one("#positions", DataTable)
            assert positions.row_count == len(book.holdings)
            symbols = {str(positions.get_row_at(i)[0]) for i in range(positions.row_count)}
            assert symbols == set(book.holdings)
            cash = screen.query_one("#cash", DataTable)
            assert {str(cash.get_row_at(i)[0]): str(cash.get_row_at(i)[1]) for i in range(cash.row_count)} == {
                currency: money(amount) for currency, amount in book.cash.items()}
            trades = screen.query_one("#trades", DataTable)
            assert trades.row_count == len(book.trades)
            latest = max(t.when for t in book.trades)  # Eastern time, shown in the configured format
            assert str(trades.get_row_at(0)[0]) == when(as_eastern(latest))
            await pilot.press("n")
        assert text(screen, "#header").startswith(portfolio.accounts[0].id)  # wrapped around
        await pilot.press("p")
        assert text(screen, "#header").startswith(portfolio.accounts[-1].id)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_screen_waits_for_the_first_statement_then_shows_it(setup):
    portfolio, session, harness, spec = setup
    app = App()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = spec.factory(harness.context())
        await app.push_screen(screen)
        await pilot.pause()
        assert "waiting for the first statement" in text(screen, "#summary")
        await session.poll(harness.sink)  # the store tells the screen: no call of its own
        await pilot.pause()
        assert text(screen, "#header").startswith(portfolio.accounts[0].id)
        assert re.search(r"fetched \d+ s ago", text(screen, "#age"))


async def test_screen_of_a_lot_level_statement_without_nav_or_base_cash():
    running = await start(pending_polls=0, min_interval=0, max_per_minute=10_000, interval=3600, seed=2,
                          position_detail="lot", nav_sections=False, base_summary=False)
    session, harness = flex_harness(running)
    context = harness.context()
    try:
        await session.poll(harness.sink)
        book = running.control.portfolio().accounts[0]
        app = App()
        async with app.run_test(size=(160, 50)) as pilot:
            screen = SCREENS[0].factory(context)
            await app.push_screen(screen)
            await pilot.pause()
            summary = text(screen, "#summary")
            assert summary.startswith("NAV unknown (add 'Net Asset Value (NAV) in Base' or 'Change in NAV' to the "
                                      "Flex query) · cash ")
            assert " + ".join(f"{money(amount)} {currency}" for currency, amount in sorted(book.cash.items())) in summary
            positions = screen.query_one("#positions", DataTable)
            sides = {str(positions.get_row_at(i)[0]): str(positions.get_row_at(i)[3]) for i in range(positions.row_count)}
            assert any(len(holding.lots) > 1 for holding in book.holdings.values())
            for holding in book.holdings.values():
                side = "long" if holding.quantity > 0 else "short"
                assert sides[holding.symbol] == (f"{side} ({len(holding.lots)} lots)" if len(holding.lots) > 1 else side)
    finally:
        await session.close()
        await running.stop()


async def test_screen_opens_on_the_account_selected_on_the_dashboard(setup):
    portfolio, session, harness, spec = setup
    await session.poll(harness.sink)
    book = portfolio.accounts[-1]
    position = next(p for p in harness.view.records("position", "flex").values() if p.account == book.id)
    assert isinstance(position, Position)
    app = App()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = spec.factory(harness.context(selected=position))
        await app.push_screen(screen)
        await pilot.pause()
        assert text(screen, "#header").startswith(f"{book.id} · {book.name} · account 3 of 3")
