"""Accounts API JSON → ibmon records, exactly (cents → Decimal, prices as sent).

Assumption (the Accounts API pages do not say): position and deal `volume` is, like every cTrader
volume, in cents of units; ibmon shows units (volume 10000000 → 100000 units = 1 FX lot).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from ibmon.sdk import Account, Position, Rejected, Tick, dec, dec_or_none, extra, from_cents, map_each, with_places

#: Account fields ibmon derives from the open positions rather than reads.
COMPUTED = frozenset({"equity", "profit"})


def account_id(raw: dict[str, Any]) -> str:
    return str(raw["accountId"])


def open_result(positions: Iterable[dict[str, Any]]) -> Decimal:
    """Open positions' profit + swap + commission, in the account currency (cents summed exactly)."""
    cents = sum((dec(p.get(name) or 0, name) for p in positions for name in ("profit", "swap", "commission")),
                Decimal(0))
    return from_cents(cents, "profit")


def account(raw: dict[str, Any], positions: list[dict[str, Any]] | None) -> Account:
    """The account with equity and profit computed from its open positions (unknown: None)."""
    balance = from_cents(raw["balance"], "balance")
    result = None if positions is None else open_result(positions)
    leverage = raw.get("leverage")
    return Account(
        id=account_id(raw),
        balance=balance,
        currency=raw.get("depositCurrency"),
        equity=None if result is None else balance + result,
        profit=result,
        name=str(raw.get("accountNumber") or raw["accountId"]),
        computed=frozenset() if result is None else COMPUTED,
        extra=extra(broker=raw.get("brokerTitle") or raw.get("brokerName"),
                    type="live" if raw.get("live") else "demo",
                    leverage=f"1:{leverage}" if leverage else None,
                    account_type=raw.get("traderAccountType")),
    )


def positions(account: str, raw_positions: list[dict[str, Any]], digits: dict[str, int] | None = None,
              currency: str | None = None) -> list[Position | Rejected]:
    """An account's positions, each mapped on its own (one that fails is a Rejected in its place).
    `currency` is the account's deposit currency, the one cTrader reports profits in."""
    return map_each(partial(position, account, digits=digits, currency=currency), raw_positions,
                    key=lambda raw: (account, str(raw["positionId"])))


def volume_units(raw_volume: Any) -> Decimal:
    return from_cents(raw_volume, "volume")


def position(account: str, raw: dict[str, Any], digits: dict[str, int] | None = None,
             currency: str | None = None) -> Position:
    """`digits` (symbol → price digits, from SymbolJson) pads prices the JSON number shortened."""
    places = (digits or {}).get(str(raw.get("symbolName")))
    side = str(raw.get("tradeSide", "")).upper()
    if side not in ("BUY", "SELL"):
        raise ValueError(f"position {raw.get('positionId')}: tradeSide must be BUY or SELL, not {side!r}")
    return Position(
        account=account,
        id=str(raw["positionId"]),
        symbol=str(raw["symbolName"]),
        side="buy" if side == "BUY" else "sell",
        volume=volume_units(raw["volume"]),
        open_price=with_places(dec_or_none(raw.get("entryPrice"), "entryPrice"), places),
        current_price=with_places(dec_or_none(raw.get("currentPrice"), "currentPrice"), places),
        profit=from_cents(raw.get("profit") or 0, "profit"),
        currency=currency,
        extra=extra(swap=cents_or_none(raw.get("swap"), "swap"),
                    commission=cents_or_none(raw.get("commission"), "commission"),
                    pips=raw.get("profitInPips"), stop_loss=raw.get("stopLoss"),
                    take_profit=raw.get("takeProfit"), opened_ms=raw.get("entryTimestamp"),
                    label=raw.get("label") or None, comment=raw.get("comment") or None),
    )


def tick(raw: dict[str, Any], at_ms: int) -> Tick | None:
    """A tick from a SymbolJson's last quotes (None while the symbol has none)."""
    bid, ask = raw.get("lastBid"), raw.get("lastAsk")
    if bid is None or ask is None:
        return None
    places = raw.get("digits")
    return Tick(str(raw["symbolName"]), with_places(dec(bid, "lastBid"), places),
                with_places(dec(ask, "lastAsk"), places), at_ms)


def cents_or_none(value: Any, field: str) -> Decimal | None:
    return None if value is None else from_cents(value, field)
