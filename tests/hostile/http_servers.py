"""Misbehaving HTTP servers on loopback, for running the real REST clients against.

`HostileServer` is an asyncio TCP server in a thread of its own (so it keeps misbehaving whatever
the test's event loop does). It reads each HTTP/1.1 request and hands it to a behaviour: a
coroutine `behaviour(request, writer)` that writes whatever it likes, or nothing at all. `route`
picks a behaviour by path, and `server.behaviour` can be swapped while the server runs.

Behaviours: `answer` (a normal JSON reply), `dribble` (the headers, then the body a byte at a time;
or the headers too), `silent` (never a byte), `flood` (a body over any bound, with or without a
Content-Length), `rate_limited` (429 with Retry-After in seconds or as an HTTP-date) and
`refuse_login` (401). The endless walks are behaviours built from `answer` in the tests.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ibmon.simkit import Request  # the simulators' request record: method, path, query, headers, body


Behaviour = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class HostileServer:
    behaviour: Behaviour
    requests: Counter = field(default_factory=Counter)  # by path
    log: list[Request] = field(default_factory=list)
    #: Connections open now (the clients' side of them included until they close it).
    open_connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-http", daemon=True)
        self._handlers: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> str:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", 0), self._loop).result(5)
        return self.url

    @property
    def url(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> "HostileServer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.log if r.method == method and r.path == path)

    # -- serving ---------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        with self._lock:
            self.open_connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests[request.path] += 1
                    self.log.append(request)
                if not await self._behave(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # the client hung up, or the server stops (its tasks are cancelled)
        finally:
            with self._lock:
                self.open_connections -= 1
            self._handlers.discard(task)
            writer.close()


    async def _behave(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Run the behaviour until it is done (True) or the client hangs up meanwhile (False): a
        client waiting for its reply sends nothing, so anything readable means it went away."""
        behaving = asyncio.ensure_future(self.behaviour(request, writer))
        hangup = asyncio.ensure_future(reader.read(1))
        await asyncio.wait({behaving, hangup}, return_when=asyncio.FIRST_COMPLETED)
        if hangup.done():
            behaving.cancel()
            await asyncio.gather(behaving, return_exceptions=True)
            return False
        hangup.cancel()
        await asyncio.gather(hangup, return_exceptions=True)
        await behaving
        await writer.drain()
        return True


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = line.split(" ", 2)
    headers = {}
    for header in header_lines:
        if ":" in header:
            name, value = header.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), headers, body)


def _head(status: int, headers: dict[str, str]) -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "X")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- behaviours ------------------------------------------------------------------------------------

def route(routes: dict[str, Behaviour], default: Behaviour | None = None) -> Behaviour:
    """The behaviour of the first route whose key ends the request path (else `default`, else 404)."""

    async def pick(request: Request, writer: asyncio.StreamWriter) -> None:
        for suffix, behaviour in routes.items():
            if request.path.endswith(suffix):
                return await behaviour(request, writer)
        return await (default or answer({"message": "no such path"}, status=404))(request, writer)

    return pick


def answer(payload: Any | Callable[[Request], Any], status: int = 200, **headers: str) -> Behaviour:
    """A JSON reply (`payload` may be a function of the request); bytes and str go out as they are."""

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        value = payload(request) if callable(payload) else payload
        if isinstance(value, bytes):
            body, kind = value, "application/xml"
        elif isinstance(value, str):
            body, kind = value.encode(), "text/plain"
        else:
            body, kind = json.dumps(value).encode(), "application/json"
        writer.write(_head(status, {"Content-Type": kind, "Content-Length": str(len(body)), **headers}) + body)

    return respond


def dribble(body: bytes, every: float, *, headers_too: bool = False) -> Behaviour:
    """A 200 reply sent one byte every `every` seconds: the body only, or the headers as well.
    Each byte arrives well within any per-read timeout; the whole never does."""

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        head = _head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        if not headers_too:
            writer.write(head)
            await writer.drain()
        for byte in (head + body if headers_too else body):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every)

    return respond


async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
    """Take the request and never answer (until the client hangs up or the server stops)."""
    await asyncio.Event().wait()


def flood(*, declared: bool, size: int = 1 << 30) -> Behaviour:
    """A 200 reply of `size` bytes (1 GB): with a Content-Length that says so, or chunked without one.
    The bytes are made as they are sent, so the server holds none of them."""
    chunk = b"[" + b"0," * 32767 + b"0"

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        if declared:
            writer.write(_head(200, {"Content-Type": "application/json", "Content-Length": str(size)}))
        else:
            writer.write(_head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        sent = 0
        while sent < size:
            writer.write(chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await writer.drain()  # blocks while the client reads no more: nothing piles up here

    return respond


def rate_limited(retry_after: str, status: int = 429, message: str = "Too many requests, slow down") -> Behaviour:
    """`status` with this Retry-After value and a JSON message."""
    return answer({"message": message}, status=status, **{"Retry-After": retry_after})


def http_date(seconds_from_now: float) -> str:
    """An HTTP-date (IMF-fixdate) `seconds_from_now` seconds ahead."""
    import time

    return formatdate(time.time() + seconds_from_now, usegmt=True)


def refuse_login(message: str = "invalid email or password") -> Behaviour:
    """401 with the server's message, the way a login endpoint refuses wrong credentials."""
    return answer({"message": message, "error": "invalid_client", "error_description": message}, status=401)
