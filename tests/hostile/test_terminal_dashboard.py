"""Hostile provider strings on the dashboard: every panel, the health line, the quick-action picker,
the confirmation dialog, notifications, the command palette and the help screen show them literally,
send no raw control character to the terminal, and clicking them runs nothing.

The strings come from the real simulators through the real clients (see terminal_support)."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets._toast import Toast

from ibmon.screens.confirm import ConfirmScreen
from ibmon.screens.help import HelpScreen
from ibmon.screens.picker import Choice, Picker

from terminal_support import (
    B2_NUMBER, BOLD, CLEAR, CLOSE, CRM_CONNECTION, CT_BROKEN, FLEX_SYMBOL, LONG, NAMES, OSC52, QUIT, RLO, TITLE,
    XTB_SYMBOL, assert_terminal_safe, click_text, hostile_app, hostile_simulators, locate, notifications, running,
    until, widget_text,
)

XTB, CT, B2, FLEX = NAMES["xtb"], NAMES["ctrader"], NAMES["b2core"], NAMES["ibkr_flex"]


@pytest.fixture(scope="module")
def sims():
    with hostile_simulators() as sims:
        yield sims


def xtb_position(app):
    return next((p for p in app.store.positions.get(XTB, {}).values() if p.symbol == XTB_SYMBOL), None)


def everything_shown(app) -> bool:
    """Every panel has the hostile rows."""
    dash, store = app.dashboard, app.store
    broken = store.health.get(CT_BROKEN)
    return (xtb_position(app) is not None and any(key[0] == XTB for key in dash.ticks.keys())
            and any(a.name == B2_NUMBER for a in store.accounts.get(B2, {}).values())
            and any(p.symbol == FLEX_SYMBOL for p in store.positions.get(FLEX, {}).values())
            and bool(store.accounts.get(CT)) and bool(store.leads.get(CRM_CONNECTION))
            and broken is not None and "second line" in broken.detail
            and dash.accounts.row_count >= 4 and dash.leads.row_count >= 1)


def assert_still_on_the_dashboard(app) -> None:
    assert app.is_running, "a click ended the app"
    assert len(app.screen_stack) == 1 and app.screen is app.dashboard, app.screen_stack


async def test_every_panel_shows_hostile_strings_literally_and_clicking_them_runs_nothing(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: everything_shown(app), timeout=30)
        await pilot.pause(0.2)
        shown = assert_terminal_safe(app)
        # markup reads as written; escape sequences read as escapes (cells are cut to their column)
        for fragment in ("[@click=screen.co",  # positions and ticks: the XTB symbol
                         "[@click=app.qui",  # balances: the B2Core account number
                         "[@click=app.quit]CR",  # lead funnel: the CRM connection's name
                         "[b]\\x9bZ",  # positions: the Flex symbol
                         "\\x1b…", "\\x9b…",  # balances: XTB's and cTrader's currencies
                         "\\x1b]52;c;ZXZpbA==\\x07 [/] \\x1b[2J second line"):  # the health line
            assert fragment in shown, fragment
        for fragment in ("[@click=screen.co", "[@click=app.qui", "[@click=app.quit]CR", "[b]\\x9bZ",
                         "\\x1b]52;c;", "CRM"):
            await click_text(app, pilot, fragment)
            assert_still_on_the_dashboard(app)
        assert xtb_position(app) is not None


async def test_quick_action_picker_and_confirmation_show_the_symbol_literally_and_a_click_confirms_nothing(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: everything_shown(app), timeout=30)
        position = xtb_position(app)
        dash = app.dashboard
        dash.positions.focus()
        dash.positions.move_cursor_to((XTB, position.account, position.id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.pause(0.1)
        assert_terminal_safe(app)
        subject = f"buy 1.0 {XTB_SYMBOL} · account {position.account} · {XTB}"
        assert widget_text(app, app.screen.query_one("#subject")) == subject
        await click_text(app, pilot, "GOLD")
        assert isinstance(app.screen, Picker) and app.is_running

        await pilot.press("enter")  # "Close position …"
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.1)
        assert_terminal_safe(app)
        question = f"Close buy 1.0 {XTB_SYMBOL} (position {position.id})?"
        assert widget_text(app, app.screen.query_one("#question")) == question
        await click_text(app, pilot, "GOLD")  # once, this confirmed the close
        await click_text(app, pilot, "[@click")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ConfirmScreen), "a click on the question answered it"
        assert xtb_position(app) is not None
        xtb = running(sims, "xtb")
        user = xtb.control.user(xtb.connections[0]["user_id"])
        assert any(trade.symbol == XTB_SYMBOL for trade in user.positions.values())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert xtb_position(app) is not None


async def test_notifications_show_hostile_text_literally_and_clicking_them_runs_nothing(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(200, 60), notifications=True) as pilot:
        await until(pilot, lambda: bool(app.store.accounts.get(XTB)), timeout=30)

        def toasts() -> str:
            """What the toasts read (notifications that come together share one)."""
            return " ".join(widget_text(app, toast) for toast in app.screen.query(Toast))

        async def notify_all() -> None:
            app.runtime.notify(XTB, f"new symbol {XTB_SYMBOL} {OSC52}\n{CLOSE} {RLO}", "warning")
            app.notify(f"{QUIT} {TITLE} {CLEAR}", title=CRM_CONNECTION + TITLE)
            app.notify(LONG, title=BOLD)
            # read once the toast has settled where it stays (it may still be moving under load)
            await until(pilot, lambda: f"{XTB}: new symbol {XTB_SYMBOL} \\x1b]52;c;ZXZpbA==\\x07 [/] \\u202eRTL" in toasts())
            await until(pilot, lambda: f"{CRM_CONNECTION}\\x1b]0;pwned\\x07: {QUIT} \\x1b]0;pwned\\x07 \\x1b[2J" in toasts())
            await until(pilot, lambda: f"{BOLD}: LLLL" in toasts())
            await pilot.pause(0.3)

        await notify_all()
        assert_terminal_safe(app)
        assert max(len(n) for n in notifications(app)) < 2_000  # the long text is bounded
        for fragment in ("GOLD", "[@click=app.quit]Q", CRM_CONNECTION[:10]):
            await click_text(app, pilot, fragment)
            assert_still_on_the_dashboard(app)
            await notify_all()  # a click puts the toast away, with every notification it held


async def test_palette_entries_with_a_hostile_connection_name_read_literally_and_run_only_their_command(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: bool(app.store.leads.get(CRM_CONNECTION)), timeout=30)
        refreshed: list[str | None] = []
        refresh = app.runtime.refresh
        app.runtime.refresh = lambda name=None: (refreshed.append(name), refresh(name))  # type: ignore[method-assign]
        for target in ("[@click=app.quit]CRM", "Poll [@click"):  # the entry's title, then its help line
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"refresh crm")
            await pilot.pause(0.5)
            shown = assert_terminal_safe(app)
            assert f"Refresh {CRM_CONNECTION}" in shown and f"Poll {CRM_CONNECTION} now" in shown
            await click_text(app, pilot, target)
            await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
            assert_still_on_the_dashboard(app)
        assert refreshed == [CRM_CONNECTION, CRM_CONNECTION]


async def test_help_and_picker_dialogs_show_plugin_texts_literally(sims):
    app = hostile_app(sims)
    async with app.run_test(size=(200, 60)) as pilot:
        await app.push_screen(HelpScreen([(QUIT, CLOSE + CLEAR, BOLD + RLO)]))
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert QUIT in shown and "[/]\\x1b[2J" in shown and "[b]\\u202eRTL" in shown
        await click_text(app, pilot, QUIT)
        assert app.is_running and isinstance(app.screen, HelpScreen)
        await pilot.press("escape")

        picked = []
        app.push_screen(Picker(QUIT + TITLE, CLOSE + OSC52, [Choice(QUIT, 1), Choice(BOLD + CLEAR, 2, CLOSE)]),
                        picked.append)
        await pilot.pause(0.1)
        shown = assert_terminal_safe(app)
        assert "[/]\\x1b]52;c;ZXZpbA==\\x07" in shown and "[b]\\x1b[2J  ([/])" in shown
        x, y = locate(app, "[/]\\x1b]52")
        await pilot.click(offset=(x + 1, y))
        await pilot.pause(0.1)
        assert app.is_running and isinstance(app.screen, Picker) and picked == []
        await pilot.press("escape")
        assert picked == [None]
