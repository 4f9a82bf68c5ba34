"""The attach link's edges: what a misbehaving collector sends is checked like any provider's bytes,
and on-demand requests are forwarded to the collector's session and answered in the codec's terms."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from aiohttp import web

from ibmon.api import ConnectionContext, Provider, RequestSpec, Session
from ibmon.attach import AttachRuntime
from ibmon.collect import Collector
from ibmon.desk import AttachSettings, CollectSettings
from ibmon.errors import ProviderError
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import Account, HealthState, Tick
from ibmon.options import Option
from ibmon.records import to_data
from ibmon.store import Store

GOOD = Account(id="1", balance=Decimal("10.50"), currency="USD")


async def eventually(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not met within {timeout} s")


class Hostile:
    """A WebSocket server that speaks like a collector, sending the frames a test gives it."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = frames
        self.attached = 0

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.attached += 1
        for frame in self.frames if self.attached == 1 else self.frames[:1]:
            await ws.send_str(frame)
        async for _message in ws:  # until the dashboard leaves
            pass
        return ws


async def serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/attach", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"ws://127.0.0.1:{port}/attach"


def full(records: list, protocol: int = 1) -> str:
    return json.dumps({"t": "full", "protocol": protocol, "role": "full", "facts": [], "seen": {"Desk": 1.5},
                       "connections": [{"name": "Desk", "provider": "example", "title": "Ex\x1b[2J", "actions": []}],
                       "records": records, "health": [["Desk", {"state": "live"}]]})


async def test_bad_records_from_the_collector_are_refused_alone_and_bad_frames_reconnect():
    bad = {**to_data(GOOD), "id": "2", "balance": "NaN"}
    server = Hostile([
        full([["account", "Desk", to_data(GOOD)], ["account", "Desk", bad], ["account", "Elsewhere", to_data(GOOD)],
              ["spell", "Desk", {}]]),
        json.dumps({"t": "changes", "put": [["account", "Desk", {**to_data(GOOD), "balance": 3}]],
                    "gone": [["account", "Desk", ["not", "a", "key"]]], "health": [["Desk", {"state": "asleep"}]]}),
        "this is not json",
    ])
    runner, url = await serve(server.handler)
    runtime = AttachRuntime(Store(), AttachSettings(url=url), backoff=Backoff(base=0.1, cap=0.2))
    await runtime.start()
    try:
        await eventually(lambda: runtime.store.health[runtime.link_name].attempt >= 1)
        link = runtime.store.health[runtime.link_name]
        assert "not JSON" in link.detail
        assert runtime.store.accounts["Desk"] == {"1": GOOD}  # the good one, unchanged by the bad update
        assert "Elsewhere" not in runtime.store.accounts
        assert runtime.store.state("Desk") is HealthState.STALE  # the link is down: its data is not fresh
        await eventually(lambda: server.attached >= 2 and runtime.store.state(runtime.link_name) is HealthState.LIVE)
        assert "3 records refused" in runtime.store.health[runtime.link_name].detail
    finally:
        await runtime.stop()
        await runner.cleanup()


async def test_a_collector_of_another_protocol_is_named():
    server = Hostile([full([], protocol=99)])
    runner, url = await serve(server.handler)
    runtime = AttachRuntime(Store(), AttachSettings(url=url), backoff=Backoff(base=5, cap=5))
    await runtime.start()
    try:
        await eventually(lambda: runtime.store.state(runtime.link_name) is HealthState.RECONNECTING)
        assert "attach protocol 99, this dashboard 1" in runtime.store.health[runtime.link_name].detail
    finally:
        await runtime.stop()
        await runner.cleanup()


class Quoting(Session):
    """Streams one account; answers the on-demand request "quotes"."""

    def __init__(self, answers: bool) -> None:
        if answers:
            self.request = self._request

    async def stream(self, sink) -> None:
        sink.account(GOOD)
        sink.ready()
        await asyncio.Event().wait()

    async def _request(self, name: str, params: dict) -> list[Tick]:
        if name != "quotes":
            raise ProviderError(f"no request {name!r}")
        return [Tick(symbol=f"S{i}", bid=Decimal("1.05"), ask=Decimal("1.07"), time=i) for i in range(params["n"])]


@pytest.mark.parametrize("answers", [True, False])
async def test_on_demand_requests_run_on_the_collector(answers):
    runtime = FeedRuntime(Store())
    quotes = RequestSpec("quotes", Tick, "quotes of n symbols", params=(Option("n", "int", default=1),))
    provider = Provider(name="quoting", title="Quoting", connect=lambda ctx: Quoting(answers),
                        requests=(quotes,) if answers else ())
    runtime.add(provider, ConnectionContext("Desk", "quoting", {}))
    collector = Collector(runtime, CollectSettings(port=0))
    base = await collector.start()
    attached = AttachRuntime(Store(), AttachSettings(url=base.replace("http", "ws") + "/attach"))
    await attached.start()
    try:
        await eventually(lambda: attached.store.accounts.get("Desk"))
        session = attached.connections["Desk"].session
        if answers:
            ticks = await session.request("quotes", {"n": 2})
            assert ticks == [Tick("S0", Decimal("1.05"), Decimal("1.07"), 0), Tick("S1", Decimal("1.05"),
                                                                                  Decimal("1.07"), 1)]
            with pytest.raises(ProviderError, match="Desk does not answer the request 'other'"):
                await session.request("other", {})
        else:
            with pytest.raises(ProviderError, match="Desk does not answer the request 'quotes'"):
                await session.request("quotes", {"n": 2})
    finally:
        await attached.stop()
        await collector.stop()
