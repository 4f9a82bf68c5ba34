"""`ibmon snapshot` against the example simulator over loopback: the JSON contract, exact decimals,
no secrets, exit 1 when a connection fails while the others are still printed."""

import json
import re
import socket
from decimal import Decimal
from pathlib import Path

import pytest

from ibmon.cli import main
from ibmon.model import Account, LeadCounts, Position
from ibmon.plugins import PluginHost
from ibmon.simulators import SimulatorHost
from ibmon.snapshot import _leads, connection_report, to_json, to_text
from ibmon.store import Store, StoreView

SUPPORT = Path(__file__).parent / "support"
TOKEN = "example-secret-token"  # what the example simulator accepts
WRONG = "wrong-token-abcdef"


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """No real user folders; only the example plugin; returns the config path."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("IBMON_PLUGINS", "example_plugin")
    monkeypatch.setenv("IBMON_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("IBMON_TEST_TOKEN", TOKEN)
    return tmp_path / "config.toml"


@pytest.fixture
def simulator_url():
    host = PluginHost()
    host.load(plugin_dirs=[SUPPORT], only=["example_plugin"], entry_points=False)
    with SimulatorHost(host) as sims:
        sims.start(["example"], {"interval": 60})  # no price moves: the first quotes stay exact
        yield sims.connections()[0]["url"]


def write_config(path: Path, *connections: str) -> None:
    path.write_text(f'plugin_dirs = ["{SUPPORT}"]\n' + "".join(connections))
    path.chmod(0o600)


def connection(name: str, url: str, token: str = '{ env = "IBMON_TEST_TOKEN" }', extra: str = "") -> str:
    return (f'[[connections]]\nname = "{name}"\nprovider = "example"\nurl = "{url}"\ntoken = {token}\n'
            f'symbols = ["EURUSD", "GOLD"]\n{extra}')


def test_json_snapshot_keeps_decimals_exact_and_secrets_out(env, simulator_url, capsys):
    write_config(env, connection("Good", simulator_url), connection("Off", simulator_url, extra="enabled = false\n"))
    assert main(["snapshot", "--json", "--timeout", "10"]) == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    document = json.loads(out)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", document["generated_at"])
    [conn] = document["connections"]  # disabled connections are not connected
    assert {k: conn[k] for k in ("name", "provider", "ok", "error")} == \
        {"name": "Good", "provider": "example", "ok": True, "error": None}
    assert conn["accounts"] == [{"id": "A1", "number": "A1", "currency": "USD", "balance": "10000.00",
                                 "equity": "10012.30", "margin": None, "free_margin": None, "margin_level": None,
                                 "credit": None, "profit": None}]
    assert conn["positions"] == [{"account": "A1", "account_number": "A1", "id": "1", "symbol": "EURUSD",
                                  "side": "buy", "volume": "1.00", "open_price": None, "current_price": None,
                                  "currency": "USD", "profit": "12.30"}]
    assert [(t["symbol"], t["bid"], t["ask"]) for t in conn["ticks"]] == \
        [("EURUSD", "1.08500", "1.08520"), ("GOLD", "2400.10", "2400.1002")]
    assert all(isinstance(t["time"], int) and t["time"] > 1_600_000_000_000 for t in conn["ticks"])
    leads = conn["leads"]
    assert leads is None or set(leads) == {"from", "to", "leads", "registrations", "transactions"}


def test_a_failing_connection_exits_1_and_the_others_are_still_printed(env, simulator_url, capsys):
    write_config(env, connection("Good", simulator_url), connection("Bad token", simulator_url, f'"{WRONG}"'))
    assert main(["snapshot", "--json", "--timeout", "10"]) == 1
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and WRONG not in out + err
    by_name = {c["name"]: c for c in json.loads(out)["connections"]}
    assert by_name["Good"]["ok"] and by_name["Good"]["accounts"][0]["balance"] == "10000.00"
    bad = by_name["Bad token"]
    assert bad["ok"] is False and bad["error"] == "BAD_TOKEN: token refused" and bad["accounts"] == []


def test_a_connection_that_never_answers_times_out(env, capsys):
    with socket.socket() as silent:  # listens, never speaks: the WebSocket handshake hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        write_config(env, connection("Silent", f"ws://127.0.0.1:{silent.getsockname()[1]}"))
        assert main(["snapshot", "--json", "--timeout", "0.3"]) == 1
    conn = json.loads(capsys.readouterr().out)["connections"][0]
    assert conn["ok"] is False and conn["error"] == "no complete picture within 0.3 s (timed out)"


def test_text_snapshot_is_a_table_per_connection(env, simulator_url, capsys):
    env_config = 'time_format = "%d.%m.%Y %H:%M %Z"\ntimezone = "Asia/Tokyo"\n'
    write_config(env, env_config + connection("Good", simulator_url))
    assert main(["snapshot", "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "Good (example): ok" in out
    assert re.search(r"id\s+number\s+currency\s+balance\s+equity", out)
    assert re.search(r"A1\s+A1\s+USD\s+10000\.00\s+10012\.30", out)
    # tick times and the snapshot's own time in the configured format and zone, not epoch milliseconds
    assert re.search(r"EURUSD\s+1\.08500\s+1\.08520\s+\d\d\.\d\d\.\d{4} \d\d:\d\d JST", out)
    assert re.match(r"snapshot at \d\d\.\d\d\.\d{4} \d\d:\d\d JST\n", out)
    assert TOKEN not in out


def test_snapshot_without_a_config_says_how_to_make_one(env, capsys):
    assert main(["snapshot"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ibmon: no config at ") and "ibmon config init" in err and "\n" not in err


def test_snapshot_reports_config_problems_one_line_each(env, capsys):
    env.write_text('[[connections]]\nname = "X"\nprovider = "example"\ntokn = "x"\n')
    env.chmod(0o600)
    assert main(["--plugin-dir", str(SUPPORT), "snapshot"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == 'ibmon: connection "X" (example): unknown key "tokn" (did you mean "token"?)'
    assert len(lines) == 3 and all(line.startswith("ibmon: ") for line in lines)


def test_leads_report_the_widest_window():
    windows = [LeadCounts("today", "2026-11-22", "2026-11-22", 1, 0, 0),
               LeadCounts("30d", "2026-10-24", "2026-11-22", 40, 9, 3),
               LeadCounts("7d", "2026-11-16", "2026-11-22", 8, 2, 1)]
    assert _leads(windows) == {"from": "2026-10-24", "to": "2026-11-22", "leads": 40, "registrations": 9,
                               "transactions": 3}
    assert _leads([]) is None


def test_decimals_keep_their_digits_without_exponents():
    store = Store()
    store.set_account("C", Account(id="1", balance=Decimal("0.000000000000000000"), equity=Decimal("1E+2"),
                                   profit=Decimal("-0.0000001"), currency="BTC"))
    report = connection_report("C", "p", True, None, StoreView(store))
    account = json.loads(to_json({"generated_at": "x", "connections": [report]}))["connections"][0]["accounts"][0]
    assert (account["balance"], account["equity"], account["profit"]) == ("0.000000000000000000", "100", "-0.0000001")
    text = to_text({"generated_at": "x", "connections": [report]})
    assert "0.000000000000000000" in text and "-0.0000001" in text and "E" not in text.split("\n", 1)[1]


def test_accounts_read_by_their_number_as_on_the_dashboard():
    store = Store()
    store.set_account("C", Account(id="5010002", balance=Decimal("1"), currency="USD", name="3100002"))
    store.set_position("C", Position("5010002", "7", "EURUSD", "buy", Decimal("1"), profit=Decimal("2"), currency="USD"))
    store.set_position("C", Position("999", "8", "GOLD", "sell", Decimal("1")))  # its account is not known
    report = connection_report("C", "p", True, None, StoreView(store))
    assert [(a["id"], a["number"]) for a in report["accounts"]] == [("5010002", "3100002")]
    assert [(p["account"], p["account_number"], p["currency"]) for p in report["positions"]] == \
        [("5010002", "3100002", "USD"), ("999", "999", None)]
    text = to_text({"generated_at": "2026-01-02T03:04:05.000Z", "connections": [report]})
    assert re.search(r"5010002\s+3100002\s+7\s+EURUSD", text)
