"""Balances of every account across connections, with per-currency totals of the accounts shown.

Amounts in different currencies are never added up. Values ibmon computed (the account's `computed`
fields, and totals containing one) are marked with "≈"; a total some shown accounts do not report
is partial, marked "+?".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from decimal import Decimal
from operator import attrgetter
from typing import Any

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
    Column("Day", 8, "decimal", value=attrgetter("day_change"), drop=6),
    Column("Trend", 10, sortable=False, drop=7),
)
FIRST_MONEY, PROFIT, DAY_CHANGE = 3, 8, 9


class AccountRow:
    """A row's record: the account and its change since the start of the day (None: not known),
    fixed together so that totals add and take away the same figure."""

    __slots__ = ("account", "day_change")

    def __init__(self, account: Account, day_change: Decimal | None) -> None:
        self.account = account
        self.day_change = day_change

    def __getattr__(self, name: str) -> Any:
        return getattr(self.account, name)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, AccountRow) and other.account == self.account
                and other.day_change == self.day_change)

    __hash__ = None  # type: ignore[assignment]




def _computed(account: Account, name: str) -> bool:
    return name in account.computed and name != "day_change"


class AccountsTable(LiveTable):
    """Rows keyed (connection, account id), each holding its Account."""

    def __init__(self, view: StoreView, history: Any = None, **kwargs) -> None:
        summed = [Summed(FIRST_MONEY + i, name) for i, (_label, name) in enumerate(MONEY_COLUMNS)]
        totals = Totals([*summed, Summed(PROFIT, "profit", signed=True), Summed(DAY_CHANGE, "day_change", signed=True)],
                        currency=attrgetter("currency"), computed=_computed, label_column=0, currency_column=2,
                        noun=("account", "accounts"))
        super().__init__(COLUMNS, empty_text="no accounts yet", totals=totals, **kwargs)
        self.view = view
        #: History (ibmon.history.History) when there is one: trends from before this run, the day's change.
        self.history = history

    def refresh_history(self) -> None:
        """Show again the rows whose trend or day baseline history changed (every row when it read
        its file or a new day began)."""
        if self.history is None:
            return
        changed = self.history.changed_accounts()
        if changed is None:
            self.apply(list(self.view.records("account")))
        elif changed:
            self.apply(changed)

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
        ]
        live = self.view.history(conn, "equity", a.id)
        history = self.history
        day = history.day_change(conn, a) if history is not None else None
        cells += [(money(day, a.currency), sign_role(day)) if day is not None else ("", ""),
                  (sparkline(history.trend(conn, "equity", a.id, live) if history is not None else live), "accent")]
        self.set_row((conn, a.id), cells, (conn, a.number, a.id), record=AccountRow(a, day))

    def selected(self) -> tuple[str, Account] | None:
        """The connection and account under the cursor (as the store has it now)."""
        key = self.cursor_key
        if key is None:
            return None
        conn, account_id = key  # type: ignore[misc]
        account = self.view.get("account", conn, account_id)
        return (conn, account) if account is not None else None

    def selected_record(self) -> Account | None:
        """The account under the cursor (a row's record pairs it with its day change)."""
        picked = self.selected()
        return picked[1] if picked else None

    def selection(self) -> Selection | None:
        picked = self.selected()
        if picked is None:
            return None
        conn, account = picked
        subject = f"account {safe_text(account.number)} · {safe_text(conn)}"
        return Selection(conn, "account", account, subject,
                         check=partial(self.stale, (conn, account.id), f"account {safe_text(account.number)}",
                                       lambda: account.id in self.view.records("account", conn)))
