"""Flex statements: every date format, several accounts, fields IB adds tomorrow, hostile XML."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ibmon.errors import ProviderError
from ibmon.api import RunningSimulator
from ibmon.simkit import HttpSimulator, text_reply
from ibmon.testing import simulator_in_thread
from ibmon_ibkr_flex.client import FlexClient
from ibmon_ibkr_flex.dates import join_date_time, parse_date, parse_datetime, parse_time
from ibmon_ibkr_flex.ratelimit import RateLimiter
from ibmon_ibkr_flex.sim import SERVICE_PATH, start
from ibmon_ibkr_flex.statement import parse_document, parse_report


@pytest.fixture(scope="module")
def sim():
    """The market stands still (no ticker step within the tests), so statements can be compared
    with the simulator's own books."""
    with simulator_in_thread(start, pending_polls=0, min_interval=0, max_per_minute=10_000, interval=3600,
                             seed=11) as running:
        yield running


async def fetch(sim):
    demo = sim.connections[0]
    client = FlexClient(demo["token"], demo["query_id"], base_url=demo["base_url"],
                        limiter=RateLimiter(0, 10_000, margin=0))
    try:
        return await client.fetch()
    finally:
        await client.aclose()


@pytest.mark.parametrize("text, expected", [
    ("20261121", date(2026, 11, 21)),
    ("2026-11-21", date(2026, 11, 21)),
    ("11/21/2026", date(2026, 11, 21)),
    ("01/02/2026", date(2026, 1, 2)),  # month first
    ("", None),
])
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("day", ["20261121", "2026-11-21", "11/21/2026"])
@pytest.mark.parametrize("separator", [";", ",", " ", "T"])
@pytest.mark.parametrize("clock, expected", [("093005", (9, 30, 5)), ("09:30:05", (9, 30, 5)), ("0930", (9, 30, 0))])
def test_date_times(day, separator, clock, expected):
    assert parse_datetime(f"{day}{separator}{clock}") == datetime(2026, 11, 21, *expected)


@pytest.mark.parametrize("text, expected", [
    ("02/29/16", datetime(2016, 2, 29)),  # MM/dd/yy
    ("29-feb-16", datetime(2016, 2, 29)),  # dd-MMM-yy, any case
    ("29-Feb-16;143529", datetime(2016, 2, 29, 14, 35, 29)),
    ("20160229143529", datetime(2016, 2, 29, 14, 35, 29)),  # no date/time separator
    ("2016-02-2914:35:29", datetime(2016, 2, 29, 14, 35, 29)),
    ("02/29/16143529", datetime(2016, 2, 29, 14, 35, 29)),  # not year 1614 and 35:29
    ("02/29/2016143529", datetime(2016, 2, 29, 14, 35, 29)),
    ("2009-12-23, 20:25:00", datetime(2009, 12, 23, 20, 25)),  # old statements' ", "
    ("2010-01-04T15:37:49-05:00", datetime(2010, 1, 4, 15, 37, 49)),  # an offset: made Eastern
    ("2010-07-04T15:37:49+02:00", datetime(2010, 7, 4, 9, 37, 49)),
])
def test_every_flex_date_format_and_the_old_forms(text, expected):
    assert parse_datetime(text) == expected


def test_times_and_a_trade_date_with_its_trade_time():
    assert parse_time("162000") == parse_time("16:20:00") == datetime(1, 1, 1, 16, 20).time()
    assert parse_time("") is None and join_date_time("2011-08-11", "162000") == datetime(2011, 8, 11, 16, 20)
    assert join_date_time("20110811", "") == datetime(2011, 8, 11) and join_date_time("", "162000") is None
    for bad in ("4pm", "1620000", "25:00:00"):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(ValueError, match="reads slash dates as MM/dd"):
        parse_date("13/01/2026")


def test_date_time_with_zone_name_and_bad_values():
    assert parse_datetime("20261121;093005 EST") == datetime(2026, 11, 21, 9, 30, 5)
    for bad in ("21.11.2026", "2026/11/21", "20261321", "20261121;256000", "yesterday"):
        with pytest.raises(ValueError):
            parse_datetime(bad)


@pytest.mark.parametrize("style", ["yyyyMMdd", "yyyy-MM-dd", "MM/dd/yyyy", "MM/dd/yy", "dd-MMM-yy"])
@pytest.mark.parametrize("separator", [";", ",", " ", "T", ""])
async def test_simulator_statement_in_every_date_format(sim, style, separator):
    sim.control.set_statement_style(style, separator)
    try:
        report = await fetch(sim)
    finally:
        sim.control.set_statement_style("yyyyMMdd", ";")
    books = {account.id: account for account in sim.control.portfolio().accounts}
    for statement in report.statements:
        account = books[statement.account_id]
        assert [t.when for t in statement.trades] == sorted(t.when for t in account.trades)
        assert [p.day for p in statement.nav_history] == sorted(account.nav_history)
        assert statement.to_date == max(account.nav_history)
        assert statement.when_generated.date() == statement.to_date


async def test_multi_account_statement_matches_the_books(sim):
    report = await fetch(sim)
    portfolio = sim.control.portfolio()
    assert len(report.statements) == len(portfolio.accounts) == 3
    for statement, account in zip(report.statements, portfolio.accounts):
        assert statement.account_id == account.id
        assert statement.name == account.name
        assert statement.base_currency == account.base
        assert statement.nav == portfolio.nav(account)
        assert {c.currency: c.ending_cash for c in statement.cash} == account.cash
        held = {h.symbol: h for h in account.holdings.values() if h.quantity}
        assert len(statement.positions) == len(held)  # lot rows are not positions of their own
        for position in statement.positions:
            holding = held[position.symbol]
            instrument = portfolio.instruments[position.symbol]
            assert position.quantity == holding.quantity
            assert position.mark_price == instrument.price
            assert position.cost_basis_price == holding.cost_price
            assert position.position_value == portfolio.value(holding)
            assert position.currency == instrument.currency
        assert [t.trade_id for t in statement.trades] == [str(t.trade_id) for t in account.trades]
    categories = {p.asset_category for s in report.statements for p in s.positions}
    assert categories == {"STK", "OPT", "CASH"}
    assert len({s.base_currency for s in report.statements}) == 3


def test_unknown_elements_and_attributes_are_tolerated():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="q" type="AF" brandNewFlag="1">
  <SomethingBeforeStatements/>
  <FlexStatements count="2" extra="x">
    <FlexStatement accountId="U1" fromDate="2026-11-01" toDate="2026-11-20" whenGenerated="2026-11-21, 08:00:00"
                   newAttr="?">
      <AccountInformation accountId="U1" currency="CHF" name="Dana" futureField="a"/>
      <EquitySummaryInBase>
        <EquitySummaryByReportDateInBase reportDate="2026-11-19" total="100.10" cash="5" novel="1"/>
        <EquitySummaryByReportDateInBase reportDate="2026-11-20" total="101.25" cash="6"/>
        <Comment>free text IB might add</Comment>
      </EquitySummaryInBase>
      <OpenPositions>
        <OpenPosition symbol="ABC" position="-7" markPrice="1.5" costBasisPrice="" openPrice="1.2"
                      fifoPnlUnrealized="--" conid="9" surprise="yes"/>
        <PositionNote>not a position</PositionNote>
      </OpenPositions>
      <Trades>
        <Trade symbol="ABC" tradeID="1" dateTime="2026-11-20, 10:00:00" quantity="-7" buySell="SELL" fancy="1"/>
        <Order symbol="ABC" quantity="-7" levelOfDetail="ORDER"/>
        <SymbolSummary symbol="ABC" levelOfDetail="SYMBOL_SUMMARY"/>
      </Trades>
      <BrandNewSection><Row a="1"/></BrandNewSection>
    </FlexStatement>
    <FlexStatement accountId="U2" whenGenerated="">
      <ChangeInNAV currency="JPY" endingValue="1234567"/>
    </FlexStatement>
  </FlexStatements>
</FlexQueryResponse>"""
    report = parse_report(parse_document(body))
    first, second = report.statements
    assert first.nav == Decimal("101.25") and first.base_currency == "CHF" and first.name == "Dana"
    assert first.base_cash == Decimal("6")
    assert first.when_generated == datetime(2026, 11, 21, 8)
    (position,) = first.positions
    assert position.quantity == Decimal("-7") and position.cost_basis_price == Decimal("1.2")
    assert position.unrealized_pnl is None and position.attrs["surprise"] == "yes"
    assert [t.trade_id for t in first.trades] == ["1"]
    assert first.account_info["futureField"] == "a"
    assert second.nav == Decimal("1234567") and second.base_currency == "JPY" and second.when_generated is None


def test_garbage_in_a_money_field_is_named():
    body = b'<FlexQueryResponse><FlexStatements><FlexStatement accountId="U9"><OpenPositions>' \
           b'<OpenPosition symbol="X" position="lots"/></OpenPositions></FlexStatement></FlexStatements></FlexQueryResponse>'
    with pytest.raises(ProviderError, match="U9: OpenPosition position='lots' is not a number"):
        parse_report(parse_document(body))


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<FlexStatementResponse><Status>Success</Status><ReferenceCode>&lol9;</ReferenceCode></FlexStatementResponse>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<FlexStatementResponse><Status>Success</Status><ReferenceCode>&x;</ReferenceCode></FlexStatementResponse>"""


@pytest.fixture(scope="module")
def hostile():
    """An endpoint answering SendRequest with the body named by the query id."""
    bodies = {"bomb": BOMB, "external": EXTERNAL, "huge": b"<FlexStatementResponse>" + b" " * 50_000,
              "html": b"<html><body>Service unavailable</body>"}

    async def answer(request):
        return text_reply(bodies[request.query["q"]], content_type="text/xml")

    async def serve(host):
        server = HttpSimulator()
        server.router.add_get("/{tail:.*}", answer)
        url = await server.listen(host)
        return RunningSimulator("hostile", {"flex": url + SERVICE_PATH}, [], server.stop)

    with simulator_in_thread(serve) as running:
        yield running


@pytest.mark.parametrize("kind, message", [
    ("bomb", "declares XML entities"),
    ("external", "declares XML entities or external references"),
    ("html", "not well-formed XML"),
])
async def test_hostile_xml_is_refused(hostile, kind, message):
    client = FlexClient("811302486412895127461539", kind, base_url=hostile.endpoints["flex"],
                        limiter=RateLimiter(0, 10_000, margin=0))
    try:
        with pytest.raises(ProviderError, match=message):
            await client.fetch()
    finally:
        await client.aclose()


async def test_oversized_answer_is_refused(hostile):
    client = FlexClient("811302486412895127461539", "huge", base_url=hostile.endpoints["flex"],
                        limiter=RateLimiter(0, 10_000, margin=0), max_bytes=10_000)
    try:
        with pytest.raises(ProviderError, match="SendRequest: refused a reply over 10,000 bytes: narrow the Flex query"):
            await client.fetch()
    finally:
        await client.aclose()
