"""REST figures: one refresh of 1000 B2Core accounts (p99 per cycle) and the CRM's lead counts
with 1,000,000 leads (requests per count), each against its plugin's simulator on loopback."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import median, percentile  # noqa: E402


def _session(host, running):
    """A session of the simulator's first connection, with a sink writing into a real store."""
    from ibmon.feeds import ConnectionSink, FeedRuntime
    from ibmon.store import Store
    from ibmon.testing import make_context

    entry = dict(running.connections[0])
    name, provider_name = entry.pop("name"), entry.pop("provider")
    provider = host.providers[provider_name]
    runtime = FeedRuntime(Store())
    conn = runtime.add(provider, make_context(provider, name=name, **entry))
    session = provider.connect(conn.context)
    return session, ConnectionSink(conn, runtime.store), runtime.store, name


async def b2core_refresh(cycles: int) -> dict:
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(only=["b2core"])
    running = await host.simulators["b2core"].start(accounts=1000, interval=0.2)
    session, sink, store, name = _session(host, running)
    try:
        durations = []
        for _ in range(cycles):
            start = time.perf_counter()
            await session.poll(sink)
            durations.append(time.perf_counter() - start)
        shown = len(store.accounts.get(name, {}))
    finally:
        await session.close()
        await running.stop()
    return {"figure": "one refresh of 1000 accounts over REST (B2Core simulator)", "baseline": "-",
            "goal": "p99 <= 1 s a cycle", "accounts": shown, "cycles": cycles,
            "p50_s": round(median(durations), 3), "p99_s": round(percentile(durations, 99), 3),
            "met": percentile(durations, 99) <= 1.0 and shown == 1000}


async def crm_counts() -> dict:
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(only=["crm"])
    running = await host.simulators["crm"].start(huge_leads=1_000_000, tick=0)
    session, sink, store, name = _session(host, running)
    try:
        before = running.control.counts()
        start = time.perf_counter()
        await session.poll(sink)
        elapsed = time.perf_counter() - start
        after = running.control.counts()
        windows = store.leads.get(name, {})
    finally:
        await session.close()
        await running.stop()
    requests = {path: after[path] - before.get(path, 0) for path in after if after[path] != before.get(path, 0)}
    counts = {window: {"leads": c.leads, "registrations": c.registrations, "transactions": c.transactions}
              for window, c in windows.items()}
    lead_requests = requests.get("/api/v1/ib/leads", 0)
    return {"figure": "CRM lead counts with 1,000,000 leads", "baseline": "-", "goal": "one request per count",
            "windows": counts, "requests_by_path": requests, "poll_s": round(elapsed, 3),
            "lead_requests_per_window": round(lead_requests / max(1, len(windows)), 2),
            "met": bool(windows) and lead_requests == len(windows)}


def run(quick: bool = False) -> list[dict]:
    return [asyncio.run(b2core_refresh(5 if quick else 30)), asyncio.run(crm_counts())]


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
