"""Currencies in the xtb simulator as a real xAPI server has them: SYMBOL_RECORD currency is the base
and currencyProfit the quote currency; profits and margins are in the account currency, converted
at the market's own prices. Checked through the real client and session, and on the demo's account."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from ibmon.api import Provider
from ibmon.testing import RecordingSink, make_context
from ibmon_xtb.client import MainConnection

import ibmon_xtb

PROVIDER = Provider(name="xtb", title="XTB", connect=ibmon_xtb.connect, options=ibmon_xtb.OPTIONS)
CENT = Decimal("0.01")


def mid(record: dict) -> Decimal:
    return (record["bid"] + record["ask"]) / 2


def in_account_currency(amount: Decimal, quote: str, account: str, symbols: dict[str, dict]) -> Decimal:
    """`amount` of `quote` in `account`, through the served pairs' mid prices (EURUSD, USDJPY, EURPLN...)."""
    def usd(currency: str) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        if f"{currency}USD" in symbols:
            return mid(symbols[f"{currency}USD"])
        if f"USD{currency}" in symbols:
            return 1 / mid(symbols[f"USD{currency}"])
        return mid(symbols["EURUSD"]) / mid(symbols[f"EUR{currency}"])

    return (amount * usd(quote) / usd(account)).quantize(CENT)


@pytest.fixture
async def run_session():
    started = []

    async def run(sim, **overrides):
        options = {k: v for k, v in sim.connections[0].items() if k not in ("name", "provider")}
        options.update(overrides)
        session = ibmon_xtb.connect(make_context(PROVIDER, **options))
        sink = RecordingSink()
        task = asyncio.create_task(session.stream(sink))
        started.append((session, task))
        await sink.wait_ready()
        return session, sink

    yield run
    for session, task in started:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


async def test_symbol_records_name_the_base_and_the_quote_currency(start_sim, run_session):
    sim = await start_sim(volatility=0)
    session, _ = await run_session(sim)
    symbols = {s["symbol"]: s for s in await session.all_symbols()}
    assert {name: (symbols[name]["currency"], symbols[name]["currencyProfit"])
            for name in ("BITCOIN", "EURUSD", "USDJPY", "GOLD", "DE40", "EURPLN")} == {
        "BITCOIN": ("BTC", "USD"), "EURUSD": ("EUR", "USD"), "USDJPY": ("USD", "JPY"), "GOLD": ("USD", "USD"),
        "DE40": ("EUR", "EUR"), "EURPLN": ("EUR", "PLN")}


@pytest.mark.parametrize("currency", ["EUR", "PLN", "USD"])
async def test_profits_and_margins_are_in_the_account_currency(start_sim, run_session, currency):
    sim = await start_sim(volatility=0, currency=currency, update_seconds=0.1)
    control = sim.control
    user_id = sim.connections[0]["user_id"]
    user = control.user(user_id)
    session, sink = await run_session(sim)
    assert session.currency == sink.account_records[user_id].currency == currency
    symbols = {s["symbol"]: s for s in await session.all_symbols()}
    # margins at the opening prices: notional x leverage % in the quote currency, then converted
    margins = [in_account_currency(t.open_price * t.volume * symbols[t.symbol]["contractSize"]
                                   * symbols[t.symbol]["leverage"] / 100, symbols[t.symbol]["currencyProfit"],
                                   currency, symbols)
               for t in user.positions.values()]
    assert all(abs(a - b) <= CENT for a, b in zip(margins, (t.margin for t in user.positions.values())))
    assert sink.account_records[user_id].margin == sum(t.margin for t in user.positions.values())

    usdjpy = next(t for t in user.positions.values() if t.symbol == "USDJPY")
    # the next market step revalues in the account currency
    control.set_bid("USDJPY", control.instruments()["USDJPY"].bid + Decimal("0.640"))
    symbols["USDJPY"] = {**symbols["USDJPY"], **(await session.main.call("getSymbol", {"symbol": "USDJPY"}))}
    sign = 1 if usdjpy.cmd == 0 else -1
    close = symbols["USDJPY"]["bid"] if usdjpy.cmd == 0 else symbols["USDJPY"]["ask"]
    in_jpy = (close - usdjpy.open_price) * usdjpy.volume * symbols["USDJPY"]["contractSize"] * sign
    expected = in_account_currency(in_jpy, "JPY", currency, symbols)
    key = (user_id, str(usdjpy.order))
    await sink.wait_for(lambda: sink.position_records[key].profit == expected)
    assert abs(expected) * 20 < abs(in_jpy)  # one yen is worth well under a twentieth of a USD, EUR or PLN

    quote = await session.main.call("getMarginTrade", {"symbol": "USDJPY", "volume": 1})
    ask = control.instruments()["USDJPY"].ask
    assert abs(quote["margin"] - in_account_currency(ask * 100000 / 30, "JPY", currency, symbols)) <= CENT


async def test_the_demo_account_is_in_eur_and_holds_usd_and_jpy_quoted_instruments(run_session):
    """The simulator as `ibmon demo` starts it: the plugin's registered simulator, no settings."""
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(only=["xtb"], entry_points=True)
    demo = await host.simulators["xtb"].start(host="127.0.0.1")
    try:
        demo.control.pause()  # hold the demo's first picture still
        user_id = demo.connections[0]["user_id"]
        user = demo.control.user(user_id)
        held = {t.symbol: t for t in user.positions.values()}
        instruments = demo.control.instruments()
        quotes = {instruments[symbol].quote for symbol in held}
        assert user.currency == "EUR" and {"USDJPY", "US500"} <= set(held) and {"JPY", "USD"} <= quotes

        session, sink = await run_session(demo)
        assert sink.account_records[user_id].currency == "EUR"
        await sink.wait_for(lambda: {p.symbol: p.profit for p in sink.position_records.values()} == {
            t.symbol: t.profit for t in user.positions.values()})
        symbols = {s["symbol"]: s for s in await session.all_symbols()}
        trade = held["US500"]
        close = symbols["US500"]["bid"] if trade.cmd == 0 else symbols["US500"]["ask"]
        in_usd = (close - trade.open_price) * trade.volume * 50 * (1 if trade.cmd == 0 else -1)
        shown = next(p for p in sink.position_records.values() if p.symbol == "US500").profit
        assert abs(shown - in_account_currency(in_usd, "USD", "EUR", symbols)) <= CENT
    finally:
        await demo.stop()


async def test_an_unknown_account_currency_is_refused_at_start(start_sim):
    with pytest.raises(ValueError, match="currency: the simulator prices no 'XYZ'; choose one of .*EUR"):
        await start_sim(currency="XYZ")


async def test_commission_rate_of_exchange_is_from_the_base_into_the_account_currency(start_sim):
    sim = await start_sim(volatility=0, currency="PLN")
    main = MainConnection(sim.endpoints["main_tcp"])
    await main.open()
    try:
        await main.login(sim.connections[0]["user_id"], sim.connections[0]["password"])
        eurusd = await main.call("getCommissionDef", {"symbol": "EURUSD", "volume": 1})
        eurpln = await main.call("getSymbol", {"symbol": "EURPLN"})
        assert abs(eurusd["rateOfExchange"] - mid(eurpln)) < Decimal("0.0001")  # 1 EUR in PLN
    finally:
        await main.close()
