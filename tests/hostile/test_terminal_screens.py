"""Every first-party provider screen, opened in the dashboard over simulators that hold hostile
strings: what the server sent reads literally (tables, lists, selects, titles, status and error
lines, the account detail), no raw control character reaches the terminal, and clicking it runs
nothing. The B2Core delete asks to type a hostile account number: typed as shown, it goes through."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, OptionList, Select

from ibmon.screens.confirm import ConfirmScreen

from terminal_support import (
    B2_NUMBER, CRM_SERVER, NAMES, XTB_SYMBOL, assert_terminal_safe, b2_account, click_text, hostile_app,
    hostile_simulators, running, until, widget_text,
)


@pytest.fixture(scope="module")
def sims():
    with hostile_simulators() as sims:
        yield sims


async def open_screen(app, pilot, provider: str, spec_id: str):
    name = NAMES[provider]
    await until(pilot, lambda: app.runtime.connections[name].ready, timeout=30)
    app.open_provider_screen(name, spec_id)
    await until(pilot, lambda: app.screen is not app.dashboard and app.screen.is_mounted)
    return app.screen


def assert_still_on(app, screen) -> None:
    assert app.is_running, "a click ended the app"
    assert app.screen is screen, app.screen_stack


def column(table: DataTable, index: int) -> list[str]:
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


async def test_xtb_screen(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await open_screen(app, pilot, "xtb", "xtb")
        history = screen.query_one("#xtb-history", DataTable)
        await until(pilot, lambda: screen.query_one("#xtb-symbols", OptionList).option_count > 20
                    and XTB_SYMBOL in column(history, 1), timeout=10)
        await pilot.press(*"gold")
        symbols = screen.query_one("#xtb-symbols", OptionList)
        await until(pilot, lambda: symbols.option_count == 2)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        labels = [symbols.get_option_at_index(i).prompt.plain for i in range(symbols.option_count)]
        # name, category, base/quote currency (one: GOLD's are both USD), description
        assert f"{XTB_SYMBOL} [b]  USD     \\x1b]52;c;ZXZpbA==\\x07[@click=app.quit]Q[/]" in labels
        assert XTB_SYMBOL in shown and "\\x1b]52;c;ZXZpbA==\\x07[@click=app." in shown
        for fragment in ("\\x1b]52;c;ZXZpbA==\\x07[@click=app.", XTB_SYMBOL):  # the second click charts it
            await click_text(app, pilot, fragment)
            assert_still_on(app, screen)
        chart = screen.query_one("#xtb-chart")
        await until(pilot, lambda: chart.symbol == XTB_SYMBOL and bool(chart.bars), timeout=10)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert f"{XTB_SYMBOL} · 1 min" in shown and f"{XTB_SYMBOL}: " in shown
        await click_text(app, pilot, f"{XTB_SYMBOL} · 1 min")
        assert_still_on(app, screen)


async def test_ctrader_screen(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await open_screen(app, pilot, "ctrader", "ctrader")
        deals = screen.query_one("#deals-table", DataTable)
        await until(pilot, lambda: deals.row_count > 0 and "INVALID_REQUEST" in str(
            screen.query_one("#chart-status").content), timeout=10)
        shown = assert_terminal_safe(app)
        assert "\\x9b6n" in widget_text(app, screen.query_one("#account", Select))
        assert "[/]\\x1b[2J" in column(deals, 4)
        assert "[/]\\x1b[2J" in shown
        await click_text(app, pilot, "[/]\\x1b[2J")
        assert_still_on(app, screen)
        await pilot.press("2")  # cash flow
        cashflow = screen.query_one("#cashflow-table", DataTable)
        await until(pilot, lambda: "\\u202ertl" in column(cashflow, 1), timeout=10)
        await pilot.pause(0.1)
        assert "\\u202ertl" in assert_terminal_safe(app)
        await click_text(app, pilot, "\\u202ertl")
        assert_still_on(app, screen)
        await pilot.press("3")  # the chart, whose every request is refused with a hostile error text
        await pilot.pause(0.2)
        status = widget_text(app, screen.query_one("#chart-status"))
        assert "INVALID_REQUEST: \\x1b]52;c;ZXZpbA==\\x07 [/] \\x1b[2J second line" in status
        assert_terminal_safe(app)
        await click_text(app, pilot, "\\x1b]52;c;")
        assert_still_on(app, screen)


async def test_b2core_screen_detail_and_typed_delete(sims):
    app = hostile_app(sims)
    sim = sims.control("b2core")
    hostile = b2_account(sim)
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await open_screen(app, pilot, "b2core", "b2core")
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count > 0 and screen.platforms, timeout=10)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert B2_NUMBER in column(table, 0) and "[b]\\x7f" in column(table, 1)
        assert any(cell.startswith("LLLL") and len(cell) <= 256 for cell in column(table, 2))
        assert B2_NUMBER in shown and "[b]\\x7f" in shown
        await click_text(app, pilot, B2_NUMBER)
        assert_still_on(app, screen)
        table.move_cursor(row=table.get_row_index(hostile["accountId"]))
        await pilot.press("enter")  # the account's detail
        await until(pilot, lambda: app.screen is not screen)
        detail = app.screen
        await until(pilot, lambda: "firstName" in str(detail.query_one("#detail").content), timeout=10)
        shown = assert_terminal_safe(app)
        described = str(detail.query_one("#detail").content)
        assert f"Account {B2_NUMBER} · [b]\\x7f · LLLL" in described and "firstName: \\x1b]0;pwned\\x07" in described
        assert f"Account {B2_NUMBER} · [b]\\x7f ·" in shown and "firstName: \\x1b]0;pwned\\x07" in shown
        await click_text(app, pilot, B2_NUMBER)
        assert app.is_running and app.screen is detail
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        table.move_cursor(row=table.get_row_index(hostile["accountId"]))
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert f"Type '{B2_NUMBER}' to confirm:" in shown
        await click_text(app, pilot, f"'{B2_NUMBER}'")
        assert app.is_running and app.screen is confirm and hostile["accountId"] in sim.accounts()
        confirm.query_one("#typed").focus()
        await pilot.press(*B2_NUMBER, "enter")
        await until(pilot, lambda: hostile["accountId"] not in sim.accounts(), timeout=10)
        assert app.is_running


async def test_crm_screen(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await open_screen(app, pilot, "crm", "crm")
        leads = screen.query_one("#leads-table", DataTable)
        await until(pilot, lambda: leads.row_count > 0, timeout=10)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert "\\x1b[2JEve [@click=app.quit]Q[/]" in column(leads, 1)
        assert "\\x1b]52;c;ZXZpbA==\\x07" in column(leads, 2)
        assert "[/]\\u202eRTL: [/]\\u202eRTL" in column(leads, 7)
        assert "\\x1b[2JEve [@click=app.quit]Q[/]" in shown
        for fragment in ("[@click=app.quit]Q", "\\x1b]52;c;"):
            await click_text(app, pilot, fragment)
            assert_still_on(app, screen)
        await pilot.press("4")  # servers
        servers = screen.query_one("#servers-table", DataTable)
        await until(pilot, lambda: "[b]\\x00" in column(servers, 0))
        await pilot.pause(0.1)
        assert "\\x1b[31mred[/]" in assert_terminal_safe(app)
        await click_text(app, pilot, "\\x1b[31mred[/]")
        assert_still_on(app, screen)
        screen.query_one("#server", Select).value = CRM_SERVER  # the server tag the CRM itself refuses
        await pilot.press("5")
        await until(pilot, lambda: "unknown serverTag" in widget_text(app, screen.query_one("#status")), timeout=10)
        status = widget_text(app, screen.query_one("#status"))
        assert "'\\x1b[31mred[/]'" in status  # the CRM's own message quotes the tag with Python's repr
        assert_terminal_safe(app)
        await click_text(app, pilot, "unknown serverTag")
        assert_still_on(app, screen)


async def test_ibkr_flex_screen(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await open_screen(app, pilot, "ibkr_flex", "ibkr_flex")
        positions = screen.query_one("#positions", DataTable)
        await until(pilot, lambda: positions.row_count > 0, timeout=10)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert "[/]\\u202eEman" in widget_text(app, screen.query_one("#header"))
        assert "[b]\\x9bZ" in column(positions, 0) and "[b]\\x9bZ" in shown
        for fragment in ("[/]\\u202eEman", "[b]\\x9bZ"):
            await click_text(app, pilot, fragment)
            assert_still_on(app, screen)
