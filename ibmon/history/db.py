"""The history database: SQLite (the standard `sqlite3`), WAL mode, one file.

What it keeps, per connection: account samples (balance, equity, margin level, profit), one-minute
OHLC bars per symbol, lead-funnel counts per poll, events (positions opened and closed, deposits and
withdrawals) and the alerts fired and cleared. Money is written as decimal text, exactly.

Samples thin out with age (`compact`): every change for an hour, then the last of each minute for a
day, then the last of each hour; minute bars older than a day are merged into hour bars. Rows older
than the retention are deleted. Times are Unix seconds.

Only the history writer's thread writes; readers (`ibmon history`, the history screen) open their
own connection (`HistoryDB.open(path, readonly=True)`), which WAL lets run beside the writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

HOUR, DAY = 3600, 86400
#: (age from which, bucket seconds): samples older than the age keep the last of each bucket.
TIERS = ((HOUR, 60), (DAY, HOUR))
#: Minute bars older than this become hour bars.
BAR_MERGE_AGE = DAY
SCHEMA_VERSION = "1"
#: Milliseconds a statement waits for another program's lock before it fails.
BUSY_TIMEOUT_MS = 2000
#: The writer's page cache in KiB (SQLite's default is 2,000). Its lookups of 50,000 accounts' series
#: and last samples read pages the system caches anyway: a fourth of the default keeps about 2 MB
#: less resident for a little more CPU in the writer's thread.
WRITER_CACHE_KIB = 512
ACCOUNT_FIELDS = ("balance", "equity", "margin_level", "profit")
LEAD_FIELDS = ("leads", "registrations", "transactions")
BAR_FIELDS = ("open", "high", "low", "close")
SAMPLE_TABLES = ("account_samples", "lead_samples")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY, connection TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, label TEXT,
    UNIQUE(connection, kind, key));
CREATE TABLE IF NOT EXISTS account_samples(
    series INTEGER NOT NULL, t INTEGER NOT NULL, balance TEXT, equity TEXT, margin_level TEXT, profit TEXT,
    PRIMARY KEY(series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lead_samples(
    series INTEGER NOT NULL, t INTEGER NOT NULL, leads INTEGER, registrations INTEGER, transactions INTEGER,
    PRIMARY KEY(series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bars(
    series INTEGER NOT NULL, t INTEGER NOT NULL, open TEXT NOT NULL, high TEXT NOT NULL, low TEXT NOT NULL,
    close TEXT NOT NULL, PRIMARY KEY(series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
    t REAL NOT NULL, connection TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events(t);
CREATE TABLE IF NOT EXISTS alerts(
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, kind TEXT NOT NULL, connection TEXT NOT NULL,
    subject TEXT NOT NULL, threshold TEXT NOT NULL, figure TEXT, unit TEXT NOT NULL,
    fired_at REAL NOT NULL, cleared_at REAL, clear_figure TEXT);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts(fired_at);
"""


class HistoryError(Exception):
    """The database cannot be used: damaged, locked, unwritable. The message says which and why."""


def describe(path: Path, exc: BaseException) -> str:
    """One line for a failed database, naming the file and what to do."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return f"history database {path} is locked by another program ({text})"
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return f"history database {path} is damaged ({text}): move it away to start a new one"
    return f"history database {path} cannot be used ({type(exc).__name__}: {text})"


def dec(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a series: `t` (Unix seconds) and the figures by name."""

    t: float
    values: dict[str, Any]


class HistoryDB:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> "HistoryDB":
        """Open (creating it and its folder unless `readonly`). Raises HistoryError."""
        try:
            if readonly:
                if not path.exists():
                    raise HistoryError(f"no history database at {path} (ibmon writes it while the dashboard runs)")
                connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db = cls(connection, path)
            if not readonly:
                db._create()
            else:
                connection.execute("SELECT count(*) FROM series").fetchone()  # a damaged file fails here
            return db
        except HistoryError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(describe(path, exc)) from None

    def _create(self) -> None:
        db = self.db
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL mode (journal mode {mode})")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        db.executescript(SCHEMA)
        version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None:
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif version[0] != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {version[0]}, this ibmon reads {SCHEMA_VERSION}")

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    # -- writing (the writer's thread only) ------------------------------------------------------

    def series_id(self, connection: str, kind: str, key: str, label: str | None = None) -> int:
        """The id of a series, added on its first use; a `label` (an account's number) replaces the
        one kept when it differs. Ids live in the file only: 50,000 accounts cost no memory."""
        found = self.db.execute("SELECT id, label FROM series WHERE connection = ? AND kind = ? AND key = ?",
                                (connection, kind, key)).fetchone()
        if found is None:
            return self.db.execute("INSERT INTO series(connection, kind, key, label) VALUES (?, ?, ?, ?)",
                                   (connection, kind, key, label)).lastrowid  # type: ignore[return-value]
        series, kept = found
        if label is not None and label != kept:
            self.db.execute("UPDATE series SET label = ? WHERE id = ?", (label, series))
        return series

    def last_account_values(self, series: int) -> tuple[str | None, ...] | None:
        """The figures of the series' latest account sample, as written, or None."""
        return self.db.execute(f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM account_samples WHERE series = ? "
                               "ORDER BY t DESC LIMIT 1", (series,)).fetchone()

    def add_account_samples(self, rows: Iterable[tuple[int, int, str | None, str | None, str | None, str | None]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO account_samples VALUES (?, ?, ?, ?, ?, ?)", rows)

    def add_lead_samples(self, rows: Iterable[tuple[int, int, int, int, int]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO lead_samples VALUES (?, ?, ?, ?, ?)", rows)

    def put_bars(self, rows: Iterable[tuple[int, int, str, str, str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?, ?)", rows)

    def add_events(self, rows: Iterable[tuple[float, str, str, str, str]]) -> None:
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)

    def put_alert(self, row: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO alerts VALUES (:id, :rule, :kind, :connection, :subject, :threshold, :figure, "
            ":unit, :fired_at, :cleared_at, :clear_figure)", row)

    def clear_open_alerts(self, at: float) -> int:
        """Alerts a previous run left firing end when it ended (their condition is not watched any more)."""
        return self.db.execute("UPDATE alerts SET cleared_at = ? WHERE cleared_at IS NULL", (at,)).rowcount

    def compact(self, now: float) -> None:
        """Thin out samples by age, merge old minute bars, in one transaction (resumes where it left off)."""
        with self.transaction():
            for age, bucket in TIERS:
                end = int((now - age) // bucket * bucket)
                start = self._marker(f"thinned_{bucket}")
                if end <= start:
                    continue
                for table in SAMPLE_TABLES:
                    # drop a sample when a later one of its series falls in the same bucket
                    self.db.execute(
                        f"DELETE FROM {table} AS s WHERE t >= :start AND t < :end AND EXISTS ("
                        f"SELECT 1 FROM {table} AS later WHERE later.series = s.series AND later.t > s.t "
                        f"AND later.t < (s.t / :bucket + 1) * :bucket)",
                        {"start": start, "end": end, "bucket": bucket})
                self._set_marker(f"thinned_{bucket}", end)
            end = int((now - BAR_MERGE_AGE) // HOUR * HOUR)
            start = self._marker("bars_merged")
            if end > start:
                self._merge_bars(start, end)
                self._set_marker("bars_merged", end)

    def _merge_bars(self, start: int, end: int) -> None:
        rows = self.db.execute("SELECT series, t, open, high, low, close FROM bars WHERE t >= ? AND t < ? "
                               "ORDER BY series, t", (start, end)).fetchall()
        merged: dict[tuple[int, int], list[Any]] = {}
        for series, t, open_, high, low, close in rows:
            hour = t // HOUR * HOUR
            bar = merged.get((series, hour))
            if bar is None:
                merged[(series, hour)] = [open_, high, low, close]
                continue
            if Decimal(high) > Decimal(bar[1]):
                bar[1] = high
            if Decimal(low) < Decimal(bar[2]):
                bar[2] = low
            bar[3] = close
        self.db.execute("DELETE FROM bars WHERE t >= ? AND t < ?", (start, end))
        self.put_bars((series, hour, *bar) for (series, hour), bar in merged.items())

    def expire(self, now: float, retention_days: int) -> int:
        """Delete what is older than the retention; return the rows deleted."""
        cutoff = now - retention_days * DAY
        deleted = 0
        with self.transaction():
            for table in ("account_samples", "lead_samples", "bars"):
                deleted += self.db.execute(f"DELETE FROM {table} WHERE t < ?", (int(cutoff),)).rowcount
            deleted += self.db.execute("DELETE FROM events WHERE t < ?", (cutoff,)).rowcount
            deleted += self.db.execute("DELETE FROM alerts WHERE coalesce(cleared_at, fired_at) < ?",
                                       (cutoff,)).rowcount
        if deleted:
            self.db.execute("PRAGMA incremental_vacuum")
        return deleted

    def transaction(self) -> "_Transaction":
        return _Transaction(self.db)

    def _marker(self, name: str) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _set_marker(self, name: str, value: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, str(value)))

    # -- reading ---------------------------------------------------------------------------------

    def find_series(self, connection: str, kind: str, key: str) -> list[int]:
        """Series of `connection` of `kind` whose key (or label: an account's number) is `key`."""
        rows = self.db.execute("SELECT id FROM series WHERE connection = ? AND kind = ? AND (key = ? OR label = ?)",
                               (connection, kind, key, key)).fetchall()
        return [row[0] for row in rows]

    def find_windows(self, connection: str) -> list[str]:
        """The lead windows recorded for `connection`, the narrowest ("today"-like, fewest days) first."""
        rows = self.db.execute("SELECT key FROM series WHERE connection = ? AND kind = 'leads'", (connection,))
        windows = [row[0] for row in rows]
        return sorted(windows, key=lambda w: (w != "today", len(w), w))

    def connections(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT connection FROM series ORDER BY 1")]

    def samples(self, kind: str, series: Sequence[int], since: float, until: float | None = None) -> list[Sample]:
        """The points of `series` (an "account", "symbol" or "leads" series) from `since` on, oldest first."""
        table, fields, convert = _READERS[kind]
        marks = ",".join("?" * len(series))
        query = (f"SELECT t, {', '.join(fields)} FROM {table} WHERE series IN ({marks}) AND t >= ?"
                 + (" AND t <= ?" if until is not None else "") + " ORDER BY t")
        args: list[Any] = [*series, int(since)] + ([int(until)] if until is not None else [])
        return [Sample(row[0], {name: convert(value) for name, value in zip(fields, row[1:])})
                for row in self.db.execute(query, args)]

    def recent_trends(self, points: int) -> dict[tuple[str, str, str], list[Decimal]]:
        """The last `points` values of every series, for the dashboard's trend columns: an account's
        equity (else balance) as ("equity", id), a symbol's closes as ("mid", symbol)."""
        trends: dict[tuple[str, str, str], list[Decimal]] = {}
        queries = (
            ("equity", "account", "SELECT coalesce(equity, balance) FROM account_samples WHERE series = ? "
                                  "AND coalesce(equity, balance) IS NOT NULL ORDER BY t DESC LIMIT ?"),
            ("mid", "symbol", "SELECT close FROM bars WHERE series = ? ORDER BY t DESC LIMIT ?"),
        )
        for name, kind, query in queries:
            for series, connection, key in self.db.execute(
                    "SELECT id, connection, key FROM series WHERE kind = ?", (kind,)).fetchall():
                values = [v for (raw,) in self.db.execute(query, (series, points)) if (v := dec(raw)) is not None]
                if values:
                    trends[(connection, name, key)] = values[::-1]
        return trends

    def day_baselines(self, day_start: float) -> dict[tuple[str, str], Decimal]:
        """Per (connection, account id): its equity (else balance) at the start of the day: the last
        sample before `day_start`, else the first of the day."""
        baselines: dict[tuple[str, str], Decimal] = {}
        for series, connection, key in self.db.execute(
                "SELECT id, connection, key FROM series WHERE kind = 'account'").fetchall():
            row = self.db.execute(
                "SELECT coalesce(equity, balance) FROM account_samples WHERE series = ? AND t < ? "
                "AND coalesce(equity, balance) IS NOT NULL ORDER BY t DESC LIMIT 1", (series, int(day_start))).fetchone()
            row = row or self.db.execute(
                "SELECT coalesce(equity, balance) FROM account_samples WHERE series = ? AND t >= ? "
                "AND coalesce(equity, balance) IS NOT NULL ORDER BY t LIMIT 1", (series, int(day_start))).fetchone()
            if row and (value := dec(row[0])) is not None:
                baselines[(connection, key)] = value
        return baselines

    def open_positions(self) -> set[tuple[str, str, str]]:
        """(connection, account, position id) opened and not closed according to the events."""
        state: dict[tuple[str, str, str], bool] = {}
        for connection, kind, key in self.db.execute(
                "SELECT connection, kind, key FROM events WHERE kind IN ('position_opened', 'position_closed') "
                "ORDER BY t"):
            account, _, position = key.partition("/")
            state[(connection, account, position)] = kind == "position_opened"
        return {ident for ident, is_open in state.items() if is_open}

    def alerts(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest alerts, newest first, each as written (figures as decimal text)."""
        self.db.row_factory = sqlite3.Row
        try:
            rows = self.db.execute("SELECT * FROM alerts ORDER BY fired_at DESC LIMIT ?", (limit,)).fetchall()
        finally:
            self.db.row_factory = None
        return [dict(row) for row in rows]

    def events(self, connection: str | None, since: float, kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        query = "SELECT t, connection, kind, key, data FROM events WHERE t >= ?"
        args: list[Any] = [since]
        if connection is not None:
            query += " AND connection = ?"
            args.append(connection)
        if kinds:
            query += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        return [{"t": t, "connection": c, "kind": k, "key": key, **_json(data)}
                for t, c, k, key, data in self.db.execute(query + " ORDER BY t", args)]


def _json(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


_READERS = {
    "account": ("account_samples", ACCOUNT_FIELDS, dec),
    "leads": ("lead_samples", LEAD_FIELDS, _int),
    "symbol": ("bars", BAR_FIELDS, dec),
}


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an error): the connection is in autocommit mode."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: Any, _value: Any, _tb: Any) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def read_series(path: Path, connection: str, kind: str, key: str, since: float,
                until: float | None = None) -> list[Sample]:
    """The points of one account ("account", id or number), symbol ("symbol", name) or lead window
    ("leads", window) from `since` on, read from the file at `path`. Raises HistoryError."""
    db = HistoryDB.open(path, readonly=True)
    try:
        series = db.find_series(connection, kind, key)
        return db.samples(kind, series, since, until) if series else []
    except sqlite3.Error as exc:
        raise HistoryError(describe(path, exc)) from None
    finally:
        db.close()
