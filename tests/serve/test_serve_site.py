"""The web site of `ibmon serve` over loopback HTTP (and TLS), each browser tab a real dashboard
process on the static book: the session cookie's flags, idle timeout and logout ending the tabs'
dashboards, and the requests refused (other origins, other host names, no session)."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp.test_utils import TestClient, TestServer

from ibmon.secrets import Secret
from ibmon.serve import SessionCommand
from ibmon.serve.logins import Logins
from ibmon.serve.site import COOKIE, SiteOptions, make_site

SUPPORT = Path(__file__).parents[1] / "support"
PASSWORD = "a long enough password"
IDLE = 600.0


@pytest.fixture
def book_command(tmp_path, monkeypatch):
    """What a browser tab runs: the dashboard on the static book, in folders of the test's own."""
    config = tmp_path / "config.toml"
    config.write_text('[[connections]]\nname = "Static"\nprovider = "static_book"\n')
    config.chmod(0o600)
    for var, folder in (("XDG_CONFIG_HOME", "c"), ("XDG_STATE_HOME", "s"), ("XDG_DATA_HOME", "d")):
        monkeypatch.setenv(var, str(tmp_path / folder))
    monkeypatch.setenv("IBMON_PLUGINS", "static_book")
    # the web layer alone: each tab runs a dashboard of its own here (serve runs `ibmon attach`)
    return SessionCommand([sys.executable, "-m", "ibmon", "--config", str(config), "--read-only",
                           "--plugin-dir", str(SUPPORT), "run"], "dashboard of config.toml")


def site(command, clock, *, tls: bool = False) -> tuple[object, Logins]:
    logins = Logins(Secret(PASSWORD), IDLE, clock=clock)
    return make_site(SiteOptions(command.argv, command.label, logins, tls=tls, loopback=True)), logins


async def logged_in(client: TestClient) -> None:
    response = await client.post("/login", data={"password": PASSWORD}, allow_redirects=False)
    assert response.status == 303 and response.cookies[COOKIE].value


def origin(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


async def screen_bytes(socket, at_least: int = 2000) -> int:
    """Read the dashboard's output until it has drawn something."""
    received = 0
    while received < at_least:
        message = await socket.receive(timeout=60)
        assert message.type == aiohttp.WSMsgType.BINARY, message
        received += len(message.data)
    return received


async def logged_in_dashboard(client: TestClient, query: str = ""):
    """Log in, open a tab's WebSocket and wait for its dashboard to draw."""
    await logged_in(client)
    socket = await client.ws_connect(f"/ws{query}", headers={"Origin": origin(client)})
    await screen_bytes(socket)
    return socket


async def handled(socket, stamp: str) -> None:
    """Wait until the server has handled every message sent before: it answers pings in order."""
    await socket.send_json(["ping", stamp])
    while True:
        message = await socket.receive(timeout=60)
        assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
        if message.type == aiohttp.WSMsgType.TEXT and message.json() == ["pong", stamp]:
            return


async def until_closed(socket) -> aiohttp.WSMessage:
    while True:
        message = await socket.receive(timeout=60)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return message


async def test_under_tls_the_session_cookie_is_secure_httponly_and_samesite_strict(book_command, clock):
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    app, _logins = site(book_command, clock, tls=True)
    async with TestClient(TestServer(app, host="127.0.0.1", ssl=server_context),
                          connector=aiohttp.TCPConnector(ssl=client_context)) as client:
        response = await client.post("/login", data={"password": PASSWORD}, allow_redirects=False)
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}=") and {"HttpOnly", "Secure", "SameSite=Strict"} <= {
            part.strip() for part in cookie.split(";")}
        page = await (await client.get("/", cookies={COOKIE: response.cookies[COOKIE].value})).text()
        assert 'data-session-websocket-url="wss://127.0.0.1:' in page


async def test_idle_timeout_ends_the_login_and_closes_its_dashboards_key_presses_keep_it(book_command, clock):
    app, logins = site(book_command, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        socket = await logged_in_dashboard(client, "?width=100&height=30")
        clock.now += IDLE - 1
        await socket.send_json(["stdin", "r"])  # a key press: activity
        await handled(socket, "1")
        clock.now += IDLE - 1
        assert logins.sweep() == 0, "a login with a key press in the last idle period was ended"
        await handled(socket, "2")  # a ping is not activity
        clock.now += 2
        assert logins.sweep() == 1
        await until_closed(socket)
        page = await client.get("/", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/login"


async def test_logout_ends_the_session_and_its_dashboards(book_command, clock):
    app, _logins = site(book_command, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        socket = await logged_in_dashboard(client)
        token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
        response = await client.post("/logout", headers={"Origin": origin(client)}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login"
        await until_closed(socket)
        replay = await client.get("/", cookies={COOKIE: token}, allow_redirects=False)
        assert replay.status == 303, "the old session cookie still opens the dashboard"


async def test_without_a_session_only_the_login_page_answers(book_command, clock):
    app, _logins = site(book_command, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for path in ("/ws", "/static/js/textual.js", "/nothing-here"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 401, path
        page = await client.get("/", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/login"
        forged = await client.get("/", cookies={COOKIE: "made-up"}, allow_redirects=False)
        assert forged.status == 303
        login = await client.get("/login")
        assert login.status == 200 and "<title>ibmon — dashboard of config.toml — log in</title>" in await login.text()
        for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Cache-Control"):
            assert name in login.headers, name


async def test_another_origin_and_another_host_name_are_refused(book_command, clock):
    app, _logins = site(book_command, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        forged = await client.post("/login", data={"password": PASSWORD}, headers={"Origin": "http://evil.example"},
                                   allow_redirects=False)
        assert forged.status == 403 and COOKIE not in forged.cookies
        await logged_in(client)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers={"Origin": "http://localhost:1"})  # another port: another site
        assert refused.value.status == 403
        # a page whose name was rebound to 127.0.0.1 sends its own name as Host
        rebound = await client.get("/login", headers={"Host": "attacker.example"})
        assert rebound.status == 421
        assert (await client.get("/login", headers={"Host": "localhost:8080"})).status == 200


async def test_a_refused_login_never_shows_what_was_typed(book_command, clock):
    app, _logins = site(book_command, clock)
    typed = "a long enough passwore"  # one letter off
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for _ in range(6):
            response = await client.post("/login", data={"password": typed})
            body = await response.text()
            assert typed not in body and PASSWORD not in body and typed not in str(response.headers)
        assert response.status == 429 and int(response.headers["Retry-After"]) > 0


async def test_on_loopback_without_a_password_the_dashboard_opens_directly(book_command, clock):
    logins = Logins(None, IDLE, clock=clock)
    app = make_site(SiteOptions(book_command.argv, book_command.label, logins, tls=False, loopback=True))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        login = await client.get("/login", allow_redirects=False)
        assert login.status == 303 and login.headers["Location"] == "/"
        page = await client.get("/")
        assert page.status == 200 and "Log out" not in await page.text()
        socket = await client.ws_connect("/ws", headers={"Origin": origin(client)})
        await screen_bytes(socket)
        await socket.close()
