"""Rate-limiting servers against the real REST clients: 429 (and 503 with Retry-After) becomes
RateLimited carrying the server's wait, in seconds or from an HTTP-date, capped; its message names
the request and gives the server's words."""

from __future__ import annotations

import asyncio

import pytest

from http_servers import HostileServer, answer, http_date, rate_limited, route
from ibmon.errors import RateLimited
from ibmon.http import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER
from rest_clients import CASES

#: (Retry-After to send, status, the lowest and highest wait the error may carry)
WAITS = {
    "seconds": (lambda: "58", 429, 58, 58),
    "http-date": (lambda: http_date(120), 429, 118, 120),  # the date has whole seconds, and time passes
    "date in the past": (lambda: http_date(-3600), 429, 0, 0),
    "over the cap": (lambda: "86400", 429, MAX_RETRY_AFTER, MAX_RETRY_AFTER),
    "unreadable": (lambda: "soon", 429, DEFAULT_RETRY_AFTER, DEFAULT_RETRY_AFTER),
    "503 with a wait": (lambda: "7", 503, 7, 7),
}


@pytest.mark.parametrize("form", WAITS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_a_rate_limit_carries_the_servers_wait(case, form):
    header, status, low, high = WAITS[form]
    with HostileServer(route(case.good, rate_limited(header(), status=status))) as server:
        client = case.make(server.url)
        try:
            with pytest.raises(RateLimited) as caught:
                await case.call(client)
        finally:
            await case.close(client)
    error = caught.value
    assert low <= error.retry_after <= high
    assert error.message == f"{case.what}: rate limited by the server (HTTP {status}: Too many requests, slow down)"
    assert error.code == str(status) and not error.permanent


async def test_flex_holds_every_request_of_the_token_back_for_the_wait():
    case = next(case for case in CASES if case.name == "ibkr_flex")
    with HostileServer(rate_limited("58")) as server:
        client = case.make(server.url)
        try:
            with pytest.raises(RateLimited):
                await client.fetch()
        finally:
            await client.aclose()
    assert 57 <= client.limiter.wait_time() <= 58.1  # a refresh or the next poll waits too


async def test_a_503_without_a_wait_is_an_ordinary_server_error():
    from ibmon_b2core.client import B2CoreError

    case = next(case for case in CASES if case.name == "b2core")
    with HostileServer(answer({"message": "maintenance"}, status=503)) as server:
        client = case.make(server.url)
        try:
            with pytest.raises(B2CoreError) as caught:
                await client.list_accounts()
        finally:
            await client.aclose()
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.message == "B2Core GET /accounts: HTTP 503: maintenance"


async def test_a_rate_limited_poll_waits_the_servers_time_and_says_so_on_the_health_line():
    """A real B2Core session meets a 429 asking for 58 s: the runtime's next poll waits that long
    (its own backoff would be 0.1 s), a manual refresh does not skip it, and the health line says so."""
    from ibmon.feeds import Backoff, FeedRuntime
    from ibmon.model import HealthState
    from ibmon.plugins import PluginHost
    from ibmon.store import Store
    from ibmon.testing import make_context, wait_for

    host = PluginHost()
    host.load(only=["b2core"])
    provider = host.providers["b2core"]
    with HostileServer(rate_limited("58")) as server:
        context = make_context(provider, name="B2Core", base_url=f"{server.url}/api/v2/ib",
                               token="static-token-4bf1a7", poll_seconds=3600)
        runtime = FeedRuntime(Store(), backoff=Backoff(base=0.1, cap=0.1), watchdog_interval=None)
        runtime.add(provider, context)
        await runtime.start()
        try:
            conn = runtime.connections["B2Core"]
            await wait_for(lambda: conn.health.state is HealthState.RECONNECTING, timeout=10)
            line = conn.health.describe(runtime.clock())
            assert "rate limited, next try in 58 s" in line or "rate limited, next try in 57 s" in line, line
            assert "HTTP 429" in line
            runtime.refresh("B2Core")
            await asyncio.sleep(0.5)
            assert server.requests["/api/v2/ib/accounts"] == 1
        finally:
            await runtime.stop()
