"""A provider whose book never moves: the same accounts, positions, quotes and lead counts at every
poll, so two runs of the dashboard (or one before and after a resize) must draw the same screen.

Quotes are stamped a day ahead, so their age reads "0 s" however long a test takes."""

from __future__ import annotations

import time
from decimal import Decimal

from ibmon import hookimpl
from ibmon.api import Provider, Session
from ibmon.model import Account, LeadCounts, Position, Tick
from ibmon.options import Option

OPTIONS = (
    Option("accounts", "int", default=6, help="accounts in the book"),
    Option("positions", "int", default=30, help="open positions"),
    Option("ticks", "int", default=12, help="quoted symbols"),
    Option("poll_seconds", "float", default=3600.0, help="seconds between polls"),
)
WINDOWS = (("today", 0), ("7d", 6), ("30d", 29))


def accounts(count: int) -> list[Account]:
    return [Account(f"A{n}", Decimal(1000 + 10 * n) + Decimal("0.25"), "USD", equity=Decimal(1000 + 11 * n),
                    name=f"{7000 + n}") for n in range(count)]


def positions(count: int, accounts_count: int) -> list[Position]:
    return [Position(account=f"A{n % max(1, accounts_count)}", id=f"P{n:03}", symbol=f"SYM{n:03}",
                     side="buy" if n % 2 else "sell", volume=Decimal(n + 1), open_price=Decimal("1.5"),
                     current_price=Decimal("1.75"), profit=Decimal(n) - Decimal(10))
            for n in range(count)]


def ticks(count: int) -> list[Tick]:
    ahead = int((time.time() + 86400) * 1000)
    return [Tick(f"TK{n:02}", Decimal(100 + n), Decimal(100 + n) + Decimal("0.5"), ahead) for n in range(count)]


def leads() -> list[LeadCounts]:
    today = time.strftime("%Y-%m-%d")
    return [LeadCounts(window, today, today, leads=10 * (days + 1), registrations=days, transactions=1)
            for window, days in WINDOWS]


class StaticSession(Session):
    def __init__(self, ctx) -> None:
        self.options = ctx.options
        self.poll_interval = ctx.options["poll_seconds"]

    async def poll(self, sink) -> None:
        count = self.options["accounts"]
        sink.accounts(accounts(count))
        sink.positions(positions(self.options["positions"], count))
        for tick in ticks(self.options["ticks"]):
            sink.tick(tick)
        for counts in leads():
            sink.leads(counts)


@hookimpl
def ibmon_providers(register):
    register(Provider(name="static_book", title="Static book", connect=StaticSession, options=OPTIONS))
