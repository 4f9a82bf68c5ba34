"""A thousand connections: the installed `ibmon` in a pseudo-terminal with 1,000 connections of a
static test provider (tests/support/static_book.py: one account, one position, one quote each).

* start to first frame: from launch until the dashboard shows the data of a connection;
* key to frame: `?` (the help screen drawn), `escape` (back) and `down` (the cursor moves), each from
  the key written to the terminal until the program has drawn the answer; the median of a few.

`python tests/bench/bench_connections.py --connections 1000` prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

from bench_pty import cpu_seconds  # noqa: E402
from common import median  # noqa: E402
from pty_terminal import IBMON, Terminal, terminal_env  # noqa: E402

SUPPORT = HERE.parent / "support"
SIZE = (160, 48)


def config_text(connections: int) -> str:
    entries = [f'[[connections]]\nname = "Book {n:04d}"\nprovider = "static_book"\n'
               f"accounts = 1\npositions = 1\nticks = 1\n" for n in range(connections)]
    return "\n".join(entries)


def quiet(terminal: Terminal, seconds: float) -> None:
    """Render until nothing was written for `seconds`."""
    while True:
        ready, _, _ = select.select([terminal.master], [], [], seconds)
        if not ready or not terminal.pump(0):
            return


def key_to_frame(terminal: Terminal, key: bytes, drawn, timeout: float = 30.0) -> float:
    """Milliseconds from writing `key` until `drawn()` holds on the rendered screen."""
    quiet(terminal, 0.3)
    pressed = time.perf_counter()
    terminal.send(key)
    deadline = pressed + timeout
    while not drawn():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no answer to {key!r} within {timeout} s:\n{terminal.text()}")
        terminal.pump(0.005)
    return (time.perf_counter() - pressed) * 1000


def measure(connections: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "config.toml"
        config.write_text(config_text(connections))
        env = terminal_env(tmp, "static_book")
        started = time.perf_counter()
        terminal = Terminal([str(IBMON), "--config", str(config), "--plugin-dir", str(SUPPORT)], env, SIZE)
        try:
            terminal.wait_for(r"7000", timeout=120)  # the first account's number
            first = time.perf_counter() - started
            quiet(terminal, 1.0)
            pid = terminal.proc.pid
            cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
            quiet(terminal, 3.0)
            idle = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0)
            help_ms, back_ms, down_ms = [], [], []
            for _ in range(repeats):
                help_ms.append(key_to_frame(terminal, b"?", lambda: "Binding id" in terminal.text()))
                back_ms.append(key_to_frame(terminal, b"\x1b", lambda: "Binding id" not in terminal.text()))
                before = terminal.text()
                down_ms.append(key_to_frame(terminal, b"\x1b[B", lambda: terminal.text() != before))
            rss = int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                           if line.startswith("VmRSS:"))) / 1024
        finally:
            terminal.close()
    return {"first_frame_s": round(first, 2), "help_ms": round(median(help_ms), 1),
            "back_ms": round(median(back_ms), 1), "down_ms": round(median(down_ms), 1),
            "runs_ms": {"help": [round(v) for v in help_ms], "back": [round(v) for v in back_ms],
                        "down": [round(v) for v in down_ms]},
            "idle_cpu_share": round(idle, 3), "rss_mb": round(rss, 1)}


def run(quick: bool = False) -> list[dict]:
    connections = 200 if quick else 1000
    result = measure(connections, 2 if quick else 5)
    slowest = max(result["help_ms"], result["back_ms"], result["down_ms"])
    return [
        {"figure": f"{connections:,} connections of a test provider: start to first frame", "goal": "<= 5 s",
         "measured": "installed ibmon in a pseudo-terminal, from launch to the first account on screen",
         "ibmon_s": result["first_frame_s"], "rss_mb": result["rss_mb"], "idle_cpu_share": result["idle_cpu_share"],
         "met": result["first_frame_s"] <= 5},
        {"figure": f"{connections:,} connections: key to frame (?, escape, down)", "goal": "<= 200 ms",
         "help_ms": result["help_ms"], "back_ms": result["back_ms"], "down_ms": result["down_ms"],
         "runs_ms": result["runs_ms"], "met": slowest <= 200},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.connections, args.repeats)))


if __name__ == "__main__":
    os.environ.pop("IBMON_CONFIG", None)
    main()
