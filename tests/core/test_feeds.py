"""Feed runtime: backoff, reconnects, never-stacked polls and health transitions, on a fake clock."""

import asyncio
import random
from decimal import Decimal as D

import pytest

from ibmon.api import ConnectionContext, Provider, Session
from ibmon.errors import AuthError, ProviderError
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import Account, HealthState
from ibmon.store import Store
from ibmon.testing import FakeClock


def runtime_with(session: Session, clock: FakeClock, **kwargs) -> FeedRuntime:
    runtime = FeedRuntime(Store(clock=clock), clock=clock, sleep=clock.sleep, rng=random.Random(7),
                          backoff=Backoff(base=1, factor=2, cap=30, jitter=0.2), watchdog_interval=None,
                           **kwargs)
    provider = Provider(name="fake", title="Fake", connect=lambda ctx: session)
    runtime.add(provider, ConnectionContext(name="conn", provider="fake", options={}))
    return runtime


def record_health(runtime: FeedRuntime) -> list:
    """Every health record the runtime publishes from now on."""
    published = []
    original = runtime.store.set_health
    runtime.store.set_health = lambda name, health: (published.append(health), original(name, health))
    return published


async def settle(predicate, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


class FlakyStream(Session):
    """Fails `failures` times, then delivers and stays connected until told to drop."""

    def __init__(self, failures: int, error=ProviderError("connection refused")) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.drop = asyncio.Event()
        self.states: list[HealthState] = []

    async def stream(self, sink) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        sink.account(Account(id="1", balance=D("1.00")))
        sink.ready()
        await self.drop.wait()
        self.drop.clear()
        raise ProviderError("socket closed")


async def test_stream_backs_off_exponentially_with_jitter_then_goes_live():
    clock = FakeClock()
    session = FlakyStream(failures=5)
    runtime = runtime_with(session, clock)
    seen = []
    await runtime.start()
    conn = runtime.connections["conn"]
    await settle(lambda: conn.ready)
    assert session.calls == 6
    delays = clock.sleeps[: 5]
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(30, 2 ** (attempt - 1))
        assert nominal * 0.8 <= delay <= nominal * 1.2, (attempt, delay)
    assert len(set(delays)) == 5  # jitter: no two the same
    assert runtime.store.health["conn"].state is HealthState.LIVE
    assert runtime.store.accounts["conn"]["1"].balance == D("1.00")
    await runtime.stop()


async def test_reconnect_health_names_attempt_next_try_and_reason():
    clock = FakeClock()
    session = FlakyStream(failures=0)
    runtime = runtime_with(session, clock)
    await runtime.start()
    conn = runtime.connections["conn"]
    await settle(lambda: conn.ready)
    published = record_health(runtime)
    session.drop.set()
    await settle(lambda: session.calls == 2 and conn.health.state is HealthState.LIVE)
    reconnecting = next(h for h in published if h.state is HealthState.RECONNECTING)
    assert reconnecting.attempt == 1 and "socket closed" in reconnecting.detail
    text = reconnecting.describe(now=reconnecting.since)
    assert text.startswith("reconnecting (attempt 1, next try in 1 s): socket closed")
    # a successful reconnect resets the attempt counter: the next drop is attempt 1 again
    published.clear()
    session.drop.set()
    await settle(lambda: session.calls == 3 and conn.health.state is HealthState.LIVE)
    assert [h.attempt for h in published if h.state is HealthState.RECONNECTING] == [1]
    await runtime.stop()


async def test_permanent_errors_show_error_and_retry_at_the_slowest_pace():
    clock = FakeClock()
    session = FlakyStream(failures=2, error=AuthError("bad login: check user_id and password", code="BE005"))
    runtime = runtime_with(session, clock)
    await runtime.start()
    await settle(lambda: runtime.connections["conn"].ready)
    assert clock.sleeps[:2] == [30, 30]
    assert runtime.connections["conn"].first_error == "BE005: bad login: check user_id and password"
    await runtime.stop()


async def test_a_stream_that_returns_is_treated_as_a_drop_and_retried_forever():
    clock = FakeClock()

    class Ends(Session):
        calls = 0

        async def stream(self, sink):
            Ends.calls += 1
            if Ends.calls >= 50:
                await asyncio.Event().wait()

    runtime = runtime_with(Ends(), clock)
    await runtime.start()
    await settle(lambda: Ends.calls >= 50)
    assert max(clock.sleeps) <= 30 * 1.2  # capped
    assert runtime.store.health["conn"].state is HealthState.CONNECTING
    await runtime.stop()


class SlowPoll(Session):
    def __init__(self) -> None:
        self.poll_interval = 10.0
        self.running = 0
        self.max_running = 0
        self.calls = 0
        self.release = asyncio.Event()

    async def poll(self, sink) -> None:
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.release.wait()
            self.release.clear()
            sink.account(Account(id="1", balance=D(self.calls)))
        finally:
            self.running -= 1


async def test_polls_are_never_stacked_and_rescheduled_after_finishing():
    clock = FakeClock()
    session = SlowPoll()
    runtime = runtime_with(session, clock)
    await runtime.start()
    await settle(lambda: session.calls == 1)
    for _ in range(5):
        runtime.refresh()  # manual refreshes while a poll runs must not start another
        await asyncio.sleep(0)
    assert session.calls == 1 and session.max_running == 1
    session.release.set()
    await settle(lambda: session.calls == 2)  # the pending refresh runs right after, not beside
    assert session.max_running == 1
    assert runtime.store.health["conn"].state is HealthState.LIVE
    session.release.set()
    await settle(lambda: session.calls == 3)
    assert 10.0 in clock.sleeps  # the regular interval follows a finished poll
    await runtime.stop()


async def test_poll_failure_backs_off_then_recovers():
    clock = FakeClock()

    class Failing(Session):
        poll_interval = 5.0
        calls = 0

        async def poll(self, sink):
            Failing.calls += 1
            if Failing.calls <= 3:
                raise ProviderError("HTTP 500 from server")
            sink.account(Account(id="1", balance=D("2.50")))
            await asyncio.Event().wait() if Failing.calls > 4 else None

    runtime = runtime_with(Failing(), clock)
    await runtime.start()
    await settle(lambda: runtime.connections["conn"].ready)
    assert [round(s) for s in clock.sleeps[:3]] == [1, 2, 4]
    assert runtime.store.health["conn"].state is HealthState.LIVE
    await runtime.stop()


async def live_stream(clock: FakeClock, **limits) -> tuple[FlakyStream, FeedRuntime, object]:
    """A started runtime whose stream session (with `limits` set on it) is live."""
    session = FlakyStream(failures=0)
    for name, value in limits.items():
        setattr(session, name, value)
    runtime = runtime_with(session, clock)
    await runtime.start()
    conn = runtime.connections["conn"]
    await settle(lambda: conn.ready)
    return session, runtime, conn


async def test_stale_after_silence_and_live_again_on_data():
    clock = FakeClock()
    session, runtime, conn = await live_stream(clock, stale_after=15)
    clock.now += 10
    runtime.check_staleness()
    assert conn.health.state is HealthState.LIVE
    clock.now += 10
    runtime.check_staleness()
    assert conn.health.state is HealthState.STALE
    assert conn.health.describe(clock.now, runtime.store.last_data["conn"]) == \
        "stale: no data for 20 s · updated 20 s ago"
    from ibmon.feeds import ConnectionSink
    ConnectionSink(conn, runtime.store).alive()
    assert conn.health.state is HealthState.LIVE
    await runtime.stop()


async def test_disabled_connection_is_shown_and_never_connected():
    clock = FakeClock()
    runtime = FeedRuntime(Store(), clock=clock, sleep=clock.sleep, watchdog_interval=None)
    called = []
    provider = Provider(name="fake", title="Fake", connect=lambda ctx: called.append(ctx))
    runtime.add(provider, ConnectionContext(name="off", provider="fake", options={}), enabled=False)
    await runtime.start()
    await runtime.wait_settled(1)
    assert runtime.store.health["off"].state is HealthState.DISABLED and called == []
    await runtime.stop()


async def test_a_connect_that_raises_is_local_to_its_connection():
    clock = FakeClock()
    good = FlakyStream(failures=0)
    runtime = runtime_with(good, clock)

    def broken(ctx):
        raise ValueError("bad option combination")

    runtime.add(Provider(name="bad", title="Bad", connect=broken),
                ConnectionContext(name="broken", provider="bad", options={}))
    await runtime.start()
    await settle(lambda: runtime.connections["conn"].ready)
    assert runtime.store.health["broken"].state is HealthState.ERROR
    assert "bad option combination" in runtime.store.health["broken"].detail
    await runtime.stop()


async def test_read_only_connections_refuse_mutating_actions():
    from ibmon.api import Action

    clock = FakeClock()
    runtime = FeedRuntime(Store(), clock=clock, sleep=clock.sleep, watchdog_interval=None)
    runtime.add(Provider(name="fake", title="Fake", connect=lambda ctx: FlakyStream(0)),
                ConnectionContext(name="ro", provider="fake", options={}, read_only=True))

    async def run(target):
        return "done"

    action = Action(id="x", title="Close position", target="position", run=run)
    with pytest.raises(ProviderError, match="read-only"):
        await runtime.run_action("ro", action, None)
    assert await runtime.run_action("ro", Action(id="y", title="Look", target="position", run=run,
                                                 mutating=False), None) == "done"


async def test_a_connection_with_tls_verification_off_says_so_on_its_health_line():
    clock = FakeClock()
    session = FlakyStream(failures=0)
    runtime = FeedRuntime(Store(clock=clock), clock=clock, sleep=clock.sleep, watchdog_interval=None)
    provider = Provider(name="fake", title="Fake", connect=lambda ctx: session)
    runtime.add(provider, ConnectionContext(name="off", provider="fake", options={"tls_verify": False}))
    runtime.add(Provider(name="fake2", title="Fake", connect=lambda ctx: FlakyStream(0)),
                ConnectionContext(name="on", provider="fake2", options={"tls_verify": True}))
    await runtime.start()
    await settle(lambda: runtime.connections["off"].ready and runtime.connections["on"].ready)
    assert runtime.store.health["off"].notes == ("TLS verification off",)
    assert runtime.store.health["off"].describe(clock.now).endswith("· TLS verification off")
    assert runtime.store.health["on"].notes == ()
    await runtime.stop()


async def test_stop_is_bounded_even_when_a_session_ignores_cancellation(monkeypatch):
    import ibmon.feeds as feeds

    monkeypatch.setattr(feeds, "STOP_SECONDS", 0.2)

    class Stubborn(Session):
        async def stream(self, sink):
            sink.ready()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                await asyncio.sleep(3600)  # a plugin bug: ignores the first cancellation

        async def close(self):
            await asyncio.sleep(3600)

    runtime = FeedRuntime(Store(), watchdog_interval=None)
    runtime.add(Provider(name="s", title="S", connect=lambda ctx: Stubborn()),
                ConnectionContext(name="stubborn", provider="s", options={}))
    await runtime.start()
    await settle(lambda: runtime.connections["stubborn"].ready)
    started = asyncio.get_running_loop().time()
    await runtime.stop()
    assert asyncio.get_running_loop().time() - started < 2
    for task in asyncio.all_tasks():
        if task.get_name() == "stream:stubborn":
            task.cancel()  # the second cancellation ends it


async def test_a_note_keeps_the_reconnect_details_of_the_health_line():
    clock = FakeClock()
    session = FlakyStream(failures=0)
    runtime = runtime_with(session, clock)
    conn = runtime.connections["conn"]
    conn.publish(HealthState.RECONNECTING, "socket closed", attempt=3, next_try_at=clock.now + 8)
    from ibmon.feeds import ConnectionSink
    ConnectionSink(conn, runtime.store).note("2 accounts missing")
    health = runtime.store.health["conn"]
    assert (health.state, health.attempt, health.notes) == (HealthState.RECONNECTING, 3, ("2 accounts missing",))
    assert health.describe(clock.now).startswith("reconnecting (attempt 3, next try in 8 s): socket closed")


async def test_a_stream_silent_past_its_silence_timeout_is_torn_down_and_reconnected():
    clock = FakeClock()
    session, runtime, conn = await live_stream(clock, silence_timeout=15)
    clock.now += 14
    runtime.check_staleness()
    await asyncio.sleep(0)
    assert session.calls == 1 and conn.health.state is HealthState.LIVE
    published = record_health(runtime)
    clock.now += 2
    runtime.check_staleness()
    await settle(lambda: session.calls == 2 and conn.health.state is HealthState.LIVE)
    torn = next(h for h in published if h.state is HealthState.RECONNECTING)
    assert torn.detail == "no data for 15 s: the link is dead" and torn.attempt == 1
    await runtime.stop()
