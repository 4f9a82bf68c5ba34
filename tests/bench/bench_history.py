"""History figures: the writer's cost at 10k ticks/s, and the file's size for a large book.

* writer cost   the headless dashboard on the benchmark feed at 10k ticks/s (50 symbols), once with
                history (and the alert monitor) on and once off, each in a fresh process, the same
                stream: CPU share of the process (the writer's thread included) and tick->frame
                latency (bench_ticks' meter), with the rows written.
* file size     1000 accounts and 50 symbols after 30 days, as thinning leaves them: every poll
                (5 s) of the last hour, one sample a minute for the day before, one an hour beyond;
                one-minute bars for a day, hour bars beyond; plus a funnel polled every 30 s and 200
                position events a day. Rows are written as the writer writes them (HistoryDB), then a
                thinning pass runs to show that it keeps them; the figure is the file's size.
                Every account changing at every poll makes it an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import bench_ticks  # noqa: E402
from common import tick_stream  # noqa: E402

DAY, HOUR = 86400, 3600


def with_history(path: Path | None) -> dict:
    """Make every IbmonApp of this process record into `path` (None: history off); return counters."""
    from ibmon.alerting import AlertMonitor
    from ibmon.app import IbmonApp
    from ibmon.history import History

    original = IbmonApp.__init__
    made: dict = {}

    def init(self, runtime, host, **kwargs):
        if path is not None:
            history = made["history"] = History(runtime.store, path, 90)
            kwargs.update(history=history, alerts=AlertMonitor([], runtime.store, history=history))
        original(self, runtime, host, **kwargs)

    IbmonApp.__init__ = init
    return made


def measure(history: bool, rate: float, count: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--mode", "on" if history else "off", "--rate", str(rate),
                          "--count", str(count)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"history {'on' if history else 'off'} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def writer_cost(quick: bool) -> dict:
    rate = 10_000
    count = int(rate * (3 if quick else 10))
    off = bench_ticks.summary(measure(False, rate, count))
    on = bench_ticks.summary(measure(True, rate, count))
    return {
        "figure": f"history writer's cost at {rate} ticks/s, 50 symbols",
        "baseline": "the same run with history off",
        "history_on": on, "history_off": off,
        "cpu_share_added": round(on["cpu_share"] - off["cpu_share"], 3),
        "p99_ms_added": round(on["p99_ms"] - off["p99_ms"], 1),
        "writer_thread_cpu_share": on.get("writer_thread_cpu_share"),
        "recorder_loop_share": on.get("recorder_loop_share"),
    }


def file_size(quick: bool) -> dict:
    from ibmon.history import HistoryDB

    accounts, symbols = (100, 5) if quick else (1000, 50)
    now = int(time.time())
    rng = random.Random(7)
    # what thinning leaves of 30 days: every 5 s poll of the last hour, a minute for a day, an hour beyond
    sample_times = ([now - DAY * 30 + HOUR * h for h in range(29 * 24)]
                    + [now - DAY + 60 * m for m in range(23 * 60)]
                    + [now - HOUR + 5 * s for s in range(720)])
    bar_times = [now - DAY * 30 + HOUR * h for h in range(29 * 24)] + [now - DAY + 60 * m for m in range(24 * 60)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        db = HistoryDB.open(path)
        started = time.perf_counter()
        for n in range(accounts):
            series = db.series_id("Broker", "account", f"id-{n}", f"{7_000_000 + n}")
            equity = Decimal(rng.randrange(1_000_00, 500_000_00)).scaleb(-2)
            balance = equity
            rows = []
            for t in sample_times:
                equity += Decimal(rng.randrange(-5000, 5001)).scaleb(-2)
                level = (equity / (balance / 4) * 100).quantize(Decimal("0.01"))
                rows.append((series, t, f"{balance:f}", f"{equity:f}", f"{level:f}", f"{equity - balance:f}"))
            with db.transaction():
                db.add_account_samples(rows)
        for n in range(symbols):
            series = db.series_id("Broker", "symbol", f"SYM{n:02}")
            price = Decimal(rng.randrange(5000, 200000)).scaleb(-4)
            rows = []
            for t in bar_times:
                move = Decimal(rng.randrange(-30, 31)).scaleb(-4)
                high, low = max(price, price + move), min(price, price + move)
                rows.append((series, t, f"{price:f}", f"{high + Decimal('0.0002'):f}", f"{low:f}", f"{price + move:f}"))
                price += move
            with db.transaction():
                db.put_bars(rows)
        funnel = [db.series_id("CRM", "leads", window) for window in ("today", "7d", "30d")]
        lead_times = sample_times[: 29 * 24 + 23 * 60] + [now - HOUR + 30 * s for s in range(120)]
        with db.transaction():
            db.add_lead_samples((s, t, 100, 20, 5) for s in funnel for t in lead_times)
            db.add_events((now - DAY * 30 + i * 432, "Broker", "position_opened", f"id-{i % accounts}/P{i}",
                           json.dumps({"symbol": "SYM01", "side": "buy", "volume": "0.10", "profit": "-2.50"}))
                          for i in range(200 * 30))
        rows_before = db.db.execute("SELECT count(*) FROM account_samples").fetchone()[0]
        db.compact(now)
        db.expire(now, 90)
        rows_after = db.db.execute("SELECT count(*) FROM account_samples").fetchone()[0]
        db.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - started
        db.close()
        size = path.stat().st_size
    scale = 1000 / accounts
    return {
        "figure": f"history file for {accounts} accounts and {symbols} symbols over 30 days",
        "goal": "small: state the size", "bytes": size, "megabytes": round(size / 1e6, 1),
        "account_rows": rows_after, "thinning_kept_them": rows_after == rows_before,
        "bytes_per_account_sample": round(size / rows_after, 1),
        "estimated_megabytes_at_1000_accounts": round(size * scale / 1e6, 1) if quick else None,
        "build_seconds": round(seconds, 1),
    }


def run(quick: bool = False) -> list[dict]:
    return [writer_cost(quick), file_size(quick)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("on", "off"))
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.mode is None:
        print(json.dumps(run(args.quick), indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        made = with_history(Path(tmp) / "history.sqlite3" if args.mode == "on" else None)
        seconds = max(20.0, args.count / args.rate * 3)
        with tick_stream(50, args.rate, args.count) as url:
            result = asyncio.run(bench_ticks.run_ibmon(url, args.count, seconds))
        history = made.get("history")
        if history is not None:
            result["history_rows_written"] = history.writer.written
            result["history_dropped"] = history.writer.dropped
            result["history_problem"] = history.problem
            result["writer_thread_cpu_share"] = round(history.writer.cpu_seconds / result["seconds"], 4)
            result["recorder_loop_share"] = round(history.loop_seconds / result["seconds"], 4)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
