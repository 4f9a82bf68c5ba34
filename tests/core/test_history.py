"""The history file on a fake clock: thinning by age, one-minute bars from ticks, retention, the
writer's batches, and a damaged or locked file reported once."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest

from ibmon.history import HistoryDB, HistoryError
from ibmon.history.db import DAY, HOUR, read_series
from ibmon.history.writer import BATCH_ITEMS, HistoryWriter
from ibmon.model import Account, LeadCounts

NOW = 1_800_000_017  # a moment on the fake clock, 17 s past a minute


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def writer_on(path, clock, retention_days=90, problems=None):
    writer = HistoryWriter(path, retention_days, clock=clock,
                           on_problem=(problems.append if problems is not None else lambda m: None))
    writer.start()
    return writer


def account(equity: int | str, n: int = 1) -> Account:
    return Account(id=f"id-{n}", name=f"{7000 + n}", balance=Decimal("1000.50"), currency="USD",
                   equity=Decimal(equity), margin_level=Decimal("250.5"), profit=Decimal("-3.25"))


def test_samples_thin_out_with_age_every_change_for_an_hour_a_minute_for_a_day_an_hour_beyond(tmp_path):
    db = HistoryDB.open(tmp_path / "h.sqlite3")
    series = db.series_id("Broker", "account", "id-1", "7001")
    start = NOW - 3 * DAY
    with db.transaction():
        db.add_account_samples((series, t, "1", str(t), None, None) for t in range(start, NOW + 1, 10))
    db.compact(NOW)
    times = [s.t for s in db.samples("account", [series], 0)]
    hour_edge = (NOW - HOUR) // 60 * 60
    day_edge = (NOW - DAY) // HOUR * HOUR
    recent = [t for t in times if t >= hour_edge]
    day = [t for t in times if day_edge <= t < hour_edge]
    old = [t for t in times if t < day_edge]
    written = range(start, NOW + 1, 10)
    assert recent == [t for t in written if t >= hour_edge]  # every change
    assert len({t // 60 for t in day}) == len(day) == (hour_edge - day_edge) // 60  # one a minute
    assert day == [max(t for t in written if t // 60 == m) for m in sorted({t // 60 for t in day})]  # the last of each
    assert len({t // HOUR for t in old}) == len(old) and len(old) in (48, 49)  # one an hour
    # each kept sample is the last of its bucket, with its own figures
    kept = db.samples("account", [series], 0, day_edge - 1)[-1]
    assert kept.values["equity"] == Decimal(kept.t) and kept.t == max(t for t in written if t < day_edge)

    # later passes go on from where the last one stopped and keep their promises
    db.compact(NOW + 2 * HOUR)
    times = [s.t for s in db.samples("account", [series], 0)]
    hour_edge = (NOW + 2 * HOUR - HOUR) // 60 * 60
    assert len({t // 60 for t in times if t < hour_edge}) == len([t for t in times if t < hour_edge])
    db.close()


def test_ticks_make_one_minute_bars_merged_into_hour_bars_after_a_day(tmp_path):
    clock = Clock(NOW - 2 * DAY)
    path = tmp_path / "h.sqlite3"
    writer = writer_on(path, clock)
    minute = int(clock.now) // 60 * 60
    prices = ["1.10", "1.30", "1.05", "1.20"]  # open, high, low, close of the first minute
    for i, price in enumerate(prices):
        clock.now = minute + 10 * i
        writer.put(("tick", clock.now, "FX", "EURUSD", Decimal(price), Decimal(price)))
    clock.now = minute + 60  # the next minute: a new bar
    writer.put(("tick", clock.now, "FX", "EURUSD", Decimal("1.40"), Decimal("1.42")))
    assert writer.flush()
    bars = read_series(path, "FX", "symbol", "EURUSD", 0)
    assert [(b.t, [str(b.values[f]) for f in ("open", "high", "low", "close")]) for b in bars] == [
        (minute, ["1.10", "1.30", "1.05", "1.20"]), (minute + 60, ["1.41", "1.41", "1.41", "1.41"])]
    writer.stop()

    db = HistoryDB.open(path)
    db.compact(NOW)  # both minutes are more than a day old: one hour bar
    [bar] = db.samples("symbol", db.find_series("FX", "symbol", "EURUSD"), 0)
    assert bar.t == minute // HOUR * HOUR
    assert [str(bar.values[f]) for f in ("open", "high", "low", "close")] == ["1.10", "1.41", "1.05", "1.41"]
    db.close()


def test_retention_deletes_what_is_older_than_the_configured_days(tmp_path):
    clock = Clock(NOW - 10 * DAY)
    path = tmp_path / "h.sqlite3"
    writer = writer_on(path, clock, retention_days=7)
    writer.put(("account", clock.now, "Broker", account(1000)))
    writer.put(("event", clock.now, "Broker", "deposit", "today/USD", {"currency": "USD", "amount": Decimal("5")}))
    writer.put(("leads", clock.now, "CRM", LeadCounts("today", "2027-01-01", "2027-01-01", 5, 2, 1)))
    assert writer.flush()
    db = HistoryDB.open(path, readonly=True)
    assert len(db.samples("account", db.find_series("Broker", "account", "7001"), 0)) == 1
    assert len(db.events(None, 0)) == 1
    clock.now = NOW - 2 * DAY  # eight days on: the writer's next pass expires what is older than seven
    writer.put(("account", clock.now, "Broker", account(1100)))
    assert writer.flush()
    writer.stop()
    [left] = db.samples("account", db.find_series("Broker", "account", "7001"), 0)
    assert left.values["equity"] == Decimal(1100) and db.events(None, 0) == []
    assert db.samples("leads", db.find_series("CRM", "leads", "today"), 0) == []
    db.close()
    db = HistoryDB.open(path)
    assert db.expire(NOW + 6 * DAY, 7) == 1  # and the last one a week after it was written
    db.close()


def test_the_writer_keeps_changes_only_and_money_exactly(tmp_path):
    clock = Clock(NOW)
    path = tmp_path / "h.sqlite3"
    writer = writer_on(path, clock)
    for equity in ("1000.10", "1000.10", "1000.1000", "999.99"):
        clock.now += 1
        writer.put(("account", clock.now, "Broker", account(equity)))
    assert writer.flush()
    writer.stop()
    samples = read_series(path, "Broker", "account", "id-1", 0)
    assert [str(s.values["equity"]) for s in samples] == ["1000.10", "1000.1000", "999.99"]  # digits as sent
    assert samples[0].values == {"balance": Decimal("1000.50"), "equity": Decimal("1000.10"),
                                 "margin_level": Decimal("250.5"), "profit": Decimal("-3.25")}


def test_series_and_the_last_sample_are_read_from_the_file_across_a_restart(tmp_path):
    clock = Clock(NOW)
    path = tmp_path / "h.sqlite3"
    writer = writer_on(path, clock)
    writer.put(("account", clock.now, "Broker", account("1000.10")))
    writer.put(("tick", clock.now, "FX", "EURUSD", Decimal("1.10"), Decimal("1.10")))
    assert writer.flush()
    writer.stop()

    clock.now += 60
    writer = writer_on(path, clock)  # a new run: the same figures are not written again
    writer.put(("account", clock.now, "Broker", account("1000.10")))
    clock.now += 1
    writer.put(("account", clock.now, "Broker", account("1000.20")))
    writer.put(("tick", clock.now, "FX", "EURUSD", Decimal("1.20"), Decimal("1.20")))
    assert writer.flush()
    writer.stop()
    db = HistoryDB.open(path, readonly=True)
    assert db.db.execute("SELECT kind, key, label FROM series ORDER BY id").fetchall() == [
        ("account", "id-1", "7001"), ("symbol", "EURUSD", None)]  # one series each, ids kept
    samples = db.samples("account", db.find_series("Broker", "account", "id-1"), 0)
    assert [(s.t, str(s.values["equity"])) for s in samples] == [(NOW, "1000.10"), (NOW + 61, "1000.20")]
    assert len(db.samples("symbol", db.find_series("FX", "symbol", "EURUSD"), 0)) == 2
    db.close()


def test_an_accounts_new_number_finds_its_series(tmp_path):
    path = tmp_path / "h.sqlite3"
    writer = writer_on(path, Clock(NOW))
    writer.put(("account", NOW, "Broker", account("1000.10")))
    writer.put(("account", NOW + 1, "Broker", Account(id="id-1", name="8001", balance=Decimal("1000.50"),
                                                      equity=Decimal("1000.20"))))
    assert writer.flush()
    writer.stop()
    assert [str(s.values["equity"]) for s in read_series(path, "Broker", "account", "8001", 0)] == [
        "1000.10", "1000.20"]
    assert read_series(path, "Broker", "account", "7001", 0) == []


def test_a_large_backlog_is_written_in_bounded_batches_and_nothing_is_lost(tmp_path):
    # A first poll of 50,000 accounts queues them all at once: one transaction per BATCH_ITEMS.
    path = tmp_path / "h.sqlite3"
    writer = HistoryWriter(path, 90, clock=Clock(NOW), on_problem=lambda m: None)
    sizes = []
    write = writer._write
    writer._write = lambda db, batch: (sizes.append(len(batch)), write(db, batch))  # and one flush mark
    count = 2 * BATCH_ITEMS + 10
    for n in range(count):
        writer.put(("account", NOW, "Broker", account("1000.10", n)))
    writer.start()
    assert writer.flush()
    writer.stop()
    assert sum(sizes) == count + 1 and max(sizes) <= BATCH_ITEMS and len(sizes) >= 3
    assert [s.values["equity"] for s in read_series(path, "Broker", "account", f"id-{count - 1}", 0)] == [
        Decimal("1000.10")]
    db = HistoryDB.open(path, readonly=True)
    assert db.db.execute("SELECT count(*), count(DISTINCT key) FROM series").fetchone() == (count, count)
    assert db.db.execute("SELECT count(*), count(DISTINCT series) FROM account_samples").fetchone() == (count, count)
    db.close()


def test_a_damaged_file_is_reported_once_and_nothing_is_kept_in_memory(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"garbage " * 1000)
    problems: list[str] = []
    writer = writer_on(path, Clock(NOW), problems=problems)
    writer._thread.join(5)
    for n in range(100):
        writer.put(("account", NOW, "Broker", account(n)))
    assert len(problems) == 1 and "damaged" in problems[0] and str(path) in problems[0]
    assert writer.dropped == 100 and writer.queue.qsize() == 0
    with pytest.raises(HistoryError, match="damaged"):
        read_series(path, "Broker", "account", "id-1", 0)


def test_a_file_locked_by_another_program_is_reported(tmp_path):
    path = tmp_path / "h.sqlite3"
    HistoryDB.open(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    problems: list[str] = []
    reported = threading.Event()
    writer = HistoryWriter(path, 90, clock=Clock(NOW), on_problem=lambda m: (problems.append(m), reported.set()))
    writer.start()
    assert reported.wait(15)
    assert len(problems) == 1 and "locked" in problems[0]
    other.close()
