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

And ibmon's rules for every plugin, checked against its simulator from a plain (not async) test:

    check_plugin_contract(provider, simulator)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from ibmon import secrets
from ibmon.api import MIN_POLL_INTERVAL, ConnectionContext, Provider, Session, Simulator
from ibmon.errors import ConfigError, IbmonError
from ibmon.mapping import Rejected
from ibmon.model import ACCOUNT, LEADS, POSITION, TICK, Account, LeadCounts, Position, RecordKind, Tick
from ibmon.options import _TOML_TYPE_NAMES, check_options
from ibmon.safe import safe_text
from ibmon.secrets import MASK, _forms
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


# -- the plugin contract: what every provider plugin must hold to, against its own simulator ---
#
# `check_plugin_contract` starts the simulator on loopback (a thread of its own), connects the
# provider to the first connection the simulator offers and checks, in turn:
#
# * options: every option (and every simulator setting) declares a known type and a help line;
#   secret options are strings;
# * live: a polling session's first poll succeeds (a streaming session calls `sink.ready()`), and
#   records reach the sink: at least one, none rejected, every number of a record a `Decimal` or an
#   `int` (never a float), every text safe to show as it is;
# * recovery: after the simulator drops the session's link the session fails (a poll raises, a stream
#   ends), then, the simulator healed, a new poll (a new stream) delivers again;
# * secrets: no error the session raised, no note and no notification holds a secret option's value
#   in any of the forms ibmon masks, nor does an error with made-up wrong secrets. The host's own
#   masking of these values is off during the check, so what is checked is what the plugin wrote;
# * close: `close()` returns within the time limit and leaves no task of the session running.
#
# Each failed check is one line of the AssertionError it raises; on success it returns a
# `ContractReport`. The simulator's link is dropped with `drop(control)` and healed with
# `restore(control)`: by default a control with a `drop()` method (socket simulators) is asked to drop
# its connections, and an `HttpControl` answers every request by closing the connection until
# `clear_faults()`. Pass your own for a simulator that drops some other way.

#: Seconds a task the session started may take to end after `close()`.
SETTLE_SECONDS = 3.0
#: What the wrong-secret check sends in place of each secret option.
WRONG_SECRET = "contract-wrong-secret-5f3a9c"


@dataclasses.dataclass
class ContractReport:
    """What the check saw: the session's way of delivering ("poll" or "stream"), the records the
    first delivery held by kind name, and the error the dropped link raised."""

    provider: str
    mode: str
    records: dict[str, int]
    drop_error: str = ""


def default_drop(control: Any) -> None:
    """Cut the session's link: a socket simulator's `drop()`, or every HTTP request dropped."""
    if callable(getattr(control, "drop", None)):
        control.drop()
    elif callable(getattr(control, "set_faults", None)):
        control.set_faults(drop=1.0)
    else:
        raise TypeError("the simulator's control has neither drop() nor set_faults(): pass drop= and restore=")


def default_restore(control: Any) -> None:
    if callable(getattr(control, "clear_faults", None)):
        control.clear_faults()


def option_problems(provider: Provider, simulator: Simulator | None = None) -> list[str]:
    """Options (and simulator settings) without a known type or a help line."""
    problems = []
    declared = [("option", o) for o in provider.options]
    declared += [("simulator setting", o) for o in (simulator.settings if simulator else ())]
    for label, option in declared:
        if option.type not in _TOML_TYPE_NAMES:
            problems.append(f'{label} "{option.name}": type {option.type!r} is not one of {", ".join(_TOML_TYPE_NAMES)}')
        if not isinstance(option.help, str) or not option.help.strip():
            problems.append(f'{label} "{option.name}": no help (say what it is, for `ibmon config reference`)')
        if option.secret and option.type != "str":
            problems.append(f'{label} "{option.name}": a secret must be a str option, not {option.type}')
    return problems


def record_problems(kind: str, record: Any) -> list[str]:
    """Floats and unsafe text anywhere in a stored record (nested records and tuples included)."""
    problems: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, float):
            problems.append(f"{kind} {where}: a float ({value!r}); money and prices are Decimal")
        elif isinstance(value, Decimal) and not value.is_finite():
            problems.append(f"{kind} {where}: not a finite number ({value})")
        elif isinstance(value, str) and safe_text(value, None) != value:
            problems.append(f"{kind} {where}: text with control or invisible characters ({safe_text(value, 60)})")
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name), f"{where}.{field.name}" if where else field.name)
        elif isinstance(value, (tuple, list, frozenset)):
            for n, item in enumerate(value):
                walk(item, f"{where}[{n}]")

    walk(record, "")
    return problems


def check_plugin_contract(provider: Provider, simulator: Simulator, *, settings: dict[str, Any] | None = None,
                          connection: int = 0, drop: Callable[[Any], Any] = default_drop,
                          restore: Callable[[Any], Any] = default_restore, timeout: float = 20.0,
                          wrong_secrets: bool = True) -> ContractReport:
    """Check `provider` against a running `simulator` (see the module); AssertionError lists every
    broken rule. `settings` go to the simulator; `connection` picks one of the connections it
    offers; `timeout` bounds each step (seconds). Call it from a plain (not async) test."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("check_plugin_contract runs its own event loop: call it from a plain test, not an async one")
    problems = option_problems(provider, simulator)
    with secrets_kept_apart(), simulator_in_thread(simulator.start, **(settings or {})) as running:
        entries = running.connections
        if not 0 <= connection < len(entries):
            raise AssertionError(f"the {simulator.provider} simulator offers {len(entries)} connections, "
                                 f"not one numbered {connection}")
        entry = dict(entries[connection])
        name, _ = entry.pop("name", "contract"), entry.pop("provider", None)
        check = _Check(provider, running.control, name, entry, drop, restore, timeout, problems)
        report = asyncio.run(check.run(wrong_secrets))
    if problems:
        raise AssertionError(f"{provider.name} breaks the plugin contract:\n" + "\n".join(f"- {p}" for p in problems))
    return report


class _Check:
    def __init__(self, provider: Provider, control: Any, name: str, options: dict[str, Any],
                 drop: Callable[[Any], Any], restore: Callable[[Any], Any], timeout: float,
                 problems: list[str]) -> None:
        self.provider, self.control, self.name, self.options = provider, control, name, options
        self.drop, self.restore, self.timeout, self.problems = drop, restore, timeout, problems
        self.secrets = [value for option in provider.options if option.secret
                        and isinstance(value := options.get(option.name), str) and value]
        self.report = ContractReport(provider.name, "", {})
        self._masked_before = set(secrets._values)

    def session(self, **changes: Any) -> Session:
        context = make_context(self.provider, self.name, **{**self.options, **changes})
        # The host masks every secret it knows, in errors too: unmasked here, so what is checked
        # is what the plugin wrote, not what the host's last defence made of it.
        secrets.forget(*(s for s in (*self.secrets, *changes.values()) if s not in self._masked_before))
        session = self.provider.connect(context)
        if not isinstance(session, Session):
            raise AssertionError(f"connect() returned {type(session).__name__}, not a Session")
        return session

    def sink(self) -> Any:
        return RecordingSink(self.provider.kinds)

    async def run(self, wrong_secrets: bool) -> ContractReport:
        before = asyncio.all_tasks()
        session = self.session()
        self.report.mode = "stream" if session.is_streaming else "poll" if session.is_polling else ""
        if not self.report.mode:
            self.problems.append("the session neither streams (stream) nor polls (poll_interval and poll)")
            return self.report
        if session.is_polling and session.poll_interval < MIN_POLL_INTERVAL:
            self.problems.append(f"poll_interval {session.poll_interval} is below {MIN_POLL_INTERVAL} s")
        sinks = []
        try:
            first = self.sink()
            sinks.append(first)
            if await self.deliver(session, first, "first"):
                self.check_records(first)
                if await self.dropped(session):
                    again = self.sink()
                    sinks.append(again)
                    if await self.deliver(session, again, "after the simulator dropped the link and healed"):
                        # a poll may send only what changed since the last one: none is no fault here
                        self.check_records(again, required=False)
        finally:
            self.restore(self.control)
            await self.close(session, before)
        if wrong_secrets and self.secrets:
            await self.wrong_secrets(sinks)
        for sink in sinks:
            for text in (*sink.notes, *(message for _severity, message in sink.notifications)):
                self.secret_in(text, "a note or notification")
        return self.report

    async def deliver(self, session: Session, sink: Any, when: str) -> bool:
        """One poll, or a stream until ready (the stream goes on in `self.stream`)."""
        try:
            if session.is_streaming:
                self.stream = asyncio.ensure_future(session.stream(sink))
                ready = asyncio.ensure_future(sink.wait_ready(self.timeout))
                await asyncio.wait({self.stream, ready}, return_when=asyncio.FIRST_COMPLETED)
                if not ready.done():
                    ready.cancel()
                    self.stream.result()  # it ended before ready: raise what it raised
                    raise AssertionError("stream() returned before sink.ready()")
                ready.result()
            else:
                await asyncio.wait_for(session.poll(sink), self.timeout)
        except (Exception, asyncio.TimeoutError) as exc:
            self.secret_in(_message(exc), "an error")
            what = "did not become ready" if isinstance(exc, asyncio.TimeoutError) else _message(exc)
            self.problems.append(f"{self.report.mode} ({when}) failed: {what}")
            return False
        if not sink.ready_count and not session.is_streaming:
            sink.ready()
        return True

    def check_records(self, sink: Any, *, required: bool = True) -> None:
        stored = {"account": sink.account_records, "position": sink.position_records, "tick": sink.ticks,
                  "leads": sink.lead_records, **sink.records}
        counts = {kind: len(records) for kind, records in stored.items() if records}
        if not self.report.records:
            self.report.records = counts
        if not counts and required:
            self.problems.append("no record reached the sink")
        for kind, key, why in sink.rejections:
            self.problems.append(f"the sink refused {kind} {safe_text(key, 80)}: {safe_text(why, 200)}")
        for kind, records in stored.items():
            for record in records.values():
                self.problems += record_problems(kind, record)

    async def dropped(self, session: Session) -> bool:
        """Drop the link: the session must fail (and say why without a secret), then heal it."""
        self.drop(self.control)
        try:
            if session.is_streaming:
                limit = self.timeout + (session.silence_timeout or 0)
                done, _ = await asyncio.wait({self.stream}, timeout=limit)
                if not done:
                    self.problems.append(f"the stream went on for {limit:g} s after the simulator dropped its link "
                                         "(raise when the connection is lost, or set silence_timeout)")
                    return False
                self.stream.result()
            else:
                await asyncio.wait_for(session.poll(self.sink()), self.timeout)
        except asyncio.TimeoutError:
            self.problems.append(f"a poll through the dropped link did not end within {self.timeout:g} s")
            return False
        except Exception as exc:
            self.report.drop_error = _message(exc)
            self.secret_in(self.report.drop_error, "the error of the dropped link")
            if not isinstance(exc, IbmonError):
                self.problems.append(f"the dropped link raised {type(exc).__name__}, not a ProviderError "
                                     f"telling the user what happened: {_message(exc)}")
        else:
            self.problems.append(f"the {self.report.mode} through the dropped link ended without an error "
                                 "(the failure would not show on the health line)")
        finally:
            self.restore(self.control)
        return True

    async def close(self, session: Session, before: set[asyncio.Task]) -> None:
        stream = getattr(self, "stream", None)
        if stream is not None and not stream.done():
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
        try:
            await asyncio.wait_for(session.close(), self.timeout)
        except asyncio.TimeoutError:
            self.problems.append(f"close() did not return within {self.timeout:g} s")
            return
        except Exception as exc:
            self.problems.append(f"close() raised {type(exc).__name__}: {_message(exc)}")
        left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
        if left:
            await asyncio.wait(left, timeout=SETTLE_SECONDS)
            if running := [t for t in left if not t.done()]:
                names = ", ".join(sorted(_task_name(t) for t in running))
                self.problems.append(f"close() left {len(running)} task(s) running: {names}")
                for task in running:
                    task.cancel()

    async def wrong_secrets(self, sinks: list[Any]) -> None:
        """Every secret replaced by a made-up one: whatever fails must not repeat it."""
        changes = {option.name: WRONG_SECRET for option in self.provider.options
                   if option.secret and self.options.get(option.name)}
        session, sink = self.session(**changes), self.sink()
        sinks.append(sink)
        self.secrets.append(WRONG_SECRET)
        try:
            if session.is_streaming:
                task = asyncio.ensure_future(session.stream(sink))
                ready = asyncio.ensure_future(sink.wait_ready(self.timeout))
                await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
                for pending in (task, ready):
                    pending.cancel()
                await asyncio.gather(ready, return_exceptions=True)
                task_result = await asyncio.gather(task, return_exceptions=True)
                if isinstance(task_result[0], Exception):
                    raise task_result[0]
            else:
                await asyncio.wait_for(session.poll(sink), self.timeout)
        except Exception as exc:  # refused, as it should be (or a simulator that takes any secret)
            self.secret_in(_message(exc), "the error for a wrong secret")
        finally:
            await asyncio.wait_for(session.close(), self.timeout)

    def secret_in(self, text: str, where: str) -> None:
        for secret in self.secrets:
            forms = sorted(_forms(secret), key=len, reverse=True)
            if any(form in text for form in forms):
                for form in forms:  # the report names the leak without repeating it
                    text = text.replace(form, MASK)
                self.problems.append(f"{where} holds a secret option's value: {safe_text(text, 200)}")
                return


def _message(exc: BaseException) -> str:
    """The text of an exception as the plugin wrote it (not yet redacted)."""
    return exc.message if isinstance(exc, IbmonError) else f"{type(exc).__name__}: {exc}"


def _task_name(task: asyncio.Task) -> str:
    coroutine = task.get_coro()
    return getattr(coroutine, "__qualname__", None) or task.get_name()
