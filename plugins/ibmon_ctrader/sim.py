"""A loopback simulator of Spotware Connect's Accounts API.

Speaks the documented REST protocol: `{"data": ...}` replies, cursor pages with `next`, the error
envelope with the documented codes and statuses, money in integer cents, timestamps in Unix ms,
prices as JSON numbers. A cTrader ID owns live and demo accounts in several currencies; prices move
along a deterministic curve of time (so tick data and trendbars of the past are stable), open
positions' profit follows them, and a ticker keeps opening/closing positions (deals) and booking
deposits (cash flow).

Tokens: `token` may do everything, `readonly_token` lacks the trading scope (deposit, withdraw,
createdemo → CH_INSUFFICIENT_PERMISSIONS), `orphan_token` belongs to no cTrader ID
(CH_CTID_NOT_FOUND); anything else → CH_ACCESS_TOKEN_INVALID. The kit's `error_rate` fault answers
500 UNKNOWN_ERROR in cTrader's envelope. Settings are declared in `sim_settings.py`;
`CTraderControl` is the handle tests and the soak use.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from ibmon.sdk import RunningSimulator
from ibmon.simkit import (Faults, HttpControl, HttpSimulator, check_settings, json_body, on_loop, text_reply,
                          tls_context)

from ibmon_ctrader.sim_settings import DEFAULT_TOKEN, SETTINGS

READONLY_TOKEN = "ctrader-sim-readonly-8b1d40c6"
ORPHAN_TOKEN = "ctrader-sim-orphan-55e0a9d3"

MIN_LIMIT, MAX_LIMIT = 25, 750
MAX_TICKS = 5000
MAX_TRENDBARS = 5000
DAY_MS = 86_400_000
#: How many units one cTrader volume unit is (volumes are in cents of units).
VOLUME_CENTS = 100


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    base: float
    digits: int
    pip_position: int
    spread_points: int
    quote: str  # currency profits are made in
    lot_units: int


SYMBOLS = {s.name: s for s in (
    SymbolSpec("EURUSD", 1.08500, 5, 4, 8, "USD", 100_000),
    SymbolSpec("GBPUSD", 1.27000, 5, 4, 12, "USD", 100_000),
    SymbolSpec("USDJPY", 151.200, 3, 2, 9, "JPY", 100_000),
    SymbolSpec("EURGBP", 0.85000, 5, 4, 10, "GBP", 100_000),
    SymbolSpec("XAUUSD", 2400.00, 2, 1, 30, "USD", 100),
    SymbolSpec("US500", 5200.0, 1, 0, 5, "USD", 100),
)}
#: Rough value of one unit of each currency in USD (profit conversion into the deposit currency).
USD_VALUE = {"USD": Decimal("1"), "EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "JPY": Decimal("0.0066"),
             "CHF": Decimal("1.12"), "AUD": Decimal("0.66")}

ERRORS = {
    "UNKNOWN_ERROR": "Server internal error.",
    "INVALID_REQUEST": "Client invalid request (request validation failure).",
    "CH_INSUFFICIENT_PERMISSIONS": "The request requires higher privileges than provided by the access token.",
    "CH_ACCESS_TOKEN_INVALID": "The access token provided is invalid.",
    "CH_CURSOR_INVALID": "Invalid cursor.",
    "CH_CTID_NOT_FOUND": "cTID for the given access token was not found.",
    "CH_CTID_TRADER_ACCOUNT_NOT_FOUND": "Trading account with the given id was not found.",
    "CH_SYMBOL_NOT_FOUND": "Symbol with the given id was not found.",
    "CH_DEPOSIT_CURRENCY_INVALID": "Deposit currency with the given name is invalid.",
    "CH_TRADER_ACCOUNT_NOT_FOUND": "Linked trader account is not found on trading server.",
}

SCHEMA = {
    "MessageJson": {"data": "object"},
    "CursorMessageJson": {"data": "array", "next": "string (present while more data exists)"},
    "ErrorJson": {"error": {"errorCode": "string", "description": "string"}},
    "TradingAccountJson": ["accountId", "accountNumber", "live", "brokerName", "brokerTitle", "depositCurrency",
                           "traderRegistrationTimestamp", "traderAccountType", "leverage", "balance", "deleted"],
    "PositionJson": ["positionId", "entryTimestamp", "symbolName", "tradeSide", "entryPrice", "volume", "stopLoss",
                     "takeProfit", "profit", "profitInPips", "commission", "swap", "currentPrice", "comment",
                     "label"],
    "DealJson": ["dealId", "positionId", "orderId", "tradeSide", "volume", "filledVolume", "symbolName",
                 "commission", "executionPrice", "createTimestamp", "executionTimestamp", "positionCloseDetails"],
    "PendingOrderJson": ["orderId", "symbolName", "tradeSide", "orderType", "volume", "limitPrice", "stopPrice",
                         "createTimestamp", "expirationTimestamp", "stopLoss", "takeProfit", "comment", "label"],
    "CashflowJson": ["cashflowId", "type", "delta", "balance", "changeTimestamp", "equity"],
    "SymbolJson": ["symbolName", "digits", "pipPosition", "lastBid", "lastAsk", "description"],
    "TickDataJson": ["timestamp", "tick"],
    "TrendbarJson": ["timestamp", "open", "high", "low", "close", "volume"],
    "DepositWithdrawReqJson": {"amount": "integer, cents"},
    "CreateDemoTradingAccountReqJson": {"depositCurrency": "string", "balance": "integer, cents",
                                        "leverage": "integer"},
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, description: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.description = status, code, description or ERRORS[code]


def now_ms() -> int:
    return int(time.time() * 1000)


# -- prices: a deterministic curve of time ---------------------------------------------------------

def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for the given parts."""
    return zlib.crc32(":".join(map(str, parts)).encode()) / 2**32


def mid_price(spec: SymbolSpec, t_ms: int) -> float:
    t = t_ms / 1000
    phase = _unit(spec.name) * 2 * math.pi
    # Incommensurate waves from days to minutes read like a market at every chart period.
    wave = (0.006 * math.sin(2 * math.pi * t / 259_200 + phase)
            + 0.003 * math.sin(2 * math.pi * t / 73_441 + 2 * phase)
            + 0.0015 * math.sin(2 * math.pi * t / 7_993 + 3 * phase)
            + 0.0006 * math.sin(2 * math.pi * t / 1_021 + 4 * phase)
            + 0.0003 * math.sin(2 * math.pi * t / 173 + 5 * phase)
            + 0.0002 * (_unit(spec.name, t_ms // 250) - 0.5))
    return spec.base * (1 + wave)


def quote(spec: SymbolSpec, t_ms: int) -> tuple[Decimal, Decimal]:
    point = Decimal(1).scaleb(-spec.digits)
    mid = Decimal(repr(mid_price(spec, t_ms)))
    bid = (mid - point * spec.spread_points / 2).quantize(point, ROUND_HALF_EVEN)
    return bid, bid + point * spec.spread_points


def number(value: Decimal) -> float:
    """A price as a JSON number: the shortest float repr of a price with a few digits is those digits."""
    return float(value)


# -- state -------------------------------------------------------------------------------------------

@dataclass
class SimPosition:
    id: int
    symbol: str
    side: str  # BUY / SELL
    volume: int  # cents of units
    entry_price: Decimal
    entry_ms: int
    swap: int = 0
    commission: int = 0
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    label: str = ""


@dataclass
class SimAccount:
    id: int
    number: int
    live: bool
    currency: str
    balance: int  # cents
    leverage: int = 100
    broker_name: str = "simmarkets"
    broker_title: str = "Sim Markets Ltd"
    registered_ms: int = 0
    deleted: bool = False
    #: Listed as linked but gone from the trading server (CH_TRADER_ACCOUNT_NOT_FOUND).
    lost: bool = False
    positions: dict[int, SimPosition] = field(default_factory=dict)
    deals: list[dict[str, Any]] = field(default_factory=list)
    cashflow: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"accountId": self.id, "accountNumber": self.number, "live": self.live,
                "brokerName": self.broker_name, "brokerTitle": self.broker_title,
                "depositCurrency": self.currency, "traderRegistrationTimestamp": self.registered_ms,
                "traderAccountType": "HEDGED", "leverage": self.leverage, "balance": self.balance,
                "deleted": self.deleted}


class CTraderSim:
    """The simulated Accounts API: state, request handling and the market step (all on the
    simulator's loop: `CTraderControl` reaches it)."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, readonly_token: str = READONLY_TOKEN,
                 orphan_token: str = ORPHAN_TOKEN, seed: int | None = None, revoke_token: bool = False,
                 history_deals: int = 80, history_cashflows: int = 40, deals: bool = True,
                 clock: Callable[[], int] = now_ms) -> None:
        self.rng = random.Random(seed)
        self.deals = deals
        self.clock = clock
        self.tokens = {token: "full", readonly_token: "read", orphan_token: "orphan"}
        self.token = token
        self.revoked: set[str] = {token} if revoke_token else set()
        self._ids = iter(range(7_000_001, 10**9))
        self.accounts: dict[int, SimAccount] = {}
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}
        self.refresh_quotes()
        self._seed_accounts(history_deals, history_cashflows)

    # -- knobs for tests and demos ---------------------------------------------------------------

    def revoke_token(self, token: str | None = None) -> None:
        self.revoked.add(token or self.token)

    def restore_token(self, token: str | None = None) -> None:
        self.revoked.discard(token or self.token)

    def next_id(self) -> int:
        return next(self._ids)

    # -- seeding ---------------------------------------------------------------------------------

    def _seed_accounts(self, history_deals: int, history_cashflows: int) -> None:
        now = self.clock()
        plan = [  # id, number, live, currency, balance cents, leverage, deleted
            (5_010_001, 3_100_001, True, "USD", 123_456_789, 500, False),
            (5_010_002, 3_100_002, False, "EUR", 1_000_000, 100, False),
            (5_010_003, 3_100_003, False, "GBP", 2_500_050, 200, False),
            (5_010_004, 3_100_004, True, "JPY", 150_000_000, 100, False),
            (5_010_005, 3_100_005, False, "USD", 500_000, 100, True),
        ]
        for account_id, number, live, currency, balance, leverage, deleted in plan:
            account = SimAccount(account_id, number, live, currency, balance, leverage,
                                 broker_title="Sim Markets Ltd" if live else "Sim Markets Demo",
                                 registered_ms=now - 400 * DAY_MS, deleted=deleted)
            self.accounts[account_id] = account
            self._seed_history(account, now, history_deals, history_cashflows)
            for _ in range(self.rng.randint(2, 4)):
                self.open_position(account, now - self.rng.randint(60_000, 3 * DAY_MS), record_deal=False)
            self._seed_orders(account, now)

    def _seed_history(self, account: SimAccount, now: int, deals: int, cashflows: int) -> None:
        """Twenty days of round trips and client deposits/withdrawals, funded by a first deposit of
        today's balance and squared by a last cash flow so the running balances end at it."""
        target = account.balance
        start = now - 20 * DAY_MS
        balance = target
        self._cashflow(account, "DEPOSIT", target, balance, start - DAY_MS)
        events = sorted([("trip", start + self.rng.randrange(20 * DAY_MS - DAY_MS)) for _ in range(deals // 2)]
                        + [("cash", start + self.rng.randrange(20 * DAY_MS - DAY_MS)) for _ in range(cashflows)],
                        key=lambda event: event[1])
        for kind, moment in events:
            if kind == "trip":
                balance += self._round_trip(account, moment, balance)
            else:
                delta = self.rng.choice((1, -1)) * self.rng.randint(target // 100, target // 20)
                balance += delta
                self._cashflow(account, "DEPOSIT" if delta > 0 else "WITHDRAW", delta, balance, moment)
        if balance != target:
            delta = target - balance
            self._cashflow(account, "DEPOSIT" if delta > 0 else "WITHDRAW", delta, target, now - 3_600_000)
        account.balance = target

    def _round_trip(self, account: SimAccount, opened: int, balance: int) -> int:
        """An opening and a closing deal of one past position; returns its net result in cents."""
        spec = self.rng.choice(list(SYMBOLS.values()))
        side = self.rng.choice(("BUY", "SELL"))
        volume = self._volume(spec, (1, 5, 10))
        closed = opened + self.rng.randint(60_000, 6 * 3_600_000)
        entry = quote(spec, opened)[0 if side == "SELL" else 1]
        position = SimPosition(self.next_id(), spec.name, side, volume, entry, opened,
                               commission=self._commission(account, spec, volume))
        self.deals_append(account, position, opened, opening=True)
        exit_price = quote(spec, closed)[0 if side == "BUY" else 1]
        profit = self._profit(account, position, exit_price)
        account.balance = balance + profit + position.commission
        self.deals_append(account, position, closed, opening=False, price=exit_price, profit=profit)
        return profit + position.commission

    def _volume(self, spec: SymbolSpec, hundredths_of_lot: tuple[int, ...]) -> int:
        """A volume (cents of units) of a few hundredths of the symbol's lot."""
        return spec.lot_units * self.rng.choice(hundredths_of_lot) * VOLUME_CENTS // 100

    def _seed_orders(self, account: SimAccount, now: int) -> None:
        for _ in range(2):
            spec = self.rng.choice(list(SYMBOLS.values()))
            side = self.rng.choice(("BUY", "SELL"))
            bid, _ask = self.quotes[spec.name]
            offset = Decimal(1).scaleb(-spec.digits) * self.rng.randint(100, 900)
            price = bid - offset if side == "BUY" else bid + offset
            account.orders.append({
                "orderId": self.next_id(), "symbolName": spec.name, "tradeSide": side, "orderType": "LIMIT",
                "volume": self._volume(spec, (1, 10)), "limitPrice": number(price),
                "createTimestamp": now - self.rng.randint(60_000, DAY_MS), "expirationTimestamp": None,
                "stopLoss": None, "takeProfit": None, "comment": "", "label": "sim"})

    # -- trading -----------------------------------------------------------------------------------

    def _commission(self, account: SimAccount, spec: SymbolSpec, volume: int) -> int:
        """-3.50 USD per lot, in the deposit currency."""
        usd = Decimal("3.50") * Decimal(volume) / (spec.lot_units * VOLUME_CENTS)
        return -int((usd / USD_VALUE[account.currency] * 100).quantize(Decimal(1), ROUND_HALF_EVEN))

    def _profit(self, account: SimAccount, position: SimPosition, close_price: Decimal) -> int:
        units = Decimal(position.volume) / VOLUME_CENTS
        move = close_price - position.entry_price if position.side == "BUY" else position.entry_price - close_price
        in_quote = move * units
        in_deposit = in_quote * USD_VALUE[SYMBOLS[position.symbol].quote] / USD_VALUE[account.currency]
        return int((in_deposit * 100).quantize(Decimal(1), ROUND_HALF_EVEN))

    def _close_price(self, position: SimPosition) -> Decimal:
        bid, ask = self.quotes[position.symbol]
        return bid if position.side == "BUY" else ask

    def deals_append(self, account: SimAccount, position: SimPosition, moment: int, *, opening: bool,
                     price: Decimal | None = None, profit: int = 0) -> None:
        deal: dict[str, Any] = {
            "dealId": self.next_id(), "positionId": position.id, "orderId": self.next_id(),
            "tradeSide": position.side if opening else ("SELL" if position.side == "BUY" else "BUY"),
            "volume": position.volume, "filledVolume": position.volume, "symbolName": position.symbol,
            "commission": position.commission // 2 if opening else position.commission - position.commission // 2,
            "executionPrice": number(position.entry_price if opening else price),
            "createTimestamp": moment, "executionTimestamp": moment + 40, "dealStatus": "FILLED",
        }
        if not opening:
            deal["positionCloseDetails"] = {
                "entryPrice": number(position.entry_price), "profit": profit, "swap": position.swap,
                "commission": position.commission, "balance": account.balance, "closedVolume": position.volume,
                "quoteToDepositConversionRate": 1}
        account.deals.append(deal)

    def open_position(self, account: SimAccount, moment: int, *, record_deal: bool = True) -> SimPosition:
        spec = self.rng.choice(list(SYMBOLS.values()))
        side = self.rng.choice(("BUY", "SELL"))
        volume = self._volume(spec, (1, 5, 20))
        bid, ask = quote(spec, moment)
        position = SimPosition(self.next_id(), spec.name, side, volume, ask if side == "BUY" else bid, moment,
                               swap=-self.rng.randint(0, 2_000) * volume // (spec.lot_units * VOLUME_CENTS), commission=self._commission(account, spec, volume),
                               label="sim")
        account.positions[position.id] = position
        if record_deal:
            self.deals_append(account, position, moment, opening=True)
        return position

    def close_position(self, account: SimAccount, position: SimPosition, moment: int) -> None:
        price = self._close_price(position)
        profit = self._profit(account, position, price)
        account.balance += profit + position.swap + position.commission
        del account.positions[position.id]
        self.deals_append(account, position, moment, opening=False, price=price, profit=profit)

    def _cashflow(self, account: SimAccount, kind: str, delta: int, balance: int, moment: int) -> None:
        equity = balance + sum(self.position_json(account, p)["profit"] + p.swap + p.commission
                               for p in account.positions.values())
        account.cashflow.append({"cashflowId": self.next_id(), "type": kind, "delta": delta, "balance": balance,
                                 "changeTimestamp": moment, "equity": equity})

    def refresh_quotes(self) -> None:
        moment = self.clock()
        self.quotes = {name: quote(spec, moment) for name, spec in SYMBOLS.items()}

    def step(self) -> None:
        """One tick of the market: new quotes; now and then a deal or a client deposit (with `deals`)."""
        self.refresh_quotes()
        if not self.deals:
            return
        moment = self.clock()
        accounts = [a for a in self.accounts.values() if not a.deleted]
        roll = self.rng.random()
        account = self.rng.choice(accounts)
        if roll < 0.06:
            if len(account.positions) < 2 or (len(account.positions) < 6 and self.rng.random() < 0.5):
                self.open_position(account, moment)
            else:
                self.close_position(account, self.rng.choice(list(account.positions.values())), moment)
        elif roll < 0.08:
            delta = self.rng.choice((10_000, 50_000, 100_000))
            account.balance += delta
            self._cashflow(account, "DEPOSIT", delta, account.balance, moment)

    # -- JSON views --------------------------------------------------------------------------------

    def position_json(self, account: SimAccount, position: SimPosition) -> dict[str, Any]:
        spec = SYMBOLS[position.symbol]
        price = self._close_price(position)
        move = price - position.entry_price if position.side == "BUY" else position.entry_price - price
        return {
            "positionId": position.id, "entryTimestamp": position.entry_ms, "symbolName": position.symbol,
            "tradeSide": position.side, "entryPrice": number(position.entry_price), "volume": position.volume,
            "stopLoss": None, "takeProfit": None, "profit": self._profit(account, position, price),
            "profitInPips": number((move.scaleb(spec.pip_position)).quantize(Decimal("0.1"))),
            "commission": position.commission, "swap": position.swap, "currentPrice": number(price),
            "comment": "", "label": position.label,
        }

    # -- HTTP ----------------------------------------------------------------------------------------

    def routes(self, router: web.UrlDispatcher) -> None:
        accounts = "/connect/tradingaccounts"
        one = accounts + "/{id}"
        router.add_get("/connect/schema", self._schema)
        router.add_get("/connect/schema/", self._schema)
        router.add_get("/connect/profile", self._api(self._profile))
        router.add_get(accounts, self._api(self._accounts))
        router.add_post(accounts + "/createdemo", self._api(self._create_demo, trading=True))
        router.add_post(one + "/{kind:deposit|withdraw}", self._api(self._move, trading=True, account=True))
        router.add_get(one + "/deals", self._api(self._listing("deals", "createTimestamp", "dealId", 25), account=True))
        router.add_get(one + "/cashflowhistory",
                       self._api(self._listing("cashflow", "changeTimestamp", "cashflowId", 25), account=True))
        router.add_get(one + "/pendingorders",
                       self._api(self._listing("orders", "createTimestamp", "orderId", 750), account=True))
        router.add_get(one + "/positions", self._api(self._positions, account=True))
        router.add_get(one + "/symbols", self._api(self._symbols, account=True))
        router.add_get(one + "/symbols/{symbol}/{side:bid|ask}", self._api(self._tick_data, account=True))
        router.add_get(one + "/symbols/{symbol}/trendbars/{period:m1|h1}", self._api(self._trendbar_data, account=True))
        router.add_route("*", "/{tail:.*}", self._api(self._unknown))

    @staticmethod
    async def _schema(request: web.Request) -> web.Response:
        return text_reply(json.dumps(SCHEMA, indent=2), content_type="application/json")

    def _api(self, handler: Any, *, trading: bool = False, account: bool = False) -> Any:
        """`handler(request[, account])` (it returns the reply's JSON) behind the token checks, its
        ApiErrors answered in cTrader's envelope."""

        async def guarded(request: web.Request) -> web.Response:
            try:
                scope = self._scope(request)
                if scope == "orphan":
                    raise ApiError(404, "CH_CTID_NOT_FOUND")
                if trading:
                    self._need_trading(scope)
                if account:
                    return _reply(await handler(request, self._account(request.match_info["id"])))
                return _reply(await handler(request))
            except ApiError as error:
                return _error_reply(error)

        return guarded

    async def _unknown(self, request: web.Request) -> Any:
        raise ApiError(400, "INVALID_REQUEST", f"Unknown URL {request.path}")

    async def _profile(self, request: web.Request) -> Any:
        return {"data": {"userId": 77_001, "nickname": "ib-partner", "email": "partner@example.com"}}

    async def _accounts(self, request: web.Request) -> Any:
        return {"data": [a.json() for a in self.accounts.values()]}

    def _listing(self, what: str, ts_key: str, id_key: str, default_limit: int) -> Any:
        async def listing(request: web.Request, account: SimAccount) -> Any:
            return self._page(dict(request.query), getattr(account, what), ts_key, id_key, default_limit)

        return listing

    async def _positions(self, request: web.Request, account: SimAccount) -> Any:
        items = [self.position_json(account, p) for p in account.positions.values()]
        return self._page(dict(request.query), items, "entryTimestamp", "positionId", 750)

    async def _symbols(self, request: web.Request, account: SimAccount) -> Any:
        return {"data": [self._symbol_json(spec) for spec in SYMBOLS.values()]}

    async def _tick_data(self, request: web.Request, account: SimAccount) -> Any:
        spec, side = self._symbol(request.match_info["symbol"]), request.match_info["side"]
        return {"data": self._ticks(spec, side, dict(request.query))}

    async def _trendbar_data(self, request: web.Request, account: SimAccount) -> Any:
        spec, period = self._symbol(request.match_info["symbol"]), request.match_info["period"]
        return {"data": self._trendbars(spec, period, dict(request.query))}

    def _scope(self, request: web.Request) -> str:
        token = request.query.get("access_token") or request.query.get("oauth_token") or ""
        scope = self.tokens.get(token)
        if scope is None or token in self.revoked:
            raise ApiError(400, "CH_ACCESS_TOKEN_INVALID")
        return scope

    @staticmethod
    def _need_trading(scope: str) -> None:
        if scope != "full":
            raise ApiError(400, "CH_INSUFFICIENT_PERMISSIONS")

    def _account(self, text: str) -> SimAccount:
        account = self.accounts.get(int(text)) if text.isdigit() else None
        if account is None:
            raise ApiError(404, "CH_CTID_TRADER_ACCOUNT_NOT_FOUND")
        if account.deleted or account.lost:
            raise ApiError(404, "CH_TRADER_ACCOUNT_NOT_FOUND")
        return account

    @staticmethod
    def _symbol(name: str) -> SymbolSpec:
        spec = SYMBOLS.get(name)
        if spec is None:
            raise ApiError(404, "CH_SYMBOL_NOT_FOUND", f"Symbol {name!r} was not found.")
        return spec

    def _symbol_json(self, spec: SymbolSpec) -> dict[str, Any]:
        bid, ask = self.quotes[spec.name]
        return {"symbolName": spec.name, "digits": spec.digits, "pipPosition": spec.pip_position,
                "lastBid": number(bid), "lastAsk": number(ask), "description": spec.name,
                "quoteCurrency": spec.quote}

    # -- cursor pages ------------------------------------------------------------------------------

    def _page(self, query: dict[str, str], items: list[dict[str, Any]], ts_key: str, id_key: str,
              default_limit: int) -> dict[str, Any]:
        """Newest first. Timestamps start a new result set (a cursor beside them is ignored); the
        cursor `<id>_<ts>_<from>_<to>` names the next entry and the set's bounds."""
        limit = _int(query.get("limit"), "limit") if "limit" in query else default_limit
        if not MIN_LIMIT <= limit <= MAX_LIMIT:
            raise ApiError(400, "INVALID_REQUEST", f"limit must be between {MIN_LIMIT} and {MAX_LIMIT}")
        low, high, anchor = 0, 2**62, None
        if "fromTimestamp" in query or "toTimestamp" in query:
            low = _int(query.get("fromTimestamp", "0"), "fromTimestamp")
            high = _int(query.get("toTimestamp", str(2**62)), "toTimestamp")
        elif query.get("cursor"):
            match = re.fullmatch(r"(\d+)_(\d+)_(\d+)_(\d+)", query["cursor"])
            if not match:
                raise ApiError(400, "CH_CURSOR_INVALID")
            anchor_id, anchor_ts, low, high = map(int, match.groups())
            anchor = (anchor_ts, anchor_id)
        ordered = sorted((i for i in items if low <= i[ts_key] <= high
                          and (anchor is None or (i[ts_key], i[id_key]) <= anchor)),
                         key=lambda i: (i[ts_key], i[id_key]), reverse=True)
        payload: dict[str, Any] = {"data": ordered[:limit]}
        if len(ordered) > limit:
            following = ordered[limit]
            payload["next"] = f"{following[id_key]}_{following[ts_key]}_{low}_{high}"
        return payload

    # -- market data ---------------------------------------------------------------------------------

    def _ticks(self, spec: SymbolSpec, side: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """One tick on most seconds of the requested UTC day span, oldest first, at most 5000."""
        day = _parse_time(query.get("date"), "%Y%m%d", "date")
        start = _seconds(query.get("from"), 0)
        end = _seconds(query.get("to"), 86_399)
        if start > end:
            raise ApiError(400, "INVALID_REQUEST", "from must not be after to")
        day_ms = int(day.timestamp() * 1000)
        limit_ms = self.clock()
        ticks: list[dict[str, Any]] = []
        for second in range(start, end + 1):
            moment = day_ms + second * 1000
            if moment > limit_ms or len(ticks) >= MAX_TICKS:
                break
            if _unit(spec.name, "tick", moment) < 0.25:
                continue
            bid, ask = quote(spec, moment)
            ticks.append({"timestamp": moment, "tick": number(bid if side == "bid" else ask)})
        return ticks

    def _trendbars(self, spec: SymbolSpec, period: str, query: dict[str, str]) -> list[dict[str, Any]]:
        start = _parse_time(query.get("from"), "%Y%m%d%H%M%S", "from")
        end = _parse_time(query.get("to"), "%Y%m%d%H%M%S", "to")
        now = self.clock()
        if start.timestamp() * 1000 > now or end.timestamp() * 1000 > now:
            raise ApiError(400, "INVALID_REQUEST", "Both from and to should not be in future")
        if start > end:
            raise ApiError(400, "INVALID_REQUEST", "from must not be after to")
        size = 60_000 if period == "m1" else 3_600_000
        first = int(start.timestamp() * 1000) // size * size
        last = int(end.timestamp() * 1000)
        bars = []
        for bar_start in range(first, last + 1, size):
            if len(bars) >= MAX_TRENDBARS:
                break
            bar_end = min(bar_start + size - 1, now)
            moments = [bar_start + (bar_end - bar_start) * k // 6 for k in range(7)]
            mids = [mid_price(spec, moment) for moment in moments]  # quantising keeps their order
            high, low = moments[mids.index(max(mids))], moments[mids.index(min(mids))]
            bid = {moment: quote(spec, moment)[0] for moment in {moments[0], moments[-1], high, low}}
            bars.append({"timestamp": bar_start, "open": number(bid[moments[0]]), "high": number(bid[high]),
                         "low": number(bid[low]), "close": number(bid[moments[-1]]),
                         "volume": 20 + int(_unit(spec.name, "volume", bar_start) * 400)})
        return bars

    # -- changes ----------------------------------------------------------------------------------------

    async def _move(self, request: web.Request, account: SimAccount) -> Any:
        kind = request.match_info["kind"]
        if account.live:
            raise ApiError(400, "INVALID_REQUEST", "Deposit and withdraw are available for demo accounts only.")
        amount = (await _body(request)).get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ApiError(400, "INVALID_REQUEST", "amount must be a positive integer (cents).")
        delta = amount if kind == "deposit" else -amount
        if account.balance + delta < 0:
            raise ApiError(400, "INVALID_REQUEST", "Not enough money on the account.")
        account.balance += delta
        self._cashflow(account, "DEPOSIT" if kind == "deposit" else "WITHDRAW", delta, account.balance,
                       self.clock())
        return {"data": account.json()}

    async def _create_demo(self, request: web.Request) -> Any:
        body = await _body(request)
        currency = body.get("depositCurrency")
        if currency not in USD_VALUE:
            raise ApiError(400, "CH_DEPOSIT_CURRENCY_INVALID")
        balance, leverage = body.get("balance", 1_000_000), body.get("leverage", 100)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (balance, leverage)):
            raise ApiError(400, "INVALID_REQUEST", "balance (cents) and leverage must be positive integers.")
        account_id = max(self.accounts) + 1
        account = SimAccount(account_id, account_id - 1_910_000, False, currency, balance, leverage,
                             broker_title="Sim Markets Demo", registered_ms=self.clock())
        self.accounts[account_id] = account
        self._cashflow(account, "DEPOSIT", balance, balance, self.clock())
        return {"data": account.json()}


def _reply(payload: Any, status: int = 200) -> web.Response:
    return text_reply(json.dumps(payload), status, "application/json")


def _error_reply(error: ApiError) -> web.Response:
    return _reply({"error": {"errorCode": error.code, "description": error.description}}, error.status)


def _unknown_error() -> web.Response:
    return _error_reply(ApiError(500, "UNKNOWN_ERROR", "Server internal error (simulated)."))


async def _body(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if body is None and await request.read():
        raise ApiError(400, "INVALID_REQUEST", "The body is not JSON.")
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_REQUEST", "The body must be a JSON object.")
    return body


def _int(text: str | None, name: str) -> int:
    if text is None or not re.fullmatch(r"-?\d+", text):
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be an integer")
    return int(text)


def _parse_time(text: str | None, pattern: str, name: str) -> datetime:
    try:
        return datetime.strptime(text or "", pattern).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST", f"{name} must match {pattern}") from None


def _seconds(text: str | None, default: int) -> int:
    if text is None:
        return default
    moment = _parse_time(text, "%H%M%S", "from/to")
    return int(timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second).total_seconds())


class CTraderControl(HttpControl):
    """The cTrader simulator's handle: accounts, quotes and the clock, positions, the token;
    faults (`error_rate` answers cTrader's UNKNOWN_ERROR), the request log and pausing the market
    come from `HttpControl`; `apply(change)` runs `change(sim: CTraderSim)` for anything else."""

    _state: CTraderSim

    @on_loop
    def accounts(self) -> dict[int, SimAccount]:
        """Copies of every account with its positions, deals, cash flow and orders."""
        return copy.deepcopy(self._state.accounts)

    @on_loop
    def account(self, account_id: int) -> SimAccount:
        return copy.deepcopy(self._state.accounts[account_id])

    @on_loop
    def set_account(self, account_id: int, **fields: Any) -> None:
        """Change fields of the account (balance in cents, currency, lost, deleted...)."""
        account = self._state.accounts[account_id]
        for name, value in fields.items():
            if not hasattr(account, name):
                raise AttributeError(f"SimAccount has no field {name!r}")
            setattr(account, name, value)

    @on_loop
    def set_position(self, account_id: int, position_id: int, **fields: Any) -> None:
        """Change fields of an open position (swap and commission in cents, volume...)."""
        position = self._state.accounts[account_id].positions[position_id]
        for name, value in fields.items():
            if not hasattr(position, name):
                raise AttributeError(f"SimPosition has no field {name!r}")
            setattr(position, name, value)

    @on_loop
    def positions_json(self, account_id: int) -> list[dict[str, Any]]:
        """The account's open positions as the API answers them now."""
        account = self._state.accounts[account_id]
        return [self._state.position_json(account, p) for p in account.positions.values()]

    @on_loop
    def floating_result(self, account_id: int) -> int:
        """Profit, swap and commission of the account's open positions now, in cents."""
        account = self._state.accounts[account_id]
        return sum(self._state.position_json(account, p)["profit"] + p.swap + p.commission
                   for p in account.positions.values())

    @on_loop
    def open_position(self, account_id: int, moment: int | None = None) -> int:
        """Open a random position on the account (with its deal); returns its id."""
        sim = self._state
        return sim.open_position(sim.accounts[account_id], sim.clock() if moment is None else moment).id

    @on_loop
    def quotes(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(bid, ask) per symbol now."""
        return dict(self._state.quotes)

    @on_loop
    def now(self) -> int:
        """The simulator's clock, Unix ms."""
        return self._state.clock()

    @on_loop
    def shift_clock(self, ms: int) -> None:
        """Run the simulator's clock `ms` ahead of real time (0: real time again); quotes follow."""
        self._state.clock = (lambda: now_ms() + ms) if ms else now_ms
        self._state.refresh_quotes()

    @on_loop
    def revoke_token(self, token: str | None = None) -> None:
        """Refuse the token (default: the full one) as CH_ACCESS_TOKEN_INVALID until restored."""
        self._state.revoke_token(token)

    @on_loop
    def restore_token(self, token: str | None = None) -> None:
        self._state.restore_token(token)


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    values = check_settings(SETTINGS, settings, "ctrader")
    sim = CTraderSim(token=values["token"], revoke_token=values["revoke_token"], seed=values["seed"],
                     history_deals=values["history_deals"], history_cashflows=values["history_cashflows"],
                     deals=values["deals"])
    server = HttpSimulator(faults=Faults.from_settings(values), error_reply=_unknown_error, seed=values["seed"])
    sim.routes(server.router)
    server.every(values["interval"], sim.step)
    url = await server.listen(host, tls=tls_context(values["tls_cert"], values["tls_key"]))
    return RunningSimulator(
        provider="ctrader", endpoints={"api": url},
        connections=[{"name": "cTrader demo", "provider": "ctrader", "base_url": url, "access_token": values["token"],
                      "symbols": ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500"], "poll_seconds": 2.0}],
        stop=server.stop, control=CTraderControl(server, sim))
