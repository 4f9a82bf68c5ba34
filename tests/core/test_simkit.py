"""The simulator kit over loopback: fault middleware, bounded request log, tickers, TLS by a setting,
settings checks, and control handles that work from the simulator's loop and from another thread."""

from __future__ import annotations

import asyncio
import ssl
import threading

import httpx
import pytest

from ibmon import simkit
from ibmon.api import RunningSimulator
from ibmon.errors import ConfigError
from ibmon.options import Option
from ibmon.simkit import (FAULT_SETTINGS, TLS_SETTINGS, Faults, HttpControl, HttpSimulator, check_settings,
                          json_body, json_reply, tls_context)
from ibmon.testing import simulator_in_thread, wait_for


class Counter:
    """A tiny simulated world: a counter a ticker moves, read and set over HTTP."""

    def __init__(self) -> None:
        self.value = 0
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps % 2:
            raise RuntimeError("a step that fails now and then")  # the ticker goes on

    def routes(self, router) -> None:
        router.add_get("/value", self.read)
        router.add_post("/value", self.write)
        router.add_get("/boom", self.boom)

    async def read(self, request):
        return json_reply({"value": self.value})

    async def write(self, request):
        self.value = (await json_body(request))["value"]
        return json_reply({"value": self.value})

    async def boom(self, request):
        raise ValueError("a simulator bug")


class CounterControl(HttpControl):
    _state: Counter

    @simkit.on_loop
    def steps(self) -> int:
        return self._state.steps

    @simkit.on_loop
    def on_simulator_thread(self) -> str:
        return threading.current_thread().name


async def start_counter(host: str = "127.0.0.1", **settings) -> RunningSimulator:
    values = check_settings((*FAULT_SETTINGS, *TLS_SETTINGS), settings, "counter")
    counter = Counter()
    server = HttpSimulator(faults=Faults.from_settings(values), error_reply=lambda: json_reply({"own": "500"}, 503))
    counter.routes(server.router)
    server.every(0.01, counter.step)
    url = await server.listen(host, tls=tls_context(values["tls_cert"], values["tls_key"]))
    return RunningSimulator("counter", {"api": url}, [], server.stop, CounterControl(server, counter))


@pytest.fixture
async def counter():
    running = await start_counter()
    async with httpx.AsyncClient(base_url=running.endpoints["api"]) as http:
        yield running, http
    await running.stop()


async def test_each_fault_knob_changes_the_replies(counter):
    running, http = counter
    control = running.control
    assert (await http.get("/value")).json() == {"value": 0}
    control.set_faults(error_rate=1.0)
    assert (await http.get("/value")).status_code == 503  # the simulator's own error reply
    control.set_faults(error_rate=0.0, rate_limit=1.0, retry_after=7)
    limited = await http.get("/value")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    control.set_faults(rate_limit=0.0, malformed=1.0)
    cut = await http.get("/value")
    assert cut.status_code == 200 and cut.content == b'{"valu'
    control.set_faults(malformed=0.0, drop=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get("/value")
    control.set_faults(drop=0.0, delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/value", timeout=0.1)
    control.clear_faults()
    assert control.faults() == Faults()
    assert (await http.get("/value")).json() == {"value": 0}
    with pytest.raises(TypeError, match="unknown fault 'errors'"):
        control.set_faults(errors=1.0)


async def test_a_handler_that_raises_answers_500_and_the_server_goes_on(counter):
    running, http = counter
    broken = await http.get("/boom")
    assert broken.status_code == 500 and broken.json() == {"error": "simulator error: ValueError: a simulator bug"}
    assert (await http.post("/value", json={"value": 5})).json() == {"value": 5}


async def test_requests_are_logged_and_counted_within_bounds(counter, monkeypatch):
    running, http = counter
    control = running.control
    await http.post("/value", json={"value": 3})
    await http.get("/value", params={"q": "1"}, headers={"X-Test": "yes"})
    posted, got = control.log()
    assert (posted.method, posted.path, posted.json()) == ("POST", "/value", {"value": 3})
    assert got.query == {"q": "1"} and got.header("x-test") == "yes"
    assert control.requests("/value") == 2 and control.log("/value", "GET") == [got]
    control.clear_log()
    assert control.log() == [] and control.counts() == {}

    monkeypatch.setattr(simkit, "LOG_SIZE", 3)
    monkeypatch.setattr(simkit, "COUNTED_PATHS", 2)
    small = HttpSimulator()
    small.router.add_get("/{path:.*}", _ok)
    url = await small.listen()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for path in ("/a", "/b", "/c", "/d", "/a"):
                await client.get(path)
        assert [r.path for r in small.log] == ["/c", "/d", "/a"]
        assert dict(small.requests) == {"/a": 2, "/b": 1, simkit.OTHER_PATHS: 2}
    finally:
        await small.stop()


async def _ok(request):
    return json_reply({})


async def test_reply_filters_change_what_is_sent(counter):
    running, http = counter

    def hostile(request, reply):
        return json_reply({"value": "[b]bold[/b]"}) if request.path == "/value" else reply

    running.control.filter_replies(hostile)
    assert (await http.get("/value")).json() == {"value": "[b]bold[/b]"}
    running.control.clear_faults()
    assert (await http.get("/value")).json() == {"value": 0}


async def test_market_tickers_step_on_the_loop_pause_and_survive_a_failing_step(counter):
    running, _http = counter
    control = running.control
    await wait_for(lambda: control.steps() >= 3)  # every odd step raised
    control.pause()  # on this loop, between two steps
    paused = control.steps()
    await asyncio.sleep(0.1)
    assert control.steps() == paused
    control.resume()
    await wait_for(lambda: control.steps() > paused)


def test_a_control_handle_works_from_another_thread_on_the_simulators_loop():
    with simulator_in_thread(start_counter) as running:
        control = running.control
        assert threading.current_thread().name != "simulator-in-thread"
        assert control.on_simulator_thread() == "simulator-in-thread"
        control.set_faults(rate_limit=1.0)
        reply = httpx.get(running.endpoints["api"] + "/value")
        assert reply.status_code == 429 and control.requests("/value") == 1
    with pytest.raises(RuntimeError, match="the simulator has stopped"):
        control.requests("/value")


async def test_tls_by_the_setting(tmp_path):
    import trustme

    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    running = await start_counter(tls_cert=str(pem))
    try:
        url = running.endpoints["api"]
        assert url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context()
        ca.configure_trust(trusted)
        async with httpx.AsyncClient(verify=trusted) as http:
            assert (await http.get(url + "/value")).json() == {"value": 0}
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(url + "/value")
    finally:
        await running.stop()


def test_settings_are_checked_by_their_declaration_and_checking_twice_changes_nothing():
    declared = (Option("size", "int", default=3, minimum=1), Option("seed", "int"), *FAULT_SETTINGS)
    values = check_settings(declared, {"size": 5}, "demo")
    assert values["size"] == 5 and values["seed"] is None and values["error_rate"] == 0.0
    assert check_settings(declared, values, "demo") == values
    with pytest.raises(ConfigError) as caught:
        check_settings(declared, {"sise": 1, "error_rate": 2, "seed": "x"}, "demo")
    assert caught.value.problems == ['simulator "demo": unknown setting "sise" (did you mean "size"?)',
                                     'simulator "demo": setting "error_rate" must be at most 1, not 2',
                                     'simulator "demo": setting "seed" must be an integer, not a string']


async def test_a_client_that_leaves_mid_reply_prints_no_traceback(capfd, debug_home):
    """The dashboard quitting while a poll is in flight: nothing on the terminal `ibmon demo` leaves."""
    import logging
    import socket
    import struct

    from aiohttp import web

    from ibmon.logs import setup_logging

    answering = asyncio.Event()

    async def slow(request):
        answering.set()
        await asyncio.sleep(0.2)  # the client is gone by the time the reply goes out
        return web.Response(body=b"x" * 4_000_000)

    root = logging.getLogger()
    level = root.level
    setup_logging()
    server = HttpSimulator()
    server.router.add_get("/accounts", slow)
    url = await server.listen()
    try:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /accounts HTTP/1.1\r\nHost: sim\r\n\r\n")
        await asyncio.wait_for(answering.wait(), 5)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not close
        writer.close()
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=url) as http:  # and the simulator serves on
            assert (await http.get("/accounts")).status_code == 200
    finally:
        await server.stop()
        for handler in [h for h in root.handlers if getattr(h, "ibmon", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Error handling request" not in captured.err, captured.err
