"""A tiny single-file provider plugin for the host's own tests (loaded through `plugin_dirs`).

Provider "example": a WebSocket stream of JSON messages from its simulator (an account, positions
and ticks), plus a poll of lead counts. It exercises every path of the contract without any real
provider, so the core's tests do not depend on the first-party plugins.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from decimal import Decimal

from ibmon import hookimpl
from ibmon.api import Action, ConnectionContext, Provider, RunningSimulator, Session, Simulator
from ibmon.errors import AuthError, ProviderError
from ibmon.model import Account, LeadCounts, Position, Tick
from ibmon.money import dec, loads
from ibmon.options import Option
from ibmon.secrets import reveal

OPTIONS = (
    Option("url", "url", required=True, help="WebSocket URL of the example feed", example="ws://127.0.0.1:8765"),
    Option("token", "str", required=True, secret=True, help="access token"),
    Option("symbols", "list", default=["EURUSD", "GOLD"], help="watched symbols"),
    Option("poll_seconds", "float", default=0.5, minimum=0.5, help="seconds between lead polls"),
)


class ExampleSession(Session):
    def __init__(self, ctx: ConnectionContext) -> None:
        self.ctx = ctx
        self.poll_interval = ctx.options["poll_seconds"]
        self.ws = None
        self.polls = 0

    async def stream(self, sink) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.ctx.options["url"]) as ws:
            self.ws = ws
            await ws.send(json.dumps({"login": reveal(self.ctx.options["token"]),
                                      "symbols": self.ctx.options["symbols"]}))
            async for raw in ws:
                message = loads(raw)
                kind = message.get("type")
                if kind == "error":
                    raise AuthError(message["text"], code=message.get("code"))
                if kind == "account":
                    sink.account(Account(id=message["id"], balance=dec(message["balance"]),
                                         equity=dec(message["equity"]), currency="USD"))
                elif kind == "positions":
                    sink.positions([Position(account=p["account"], id=str(p["id"]), symbol=p["symbol"],
                                             side=p["side"], volume=dec(p["volume"]), profit=dec(p["profit"]))
                                    for p in message["items"]])
                elif kind == "tick":
                    sink.tick(Tick(message["symbol"], dec(message["bid"]), dec(message["ask"]), message["time"]))
                elif kind == "ready":
                    sink.ready()

    async def poll(self, sink) -> None:
        self.polls += 1
        today = time.strftime("%Y-%m-%d")
        sink.leads(LeadCounts("30d", today, today, leads=10 + self.polls, registrations=3, transactions=1))

    def actions(self) -> list[Action]:
        async def close(position: Position) -> str:
            if self.ws is None:
                raise ProviderError("not connected")
            await self.ws.send(json.dumps({"close": position.id}))
            return f"closed {position.symbol} {position.id}"

        return [Action(id="example.close", title="Close position", target="position", run=close,
                       confirm=lambda p: f"Close {p.side} {p.volume} {p.symbol}?", key="x")]


SIMULATOR_SETTINGS = (
    Option("token", "str", default="example-secret-token", help="the token the feed accepts"),
    Option("interval", "float", default=0.05, minimum=0.001, help="seconds between ticks"),
)


async def start_simulator(host: str = "127.0.0.1", token: str = "example-secret-token",
                          interval: float = 0.05) -> RunningSimulator:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    prices = {"EURUSD": Decimal("1.08500"), "GOLD": Decimal("2400.10"), "BTCUSD": Decimal("65000.5")}
    positions = {"1": {"account": "A1", "id": 1, "symbol": "EURUSD", "side": "buy", "volume": "1.00", "profit": "12.30"}}

    async def handler(ws) -> None:
        hello = json.loads(await ws.recv())
        if hello.get("login") != token:
            await ws.send(json.dumps({"type": "error", "code": "BAD_TOKEN", "text": "token refused"}))
            return
        rng = random.Random()
        balance = Decimal("10000.00")
        await ws.send(json.dumps({"type": "account", "id": "A1", "balance": str(balance), "equity": "10012.30"}))
        await ws.send(json.dumps({"type": "positions", "items": list(positions.values())}))
        for symbol in hello["symbols"]:
            price = prices.get(symbol, Decimal("100.00"))
            await ws.send(json.dumps({"type": "tick", "symbol": symbol, "bid": str(price),
                                      "ask": str(price + Decimal("0.0002")), "time": int(time.time() * 1000)}))
        await ws.send(json.dumps({"type": "ready"}))

        async def reader() -> None:
            async for raw in ws:
                positions.pop(str(json.loads(raw).get("close")), None)
                await ws.send(json.dumps({"type": "positions", "items": list(positions.values())}))

        task = asyncio.create_task(reader())
        try:
            await ticking(ws, hello, rng)
        except ConnectionClosed:
            pass
        finally:
            task.cancel()

    async def ticking(ws, hello, rng) -> None:
        while True:
            await asyncio.sleep(interval)
            symbol = rng.choice(hello["symbols"])
            prices[symbol] = prices.get(symbol, Decimal("100.00")) + Decimal(rng.randint(-5, 5)) / 10000
            await ws.send(json.dumps({"type": "tick", "symbol": symbol, "bid": str(prices[symbol]),
                                      "ask": str(prices[symbol] + Decimal("0.0002")),
                                      "time": int(time.time() * 1000)}))

    server = await serve(handler, host, 0)
    port = server.sockets[0].getsockname()[1]
    url = f"ws://{host}:{port}"

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return RunningSimulator(provider="example", endpoints={"feed": url},
                            connections=[{"name": "Example demo", "provider": "example", "url": url,
                                          "token": token}],
                            stop=stop)


@hookimpl
def ibmon_providers(register):
    register(Provider(name="example", title="Example feed", connect=ExampleSession, options=OPTIONS,
                      description="A tiny provider used by ibmon's own tests."))


@hookimpl
def ibmon_simulators(register):
    register(Simulator(provider="example", title="Example feed", start=start_simulator,
                       settings=SIMULATOR_SETTINGS))
