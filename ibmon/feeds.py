"""The feed runtime: drives every connection's session, supervises it and keeps its health.

* Polling: the next poll is scheduled only after the previous one finished (never stacked); a manual
  refresh wakes the wait early but never starts a second poll beside a running one.
* Streaming: when `stream()` raises or returns, the runtime backs off (exponential, with jitter) and
  calls it again, forever; the session logs in and resubscribes each time.
* Health: connecting → live → stale (no data for `stale_after`) → reconnecting (attempt n, next try
  in s) / error (a permanent error: retried at the slowest pace) / disabled.

Nothing here raises into the app: every failure ends up on the connection's health line.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ibmon.api import Action, ConnectionContext, Provider, Session
from ibmon.errors import ProviderError, describe_exception
from ibmon.model import Account, Health, HealthState, LeadCounts, Position, Tick
from ibmon.options import TLS_OFF_NOTE, TLS_VERIFY
from ibmon.store import Store

log = logging.getLogger("ibmon.feeds")

Sleep = Callable[[float], Awaitable[Any]]

#: How long stopping waits for a connection's tasks, then for its session's close().
STOP_SECONDS = 5.0


@dataclass(frozen=True)
class Backoff:
    """Delay before reconnect attempt n (1-based): base × factor^(n-1), capped, ± jitter."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        raw = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        spread = raw * self.jitter
        return max(0.0, raw + (rng or random).uniform(-spread, spread))


class ConnectionSink:
    """The `Sink` a session writes to: stamps the connection's name and liveness on every write."""

    __slots__ = ("_conn", "_store", "_touch")

    def __init__(self, conn: "Connection", store: Store) -> None:
        self._conn = conn
        self._store = store
        self._touch = conn.saw_data

    def account(self, account: Account) -> None:
        self._touch()
        self._store.set_account(self._conn.name, account)

    def accounts(self, accounts: Iterable[Account]) -> None:
        self._touch()
        self._store.replace_accounts(self._conn.name, accounts)

    def position(self, position: Position) -> None:
        self._touch()
        self._store.set_position(self._conn.name, position)

    def position_closed(self, account: str, position_id: str) -> None:
        self._touch()
        self._store.remove_position(self._conn.name, account, position_id)

    def positions(self, positions: Iterable[Position], *, account: str | None = None) -> None:
        self._touch()
        self._store.replace_positions(self._conn.name, positions, account)

    def tick(self, tick: Tick) -> None:
        self._touch()
        self._store.set_tick(self._conn.name, tick)

    def leads(self, counts: LeadCounts) -> None:
        self._touch()
        self._store.set_leads(self._conn.name, counts)

    def ready(self) -> None:
        self._touch()
        self._conn.mark_ready()

    def alive(self) -> None:
        self._touch()

    def notify(self, message: str, *, severity: Literal["information", "warning", "error"] = "information") -> None:
        self._conn.runtime.notify(self._conn.name, message, severity)

    def note(self, *notes: str) -> None:
        self._conn.set_notes(tuple(notes))


@dataclass(eq=False)
class Connection:
    """One configured connection at run time."""

    runtime: "FeedRuntime"
    context: ConnectionContext
    provider: Provider
    enabled: bool = True
    session: Session | None = None
    health: Health = field(default_factory=lambda: Health(HealthState.CONNECTING))
    notes: tuple[str, ...] = ()
    ready: bool = False
    attempt: int = 0
    #: Set once the first attempt has an outcome: a full picture, or an error.
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    first_error: str | None = None
    last_error: str | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    refresh_requested: asyncio.Event = field(default_factory=asyncio.Event)
    _ready_this_attempt: bool = False

    @property
    def name(self) -> str:
        return self.context.name

    def saw_data(self) -> None:
        self.runtime.store.last_data[self.name] = self.runtime.clock()
        if self.health.state is HealthState.STALE:
            self.publish(HealthState.LIVE)

    def mark_ready(self) -> None:
        self._ready_this_attempt = True
        self.attempt = 0
        self.ready = True
        self.last_error = None
        self.settled.set()
        if self.health.state is not HealthState.LIVE:
            self.publish(HealthState.LIVE)

    @property
    def standing_notes(self) -> tuple[str, ...]:
        """Notes the host adds from the connection's options, whatever the session says."""
        return (TLS_OFF_NOTE,) if self.context.options.get(TLS_VERIFY.name) is False else ()

    def set_notes(self, notes: tuple[str, ...]) -> None:
        """New standing remarks; the rest of the health line (state, attempt, since) stays."""
        self.notes = notes
        self.health = replace(self.health, notes=self.standing_notes + notes)
        self.runtime.store.set_health(self.name, self.health)

    def publish(self, state: HealthState, detail: str = "", attempt: int = 0,
                next_try_at: float | None = None) -> None:
        self.health = Health(state, detail=detail, attempt=attempt, next_try_at=next_try_at,
                             since=self.runtime.clock(), notes=self.standing_notes + self.notes)
        self.runtime.store.set_health(self.name, self.health)

    def failed(self, exc: BaseException) -> float:
        """Record a failure; publish reconnecting/error; return the delay before the next try."""
        reason = describe_exception(exc)
        self.last_error = reason
        if self.first_error is None and not self.ready:
            self.first_error = reason
        self.settled.set()
        if self._ready_this_attempt:
            self.attempt = 0
        self._ready_this_attempt = False
        self.attempt += 1
        backoff = self.runtime.backoff
        permanent = isinstance(exc, ProviderError) and exc.permanent
        delay = backoff.cap if permanent else backoff.delay(self.attempt, self.runtime.rng)
        state = HealthState.ERROR if permanent else HealthState.RECONNECTING
        self.publish(state, reason, self.attempt, self.runtime.clock() + delay)
        log.warning("%s: %s (attempt %d, retry in %.1f s)", self.name, reason, self.attempt, delay)
        return delay


class FeedRuntime:
    """Runs every connection's session. `clock`, `sleep` and `rng` are injectable for tests."""

    def __init__(self, store: Store, *, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
                 rng: random.Random | None = None, watchdog_interval: float | None = 1.0) -> None:
        self.store = store
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.watchdog_interval = watchdog_interval
        self.connections: dict[str, Connection] = {}
        self.notify_handler: Callable[[str, str, str], None] | None = None
        self._watchdog: asyncio.Task | None = None
        self._started = False

    # -- set-up ----------------------------------------------------------------------------------

    def add(self, provider: Provider, context: ConnectionContext, *, enabled: bool = True) -> Connection:
        conn = Connection(self, context, provider, enabled=enabled)
        self.connections[context.name] = conn
        if enabled:
            conn.publish(HealthState.CONNECTING)
        else:
            conn.publish(HealthState.DISABLED, "disabled in config")
            conn.settled.set()
        if self._started and enabled:
            self._launch(conn)
        return conn

    async def start(self) -> None:
        self._started = True
        for conn in self.connections.values():
            if conn.enabled:
                self._launch(conn)
        if self.watchdog_interval is not None:  # None: the caller checks staleness itself (tests)
            self._watchdog = asyncio.create_task(self._watch_staleness(), name="ibmon-watchdog")

    def _launch(self, conn: Connection) -> None:
        try:
            conn.session = conn.provider.connect(conn.context)
        except Exception as exc:  # a plugin bug or a bad option: local to this connection
            conn.failed(exc)
            conn.publish(HealthState.ERROR, describe_exception(exc))
            return
        session = conn.session
        if session.is_streaming:
            conn.tasks.append(asyncio.create_task(self._run_stream(conn), name=f"stream:{conn.name}"))
        if session.is_polling:
            conn.tasks.append(asyncio.create_task(self._run_poll(conn), name=f"poll:{conn.name}"))
        if not conn.tasks:
            conn.publish(HealthState.ERROR, "the session neither streams nor polls")
            conn.settled.set()

    async def stop(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
        tasks = [task for conn in self.connections.values() for task in conn.tasks]
        for task in tasks:
            task.cancel()
        if tasks:  # a plugin that ignores cancellation must not hold the app's exit
            _done, stuck = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in stuck:
                log.warning("%s did not stop within %g s", task.get_name(), STOP_SECONDS)
        for conn in self.connections.values():
            conn.tasks.clear()
        await asyncio.gather(*(self._close(conn) for conn in self.connections.values() if conn.session))
        self._started = False

    @staticmethod
    async def _close(conn: Connection) -> None:
        try:
            await asyncio.wait_for(conn.session.close(), STOP_SECONDS)  # type: ignore[union-attr]
        except Exception as exc:
            log.warning("%s: close failed: %s", conn.name, describe_exception(exc))

    # -- loops -----------------------------------------------------------------------------------

    async def _run_stream(self, conn: Connection) -> None:
        sink = ConnectionSink(conn, self.store)
        while True:
            try:
                await conn.session.stream(sink)  # type: ignore[union-attr]
                raise ProviderError("the stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = conn.failed(exc)
            await self.sleep(delay)
            conn.publish(HealthState.CONNECTING, f"attempt {conn.attempt + 1}", conn.attempt)

    async def _run_poll(self, conn: Connection) -> None:
        session = conn.session
        assert session is not None and session.poll_interval is not None
        sink = ConnectionSink(conn, self.store)
        while True:
            conn.refresh_requested.clear()
            try:
                await session.poll(sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = conn.failed(exc)
            else:
                if not session.is_streaming:
                    sink.ready()
                delay = session.poll_interval
            await self._wait(delay, conn.refresh_requested)

    async def _wait(self, delay: float, wake: asyncio.Event) -> None:
        """Sleep `delay` seconds, or less if `wake` is set meanwhile."""
        if wake.is_set():
            return
        sleeper = asyncio.ensure_future(self.sleep(delay))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _watch_staleness(self) -> None:
        while True:
            await asyncio.sleep(self.watchdog_interval)  # type: ignore[arg-type]
            self.check_staleness()

    def check_staleness(self) -> None:
        now = self.clock()
        for conn in self.connections.values():
            if conn.health.state is not HealthState.LIVE or conn.session is None:
                continue
            limit = stale_limit(conn.session)
            last = self.store.last_data.get(conn.name)
            if last is not None and now - last > limit:
                conn.publish(HealthState.STALE, f"no data for {now - last:.0f} s")

    # -- requests from the app -------------------------------------------------------------------

    def refresh(self, name: str | None = None) -> None:
        """Ask polling connections (one, or all) to poll now; a running poll is not doubled."""
        for conn in self.connections.values():
            if name is None or conn.name == name:
                conn.refresh_requested.set()

    async def run_action(self, connection: str, action: Action, target: Any) -> str:
        """Run a quick action; errors come back as ProviderError with a redacted message."""
        conn = self.connections[connection]
        if action.mutating and conn.context.read_only:
            raise ProviderError(f"{connection} is read-only: {action.title} is disabled")
        try:
            return await action.run(target)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"{action.title} failed: {describe_exception(exc)}") from None

    def notify(self, connection: str, message: str, severity: str) -> None:
        if self.notify_handler is not None:
            self.notify_handler(connection, message, severity)
        else:
            log.info("%s: %s", connection, message)

    async def wait_settled(self, timeout: float) -> None:
        """Wait until every enabled connection has its first picture or its first failure."""
        pending = [c.settled.wait() for c in self.connections.values() if c.enabled]
        if pending:
            try:
                await asyncio.wait_for(asyncio.gather(*pending), timeout)
            except asyncio.TimeoutError:
                pass


def stale_limit(session: Session) -> float:
    if session.stale_after is not None:
        return session.stale_after
    if session.poll_interval is not None and not session.is_streaming:
        return 3 * session.poll_interval + 5
    return 60.0
