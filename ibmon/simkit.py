"""Building blocks for provider simulators: a loopback HTTP server and fault knobs.

The HTTP server is the standard library's `ThreadingHTTPServer` in a daemon thread, so a simulator
keeps serving whatever the caller's event loop is doing (the dashboard, a test). A simulator writes
one `handle(request) -> Reply` function; state it shares with a background ticker is guarded by the
simulator's own lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ibmon.money import dumps_default

log = logging.getLogger("ibmon.simkit")


class QuietHTTPServer(ThreadingHTTPServer):
    """A client that goes away mid-reply (the dashboard quitting, a test ending) is normal for a
    simulator: log it instead of printing a traceback on the terminal, as socketserver does."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator request from %s ended early", client_address, exc_info=True)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, **headers: str) -> Reply:
    """A JSON reply; Decimals are written as decimal strings."""
    body = json.dumps(payload, default=dumps_default).encode()
    return Reply(status, body, "application/json", dict(headers))


def text_reply(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(status, text.encode(), content_type)


@dataclass
class Faults:
    """Common fault knobs. `error_rate`: share of requests answered 500; `delay`: seconds added to
    every reply; `drop_every`: seconds between forced disconnects (socket simulators)."""

    error_rate: float = 0.0
    delay: float = 0.0
    drop_every: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def should_fail(self) -> bool:
        return self.error_rate > 0 and self.rng.random() < self.error_rate


class HttpSimulator:
    """Serve `handle` over HTTP on a free loopback port. Counts requests per path for tests."""

    def __init__(self, handle: Callable[[Request], Reply], host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None) -> None:
        self.handle = handle
        self.faults = faults or Faults()
        self.requests: Counter[str] = Counter()
        self.log: list[Request] = []
        self._lock = threading.Lock()
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Small replies on a kept-alive connection would otherwise wait ~40 ms for Nagle.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                simulator._count(request)
                if simulator.faults.delay:
                    time.sleep(simulator.faults.delay)
                if simulator.faults.should_fail():
                    reply = json_reply({"error": "simulated internal error"}, 500)
                else:
                    try:
                        reply = simulator.handle(request)
                    except Exception as exc:  # a simulator bug must not kill the server
                        reply = json_reply({"error": f"simulator error: {type(exc).__name__}: {exc}"}, 500)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = QuietHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def _count(self, request: Request) -> None:
        with self._lock:
            self.requests[request.path] += 1
            self.log.append(request)
            if len(self.log) > 10_000:
                del self.log[:5_000]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        # A short poll interval keeps stop() quick (serve_forever checks for shutdown that often).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"sim-http:{self.url}", daemon=True)
        self._thread.start()
        return self.url

    async def stop(self) -> None:
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Ticker:
    """Calls `step()` every `interval` seconds in a daemon thread until stopped (moving prices,
    drifting balances, arriving leads)."""

    def __init__(self, step: Callable[[], None], interval: float) -> None:
        self._step = step
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sim-ticker")

    def start(self) -> "Ticker":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._step()
            except Exception:  # keep the simulated market alive
                pass

    def stop(self) -> None:
        self._stop.set()
