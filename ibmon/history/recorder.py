"""What the dashboard remembers: a reader of the store (through its watch API, like the panels)
that hands every change to the history writer's thread, and what the dashboard reads back from
history: trends filled at start, each account's change since the start of the day.

Every `RECORD_SECONDS` the recorder drains its watcher and queues the latest record of each changed
key (ticks between two drains leave one: the bars are built from what it sees, several times a
second). That is a dictionary look-up and a queue put per changed key, on the event loop, outside
the frame; SQL runs only in the writer's thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ibmon.history.db import HistoryDB
from ibmon.history.writer import HistoryWriter, position_data
from ibmon.model import Account, LeadCounts, Position
from ibmon.store import Store, account_figure

log = logging.getLogger("ibmon.history")

RECORD_SECONDS = 0.25
#: Values of each series read back for the trend columns.
TREND_POINTS = 30
#: Distinct zeros kept for unchanged day changes (one per sign and exponent).
MAX_ZEROS = 64


def narrowest(windows: Iterable[LeadCounts]) -> LeadCounts | None:
    """The window starting last (e.g. "today" among today, 7d, 30d): where new money shows first."""
    return max(windows, key=lambda w: (w.date_from, w.date_to), default=None)


def money_moves(before: LeadCounts | None, after: LeadCounts) -> list[tuple[str, str, Decimal]]:
    """(currency, "deposit" | "withdrawal", amount) the window's totals grew by since `before`
    (the same window on the same dates; a new day starts from nothing)."""
    if before is None or (before.date_from, before.date_to) != (after.date_from, after.date_to):
        return []
    old = {(currency, kind): amount for currency, kind, amount in before.amounts}
    moves = []
    for currency, kind, amount in after.amounts:
        grown = amount - old.get((currency, kind), Decimal(0))
        if grown > 0 and kind in ("deposits", "withdrawals"):
            moves.append((currency, kind[:-1], grown))
    return moves


def day_start(now: float, zone: dt.tzinfo | None) -> float:
    """Unix time of the start of the day `now` falls in, in `zone` (None: the system's)."""
    moment = dt.datetime.fromtimestamp(now, zone)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class History:
    def __init__(self, store: Store, path: Path, retention_days: int, *, clock: Callable[[], float] = time.time,
                 zone: dt.tzinfo | None = None, interval: float = RECORD_SECONDS) -> None:
        self.store = store
        self.path = path
        self.clock = clock
        self.zone = zone
        self.interval = interval
        self.writer = HistoryWriter(path, retention_days, clock=clock, on_problem=self._problem,
                                    on_ready=self._ready)
        #: Why history is off (reported once), or None.
        self.problem: str | None = None
        #: Bumped when trends or day baselines change (panels then show their rows again).
        self.version = 0
        #: Every account is to be shown again (history was read, a new day began): `changed_accounts`.
        self._show_all = True
        #: Seconds the event loop spent recording (the benchmark reports it).
        self.loop_seconds = 0.0
        self._notify: Callable[[str], None] = lambda message: None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._watcher = None
        self._trends: dict[tuple[str, str, str], list[Decimal]] = {}
        #: Per connection, then account id: the figure the day started from (mostly the very
        #: object the account's record holds: 50,000 accounts that never move cost a dict entry each).
        self._baselines: dict[str, dict[str, Decimal]] = {}
        #: The latest figure of each account that moved off its day's start (the next day starts there).
        self._moved: dict[str, dict[str, Decimal]] = {}
        #: A zero of each exponent, shared by every account whose figure stands at the day's start.
        self._zeros: dict[tuple, Decimal] = {}
        self._day = day_start(clock(), zone)
        self._positions: dict[tuple[str, tuple[str, str]], Position] = {}
        self._known_open: set[tuple[str, str, str]] = set()
        self._leads: dict[tuple[str, str], LeadCounts] = {}

    # -- life cycle ------------------------------------------------------------------------------

    def start(self, notify: Callable[[str], None]) -> None:
        """Open the database in the writer's thread and start recording (on the running loop)."""
        self._notify = notify
        self._loop = asyncio.get_running_loop()
        self._watcher = self.store.watch()
        self.writer.start()
        self._handle = self._loop.call_later(self.interval, self._every_interval)

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._watcher is not None:
            self.record()
            self.store.unwatch(self._watcher)
            self._watcher = None
        await asyncio.to_thread(self.writer.stop)

    def _every_interval(self) -> None:
        started = time.perf_counter()
        try:
            self.record()
        except Exception:  # a record it cannot write must not stop the recording of others
            log.exception("history: cannot record a change")
        self.loop_seconds += time.perf_counter() - started
        if self.problem is None and self._loop is not None:
            self._handle = self._loop.call_later(self.interval, self._every_interval)
        elif self._watcher is not None:  # history is off: stop collecting changes for it
            self.store.unwatch(self._watcher)
            self._watcher = None

    def _problem(self, message: str) -> None:
        """From the writer's thread: say it once; the dashboard runs on without history."""
        if self.problem is None:
            self.problem = message
            self._notify(f"{message}; the dashboard runs on without history")

    def _ready(self, db: HistoryDB) -> None:
        """In the writer's thread, before the first write: what the dashboard shows from history."""
        loaded = (db.recent_trends(TREND_POINTS), db.day_baselines(self._day), db.open_positions())
        if self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._loaded, *loaded)
            except RuntimeError:  # the app ended before the file was read
                pass

    def _loaded(self, trends: dict, baselines: dict, open_positions: set) -> None:
        self._trends = trends
        for (connection, account_id), value in baselines.items():
            known = self._baselines.setdefault(connection, {})
            if account_id not in known:
                account = self.store.accounts.get(connection, {}).get(account_id)
                figure = account_figure(account) if account is not None else None
                known[account_id] = figure if figure == value and str(figure) == str(value) else value
        self._known_open |= open_positions
        self._show_all = True
        self.version += 1

    # -- recording -------------------------------------------------------------------------------

    def record(self) -> None:
        """Queue the latest record of every key changed since the last call."""
        watcher = self._watcher
        if watcher is None or self.problem is not None:
            return
        watcher.drain("health")  # health is the alerts' business, not history's
        now = self.clock()
        self._roll_day(now)
        put = self.writer.put
        store = self.store
        for connection, symbol in watcher.drain("tick"):
            tick = store.ticks.get(connection, {}).get(symbol)  # type: ignore[call-overload]
            if tick is not None:
                put(("tick", now, connection, symbol, tick.bid, tick.ask))
        for connection, account_id in watcher.drain("account"):
            account = store.accounts.get(connection, {}).get(account_id)  # type: ignore[call-overload]
            if account is not None:
                put(("account", now, connection, account))
                figure = account_figure(account)
                if figure is not None:
                    self._note(connection, account.id, figure)
        for connection, key in watcher.drain("position"):
            self._position(now, connection, key)  # type: ignore[arg-type]
        for connection, window in watcher.drain("leads"):
            self._lead_counts(now, connection, window)  # type: ignore[arg-type]

    def _note(self, connection: str, account_id: str, figure: Decimal) -> None:
        """An account's latest figure: the day's start when it is the first one seen today (its row
        showed a change of zero already, see `day_change`: nothing to show again)."""
        baselines = self._baselines.setdefault(connection, {})
        start = baselines.get(account_id)
        if start is None:  # first seen today: the day starts here
            baselines[account_id] = start = figure
        moved = self._moved.setdefault(connection, {})
        if figure is start:
            moved.pop(account_id, None)
        else:
            moved[account_id] = figure

    def _roll_day(self, now: float) -> None:
        """A new day starts from each account's latest figure (of the accounts still listed)."""
        today = day_start(now, self.zone)
        if today != self._day:
            self._day = today
            accounts = self.store.accounts
            self._baselines = {connection: {account_id: self._moved.get(connection, {}).get(account_id, start)
                                            for account_id, start in baselines.items()
                                            if account_id in accounts.get(connection, ())}
                               for connection, baselines in self._baselines.items()}
            self._moved = {}
            self._show_all = True
            self.version += 1

    def _position(self, now: float, connection: str, key: tuple[str, str]) -> None:
        position = self.store.positions.get(connection, {}).get(key)
        ident = (connection, *key)
        seen = (connection, key)
        if position is not None:
            if seen not in self._positions and ident not in self._known_open:
                self._event(now, connection, "position_opened", key, position_data(position))
                self._known_open.add(ident)
            self._positions[seen] = position
            return
        last = self._positions.pop(seen, None)
        if last is not None:
            self._event(now, connection, "position_closed", key, position_data(last))
            self._known_open.discard(ident)

    def _event(self, now: float, connection: str, kind: str, key: tuple[str, str], data: dict[str, Any]) -> None:
        self.writer.put(("event", now, connection, kind, "/".join(key), data))

    def _lead_counts(self, now: float, connection: str, window: str) -> None:
        windows = self.store.leads.get(connection, {})
        counts = windows.get(window)
        if counts is None:
            return
        self.writer.put(("leads", now, connection, counts))
        before = self._leads.get((connection, window))
        self._leads[(connection, window)] = counts
        if counts is narrowest(windows.values()):
            for currency, kind, amount in money_moves(before, counts):
                self.writer.put(("event", now, connection, kind, f"{window}/{currency}",
                                 {"currency": currency, "amount": amount}))

    def record_alert(self, row: dict[str, Any]) -> None:
        """An alert fired or cleared (its row as `HistoryDB.put_alert` takes it)."""
        self.writer.put(("alert", row))

    # -- what the dashboard reads ----------------------------------------------------------------

    def changed_accounts(self) -> set[tuple[str, str]] | None:
        """(connection, account id) of the accounts to show again since the last call, None for
        every account (history was read, a new day began). No account is shown again for its
        first figure of the day: 50,000 accounts arriving are drawn once."""
        show_all, self._show_all = self._show_all, False
        return None if show_all else set()

    def trend(self, connection: str, kind: str, key: str, live: list[Decimal]) -> list[Decimal]:
        """The values a trend cell shows: those history had at start, then this run's."""
        before = self._trends.get((connection, kind, key))
        return before + live if before else live

    def day_change(self, account_connection: str, account: Account) -> Decimal | None:
        """Equity (else balance) now minus at the start of the day, None while unknown. An account
        not recorded yet starts its day at the figure it has (the recorder takes it as the start
        when it comes by), unless nothing is recorded any more."""
        figure = account_figure(account)
        start = self._baselines.get(account_connection, {}).get(account.id)
        if start is None and self._watcher is not None and self.problem is None:
            start = figure
        if figure is None or start is None:
            return None
        change = figure - start
        if change:
            return change
        # no change: one shared zero per sign and exponent (the exponents of checked money are few)
        shape = change.as_tuple()
        zero = self._zeros.get(shape)
        if zero is None and len(self._zeros) < MAX_ZEROS:
            zero = self._zeros[shape] = change
        return zero if zero is not None else change
