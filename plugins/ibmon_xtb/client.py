"""The xAPI protocol client: the main (request/reply) connection and the streaming connection.

* Every request carries a `customTag`; a reader task hands each reply to the request with that tag,
  so replies may come in any order.
* Sends on a connection go through a `Pacer`: a FIFO queue that lets one command out at a time,
  at least 200 ms after the previous one (the server drops clients that break this 6 times in a row).
* A command over 1 kB is refused here, before it is sent (the server would drop the connection).
* Both connections are pinged well inside the server's 10-minute idle limit.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from decimal import Decimal
from typing import Any

from ibmon.sdk import MASK, ProviderError, Secret, redact

from ibmon_xtb.errors import CommandTooLarge, ConnectionLost, error_from_reply
from ibmon_xtb.framing import FrameError
from ibmon_xtb.transport import Transport, open_transport

log = logging.getLogger("ibmon.xtb")

MAX_COMMAND_BYTES = 1024
PACING = 0.205  # seconds between commands: the 200 ms rule plus a margin for network jitter
PING_INTERVAL = 60.0  # well inside the 10 minutes after which an idle session is dropped
REQUEST_TIMEOUT = 30.0


class Pacer:
    """Lets sends out one at a time, in arrival order, at least `interval` seconds apart."""

    def __init__(self, interval: float = PACING) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()  # asyncio.Lock wakes waiters in FIFO order: a queue
        self._last = float("-inf")

    async def send(self, transport: Transport, text: str) -> None:
        async with self._lock:
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await transport.send(text)
            finally:
                self._last = time.monotonic()


def encode_command(packet: dict[str, Any]) -> str:
    """Compact JSON of a command (Decimals as JSON numbers); CommandTooLarge past 1 kB."""
    text = json.dumps(packet, separators=(",", ":"), default=_number)
    size = len(text.encode())
    if size > MAX_COMMAND_BYTES:
        raise CommandTooLarge(f'command "{packet.get("command")}" is {size} bytes: xAPI accepts at most '
                              f"{MAX_COMMAND_BYTES} bytes per command (ask for fewer symbols or orders at once)")
    return text


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # JSON has no decimal type: the server reads a float anyway
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def loggable(packet: dict[str, Any]) -> str:
    """A command as text for the debug log, with the login password masked."""
    arguments = packet.get("arguments")
    if isinstance(arguments, dict) and "password" in arguments:
        packet = {**packet, "arguments": {**arguments, "password": MASK}}
    return redact(json.dumps(packet, default=str))


class _Connection:
    """What both connections share: a transport, a pacer and a ping loop."""

    kind = "connection"

    def __init__(self, url: str, *, tls_verify: bool = True, pacing: float = PACING,
                 ping_interval: float = PING_INTERVAL) -> None:
        self.url = url
        self.tls_verify = tls_verify
        self.pacer = Pacer(pacing)
        self.ping_interval = ping_interval
        self.transport: Transport | None = None
        self._tasks: list[asyncio.Task] = []

    async def open(self) -> None:
        self.transport = await open_transport(self.url, tls_verify=self.tls_verify)
        log.debug("%s connected to %s", self.kind, redact(self.url))

    async def _send(self, packet: dict[str, Any]) -> None:
        text = encode_command(packet)
        if self.transport is None:
            raise ConnectionLost(f"the {self.kind} connection is not open")
        log.debug("%s → %s", self.kind, loggable(packet))
        await self.pacer.send(self.transport, text)

    def _start_pings(self) -> None:
        self._tasks.append(asyncio.create_task(self._ping_loop(), name=f"xtb-{self.kind}-ping"))

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.ping()
            except ProviderError as exc:  # the reader sees a dead connection and reports it
                log.debug("%s ping failed: %s", self.kind, exc)
                return

    async def ping(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.transport is not None:
            await self.transport.close()
            self.transport = None


class MainConnection(_Connection):
    """Requests and replies matched by customTag."""

    kind = "main"

    def __init__(self, url: str, *, request_timeout: float = REQUEST_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.request_timeout = request_timeout
        self._tags = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self.failure: ProviderError | None = None
        self.closed = asyncio.Event()

    async def open(self) -> None:
        await super().open()
        self._tasks.append(asyncio.create_task(self._read_loop(), name="xtb-main-reader"))
        self._start_pings()

    async def request(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command and return its whole reply; a `status: false` reply raises XapiError."""
        if self.failure is not None:
            raise self.failure
        tag = f"ibmon-{next(self._tags)}"
        packet: dict[str, Any] = {"command": command}
        if arguments is not None:
            packet["arguments"] = arguments
        packet["customTag"] = tag
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[tag] = future
        try:
            await self._send(packet)
            reply = await asyncio.wait_for(future, self.request_timeout)
        except asyncio.TimeoutError:
            raise ProviderError(f"{command}: no reply within {self.request_timeout:g} s") from None
        finally:
            self._pending.pop(tag, None)
        if reply.get("status") is not True:
            raise error_from_reply(reply)
        return reply

    async def call(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Send one command and return its `returnData`."""
        return (await self.request(command, arguments)).get("returnData")

    async def login(self, user_id: str, password: Secret | str, app_name: str | None = None) -> str:
        """Log in; returns the streamSessionId for the streaming connection."""
        arguments = {"userId": str(user_id), "password": password.reveal() if isinstance(password, Secret) else password}
        if app_name:
            arguments["appName"] = app_name
        reply = await self.request("login", arguments)
        session_id = reply.get("streamSessionId")
        if not session_id:
            raise ProviderError("login: the server sent no streamSessionId")
        return str(session_id)

    async def ping(self) -> None:
        await self.request("ping")

    async def _read_loop(self) -> None:
        assert self.transport is not None
        try:
            while True:
                reply = await self.transport.receive()
                self._dispatch(reply)
        except (ConnectionLost, FrameError) as exc:
            self._fail(exc if isinstance(exc, ProviderError) else
                       ConnectionLost(f"main connection: {exc}"))
        except asyncio.CancelledError:
            self._fail(ConnectionLost("main connection closed"))
            raise

    def _dispatch(self, reply: dict[str, Any]) -> None:
        log.debug("main ← %s", redact(str(reply)[:300]))
        tag = reply.get("customTag")
        future = self._pending.pop(tag, None) if isinstance(tag, str) else None
        if future is not None:
            if not future.done():
                future.set_result(reply)
        elif reply.get("status") is False:
            # An error with no tag concerns the connection itself (EX008 on connect, a bad packet).
            self._fail(error_from_reply(reply))
        else:
            log.debug("main: reply with unknown customTag %r ignored", tag)

    def _fail(self, error: ProviderError) -> None:
        if self.failure is None:
            self.failure = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self.failure)
        self._pending.clear()
        self.closed.set()

    async def close(self) -> None:
        self._fail(ConnectionLost("main connection closed"))
        await super().close()


class StreamConnection(_Connection):
    """Subscriptions with the streamSessionId; `receive()` returns the next streamed record."""

    kind = "stream"

    def __init__(self, url: str, session_id: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.session_id = session_id
        self.malformed = 0

    async def open(self) -> None:
        await super().open()
        self._start_pings()

    async def subscribe(self, command: str, **fields: Any) -> None:
        await self._send({"command": command, "streamSessionId": self.session_id, **fields})

    async def unsubscribe(self, command: str, **fields: Any) -> None:
        await self._send({"command": command, **fields})

    async def ping(self) -> None:
        await self.subscribe("ping")

    async def receive(self) -> dict[str, Any]:
        """The next record ({"command": ..., "data": ...}); an error packet raises XapiError.
        A malformed packet is skipped (the next record of its kind supersedes it)."""
        assert self.transport is not None, "open() first"
        while True:
            try:
                packet = await self.transport.receive()
            except FrameError as exc:
                self.malformed += 1
                log.warning("stream: %s", exc)
                continue
            if packet.get("status") is False:
                raise error_from_reply(packet)
            if "command" in packet:
                return packet
