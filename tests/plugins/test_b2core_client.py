"""The B2Core client against its simulator over loopback: paging, filters, sorting, tokens, CRUD, errors."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import pytest

from ibmon.errors import AuthError, ProviderError
from ibmon.secrets import Secret
from ibmon_b2core.client import SORT_FIELDS, B2CoreClient, B2CoreError, token_lifetime
from ibmon_b2core.records import to_account
from test_b2core_support import client_for, list_requests, sim_of, sim_pool, simulator  # noqa: F401


# -- paging ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("envelope, extra_request", [("data", 0), ("data_no_total", 1), ("bare", 1)])
async def test_every_page_is_walked_whatever_the_envelope(sim_pool, envelope, extra_request):
    # 49 accounts in pages of 7: with a total the walk stops after page 7; without one it needs
    # an eighth, empty page to know the list ended.
    running = sim_pool.get(accounts=49, envelope=envelope)
    async with client_for(running, page_size=7) as client:
        before = list_requests(running)
        items = await client.list_accounts()
        assert sorted(item["accountId"] for item in items) == sorted(sim_of(running).accounts())
        assert len(items) == 49
        assert list_requests(running) - before == 7 + extra_request


@pytest.mark.parametrize("envelope", ["data", "data_no_total", "bare"])
async def test_a_short_last_page_ends_the_walk(sim_pool, envelope):
    running = sim_pool.get(accounts=49, envelope=envelope)
    async with client_for(running, page_size=10) as client:
        before = list_requests(running)
        items = await client.list_accounts()
        assert len({item["accountId"] for item in items}) == 49
        assert list_requests(running) - before == math.ceil(49 / 10)


async def test_total_keeps_the_walk_going_when_the_server_caps_the_page_size():
    async with simulator(accounts=49, max_limit=10) as running, client_for(running, page_size=25) as client:
        items = await client.list_accounts()
        assert len({item["accountId"] for item in items}) == 49
        assert list_requests(running) == 5


async def test_page_reports_the_total_when_given(sim_pool):
    async with client_for(sim_pool.get(accounts=49, envelope="data")) as client:
        page = await client.page(offset=45, limit=10)
        assert page.total == 49 and len(page.items) == 4


# -- filters and sorting --------------------------------------------------------------------------

def _pick(sim, field):
    """A value of `field` that some but not all accounts have."""
    values = [account[field] for account in sim.accounts().values()]
    for value in values:
        if 0 < values.count(value) < len(values):
            return value
    return values[0]


def _created_at(text):
    return datetime.fromisoformat(text)


def _created(account):
    return _created_at(account["createTime"])


def _middle_time(sim):
    times = sorted(account["createTime"] for account in sim.accounts().values())
    return times[len(times) // 2]


FILTER_CASES = {
    "archived": lambda sim: (True, lambda a: a["archived"]),
    "enabled": lambda sim: (False, lambda a: not a["enabled"]),
    "currency": lambda sim: ("BTC", lambda a: a["currency"] == "BTC"),
    "number": lambda sim: (_pick(sim, "number"), None),
    "platformId": lambda sim: (_pick(sim, "platformId"), None),
    "platformGroupId": lambda sim: (_pick(sim, "platformGroupId"), None),
    "platformGroupName": lambda sim: (_pick(sim, "platformGroupName"), None),
    "profileId": lambda sim: (_pick(sim, "profileId"), None),
    "type": lambda sim: (7, lambda a: a["type"] == 7),
    "uuid": lambda sim: (next(a["uuid"] for a in sim.accounts().values() if a["uuid"]), None),
    "platform": lambda sim: ("cTrader", lambda a: a["platformName"] == "cTrader"),
    "userId": lambda sim: (lambda uid: (uid, lambda a: sim.profiles()[a["profileId"]]["userId"] == uid))(
        sim.profiles()[_pick(sim, "profileId")]["userId"]),
    "startTime": lambda sim: (_middle_time(sim), lambda a: _created(a) >= _created_at(_middle_time(sim))),
    "endTime": lambda sim: (_middle_time(sim), lambda a: _created(a) <= _created_at(_middle_time(sim))),
}


@pytest.mark.parametrize("name", sorted(FILTER_CASES))
async def test_each_filter_selects_the_matching_accounts(sim_pool, name):
    running = sim_pool.get(accounts=80)
    async with client_for(running, page_size=25) as client:
        sim = sim_of(running)
        value, predicate = FILTER_CASES[name](sim)
        predicate = predicate or (lambda a, v=value: a[name] == v)
        expected = {a["accountId"] for a in sim.accounts().values() if predicate(a)}
        assert 0 < len(expected) < len(sim.accounts()), f"the seed gives no useful {name} case"
        items = await client.list_accounts(filters={name: value})
        assert {item["accountId"] for item in items} == expected


async def test_filters_combine(sim_pool):
    running = sim_pool.get(accounts=80)
    async with client_for(running) as client:
        sim = sim_of(running)
        expected = {a["accountId"] for a in sim.accounts().values() if not a["archived"] and a["currency"] == "USD"}
        items = await client.list_accounts(filters={"archived": False, "currency": "USD"})
        assert {item["accountId"] for item in items} == expected


def _sort_value(item, field):
    if field == "trades":
        return next(m["value"] for m in item["metrics"] if m["key"] == "trades")
    if field == "number":
        return int(item["number"])
    return item[field]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("field", SORT_FIELDS)
async def test_each_sort_orders_every_page(sim_pool, field, order):
    async with client_for(sim_pool.get(accounts=80), page_size=9) as client:
        items = await client.list_accounts(sort_by=field, sort_order=order, expand=["metrics"])
        assert len(items) == 80
        values = [_sort_value(item, field) for item in items]
        assert values == sorted(values, reverse=order == "desc")
        assert len(set(map(str, values))) > 1


async def test_expansions_add_platform_profile_contacts_and_metrics(sim_pool):
    running = sim_pool.get(accounts=80)
    async with client_for(running) as client:
        sim = sim_of(running)
        account_id = next(iter(sim.accounts()))
        plain = await client.account(account_id, expand=())
        assert not {"platform", "profile", "contacts", "metrics"} & plain.keys()
        full = await client.account(account_id)
        profile = sim.profiles()[full["profileId"]]
        assert full["platform"]["name"] == full["platformName"]
        assert full["profile"]["lastName"] == profile["lastName"]
        assert full["contacts"]["email"] == profile["contacts"]["email"]
        assert full["metrics"] == [{"key": "trades", "value": sim.trades(account_id)}]
        listed = await client.list_accounts(expand=["contacts"])
        assert all("contacts" in item and "metrics" not in item for item in listed)


# -- money ------------------------------------------------------------------------------------------

async def test_eighteen_decimals_stay_exact_end_to_end():
    async with simulator(accounts=5) as running, client_for(running) as client:
        sim = sim_of(running)
        account_id = next(a["accountId"] for a in sim.accounts().values())
        sim.set_account(account_id, currency="BTC")
        digits = {"balance": "12345678.123456789012345678", "equity": "0.000000000000000001",
                  "credit": "3.000000000000000000", "profit": "-0.100000000000000009"}
        sim.set_money(account_id, **digits)
        [item] = [i for i in await client.list_accounts() if i["accountId"] == account_id]
        assert item["balance"] == "12345678.123456789012345678"
        account = to_account(item)
        for name, text in digits.items():
            value = getattr(account, name)
            assert isinstance(value, Decimal) and value == Decimal(text) and format(value, "f") == text
        assert float(account.balance) != account.balance  # the digits a float would have lost


# -- tokens -----------------------------------------------------------------------------------------

async def test_token_is_fetched_once_and_reused():
    async with simulator(accounts=30) as running, client_for(running, page_size=10) as client:
        await client.list_accounts()
        await client.metrics(next(iter(sim_of(running).accounts())))
        assert client.tokens_fetched == 1
        token_call = next(r for r in running.control.log() if r.path.endswith("/tokens"))
        assert token_call.method == "POST" and token_call.json() == {"grant_type": "client_credentials"}
        assert token_call.header("authorization").startswith("Basic ")


async def test_a_refused_token_is_renewed_once_on_401():
    async with simulator(accounts=10) as running, client_for(running) as client:
        await client.list_accounts()
        sim_of(running).expire_tokens()
        items = await client.list_accounts()
        assert len(items) == 10 and client.tokens_fetched == 2
        assert running.control.requests("/api/v2/ib/tokens") == 2


async def test_token_renewed_before_expiry_without_a_401():
    now = [0.0]
    async with simulator(accounts=3, token_ttl=100) as running, client_for(running, clock=lambda: now[0]) as client:
        await client.list_accounts()
        now[0] = 69.0
        await client.list_accounts()
        assert client.tokens_fetched == 1
        now[0] = 71.0  # within 30 s of expiry
        await client.list_accounts()
        assert client.tokens_fetched == 2
        assert list_requests(running) == 3  # no request was refused and retried


@pytest.mark.parametrize("unit, renewed_by", [("ms", 2900.0), ("none", 59.0)])
async def test_expires_in_in_milliseconds_or_missing_renews_early(unit, renewed_by):
    now = [0.0]
    async with simulator(accounts=3, token_ttl=3600, expires_in_unit=unit) as running, \
            client_for(running, clock=lambda: now[0]) as client:
        await client.list_accounts()
        now[0] = renewed_by
        await client.list_accounts()
        assert client.tokens_fetched == 2


def test_token_lifetime_reads_seconds_milliseconds_and_nonsense():
    assert token_lifetime(3600) == 3600
    assert token_lifetime("900") == 900
    assert token_lifetime(3_600_000) == 3600
    assert token_lifetime(None) == token_lifetime("soon") == token_lifetime(-5) == 60


async def test_static_token_is_used_as_given_and_refusal_is_an_auth_error():
    async with simulator(accounts=4) as running:
        token = sim_of(running).issue_token()
        async with client_for(running, client_id=None, client_secret=None, token=Secret(token)) as client:
            assert len(await client.list_accounts()) == 4
            sim_of(running).expire_tokens()
            with pytest.raises(AuthError) as caught:
                await client.list_accounts()
            assert "Unauthenticated." in caught.value.message and token not in caught.value.message
        assert running.control.requests("/api/v2/ib/tokens") == 0


async def test_wrong_client_secret_is_an_auth_error_with_the_server_message():
    async with simulator(accounts=2) as running, client_for(running, client_secret=Secret("wrong-secret")) as client:
        with pytest.raises(AuthError) as caught:
            await client.list_accounts()
        assert "Client authentication failed" in caught.value.message
        assert "wrong-secret" not in caught.value.message


# -- CRUD -----------------------------------------------------------------------------------------

async def test_create_read_update_metrics_delete():
    async with simulator(accounts=6) as running, client_for(running) as client:
        sim = sim_of(running)
        platform_id = next(iter(sim.platforms()))
        profile_id = next(iter(sim.profiles()))
        created = await client.create("777001", platform_id, profile_id)
        account_id = created["accountId"]
        assert sim.accounts()[account_id]["number"] == "777001" and created["enabled"] is True
        assert created["platformName"] == sim.platforms()[platform_id]["name"]
        assert (await client.account(account_id))["profile"]["profileId"] == profile_id

        updated = await client.update(account_id, number="777001", enabled=False)
        assert updated["enabled"] is False and sim.accounts()[account_id]["enabled"] is False
        put = [r for r in running.control.log() if r.method == "PUT"][-1]
        assert put.json() == {"number": "777001", "enabled": False}

        sim.set_trades(account_id, 101)
        assert await client.metrics(account_id) == {"trades": 101}

        await client.delete(account_id)
        assert account_id not in sim.accounts()
        with pytest.raises(B2CoreError) as caught:
            await client.account(account_id)
        assert caught.value.status == 404 and f"Account {account_id} not found" in caught.value.message


async def test_update_with_patch_sends_only_the_changed_fields():
    async with simulator(accounts=3) as running, client_for(running, update_method="PATCH") as client:
        account_id = next(iter(sim_of(running).accounts()))
        await client.update(account_id, enabled=True)
        patch = [r for r in running.control.log() if r.method == "PATCH"][-1]
        assert patch.json() == {"enabled": True}
        assert sim_of(running).accounts()[account_id]["enabled"] is True


# -- errors -----------------------------------------------------------------------------------------

async def test_validation_error_carries_the_server_message_and_fields():
    async with simulator(accounts=3) as running, client_for(running) as client:
        sim = sim_of(running)
        existing = next(iter(sim.accounts().values()))
        with pytest.raises(B2CoreError) as caught:
            await client.create(existing["number"], existing["platformId"], "no-such-profile")
        error = caught.value
        assert error.status == 422
        assert error.fields == {"number": ["The number has already been taken on this platform."],
                                "profileId": ["The selected profile id is invalid."]}
        assert "The given data was invalid." in error.message and "already been taken" in error.message


async def test_bad_request_names_the_unknown_filter():
    async with simulator(accounts=3) as running, client_for(running) as client:
        with pytest.raises(B2CoreError) as caught:
            await client.list_accounts(filters={"colour": "red"})
        assert caught.value.status == 400 and "Unknown filter: colour" in caught.value.message
        assert caught.value.permanent


async def test_forbidden_write_is_an_auth_error_with_the_server_message():
    from ibmon_b2core.sim import READONLY_CLIENT_ID, READONLY_CLIENT_SECRET

    async with simulator(accounts=3) as running, \
            client_for(running, client_id=READONLY_CLIENT_ID, client_secret=Secret(READONLY_CLIENT_SECRET)) as client:
        assert len(await client.list_accounts()) == 3
        with pytest.raises(AuthError) as caught:
            await client.update(next(iter(sim_of(running).accounts())), number="1", enabled=False)
        assert "403" in caught.value.message and "This action is unauthorized." in caught.value.message


async def test_server_errors_are_transient_and_carry_the_message():
    async with simulator(accounts=3, error_rate=1.0) as running, client_for(running) as client:
        with pytest.raises(B2CoreError) as caught:
            await client.list_accounts()
        assert caught.value.status == 500 and "simulated internal error" in caught.value.message
        assert not caught.value.permanent


async def test_slow_replies_end_at_the_request_deadline():
    async with simulator(accounts=3, delay=0.5) as running, client_for(running, timeout=0.1) as client:
        with pytest.raises(ProviderError) as caught:
            await client.list_accounts()
        assert caught.value.message == "B2Core POST /tokens: no answer within 0.1 s"


async def test_unreachable_server_is_a_provider_error():
    client = B2CoreClient("http://127.0.0.1:9/api", token=Secret("static-token-value"))
    try:
        with pytest.raises(ProviderError) as caught:
            await client.list_accounts()
        assert "B2Core GET /accounts" in caught.value.message
    finally:
        await client.aclose()
