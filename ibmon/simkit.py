"""The simulator kit: loopback servers for provider simulators on aiohttp.web, with fault knobs, a
bounded request log, tickers, TLS by a setting, declared settings and thread-safe control handles.

A simulator is an `HttpSimulator`: routes on its `router` (aiohttp's router, async handlers),
tickers from `every()`, then `await listen(host, tls=...)`. Everything runs on the event loop that
started it (the test's own loop, or the thread `ibmon.simulators` runs simulators in), so its state
needs no lock. A `Control` handle is how anyone else touches a running simulator: each public method
runs on the simulator's loop, waiting for it when called from another thread.

Importing this module is cheap (plugins import the setting declarations when they load); aiohttp
is imported when a server is made.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import random
import ssl
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from ibmon.errors import ConfigError
from ibmon.money import dumps_default
from ibmon.options import Option, apply_options

if TYPE_CHECKING:
    from aiohttp import web

T = TypeVar("T")

#: Requests kept in a simulator's log, and distinct paths counted (the rest count as OTHER_PATHS).
LOG_SIZE = 5000
COUNTED_PATHS = 1000
OTHER_PATHS = "<other paths>"
#: Seconds a control call from another thread waits for the simulator's loop.
CONTROL_TIMEOUT = 10.0
#: The largest request body a simulator reads.
MAX_REQUEST_BODY = 1 << 20


# -- settings ------------------------------------------------------------------------------------

#: TLS for every simulator: with `tls_cert` set, it serves TLS.
TLS_SETTINGS = (
    Option("tls_cert", "str", default="", help="PEM certificate file: serve TLS with it"),
    Option("tls_key", "str", default="", help="PEM private key file (default: the key is in tls_cert)"),
)


def _share(name: str, what: str) -> Option:
    return Option(name, "float", default=0.0, minimum=0, maximum=1, help=f"share of requests {what}")


#: The kit's fault knobs as settings; the same names as `Faults` fields, changed at run time with
#: `HttpControl.set_faults`.
FAULT_SETTINGS = (
    _share("error_rate", "answered with a server error (500)"),
    Option("delay", "float", default=0.0, minimum=0, maximum=3600, help="seconds added before every reply"),
    _share("rate_limit", "answered 429 Too Many Requests with Retry-After"),
    Option("retry_after", "float", default=1.0, minimum=0, maximum=3600,
           help="seconds the 429 replies ask the client to wait"),
    _share("malformed", "answered with their body cut in half"),
    _share("drop", "whose connection is closed without a reply"),
)

SEED = Option("seed", "int", help="random seed for the simulated data (default: a new one each start)")


def check_settings(declared: Iterable[Option], raw: dict[str, Any], simulator: str) -> dict[str, Any]:
    """`raw` checked against the simulator's declared settings, defaults filled in; ConfigError
    naming each unknown or ill-typed setting otherwise. Checking checked values again changes
    nothing (None stands for a setting whose default is None)."""
    declared = tuple(declared)
    unset = {o.name for o in declared if o.default is None}
    given = {key: value for key, value in raw.items() if not (value is None and key in unset)}
    values, problems = apply_options(declared, given, f'simulator "{simulator}"')
    if problems:
        raise ConfigError([problem.replace(" key ", " setting ") for problem in problems])
    return values


def tls_context(cert: str, key: str = "") -> ssl.SSLContext | None:
    """A server context for the `tls_cert`/`tls_key` settings (None without a certificate)."""
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key or None)
    return context


# -- what a simulator saw --------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One request as it arrived (the log's record)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply; Decimals are written as decimal strings."""
    from aiohttp import web

    body = json.dumps(payload, default=dumps_default).encode()
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def text_reply(text: str | bytes, status: int = 200, content_type: str = "text/plain",
               headers: dict[str, str] | None = None) -> web.Response:
    from aiohttp import web

    body = text.encode() if isinstance(text, str) else text
    return web.Response(status=status, body=body, headers={"Content-Type": content_type, **(headers or {})})


async def json_body(request: web.Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        return None


# -- faults ----------------------------------------------------------------------------------------

@dataclass
class Faults:
    """The kit's fault knobs, applied to every request of an `HttpSimulator` (shares are 0..1)."""

    error_rate: float = 0.0
    delay: float = 0.0
    rate_limit: float = 0.0
    retry_after: float = 1.0
    malformed: float = 0.0
    drop: float = 0.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "Faults":
        return cls(**{f.name: settings[f.name] for f in fields(cls) if f.name in settings})


#: A function that may change a reply before it is sent: (request, reply) -> reply.
ReplyFilter = Callable[[Request, "web.Response"], "web.Response"]


def generic_error() -> web.Response:
    return json_reply({"error": "simulated internal error"}, 500)


# -- the server ----------------------------------------------------------------------------------

class HttpSimulator:
    """An aiohttp application on loopback with the kit's fault middleware, request log and tickers.

    `error_reply` makes the simulator's own 5xx (its error envelope) for the `error_rate` fault.
    While `paused` is set, market tickers skip their steps.
    """

    def __init__(self, *, faults: Faults | None = None, error_reply: Callable[[], web.Response] = generic_error,
                 seed: int | None = None) -> None:
        from aiohttp import web

        self.app = web.Application(middlewares=[_middleware(self._observe), _middleware(self._misbehave)],
                                   client_max_size=MAX_REQUEST_BODY)
        self.router = self.app.router
        self.faults = faults or Faults()
        self.error_reply = error_reply
        self.filters: list[ReplyFilter] = []
        self.requests: Counter[str] = Counter()
        self.log: deque[Request] = deque(maxlen=LOG_SIZE)
        self.paused = False
        self.urls: list[str] = []
        self._rng = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def url(self) -> str:
        """The first address `listen` opened."""
        return self.urls[0]

    async def listen(self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None,
                     scheme: str = "http") -> str:
        """Serve on a (free) port of `host`; may be called again for another port (TLS beside plain).
        Returns the base URL: `scheme`, or its TLS form (https, wss) with `tls`."""
        from aiohttp import web

        if self._runner is None:
            # Quick stops: a client's kept-alive connection must not hold the simulator for a minute.
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
            await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=tls)
        await site.start()
        port = self._runner.addresses[-1][1]  # the site just started is the last one
        url = f"{scheme}{'s' if tls else ''}://{host}:{port}"
        self.urls.append(url)
        return url

    def every(self, seconds: float, step: Callable[[], Any], *, market: bool = True) -> None:
        """Call `step()` every `seconds` on the simulator's loop until it stops. A market step is
        skipped while `paused`; a step that raises is skipped, the ticker goes on."""

        async def tick() -> None:
            while True:
                await asyncio.sleep(seconds)
                if market and self.paused:
                    continue
                try:
                    step()
                except Exception:  # keep the simulated world alive
                    pass

        self.spawn(tick())

    def spawn(self, coroutine: Any) -> asyncio.Task:
        """Run a coroutine of the simulator's on its loop; it is cancelled when the simulator stops."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.append(task)
        return task

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- middleware ----------------------------------------------------------------------------

    async def _observe(self, request: web.Request, handler: Any) -> web.StreamResponse:
        seen = Request(request.method, request.path, dict(request.query),
                       {name.lower(): value for name, value in request.headers.items()},
                       await request.read() if request.can_read_body else b"")
        key = request.path if request.path in self.requests or len(self.requests) < COUNTED_PATHS else OTHER_PATHS
        self.requests[key] += 1
        self.log.append(seen)
        reply = await handler(request)
        for change in self.filters:
            reply = change(seen, reply)
        return reply

    async def _misbehave(self, request: web.Request, handler: Any) -> web.StreamResponse:
        from aiohttp import web

        faults, roll = self.faults, self._rng.random
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.drop and roll() < faults.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never sent: the connection is gone
        if faults.error_rate and roll() < faults.error_rate:
            return self.error_reply()
        if faults.rate_limit and roll() < faults.rate_limit:
            return json_reply({"error": "Too Many Requests"}, 429, {"Retry-After": f"{faults.retry_after:g}"})
        try:
            reply = await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # a simulator bug answers 500 instead of killing the server
            return json_reply({"error": f"simulator error: {type(exc).__name__}: {exc}"}, 500)
        if faults.malformed and isinstance(reply, web.Response) and roll() < faults.malformed:
            body = reply.body if isinstance(reply.body, bytes) else b""
            return web.Response(status=200, body=body[: len(body) // 2] or b"<",
                                headers={"Content-Type": reply.content_type})
        return reply


def _middleware(method: Callable[..., Any]) -> Any:
    from aiohttp import web

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        return await method(request, handler)

    return middleware


# -- control handles -----------------------------------------------------------------------------

def on_loop(method: Callable[..., T]) -> Callable[..., T]:
    """A control method that runs on the simulator's loop (see `Control`)."""

    @functools.wraps(method)
    def call(self: "Control", *args: Any, **kwargs: Any) -> T:
        return self._call(lambda: method(self, *args, **kwargs))

    return call


class Control:
    """A handle on one running simulator. Made on the simulator's loop; every public method runs
    there too: directly when called on that loop, otherwise (another thread) by waiting for it.
    Values handed out are copies, so nothing outside reads state while the simulator changes it.
    `state` is the simulator's own state object, reached only through methods (and `apply`)."""

    def __init__(self, state: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._state = state

    @on_loop
    def apply(self, change: Callable[[Any], T]) -> T:
        """Run `change(state)` on the simulator's loop and return its result: for a one-off
        arrangement (a hostile string in one record) that no method of the handle names."""
        return change(self._state)

    def _call(self, work: Callable[[], T]) -> T:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            return work()
        if self._loop.is_closed():
            raise RuntimeError("the simulator has stopped")

        async def run() -> T:
            return work()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(CONTROL_TIMEOUT)


class HttpControl(Control):
    """What every HTTP simulator's handle offers: faults, the request log, pausing the market and
    changing replies."""

    def __init__(self, server: HttpSimulator, state: Any = None) -> None:
        super().__init__(state)
        self._server = server

    @on_loop
    def set_faults(self, **knobs: float) -> None:
        """Set fault knobs (`Faults` field names: error_rate, delay, rate_limit, retry_after,
        malformed, drop); the others keep their values."""
        for name, value in knobs.items():
            if name not in {f.name for f in fields(Faults)}:
                raise TypeError(f"unknown fault {name!r}")
            setattr(self._server.faults, name, value)

    @on_loop
    def clear_faults(self) -> None:
        """Every fault knob off, and the reply filters gone."""
        self._server.faults = Faults()
        self._server.filters.clear()

    @on_loop
    def faults(self) -> Faults:
        return copy.copy(self._server.faults)

    @on_loop
    def requests(self, path: str) -> int:
        """How many requests came for `path` so far."""
        return self._server.requests[path]

    @on_loop
    def counts(self) -> Counter[str]:
        """Requests so far by path (a copy)."""
        return Counter(self._server.requests)

    @on_loop
    def log(self, path_suffix: str = "", method: str | None = None) -> list[Request]:
        """The requests kept (the newest LOG_SIZE), oldest first, those whose path ends with
        `path_suffix` and, if given, of `method`."""
        return [r for r in self._server.log
                if r.path.endswith(path_suffix) and (method is None or r.method == method)]

    @on_loop
    def clear_log(self) -> None:
        """Forget the request log and counters."""
        self._server.log.clear()
        self._server.requests.clear()

    @on_loop
    def pause(self) -> None:
        """Stop the simulated market: nothing moves until `resume()`."""
        self._server.paused = True

    @on_loop
    def resume(self) -> None:
        self._server.paused = False

    @on_loop
    def filter_replies(self, change: ReplyFilter) -> None:
        """Pass every reply through `change(request, reply)` (it returns the reply to send), e.g. to
        put hostile text into replies. Filters run in the order they were added."""
        self._server.filters.append(change)
