"""Rate-limiting servers against the real REST clients: 429 (and 503 with Retry-After) becomes
RateLimited carrying the server's wait, in seconds or from an HTTP-date, capped; its message names
the request and gives the server's words."""

from __future__ import annotations

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
