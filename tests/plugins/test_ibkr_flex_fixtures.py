"""Flex statements written from IB's documented formats and public parsers' test statements
(tests/fixtures/flex/*.xml, each naming its sources), independent of the Flex simulator: parsed
directly, and served over loopback to the real client, session, feed runtime and snapshot."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ibmon.api import Provider
from ibmon.feeds import FeedRuntime
from ibmon.model import HealthState
from ibmon.money import dumps_default
from ibmon.simkit import HttpSimulator, text_reply
from ibmon.snapshot import connection_report
from ibmon.store import Store, StoreView
from ibmon.testing import make_context, wait_for
from ibmon_ibkr_flex import OPTIONS, PROVIDER
from ibmon_ibkr_flex.kinds import KINDS
from ibmon_ibkr_flex.ratelimit import RateLimiter
from ibmon_ibkr_flex.session import FlexSession, account_of, positions_of
from ibmon_ibkr_flex.sim import SERVICE_PATH
from ibmon_ibkr_flex.statement import FlexStatement, parse_document, parse_report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "flex"
D = Decimal


def statement(name: str) -> FlexStatement:
    (only,) = parse_report(parse_document((FIXTURES / name).read_bytes())).statements
    return only


def by_symbol(item: FlexStatement) -> dict:
    return {position.symbol: position for position in item.positions}


def test_a_lot_level_query_shows_each_contract_once_with_its_lots_summed():
    lots = statement("lot_level.xml")
    positions = by_symbol(lots)
    assert list(positions) == ["AAPL", "SAP", "VXX", "AAPL  261218C00250000"]  # first appearance
    aapl = positions["AAPL"]
    assert (aapl.quantity, aapl.mark_price, aapl.position_value, aapl.cost_basis_money, aapl.unrealized_pnl,
            aapl.cost_basis_price, aapl.lots) == (D(100), D("182.3"), D(18230), D(14550), D(3680), D("145.50"), 2)
    sap = positions["SAP"]
    assert (sap.quantity, sap.currency, sap.position_value, sap.cost_basis_money, sap.unrealized_pnl) == (
        D(30), "EUR", D("5418.6"), D(4687), D("731.6"))
    assert sap.cost_basis_price == D("156.23333")  # 4687 / 30, four places finer than the lots (151.8, 165.1)
    option = positions["AAPL  261218C00250000"]
    assert (option.quantity, option.position_value, option.cost_basis_price, option.asset_category) == (
        D(5), D(5925), D("9.68"), "OPT")
    vxx = positions["VXX"]  # a single short lot stands as it is
    assert (vxx.quantity, vxx.cost_basis_money, vxx.unrealized_pnl, vxx.lots) == (D(-100), D("-3440.5"), D("-112.5"), 1)

    mapped = {p.symbol: p for p in positions_of(lots)}
    assert (mapped["AAPL"].volume, mapped["AAPL"].open_price, mapped["AAPL"].profit, mapped["AAPL"].id) == (
        D(100), D("145.50"), D(3680), "265598")
    assert (mapped["VXX"].side, mapped["VXX"].volume) == ("sell", D(100))
    assert len(mapped) == 4


def test_lots_disagreeing_on_the_mark_or_missing_a_figure_leave_it_unknown():
    body = (FIXTURES / "lot_level.xml").read_bytes()
    body = body.replace(b'position="40" markPrice="182.3" positionValue="7292"',
                        b'position="40" markPrice="182.4" positionValue=""')
    aapl = by_symbol(parse_report(parse_document(body)).statements[0])["AAPL"]
    assert (aapl.quantity, aapl.mark_price, aapl.position_value, aapl.cost_basis_money) == (D(100), None, None, D(14550))


def test_summary_rows_win_over_their_lots():
    both = statement("summary_and_lots.xml")
    positions = by_symbol(both)
    assert list(positions) == ["SAP", "NESN"] and all(p.lots == 0 for p in positions.values())
    assert positions["SAP"].cost_basis_price == D("156.2333333")  # IB's summary figure, not an average of lots
    assert (positions["SAP"].quantity, positions["NESN"].quantity) == (D(30), D(50))
    assert both.when_generated == datetime(2023, 10, 18, 8, 30, 15)  # yyyy-MM-dd with ","


def test_trades_with_trade_date_and_trade_time_keep_their_time():
    old = statement("trade_date_time.xml")
    assert [(t.trade_id, t.when) for t in old.trades] == [
        ("594763101", datetime(2011, 8, 11, 9, 31, 7)),
        ("594763148", datetime(2011, 8, 11, 12, 4, 59)),
        ("594763150", datetime(2011, 8, 11, 16, 20)),
        ("594770001", datetime(2011, 8, 12)),  # no time given: the date alone
    ]
    us = statement("trade_date_time_us.xml")
    assert [(t.trade_id, t.when) for t in us.trades] == [
        ("720000001", datetime(2023, 10, 17, 10, 12, 35)), ("720000002", datetime(2023, 10, 17, 15, 59, 58))]
    assert us.when_generated == datetime(2023, 10, 18, 8, 30, 15) and us.nav == D("30211.87")


def test_a_bad_trade_time_names_the_fields():
    from ibmon.errors import ProviderError

    body = (FIXTURES / "trade_date_time.xml").read_bytes().replace(b'tradeTime="162000"', b'tradeTime="4pm"')
    with pytest.raises(ProviderError, match="U123456: Trade tradeDate/tradeTime: '4pm' is not a Flex time"):
        parse_report(parse_document(body))


def test_a_statement_without_nav_keeps_cash_positions_and_trades_with_an_unknown_balance():
    no_nav = statement("no_nav.xml")
    assert no_nav.nav is None and no_nav.nav_history == () and no_nav.base_currency == "EUR"
    assert no_nav.base_cash == D("38704.55") and len(no_nav.positions) == 2 and len(no_nav.trades) == 1
    account = account_of(no_nav)
    assert account.balance is None and account.currency == "EUR"
    assert dict(account.extra)["cash"] == "38704.55"


def test_without_a_base_summary_cash_is_reported_per_currency():
    per_currency = statement("no_base_summary.xml")
    assert per_currency.base_cash is None and per_currency.nav == D("30211.87")
    assert [(c.currency, c.ending_cash, c.ending_settled_cash) for c in per_currency.cash] == [
        ("GBP", D(15000), D(15000)), ("USD", D(24000), D("23650.5"))]
    facts = dict(account_of(per_currency).extra)
    assert "cash" not in facts and (facts["cash GBP"], facts["cash USD"]) == ("15000", "24000")


# -- through the client, the session, the feed runtime and the snapshot -----------------------------

TOKEN = "811302486412895127461539"


@pytest.fixture
async def serve():
    """An endpoint that answers SendRequest with a reference and GetStatement with a fixture."""
    servers = []

    async def start(name: str) -> str:
        body = (FIXTURES / name).read_bytes()

        async def handle(request):
            if request.path.endswith("/SendRequest"):
                return text_reply(b"<FlexStatementResponse><Status>Success</Status>"
                                  b"<ReferenceCode>1234567890</ReferenceCode></FlexStatementResponse>",
                                  content_type="text/xml")
            return text_reply(body, content_type="text/xml")

        server = HttpSimulator()
        server.router.add_get("/{path:.*}", handle)
        servers.append(server)
        return f"{await server.listen()}{SERVICE_PATH}"

    yield start
    for server in servers:
        await server.stop()


async def poll_once(base_url: str) -> tuple[Store, FeedRuntime]:
    provider = Provider(name=PROVIDER, title="IBKR Flex", options=OPTIONS, kinds=KINDS,
                        connect=lambda ctx: FlexSession(ctx, limiter=RateLimiter(0, 10_000, margin=0), first_delay=0))
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    runtime.add(provider, make_context(provider, name="flex", token=TOKEN, query_id="1", base_url=base_url))
    await runtime.start()
    await wait_for(lambda: "flex" in store.health and store.health["flex"].state is not HealthState.CONNECTING, 10)
    await runtime.stop()
    return store, runtime


async def test_a_nav_less_statement_is_live_with_a_note_and_a_null_balance(serve):
    store, _ = await poll_once(await serve("no_nav.xml"))
    health = store.health["flex"]
    assert health.state is HealthState.LIVE, health.detail
    assert health.notes == ("balance unknown for U7654321: add the 'Net Asset Value (NAV) in Base' or "
                            "'Change in NAV' section to the Flex query",)
    account = store.accounts["flex"]["U7654321"]
    assert account.balance is None and account.currency == "EUR"
    assert {p.symbol for p in store.positions["flex"].values()} == {"SAP", "SPY   261218P00500000"}
    document = json.loads(json.dumps(connection_report("flex", PROVIDER, True, None, StoreView(store)), default=dumps_default))
    assert document["accounts"][0]["balance"] is None and document["accounts"][0]["currency"] == "EUR"
    assert len(document["positions"]) == 2


async def test_a_lot_level_statement_fills_the_store_with_summed_positions(serve):
    store, _ = await poll_once(await serve("lot_level.xml"))
    assert store.health["flex"].state is HealthState.LIVE and store.health["flex"].notes == ()
    positions = {p.symbol: p for p in store.positions["flex"].values()}
    assert (positions["AAPL"].volume, positions["AAPL"].profit) == (D(100), D(3680))
    assert store.accounts["flex"]["U1234567"].balance == D("125042.18")
