"""A recorded xAPI server: main and streaming connections over plain TCP on loopback, answering from a
JSON conversation (tests/fixtures/xapi/*.json) instead of a simulated market.

The main connection answers each command with the recorded reply of that command (with the
request's customTag), or BE104 for a command the recording lacks. The streaming connection sends
the recorded stream packets once the client subscribes to its first tick prices (by then the
session has read its initial state), then a keepAlive every `keepalive_seconds`. Packets end with
"\\n\\n" as on a real socket. `commands` lists what arrived, for the tests.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xapi"


class XapiReplay:
    def __init__(self, name: str, keepalive_seconds: float = 0.5) -> None:
        self.conversation: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        self.keepalive_seconds = keepalive_seconds
        self.commands: list[tuple[str, str]] = []
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task] = set()
        self.urls: dict[str, str] = {}

    async def __aenter__(self) -> "XapiReplay":
        for kind, serve in (("main", self._main), ("stream", self._stream)):
            server = await asyncio.start_server(serve, "127.0.0.1", 0)
            self._servers.append(server)
            self.urls[kind] = f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def options(self, **overrides: Any) -> dict[str, Any]:
        """A connection's options reaching this server."""
        return {"url": self.urls["main"], "stream_url": self.urls["stream"], "user_id": "1234567",
                "password": "recorded-password", **overrides}

    async def _main(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        replies = self.conversation["main"]
        async for command in _commands(reader, self._tasks):
            name = str(command.get("command"))
            self.commands.append(("main", name))
            reply = dict(replies.get(name) or {"status": False, "errorCode": "BE104",
                                                "errorDescr": f"Method does not exist: {name}"})
            if "customTag" in command:
                reply["customTag"] = command["customTag"]
            await _send(writer, reply)
        writer.close()

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = False
        async for command in _commands(reader, self._tasks):
            name = str(command.get("command"))
            self.commands.append(("stream", name))
            if name == "getTickPrices" and not started:
                started = True
                task = asyncio.create_task(self._play(writer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        writer.close()

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        for packet in self.conversation["stream"]:
            await _send(writer, packet)
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            await _send(writer, {"command": "keepAlive", "data": {"timestamp": 1697540002000}})


async def _commands(reader: asyncio.StreamReader, tasks: set[asyncio.Task]):
    """The client's commands: consecutive JSON objects, whatever the reads' boundaries."""
    task = asyncio.current_task()
    if task is not None:
        tasks.add(task)
    decoder, buffer = json.JSONDecoder(), ""
    while True:
        data = await reader.read(4096)
        if not data:
            return
        buffer += data.decode()
        while buffer.strip():
            try:
                command, end = decoder.raw_decode(buffer.lstrip())
            except json.JSONDecodeError:
                break  # the rest has not arrived yet
            buffer = buffer.lstrip()[end:]
            yield command


async def _send(writer: asyncio.StreamWriter, packet: dict[str, Any]) -> None:
    writer.write((json.dumps(packet) + "\n\n").encode())
    await writer.drain()
