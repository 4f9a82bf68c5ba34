"""The dashboard on the static book (tests/support/static_book.py) through the real feed runtime:
the same records at every poll, so what the screen shows depends only on its size."""

from __future__ import annotations

import re

from ibmon.app import IbmonApp
from ibmon.plugins import PluginHost
from ibmon.testing import make_context

from ui_support import SUPPORT, make_runtime, screen_text, until

CONNECTION = "Static"
#: What a row of each panel starts with (after the connection's name, where there is one).
ROW = {"accounts": r"│ Static\s+700\d", "ticks": r"│ TK\d\d\s", "positions": r"│ Static\s+\S+\s+SYM\d{3}",
       "leads": r"│ Static\s+(today|7d|30d)\s"}


def book_app(accounts: int = 6, positions: int = 30, ticks: int = 12, **app_options) -> IbmonApp:
    host = PluginHost()
    host.load(plugin_dirs=[SUPPORT], only=["static_book"], entry_points=False)
    runtime = make_runtime()
    provider = host.providers["static_book"]
    runtime.add(provider, make_context(provider, name=CONNECTION, accounts=accounts, positions=positions,
                                       ticks=ticks))
    return IbmonApp(runtime, host, **app_options)


async def filled(pilot, app: IbmonApp, accounts: int = 6, positions: int = 30, ticks: int = 12) -> None:
    """Until every record of the book is in its panel (balances may add total rows) and the frame
    that shows them is drawn."""
    dash = app.dashboard
    await until(pilot, lambda: dash.accounts.row_count >= accounts and (
        dash.positions.row_count, dash.ticks.row_count, dash.leads.row_count) == (positions, ticks, 3))
    await pilot.pause(0.1)


def panel_lines(app: IbmonApp, table) -> list[str]:
    """The screen's lines inside a panel's border (its column header first)."""
    region = table.region
    return [line[region.x:region.right] for line in screen_text(app).split("\n")[region.y + 1:region.bottom - 1]]


def rows_shown(app: IbmonApp, table) -> int:
    """Rows of records the panel shows on screen now."""
    pattern = re.compile(ROW[table.id])
    return sum(1 for line in panel_lines(app, table)[1:] if pattern.match(line))
