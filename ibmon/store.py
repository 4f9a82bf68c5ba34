"""The state: the latest value per key for every connection, change tracking and bounded history.

Sessions write through the feed runtime's sink; widgets read at frame rate. A widget asks for a
`Watcher` and, each frame, `drain()`s the keys changed since its last frame, so it repaints only
those rows. Every write is applied (ticks are never dropped); coalescing happens in the watcher's
sets, where many ticks of one symbol between two frames leave one key.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Literal

from ibmon.model import Account, Health, HealthState, LeadCounts, Position, Tick

Kind = Literal["account", "position", "tick", "leads", "health"]
KINDS: tuple[Kind, ...] = ("account", "position", "tick", "leads", "health")

#: Points kept per sparkline series.
HISTORY_POINTS = 120


class Watcher:
    """The changes one reader has not seen yet: per kind, a set of (connection, key).

    `on_change` is called once when a change arrives after `rearm()` (a reader schedules its next
    frame there, so nothing runs while nothing changes). A new watcher starts signalled: its owner
    owes it a first read, and rearms when it reads.
    """

    __slots__ = ("pending", "on_change", "signalled")

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.pending: dict[str, set[tuple[str, object]]] = {kind: set() for kind in KINDS}
        self.on_change = on_change
        self.signalled = True

    def rearm(self) -> None:
        """Call `on_change` again at the next change."""
        self.signalled = False

    def drain(self, kind: Kind) -> set[tuple[str, object]]:
        changed = self.pending[kind]
        if changed:
            self.pending[kind] = set()
        return changed

    def has_changes(self) -> bool:
        return any(self.pending.values())


class Store:
    def __init__(self, history_points: int = HISTORY_POINTS, clock=time.monotonic) -> None:
        self.accounts: dict[str, dict[str, Account]] = {}
        self.positions: dict[str, dict[tuple[str, str], Position]] = {}
        self.ticks: dict[str, dict[str, Tick]] = {}
        self.leads: dict[str, dict[str, LeadCounts]] = {}
        #: The counts before the latest update, per window (for "change since the previous poll").
        self.previous_leads: dict[str, dict[str, LeadCounts]] = {}
        self.health: dict[str, Health] = {}
        self.last_data: dict[str, float] = {}
        self.tick_count = 0
        self._history_points = history_points
        self._history: dict[tuple[str, str, str], deque[Decimal] | Decimal] = {}
        self._watchers: list[Watcher] = []
        self._clock = clock

    # -- readers ---------------------------------------------------------------------------------

    def watch(self, on_change: Callable[[], None] | None = None) -> Watcher:
        """A new watcher that sees every key present now as changed, then every later change."""
        watcher = Watcher(on_change)
        for conn, items in self.accounts.items():
            watcher.pending["account"].update((conn, key) for key in items)
        for conn, items in self.positions.items():
            watcher.pending["position"].update((conn, key) for key in items)
        for conn, items in self.ticks.items():
            watcher.pending["tick"].update((conn, key) for key in items)
        for conn, items in self.leads.items():
            watcher.pending["leads"].update((conn, key) for key in items)
        watcher.pending["health"].update((conn, None) for conn in self.health)
        self._watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def history(self, connection: str, kind: str, key: str) -> list[Decimal]:
        """The recent values of a series: ("equity", account id) or ("mid", symbol)."""
        series = self._history.get((connection, kind, key))
        if series is None:
            return []
        return list(series) if type(series) is deque else [series]

    def account_number(self, connection: str, account_id: str) -> str:
        """How the user knows an account (`Account.number`); its id while the store has no record of it."""
        account = self.accounts.get(connection, {}).get(account_id)
        return account.number if account is not None else account_id

    def connections(self) -> list[str]:
        return list(self.health)

    # -- writers ---------------------------------------------------------------------------------

    def _changed(self, kind: Kind, connection: str, key: object) -> None:
        item = (connection, key)
        for watcher in self._watchers:
            watcher.pending[kind].add(item)
            if not watcher.signalled:
                watcher.signalled = True
                if watcher.on_change is not None:
                    watcher.on_change()

    def _record(self, connection: str, kind: str, key: str, value: Decimal | None) -> None:
        if value is None:
            return
        name = (connection, kind, key)
        series = self._history.get(name)
        if series is None:  # one point is kept as the value: most of 50,000 accounts never move
            self._history[name] = value
        elif type(series) is not deque:
            if series != value:
                self._history[name] = deque((series, value), maxlen=self._history_points)
        elif series[-1] != value:
            series.append(value)

    def touch(self, connection: str) -> None:
        self.last_data[connection] = self._clock()

    def set_account(self, connection: str, account: Account) -> None:
        self.accounts.setdefault(connection, {})[account.id] = account
        self._record(connection, "equity", account.id,
                     account.equity if account.equity is not None else account.balance)
        self._changed("account", connection, account.id)

    def replace_accounts(self, connection: str, accounts: Iterable[Account]) -> None:
        current = self.accounts.setdefault(connection, {})
        fresh = {account.id: account for account in accounts}
        for gone in current.keys() - fresh.keys():
            del current[gone]
            self._changed("account", connection, gone)
        for account in fresh.values():
            if current.get(account.id) != account:
                self.set_account(connection, account)

    def set_position(self, connection: str, position: Position) -> None:
        self.positions.setdefault(connection, {})[position.key] = position
        self._changed("position", connection, position.key)

    def remove_position(self, connection: str, account: str, position_id: str) -> None:
        key = (account, position_id)
        if self.positions.get(connection, {}).pop(key, None) is not None:
            self._changed("position", connection, key)

    def replace_positions(self, connection: str, positions: Iterable[Position],
                          account: str | None = None) -> None:
        current = self.positions.setdefault(connection, {})
        fresh = {position.key: position for position in positions}
        scope = [key for key in current if account is None or key[0] == account]
        for key in scope:
            if key not in fresh:
                del current[key]
                self._changed("position", connection, key)
        for key, position in fresh.items():
            if current.get(key) != position:
                current[key] = position
                self._changed("position", connection, key)

    def set_tick(self, connection: str, tick: Tick) -> None:
        self.tick_count += 1
        self.ticks.setdefault(connection, {})[tick.symbol] = tick
        self._record(connection, "mid", tick.symbol, (tick.bid + tick.ask) / 2)
        self._changed("tick", connection, tick.symbol)

    def set_leads(self, connection: str, counts: LeadCounts) -> None:
        windows = self.leads.setdefault(connection, {})
        before = windows.get(counts.window)
        if before is not None:
            self.previous_leads.setdefault(connection, {})[counts.window] = before
        windows[counts.window] = counts
        self._record(connection, "leads", counts.window, Decimal(counts.leads))
        self._changed("leads", connection, counts.window)

    def set_health(self, connection: str, health: Health) -> None:
        self.health[connection] = health
        self._changed("health", connection, None)

    def state(self, connection: str) -> HealthState | None:
        health = self.health.get(connection)
        return health.state if health else None

    def remove_connection(self, connection: str) -> None:
        for kind, table in (("account", self.accounts), ("position", self.positions),
                            ("tick", self.ticks), ("leads", self.leads)):
            for key in table.pop(connection, {}):
                self._changed(kind, connection, key)  # type: ignore[arg-type]
        self.previous_leads.pop(connection, None)
        self.last_data.pop(connection, None)
        if self.health.pop(connection, None) is not None:
            self._changed("health", connection, None)
        for key in [k for k in self._history if k[0] == connection]:
            del self._history[key]
