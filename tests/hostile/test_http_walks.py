"""Endless lists against the real sessions: a `total` of 10^12, a cursor that never ends, the same page
or cursor forever. Each walk stops at its cap (or at the repeat) after exactly that many requests,
the records read so far are delivered, and the health line says why the list is incomplete."""

from __future__ import annotations

import itertools
import pytest

from http_servers import HostileServer, Request, answer, route
from ibmon.plugins import PluginHost
from ibmon.testing import RecordingSink, make_context

HUGE = 10**12


@pytest.fixture(scope="module")
def providers():
    host = PluginHost()
    host.load(only=["b2core", "ctrader", "crm"])
    return host.providers


async def poll(provider, **options) -> RecordingSink:
    session = provider.connect(make_context(provider, name="hostile", **options))
    sink = RecordingSink()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    return sink


# -- B2Core: offset paging with a total ------------------------------------------------------------

def b2core_account(number: int) -> dict:
    return {"accountId": f"acc-{number}", "number": str(5000 + number), "balance": "1.00", "currency": "USD"}


def endless_accounts(request: Request) -> dict:
    """A fresh page at every offset, and a total no walk could reach."""
    offset, limit = int(request.query["offset"]), int(request.query["limit"])
    return {"data": [b2core_account(offset + i) for i in range(limit)], "total": HUGE}


def b2core(server: HostileServer, **options) -> dict:
    return {"base_url": f"{server.url}/api/v2/ib", "token": "static-token-4bf1a7", "page_size": 10, **options}


@pytest.mark.parametrize("caps, pages, note", [
    ({"max_pages": 5}, 5, "B2Core account list stopped after 5 pages (max_pages), 50 records read"),
    ({"max_records": 25}, 3, "B2Core account list stopped at 30 records (max_records), after 3 pages"),
])
async def test_a_total_of_a_trillion_stops_at_the_cap(providers, caps, pages, note):
    with HostileServer(answer(endless_accounts)) as server:
        sink = await poll(providers["b2core"], **b2core(server, **caps))
    assert server.requests["/api/v2/ib/accounts"] == pages
    assert sorted(sink.account_records) == sorted(f"acc-{n}" for n in range(pages * 10))
    assert sink.notes == (note,)


async def test_a_server_that_ignores_the_offset_is_read_once(providers):
    same_page = {"data": [b2core_account(n) for n in range(10)], "total": HUGE}
    with HostileServer(answer(same_page)) as server:
        sink = await poll(providers["b2core"], **b2core(server))
    assert server.requests["/api/v2/ib/accounts"] == 2  # the second answer is the repeat
    assert len(sink.account_records) == 10
    assert sink.notes == ("B2Core account list stopped after 1 page: the server sent a page again",)


async def test_a_complete_list_leaves_no_note(providers):
    short = {"data": [b2core_account(n) for n in range(10)], "total": 10}
    with HostileServer(answer(short)) as server:
        sink = await poll(providers["b2core"], **b2core(server))
    assert len(sink.account_records) == 10 and sink.notes == ()


# -- cTrader: cursors --------------------------------------------------------------------------------

def ctrader_position(number: int) -> dict:
    return {"positionId": number, "symbolName": "EURUSD", "tradeSide": "BUY", "volume": 100000, "profit": 0}


def ctrader_server(positions) -> HostileServer:
    return HostileServer(route({
        "/positions": answer(positions),
        "/symbols": answer({"data": []}),
        "/tradingaccounts": answer({"data": [{"accountId": 7, "accountNumber": 7001, "balance": 100000,
                                              "depositCurrency": "USD", "live": False}]}),
    }))


def endless_cursor(request: Request) -> dict:
    page = int(request.query.get("cursor", "c0")[1:])
    return {"data": [ctrader_position(page * 10 + i) for i in range(10)], "next": f"c{page + 1}"}


def ctrader(server: HostileServer, **options) -> dict:
    return {"base_url": server.url, "access_token": "ctrader-token-93c2d1", "symbols": [], **options}


async def test_a_cursor_that_never_ends_stops_at_max_pages(providers):
    with ctrader_server(endless_cursor) as server:
        sink = await poll(providers["ctrader"], **ctrader(server, max_pages=4))
    assert server.requests["/connect/tradingaccounts/7/positions"] == 4
    assert len(sink.position_records) == 40
    assert sink.notes == ("cTrader positions of account 7 stopped after 4 pages (max_pages), 40 records read",)
    assert sink.account_records["7"].balance == 1000  # the account is shown all the same


async def test_a_repeated_cursor_ends_the_walk(providers):
    fresh = itertools.count()

    def same_cursor(request: Request) -> dict:
        return {"data": [ctrader_position(next(fresh)) for _ in range(10)], "next": "again"}

    with ctrader_server(same_cursor) as server:
        sink = await poll(providers["ctrader"], **ctrader(server))
    assert server.requests["/connect/tradingaccounts/7/positions"] == 2
    assert len(sink.position_records) == 20
    assert sink.notes == ("cTrader positions of account 7 stopped after 2 pages: the server repeated a cursor",)


# -- CRM: numbered pages -------------------------------------------------------------------------------

def crm_lists(request: Request) -> dict:
    """Every list claims a trillion records; transaction pages are fresh deposits of today."""
    number, size = int(request.query["page"]), int(request.query["pageSize"])
    data = []
    if request.path.endswith("/transactions") and size > 1:
        from ibmon_crm.session import utc_today

        today = utc_today().isoformat()
        data = [{"id": str(number * size + i), "customerId": "c1", "type": "Deposit", "amount": "10.00",
                 "currency": "USD", "transactionDate": today} for i in range(size)]
    return {"total": HUGE, "page": number, "pageSize": size, "data": data}


async def test_a_crm_walk_over_a_trillion_transactions_stops_at_max_pages(providers):
    with HostileServer(route({"/auth/login": answer({"token": "crm-session-token-0c1d"})},
                             answer(crm_lists))) as server:
        sink = await poll(providers["crm"], base_url=server.url, domain="ib.example.com", api_key="crm-key-51aa0e",
                          email="ib@example.com", password="crm-password-77d0c3", page_size=50, max_pages=3)
    walked = [r for r in server.log if r.path.endswith("/transactions") and r.query["pageSize"] == "50"]
    assert [r.query["page"] for r in walked] == ["1", "2", "3"]
    assert sink.notes == ("amounts are partial: CRM transactions stopped after 3 pages (max_pages), "
                          "150 records read",)
    lookback = sink.lead_records["30d"]
    assert lookback.transactions == HUGE  # the count itself is the server's
    assert dict(((c, k), v) for c, k, v in lookback.amounts) == {("USD", "deposits"): 1500}
