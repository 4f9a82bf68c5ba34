"""The plugin API: what a provider plugin builds and hands to the host through its hooks.

Everything here is plain Python: importing it pulls in no Textual, httpx or websockets, so a plugin
can be imported, listed and tested without a terminal.

A provider plugin registers a `Provider`. For each configured connection the host calls
`Provider.connect(ConnectionContext)` (no I/O there) and gets a `Session`. The feed runtime then
drives the session and the session reports what it learns to a `Sink`:

* streaming sessions implement `stream(sink)`: connect, log in, deliver the initial state, call
  `sink.ready()`, then keep delivering until the connection drops (raise). The runtime backs off and
  calls `stream` again, which logs in and subscribes afresh.
* polling sessions set `poll_interval` and implement `poll(sink)`: one full refresh. The runtime
  schedules the next poll only after this one finished, and marks the connection ready after the
  first successful poll.

Every operation is bounded: a poll that takes longer than `poll_timeout` is cancelled and retried
with backoff; a stream that delivers nothing (no record, no `sink.alive()`) for `silence_timeout` is
torn down (cancelled: the session's finally-blocks close its sockets) and reconnected. Records are
checked at the sink (`ibmon.validate`): a bad one is rejected on its own; map provider items with
`ibmon.mapping.map_each` / `map_one` so one bad item never stops the others.

Records travel as kinds (`RecordKind`): the built-in account, position, tick and leads, and any a
provider declares (`Provider.kinds`, named "<provider>.<what>") and writes with `sink.put` /
`sink.replace` / `sink.remove`. The store is the only road for live data: no session keeps a sink
beyond the `stream`/`poll` call it was given, and screens read live state from `ScreenContext.view`.
Data that is not live state (a page of history, a candle range, one account's detail) is asked of
the session with `Session.request(name, params)`, declared as `RequestSpec`s on the provider; a
screen calls `ctx.request(name, **params)`, which the runtime bounds and checks.

Sessions offer quick actions (`actions()`); an action that learns fresh records returns them in an
`ActionResult`, and the host puts them through the connection's sink. A provider declares its own
screens (`Provider.screens`) and the rules across its options (`Provider.rules`) statically, so both
are known without connecting: `ibmon config check` checks `[keys]` and the rules exactly as the
app's start does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ibmon.mapping import Rejected
from ibmon.model import Account, Health, HealthState, LeadCounts, Position, RecordKind, Tick  # noqa: F401 (public)
from ibmon.options import Option, Rule

if TYPE_CHECKING:  # pragma: no cover
    from textual.screen import Screen

    from ibmon.simkit import Control
    from ibmon.store import StoreView



def __getattr__(name: str) -> Any:
    # `__all__` (what `ibmon.sdk` re-exports) is worked out when asked for, so every name this module
    # defines or takes from another ibmon module is public without being listed here as well.
    if name == "__all__":
        return sorted(key for key, value in globals().items()
                      if not key.startswith("_") and key != "TYPE_CHECKING" and not isinstance(value, ModuleType)
                      and getattr(value, "__module__", "ibmon").startswith("ibmon"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Sink(Protocol):
    """Where a session reports data. Calls are cheap (no hook calls); call them from the event loop.

    Every record is checked before it is stored; a record that fails the check (or a `Rejected`
    placeholder from `ibmon.mapping`) is not stored, and the connection's health line names it. In
    a replace-all call the rejected record's previously shown version stays, and an id listed twice
    is reported (the first one is shown)."""

    def account(self, account: Account | Rejected) -> None:
        """Set the latest summary of one account."""

    def accounts(self, accounts: Iterable[Account | Rejected]) -> None:
        """Replace the connection's whole account list (accounts not listed are removed)."""

    def position(self, position: Position | Rejected) -> None:
        """Add or update one open position."""

    def position_closed(self, account: str, position_id: str) -> None:
        """Remove one position."""

    def positions(self, positions: Iterable[Position | Rejected], *, account: str | None = None) -> None:
        """Replace the open positions of `account` (or of the whole connection when None)."""

    def tick(self, tick: Tick | Rejected) -> None:
        """Set the latest quote of a symbol."""

    def leads(self, counts: LeadCounts | Rejected) -> None:
        """Set the lead funnel counts of one window."""

    def put(self, kind: str | RecordKind, record: Any) -> None:
        """Set one record of `kind` (a built-in kind's name, or one the provider declared)."""

    def replace(self, kind: str | RecordKind, records: Iterable[Any], scope: Any = None) -> None:
        """Replace the connection's records of `kind`; with `scope`, only those whose scope field
        (`RecordKind.scope`, e.g. the account of a position) has that value."""

    def remove(self, kind: str | RecordKind, key: Any) -> None:
        """Remove one record of `kind` by its key."""

    def ready(self) -> None:
        """The first full picture (accounts, positions, ticks...) has been delivered."""

    def alive(self) -> None:
        """Data arrived even though nothing changed (keep-alives): the connection is not stale."""

    def notify(self, message: str, *, severity: Literal["information", "warning", "error"] = "information") -> None:
        """Tell the user something once (e.g. "12 new leads")."""

    def note(self, *notes: str) -> None:
        """Standing remarks for the connection's health line (e.g. "TLS verification off")."""


@dataclass(frozen=True)
class ConnectionContext:
    """What `Provider.connect` receives for one configured connection.

    `options` holds the provider's declared options, validated, with defaults filled in; secret
    options are `ibmon.secrets.Secret` objects (call `.reveal()` where the value is sent).
    `poll_timeout` is the user's override of the session's own `poll_timeout` (None: keep it).
    """

    name: str
    provider: str
    options: dict[str, Any]
    read_only: bool = False
    poll_timeout: float | None = None


@dataclass(frozen=True)
class Action:
    """A quick action on a record of the dashboard or a provider screen.

    `target` says what it acts on: a `Position`, an `Account`, or the connection (None is passed,
    or what a provider screen passes, e.g. a form's values). `run(target)` performs it and returns
    the message to show the user, or an `ActionResult` with the records the provider answered with
    (the host puts them through the connection's sink, so they show at once); raising
    `ProviderError` shows the error instead. Actions that change anything (`mutating`) ask for confirmation first
    with `confirm(target)`'s question; when `typed_confirmation` is set the user must type the text
    it returns (e.g. an account number) to proceed. Mutating actions are off in read-only mode.
    """

    id: str
    title: str
    target: Literal["position", "account", "connection"]
    run: Callable[[Any], Awaitable["str | ActionResult"]]
    confirm: Callable[[Any], str] | None = None
    mutating: bool = True
    available: Callable[[Any], bool] | None = None
    typed_confirmation: Callable[[Any], str] | None = None
    key: str | None = None

    def is_available(self, target: Any) -> bool:
        return self.available is None or bool(self.available(target))

    def question(self, target: Any) -> str:
        return self.confirm(target) if self.confirm else f"{self.title}?"


@dataclass(frozen=True)
class ActionResult:
    """What an action may return instead of a message: the message, and the records it learnt
    (`records`: each of a kind the connection may write, told apart by its class) and the ones
    it ended (`removed`: (kind name, key) pairs). The host checks and stores them as the sink
    does."""

    message: str
    records: tuple[Any, ...] = ()
    removed: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        object.__setattr__(self, "removed", tuple(self.removed))


@dataclass(frozen=True)
class RequestSpec:
    """An on-demand request a provider's sessions answer (`Session.request`): data that is not
    live state, such as a page of deal history or one account's detail.

    `record` is the class of what it returns (a list of them; a `RecordKind` to return records of
    a kind); `params` declares what it takes (name, type, default, help), checked before the
    session sees them; `timeout` bounds it (seconds)."""

    name: str
    record: type | RecordKind
    help: str = ""
    params: tuple[Option, ...] = ()
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not all(c.isalnum() or c in "_-." for c in self.name):
            raise ValueError(f"RequestSpec name must be letters, digits, _, - or ., not {self.name!r}")
        params = tuple(self.params) if isinstance(self.params, (list, tuple)) else self.params
        if not isinstance(params, tuple) or not all(isinstance(p, Option) for p in params):
            raise TypeError(f"RequestSpec {self.name!r}: params must be a tuple of Option")
        object.__setattr__(self, "params", params)
        if not isinstance(self.record, RecordKind):
            if not isinstance(self.record, type):
                raise TypeError(f"RequestSpec {self.name!r}: record must be a dataclass type or a RecordKind")
            object.__setattr__(self, "record", RecordKind(self.name, self.record, ()))

    @property
    def kind(self) -> RecordKind:
        """What its records are checked as."""
        return self.record  # type: ignore[return-value]


@dataclass(frozen=True)
class ScreenContext:
    """Handed to a provider screen factory: everything a screen may use, and no session.

    `connection` and `title` (the provider's) name it; `options` are the connection's options
    without its secrets; `view` reads the store (live state: records, health, watchers);
    `request(name, **params)` asks the session for on-demand data through the runtime (bounded,
    errors as `ProviderError`); `actions()` lists the connection's quick actions and
    `run_action(action, target)` runs one through the host (which confirms and reports it);
    `selected` is the dashboard's selected record when the screen was opened with it (an
    `Account`, `Position` or `Tick` of this connection), else None."""

    connection: str
    provider: str
    title: str
    options: Mapping[str, Any]
    view: "StoreView"
    requester: Callable[[str, dict[str, Any]], Awaitable[list[Any]]]
    actions: Callable[[], list[Action]]
    run_action: Callable[[Action, Any], Awaitable[None]]
    selected: Any = None

    async def request(self, name: str, **params: Any) -> list[Any]:
        """The records the session answers `name` with (raises ProviderError)."""
        return await self.requester(name, params)


@dataclass(frozen=True)
class ScreenSpec:
    """A provider's own screen, declared on its `Provider` (before any connection exists).

    `factory(ctx)` returns a Textual `Screen` for one connection; everything it needs comes through
    `ctx` (a `ScreenContext`), so write it as a module-level function and import Textual inside it
    (the host calls it only when the screen opens). `key` is its suggested key on the dashboard,
    remappable as `screen.<id>` in `[keys]`; `id` is letters, digits, "_", "-" and "."."""

    id: str
    title: str
    factory: Callable[[ScreenContext], Screen]
    key: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or not all(c.isalnum() or c in "_-." for c in self.id):
            raise ValueError(f"ScreenSpec id must be letters, digits, _, - or ., not {self.id!r}")
        if not isinstance(self.title, str) or not callable(self.factory):
            raise TypeError(f"ScreenSpec {self.id!r} needs a title (a string) and a callable factory")
        if self.key is not None and (not isinstance(self.key, str) or not self.key.strip()
                                     or not self.key.isprintable()):
            raise TypeError(f"ScreenSpec {self.id!r}: key must be keys as a string, or None")


#: The shortest poll interval the runtime accepts: a session polling more often is refused (its
#: health line says so) rather than hammering its provider and the event loop.
MIN_POLL_INTERVAL = 0.5


class Session:
    """One live connection to a provider. Subclass and implement `stream` or `poll` (or both)."""

    #: Seconds between polls (None: the session does not poll). At least MIN_POLL_INTERVAL.
    poll_interval: float | None = None
    #: Seconds without data before the connection shows as stale (None: 3 × poll_interval, or 60 s).
    stale_after: float | None = None
    #: Seconds one whole poll may take; a longer poll is cancelled and retried with backoff
    #: (None: no limit). The connection key `poll_timeout` overrides it.
    poll_timeout: float | None = 60.0
    #: Seconds without any data (records or `sink.alive()`) after which a stream is a dead link:
    #: torn down and reconnected. Set it from the provider's heartbeat (None: no limit).
    silence_timeout: float | None = None

    async def stream(self, sink: Sink) -> None:
        """Connect and deliver pushed data until the connection is lost (then raise)."""
        raise NotImplementedError

    async def poll(self, sink: Sink) -> None:
        """Fetch one full refresh and deliver it."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release sockets and clients. Called once when the app stops or the connection is removed."""

    def actions(self) -> list[Action]:
        return []

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        """Answer one of the provider's declared requests (`Provider.requests`) with records of its
        class; `params` are checked against its declaration, defaults filled in."""
        from ibmon.errors import ProviderError

        raise ProviderError(f"this connection does not answer {name!r}")

    @property
    def is_streaming(self) -> bool:
        return type(self).stream is not Session.stream

    @property
    def is_polling(self) -> bool:
        return type(self).poll is not Session.poll and self.poll_interval is not None


@dataclass(frozen=True)
class Provider:
    """A kind of connection a plugin offers (e.g. "xtb"), declared once.

    `options` is what a connection of this provider takes; `rules` check across them (see
    `ibmon.options`: `one_of`, `requires`, or any callable returning problem lines): a connection
    breaking one is refused by `ibmon config check` and at start alike, so `connect()` never needs
    to refuse options. `screens` are the provider's own screens; `kinds` the record kinds its
    sessions write beside the built-in ones (each named "<provider name>.<what>"); `requests` the
    on-demand requests its sessions answer."""

    name: str
    title: str
    connect: Callable[[ConnectionContext], Session]
    options: tuple[Option, ...] = ()
    description: str = ""
    rules: tuple[Rule, ...] = ()
    screens: tuple[ScreenSpec, ...] = ()
    kinds: tuple[RecordKind, ...] = ()
    requests: tuple[RequestSpec, ...] = ()

    def __post_init__(self) -> None:
        # a plugin's declaration is checked when it registers, so a mistake fails that plugin alone
        for label, items, kind in (("options", self.options, Option), ("screens", self.screens, ScreenSpec),
                                   ("kinds", self.kinds, RecordKind), ("requests", self.requests, RequestSpec)):
            items = tuple(items) if isinstance(items, (list, tuple)) else items
            if not isinstance(items, tuple) or not all(isinstance(item, kind) for item in items):
                raise TypeError(f"Provider {self.name!r}: {label} must be a tuple of {kind.__name__}")
            object.__setattr__(self, label, items)
        rules = tuple(self.rules) if isinstance(self.rules, (list, tuple)) else self.rules
        if not isinstance(rules, tuple) or not all(callable(rule) for rule in rules):
            raise TypeError(f"Provider {self.name!r}: rules must be a tuple of callables")
        object.__setattr__(self, "rules", rules)
        from ibmon.validate import check_record_type

        for kind in self.kinds:
            if not kind.name.startswith(f"{self.name}."):
                raise ValueError(f"Provider {self.name!r}: kind {kind.name!r} must be named "
                                 f"\"{self.name}.<what>\"")
            check_record_type(kind.record)
        for request in self.requests:
            check_record_type(request.kind.record)

    def kind(self, name: str) -> RecordKind | None:
        return next((k for k in self.kinds if k.name == name), None)

    def request(self, name: str) -> RequestSpec | None:
        return next((r for r in self.requests if r.name == name), None)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


@dataclass
class RunningSimulator:
    """A simulator serving on loopback. `connections` are config entries (name, provider and
    options as plain values) that reach it; `endpoints` name what listens where; `stop()` ends it
    (on the loop that started it); `control` is the simulator's own handle on its faults and state
    (an `ibmon.simkit.Control`: its methods are safe to call from any thread), None if it has none."""

    provider: str
    endpoints: dict[str, str]
    connections: list[dict[str, Any]]
    stop: Callable[[], Awaitable[None]]
    control: Control | None = None


@dataclass(frozen=True)
class Simulator:
    """A provider's protocol simulator. `start(host=..., **settings)` starts serving on free ports
    of `host` (loopback) and returns a `RunningSimulator`. `settings` declares every setting it
    takes (name, type, default, help); the host checks what it is given against them, refuses an
    unknown or ill-typed one naming it, and passes all of them, defaults filled in."""

    provider: str
    title: str
    start: Callable[..., Awaitable[RunningSimulator]]
    settings: tuple[Option, ...] = ()

    def setting(self, name: str) -> Option | None:
        return next((o for o in self.settings if o.name == name), None)


@dataclass(frozen=True)
class Command:
    """A command palette entry. `run(app)` receives the running ibmon app (may be a coroutine
    function); `app.view` (a read-only `StoreView`), `app.notify()` and `app.push_screen()` are
    the stable parts to use."""

    title: str
    run: Callable[[Any], Any]
    help: str = ""


@dataclass(frozen=True)
class ThemeSpec:
    """A theme: Textual theme colours by name. `source` is the file it came from (for errors)."""

    name: str
    colors: dict[str, Any]
    dark: bool = True
    variables: dict[str, str] = field(default_factory=dict)
    source: str = ""
