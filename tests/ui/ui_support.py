"""Helpers for the dashboard tests: the example plugin on loopback, a feed runtime connected to it,
and ways to read what the app shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ibmon.feeds import FeedRuntime
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import make_context

SUPPORT = Path(__file__).parents[1] / "support"
CONNECTION = "Example demo"
TOKEN = "example-secret-token"


def load_host(*, broken: bool = False, extra_dirs: tuple[Path, ...] = ()) -> PluginHost:
    host = PluginHost()
    dirs: list[Path] = [SUPPORT, *extra_dirs]
    only = ["example_plugin", *(p.stem for d in extra_dirs for p in d.glob("*.py"))]
    if broken:
        dirs.append(SUPPORT / "broken")
        only += ["raises_on_import", "raises_in_hook"]
    host.load(plugin_dirs=dirs, only=only, entry_points=False)
    return host


def add_example(runtime: FeedRuntime, host: PluginHost, simulator, *, read_only: bool = False,
                poll_seconds: float = 5.0, name: str = CONNECTION):
    provider = host.providers["example"]
    options = {k: v for k, v in simulator.connections[0].items() if k not in ("name", "provider")}
    context = make_context(provider, name=name, read_only=read_only, poll_seconds=poll_seconds, **options)
    return runtime.add(provider, context)


def make_runtime(clock: Callable[[], float] = time.monotonic) -> FeedRuntime:
    return FeedRuntime(Store(clock=clock), clock=clock, watchdog_interval=None)


def screen_text(app) -> str:
    """The characters the current screen shows, one line per terminal row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def notifications(app) -> list[str]:
    """Every notification the app was given (its toasts may have joined several), oldest first."""
    return [f"{n.title}: {n.message}" for n in reversed(app.notices.recent)]


async def until(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds (short pauses, never seconds of sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {predicate.__doc__ or predicate}")
        await pilot.pause(0.02)

