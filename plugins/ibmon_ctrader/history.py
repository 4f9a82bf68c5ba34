"""What the cTrader screen asks for on demand: pages of deals and cash flow (the API's cursor) and
trendbars, as records, with the requests that return them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibmon.sdk import Option, RequestSpec, dec_or_none, from_cents

from ibmon_ctrader.records import cents_or_none as _cents

if TYPE_CHECKING:  # pragma: no cover
    from ibmon_ctrader.client import CTraderClient, CursorKind

#: Entries per page the screen asks for (a page record holds at most 200).
PAGE_LIMIT = 200
#: How far back each trendbar period reaches per bar.
PERIODS = {"m1": timedelta(minutes=1), "h1": timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class Deal:
    time: int | None
    deal_id: str
    position_id: str
    side: str
    symbol: str
    volume: Decimal
    price: Decimal | None
    commission: Decimal | None
    profit: Decimal | None
    balance: Decimal | None


@dataclass(frozen=True, slots=True)
class CashFlow:
    time: int | None
    type: str
    delta: Decimal | None
    balance: Decimal | None
    equity: Decimal | None


@dataclass(frozen=True, slots=True)
class DealPage:
    """One page of deals, newest first; `next` is the cursor of the following page (None: the last)."""

    deals: tuple[Deal, ...]
    next: str | None


@dataclass(frozen=True, slots=True)
class CashFlowPage:
    entries: tuple[CashFlow, ...]
    next: str | None


@dataclass(frozen=True, slots=True)
class Trendbar:
    """One bar's close; `time` is Unix milliseconds."""

    time: int
    close: Decimal


def deal_of(raw: dict[str, Any]) -> Deal:
    close = raw.get("positionCloseDetails") or {}
    when = raw.get("executionTimestamp") or raw.get("createTimestamp")
    return Deal(time=int(when) if when is not None else None, deal_id=str(raw.get("dealId", "")),
                position_id=str(raw.get("positionId", "")), side=str(raw.get("tradeSide", "")).lower(),
                symbol=str(raw.get("symbolName", "")),
                volume=from_cents(raw.get("filledVolume") or raw.get("volume") or 0, "volume"),
                price=dec_or_none(raw.get("executionPrice"), "executionPrice"),
                commission=_cents(raw.get("commission"), "commission"),
                profit=_cents(close.get("profit"), "profit"), balance=_cents(close.get("balance"), "balance"))


def cash_flow_of(raw: dict[str, Any]) -> CashFlow:
    when = raw.get("changeTimestamp")
    return CashFlow(time=int(when) if when is not None else None, type=str(raw.get("type", "")).lower(),
                    delta=_cents(raw.get("delta"), "delta"), balance=_cents(raw.get("balance"), "balance"),
                    equity=_cents(raw.get("equity"), "equity"))


ACCOUNT_ID = Option("account_id", "str", required=True, help="the trading account's id")
PAGE = (ACCOUNT_ID, Option("cursor", "str", help="where the page starts (the previous page's next)"),
        Option("limit", "int", default=50, minimum=1, maximum=PAGE_LIMIT, help="entries per page"))
REQUESTS = (
    RequestSpec("ctrader.deals", DealPage, "one page of an account's deals, newest first", params=PAGE),
    RequestSpec("ctrader.cashflow", CashFlowPage, "one page of an account's cash flow, newest first", params=PAGE),
    RequestSpec("ctrader.trendbars", Trendbar, "bars of a symbol up to now", params=(
        ACCOUNT_ID, Option("symbol", "str", required=True, help="e.g. EURUSD"),
        Option("period", "str", default="h1", choices=tuple(PERIODS), help="bar length"),
        Option("bars", "int", default=120, minimum=1, maximum=5000, help="how many bars back"))),
)


async def answer(client: "CTraderClient", name: str, params: dict[str, Any]) -> list[Any] | None:
    """The records answering one of REQUESTS (None: not one of them)."""
    if name in ("ctrader.deals", "ctrader.cashflow"):
        kind: "CursorKind" = "deals" if name == "ctrader.deals" else "cashflowhistory"
        limit = params["limit"]
        page = await client.page(params["account_id"], kind, limit=limit, cursor=params["cursor"])
        items = [item for item in page.items if isinstance(item, dict)][:limit]
        if kind == "deals":
            return [DealPage(tuple(map(deal_of, items)), page.next)]
        return [CashFlowPage(tuple(map(cash_flow_of, items)), page.next)]
    if name == "ctrader.trendbars":
        period = params["period"]
        end = datetime.now(timezone.utc).replace(microsecond=0)
        bars = await client.trendbars(params["account_id"], params["symbol"], period,
                                      end - PERIODS[period] * params["bars"], end)
        return [Trendbar(int(bar["timestamp"]), Decimal(str(bar["close"]))) for bar in bars if isinstance(bar, dict)]
    return None
