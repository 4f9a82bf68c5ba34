"""The feed runtime: drives every connection's session, supervises it and keeps its health.

* Polling: the next poll is scheduled only after the previous one finished (never stacked); a manual
  refresh wakes the wait early but never starts a second poll beside a running one.
* Streaming: when `stream()` raises or returns, the runtime backs off (exponential, with jitter) and
  calls it again, forever; the session logs in and resubscribes each time.
* Deadlines: a poll longer than its `poll_timeout` is cancelled and counts as a failure; a stream
  silent for its `silence_timeout` is torn down (cancelled) and reconnected. A provider's
  `RateLimited` wait is honoured (and the health line says "rate limited, next try in 58 s").
* Health: connecting → live → stale (no data for `stale_after`) → reconnecting (attempt n, next try
  in s) / error (a permanent error: retried at the slowest pace) / disabled.
* Records are checked at the sink (`ibmon.validate`): a bad one is rejected alone and named on the
  health line and in the log; the rest keep updating, and a replace-all keeps the rejected record's
  previous version. A session that blocks the event loop is named too (`ibmon.stalls`).

Nothing here raises into the app: every failure ends up on the connection's health line, including
a plugin raising SystemExit or KeyboardInterrupt (asyncio would let those end the event loop).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from ibmon.api import MIN_POLL_INTERVAL, Action, ActionResult, ConnectionContext, Provider, RequestSpec, \
    ScreenContext, Session
from ibmon.errors import PLUGIN_FAILURES, ProviderError, RateLimited, describe_exception
from ibmon.mapping import Rejected
from ibmon.model import (ACCOUNT, LEADS, POSITION, RECORD_KINDS, TICK, Account, Health, HealthState, LeadCounts,
                         Position, RecordKind, Tick)
from ibmon.options import TLS_OFF_NOTE, TLS_VERIFY, check_options
from ibmon.secrets import Secret
from ibmon.stalls import STALL_SECONDS, StallMonitor
from ibmon.store import Store, StoreView
from ibmon.validate import MAX_RECORDS, MAX_TEXT, checked, key_of, label, screen_all

log = logging.getLogger("ibmon.feeds")

Sleep = Callable[[float], Awaitable[Any]]
T = TypeVar("T")

#: How long stopping waits for a connection's tasks, then for its session's close().
STOP_SECONDS = 5.0
#: How long "blocked the app for N s" stays on a health line after the stall.
STALL_NOTE_SECONDS = 600.0
#: Records (and removals) one ActionResult may carry.
MAX_RESULT_RECORDS = 1000


def as_failure(exc: BaseException) -> BaseException:
    """SystemExit / KeyboardInterrupt from plugin code as the ProviderError it amounts to."""
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return ProviderError(f"the plugin tried to end the app ({describe_exception(exc)})")
    return exc


async def contained(call: Callable[[], Awaitable[T]]) -> T:
    """Await plugin code in a task of its own without letting SystemExit / KeyboardInterrupt out."""
    try:
        return await call()
    except (SystemExit, KeyboardInterrupt) as exc:
        raise as_failure(exc) from None


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
    """The `Sink` a session writes to: checks every record, stamps the connection's name and liveness.

    It writes the built-in kinds and the kinds its connection's provider declared, nothing else."""

    __slots__ = ("_conn", "_store", "_touch", "_name")

    def __init__(self, conn: "Connection", store: Store) -> None:
        self._conn = conn
        self._store = store
        self._touch = conn.saw_data
        self._name = conn.name

    # -- the generic calls -----------------------------------------------------------------------

    def put(self, kind: str | RecordKind, record: Any) -> None:
        self._touch()
        if (known := self._kind(kind, "put")) is not None and (stored := self._screen(known, record)) is not None:
            self._store.put(known, self._name, stored)

    def replace(self, kind: str | RecordKind, records: Iterable[Any], scope: Any = None) -> None:
        self._touch()
        known = self._kind(kind, "replace")
        if known is None:
            return
        if scope is not None and (known.scope is None or not isinstance(scope, str)):
            why = "takes no scope" if known.scope is None else f"scope must be text, got {type(scope).__name__}"
            self._conn.reject(known, None, f"replace: {known.name} {why}")
            return
        current = self._store.tables[known.name].get(self._name, {})
        fresh = self._screen_all(known, records, current, scope)
        self._store.replace(known, self._name, fresh, scope)

    def remove(self, kind: str | RecordKind, key: Any) -> None:
        self._touch()
        known = self._kind(kind, "remove")
        if known is None:
            return
        if key_of(known, Rejected("", key)) is None:
            self._conn.reject(known, None, f"remove: not a readable {known.name} key: {type(key).__name__}")
            return
        self._conn.accept(known, key)
        self._store.remove(known, self._name, key)

    # -- the built-in kinds' shorthand -----------------------------------------------------------

    def account(self, account: Account | Rejected) -> None:
        self.put(ACCOUNT, account)

    def accounts(self, accounts: Iterable[Account | Rejected]) -> None:
        self.replace(ACCOUNT, accounts)

    def position(self, position: Position | Rejected) -> None:
        self.put(POSITION, position)

    def position_closed(self, account: str, position_id: str) -> None:
        self._touch()
        key = (account, position_id)
        if key_of(POSITION, Rejected("", key)) is None:
            self._conn.reject(POSITION, None, f"position_closed: ids must be text, got {type(account).__name__} "
                                              f"and {type(position_id).__name__}")
            return
        self._conn.accept(POSITION, key)
        self._store.remove(POSITION, self._name, key)

    def positions(self, positions: Iterable[Position | Rejected], *, account: str | None = None) -> None:
        self._touch()
        if account is not None and not isinstance(account, str):
            self._conn.reject(POSITION, None, f"positions: account must be text, got {type(account).__name__}")
            return
        self.replace(POSITION, positions, account)

    def tick(self, tick: Tick | Rejected) -> None:
        self.put(TICK, tick)

    def leads(self, counts: LeadCounts | Rejected) -> None:
        self.put(LEADS, counts)

    def ready(self) -> None:
        self._touch()
        self._conn.mark_ready()

    def alive(self) -> None:
        self._touch()

    def notify(self, message: str, *, severity: Literal["information", "warning", "error"] = "information") -> None:
        self._conn.runtime.notify(self._name, message, severity)

    def note(self, *notes: str) -> None:
        self._conn.set_notes(tuple(str(note)[:MAX_TEXT] for note in notes))

    # -- the check -------------------------------------------------------------------------------

    def _kind(self, kind: Any, call: str) -> RecordKind | None:
        """The kind `kind` names, if this connection may write it; else reported, None."""
        name = kind.name if isinstance(kind, RecordKind) else kind
        known = self._conn.kinds.get(name) if isinstance(name, str) else None
        if known is None or (isinstance(kind, RecordKind) and kind != known):
            shown = str(name)[:60] if isinstance(name, str) else type(kind).__name__
            self._conn.reject("unknown kind", shown, f"{call}: not a kind this connection declares")
            return None
        return known

    def _screen(self, kind: RecordKind, record: Any) -> Any:
        """The record to store (`record`, or it with over-long text cut), or None when it may not
        be stored: then it is reported on the connection."""
        stored, why = checked(kind, record)
        if why is None:
            if self._conn.rejected:
                self._conn.accept(kind, kind.key_of(stored))
            return stored
        self._conn.reject(kind, key_of(kind, record), why)
        return None

    def _screen_all(self, kind: RecordKind, records: Iterable[Any], current: dict[Any, Any],
                    scope: Any) -> list[Any]:
        fresh, rejected = screen_all(kind, records, current)
        in_scope = None if scope is None else (lambda key: key is None or kind.in_scope(key, scope))
        self._conn.settle_rejections(kind, rejected, in_scope)
        return fresh

    def put_result(self, result: ActionResult) -> None:
        """An action's records: each stored as its class's kind, each removal done."""
        by_class: dict[type, list[RecordKind]] = {}
        for known in self._conn.kinds.values():
            by_class.setdefault(known.record, []).append(known)
        for record in result.records[:MAX_RESULT_RECORDS]:
            matches = by_class.get(type(record), [])
            if len(matches) == 1:
                self.put(matches[0], record)
            else:
                self._conn.reject("action result", type(record).__name__[:60],
                                  "no kind of this connection has this class" if not matches
                                  else "several kinds have this class")
        for kind, key in result.removed[:MAX_RESULT_RECORDS]:
            self.remove(kind, key)


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
    #: Records the sink refused: (kind name, key) → reason (key None: a record without readable id).
    rejected: dict[tuple[str, Any], str] = field(default_factory=dict)
    #: The latest event-loop stall this connection's code caused: (when, seconds).
    stall: tuple[float, float] | None = None
    #: When the current stream attempt began, and its deadline (expired by the silence watchdog).
    attempt_started: float = 0.0
    stream_deadline: asyncio.Timeout | None = None
    _ready_this_attempt: bool = False
    _problem_notes: tuple[str, ...] = ()
    #: The kinds its sink writes: the built-in ones and its provider's.
    kinds: dict[str, RecordKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kinds = {**RECORD_KINDS, **{kind.name: kind for kind in self.provider.kinds}}

    @property
    def name(self) -> str:
        return self.context.name

    @property
    def poll_timeout(self) -> float | None:
        """The connection key `poll_timeout` if set, else the session's own."""
        if self.context.poll_timeout is not None:
            return self.context.poll_timeout
        return self.session.poll_timeout if self.session is not None else None

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

    # -- the health line -------------------------------------------------------------------------

    @property
    def standing_notes(self) -> tuple[str, ...]:
        """Notes the host adds from the connection's options, whatever the session says."""
        return (TLS_OFF_NOTE,) if self.context.options.get(TLS_VERIFY.name) is False else ()

    def _all_notes(self) -> tuple[str, ...]:
        return self.standing_notes + self.notes + self._problem_notes

    def set_notes(self, notes: tuple[str, ...]) -> None:
        """New standing remarks; the rest of the health line (state, attempt, since) stays."""
        self.notes = notes
        self._republish()

    def _republish(self) -> None:
        self.health = replace(self.health, notes=self._all_notes())
        self.runtime.store.set_health(self.name, self.health)

    def publish(self, state: HealthState, detail: str = "", attempt: int = 0,
                next_try_at: float | None = None, rate_limited: bool = False) -> None:
        self.health = Health(state, detail=detail, attempt=attempt, next_try_at=next_try_at,
                             since=self.runtime.clock(), notes=self._all_notes(), rate_limited=rate_limited)
        self.runtime.store.set_health(self.name, self.health)

    def _update_problem_notes(self) -> None:
        notes = []
        if self.stall is not None:
            notes.append(f"blocked the app for {self.stall[1]:.1f} s")
        if self.rejected:
            (kind, key), why = next(iter(self.rejected.items()))
            example = f"{label(kind, key)}: {_short(why)}"
            count = len(self.rejected)
            notes.append(f"rejected {example}" if count == 1 else
                         f"{count} records rejected ({example}; see the log)")
        if tuple(notes) != self._problem_notes:
            self._problem_notes = tuple(notes)
            self._republish()

    # -- rejected records and stalls -------------------------------------------------------------

    def reject(self, kind: RecordKind | str, key: Any, reason: str) -> None:
        slot = (kind if isinstance(kind, str) else kind.name, key)
        if self.rejected.get(slot) != reason:
            self.rejected[slot] = reason
            log.warning("%s: rejected %s: %s", self.name, label(kind, key), reason)
            self._update_problem_notes()

    def accept(self, kind: RecordKind, key: Any) -> None:
        if self.rejected.pop((kind.name, key), None) is not None:
            log.info("%s: %s accepted again", self.name, label(kind, key))
            self._update_problem_notes()

    def settle_rejections(self, kind: RecordKind, found: dict[Any, str],
                          in_scope: Callable[[Any], bool] | None) -> None:
        """After a replace-all call: the rejections of `kind` (within scope) are exactly `found`."""
        for slot in [s for s in self.rejected if s[0] == kind.name and (in_scope is None or in_scope(s[1]))]:
            if slot[1] not in found:
                self.accept(kind, slot[1])
        for key, reason in found.items():
            self.reject(kind, key, reason)

    def blocked(self, seconds: float, where: str) -> None:
        log.warning("%s blocked the app for %.1f s (in %s)", self.name, seconds, where)
        self.stall = (self.runtime.clock(), seconds)
        self._update_problem_notes()

    def forget_old_stall(self, now: float) -> None:
        if self.stall is not None and now - self.stall[0] > STALL_NOTE_SECONDS:
            self.stall = None
            self._update_problem_notes()

    # -- failures --------------------------------------------------------------------------------

    def failed(self, exc: BaseException) -> float:
        """Record a failure; publish reconnecting/error; return the delay before the next try."""
        exc = as_failure(exc)
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
        limited = isinstance(exc, RateLimited)
        if limited:
            delay = max(delay, exc.retry_after)  # type: ignore[union-attr]
        state = HealthState.ERROR if permanent else HealthState.RECONNECTING
        self.publish(state, reason, self.attempt, self.runtime.clock() + delay, rate_limited=limited)
        log.warning("%s: %s (attempt %d, retry in %.1f s)", self.name, reason, self.attempt, delay)
        return delay


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FeedRuntime:
    """Runs every connection's session. `clock`, `sleep` and `rng` are injectable for tests;
    `stall_seconds` is how long a blocked event loop goes unreported (None: not watched)."""

    def __init__(self, store: Store, *, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
                 rng: random.Random | None = None, watchdog_interval: float | None = 1.0,
                 stall_seconds: float | None = STALL_SECONDS) -> None:
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
        #: Which connection each task runs plugin code for (read by the stall monitor's thread).
        self._owners: dict[asyncio.Task, str] = {}
        self._stalls = StallMonitor(self._owners.get, self._stalled, threshold=stall_seconds) \
            if stall_seconds is not None else None

    # -- set-up ----------------------------------------------------------------------------------

    def add(self, provider: Provider, context: ConnectionContext, *, enabled: bool = True) -> Connection:
        conn = Connection(self, context, provider, enabled=enabled)
        self.connections[context.name] = conn
        for kind in provider.kinds:
            try:
                self.store.register(kind)
            except ValueError as exc:  # the same name declared twice: this connection's kinds are off
                log.warning("%s: %s", context.name, exc)
                conn.kinds.pop(kind.name, None)
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
        if self._stalls is not None:
            self._stalls.start()
        for conn in self.connections.values():
            if conn.enabled:
                self._launch(conn)
        if self.watchdog_interval is not None:  # None: the caller checks staleness itself (tests)
            self._watchdog = asyncio.create_task(self._watch_staleness(), name="ibmon-watchdog")

    def _launch(self, conn: Connection) -> None:
        try:
            conn.session = conn.provider.connect(conn.context)
        except PLUGIN_FAILURES as exc:  # a plugin bug or a bad option: local to this connection
            conn.failed(exc)
            conn.publish(HealthState.ERROR, describe_exception(as_failure(exc)))
            return
        session = conn.session
        refusal = poll_interval_problem(conn)
        if refusal:
            log.warning("%s: %s", conn.name, refusal)
            conn.last_error = conn.first_error = refusal
            conn.publish(HealthState.ERROR, refusal)
            conn.settled.set()
            return
        if session.is_streaming:
            self._own(conn, asyncio.create_task(self._run_stream(conn), name=f"stream:{conn.name}"))
        if session.is_polling:
            self._own(conn, asyncio.create_task(self._run_poll(conn), name=f"poll:{conn.name}"))
        if not conn.tasks:
            conn.publish(HealthState.ERROR, "the session neither streams nor polls")
            conn.settled.set()

    def _own(self, conn: Connection, task: asyncio.Task, keep: bool = True) -> asyncio.Task:
        """Note that `task` runs `conn`'s plugin code (for the stall monitor); `keep`: one of its loops."""
        self._owners[task] = conn.name
        task.add_done_callback(self._disown)
        if keep:
            conn.tasks.append(task)
        return task

    def _disown(self, task: asyncio.Task) -> None:
        self._owners.pop(task, None)

    def _stalled(self, owner: str | None, seconds: float, where: str) -> None:
        conn = self.connections.get(owner) if owner is not None else None
        if conn is not None:
            conn.blocked(seconds, where)
        else:
            log.warning("the app was blocked for %.1f s (in %s)", seconds, where)

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
        if self._stalls is not None:
            self._stalls.stop()
        self._started = False

    async def _close(self, conn: Connection) -> None:
        session = conn.session
        assert session is not None
        task = self._own(conn, asyncio.create_task(contained(session.close), name=f"close:{conn.name}"),
                         keep=False)
        try:
            await asyncio.wait_for(task, STOP_SECONDS)
        except Exception as exc:
            log.warning("%s: close failed: %s", conn.name, describe_exception(exc))

    # -- loops -----------------------------------------------------------------------------------

    async def _run_stream(self, conn: Connection) -> None:
        sink = ConnectionSink(conn, self.store)
        while True:
            try:
                await self._stream_once(conn, sink)
                raise ProviderError("the stream ended")
            except asyncio.CancelledError:
                raise
            except PLUGIN_FAILURES as exc:
                delay = conn.failed(exc)
            await self.sleep(delay)
            conn.publish(HealthState.CONNECTING, f"attempt {conn.attempt + 1}", conn.attempt)

    async def _stream_once(self, conn: Connection, sink: ConnectionSink) -> None:
        """One life of the stream; the silence watchdog (`check_staleness`) may expire its deadline."""
        session = conn.session
        assert session is not None
        conn.attempt_started = self.clock()
        deadline = asyncio.timeout(None)
        try:
            async with deadline:
                conn.stream_deadline = deadline
                await session.stream(sink)
        except TimeoutError:
            if deadline.expired():
                raise ProviderError(f"no data for {session.silence_timeout:g} s: the link is dead") from None
            raise
        finally:
            conn.stream_deadline = None

    async def _run_poll(self, conn: Connection) -> None:
        session = conn.session
        assert session is not None and session.poll_interval is not None
        sink = ConnectionSink(conn, self.store)
        while True:
            conn.refresh_requested.clear()
            limited = False
            try:
                await self._poll_once(conn, sink)
            except asyncio.CancelledError:
                raise
            except PLUGIN_FAILURES as exc:
                delay = conn.failed(exc)
                limited = conn.health.rate_limited
            else:
                if not session.is_streaming:
                    sink.ready()
                delay = session.poll_interval
            if limited:  # the provider said when: a manual refresh does not jump the wait
                await self.sleep(delay)
            else:
                await self._wait(delay, conn.refresh_requested)

    async def _poll_once(self, conn: Connection, sink: ConnectionSink) -> None:
        session = conn.session
        assert session is not None
        limit = conn.poll_timeout
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                await session.poll(sink)
        except TimeoutError:
            if deadline.expired():
                raise ProviderError(f"poll took longer than {limit:g} s") from None
            raise

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
        """Tear down silent streams, mark quiet connections stale, let old stall notes go."""
        now = self.clock()
        for conn in self.connections.values():
            try:
                self._check(conn, now)
            except Exception:  # a session's odd stale_after / silence_timeout: not the others' problem
                log.exception("%s: checking its health failed", conn.name)

    def _check(self, conn: Connection, now: float) -> None:
        conn.forget_old_stall(now)
        session = conn.session
        if session is None:
            return
        last = self.store.last_data.get(conn.name)
        deadline = conn.stream_deadline
        if deadline is not None and session.silence_timeout is not None and not deadline.expired():
            quiet_since = conn.attempt_started if last is None else max(conn.attempt_started, last)
            if now - quiet_since > session.silence_timeout:
                log.warning("%s: no data for %.0f s: reconnecting", conn.name, now - quiet_since)
                deadline.reschedule(asyncio.get_running_loop().time())
                return
        if conn.health.state is HealthState.LIVE:
            limit = stale_limit(session)
            if last is not None and now - last > limit:
                conn.publish(HealthState.STALE, f"no data for {now - last:.0f} s")

    # -- requests from the app -------------------------------------------------------------------

    def refresh(self, name: str | None = None) -> None:
        """Ask polling connections (one, or all) to poll now; a running poll is not doubled."""
        for conn in self.connections.values():
            if name is None or conn.name == name:
                conn.refresh_requested.set()

    async def run_action(self, connection: str, action: Action, target: Any) -> str:
        """Run a quick action; errors come back as ProviderError with a redacted message. The
        records of an `ActionResult` go through the connection's sink; its message is returned."""
        conn = self.connections[connection]
        if action.mutating and conn.context.read_only:
            raise ProviderError(f"{connection} is read-only: {action.title} is disabled")
        result = await self._contained(conn, f"action:{connection}", lambda: action.run(target), action.title)
        if isinstance(result, ActionResult):
            ConnectionSink(conn, self.store).put_result(result)
            return result.message
        return result

    async def request(self, connection: str, name: str, params: dict[str, Any]) -> list[Any]:
        """Ask a connection's session for one of its provider's declared requests: params checked
        against the declaration, bounded by its timeout, every record checked as its kind (a bad
        one is left out and logged). Every failure is a ProviderError naming the request."""
        conn = self.connections.get(connection)
        if conn is None or conn.session is None:
            raise ProviderError(f"{connection} is not connected")
        spec = conn.provider.request(name) if isinstance(name, str) else None
        if spec is None:
            raise ProviderError(f"{connection} does not answer the request {str(name)[:60]!r}")
        values, problems = check_options(spec.params, (), dict(params), f"request {name}")
        if problems:
            raise ProviderError("; ".join(problems))
        session = conn.session
        try:
            async with asyncio.timeout(spec.timeout):
                answer = await self._contained(conn, f"request:{connection}",
                                               lambda: session.request(name, values), name)
        except TimeoutError:
            raise ProviderError(f"{name}: no answer within {spec.timeout:g} s") from None
        return self._checked_answer(conn, spec, answer)

    def _checked_answer(self, conn: Connection, spec: RequestSpec, answer: Any) -> list[Any]:
        if not isinstance(answer, (list, tuple)):
            raise ProviderError(f"{spec.name}: the session answered {type(answer).__name__}, not a list of records")
        records, dropped = [], []
        for index, record in enumerate(answer[:MAX_RECORDS]):
            stored, why = checked(spec.kind, record)
            if why is None:
                records.append(stored)
            else:
                dropped.append(f"record {index + 1}: {why}")
        if len(answer) > MAX_RECORDS:
            dropped.append(f"more than {MAX_RECORDS} records: the rest were left out")
        if dropped:
            log.warning("%s: %s: %d record(s) left out (%s)", conn.name, spec.name, len(dropped), _short(dropped[0]))
        return records

    async def _contained(self, conn: Connection, task_name: str, call: Callable[[], Awaitable[T]], what: str) -> T:
        """Plugin code in a task of its own (named for the stall monitor); failures as ProviderError."""
        task = self._own(conn, asyncio.create_task(contained(call), name=task_name), keep=False)
        try:
            return await task
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"{what} failed: {describe_exception(exc)}") from None

    def screen_context(self, connection: str, view: StoreView, run_action: Callable[[Action, Any], Awaitable[None]],
                       actions: Callable[[], list[Action]] | None = None, selected: Any = None) -> ScreenContext:
        """What a provider screen of `connection` gets: no session, no writable store."""
        conn = self.connections[connection]
        secret = {option.name for option in conn.provider.options if option.secret}
        options = {key: value for key, value in conn.context.options.items()
                   if key not in secret and not isinstance(value, Secret)}
        session = conn.session

        def listed() -> list[Action]:
            return list(session.actions()) if session is not None else []

        return ScreenContext(connection=connection, provider=conn.provider.name, title=conn.provider.title,
                             options=MappingProxyType(options), view=view,
                             requester=partial(self.request, connection), actions=actions or listed,
                             run_action=run_action, selected=selected)

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


def poll_interval_problem(conn: Connection) -> str | None:
    """Why the session's poll interval is refused (below MIN_POLL_INTERVAL, or not a number)."""
    session = conn.session
    if session is None or not session.is_polling:
        return None
    interval = session.poll_interval
    hint = " (raise poll_seconds)" if conn.provider.option("poll_seconds") is not None else ""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval):
        return f"refused: the poll interval must be a number of seconds, not {interval!r}"
    if interval < MIN_POLL_INTERVAL:
        return (f"refused: polls every {interval:g} s, more often than the {MIN_POLL_INTERVAL:g} s "
                f"the app allows{hint}")
    return None


def stale_limit(session: Session) -> float:
    if session.stale_after is not None:
        return session.stale_after
    if session.poll_interval is not None and not session.is_streaming:
        return 3 * session.poll_interval + 5
    return 60.0
