"""History and alerts in the dashboard at 80x24: two runs on one database, a damaged database,
the history screen, the alert badge and the alerts screen with acknowledgement."""

from __future__ import annotations

import time
from decimal import Decimal

from ibmon.alerting import AlertMonitor
from ibmon.alerts import parse_rules
from ibmon.app import IbmonApp
from ibmon.history import History, HistoryDB
from ibmon.model import Account
from ibmon.screens.alerts import AlertsScreen
from ibmon.screens.history import HistoryScreen
from ibmon.widgets.line_chart import BRAILLE

from ui_support import load_host, make_runtime, notifications, screen_text, until

SIZE = (80, 24)


def account(equity: str, margin_level: str | None = None) -> Account:
    return Account(id="A1", name="7001", balance=Decimal("1000.00"), currency="USD", equity=Decimal(equity),
                   margin_level=None if margin_level is None else Decimal(margin_level))


class Clock:
    """Wall time that the test moves on (samples are kept one per second at most)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def app_on(path, rules=(), clock=None):
    runtime = make_runtime()
    history = History(runtime.store, path, 90, interval=0.05, clock=clock or time.time)
    problems: list[str] = []
    monitor = AlertMonitor(parse_rules(list(rules), [], problems), runtime.store, interval=0.05, history=history)
    assert problems == []
    return IbmonApp(runtime, load_host(), history=history, alerts=monitor), runtime.store


def trend_cell(app) -> str:
    return app.dashboard.accounts.get_cells(("Broker", "A1"))[-1][0]


async def test_two_runs_on_one_database_keep_history_for_trends_and_the_days_change(tmp_path):
    path = tmp_path / "history.sqlite3"
    clock = Clock()
    app, store = app_on(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        for equity in ("1000", "1010", "1020"):
            store.set_account("Broker", account(equity))
            await pilot.pause(0.1)
            clock.now += 2
        await until(pilot, lambda: app.history.writer.flush(1) and app.history.writer.written >= 3)
    db = HistoryDB.open(path, readonly=True)
    [series] = db.find_series("Broker", "account", "7001")  # found by the number the user knows
    assert [s.values["equity"] for s in db.samples("account", [series], 0)] == [Decimal(v) for v in
                                                                                 ("1000", "1010", "1020")]
    db.close()

    app, store = app_on(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.history.version > 0)  # history read back at start
        store.set_account("Broker", account("1050"))
        await until(pilot, lambda: app.dashboard.accounts.get_cells(("Broker", "A1")) is not None)
        await until(pilot, lambda: len(trend_cell(app)) == 4)  # three points of the first run, one of this
        row = app.dashboard.accounts.get_record(("Broker", "A1"))
        assert row.day_change == Decimal("50")  # since the day's first sample, from the first run
        assert "+50.00" in screen_text(app) or "50.00" in screen_text(app)


async def test_a_damaged_database_is_reported_once_and_the_dashboard_runs_on(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, only text " * 200)
    app, store = app_on(path, [{"kind": "margin_level_below", "threshold": 100, "name": "Floor"}])
    async with app.run_test(size=SIZE) as pilot:
        store.set_account("Broker", account("1000", "150"))
        await until(pilot, lambda: any("damaged" in n for n in notifications(app)))
        for equity in ("1001", "1002"):
            store.set_account("Broker", account(equity, "90"))
            await pilot.pause(0.1)
        await until(pilot, lambda: "1,002.00" in screen_text(app))
        await until(pilot, lambda: app.alerts.active())  # alerts go on without history
        assert sum("damaged" in n for n in notifications(app)) == 1
        assert "runs on without history" in next(n for n in notifications(app) if "damaged" in n)
    assert path.read_bytes().startswith(b"this is not a database")  # never overwritten


async def test_the_history_screen_charts_the_selected_account_and_switches_range_and_figure(tmp_path):
    path = tmp_path / "history.sqlite3"
    clock = Clock()
    app, store = app_on(path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        for equity in ("1000", "1040", "1010", "1060"):
            store.set_account("Broker", account(equity))
            await pilot.pause(0.1)
            clock.now += 2
        await until(pilot, lambda: app.history.writer.flush(1) and app.history.writer.written >= 4)
        app.dashboard.accounts.focus()
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await until(pilot, lambda: "points" in screen_text(app))
        text = screen_text(app)
        assert "History · equity · account 7001 · Broker" in text
        assert any(BRAILLE < ord(ch) <= BRAILLE + 0xFF for ch in text)
        assert "first 1,000 (" in text and "last 1,060 · change +60" in text and "high 1,060 · 4 points" in text
        await pilot.press("f")  # the next figure: margin level (the account reports none)
        await until(pilot, lambda: "No margin level recorded in the last 1h" in screen_text(app))
        await pilot.press("4")
        await until(pilot, lambda: "▶4 30d" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HistoryScreen))


async def test_the_alert_badge_and_screen_fit_80x24_and_acknowledge_by_key(tmp_path):
    app, store = app_on(tmp_path / "history.sqlite3",
                        [{"name": "Floor", "kind": "margin_level_below", "threshold": 100}])
    async with app.run_test(size=SIZE) as pilot:
        store.set_account("Broker", account("1000", "150"))
        await pilot.pause(0.2)
        assert "alert" not in screen_text(app)
        store.set_account("Broker", account("1000", "80.5"))
        await until(pilot, lambda: "⚠ 1 alert (1 new)" in screen_text(app), timeout=5)
        line = next(line for line in screen_text(app).splitlines() if "⚠" in line)
        assert "!: list" in line and "Floor: Broker 7001 at 80.50 %" in line and len(line) <= 80
        assert any("Alert: Floor" in n for n in notifications(app))
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        await until(pilot, lambda: "FIRING" in screen_text(app))
        assert "Alerts: 1 active, 1 new, 0 cleared" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: "Alerts: 1 active, 0 new" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: "⚠ 1 alert ·" in screen_text(app))
        store.set_account("Broker", account("1000", "104"))  # inside the hysteresis band: still firing
        await pilot.pause(0.3)
        assert app.alerts.active()
        store.set_account("Broker", account("1000", "106"))
        await until(pilot, lambda: "⚠" not in screen_text(app))
        assert any("Cleared: Floor" in n for n in notifications(app))
    db = HistoryDB.open(tmp_path / "history.sqlite3", readonly=True)
    [row] = db.alerts()
    assert (row["rule"], row["figure"], row["cleared_at"] is not None) == ("Floor", "104", True)
    db.close()
