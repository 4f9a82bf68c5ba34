"""The web site of `ibmon serve`: a login form, the page that holds the browser terminal, and the
WebSocket that joins that terminal to one dashboard process.

textual-serve does the terminal: its `AppService` runs a command under Textual's web driver and
relays its screen and the browser's keys, and its static files are the browser side (xterm.js).
Its `Server` class is not used: it has no login, no TLS and no limits, so the routes are ibmon's.

Every request passes `guard`: on a loopback address only a loopback `Host` is answered (a web page
that rebinds its own name to 127.0.0.1 reaches nothing), a form post or a WebSocket from another
origin is refused (another site in the browser cannot drive the dashboard), and everything but the
login page needs a live session cookie. Every response carries headers that keep it out of frames,
caches and referrers, and a content policy that lets the page load nothing from elsewhere.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from ibmon.serve.logins import Logins, Refused
from ibmon.serve.settings import is_loopback_name

log = logging.getLogger("ibmon.serve")

COOKIE = "ibmon_session"
#: Dashboards running at once (one process each): tabs beyond this are refused, not queued.
MAX_DASHBOARDS = 16
#: What one browser message may weigh (keys and resizes are tiny; a paste is bounded too).
MAX_MESSAGE_BYTES = 64 * 1024
#: How long a dashboard may take to quit when its tab closes before it is killed.
STOP_SECONDS = 10.0
TERMINAL_SIZE_RANGE = (10, 1000)
OPTIONS = web.AppKey("options", "SiteOptions")
SOCKETS = web.AppKey("sockets", set)
PROCESSES = web.AppKey("processes", set)
SWEEPER = web.AppKey("sweeper", asyncio.Task)
STATIC = Path(textual_serve.__file__).parent / "static"
STYLESHEET = Path(__file__).with_name("ibmon.css")
#: What the login page itself loads is served without a login.
PUBLIC_PATHS = ("/login", "/ibmon.css", "/favicon.ico")
PUBLIC_PREFIX = "/static/fonts/"
HEADERS = {
    # xterm.js writes its own <style> elements; everything else comes from this server only
    "Content-Security-Policy": ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # "same-origin", not "no-referrer": with no referrer policy a browser sends `Origin: null` on
    # its own form posts, which the origin check must refuse
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class SiteOptions:
    #: The command each browser session runs (see `ibmon.serve.session_command`).
    command: list[str]
    #: What the page title names after "ibmon".
    label: str
    logins: Logins
    tls: bool
    #: Listening on a loopback address: then only requests naming a loopback host are answered.
    loopback: bool


class DashboardProcess(AppService):
    """One dashboard process for one browser tab, whose tab closes when the process ends (the
    page then says "Session ended"), and which is killed if it will not quit in time."""

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            await self.remote_close()

    async def stop(self) -> None:
        process = self._process
        try:
            await asyncio.wait_for(super().stop(), STOP_SECONDS)
            if process is not None:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except (TimeoutError, ConnectionError):
            await self._kill()
        except asyncio.CancelledError:  # the tab's handler cancelled, as the server stops
            await self._kill()
            raise
        finally:
            if process is not None and process.stdin is not None:
                process.stdin.close()  # the last pipe: the process's transport closes with it

    async def _kill(self) -> None:
        """No dashboard process outlives its tab."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


def make_site(options: SiteOptions) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_MESSAGE_BYTES)
    app[OPTIONS] = options
    app[SOCKETS] = set()
    app[PROCESSES] = set()
    app.add_routes([
        web.get("/login", login_page),
        web.post("/login", log_in),
        web.post("/logout", log_out),
        web.get("/", dashboard_page),
        web.get("/ws", dashboard_socket),
        web.get("/ibmon.css", stylesheet),
        web.get("/favicon.ico", no_icon),
        web.static("/static", STATIC),
    ])
    app.on_response_prepare.append(add_headers)
    app.on_startup.append(start_sweeping)
    app.on_shutdown.append(close_sockets)
    return app


def _options(request: web.Request) -> SiteOptions:
    return request.app[OPTIONS]


def title(options: SiteOptions) -> str:
    return f"ibmon — {options.label}"


# -- every request -----------------------------------------------------------------------------


@web.middleware
async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
    options = _options(request)
    if options.loopback and not is_loopback_name(_host_name(request.host)):
        raise web.HTTPMisdirectedRequest(text="this ibmon answers to localhost only\n")
    if request.method != "GET" or request.headers.get("Upgrade", "").lower() == "websocket":
        origin = request.headers.get("Origin")
        if origin is not None and origin != _origin(request):
            log.warning("refused a request from another origin (%s)", _printable(origin))
            raise web.HTTPForbidden(text="requests from other sites are refused\n")
    logins = options.logins
    if logins.required and request.path not in PUBLIC_PATHS and not request.path.startswith(PUBLIC_PREFIX):
        login = logins.valid(request.cookies.get(COOKIE), touch=request.path == "/")
        if login is None:
            if request.path == "/":
                raise web.HTTPSeeOther("/login")
            raise web.HTTPUnauthorized(text="log in first: /login\n")
    return await handler(request)


async def add_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def _host_name(host: str) -> str:
    """The name of a Host header, without its port ("[::1]:8080" -> "::1")."""
    return (urlsplit(f"//{host}").hostname or "").lower()


def _origin(request: web.Request) -> str:
    return f"{'https' if _options(request).tls else 'http'}://{request.host}"


def _printable(text: str) -> str:
    return json.dumps(text[:200])


# -- login and logout --------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    if not _options(request).logins.required:
        raise web.HTTPSeeOther("/")
    return _login_form(request, "", 200)


async def log_in(request: web.Request) -> web.Response:
    options = _options(request)
    if not options.logins.required:
        raise web.HTTPSeeOther("/")
    form = await request.post()
    password = form.get("password")
    try:
        token = options.logins.log_in(request.remote, password if isinstance(password, str) else "")
    except Refused as refused:
        log.warning("refused a login from %s: %s", request.remote, refused.message)
        response = _login_form(request, refused.message, refused.status)
        if refused.retry_after is not None:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    log.info("login from %s", request.remote)
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=options.tls, path="/")
    raise response


async def log_out(request: web.Request) -> web.Response:
    _options(request).logins.end(request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def _login_form(request: web.Request, message: str, status: int) -> web.Response:
    heading = html.escape(title(_options(request)))
    error = f'<p class="refused" role="alert">{html.escape(message)}</p>' if message else ""
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{heading} — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/ibmon.css"></head>
<body class="login"><main>
<h1>{heading}</h1>
<form method="post" action="/login">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Log in</button>
</form>
{error}
</main></body></html>
"""
    return web.Response(text=body, content_type="text/html", status=status)


# -- the dashboard -----------------------------------------------------------------------------


async def dashboard_page(request: web.Request) -> web.Response:
    options = _options(request)
    heading = html.escape(title(options))
    socket_url = html.escape(f"{'wss' if options.tls else 'ws'}://{request.host}/ws", quote=True)
    logout = ('<form method="post" action="/logout"><button type="submit">Log out</button></form>'
              if options.logins.required else "")
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{heading}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<link rel="stylesheet" href="/ibmon.css">
<script src="/static/js/textual.js"></script></head>
<body class="dashboard">
<header><span>{heading}</span>{logout}</header>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{socket_url}" data-font-size="16"></div>
<p class="ended">Session ended. <a href="/">Open the dashboard again</a></p>
</body></html>
"""
    return web.Response(text=body, content_type="text/html")


async def stylesheet(_request: web.Request) -> web.Response:
    return web.Response(text=STYLESHEET.read_text(encoding="utf-8"), content_type="text/css")


async def no_icon(_request: web.Request) -> web.Response:
    return web.Response(status=204)


async def dashboard_socket(request: web.Request) -> web.WebSocketResponse:
    """One browser tab: a dashboard process of its own until the tab closes, the login ends or the
    process quits."""
    options = _options(request)
    sockets: set[web.WebSocketResponse] = request.app[SOCKETS]
    if len(sockets) >= MAX_DASHBOARDS:
        raise web.HTTPServiceUnavailable(text=f"{MAX_DASHBOARDS} dashboards are open already: close one\n")
    token = request.cookies.get(COOKIE)
    login = options.logins.valid(token, touch=True)
    socket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE_BYTES)
    await socket.prepare(request)
    sockets.add(socket)
    def logged_out() -> None:
        asyncio.ensure_future(socket.close(message=b"logged out"))

    if login is not None:
        login.on_end.append(logged_out)
    process = DashboardProcess(shlex.join(options.command), write_bytes=socket.send_bytes,
                               write_str=socket.send_str, close=socket.close,
                               download_manager=DownloadManager())
    processes: set[DashboardProcess] = request.app[PROCESSES]
    processes.add(process)
    try:
        await process.start(_size(request.query.get("width"), 80), _size(request.query.get("height"), 24))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await _from_browser(message.data, process, socket, options.logins, token)
        finally:
            await process.stop()
    finally:
        sockets.discard(socket)
        processes.discard(process)
        if login is not None and logged_out in login.on_end:
            login.on_end.remove(logged_out)
    return socket


async def _from_browser(data: str, process: DashboardProcess, socket: web.WebSocketResponse,
                        logins: Logins, token: str | None) -> None:
    """One message of the browser terminal: keys, a resize, focus, a ping. Anything else, or
    anything malformed, is dropped. Keys and resizes count as activity for the idle timeout; a
    message after the login ended closes the tab."""
    try:
        envelope = json.loads(data)
    except ValueError:
        return
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        return
    kind, payload = envelope[0], envelope[1] if len(envelope) > 1 else None
    if kind in ("stdin", "resize") and logins.required and logins.valid(token, touch=True) is None:
        await socket.close(message=b"logged out")
        return
    if kind == "stdin" and isinstance(payload, str):
        await process.send_bytes(payload.encode("utf-8", "replace"))
    elif kind == "resize" and isinstance(payload, dict):
        await process.set_terminal_size(_size(payload.get("width"), 80), _size(payload.get("height"), 24))
    elif kind == "ping" and isinstance(payload, str):
        await socket.send_json(["pong", payload[:32]])
    elif kind == "blur":
        await process.blur()
    elif kind == "focus":
        await process.focus()


def _size(value: Any, default: int) -> int:
    low, high = TERMINAL_SIZE_RANGE
    try:
        return min(high, max(low, int(value)))
    except (TypeError, ValueError):
        return default


# -- lifetime ----------------------------------------------------------------------------------


async def start_sweeping(app: web.Application) -> None:
    """End idle logins (and close their tabs) even while nobody touches the server."""
    logins: Logins = app[OPTIONS].logins
    if not logins.required:
        return

    async def sweep() -> None:
        while True:
            await asyncio.sleep(min(30.0, logins.idle_seconds / 4))
            if ended := logins.sweep():
                log.info("ended %d idle login%s", ended, "" if ended == 1 else "s")

    app[SWEEPER] = asyncio.create_task(sweep())


async def close_sockets(app: web.Application) -> None:
    if sweeper := app.get(SWEEPER):
        sweeper.cancel()
    for socket in list(app[SOCKETS]):
        await socket.close(message=b"server stopped")
    # the tabs' handlers may be cancelled by the shutdown: stop their dashboards here, so none outlives serve
    await asyncio.gather(*(process.stop() for process in list(app[PROCESSES])), return_exceptions=True)
