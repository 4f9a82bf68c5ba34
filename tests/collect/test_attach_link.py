"""Losing the collector shows on the dashboard's status line, the mirrored connections keep what they
showed (marked stale), and the dashboard reconnects with backoff and gets a fresh full picture."""

from __future__ import annotations

import socket

from ibmon.app import IbmonApp
from ibmon.attach import AttachRuntime
from ibmon.desk import AttachSettings
from ibmon.feeds import Backoff
from ibmon.model import HealthState
from ibmon.plugins import PluginHost
from ibmon.store import Store

from collect_support import collecting, simulators, until, write_config

B2CORE = "B2Core demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_losing_the_collector_shows_and_the_dashboard_reconnects(tmp_path):
    port = free_port()
    with simulators(only=["b2core"]) as sims:
        config = write_config(tmp_path / "collect.toml", sims.connections(), {"port": port})
        url = f"ws://127.0.0.1:{port}/attach"
        host = PluginHost()
        host.load()
        runtime = AttachRuntime(Store(), AttachSettings(url=url), backoff=Backoff(base=0.2, cap=1.0))
        app = IbmonApp(runtime, host)
        link = runtime.link_name
        assert link == f"collector 127.0.0.1:{port}"
        async with app.run_test(size=(140, 40)) as pilot:
            status = app.dashboard.health
            with collecting(config):
                await until(pilot, lambda: runtime.store.accounts.get(B2CORE), timeout=20)
                await until(pilot, lambda: runtime.store.state(B2CORE) is HealthState.LIVE, timeout=10)
                shown = dict(runtime.store.accounts[B2CORE])
                assert f"{link}" in status.build().plain
            # the collector is gone (stopped with SIGTERM)
            await until(pilot, lambda: runtime.store.state(link) is HealthState.RECONNECTING, timeout=15)
            text = status.build().plain
            assert link in text and "reconnecting (attempt" in text
            assert runtime.store.state(B2CORE) is HealthState.STALE
            assert "the collector is unreachable" in text
            assert runtime.store.accounts[B2CORE].keys() == shown.keys()  # nothing shown is lost
            attempts = runtime.store.health[link].attempt
            await until(pilot, lambda: runtime.store.health[link].attempt > attempts, timeout=10)

            with collecting(config):
                await until(pilot, lambda: runtime.store.state(link) is HealthState.LIVE, timeout=20)
                await until(pilot, lambda: runtime.store.state(B2CORE) is HealthState.LIVE, timeout=20)
                assert "reconnecting" not in status.build().plain.split(link)[1].split("\n")[0]
