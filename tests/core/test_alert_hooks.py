"""The alert command hook: the alert as JSON on stdin with secrets masked, never waited for, and
killed (with what it started) when it outlives its timeout."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from ibmon.alerting import AlertMonitor
from ibmon.alerts import parse_rules
from ibmon.model import Account
from ibmon.secrets import forget, remember
from ibmon.store import Store

SECRET = "hook-s3cret-9876"


def monitor_with(command, timeout=5.0):
    problems: list[str] = []
    rules = parse_rules([{"name": "Floor", "kind": "balance_below", "threshold": 100, "command": command,
                          "command_timeout": timeout}], [], problems)
    assert problems == []
    store = Store()
    monitor = AlertMonitor(rules, store)
    notices: list[tuple[str, str, str]] = []
    rings: list[int] = []
    monitor.start(lambda *notice: notices.append(notice), lambda: rings.append(1))
    return store, monitor, notices, rings


async def wait_for(predicate, seconds=10.0):
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not met: {predicate}")


async def test_the_hook_reads_the_alert_as_json_with_secrets_masked(tmp_path):
    out = tmp_path / "alert.json"
    script = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    remember(SECRET)
    try:
        store, monitor, notices, rings = monitor_with([sys.executable, "-c", script])
        # a provider that echoes a token into an account's name must not hand it to the hook
        store.set_account("Broker", Account("A1", Decimal("99.5"), "USD", name=f"acct-{SECRET}"))
        [alert] = monitor.evaluate(1_800_000_000)
        await wait_for(out.exists)
        await wait_for(lambda: not monitor.hooks._tasks)
        text = out.read_text()
        document = json.loads(text)
        assert SECRET not in text and "acct-***" in document["subject"]
        assert {k: document[k] for k in ("source", "rule", "kind", "connection", "figure", "threshold", "state")} == {
            "source": "ibmon", "rule": "Floor", "kind": "balance_below", "connection": "Broker", "figure": "99.5",
            "threshold": "100", "state": "active"}
        assert document["fired_at"] == 1_800_000_000 and document["id"] == alert.id
        assert rings == [1] and [n[1] for n in notices] == ["Alert: Floor"]
        assert all(SECRET not in part for notice in notices for part in notice)
    finally:
        forget(SECRET)
        await monitor.stop()


async def test_a_hung_hook_is_killed_after_its_timeout_with_what_it_started(tmp_path):
    pids = tmp_path / "pids"
    script = ("import os, subprocess, sys, time; sys.stdin.read(); child = subprocess.Popen(['sleep', '60']); "
              f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}'); time.sleep(60)")
    store, monitor, notices, _rings = monitor_with([sys.executable, "-c", script], timeout=1.0)
    try:
        store.set_account("Broker", Account("A1", Decimal("10"), "USD"))
        assert len(monitor.evaluate(1_800_000_000)) == 1
        assert monitor.hooks._tasks  # evaluate handed the hook to a task and returned
        await wait_for(lambda: pids.exists() and pids.read_text().count(" ") == 1)
        await wait_for(lambda: any("did not finish within 1 s and was stopped" in n[0] for n in notices), 20)
        assert [n[1] for n in notices if "did not finish" in n[0]] == ["Alert command"]
        for pid in map(int, pids.read_text().split()):
            await wait_for(lambda: _gone(pid))
    finally:
        await monitor.stop()


async def test_a_missing_program_is_said_and_the_monitor_goes_on(tmp_path):
    store, monitor, notices, _rings = monitor_with(["/nonexistent/notify-me"])
    try:
        store.set_account("Broker", Account("A1", Decimal("10"), "USD"))
        monitor.evaluate(1)
        await wait_for(lambda: any("not found" in n[0] for n in notices))
        assert 'command "/nonexistent/notify-me" not found' in next(n[0] for n in notices if "not found" in n[0])
    finally:
        await monitor.stop()


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for its parent to read its status."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state
