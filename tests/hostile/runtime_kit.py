"""Helpers for the hostile runtime and value tests: first-party providers against their simulators in
a real FeedRuntime and Store, and a loopback gate that can stop answering."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ibmon.api import Provider, RunningSimulator, Session
from ibmon.feeds import Connection, FeedRuntime
from ibmon.model import Health
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import make_context

sys.path.append(str(Path(__file__).parents[1] / "ui"))  # the dashboard tests' helpers

from ui_support import screen_text, until  # noqa: E402,F401  (re-exported for the tests)


def first_party(*names: str) -> PluginHost:
    """A plugin host with only the named first-party plugins loaded (as entry points)."""
    host = PluginHost()
    host.load(only=list(names))
    for name in names:
        assert host.plugins[name].status == "ok", host.plugins[name].error
    return host


@asynccontextmanager
async def simulator(host: PluginHost, provider: str, **settings: Any) -> AsyncIterator[RunningSimulator]:
    running = await host.simulators[provider].start(**settings)
    try:
        yield running
    finally:
        await running.stop()


def options_of(running: RunningSimulator, **overrides: Any) -> dict[str, Any]:
    """The simulator's first connection as provider options, with `overrides` applied."""
    entry = {k: v for k, v in running.connections[0].items() if k not in ("name", "provider")}
    return {**entry, **overrides}


def add(runtime: FeedRuntime, provider: Provider, name: str, options: dict[str, Any], *,
        poll_timeout: float | None = None, adjust: Callable[[Session], None] | None = None) -> Connection:
    """Add a connection of `provider`; `adjust(session)` may change the session once connected."""
    if adjust is not None:
        original = provider.connect

        def connect(ctx):
            session = original(ctx)
            adjust(session)
            return session

        provider = replace(provider, connect=connect)
    context = make_context(provider, name=name, poll_timeout=poll_timeout, **options)
    return runtime.add(provider, context)


@asynccontextmanager
async def connected(provider: str, name: str, *, sim: dict[str, Any] | None = None,
                    **options: Any) -> AsyncIterator[tuple[RunningSimulator, FeedRuntime, Connection]]:
    """`provider`'s simulator, and a started runtime with one connection `name` to it."""
    host = first_party(provider)
    async with simulator(host, provider, **(sim or {})) as running:
        runtime = make_runtime()
        conn = add(runtime, host.providers[provider], name, options_of(running, **options))
        await runtime.start()
        try:
            yield running, runtime, conn
        finally:
            await runtime.stop()


def record_health(runtime: FeedRuntime) -> list[Health]:
    """Every health record the runtime publishes from now on."""
    published: list[Health] = []
    store = runtime.store
    original = store.set_health
    store.set_health = lambda name, health: (published.append(health), original(name, health))  # type: ignore
    return published


def make_runtime(**settings: Any) -> FeedRuntime:
    settings.setdefault("watchdog_interval", 0.2)
    return FeedRuntime(Store(), **settings)


class Gate:
    """A loopback TCP proxy in front of a server. While `stalled`, what clients send is swallowed
    and nothing comes back: the server looks alive (connections are accepted) but never answers."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._parts = parts
        self.stalled = False
        self.swallowed = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> "Gate":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        """The target URL with the gate's address in place of the server's."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return urlunsplit(self._parts._replace(netloc=f"127.0.0.1:{port}"))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(self._pump(reader, up_writer, gated=True), self._pump(up_reader, writer, gated=False))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for stream in (writer, up_writer):
                stream.close()
            self._tasks.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, gated: bool) -> None:
        while data := await reader.read(65536):
            if gated and self.stalled:
                self.swallowed += 1
                continue
            writer.write(data)
            await writer.drain()
        writer.close()
