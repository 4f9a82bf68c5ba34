"""Balances of every account across connections, with per-currency totals of the accounts shown.

Amounts in different currencies are never added up. Values ibmon computed (the account's `computed`
fields, and totals containing one) are marked with "≈"; a total some shown accounts do not report
is partial, marked "+?".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from operator import attrgetter

from ibmon.model import Account
from ibmon.safe import safe_text
from ibmon.store import StoreView
from ibmon.widgets.format import MISSING, money, sign_role
from ibmon.widgets.live_table import Cell, Column, LiveTable
from ibmon.widgets.selection import Selection
from ibmon.widgets.sparkline import sparkline
from ibmon.widgets.totals import Summed, Totals

MONEY_COLUMNS = (("Balance", "balance"), ("Equity", "equity"), ("Margin", "margin"),
                 ("Free margin", "free_margin"))
#: Left out in this order (highest first) when the screen is too narrow for every column.
DROP = {"margin": 3, "free_margin": 4}
COLUMNS = (
    Column("Connection", 6), Column("Account", 7, value=attrgetter("number"), cut=False), Column("Ccy", 3),
    *(Column(label, 8, "decimal", value=attrgetter(name), drop=DROP.get(name, 0)) for label, name in MONEY_COLUMNS),
    Column("Level %", 7, "decimal", value=attrgetter("margin_level"), drop=5),
    Column("Profit", 8, "decimal", value=attrgetter("profit"), drop=2),
    Column("Trend", 10, sortable=False, drop=6),
)
FIRST_MONEY, PROFIT = 3, 8


def _computed(account: Account, name: str) -> bool:
    return name in account.computed


class AccountsTable(LiveTable):
    """Rows keyed (connection, account id), each holding its Account."""

    def __init__(self, view: StoreView, **kwargs) -> None:
        summed = [Summed(FIRST_MONEY + i, name) for i, (_label, name) in enumerate(MONEY_COLUMNS)]
        totals = Totals([*summed, Summed(PROFIT, "profit", signed=True)], currency=attrgetter("currency"),
                        computed=_computed, label_column=0, currency_column=2, noun=("account", "accounts"))
        super().__init__(COLUMNS, empty_text="no accounts yet", totals=totals, **kwargs)
        self.view = view

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        with self.batch():
            for conn, account_id in changed:
                account = self.view.get("account", conn, str(account_id))
                if account is None:
                    self.remove_row((conn, str(account_id)))
                else:
                    self._show(conn, account)

    def _show(self, conn: str, a: Account) -> None:
        def amount(name: str) -> str:
            return money(getattr(a, name), a.currency, computed=name in a.computed)

        level = MISSING if a.margin_level is None else money(a.margin_level, computed="margin_level" in a.computed)
        cells: list[Cell] = [
            conn, a.number, a.currency or MISSING, *(amount(name) for _label, name in MONEY_COLUMNS),
            level, (amount("profit"), sign_role(a.profit)),
            (sparkline(self.view.history(conn, "equity", a.id)), "accent"),
        ]
        self.set_row((conn, a.id), cells, (conn, a.number, a.id), record=a)

    def selected(self) -> tuple[str, Account] | None:
        """The connection and account under the cursor (as the store has it now)."""
        key = self.cursor_key
        if key is None:
            return None
        conn, account_id = key  # type: ignore[misc]
        account = self.view.get("account", conn, account_id)
        return (conn, account) if account is not None else None

    def selection(self) -> Selection | None:
        picked = self.selected()
        if picked is None:
            return None
        conn, account = picked
        subject = f"account {safe_text(account.number)} · {safe_text(conn)}"
        return Selection(conn, "account", account, subject,
                         check=partial(self.stale, (conn, account.id), f"account {safe_text(account.number)}",
                                       lambda: account.id in self.view.records("account", conn)))
