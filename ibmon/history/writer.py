"""The history writer: one background thread that owns the database and writes in batches.

The event loop only puts small tuples on a queue (`put`); the thread takes whatever has queued,
turns it into rows (deduplicating unchanged account samples, building one-minute bars from ticks)
and commits them in one transaction. It thins and expires old rows now and then. A database that
fails (damaged, locked, disk full) is reported once through `on_problem` and the thread stops
writing; the app goes on without history. The queue is bounded: what a stopped or lagging writer
cannot take is dropped and counted, never held in memory without end.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ibmon.history.db import HistoryDB, HistoryError, describe, text
from ibmon.model import Account, LeadCounts, Position

log = logging.getLogger("ibmon.history")

#: Items queued and not yet written beyond which new ones are dropped.
QUEUE_LIMIT = 200_000
#: Seconds between two batches at most (a batch is written sooner when the queue has items).
BATCH_SECONDS = 1.0
#: Items one batch (one transaction) takes at most: a first poll of 50,000 accounts is written in
#: several, so the rows built for one never add up to tens of megabytes the process then keeps.
BATCH_ITEMS = 5_000
#: Seconds between two passes of thinning and expiry.
COMPACT_SECONDS = 300.0
_STOP = object()


class HistoryWriter:
    def __init__(self, path: Path, retention_days: int, *, clock: Callable[[], float] = time.time,
                 on_problem: Callable[[str], None] = lambda message: None,
                 on_ready: Callable[[HistoryDB], None] = lambda db: None) -> None:
        self.path = path
        self.retention_days = retention_days
        self.clock = clock
        self.on_problem = on_problem
        self.on_ready = on_ready
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.failed: str | None = None
        self.dropped = 0
        self.written = 0
        #: CPU seconds the writer's thread used, once it ended (the benchmark reports it).
        self.cpu_seconds = 0.0
        self._thread: threading.Thread | None = None
        #: Open bar per symbol series: [minute, open, high, low, close], and those changed since the last batch.
        self._bars: dict[int, list[Any]] = {}
        self._touched_bars: set[int] = set()
        #: Bars whose minute ended within the current batch.
        self._finished: list[tuple] = []
        self._last_compact = 0.0

    # -- the loop's side -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ibmon-history", daemon=True)
        self._thread.start()

    def put(self, item: tuple) -> None:
        """Queue one item: ("account", t, connection, Account) / ("tick", t, connection, symbol, bid, ask) /
        ("leads", t, connection, LeadCounts) / ("event", t, connection, kind, key, data) / ("alert", row)."""
        if self.failed is not None or self.queue.qsize() >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self.queue.put(item)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before now is written (tests, and the last batch at exit)."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()
        self.queue.put(("flush", done))
        return done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        self.queue.put(_STOP)
        self._thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            db = HistoryDB.open(self.path)
            db.clear_open_alerts(self.clock())
            self.on_ready(db)
            self._maintain(db, force=True)
        except HistoryError as exc:
            self._fail(str(exc))
            return
        except (sqlite3.Error, OSError) as exc:
            self._fail(describe(self.path, exc))
            return
        except Exception as exc:  # whatever else: history is off, the app goes on
            log.exception("history could not start")
            self._fail(f"history could not start on {self.path} ({type(exc).__name__}: {exc})")
            return
        try:
            while True:
                batch = self._take()
                stop = _STOP in batch
                try:
                    self._write(db, [item for item in batch if item is not _STOP])
                    self._maintain(db)
                except (sqlite3.Error, OSError) as exc:
                    self._fail(describe(self.path, exc))
                    stop = True
                except Exception as exc:  # a record it cannot write: history stops, the app does not
                    log.exception("history writer failed")
                    self._fail(f"history stopped: cannot write to {self.path} ({type(exc).__name__}: {exc})")
                    stop = True
                for item in batch:
                    if isinstance(item, tuple) and item[0] == "flush":
                        item[1].set()
                if stop:
                    return
        finally:
            db.close()
            self.cpu_seconds = time.thread_time()

    def _fail(self, message: str) -> None:
        self.failed = message
        log.error("%s; history is off", message)
        self.on_problem(message)
        while True:  # release whoever waits on a flush
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, tuple) and item[0] == "flush":
                item[1].set()

    def _take(self) -> list[Any]:
        try:
            batch = [self.queue.get(timeout=BATCH_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH_ITEMS:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _maintain(self, db: HistoryDB, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._last_compact >= COMPACT_SECONDS:
            self._last_compact = now
            db.compact(now)
            db.expire(now, self.retention_days)

    def _write(self, db: HistoryDB, batch: list[Any]) -> None:
        leads: list[tuple] = []
        events: list[tuple] = []
        with db.transaction():
            for item in batch:
                kind = item[0]
                if kind == "tick":
                    _, t, connection, symbol, bid, ask = item
                    self._tick(db, t, connection, symbol, (bid + ask) / 2)
                elif kind == "account":
                    _, t, connection, account = item
                    self._account(db, t, connection, account)
                elif kind == "leads":
                    _, t, connection, counts = item
                    assert isinstance(counts, LeadCounts)
                    series = db.series_id(connection, "leads", counts.window)
                    leads.append((series, int(t), counts.leads, counts.registrations, counts.transactions))
                elif kind == "event":
                    _, t, connection, name, key, data = item
                    events.append((t, connection, name, key, json.dumps(data, default=_plain)))
                elif kind == "alert":
                    db.put_alert(item[1])
            db.add_lead_samples(leads)
            db.add_events(events)
            db.put_bars([*self._finished, *(_bar_row(series, self._bars[series]) for series in self._touched_bars)])
        self.written += len(batch)
        self._touched_bars.clear()
        self._finished.clear()

    def _account(self, db: HistoryDB, t: float, connection: str, account: Account) -> None:
        """Write the account's sample unless its figures are those of its latest sample in the file
        (read back from there, not kept per account: a later sample of the same batch compares
        with this one, so it is written at once)."""
        series = db.series_id(connection, "account", account.id, account.number)
        values = sample_values(account)
        if db.last_account_values(series) != values:
            db.add_account_samples([(series, int(t), *values)])

    def _tick(self, db: HistoryDB, t: float, connection: str, symbol: str, mid: Decimal) -> None:
        series = db.series_id(connection, "symbol", symbol)
        minute = int(t) // 60 * 60
        bar = self._bars.get(series)
        if bar is None or bar[0] != minute:
            if bar is not None and series in self._touched_bars:
                self._finished.append(_bar_row(series, bar))
            self._bars[series] = [minute, mid, mid, mid, mid]
        else:
            if mid > bar[2]:
                bar[2] = mid
            if mid < bar[3]:
                bar[3] = mid
            bar[4] = mid
        self._touched_bars.add(series)


def sample_values(account: Account) -> tuple[str | None, ...]:
    """The figures an account sample keeps, as the text written (1.0 and 1.00 differ)."""
    return (text(account.balance), text(account.equity), text(account.margin_level), text(account.profit))


def _bar_row(series: int, bar: list[Any]) -> tuple:
    minute, *prices = bar
    return (series, minute, *map(text, prices))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(type(value).__name__)


def position_data(position: Position) -> dict[str, Any]:
    return {"symbol": position.symbol, "side": position.side, "volume": position.volume,
            "open_price": position.open_price, "profit": position.profit, "currency": position.currency}
