"""The xtb session (what the dashboard runs) against the xtb simulator: initial state, streams,
reconnects through the feed runtime, TLS, the close-position action."""

import asyncio
from decimal import Decimal

import pytest

from ibmon.api import Provider
from ibmon.errors import ProviderError
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import HealthState
from ibmon.store import Store
from ibmon.testing import RecordingSink, make_context, wait_for

import ibmon_xtb


PROVIDER = Provider(name="xtb", title="XTB", connect=ibmon_xtb.connect, options=ibmon_xtb.OPTIONS)


@pytest.fixture
async def run_session():
    """Start session.stream(sink) in a task; cancel and close everything at the end."""
    started = []

    async def run(sim, transport="tcp", **overrides):
        options = {k: v for k, v in sim.connections[0].items() if k not in ("name", "provider")}
        options.update(url=sim.endpoints[f"main_{transport}"], stream_url=sim.endpoints[f"stream_{transport}"])
        options.update(overrides)
        session = ibmon_xtb.connect(make_context(PROVIDER, **options))
        sink = RecordingSink()
        task = asyncio.create_task(session.stream(sink))
        started.append((session, task))
        return session, sink, task

    yield run
    for session, task in started:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


async def test_initial_state_is_exact(start_sim, run_session):
    sim = await start_sim(volatility=0)
    user_id = sim.connections[0]["user_id"]
    session, sink, _ = await run_session(sim)
    await sink.wait_ready()

    user = sim.control.user(user_id)
    values = user.indicators()
    account = sink.account_records[user_id]
    assert (account.balance, account.equity, account.margin, account.free_margin, account.margin_level,
            account.credit, account.currency) == (values["balance"], values["equity"], values["margin"],
                                                  values["margin_free"], values["margin_level"], values["credit"], user.currency)
    assert all(type(v) is Decimal for v in (account.balance, account.equity, account.margin))

    expected = {str(t.order): t for t in user.positions.values()}
    assert {pid for _, pid in sink.position_records} == expected.keys() and len(expected) == 3
    for (account_id, pid), position in sink.position_records.items():
        trade = expected[pid]
        assert account_id == user_id
        assert (position.symbol, position.side, position.volume, position.open_price, position.current_price,
                position.profit) == (trade.symbol, "buy" if trade.cmd == 0 else "sell", trade.volume,
                                     trade.open_price, trade.close_price, trade.profit)
        assert dict(position.extra)["order"] == str(trade.order)

    assert set(sink.ticks) == set(sim.connections[0]["symbols"])
    instruments = sim.control.instruments()
    for symbol, tick in sink.ticks.items():
        instrument = instruments[symbol]
        assert (tick.bid, tick.ask) == (instrument.bid, instrument.ask)
    assert sink.notes == ()


async def test_streams_follow_ticks_balance_trades_and_profits(start_sim, run_session):
    sim = await start_sim(keepalive_seconds=0.3, update_seconds=0.1, volatility=0, currency="USD")  # GOLD is USD-quoted
    control = sim.control
    user_id = sim.connections[0]["user_id"]
    session, sink, _ = await run_session(sim, tick_interval_ms=1, symbols=["GOLD", "EURUSD"])
    await sink.wait_ready()

    first = len(sink.tick_log)
    await sink.wait_for(lambda: len(sink.tick_log) > first + 20)
    [stream] = control.subscriptions()
    assert stream[("getTickPrices", "GOLD")] == 0.001  # minArrivalTime = tick_interval_ms
    await sink.wait_for(lambda: sink.alive_count > 0)

    balance = control.user(user_id).balance + Decimal("250.25")
    control.set_balance(user_id, balance)
    await sink.wait_for(lambda: sink.account_records[user_id].balance == balance)

    opened = control.open_position(user_id, "GOLD", 1, Decimal("0.3"))
    key = (user_id, str(opened.order))
    await sink.wait_for(lambda: key in sink.position_records)
    position = sink.position_records[key]
    assert (position.symbol, position.side, position.volume, position.open_price) == (
        "GOLD", "sell", Decimal("0.3"), opened.open_price)

    assert position.profit == opened.profit
    # a sell loses 0.3 lot × 100 oz × 2.00
    control.set_bid("GOLD", control.instruments()["GOLD"].bid + Decimal("2.00"))
    await sink.wait_for(lambda: sink.position_records[key].profit == position.profit - Decimal("60.00"))
    await sink.wait_for(lambda: sink.position_records[key].current_price == control.instruments()["GOLD"].ask)

    control.close_position(user_id, opened.order)
    await sink.wait_for(lambda: key not in sink.position_records)


async def test_prices_keep_the_symbols_places_though_json_drops_trailing_zeros(start_sim, run_session):
    sim = await start_sim(update_seconds=0.1, volatility=0)
    control = sim.control
    session, sink, _ = await run_session(sim, tick_interval_ms=1, symbols=["EURUSD", "GOLD"])
    await sink.wait_ready()
    places = {s["symbol"]: s["precision"] for s in await session.all_symbols()}
    assert places["EURUSD"] == 5 and places["GOLD"] == 2

    control.set_bid("EURUSD", Decimal("1.2"))  # on the wire as 1.2 and an ask such as 1.20002
    await sink.wait_for(lambda: sink.ticks["EURUSD"].bid == Decimal("1.2"))
    tick = sink.ticks["EURUSD"]
    assert str(tick.bid) == "1.20000" and tick.ask.as_tuple().exponent == -5
    for (_, _), position in sink.position_records.items():
        digits = places.get(position.symbol)
        if digits is not None and position.open_price is not None:
            assert position.open_price.as_tuple().exponent <= -digits, position


async def test_churning_simulator_opens_and_closes_positions(start_sim, run_session):
    sim = await start_sim(churn_seconds=0.2)
    session, sink, _ = await run_session(sim)
    await sink.wait_ready()
    before = set(sink.position_records)
    await sink.wait_for(lambda: set(sink.position_records) != before, timeout=5)
    sim.control.set_switches(churn_seconds=0)  # hold still, then the dashboard must match the platform
    user = sim.control.user(sim.connections[0]["user_id"])
    await sink.wait_for(lambda: {pid for _, pid in sink.position_records} == {str(o) for o in user.positions}, timeout=5)


async def test_unknown_watchlist_symbols_are_reported_and_the_rest_streams(start_sim, run_session):
    sim = await start_sim()
    session, sink, _ = await run_session(sim, symbols=["EURUSD", "NOPE.XX"], tick_interval_ms=1)
    await sink.wait_ready()
    assert sink.notifications == [("warning", "test: unknown symbols in the watchlist: NOPE.XX")]
    assert set(sink.ticks) == {"EURUSD"}
    count = len(sink.tick_log)
    await sink.wait_for(lambda: len(sink.tick_log) > count + 3)


async def test_bad_password_ends_the_stream_with_a_permanent_error(start_sim, run_session):
    sim = await start_sim()
    session, sink, task = await run_session(sim, password="not-the-password")
    with pytest.raises(ProviderError) as caught:
        await asyncio.wait_for(task, 5)
    assert caught.value.permanent and caught.value.code == "BE005"
    assert "not-the-password" not in str(caught.value)


async def runtime_with(sim, **overrides):
    options = {k: v for k, v in sim.connections[0].items() if k not in ("name", "provider")}
    options.update(overrides)
    store = Store()
    runtime = FeedRuntime(store, backoff=Backoff(base=0.05, cap=0.2), watchdog_interval=None)
    runtime.add(PROVIDER, make_context(PROVIDER, name="XTB demo", **options))
    await runtime.start()
    return runtime, store


async def test_a_dropped_connection_reconnects_logs_in_and_resubscribes(start_sim):
    sim = await start_sim()
    control = sim.control
    runtime, store = await runtime_with(sim, symbols=["EURUSD", "GOLD"])
    user_id = sim.connections[0]["user_id"]
    try:
        await wait_for(lambda: store.state("XTB demo") is HealthState.LIVE, 10)
        await wait_for(lambda: control.commands().count(("stream", "getTickPrices")) == 2, 10)
        for life, kind in enumerate(("stream", "main"), start=2):
            gone = next(iter(control.user(user_id).positions))
            assert control.drop(kind) >= 1
            await wait_for(lambda: store.state("XTB demo") is not HealthState.LIVE, 5)
            control.close_position(user_id, gone, announce=False)  # closed while we were away: no stream tells us
            await wait_for(lambda: store.state("XTB demo") is HealthState.LIVE, 10)
            assert control.logins() == life
            await wait_for(lambda: control.commands().count(("stream", "getTickPrices")) == 2 * life, 10)
            commands = control.commands()
            for command in ("getBalance", "getTrades", "getProfits", "getTradeStatus", "getKeepAlive"):
                assert commands.count(("stream", command)) == life, command
            positions = control.user(user_id).positions
            assert {pid for _, pid in store.positions["XTB demo"]} == {str(o) for o in positions}
            ticks = store.tick_count
            await wait_for(lambda: store.tick_count > ticks + 10, 5)
    finally:
        await runtime.stop()


async def test_login_refused_shows_an_error_on_the_connection_health(start_sim):
    sim = await start_sim(reject_logins=True)
    runtime, store = await runtime_with(sim)
    try:
        await wait_for(lambda: store.state("XTB demo") is HealthState.ERROR, 5)
        detail = store.health["XTB demo"].detail
        assert "BE005" in detail and "check user_id and password" in detail
        assert sim.connections[0]["password"] not in detail
    finally:
        await runtime.stop()


# -- TLS ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    import trustme

    folder = tmp_path_factory.mktemp("xtb-tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    return folder


@pytest.mark.parametrize("transport", ["tls", "wss"])
async def test_tls_transports_verify_against_the_trusted_ca(start_sim, run_session, certificates, monkeypatch,
                                                            transport):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
    sim = await start_sim(tls_cert=str(certificates / "server.pem"))
    assert sim.endpoints[f"main_{transport}"].startswith(f"{transport}://")
    session, sink, _ = await run_session(sim, transport)
    await sink.wait_ready()
    assert sink.notes == ()
    assert sink.account_records


async def test_an_untrusted_certificate_is_refused_unless_verification_is_off(start_sim, run_session,
                                                                               certificates):
    sim = await start_sim(tls_cert=str(certificates / "server.pem"))
    session, sink, task = await run_session(sim, "tls")
    with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncio.wait_for(task, 5)
    session, sink, _ = await run_session(sim, "tls", tls_verify=False)
    await sink.wait_ready()  # connected; the host puts "TLS verification off" on the health line
    assert sink.account_records


# -- close position -----------------------------------------------------------------------------------

async def test_close_position_is_confirmed_then_accepted(start_sim, run_session):
    sim = await start_sim()
    control = sim.control
    user_id = sim.connections[0]["user_id"]
    session, sink, _ = await run_session(sim)
    await sink.wait_ready()
    trade = control.open_position(user_id, "EURUSD", 0, Decimal("0.25"))
    key = (user_id, str(trade.order))
    await sink.wait_for(lambda: key in sink.position_records)
    position = sink.position_records[key]

    [action] = session.actions()
    assert action.mutating and action.target == "position" and action.is_available(position)
    assert action.question(position) == f"Close buy 0.25 EURUSD (position {trade.order})?"
    balance = control.user(user_id).balance
    message = await action.run(position)
    assert message.startswith("Closed buy 0.25 EURUSD (order ") and message.endswith("accepted")
    user = control.user(user_id)
    assert trade.order not in user.positions
    closed = user.history[-1]
    assert closed.order == trade.order and user.balance == balance + closed.profit
    sent = [c for c in control.commands() if c == ("main", "tradeTransaction")]
    assert len(sent) == 1
    await sink.wait_for(lambda: key not in sink.position_records)


async def test_close_position_rejected_by_the_server_says_why(start_sim, run_session):
    sim = await start_sim()
    user_id = sim.connections[0]["user_id"]
    session, sink, _ = await run_session(sim)
    await sink.wait_ready()
    (account, pid), position = next(iter(sink.position_records.items()))
    sim.control.close_position(user_id, int(pid))  # closed on the platform a moment before our request reaches it
    with pytest.raises(ProviderError, match=r"rejected: Cannot close already closed order"):
        await session.actions()[0].run(position)


async def test_close_position_while_disconnected_is_refused_locally(start_sim):
    sim = await start_sim()
    options = {k: v for k, v in sim.connections[0].items() if k not in ("name", "provider")}
    session = ibmon_xtb.connect(make_context(PROVIDER, **options))
    from ibmon.model import Position

    with pytest.raises(ProviderError, match="not connected"):
        await session.close_position(Position("1", "2", "EURUSD", "buy", Decimal("1")))


async def test_trade_status_is_polled_when_the_stream_does_not_tell(start_sim):
    from ibmon_xtb.client import MainConnection

    sim = await start_sim()
    conn = sim.connections[0]
    session = ibmon_xtb.connect(make_context(PROVIDER, **{k: v for k, v in conn.items() if k not in ("name", "provider")}))
    session.status_poll_after = 0.1
    main = MainConnection(sim.endpoints["main_tcp"])
    await main.open()
    try:
        await main.login(conn["user_id"], conn["password"])
        trade = next(iter(sim.control.user(conn["user_id"]).positions.values()))
        info = {"cmd": trade.cmd, "order": trade.order, "price": trade.close_price, "symbol": trade.symbol,
                "type": 2, "volume": trade.volume, "sl": 0, "tp": 0, "offset": 0, "expiration": 0, "customComment": ""}
        order = (await main.call("tradeTransaction", {"tradeTransInfo": info}))["order"]
        status = await session.final_status(main, order)  # no stream here: tradeTransactionStatus answers
        assert status["requestStatus"] == 3 and status["order"] == order
        assert ("main", "tradeTransactionStatus") in sim.control.commands()
    finally:
        await main.close()
