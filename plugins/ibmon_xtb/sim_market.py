"""The simulator's market and accounts: symbols that random-walk, users with positions whose profit
follows the prices, and the xAPI records (SYMBOL_RECORD, TRADE_RECORD...) built from them.

Pure state, no I/O: `sim.py` serves it. Money and prices are Decimal; they go on the wire as JSON
floats, as the real server sends them.

Currencies as xAPI has them: in a SYMBOL_RECORD `currency` is the base currency and `currencyProfit`
the quote currency, in which a price move is worth money (EUR / USD for EURUSD, BTC / USD for
BITCOIN, USD / USD for GOLD or a US stock CFD; a recorded USDPLN record of a real server has
USD / PLN). A trade's `profit`, the account's margin figures and getMarginTrade's margin are in the
ACCOUNT currency: the market converts them from the quote currency at its own current prices.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")

# name, categoryName, description, price, precision, contract size, base currency, quote currency,
# leverage (margin = notional / leverage)
SYMBOLS: tuple[tuple[str, str, str, str, int, int, str, str, int], ...] = (
    ("EURUSD", "FX", "Euro to US Dollar", "1.08512", 5, 100000, "EUR", "USD", 30),
    ("GBPUSD", "FX", "British Pound to US Dollar", "1.27034", 5, 100000, "GBP", "USD", 30),
    ("USDJPY", "FX", "US Dollar to Japanese Yen", "151.204", 3, 100000, "USD", "JPY", 30),
    ("USDCHF", "FX", "US Dollar to Swiss Franc", "0.88021", 5, 100000, "USD", "CHF", 30),
    ("AUDUSD", "FX", "Australian Dollar to US Dollar", "0.66107", 5, 100000, "AUD", "USD", 20),
    ("EURPLN", "FX", "Euro to Polish Zloty", "4.32150", 5, 100000, "EUR", "PLN", 20),
    ("US500", "IND", "US 500 index", "5204.3", 1, 50, "USD", "USD", 20),
    ("US100", "IND", "US Tech 100 index", "18203.7", 1, 20, "USD", "USD", 20),
    ("DE40", "IND", "Germany 40 index", "18402.5", 1, 25, "EUR", "EUR", 20),
    ("UK100", "IND", "UK 100 index", "8104.2", 1, 10, "GBP", "GBP", 20),
    ("JP225", "IND", "Japan 225 index", "38512", 0, 100, "JPY", "JPY", 20),
    ("GOLD", "CMD", "Gold spot", "2351.42", 2, 100, "USD", "USD", 20),
    ("SILVER", "CMD", "Silver spot", "28.114", 3, 5000, "USD", "USD", 10),
    ("OIL.WTI", "CMD", "Crude oil WTI", "78.52", 2, 1000, "USD", "USD", 10),
    ("NATGAS", "CMD", "Natural gas", "2.514", 3, 10000, "USD", "USD", 10),
    ("BITCOIN", "CRT", "Bitcoin", "65012.50", 2, 1, "BTC", "USD", 2),
    ("ETHEREUM", "CRT", "Ethereum", "3204.15", 2, 1, "ETH", "USD", 2),
    ("AAPL.US", "STC", "Apple Inc", "190.12", 2, 1, "USD", "USD", 5),
    ("TSLA.US", "STC", "Tesla Inc", "175.43", 2, 1, "USD", "USD", 5),
    ("MSFT.US", "STC", "Microsoft Corp", "420.55", 2, 1, "USD", "USD", 5),
    ("NVDA.US", "STC", "NVIDIA Corp", "903.20", 2, 1, "USD", "USD", 5),
    ("PKN.PL", "STC", "Orlen SA", "64.82", 2, 1, "PLN", "PLN", 5),
)
#: The instruments a user's first positions are opened on (then at random): quoted in USD, JPY and
#: EUR, so that an account in another currency shows profits converted from each.
OPENING = ("USDJPY", "US500", "EURUSD", "JP225", "GOLD", "DE40")

PERIODS = (1, 5, 15, 30, 60, 240, 1440, 10080, 43200)
MAX_CANDLES = 50_000


def now_ms() -> int:
    return int(time.time() * 1000)


def time_string(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%b %d, %Y %I:%M:%S %p", time.gmtime(ms / 1000))


@dataclass
class Candle:
    ctm: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass
class Instrument:
    name: str
    category: str
    description: str
    precision: int
    contract_size: int
    base: str  # SYMBOL_RECORD currency
    quote: str  # SYMBOL_RECORD currencyProfit: what a price move is worth in
    leverage: int
    bid: Decimal
    spread: Decimal
    high: Decimal
    low: Decimal
    time: int
    anchor: Decimal  # the starting price, around which chart history is drawn
    candle: Candle | None = None

    @property
    def ask(self) -> Decimal:
        return self.bid + self.spread

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.precision)

    def move(self, rng: random.Random, volatility: float) -> None:
        step = Decimal(str(rng.gauss(0, volatility))) * self.bid
        self.bid = max(self.quantum, (self.bid + step).quantize(self.quantum))
        self.high = max(self.high, self.ask)
        self.low = min(self.low, self.bid)
        self.time = now_ms()
        minute = self.time // 60000 * 60000
        if self.candle is None or self.candle.ctm != minute:
            self.candle = Candle(minute, self.bid, self.bid, self.bid, self.bid)
        else:
            self.candle.high = max(self.candle.high, self.bid)
            self.candle.low = min(self.candle.low, self.bid)
            self.candle.close = self.bid

    def symbol_record(self) -> dict[str, Any]:
        return {
            "ask": self.ask, "bid": self.bid, "categoryName": self.category, "contractSize": self.contract_size,
            "currency": self.base, "currencyPair": self.category == "FX", "currencyProfit": self.quote,
            "description": self.description, "expiration": None, "groupName": self.category,
            "high": self.high, "initialMargin": 0, "instantMaxVolume": 0, "leverage": Decimal(100) / self.leverage,
            "longOnly": False, "lotMax": Decimal("100.0"), "lotMin": Decimal("0.01"), "lotStep": Decimal("0.01"),
            "low": self.low, "marginHedged": 0, "marginHedgedStrong": False, "marginMaintenance": None,
            "marginMode": 101 if self.category == "FX" else 104, "percentage": Decimal("100.0"),
            "pipsPrecision": max(0, self.precision - 1), "precision": self.precision, "profitMode": 5 if self.category == "FX" else 6,
            "quoteId": 10, "shortSelling": True, "spreadRaw": self.spread, "spreadTable": self.spread,
            "starting": None, "stepRuleId": 1, "stopsLevel": 0, "swap_rollover3days": 0, "swapEnable": True,
            "swapLong": Decimal("-2.55929"), "swapShort": Decimal("0.131"), "swapType": 0, "symbol": self.name,
            "tickSize": self.quantum, "tickValue": self.quantum * self.contract_size, "time": self.time,
            "timeString": time_string(self.time), "trailingEnabled": True, "type": 21,
        }

    def tick_record(self, streaming: bool = False) -> dict[str, Any]:
        record = {"ask": self.ask, "askVolume": 15000, "bid": self.bid, "bidVolume": 16000, "high": self.high,
                  "level": 0, "low": self.low, "spreadRaw": self.spread, "spreadTable": self.spread,
                  "symbol": self.name, "timestamp": self.time}
        if streaming:
            record["quoteId"] = 10
        return record

    def history(self, period: int, start: int, end: int) -> list[Candle]:
        """Candles of `period` minutes in [start, end): a stable made-up path around the anchor."""
        span = period * 60000
        first = start // span * span + (span if start % span else 0)
        candles = []
        for ctm in range(first, end, span):
            rng = random.Random(f"{self.name}:{period}:{ctm}")
            wave = math.sin(ctm / (span * 40)) * 0.01 + math.sin(ctm / (span * 7)) * 0.003
            base = float(self.anchor) * (1 + wave)
            o, c = base * (1 + rng.gauss(0, 0.001)), base * (1 + rng.gauss(0, 0.001))
            h, lo = max(o, c) * (1 + abs(rng.gauss(0, 0.0007))), min(o, c) * (1 - abs(rng.gauss(0, 0.0007)))
            q = self.quantum
            candles.append(Candle(ctm, *(Decimal(str(v)).quantize(q) for v in (o, h, lo, c))))
        return candles


@dataclass
class Trade:
    order: int
    symbol: str
    cmd: int  # 0 buy, 1 sell
    volume: Decimal
    open_price: Decimal
    open_time: int
    digits: int
    close_price: Decimal
    profit: Decimal = Decimal("0.00")
    comment: str = ""
    custom_comment: str = ""
    close_time: int | None = None
    margin: Decimal = Decimal("0.00")

    def record(self, *, streaming: bool = False, kind: int = 0) -> dict[str, Any]:
        closed = self.close_time is not None
        record: dict[str, Any] = {
            "close_price": self.close_price, "close_time": self.close_time, "closed": closed, "cmd": self.cmd,
            "comment": self.comment, "commission": Decimal("0.0"), "customComment": self.custom_comment,
            "digits": self.digits, "expiration": None, "margin_rate": Decimal("0.0"), "offset": 0,
            "open_price": self.open_price, "open_time": self.open_time, "order": self.order,
            "order2": self.order + 1, "position": self.order, "profit": self.profit, "sl": Decimal("0.0"),
            "storage": Decimal("0.0"), "symbol": self.symbol, "tp": Decimal("0.0"), "volume": self.volume,
        }
        if streaming:
            record["state"] = "Modified"
            record["type"] = kind
        else:
            record.update(close_timeString=time_string(self.close_time), expirationString=None,
                          open_timeString=time_string(self.open_time), timestamp=now_ms())
        return record


@dataclass
class User:
    user_id: str
    password: str
    currency: str
    balance: Decimal
    credit: Decimal = Decimal("0.00")
    positions: dict[int, Trade] = field(default_factory=dict)
    history: list[Trade] = field(default_factory=list)

    def indicators(self) -> dict[str, Decimal]:
        profit = sum((t.profit for t in self.positions.values()), Decimal("0.00"))
        margin = sum((t.margin for t in self.positions.values()), Decimal("0.00"))
        equity = self.balance + profit
        level = (equity / margin * 100).quantize(CENT) if margin else Decimal("0.00")
        return {"balance": self.balance, "credit": self.credit, "equity": equity, "margin": margin,
                "margin_free": equity - margin, "margin_level": level}

    def balance_record(self) -> dict[str, Decimal]:
        values = self.indicators()
        return {"balance": values["balance"], "credit": values["credit"], "equity": values["equity"],
                "margin": values["margin"], "marginFree": values["margin_free"], "marginLevel": values["margin_level"]}


class Market:
    """Instruments and users. `events` collects (user_id, stream command, data) for the streams."""

    def __init__(self, users: dict[str, str], currency: str = "EUR", balance: Decimal = Decimal("10000.00"),
                 positions: int = 3, seed: int | None = None, volatility: float = 0.00015) -> None:
        self.rng = random.Random(seed)
        self.volatility = volatility
        start = now_ms()
        self.instruments: dict[str, Instrument] = {}
        for name, category, description, price, precision, size, base, quote, leverage in SYMBOLS:
            bid = Decimal(price)
            spread = Decimal(1).scaleb(-precision) * (2 if category == "FX" else 5)
            self.instruments[name] = Instrument(name, category, description, precision, size, base, quote, leverage,
                                                bid, spread, bid + spread, bid, start, bid)
        self.usd = self.usd_values()
        if currency not in self.usd:
            raise ValueError(f"currency: the simulator prices no {currency!r}; choose one of {', '.join(sorted(self.usd))}")
        self._orders = iter(range(70_000_000 + self.rng.randrange(1_000_000) * 10, 10**12, 10))
        self.users = {uid: User(uid, pw, currency, balance) for uid, pw in users.items()}
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        for user in self.users.values():
            for n in range(positions):
                self.open(user, OPENING[n] if n < len(OPENING) else None, announce=False)

    def symbol(self, name: str) -> Instrument | None:
        return self.instruments.get(name)

    def step(self) -> None:
        """Move every price a little; positions' profits follow (in each account's currency)."""
        for instrument in self.instruments.values():
            if self.rng.random() < 0.7:
                instrument.move(self.rng, self.volatility)
        self.usd = self.usd_values()
        for user in self.users.values():
            for trade in user.positions.values():
                self._revalue(trade, user.currency)

    # -- currencies ------------------------------------------------------------------------------

    def usd_values(self) -> dict[str, Decimal]:
        """What one unit of each currency is worth in USD at the current mid prices, found through
        the instruments that price one currency in another (FX pairs, crypto)."""
        values = {"USD": Decimal(1)}
        pairs = [i for i in self.instruments.values() if i.base != i.quote]
        found = True
        while found:
            found = False
            for pair in pairs:
                mid = (pair.bid + pair.ask) / 2
                if pair.base in values and pair.quote not in values:
                    values[pair.quote], found = values[pair.base] / mid, True
                elif pair.quote in values and pair.base not in values:
                    values[pair.base], found = values[pair.quote] * mid, True
        return values

    def rate(self, currency: str, into: str) -> Decimal:
        """What one unit of `currency` is worth in `into` now. A currency the market prices nothing
        in (only a test sets one, on a user already made) counts as one USD."""
        return self.usd.get(currency, Decimal(1)) / self.usd.get(into, Decimal(1))

    def convert(self, amount: Decimal, currency: str, into: str) -> Decimal:
        """`amount` of `currency` in `into`, to the cent."""
        return (amount if currency == into else amount * self.rate(currency, into)).quantize(CENT)

    def margin(self, instrument: Instrument, price: Decimal, volume: Decimal, currency: str) -> Decimal:
        """The margin of `volume` lots at `price`, in the account's `currency`."""
        notional = price * volume * instrument.contract_size  # in the quote currency
        return self.convert(notional / instrument.leverage, instrument.quote, currency)

    def _revalue(self, trade: Trade, currency: str) -> None:
        """The trade's close price and its profit in the account's currency (xAPI's TRADE_RECORD
        profit), converted from the quote currency a price move is worth in."""
        instrument = self.instruments[trade.symbol]
        trade.close_price = instrument.bid if trade.cmd == 0 else instrument.ask
        sign = 1 if trade.cmd == 0 else -1
        in_quote = (trade.close_price - trade.open_price) * trade.volume * instrument.contract_size * sign
        trade.profit = self.convert(in_quote, instrument.quote, currency)

    def next_order(self) -> int:
        return next(self._orders)

    def open(self, user: User, symbol: str | None = None, cmd: int | None = None, volume: Decimal | None = None,
             comment: str = "", announce: bool = True, order: int | None = None) -> Trade:
        instrument = self.instruments[symbol] if symbol else self.rng.choice(list(self.instruments.values()))
        cmd = self.rng.choice((0, 1)) if cmd is None else cmd
        if volume is None:
            volume = self.rng.choice((Decimal("0.1"), Decimal("0.2"), Decimal("0.5"), Decimal("1.0")))
            if instrument.contract_size == 1:
                volume *= 10
        price = instrument.ask if cmd == 0 else instrument.bid
        trade = Trade(order=order or self.next_order(), symbol=instrument.name, cmd=cmd, volume=volume, open_price=price,
                      open_time=now_ms(), digits=instrument.precision, close_price=price, comment=comment,
                      margin=self.margin(instrument, price, volume, user.currency))
        self._revalue(trade, user.currency)
        user.positions[trade.order] = trade
        if announce:
            self.events.append((user.user_id, "trade", trade.record(streaming=True, kind=0)))
        return trade

    def close(self, user: User, order: int, volume: Decimal | None = None) -> Trade:
        """Close (or partly close) an open position; its profit goes to the balance."""
        trade = user.positions[order]
        self._revalue(trade, user.currency)
        if volume is not None and volume < trade.volume:
            part = Trade(**{**trade.__dict__, "order": next(self._orders), "volume": volume,
                            "profit": (trade.profit * volume / trade.volume).quantize(CENT),
                            "margin": (trade.margin * volume / trade.volume).quantize(CENT)})
            trade.volume -= volume
            trade.margin -= part.margin
            self._revalue(trade, user.currency)
            self.events.append((user.user_id, "trade", trade.record(streaming=True, kind=0)))
            closed = part
        else:
            closed = user.positions.pop(order)
        closed.close_time = now_ms()
        user.balance += closed.profit
        user.history.append(closed)
        self.events.append((user.user_id, "trade", closed.record(streaming=True, kind=2)))
        return closed

    def churn(self) -> None:
        """Now and then a position opens or closes (someone trades in the platform)."""
        for user in self.users.values():
            if user.positions and (len(user.positions) >= 6 or self.rng.random() < 0.5):
                self.close(user, self.rng.choice(list(user.positions)))
            else:
                self.open(user, comment="xStation5")

    def drain_events(self) -> list[tuple[str, str, dict[str, Any]]]:
        events, self.events = self.events, []
        return events
