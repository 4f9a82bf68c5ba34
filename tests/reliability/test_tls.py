"""TLS verification is on by default for every provider that speaks TLS: a certificate from an unknown
CA is refused on that connection (and shown on its health line); where a provider lets the user turn
verification off, the connection works and its health line says so.

Every simulator serves TLS here by its `tls_cert` setting, with a certificate issued by a throw-away CA
that no trust store knows (the REST simulators HTTPS only, XTB tls:// and wss:// beside its plain
endpoints).
"""

from __future__ import annotations

import asyncio

import pytest

from ibmon import config as cfg
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import HealthState
from ibmon.simulators import SimulatorHost
from ibmon.store import Store

VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"


@pytest.fixture(scope="module")
def ca():
    import trustme

    return trustme.CA()


@pytest.fixture(scope="module")
def sims(ca, tmp_path_factory):
    from ibmon.plugins import PluginHost

    folder = tmp_path_factory.mktemp("tls")
    server_pem = folder / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        # a token of its own: Flex's rate limiter is per token and process-wide
        sims.start(None, {"tls_cert": str(server_pem), "ibkr_flex.pending_polls": 0,
                          "ibkr_flex.tokens": ["tls-test-flex-token"]})
        assert not sims.failures, sims.failures
        yield host, sims


def _entry(sims: SimulatorHost, provider: str, name: str, **changes) -> dict:
    running = next(r for r in sims.running if r.provider == provider)
    entry = {**running.connections[0], "name": name, **changes}
    assert not entry.get("base_url", "https://").startswith("http://")
    return entry


async def _health(host, entries: list[dict], *, until) -> dict[str, str]:
    config = cfg.build_config({"connections": entries}, host)
    config.raise_problems()
    runtime = FeedRuntime(Store(), backoff=Backoff(base=0.1, cap=0.5), watchdog_interval=None)
    for connection in config.connections:
        runtime.add(host.providers[connection.provider], connection.context())
    await runtime.start()
    try:
        for _ in range(600):  # up to 30 s: generous on a loaded machine
            health = runtime.store.health
            if all(until(health[e["name"]].state) for e in entries):
                break
            await asyncio.sleep(0.05)
        return {e["name"]: runtime.store.health[e["name"]].describe() for e in entries}
    finally:
        await runtime.stop()


async def test_every_tls_connection_refuses_an_untrusted_certificate_by_default(sims):
    host, sims = sims
    xtb = next(r for r in sims.running if r.provider == "xtb").endpoints
    entries = [
        _entry(sims, "xtb", "xtb tls", url=xtb["main_tls"], stream_url=xtb["stream_tls"]),
        _entry(sims, "xtb", "xtb wss", url=xtb["main_wss"], stream_url=xtb["stream_wss"]),
        _entry(sims, "ctrader", "ctrader"),
        _entry(sims, "b2core", "b2core"),
        _entry(sims, "crm", "crm"),
        _entry(sims, "ibkr_flex", "flex", max_wait_seconds=2),
    ]
    lines = await _health(host, entries, until=lambda state: state in (HealthState.RECONNECTING, HealthState.ERROR))
    for name, line in lines.items():
        assert line.startswith(("reconnecting", "error")), (name, line)
        assert VERIFY_FAILED in line or "certificate verify failed" in line, (name, line)
        assert "TLS verification off" not in line


async def test_turning_verification_off_works_and_shows_on_the_health_line(sims):
    host, sims = sims
    xtb = next(r for r in sims.running if r.provider == "xtb").endpoints
    entries = [
        _entry(sims, "xtb", "xtb tls", url=xtb["main_tls"], stream_url=xtb["stream_tls"], tls_verify=False),
        _entry(sims, "xtb", "xtb wss", url=xtb["main_wss"], stream_url=xtb["stream_wss"], tls_verify=False),
        _entry(sims, "b2core", "b2core", tls_verify=False, poll_seconds=0.5),
        _entry(sims, "ctrader", "ctrader", tls_verify=False),
        _entry(sims, "crm", "crm", tls_verify=False),
        _entry(sims, "ibkr_flex", "flex", tls_verify=False, max_wait_seconds=2),
    ]
    lines = await _health(host, entries, until=lambda state: state is HealthState.LIVE)
    for name, line in lines.items():
        assert line.startswith("live"), (name, line)
        assert line.endswith("· TLS verification off"), (name, line)
