"""Deadlines for whole operations: a poll that never finishes, a stream that goes silent, a provider
that asks to wait. Real clients against their simulators (through a gate that can stop answering),
a real FeedRuntime and Store, and the app where it shows."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from ibmon.api import ConnectionContext, Provider, Session
from ibmon.app import IbmonApp
from ibmon.config import build_config
from ibmon.errors import RateLimited
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import Account, HealthState
from ibmon.store import Store
from ibmon.testing import FakeClock, wait_for

from runtime_kit import Gate, add, first_party, make_runtime, options_of, record_health, screen_text, simulator, until


async def test_a_poll_that_never_finishes_hits_its_deadline_and_a_refresh_works_after_it():
    host = first_party("b2core")
    async with simulator(host, "b2core", accounts=8, interval=0.2) as running:
        gate = await Gate(running.endpoints["api"]).start()
        # backoff far away: only the manual refresh can bring the connection back within the test
        runtime = make_runtime(backoff=Backoff(base=600, cap=600, jitter=0))
        add(runtime, host.providers["b2core"], "B2Core", options_of(running, base_url=gate.url, poll_seconds=600),
            poll_timeout=1.0)
        app = IbmonApp(runtime, host)
        try:
            async with app.run_test(size=(200, 50)) as pilot:
                store = runtime.store
                await until(pilot, lambda: len(store.accounts.get("B2Core", {})) == 8, timeout=15)
                gate.stalled = True
                await pilot.press("r")
                await until(pilot, lambda: store.health["B2Core"].state is HealthState.RECONNECTING, timeout=15)
                assert store.health["B2Core"].detail == "poll took longer than 1 s"
                assert gate.swallowed > 0
                await until(pilot, lambda: "poll took longer than 1 s" in screen_text(app))
                assert len(store.accounts["B2Core"]) == 8  # what was shown stays

                gate.stalled = False
                await pilot.press("r")
                await until(pilot, lambda: store.health["B2Core"].state is HealthState.LIVE, timeout=15)
                assert "poll took longer" not in screen_text(app)
        finally:
            await gate.stop()


async def test_the_connection_key_poll_timeout_overrides_the_providers_default(tmp_path):
    host = first_party("b2core")
    doc = {"connections": [
        {"name": "fast", "provider": "b2core", "base_url": "http://127.0.0.1:9/api/v2/ib", "token": "t",
         "poll_timeout": 5},
        {"name": "default", "provider": "b2core", "base_url": "http://127.0.0.1:9/api/v2/ib", "token": "t"},
        {"name": "bad", "provider": "b2core", "base_url": "http://127.0.0.1:9/api/v2/ib", "token": "t",
         "poll_timeout": 0},
    ]}
    config = build_config(doc, host)
    assert config.problems == ['connection "bad" (b2core): key "poll_timeout" must be a number of seconds from 1 '
                               'to 86400 (how long a whole refresh may take), not 0']
    runtime = FeedRuntime(Store(), watchdog_interval=None, stall_seconds=None)
    for connection in config.connections:
        runtime.add(host.providers["b2core"], connection.context())
    await runtime.start()
    try:
        assert runtime.connections["fast"].poll_timeout == 5.0
        assert runtime.connections["default"].poll_timeout == 120.0  # B2Core's own
    finally:
        await runtime.stop()


async def test_a_silent_xapi_stream_is_torn_down_and_reconnected():
    host = first_party("xtb")
    async with simulator(host, "xtb", churn_seconds=0, tick_seconds=0.05) as running:
        sim = running.control
        sessions = []

        def quick_watchdog(session):
            session.silence_timeout = 1.0  # the real 15 s, shortened for the test
            sessions.append(session)

        runtime = make_runtime(backoff=Backoff(base=0.2, cap=1))
        conn = add(runtime, host.providers["xtb"], "XTB", options_of(running), adjust=quick_watchdog)
        await runtime.start()
        try:
            store = runtime.store
            await wait_for(lambda: conn.ready and store.ticks.get("XTB"), timeout=15)
            logins = sim.logins()
            states = record_health(runtime)

            sim.set_switches(stream_silent=True)  # the socket stays open; nothing arrives, not even keepAlive
            await wait_for(lambda: any(h.state is HealthState.RECONNECTING for h in states), timeout=15)
            torn = next(h for h in states if h.state is HealthState.RECONNECTING)
            assert torn.detail == "no data for 1 s: the link is dead"
            sim.set_switches(stream_silent=False)
            await wait_for(lambda: sim.logins() > logins and store.health["XTB"].state is HealthState.LIVE,
                           timeout=15)
            # the dead stream's sockets were closed by the session: one main and one stream connection
            await wait_for(lambda: sim.open_connections() == ["main", "stream"], timeout=15)
            assert sessions[0].silence_timeout == 1.0
        finally:
            await runtime.stop()


def test_the_xtb_session_declares_the_dead_link_limit():
    from ibmon_xtb.session import XtbSession

    assert XtbSession.silence_timeout == 15.0  # keepAlive every 3 s: five missed


class RateLimitedOnce(Session):
    """A provider that answers the first poll with "wait 58 s"."""

    poll_interval = 1.0

    def __init__(self) -> None:
        self.polls = 0

    async def poll(self, sink) -> None:
        self.polls += 1
        if self.polls == 1:
            raise RateLimited("HTTP 429: too many requests", retry_after=58)
        sink.account(Account(id="1", balance=Decimal("1.00")))


async def test_rate_limited_waits_at_least_retry_after_and_says_so():
    clock = FakeClock()
    release = asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the runtime's waits are held until the test releases them
        waits.append(seconds)
        clock.now += seconds
        await release.wait()
        release.clear()

    session = RateLimitedOnce()
    runtime = FeedRuntime(Store(clock=clock), clock=clock, sleep=sleep, rng=random.Random(1),
                          backoff=Backoff(base=1, cap=30), watchdog_interval=None, stall_seconds=None)
    runtime.add(Provider(name="p", title="P", connect=lambda ctx: session),
                ConnectionContext(name="limited", provider="p", options={}))
    await runtime.start()
    try:
        await wait_for(lambda: waits)
        assert waits == [58]  # at least retry_after, although the first backoff step is 1 s
        health = runtime.store.health["limited"]
        assert health.describe(health.since) == "rate limited, next try in 58 s: HTTP 429: too many requests"
        runtime.refresh("limited")  # a manual refresh does not jump the provider's wait
        for _ in range(50):
            await asyncio.sleep(0)
        assert session.polls == 1
        release.set()
        await wait_for(lambda: session.polls == 2 and runtime.store.health["limited"].state is HealthState.LIVE)
        assert not runtime.store.health["limited"].rate_limited
    finally:
        release.set()
        await runtime.stop()


async def test_the_health_line_on_screen_says_rate_limited():
    session = RateLimitedOnce()
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    runtime.add(Provider(name="p", title="Limited provider", connect=lambda ctx: session),
                ConnectionContext(name="limited", provider="p", options={}))
    app = IbmonApp(runtime, first_party())
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: "rate limited, next try in 5" in screen_text(app))
        assert "HTTP 429: too many requests" in screen_text(app)
        assert session.polls == 1
