"""The xAPI simulator: the main and streaming connections over TCP, TLS and WebSocket on loopback.

It enforces the spec's connection rules (first data within 1 s, at most 1 kB per command, the 200 ms
rule with 6 violations in a row dropping the connection, 50 connections per address then EX008,
unknown commands answered with an error without closing). The sockets are asyncio streams; the
WebSocket endpoints are routes of the simulator kit's aiohttp server; everything runs on one loop.

Settings (connection rules, fault knobs, the market: accounts in EUR by default, profits and margins
converted from each instrument's quote currency) are declared in `sim_settings.py`; `XtbControl` is
the handle tests and the soak use (drop connections, refuse logins, go silent, move the market...).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import random
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, AsyncIterator

from aiohttp import WSMsgType, web

from ibmon.sdk import ConfigError, RunningSimulator
from ibmon.simkit import Control, HttpSimulator, check_settings, on_loop, tls_context

from ibmon_xtb.sim_market import MAX_CANDLES, PERIODS, Instrument, Market, Trade, User, now_ms, time_string
from ibmon_xtb.sim_settings import DEFAULT_USERS, SETTINGS

WATCHLIST = ["EURUSD", "GBPUSD", "USDJPY", "US500", "DE40", "GOLD", "OIL.WTI", "BITCOIN"]
STREAM_SUBSCRIPTIONS = ("getBalance", "getCandles", "getKeepAlive", "getNews", "getProfits", "getTickPrices",
                        "getTrades", "getTradeStatus")


class SimError(Exception):
    def __init__(self, code: str, descr: str) -> None:
        super().__init__(f"{code}: {descr}")
        self.code = code
        self.descr = descr


class RuleBroken(Exception):
    """The client broke a connection rule: the connection is closed without a word."""


def dumps(value: Any) -> str:
    """JSON as the real server writes it: numbers as JSON floats."""
    return json.dumps(value, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def error_reply(code: str, descr: str) -> dict[str, Any]:
    return {"status": False, "errorCode": code, "errorDescr": descr}


# -- peers: one client connection, whatever the transport ------------------------------------------

class Peer:
    ids = itertools.count(1)

    def __init__(self, kind: str, address: str) -> None:
        self.kind = kind  # "main" or "stream"
        self.address = address
        self.id = next(Peer.ids)
        self.user: User | None = None
        self.session_id: str | None = None
        self.subs: dict[tuple[str, str], "Subscription"] = {}
        self.outbox: list[str] = []
        self.tasks: set[asyncio.Task] = set()

    async def read(self) -> str | None:
        raise NotImplementedError

    async def send_texts(self, texts: list[str]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SocketPeer(Peer):
    """Commands are consecutive JSON objects (whitespace between them allowed); replies end with "\\n\\n"."""

    _json = json.JSONDecoder()

    def __init__(self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 limit: int, split: bool) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        super().__init__(kind, str(peer[0]))
        self.reader, self.writer = reader, writer
        self.limit, self.split = limit, split
        self.buffer = ""
        self.lock = asyncio.Lock()

    def _next_command(self) -> str | None:
        self.buffer = self.buffer.lstrip()
        if not self.buffer:
            return None
        try:
            _, end = self._json.raw_decode(self.buffer)
        except json.JSONDecodeError as exc:
            if len(self.buffer.encode()) > self.limit:
                raise RuleBroken(f"command over {self.limit} bytes") from None
            if _incomplete(self.buffer, exc):
                return None  # wait for the rest
            raise RuleBroken(f"not JSON: {exc}") from None
        text, self.buffer = self.buffer[:end], self.buffer[end:]
        return text

    async def read(self) -> str | None:
        while True:
            text = self._next_command()
            if text is not None:
                return text
            try:
                data = await self.reader.read(4096)
            except (OSError, ssl.SSLError):
                return None
            if not data:
                return None
            self.buffer += data.decode("utf-8", "replace")

    async def send_texts(self, texts: list[str]) -> None:
        payload = "".join(text + "\n\n" for text in texts).encode()
        async with self.lock:
            if self.split:  # a reply over many reads on the client's side
                piece = max(7, len(payload) // 40)
                for start in range(0, len(payload), piece):
                    self.writer.write(payload[start:start + piece])
                    await self.writer.drain()
                    await asyncio.sleep(0.001)
            else:
                self.writer.write(payload)
                await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass


def _incomplete(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether a decoding error only means the command has not fully arrived yet."""
    if exc.msg.startswith("Unterminated string"):
        return True
    tail = text[exc.pos:].strip()
    return (not tail or any(word.startswith(tail) for word in ("true", "false", "null"))
            or all(ch in "0123456789.-+eE" for ch in tail))


class WebSocketPeer(Peer):
    """One JSON packet per WebSocket message."""

    def __init__(self, kind: str, request: web.Request, ws: web.WebSocketResponse) -> None:
        super().__init__(kind, str(request.remote or "?"))
        self.ws = ws

    async def read(self) -> str | None:
        message = await self.ws.receive()
        if message.type is WSMsgType.TEXT:
            return message.data
        if message.type is WSMsgType.BINARY:
            return message.data.decode("utf-8", "replace")
        return None  # closed, closing or broken

    async def send_texts(self, texts: list[str]) -> None:
        for text in texts:
            await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Subscription:
    command: str
    user: User
    session_id: str
    symbol: str = ""
    interval: float = 0.2
    last: float = 0.0
    sent: Any = None
    profits: dict[int, Decimal] = field(default_factory=dict)


@dataclass
class Transaction:
    order: int
    request_status: int = 1  # PENDING
    message: str | None = None
    price: Decimal = Decimal("0")
    custom_comment: str = ""
    user: str = ""

    def record(self) -> dict[str, Any]:
        return {"customComment": self.custom_comment, "message": self.message, "order": self.order,
                "price": self.price, "requestStatus": self.request_status}


# -- the simulator -----------------------------------------------------------------------------------

class XtbSimulator:
    def __init__(self, host: str, settings: dict[str, Any]) -> None:
        self.host = host
        self.users = {str(uid): str(pw) for uid, pw in settings["users"].items()} or dict(DEFAULT_USERS)
        self.market = Market(self.users, currency=settings["currency"], positions=settings["positions"],
                             seed=settings["seed"], volatility=settings["volatility"])
        self.tick_seconds = settings["tick_seconds"]
        self.churn_seconds = settings["churn_seconds"]
        self.keepalive_seconds = settings["keepalive_seconds"]
        self.candle_seconds = settings["candle_seconds"]
        self.update_seconds = settings["update_seconds"]
        self.first_data_timeout = settings["first_data_timeout"]
        self.command_limit = settings["command_limit"]
        self.pacing = settings["pacing"]
        self.max_violations = settings["max_violations"]
        self.max_connections = settings["max_connections"]
        self.trade_delay = settings["trade_delay"]
        self.drop_every = settings["drop_every"]
        self.reply_delay = settings["reply_delay"]
        self.malformed_every = settings["malformed_every"]
        self.reject_logins = settings["reject_logins"]
        self.split_frames = settings["split_frames"]
        self.stream_silent = settings["stream_silent"]
        self.slow_commands = _delays(settings["slow_commands"])
        self.tls = tls_context(settings["tls_cert"], settings["tls_key"])

        self.sessions: dict[str, Peer] = {}  # streamSessionId -> its main connection
        self.peers: set[Peer] = set()
        self.per_address: Counter[str] = Counter()
        self.blocked: dict[tuple[str, str], float] = {}  # failed (login, password) -> when
        self.transactions: dict[int, Transaction] = {}
        # For tests: what arrived, how often the 200 ms rule was broken, what was dropped and why.
        self.commands: list[tuple[str, str]] = []
        self.violations: Counter[str] = Counter()
        self.dropped: list[tuple[str, str]] = []
        self.logins = 0
        self._servers: list[asyncio.Server] = []
        self._web = HttpSimulator()
        self._closing: set[asyncio.Task] = set()
        self.endpoints: dict[str, str] = {}

    # -- serving ---------------------------------------------------------------------------------

    async def start(self) -> None:
        for kind in ("main", "stream"):
            self.endpoints[f"{kind}_tcp"] = await self._socket_server(kind, None, "tcp")
            if self.tls:
                self.endpoints[f"{kind}_tls"] = await self._socket_server(kind, self.tls, "tls")
        self._web.router.add_get("/{path:.*}", self._accept_websocket)
        base = await self._web.listen(self.host, scheme="ws")
        self.endpoints["main_ws"], self.endpoints["stream_ws"] = f"{base}/demo", f"{base}/demoStream"
        if self.tls:
            base = await self._web.listen(self.host, tls=self.tls, scheme="ws")
            self.endpoints["main_wss"], self.endpoints["stream_wss"] = f"{base}/demo", f"{base}/demoStream"
        self._web.spawn(self._market_loop())
        if self.drop_every > 0:
            self._web.every(self.drop_every, self.drop, market=False)

    async def _socket_server(self, kind: str, context: ssl.SSLContext | None, scheme: str) -> str:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(SocketPeer(kind, reader, writer, self.command_limit, self.split_frames))

        server = await asyncio.start_server(accept, self.host, 0, ssl=context)
        self._servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"{scheme}://{self.host}:{port}"

    async def _accept_websocket(self, request: web.Request) -> web.WebSocketResponse:
        kind = {"demo": "main", "real": "main", "demoStream": "stream", "realStream": "stream"}.get(
            request.match_info["path"].rstrip("/"))
        ws = web.WebSocketResponse(max_msg_size=2**20)
        await ws.prepare(request)
        if kind is None:
            await ws.close(code=1008, message=b"unknown path: use /demo or /demoStream")
        else:
            await self._serve(WebSocketPeer(kind, request, ws))
        return ws

    async def stop(self) -> None:
        self.drop()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self._web.stop()
        for server in self._servers:
            server.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass

    def drop(self, kind: str | None = None) -> int:
        """Close every connection (or only the "main" or "stream" ones); returns how many. The
        closing itself goes on in tasks of the simulator's loop."""
        victims = [peer for peer in list(self.peers) if kind is None or peer.kind == kind]
        for peer in victims:
            self.dropped.append((peer.kind, "dropped by the simulator"))
            task = asyncio.get_running_loop().create_task(peer.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return len(victims)

    async def _serve(self, peer: Peer) -> None:
        self.per_address[peer.address] += 1
        self.peers.add(peer)
        try:
            if self.per_address[peer.address] > self.max_connections:
                await peer.send_texts([dumps(error_reply(
                    "EX008", "You have reached the connection limit. For details see the Connection validation section."))])
                self.dropped.append((peer.kind, "EX008"))
                return
            if peer.kind == "main":
                await self._serve_main(peer)
            else:
                await self._serve_stream(peer)
        except RuleBroken as exc:
            self.dropped.append((peer.kind, str(exc)))
        except (ConnectionError, OSError):
            pass
        finally:
            self.per_address[peer.address] -= 1
            self.peers.discard(peer)
            for task in peer.tasks:
                task.cancel()
            if peer.kind == "main":
                await self._end_session(peer)
            try:
                await peer.close()
            except Exception:  # already broken
                pass

    async def _commands(self, peer: Peer) -> AsyncIterator[dict[str, Any]]:
        """The client's commands, with the connection rules applied (RuleBroken closes)."""
        last: float | None = None
        in_a_row = 0
        first = True
        while True:
            try:
                text = await asyncio.wait_for(peer.read(), self.first_data_timeout) if first else await peer.read()
            except asyncio.TimeoutError:
                raise RuleBroken(f"no data within {self.first_data_timeout:g} s") from None
            if text is None:
                return
            first = False
            if len(text.encode()) > self.command_limit:
                raise RuleBroken(f"command over {self.command_limit} bytes")
            try:
                packet = json.loads(text, parse_float=Decimal)
            except ValueError:
                raise RuleBroken("command is not JSON") from None
            if not isinstance(packet, dict):
                raise RuleBroken("command is not a JSON object")
            now = time.monotonic()
            if last is not None and now - last < self.pacing:
                self.violations[peer.kind] += 1
                in_a_row += 1
                if in_a_row >= self.max_violations:
                    raise RuleBroken(f"{in_a_row} commands in a row less than {self.pacing * 1000:.0f} ms apart")
            else:
                in_a_row = 0
            last = now
            self.commands.append((peer.kind, str(packet.get("command"))))
            del self.commands[:-5000]
            yield packet

    # -- main connection -------------------------------------------------------------------------

    async def _serve_main(self, peer: Peer) -> None:
        async for packet in self._commands(peer):
            task = asyncio.create_task(self._answer(peer, packet))
            peer.tasks.add(task)
            task.add_done_callback(peer.tasks.discard)

    async def _answer(self, peer: Peer, packet: dict[str, Any]) -> None:
        command = packet.get("command")
        delay = self.reply_delay + float(self.slow_commands.get(str(command), 0))
        if delay:
            await asyncio.sleep(delay)
        try:
            reply = self._run(peer, command, packet.get("arguments") or {})
        except SimError as exc:
            reply = error_reply(exc.code, exc.descr)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            reply = error_reply("EX000", f"Invalid parameters: {type(exc).__name__} {exc}")
        if "customTag" in packet:
            reply["customTag"] = packet["customTag"]
        try:
            await peer.send_texts([dumps(reply)])
        except (ConnectionError, OSError):
            pass

    def _run(self, peer: Peer, command: Any, args: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(command, str) or not command:
            raise SimError("BE110", "Incorrect command format")
        handler = getattr(self, f"cmd_{command}", None)
        if handler is None:
            raise SimError("BE104", f"Method does not exist: {command}")
        if command != "login" and peer.user is None:
            raise SimError("BE103", "User is not logged")
        result = handler(peer, args)
        if isinstance(result, dict) and result.get("status") is True:
            return result
        return {"status": True, "returnData": result}

    def cmd_login(self, peer: Peer, args: dict[str, Any]) -> dict[str, Any]:
        user_id, password = str(args["userId"]), str(args["password"])
        if self.reject_logins:
            raise SimError("BE005", "userPasswordCheck: Invalid login or password.")
        failed_at = self.blocked.get((user_id, password))
        if failed_at is not None and time.monotonic() - failed_at < 600:
            raise SimError("EX007", "userPasswordCheck: Invalid login or password. This login/password is "
                                    "disabled for 10 minutes (the specific login and password pair is blocked "
                                    "after an unsuccessful login attempt).")
        user = self.market.users.get(user_id)
        if user is None or user.password != password:
            self.blocked[(user_id, password)] = time.monotonic()
            raise SimError("BE005", "userPasswordCheck: Invalid login or password.")
        if peer.user is not None:
            raise SimError("BE118", "User already logged")
        peer.user = user
        peer.session_id = str(random.randrange(10**18, 10**19))
        self.sessions[peer.session_id] = peer
        self.logins += 1
        return {"status": True, "streamSessionId": peer.session_id}

    def cmd_logout(self, peer: Peer, args: dict[str, Any]) -> dict[str, Any]:
        self.sessions.pop(peer.session_id or "", None)
        peer.user = peer.session_id = None
        return {"status": True}

    def cmd_ping(self, peer: Peer, args: dict[str, Any]) -> dict[str, Any]:
        return {"status": True}

    def cmd_getVersion(self, peer: Peer, args: dict[str, Any]) -> Any:
        return {"version": "2.5.0"}

    def cmd_getServerTime(self, peer: Peer, args: dict[str, Any]) -> Any:
        now = now_ms()
        return {"time": now, "timeString": time_string(now)}

    def cmd_getAllSymbols(self, peer: Peer, args: dict[str, Any]) -> Any:
        return [i.symbol_record() for i in self.market.instruments.values()]

    def cmd_getSymbol(self, peer: Peer, args: dict[str, Any]) -> Any:
        return self._instrument(args["symbol"]).symbol_record()

    def _instrument(self, name: Any):
        instrument = self.market.symbol(str(name))
        if instrument is None:
            raise SimError("BE115", f"Symbol does not exist: {name}")
        return instrument

    def cmd_getTickPrices(self, peer: Peer, args: dict[str, Any]) -> Any:
        since = int(args.get("timestamp") or 0)
        quotes = [self._instrument(s).tick_record() for s in args["symbols"]]
        return {"quotations": [q for q in quotes if q["timestamp"] > since]}

    def cmd_getCurrentUserData(self, peer: Peer, args: dict[str, Any]) -> Any:
        return {"companyUnit": 8, "currency": peer.user.currency, "group": "demo" + peer.user.currency + "STANDARD",
                "ibAccount": False, "leverage": 1, "leverageMultiplier": Decimal("0.25"), "spreadType": "FLOAT",
                "trailingStop": False}

    def cmd_getMarginLevel(self, peer: Peer, args: dict[str, Any]) -> Any:
        return {**peer.user.indicators(), "currency": peer.user.currency}

    def cmd_getTrades(self, peer: Peer, args: dict[str, Any]) -> Any:
        return [t.record() for t in peer.user.positions.values()]

    def cmd_getTradeRecords(self, peer: Peer, args: dict[str, Any]) -> Any:
        wanted = {int(order) for order in args["orders"]}
        trades = list(peer.user.positions.values()) + peer.user.history
        return [t.record() for t in trades if t.order in wanted]

    def cmd_getTradesHistory(self, peer: Peer, args: dict[str, Any]) -> Any:
        end = int(args.get("end") or 0) or now_ms()
        start = int(args.get("start") or 0) or end - 30 * 86400_000
        return [t.record() for t in reversed(peer.user.history) if start <= (t.close_time or 0) <= end]

    def cmd_getChartRangeRequest(self, peer: Peer, args: dict[str, Any]) -> Any:
        info = args["info"]
        return self._chart(info["symbol"], int(info["period"]), int(info["start"]),
                           int(info.get("end") or now_ms()), int(info.get("ticks") or 0))

    def cmd_getChartLastRequest(self, peer: Peer, args: dict[str, Any]) -> Any:
        info = args["info"]
        return self._chart(info["symbol"], int(info["period"]), int(info["start"]), now_ms(), 0)

    def _chart(self, symbol: str, period: int, start: int, end: int, ticks: int) -> Any:
        instrument = self._instrument(symbol)
        if period not in PERIODS:
            raise SimError("BE105", "Incorrect period given")
        span = period * 60000
        if ticks > 0:
            end = start + ticks * span
        elif ticks < 0:
            start, end = start + ticks * span, start
        if (end - start) // span > MAX_CANDLES:
            raise SimError("EX009", "Data limit potentially exceeded. Please narrow your request range.")
        scale = Decimal(10) ** instrument.precision
        infos = []
        for candle in instrument.history(period, start, min(end, now_ms())):
            base = candle.open * scale
            infos.append({"close": candle.close * scale - base, "ctm": candle.ctm, "ctmString": time_string(candle.ctm),
                          "high": candle.high * scale - base, "low": candle.low * scale - base, "open": base,
                          "vol": Decimal("0.0")})
        return {"digits": instrument.precision, "rateInfos": infos}

    def cmd_getCalendar(self, peer: Peer, args: dict[str, Any]) -> Any:
        return []

    def cmd_getNews(self, peer: Peer, args: dict[str, Any]) -> Any:
        return []

    def cmd_getIbsHistory(self, peer: Peer, args: dict[str, Any]) -> Any:
        return []

    def cmd_getStepRules(self, peer: Peer, args: dict[str, Any]) -> Any:
        return []

    def cmd_getTradingHours(self, peer: Peer, args: dict[str, Any]) -> Any:
        week = [{"day": day, "fromT": 0, "toT": 86400000} for day in range(1, 8)]
        return [{"symbol": self._instrument(s).name, "quotes": week, "trading": week} for s in args["symbols"]]

    def cmd_getCommissionDef(self, peer: Peer, args: dict[str, Any]) -> Any:
        """Commission in the account currency; rateOfExchange between it and the instrument's base."""
        instrument = self._instrument(args["symbol"])
        rate = self.market.rate(instrument.base, peer.user.currency).quantize(Decimal("0.00001"))
        return {"commission": Decimal("0.0"), "rateOfExchange": rate}

    def cmd_getMarginTrade(self, peer: Peer, args: dict[str, Any]) -> Any:
        """The margin in the account currency."""
        instrument = self._instrument(args["symbol"])
        volume = Decimal(str(args["volume"]))
        return {"margin": self.market.margin(instrument, instrument.ask, volume, peer.user.currency)}

    def cmd_tradeTransaction(self, peer: Peer, args: dict[str, Any]) -> Any:
        info = args["tradeTransInfo"]
        kind, cmd = int(info["type"]), int(info.get("cmd", 0))
        volume = Decimal(str(info["volume"]))
        if kind not in (0, 2, 3, 4):
            raise SimError("BE102", "Unknown transaction type")
        if volume <= 0:
            raise SimError("BE003", "Invalid volume")
        if kind == 0:
            self._instrument(info["symbol"])
            if cmd not in (0, 1):
                raise SimError("BE007", "Mismatched parameters: the simulator opens market orders only")
        transaction = Transaction(order=self.market.next_order(), price=Decimal(str(info.get("price") or 0)),
                                  custom_comment=str(info.get("customComment") or ""), user=peer.user.user_id)
        self.transactions[transaction.order] = transaction
        task = asyncio.create_task(self._execute(peer.user, transaction, kind, cmd, info, volume))
        peer.tasks.add(task)
        task.add_done_callback(peer.tasks.discard)
        return {"order": transaction.order}

    async def _execute(self, user: User, tx: Transaction, kind: int, cmd: int, info: dict[str, Any],
                       volume: Decimal) -> None:
        await asyncio.sleep(self.trade_delay)
        if kind == 0:
            trade = self.market.open(user, str(info["symbol"]), cmd, volume, comment=tx.custom_comment, order=tx.order)
            tx.request_status, tx.price = 3, trade.open_price
        elif kind == 2:
            order = int(info.get("order") or 0)
            position = user.positions.get(order)
            if position is None:
                already = any(t.order == order for t in user.history)
                tx.request_status = 4
                tx.message = "Cannot close already closed order" if already else "No such transaction"
            elif volume > position.volume:
                tx.request_status, tx.message = 4, "Invalid volume"
            else:
                closed = self.market.close(user, order, volume)
                tx.request_status, tx.price = 3, closed.close_price
        else:
            tx.request_status, tx.message = 4, "Modification is denied"
        self._publish(user.user_id, "tradeStatus", tx.record())

    def cmd_tradeTransactionStatus(self, peer: Peer, args: dict[str, Any]) -> Any:
        tx = self.transactions.get(int(args["order"]))
        if tx is None or tx.user != peer.user.user_id:
            raise SimError("BE098", "No such transaction")
        record = tx.record()
        record.pop("price")
        return {**record, "ask": tx.price, "bid": tx.price}

    async def _end_session(self, peer: Peer) -> None:
        """A main connection ended: its streamSessionId dies, and the streams using it close."""
        if peer.session_id is None:
            return
        self.sessions.pop(peer.session_id, None)
        for other in list(self.peers):
            if any(sub.session_id == peer.session_id for sub in other.subs.values()):
                await other.close()

    # -- streaming connection --------------------------------------------------------------------

    async def _serve_stream(self, peer: Peer) -> None:
        emitter = asyncio.create_task(self._emit(peer))
        peer.tasks.add(emitter)
        async for packet in self._commands(peer):
            command = str(packet.get("command"))
            if command == "ping":
                continue
            symbol = str(packet.get("symbol") or "")
            if command.startswith("stop") and "get" + command[4:] in STREAM_SUBSCRIPTIONS:
                peer.subs.pop(("get" + command[4:], symbol), None)
                continue
            if command not in STREAM_SUBSCRIPTIONS:
                peer.outbox.append(dumps(error_reply("BE104", f"Method does not exist: {command}")))
                continue
            owner = self.sessions.get(str(packet.get("streamSessionId")))
            if owner is None or owner.user is None:
                peer.outbox.append(dumps(error_reply("BE117", "Invalid token")))
                continue
            if command in ("getTickPrices", "getCandles") and self.market.symbol(symbol) is None:
                peer.outbox.append(dumps(error_reply("BE115", f"Symbol does not exist: {symbol}")))
                continue
            arrival = int(packet.get("minArrivalTime") or 0)
            interval = 0.2 if arrival == 0 else arrival / 1000
            peer.subs[(command, symbol)] = Subscription(command, owner.user, owner.session_id or "", symbol, interval,
                                                        last=time.monotonic())

    async def _emit(self, peer: Peer) -> None:
        last_malformed = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_seconds)
            if self.stream_silent:
                continue
            now = time.monotonic()
            texts, peer.outbox = peer.outbox, []
            for sub in list(peer.subs.values()):
                texts.extend(self._records_due(sub, now))
            if self.malformed_every and now - last_malformed >= self.malformed_every:
                last_malformed = now
                texts.append('{"command": "tickPrices", "data": {"symbol": "EURUSD", "bid": 1.0')
            if texts:
                await peer.send_texts(texts)

    def _records_due(self, sub: Subscription, now: float) -> list[str]:
        def packet(command: str, data: dict[str, Any]) -> str:
            return dumps({"command": command, "data": data})

        elapsed = now - sub.last
        if sub.command == "getTickPrices":
            instrument = self.market.instruments[sub.symbol]
            if instrument.time != sub.sent and elapsed >= sub.interval:
                sub.last, sub.sent = now, instrument.time
                return [packet("tickPrices", instrument.tick_record(streaming=True))]
        elif sub.command == "getBalance":
            record = sub.user.balance_record()
            if record != sub.sent and (sub.sent is None or elapsed >= self.update_seconds):
                sub.last, sub.sent = now, record
                return [packet("balance", record)]
        elif sub.command == "getProfits" and elapsed >= self.update_seconds:
            sub.last = now
            out = []
            for trade in sub.user.positions.values():
                if sub.profits.get(trade.order) != trade.profit:
                    sub.profits[trade.order] = trade.profit
                    out.append(packet("profit", {"order": trade.order, "order2": trade.order + 1,
                                                 "position": trade.order, "profit": trade.profit}))
            return out
        elif sub.command == "getKeepAlive" and elapsed >= self.keepalive_seconds:
            sub.last = now
            return [packet("keepAlive", {"timestamp": now_ms()})]
        elif sub.command == "getCandles" and elapsed >= self.candle_seconds:
            sub.last = now
            instrument = self.market.instruments[sub.symbol]
            candle = instrument.candle
            if candle is not None:
                return [packet("candle", {"close": candle.close, "ctm": candle.ctm, "ctmString": time_string(candle.ctm),
                                          "high": candle.high, "low": candle.low, "open": candle.open, "quoteId": 10,
                                          "symbol": sub.symbol, "vol": Decimal("0.0")})]
        return []

    def _publish(self, user_id: str, command: str, data: dict[str, Any]) -> None:
        """Queue an event record for every stream of that user subscribed to it."""
        wanted = {"trade": "getTrades", "tradeStatus": "getTradeStatus"}[command]
        text = dumps({"command": command, "data": data})
        for peer in self.peers:
            sub = peer.subs.get((wanted, ""))
            if sub is not None and sub.user.user_id == user_id:
                peer.outbox.append(text)

    async def _market_loop(self) -> None:
        last_churn = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_seconds)
            self.market.step()
            if self.churn_seconds and time.monotonic() - last_churn >= self.churn_seconds:
                last_churn = time.monotonic()
                self.market.churn()
            for user_id, command, data in self.market.drain_events():
                self._publish(user_id, command, data)

    # -- what a config needs to reach it ---------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        user_id, password = next(iter(self.users.items()))
        return [{"name": "XTB demo", "provider": "xtb", "url": self.endpoints["main_tcp"],
                 "stream_url": self.endpoints["stream_tcp"], "user_id": user_id, "password": password,
                 "app_name": "ibmon", "symbols": list(WATCHLIST)}]


def _delays(value: dict[str, Any]) -> dict[str, float]:
    """{command: seconds} from the `slow_commands` setting."""
    delays = {}
    for command, seconds in value.items():
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ConfigError(f'simulator "xtb": setting "slow_commands" must map commands to seconds, '
                              f'not {command} = {seconds!r}')
        delays[str(command)] = float(seconds)
    return delays


#: The switches `XtbControl.set_switches` may change while the simulator runs.
SWITCHES = ("reject_logins", "split_frames", "stream_silent", "malformed_every", "pacing", "max_connections",
            "max_violations", "reply_delay", "churn_seconds", "keepalive_seconds", "update_seconds", "trade_delay")


class XtbControl(Control):
    """The xAPI simulator's handle: connections, switches, the market and what arrived."""

    _state: XtbSimulator

    # -- faults ----------------------------------------------------------------------------------

    @on_loop
    def drop(self, kind: str | None = None) -> int:
        """Close every connection (or only the "main" or "stream" ones) now; returns how many."""
        return self._state.drop(kind)

    @on_loop
    def set_switches(self, **values: Any) -> None:
        """Change run-time switches (names as the settings: reject_logins, split_frames, stream_silent
        (streams stay open and send nothing, not even keepAlive), malformed_every, pacing,
        max_connections, max_violations, reply_delay, churn_seconds, keepalive_seconds,
        update_seconds, trade_delay). A connection made before the change may keep the old value."""
        for name, value in values.items():
            if name not in SWITCHES:
                raise TypeError(f"unknown switch {name!r}; switches: {', '.join(SWITCHES)}")
            setattr(self._state, name, value)

    @on_loop
    def switches(self) -> dict[str, Any]:
        return {name: getattr(self._state, name) for name in SWITCHES}

    @on_loop
    def pause(self) -> None:
        """Stop the market: prices stand still and no position opens or closes by itself."""
        self._state.market.volatility = 0.0
        self._state.churn_seconds = 0.0

    # -- the market ------------------------------------------------------------------------------

    @on_loop
    def user(self, user_id: str) -> User:
        """A copy of the account: balance, open positions, closed trades, indicators()."""
        return copy.deepcopy(self._state.market.users[user_id])

    @on_loop
    def instruments(self) -> dict[str, Instrument]:
        return copy.deepcopy(self._state.market.instruments)

    @on_loop
    def set_balance(self, user_id: str, balance: Decimal) -> None:
        self._state.market.users[user_id].balance = balance

    @on_loop
    def set_bid(self, symbol: str, bid: Decimal) -> None:
        """Move the instrument's bid (the ask keeps its spread); positions on it are revalued at the
        next market step."""
        self._state.market.instruments[symbol].bid = bid

    @on_loop
    def open_position(self, user_id: str, symbol: str | None = None, cmd: int | None = None,
                      volume: Decimal | None = None, *, announce: bool = True) -> Trade:
        """Open a position as a trade in the platform would (on the trade stream unless not
        `announce`d); returns a copy of it."""
        market = self._state.market
        return copy.deepcopy(market.open(market.users[user_id], symbol, cmd, volume, announce=announce))

    @on_loop
    def close_position(self, user_id: str, order: int, volume: Decimal | None = None, *,
                       announce: bool = True) -> Trade:
        """Close (part of) a position as the platform would; without `announce` no stream tells."""
        market = self._state.market
        before = len(market.events)
        closed = market.close(market.users[user_id], order, volume)
        if not announce:
            del market.events[before:]
        return copy.deepcopy(closed)

    # -- what arrived ----------------------------------------------------------------------------

    @on_loop
    def commands(self) -> list[tuple[str, str]]:
        """(connection kind, command) of the last 5000 commands, oldest first."""
        return list(self._state.commands)

    @on_loop
    def violations(self) -> Counter[str]:
        """Commands that broke the 200 ms rule, per connection kind."""
        return Counter(self._state.violations)

    @on_loop
    def dropped(self) -> list[tuple[str, str]]:
        """(connection kind, why) of every connection the simulator closed."""
        return list(self._state.dropped)

    @on_loop
    def logins(self) -> int:
        return self._state.logins

    @on_loop
    def open_connections(self) -> list[str]:
        """The kind ("main" or "stream") of every connection open now, sorted."""
        return sorted(peer.kind for peer in self._state.peers)

    @on_loop
    def session_user(self, session_id: str) -> str | None:
        """The user logged in on the main connection that got this streamSessionId."""
        peer = self._state.sessions.get(session_id)
        return peer.user.user_id if peer is not None and peer.user is not None else None

    @on_loop
    def subscriptions(self) -> list[dict[tuple[str, str], float]]:
        """For each open streaming connection, its subscriptions: (command, symbol) -> seconds
        between records (minArrivalTime)."""
        return [{key: sub.interval for key, sub in peer.subs.items()}
                for peer in self._state.peers if peer.kind == "stream"]


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    simulator = XtbSimulator(host, check_settings(SETTINGS, settings, "xtb"))
    await simulator.start()
    return RunningSimulator(provider="xtb", endpoints=dict(simulator.endpoints),
                            connections=simulator.connections(), stop=simulator.stop,
                            control=XtbControl(simulator))
