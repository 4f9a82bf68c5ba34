"""What the Flex screen shows beyond accounts and positions, as a record kind of its own.

One `Statement` record per account of the latest Flex statement ("ibkr_flex.statement", keyed by
the account id): its NAV over the period, cash by currency, the newest trades and when it was
generated and fetched. It travels through the store like every other record, so the screen (and
anything else watching the store) reads it from there. Dates and times are ISO 8601 text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ibmon.sdk import RecordKind

#: Trades a statement record keeps, newest first (the screen shows them all).
TRADES = 50
#: NAV points a statement record keeps (the latest ones).
NAV_POINTS = 200


@dataclass(frozen=True, slots=True)
class NavDay:
    day: str
    total: Decimal


@dataclass(frozen=True, slots=True)
class Cash:
    currency: str
    ending_cash: Decimal | None
    ending_settled_cash: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    when: str | None
    symbol: str
    buy_sell: str | None
    quantity: Decimal | None
    price: Decimal | None
    proceeds: Decimal | None
    commission: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's part of the latest statement. `fetched_at` is Unix milliseconds."""

    account_id: str
    name: str | None
    base_currency: str | None
    nav: Decimal | None
    base_cash: Decimal | None
    from_date: str | None
    to_date: str | None
    generated: str | None
    fetched_at: int
    nav_history: tuple[NavDay, ...]
    cash: tuple[Cash, ...]
    trades: tuple[Trade, ...]
    trade_count: int


STATEMENT = RecordKind("ibkr_flex.statement", Statement, ("account_id",), "Flex statements")
KINDS = (STATEMENT,)
