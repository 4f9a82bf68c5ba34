"""A single-file provider for benchmarks: reads tickstream.py's WebSocket stream into the sink.

It does what every streaming plugin does per message (JSON with Decimal money, a Tick record, one
sink call), so the benchmark measures ibmon's data path, not a provider's protocol.
"""

from __future__ import annotations

import time

from ibmon import hookimpl
from ibmon.api import Provider, Session
from ibmon.model import Tick
from ibmon.money import loads
from ibmon.options import Option


class BenchFeed(Session):
    def __init__(self, ctx) -> None:
        self.url = ctx.options["url"]
        self.received = 0
        self.first_at: float | None = None  # perf_counter of the first and latest tick applied
        self.last_at: float | None = None
        self.sent_ns: dict[str, int] = {}  # latest send stamp per symbol, for latency figures

    async def stream(self, sink) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.url, compression=None, max_queue=None) as ws:
            sink.ready()
            async for raw in ws:
                message = loads(raw)
                if "end" in message:
                    continue
                self.sent_ns[message["symbol"]] = message["sent_ns"]
                sink.tick(Tick(message["symbol"], message["bid"], message["ask"], message["sent_ns"] // 1_000_000))
                self.received += 1
                self.last_at = time.perf_counter()
                if self.first_at is None:
                    self.first_at = self.last_at


@hookimpl
def ibmon_providers(register):
    register(Provider(name="benchfeed", title="Benchmark feed", connect=BenchFeed,
                      options=(Option("url", "url", required=True),)))
