"""/metrics' figures from a store: the series and labels Prometheus gets, counters from health changes."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from ibmon.metrics import StoreMetrics
from ibmon.model import Account, Health, HealthState, LeadCounts, Position, Tick
from ibmon.store import Store


def samples(metrics: StoreMetrics) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_accounts_ticks_leads_and_connections_become_bounded_series():
    now = [100.0]
    store = Store(clock=lambda: now[0])
    store.set_health("Desk", Health(HealthState.LIVE, since=0))
    store.set_account("Desk", Account(id="internal-7", name="1007", balance=Decimal("1000.25"),
                                      equity=Decimal("1234567.890123"), currency="USD"))
    store.set_account("Desk", Account(id="8", balance=Decimal("5"), currency=None))
    for pid in ("p-1", "p-2"):
        store.set_position("Desk", Position(account="internal-7", id=pid, symbol="EURUSD", side="buy",
                                            volume=Decimal("1")))
    store.set_tick("Desk", Tick(symbol="EURUSD", bid=Decimal("1.10"), ask=Decimal("1.12"), time=1))
    store.set_leads("Desk", LeadCounts(window="7d", date_from="2026-01-01", date_to="2026-01-07", leads=12,
                                       registrations=5, transactions=2))
    store.touch("Desk")
    now[0] = 112.5
    metrics = StoreMetrics(store, lambda: {"Desk": "example"}, clock=lambda: now[0],
                           alerts_active=lambda: {"margin_level_below": 2})
    found = samples(metrics)

    (equity,) = found["ibmon_account_equity"]
    assert equity.labels == {"connection": "Desk", "provider": "example", "account": "1007", "currency": "USD"}
    assert equity.value == float(Decimal("1234567.890123"))
    assert {s.labels["account"]: s.value for s in found["ibmon_account_balance"]} == {"1007": 1000.25, "8": 5.0}
    assert {s.labels["account"]: s.value for s in found["ibmon_account_open_positions"]} == {"1007": 2, "8": 0}
    assert [(s.labels["symbol"], s.value) for s in found["ibmon_tick_bid"]] == [("EURUSD", 1.10)]
    assert {s.labels["stage"]: s.value for s in found["ibmon_leads"]} == \
        {"leads": 12, "registrations": 5, "transactions": 2}
    assert found["ibmon_connection_up"][0].value == 1
    assert {s.labels["state"] for s in found["ibmon_connection_state"] if s.value == 1} == {"live"}
    assert found["ibmon_connection_seconds_since_data"][0].value == 12.5
    assert found["ibmon_alerts_active"][0].labels == {"kind": "margin_level_below"}
    every_label = {name for series in found.values() for s in series for name in s.labels}
    assert every_label <= {"connection", "provider", "account", "currency", "symbol", "window", "stage", "state",
                           "kind"}
    assert not any("p-1" in str(s.labels) for series in found.values() for s in series)


def test_reconnects_and_errors_are_counted_once_per_health_change():
    store = Store()
    metrics = StoreMetrics(store, dict)
    failing = Health(HealthState.RECONNECTING, "timeout", attempt=1, since=1.0)
    for health in (Health(HealthState.CONNECTING, since=0.0), failing, failing,
                   Health(HealthState.CONNECTING, attempt=1, since=2.0), Health(HealthState.ERROR, since=3.0)):
        store.set_health("A", health)
        metrics.saw_health("A", health)
    found = samples(metrics)
    assert found["ibmon_connection_errors_total"][0].value == 2
    assert found["ibmon_connection_reconnects_total"][0].value == 1
    assert "ibmon_alerts_active" not in found  # no alerts engine: no figure rather than a false 0


async def test_the_collector_keeps_its_own_alert_rules_and_counts_the_active_ones():
    import asyncio

    from ibmon.alerting import AlertMonitor
    from ibmon.alerts import parse_rules
    from ibmon.api import ConnectionContext, Provider, Session
    from ibmon.collect import Collector
    from ibmon.desk import CollectSettings
    from ibmon.feeds import FeedRuntime

    class Thin(Session):
        async def stream(self, sink) -> None:
            sink.account(Account("A1", Decimal("1000"), "USD", equity=Decimal("900"), margin_level=Decimal("80")))
            sink.ready()
            await asyncio.Event().wait()

    problems: list[str] = []
    rules = parse_rules([{"name": "Margin floor", "kind": "margin_level_below", "threshold": 100}], ["Desk"], problems)
    assert problems == []
    runtime = FeedRuntime(Store())
    runtime.add(Provider(name="thin", title="Thin", connect=lambda ctx: Thin()), ConnectionContext("Desk", "thin", {}))
    alerts = AlertMonitor(rules, runtime.store, interval=0.05)
    collector = Collector(runtime, CollectSettings(port=0), alerts=alerts)
    await collector.start()
    try:
        for _ in range(100):
            if alerts.active():
                break
            await asyncio.sleep(0.05)
        found = samples(collector.metrics)
        assert [(s.labels, s.value) for s in found["ibmon_alerts_active"]] == [({"kind": "margin_level_below"}, 1)]
    finally:
        await collector.stop()
