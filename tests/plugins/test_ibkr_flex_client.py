"""The Flex client against the Flex simulator (and, for codes the simulator has no reason to send,
a scripted Flex endpoint), over loopback."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from ibmon.errors import AuthError, ProviderError
from ibmon.http import HttpClient
from ibmon.api import RunningSimulator
from ibmon.simkit import HttpControl, HttpSimulator, text_reply
from ibmon.testing import FakeClock, simulator_in_thread
from ibmon_ibkr_flex.client import FlexClient
from ibmon_ibkr_flex.codes import CODES
from ibmon_ibkr_flex.ratelimit import RateLimiter, limiter_for
from ibmon_ibkr_flex.sim import SERVICE_PATH, start

TOKEN = "811302486412895127461539"
QUERY = "987654"


def fast_client(base_url: str, clock: FakeClock, token: str = TOKEN, query: str = QUERY, **kwargs) -> FlexClient:
    """A client whose waits run on the fake clock (and whose limiter does not hold it back)."""
    kwargs.setdefault("limiter", RateLimiter(0, 10_000, margin=0, clock=clock, sleep=clock.sleep))
    return FlexClient(token, query, base_url=base_url, clock=clock, sleep=clock.sleep, **kwargs)


@pytest.fixture(scope="module")
def sim():
    """One simulator for the module (stopping one takes half a second): tests count requests as
    differences."""
    with simulator_in_thread(start, pending_polls=2, min_interval=0, max_per_minute=10_000, interval=3600,
                             seed=3) as running:
        yield running


def base(sim) -> str:
    return sim.endpoints["flex"]


def get_statement_calls(sim) -> int:
    return sim.control.requests(f"{SERVICE_PATH}/GetStatement")


async def test_statement_arrives_after_in_progress_answers(sim):
    clock = FakeClock()
    client = fast_client(base(sim), clock)
    before = get_statement_calls(sim)
    try:
        report = await client.fetch()
    finally:
        await client.aclose()
    assert [s.account_id for s in report.statements] == ["U1234567", "U7654321", "U5550001"]
    assert get_statement_calls(sim) - before == 3  # two 1019 answers, then the statement
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0]  # growing delays


async def test_statement_still_in_progress_after_max_wait():
    running = await start(pending_polls=1000, min_interval=0, max_per_minute=10_000, interval=3600)
    clock = FakeClock()
    client = fast_client(running.endpoints["flex"], clock, max_wait_seconds=40)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.fetch()
    finally:
        await client.aclose()
        await running.stop()
    assert caught.value.code == "1019" and not caught.value.permanent
    assert "in progress" in caught.value.message and "after waiting" in caught.value.message
    assert sum(clock.sleeps) <= 40
    assert get_statement_calls(running) == len(clock.sleeps) + 1


@pytest.mark.parametrize("token, query, code, kind", [
    ("200000000000000000000001", QUERY, "1012", AuthError),  # the simulator's expired token
    ("999999999999999999999999", QUERY, "1015", AuthError),
    (TOKEN, "111111", "1014", ProviderError),
])
async def test_simulator_mistakes_map_to_clear_errors(sim, token, query, code, kind):
    client = fast_client(base(sim), FakeClock(), token=token, query=query)
    try:
        with pytest.raises(kind) as caught:
            await client.fetch()
    finally:
        await client.aclose()
    error = caught.value
    assert error.code == code and error.permanent
    assert CODES[code].message in error.message
    assert token not in error.message and token not in repr(client)
    if kind is AuthError:
        assert "new token" in error.message and "Client Portal" in error.message


async def test_simulator_answers_each_refusal_with_its_code(sim):
    async with httpx.AsyncClient(base_url=base(sim)) as http:
        async def code_of(path: str, **params: str) -> str | None:
            reply = await http.get(path, params=params)
            return ET.fromstring(reply.content).findtext("ErrorCode")

        assert await code_of("/GetStatement", q="1234567890", t=TOKEN, v="3") == "1017"
        assert await code_of("/SendRequest", t=TOKEN, q=QUERY) == "1020"  # no version
        http.headers.pop("User-Agent")
        assert await code_of("/SendRequest", t=TOKEN, q=QUERY, v="3") == "1020"  # no User-Agent


@pytest.fixture(scope="module")
def scripted():
    """A Flex endpoint whose GetStatement answers the error code given as the query id (through the
    reference code), with IB's text "IB's text"."""
    async def handle(request):
        code = request.query["q"]
        root = ET.Element("FlexStatementResponse")
        if request.path.endswith("GetStatement"):
            ET.SubElement(root, "Status").text = "Warn" if code == "1019" else "Fail"
            ET.SubElement(root, "ErrorCode").text = code
            ET.SubElement(root, "ErrorMessage").text = "IB's text"
        else:
            ET.SubElement(root, "Status").text = "Success"
            ET.SubElement(root, "ReferenceCode").text = code
            ET.SubElement(root, "Url").text = f"{request.url.origin()}{SERVICE_PATH}/GetStatement"
        return text_reply(ET.tostring(root), content_type="text/xml")

    async def serve(host):
        server = HttpSimulator()
        server.router.add_get(f"{SERVICE_PATH}/{{endpoint}}", handle)
        url = await server.listen(host)
        return RunningSimulator("scripted", {"flex": url + SERVICE_PATH}, [], server.stop, HttpControl(server))

    with simulator_in_thread(serve) as running:
        yield running


@pytest.mark.parametrize("code", sorted(CODES))
async def test_every_error_code_has_its_message(scripted, code):
    clock = FakeClock()
    client = fast_client(scripted.endpoints["flex"], clock, query=code, max_wait_seconds=30)
    before = scripted.control.requests(f"{SERVICE_PATH}/GetStatement")
    try:
        with pytest.raises(ProviderError) as caught:
            await client.fetch()
    finally:
        await client.aclose()
    error, entry = caught.value, CODES[code]
    assert error.code == code
    assert error.message.startswith(f"IB Flex {code}: {entry.message}")
    assert isinstance(error, AuthError) == (entry.handling == "auth")
    assert error.permanent == (entry.handling in ("auth", "fatal"))
    retried = entry.handling in ("wait", "busy")
    calls = scripted.control.requests(f"{SERVICE_PATH}/GetStatement") - before
    assert calls == (len(clock.sleeps) + 1 if retried else 1)
    assert bool(clock.sleeps) == retried
    assert TOKEN not in error.message


def test_messages_name_what_to_do():
    assert "IP" in CODES["1013"].message and "IP address" in CODES["1013"].message
    for code in ("1012", "1015"):
        assert "generate a new token in Client Portal" in CODES[code].message
    assert "1 request per second and 10 per minute" in CODES["1018"].message


async def test_unknown_code_shows_ib_text(scripted):
    client = fast_client(scripted.endpoints["flex"], FakeClock(), query="1099")
    try:
        with pytest.raises(ProviderError, match="1099: IB's text"):
            await client.fetch()
    finally:
        await client.aclose()


async def test_too_many_requests_waits_longer_then_gives_up():
    running = await start(pending_polls=0, min_interval=5.0, max_per_minute=10, interval=3600)
    clock = FakeClock()
    limiter = RateLimiter(0, 10_000, margin=0, clock=clock, sleep=clock.sleep)
    client = fast_client(running.endpoints["flex"], clock, limiter=limiter, max_wait_seconds=50,
                         first_delay=1, busy_delay=15)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.fetch()  # real time barely moves: the simulator keeps answering 1018
    finally:
        await client.aclose()
        await running.stop()
    assert caught.value.code == "1018" and not caught.value.permanent
    assert "1 request per second" in caught.value.message
    assert clock.sleeps and min(clock.sleeps) >= 15
    assert limiter.wait_time() >= 15  # the limiter holds the next request (a refresh, a poll) back too


async def test_too_many_requests_recovers_after_waiting():
    running = await start(pending_polls=0, min_interval=0.2, max_per_minute=10, interval=3600)
    client = FlexClient(TOKEN, QUERY, base_url=running.endpoints["flex"], limiter=RateLimiter(0, 10_000, margin=0),
                        first_delay=0.05, busy_delay=0.25)
    try:
        report = await client.fetch()
    finally:
        await client.aclose()
        await running.stop()
    assert len(report.statements) == 3
    assert running.control.requests(f"{SERVICE_PATH}/GetStatement") >= 2  # one 1018 on the way


async def test_rate_limit_holds_over_many_refreshes(sim):
    """Scheduled polls and manual refreshes back to back: never 2 requests within a second, never
    11 within a minute (IB's real limits, on a fake clock)."""
    clock = FakeClock()
    sent: list[float] = []

    async def record(request: httpx.Request) -> None:
        sent.append(clock.now)

    first = len(sim.control.log())
    http = HttpClient(event_hooks={"request": [record]})
    client = fast_client(base(sim), clock, http=http, first_delay=0.1,
                         limiter=RateLimiter(clock=clock, sleep=clock.sleep), max_wait_seconds=600)
    try:
        for _ in range(6):
            await client.fetch()
    finally:
        await http.aclose()
    log = sim.control.log()[first:]
    assert len(sent) == len(log) == 6 * 4  # SendRequest + 2 × 1019 + the statement, six times
    assert all(later - earlier >= 1.0 for earlier, later in zip(sent, sent[1:]))
    assert all(sent[i + 10] - sent[i] >= 60.0 for i in range(len(sent) - 10))


def test_one_limiter_per_token():
    assert limiter_for("token-one-abcdef") is limiter_for("token-one-abcdef")
    assert limiter_for("token-one-abcdef") is not limiter_for("token-two-abcdef")
    first, second = FlexClient("token-one-abcdef", "1"), FlexClient("token-one-abcdef", "1")
    assert first.limiter is second.limiter


async def test_token_never_in_transport_errors():
    client = FlexClient(TOKEN, QUERY, base_url="http://127.0.0.1:9/AccountManagement/FlexWebService",
                        limiter=RateLimiter(0, 100), timeout=2)
    try:
        with pytest.raises(ProviderError) as caught:
            await client.fetch()
    finally:
        await client.aclose()
    assert "SendRequest" in caught.value.message
    assert TOKEN not in caught.value.message


async def test_statement_url_never_takes_the_token_elsewhere(sim):
    client = FlexClient(TOKEN, QUERY, base_url=base(sim))
    assert client._statement_url("http://evil.example/GetStatement") == f"{base(sim)}/GetStatement"
    assert client._statement_url(f"{base(sim)}/GetStatement") == f"{base(sim)}/GetStatement"
    ib = FlexClient(TOKEN, QUERY)
    given = "https://gdcdyn.interactivebrokers.com/AccountManagement/FlexWebService/GetStatement"
    assert ib._statement_url(given) == given
    assert ib._statement_url(given.replace("https", "http")).startswith("https://ndcdyn.")


async def test_user_agent_option_is_sent(sim):
    client = fast_client(base(sim), FakeClock(), user_agent="ibmon-test/9")
    first = len(sim.control.log())
    try:
        await client.fetch()
    finally:
        await client.aclose()
    sent = sim.control.log()[first:]
    assert len(sent) == 4 and {request.header("user-agent") for request in sent} == {"ibmon-test/9"}
