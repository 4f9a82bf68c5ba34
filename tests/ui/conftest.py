"""The example plugin's simulator on loopback, for the dashboard tests."""

import pytest

from ui_support import load_host


async def _serve(interval: float):
    host = load_host()
    running = await host.simulators["example"].start(interval=interval)
    yield running
    await running.stop()


@pytest.fixture
async def simulator():
    """Ticks every 50 ms."""
    async for running in _serve(0.05):
        yield running


@pytest.fixture
async def quiet_simulator():
    """Four ticks a second: the app goes idle between keys, so Pilot's presses return quickly."""
    async for running in _serve(0.25):
        yield running
