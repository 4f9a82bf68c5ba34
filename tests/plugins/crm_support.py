"""The Impact CRM simulator as the CRM tests use it (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ibmon.api import RunningSimulator
from ibmon.testing import simulator_in_thread
from ibmon_crm.sim import CrmControl, start


@dataclass
class Crm:
    """A running CRM simulator: where it listens, the credentials it accepts, its control handle."""

    running: RunningSimulator

    @property
    def control(self) -> CrmControl:
        return self.running.control

    @property
    def url(self) -> str:
        return self.running.endpoints["api"]

    def _entry(self, key: str) -> str:
        return self.running.connections[0][key]

    domain = property(lambda self: self._entry("domain"))
    api_key = property(lambda self: self._entry("api_key"))
    email = property(lambda self: self._entry("email"))
    password = property(lambda self: self._entry("password"))

    def options(self, **overrides: Any) -> dict[str, Any]:
        """Connection options reaching it."""
        return {"base_url": self.url, "domain": self.domain, "api_key": self.api_key, "email": self.email,
                "password": self.password, **overrides}

    def fresh(self) -> "Crm":
        """The simulator with its faults off and its request log and counters emptied."""
        self.control.clear_faults()
        self.control.clear_log()
        return self


@contextmanager
def crm_in_thread(**settings: Any) -> Iterator[Crm]:
    """A CRM simulator (no arrivals unless asked) on a loop of its own thread, for a module's tests."""
    with simulator_in_thread(start, **{"tick": 0, **settings}) as running:
        yield Crm(running)
