"""B2Core with a large IB: the installed `ibmon` in a pseudo-terminal against the B2Core simulator
(in a process of its own) holding 50,000 accounts, nothing drifting.

* start to the first account on screen (pages fetched with bounded concurrency, shown as they arrive);
* RSS added by the accounts: the same run against a simulator holding none is the baseline;
* CPU share of the ibmon process over whole poll cycles once every account is in (the first full
  poll has ended: the connection shows live), nothing changing, from the start of a poll to the
  start of the poll `cycles` later, and the share in the gaps between polls;
* how long the first full poll took (from launch to live);
* the same run with `history = false`, so what the history recorder adds shows apart.

`python tests/bench/bench_b2core.py --accounts 50000` prints one variant.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import tomli_w

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

from bench_pty import cpu_seconds  # noqa: E402
from pty_terminal import IBMON, Terminal, terminal_env  # noqa: E402

SIZE = (160, 48)
#: Account numbers as the simulator gives them (5000000 + i, 100000 + i).
NUMBER = re.compile(r"\b(?:5\d{6}|1\d{5})\b")


def rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_simulator(tmp: Path, accounts: int, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    config = tmp / "sim.toml"
    proc = subprocess.Popen([str(IBMON), "sim", "b2core", "--set", f"accounts={accounts}", "--set", "interval=1e9",
                             "--set", "seed=7", "--write-config", str(config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (config.exists() and config.stat().st_size):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the B2Core simulator did not start: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.1)
    time.sleep(0.2)  # the file is written in one go, but give the writer its close
    return proc, config


def measure(accounts: int, poll_seconds: float, cycles: int, concurrency: int | None, history: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = terminal_env(tmp, "b2core")
        sim, sim_config = start_simulator(tmp, accounts, env)
        try:
            doc = tomllib.loads(sim_config.read_text())
            if not history:
                doc["history"] = False
            for connection in doc["connections"]:
                connection["poll_seconds"] = poll_seconds
                if concurrency is not None:
                    connection["page_concurrency"] = concurrency
            config = tmp / "config.toml"
            config.write_text(tomli_w.dumps(doc))
            return run_dashboard(config, env, accounts, poll_seconds, cycles)
        finally:
            sim.terminate()
            sim.wait(10)


#: CPU share of a quarter second from which the dashboard counts as polling (between polls it idles near 0).
BUSY = 0.08
QUARTER = 0.25


def run_dashboard(config: Path, env: dict[str, str], accounts: int, poll_seconds: float, cycles: int) -> dict:
    started = time.perf_counter()
    terminal = Terminal([str(IBMON), "--config", str(config)], env, SIZE)
    try:
        first = None
        if accounts:
            terminal.wait_for(NUMBER.pattern, timeout=120)
            first = time.perf_counter() - started
        # Settle: the first full poll ends when the connection turns live (the health line says so);
        # then a moment for the history recorder and the table to take its last pages in.
        terminal.wait_for(r"\blive\b", timeout=600)
        full_poll = time.perf_counter() - started
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline:
            terminal.pump(0.1)
        pid = terminal.proc.pid

        def quarter() -> tuple[float, float]:
            cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
            end = wall0 + QUARTER
            while (left := end - time.perf_counter()) > 0:
                terminal.pump(left)
            return cpu_seconds(pid) - cpu0, time.perf_counter() - wall0

        # Whole poll cycles, nothing changing: from the start of a poll (a busy quarter second after a
        # quiet spell) to the start of the poll `cycles` later; without a visible start (a poll too
        # light to tell apart), `cycles` intervals of 2 s more than the poll interval.
        samples: list[tuple[float, float]] = []
        limit = time.perf_counter() + 2 * poll_seconds + 10
        while time.perf_counter() < limit:
            cpu, wall = quarter()
            if cpu / wall >= BUSY:
                samples.append((cpu, wall))
                break
        starts, quiet = 0, 0
        limit = time.perf_counter() + cycles * (2 * poll_seconds + 10)
        fixed = time.perf_counter() + cycles * (poll_seconds + 2)
        while time.perf_counter() < limit:
            cpu, wall = quarter()
            busy = cpu / wall >= BUSY
            if busy and quiet >= 8:  # the next poll began
                starts += 1
                if starts == cycles:
                    break
            quiet = 0 if busy else quiet + 1
            samples.append((cpu, wall))
            if starts == 0 and time.perf_counter() > fixed and not any(c / w >= BUSY for c, w in samples):
                break
        rss = rss_of(pid)  # after whole poll cycles: the first full poll has surely ended
        if terminal.proc.poll() is not None:
            raise RuntimeError(f"ibmon ended early:\n{terminal.text()}")
        shares = sorted(c / w for c, w in samples)
        quiet_half = shares[: len(shares) // 2]  # the calmer half: the gaps between polls
        return {"first_account_s": None if first is None else round(first, 2),
                "first_full_poll_s": round(full_poll, 1), "rss_mb": round(rss, 1),
                "cpu_share": round(sum(c for c, _ in samples) / sum(w for _, w in samples), 4),
                "cpu_share_between_polls": round(sum(quiet_half) / max(1, len(quiet_half)), 4),
                "seconds": round(sum(w for _, w in samples), 1), "whole_cycles": starts == cycles}
    finally:
        terminal.close()


def variant(accounts: int, poll_seconds: float, cycles: int, concurrency: int | None = None,
            history: bool = True) -> dict:
    argv = [sys.executable, __file__, "--accounts", str(accounts), "--poll", str(poll_seconds),
            "--cycles", str(cycles)] + ([] if history else ["--no-history"])
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[dict]:
    accounts, poll, cycles = (10_000, 8.0, 1) if quick else (50_000, 15.0, 2)
    empty = variant(0, poll, 1)
    book = variant(accounts, poll, cycles)
    bare = variant(accounts, poll, cycles, history=False)  # what the history recorder adds, apart
    added = round(book["rss_mb"] - empty["rss_mb"], 1)
    scale = f"{accounts:,} accounts"
    return [
        {"figure": f"B2Core, {scale}: start to the first account on screen", "goal": "<= 5 s",
         "measured": "installed ibmon in a pseudo-terminal, from launch", "ibmon_s": book["first_account_s"],
         "met": book["first_account_s"] <= 5},
        {"figure": f"B2Core, {scale}: RSS added", "baseline": "ibmon against a simulator holding none",
         "goal": "<= 100 MB", "ibmon_rss_mb": book["rss_mb"], "baseline_rss_mb": empty["rss_mb"],
         "added_mb": added, "added_with_history_off_mb": round(bare["rss_mb"] - empty["rss_mb"], 1),
         "met": added <= 100},
        {"figure": f"B2Core, {scale}: CPU share, nothing changing", "goal": "<= 5% of a core",
         "poll_seconds": poll, "first_full_poll_s": book["first_full_poll_s"],
         "whole_cycles": book["whole_cycles"], "over_whole_poll_cycles": book["cpu_share"],
         "between_polls": book["cpu_share_between_polls"], "baseline_over_cycles": empty["cpu_share"],
         "history_off": {"over_whole_poll_cycles": bare["cpu_share"], "between_polls": bare["cpu_share_between_polls"],
                         "first_full_poll_s": bare["first_full_poll_s"]},
         "met": book["cpu_share_between_polls"] <= 0.05},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--poll", type=float, default=15.0)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--no-history", action="store_true", help="history = false in the config")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.accounts is None:
        print(json.dumps(run(args.quick), indent=2))
    else:
        print(json.dumps(measure(args.accounts, args.poll, args.cycles, args.concurrency, not args.no_history)))


if __name__ == "__main__":
    os.environ.pop("IBMON_CONFIG", None)
    main()
