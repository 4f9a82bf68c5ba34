"""The XTB screen on a minimal App, driven by Pilot, against the simulator through a live session."""

import asyncio

import pytest
from textual.app import App
from textual.widgets import DataTable, OptionList, Static

from ibmon.api import Provider
from ibmon.testing import ScreenHarness, make_context, wait_for

import ibmon_xtb
from ibmon_xtb.kinds import KINDS, REQUESTS
from ibmon_xtb.screens import CandleChart, XtbScreen
from ibmon_xtb.sim import start as start_simulator

PROVIDER = Provider(name="xtb", title="XTB", connect=ibmon_xtb.connect, options=ibmon_xtb.OPTIONS, kinds=KINDS,
                    requests=REQUESTS)


@pytest.fixture
async def live():
    sim = await start_simulator(churn_seconds=0, tick_seconds=0.05, candle_seconds=0.2)
    user_id = sim.connections[0]["user_id"]
    closed = sim.control.close_position(user_id, next(iter(sim.control.user(user_id).positions)))
    options = {k: v for k, v in sim.connections[0].items() if k not in ("name", "provider")}
    options["symbols"] = ["EURUSD"]
    session = ibmon_xtb.connect(make_context(PROVIDER, name="XTB demo", **options))
    harness = ScreenHarness(PROVIDER, session)
    task = asyncio.create_task(session.stream(harness.sink))  # into the store, as the runtime runs it
    await wait_for(lambda: harness.connection.ready, 10)
    yield sim, harness, closed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await session.close()
    await sim.stop()


async def test_search_chart_with_live_candles_and_history(live):
    sim, harness, closed = live
    [spec] = ibmon_xtb.SCREENS
    app = App()
    async with app.run_test(size=(140, 40)) as pilot:
        await app.push_screen(spec.factory(harness.context()))
        screen = app.screen
        options = screen.query_one("#xtb-symbols", OptionList)
        await wait_for(lambda: options.option_count == len(sim.control.instruments()), 5)
        assert options.highlighted == 0
        await pilot.press("down", "down", "up")  # the search box keeps focus; the list follows
        assert options.highlighted == 1

        await pilot.press(*"gold")
        await wait_for(lambda: options.option_count == 1, 5)
        assert options.get_option_at_index(0).id == "GOLD"
        await pilot.press("enter")

        chart = screen.query_one("#xtb-chart", CandleChart)
        await wait_for(lambda: chart.symbol == "GOLD" and len(chart.bars) >= 100, 5)
        assert all(bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high for bar in chart.bars)
        await wait_for(lambda: chart.updates >= 2, 5)
        gold = sim.control.instruments()["GOLD"]
        assert chart.bars[-1].time == gold.candle.ctm
        assert harness.view.get("xtb.candle", "XTB demo", "GOLD").time == gold.candle.ctm  # came by the store
        rendered = chart.render().plain
        assert "█" in rendered

        table = screen.query_one("#xtb-history", DataTable)
        await wait_for(lambda: table.row_count == 1, 5)
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[1] == closed.symbol and row[2] == ("buy" if closed.cmd == 0 else "sell")
        assert row[7] == str(closed.order)

        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, XtbScreen), 5)
        await wait_for(lambda: ("stream", "stopCandles") in sim.control.commands(), 5)


async def test_errors_show_in_place_when_the_connection_is_down():
    options = {"url": "tcp://127.0.0.1:9", "stream_url": "tcp://127.0.0.1:9", "user_id": "1", "password": "secret-pw"}
    session = ibmon_xtb.connect(make_context(PROVIDER, **options))
    app = App()
    async with app.run_test() as pilot:
        await app.push_screen(XtbScreen(ScreenHarness(PROVIDER, session).context()))
        status = app.screen.query_one("#xtb-status", Static)
        await wait_for(lambda: "not connected" in str(status.render()), 5)
        assert status.has_class("error")
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, XtbScreen), 5)


async def test_the_selected_tick_opens_its_chart(live):
    sim, harness, _closed = live
    tick = harness.view.get("tick", "XTB demo", "EURUSD")
    assert tick is not None
    app = App()
    async with app.run_test(size=(140, 40)):
        await app.push_screen(ibmon_xtb.SCREENS[0].factory(harness.context(selected=tick)))
        chart = app.screen.query_one("#xtb-chart", CandleChart)
        await wait_for(lambda: chart.symbol == "EURUSD" and chart.bars, 5)
        assert app.screen.query_one("#xtb-search").value == "EURUSD"
