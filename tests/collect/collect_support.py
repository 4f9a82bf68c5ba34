"""The simulators, and `ibmon collect` on them as its own process (the installed command's module)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import tomli_w

from ibmon.plugins import PluginHost
from ibmon.simulators import SimulatorHost

URL_LINE = re.compile(r"serving (https?://\S+)/metrics and (wss?://\S+/attach)")


@contextmanager
def simulators(settings: dict | None = None, only: list[str] | None = None) -> Iterator[SimulatorHost]:
    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        sims.start(only, settings or {})
        assert not sims.failure_lines(), sims.failure_lines()
        yield sims


def write_config(path: Path, connections: list[dict], collect: dict | None = None, **top) -> Path:
    document = {**top, "connections": connections, "collect": {"port": 0, **(collect or {})}}
    path.write_text(tomli_w.dumps(document))
    path.chmod(0o600)
    return path


class Collecting:
    """A running `ibmon collect`: its base URL, attach URL, and what it printed."""

    def __init__(self, process: subprocess.Popen, base: str, attach: str) -> None:
        self.process, self.base, self.attach = process, base, attach


def ibmon(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ibmon", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@contextmanager
def collecting(config: Path, *extra: str, env: dict | None = None, wait: float = 30.0) -> Iterator[Collecting]:
    process = ibmon("--config", str(config), "collect", *extra, env=env)
    try:
        line = _read_line(process, wait)
        found = URL_LINE.search(line)
        assert found, f"`ibmon collect` printed {line!r}; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        yield Collecting(process, found[1], found[2])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _read_line(process: subprocess.Popen, wait: float) -> str:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([process.stdout], [], [], 0.2)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            return ""
    return ""


def notifications(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in reversed(app.notices.recent)]


async def until(pilot, predicate, timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {predicate.__doc__ or predicate}")
        await pilot.pause(0.05)
