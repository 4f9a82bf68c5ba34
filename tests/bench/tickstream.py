"""A WebSocket tick stream for benchmarks, run in its own process so it does not share the client's
CPU. Each message is one JSON tick stamped with its send time (time.time_ns()).

    python tickstream.py PORT_FILE --symbols 50 --rate 1000 --count 20000

--rate 0 sends as fast as the socket takes it. The port is written to PORT_FILE once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path


def make_ticks(symbols: int, seed: int = 1):
    rng = random.Random(seed)
    names = [f"SYM{i:03d}" for i in range(symbols)]
    prices = {name: 100 + rng.random() * 50 for name in names}
    while True:
        name = rng.choice(names)
        prices[name] = max(1.0, prices[name] + rng.uniform(-0.05, 0.05))
        bid = round(prices[name], 5)
        yield name, bid, round(bid + 0.0002, 5)


async def serve(port_file: Path, symbols: int, rate: float, count: int) -> None:
    from websockets.asyncio.server import serve as ws_serve
    from websockets.exceptions import ConnectionClosed

    async def handler(ws) -> None:
        try:
            await stream(ws)
        except ConnectionClosed:  # the measured app ended before the stream did: expected
            pass

    async def stream(ws) -> None:
        ticks = make_ticks(symbols)
        start = time.perf_counter()
        for n in range(count):
            name, bid, ask = next(ticks)
            await ws.send(json.dumps({"symbol": name, "bid": bid, "ask": ask, "sent_ns": time.time_ns()}))
            if rate:
                delay = start + (n + 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
        await ws.send(json.dumps({"end": True}))
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file", type=Path)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(serve(args.port_file, args.symbols, args.rate, args.count))


if __name__ == "__main__":
    main()
