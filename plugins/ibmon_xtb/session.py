"""The xtb Session: log in, deliver the initial state, then follow the streams.

Each `stream(sink)` call is one life of the connection pair: it logs in, opens the streaming
connection with the streamSessionId, subscribes, and raises as soon as either connection drops,
so the feed runtime backs off and calls it again (a new login, every subscription again).

Currencies: every amount of the account (balance, equity, margin, free margin, a trade's profit,
commission and swap) is in the ACCOUNT currency that getCurrentUserData reports (`currency`), never in
an instrument's quote currency (SYMBOL_RECORD currencyProfit, e.g. JPY for USDJPY) or base currency
(SYMBOL_RECORD currency, e.g. BTC for BITCOIN). A balance record carries no currency of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from functools import partial
from typing import Any

from ibmon.sdk import (Account, Action, ConfigError, ConnectionContext, Position, ProviderError, Rejected, Session,
                       Sink, Tick, dec, dec_or_none, describe_exception, extra, map_each, map_one, with_places)

from ibmon_xtb.client import PACING, PING_INTERVAL, MainConnection, StreamConnection
from ibmon_xtb.errors import ConnectionLost
from ibmon_xtb.kinds import CANDLE, Candle, ClosedTrade, SymbolInfo
from ibmon_xtb.transport import check_url

log = logging.getLogger("ibmon.xtb")

BASE_SUBSCRIPTIONS = ("getBalance", "getTrades", "getProfits", "getTradeStatus", "getKeepAlive")
TICK_BATCH = 20  # symbols per getTickPrices request (keeps the command under 1 kB)
ACCEPTED, REJECTED, ERROR = 3, 4, 0
TRADE_STATUS_TIMEOUT = 30.0
STATUS_POLL_AFTER = 1.0  # seconds to wait for the tradeStatus stream before asking tradeTransactionStatus


class XtbSession(Session):
    stale_after = 15.0  # keepAlive arrives every 3 s
    silence_timeout = 15.0  # five keepAlives missed: the link is dead, reconnect

    def __init__(self, ctx: ConnectionContext) -> None:
        options = ctx.options
        problems = [p for p in (check_url(options["url"]), check_url(options["stream_url"])) if p]
        if problems:
            raise ConfigError([f'connection "{ctx.name}": {p}' for p in problems])
        self.ctx = ctx
        self.user_id = str(options["user_id"])
        self.watchlist: list[str] = list(options.get("symbols") or [])
        self.tick_interval_ms = int(options.get("tick_interval_ms") or 0)
        self.tls_verify = bool(options.get("tls_verify", True))
        self.pacing = PACING
        self.ping_interval = PING_INTERVAL
        self.status_poll_after = STATUS_POLL_AFTER
        self.main: MainConnection | None = None
        self.streaming: StreamConnection | None = None
        self.symbols: list[dict[str, Any]] = []
        #: Decimal places of each symbol's prices (getAllSymbols' precision): JSON numbers drop
        #: trailing zeros, a quote of 1.26700 arrives as 1.267.
        self._places: dict[str, Any] = {}
        self._currency: str | None = None
        self._trades: dict[str, dict[str, Any]] = {}  # position id -> latest trade record
        self._last_ticks: dict[str, Tick] = {}
        self._statuses: dict[int, dict[str, Any]] = {}  # order -> latest trade status record
        self._status_changed = asyncio.Event()
        #: Symbols whose candles screens follow, with how many screens follow each.
        self._candles_watched: dict[str, int] = {}

    # -- the stream ------------------------------------------------------------------------------

    async def stream(self, sink: Sink) -> None:
        options = self.ctx.options
        main = MainConnection(options["url"], tls_verify=self.tls_verify, pacing=self.pacing,
                              ping_interval=self.ping_interval)
        streaming: StreamConnection | None = None
        queue: asyncio.Queue[Any] = asyncio.Queue()
        tasks: list[asyncio.Task] = []
        try:
            await main.open()
            session_id = await main.login(self.user_id, options["password"], options.get("app_name"))
            streaming = StreamConnection(options["stream_url"], session_id, tls_verify=self.tls_verify,
                                         pacing=self.pacing, ping_interval=self.ping_interval)
            await streaming.open()
            self.main, self.streaming = main, streaming
            watched: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
            tasks += [asyncio.create_task(_feed(queue, self._subscribe(streaming, watched)), name="xtb-subscribe"),
                      asyncio.create_task(_feed(queue, _pump(streaming, queue)), name="xtb-stream-reader"),
                      asyncio.create_task(_feed(queue, _watch(main)), name="xtb-main-watch")]
            watched.set_result(await self._initial_state(main, sink))
            sink.ready()
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                try:
                    self._apply(item, sink)
                except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                    # a packet we cannot read (records are reported one by one in the mapping)
                    log.warning("%s: ignored a %s packet: %s", self.ctx.name, str(item.get("command"))[:40],
                                describe_exception(exc))
                    sink.alive()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.main = self.streaming = None
            if streaming is not None:
                await streaming.close()
            await main.close()

    async def _subscribe(self, streaming: StreamConnection, watched: asyncio.Future) -> None:
        for command in BASE_SUBSCRIPTIONS:
            await streaming.subscribe(command)
        for symbol in await watched:
            await streaming.subscribe("getTickPrices", symbol=symbol, minArrivalTime=self.tick_interval_ms)
        for symbol in list(self._candles_watched):
            await streaming.subscribe("getCandles", symbol=symbol)

    async def _initial_state(self, main: MainConnection, sink: Sink) -> list[str]:
        """Account, positions and watchlist quotes; returns the watchlist symbols the server knows."""
        user = await main.call("getCurrentUserData")
        self._currency = user.get("currency")
        margin = await main.call("getMarginLevel")
        sink.account(map_one(self._account, margin, key=self._account_key))
        trades = await main.call("getTrades", {"openedOnly": True})
        # One record at a time rather than sink.positions(): positions closed while we were away go.
        previous, self._trades = self._trades, {position_id(t): t for t in trades
                                                if isinstance(t, dict) and t.get("cmd") in (0, 1)}
        for pid in previous.keys() - self._trades.keys():
            sink.position_closed(self.user_id, pid)
        for trade in self._trades.values():
            sink.position(map_one(self._position, trade, key=self._position_key))
        self._learn_symbols(await main.call("getAllSymbols"))
        known = {s.get("symbol") for s in self.symbols}
        unknown = [s for s in self.watchlist if s not in known]
        if unknown:
            sink.notify(f"{self.ctx.name}: unknown symbols in the watchlist: {', '.join(unknown)}", severity="warning")
        watched = [s for s in self.watchlist if s in known]
        for start in range(0, len(watched), TICK_BATCH):
            reply = await main.call("getTickPrices", {"level": 0, "symbols": watched[start:start + TICK_BATCH],
                                                      "timestamp": 0})
            for quote in reply.get("quotations", []):
                self._tick(quote, sink)
        return watched

    # -- mapping ---------------------------------------------------------------------------------

    def _apply(self, packet: dict[str, Any], sink: Sink) -> None:
        command, data = packet.get("command"), packet.get("data") or {}
        if command == "tickPrices":
            if int(data.get("level") or 0) == 0:
                self._tick(data, sink)
        elif command == "balance":
            sink.account(map_one(self._account, data, key=self._account_key))
        elif command == "trade":
            self._trade(data, sink)
        elif command == "profit":
            self._profit(data, sink)
        elif command == "keepAlive":
            sink.alive()
        elif command == "tradeStatus":
            self._statuses[int(data["order"])] = data
            self._status_changed.set()
            self._status_changed = asyncio.Event()
            sink.alive()
        elif command == "candle":
            if str(data.get("symbol")) in self._candles_watched:
                sink.put(CANDLE, map_one(candle_of, data, key=lambda d: str(d["symbol"])))
            else:
                sink.alive()
        else:
            sink.alive()

    def _account(self, data: dict[str, Any]) -> Account:
        free = data.get("marginFree", data.get("margin_free"))
        level = data.get("marginLevel", data.get("margin_level"))
        return Account(id=self.user_id, balance=dec(data["balance"], "balance"),
                       currency=data.get("currency") or self._currency,
                       equity=dec_or_none(data.get("equity"), "equity"),
                       margin=dec_or_none(data.get("margin"), "margin"),
                       free_margin=dec_or_none(free, "free margin"),
                       margin_level=dec_or_none(level, "margin level"),
                       credit=dec_or_none(data.get("credit"), "credit"))

    def _account_key(self, _data: Any) -> str:
        return self.user_id

    def _position_key(self, trade: dict[str, Any]) -> tuple[str, str]:
        return (self.user_id, position_id(trade))

    def _position(self, trade: dict[str, Any]) -> Position:
        return Position(account=self.user_id, id=position_id(trade), symbol=str(trade["symbol"]),
                        side="buy" if trade["cmd"] == 0 else "sell", volume=dec(trade["volume"], "volume"),
                        open_price=with_places(dec_or_none(trade.get("open_price"), "open price"), trade.get("digits")),
                        current_price=with_places(dec_or_none(trade.get("close_price"), "close price"),
                                                  trade.get("digits")),
                        profit=dec_or_none(trade.get("profit"), "profit"),
                        currency=self._currency,  # xAPI reports profit in the account currency
                        extra=extra(order=trade.get("order")))

    def _tick(self, quote: dict[str, Any], sink: Sink) -> None:
        tick = map_one(partial(tick_of, places=self._places), quote, key=lambda q: str(q["symbol"]))
        sink.tick(tick)
        if isinstance(tick, Rejected):
            return
        self._last_ticks[tick.symbol] = tick
        for pid, trade in self._trades.items():  # positions show the price they would close at
            if trade.get("symbol") == tick.symbol:
                price = tick.bid if trade.get("cmd") == 0 else tick.ask
                if trade.get("close_price") != price:
                    self._trades[pid] = trade = {**trade, "close_price": price}
                    sink.position(map_one(self._position, trade, key=self._position_key))

    def _trade(self, trade: dict[str, Any], sink: Sink) -> None:
        if trade.get("cmd") not in (0, 1):
            sink.alive()  # a pending order: not a position
            return
        pid = position_id(trade)
        if trade.get("closed") or trade.get("type") == 2 or trade.get("state") == "Deleted":
            if self._trades.pop(pid, None) is not None:
                sink.position_closed(self.user_id, pid)
            else:
                sink.alive()
            return
        self._trades[pid] = trade
        sink.position(map_one(self._position, trade, key=self._position_key))

    def _profit(self, data: dict[str, Any], sink: Sink) -> None:
        pid = str(data.get("position") or data.get("order"))
        trade = self._trades.get(pid)
        if trade is None:
            sink.alive()
            return
        self._trades[pid] = trade = {**trade, "profit": data.get("profit")}
        sink.position(map_one(self._position, trade, key=self._position_key))

    # -- actions ---------------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        return [Action(id="xtb.close_position", title="Close position", target="position",
                       run=self.close_position, confirm=close_question,
                       available=lambda p: isinstance(p, Position) and p.account == self.user_id)]

    def _connected(self) -> MainConnection:
        if self.main is None:
            raise ProviderError(f"{self.ctx.name} is not connected: wait until it is live again")
        return self.main

    async def close_position(self, position: Position) -> str:
        """tradeTransaction CLOSE for the position's order, then follow its status to the end."""
        main = self._connected()
        trade = self._trades.get(position.id)
        if trade is None:
            raise ProviderError(f"position {position.id} ({position.symbol}) is no longer open")
        tick = self._last_ticks.get(str(trade["symbol"]))
        price = trade.get("close_price") if tick is None else (tick.bid if trade["cmd"] == 0 else tick.ask)
        info = {"cmd": trade["cmd"], "customComment": "ibmon: close position", "expiration": 0, "offset": 0,
                "order": trade["order"], "price": price, "sl": 0, "symbol": trade["symbol"], "tp": 0,
                "type": 2, "volume": trade["volume"]}
        order = int((await main.call("tradeTransaction", {"tradeTransInfo": info}))["order"])
        status = await self.final_status(main, order)
        what = f"{position.side} {position.volume} {position.symbol}"
        message = status.get("message")
        if status.get("requestStatus") == ACCEPTED:
            return f"Closed {what} (order {order}): accepted" + (f": {message}" if message else "")
        verdict = "rejected" if status.get("requestStatus") == REJECTED else "failed"
        raise ProviderError(f"Close {what} (order {order}) {verdict}: {message or 'no reason given'}")

    async def final_status(self, main: MainConnection, order: int) -> dict[str, Any]:
        """The first ACCEPTED/REJECTED/ERROR for `order`, from the tradeStatus stream or, failing
        that within `status_poll_after` seconds, from tradeTransactionStatus."""
        deadline = time.monotonic() + TRADE_STATUS_TIMEOUT
        while time.monotonic() < deadline:
            status = self._statuses.get(order)
            if status is not None and status.get("requestStatus") in (ACCEPTED, REJECTED, ERROR):
                return status
            try:
                await asyncio.wait_for(self._status_changed.wait(), self.status_poll_after)
                continue
            except asyncio.TimeoutError:
                pass
            polled = await main.call("tradeTransactionStatus", {"order": order})
            if polled.get("requestStatus") in (ACCEPTED, REJECTED, ERROR):
                return polled
        raise ProviderError(f"order {order}: no final status within {TRADE_STATUS_TIMEOUT:g} s: check the platform")

    # -- on-demand requests (the screen's) -------------------------------------------------------

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        if name == "xtb.symbols":
            return map_each(symbol_of, await self.all_symbols(), key=lambda s: str(s.get("symbol")))
        if name == "xtb.chart":
            return await self.chart(params["symbol"], 1, params["minutes"])
        if name == "xtb.watch_candles":
            await self.watch_candles(params["symbol"])
            return []
        if name == "xtb.stop_candles":
            await self.stop_candles(params["symbol"])
            return []
        if name == "xtb.trade_history":
            trades = await self.trade_history(params["days"])
            return map_each(closed_trade_of, trades, key=lambda t: str(t.get("position") or t.get("order")))
        return await super().request(name, params)

    @property
    def currency(self) -> str | None:
        """The account currency, in which every profit and margin of the account is (None before
        the first login)."""
        return self._currency

    async def all_symbols(self) -> list[dict[str, Any]]:
        if not self.symbols:
            self._learn_symbols(await self._connected().call("getAllSymbols"))
        return self.symbols

    def _learn_symbols(self, symbols: Any) -> None:
        # Only instruments named by a text: a symbol of another type could never be watched.
        self.symbols = [s for s in symbols if isinstance(s, dict) and isinstance(s.get("symbol"), str)
                        ] if isinstance(symbols, list) else []
        self._places = {s["symbol"]: s.get("precision") for s in self.symbols}

    async def chart(self, symbol: str, period: int = 1, minutes: int = 120) -> list[Candle]:
        end = int(time.time() * 1000)
        info = {"end": end, "period": period, "start": end - minutes * 60000, "symbol": symbol, "ticks": 0}
        data = await self._connected().call("getChartRangeRequest", {"info": info})
        scale = Decimal(10) ** int(data.get("digits") or 0)
        bars = []
        for rate in data.get("rateInfos", []):
            base = dec(rate["open"])
            bars.append(Candle(symbol, int(rate["ctm"]), base / scale, (base + dec(rate["high"])) / scale,
                               (base + dec(rate["low"])) / scale, (base + dec(rate["close"])) / scale))
        return bars

    async def watch_candles(self, symbol: str) -> None:
        """Follow the getCandles stream of `symbol`: its candles go into the store (kind xtb.candle)."""
        self._candles_watched[symbol] = self._candles_watched.get(symbol, 0) + 1
        if self._candles_watched[symbol] == 1 and self.streaming is not None:
            await self.streaming.subscribe("getCandles", symbol=symbol)

    async def stop_candles(self, symbol: str) -> None:
        count = self._candles_watched.get(symbol, 0) - 1
        if count > 0:
            self._candles_watched[symbol] = count
            return
        self._candles_watched.pop(symbol, None)
        if self.streaming is not None:
            try:
                await self.streaming.unsubscribe("stopCandles", symbol=symbol)
            except ProviderError:
                pass

    async def trade_history(self, days: int = 30) -> list[dict[str, Any]]:
        end = int(time.time() * 1000)
        return await self._connected().call("getTradesHistory", {"end": 0, "start": end - days * 86400_000})

    async def close(self) -> None:
        for connection in (self.streaming, self.main):
            if connection is not None:
                await connection.close()


def tick_of(quote: dict[str, Any], places: dict[str, Any] | None = None) -> Tick:
    """A quote as a Tick, its prices with the symbol's decimal places where `places` knows them."""
    symbol = str(quote["symbol"])
    digits = (places or {}).get(symbol)
    return Tick(symbol, with_places(dec(quote["bid"], "bid"), digits),
                with_places(dec(quote["ask"], "ask"), digits),
                int(quote.get("timestamp") or time.time() * 1000))


def candle_of(data: dict[str, Any]) -> Candle:
    return Candle(str(data["symbol"]), int(data["ctm"]), dec(data["open"]), dec(data["high"]), dec(data["low"]),
                  dec(data["close"]))


def symbol_of(raw: dict[str, Any]) -> SymbolInfo:
    def text(key: str) -> str:
        value = raw.get(key)
        return "" if value is None else str(value)

    return SymbolInfo(str(raw["symbol"]), text("categoryName"), text("description"), text("currency"),
                      text("currencyProfit"))


SIDES = {0: "buy", 1: "sell"}


def closed_trade_of(trade: dict[str, Any]) -> ClosedTrade:
    return ClosedTrade(closed=str(trade.get("close_timeString") or ""), symbol=str(trade.get("symbol") or ""),
                       side=SIDES.get(trade.get("cmd"), str(trade.get("cmd"))),
                       volume=dec_or_none(trade.get("volume"), "volume"),
                       open_price=dec_or_none(trade.get("open_price"), "open price"),
                       close_price=dec_or_none(trade.get("close_price"), "close price"),
                       profit=dec_or_none(trade.get("profit"), "profit"),
                       position=str(trade.get("position") or trade.get("order") or ""))


def position_id(trade: dict[str, Any]) -> str:
    return str(trade.get("position") or trade.get("order"))


def close_question(position: Position) -> str:
    return f"Close {position.side} {position.volume} {position.symbol} (position {position.id})?"


async def _feed(queue: asyncio.Queue, work: Any) -> None:
    """Run `work`; an error goes into the queue so `stream()` raises it."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        queue.put_nowait(exc)


async def _pump(streaming: StreamConnection, queue: asyncio.Queue) -> None:
    while True:
        queue.put_nowait(await streaming.receive())


async def _watch(main: MainConnection) -> None:
    await main.closed.wait()
    raise main.failure or ConnectionLost("main connection closed")

