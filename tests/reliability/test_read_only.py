"""Read-only mode: `--read-only`, `read_only = true` at the top of the config, or on one connection,
disables every quick action that changes an account, in the runtime (for every screen) and in the app.
"""

from __future__ import annotations

import pytest
import tomli_w

from ibmon import config as cfg
from ibmon.cli import main
from ibmon.errors import ProviderError
from ibmon.feeds import FeedRuntime
from ibmon.simulators import SimulatorHost
from ibmon.store import Store

PROVIDERS_WITH_ACTIONS = ("xtb", "ctrader", "b2core")


@pytest.fixture(scope="module")
def sims():
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        sims.start(PROVIDERS_WITH_ACTIONS, {"b2core.accounts": 10, "xtb.churn_seconds": 0})
        assert not sims.failures, sims.failures
        yield host, sims


def _targets(store: Store, name: str) -> dict[str, object]:
    accounts = list(store.accounts.get(name, {}).values())
    positions = list(store.positions.get(name, {}).values())
    return {"account": accounts, "position": positions, "connection": [None]}


async def _runtime(host, doc: dict, *, cli_read_only: bool = False) -> FeedRuntime:
    config = cfg.build_config(doc, host)
    config.raise_problems()
    runtime = FeedRuntime(Store(), watchdog_interval=None)
    for connection in config.connections:  # as the CLI builds it
        runtime.add(host.providers[connection.provider], connection.context(cli_read_only or config.read_only))
    await runtime.start()
    await runtime.wait_settled(15)
    return runtime


def _ctrader_cashflows(sims: SimulatorHost) -> int:
    return sum(len(account.cashflow) for account in sims.control("ctrader").accounts().values())


@pytest.mark.parametrize("where", ["cli", "config", "connection"])
async def test_every_account_changing_action_is_refused_by_the_runtime(sims, where):
    host, sims = sims
    entries = [dict(e) for e in sims.connections()]
    if where == "connection":
        for entry in entries:
            entry["read_only"] = True
    doc = {"connections": entries, **({"read_only": True} if where == "config" else {})}
    runtime = await _runtime(host, doc, cli_read_only=where == "cli")
    cashflows = _ctrader_cashflows(sims)
    try:
        refused = 0
        for name, conn in runtime.connections.items():
            assert conn.ready, (name, conn.health)
            assert conn.context.read_only
            targets = _targets(runtime.store, name)
            for action in conn.session.actions():
                target = next((t for t in targets[action.target] if action.is_available(t)), None)
                if not action.mutating or (target is None and action.target != "connection"):
                    continue
                with pytest.raises(ProviderError, match=f"{name} is read-only: {action.title} is disabled"):
                    await runtime.run_action(name, action, target)
                refused += 1
        assert refused >= 3  # XTB close position, cTrader deposit and withdraw, B2Core enable/disable
        assert _ctrader_cashflows(sims) == cashflows  # nothing reached the simulator
    finally:
        await runtime.stop()


async def test_without_read_only_the_same_action_changes_the_account(sims):
    host, sims = sims
    runtime = await _runtime(host, {"connections": [e for e in sims.connections() if e["provider"] == "ctrader"]})
    try:
        name, conn = next(iter(runtime.connections.items()))
        deposit = next(a for a in conn.session.actions() if a.id == "ctrader.demo_deposit")
        demo = next(a for a in runtime.store.accounts[name].values() if deposit.is_available(a))
        before = _ctrader_cashflows(sims)
        message = await runtime.run_action(name, deposit, demo)
        assert message.startswith("Deposited")
        assert _ctrader_cashflows(sims) == before + 1
    finally:
        await runtime.stop()


@pytest.fixture
def captured_apps(tmp_path, monkeypatch):
    """`ibmon` up to the point where the dashboard would take the terminal: the app is kept instead."""
    from ibmon.app import IbmonApp

    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("IBMON_CONFIG", str(tmp_path / "config.toml"))
    apps: list[IbmonApp] = []
    monkeypatch.setattr(IbmonApp, "run", lambda self, *args, **kwargs: apps.append(self))
    return apps


@pytest.mark.parametrize("argv, config_read_only", [
    (["--read-only", "demo", "--only", "ctrader"], False),
    (["demo", "--only", "ctrader", "--read-only"], False),
    (["demo", "--only", "ctrader"], True),
])
def test_the_cli_flag_and_the_config_reach_the_app(captured_apps, tmp_path, argv, config_read_only):
    cfg.write_private(tmp_path / "config.toml", tomli_w.dumps({"read_only": config_read_only}))
    assert main(argv) == 0
    [app] = captured_apps
    assert app.read_only
    [conn] = app.runtime.connections.values()
    assert conn.context.read_only
    action = conn.provider.connect(conn.context).actions()[0]
    assert action.mutating and app.refusal(conn, action) == "read-only mode"


def test_a_read_only_connection_in_the_config_reaches_the_app(captured_apps, tmp_path, sims):
    _host, sims = sims
    entries = [e for e in sims.connections() if e["provider"] in ("ctrader", "b2core")]
    entries[0]["read_only"] = True
    cfg.write_private(tmp_path / "config.toml", tomli_w.dumps({"connections": entries}))
    assert main(["run"]) == 0
    [app] = captured_apps
    assert not app.read_only
    watched, managed = (app.runtime.connections[e["name"]] for e in entries)
    assert watched.context.read_only and not managed.context.read_only
    action = next(a for a in managed.provider.connect(managed.context).actions() if a.mutating)
    assert app.refusal(watched, action) == "read-only mode"
    assert app.refusal(managed, action) is None
