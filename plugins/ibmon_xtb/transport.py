"""The byte pipes under an xAPI connection, picked by the URL's scheme.

* `tcp://host:port`: a plain socket (loopback and testing).
* `tls://host:port` (or `ssl://`): a TLS socket (the classic xAPI servers, ports 5124/5125 demo,
  5112/5113 real).
* `ws://…` and `wss://…`: a WebSocket, one packet per message.

Both kinds offer `send(text)`, `receive() -> packet` and `close()`; `receive` raises ConnectionLost
when the peer closes and FrameError for a malformed packet.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from ibmon.sdk import redact

from ibmon_xtb import SCHEMES
from ibmon_xtb.errors import ConnectionLost
from ibmon_xtb.framing import MAX_PACKET, SEPARATOR, FrameDecoder, FrameError, parse_packet

SOCKET_SCHEMES = ("tcp", "tls", "ssl")  # a socket of its own: the URL names its port
TLS_SCHEMES = ("tls", "ssl")
CONNECT_TIMEOUT = 15.0


@dataclass
class ReadStats:
    """How packets arrived: reads that ended inside a packet, reads that held several packets."""

    reads: int = 0
    partial_reads: int = 0
    merged_reads: int = 0


class Transport(Protocol):
    url: str
    stats: ReadStats

    async def send(self, text: str) -> None: ...

    async def receive(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def tls_context(verify: bool) -> ssl.SSLContext:
    """The system's trust store (honours SSL_CERT_FILE), or no verification at all."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_url(url: str) -> str | None:
    """What is wrong with an xAPI URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return f"{redact(url)}: the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}"
    if not parts.hostname:
        return f"{redact(url)}: no host"
    if parts.scheme in SOCKET_SCHEMES and parts.port is None:
        return f"{redact(url)}: a {parts.scheme}:// URL needs a port (e.g. 5124 demo, 5112 real)"
    return None


async def open_transport(url: str, *, tls_verify: bool = True, timeout: float = CONNECT_TIMEOUT) -> Transport:
    problem = check_url(url)
    if problem:
        raise ConnectionLost(problem)
    parts = urlsplit(url)
    try:
        if parts.scheme in ("ws", "wss"):
            return await asyncio.wait_for(WebSocketTransport.open(url, tls_verify), timeout)
        context = tls_context(tls_verify) if parts.scheme in TLS_SCHEMES else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port, ssl=context,
                                    server_hostname=parts.hostname if context else None), timeout)
        return SocketTransport(url, reader, writer)
    except ConnectionLost:
        raise
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        raise ConnectionLost(f"cannot connect to {redact(url)}: {_reason(exc)}") from None
    except Exception as exc:  # websockets' handshake errors (InvalidStatus, InvalidURI...)
        raise ConnectionLost(f"cannot connect to {redact(url)}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class SocketTransport:
    """A plain or TLS stream socket with "\\n\\n"-separated packets."""

    def __init__(self, url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.url = url
        self.stats = ReadStats()
        self._reader = reader
        self._writer = writer
        self._decoder = FrameDecoder()
        self._ready: deque[dict[str, Any]] = deque()
        self._resume = False

    async def send(self, text: str) -> None:
        try:
            self._writer.write(text.encode())
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"{redact(self.url)}: send failed: {_reason(exc)}") from None

    async def receive(self) -> dict[str, Any]:
        while not self._ready:
            if self._resume:  # after a malformed packet: what followed it in that read
                self._resume = False
                data = b""
            else:
                try:
                    data = await self._reader.read(65536)
                except (OSError, ssl.SSLError) as exc:
                    raise ConnectionLost(f"{redact(self.url)}: {_reason(exc)}") from None
                if not data:
                    raise ConnectionLost(f"{redact(self.url)}: the server closed the connection")
                self._count(data)
            try:
                self._ready.extend(self._decoder.feed(data))
            except FrameError:
                self._resume = True
                raise
        return self._ready.popleft()

    def _count(self, data: bytes) -> None:
        self.stats.reads += 1
        if not data.endswith(SEPARATOR.encode()):
            self.stats.partial_reads += 1
        if data.count(SEPARATOR.encode()) > 1:
            self.stats.merged_reads += 1

    async def close(self) -> None:
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), 2)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass


class WebSocketTransport:
    """A WebSocket: one packet per message (a trailing "\\n\\n" is tolerated)."""

    def __init__(self, url: str, ws: Any) -> None:
        self.url = url
        self.stats = ReadStats()
        self._ws = ws
        self._ready: deque[dict[str, Any]] = deque()

    @classmethod
    async def open(cls, url: str, tls_verify: bool) -> "WebSocketTransport":
        from websockets.asyncio.client import connect

        context = tls_context(tls_verify) if url.startswith("wss:") else None
        # A message over MAX_PACKET closes the connection (1009) rather than filling memory.
        ws = await connect(url, ssl=context, max_size=MAX_PACKET, open_timeout=CONNECT_TIMEOUT)
        return cls(url, ws)

    async def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(text)
        except (ConnectionClosed, OSError) as exc:
            raise ConnectionLost(f"{redact(self.url)}: send failed: {_reason(exc)}") from None

    async def receive(self) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        while not self._ready:
            try:
                message = await self._ws.recv()
            except (ConnectionClosed, OSError) as exc:
                raise ConnectionLost(f"{redact(self.url)}: the server closed the connection ({_reason(exc)})") from None
            text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
            packets = [parse_packet(part) for part in text.split(SEPARATOR) if part.strip()]
            self.stats.reads += 1
            if len(packets) > 1:
                self.stats.merged_reads += 1
            self._ready.extend(packets)
        return self._ready.popleft()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._ws.close(), 2)
        except Exception:  # closing a broken socket: nothing left to do
            pass
