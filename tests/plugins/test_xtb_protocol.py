"""The xtb protocol client against the xtb simulator over loopback (TCP, TLS and WebSocket)."""

import asyncio
import json
import time

import pytest

from ibmon.errors import AuthError, ProviderError
from ibmon_xtb.client import MainConnection, StreamConnection
from ibmon_xtb.errors import CommandTooLarge, ConnectionLost, XapiAuthError, XapiError
from ibmon_xtb.sim import DEFAULT_USERS

USER, PASSWORD = next(iter(DEFAULT_USERS.items()))


@pytest.fixture
async def connections():
    opened = []

    async def open_(connection):
        await connection.open()
        opened.append(connection)
        return connection

    yield open_
    for connection in opened:
        await connection.close()


async def logged_in(sim, connections, transport="tcp", **kwargs):
    main = await connections(MainConnection(sim.endpoints[f"main_{transport}"], **kwargs))
    session_id = await main.login(USER, PASSWORD, "ibmon-test")
    return main, session_id


@pytest.mark.parametrize("transport", ["tcp", "ws"])
async def test_login_gives_a_stream_session_and_commands_work(start_sim, connections, transport):
    sim = await start_sim()
    main, session_id = await logged_in(sim, connections, transport)
    assert sim.control.session_user(session_id) == USER
    assert (await main.call("getVersion"))["version"] == "2.5.0"
    margin = await main.call("getMarginLevel")
    assert margin["balance"] == sim.control.user(USER).balance


async def test_a_bad_password_is_BE005_then_the_same_pair_is_blocked_EX007(start_sim, connections):
    sim = await start_sim()
    main = await connections(MainConnection(sim.endpoints["main_tcp"]))
    with pytest.raises(XapiAuthError) as first:
        await main.login(USER, "wrong-password-1")
    assert first.value.error_code == "BE005" and first.value.permanent
    assert isinstance(first.value, AuthError) and "user_id and password" in first.value.message
    assert "wrong-password-1" not in first.value.message
    await asyncio.sleep(0.2)
    with pytest.raises(XapiAuthError) as second:
        await main.login(USER, "wrong-password-1")
    assert second.value.error_code == "EX007" and "10 minutes" in second.value.message


async def test_reject_logins_knob_refuses_even_the_right_password(start_sim, connections):
    sim = await start_sim(reject_logins=True)
    main = await connections(MainConnection(sim.endpoints["main_ws"]))
    with pytest.raises(AuthError, match="BE005"):
        await main.login(USER, PASSWORD)


async def test_commands_before_login_are_BE103_and_the_connection_stays_open(start_sim, connections):
    sim = await start_sim()
    main = await connections(MainConnection(sim.endpoints["main_tcp"]))
    with pytest.raises(XapiError) as caught:
        await main.call("getMarginLevel")
    assert caught.value.error_code == "BE103" and not caught.value.permanent
    assert not isinstance(caught.value, AuthError)
    await main.login(USER, PASSWORD)
    assert "balance" in await main.call("getMarginLevel")


async def test_an_unknown_command_gets_an_error_reply_without_closing(start_sim, connections):
    sim = await start_sim()
    main, _ = await logged_in(sim, connections)
    with pytest.raises(XapiError) as caught:
        await main.call("getEverything")
    assert caught.value.error_code == "BE104"
    assert not main.closed.is_set()
    assert (await main.call("getServerTime"))["time"] > 0


async def test_the_51st_connection_from_one_address_gets_EX008(start_sim, connections):
    sim = await start_sim()
    host, port = sim.endpoints["main_tcp"].removeprefix("tcp://").split(":")
    held = [await asyncio.open_connection(host, int(port)) for _ in range(50)]
    try:
        main = await connections(MainConnection(sim.endpoints["main_tcp"]))
        with pytest.raises(XapiError) as caught:
            await main.login(USER, PASSWORD)
        assert caught.value.error_code == "EX008" and not caught.value.permanent
        assert "close other xAPI clients" in caught.value.message
    finally:
        for _, writer in held:
            writer.close()


async def test_replies_are_matched_by_custom_tag_when_they_come_out_of_order(start_sim, connections):
    sim = await start_sim(slow_commands={"getMarginLevel": 0.6})
    main, _ = await logged_in(sim, connections)
    finished = []

    async def call(command):
        result = await main.call(command)
        finished.append(command)
        return result

    margin, user = await asyncio.gather(call("getMarginLevel"), call("getCurrentUserData"))
    assert finished == ["getCurrentUserData", "getMarginLevel"]  # the second request was answered first
    assert margin["balance"] == sim.control.user(USER).balance
    assert user["currency"] == "EUR"  # the simulator's default account currency


async def test_requests_are_paced_at_least_200_ms_apart(start_sim, connections):
    sim = await start_sim()
    main, _ = await logged_in(sim, connections)
    started = time.monotonic()
    await asyncio.gather(*(main.call("ping") for _ in range(6)))
    assert time.monotonic() - started >= 5 * 0.2
    assert sim.control.violations()["main"] == 0 and sim.control.dropped() == []
    assert sim.control.commands().count(("main", "ping")) == 6


async def test_a_command_over_1kB_is_refused_before_it_is_sent(start_sim, connections):
    sim = await start_sim()
    main, _ = await logged_in(sim, connections)
    symbols = [f"SYMBOL{i:04d}" for i in range(100)]
    with pytest.raises(CommandTooLarge, match="at most 1024 bytes"):
        await main.call("getTickPrices", {"level": 0, "symbols": symbols, "timestamp": 0})
    assert ("main", "getTickPrices") not in sim.control.commands()
    assert (await main.call("getVersion"))["version"]


async def test_a_reply_split_over_many_reads_is_reassembled(start_sim, connections):
    sim = await start_sim(split_frames=True)
    main, _ = await logged_in(sim, connections)
    symbols = await main.call("getAllSymbols")
    assert len(symbols) == len(sim.control.instruments())
    assert main.transport.stats.partial_reads > 10


async def test_stream_records_merged_in_one_read_all_arrive(start_sim, connections):
    sim = await start_sim()
    main, session_id = await logged_in(sim, connections)
    stream = await connections(StreamConnection(sim.endpoints["stream_tcp"], session_id))
    for symbol in ("EURUSD", "GOLD", "US500"):
        await stream.subscribe("getTickPrices", symbol=symbol, minArrivalTime=1)
    seen = set()
    while stream.transport.stats.merged_reads == 0 or len(seen) < 3:
        record = await asyncio.wait_for(stream.receive(), 5)
        assert record["command"] == "tickPrices"
        seen.add(record["data"]["symbol"])
    assert seen == {"EURUSD", "GOLD", "US500"}


@pytest.mark.parametrize("transport", ["tcp", "ws"])
async def test_balance_trade_and_keepalive_streams(start_sim, connections, transport):
    sim = await start_sim(keepalive_seconds=0.2)
    main, session_id = await logged_in(sim, connections, transport)
    stream = await connections(StreamConnection(sim.endpoints[f"stream_{transport}"], session_id))
    for command in ("getBalance", "getTrades", "getKeepAlive"):
        await stream.subscribe(command)
    user = sim.control.user(USER)
    kinds = {}
    while not {"balance", "keepAlive"} <= kinds.keys():
        record = await asyncio.wait_for(stream.receive(), 5)
        kinds[record["command"]] = record["data"]
    assert set(kinds["balance"]) == {"balance", "credit", "equity", "margin", "marginFree", "marginLevel"}
    assert kinds["balance"]["balance"] == user.balance
    sim.control.open_position(USER, "GOLD", 1)
    while True:
        record = await asyncio.wait_for(stream.receive(), 5)
        if record["command"] == "trade":
            break
    assert record["data"]["symbol"] == "GOLD" and record["data"]["cmd"] == 1 and record["data"]["closed"] is False


async def test_a_stream_error_packet_raises_a_typed_error(start_sim, connections):
    sim = await start_sim()
    main, session_id = await logged_in(sim, connections)
    stream = await connections(StreamConnection(sim.endpoints["stream_tcp"], session_id))
    await stream.subscribe("getTickPrices", symbol="NOSUCH")
    with pytest.raises(XapiError) as caught:
        await asyncio.wait_for(stream.receive(), 5)
    assert caught.value.error_code == "BE115"


async def test_a_malformed_stream_packet_is_skipped(start_sim, connections):
    sim = await start_sim(malformed_every=0.2, keepalive_seconds=0.1)
    main, session_id = await logged_in(sim, connections)
    stream = await connections(StreamConnection(sim.endpoints["stream_tcp"], session_id))
    await stream.subscribe("getKeepAlive")
    while stream.malformed == 0:
        assert (await asyncio.wait_for(stream.receive(), 5))["command"] == "keepAlive"
    assert (await asyncio.wait_for(stream.receive(), 5))["command"] == "keepAlive"


async def test_both_connections_are_pinged(start_sim, connections):
    sim = await start_sim()
    main, session_id = await logged_in(sim, connections, ping_interval=0.3)
    stream = await connections(StreamConnection(sim.endpoints["stream_ws"], session_id,
                                                ping_interval=0.3))
    deadline = time.monotonic() + 5
    while not {("main", "ping"), ("stream", "ping")} <= set(sim.control.commands()):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_a_dropped_main_connection_fails_pending_requests(start_sim, connections):
    sim = await start_sim(slow_commands={"getTrades": 5})
    main, _ = await logged_in(sim, connections)
    pending = asyncio.create_task(main.call("getTrades", {"openedOnly": True}))
    await asyncio.sleep(0.3)
    assert sim.control.drop("main") == 1
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(pending, 5)
    assert main.closed.is_set()
    with pytest.raises(ProviderError):
        await main.call("ping")


# -- the simulator's connection rules, seen from a raw socket ------------------------------------

async def raw(sim, kind="main"):
    host, port = sim.endpoints[f"{kind}_tcp"].removeprefix("tcp://").split(":")
    return await asyncio.open_connection(host, int(port))


async def read_until_closed(reader, timeout=5.0) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout)


async def test_rule_a_silent_connection_is_closed_after_one_second(start_sim):
    sim = await start_sim()
    reader, writer = await raw(sim)
    started = time.monotonic()
    assert await read_until_closed(reader) == b""
    assert 0.9 <= time.monotonic() - started < 3
    writer.close()


async def test_rule_six_fast_commands_in_a_row_drop_the_connection(start_sim):
    sim = await start_sim()
    reader, writer = await raw(sim)
    for _ in range(7):
        writer.write(b'{"command": "ping"}')
        await writer.drain()
        await asyncio.sleep(0.02)
    data = await read_until_closed(reader)
    assert data.count(b"\n\n") < 7
    assert any("in a row" in why for _, why in sim.control.dropped())
    writer.close()


async def test_rule_five_fast_commands_then_a_pause_are_tolerated(start_sim):
    sim = await start_sim()
    reader, writer = await raw(sim)
    for pause in (0.02, 0.02, 0.02, 0.02, 0.02, 0.25, 0.02):
        writer.write(b'{"command": "getVersion", "customTag": "x"}')
        await writer.drain()
        await asyncio.sleep(pause)
    replies = b""
    while replies.count(b"\n\n") < 7:
        replies += await asyncio.wait_for(reader.read(4096), 5)
    assert all(json.loads(r)["errorCode"] == "BE103" for r in replies.split(b"\n\n") if r)
    assert sim.control.dropped() == []
    writer.close()


@pytest.mark.parametrize("payload, reason", [
    (b'{"command": "getSymbol", "arguments": {"symbol": "' + b"X" * 1100 + b'"}}', "over 1024 bytes"),
    (b'{"command": ping}', "not JSON"),
    (b'["ping"]', "not a JSON object"),
])
async def test_rule_oversized_or_malformed_commands_drop_the_connection(start_sim, payload, reason):
    sim = await start_sim()
    reader, writer = await raw(sim)
    writer.write(payload)
    await writer.drain()
    started = time.monotonic()
    assert await read_until_closed(reader) == b""
    assert time.monotonic() - started < 0.9  # at once, not by the one-second rule
    [(kind, why)] = sim.control.dropped()
    assert kind == "main" and reason in why
    writer.close()


async def test_a_command_split_across_writes_is_read_whole(start_sim):
    sim = await start_sim()
    reader, writer = await raw(sim)
    for piece in (b'{"command": "getVer', b'sion", "customTag": "split", "prettyPrint": tr', b"ue}"):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.05)
    reply = json.loads((await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)).decode())
    assert reply == {"status": False, "errorCode": "BE103", "errorDescr": "User is not logged", "customTag": "split"}
    writer.close()


# -- fault knobs and logging --------------------------------------------------------------------------

async def test_drop_every_closes_connections_periodically(start_sim, connections):
    sim = await start_sim(drop_every=0.3)
    main, _ = await logged_in(sim, connections)
    await asyncio.wait_for(main.closed.wait(), 3)
    assert isinstance(main.failure, ConnectionLost)


async def test_reply_delay_slows_every_reply(start_sim, connections):
    sim = await start_sim(reply_delay=0.3)
    main, _ = await logged_in(sim, connections)
    started = time.monotonic()
    await main.call("getVersion")
    assert time.monotonic() - started >= 0.3


async def test_the_debug_log_never_shows_the_password(start_sim, connections, caplog):
    sim = await start_sim()
    caplog.set_level("DEBUG", logger="ibmon.xtb")
    await logged_in(sim, connections)
    sent = [r.getMessage() for r in caplog.records if "→" in r.getMessage()]
    assert any('"command": "login"' in line and '"password": "***"' in line for line in sent)
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)
