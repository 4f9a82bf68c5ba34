"""Helpers for testing a plugin against the host, usable by third-party plugins too.

    sink = RecordingSink()
    session = provider.connect(make_context(provider, url=sim.url, password="pw"))
    task = asyncio.create_task(session.stream(sink))
    await sink.wait_ready()
    assert sink.account_records["12345"].balance == Decimal("1000.00")

A provider screen is tested with `ScreenHarness`: the session writes through the runtime's own sink
into a real store, and the screen gets the `ScreenContext` the app would give it:

    harness = ScreenHarness(provider, session)
    await harness.poll()
    await app.push_screen(MyScreen(harness.context(selected=account)))
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ibmon.api import ConnectionContext, Provider
from ibmon.errors import ConfigError
from ibmon.mapping import Rejected
from ibmon.model import ACCOUNT, LEADS, POSITION, TICK, Account, LeadCounts, Position, RecordKind, Tick
from ibmon.options import check_options
from ibmon.validate import checked, key_of, screen_all


def make_context(provider: Provider, name: str = "test", read_only: bool = False,
                 poll_timeout: float | None = None, **options: Any) -> ConnectionContext:
    """A validated ConnectionContext for `provider`, as the config loader would build it (its
    options, then its rules across them); ConfigError names every problem."""
    values, problems = check_options(provider.options, provider.rules, options, f'connection "{name}"')
    if problems:
        raise ConfigError(problems)
    return ConnectionContext(name=name, provider=provider.name, options=values, read_only=read_only,
                             poll_timeout=poll_timeout)


#: The built-in kinds' shorthand calls of a sink, by kind name.
_SHORTHAND = {"account": "account", "position": "position", "tick": "tick", "leads": "leads"}


class RecordingSink:
    """A Sink that keeps what it is told, for assertions: the latest records by key in
    `account_records`, `position_records`, `ticks` and `lead_records`, and a provider's own kinds
    (pass them as `kinds`) by kind name and key in `records`.

    Records are checked as the app's sink checks them: a rejected one is not kept (a replace-all
    keeps its previous version) and `rejections` holds (kind, key, reason) of every rejection."""

    def __init__(self, kinds: Iterable[RecordKind] = ()) -> None:
        self.kinds: dict[str, RecordKind] = {kind.name: kind for kind in kinds}
        self.records: dict[str, dict[Any, Any]] = {name: {} for name in self.kinds}
        self.account_records: dict[str, Account] = {}
        self.position_records: dict[tuple[str, str], Position] = {}
        self.ticks: dict[str, Tick] = {}
        self.tick_log: list[Tick] = []
        self.lead_records: dict[str, LeadCounts] = {}
        self.notifications: list[tuple[str, str]] = []
        self.notes: tuple[str, ...] = ()
        self.rejections: list[tuple[str, Any, str]] = []
        self.ready_count = 0
        self.alive_count = 0
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()

    def _poke(self) -> None:
        self._changed.set()

    def _accepted(self, kind: RecordKind, record: Any) -> Any:
        """The record to keep (as the host's sink would store it), or None when it is rejected."""
        stored, why = checked(kind, record)
        if why is not None:
            self.rejections.append((kind.name, key_of(kind, record), why))
            self._poke()
        return stored

    def _screen_all(self, kind: RecordKind, records: Iterable[Any], current: dict[Any, Any]) -> list[Any]:
        fresh, rejected = screen_all(kind, records, current)
        self.rejections += [(kind.name, key, why) for key, why in rejected.items()]
        return fresh

    def account(self, account: Account | Rejected) -> None:
        if (account := self._accepted(ACCOUNT, account)) is not None:
            self.account_records[account.id] = account
            self._poke()

    def accounts(self, accounts: Iterable[Account | Rejected]) -> None:
        fresh = self._screen_all(ACCOUNT, accounts, self.account_records)
        self.account_records = {account.id: account for account in fresh}
        self._poke()

    def position(self, position: Position | Rejected) -> None:
        if (position := self._accepted(POSITION, position)) is not None:
            self.position_records[position.key] = position
            self._poke()

    def position_closed(self, account: str, position_id: str) -> None:
        self.position_records.pop((account, position_id), None)
        self._poke()

    def positions(self, positions: Iterable[Position | Rejected], *, account: str | None = None) -> None:
        fresh = self._screen_all(POSITION, positions, self.position_records)
        kept = {k: p for k, p in self.position_records.items() if account is not None and k[0] != account}
        kept.update((p.key, p) for p in fresh)
        self.position_records = kept
        self._poke()

    def tick(self, tick: Tick | Rejected) -> None:
        if (tick := self._accepted(TICK, tick)) is not None:
            self.ticks[tick.symbol] = tick
            self.tick_log.append(tick)
            self._poke()

    def leads(self, counts: LeadCounts | Rejected) -> None:
        if (counts := self._accepted(LEADS, counts)) is not None:
            self.lead_records[counts.window] = counts
            self._poke()

    def _own_kind(self, kind: str | RecordKind, call: str) -> RecordKind | None:
        """A declared kind (passed as `kinds`), or None: then the rejection is recorded, as the
        host's sink refuses a kind the provider did not declare."""
        name = kind if isinstance(kind, str) else getattr(kind, "name", None)
        if name not in self.kinds:
            self.rejections.append(("unknown kind", name, f"{call}: not a kind this connection declares"))
            self._poke()
            return None
        return self.kinds[name]

    def put(self, kind: str | RecordKind, record: Any) -> None:
        name = kind if isinstance(kind, str) else getattr(kind, "name", None)
        if name in _SHORTHAND:
            getattr(self, _SHORTHAND[name])(record)
        elif (known := self._own_kind(kind, "put")) is not None and \
                (record := self._accepted(known, record)) is not None:
            self.records[known.name][known.key_of(record)] = record
            self._poke()

    def replace(self, kind: str | RecordKind, records: Iterable[Any], scope: Any = None) -> None:
        name = kind if isinstance(kind, str) else getattr(kind, "name", None)
        if name == "account":
            self.accounts(records)
            return
        if name == "position":
            self.positions(records, account=scope)
            return
        known = self._own_kind(kind, "replace")
        if known is None:
            return
        current = self.records[known.name]
        fresh = self._screen_all(known, records, current)
        kept = {key: r for key, r in current.items() if not known.in_scope(key, scope)}
        kept.update((known.key_of(r), r) for r in fresh)
        self.records[known.name] = kept
        self._poke()

    def remove(self, kind: str | RecordKind, key: Any) -> None:
        name = kind if isinstance(kind, str) else getattr(kind, "name", None)
        builtin = {"account": self.account_records, "position": self.position_records, "tick": self.ticks,
                   "leads": self.lead_records}
        if name in builtin:
            builtin[name].pop(key, None)
        elif (known := self._own_kind(kind, "remove")) is not None:
            self.records[known.name].pop(key, None)
        self._poke()

    def ready(self) -> None:
        self.ready_count += 1
        self._ready.set()
        self._poke()

    def alive(self) -> None:
        self.alive_count += 1
        self._poke()

    def notify(self, message: str, *, severity: str = "information") -> None:
        self.notifications.append((severity, message))
        self._poke()

    def note(self, *notes: str) -> None:
        self.notes = tuple(notes)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever the sink is written to."""
        await wait_for(predicate, timeout, self._changed)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0,
                   changed: asyncio.Event | None = None, interval: float = 0.02) -> None:
    """Wait until `predicate()` holds or raise TimeoutError naming the predicate."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"condition not met within {timeout} s: {getattr(predicate, '__name__', predicate)}")
        if changed is not None:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass
        else:
            await asyncio.sleep(interval)


class ScreenHarness:
    """One connection of `provider` driven by `session` on a real Store and feed runtime (not
    started), for testing a provider screen without the whole app: `sink` writes as the runtime's
    sink does (await `session.poll(harness.sink)`), `context()` is the ScreenContext the app would
    hand the screen (requests go through the runtime). `run_action` stands in for the host's
    confirm-run-report flow; by default actions run through the runtime unconfirmed and their
    messages (or errors) are kept in `reports`."""

    def __init__(self, provider: Provider, session: Any, name: str = "test",
                 run_action: Callable[[Any, Any], Any] | None = None, **options: Any) -> None:
        from ibmon.feeds import ConnectionSink, FeedRuntime
        from ibmon.store import Store, StoreView

        self.store = Store()
        self.view = StoreView(self.store)
        self.runtime = FeedRuntime(self.store, watchdog_interval=None, stall_seconds=None)
        context = session.ctx if isinstance(getattr(session, "ctx", None), ConnectionContext) else \
            make_context(provider, name=name, **options)
        self.connection = self.runtime.add(provider, context)
        self.connection.session = session
        self.name = context.name
        self.sink = ConnectionSink(self.connection, self.store)
        self.reports: list[str] = []
        self._run_action = run_action or self._run

    async def _run(self, action: Any, target: Any) -> None:
        from ibmon.errors import ProviderError

        try:
            self.reports.append(await self.runtime.run_action(self.name, action, target))
        except ProviderError as exc:
            self.reports.append(exc.message)

    def context(self, selected: Any = None) -> Any:
        return self.runtime.screen_context(self.name, self.view, self._run_action, selected=selected)

    async def poll(self) -> None:
        """One poll of the session into the store, as the runtime runs it: a failure goes on the
        connection's health line (and its records stay)."""
        from ibmon.errors import PLUGIN_FAILURES

        try:
            await self.connection.session.poll(self.sink)
        except PLUGIN_FAILURES as exc:
            self.connection.failed(exc)
        else:
            self.sink.ready()


@contextlib.contextmanager
def secrets_kept_apart() -> Iterator[None]:
    """Secrets remembered inside the block are forgotten when it ends: a test that makes up short
    secrets ("Q", "ab") must not go on masking them in the tests that follow."""
    from ibmon import secrets

    before = set(secrets._values)
    try:
        yield
    finally:
        secrets.forget(*(set(secrets._values) - before))


class FakeClock:
    """Monotonic time that only moves when someone sleeps: pass it as `clock` and its `sleep` as
    `sleep` to code that waits (the feed runtime, rate limiters), and waits take no real time."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@contextlib.contextmanager
def simulator_in_thread(start: Callable[..., Any], host: str = "127.0.0.1",
                        **settings: Any) -> Iterator[Any]:
    """A simulator started by `start(host, **settings)` on an event loop in a thread of its own,
    stopped at the end: for a fixture shared by tests that each run on their own loop. Its
    `control` handle works from the tests' thread; `stop()` is done here."""
    from ibmon.simulators import LoopThread

    loop = LoopThread(name="simulator-in-thread")
    try:
        running = loop.run(start(host, **settings))
        try:
            yield running
        finally:
            loop.run(running.stop())
    finally:
        loop.stop()
