"""The recorder reads the store through its watch API only: positions opened and closed, deposits
and withdrawals, lead counts per poll, and the day's change rolling over at midnight (fake clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from ibmon.history import History, HistoryDB
from ibmon.model import Account, LeadCounts, Position
from ibmon.store import Store

UTC = dt.timezone.utc
#: 23:59:00 UTC on a fixed day.
EVENING = dt.datetime(2027, 3, 1, 23, 59, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def started(store, path, clock) -> History:
    history = History(store, path, 90, clock=clock, zone=UTC, interval=3600)  # recorded by hand below
    history.start(lambda message: None)
    for _ in range(200):
        if history.version:
            break
        await asyncio.sleep(0.01)
    return history


async def test_positions_opened_and_closed_deposits_and_lead_counts_become_history(tmp_path):
    store, clock = Store(), Clock(EVENING)
    history = await started(store, tmp_path / "h.sqlite3", clock)
    position = Position("A1", "P1", "EURUSD", "buy", Decimal("0.10"), open_price=Decimal("1.0850"),
                        profit=Decimal("-2.50"), currency="USD")
    store.set_position("Broker", position)
    amounts = (("USD", "deposits", Decimal("100")), ("USD", "withdrawals", Decimal("0")))
    store.set_leads("CRM", LeadCounts("today", "2027-03-01", "2027-03-01", 5, 1, 1, amounts))
    history.record()
    clock.now += 5
    store.set_position("Broker", Position(**{**_fields(position), "profit": Decimal("4.00")}))  # an update only
    store.set_leads("CRM", LeadCounts("today", "2027-03-01", "2027-03-01", 7, 2, 2,
                                      (("USD", "deposits", Decimal("350.50")), ("USD", "withdrawals", Decimal("20")))))
    history.record()
    clock.now += 5
    store.remove_position("Broker", "A1", "P1")
    history.record()
    await history.stop()

    db = HistoryDB.open(tmp_path / "h.sqlite3", readonly=True)
    events = [(e["kind"], e["key"], e.get("amount") or e.get("profit")) for e in db.events(None, 0)]
    assert events == [("position_opened", "A1/P1", "-2.50"), ("deposit", "today/USD", "250.50"),
                      ("withdrawal", "today/USD", "20"), ("position_closed", "A1/P1", "4.00")]
    leads = db.samples("leads", db.find_series("CRM", "leads", "today"), 0)
    assert [(s.values["leads"], s.values["registrations"]) for s in leads] == [(5, 1), (7, 2)]
    assert db.open_positions() == set()
    db.close()


async def test_the_days_change_starts_from_the_last_figure_before_midnight(tmp_path):
    store, clock = Store(), Clock(EVENING)
    history = await started(store, tmp_path / "h.sqlite3", clock)

    def equity(value: str) -> Account:
        return Account("A1", Decimal("1000"), "USD", equity=Decimal(value))

    store.set_account("Broker", equity("1000"))
    history.record()
    clock.now += 1  # samples are kept one a second at most
    store.set_account("Broker", equity("1030"))
    history.record()
    assert history.day_change("Broker", equity("1030")) == Decimal("30")  # since its first figure of the day
    clock.now += 120  # past midnight
    store.set_account("Broker", equity("1045"))
    version = history.version
    history.record()
    assert history.version > version  # the panel shows its rows again
    assert history.day_change("Broker", equity("1045")) == Decimal("15")  # since 1030, the day's start
    await history.stop()

    # the next run of the same day reads the start of the day from the file
    clock.now += 3600
    history = await started(Store(), tmp_path / "h.sqlite3", clock)
    assert history.day_change("Broker", equity("1100")) == Decimal("70")
    assert history.trend("Broker", "equity", "A1", [Decimal("1100")]) == [Decimal(v) for v in
                                                                          ("1000", "1030", "1045", "1100")]
    await history.stop()


async def test_an_account_starts_its_day_at_its_first_figure_and_is_not_shown_again_for_it(tmp_path):
    store, clock = Store(), Clock(EVENING)
    history = await started(store, tmp_path / "h.sqlite3", clock)
    assert history.changed_accounts() is None  # the file was read: every row once
    first = Account("A1", Decimal("1000"), "USD", equity=Decimal("1000.00"))
    store.set_account("Broker", first)
    assert history.day_change("Broker", first) == 0  # shown before the recorder came by: its day starts here
    history.record()
    assert history.changed_accounts() == set()  # nothing to show again
    clock.now += 1
    moved = Account("A1", Decimal("1000"), "USD", equity=Decimal("1012.50"))
    store.set_account("Broker", moved)
    assert history.day_change("Broker", moved) == Decimal("12.50")
    await history.stop()
    assert history.day_change("Broker", Account("A2", Decimal("5"))) is None  # nothing records it any more


def _fields(position: Position) -> dict:
    return {name: getattr(position, name) for name in position.__dataclass_fields__}
