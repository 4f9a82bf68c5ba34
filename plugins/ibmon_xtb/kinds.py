"""The XTB plugin's own records: chart candles (a kind the stream writes into the store) and what
its screen asks for on demand (the symbol list, closed trades), with the requests that return them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ibmon.sdk import Option, RecordKind, RequestSpec


@dataclass(frozen=True, slots=True)
class Candle:
    """One chart candle of a symbol in prices (the wire sends integers scaled by 10^digits, shifts
    from open). `time` is the candle's start, Unix milliseconds."""

    symbol: str
    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """One instrument of getAllSymbols: its base (`currency`) and quote (`currency_profit`) currency."""

    symbol: str
    category: str
    description: str
    currency: str
    currency_profit: str


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One closed trade of getTradesHistory; profit is in the account currency."""

    closed: str
    symbol: str
    side: str
    volume: Decimal | None
    open_price: Decimal | None
    close_price: Decimal | None
    profit: Decimal | None
    position: str


#: The latest candle of each symbol a screen follows (the getCandles stream).
CANDLE = RecordKind("xtb.candle", Candle, ("symbol",), "candles")
KINDS = (CANDLE,)

SYMBOL = Option("symbol", "str", required=True, help="instrument, e.g. EURUSD")
REQUESTS = (
    RequestSpec("xtb.symbols", SymbolInfo, "every instrument the server offers (getAllSymbols)"),
    RequestSpec("xtb.chart", CANDLE, "1-minute candles of a symbol up to now (getChartRangeRequest)",
                params=(SYMBOL, Option("minutes", "int", default=120, minimum=1, maximum=1440,
                                       help="how far back"))),
    RequestSpec("xtb.watch_candles", CANDLE, "follow a symbol's candles: they arrive as xtb.candle records",
                params=(SYMBOL,)),
    RequestSpec("xtb.stop_candles", CANDLE, "stop following a symbol's candles", params=(SYMBOL,)),
    RequestSpec("xtb.trade_history", ClosedTrade, "closed trades (getTradesHistory)",
                params=(Option("days", "int", default=30, minimum=1, maximum=365, help="how far back"),)),
)
