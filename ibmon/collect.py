"""`ibmon collect`: the connections and the store without a terminal, serving /metrics and /attach.

One aiohttp server (loopback unless `[collect] listen` says otherwise) serves:

* `/metrics`: the store in Prometheus's exposition format (`ibmon.metrics`);
* `/attach`: a WebSocket for dashboards (`ibmon attach URL`): the full picture, then every change,
  in the store's own terms (`ibmon.attach_wire`). Quick actions and on-demand requests sent by a
  dashboard run here, through the runtime, under this collector's read-only policy; a read-only
  token only watches.

Security: off loopback, the server refuses to start without TLS and a token (`ibmon.desk`). Tokens
are compared in constant time and never logged; a client address that presents a wrong token
`LOGIN_FAILURES` times within `LOGIN_WINDOW` seconds is refused (429) until the window has passed.
A dashboard that cannot keep up (its send backlog passes `SEND_BACKLOG` frames) is dropped; it
reconnects and gets a fresh full picture.

History and alerts read the same store: whatever consumes it in the collector watches
`Collector.store` (`Store.watch()`), and an alerts engine gives /metrics its active count through
`Collector(alerts_active=...)`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import ssl
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from ibmon.api import Action
from ibmon.attach_wire import (MAX_CLIENT_FRAME, PROTOCOL, TABLES, TARGET_KINDS, current, every_record,
                               health_data, read_key, wire_key)
from ibmon.desk import CollectSettings
from ibmon.errors import PLUGIN_FAILURES, ProviderError, describe_exception
from ibmon.feeds import FeedRuntime
from ibmon.metrics import CONTENT_TYPE_LATEST, StoreMetrics
from ibmon.model import RECORD_KINDS
from ibmon.records import to_data
from ibmon.secrets import redact, reveal
from ibmon.store import Watcher
from ibmon.validate import MAX_RECORDS

log = logging.getLogger("ibmon.collect")

#: Failed logins per client address within LOGIN_WINDOW seconds before it is refused.
LOGIN_FAILURES = 5
LOGIN_WINDOW = 60.0
#: Client addresses whose failures are remembered (the oldest is forgotten first).
LOGIN_TRACKED = 10_000
#: Dashboards attached at once.
MAX_CLIENTS = 64
#: Frames queued for one dashboard before it counts as too slow and is dropped.
SEND_BACKLOG = 512
#: Quick actions and requests one dashboard may have running at once.
MAX_PENDING = 4
#: Seconds between "seen" frames (also the keep-alive of an idle link).
SEEN_SECONDS = 1.0
#: Characters of a question or message sent to a dashboard.
TEXT_LIMIT = 1000


class LoginLimiter:
    """Failed logins per client address; an address with too many recent failures is refused."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.window, self.clock = failures, window, clock
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try again (0: now)."""
        times = self._failed.get(address)
        if not times:
            return 0.0
        now = self.clock()
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) < self.failures:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, address: str) -> None:
        times = self._failed.setdefault(address, deque(maxlen=self.failures))
        self._failed.move_to_end(address)
        times.append(self.clock())
        while len(self._failed) > LOGIN_TRACKED:
            self._failed.popitem(last=False)


class Attached:
    """One attached dashboard: its role and the frames waiting to be sent to it."""

    def __init__(self, ws: web.WebSocketResponse, address: str, role: str) -> None:
        self.ws, self.address, self.role = ws, address, role
        self.queue: asyncio.Queue[str] = asyncio.Queue(SEND_BACKLOG)
        self.pending: set[asyncio.Task] = set()

    def send(self, frame: str) -> bool:
        """Queue a frame; False when the dashboard is too far behind (it is then dropped)."""
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def write(self) -> None:
        while True:
            await self.ws.send_str(await self.queue.get())


class Collector:
    """Serves one runtime's store. `start()` returns the base URL it listens on."""

    def __init__(self, runtime: FeedRuntime, settings: CollectSettings, *, read_only: bool = False,
                 alerts_active: Callable[[], dict[str, int]] | None = None, history: Any = None,
                 alerts: Any = None) -> None:
        self.runtime = runtime
        #: History (ibmon.history.History) and alert rules (ibmon.alerting.AlertMonitor) kept by the
        #: collector itself, on its own store; what they say goes to its log.
        self.history = history
        self.alerts = alerts
        if alerts is not None and alerts_active is None:
            alerts_active = partial(_active_by_kind, alerts)
        self.store = runtime.store
        self.settings = settings
        self.read_only = read_only
        self.clock = runtime.clock
        self.metrics = StoreMetrics(self.store, self.providers, runtime.clock, alerts_active)
        self.limiter = LoginLimiter()
        self.clients: set[Attached] = set()
        #: Per (connection, kind, key) of a possible action target: {action id: [available, question, typed]}.
        self.facts: dict[tuple[str, str, Any], dict[str, list[Any]]] = {}
        self._actions: dict[str, list[Action]] = {}
        self._watcher: Watcher | None = None
        self._flush_due = False
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.url = ""

    def providers(self) -> dict[str, str]:
        return {name: conn.provider.name for name, conn in self.runtime.connections.items()}

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> str:
        problems = self.settings.problems()
        if problems:  # the config check says so too; never serve in the clear off loopback
            raise ProviderError(problems[0])
        await self.runtime.start()
        if self.history is not None:
            self.history.start(lambda message: log.error("history: %s", message))
        if self.alerts is not None:
            self.alerts.start(lambda message, title, severity: log.warning("alert %s: %s", title, message), lambda: None)
        self._watcher = self.store.watch(self._changed)
        self._flush()
        app = web.Application(client_max_size=MAX_CLIENT_FRAME)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/attach", self._attach)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.listen, self.settings.port,
                           ssl_context=self._tls())
        await site.start()
        host, port = self._runner.addresses[0][:2]
        scheme = "https" if self.settings.tls else "http"
        self.url = f"{scheme}://{host if ':' not in host else f'[{host}]'}:{port}"
        self._tasks.append(asyncio.create_task(self._send_seen(), name="collect-seen"))
        log.info("collecting %d connections; serving %s/metrics and %s/attach", len(self.runtime.connections),
                 self.url, self.url)
        return self.url

    def _tls(self) -> ssl.SSLContext | None:
        if not self.settings.tls:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.settings.tls_cert), str(self.settings.tls_key))
        return context

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for client in list(self.clients):
            await client.ws.close(code=1001, message=b"collector stopping")
        if self._runner is not None:
            await self._runner.cleanup()
        if self._watcher is not None:
            self.store.unwatch(self._watcher)
        if self.alerts is not None:
            await self.alerts.stop()
        if self.history is not None:
            await self.history.stop()
        await self.runtime.stop()

    # -- logins ----------------------------------------------------------------------------------

    def _login(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        """(role, None) for a good login, else (None, the refusal)."""
        address = request.remote or "?"
        wait = self.limiter.retry_after(address)
        if wait > 0:
            return None, web.Response(status=429, text="too many failed logins\n",
                                      headers={"Retry-After": str(int(wait) + 1)})
        if not self.settings.tokens:
            return "full", None
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and token:
            for role, secret in (("full", self.settings.token), ("read-only", self.settings.read_only_token)):
                expected = reveal(secret)
                if expected and hmac.compare_digest(token.encode(), expected.encode()):
                    return role, None
        if given:  # a wrong token is a guess; a missing one is not (a scraper without its token)
            self.limiter.failed(address)
        log.warning("refused a login from %s on %s: %s", address, request.path,
                    "wrong token" if given else "no token")
        return None, web.Response(status=401, text="a valid token is required\n",
                                  headers={"WWW-Authenticate": "Bearer"})

    # -- /metrics --------------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        _role, refusal = self._login(request)
        if refusal is not None:
            return refusal
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- /attach ---------------------------------------------------------------------------------

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        role, refusal = self._login(request)
        if refusal is not None:
            return refusal
        if len(self.clients) >= MAX_CLIENTS:
            return web.Response(status=503, text="too many dashboards attached\n")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_CLIENT_FRAME)
        await ws.prepare(request)
        client = Attached(ws, request.remote or "?", role or "full")
        client.send(self._dumps(self._full(client)))
        self.clients.add(client)
        writer = asyncio.create_task(client.write(), name=f"attach-writer:{client.address}")
        log.info("dashboard attached from %s (%s)", client.address, client.role)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    break
                self._received(client, message.data)
        finally:
            self.clients.discard(client)
            writer.cancel()
            for task in client.pending:
                task.cancel()
            log.info("dashboard from %s left", client.address)
        return ws

    def _full(self, client: Attached) -> dict[str, Any]:
        now = self.clock()
        connections = []
        for name, conn in self.runtime.connections.items():
            connections.append({
                "name": name, "provider": conn.provider.name, "title": conn.provider.title,
                "read_only": bool(self.read_only or conn.context.read_only or client.role != "full"),
                "actions": [{"id": a.id, "title": a.title, "target": a.target, "mutating": a.mutating,
                             "key": a.key} for a in self.actions_of(name)]})
        return {"t": "full", "protocol": PROTOCOL, "role": client.role, "connections": connections,
                "records": [[kind, conn, to_data(record)] for kind, conn, record in every_record(self.store)],
                "health": [[conn, health_data(health, now)] for conn, health in self.store.health.items()],
                "seen": {conn: now - at for conn, at in self.store.last_data.items()},
                "facts": [[conn, kind, wire_key(key), facts] for (conn, kind, key), facts in self.facts.items()]}

    # -- changes ---------------------------------------------------------------------------------

    def _changed(self) -> None:
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """One frame for every change since the last one (all the writes of one burst)."""
        self._flush_due = False
        watcher = self._watcher
        assert watcher is not None
        watcher.rearm()
        now = self.clock()
        put, gone, facts = [], [], []
        for kind in TABLES:
            for conn, key in watcher.drain(kind):  # type: ignore[arg-type]
                record = current(self.store, kind, conn, key)
                if record is None:
                    gone.append([kind, conn, wire_key(key)])
                    self.facts.pop((conn, kind, key), None)
                    continue
                put.append([kind, conn, to_data(record)])
                if kind in TARGET_KINDS:
                    fresh = self._facts_of(conn, kind, record)
                    if fresh != self.facts.get((conn, kind, key)):
                        self.facts[(conn, kind, key)] = fresh
                        facts.append([conn, kind, wire_key(key), fresh])
        health = []
        for conn, _ in watcher.drain("health"):
            state = self.store.health.get(conn)
            if state is not None:
                self.metrics.saw_health(conn, state)
                health.append([conn, health_data(state, now)])
        if self.clients and (put or gone or health or facts):
            self._broadcast({"t": "changes", "put": put, "gone": gone, "health": health, "facts": facts})

    def _broadcast(self, message: dict[str, Any]) -> None:
        frame = self._dumps(message)
        for client in list(self.clients):
            if not client.send(frame):
                log.warning("dashboard from %s fell %d frames behind: dropped", client.address, SEND_BACKLOG)
                self.clients.discard(client)
                asyncio.ensure_future(client.ws.close(code=1013, message=b"too slow: reconnect"))

    async def _send_seen(self) -> None:
        while True:
            await asyncio.sleep(SEEN_SECONDS)
            if self.clients:
                now = self.clock()
                self._broadcast({"t": "seen", "ages": {c: now - at for c, at in self.store.last_data.items()}})

    @staticmethod
    def _dumps(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False)

    # -- quick actions ---------------------------------------------------------------------------

    def actions_of(self, connection: str) -> list[Action]:
        """The connection's quick actions (asked of its session once)."""
        if connection not in self._actions:
            conn = self.runtime.connections.get(connection)
            actions: list[Action] = []
            if conn is not None and conn.session is not None:
                try:
                    actions = [a for a in conn.session.actions() if isinstance(a, Action)]
                except PLUGIN_FAILURES as exc:
                    log.warning("%s: actions() failed: %s", connection, describe_exception(exc))
                self._actions[connection] = actions
            return actions
        return self._actions[connection]

    def _facts_of(self, connection: str, kind: str, target: Any) -> dict[str, list[Any]]:
        facts = {}
        for action in self.actions_of(connection):
            if action.target != kind:
                continue
            try:
                available = action.is_available(target)
                question = redact(action.question(target))[:TEXT_LIMIT] if available else ""
                typed = action.typed_confirmation(target) if available and action.typed_confirmation else None
            except PLUGIN_FAILURES as exc:
                log.warning("%s: %s: %s", connection, action.title, describe_exception(exc))
                available, question, typed = False, "", None
            facts[action.id] = [available, question, None if typed is None else redact(typed)[:TEXT_LIMIT]]
        return facts

    def _received(self, client: Attached, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return
        kind = message.get("t")
        if kind == "refresh":
            connection = message.get("connection")
            self.runtime.refresh(connection if isinstance(connection, str) else None)
            return
        ident = message.get("id")
        if kind not in ("action", "request") or type(ident) is not int:
            return
        if len(client.pending) >= MAX_PENDING:
            client.send(self._dumps(_result(ident, False, f"at most {MAX_PENDING} requests at once")))
            return
        work = self._action(client, message) if kind == "action" else self._request(message)
        task = asyncio.create_task(self._answer(client, ident, work), name=f"attach-{kind}:{client.address}")
        client.pending.add(task)
        task.add_done_callback(client.pending.discard)

    async def _answer(self, client: Attached, ident: int, work: Any) -> None:
        try:
            message, records = await work
            reply = _result(ident, True, message, records)
        except ProviderError as exc:
            reply = _result(ident, False, exc.message)
        except PLUGIN_FAILURES as exc:
            reply = _result(ident, False, describe_exception(exc))
        client.send(self._dumps(reply))

    async def _action(self, client: Attached, message: dict[str, Any]) -> tuple[str, list[Any]]:
        connection, action_id, kind = message.get("connection"), message.get("action"), message.get("kind")
        action = next((a for a in self.actions_of(connection) if a.id == action_id), None) \
            if isinstance(connection, str) else None
        if action is None or kind != action.target:
            raise ProviderError("no such quick action")
        if action.mutating and client.role != "full":
            raise ProviderError(f"{action.title} is disabled: this attach token is read-only")
        if action.mutating and self.read_only:
            raise ProviderError(f"{action.title} is disabled: the collector is read-only")
        target = None
        if kind != "connection":
            key = read_key(RECORD_KINDS[kind], message.get("key"))
            target = current(self.store, kind, connection, key) if key is not None else None
            if target is None:
                raise ProviderError(f"that {kind} is no longer there")
        if not action.is_available(target):
            raise ProviderError(f"{action.title} does not apply to that {kind} now")
        log.info("%s: running %s for the dashboard from %s", connection, action.title, client.address)
        return await self.runtime.run_action(connection, action, target), []

    async def _request(self, message: dict[str, Any]) -> tuple[str, list[Any]]:
        """An on-demand request, run as the runtime runs any (`FeedRuntime.request`: declared by the
        provider, params checked, bounded by its timeout, every record checked)."""
        connection, name, params = message.get("connection"), message.get("name"), message.get("params", {})
        if not isinstance(connection, str) or not isinstance(name, str) or not isinstance(params, dict):
            raise ProviderError("no such connection or request")
        records = await self.runtime.request(connection, name, params)
        return "", [[type(record).__name__, to_data(record)] for record in records[:MAX_RECORDS]]


def _active_by_kind(alerts: Any) -> dict[str, int]:
    """Active alerts counted by rule kind (the `ibmon_alerts_active` series)."""
    return dict(Counter(alert.rule.kind for alert in alerts.active()))


def _result(ident: int, ok: bool, message: str, records: list[Any] | None = None) -> dict[str, Any]:
    return {"t": "result", "id": ident, "ok": ok, "message": redact(message or "")[:TEXT_LIMIT],
            "records": records or []}


async def serve(collector: Collector, announce: Callable[[str], None]) -> None:
    """Run `collector` until SIGTERM or SIGINT; `announce` gets the base URL once it listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    try:
        announce(await collector.start())
        await stop.wait()
        log.info("stopping on a signal")
    finally:
        await collector.stop()
