"""Shared helpers for the B2Core plugin tests (no tests here): the simulator, a client, a session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import pytest

from ibmon.api import Provider, RunningSimulator
from ibmon.model import Account
from ibmon.testing import make_context, simulator_in_thread
from ibmon_b2core import OPTIONS, connect
from ibmon_b2core.client import B2CoreClient
from ibmon_b2core.sim import B2CoreControl, start
from ibmon.secrets import Secret

PROVIDER = Provider(name="b2core", title="B2Core", connect=connect, options=OPTIONS)


@asynccontextmanager
async def simulator(**settings: Any) -> AsyncIterator[RunningSimulator]:
    """A simulator on the test's loop with a fixed seed and (unless asked) no drift during the test."""
    settings = {"seed": 7, "accounts": 60, "interval": 3600, **settings}
    running = await start("127.0.0.1", **settings)
    try:
        yield running
    finally:
        await running.stop()


class SimPool:
    """Simulators shared by the tests of a module that only read, each on a loop of its own thread
    (a test's loop ends with the test)."""

    def __init__(self) -> None:
        self._running: dict[tuple, RunningSimulator] = {}
        self._stack = ExitStack()

    def get(self, **settings: Any) -> RunningSimulator:
        key = tuple(sorted(settings.items()))
        if key not in self._running:
            settings = {"seed": 7, "accounts": 60, "interval": 3600, **settings}
            self._running[key] = self._stack.enter_context(simulator_in_thread(start, **settings))
        return self._running[key]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def sim_pool():
    pool = SimPool()
    yield pool
    pool.close()


def sim_of(running: RunningSimulator) -> B2CoreControl:
    return running.control


def connection_options(running: RunningSimulator, **options: Any) -> dict[str, Any]:
    entry = dict(running.connections[0])
    entry.pop("name")
    entry.pop("provider")
    return {**entry, **options}


@asynccontextmanager
async def client_for(running: RunningSimulator, **overrides: Any) -> AsyncIterator[B2CoreClient]:
    options = connection_options(running)
    kwargs: dict[str, Any] = {"client_id": options["client_id"], "client_secret": Secret(options["client_secret"])}
    kwargs.update(overrides)
    client = B2CoreClient(options["base_url"], **kwargs)
    try:
        yield client
    finally:
        await client.aclose()


def session_for(running: RunningSimulator, read_only: bool = False, **options: Any):
    return PROVIDER.connect(make_context(PROVIDER, read_only=read_only, **connection_options(running, **options)))


class ListSink:
    """The sink calls a polling session makes, kept for assertions."""

    def __init__(self) -> None:
        self.by_id: dict[str, Account] = {}
        self.replaced = 0
        self.notes: tuple[str, ...] = ()

    def accounts(self, accounts: Iterable[Account]) -> None:
        self.by_id = {account.id: account for account in accounts}
        self.replaced += 1

    def account(self, account: Account) -> None:
        self.by_id[account.id] = account

    def note(self, *notes: str) -> None:
        self.notes = notes


def list_requests(running: RunningSimulator) -> int:
    return len(running.control.log("/accounts", "GET"))
