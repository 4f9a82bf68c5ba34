"""Tick figures: ingest rate, tick→frame latency, frames/s and CPU, ibmon against baselines.

Each measurement runs in its own process (this script with --mode) against tickstream.py in another:

* bare       a websockets client (compression off) reading the stream and decoding JSON: the ingest
             baseline (messages/s).
* ibmon      the dashboard headless (App.run_test) with the benchmark feed plugin: every tick goes
             through the runtime into the store; the tick board paints at frame rate.
* datatable  the same stream into a Textual DataTable with update_cell: the latency/CPU baseline.

A tick's latency is measured from its send stamp (server side) to the moment the row showing it is
rendered for a frame (the latest tick of each symbol; coalesced ones are counted as applied, not as
shown). Frames/s counts rendering passes that painted at least one tick row.

Each rate runs the DataTable and then ibmon, PAIRS times (--quick: once); a figure is taken from
the median pair, since CPU shares and latencies move with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from common import painted_tick_rows, percentile, ratio, tick_stream  # noqa: E402

SIZE = (200, 80)


WARMUP_SECONDS = 1.0


class Meter:
    """Latency and frame counting, fed by the row renderers of either app. The first second after
    the first tick is warm-up (start-up work, first layout) and is not measured."""

    def __init__(self) -> None:
        self.started_ns: int | None = None
        self.latest_sent: dict[str, int] = {}
        self.shown_sent: dict[str, int] = {}
        self.latencies_ms: list[float] = []
        self.frames = 0
        self._last_paint = 0.0

    def applied(self, symbol: str, sent_ns: int) -> None:
        self.latest_sent[symbol] = sent_ns
        if self.started_ns is None:
            self.started_ns = sent_ns

    def rendered(self, symbol: str) -> None:
        sent = self.latest_sent.get(symbol)
        if sent is None or self.shown_sent.get(symbol) == sent:
            return
        now_ns = time.time_ns()
        self.shown_sent[symbol] = sent
        if sent - (self.started_ns or sent) < WARMUP_SECONDS * 1e9:
            return
        self.latencies_ms.append((now_ns - sent) / 1e6)
        now = time.perf_counter()
        if now - self._last_paint > 0.002:  # rows rendered within 2 ms belong to one frame
            self.frames += 1
        self._last_paint = now


async def run_bare(url: str, count: int) -> dict:
    from websockets.asyncio.client import connect

    received = 0
    start = last = 0.0
    async with connect(url, compression=None, max_queue=None) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if "end" in message:
                break
            received += 1
            last = time.perf_counter()
            if received == 1:
                start = last
        elapsed = last - start
    return {"received": received, "seconds": elapsed, "per_second": received / elapsed}


def ibmon_app(url: str):
    """The dashboard on the benchmark feed plugin reading `url`: (app, store, connection)."""
    from ibmon.app import IbmonApp
    from ibmon.feeds import FeedRuntime
    from ibmon.plugins import PluginHost
    from ibmon.store import Store
    from ibmon.testing import make_context

    host = PluginHost()
    host.load(plugin_dirs=[HERE], only=["benchfeed_plugin"], entry_points=False)
    provider = host.providers["benchfeed"]
    store = Store()
    runtime = FeedRuntime(store)
    conn = runtime.add(provider, make_context(provider, name="bench", url=url))
    return IbmonApp(runtime, host), store, conn


async def run_ibmon(url: str, count: int, seconds: float) -> dict:
    app, store, conn = ibmon_app(url)
    meter = Meter()

    def painted(key) -> None:
        session, symbol = conn.session, key[1]
        if session is not None and symbol in session.sent_ns:
            meter.applied(symbol, session.sent_ns[symbol])
            meter.rendered(symbol)

    with painted_tick_rows(painted):
        async with app.run_test(size=SIZE) as pilot:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            deadline = wall0 + seconds
            while store.tick_count < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            await pilot.pause(0.1)
    session = conn.session
    if session is not None and session.first_at is not None and session.received > 1:
        elapsed = session.last_at - session.first_at  # first to last tick applied
    return {"applied": store.tick_count, "received": session.received if session else 0,
            "seconds": elapsed, "per_second": store.tick_count / elapsed, "cpu_seconds": cpu,
            "latencies_ms": meter.latencies_ms, "frames": meter.frames}


def datatable_app(url: str, on_tick=None):
    """The baseline: the same stream into a Textual DataTable with update_cell. `on_tick(symbol,
    sent_ns)` is called for each tick applied."""
    from textual.app import App
    from textual.widgets import DataTable
    from websockets.asyncio.client import connect

    class TableApp(App):
        def compose(self):
            yield DataTable()

        def on_mount(self) -> None:
            self.table = self.query_one(DataTable)
            self.bid, self.ask = self.table.add_columns("Bid", "Ask")
            self.run_worker(self.read(), exclusive=True)

        async def read(self) -> None:
            async with connect(url, compression=None, max_queue=None) as ws:
                async for raw in ws:
                    message = json.loads(raw)
                    if "end" in message:
                        break
                    symbol = message["symbol"]
                    if symbol not in self.table.rows:
                        self.table.add_row(message["bid"], message["ask"], key=symbol)
                    else:
                        self.table.update_cell(symbol, self.bid, message["bid"])
                        self.table.update_cell(symbol, self.ask, message["ask"])
                    if on_tick is not None:
                        on_tick(symbol, message["sent_ns"])

    return TableApp()


async def run_datatable(url: str, count: int, seconds: float) -> dict:
    from textual.widgets import DataTable

    meter = Meter()
    original = DataTable._render_line_in_row

    def render_line_in_row(table, row_key, *args, **kwargs):
        if row_key is not None and row_key.value is not None:
            meter.rendered(row_key.value)
        return original(table, row_key, *args, **kwargs)

    DataTable._render_line_in_row = render_line_in_row
    received = 0

    def applied(symbol: str, sent_ns: int) -> None:
        nonlocal received
        received += 1
        meter.applied(symbol, sent_ns)

    app = datatable_app(url, applied)
    async with app.run_test(size=SIZE) as pilot:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        deadline = wall0 + seconds
        while received < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        await pilot.pause(0.1)
    return {"applied": received, "seconds": elapsed, "per_second": received / elapsed, "cpu_seconds": cpu,
            "latencies_ms": meter.latencies_ms, "frames": meter.frames}


def measure(mode: str, rate: float, count: int, symbols: int = 50) -> dict:
    """Run one measurement in a fresh process; return its JSON."""
    out = subprocess.run([sys.executable, __file__, "--mode", mode, "--rate", str(rate), "--count", str(count),
                          "--symbols", str(symbols)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} measurement failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(result: dict) -> dict:
    latencies = result.pop("latencies_ms", [])
    result["p50_ms"] = round(percentile(latencies, 50), 1)
    result["p99_ms"] = round(percentile(latencies, 99), 1)
    result["frames_per_second"] = round(result.pop("frames", 0) / result["seconds"], 1)
    result["cpu_share"] = round(result["cpu_seconds"] / result["seconds"], 3)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


#: Pairs (the DataTable, then ibmon, back to back) a figure is the median of: CPU shares and
#: latencies move with the machine's load (two cores: a process busy on one slows the other).
PAIRS = 3


def _median_pair(pairs: list[tuple[dict, dict]], figure) -> tuple[dict, dict]:
    """The pair whose `figure(datatable, ibmon)` is the median."""
    return sorted(pairs, key=lambda pair: figure(*pair))[len(pairs) // 2]


def _cpu_ratio(table: dict, board: dict) -> float:
    return ratio(board["cpu_share"], table["cpu_share"])


def _p99(table: dict, board: dict) -> float:
    return board["p99_ms"]


def run(quick: bool = False) -> list[dict]:
    ingest_count = 5_000 if quick else 50_000
    bare = measure("bare", 0, ingest_count)
    ours = measure("ibmon", 0, ingest_count)
    figures = [{
        "figure": "tick ingest into the store, app headless",
        "baseline": "bare websockets client decoding JSON",
        "goal": ">= 0.5x its messages/s, every tick applied",
        "ibmon_per_second": round(ours["per_second"]), "baseline_per_second": round(bare["per_second"]),
        "applied": ours["applied"], "sent": ingest_count,
        "ratio": ratio(ours["per_second"], bare["per_second"]),
        "met": ours["per_second"] >= 0.5 * bare["per_second"] and ours["applied"] == ingest_count,
    }]
    seconds = 3 if quick else 10
    for rate in (1_000, 10_000):
        count = int(rate * seconds)
        pairs = [(summary(measure("datatable", rate, count)), summary(measure("ibmon", rate, count)))
                 for _ in range(1 if quick else PAIRS)]
        table, board = _median_pair(pairs, _cpu_ratio if rate == 1_000 else _p99)
        figure = {
            "figure": f"p99 tick->frame latency and frames/s, 50 symbols, {rate} ticks/s",
            "baseline": "the same stream into a Textual DataTable (update_cell)",
            "ibmon": board, "datatable": table,
            "ratio": ratio(board["p99_ms"], table["p99_ms"]),
            "pairs_p99_ms": sorted(_p99(*pair) for pair in pairs),
        }
        if rate == 10_000:  # the goal is set at the higher rate
            figure["goal"] = "p99 <= 40 ms and <= 0.6x the DataTable's p99"
            figure["met"] = board["p99_ms"] <= 40 and board["p99_ms"] <= 0.6 * table["p99_ms"]
        figures.append(figure)
        if rate == 1_000:
            cpu_ratio = _cpu_ratio(table, board)
            figures.append({
                "figure": "CPU at 1k ticks/s", "baseline": "the DataTable app, measured just before (median of pairs)",
                "goal": "<= 0.4x", "ibmon_cpu_share": board["cpu_share"], "datatable_cpu_share": table["cpu_share"],
                "pair_ratios": sorted(_cpu_ratio(*pair) for pair in pairs), "ratio": cpu_ratio,
                "met": cpu_ratio <= 0.4,
            })
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("bare", "ibmon", "datatable"))
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.mode is None:
        print(json.dumps(run(args.quick), indent=2))
        return
    seconds = max(20.0, args.count / args.rate * 3) if args.rate else 120.0
    with tick_stream(args.symbols, args.rate, args.count) as url:
        if args.mode == "bare":
            result = asyncio.run(run_bare(url, args.count))
        elif args.mode == "ibmon":
            result = asyncio.run(run_ibmon(url, args.count, seconds))
        else:
            result = asyncio.run(run_datatable(url, args.count, seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
