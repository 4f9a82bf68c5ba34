"""The cTrader Accounts API client against its simulator over loopback: cursors, caps, errors,
redaction of the access token."""

from __future__ import annotations

import logging
import socket
from datetime import date, datetime, time, timedelta, timezone

import pytest

from ibmon.errors import AuthError, ProviderError, describe_exception
from ibmon_ctrader.client import CTraderClient
from ibmon.simkit import text_reply
from ibmon.testing import simulator_in_thread
from ibmon_ctrader.sim import ORPHAN_TOKEN, READONLY_TOKEN, start

LIVE_USD, DEMO_EUR, DELETED = 5_010_001, 5_010_002, 5_010_005


@pytest.fixture(scope="module")
def shared():
    # One simulator for the module, on a loop of its own thread (each test has its own loop);
    # the ticker stays still: tests that need a moving market move it themselves.
    with simulator_in_thread(start, interval=3600, seed=7) as running:
        yield running


@pytest.fixture
def running(shared):
    """The shared simulator with its fault knobs reset and its request log emptied."""
    shared.control.clear_faults()
    shared.control.restore_token()
    shared.control.clear_log()
    return shared


@pytest.fixture
def sim(running):
    return running.control


@pytest.fixture
def token(running):
    return running.connections[0]["access_token"]


@pytest.fixture
async def client(running, token):
    client = CTraderClient(running.endpoints["api"], token)
    yield client
    await client.close()


def requests_to(running, suffix):
    return running.control.log(suffix)


def newest_first(items, ts_key, id_key):
    return sorted(items, key=lambda i: (i[ts_key], i[id_key]), reverse=True)


async def test_schema_is_served_without_a_token(running):
    anonymous = CTraderClient(running.endpoints["api"], "not-a-valid-token")
    try:
        assert "TradingAccountJson" in await anonymous.schema()
    finally:
        await anonymous.close()
    assert "access_token" not in requests_to(running, "/connect/schema")[-1].query


async def test_cursor_walk_without_timestamps_visits_every_page_newest_first(running, sim, client):
    pages = [page async for page in client.walk(LIVE_USD, "deals", limit=25)]
    expected = newest_first(sim.account(LIVE_USD).deals, "createTimestamp", "dealId")
    assert len(pages) >= 3 and all(len(p.items) == 25 for p in pages[:-1]) and pages[-1].next is None
    assert [d["dealId"] for p in pages for d in p.items] == [d["dealId"] for d in expected]
    sent = requests_to(running, f"/{LIVE_USD}/deals")
    assert "cursor" not in sent[0].query and "fromTimestamp" not in sent[0].query
    assert [r.query["cursor"] for r in sent[1:]] == [p.next for p in pages[:-1]]


async def test_cursor_walk_with_timestamps_keeps_to_the_inclusive_range(running, sim, client):
    deals = sorted(sim.account(DEMO_EUR).deals, key=lambda d: d["createTimestamp"])
    low, high = deals[5]["createTimestamp"], deals[-6]["createTimestamp"]
    pages = [page async for page in client.walk(DEMO_EUR, "deals", from_ts=low, to_ts=high, limit=25)]
    got = [d for p in pages for d in p.items]
    expected = newest_first([d for d in deals if low <= d["createTimestamp"] <= high], "createTimestamp", "dealId")
    assert len(pages) >= 3
    assert [d["dealId"] for d in got] == [d["dealId"] for d in expected]
    assert got[0]["createTimestamp"] == high and got[-1]["createTimestamp"] == low
    sent = requests_to(running, f"/{DEMO_EUR}/deals")
    assert sent[0].query["fromTimestamp"] == str(low) and sent[0].query["toTimestamp"] == str(high)
    assert all("fromTimestamp" not in r.query and "toTimestamp" not in r.query and r.query["cursor"]
               for r in sent[1:])


async def test_timestamps_start_a_new_result_set_and_the_cursor_is_ignored(sim, client):
    first = await client.page(DEMO_EUR, "cashflowhistory", limit=25)
    second = await client.page(DEMO_EUR, "cashflowhistory", cursor=first.next, limit=25)
    restarted = await client.page(DEMO_EUR, "cashflowhistory", cursor=first.next, from_ts=0, limit=25)
    assert first.next and second.items != first.items
    assert restarted.items == first.items


async def test_new_deals_do_not_shift_a_walk_in_progress(sim, client):
    first = await client.page(LIVE_USD, "deals", limit=25)
    sim.open_position(LIVE_USD)
    rest = [d async for page in _follow(client, first.next) for d in page.items]
    ids = [d["dealId"] for d in first.items + rest]
    assert len(ids) == len(set(ids)) == len(sim.account(LIVE_USD).deals) - 1


async def _follow(client, cursor):
    while cursor:
        page = await client.page(LIVE_USD, "deals", cursor=cursor, limit=25)
        yield page
        cursor = page.next


@pytest.mark.parametrize("limit", [24, 751, 0])
async def test_limit_is_checked_before_sending(running, client, limit):
    with pytest.raises(ValueError, match="25 and 750"):
        await client.page(LIVE_USD, "deals", limit=limit)
    with pytest.raises(ValueError):
        [page async for page in client.walk(LIVE_USD, "cashflowhistory", limit=limit)]
    assert not requests_to(running, "/deals") and not requests_to(running, "/cashflowhistory")


@pytest.mark.parametrize("limit", ["24", "751", "ten"])
async def test_simulator_rejects_a_limit_outside_25_to_750(client, limit):
    with pytest.raises(ProviderError) as caught:
        await client.request("GET", f"/connect/tradingaccounts/{LIVE_USD}/deals", params={"limit": limit})
    assert caught.value.code == "INVALID_REQUEST" and "HTTP 400" in caught.value.message


async def test_pending_orders_and_positions_page_too(sim, client):
    for _ in range(30):
        sim.open_position(DEMO_EUR, sim.now() - 1000)
    first = await client.page(DEMO_EUR, "positions", limit=25)
    assert len(first.items) == 25 and first.next
    everything = await client.positions(DEMO_EUR)
    assert len(everything) == len(sim.account(DEMO_EUR).positions)
    assert len(await client.pending_orders(DEMO_EUR)) == len(sim.account(DEMO_EUR).orders)


async def test_tick_data_is_capped_at_5000_and_keeps_to_the_requested_times(client):
    whole_day = await client.tick_data(LIVE_USD, "EURUSD", "bid", date(2024, 3, 5))
    stamps = [t["timestamp"] for t in whole_day]
    day_start = int(datetime(2024, 3, 5, tzinfo=timezone.utc).timestamp() * 1000)
    assert len(whole_day) == 5000 and stamps == sorted(stamps) and stamps[0] >= day_start
    window = await client.tick_data(LIVE_USD, "EURUSD", "ask", date(2024, 3, 5), time(10, 0, 0), time(10, 1, 0))
    low, high = day_start + 36_000_000, day_start + 36_060_000
    assert 0 < len(window) <= 61 and all(low <= t["timestamp"] <= high for t in window)
    bids = {t["timestamp"]: t["tick"] for t in whole_day}
    asks = await client.tick_data(LIVE_USD, "EURUSD", "ask", date(2024, 3, 5), time(0, 0), time(0, 5))
    assert all(a["tick"] > bids[a["timestamp"]] for a in asks)


async def test_trendbars_m1_h1_and_the_5000_cap(client):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    hour = await client.trendbars(LIVE_USD, "GBPUSD", "m1", now - timedelta(hours=1), now)
    assert 60 <= len(hour) <= 61
    assert all(b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"] for b in hour)
    assert [b["timestamp"] - a["timestamp"] for a, b in zip(hour, hour[1:])] == [60_000] * (len(hour) - 1)
    days = await client.trendbars(LIVE_USD, "GBPUSD", "h1", now - timedelta(days=2), now)
    assert 48 <= len(days) <= 49
    capped = await client.trendbars(LIVE_USD, "GBPUSD", "m1", now - timedelta(days=10), now)
    assert len(capped) == 5000


async def test_create_demo_account_links_it_with_exact_cents(client):
    created = await client.create_demo("GBP", 123_456_789, leverage=50)
    listed = {a["accountId"]: a for a in await client.trading_accounts()}
    assert listed[created["accountId"]]["live"] is False
    assert listed[created["accountId"]]["balance"] == 123_456_789
    assert listed[created["accountId"]]["depositCurrency"] == "GBP"


# -- errors: every documented code, and the token never shown --------------------------------------

def _future():
    return datetime.now(timezone.utc) + timedelta(hours=2)


ERROR_CASES = [
    ("CH_ACCESS_TOKEN_INVALID", "bad", lambda c: c.trading_accounts()),
    ("CH_CTID_NOT_FOUND", ORPHAN_TOKEN, lambda c: c.profile()),
    ("CH_INSUFFICIENT_PERMISSIONS", READONLY_TOKEN, lambda c: c.deposit(DEMO_EUR, 1000)),
    ("CH_CTID_TRADER_ACCOUNT_NOT_FOUND", None, lambda c: c.positions(999)),
    ("CH_TRADER_ACCOUNT_NOT_FOUND", None, lambda c: c.symbols(DELETED)),
    ("CH_SYMBOL_NOT_FOUND", None, lambda c: c.tick_data(LIVE_USD, "NOPE", "bid", date(2024, 1, 2))),
    ("CH_DEPOSIT_CURRENCY_INVALID", None, lambda c: c.create_demo("XYZ", 100_000)),
    ("CH_CURSOR_INVALID", None, lambda c: c.page(LIVE_USD, "deals", cursor="garbage")),
    ("INVALID_REQUEST", None, lambda c: c.trendbars(LIVE_USD, "EURUSD", "m1", _future(), _future())),
    ("INVALID_REQUEST", None, lambda c: c.withdraw(DEMO_EUR, 10**15)),
    ("INVALID_REQUEST", None, lambda c: c.deposit(LIVE_USD, 1000)),
]


@pytest.mark.parametrize("code,which_token,call", ERROR_CASES)
async def test_each_error_code_is_reported_with_its_description(running, token, code, which_token, call):
    secret = {None: token, "bad": "ctrader-unknown-token-0a1b2c3d"}.get(which_token, which_token)
    client = CTraderClient(running.endpoints["api"], secret)
    try:
        with pytest.raises(ProviderError) as caught:
            await call(client)
    finally:
        await client.close()
    error = caught.value
    assert error.code == code and code in error.message
    assert isinstance(error, AuthError) == (code in ("CH_ACCESS_TOKEN_INVALID", "CH_CTID_NOT_FOUND"))
    if not isinstance(error, AuthError):
        assert "HTTP 4" in error.message
    for text in (str(error), repr(error), describe_exception(error), error.message):
        assert secret not in text and token not in text


async def test_invalid_token_tells_the_user_what_to_do(running):
    client = CTraderClient(running.endpoints["api"], "ctrader-unknown-token-0a1b2c3d")
    try:
        with pytest.raises(AuthError) as caught:
            await client.trading_accounts()
    finally:
        await client.close()
    assert caught.value.permanent
    assert "new access token" in caught.value.message and "Spotware Connect" in caught.value.message
    assert "config" in caught.value.message


async def test_revoked_token_at_run_time(sim, client, token):
    assert await client.trading_accounts()
    sim.revoke_token()
    with pytest.raises(AuthError) as caught:
        await client.trading_accounts()
    assert caught.value.code == "CH_ACCESS_TOKEN_INVALID" and token not in str(caught.value)
    sim.restore_token()
    assert await client.trading_accounts()


async def test_simulator_can_start_with_the_token_revoked(token):
    revoked = await start(interval=3600, seed=1, revoke_token=True)
    client = CTraderClient(revoked.endpoints["api"], token)
    try:
        with pytest.raises(AuthError):
            await client.trading_accounts()
        revoked.control.restore_token()
        assert len(await client.trading_accounts()) == len(revoked.control.accounts())
    finally:
        await client.close()
        await revoked.stop()


async def test_internal_errors_are_500_unknown_error_and_retryable(sim, client, token):
    sim.set_faults(error_rate=1.0)
    with pytest.raises(ProviderError) as caught:
        await client.positions(LIVE_USD)
    assert caught.value.code == "UNKNOWN_ERROR" and "HTTP 500" in caught.value.message
    assert not caught.value.permanent and token not in caught.value.message


async def test_a_reply_without_the_error_envelope_is_still_reported(running, client, token):
    # a proxy's plain-text 500 in front of the API, not cTrader's envelope
    running.control.filter_replies(lambda request, reply: text_reply("502 upstream failed", 500))
    with pytest.raises(ProviderError) as caught:
        await client.trading_accounts()
    assert "HTTP 500" in caught.value.message and token not in caught.value.message


async def test_slow_replies_end_at_the_deadline_with_the_token_redacted(running, sim, token):
    sim.set_faults(delay=0.5)
    client = CTraderClient(running.endpoints["api"], token, timeout=0.1)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.trading_accounts()
    finally:
        await client.close()
    assert caught.value.message == "cTrader GET /connect/tradingaccounts: no answer within 0.1 s"
    assert token not in describe_exception(caught.value)


async def test_refused_connection_is_reported_with_the_token_redacted(token):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CTraderClient(f"http://127.0.0.1:{port}", token)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.symbols(LIVE_USD)
    finally:
        await client.close()
    assert "ConnectError" in caught.value.message and token not in str(caught.value)


async def test_httpx_request_log_lines_mask_the_token(client, token, caplog):
    with caplog.at_level(logging.DEBUG, logger="httpx"):
        await client.trading_accounts()
    assert "access_token=***" in caplog.text and token not in caplog.text
