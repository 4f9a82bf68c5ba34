"""Open positions across every connection, with per-currency totals of the profit of those shown.

An account reads as its number (`Account.number`) here as in Balances: the store's account record
names it, and the rows of an account are redrawn when that name arrives or changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from operator import attrgetter

from ibmon.model import Position
from ibmon.safe import safe_text
from ibmon.store import StoreView
from ibmon.widgets.format import MISSING, money, number, sign_role
from ibmon.widgets.live_table import Cell, Column, LiveTable
from ibmon.widgets.selection import Selection
from ibmon.widgets.totals import Summed, Totals

COLUMNS = (
    Column("Connection", 6), Column("Account", 7, cut=False), Column("Symbol", 6, value=attrgetter("symbol")),
    Column("Side", 4), Column("Volume", 6, "decimal", value=attrgetter("volume")),
    Column("Open", 6, "decimal", value=attrgetter("open_price"), drop=1),
    Column("Current", 7, "decimal", value=attrgetter("current_price")),
    Column("Ccy", 3), Column("Profit", 8, "decimal", value=attrgetter("profit")),
)
CURRENCY, PROFIT = 7, 8
#: The side cell of each side (one tuple for all rows).
SIDES = {"buy": ("buy", "up"), "sell": ("sell", "down")}


class PositionsTable(LiveTable):
    """Rows keyed by (connection, account id, position id), each holding its Position."""

    def __init__(self, view: StoreView, **kwargs) -> None:
        totals = Totals([Summed(PROFIT, "profit", signed=True)], currency=attrgetter("currency"),
                        label_column=0, currency_column=CURRENCY, noun=("position", "positions"))
        super().__init__(COLUMNS, empty_text="no open positions", totals=totals, **kwargs)
        self.view = view
        #: The number each (connection, account id) with positions is shown by.
        self._numbers: dict[tuple[str, str], str] = {}

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        with self.batch():
            for conn, key in changed:
                account, position_id = key  # type: ignore[misc]
                position = self.view.get("position", conn, (account, position_id))
                if position is None:
                    self.remove_row((conn, account, position_id))
                else:
                    self._show(conn, position)
        subtitle = f"{self.row_count} open"
        if self.border_subtitle != subtitle:  # a new subtitle repaints the whole panel
            self.border_subtitle = subtitle

    def accounts_changed(self, changed: Iterable[tuple[str, object]]) -> None:
        """Accounts changed in the store: redraw the positions of those whose number changed."""
        renamed = {(conn, str(account_id)) for conn, account_id in changed
                   if (conn, str(account_id)) in self._numbers
                   and self._numbers[(conn, str(account_id))] != self.view.account_number(conn, str(account_id))}
        if not renamed:
            return
        with self.batch():
            for conn in {conn for conn, _ in renamed}:
                for (account, _pid), position in self.view.records("position", conn).items():
                    if (conn, account) in renamed:
                        self._show(conn, position)

    def _show(self, conn: str, p: Position) -> None:
        account = self._numbers[(conn, p.account)] = self.view.account_number(conn, p.account)
        cells: list[Cell] = [
            conn, account, p.symbol, SIDES[p.side],
            number(p.volume), number(p.open_price), number(p.current_price), p.currency or MISSING,
            (money(p.profit, p.currency), sign_role(p.profit)),
        ]
        self.set_row((conn, p.account, p.id), cells, (conn, account, p.symbol, p.id), record=p)

    def selected(self) -> tuple[str, Position] | None:
        """The connection and position under the cursor (as the store has it now)."""
        if self.cursor_key is None:
            return None
        conn, account, position_id = self.cursor_key  # type: ignore[misc]
        position = self.view.get("position", conn, (account, position_id))
        return (conn, position) if position is not None else None

    def selection(self) -> Selection | None:
        picked = self.selected()
        if picked is None:
            return None
        conn, p = picked
        number_ = self.view.account_number(conn, p.account)
        what = f"{safe_text(p.side)} {p.volume} {safe_text(p.symbol)}"
        subject = f"{what} · account {safe_text(number_)} · {safe_text(conn)}"
        return Selection(conn, "position", p, subject,
                         check=partial(self.stale, (conn, p.account, p.id), f"position {what}",
                                       lambda: p.key in self.view.records("position", conn)))
