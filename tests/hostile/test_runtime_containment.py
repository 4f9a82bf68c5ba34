"""Misbehaving sessions: SystemExit / KeyboardInterrupt from a session or an action, a session that
blocks the event loop, a poll interval below the floor. The app keeps running and the connection's
health line says what happened."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal

import pytest

from ibmon.api import Action, ConnectionContext, Provider, Session
from ibmon.app import IbmonApp
from ibmon.feeds import FeedRuntime
from ibmon.model import Account, HealthState
from ibmon.store import Store

from runtime_kit import first_party, screen_text, until
from ui_support import notifications


class Exits(Session):
    """Ends "the app" from wherever `where` says: stream, poll, close or its action."""

    def __init__(self, where: str, exit_with: BaseException) -> None:
        self.where = where
        self.exit_with = exit_with
        self.poll_interval = 30.0 if where == "poll" else None
        self.closed = False

    def _maybe_exit(self, here: str) -> None:
        if self.where == here:
            raise self.exit_with

    async def stream(self, sink) -> None:
        sink.account(Account(id="1", balance=Decimal("5.00")))
        sink.ready()
        self._maybe_exit("stream")
        await asyncio.Event().wait()

    async def poll(self, sink) -> None:
        self._maybe_exit("poll")

    async def close(self) -> None:
        self.closed = True
        self._maybe_exit("close")

    def actions(self) -> list[Action]:
        async def run(target) -> str:
            self._maybe_exit("action")
            return "done"

        return [Action(id="x.look", title="Look", target="account", run=run, mutating=False)]

    @property
    def is_polling(self) -> bool:
        return self.where == "poll"


def runtime_with(*sessions: tuple[str, Session], **settings) -> FeedRuntime:
    runtime = FeedRuntime(Store(), watchdog_interval=None, **settings)
    for name, session in sessions:
        runtime.add(Provider(name=name, title=f"{name} provider", connect=lambda ctx, s=session: s),
                    ConnectionContext(name=name, provider=name, options={}))
    return runtime


@pytest.mark.parametrize("exit_with", [SystemExit(3), KeyboardInterrupt()], ids=["SystemExit", "KeyboardInterrupt"])
async def test_a_session_that_exits_in_stream_poll_or_close_is_a_failure_of_its_connection(exit_with):
    sessions = {where: Exits(where, exit_with) for where in ("stream", "poll", "close")}
    healthy = Exits("nowhere", exit_with)
    runtime = runtime_with(*sessions.items(), ("healthy", healthy))
    app = IbmonApp(runtime, first_party())
    async with app.run_test(size=(200, 50)) as pilot:
        store = runtime.store
        await until(pilot, lambda: all(store.state(name) is HealthState.RECONNECTING for name in ("stream", "poll")))
        for name in ("stream", "poll"):
            assert "the plugin tried to end the app" in store.health[name].detail
            assert type(exit_with).__name__ in store.health[name].detail
        assert store.state("healthy") is HealthState.LIVE
        assert "the plugin tried to end the app" in screen_text(app)
        await pilot.press("h")  # the app still answers keys
        await pilot.press("h")
        assert app.is_running
    # leaving the app closes every session: the one raising in close() did not end the exit early
    assert sessions["close"].closed and healthy.closed


async def test_an_action_that_exits_is_reported_and_the_app_keeps_running():
    session = Exits("action", SystemExit(0))
    runtime = runtime_with(("acting", session))
    app = IbmonApp(runtime, first_party())
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: runtime.store.state("acting") is HealthState.LIVE)
        [action] = session.actions()
        await app.perform_action("acting", action, runtime.store.accounts["acting"]["1"])
        await until(pilot, lambda: any("tried to end the app" in n for n in notifications(app)))
        assert app.is_running
        with pytest.raises(Exception, match="tried to end the app"):
            await runtime.run_action("acting", action, None)


class Blocking(Session):
    """A plugin bug: the first poll calls time.sleep on the event loop."""

    poll_interval = 30.0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.polls = 0

    async def poll(self, sink) -> None:
        self.polls += 1
        if self.polls == 1:
            time.sleep(self.seconds)
        sink.account(Account(id="1", balance=Decimal("1.00")))


async def test_a_session_that_blocks_the_event_loop_is_named_on_its_health_line():
    blocking, quiet = Blocking(2.5), Blocking(0)
    quiet.polls = 1  # never blocks
    runtime = runtime_with(("blocker", blocking), ("quiet", quiet))
    app = IbmonApp(runtime, first_party())
    async with app.run_test(size=(200, 50)) as pilot:
        store = runtime.store
        await until(pilot, lambda: any("blocked the app" in note for note in store.health["blocker"].notes),
                    timeout=15)
        [note] = [n for n in store.health["blocker"].notes if "blocked the app" in n]
        seconds = float(re.fullmatch(r"blocked the app for (\d+\.\d) s", note).group(1))
        assert 2.0 <= seconds
        assert not any("blocked" in n for n in store.health["quiet"].notes)
        await until(pilot, lambda: "blocked the app for" in screen_text(app))


async def test_a_blocked_loop_outside_any_connection_is_logged_not_pinned_on_one(caplog):
    quiet = Blocking(0)
    quiet.polls = 1
    runtime = runtime_with(("quiet", quiet))
    await runtime.start()
    try:
        await asyncio.sleep(0.2)
        time.sleep(2.0)  # the test itself (not a session) blocks the loop
        for _ in range(20):
            await asyncio.sleep(0.05)
        assert any(re.search(r"the app was blocked for \d+\.\d s", r.getMessage()) for r in caplog.records)
        assert not any("blocked" in n for n in runtime.store.health["quiet"].notes)
    finally:
        await runtime.stop()


async def test_a_poll_interval_below_the_floor_is_refused_on_the_health_line():
    class Hammering(Session):
        poll_interval = 0.01
        polls = 0

        async def poll(self, sink) -> None:
            Hammering.polls += 1

    runtime = runtime_with(("hammer", Hammering()))
    await runtime.start()
    try:
        await runtime.wait_settled(5)
        health = runtime.store.health["hammer"]
        assert health.state is HealthState.ERROR
        assert health.detail == "refused: polls every 0.01 s, more often than the 0.5 s the app allows"
        assert Hammering.polls == 0
    finally:
        await runtime.stop()


def test_first_party_poll_options_refuse_an_interval_below_the_floor():
    from ibmon.api import MIN_POLL_INTERVAL
    from ibmon.options import apply_options

    host = first_party("b2core", "ctrader", "crm", "ibkr_flex")
    for provider in host.providers.values():
        option = provider.option("poll_seconds")
        assert option is not None and option.minimum >= MIN_POLL_INTERVAL, provider.name
        _values, problems = apply_options([option], {"poll_seconds": 0.1}, f'connection "{provider.name}"')
        assert problems and "poll_seconds" in problems[0]
