"""Hostile values sent by the real simulators (NaN, 1e999999999, objects where text belongs, huge
numbers, negative counts, duplicate ids) through the real clients and sessions into a real
FeedRuntime and Store, and through the app: only the bad record is rejected, named with its
connection and field; the others keep updating; the previously shown version stays."""

from __future__ import annotations

import logging
from decimal import Decimal

from ibmon.app import IbmonApp
from ibmon.model import HealthState
from ibmon.testing import wait_for

from runtime_kit import add, connected, first_party, make_runtime, options_of, screen_text, simulator, until


def changed(table: dict, before: dict, keys) -> bool:
    return any(table.get(key) is not before[key] for key in keys)


async def test_b2core_nan_huge_and_duplicate_accounts_are_rejected_alone(caplog):
    async with connected("b2core", "B2Core", sim={"accounts": 12, "interval": 0.05}, poll_seconds=0.5) as (
            running, runtime, conn):
        sim = running.control
        store = runtime.store
        await wait_for(lambda: len(store.accounts.get("B2Core", {})) == 12, timeout=15)
        nan_id, huge_id, twice_id, *others = list(store.accounts["B2Core"])
        with caplog.at_level(logging.WARNING, logger="ibmon.feeds"):
            sim.set_money(nan_id, deposits="NaN", balance="NaN")  # it stays NaN as the account drifts
            sim.set_money_text(huge_id, credit="1e999999999")  # 17 bytes on the wire
            sim.copy_account(twice_id, "second copy", balance=Decimal("1.00"))
            await wait_for(lambda: {("account", nan_id), ("account", huge_id), ("account", twice_id)}
                           <= conn.rejected.keys(), timeout=15)
        accounts = store.accounts["B2Core"]
        kept = {key: accounts[key] for key in (nan_id, huge_id)}
        before = dict(accounts)
        await wait_for(lambda: changed(store.accounts["B2Core"], before, others), timeout=15)

        accounts = store.accounts["B2Core"]
        assert len(accounts) == 12 and all(accounts[key] is record for key, record in kept.items())
        assert accounts[twice_id].balance != Decimal("1.00")  # the first one listed counts
        assert conn.rejected[("account", nan_id)] == "balance: not a finite number: 'NaN'"
        assert conn.rejected[("account", huge_id)] == "credit: out of range (10^25 or more): '1e999999999'"
        assert conn.rejected[("account", twice_id)] == "listed twice in one refresh (the first one counts)"
        health = store.health["B2Core"]
        assert health.state is HealthState.LIVE
        assert "3 records rejected (account " in health.describe(health.since)
        logged = [r.getMessage() for r in caplog.records if r.name == "ibmon.feeds"]
        assert f"B2Core: rejected account {nan_id}: balance: not a finite number: 'NaN'" in logged
        assert len(logged) == 3  # once per record, not once per poll


async def test_ctrader_an_object_for_a_currency_and_a_huge_swap_reject_one_account_and_one_position():
    # no deals of the market's own: the position the test spoils must stay open while quotes move
    async with connected("ctrader", "cTrader", sim={"interval": 0.05, "deals": False},
                         poll_seconds=0.5) as (running, runtime, conn):
        sim = running.control
        store = runtime.store
        await wait_for(lambda: len(store.accounts.get("cTrader", {})) == 4 and store.positions.get("cTrader"),
                       timeout=15)
        sim.set_account(5_010_002, currency={"code": "EUR"})
        victim = next(iter(sim.account(5_010_003).positions.values()))
        sim.set_position(5_010_003, victim.id, swap=10**30)
        bad_position = ("5010003", str(victim.id))
        await wait_for(lambda: {("account", "5010002"), ("position", bad_position)} <= conn.rejected.keys(),
                       timeout=15)
        kept_account = store.accounts["cTrader"]["5010002"]
        kept_position = store.positions["cTrader"][bad_position]
        ticks = dict(store.ticks["cTrader"])
        await wait_for(lambda: changed(store.ticks["cTrader"], ticks, ticks), timeout=15)

        assert victim.id in sim.account(5_010_003).positions  # still open: the market made no deals
        assert store.accounts["cTrader"]["5010002"] is kept_account and kept_account.currency == "EUR"
        assert store.positions["cTrader"][bad_position] is kept_position
        assert conn.rejected[("account", "5010002")] == "currency: expected text, got dict"
        assert conn.rejected[("position", bad_position)].startswith("swap: out of range (10^25 or more)")
        # an account whose positions did not all map shows its equity as unknown, not as a wrong sum
        partial = store.accounts["cTrader"]["5010003"]
        assert partial.equity is None and partial.profit is None and partial.balance > 0
        assert store.accounts["cTrader"]["5010001"].equity is not None


async def test_crm_negative_counts_keep_the_shown_funnel():
    async with connected("crm", "CRM", sim={"leads": 500, "tick": 0.2}, poll_seconds=0.5) as (running, runtime, conn):
        sim = running.control
        store = runtime.store
        await wait_for(lambda: len(store.leads.get("CRM", {})) == 3, timeout=15)
        sim.force_total("leads", -5)
        await wait_for(lambda: ("leads", "30d") in conn.rejected, timeout=15)
        shown = dict(store.leads["CRM"])
        polls = store.last_data["CRM"]
        await wait_for(lambda: store.last_data["CRM"] > polls, timeout=15)  # polling goes on
        assert store.leads["CRM"] == shown and all(store.leads["CRM"][w] is shown[w] for w in shown)
        assert all(shown[w].leads >= 0 for w in shown)
        assert conn.rejected[("leads", "30d")] == "leads: negative count (-5)"
        health = store.health["CRM"]
        assert "3 records rejected (leads " in health.describe(health.since)

        sim.force_total("leads", None)
        await wait_for(lambda: not conn.rejected, timeout=15)


async def test_the_balances_panel_keeps_the_good_rows_and_the_health_line_names_the_bad_one():
    host = first_party("b2core")
    async with simulator(host, "b2core", accounts=6, interval=0.05) as running:
        sim = running.control
        runtime = make_runtime()
        add(runtime, host.providers["b2core"], "B2Core", options_of(running, poll_seconds=0.5))
        app = IbmonApp(runtime, host)
        async with app.run_test(size=(240, 60)) as pilot:
            dash = app.dashboard
            store = runtime.store
            await until(pilot, lambda: dash.accounts.row_count >= 6, timeout=15)
            bad_id = next(iter(store.accounts["B2Core"]))
            sim.set_money(bad_id, deposits="NaN", balance="NaN")
            await until(pilot, lambda: f"rejected account {bad_id}: balance: not a finite number" in screen_text(app),
                        timeout=15)
            row_key = ("B2Core", bad_id)
            shown = dash.accounts.get_cells(row_key)
            assert "NaN" not in " ".join(map(str, shown))
            others = {key: dash.accounts.get_cells(key) for key in dash.accounts.keys()
                      if key != row_key}
            await until(pilot, lambda: any(dash.accounts.get_cells(key) != cells for key, cells in others.items()),
                        timeout=15)
            assert dash.accounts.get_cells(row_key) == shown  # the shown version stays on screen
            assert dash.accounts.row_count >= 6
            assert "live" in screen_text(app)


def test_snapshot_json_stays_small_when_a_provider_sends_1e999999999(tmp_path, monkeypatch, capsys):
    import json

    import tomli_w

    from ibmon.cli import main
    from ibmon.config import write_private
    from ibmon.simulators import SimulatorHost

    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("IBMON_PLUGINS", "b2core")
    config = tmp_path / "config.toml"
    with SimulatorHost(first_party("b2core")) as sims:
        sims.start(["b2core"], {"accounts": 12})
        [running] = sims.running
        sim = running.control
        huge_id = next(iter(sim.accounts()))
        sim.set_money_text(huge_id, balance="1e999999999", credit="-1E+999999999")
        write_private(config, tomli_w.dumps({"connections": sims.connections()}))
        assert main(["--config", str(config), "snapshot", "--json", "--timeout", "15"]) == 0
    out = capsys.readouterr().out
    assert len(out) < 100_000  # the value's fixed-point text would be a gigabyte
    [conn] = json.loads(out)["connections"]
    ids = {account["id"] for account in conn["accounts"]}
    assert len(ids) == 11 and huge_id not in ids
