import pytest


@pytest.fixture
async def start_sim():
    """Start XTB simulators with quiet markets (no position churn, fast ticks); stop them after."""
    from ibmon_xtb.sim import start as start_simulator

    running = []

    async def start(**settings):
        settings.setdefault("churn_seconds", 0)
        settings.setdefault("tick_seconds", 0.05)
        sim = await start_simulator(**settings)
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.stop()
