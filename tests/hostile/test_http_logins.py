"""Refused logins against the real sessions: one login request per attempt, however many requests the
poll runs at once, an AuthError that says which settings to check, and no retry until the feed
runtime's next attempt. Expired tokens are renewed once for all the requests that found them so, and
Basic credentials a server echoes back are masked."""

from __future__ import annotations

import asyncio
import base64

import pytest

from http_servers import HostileServer, Request, answer, refuse_login, route
from ibmon.errors import AuthError
from ibmon.plugins import PluginHost
from ibmon.testing import RecordingSink, make_context, simulator_in_thread

CRM_LOGIN = "/api/v1/auth/login"
B2CORE_TOKENS = "/api/v2/ib/tokens"


@pytest.fixture(scope="module")
def providers():
    host = PluginHost()
    host.load(only=["b2core", "crm"])
    return host.providers


@pytest.fixture(scope="module")
def crm_sim():
    from ibmon_crm.sim import start

    with simulator_in_thread(start, tick=0, conversion_delay=0) as running:
        yield running


def crm_options(running, **overrides) -> dict:
    entry = {key: value for key, value in running.connections[0].items()
             if key in ("base_url", "domain", "api_key", "email", "password")}
    return {**entry, **overrides}


async def failing_polls(session, times: int) -> list[AuthError]:
    errors = []
    for _ in range(times):
        with pytest.raises(AuthError) as caught:
            await session.poll(RecordingSink())
        errors.append(caught.value)
    return errors


async def test_a_wrong_crm_password_costs_one_login_per_poll(providers, crm_sim):
    """A CRM poll runs ten requests at once; each used to log in on its own (ten login POSTs a poll)."""
    before = crm_sim.control.requests(CRM_LOGIN)
    session = providers["crm"].connect(make_context(providers["crm"], **crm_options(crm_sim,
                                                                                    password="wrong-password-6e1f")))
    try:
        errors = await failing_polls(session, 3)
    finally:
        await session.close()
    assert crm_sim.control.requests(CRM_LOGIN) - before == 3
    for error in errors:
        assert error.permanent and "check api_key, email and password" in error.message
        assert "wrong-password-6e1f" not in error.message


async def test_through_the_feed_runtime_each_attempt_logs_in_once(providers, crm_sim):
    from ibmon.feeds import FeedRuntime
    from ibmon.model import HealthState
    from ibmon.store import Store
    from ibmon.testing import wait_for

    waits: list[float] = []
    parked = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the backoff waits pass at once, three times; then park
        waits.append(seconds)
        if len(waits) >= 3:
            parked.set()
            await asyncio.Event().wait()

    before = crm_sim.control.requests(CRM_LOGIN)
    runtime = FeedRuntime(Store(), sleep=sleep, watchdog_interval=None)
    conn = runtime.add(providers["crm"], make_context(providers["crm"], name="CRM",
                                                      **crm_options(crm_sim, password="wrong-password-6e1f")))
    await runtime.start()
    try:
        await wait_for(parked.is_set, timeout=10)
        assert conn.health.state is HealthState.ERROR and "check api_key, email and password" in conn.health.detail
    finally:
        await runtime.stop()
    assert conn.attempt == 3 and crm_sim.control.requests(CRM_LOGIN) - before == 3


async def test_a_refusing_login_endpoint_is_asked_once_per_poll(providers):
    with HostileServer(route({CRM_LOGIN: refuse_login("Invalid credentials for ib@example.com")})) as server:
        session = providers["crm"].connect(make_context(
            providers["crm"], base_url=server.url, domain="ib.example.com", api_key="crm-key-51aa0e",
            email="ib@example.com", password="crm-password-77d0c3"))
        try:
            [error] = await failing_polls(session, 1)
        finally:
            await session.close()
    assert server.count("POST", CRM_LOGIN) == 1 and server.count("GET", "/api/v1/ib/leads") == 0
    assert error.message.startswith("the CRM refused the login (HTTP 401: Invalid credentials for ib@example.com): "
                                    "check api_key, email and password")


async def test_expired_crm_tokens_are_renewed_once_for_the_whole_poll(providers, crm_sim):
    session = providers["crm"].connect(make_context(providers["crm"], **crm_options(crm_sim)))
    try:
        await session.poll(RecordingSink())
        crm_sim.control.expire_tokens()
        before = crm_sim.control.requests(CRM_LOGIN)
        await session.poll(RecordingSink())
        logins = session.client.logins
    finally:
        await session.close()
    assert crm_sim.control.requests(CRM_LOGIN) - before == 1 and logins == 2


# -- B2Core ----------------------------------------------------------------------------------------------

async def test_a_wrong_b2core_secret_costs_one_token_request_per_attempt(providers):
    from ibmon_b2core.sim import start

    running = await start("127.0.0.1", accounts=5, interval=3600)
    options = {**running.connections[0], "client_secret": "wrong-secret-2d9b"}
    options.pop("name"), options.pop("provider")
    session = providers["b2core"].connect(make_context(providers["b2core"], **options))
    try:
        errors = await failing_polls(session, 2)
        # the account screen asks for several things at once: still one token request
        client = session.client
        results = await asyncio.gather(client.account("a"), client.metrics("a"), client.list_accounts(),
                                       return_exceptions=True)
    finally:
        await session.close()
        await running.stop()
    assert running.control.requests(B2CORE_TOKENS) == 3
    assert all(isinstance(r, AuthError) for r in results)
    for error in errors:
        assert error.permanent and "check client_id and client_secret" in error.message
        assert "Client authentication failed" in error.message and "wrong-secret-2d9b" not in error.message


async def test_basic_credentials_echoed_by_the_server_are_masked(providers):
    def echo(request: Request) -> dict:
        return {"error": "invalid_client",
                "error_description": f"unknown client, you sent {request.headers['authorization']}"}

    secret = "b2core-secret-5f0e8a"
    encoded = base64.b64encode(f"ib-client:{secret}".encode()).decode()
    with HostileServer(route({"/tokens": answer(echo, status=401)})) as server:
        session = providers["b2core"].connect(make_context(
            providers["b2core"], base_url=f"{server.url}/api/v2/ib", client_id="ib-client", client_secret=secret))
        try:
            [error] = await failing_polls(session, 1)
        finally:
            await session.close()
    assert server.log[0].headers["authorization"] == f"Basic {encoded}"  # what the server echoed
    assert "unknown client, you sent Basic ***" in error.message
    assert encoded not in error.message and secret not in error.message
