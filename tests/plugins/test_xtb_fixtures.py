"""The xtb client, session and screen against a recorded conversation of a PLN account holding
JPY-, USD- and PLN-quoted instruments (tests/fixtures/xapi/pln_account.json, written from the xAPI
document's examples and replies public xAPI clients recorded), independent of the simulator:
every amount stays in the account currency, whatever an instrument is quoted in."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from textual.app import App
from textual.widgets import DataTable, OptionList

from ibmon.api import Provider
from ibmon.testing import RecordingSink, ScreenHarness, make_context, wait_for
from xapi_replay import XapiReplay

import ibmon_xtb
from ibmon_xtb.kinds import KINDS, REQUESTS

PROVIDER = Provider(name="xtb", title="XTB", connect=ibmon_xtb.connect, options=ibmon_xtb.OPTIONS,
                    kinds=KINDS, requests=REQUESTS)
ACCOUNT = "1234567"
D = Decimal


@pytest.fixture
async def live():
    async with XapiReplay("pln_account.json") as server:
        session = ibmon_xtb.connect(make_context(PROVIDER, **server.options(symbols=["USDJPY", "BITCOIN"])))
        sink = RecordingSink()
        task = asyncio.create_task(session.stream(sink))
        await sink.wait_ready()
        yield server, session, sink
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


def positions(sink) -> dict:
    return {position.symbol: position for position in sink.position_records.values()}


async def test_a_pln_account_keeps_every_amount_in_pln(live):
    server, session, sink = live
    await sink.wait_for(lambda: positions(sink)["USDJPY"].profit == D("170.11"))  # the recorded profit stream
    await sink.wait_for(lambda: sink.account_records[ACCOUNT].equity == D("995985405.99"))  # the balance stream

    account = sink.account_records[ACCOUNT]
    assert session.currency == account.currency == "PLN"  # a balance record carries no currency: kept
    assert (account.balance, account.credit, account.margin, account.free_margin, account.margin_level) == (
        D("995800269.43"), D("1000.0"), D("572634.43"), D("995227643.43"), D("173930.42"))

    held = positions(sink)
    assert {symbol: position.profit for symbol, position in held.items()} == {
        "USDJPY": D("170.11"),   # quoted in JPY: not 6400-odd
        "BITCOIN": D("323.30"),  # BTC / USD: not USD
        "USDPLN": D("3330.00"),
        "GOLD": D("-206.38"),
    }
    assert (held["BITCOIN"].side, held["BITCOIN"].volume, held["BITCOIN"].open_price) == ("sell", D("0.50"), D("62200.81"))
    await sink.wait_for(lambda: positions(sink)["USDJPY"].current_price == D("151.858"))  # the recorded tick
    for position in positions(sink).values():
        # Once positions carry a currency, it is the account's (never the symbol's currencyProfit).
        assert getattr(position, "currency", "PLN") == "PLN"
    assert ("stream", "getProfits") in server.commands and ("stream", "getBalance") in server.commands


async def test_the_screen_names_base_and_quote_currencies_and_the_profit_currency(live):
    _, session, sink = live
    harness = ScreenHarness(PROVIDER, session)
    harness.sink.account(sink.account_records[ACCOUNT])  # the streamed account, in the store the screen reads
    app = App()
    async with app.run_test(size=(140, 40)):
        await app.push_screen(ibmon_xtb.SCREENS[0].factory(harness.context()))
        screen = app.screen
        options = screen.query_one("#xtb-symbols", OptionList)
        await wait_for(lambda: options.option_count == 4, 5)
        labels = {options.get_option_at_index(i).id: str(options.get_option_at_index(i).prompt)
                  for i in range(options.option_count)}
        assert labels["USDJPY"].split()[:3] == ["USDJPY", "FX", "USD/JPY"]
        assert labels["BITCOIN"].split()[:3] == ["BITCOIN", "CRT", "BTC/USD"]
        assert labels["USDPLN"].split()[:3] == ["USDPLN", "FX", "USD/PLN"]
        assert labels["GOLD"].split()[:3] == ["GOLD", "CMD", "USD"]  # base and quote are one currency

        history = screen.query_one("#xtb-history", DataTable)
        await wait_for(lambda: history.row_count == 1, 5)
        assert str(history.border_title).endswith("· profit in PLN")
        assert str(history.get_row_at(0)[6]) == "-38.12"
