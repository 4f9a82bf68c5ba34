"""`ibmon history`, `ibmon alerts`, `ibmon config check` on [[alerts]], and the snapshot's alerts."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ibmon.alerts import AlertEngine, parse_rules
from ibmon.cli import main
from ibmon.history.writer import HistoryWriter
from ibmon.model import Account, LeadCounts
from ibmon.store import Store

SUPPORT = Path(__file__).parent / "support"


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("IBMON_PLUGINS", "static_book")
    path = tmp_path / "config.toml"
    path.write_text(f'history_path = "{tmp_path / "h.sqlite3"}"\nplugin_dirs = ["{SUPPORT}"]\n'
                    '[[connections]]\nname = "Static"\nprovider = "static_book"\n')
    monkeypatch.setenv("IBMON_CONFIG", str(path))
    return path


def record(path: Path) -> str:
    """A few minutes of one account, a funnel and an alert, written as the dashboard writes them."""
    now = time.time()
    writer = HistoryWriter(path, 90, clock=lambda: now)
    writer.start()
    for minutes, equity in ((30, "1000.10"), (20, "990"), (10, "1012.5")):
        writer.put(("account", now - minutes * 60, "Static", Account("A0", Decimal("1000.25"), "USD",
                                                                     equity=Decimal(equity), name="7000")))
    writer.put(("leads", now - 60, "Static", LeadCounts("today", "2027-01-01", "2027-01-01", 12, 3, 1)))
    writer.put(("tick", now - 120, "Static", "TK00", Decimal("100"), Decimal("100.5")))
    problems: list[str] = []
    rules = parse_rules([{"name": "Floor", "kind": "balance_below", "threshold": 5000}], [], problems)
    store = Store()
    store.set_account("Static", Account("A0", Decimal("1000.25"), "USD", name="7000"))
    [alert] = AlertEngine(rules, store).evaluate(now - 30)
    writer.put(("alert", alert.row()))
    assert writer.flush()
    writer.stop()
    return alert.id


def test_history_prints_an_accounts_series_for_scripts(config, tmp_path, capsys):
    record(tmp_path / "h.sqlite3")
    assert main(["history", "--json", "--connection", "Static", "--account", "7000", "--since", "1h"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["connection"], document["kind"], document["key"]) == ("Static", "account", "7000")
    assert [p["equity"] for p in document["points"]] == ["1000.10", "990", "1012.5"]  # exact decimal strings
    assert document["points"][0]["balance"] == "1000.25" and document["points"][0]["time"].endswith("Z")
    assert main(["history", "--json", "--connection", "Static", "--account", "7000", "--since", "15m"]) == 0
    assert [p["equity"] for p in json.loads(capsys.readouterr().out)["points"]] == ["1012.5"]
    assert main(["history", "--json", "--connection", "Static", "--leads"]) == 0
    assert [(p["leads"], p["registrations"]) for p in json.loads(capsys.readouterr().out)["points"]] == [(12, 3)]
    assert main(["history", "--connection", "Static", "--symbol", "TK00"]) == 0
    assert "close=100.25" in capsys.readouterr().out


def test_history_says_what_is_missing_in_one_line(config, tmp_path, capsys):
    assert main(["history", "--connection", "Static", "--account", "7000"]) == 1
    assert "no history database at" in capsys.readouterr().err
    record(tmp_path / "h.sqlite3")
    assert main(["history", "--connection", "Other", "--account", "7000"]) == 1
    assert capsys.readouterr().err.strip() == ("ibmon: no account '7000' recorded for connection 'Other' "
                                               "(connections in history: Static)")
    assert main(["history", "--connection", "Static", "--account", "7000", "--since", "soon"]) == 1
    assert "--since takes an age" in capsys.readouterr().err
    assert main(["history", "--account", "7000"]) == 1
    assert "history needs --connection NAME" in capsys.readouterr().err
    config.write_text(config.read_text().replace("history_path", "history = false\n# history_path"))
    assert main(["alerts"]) == 1
    assert "history is off" in capsys.readouterr().err


def test_alerts_lists_active_and_recent_alerts_from_history(config, tmp_path, capsys):
    alert_id = record(tmp_path / "h.sqlite3")
    assert main(["alerts", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    [active] = document["active"]
    assert document["recent"] == []
    assert (active["id"], active["rule"], active["figure"], active["threshold"], active["state"]) == (
        alert_id, "Floor", "1000.25", "5000", "active")
    assert main(["alerts"]) == 0
    assert "ACTIVE" in capsys.readouterr().out


def test_config_check_validates_alert_rules(config, capsys):
    text = config.read_text()
    config.write_text(text + '[[alerts]]\nkind = "margin_level_below"\nthreshold = 150\n'
                             '[[alerts]]\nname = "Jump"\nkind = "price_move"\nthreshold = 1\nwindow = "5m"\n')
    assert main(["config", "check"]) == 0
    assert capsys.readouterr().out.strip() == "config OK: 1 connection, 2 alert rules"
    config.write_text('retention_days = 0\n' + text + '[[alerts]]\nkind = "balance_below"\nthreshold = -1\n'
                                                  'connection = "Statik"\n')
    assert main(["config", "check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith('ibmon: key "retention_days" must be a whole number') for line in err)
    assert any('alert #1: key "threshold" must be a number of at least 0' in line for line in err)
    assert any('alert #1: key "connection": no connection is called "Statik" (did you mean "Static"?)' in line
               for line in err)


def test_the_snapshot_adds_the_alerts_its_figures_fire(config, capsys):
    config.write_text(config.read_text() + '[[alerts]]\nname = "Low"\nkind = "balance_below"\nthreshold = 1020\n')
    assert main(["snapshot", "--json", "--timeout", "10"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "connections" in document and document["connections"][0]["ok"]
    fired = sorted((a["subject"], a["figure"]) for a in document["alerts"])
    assert fired == [("7000", "1000.25"), ("7001", "1010.25")]  # the two accounts below 1020
    assert all(a["rule"] == "Low" and a["state"] == "active" for a in document["alerts"])
