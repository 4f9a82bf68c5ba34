"""A short chaos soak in the suite: every connection recovers from every fault, nothing escapes, and
the final picture equals each simulator's own state. Assertions are on outcomes, never on timings."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import soak  # noqa: E402


async def test_short_soak_recovers_everything_and_ends_equal_to_the_simulators():
    report = await soak.soak(12, seed=7, quiet=(0.5, 2.0), episode=(1.0, 2.5), recovery_timeout=90,
                             final_timeout=60)

    assert report.escaped == [], report.text()
    assert report.app_running, report.text()
    assert set(report.stats) == {"XTB demo", "cTrader demo", "B2Core demo", "Impact CRM demo", "IBKR Flex demo"}
    for name, stats in report.stats.items():
        assert stats.episodes >= 1, f"{name}: no fault was injected\n{report.text()}"
        assert stats.recovered == stats.episodes, f"{name}: {stats.unrecovered}\n{report.text()}"
        assert stats.final == [], f"{name}: {stats.final}\n{report.text()}"
    assert sum(stats.degraded for stats in report.stats.values()) >= 1, report.text()
    assert report.ok
