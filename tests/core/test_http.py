"""The HTTP kit's client against a loopback HTTP server: in-flight bound, reply bound, recovery, redaction."""

import asyncio
import socket

import pytest

from ibmon.errors import ProviderError
from ibmon.http import HttpClient
from ibmon.simkit import HttpSimulator, json_reply, text_reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(handler, port: int = 0) -> HttpSimulator:
    """A loopback server (the simulator kit's) answering every GET with `handler`."""
    server = HttpSimulator()
    server.router.add_get("/{path:.*}", handler)
    await server.listen(port=port)
    return server


async def test_never_more_requests_in_flight_than_the_pool_holds():
    state = {"now": 0, "most": 0}

    async def handle(request):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.05)
        state["now"] -= 1
        return json_reply({"ok": True})

    server = await serve(handle)
    client = HttpClient(server.url, max_per_host=3)
    try:
        replies = await asyncio.gather(*(client.request("GET", "/x", "test GET /x") for _ in range(12)))
        assert [r.status_code for r in replies] == [200] * 12
        assert state["most"] <= 3
    finally:
        await client.aclose()
        await server.stop()


async def test_replies_over_the_bound_are_refused():
    async def big(request):
        return text_reply("x" * 5000)

    server = await serve(big)
    client = HttpClient(server.url)
    try:
        with pytest.raises(ProviderError, match=r"test GET /big: refused a reply over"):
            await client.request("GET", "/big", "test GET /big", max_bytes=1000)
        assert (await client.request("GET", "/big", "test GET /big")).status_code == 200
    finally:
        await client.aclose()
        await server.stop()


async def test_a_failed_pool_is_replaced_so_the_client_recovers_with_the_server():
    port = free_port()
    client = HttpClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ProviderError, match="ConnectError") as caught:
        await client.request("GET", "/x?access_token=tok-123456", "test GET /x?access_token=tok-123456")
    assert "tok-123456" not in str(caught.value)

    async def ok(request):
        return json_reply({"ok": True})

    server = await serve(ok, port=port)
    try:
        assert (await client.request("GET", "/x", "test GET /x")).status_code == 200
    finally:
        await client.aclose()
        await server.stop()


# -- Retry-After, error text, Basic credentials ---------------------------------------------------------

def test_retry_after_reads_seconds_and_http_dates_and_caps_them():
    from datetime import datetime, timezone

    from ibmon.http import MAX_RETRY_AFTER, retry_after

    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after("58") == 58 and retry_after(" 1.5 ") == 1.5
    assert retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now=now) == 90
    assert retry_after("Sunday, 01-Mar-26 12:00:10 GMT", now=now) == 10  # the obsolete RFC 850 form
    assert retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0  # already past
    assert retry_after("999999999999999999999") == retry_after("86400") == MAX_RETRY_AFTER
    assert retry_after("5", cap=2) == 2
    for unreadable in (None, "", "soon", "-5", "1e3", "Mon, 99 Foo 2026", "٣"):
        assert retry_after(unreadable) is None, unreadable


@pytest.mark.parametrize("body, expected", [
    (b'{"message": "Unknown filter: colour"}', "Unknown filter: colour"),
    (b'{"error": "invalid_client", "error_description": "Client authentication failed"}',
     "Client authentication failed"),
    (b'{"error": {"errorCode": "CH_X", "description": "no such account"}}', "no such account"),
    (b'"Unauthenticated."', "Unauthenticated."),
    (b"plain\ntext   reason", "plain text reason"),
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "Bad Gateway"),
    (b'{"data": 1}', "Bad Gateway"),
    (b"", "Bad Gateway"),
    (b"[" * 100_000, "[" * 199 + "…"),
])
def test_error_text_is_the_servers_message_on_one_bounded_line(body, expected):
    import httpx

    from ibmon.http import error_text

    assert error_text(httpx.Response(502, content=body)) == expected


def test_error_text_of_a_long_message_is_cut():
    import httpx

    from ibmon.http import ERROR_TEXT_CHARS, error_text

    text = error_text(httpx.Response(400, json={"message": "x" * 10_000}))
    assert len(text) == ERROR_TEXT_CHARS and text.endswith("…")


def test_basic_credentials_are_masked_in_their_encoded_form():
    import base64

    from ibmon.http import basic_auth
    from ibmon.secrets import Secret, redact

    header = basic_auth("client-7", Secret("s3cr3t-basic"))["Authorization"]
    assert header == "Basic " + base64.b64encode(b"client-7:s3cr3t-basic").decode()
    assert redact(f"server said: {header}") == "server said: Basic ***"
