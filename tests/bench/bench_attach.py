"""Attach figures: the latency a collector adds between a tick and the frame that shows it on an
attached dashboard, and the bytes per tick on the wire.

* direct   the dashboard (headless) with the benchmark feed plugin: tick send stamp → the frame
           that paints its row.
* attach   the same stream into `ibmon collect` (its own process), the dashboard attached to it:
           tick send stamp → the frame that paints its row. The difference is what attach adds.

Latency is counted for the latest tick of each symbol when its row is painted (coalesced ticks
are not shown, so not counted); the first second is warm-up. Bytes are the JSON payload of the collector's
frames, and the same frames through one DEFLATE stream with context takeover, as the negotiated
permessage-deflate sends them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from common import painted_tick_rows, percentile, tick_stream  # noqa: E402

WARMUP_SECONDS = 1.0
SIZE = (200, 80)


class Latency:
    """Send stamp (ms, in the tick record) → the frame that paints the tick's row on the dashboard
    (run headless): the latest tick per symbol, as the tick board shows it."""

    def __init__(self, store) -> None:
        self.store = store
        self.values: list[float] = []
        self.started: float | None = None
        self._shown: dict[object, int] = {}

    def rendered(self, key) -> None:
        now_ms = time.time_ns() / 1e6
        tick = self.store.ticks.get(key[0], {}).get(key[1])
        if tick is None or self._shown.get(key) == tick.time:
            return
        self._shown[key] = tick.time
        if self.started is None:
            self.started = now_ms
        if now_ms - self.started > WARMUP_SECONDS * 1000:
            self.values.append(now_ms - tick.time)

    def figures(self) -> dict:
        return {"p50_ms": round(percentile(self.values, 50), 2), "p95_ms": round(percentile(self.values, 95), 2),
                "samples": len(self.values)}


async def on_dashboard(runtime, host, seconds: float) -> dict:
    """Run the dashboard headless on `runtime` for `seconds`; the latency of every painted tick row."""
    from ibmon.app import IbmonApp

    meter = Latency(runtime.store)
    with painted_tick_rows(meter.rendered):
        async with IbmonApp(runtime, host).run_test(size=SIZE) as pilot:
            await pilot.pause(seconds)
    return meter.figures()


async def direct(url: str, seconds: float) -> dict:
    from ibmon.feeds import FeedRuntime
    from ibmon.plugins import PluginHost
    from ibmon.store import Store
    from ibmon.testing import make_context

    host = PluginHost()
    host.load(plugin_dirs=[HERE], only=["benchfeed_plugin"], entry_points=False)
    provider = host.providers["benchfeed"]
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    runtime.add(provider, make_context(provider, name="bench", url=url))
    return await on_dashboard(runtime, host, seconds)


async def attached(url: str, seconds: float) -> dict:
    from ibmon.attach import AttachRuntime
    from ibmon.desk import AttachSettings
    from ibmon.plugins import PluginHost
    from ibmon.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "collect.toml"
        config.write_text(f'plugin_dirs = ["{HERE}"]\n[collect]\nport = 0\n'
                          f'[[connections]]\nname = "bench"\nprovider = "benchfeed"\nurl = "{url}"\n')
        config.chmod(0o600)
        env = {**os.environ, "IBMON_PLUGINS": "benchfeed_plugin"}
        collector = subprocess.Popen([sys.executable, "-m", "ibmon", "--config", str(config), "collect"],
                                     stdout=subprocess.PIPE, text=True, env=env)
        try:
            line = collector.stdout.readline()
            attach_url = line.split(" and ")[1].split()[0]
            wire = Wire()

            class Counting(AttachRuntime):
                def _frame(self, frame):  # count each frame's bytes, then apply it as usual
                    wire.add(frame)
                    super()._frame(frame)

            runtime = Counting(Store(), AttachSettings(url=attach_url))
            figures = await on_dashboard(runtime, PluginHost(), seconds)
        finally:
            collector.terminate()
            collector.wait(10)
    ticks_sent = wire.ticks
    return {**figures, "frames": wire.frames, "tick_updates": ticks_sent,
            "payload_bytes_per_tick": round(wire.payload / max(1, ticks_sent), 1),
            "deflated_bytes_per_tick": round(wire.deflated / max(1, ticks_sent), 1)}


class Wire:
    def __init__(self) -> None:
        self.frames = self.payload = self.deflated = self.ticks = 0
        self._deflate = zlib.compressobj(wbits=-15)

    def add(self, text: str) -> None:
        data = text.encode()
        self.frames += 1
        self.payload += len(data)
        self.deflated += len(self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH))
        if text.startswith('{"t":"changes"'):
            self.ticks += text.count('["tick",')


def run(quick: bool = False) -> list[dict]:
    seconds, rate = (3.0, 500) if quick else (8.0, 1000)
    count = int(rate * (seconds + 5))
    figures = []
    with tick_stream(symbols=50, rate=rate, count=count) as url:
        base = asyncio.run(direct(url, seconds))
    with tick_stream(symbols=50, rate=rate, count=count) as url:
        over = asyncio.run(attached(url, seconds))
    figures.append({"figure": "attach added tick->frame latency p50 (ms)", "value": round(over["p50_ms"] - base["p50_ms"], 2),
                    "direct": base, "attached": over, "rate_per_s": rate})
    figures.append({"figure": "attach bytes per tick on the wire (deflated)", "value": over["deflated_bytes_per_tick"],
                    "payload_bytes_per_tick": over["payload_bytes_per_tick"], "frames": over["frames"],
                    "tick_updates": over["tick_updates"]})
    return figures


if __name__ == "__main__":
    import json

    for figure in run("--quick" in sys.argv):
        print(json.dumps(figure))
