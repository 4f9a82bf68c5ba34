"""What reaches a real terminal: bytes written to a pseudo-terminal and whole-process CPU, with the
real Textual driver (not headless), as an SSH link would carry it.

* `ibmon demo` at 160x48: every simulator and the dashboard, bytes/s once it has settled in.
* 50 symbols at 1k ticks/s into the tick board, against the same stream into a Textual DataTable in
  the same pseudo-terminal size (this script with --app ibmon|datatable runs one of them).

The pseudo-terminal is drained as a terminal would read it (raw bytes, nothing rendered here).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

from common import ratio, tick_stream  # noqa: E402
from pty_terminal import IBMON, Terminal, terminal_env  # noqa: E402

SIZE = (160, 48)
TICK_RATE = 1_000


def cpu_seconds(pid: int) -> float:
    """User and system CPU of process `pid` so far (every thread of it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(terminal: Terminal, seconds: float) -> int:
    """Read what the program writes for `seconds`; the byte count."""
    count = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([terminal.master], [], [], min(left, 0.1))
        if ready:
            try:
                data = os.read(terminal.master, 65536)
            except OSError:
                break
            if not data:
                break
            count += len(data)
    return count


def measure(argv: list[str], env: dict[str, str], warmup: float, seconds: float) -> dict:
    """Run `argv` in a pseudo-terminal; after `warmup` seconds, bytes/s and CPU share over `seconds`."""
    terminal = Terminal(argv, env, SIZE)
    try:
        drain(terminal, warmup)
        if terminal.proc.poll() is not None:
            raise RuntimeError(f"{argv[-1]} ended early with {terminal.proc.returncode}")
        cpu0, wall0 = cpu_seconds(terminal.proc.pid), time.perf_counter()
        written = drain(terminal, seconds)
        cpu, wall = cpu_seconds(terminal.proc.pid) - cpu0, time.perf_counter() - wall0
    finally:
        terminal.close()
    return {"bytes_per_second": round(written / wall), "cpu_share": round(cpu / wall, 3), "seconds": round(wall, 1)}


def run(quick: bool = False) -> list[dict]:
    import tempfile

    seconds = 5 if quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        env = terminal_env(Path(tmp), "")
        env.pop("IBMON_PLUGINS")  # every installed plugin, as a user's demo
        demo = measure([str(IBMON), "demo"], env, warmup=8, seconds=seconds)
        figures = [{
            "figure": f"`ibmon demo` at {SIZE[0]}x{SIZE[1]} in a pseudo-terminal, bytes/s",
            "goal": "<= 6 KB/s", "ibmon": demo, "met": demo["bytes_per_second"] <= 6 * 1024,
        }]
        apps = {}
        for app in ("datatable", "ibmon"):
            with tick_stream(50, TICK_RATE, int(TICK_RATE * (seconds + 10))) as url:
                apps[app] = measure([sys.executable, __file__, "--app", app, "--url", url], env,
                                    warmup=3, seconds=seconds)
    ours, table = apps["ibmon"], apps["datatable"]
    figures.append({
        "figure": f"bytes to a pseudo-terminal, 50 symbols at {TICK_RATE} ticks/s",
        "baseline": "the same stream into a Textual DataTable in the same terminal", "goal": "<= 0.5x",
        "ibmon": ours, "datatable": table,
        "ratio": ratio(ours["bytes_per_second"], table["bytes_per_second"]),
        "met": ours["bytes_per_second"] <= 0.5 * table["bytes_per_second"],
    })
    figures.append({
        "figure": f"whole-process CPU in a pseudo-terminal, 50 symbols at {TICK_RATE} ticks/s",
        "baseline": "the DataTable app", "goal": "<= 0.4x",
        "ratio": ratio(ours["cpu_share"], table["cpu_share"]),
        "met": ours["cpu_share"] <= 0.4 * table["cpu_share"],
    })
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=("ibmon", "datatable"))
    parser.add_argument("--url")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.app is None:
        import json

        print(json.dumps(run(args.quick), indent=2))
        return
    from bench_ticks import datatable_app, ibmon_app

    app = ibmon_app(args.url)[0] if args.app == "ibmon" else datatable_app(args.url)
    app.run()


if __name__ == "__main__":
    main()
