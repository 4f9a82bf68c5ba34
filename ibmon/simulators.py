"""Running the plugins' simulators on loopback, in a thread with its own event loop.

The dashboard (or a snapshot) runs in the main thread's loop and reaches the simulators over real
sockets, exactly as it would reach the providers. Settings are checked against what each simulator
declares before any starts; one simulator failing to start is recorded and the others go on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from ibmon.api import RunningSimulator, Simulator
from ibmon.errors import ConfigError, describe_exception
from ibmon.options import did_you_mean
from ibmon.plugins import PluginHost

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread of its own. At `stop()` whatever is still pending
    there (connection handlers, tickers) is cancelled."""

    def __init__(self, name: str = "ibmon-simulators") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `coroutine` on the loop (starting the thread on first use)."""
        if self._loop is None:
            self._start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 20.0) -> T:
        """Run `coroutine` on the loop and wait for its result."""
        return self.submit(coroutine).result(timeout)

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()
        self._loop = self._thread = None

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop


def split_settings(simulators: dict[str, Simulator], names: list[str],
                   settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each named simulator's share of `settings`: a plain KEY goes to every one that declares it,
    PROVIDER.KEY to that one only. ConfigError naming each setting none of them declares."""
    shares: dict[str, dict[str, Any]] = {name: {} for name in names}
    problems = []
    for key, value in settings.items():
        provider, dot, setting = key.partition(".")
        if dot and provider in shares:
            targets = [provider]
        else:
            provider, setting = "", key
            targets = [name for name in names if simulators[name].setting(setting)]
        if not targets or (provider and not simulators[provider].setting(setting)):
            declared = {o.name for name in (targets or names) for o in simulators[name].settings}
            whose = (f"the {provider} simulator has no such setting" if provider else
                     f"no simulator started here ({', '.join(names) or 'none'}) takes it")
            problems.append(f'unknown simulator setting "{key}"{did_you_mean(setting, declared)}: {whose}')
            continue
        for target in targets:
            shares[target][setting] = value
    if problems:
        raise ConfigError(problems)
    return shares


class SimulatorHost:
    """Starts simulators by provider name, collects what they serve, stops them all at exit."""

    def __init__(self, host: PluginHost, *, bind: str = LOOPBACK, start_timeout: float = 20.0) -> None:
        self.host = host
        self.bind = bind
        self.start_timeout = start_timeout
        self.running: list[RunningSimulator] = []
        #: provider -> why its simulator did not start
        self.failures: dict[str, str] = {}
        #: The simulators' loop: run work there with `loop.run(coroutine)`.
        self.loop = LoopThread()

    def check_names(self, providers: Iterable[str]) -> list[str]:
        """The requested providers, or ConfigError naming each one without a simulator."""
        names = list(providers)
        problems = [f'no simulator for "{name}"{did_you_mean(name, self.host.simulators)}; '
                    f'simulators: {", ".join(sorted(self.host.simulators)) or "none"}'
                    for name in names if name not in self.host.simulators]
        if problems:
            raise ConfigError(problems)
        return names

    def check_settings(self, providers: Iterable[str] | None, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each simulator's checked settings, defaults filled in (see `split_settings`); ConfigError
        naming every unknown or ill-typed setting."""
        from ibmon.simkit import check_settings

        names = self.check_names(providers) if providers is not None else sorted(self.host.simulators)
        shares = split_settings(self.host.simulators, names, settings)
        checked, problems = {}, []
        for name, share in shares.items():
            try:
                checked[name] = check_settings(self.host.simulators[name].settings, share, name)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return checked

    def start(self, providers: Iterable[str] | None = None, settings: dict[str, Any] | None = None) -> None:
        """Start the simulators of `providers` (all registered ones when None) with `settings`;
        ConfigError, before any starts, for a setting none of them takes or one of the wrong type."""
        for name, values in self.check_settings(providers, dict(settings or {})).items():
            future = self.loop.submit(self._start_one(name, values))
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

    def control(self, provider: str) -> Any:
        """The control handle of the running simulator of `provider` (the first, if started twice)."""
        return next(r.control for r in self.running if r.provider == provider)

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
        its connection handlers is left to the loop's shutdown, which cancels them; its listening
        sockets are closed already."""
        if self.running:
            try:
                self.loop.run(self._stop_all(grace), grace + 5)
            except Exception:  # best effort: the loop's shutdown cancels whatever is left
                pass
        self.running.clear()
        self.loop.stop()

    async def _stop_all(self, grace: float) -> None:
        stops = [asyncio.ensure_future(running.stop()) for running in self.running]
        await asyncio.wait(stops, timeout=grace)

    def __enter__(self) -> "SimulatorHost":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
