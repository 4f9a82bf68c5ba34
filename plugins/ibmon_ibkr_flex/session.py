"""The `ibkr_flex` session: one Flex statement per poll, mapped to accounts, positions and, for the
Flex screen, one "ibkr_flex.statement" record per account (NAV history, cash by currency, trades:
`ibmon_ibkr_flex.kinds`).

A statement without a NAV section (a query without "Net Asset Value (NAV) in Base" or "Change in
NAV") still shows its cash and positions: the account's balance is unknown (None) and the health
line says which section to add.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from ibmon.sdk import (Account, ConnectionContext, Position, ProviderError, Rejected, Session, Sink, extra,
                       map_each, map_one)

from ibmon_ibkr_flex.client import FlexClient
from ibmon_ibkr_flex.kinds import NAV_POINTS, STATEMENT, TRADES, Cash, NavDay, Statement, Trade
from ibmon_ibkr_flex.statement import FlexPosition, FlexReport, FlexStatement


class FlexSession(Session):
    def __init__(self, ctx: ConnectionContext, **client_settings: Any) -> None:
        """`client_settings` reach FlexClient (tests pass a fast limiter, clock and sleep)."""
        options = ctx.options
        self.ctx = ctx
        self.poll_interval = float(options["poll_seconds"])
        self.stale_after = 3 * self.poll_interval + float(options["max_wait_seconds"])
        #: A poll waits up to max_wait_seconds for the statement to be generated, then downloads it.
        self.poll_timeout = float(options["max_wait_seconds"]) + 60.0
        self.client = FlexClient(options["token"], options["query_id"], base_url=options["base_url"],
                                 user_agent=options["user_agent"], verify=options["tls_verify"],
                                 timeout=float(options["timeout"]),
                                 max_wait_seconds=float(options["max_wait_seconds"]), **client_settings)

    async def poll(self, sink: Sink) -> None:
        report = await self.client.fetch()
        if not report.statements:
            raise ProviderError("the Flex query returned no statement: check that it selects accounts")
        accounts = map_each(account_of, report.statements, key=lambda statement: statement.account_id)
        if all(isinstance(account, Rejected) for account in accounts):  # the query itself is wrong
            raise ProviderError(accounts[0].reason)  # type: ignore[union-attr]
        positions = [position for statement in report.statements for position in positions_of(statement)]
        fetched_ms = int(time.time() * 1000)
        sink.accounts(accounts)
        sink.positions(positions)
        sink.replace(STATEMENT, map_each(partial(statement_of, fetched_ms=fetched_ms), report.statements,
                                         key=lambda statement: statement.account_id))
        sink.note(*notes_of(report))

    async def close(self) -> None:
        await self.client.aclose()


NAV_SECTIONS = "'Net Asset Value (NAV) in Base' or 'Change in NAV'"


def account_of(statement: FlexStatement) -> Account:
    """The account of one statement: its balance is the NAV in base currency (None without a NAV
    section); cash is the base-currency total, or each currency's cash when the statement has no
    base summary."""
    period = (f"{statement.from_date}..{statement.to_date}"
              if statement.from_date and statement.to_date else None)
    per_currency: tuple[tuple[str, str], ...] = ()
    if statement.base_cash is None:
        per_currency = tuple((f"cash {cash.currency}", str(cash.ending_cash))
                             for cash in statement.cash if cash.ending_cash is not None)
    return Account(
        id=statement.account_id,
        balance=statement.nav,
        currency=statement.base_currency,
        extra=extra(holder=statement.name, cash=statement.base_cash, type=statement.account_info.get("accountType"),
                    period=period, generated=statement.when_generated) + per_currency,
    )


def statement_of(statement: FlexStatement, fetched_ms: int) -> Statement:
    """The screen's record of one statement: the latest NAV points, cash, the newest trades."""
    trades = [Trade(when=trade.when.isoformat() if trade.when else None, symbol=trade.symbol,
                    buy_sell=trade.buy_sell, quantity=trade.quantity, price=trade.price, proceeds=trade.proceeds,
                    commission=trade.commission, currency=trade.currency)
              for trade in reversed(statement.trades[-TRADES:])]
    return Statement(
        account_id=statement.account_id, name=statement.name, base_currency=statement.base_currency,
        nav=statement.nav, base_cash=statement.base_cash,
        from_date=statement.from_date.isoformat() if statement.from_date else None,
        to_date=statement.to_date.isoformat() if statement.to_date else None,
        generated=statement.when_generated.isoformat() if statement.when_generated else None,
        fetched_at=fetched_ms,
        nav_history=tuple(NavDay(point.day.isoformat(), point.total) for point in statement.nav_history[-NAV_POINTS:]),
        cash=tuple(Cash(cash.currency, cash.ending_cash, cash.ending_settled_cash) for cash in statement.cash),
        trades=tuple(trades), trade_count=len(statement.trades))


def notes_of(report: FlexReport) -> tuple[str, ...]:
    """What the health line says about the query itself: statements without a NAV section."""
    without = [statement.account_id for statement in report.statements if statement.nav is None]
    if not without:
        return ()
    shown = ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5 else "")
    return (f"balance unknown for {shown}: add the {NAV_SECTIONS} section to the Flex query",)


def positions_of(statement: FlexStatement) -> list[Position | Rejected]:
    """The statement's open positions, each mapped on its own (a failure is a Rejected in its place)."""
    positions: list[Position | Rejected] = []
    seen: set[str] = set()
    account = statement.account_id
    for row in statement.positions:
        if row.quantity == 0:
            continue
        position_id = _unique(row.conid or row.symbol, seen)
        positions.append(map_one(partial(position_of, account, position_id), row,
                                 key=lambda _row, pid=position_id: (account, pid)))
    return positions


def position_of(account_id: str, position_id: str, row: FlexPosition) -> Position:
    return Position(
        account=account_id,
        id=position_id,
        symbol=row.symbol,
        side="buy" if row.quantity > 0 else "sell",
        volume=abs(row.quantity),
        open_price=row.cost_basis_price,
        current_price=row.mark_price,
        profit=row.unrealized_pnl,
        currency=row.currency,
        extra=extra(asset=row.asset_category, currency=row.currency, value=row.position_value,
                    cost_basis=row.cost_basis_money, lots=row.lots if row.lots > 1 else None),
    )


def _unique(candidate: str, seen: set[str]) -> str:
    """Position ids are unique per account even if a query lists one contract twice."""
    result, n = candidate, 1
    while result in seen:
        n += 1
        result = f"{candidate}#{n}"
    seen.add(result)
    return result
