"""The Impact CRM client against its simulator over loopback: login, re-login, counts, paging,
required filters, fake transactions and the errors a user sees."""

from __future__ import annotations

import asyncio
import calendar
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from ibmon.errors import AuthError, ConfigError, ProviderError
from ibmon_crm import client as api
from ibmon_crm.client import CrmClient
from ibmon_crm.records import TagCategory, TradingAccount, parse_servers, parse_tags, parse_trading_accounts
from ibmon_crm.session import utc_today
from ibmon_crm.sim import start

from crm_support import Crm, crm_in_thread

LEADS = "/api/v1/ib/leads"


@pytest.fixture(scope="module")
def shared_crm():
    with crm_in_thread() as crm:
        yield crm


@pytest.fixture(scope="module")
def huge_crm():
    with crm_in_thread(huge_leads=1_000_000, conversion_delay=0) as crm:  # counts stay put while tests compare
        yield crm


@pytest.fixture
def crm(shared_crm):
    return shared_crm.fresh()


@pytest.fixture
def huge(huge_crm):
    return huge_crm.fresh()


def make_client(crm: Crm, **overrides) -> CrmClient:
    options = {"domain": crm.domain, "api_key": crm.api_key, "email": crm.email, "password": crm.password,
               **overrides}
    return CrmClient(crm.url, **options)


def epoch(day: date) -> float:
    return float(calendar.timegm(day.timetuple()))


TODAY = utc_today()
YEAR_AGO = TODAY - timedelta(days=400)


async def test_logs_in_once_and_sends_the_three_headers(crm):
    client = make_client(crm)
    try:
        await client.count(api.leads(TODAY - timedelta(days=6), TODAY))
        await client.count(api.registrations(TODAY - timedelta(days=6), TODAY))
    finally:
        await client.close()
    assert crm.control.requests("/api/v1/auth/login") == 1
    login, *calls = crm.control.log()
    assert login.method == "POST" and login.json()["email"] == crm.email and login.json()["rememberMe"] is True
    for request in calls:
        assert request.header("X-Api-Key") == crm.api_key
        assert request.header("X-DOMAIN") == crm.domain
        assert request.header("X-Auth-Token")


async def test_logs_in_again_once_when_the_token_expires(crm):
    client = make_client(crm)
    query = api.leads(TODAY - timedelta(days=29), TODAY)
    try:
        first = await client.count(query)
        crm.control.expire_tokens()
        assert await client.count(query) == first
    finally:
        await client.close()
    assert client.logins == 2
    assert crm.control.requests("/api/v1/auth/login") == 2
    assert crm.control.requests(LEADS) == 3  # the refused call and its retry


async def test_tokens_expire_after_their_lifetime():
    running = await start(tick=0, token_ttl=0.2)
    client = make_client(Crm(running))
    query = api.leads(TODAY, TODAY)
    try:
        await client.count(query)
        await asyncio.sleep(0.3)
        await client.count(query)
    finally:
        await client.close()
        await running.stop()
    assert client.logins == 2


async def test_counts_cost_one_request_each_at_a_million_leads(huge):
    client = make_client(huge)
    try:
        await client.login()
        before = huge.control.counts()
        leads = await client.count(api.leads(YEAR_AGO, TODAY))
        registrations = await client.count(api.registrations(YEAR_AGO, TODAY))
        transactions = await client.count(api.transactions(YEAR_AGO, TODAY))
    finally:
        await client.close()
    assert leads == 1_000_000
    bounds = (epoch(YEAR_AGO), epoch(TODAY + timedelta(days=1)))
    assert registrations == huge.control.population().select_customers(bounds, None, float("inf")).total > 100_000
    assert transactions == huge.control.population().select_transactions(bounds, False).total > 100_000
    spent = huge.control.counts() - before
    assert dict(spent) == {LEADS: 1, "/api/v1/ib/registrations": 1, "/api/v1/ib/transactions": 1}
    assert all(r.query["pageSize"] == "1" for r in huge.control.log()[-3:])


async def test_pages_are_fetched_only_as_they_are_read(huge):
    client = make_client(huge)
    seen: list[str] = []
    try:
        pages = client.pages(api.leads(YEAR_AGO, TODAY), page_size=250)
        async for page in pages:
            seen.extend(lead.id for lead in page.items)
            assert page.total == 1_000_000 and not page.last
            if page.page == 3:
                break
        await pages.aclose()
    finally:
        await client.close()
    assert huge.control.requests(LEADS) == 3
    assert [r.query["page"] for r in huge.control.log() if r.path == LEADS] == ["1", "2", "3"]
    assert len(seen) == len(set(seen)) == 750
    assert seen == sorted(seen, key=int)


async def test_a_walk_ends_at_the_last_page(crm):
    client = make_client(crm)
    query = api.leads(TODAY - timedelta(days=6), TODAY)
    try:
        total = await client.count(query)
        pages = [page async for page in client.pages(query, page_size=40)]
    finally:
        await client.close()
    assert len(pages) == -(-total // 40) and pages[-1].last
    assert sum(len(page.items) for page in pages) == total


@pytest.mark.parametrize("path, missing", [
    (LEADS, "registrationDateFrom and registrationDateTo, or lastModifiedDateFrom"),
    ("/api/v1/ib/registrations", "registrationDateFrom and registrationDateTo, or lastModifiedDateFrom"),
    ("/api/v1/ib/transactions", "transactionDateFrom and transactionDateTo are required"),
    ("/api/v1/ib/positions", "serverTag, positionCloseDateFrom and positionCloseDateTo are required"),
])
async def test_the_simulator_refuses_a_request_without_its_required_filters(crm, path, missing):
    client = make_client(crm)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.get(path, {"page": "1"})
    finally:
        await client.close()
    assert caught.value.code == "400" and caught.value.permanent
    assert missing in caught.value.message
    async with httpx.AsyncClient(base_url=crm.url) as raw:
        token = (await raw.post("/api/v1/auth/login", headers={"X-Api-Key": crm.api_key, "X-DOMAIN": crm.domain},
                                json={"email": crm.email, "password": crm.password})).json()["token"]
        reply = await raw.get(path, headers={"X-Api-Key": crm.api_key, "X-DOMAIN": crm.domain,
                                             "X-Auth-Token": token})
    assert reply.status_code == 400
    assert reply.json()["status"] == 400 and missing in reply.json()["message"]


async def test_half_a_date_pair_and_malformed_dates_are_refused(crm):
    client = make_client(crm)
    try:
        with pytest.raises(ProviderError, match="registrationDateTo is required together"):
            await client.get(LEADS, {"registrationDateFrom": "2026-01-01"})
        with pytest.raises(ProviderError, match="YYYY-MM-DD"):
            await client.get(LEADS, {"registrationDateFrom": "01/02/2026", "registrationDateTo": "2026-02-01"})
    finally:
        await client.close()


async def test_the_client_always_sends_the_required_filters_as_dates(crm):
    client = make_client(crm)
    try:
        await client.count(api.leads(date(2026, 1, 2), date(2026, 3, 4)))
        await client.count(api.transactions(date(2026, 1, 2), date(2026, 3, 4)))
        await client.count(api.positions("mt5-live-01", date(2026, 1, 2), date(2026, 3, 4)))
    finally:
        await client.close()
    leads, transactions, positions = crm.control.log()[1:]
    assert (leads.query["registrationDateFrom"], leads.query["registrationDateTo"]) == ("2026-01-02", "2026-03-04")
    assert (transactions.query["transactionDateFrom"], transactions.query["includeFake"]) == ("2026-01-02", "false")
    assert (positions.query["serverTag"], positions.query["positionCloseDateTo"]) == ("mt5-live-01", "2026-03-04")
    with pytest.raises(ProviderError, match="server tag"):
        api.positions("", TODAY, TODAY)


async def test_fake_transactions_only_with_include_fake(crm):
    client = make_client(crm)
    first = TODAY - timedelta(days=59)
    try:
        real = [tx async for page in client.pages(api.transactions(first, TODAY)) for tx in page.items]
        everything = [tx async for page in client.pages(api.transactions(first, TODAY, include_fake=True))
                      for tx in page.items]
        counted = await client.count(api.transactions(first, TODAY, include_fake=True))
    finally:
        await client.close()
    fakes = [tx for tx in everything if tx.is_fake]
    assert fakes and not any(tx.is_fake for tx in real)
    assert counted == len(everything) == len(real) + len(fakes)
    assert {tx.id for tx in real} == {tx.id for tx in everything if not tx.is_fake}


async def test_amounts_are_exact_decimals_from_json_numbers(crm):
    client = make_client(crm)
    try:
        page = await client.page(api.transactions(TODAY - timedelta(days=29), TODAY), 1, 50)
    finally:
        await client.close()
    raw = crm.control.log()[-1]
    assert raw.path == "/api/v1/ib/transactions"
    assert page.items and all(type(tx.amount) is Decimal and tx.amount.as_tuple().exponent == -2
                              for tx in page.items)
    assert {tx.kind for tx in page.items} == {"deposits", "withdrawals"}
    assert any(tx.product is None for tx in page.items)  # "N/A" in the CRM


async def test_customers_carry_their_trading_accounts(crm):
    client = make_client(crm)
    try:
        page = await client.page(api.registrations(TODAY - timedelta(days=29), TODAY), 1, 100)
        servers = await client.servers()
    finally:
        await client.close()
    tags = {tag for group in servers.values() for tag in group}
    assert set(servers) == {"mt4", "mt5"}
    assert page.items and all(c.accounts for c in page.items)
    assert all(a.server in tags and a.type == "live" and a.login.isdigit() for c in page.items for a in c.accounts)
    assert any(len(c.accounts) > 1 for c in page.items)
    assert all(c.tags and c.utm and c.email for c in page.items)


def test_trading_accounts_are_read_in_every_spelling():
    expected = (TradingAccount("12345", "mt4", "live"), TradingAccount("67890", "mt5-live-01", "live"))
    assert parse_trading_accounts("(12345, mt4, live), (67890, mt5-live-01, live)") == expected
    assert parse_trading_accounts("12345, mt4, live, 67890, mt5-live-01, live") == expected
    assert parse_trading_accounts(["12345, mt4, live", "(67890, mt5-live-01, live)"]) == expected
    assert parse_trading_accounts(None) == ()


async def test_a_wrong_api_key_is_reported_as_such(crm):
    client = make_client(crm, api_key="not-the-key")
    try:
        with pytest.raises(AuthError) as caught:
            await client.count(api.leads(TODAY, TODAY))
    finally:
        await client.close()
    assert "api_key" in caught.value.message and "not valid" in caught.value.message
    assert "not-the-key" not in caught.value.message


async def test_a_missing_api_key_is_named(crm):
    client = make_client(crm, api_key="")
    try:
        with pytest.raises(AuthError, match="X-Api-Key header is missing"):
            await client.count(api.leads(TODAY, TODAY))
    finally:
        await client.close()


async def test_a_wrong_domain_is_named(crm):
    client = make_client(crm, domain="other.example.com")
    try:
        with pytest.raises(AuthError) as caught:
            await client.count(api.leads(TODAY, TODAY))
    finally:
        await client.close()
    assert caught.value.code == "403"
    assert "'other.example.com'" in caught.value.message and "set domain" in caught.value.message


async def test_wrong_credentials_keep_the_password_out_of_the_message(crm):
    client = make_client(crm, password="wrong-password-123")
    try:
        with pytest.raises(AuthError, match="invalid email or password") as caught:
            await client.login()
    finally:
        await client.close()
    assert "wrong-password-123" not in str(caught.value)


async def test_header_checks_of_the_simulator(crm):
    async with httpx.AsyncClient(base_url=crm.url) as raw:
        no_key = await raw.get(LEADS, headers={"X-DOMAIN": crm.domain})
        wrong_domain = await raw.get(LEADS, headers={"X-Api-Key": crm.api_key, "X-DOMAIN": "nope.example"})
        no_token = await raw.get(LEADS, headers={"X-Api-Key": crm.api_key, "X-DOMAIN": crm.domain})
    assert (no_key.status_code, no_key.json()["message"]) == (401, "X-Api-Key header is missing")
    assert wrong_domain.status_code == 403 and "'nope.example'" in wrong_domain.json()["message"]
    assert no_token.status_code == 401 and "X-Auth-Token" in no_token.json()["message"]


async def test_server_errors_are_transient_and_settings_reach_the_simulator():
    with pytest.raises(ConfigError, match='simulator "crm": unknown setting "not_a_crm_setting"'):
        await start(not_a_crm_setting=True)
    running = await start(tick=0, error_rate=1.0)
    client = make_client(Crm(running))
    try:
        with pytest.raises(ProviderError) as caught:
            await client.login()
    finally:
        await client.close()
        await running.stop()
    assert caught.value.code == "500" and not caught.value.permanent
    assert "simulated internal error" in caught.value.message
    connection = running.connections[0]
    assert connection["provider"] == "crm" and connection["base_url"] == running.endpoints["api"]


async def test_an_unreachable_crm_is_a_transport_error():
    client = CrmClient("http://127.0.0.1:9", domain="d", api_key="key-1234", email="e", password="pw-1234",
                       timeout=2)
    try:
        with pytest.raises(ProviderError, match="CRM POST /api/v1/auth/login: ConnectError"):
            await client.login()
    finally:
        await client.close()


async def test_every_third_call_finding_its_token_expired_costs_one_login_each():
    crm = Crm(await start(tick=0, expire_tokens=3))
    client = make_client(crm)
    query = api.leads(TODAY - timedelta(days=6), TODAY)
    try:
        counts = {await client.count(query) for _ in range(6)}
    finally:
        await client.close()
        await crm.running.stop()
    assert len(counts) == 1
    # calls 3 and 6 are refused; each is retried once after a fresh login
    assert crm.control.requests(LEADS) == 8 and client.logins == 3


async def test_a_token_refused_right_after_a_fresh_login_is_reported():
    crm = Crm(await start(tick=0, token_ttl=0))
    client = make_client(crm)
    try:
        with pytest.raises(AuthError, match="again after a fresh login"):
            await client.count(api.leads(TODAY, TODAY))
    finally:
        await client.close()
        await crm.running.stop()
    assert client.logins == 2 and crm.control.requests(LEADS) == 2


async def test_slow_replies_end_at_the_request_deadline(crm):
    crm.control.set_faults(delay=0.3)
    client = CrmClient(crm.url, domain=crm.domain, api_key=crm.api_key, email=crm.email,
                       password=crm.password, timeout=0.1)
    try:
        with pytest.raises(ProviderError, match="^CRM POST /api/v1/auth/login: no answer within 0.1 s$"):
            await client.login()
    finally:
        await client.close()


def test_tags_and_servers_are_read_in_either_shape():
    assert parse_tags(["VIP", "Webinar"]) == (TagCategory("", ("VIP", "Webinar")),)
    assert parse_tags([{"category": "Source", "tags": ["Webinar"]}]) == (TagCategory("Source", ("Webinar",)),)
    grouped = {"mt4": ("a", "b"), "mt5": ("c",)}
    assert parse_servers({"mt4": ["a", "b"], "mt5": ["c"]}) == grouped
    groups = [{"platform": "mt4", "servers": ["a", "b"]}, {"platform": "mt5", "servers": ["c"]}]
    assert parse_servers(groups) == grouped
