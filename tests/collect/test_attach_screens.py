"""Provider screens on a dashboard attached to `ibmon collect`: the Flex and XTB screens open by their
keys, show the plugin-declared records that travelled over the link (a Flex statement, XTB candles)
and ask their requests of the collector's sessions (one login per simulator). A dashboard without
those plugins refuses their kinds and counts the refusals; the collector never sends a secret option."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from textual.widgets import OptionList

from ibmon.app import IbmonApp
from ibmon.attach import AttachRuntime
from ibmon.desk import AttachSettings
from ibmon.plugins import PluginHost
from ibmon.store import Store

from collect_support import collecting, simulators, until, write_config

FLEX = "IBKR Flex demo"
XTB = "XTB demo"
SETTINGS = {"ibkr_flex.pending_polls": 0, "ibkr_flex.min_interval": 0, "ibkr_flex.max_per_minute": 10_000,
            "xtb.candle_seconds": 0.3, "xtb.churn_seconds": 0}


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """The Flex and XTB simulators, `ibmon collect` on them, and the plugins installed here."""
    with simulators(SETTINGS, only=["ibkr_flex", "xtb"]) as sims:
        config = write_config(tmp_path_factory.mktemp("desk") / "collect.toml", sims.connections())
        with collecting(config) as collector:
            host = PluginHost()
            host.load()
            yield sims, collector, host


def attached(collector, providers=None) -> AttachRuntime:
    return AttachRuntime(Store(), AttachSettings(url=collector.attach), providers=providers)


async def test_flex_and_xtb_screens_on_an_attached_dashboard(desk):
    sims, collector, host = desk
    assert {c["name"] for c in sims.connections()} == {FLEX, XTB}
    runtime = attached(collector, host.providers)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: runtime.store.tables.get("ibkr_flex.statement", {}).get(FLEX), timeout=30)
        statements = runtime.store.tables["ibkr_flex.statement"][FLEX]

        await pilot.press("i")  # the Flex screen's own key, bound once the collector listed the connection
        await until(pilot, lambda: type(app.screen).__name__ == "FlexScreen")
        flex = app.screen
        assert flex.ctx.connection == FLEX and flex.ctx.provider == "ibkr_flex"
        first = flex.statements()[0]
        assert first is statements[first.account_id]  # the record that travelled, as the screen reads it
        await until(pilot, lambda: str(flex.query_one("#header").content).startswith(first.account_id))
        poll_seconds = next(c for c in sims.connections() if c["name"] == FLEX).get("poll_seconds", 900.0)
        assert flex.poll_seconds == poll_seconds  # the connection's options came from the collector
        assert "token" not in flex.ctx.options
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)

        xtb_sim = sims.control("xtb")

        def asked(command: str) -> int:
            return sum(1 for _where, sent in xtb_sim.commands() if sent == command)

        await pilot.press("x")
        await until(pilot, lambda: type(app.screen).__name__ == "XtbScreen")
        xtb = app.screen
        options = xtb.query_one("#xtb-symbols", OptionList)
        # the symbols request went to the collector, which answered from its own session
        await until(pilot, lambda: options.option_count == len(xtb_sim.instruments()), timeout=15)
        charts = asked("getChartRangeRequest")
        await pilot.press(*"gold", "enter")
        chart = xtb.query_one("#xtb-chart")
        await until(pilot, lambda: chart.symbol == "GOLD" and len(chart.bars) >= 100, timeout=15)
        assert asked("getChartRangeRequest") == charts + 1  # the chart request, run once, on the collector
        # streamed candles: xtb.candle records in the collector's store, over the link, into this one
        await until(pilot, lambda: chart.updates >= 2, timeout=15)
        candle = runtime.store.get("xtb.candle", XTB, "GOLD")
        assert candle is not None and type(candle).__module__ == "ibmon_xtb.kinds"
        assert chart.bars[-1].time == candle.time
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await until(pilot, lambda: ("stream", "stopCandles") in xtb_sim.commands(), timeout=10)

    assert xtb_sim.logins() == 1  # the dashboard's requests ran in the collector's one session


async def test_a_dashboard_without_the_plugins_refuses_their_kinds_and_counts_them(desk):
    _sims, collector, _host = desk
    runtime = attached(collector)  # no provider installed here
    await runtime.start()
    try:
        async def refused() -> None:
            while runtime.refused == 0 or not runtime.store.accounts.get(FLEX):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(refused(), 30)
        assert "ibkr_flex.statement" not in runtime.store.tables  # never registered, never stored
        link = runtime.store.health[runtime.link_name]
        assert f"{runtime.refused} records refused" in link.detail
        assert runtime.store.accounts[FLEX]  # the built-in kinds still show
        conn = runtime.connections[FLEX]
        assert conn.provider.screens == () and set(conn.kinds) == {"account", "position", "tick", "leads"}
    finally:
        await runtime.stop()


async def test_the_collector_never_sends_a_secret_option(desk):
    sims, collector, host = desk
    async with websockets.connect(collector.attach) as ws:
        text = await ws.recv()
    full = json.loads(text)
    configured = {c["name"]: c for c in sims.connections()}
    for described in full["connections"]:
        provider = host.providers[described["provider"]]
        secret = {o.name for o in provider.options if o.secret}
        assert secret and not secret & set(described["options"])
        for name in secret:
            assert configured[described["name"]][name] not in text
        shown = {o.name for o in provider.options if not o.secret and o.name in configured[described["name"]]}
        assert shown and all(described["options"][name] == configured[described["name"]][name] for name in shown)
