"""Slow, dribbling and silent servers against the real REST clients: every request ends at its total
deadline with an error naming the request, the client then works again, and a dribbling server does
not stop the feed runtime from refreshing.

Each byte of a dribbled reply arrives well within any per-read timeout (every 0.05 s against a 0.5 s
deadline), so only a deadline on the whole request can end it; the replies are long enough that a
client without one would still be reading when the test run times out.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from http_servers import HostileServer, answer, dribble, route, silent
from ibmon.errors import ProviderError
from ibmon.secrets import Secret
from ibmon.testing import wait_for
from rest_clients import CASES, DEADLINE

LONG_BODY = b'{"data": [' + b" " * 20_000 + b"]}"  # 20 000 bytes at 20 a second: 1000 s


BEHAVIOURS = {
    "dribbled body": (dribble(LONG_BODY, 0.05), r"the reply was not complete within 0\.5 s \([\d,]+ bytes arrived\)"),
    "dribbled headers": (dribble(LONG_BODY, 0.05, headers_too=True), r"no answer within 0\.5 s"),
    "silent": (silent, r"no answer within 0\.5 s"),
}


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_a_slow_or_silent_server_fails_the_request_at_its_deadline(case, behaviour):
    misbehave, expected = BEHAVIOURS[behaviour]
    with HostileServer(route(case.good, misbehave)) as server:
        client = case.make(server.url)
        try:
            with pytest.raises(ProviderError) as caught:
                await case.call(client)
        finally:
            await case.close(client)
    assert re.fullmatch(re.escape(case.what) + ": " + expected, caught.value.message), caught.value.message
    assert not caught.value.permanent  # a passing failure: the runtime tries again


async def test_the_client_works_again_once_the_server_answers():
    """Requests cut at their deadline leave no pool slot behind: twice as many concurrent requests as
    the host's slots all end, and the same client is then served normally."""
    from ibmon_ctrader.client import CTraderClient

    accounts = answer({"data": [{"accountId": 7, "balance": 100, "depositCurrency": "USD"}]})
    with HostileServer(silent) as server:
        client = CTraderClient(server.url, Secret("ctrader-token-93c2d1"), timeout=DEADLINE)
        try:
            results = await asyncio.gather(*(client.trading_accounts() for _ in range(8)), return_exceptions=True)
            assert all(isinstance(r, ProviderError) and "no answer within 0.5 s" in r.message for r in results)
            await wait_for(lambda: server.open_connections == 0, timeout=5)  # the client hung up on each
            server.behaviour = accounts
            assert [a["accountId"] for a in await client.trading_accounts()] == [7]
        finally:
            await client.close()
    assert server.requests["/connect/tradingaccounts"] == 9


async def test_a_dribbling_server_does_not_block_a_manual_refresh():
    """The first poll meets a dribbling server and fails at its deadline; the runtime waits for its
    (long) backoff, and a manual refresh polls again at once, this time with an answer."""
    from ibmon.feeds import Backoff, FeedRuntime
    from ibmon.model import HealthState
    from ibmon.plugins import PluginHost
    from ibmon.store import Store
    from ibmon.testing import make_context

    host = PluginHost()
    host.load(only=["b2core"])
    provider = host.providers["b2core"]
    good = answer(lambda request: {"data": [{"accountId": "acc-1", "number": "5001", "balance": "12.50",
                                             "currency": "USD"}], "total": 1})
    with HostileServer(dribble(LONG_BODY, 0.05)) as server:
        context = make_context(provider, name="B2Core", base_url=f"{server.url}/api/v2/ib",
                               token="static-token-4bf1a7", timeout=DEADLINE, poll_seconds=3600)
        runtime = FeedRuntime(Store(), backoff=Backoff(base=3600, cap=3600), watchdog_interval=None)
        runtime.add(provider, context)
        await runtime.start()
        try:
            conn = runtime.connections["B2Core"]
            await wait_for(lambda: conn.health.state is HealthState.RECONNECTING, timeout=10)
            assert conn.health.detail.startswith("B2Core GET /accounts: the reply was not complete within 0.5 s")
            server.behaviour = good
            runtime.refresh("B2Core")
            await wait_for(lambda: conn.health.state is HealthState.LIVE, timeout=10)
            assert runtime.store.accounts["B2Core"]["acc-1"].balance == 12.5
        finally:
            await runtime.stop()
    assert server.requests["/api/v2/ib/accounts"] == 2
