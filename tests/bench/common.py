"""Shared pieces of the benchmark scripts: the tick stream process and small statistics."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


@contextlib.contextmanager
def tick_stream(symbols: int = 50, rate: float = 0, count: int = 20000):
    """Run tickstream.py in its own process; yield its ws:// URL."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen([sys.executable, str(HERE / "tickstream.py"), str(port_file),
                                 "--symbols", str(symbols), "--rate", str(rate), "--count", str(count)])
        try:
            deadline = time.monotonic() + 15
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the tick stream did not start")
                time.sleep(0.02)
            yield f"ws://127.0.0.1:{port_file.read_text()}"
        finally:
            proc.terminate()
            proc.wait(5)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("nan")


@contextlib.contextmanager
def painted_tick_rows(painted):
    """While inside: `painted(key)` for every tick board row drawn, key being (connection, symbol)."""
    from ibmon.widgets.tick_board import TickBoard

    original = TickBoard._row_strip

    def row_strip(board, row):
        painted(row.key)
        return original(board, row)

    TickBoard._row_strip = row_strip
    try:
        yield
    finally:
        TickBoard._row_strip = original
