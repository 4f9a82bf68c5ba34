"""`ibmon demo`'s example rules are valid and fire on the simulators within a minute."""

from __future__ import annotations

import asyncio
import time

from ibmon import config as cfg
from ibmon.alerts import AlertEngine
from ibmon.demo_alerts import DEMO_RULES
from ibmon.feeds import FeedRuntime
from ibmon.simulators import SimulatorHost
from ibmon.store import Store


def test_the_demo_rules_fire_on_the_simulators_within_a_minute():
    settings, host = cfg.load_plugins({}, None, [])
    with SimulatorHost(host) as sims:
        sims.start(None)
        config = cfg.build_config({"connections": sims.connections(), "alerts": DEMO_RULES}, host, None, settings)
        assert config.problems == [] and len(config.alerts) == len(DEMO_RULES)

        async def first_alert():
            store = Store()
            runtime = FeedRuntime(store)
            for connection in config.runnable():
                runtime.add(host.providers[connection.provider], connection.context(True))
            engine = AlertEngine(config.alerts, store)
            await runtime.start()
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    fired = [alert for alert in engine.evaluate(time.time()) if alert.active]
                    if fired:
                        return fired
                return []
            finally:
                await runtime.stop()

        fired = asyncio.run(first_alert())
    assert fired, "no example rule fired within a minute"
    assert {alert.rule.name for alert in fired} <= {rule["name"] for rule in DEMO_RULES}
