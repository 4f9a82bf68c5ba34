"""Balances of every account across connections, with per-currency totals.

Totals are kept per currency: amounts in different currencies are never added up. A total is shown
only when every account of that currency reports the field; values ibmon computed (the account's
`computed` fields, and totals containing one) are marked with "≈".
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ibmon.model import Account
from ibmon.store import Store
from ibmon.widgets.format import MISSING, money, sign_role
from ibmon.widgets.live_table import Cell, Column, LiveTable
from ibmon.widgets.sparkline import sparkline

COLUMNS = (
    Column("Connection", 12, max_width=20), Column("Account", 10, max_width=16), Column("Ccy", 3, max_width=5), Column("Balance", 13, "right", 18),
    Column("Equity", 13, "right", 18), Column("Margin", 12, "right", 18), Column("Free margin", 12, "right", 18),
    Column("Level %", 8, "right", 10), Column("Profit", 12, "right", 16), Column("Trend", 10),
)
SUMMED = ("balance", "equity", "margin", "free_margin")
NO_CURRENCY = "?"


class AccountsTable(LiveTable):
    """Rows keyed ("account", connection, id); totals keyed ("total", currency) sort last."""

    def __init__(self, store: Store, **kwargs) -> None:
        super().__init__(COLUMNS, empty_text="no accounts yet", **kwargs)
        self.store = store
        self._currency: dict[tuple[str, str], str] = {}

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        touched: set[str] = set()
        with self.batch():
            for conn, account_id in changed:
                key = (conn, str(account_id))
                old_currency = self._currency.pop(key, None)
                if old_currency is not None:
                    touched.add(old_currency)
                account = self.store.accounts.get(conn, {}).get(str(account_id))
                if account is None:
                    self.remove_row(("account", *key))
                    continue
                currency = account.currency or NO_CURRENCY
                self._currency[key] = currency
                touched.add(currency)
                self._show(conn, account)
            for currency in touched:
                self._total(currency)

    def _show(self, conn: str, a: Account) -> None:
        def amount(name: str) -> str:
            return money(getattr(a, name), name in a.computed)

        level = MISSING if a.margin_level is None else money(a.margin_level, "margin_level" in a.computed)
        cells: list[Cell] = [
            conn, a.name or a.id, a.currency or MISSING, amount("balance"), amount("equity"), amount("margin"),
            amount("free_margin"), level, (amount("profit"), sign_role(a.profit)),
            (sparkline(self.store.history(conn, "equity", a.id)), "accent"),
        ]
        self.set_row(("account", conn, a.id), cells, (0, conn, a.name or a.id, a.id))

    def _total(self, currency: str) -> None:
        key = ("total", currency)
        accounts = [self.store.accounts.get(conn, {}).get(account_id)
                    for (conn, account_id), ccy in self._currency.items() if ccy == currency]
        accounts = [a for a in accounts if a is not None]
        if len(accounts) < 2 or currency == NO_CURRENCY:
            self.remove_row(key)
            return

        def total(name: str) -> str:
            values = [getattr(a, name) for a in accounts]
            if any(v is None for v in values):
                return MISSING
            return money(sum(values, Decimal(0)), any(name in a.computed for a in accounts))

        profits = [a.profit for a in accounts]
        profit = None if any(p is None for p in profits) else sum(profits, Decimal(0))  # type: ignore[arg-type]
        cells: list[Cell] = [
            (f"Σ {len(accounts)} accounts", "accent"), "", currency,
            *(total(name) for name in SUMMED), "", (total("profit"), sign_role(profit)), "",
        ]
        self.set_row(key, cells, (1, currency), role="total")

    def selected(self) -> tuple[str, Account] | None:
        key = self.cursor_key
        if not isinstance(key, tuple) or key[0] != "account":
            return None
        account = self.store.accounts.get(key[1], {}).get(key[2])
        return (key[1], account) if account is not None else None
