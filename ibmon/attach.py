"""`ibmon attach URL`: the dashboard on a collector's store instead of sessions of its own.

`AttachRuntime` stands where the feed runtime stands for the app: it keeps one WebSocket to the
collector (`ibmon.attach_wire`), mirrors the collector's store into the local one (every record
checked as the sink checks a session's), and offers the collector's connections with their quick
actions, which run on the collector (under its read-only policy and the token's). Refreshes and
on-demand requests are forwarded the same way.

The link is itself a line on the status bar ("collector HOST:PORT"): live, or reconnecting with
backoff like any connection. While it is down the mirrored connections show as stale and keep what
they last showed; a reconnect brings a fresh full picture.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from ibmon.api import Action, ConnectionContext, Provider, Session
from ibmon.attach_wire import (MAX_FRAME, PROTOCOL, TABLES, read_health, read_key, read_record, remove, replace_all,
                               put, wire_key)
from ibmon.desk import AttachSettings
from ibmon.errors import ProviderError, describe_exception
from ibmon.feeds import Connection, FeedRuntime
from ibmon.model import RECORD_KINDS, Health, HealthState
from ibmon.records import RecordError, from_data
from ibmon.secrets import reveal
from ibmon.store import Store
from ibmon.validate import MAX_TEXT

log = logging.getLogger("ibmon.attach")

#: Seconds without any frame (the collector sends one every second) before the link counts as dead.
SILENCE_SECONDS = 10.0
#: Seconds a quick action or request forwarded to the collector may take.
CALL_SECONDS = 120.0
#: Seconds to open the link (TCP, TLS, login).
OPEN_SECONDS = 15.0
#: Remote connections taken from one collector.
MAX_CONNECTIONS = 1000


class RemoteSession(Session):
    """A collector's connection as the app sees it: its quick actions run on the collector."""

    def __init__(self, runtime: "AttachRuntime", connection: str, actions: list[Action]) -> None:
        self.runtime = runtime
        self.connection = connection
        self._actions = actions

    def actions(self) -> list[Action]:
        return list(self._actions)

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        """An on-demand request, answered by the collector's session of this connection."""
        reply = await self.runtime.call({"t": "request", "connection": self.connection, "name": name,
                                         "params": params})
        classes = {kind.cls.__name__: kind.cls for kind in RECORD_KINDS.values()}
        records = []
        for item in reply.get("records", []):
            if not (isinstance(item, list) and len(item) == 2 and item[0] in classes):
                raise ProviderError(f"{name}: the collector answered a record this dashboard does not know")
            try:
                records.append(from_data(classes[item[0]], item[1]))
            except RecordError as exc:
                raise ProviderError(f"{name}: {exc}") from None
        return records


class AttachRuntime(FeedRuntime):
    """The app's runtime when it shows a collector's store (see the module's docstring)."""

    def __init__(self, store: Store, settings: AttachSettings, *, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(store, watchdog_interval=None, stall_seconds=None, **kwargs)
        self.settings = settings
        self.read_only = read_only
        parts = urlsplit(settings.url)
        self.link_name = f"collector {parts.hostname}" + (f":{parts.port}" if parts.port else "")
        #: (connection, kind, key) → {action id: [available, question, typed confirmation]}
        self.facts: dict[tuple[str, str, Any], dict[str, list[Any]]] = {}
        self.attempt = 0
        self._ws: Any = None
        self._task: asyncio.Task | None = None
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_call = 0

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._publish(HealthState.CONNECTING, "attaching")
        self._task = asyncio.create_task(self._run(), name="attach-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _publish(self, state: HealthState, detail: str = "", attempt: int = 0, next_try_at: float | None = None) -> None:
        self.store.set_health(self.link_name, Health(state, detail=detail, attempt=attempt,
                                                     next_try_at=next_try_at, since=self.clock()))

    async def _run(self) -> None:
        while True:
            try:
                await self._attach_once()
                raise ProviderError("the collector closed the link")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure of the link: back off and attach again
                reason = _reason(exc)
            self._lost(reason)
            self.attempt += 1
            delay = self.backoff.delay(self.attempt, self.rng)
            self._publish(HealthState.RECONNECTING, reason, self.attempt, self.clock() + delay)
            log.warning("%s: %s (attempt %d, retry in %.1f s)", self.link_name, reason, self.attempt, delay)
            await self.sleep(delay)
            self._publish(HealthState.CONNECTING, f"attempt {self.attempt + 1}", self.attempt)

    async def _attach_once(self) -> None:
        import websockets

        token = reveal(self.settings.token)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with asyncio.timeout(OPEN_SECONDS):
            ws = await websockets.connect(self.settings.url, additional_headers=headers, max_size=MAX_FRAME,
                                          ssl=self._tls(), open_timeout=None, ping_interval=20)
        try:
            self._ws = ws
            while True:
                async with asyncio.timeout(SILENCE_SECONDS):
                    frame = await ws.recv()
                self._frame(frame)
        except TimeoutError:
            raise ProviderError(f"nothing from the collector for {SILENCE_SECONDS:g} s") from None
        finally:
            self._ws = None
            await ws.close()

    def _tls(self) -> ssl.SSLContext | None:
        if urlsplit(self.settings.url).scheme != "wss":
            return None
        context = ssl.create_default_context()
        if self.settings.ca is not None:
            context.load_verify_locations(str(self.settings.ca))
        return context

    def _lost(self, reason: str) -> None:
        """The link is down: pending calls fail, mirrored connections show stale (and keep their data)."""
        for future in self._calls.values():
            if not future.done():
                future.set_exception(ProviderError(f"lost the collector: {reason}"))
        self._calls.clear()
        for name in self.connections:
            health = self.store.health.get(name)
            if health is None or health.state is not HealthState.STALE:
                self.store.set_health(name, Health(HealthState.STALE, detail="the collector is unreachable",
                                                   since=self.clock()))

    # -- frames ----------------------------------------------------------------------------------

    def _frame(self, frame: Any) -> None:
        try:
            message = json.loads(frame)
        except (TypeError, ValueError):
            raise ProviderError("the collector sent a frame that is not JSON") from None
        kind = message.get("t") if isinstance(message, dict) else None
        if kind == "full":
            self._full(message)
        elif kind == "changes":
            self._changes(message)
        elif kind == "seen":
            self._seen(message.get("ages"))
        elif kind == "result":
            future = self._calls.pop(message.get("id"), None) if type(message.get("id")) is int else None
            if future is not None and not future.done():
                future.set_result(message)

    def _full(self, message: dict[str, Any]) -> None:
        if message.get("protocol") != PROTOCOL:
            raise ProviderError(f"the collector speaks attach protocol {str(message.get('protocol'))[:20]}, "
                                f"this dashboard {PROTOCOL}: run the same ibmon version on both")
        connections = message.get("connections")
        if not isinstance(connections, list) or len(connections) > MAX_CONNECTIONS:
            raise ProviderError("the collector's list of connections is not readable")
        self._connections(connections)
        self.facts.clear()
        self._facts(message.get("facts"))
        records: dict[tuple[str, str], dict[Any, Any]] = {}
        bad = 0
        for item in _items(message.get("records")):
            try:
                kind, connection, record = self._record(item)
            except RecordError as exc:
                bad += 1
                log.warning("%s: refused a record: %s", self.link_name, exc)
                continue
            records.setdefault((kind.name, connection), {})[kind.key_of(record)] = record
        for gone in [name for name in self.store.health if name not in self.connections and name != self.link_name]:
            self.store.remove_connection(gone)
        for name in self.connections:
            for kind in TABLES:
                replace_all(self.store, name, kind, records.get((kind, name), {}))
        self._health(message.get("health"))
        self._seen(message.get("seen"))
        self.attempt = 0
        detail = f"{len(self.connections)} connections" + (f" · {bad} records refused (see the log)" if bad else "")
        self._publish(HealthState.LIVE, detail)

    def _connections(self, described: list[Any]) -> None:
        fresh: dict[str, Connection] = {}
        for item in described:
            if not isinstance(item, dict) or not _text(item.get("name")) or not _text(item.get("provider")):
                raise ProviderError("the collector described a connection without a readable name")
            name = item["name"]
            read_only = self.read_only or item.get("read_only") is not False
            provider = Provider(name=item["provider"], title=item.get("title") if _text(item.get("title")) else name,
                                connect=_not_here)
            conn = Connection(self, ConnectionContext(name, provider.name, {}, read_only=read_only), provider)
            conn.session = RemoteSession(self, name, self._actions(name, item.get("actions")))
            conn.ready = True
            fresh[name] = conn
        self.connections = fresh

    def _actions(self, connection: str, described: Any) -> list[Action]:
        actions = []
        for item in described if isinstance(described, list) else []:
            if not isinstance(item, dict) or not _text(item.get("id")) or not _text(item.get("title")) \
                    or item.get("target") not in ("account", "position", "connection"):
                continue
            key = item.get("key") if _text(item.get("key")) and item["key"].isprintable() else None
            ident, target = item["id"], item["target"]
            actions.append(Action(
                id=ident, title=item["title"], target=target, mutating=item.get("mutating") is not False, key=key,
                run=partial(self._run_action, connection, ident, target),
                available=partial(self._fact, connection, ident, target, 0, True),
                confirm=partial(self._fact, connection, ident, target, 1, f"{item['title']}?"),
                typed_confirmation=partial(self._fact, connection, ident, target, 2, None)))
        return actions

    def _fact(self, connection: str, action: str, target_kind: str, index: int, default: Any, target: Any) -> Any:
        """What the collector said about `action` on `target` (for a connection-wide action: `default`)."""
        if target_kind == "connection":
            return default
        facts = self.facts.get((connection, target_kind, RECORD_KINDS[target_kind].key_of(target)), {})
        entry = facts.get(action)
        if entry is None:
            return False if index == 0 else default
        return default if index == 1 and not entry[1] else entry[index]

    def _record(self, item: Any) -> tuple[Any, str, Any]:
        if not isinstance(item, list) or len(item) != 3 or item[1] not in self.connections:
            raise RecordError("not [kind, known connection, record]")
        kind, record = read_record(item[0], item[2])
        return kind, item[1], record

    def _changes(self, message: dict[str, Any]) -> None:
        for item in _items(message.get("put")):
            try:
                kind, connection, record = self._record(item)
            except RecordError as exc:
                log.warning("%s: refused a record: %s", self.link_name, exc)
                continue
            put(self.store, kind.name, connection, record)
        for item in _items(message.get("gone")):
            if isinstance(item, list) and len(item) == 3 and item[0] in TABLES and item[1] in self.connections:
                key = read_key(RECORD_KINDS[item[0]], item[2])
                if key is not None:
                    remove(self.store, item[0], item[1], key)
                    self.facts.pop((item[1], item[0], key), None)
        self._facts(message.get("facts"))
        self._health(message.get("health"))

    def _facts(self, items: Any) -> None:
        for item in _items(items):
            if not (isinstance(item, list) and len(item) == 4 and item[1] in TABLES and isinstance(item[3], dict)):
                continue
            key = read_key(RECORD_KINDS[item[1]], item[2])
            facts = {aid: [bool(v[0]), _bounded(v[1]), _bounded(v[2]) or None]
                     for aid, v in item[3].items() if isinstance(v, list) and len(v) == 3}
            if key is not None and item[0] in self.connections:
                self.facts[(item[0], item[1], key)] = facts

    def _health(self, items: Any) -> None:
        now = self.clock()
        for item in _items(items):
            if isinstance(item, list) and len(item) == 2 and item[0] in self.connections:
                try:
                    self.store.set_health(item[0], read_health(item[1], now))
                except RecordError as exc:
                    log.warning("%s: refused the health of %s: %s", self.link_name, item[0], exc)

    def _seen(self, ages: Any) -> None:
        if not isinstance(ages, dict):
            return
        now = self.clock()
        for name, age in ages.items():
            if name in self.connections and isinstance(age, (int, float)) and not isinstance(age, bool) \
                    and 0 <= age < 10**9:
                self.store.last_data[name] = now - age

    # -- forwarded to the collector --------------------------------------------------------------

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a request to the collector and wait for its answer; ProviderError when it failed."""
        ws = self._ws
        if ws is None:
            raise ProviderError("not attached to the collector: wait until it is live again")
        self._next_call += 1
        ident = self._next_call
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[ident] = future
        try:
            await ws.send(json.dumps({**message, "id": ident}))
            async with asyncio.timeout(CALL_SECONDS):
                reply = await future
        except TimeoutError:
            raise ProviderError(f"the collector did not answer within {CALL_SECONDS:g} s") from None
        finally:
            self._calls.pop(ident, None)
        if reply.get("ok") is not True:
            raise ProviderError(_bounded(reply.get("message")) or "the collector refused")
        return reply

    async def _run_action(self, connection: str, action: str, target_kind: str, target: Any) -> str:
        key = None if target is None else wire_key(RECORD_KINDS[target_kind].key_of(target))
        reply = await self.call({"t": "action", "connection": connection, "action": action,
                                 "kind": target_kind, "key": key})
        return _bounded(reply.get("message"))

    def refresh(self, name: str | None = None) -> None:
        ws = self._ws
        if ws is not None:
            asyncio.ensure_future(ws.send(json.dumps({"t": "refresh", "connection": name})))

    def check_staleness(self) -> None:
        """Staleness is the collector's to judge: its health lines come over the link."""


def _not_here(_context: ConnectionContext) -> Session:
    raise ProviderError("this connection runs on the collector")


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT


def _bounded(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _reason(exc: BaseException) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return "the collector refused the token (attach_token)"
    if status == 429:
        return "too many failed logins: the collector makes this address wait"
    return describe_exception(exc)

