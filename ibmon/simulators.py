"""Running the plugins' simulators on loopback, in a thread with its own event loop.

The dashboard (or a snapshot) runs in the main thread's loop and reaches the simulators over real
sockets, exactly as it would reach the providers. One simulator failing to start is recorded and
the others go on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from ibmon.api import RunningSimulator
from ibmon.errors import ConfigError, describe_exception
from ibmon.options import did_you_mean
from ibmon.plugins import PluginHost

LOOPBACK = "127.0.0.1"


class SimulatorHost:
    """Starts simulators by provider name, collects what they serve, stops them all at exit."""

    def __init__(self, host: PluginHost, *, bind: str = LOOPBACK, start_timeout: float = 20.0) -> None:
        self.host = host
        self.bind = bind
        self.start_timeout = start_timeout
        self.running: list[RunningSimulator] = []
        #: provider -> why its simulator did not start
        self.failures: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def check_names(self, providers: Iterable[str]) -> list[str]:
        """The requested providers, or ConfigError naming each one without a simulator."""
        names = list(providers)
        problems = [f'no simulator for "{name}"{did_you_mean(name, self.host.simulators)}; '
                    f'simulators: {", ".join(sorted(self.host.simulators)) or "none"}'
                    for name in names if name not in self.host.simulators]
        if problems:
            raise ConfigError(problems)
        return names

    def start(self, providers: Iterable[str] | None = None, settings: dict[str, Any] | None = None) -> None:
        """Start the simulators of `providers` (all registered ones when None) with `settings`."""
        names = self.check_names(providers) if providers is not None else sorted(self.host.simulators)
        self._ensure_loop()
        for name in names:
            future = self._submit(self._start_one(name, dict(settings or {})))
            try:
                running = future.result(self.start_timeout)
            except TimeoutError:
                future.cancel()
                self.failures[name] = f"did not start within {self.start_timeout:g} s"
            except Exception as exc:
                self.failures[name] = describe_exception(exc)
            else:
                self.running.append(running)

    async def _start_one(self, name: str, settings: dict[str, Any]) -> RunningSimulator:
        running = await self.host.simulators[name].start(host=self.bind, **settings)
        if not isinstance(running, RunningSimulator):
            raise TypeError(f"start() returned {type(running).__name__}, not a RunningSimulator")
        return running

    def connections(self) -> list[dict[str, Any]]:
        """Every running simulator's config entries, with names made unique."""
        entries: list[dict[str, Any]] = []
        taken: set[str] = set()
        for running in self.running:
            for entry in running.connections:
                entry = dict(entry)
                base = str(entry.get("name") or running.provider)
                name, n = base, 2
                while name in taken:
                    name, n = f"{base} {n}", n + 1
                taken.add(name)
                entry["name"] = name
                entries.append(entry)
        return entries

    def failure_lines(self) -> list[str]:
        return [f'simulator "{name}" did not start: {why}' for name, why in self.failures.items()]

    def stop(self, grace: float = 0.5) -> None:
        """Stop every simulator, then the thread. A server still waiting after `grace` seconds for
        its connection handlers (a ticker asleep) is left to the loop's shutdown, which cancels them;
        its listening sockets are closed already."""
        if self._loop is None:
            return
        if self.running:
            try:
                self._submit(self._stop_all(grace)).result(grace + 5)
            except Exception:  # best effort: the loop's shutdown cancels whatever is left
                pass
        self.running.clear()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()
        self._loop = self._thread = None

    async def _stop_all(self, grace: float) -> None:
        stops = [asyncio.ensure_future(running.stop()) for running in self.running]
        await asyncio.wait(stops, timeout=grace)

    def __enter__(self) -> "SimulatorHost":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- the simulators' thread --------------------------------------------------------------

    def _ensure_loop(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            # cancel what the simulators left running (connection handlers, tickers)
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

        self._thread = threading.Thread(target=run, name="ibmon-simulators", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop

    def _submit(self, coro: Any) -> Future:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)
