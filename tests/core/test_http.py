"""The HTTP kit's client against a loopback HTTP server: in-flight bound, reply bound, recovery, redaction."""

import asyncio
import socket
import threading
import time

import pytest

from ibmon.errors import ProviderError
from ibmon.http import HttpClient
from ibmon.simkit import HttpSimulator, json_reply, text_reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_never_more_requests_in_flight_than_the_pool_holds():
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def handle(request):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return json_reply({"ok": True})

    server = HttpSimulator(handle)
    client = HttpClient(server.start(), max_per_host=3)
    try:
        replies = await asyncio.gather(*(client.request("GET", "/x", "test GET /x") for _ in range(12)))
        assert [r.status_code for r in replies] == [200] * 12
        assert state["most"] <= 3
    finally:
        await client.aclose()
        await server.stop()


async def test_replies_over_the_bound_are_refused():
    server = HttpSimulator(lambda request: text_reply("x" * 5000))
    client = HttpClient(server.start())
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
    server = HttpSimulator(lambda request: json_reply({"ok": True}), port=port)
    server.start()
    try:
        assert (await client.request("GET", "/x", "test GET /x")).status_code == 200
    finally:
        await client.aclose()
        await server.stop()
