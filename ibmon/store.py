"""The state: the latest record per kind, connection and key, change tracking and bounded history.

Sessions write through the feed runtime's sink (`ibmon.feeds.ConnectionSink`), which checks every
record first; everything else reads through a `StoreView`, which has no way to write. A reader asks
for a `Watcher` and, each frame, `drain()`s the keys changed since its last frame, so it repaints
only those rows. Every write is applied (ticks are never dropped); coalescing happens in the
watcher's sets, where many ticks of one symbol between two frames leave one key.

Kinds: the built-in ones (account, position, tick, leads) are known from the start; a plugin's own
kinds (`Provider.kinds`) are registered when a connection of that provider is added. Health is a
kind of its own too ("health", key None), written only by the runtime.
"""

from __future__ import annotations

import contextvars
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from ibmon.model import ACCOUNT, LEADS, POSITION, RECORD_KINDS, TICK, Account, Health, HealthState, LeadCounts, \
    Position, RecordKind, Tick

Kind = Literal["account", "position", "tick", "leads", "health"]
#: The built-in kinds and health, which every watcher knows from the start.
KINDS: tuple[str, ...] = ("account", "position", "tick", "leads", "health")
HEALTH = "health"

#: Points kept per sparkline series.
HISTORY_POINTS = 120

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def account_figure(account: Account) -> Decimal | None:
    """What an account's trend follows: equity, else balance."""
    return account.equity if account.equity is not None else account.balance


#: The sparkline series: name -> (the kind whose records it follows, the figure of a record).
SERIES: dict[str, tuple[str, Callable[[Any], Decimal | None]]] = {
    "equity": ("account", account_figure),
    "mid": ("tick", lambda tick: (tick.bid + tick.ask) / 2),
    "leads": ("leads", lambda counts: Decimal(counts.leads)),
}
#: The series a kind's records feed (read from SERIES).
_SERIES_OF_KIND = {kind: name for name, (kind, _figure) in SERIES.items()}


class Watcher:
    """The changes one reader has not seen yet: per kind, a set of (connection, key).

    `kinds` limits what it collects (None: every kind, a plugin's own ones included). `on_change`
    is called once when a change arrives after `rearm()` (a reader schedules its next frame there,
    so nothing runs while nothing changes), in the context the watcher was made in, as asyncio
    runs callbacks: a change may come from code running in another context (a callback from another
    thread or loop), where Textual would find no app and read every screen as detached. A new
    watcher starts signalled: its owner owes it a first read, and rearms when it reads.
    """

    __slots__ = ("pending", "on_change", "signalled", "kinds", "context")

    def __init__(self, on_change: Callable[[], None] | None = None,
                 kinds: Iterable[str] | None = None) -> None:
        self.kinds: frozenset[str] | None = None if kinds is None else frozenset(kinds)
        self.pending: defaultdict[str, set[tuple[str, object]]] = defaultdict(set)
        for kind in KINDS if self.kinds is None else self.kinds:
            self.pending[kind] = set()
        self.on_change = on_change
        self.signalled = True
        self.context = contextvars.copy_context()

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def rearm(self) -> None:
        """Call `on_change` again at the next change."""
        self.signalled = False

    def drain(self, kind: str) -> set[tuple[str, object]]:
        changed = self.pending.get(kind)
        if not changed:
            return set()
        self.pending[kind] = set()
        return changed

    def has_changes(self) -> bool:
        return any(self.pending.values())


class Store:
    """The writable state. Only the feed runtime writes it; hand readers `StoreView(store)`."""

    def __init__(self, history_points: int = HISTORY_POINTS, clock=time.monotonic) -> None:
        #: The registered kinds by name: the built-in ones, then each provider's own.
        self.kinds: dict[str, RecordKind] = dict(RECORD_KINDS)
        #: kind name -> connection -> key -> record.
        self.tables: dict[str, dict[str, dict[Any, Any]]] = {name: {} for name in self.kinds}
        # the built-in tables by their older names (the same dicts)
        self.accounts: dict[str, dict[str, Account]] = self.tables["account"]
        self.positions: dict[str, dict[tuple[str, str], Position]] = self.tables["position"]
        self.ticks: dict[str, dict[str, Tick]] = self.tables["tick"]
        self.leads: dict[str, dict[str, LeadCounts]] = self.tables["leads"]
        #: The counts before the latest update, per window (for "change since the previous poll").
        self.previous_leads: dict[str, dict[str, LeadCounts]] = {}
        self.health: dict[str, Health] = {}
        self.last_data: dict[str, float] = {}
        self.tick_count = 0
        self._history_points = history_points
        #: Series by (connection, series name), then key, once their value has moved: a series
        #: that never moved is its record's own figure (most of 50,000 accounts never move).
        self._history: dict[tuple[str, str], dict[Any, deque[Decimal]]] = {}
        self._watchers: list[Watcher] = []
        self._clock = clock

    # -- kinds -----------------------------------------------------------------------------------

    def register(self, kind: RecordKind) -> None:
        """Know a plugin's kind. The same declaration again is fine; another one under a taken name
        raises ValueError."""
        known = self.kinds.get(kind.name)
        if known is not None:
            if known != kind:
                raise ValueError(f"record kind {kind.name!r} is already declared differently")
            return
        self.kinds[kind.name] = kind
        self.tables[kind.name] = {}

    # -- readers ---------------------------------------------------------------------------------

    def watch(self, on_change: Callable[[], None] | None = None,
              kinds: Iterable[str] | None = None) -> Watcher:
        """A new watcher that sees every key present now as changed, then every later change
        (of `kinds` only, when given)."""
        watcher = Watcher(on_change, kinds)
        for name, table in self.tables.items():
            if watcher.wants(name):
                pending = watcher.pending[name]
                for conn, items in table.items():
                    pending.update((conn, key) for key in items)
        if watcher.wants(HEALTH):
            watcher.pending[HEALTH].update((conn, None) for conn in self.health)
        self._watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def get(self, kind: str, connection: str, key: Any) -> Any:
        return self.tables.get(kind, {}).get(connection, {}).get(key)

    def history(self, connection: str, kind: str, key: str) -> list[Decimal]:
        """The recent values of a series: ("equity", account id) or ("mid", symbol)."""
        series = self._history.get((connection, kind), _EMPTY).get(key)
        if series is not None:
            return list(series)
        source = SERIES.get(kind)
        record = self.tables[source[0]].get(connection, _EMPTY).get(key) if source is not None else None
        value = source[1](record) if record is not None else None  # type: ignore[index]
        return [] if value is None else [value]

    def account_number(self, connection: str, account_id: str) -> str:
        """How the user knows an account (`Account.number`); its id while the store has no record of it."""
        account = self.accounts.get(connection, {}).get(account_id)
        return account.number if account is not None else account_id

    def connections(self) -> list[str]:
        return list(self.health)

    # -- writers ---------------------------------------------------------------------------------

    def _changed(self, kind: str, connection: str, key: object) -> None:
        item = (connection, key)
        for watcher in self._watchers:
            if watcher.kinds is not None and kind not in watcher.kinds:
                continue
            watcher.pending[kind].add(item)
            if not watcher.signalled:
                watcher.signalled = True
                if watcher.on_change is not None:
                    watcher.context.run(watcher.on_change)

    def _record(self, connection: str, name: str, key: Any, before: Any, record: Any) -> None:
        """Add a record's figure to its series (`before`: the record it replaces, or None)."""
        figure = SERIES[name][1]
        kept = self._history.get((connection, name))
        series = kept.get(key) if kept is not None else None
        if series is None:
            old = figure(before) if before is not None else None
            if old is None:
                return  # the first value is the record's own: nothing kept until it moves
            value = figure(record)
            if value == old:
                return
            series = deque((old,), maxlen=self._history_points)
            self._history.setdefault((connection, name), {})[key] = series
        else:
            value = figure(record)
        if value is not None and series[-1] != value:
            series.append(value)

    def _stored(self, kind: str, connection: str, key: Any, before: Any, record: Any) -> None:
        """What the built-in kinds keep beside the record: sparkline series, the tick count."""
        if kind == "tick":
            self.tick_count += 1
        name = _SERIES_OF_KIND.get(kind)
        if name is not None:
            self._record(connection, name, key, before, record)

    def touch(self, connection: str) -> None:
        self.last_data[connection] = self._clock()

    def put(self, kind: RecordKind, connection: str, record: Any) -> None:
        """Set one (checked) record."""
        key = kind.key_of(record)
        table = self.tables[kind.name].setdefault(connection, {})
        before = table.get(key)
        if kind.name == "leads" and before is not None:
            self.previous_leads.setdefault(connection, {})[key] = before
        table[key] = record
        self._stored(kind.name, connection, key, before, record)
        self._changed(kind.name, connection, key)

    def remove(self, kind: RecordKind, connection: str, key: Any) -> None:
        if self.tables[kind.name].get(connection, {}).pop(key, None) is not None:
            self._forget_series(kind.name, connection, key)
            self._changed(kind.name, connection, key)

    def _forget_series(self, kind: str, connection: str, key: Any) -> None:
        """A removed record's sparkline series goes with it (a book whose positions come and go
        would otherwise keep a series for every position it ever held)."""
        name = _SERIES_OF_KIND.get(kind)
        kept = self._history.get((connection, name)) if name is not None else None
        if kept is not None:
            kept.pop(key, None)

    def replace(self, kind: RecordKind, connection: str, records: Iterable[Any], scope: Any = None) -> None:
        """The connection's records of `kind` (within `scope`, see `RecordKind.in_scope`) are
        exactly `records`: the others go, changed ones are set."""
        current = self.tables[kind.name].setdefault(connection, {})
        fresh = {kind.key_of(record): record for record in records}
        for key in [k for k in current if k not in fresh and kind.in_scope(k, scope)]:
            del current[key]
            self._forget_series(kind.name, connection, key)
            self._changed(kind.name, connection, key)
        for key, record in fresh.items():
            if current.get(key) != record:
                self.put(kind, connection, record)

    # the built-in kinds' writers by their older names

    def set_account(self, connection: str, account: Account) -> None:
        self.put(ACCOUNT, connection, account)

    def replace_accounts(self, connection: str, accounts: Iterable[Account]) -> None:
        self.replace(ACCOUNT, connection, accounts)

    def set_position(self, connection: str, position: Position) -> None:
        self.put(POSITION, connection, position)

    def remove_position(self, connection: str, account: str, position_id: str) -> None:
        self.remove(POSITION, connection, (account, position_id))

    def replace_positions(self, connection: str, positions: Iterable[Position],
                          account: str | None = None) -> None:
        self.replace(POSITION, connection, positions, account)

    def set_tick(self, connection: str, tick: Tick) -> None:
        self.put(TICK, connection, tick)

    def set_leads(self, connection: str, counts: LeadCounts) -> None:
        self.put(LEADS, connection, counts)

    def set_health(self, connection: str, health: Health) -> None:
        self.health[connection] = health
        self._changed(HEALTH, connection, None)

    def state(self, connection: str) -> HealthState | None:
        health = self.health.get(connection)
        return health.state if health else None

    def remove_connection(self, connection: str) -> None:
        for kind, table in self.tables.items():
            for key in table.pop(connection, {}):
                self._changed(kind, connection, key)
        self.previous_leads.pop(connection, None)
        self.last_data.pop(connection, None)
        if self.health.pop(connection, None) is not None:
            self._changed(HEALTH, connection, None)
        for key in [k for k in self._history if k[0] == connection]:
            del self._history[key]


class StoreView:
    """What readers get of the store: every record, health and series, and watchers; no writes.

    Mappings it returns are read-only views of the live state (read them in the event loop; copy
    what you keep)."""

    __slots__ = ("__store",)

    def __init__(self, store: Store) -> None:
        self.__store = store

    def kinds(self) -> dict[str, RecordKind]:
        """Every registered kind by name."""
        return dict(self.__store.kinds)

    def get(self, kind: str, connection: str, key: Any) -> Any:
        """One record, or None."""
        return self.__store.get(kind, connection, key)

    def records(self, kind: str, connection: str | None = None) -> Mapping[Any, Any]:
        """A connection's records of `kind` by key (read-only); without a connection, every
        connection's, by (connection, key)."""
        table = self.__store.tables.get(kind, {})
        if connection is not None:
            items = table.get(connection)
            return MappingProxyType(items) if items is not None else _EMPTY
        return {(conn, key): record for conn, items in table.items() for key, record in items.items()}

    def connections(self) -> list[str]:
        """Every connection the store has a health record of."""
        return self.__store.connections()

    def health(self, connection: str) -> Health | None:
        return self.__store.health.get(connection)

    def last_data(self, connection: str) -> float | None:
        """When data last arrived (monotonic seconds), or None."""
        return self.__store.last_data.get(connection)

    def history(self, connection: str, series: str, key: str) -> list[Decimal]:
        """The recent values of a sparkline series: ("equity", account id), ("mid", symbol) or
        ("leads", window)."""
        return self.__store.history(connection, series, key)

    def previous(self, kind: str, connection: str, key: Any) -> Any:
        """The record before the latest update (kept for lead counts only), or None."""
        if kind != "leads":
            return None
        return self.__store.previous_leads.get(connection, {}).get(key)

    def account_number(self, connection: str, account_id: str) -> str:
        """How the user knows an account (`Account.number`); its id while there is no record of it."""
        return self.__store.account_number(connection, account_id)

    @property
    def tick_count(self) -> int:
        return self.__store.tick_count

    def watch(self, kinds: Iterable[str] | None = None, on_change: Callable[[], None] | None = None) -> Watcher:
        """A watcher of `kinds` (None: all): first every key present now, then every change."""
        return self.__store.watch(on_change, kinds)

    def unwatch(self, watcher: Watcher) -> None:
        self.__store.unwatch(watcher)
