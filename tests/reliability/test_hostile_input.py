"""Hostile and broken payloads: each parser either decodes or raises its own typed error, quickly.

Random XML goes through the whole Flex path (parse_document → parse_report → the session's mapping);
random and truncated frames through the xAPI decoders; an oversized WebSocket message closes only
that connection. Hypothesis deadlines turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ibmon.errors import ProviderError

from ibmon_ibkr_flex.session import account_of, positions_of
from ibmon_ibkr_flex.statement import parse_document, parse_report, parse_service_response
from ibmon_xtb.errors import ConnectionLost
from ibmon_xtb.framing import FrameDecoder, FrameError, parse_packet

FAST = settings(max_examples=60, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])

# -- Flex XML ------------------------------------------------------------------------------------

TAGS = ("FlexQueryResponse", "FlexStatementResponse", "FlexStatements", "FlexStatement", "AccountInformation",
        "ChangeInNAV", "EquitySummaryInBase", "EquitySummaryByReportDateInBase", "CashReport",
        "CashReportCurrency", "OpenPositions", "OpenPosition", "Trades", "Trade", "CashTransactions",
        "CashTransaction", "Status", "ErrorCode", "ReferenceCode", "Unknown")
ATTRS = ("accountId", "currency", "endingValue", "endingCash", "total", "reportDate", "fromDate", "toDate",
         "whenGenerated", "position", "markPrice", "symbol", "conid", "levelOfDetail", "quantity",
         "tradePrice", "dateTime", "fifoPnlUnrealized", "costBasisPrice", "name", "amount", "tradeDate",
         "tradeTime", "costBasisMoney", "positionValue")
attr_values = st.sampled_from(["", "--", "12.5", "-3", "1e400", "NaN", "Infinity", "20250102", "2025-02-30",
                               "20250102;101500", "99/99/9999", "BASE_SUMMARY", "LOT", "USD", "A&amp;B",
                               "\u00e9\u20ac", "0" * 50]) | st.text(max_size=12)
xml_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


elements = st.recursive(
    st.builds(lambda tag, attrs, text: f'<{tag} {" ".join(f"{k}={chr(34)}{_escape(v)}{chr(34)}" for k, v in attrs.items())}>{_escape(text)}</{tag}>',
              st.sampled_from(TAGS), st.dictionaries(st.sampled_from(ATTRS), attr_values, max_size=5), xml_text),
    lambda children: st.builds(lambda tag, attrs, kids: f'<{tag} {" ".join(f"{k}={chr(34)}{_escape(v)}{chr(34)}" for k, v in attrs.items())}>{"".join(kids)}</{tag}>',
                               st.sampled_from(TAGS), st.dictionaries(st.sampled_from(ATTRS), attr_values, max_size=5),
                               st.lists(children, max_size=4)),
    max_leaves=25,
)


def _through_the_flex_path(body: bytes) -> None:
    """What the client and the session do with a body; ProviderError is the only way out."""
    try:
        root = parse_document(body)
        if root.tag == "FlexStatementResponse":
            parse_service_response(root)
        report = parse_report(root)
        for statement in report.statements:
            account_of(statement)
            positions_of(statement)
    except ProviderError as exc:
        assert exc.message  # a reason the health line can show


@FAST
@given(elements)
def test_random_flex_xml_parses_or_raises_a_provider_error(document):
    _through_the_flex_path(f'<?xml version="1.0" encoding="UTF-8"?>{document}'.encode())


@FAST
@given(elements, st.integers(min_value=0, max_value=10_000))
def test_truncated_flex_xml_raises_a_provider_error(document, cut):
    body = document.encode()
    _through_the_flex_path(body[: cut % max(1, len(body))])


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_as_a_flex_body_raise_a_provider_error(body):
    _through_the_flex_path(body)


@pytest.mark.parametrize("declaration", [
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><r/>',
])
def test_entity_declarations_are_refused_without_expansion(declaration):
    with pytest.raises(ProviderError, match="entities or external references"):
        parse_document(declaration.encode())


# -- xAPI frames -----------------------------------------------------------------------------------


@FAST
@given(st.lists(st.binary(max_size=200) | st.sampled_from([b"\n\n", b"{", b"}", b'"', b"\xff\xfe", b"[]\n\n",
                                                           b'{"a": 1e999999}\n\n', b"\x00"]), max_size=20))
def test_random_socket_frames_give_objects_or_frame_errors(chunks):
    decoder = FrameDecoder()
    for chunk in chunks:
        try:
            assert all(isinstance(packet, dict) for packet in decoder.feed(chunk))
        except FrameError:
            pass


@FAST
@given(st.text(max_size=300) | st.sampled_from(['{"a": ' * 5000, "[" * 100_000, '{"x": 1' + "0" * 5000 + "}"]))
def test_random_websocket_messages_give_an_object_or_a_frame_error(text):
    try:
        assert isinstance(parse_packet(text), dict)
    except FrameError:
        pass


def test_a_socket_stream_without_separator_is_cut_at_the_packet_limit(monkeypatch):
    monkeypatch.setattr("ibmon_xtb.framing.MAX_PACKET", 4096)
    decoder = FrameDecoder()
    with pytest.raises(FrameError, match="no packet separator within 4096 bytes"):
        for _ in range(10):
            decoder.feed(b"x" * 1000)
    assert decoder.buffered == 0
    assert decoder.feed(b'{"ok": true}\n\n') == [{"ok": True}]


async def test_an_oversized_websocket_message_closes_that_connection_with_a_clear_error(monkeypatch):
    from websockets.asyncio.server import serve

    from ibmon_xtb.transport import open_transport

    monkeypatch.setattr("ibmon_xtb.transport.MAX_PACKET", 64 * 1024)

    async def flood(ws):
        await ws.send('{"status": true, "returnData": "' + "x" * 200_000 + '"}')
        await ws.wait_closed()

    async with serve(flood, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        transport = await open_transport(f"ws://127.0.0.1:{port}/demo")
        try:
            with pytest.raises(ConnectionLost, match="1009|too big"):
                await asyncio.wait_for(transport.receive(), 5)
        finally:
            await transport.close()


# -- oversized REST replies ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rest_sims():
    from ibmon.plugins import PluginHost
    from ibmon.simulators import SimulatorHost

    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        sims.start(["xtb", "ctrader", "b2core"], {"b2core.accounts": 30})
        # a token of its own: Flex's rate limiter is per token and process-wide
        sims.start(["ibkr_flex"], {"pending_polls": 0, "tokens": ["hostile-test-flex-token"]})
        assert not sims.failures, sims.failures
        yield host, sims


async def test_an_oversized_rest_reply_fails_that_connection_only(rest_sims, monkeypatch):
    from ibmon import config as cfg
    from ibmon.feeds import Backoff, FeedRuntime
    from ibmon.model import HealthState
    from ibmon.store import Store

    host, sims = rest_sims
    monkeypatch.setattr("ibmon.http.MAX_REPLY_BYTES", 300)  # a token reply fits, an account list does not
    entries = [e for e in sims.connections() if e["provider"] in ("xtb", "ctrader", "b2core")]
    config = cfg.build_config({"connections": entries}, host)
    runtime = FeedRuntime(Store(), backoff=Backoff(base=0.1, cap=0.5), watchdog_interval=None)
    for connection in config.connections:
        runtime.add(host.providers[connection.provider], connection.context())
    await runtime.start()
    try:
        await runtime.wait_settled(15)
        health = {name: conn.health for name, conn in runtime.connections.items()}
        assert health["XTB demo"].state is HealthState.LIVE
        assert health["cTrader demo"].state is HealthState.RECONNECTING
        assert "cTrader GET /connect/tradingaccounts: refused a reply over" in health["cTrader demo"].detail
        assert health["B2Core demo"].state is HealthState.RECONNECTING
        assert "B2Core GET /accounts: refused a reply over" in health["B2Core demo"].detail
    finally:
        await runtime.stop()


async def test_an_oversized_flex_statement_is_refused(rest_sims):
    from ibmon_ibkr_flex.client import FlexClient

    _host, sims = rest_sims
    entry = next(e for e in sims.connections() if e["provider"] == "ibkr_flex")
    client = FlexClient(entry["token"], entry["query_id"], base_url=entry["base_url"], max_bytes=400)
    try:
        with pytest.raises(ProviderError, match="GetStatement: refused a reply over 400 bytes: narrow the Flex query"):
            await client.fetch()
    finally:
        await client.aclose()
